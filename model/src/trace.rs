//! Traces: what a system did, step by step, in a form other teams can write without Rust
//! (format `phone-jpki-trace/1`, JSON Lines; schema in `docs/trace.schema.json`), and the
//! replay that checks a trace against the model.
//!
//! Line 1 is a [`Header`]: the format name and the model [`Config`] (omitted fields take the
//! reference configuration's values). Every further non-blank line is a [`Step`]: an action in
//! the alphabet of `docs/ALPHABET.md` with small ids, the outcome the system answered
//! (`"accepted"` or `{"refused": "WrongPin"}`) and optional observed [`Facts`] after the step;
//! only the facts given are compared. The action names cite their R-IDs there; the facts
//! serve R-DELETE (slots), R-REVOKE / R-SUSPEND (cert statuses) and R-TOKEN (pushes).
//!
//! [`parse`] never panics: bad input is a [`TraceError`] naming its line (and column for JSON
//! syntax). [`replay`] checks each step: the action must be offered in the model's state, the
//! outcome must be the model's, and every given fact must match the model's next state.

use crate::action::{Action, PinEntry, Recipient, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::policy::Choice;
use crate::rules::{is_offered, step};
use crate::state::{CardStatus, CertStatus, Condition, Holder, Pin, Slot, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The format name and version every trace's header carries.
pub const FORMAT: &str = "phone-jpki-trace/1";

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
    fn fields(&self) -> &'static [&'static str] {
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
            T::DeliverPush { .. } | T::DropPush { .. } => &["serial"],
            T::HandOver { .. } => &["phone", "to", "procedure"],
            T::Dispose { .. } => &["phone", "procedure"],
            _ => &["phone"],
        }
    }
}

/// The outcome a system answered: `"accepted"` or `{"refused": NAME}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Observed {
    /// The action went through.
    Accepted,
    /// The action was refused for this reason.
    Refused(Refusal),
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
        }
    }
}

/// Registry status of a phone cert (R-REVOKE, R-SUSPEND).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CertFact {
    /// Good.
    Active,
    /// Suspended (一時保留).
    Suspended,
    /// Revoked, for whatever reason.
    Revoked,
}

impl From<CertStatus> for CertFact {
    fn from(s: CertStatus) -> CertFact {
        match s {
            CertStatus::Active => CertFact::Active,
            CertStatus::Suspended => CertFact::Suspended,
            CertStatus::Revoked(_) => CertFact::Revoked,
        }
    }
}

/// What an SE credential slot holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SlotContent {
    /// Nothing (or no applet).
    Empty,
    /// A key pair without a certificate.
    Key,
    /// A key pair and certificate `serial`.
    Cert,
}

/// PIN state of a slot holding a cert (R-PIN-SETUP, R-PIN-RETRY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PinFact {
    /// Only the temporary PIN is set.
    Temporary,
    /// The user PIN is set and not blocked.
    User,
    /// Blocked.
    Blocked,
}

/// One SE slot as observed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SlotFact {
    /// The phone.
    pub phone: u8,
    /// The slot's kind.
    pub kind: Kind,
    /// What it holds.
    pub holds: SlotContent,
    /// The model serial of the cert it holds (when `holds` is `cert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<u8>,
    /// The PIN state (when `holds` is `cert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<PinFact>,
}

impl SlotFact {
    /// The fact the model's slot shows.
    pub fn of(phone: PhoneId, kind: Kind, slot: Slot) -> SlotFact {
        let (holds, serial, pin) = match slot {
            Slot::Empty => (SlotContent::Empty, None, None),
            Slot::Key { .. } => (SlotContent::Key, None, None),
            Slot::Cert { serial, pin } => (
                SlotContent::Cert,
                Some(serial.0),
                Some(match pin {
                    Pin::Temporary => PinFact::Temporary,
                    Pin::User { .. } => PinFact::User,
                    Pin::Blocked => PinFact::Blocked,
                }),
            ),
        };
        SlotFact {
            phone: phone.0,
            kind,
            holds,
            serial,
            pin,
        }
    }
}

/// Facts observed after a step; only those given are compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// Phone cert statuses by model serial (keys are decimal serials).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub certs: BTreeMap<u8, CertFact>,
    /// SE slots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slots: Vec<SlotFact>,
    /// The model serials of the pending deletion pushes, ascending (the whole set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes: Option<Vec<u8>>,
}

impl Facts {
    /// Nothing given.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty() && self.slots.is_empty() && self.pushes.is_none()
    }

    /// Every fact of the model state: all certs, all slots of kinds in play, the pushes.
    pub fn full(config: &Config, s: &State) -> Facts {
        let mut slots = Vec::new();
        for h in config.phone_ids() {
            for &k in &config.kinds {
                slots.push(SlotFact::of(h, k, s.phone(h).slot(k)));
            }
        }
        Facts {
            certs: s
                .registry
                .iter()
                .enumerate()
                .map(|(i, c)| (i as u8, c.status.into()))
                .collect(),
            slots,
            pushes: Some(s.pushes.iter().map(|p| p.serial.0).collect()),
        }
    }

    /// The facts that differ between two model states (what a step changed).
    pub fn changed(config: &Config, before: &State, after: &State) -> Facts {
        let full = Facts::full(config, after);
        let old = Facts::full(config, before);
        Facts {
            certs: full
                .certs
                .iter()
                .filter(|(k, v)| old.certs.get(k) != Some(v))
                .map(|(k, v)| (*k, *v))
                .collect(),
            slots: full
                .slots
                .iter()
                .filter(|f| !old.slots.contains(f))
                .copied()
                .collect(),
            pushes: (full.pushes != old.pushes).then(|| full.pushes.unwrap_or_default()),
        }
    }

    /// The given facts that the model state contradicts: (fact, model's value, observed).
    pub fn mismatches(&self, config: &Config, s: &State) -> Vec<FactMismatch> {
        let mut out = Vec::new();
        for (&serial, &obs) in &self.certs {
            let expected = s
                .registry
                .get(usize::from(serial))
                .map(|c| format!("{:?}", CertFact::from(c.status)).to_lowercase());
            let observed = format!("{obs:?}").to_lowercase();
            if expected.as_deref() != Some(observed.as_str()) {
                out.push(FactMismatch {
                    fact: format!("certs.{serial}"),
                    expected: expected.unwrap_or_else(|| "no such cert".into()),
                    observed,
                });
            }
        }
        for f in &self.slots {
            let want = if f.phone < config.phones {
                let k = f.kind;
                Some(SlotFact::of(
                    PhoneId(f.phone),
                    k,
                    s.phone(PhoneId(f.phone)).slot(k),
                ))
            } else {
                None
            };
            if want != Some(*f) {
                out.push(FactMismatch {
                    fact: format!("slots.h{}.{}", f.phone, f.kind),
                    expected: want.map_or("no such phone".into(), |w| slot_text(&w)),
                    observed: slot_text(f),
                });
            }
        }
        if let Some(p) = &self.pushes {
            let want: Vec<u8> = s.pushes.iter().map(|p| p.serial.0).collect();
            if &want != p {
                out.push(FactMismatch {
                    fact: "pushes".into(),
                    expected: format!("{want:?}"),
                    observed: format!("{p:?}"),
                });
            }
        }
        out
    }
}

fn slot_text(f: &SlotFact) -> String {
    match (f.holds, f.serial, f.pin) {
        (SlotContent::Cert, s, p) => format!(
            "cert #{} pin {}",
            s.map_or("?".into(), |s| s.to_string()),
            p.map_or("?".into(), |p| format!("{p:?}").to_lowercase())
        ),
        (h, _, _) => format!("{h:?}").to_lowercase(),
    }
}

/// A given fact the model contradicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactMismatch {
    /// Which fact (`certs.0`, `slots.h1.auth`, `pushes`).
    pub fact: String,
    /// The model's value.
    pub expected: String,
    /// The trace's value.
    pub observed: String,
}

/// The configuration in a header: the model [`Config`]'s fields, each optional (the reference
/// configuration's value when omitted); `policy` lists non-default variants by CLI name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct TraceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phones: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<Kind>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_card_generations: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_issuances: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_app_installs: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_handovers: Option<u8>,
    /// A number, or `null` for unbounded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_events: Option<Option<u8>>,
    /// A number, or `null` for unbounded.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_certs: Option<Option<u8>>,
    /// A number, or `null` for one per phone.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub max_sessions: Option<Option<u8>>,
    /// Wrong-PIN tries before blocking: `[auth, sign]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_tries: Option<[u8; 2]>,
    /// THREAT-PIN-KNOWN: the persons whose PINs everyone else knows too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_known: Option<Vec<u8>>,
    /// Non-default policy choices (fault variants and ALT-* alternatives) by name
    /// (`phone-jpki check --policy list`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<Vec<String>>,
}

/// A field that is present (possibly `null`) is `Some`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u8>>, D::Error> {
    Option::<u8>::deserialize(d).map(Some)
}

impl TraceConfig {
    /// Every field of `c` spelled out.
    pub fn of(c: &Config) -> TraceConfig {
        let mut policy = Vec::new();
        for v in Choice::all() {
            // A choice is on when the field it sets already has its value in `c`.
            let mut q = c.policy;
            v.apply(&mut q);
            if q == c.policy {
                policy.push(v.name().to_string());
            }
        }
        TraceConfig {
            persons: Some(c.persons),
            phones: Some(c.phones),
            kinds: Some(c.kinds.clone()),
            max_card_generations: Some(c.max_card_generations),
            max_issuances: Some(c.max_issuances),
            max_app_installs: Some(c.max_app_installs),
            max_handovers: Some(c.max_handovers),
            max_events: Some(c.max_events),
            max_certs: Some(c.max_certs),
            max_sessions: Some(c.max_sessions),
            pin_tries: Some(c.pin_tries),
            pin_known: Some(c.pin_known.iter().map(|p| p.0).collect()),
            policy: Some(policy),
        }
    }

    /// The model configuration: the reference one with the given fields, validated.
    pub fn to_config(&self) -> Result<Config, String> {
        let mut c = Config::reference();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            persons,
            phones,
            max_card_generations,
            max_issuances,
            max_app_installs,
            max_handovers,
            max_events,
            max_certs,
            max_sessions,
            pin_tries
        );
        match &self.pin_known {
            Some(p) => c.pin_known = p.iter().map(|&x| PersonId(x)).collect(),
            // The reference's person may not exist in a smaller world.
            None => c.pin_known.retain(|p| p.0 < c.persons),
        }
        if let Some(k) = &self.kinds {
            c.kinds = k.clone();
            c.kinds.sort();
            c.kinds.dedup();
        }
        if let Some(p) = &self.policy {
            for name in p {
                let v = Choice::from_name(name)
                    .ok_or_else(|| format!("unknown policy choice {name:?}"))?;
                c = c.with_choice(v);
            }
        }
        c.validate()?;
        Ok(c)
    }
}

/// The first line of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Must be `phone-jpki-trace/1`.
    pub format: String,
    /// The model configuration the trace runs in (omitted fields: the reference one's).
    #[serde(default)]
    pub config: TraceConfig,
    /// What the trace shows (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Requirement and property IDs the trace exercises.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rids: Vec<String>,
}

/// One step: the action, what the system answered, and what it showed afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The action (its name in `action`, its ids beside it).
    #[serde(flatten)]
    pub action: TraceAction,
    /// The outcome the system answered.
    pub outcome: Observed,
    /// Facts observed after the step (only those given are compared).
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
}

/// The JSON Schema of one trace line: a header or a step (`docs/trace.schema.json`).
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Line {
    /// The first line.
    Header(Header),
    /// Every other line.
    Step(Step),
}

/// The JSON Schema of a trace line, pretty-printed (what `docs/trace.schema.json` holds).
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(Line);
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}

/// Why a trace could not be read (exit code 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceError {
    /// A line is not valid UTF-8.
    NotUtf8 {
        /// 1-based line.
        line: usize,
    },
    /// A line is not (complete) JSON.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column from the JSON parser.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The input is empty or its first line is not a header.
    MissingHeader {
        /// 1-based line.
        line: usize,
        /// What was found.
        message: String,
    },
    /// The header names another format.
    WrongFormat {
        /// 1-based line.
        line: usize,
        /// The format found.
        found: String,
    },
    /// The header's configuration is invalid.
    BadConfig {
        /// 1-based line.
        line: usize,
        /// Which field and why.
        message: String,
    },
    /// A step line is JSON but not a valid step (unknown action, missing or unknown field,
    /// id out of range, bad outcome or facts).
    BadStep {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl TraceError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            TraceError::NotUtf8 { line }
            | TraceError::Syntax { line, .. }
            | TraceError::MissingHeader { line, .. }
            | TraceError::WrongFormat { line, .. }
            | TraceError::BadConfig { line, .. }
            | TraceError::BadStep { line, .. } => *line,
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::NotUtf8 { line } => write!(f, "line {line}: not UTF-8"),
            TraceError::Syntax {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: not JSON: {message}"),
            TraceError::MissingHeader { line, message } => write!(
                f,
                "line {line}: missing header {{\"format\": \"{FORMAT}\", \"config\": {{...}}}}: {message}"
            ),
            TraceError::WrongFormat { line, found } => {
                write!(f, "line {line}: format {found:?}, expected {FORMAT:?}")
            }
            TraceError::BadConfig { line, message } => {
                write!(f, "line {line}: bad config: {message}")
            }
            TraceError::BadStep { line, message } => write!(f, "line {line}: bad step: {message}"),
        }
    }
}

impl std::error::Error for TraceError {}

/// A parsed trace: its header, the configuration, and each step with its line and model action.
#[derive(Clone, Debug)]
pub struct ParsedTrace {
    /// The header line.
    pub header: Header,
    /// The configuration it names.
    pub config: Config,
    /// (1-based line, step, the model action).
    pub steps: Vec<(usize, Step, Action)>,
}

fn json_line(line: usize, text: &str) -> Result<serde_json::Value, TraceError> {
    serde_json::from_str(text).map_err(|e| TraceError::Syntax {
        line,
        column: e.column(),
        message: e.to_string(),
    })
}

/// Parse a trace. Blank lines are skipped; everything else must be a header (first) or a step.
pub fn parse(input: &[u8]) -> Result<ParsedTrace, TraceError> {
    let mut header: Option<(Header, Config)> = None;
    let mut steps = Vec::new();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| TraceError::NotUtf8 { line })?;
        if text.trim().is_empty() {
            continue;
        }
        let value = json_line(line, text)?;
        match &header {
            None => {
                let obj = value.as_object().ok_or_else(|| TraceError::MissingHeader {
                    line,
                    message: "the first line is not a JSON object".into(),
                })?;
                let format = match obj.get("format") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(_) => {
                        return Err(TraceError::MissingHeader {
                            line,
                            message: "\"format\" is not a string".into(),
                        })
                    }
                    None => {
                        return Err(TraceError::MissingHeader {
                            line,
                            message: "the first line has no \"format\"".into(),
                        })
                    }
                };
                if format != FORMAT {
                    return Err(TraceError::WrongFormat {
                        line,
                        found: format,
                    });
                }
                let h: Header =
                    serde_json::from_value(value).map_err(|e| TraceError::BadConfig {
                        line,
                        message: e.to_string(),
                    })?;
                let c = h
                    .config
                    .to_config()
                    .map_err(|message| TraceError::BadConfig { line, message })?;
                header = Some((h, c));
            }
            Some((_, config)) => {
                let (st, a) = parse_step(config, value)
                    .map_err(|message| TraceError::BadStep { line, message })?;
                steps.push((line, st, a));
            }
        }
    }
    let (header, config) = header.ok_or(TraceError::MissingHeader {
        line: 1,
        message: "the input is empty".into(),
    })?;
    Ok(ParsedTrace {
        header,
        config,
        steps,
    })
}

fn parse_step(config: &Config, value: serde_json::Value) -> Result<(Step, Action), String> {
    let obj = value.as_object().ok_or("a step must be a JSON object")?;
    match obj.get("action") {
        None => return Err("no \"action\" field".into()),
        Some(serde_json::Value::String(name)) => {
            if !crate::ActionKind::ALL.iter().any(|k| k.name() == name) {
                return Err(format!(
                    "unknown action {name:?} (the alphabet is in docs/ALPHABET.md)"
                ));
            }
        }
        Some(_) => return Err("\"action\" must be a string".into()),
    }
    let st: Step = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let allowed = st.action.fields();
    for key in obj.keys() {
        if !matches!(key.as_str(), "action" | "outcome" | "facts")
            && !allowed.contains(&key.as_str())
        {
            return Err(format!(
                "unknown field {key:?} for {} (expected {})",
                obj["action"],
                allowed.join(", ")
            ));
        }
    }
    for f in &st.facts.slots {
        if f.phone >= config.phones {
            return Err(format!("facts: slot phone {} out of range", f.phone));
        }
    }
    let a = st.action.to_model(config)?;
    Ok((st, a))
}

/// Where and how a trace leaves the model.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// 1-based line of the step.
    pub line: usize,
    /// Index of the step (0 = first after the header).
    pub step: usize,
    /// The action, as the model labels it.
    pub action: String,
    /// The action is not offered in the model's state (the remaining fields compare nothing).
    pub not_offered: bool,
    /// What the model answers.
    pub expected: Option<Observed>,
    /// What the trace says.
    pub observed: Observed,
    /// Given facts the model contradicts.
    pub facts: Vec<FactMismatch>,
    /// The model's state before the step, readable.
    pub state_text: String,
    /// The model's state before the step.
    pub state: State,
    /// The actions the model offers there (when `not_offered`).
    pub offered: Vec<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "line {}: step {} {} diverges",
            self.line,
            self.step + 1,
            self.action
        )?;
        if self.not_offered {
            writeln!(f, "  the model does not offer this action here; it offers:")?;
            for a in &self.offered {
                writeln!(f, "    {a}")?;
            }
        } else {
            if let Some(e) = &self.expected {
                let mark = if *e == self.observed {
                    ""
                } else {
                    "   <- differs"
                };
                writeln!(f, "  outcome: model {e}, trace {}{mark}", self.observed)?;
            }
            for m in &self.facts {
                writeln!(
                    f,
                    "  fact {}: model {}, trace {}",
                    m.fact, m.expected, m.observed
                )?;
            }
        }
        writeln!(f, "  model state before the step:")?;
        for l in self.state_text.lines() {
            writeln!(f, "    {l}")?;
        }
        Ok(())
    }
}

/// The result of replaying a trace.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every step conforms; the number of steps.
    Conforms(usize),
    /// The first divergence.
    Diverges(Box<Divergence>),
}

/// Replay a parsed trace against the model.
pub fn replay(t: &ParsedTrace) -> Verdict {
    let c = &t.config;
    let mut s = State::initial(c);
    for (i, (line, st, a)) in t.steps.iter().enumerate() {
        let diverge = |s: &State, not_offered, expected, facts| {
            let mut offered = Vec::new();
            if not_offered {
                let mut all = Vec::new();
                crate::rules::candidate_actions(c, s, &mut all);
                offered = all.iter().map(|a| a.to_string()).collect();
            }
            Verdict::Diverges(Box::new(Divergence {
                line: *line,
                step: i,
                action: a.to_string(),
                not_offered,
                expected,
                observed: st.outcome,
                facts,
                state_text: render_state(c, s),
                state: s.clone(),
                offered,
            }))
        };
        if !is_offered(c, &s, *a) {
            return diverge(&s, true, None, Vec::new());
        }
        let o = step(c, &s, *a);
        let expected = Observed::from(o.result);
        let facts = st.facts.mismatches(c, &o.next);
        if expected != st.outcome || !facts.is_empty() {
            return diverge(&s, false, Some(expected), facts);
        }
        s = o.next;
    }
    Verdict::Conforms(t.steps.len())
}

/// Write one trace: the header line, then one line per step, each ending in a newline.
pub fn write(header: &Header, steps: &[Step]) -> String {
    let mut out = serde_json::to_string(header).unwrap_or_default();
    out.push('\n');
    for st in steps {
        out.push_str(&serde_json::to_string(st).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The model state, one fact per line: persons, phones, the registry, pushes.
pub fn render_state(c: &Config, s: &State) -> String {
    let mut out = String::new();
    for p in c.person_ids() {
        let person = s.person(p);
        let card = match person.card {
            CardStatus::Valid => "valid",
            CardStatus::Revoked => "revoked",
            CardStatus::Expired => "expired",
        };
        out.push_str(&format!(
            "{p}: card signing cert generation {} {card}\n",
            person.card_generation
        ));
    }
    for h in c.phone_ids() {
        let ph = s.phone(h);
        let holder = match ph.holder {
            Holder::Person(p) => format!("held by {p}"),
            Holder::Stranger => "held by a stranger".into(),
            Holder::Nobody => "disposed of".into(),
        };
        let cond = match ph.condition {
            Condition::InHand => "in hand",
            Condition::Lost => "lost",
            Condition::Broken => "broken",
        };
        let app = match ph.token() {
            Some(t) => format!("app (token {t})"),
            None => "no app".into(),
        };
        let mut line = format!(
            "{h}: {holder}, {cond}, {}, {app}, {}",
            if ph.online { "online" } else { "offline" },
            if ph.applet { "applet" } else { "no applet" }
        );
        for &k in &c.kinds {
            let slot = match ph.slot(k) {
                Slot::Empty => "empty".to_string(),
                Slot::Key { person } => format!("key of {person}"),
                Slot::Cert { serial, pin } => format!(
                    "cert {serial} pin {}",
                    match pin {
                        Pin::Temporary => "temporary".to_string(),
                        Pin::User { tries_left } => format!("user ({tries_left} tries left)"),
                        Pin::Blocked => "blocked".to_string(),
                    }
                ),
            };
            line.push_str(&format!("; {k} slot: {slot}"));
        }
        if let Some(sess) = ph.session {
            line.push_str(&format!(
                "; issuance session of {} {} at {:?}",
                sess.person, sess.kind, sess.step
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if s.registry.is_empty() {
        out.push_str("registry: no phone certs\n");
    }
    for (i, cert) in s.registry.iter().enumerate() {
        out.push_str(&format!(
            "cert #{i}: {} {} on {}, card generation {}, {:?}\n",
            cert.person, cert.kind, cert.phone, cert.card_generation, cert.status
        ));
    }
    if s.pushes.is_empty() {
        out.push_str("pushes: none pending\n");
    }
    for p in &s.pushes {
        out.push_str(&format!(
            "push for #{} ({}) to {} token {}\n",
            p.serial.0, p.kind, p.phone, p.token
        ));
    }
    out.push_str(&format!("detours taken: {}\n", s.events));
    out
}
