//! The state of the world: persons and their card certs, phones and their SEs, the J-LIS
//! registry of phone certs, pushes in flight, and ground truth some invariants read (which
//! serial certifies each key, where private keys are).

use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Inline storage for a state's lists: the checker clones a state per successor and
/// renames it per symmetry; heap lists made allocation most of its time. Larger worlds than
/// these spill to the heap and stay correct.
pub type Persons = SmallVec<[Person; 2]>;
pub type Phones = SmallVec<[Phone; 3]>;
pub type Registry = SmallVec<[PhoneCert; 4]>;
pub type Pushes = SmallVec<[Push; 2]>;

/// Status of a person's card signing certificate (the one phone certs are linked to, R-LINK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CardStatus {
    Valid,
    Revoked,
    Expired,
}

/// A person and their My Number card signing certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Person {
    /// Generation of the current card signing cert (0 = first).
    pub card_generation: u8,
    pub card: CardStatus,
}

/// Who holds a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Holder {
    Person(PersonId),
    /// Someone outside the model: a buyer of a used phone, a finder.
    Stranger,
    /// Disposed of: nobody operates it again.
    Nobody,
}

/// Physical condition of a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Condition {
    InHand,
    Lost,
    Broken,
}

/// PIN state of an SE credential (R-PIN-SETUP, R-PIN-RETRY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Pin {
    /// Set by the SP-TSM over SCP03; the user never sees it.
    Temporary,
    /// Set by the user; `tries_left` wrong entries before blocking.
    User { tries_left: u8 },
    /// Only R-PIN-INIT unblocks it.
    Blocked,
}

/// One credential slot of the JPKI applet (one per kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Slot {
    Empty,
    /// A key pair generated for `person`, no certificate written (yet). `certified` is
    /// ground truth: the serial J-LIS certified this key as, once `CaIssue` ran (a deletion
    /// for that serial must delete this key even before the cert is written).
    Key {
        person: PersonId,
        certified: Option<Serial>,
    },
    /// Key pair and certificate `serial`.
    Cert {
        serial: Serial,
        pin: Pin,
    },
}

impl Slot {
    /// Whether a private key sits in this slot.
    pub fn has_key(self) -> bool {
        !matches!(self, Slot::Empty)
    }

    pub fn serial(self) -> Option<Serial> {
        match self {
            Slot::Cert { serial, .. } => Some(serial),
            _ => None,
        }
    }

    /// The serial the key in this slot is certified as, written into the slot or not.
    pub fn certified(self) -> Option<Serial> {
        match self {
            Slot::Cert { serial, .. } => Some(serial),
            Slot::Key { certified, .. } => certified,
            Slot::Empty => None,
        }
    }
}

/// Step reached by an issuance session (R-ISSUE, R-PIN-SETUP).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SessionStep {
    /// Card signature accepted by the SP-TSM.
    Applied,
    /// Key pair generated in the SE.
    KeyGenerated,
    /// Certificate issued by J-LIS.
    Issued(Serial),
    /// Certificate and temporary PIN written to the SE.
    CertWritten(Serial),
}

/// An issuance session in progress on a phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Session {
    /// Whose card signed the application.
    pub person: PersonId,
    pub kind: Kind,
    /// Generation of the card cert that signed.
    pub card_generation: u8,
    pub step: SessionStep,
}

/// A smartphone: its holder, its condition, the JPKI app and the applet in its SE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Phone {
    pub holder: Holder,
    pub condition: Condition,
    pub online: bool,
    /// Installations of the app so far; the push token of installation `n` is `(phone, n)`.
    pub app_installs: u8,
    /// Whether the app is installed now (its token is `app_installs`).
    pub app: bool,
    /// The JPKI applet is installed in the SE (phase 2).
    pub applet: bool,
    /// Credential slots, indexed by [`Kind::index`].
    pub slots: [Slot; 2],
    pub session: Option<Session>,
    /// Hand-overs so far (bounded by `max_handovers`).
    pub handovers: u8,
    /// Set when the phone left a person through the hand-over or disposal procedure
    /// (INV-DELETE-ON-TRANSFER reads it).
    pub procedure_from: Option<PersonId>,
}

impl Phone {
    /// The applet phase of seed 003: 0 nothing, 1 app, 2 applet, 3 initial setup (a key or a
    /// cert with the temporary PIN), 4 in use (a user PIN set).
    pub fn phase(&self) -> u8 {
        let in_use = self
            .slots
            .iter()
            .any(|s| matches!(s, Slot::Cert { pin, .. } if *pin != Pin::Temporary));
        let setup = self.slots.iter().any(|s| s.has_key());
        if in_use {
            4
        } else if setup {
            3
        } else if self.applet {
            2
        } else if self.app {
            1
        } else {
            0
        }
    }

    pub fn slot(&self, kind: Kind) -> Slot {
        self.slots[kind.index()]
    }

    /// The push token the app holds now, if installed.
    pub fn token(&self) -> Option<u8> {
        self.app.then_some(self.app_installs)
    }
}

/// Why a phone cert was revoked (R-REVOKE (a)-(d)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RevokeReason {
    /// (a) from the phone itself.
    FromPhone,
    /// (b) from another device with the card signature.
    WithCard,
    /// (c) in tandem with the card cert (R-LINK).
    Linked,
    /// (d) a new phone was set up (R-MODEL-CHANGE).
    ModelChange,
}

/// Registry status of a phone cert.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CertStatus {
    Active,
    Suspended,
    Revoked(RevokeReason),
    /// The phone cert's validity period ended (更新 is a reissue, R-REISSUE).
    Expired,
}

impl CertStatus {
    /// Not ended: active or suspended (neither revoked nor expired).
    pub fn is_live(self) -> bool {
        matches!(self, CertStatus::Active | CertStatus::Suspended)
    }
}

/// A J-LIS registry entry for a phone certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PhoneCert {
    pub person: PersonId,
    pub kind: Kind,
    pub phone: PhoneId,
    /// The card signing cert generation it is linked to (R-LINK).
    pub card_generation: u8,
    pub status: CertStatus,
    /// Whose card signature authorised it, and whether that card cert was valid at issuance
    /// (descriptive: INV-ISSUE-AUTH reads the application in the session instead).
    pub signer: PersonId,
    pub signature_valid_at_issue: bool,
}

/// A deletion push in flight (R-DELETE, R-TOKEN).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Push {
    /// Target token: phone and installation number.
    pub phone: PhoneId,
    pub token: u8,
    /// The revoked cert whose deletion this asks for.
    pub serial: Serial,
    pub kind: Kind,
}

/// The whole state. `Debug` prints the readable summary of [`crate::explore::describe`]
/// (every field is in it): what the Explorer and failing tests show.
#[derive(PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct State {
    pub persons: Persons,
    pub phones: Phones,
    /// Phone certs by serial.
    pub registry: Registry,
    /// Deletion pushes in flight, in serial order (one per revoked serial at most).
    pub pushes: Pushes,
    /// Ground truth for INV-KEY-IN-SE: private keys of which a copy exists outside every SE
    /// (a key pair generated outside the SE leaves one where it was generated).
    pub keys_outside_se: u8,
    /// What the threat actors and the alternatives add (crate::threats).
    pub threats: crate::threats::Threats,
    /// Detours taken so far (see [`Config::max_events`] and [`crate::Action::is_event`]).
    pub events: u8,
}

/// Every list is copied in one piece (its items are plain `Copy` data): the derived clone
/// went item by item, and the checker clones the state for every attempted step (measured:
/// a fifth of the search).
impl Clone for State {
    fn clone(&self) -> State {
        State {
            persons: SmallVec::from_slice(&self.persons),
            phones: SmallVec::from_slice(&self.phones),
            registry: SmallVec::from_slice(&self.registry),
            pushes: SmallVec::from_slice(&self.pushes),
            keys_outside_se: self.keys_outside_se,
            threats: self.threats.clone(),
            events: self.events,
        }
    }
}

impl State {
    /// The initial state: every card valid (generation 0), phone `h` held by person
    /// `h % persons`, online, in hand, nothing installed.
    pub fn initial(config: &Config) -> State {
        State {
            persons: config
                .person_ids()
                .map(|_| Person {
                    card_generation: 0,
                    card: CardStatus::Valid,
                })
                .collect(),
            phones: config
                .phone_ids()
                .map(|h| Phone {
                    holder: Holder::Person(PersonId(h.0 % config.persons)),
                    condition: Condition::InHand,
                    online: true,
                    app_installs: 0,
                    app: false,
                    applet: false,
                    slots: [Slot::Empty; 2],
                    session: None,
                    handovers: 0,
                    procedure_from: None,
                })
                .collect(),
            registry: Registry::new(),
            pushes: Pushes::new(),
            keys_outside_se: 0,
            threats: crate::threats::Threats::initial(config),
            events: 0,
        }
    }

    pub fn person(&self, p: PersonId) -> &Person {
        &self.persons[p.index()]
    }

    pub fn phone(&self, h: PhoneId) -> &Phone {
        &self.phones[h.index()]
    }

    pub fn cert(&self, s: Serial) -> &PhoneCert {
        &self.registry[s.index()]
    }

    /// The live (not revoked) cert of a person and kind, if any (there is at most one when
    /// INV-ONE holds; the first is returned otherwise).
    pub fn live_cert(&self, p: PersonId, k: Kind) -> Option<Serial> {
        self.registry
            .iter()
            .position(|c| c.person == p && c.kind == k && c.status.is_live())
            .map(|i| Serial(i as u8))
    }

    /// Whether the card signing cert of `p` is valid now.
    pub fn card_valid(&self, p: PersonId) -> bool {
        self.person(p).card == CardStatus::Valid
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::explore::describe(self))
    }
}
