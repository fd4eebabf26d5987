//! Facts a system shows after a step, and their comparison with the model state.

use crate::config::Config;
use crate::ids::{Kind, PhoneId};
use crate::state::{CertStatus, Pin, Slot, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
