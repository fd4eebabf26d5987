//! The actions and outcomes of trace steps: the alphabet with small ids, checked against the
//! header's configuration.

use crate::action::{Action, PinEntry, Recipient, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The literal `"stranger"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum StrangerTag {
    /// Someone outside the model.
    Stranger,
}

/// Who receives a handed-over phone: a person id or `"stranger"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TraceRecipient {
    /// A person of the world.
    Person(u8),
    /// `"stranger"`.
    Stranger(StrangerTag),
}

/// One action of the alphabet (docs/ALPHABET.md), tagged by its name in the `action` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "action")]
#[allow(missing_docs)]
pub enum TraceAction {
    GoOffline {
        phone: u8,
    },
    GoOnline {
        phone: u8,
    },
    Lose {
        phone: u8,
    },
    Find {
        phone: u8,
    },
    Break {
        phone: u8,
    },
    InstallApp {
        phone: u8,
    },
    UninstallApp {
        phone: u8,
    },
    InstallApplet {
        phone: u8,
    },
    CardRenew {
        person: u8,
    },
    CardRevoke {
        person: u8,
    },
    CardExpire {
        person: u8,
    },
    Use {
        phone: u8,
        kind: Kind,
        pin: PinEntry,
    },
    ChangePin {
        phone: u8,
        kind: Kind,
        pin: PinEntry,
    },
    InitPin {
        phone: u8,
        kind: Kind,
    },
    Suspend {
        person: u8,
        kind: Kind,
    },
    Resume {
        phone: u8,
        kind: Kind,
        pin: PinEntry,
    },
    Apply {
        phone: u8,
        kind: Kind,
    },
    GenerateKey {
        phone: u8,
    },
    CaIssue {
        phone: u8,
    },
    WriteCert {
        phone: u8,
    },
    SetUserPin {
        phone: u8,
    },
    AbandonIssuance {
        phone: u8,
    },
    RevokeFromPhone {
        phone: u8,
        kind: Kind,
    },
    RevokeWithCard {
        person: u8,
        kind: Kind,
    },
    /// The pending deletion push for model serial `serial` (its registry index).
    DeliverPush {
        serial: u8,
    },
    /// The pending deletion push for model serial `serial` is lost.
    DropPush {
        serial: u8,
    },
    /// The validity period of phone cert `serial` ends (更新).
    CertExpire {
        serial: u8,
    },
    FactoryReset {
        phone: u8,
    },
    HandOver {
        phone: u8,
        to: TraceRecipient,
        procedure: bool,
    },
    Dispose {
        phone: u8,
        procedure: bool,
    },
    StrangerFinds {
        phone: u8,
    },
    ReaderUse {
        phone: u8,
        kind: Kind,
        pin: PinEntry,
    },
    ReadAuthCert {
        phone: u8,
    },
    ReadSignCert {
        phone: u8,
        pin: PinEntry,
    },
    SignOffline {
        phone: u8,
        pin: PinEntry,
    },
    /// The waiting signature made with model serial `serial`'s key.
    PresentSignature {
        serial: u8,
    },
    EnrollFinger {
        phone: u8,
    },
    BiometricUse {
        phone: u8,
    },
    SimSwap {
        phone: u8,
    },
    ApplyWithCode {
        phone: u8,
        person: u8,
        kind: Kind,
    },
}

impl From<Action> for TraceAction {
    fn from(a: Action) -> TraceAction {
        use TraceAction as T;
        match a {
            Action::GoOffline(h) => T::GoOffline { phone: h.0 },
            Action::GoOnline(h) => T::GoOnline { phone: h.0 },
            Action::Lose(h) => T::Lose { phone: h.0 },
            Action::Find(h) => T::Find { phone: h.0 },
            Action::Break(h) => T::Break { phone: h.0 },
            Action::InstallApp(h) => T::InstallApp { phone: h.0 },
            Action::UninstallApp(h) => T::UninstallApp { phone: h.0 },
            Action::InstallApplet(h) => T::InstallApplet { phone: h.0 },
            Action::CardRenew(p) => T::CardRenew { person: p.0 },
            Action::CardRevoke(p) => T::CardRevoke { person: p.0 },
            Action::CardExpire(p) => T::CardExpire { person: p.0 },
            Action::Use(h, kind, e) => T::Use {
                phone: h.0,
                kind,
                pin: e,
            },
            Action::ChangePin(h, kind, e) => T::ChangePin {
                phone: h.0,
                kind,
                pin: e,
            },
            Action::InitPin(h, kind) => T::InitPin { phone: h.0, kind },
            Action::Suspend(p, kind) => T::Suspend { person: p.0, kind },
            Action::Resume(h, kind, e) => T::Resume {
                phone: h.0,
                kind,
                pin: e,
            },
            Action::Apply(h, kind) => T::Apply { phone: h.0, kind },
            Action::GenerateKey(h) => T::GenerateKey { phone: h.0 },
            Action::CaIssue(h) => T::CaIssue { phone: h.0 },
            Action::WriteCert(h) => T::WriteCert { phone: h.0 },
            Action::SetUserPin(h) => T::SetUserPin { phone: h.0 },
            Action::AbandonIssuance(h) => T::AbandonIssuance { phone: h.0 },
            Action::RevokeFromPhone(h, kind) => T::RevokeFromPhone { phone: h.0, kind },
            Action::RevokeWithCard(p, kind) => T::RevokeWithCard { person: p.0, kind },
            Action::DeliverPush(s) => T::DeliverPush { serial: s.0 },
            Action::DropPush(s) => T::DropPush { serial: s.0 },
            Action::CertExpire(s) => T::CertExpire { serial: s.0 },
            Action::FactoryReset(h) => T::FactoryReset { phone: h.0 },
            Action::HandOver(h, to, procedure) => T::HandOver {
                phone: h.0,
                to: match to {
                    Recipient::Person(p) => TraceRecipient::Person(p.0),
                    Recipient::Stranger => TraceRecipient::Stranger(StrangerTag::Stranger),
                },
                procedure,
            },
            Action::Dispose(h, procedure) => T::Dispose {
                phone: h.0,
                procedure,
            },
            Action::StrangerFinds(h) => T::StrangerFinds { phone: h.0 },
            Action::ReaderUse(h, kind, pin) => T::ReaderUse {
                phone: h.0,
                kind,
                pin,
            },
            Action::ReadAuthCert(h) => T::ReadAuthCert { phone: h.0 },
            Action::ReadSignCert(h, pin) => T::ReadSignCert { phone: h.0, pin },
            Action::SignOffline(h, pin) => T::SignOffline { phone: h.0, pin },
            Action::PresentSignature(s) => T::PresentSignature { serial: s.0 },
            Action::EnrollFinger(h) => T::EnrollFinger { phone: h.0 },
            Action::BiometricUse(h) => T::BiometricUse { phone: h.0 },
            Action::SimSwap(h) => T::SimSwap { phone: h.0 },
            Action::ApplyWithCode(h, p, kind) => T::ApplyWithCode {
                phone: h.0,
                person: p.0,
                kind,
            },
        }
    }
}

impl TraceAction {
    /// The model action, with every id checked against `config` (an id out of range or a
    /// kind not in play is an error naming the field).
    pub fn to_model(self, config: &Config) -> Result<Action, String> {
        use TraceAction as T;
        let h = |x: u8| {
            if x < config.phones {
                Ok(PhoneId(x))
            } else {
                Err(format!(
                    "phone {x} out of range (the world has {} phones: 0..={})",
                    config.phones,
                    config.phones - 1
                ))
            }
        };
        let p = |x: u8| {
            if x < config.persons {
                Ok(PersonId(x))
            } else {
                Err(format!(
                    "person {x} out of range (the world has {} persons: 0..={})",
                    config.persons,
                    config.persons - 1
                ))
            }
        };
        let k = |kind: Kind| {
            if config.kinds.contains(&kind) {
                Ok(kind)
            } else {
                Err(format!("kind {kind} is not in play in this configuration"))
            }
        };
        Ok(match self {
            T::GoOffline { phone } => Action::GoOffline(h(phone)?),
            T::GoOnline { phone } => Action::GoOnline(h(phone)?),
            T::Lose { phone } => Action::Lose(h(phone)?),
            T::Find { phone } => Action::Find(h(phone)?),
            T::Break { phone } => Action::Break(h(phone)?),
            T::InstallApp { phone } => Action::InstallApp(h(phone)?),
            T::UninstallApp { phone } => Action::UninstallApp(h(phone)?),
            T::InstallApplet { phone } => Action::InstallApplet(h(phone)?),
            T::CardRenew { person } => Action::CardRenew(p(person)?),
            T::CardRevoke { person } => Action::CardRevoke(p(person)?),
            T::CardExpire { person } => Action::CardExpire(p(person)?),
            T::Use { phone, kind, pin } => Action::Use(h(phone)?, k(kind)?, pin),
            T::ChangePin { phone, kind, pin } => Action::ChangePin(h(phone)?, k(kind)?, pin),
            T::InitPin { phone, kind } => Action::InitPin(h(phone)?, k(kind)?),
            T::Suspend { person, kind } => Action::Suspend(p(person)?, k(kind)?),
            T::Resume { phone, kind, pin } => Action::Resume(h(phone)?, k(kind)?, pin),
            T::Apply { phone, kind } => Action::Apply(h(phone)?, k(kind)?),
            T::GenerateKey { phone } => Action::GenerateKey(h(phone)?),
            T::CaIssue { phone } => Action::CaIssue(h(phone)?),
            T::WriteCert { phone } => Action::WriteCert(h(phone)?),
            T::SetUserPin { phone } => Action::SetUserPin(h(phone)?),
            T::AbandonIssuance { phone } => Action::AbandonIssuance(h(phone)?),
            T::RevokeFromPhone { phone, kind } => Action::RevokeFromPhone(h(phone)?, k(kind)?),
            T::RevokeWithCard { person, kind } => Action::RevokeWithCard(p(person)?, k(kind)?),
            T::DeliverPush { serial } => Action::DeliverPush(Serial(serial)),
            T::DropPush { serial } => Action::DropPush(Serial(serial)),
            T::CertExpire { serial } => Action::CertExpire(Serial(serial)),
            T::FactoryReset { phone } => Action::FactoryReset(h(phone)?),
            T::HandOver {
                phone,
                to,
                procedure,
            } => Action::HandOver(
                h(phone)?,
                match to {
                    TraceRecipient::Person(q) => Recipient::Person(p(q)?),
                    TraceRecipient::Stranger(_) => Recipient::Stranger,
                },
                procedure,
            ),
            T::Dispose { phone, procedure } => Action::Dispose(h(phone)?, procedure),
            T::StrangerFinds { phone } => Action::StrangerFinds(h(phone)?),
            T::ReaderUse { phone, kind, pin } => Action::ReaderUse(h(phone)?, k(kind)?, pin),
            T::ReadAuthCert { phone } => Action::ReadAuthCert(h(phone)?),
            T::ReadSignCert { phone, pin } => Action::ReadSignCert(h(phone)?, pin),
            T::SignOffline { phone, pin } => Action::SignOffline(h(phone)?, pin),
            T::PresentSignature { serial } => Action::PresentSignature(Serial(serial)),
            T::EnrollFinger { phone } => Action::EnrollFinger(h(phone)?),
            T::BiometricUse { phone } => Action::BiometricUse(h(phone)?),
            T::SimSwap { phone } => Action::SimSwap(h(phone)?),
            T::ApplyWithCode {
                phone,
                person,
                kind,
            } => Action::ApplyWithCode(h(phone)?, p(person)?, k(kind)?),
        })
    }

    /// The JSON field names this action takes besides `action`.
    pub(crate) fn fields(&self) -> &'static [&'static str] {
        use TraceAction as T;
        match self {
            T::CardRenew { .. } | T::CardRevoke { .. } | T::CardExpire { .. } => &["person"],
            T::Suspend { .. } | T::RevokeWithCard { .. } => &["person", "kind"],
            T::Use { .. } | T::ChangePin { .. } | T::Resume { .. } | T::ReaderUse { .. } => {
                &["phone", "kind", "pin"]
            }
            T::ReadSignCert { .. } | T::SignOffline { .. } => &["phone", "pin"],
            T::PresentSignature { .. } => &["serial"],
            T::ApplyWithCode { .. } => &["phone", "person", "kind"],
            T::InitPin { .. } | T::Apply { .. } | T::RevokeFromPhone { .. } => &["phone", "kind"],
            T::DeliverPush { .. } | T::DropPush { .. } | T::CertExpire { .. } => &["serial"],
            T::HandOver { .. } => &["phone", "to", "procedure"],
            T::Dispose { .. } => &["phone", "procedure"],
            _ => &["phone"],
        }
    }
}

/// The outcome a system answered: `"accepted"`, `{"refused": NAME}` or `"not_offered"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The action went through.
    Accepted,
    /// The action was refused for this reason (one the model produces: docs/SEMANTICS.md).
    Refused(Refusal),
    /// The system declined an action the model does not offer in this state (it cannot
    /// happen there: no such push, a phone out of reach, ...); the state stays as it was.
    /// The system's own reason can go in the step's `note`.
    NotOffered,
}

impl From<Result<(), Refusal>> for Observed {
    fn from(r: Result<(), Refusal>) -> Observed {
        match r {
            Ok(()) => Observed::Accepted,
            Err(r) => Observed::Refused(r),
        }
    }
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Accepted => f.write_str("accepted"),
            Observed::Refused(r) => write!(f, "refused {r}"),
            Observed::NotOffered => f.write_str("not offered"),
        }
    }
}
