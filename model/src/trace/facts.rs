//! Facts a system shows after a step, and their comparison with the model state.

use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId};
use crate::state::{
    CardStatus, CertStatus, Condition, Holder, Pin, Session, SessionStep, Slot, State,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

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
    /// Its validity period ended.
    Expired,
}

impl From<CertStatus> for CertFact {
    fn from(s: CertStatus) -> CertFact {
        match s {
            CertStatus::Active => CertFact::Active,
            CertStatus::Suspended => CertFact::Suspended,
            CertStatus::Revoked(_) => CertFact::Revoked,
            CertStatus::Expired => CertFact::Expired,
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
    /// Wrong user-PIN entries left before the PIN blocks (when `pin` is `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tries_left: Option<u8>,
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
            tries_left: None,
        }
    }

    /// The fact the model's slot shows, with the user PIN's tries left.
    pub fn detailed(phone: PhoneId, kind: Kind, slot: Slot) -> SlotFact {
        SlotFact {
            tries_left: match slot {
                Slot::Cert {
                    pin: Pin::User { tries_left },
                    ..
                } => Some(tries_left),
                _ => None,
            },
            ..SlotFact::of(phone, kind, slot)
        }
    }

    /// Whether the model's fact `want` agrees with this observed one: `holds` always, the
    /// optional fields only when given.
    fn agrees_with(&self, want: &SlotFact) -> bool {
        self.holds == want.holds
            && self.serial.is_none_or(|s| want.serial == Some(s))
            && self.pin.is_none_or(|p| want.pin == Some(p))
            && self.tries_left.is_none_or(|t| want.tries_left == Some(t))
    }
}

/// Status of a person's card signing certificate (R-LINK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CardFact {
    /// Valid.
    Valid,
    /// Revoked.
    Revoked,
    /// Expired.
    Expired,
}

impl From<CardStatus> for CardFact {
    fn from(s: CardStatus) -> CardFact {
        match s {
            CardStatus::Valid => CardFact::Valid,
            CardStatus::Revoked => CardFact::Revoked,
            CardStatus::Expired => CardFact::Expired,
        }
    }
}

/// `"stranger"` (someone outside the model) or `"nobody"` (disposed of).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NonPerson {
    /// Someone outside the model.
    Stranger,
    /// Disposed of.
    Nobody,
}

/// Who holds a phone: a person id, `"stranger"` or `"nobody"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HolderFact {
    /// A person of the world.
    Person(u8),
    /// Not a person of the world.
    Other(NonPerson),
}

impl From<Holder> for HolderFact {
    fn from(h: Holder) -> HolderFact {
        match h {
            Holder::Person(p) => HolderFact::Person(p.0),
            Holder::Stranger => HolderFact::Other(NonPerson::Stranger),
            Holder::Nobody => HolderFact::Other(NonPerson::Nobody),
        }
    }
}

/// A phone's physical condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConditionFact {
    /// In someone's hand.
    InHand,
    /// Mislaid.
    Lost,
    /// Broken for good.
    Broken,
}

impl From<Condition> for ConditionFact {
    fn from(c: Condition) -> ConditionFact {
        match c {
            Condition::InHand => ConditionFact::InHand,
            Condition::Lost => ConditionFact::Lost,
            Condition::Broken => ConditionFact::Broken,
        }
    }
}

/// The step an issuance session on a phone has reached, or `none`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionFact {
    /// No session.
    None,
    /// Applied with the card signature.
    Applied,
    /// Key pair generated in the SE.
    KeyGenerated,
    /// Certificate issued by J-LIS.
    Issued,
    /// Certificate and temporary PIN written to the SE.
    CertWritten,
}

impl From<Option<Session>> for SessionFact {
    fn from(s: Option<Session>) -> SessionFact {
        match s.map(|s| s.step) {
            None => SessionFact::None,
            Some(SessionStep::Applied) => SessionFact::Applied,
            Some(SessionStep::KeyGenerated) => SessionFact::KeyGenerated,
            Some(SessionStep::Issued(_)) => SessionFact::Issued,
            Some(SessionStep::CertWritten(_)) => SessionFact::CertWritten,
        }
    }
}

/// One phone as observed; only the fields given are compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneFact {
    /// The phone.
    pub phone: u8,
    /// Who holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<HolderFact>,
    /// In hand, lost or broken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionFact>,
    /// On the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    /// The JPKI app is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<bool>,
    /// The push token of the installed app: its installation number (1 = first); given only
    /// while the app is installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<u8>,
    /// The JPKI applet is installed in the SE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applet: Option<bool>,
    /// The issuance session's step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<SessionFact>,
}

impl PhoneFact {
    /// Every field the model's phone shows.
    pub fn of(s: &State, h: PhoneId) -> PhoneFact {
        let ph = s.phone(h);
        PhoneFact {
            phone: h.0,
            holder: Some(ph.holder.into()),
            condition: Some(ph.condition.into()),
            online: Some(ph.online),
            app: Some(ph.app),
            token: ph.token(),
            applet: Some(ph.applet),
            session: Some(ph.session.into()),
        }
    }

    /// The fields given here that `want` contradicts: (field, model, observed).
    fn mismatches(&self, want: &PhoneFact) -> Vec<(&'static str, String, String)> {
        fn cmp<T: PartialEq + fmt::Debug>(
            out: &mut Vec<(&'static str, String, String)>,
            name: &'static str,
            given: Option<T>,
            want: Option<T>,
        ) {
            if let Some(g) = given {
                if want.as_ref() != Some(&g) {
                    let text =
                        |v: Option<&T>| v.map_or("none".into(), |v| json_text(&format!("{v:?}")));
                    out.push((name, text(want.as_ref()), text(Some(&g))));
                }
            }
        }
        let mut out = Vec::new();
        cmp(&mut out, "holder", self.holder, want.holder);
        cmp(&mut out, "condition", self.condition, want.condition);
        cmp(&mut out, "online", self.online, want.online);
        cmp(&mut out, "app", self.app, want.app);
        cmp(&mut out, "token", self.token, want.token);
        cmp(&mut out, "applet", self.applet, want.applet);
        cmp(&mut out, "session", self.session, want.session);
        out
    }
}

/// Debug text of a fact value, lowercased (`InHand` -> `inhand`, `Person(0)` -> `person(0)`).
fn json_text(debug: &str) -> String {
    debug.to_lowercase()
}

/// A pending deletion push: its model serial, or the serial with the target it is sent to
/// (phone and token; compared when given).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PushFact {
    /// Only the serial.
    Serial(u8),
    /// The serial and the token it targets.
    Target {
        /// The revoked cert's model serial.
        serial: u8,
        /// The target phone.
        phone: u8,
        /// The target token (the app installation number on that phone).
        token: u8,
    },
}

impl PushFact {
    /// The model serial.
    pub fn serial(self) -> u8 {
        match self {
            PushFact::Serial(s) | PushFact::Target { serial: s, .. } => s,
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
    /// The pending deletion pushes, ascending by serial (the whole set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushes: Option<Vec<PushFact>>,
    /// Card signing cert statuses by person (keys are decimal person ids).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cards: BTreeMap<u8, CardFact>,
    /// Phones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<PhoneFact>,
}

impl Facts {
    /// Nothing given.
    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
            && self.slots.is_empty()
            && self.pushes.is_none()
            && self.cards.is_empty()
            && self.phones.is_empty()
    }

    /// The core facts of the model state (what golden vectors carry): all certs, all slots of
    /// kinds in play, the pushes' serials.
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
            pushes: Some(
                s.pushes
                    .iter()
                    .map(|p| PushFact::Serial(p.serial.0))
                    .collect(),
            ),
            ..Facts::default()
        }
    }

    /// Every fact of the model state: the core ones with PIN tries left and push targets,
    /// every card and every phone.
    pub fn everything(config: &Config, s: &State) -> Facts {
        let mut f = Facts::full(config, s);
        for slot in &mut f.slots {
            let h = PhoneId(slot.phone);
            *slot = SlotFact::detailed(h, slot.kind, s.phone(h).slot(slot.kind));
        }
        f.pushes = Some(
            s.pushes
                .iter()
                .map(|p| PushFact::Target {
                    serial: p.serial.0,
                    phone: p.phone.0,
                    token: p.token,
                })
                .collect(),
        );
        f.cards = config
            .person_ids()
            .map(|p| (p.0, s.person(p).card.into()))
            .collect();
        f.phones = config.phone_ids().map(|h| PhoneFact::of(s, h)).collect();
        f
    }

    /// The core facts that differ between two model states (what a step changed).
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
            ..Facts::default()
        }
    }

    /// The given facts that the model state contradicts: (fact, model's value, observed).
    /// Ids were checked against the configuration when the trace was parsed.
    pub fn mismatches(&self, config: &Config, s: &State) -> Vec<FactMismatch> {
        let mut out = Vec::new();
        let mut push = |fact: String, expected: String, observed: String| {
            out.push(FactMismatch {
                fact,
                expected,
                observed,
            })
        };
        for (&serial, &obs) in &self.certs {
            let expected = s
                .registry
                .get(usize::from(serial))
                .map(|c| CertFact::from(c.status));
            if expected != Some(obs) {
                push(
                    format!("certs.{serial}"),
                    expected.map_or("no such cert".into(), |e| json_text(&format!("{e:?}"))),
                    json_text(&format!("{obs:?}")),
                );
            }
        }
        for f in &self.slots {
            let h = PhoneId(f.phone);
            let want = (f.phone < config.phones)
                .then(|| SlotFact::detailed(h, f.kind, s.phone(h).slot(f.kind)));
            if !want.is_some_and(|w| f.agrees_with(&w)) {
                push(
                    format!("slots.h{}.{}", f.phone, f.kind),
                    want.map_or("no such phone".into(), |w| slot_text(&w)),
                    slot_text(f),
                );
            }
        }
        if let Some(p) = &self.pushes {
            let want: Vec<u8> = s.pushes.iter().map(|p| p.serial.0).collect();
            let given: Vec<u8> = p.iter().map(|p| p.serial()).collect();
            if want != given {
                push("pushes".into(), format!("{want:?}"), format!("{given:?}"));
            }
            for f in p {
                if let PushFact::Target {
                    serial,
                    phone,
                    token,
                } = *f
                {
                    if let Some(m) = s.pushes.iter().find(|m| m.serial.0 == serial) {
                        if (m.phone.0, m.token) != (phone, token) {
                            push(
                                format!("pushes.{serial}"),
                                format!("to h{} token {}", m.phone.0, m.token),
                                format!("to h{phone} token {token}"),
                            );
                        }
                    }
                }
            }
        }
        for (&p, &obs) in &self.cards {
            let want = (p < config.persons).then(|| CardFact::from(s.person(PersonId(p)).card));
            if want != Some(obs) {
                push(
                    format!("cards.{p}"),
                    want.map_or("no such person".into(), |w| json_text(&format!("{w:?}"))),
                    json_text(&format!("{obs:?}")),
                );
            }
        }
        for f in &self.phones {
            if f.phone >= config.phones {
                push(
                    format!("phones.h{}", f.phone),
                    "no such phone".into(),
                    "a phone".into(),
                );
                continue;
            }
            let want = PhoneFact::of(s, PhoneId(f.phone));
            for (field, m, o) in f.mismatches(&want) {
                push(format!("phones.h{}.{field}", f.phone), m, o);
            }
        }
        out
    }
}

fn slot_text(f: &SlotFact) -> String {
    match (f.holds, f.serial, f.pin) {
        (SlotContent::Cert, s, p) => {
            let mut t = format!(
                "cert #{} pin {}",
                s.map_or("?".into(), |s| s.to_string()),
                p.map_or("?".into(), |p| format!("{p:?}").to_lowercase())
            );
            if let Some(n) = f.tries_left {
                t.push_str(&format!(" ({n} tries left)"));
            }
            t
        }
        (h, _, _) => format!("{h:?}").to_lowercase(),
    }
}

/// A given fact the model contradicts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FactMismatch {
    /// Which fact (`certs.0`, `slots.h1.auth`, `pushes`, `cards.0`, `phones.h0.online`).
    pub fact: String,
    /// The model's value.
    pub expected: String,
    /// The trace's value.
    pub observed: String,
}
