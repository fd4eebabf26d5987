//! The facade: the whole concrete system, driven by the actions of `docs/ALPHABET.md`, one
//! method per action in snake_case, each returning `Result<(), Refusal>`.
//!
//! Everything goes through the real parts: the JPKI app talks to the applet with APDUs over
//! an OMAPI-like channel opened with its signing-certificate hash (R-ACL); the TSMs talk to
//! the SE over SCP03 (R-SCP03); the CA issues X.509 certificates and answers status; cards
//! sign applications (R-ISSUE); relying parties verify applet signatures against the phone
//! certificate and its status (INV-NO-USE-AFTER-REVOKE).
//!
//! Refusal order inside an operation: the phone's physical state (in hand, not broken), then
//! network, then app / applet / card, then server records. A refused action changes nothing,
//! except that a wrong PIN counts down (R-PIN-RETRY).
//!
//! Decisions (see also `tsm::sp`):
//! - R-DELETE: the app syncs the status of the credentials in its applet when it is installed
//!   and when the phone comes back online, and has revoked ones deleted by serial.
//! - Abandoning an issuance drops the session only; a certificate already issued stays.
//! - Hand-over, disposal, factory reset, uninstalling the app, losing and breaking the phone end any
//!   issuance session on it; going offline does not (its steps then refuse `PhoneOffline`).
//! - The PIN a holder enters "right" is the one they know: the PIN they set on that slot, or,
//!   when the world says that owner's PIN is known to others (THREAT-PIN-KNOWN,
//!   [`SystemConfig::pin_known`]), the owner's PIN. Anyone else's "right" entry is their own
//!   PIN, wrong there. Whether it is accepted is the applet's own check, never the facade's.
//! - Anyone holding the phone may act: the owner, a buyer, a finder (THREAT-FINDER, -BUYER).
//!   A finder cannot open the locked screen (no app route: `ScreenLocked`) but can hold the
//!   phone to a card reader (THREAT-READER, `threats`).

mod inspect;
mod issuance;
mod phone_life;
mod pin_use;
mod policy;
mod refusal;
mod relying;
mod revocation;
#[cfg(test)]
mod tests;
mod threats;

pub use inspect::{PhoneView, PushView, SlotInfo};
pub use policy::{AppletDeletion, Policy, ResetPolicy, RevokeAuth, StatusCheck};
use refusal::app_refusal;
pub use refusal::{Refusal, SystemError};
pub use threats::OfflineSignature;

use crate::applet::{AppletConfig, Kind, PinState};
use crate::ca::{Ca, CertKind, LogicalTime, PersonId, PhoneId, Serial};
use crate::card::MyNumberCard;
use crate::phone::app::{AppChannel, SlotState};
use crate::phone::{Condition, Holder, InstalledApp, Phone};
use crate::push::PushService;
use crate::se::{KeyGen, SeConfig, SecureElement};
use crate::tsm::sei::SeiTsm;
use crate::tsm::sp::{
    applet_kind, serial_from_bytes, Application, Purpose, SignedApplication, SpTsm,
};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Whether the holder enters the correct user PIN (ALPHABET `pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pin {
    /// The holder enters the PIN they know (correct only if they set it on this slot).
    Right,
    /// A wrong PIN.
    Wrong,
}

/// Configuration of a [`System`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemConfig {
    /// Number of persons `p0..`.
    pub persons: u32,
    /// Number of phones `h0..`; phone `h` starts with person `h % persons`.
    pub phones: u32,
    /// The certificate kinds in play.
    pub kinds: Vec<CertKind>,
    /// Auth PIN retry limit (R-PIN-RETRY, default 3).
    pub auth_tries: u8,
    /// Sign password retry limit (default 5).
    pub sign_tries: u8,
    /// Seed of every random choice (keys with [`System::new`], SCP03 challenges, temporary
    /// PINs, relying-party challenges).
    pub seed: u64,
    /// Logical time at start.
    pub start: LogicalTime,
    /// THREAT-PIN-KNOWN: the persons whose PINs are known to whoever holds their phones
    /// (shared, observed, written down).
    pub pin_known: BTreeSet<PersonId>,
    /// The open design choices (ALT-*).
    pub policy: Policy,
}

impl SystemConfig {
    /// `persons` persons, `phones` phones, both kinds, default retry limits, seed 0, time 0.
    pub fn new(persons: u32, phones: u32) -> Self {
        SystemConfig {
            persons,
            phones,
            kinds: CertKind::ALL.to_vec(),
            auth_tries: 3,
            sign_tries: 5,
            seed: 0,
            start: LogicalTime::BASE,
            pin_known: BTreeSet::new(),
            policy: Policy::default(),
        }
    }
}

/// The whole concrete system (see the module documentation). `Clone` is a full snapshot.
#[derive(Clone)]
pub struct System {
    config: SystemConfig,
    now: LogicalTime,
    keys: KeyGen,
    ca: Ca,
    cards: BTreeMap<PersonId, MyNumberCard>,
    phones: BTreeMap<PhoneId, Phone>,
    push: PushService,
    sp: SpTsm,
    sei: SeiTsm,
    rng: ChaCha20Rng,
    next_installation: u32,
    /// Who set the PIN of each (phone, kind) slot and which version of their PIN it is.
    pin_memory: BTreeMap<(PhoneId, CertKind), (PersonId, u32)>,
    /// Phones a stranger found and kept (THREAT-FINDER): their screen stays locked to them
    /// until a factory reset.
    found: BTreeSet<PhoneId>,
    /// Signatures made and not yet presented to a relying party (THREAT-OFFLINE-SIGN), by
    /// the serial of the certificate whose key made them.
    signatures: BTreeMap<Serial, OfflineSignature>,
}

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("System")
            .field("now", &self.now)
            .field("phones", &self.phones.len())
            .field("pending_pushes", &self.push.pending().len())
            .finish_non_exhaustive()
    }
}

fn card_password(p: PersonId) -> String {
    format!("cardpw{}", p.0)
}

impl System {
    /// A system with deterministic keys ([`crate::crypto::SeededKeyPool`] via
    /// [`KeyGen::Seeded`]) from `config.seed`: use this in tests.
    pub fn new(config: SystemConfig) -> Result<Self, SystemError> {
        let seed = config.seed;
        let phone_keys = move |h: PhoneId| {
            KeyGen::seeded(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (0x5E00 + u64::from(h.0)))
        };
        Self::build(config, KeyGen::seeded(seed), phone_keys)
    }

    /// A system with real keys from the OS generator ([`crate::crypto::OsKeySource`]).
    pub fn with_os_keys(config: SystemConfig) -> Result<Self, SystemError> {
        Self::build(config, KeyGen::Os, |_| KeyGen::Os)
    }

    fn build(
        config: SystemConfig,
        mut keys: KeyGen,
        phone_keys: impl Fn(PhoneId) -> KeyGen,
    ) -> Result<Self, SystemError> {
        if config.persons == 0 || config.persons > 9 || config.phones > 10 {
            return Err(SystemError::Config(
                "1 to 9 persons and at most 10 phones".into(),
            ));
        }
        if !(1..=15).contains(&config.auth_tries) || !(1..=15).contains(&config.sign_tries) {
            return Err(SystemError::Config("retry limits must be 1..=15".into()));
        }
        let now = config.start;
        let mut ca = Ca::new(&mut keys, now).map_err(SystemError::Ca)?;
        let mut cards = BTreeMap::new();
        for i in 0..config.persons {
            let p = PersonId(i);
            let mut card =
                MyNumberCard::new(p, &mut keys, &card_password(p), &format!("{:04}", 1000 + i))
                    .map_err(SystemError::Card)?;
            card.enrol(&mut ca, now).map_err(SystemError::Card)?;
            cards.insert(p, card);
        }
        let mut rng = ChaCha20Rng::seed_from_u64(config.seed ^ 0x5157_E400);
        let mut sp = SpTsm::new(ChaCha20Rng::seed_from_u64(rng.next_u64()));
        let mut sei = SeiTsm::new(ChaCha20Rng::seed_from_u64(rng.next_u64()));
        let mut phones = BTreeMap::new();
        for i in 0..config.phones {
            let h = PhoneId(i);
            let isd = crate::tsm::derive_keyset(&mut rng, 0x30);
            let apsd = crate::tsm::derive_keyset(&mut rng, 0x31);
            let mut kdd = [0u8; 10];
            rng.fill_bytes(&mut kdd);
            let mut se_config = SeConfig::new(isd.clone(), apsd.clone(), kdd);
            se_config.applet = AppletConfig {
                auth_max_tries: config.auth_tries,
                sign_max_tries: config.sign_tries,
            };
            let se = SecureElement::new(se_config, phone_keys(h)).map_err(SystemError::Se)?;
            sei.register_phone(h, isd);
            sp.register_phone(h, apsd);
            phones.insert(
                h,
                Phone::new(h, Holder::Person(PersonId(i % config.persons)), se),
            );
        }
        Ok(System {
            config,
            now,
            keys,
            ca,
            cards,
            phones,
            push: PushService::new(),
            sp,
            sei,
            rng,
            next_installation: 1,
            pin_memory: BTreeMap::new(),
            found: BTreeSet::new(),
            signatures: BTreeMap::new(),
        })
    }

    // ----- helpers -----

    fn tick(&mut self) {
        self.now = self.now.plus(1);
    }

    fn check_kind(&self, kind: CertKind) -> Result<(), Refusal> {
        if self.config.kinds.contains(&kind) {
            Ok(())
        } else {
            Err(Refusal::KindNotEnabled(kind))
        }
    }

    fn phone(&self, h: PhoneId) -> Result<&Phone, Refusal> {
        self.phones.get(&h).ok_or(Refusal::UnknownPhone(h))
    }

    fn phone_mut(&mut self, h: PhoneId) -> Result<&mut Phone, Refusal> {
        self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))
    }

    /// Someone holds the phone: in hand, not broken (enough for a card reader).
    fn in_hand(&self, h: PhoneId) -> Result<&Phone, Refusal> {
        let phone = self.phone(h)?;
        match (phone.condition, phone.holder) {
            (Condition::Broken, _) => Err(Refusal::PhoneBroken),
            (Condition::Lost, _) | (_, Holder::Nobody) => Err(Refusal::NotInHand),
            _ => Ok(phone),
        }
    }

    /// The phone is operated by its holder through its screen: in hand, not broken, and not
    /// a finder's (whom the screen lock keeps out).
    fn operable(&self, h: PhoneId) -> Result<&Phone, Refusal> {
        let phone = self.in_hand(h)?;
        if self.found.contains(&h) {
            return Err(Refusal::ScreenLocked);
        }
        Ok(phone)
    }

    fn online(&self, h: PhoneId) -> Result<&Phone, Refusal> {
        let phone = self.operable(h)?;
        if phone.online {
            Ok(phone)
        } else {
            Err(Refusal::PhoneOffline)
        }
    }

    fn app_of(phone: &Phone) -> Result<InstalledApp, Refusal> {
        phone.app.ok_or(Refusal::NoApp)
    }

    /// Open the app's channel and read the slot state (R-ACL checked by the SE).
    fn slot_state(&mut self, h: PhoneId, kind: CertKind) -> Result<SlotState, Refusal> {
        let phone = self.phone_mut(h)?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        let states = ch.state().map_err(app_refusal)?;
        states
            .into_iter()
            .find(|s| s.kind == applet_kind(kind))
            .ok_or_else(|| Refusal::Failure("slot missing from GET CREDENTIAL STATE".into()))
    }

    /// The serial of the certificate the slot holds, as the app reads it (`NoCredential` for
    /// an empty slot or a bare key).
    fn held_cert(&mut self, h: PhoneId, kind: CertKind) -> Result<Serial, Refusal> {
        let state = self.slot_state(h, kind)?;
        match state.pin_state {
            PinState::Empty | PinState::KeyGenerated => None,
            _ => state.cert_serial.as_deref().and_then(serial_from_bytes),
        }
        .ok_or(Refusal::NoCredential)
    }

    /// The slot must hold a personalised credential usable with a user PIN.
    fn usable_slot(&mut self, h: PhoneId, kind: CertKind) -> Result<SlotState, Refusal> {
        let s = self.slot_state(h, kind)?;
        match s.pin_state {
            PinState::Empty | PinState::KeyGenerated => Err(Refusal::NoCredential),
            PinState::Temporary => Err(Refusal::TemporaryPin),
            PinState::Blocked => Err(Refusal::PinBlocked),
            PinState::User => Ok(s),
        }
    }

    fn holder_person(&self, h: PhoneId) -> Result<PersonId, Refusal> {
        match self.phone(h)?.holder {
            Holder::Person(p) => Ok(p),
            _ => Err(Refusal::NoCard),
        }
    }

    fn sign_application(
        &mut self,
        purpose: Purpose,
        person: PersonId,
        phone: Option<PhoneId>,
        kind: CertKind,
    ) -> Result<SignedApplication, Refusal> {
        let application = Application {
            purpose,
            person,
            phone,
            kind,
            nonce: self.rng.next_u64(),
        };
        let card = self
            .cards
            .get_mut(&person)
            .ok_or(Refusal::UnknownPerson(person))?;
        let signature = card
            .sign_application(&card_password(person), &application.encode())
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        let card_cert_der = card.certificate().ok_or(Refusal::CardNotValid)?.to_vec();
        Ok(SignedApplication {
            application,
            signature,
            card_cert_der,
        })
    }

    /// The (kind, serial) of every certificate in the applet, as the app reads them.
    fn read_held(&mut self, h: PhoneId) -> Result<Vec<(CertKind, Serial)>, Refusal> {
        let phone = self.phone_mut(h)?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        let states = ch.state().map_err(app_refusal)?;
        Ok(states
            .into_iter()
            .filter_map(|s| {
                let kind = match s.kind {
                    Kind::Auth => CertKind::Auth,
                    Kind::Sign => CertKind::Sign,
                };
                s.cert_serial
                    .as_deref()
                    .and_then(serial_from_bytes)
                    .map(|serial| (kind, serial))
            })
            .collect())
    }
}
