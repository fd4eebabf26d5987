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
//! - The PIN a holder enters "right" is the one they set on that phone's slot; anyone else's
//!   "right" entry is their own PIN and so wrong there (ALPHABET: only the person who set the
//!   PIN can enter it right).

use crate::apdu::StatusWord;
use crate::applet::{AppletConfig, Kind, PinState};
use crate::ca::{
    Ca, CaError, CardEnded, CertKind, CertStatus, CertSubject, Crl, LogicalTime, PersonId, PhoneId,
    RevokedPhoneCert, Serial, StatusAnswer,
};
use crate::card::{CardError, MyNumberCard};
use crate::phone::app::{AppChannel, SlotState};
use crate::phone::{AppError, Condition, Holder, InstalledApp, Phone, GENUINE_APP_HASH};
use crate::push::{PushError, PushService, Token, Undeliverable};
use crate::se::{KeyGen, SeConfig, SeError, SecureElement};
use crate::tsm::sei::SeiTsm;
use crate::tsm::sp::{
    applet_kind, serial_from_bytes, Application, Purpose, SignedApplication, SpError, SpTsm,
};
use crate::tsm::TsmError;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::fmt;

/// Whether the holder enters the correct user PIN (ALPHABET `pin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pin {
    /// The holder enters the PIN they know (correct only if they set it on this slot).
    Right,
    /// A wrong PIN.
    Wrong,
}

/// Why the system refused an action. Every class is the impl's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such person.
    UnknownPerson(PersonId),
    /// No such phone.
    UnknownPhone(PhoneId),
    /// The kind is not enabled in this configuration.
    KindNotEnabled(CertKind),
    /// Nobody operates the phone: lost, or nobody holds it.
    NotInHand,
    /// The phone is broken (R-FAILURE).
    PhoneBroken,
    /// The phone has no network (R-CONTINUE).
    PhoneOffline,
    /// The JPKI app is not installed.
    NoApp,
    /// The JPKI app is already installed.
    AppAlreadyInstalled,
    /// The JPKI applet is not installed in the SE.
    NoApplet,
    /// The applet is already installed.
    AppletAlreadyInstalled,
    /// R-ACL: the app's signing certificate is not in the access rules.
    AccessDenied,
    /// The holder has no My Number card (a stranger).
    NoCard,
    /// The card signing certificate is not valid (revoked, renewed, expired; R-ISSUE).
    CardNotValid,
    /// R-REISSUE: the person's certificate of this kind on this phone is still live.
    ReissueWhileLive,
    /// An issuance session is already in progress on this phone.
    IssuanceInProgress,
    /// No issuance session on this phone.
    NoSession,
    /// The issuance session is not at the step this action needs.
    WrongStep,
    /// The key pair or credential an issuance step needs is no longer in the slot.
    KeyMissing,
    /// The applet slot of this kind holds no certificate (or no PIN yet).
    NoCredential,
    /// The credential belongs to another person.
    NotCredentialOwner,
    /// The person has no live phone certificate of this kind.
    NoLiveCert,
    /// The certificate is already suspended.
    AlreadySuspended,
    /// The certificate is not suspended.
    NotSuspended,
    /// Wrong PIN; this many tries are left (0: now blocked). The try was counted.
    WrongPin {
        /// Tries left.
        tries_left: u8,
    },
    /// The PIN is blocked (R-PIN-RETRY); only R-PIN-INIT unblocks it.
    PinBlocked,
    /// Only the temporary PIN is set: no service use (R-PIN-SETUP, INV-PIN).
    TemporaryPin,
    /// The certificate is revoked (INV-NO-USE-AFTER-REVOKE).
    CertRevoked,
    /// The certificate is suspended (R-SUSPEND).
    CertSuspended,
    /// The certificate is outside its validity period.
    CertExpired,
    /// No pending push with this index.
    NoSuchPush,
    /// The push cannot be delivered now (offline phone, invalid token); it stays pending.
    Undeliverable(Undeliverable),
    /// The phone is already online.
    AlreadyOnline,
    /// The phone is already offline.
    AlreadyOffline,
    /// The phone is not lost.
    NotLost,
    /// Hand-over to the current holder.
    SameHolder,
    /// Hand-over target must be a person or a stranger.
    InvalidHolder,
    /// An unexpected protocol or crypto failure (a defect, never a business refusal).
    Failure(String),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::UnknownPerson(p) => write!(f, "no person {p}"),
            Refusal::UnknownPhone(h) => write!(f, "no phone {h}"),
            Refusal::KindNotEnabled(k) => write!(f, "kind {k:?} not enabled"),
            Refusal::WrongPin { tries_left } => write!(f, "wrong PIN, {tries_left} tries left"),
            Refusal::Undeliverable(u) => write!(f, "push undeliverable: {u:?}"),
            Refusal::Failure(m) => write!(f, "failure: {m}"),
            other => write!(f, "{other:?}"),
        }
    }
}

impl std::error::Error for Refusal {}

impl From<TsmError> for Refusal {
    fn from(e: TsmError) -> Self {
        Refusal::Failure(e.to_string())
    }
}

impl From<SpError> for Refusal {
    fn from(e: SpError) -> Self {
        match e {
            SpError::CardNotValid(_) => Refusal::CardNotValid,
            SpError::ApplicationMismatch => Refusal::Failure(e.to_string()),
            SpError::ReissueWhileLive(_) => Refusal::ReissueWhileLive,
            SpError::SessionInProgress => Refusal::IssuanceInProgress,
            SpError::NoSession => Refusal::NoSession,
            SpError::WrongStep => Refusal::WrongStep,
            SpError::CertRevoked(_) => Refusal::CertRevoked,
            SpError::NotCredentialOwner => Refusal::NotCredentialOwner,
            SpError::NoLiveCert => Refusal::NoLiveCert,
            SpError::Tsm(t) => t.into(),
        }
    }
}

/// Map an app/applet error to a refusal: channel refusals and PIN status words.
fn app_refusal(e: AppError) -> Refusal {
    match e {
        AppError::Se(SeError::AccessDenied { .. }) => Refusal::AccessDenied,
        AppError::Se(SeError::NoSuchApplet { .. } | SeError::NotSelectable { .. }) => {
            Refusal::NoApplet
        }
        AppError::Status { sw, .. } if sw.as_tries_left().is_some() => Refusal::WrongPin {
            tries_left: sw.as_tries_left().unwrap_or(0),
        },
        AppError::Status { sw, .. } if sw == StatusWord::AUTH_BLOCKED => Refusal::PinBlocked,
        AppError::Status { sw, .. } if sw == StatusWord::CONDITIONS_NOT_SATISFIED => {
            Refusal::TemporaryPin
        }
        AppError::Status { sw, .. } if sw == StatusWord::REF_DATA_NOT_FOUND => {
            Refusal::NoCredential
        }
        other => Refusal::Failure(other.to_string()),
    }
}

/// Why the system could not be built or the demo failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemError {
    /// Bad configuration.
    Config(String),
    /// The CA failed.
    Ca(CaError),
    /// A card failed.
    Card(CardError),
    /// An SE could not be built.
    Se(SeError),
    /// An action was refused where the demo expected success.
    Refused {
        /// The step.
        step: String,
        /// The refusal.
        refusal: Refusal,
    },
    /// Writing output failed.
    Io(String),
}

impl fmt::Display for SystemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SystemError::Config(m) => write!(f, "configuration: {m}"),
            SystemError::Ca(e) => write!(f, "CA: {e}"),
            SystemError::Card(e) => write!(f, "card: {e}"),
            SystemError::Se(e) => write!(f, "SE: {e}"),
            SystemError::Refused { step, refusal } => write!(f, "{step} refused: {refusal}"),
            SystemError::Io(m) => write!(f, "I/O: {m}"),
        }
    }
}

impl std::error::Error for SystemError {}

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
        }
    }
}

/// One applet slot as inspected (no private key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// The kind.
    pub kind: CertKind,
    /// PIN state (Empty: no credential).
    pub pin_state: PinState,
    /// Tries left.
    pub tries_left: u8,
    /// Retry limit.
    pub max_tries: u8,
    /// Whether a key pair is in the slot.
    pub has_key: bool,
    /// The stored certificate's serial.
    pub cert_serial: Option<Serial>,
}

/// What one phone looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneView {
    /// Holder.
    pub holder: Holder,
    /// Condition.
    pub condition: Condition,
    /// Online.
    pub online: bool,
    /// The installed app's installation number (its token).
    pub app: Option<u32>,
    /// Whether the applet is installed.
    pub applet: bool,
    /// GP life cycle byte of the applet (GET STATUS), if installed.
    pub applet_life_cycle: Option<u8>,
    /// The slots (empty without the applet).
    pub slots: Vec<SlotInfo>,
}

/// A pending push as inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushView {
    /// Its index in send order.
    pub index: usize,
    /// The phone of its token.
    pub phone: PhoneId,
    /// The token.
    pub token: Token,
    /// The serial to delete.
    pub serial: Serial,
    /// The kind.
    pub kind: CertKind,
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

/// The value of a person's PIN for a slot: auth 4 digits, sign 6-16 alphanumerics; distinct
/// per person (for fewer than 9 persons and 10 phones).
fn pin_value(p: PersonId, h: PhoneId, kind: CertKind, version: u32) -> String {
    match kind {
        CertKind::Auth => format!("{}{}{:02}", p.0 % 9, h.0 % 10, version % 100),
        CertKind::Sign => format!("pw{}h{}v{}", p.0, h.0, version),
    }
}

fn wrong_pin(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Auth => "9999",
        CertKind::Sign => "wrong9x",
    }
}

fn stranger_pin(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Auth => "9998",
        CertKind::Sign => "stranger9",
    }
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

    /// The phone is operated by its holder: in hand, not broken, someone holds it.
    fn operable(&self, h: PhoneId) -> Result<&Phone, Refusal> {
        let phone = self.phone(h)?;
        match (phone.condition, phone.holder) {
            (Condition::Broken, _) => Err(Refusal::PhoneBroken),
            (Condition::Lost, _) | (_, Holder::Nobody) => Err(Refusal::NotInHand),
            _ => Ok(phone),
        }
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

    /// The PIN the holder types.
    fn entered_pin(&self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<String, Refusal> {
        if pin == Pin::Wrong {
            return Ok(wrong_pin(kind).to_string());
        }
        Ok(match self.phone(h)?.holder {
            Holder::Person(p) => match self.pin_memory.get(&(h, kind)) {
                Some(&(setter, v)) if setter == p => pin_value(p, h, kind, v),
                _ => pin_value(p, h, kind, 99),
            },
            _ => stranger_pin(kind).to_string(),
        })
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

    fn push_deletions(&mut self, revoked: &[RevokedPhoneCert]) {
        for r in revoked {
            self.sp.notify_deletion(&mut self.push, r);
        }
    }

    /// The app's status sync (R-DELETE decision): best effort, needs the app, the applet and
    /// network.
    fn sync(&mut self, h: PhoneId) {
        let Ok(phone) = self.phones.get(&h).ok_or(()) else {
            return;
        };
        if !phone.online || phone.condition == Condition::Broken {
            return;
        }
        let held: Vec<(CertKind, Serial)> = match self.read_held(h) {
            Ok(v) => v,
            Err(_) => return,
        };
        if let Some(phone) = self.phones.get_mut(&h) {
            let _ = self.sp.sync(&self.ca, &mut phone.se, h, &held);
        }
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

    /// The hand-over / disposal procedure (R-TRANSFER, R-DISPOSE, INV-DELETE-ON-TRANSFER):
    /// online, revoke the holder's live certificates from the phone (with local deletion)
    /// and have the SEI-TSM delete the applet; in any case, factory reset.
    fn procedure(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let phone = self.phone(h)?;
        let holder = phone.holder;
        if phone.online {
            if phone.app.is_some() && phone.has_applet() {
                let held = self.read_held(h).unwrap_or_default();
                for (kind, serial) in held {
                    let live = matches!(self.ca.registry().get(serial),
                        Some(r) if r.status.is_live() && Holder::Person(r.person) == holder);
                    if let (true, Holder::Person(p)) = (live, holder) {
                        let now = self.now;
                        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
                        self.sp.revoke_from_phone(
                            &mut self.ca,
                            &mut phone.se,
                            h,
                            p,
                            kind,
                            serial,
                            now,
                        )?;
                    }
                }
            }
            let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
            if phone.has_applet() {
                self.sei.delete_applet(&mut phone.se, h)?;
            }
        }
        self.reset(h)
    }

    fn reset(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.phone_mut(h)?.factory_reset();
        self.sp.drop_session(h);
        self.pin_memory.retain(|(ph, _), _| *ph != h);
        Ok(())
    }

    // ----- card actions (municipal office, J-LIS, time) -----

    /// `CardRenew(p)`: a new card signing certificate generation (new key); the linked phone
    /// certificates are revoked and their phones get deletion pushes (R-LINK, R-REVOKE(c)).
    pub fn card_renew(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.tick();
        let now = self.now;
        let card = self.cards.get_mut(&p).ok_or(Refusal::UnknownPerson(p))?;
        let issued = card
            .renew(&mut self.keys, &mut self.ca, now)
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        if let Some(ended) = issued.superseded {
            self.push_deletions(&ended.linked_revoked);
        }
        Ok(())
    }

    /// `CardRevoke(p)`: the card signing certificate is revoked; linked phone certificates
    /// too (R-LINK). Refused `CardNotValid` if it already ended.
    pub fn card_revoke(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.end_card_cert(p, Ca::revoke_card_cert)
    }

    /// `CardExpire(p)`: the card signing certificate expires; linked phone certificates are
    /// revoked (R-LINK). Refused `CardNotValid` if it already ended.
    pub fn card_expire(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.end_card_cert(p, Ca::expire_card_cert)
    }

    /// The card signing certificate ends (revoked or expired); its linked phone certificates
    /// are revoked and their deletion pushes sent (R-LINK).
    fn end_card_cert(
        &mut self,
        p: PersonId,
        end: fn(&mut Ca, PersonId, LogicalTime) -> Result<CardEnded, CaError>,
    ) -> Result<(), Refusal> {
        self.tick();
        if !self.cards.contains_key(&p) {
            return Err(Refusal::UnknownPerson(p));
        }
        let ended = end(&mut self.ca, p, self.now).map_err(|_| Refusal::CardNotValid)?;
        self.push_deletions(&ended.linked_revoked);
        Ok(())
    }

    // ----- app and applet -----

    /// `InstallApp(h)`: the genuine JPKI app from the store; registers its token with the
    /// SP-TSM (R-TOKEN) and syncs its applet's credentials (R-DELETE).
    pub fn install_app(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.install_app_as(h, GENUINE_APP_HASH)
    }

    /// `InstallApp(h)` with an app signed by another certificate (`cert_hash`): a fake app,
    /// which the access rules refuse (R-ACL). Not an alphabet action of its own.
    pub fn install_app_as(&mut self, h: PhoneId, cert_hash: [u8; 32]) -> Result<(), Refusal> {
        self.tick();
        let phone = self.online(h)?;
        if phone.app.is_some() {
            return Err(Refusal::AppAlreadyInstalled);
        }
        let installation = self.next_installation;
        self.next_installation += 1;
        self.phone_mut(h)?.app = Some(InstalledApp {
            installation,
            cert_hash,
        });
        self.sp.register_token(Token {
            phone: h,
            installation,
        });
        self.sync(h);
        Ok(())
    }

    /// `UninstallApp(h)`: the app goes; its token becomes invalid; the SE keeps the applet.
    pub fn uninstall_app(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.operable(h)?;
        Self::app_of(phone)?;
        self.phone_mut(h)?.app = None;
        self.sp.drop_session(h);
        Ok(())
    }

    /// `InstallApplet(h)`: the SEI-TSM installs the applet under the APSD over SCP03 with the
    /// configured retry limits and the access rule for the genuine app (R-ACL, phase 2).
    pub fn install_applet(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.online(h)?;
        Self::app_of(phone)?;
        if phone.has_applet() {
            return Err(Refusal::AppletAlreadyInstalled);
        }
        let config = AppletConfig {
            auth_max_tries: self.config.auth_tries,
            sign_max_tries: self.config.sign_tries,
        };
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sei
            .install_applet(&mut phone.se, h, config, GENUINE_APP_HASH)?;
        Ok(())
    }

    // ----- issuance -----

    /// `Apply(h, k)`: the holder signs an application with their card (password + NFC); the
    /// SP-TSM verifies it with the CA and checks phone-cert status (R-ISSUE, R-REISSUE).
    pub fn apply(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        self.slot_state(h, kind)?;
        let p = self.holder_person(h)?;
        let signed = self.sign_application(Purpose::Issue, p, Some(h), kind)?;
        self.sp.apply(&self.ca, h, &signed, self.now)?;
        Ok(())
    }

    /// Common checks of the session steps driven through the phone.
    fn session_step(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let phone = self.online(h)?;
        if !phone.has_applet() {
            return Err(Refusal::NoApplet);
        }
        if self.sp.session(h).is_none() {
            return Err(Refusal::NoSession);
        }
        Ok(())
    }

    /// `GenerateKey(h)`: GENERATE KEY PAIR in the SE over SCP03 (R-KEYGEN, R-SCP03).
    pub fn generate_key(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.session_step(h)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp.generate_key(&mut phone.se, h)?;
        Ok(())
    }

    /// `CaIssue(h)`: J-LIS issues the phone certificate on the session's card authorisation;
    /// the person's previous certificate of the kind is revoked and its phone gets a deletion
    /// push (R-ONE, R-MODEL-CHANGE, R-DELETE). The phone takes part online (R-ISSUE: issuance
    /// is online, from the phone).
    pub fn ca_issue(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.online(h)?;
        self.sp
            .ca_issue(&mut self.ca, &mut self.push, h, self.now)?;
        Ok(())
    }

    /// `WriteCert(h)`: certificate and temporary PIN written over SCP03 (phase 3). A
    /// certificate revoked meanwhile is not written (`CertRevoked`; the session stays).
    pub fn write_cert(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.session_step(h)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp.write_cert(&self.ca, &mut phone.se, h)?;
        Ok(())
    }

    /// `SetUserPin(h)`: in the same session, with the card certificate still valid, the app
    /// replaces the temporary PIN (which the user never sees) by the holder's PIN (phase 4).
    pub fn set_user_pin(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        // On the phone (the app already holds the temporary PIN): no network needed.
        let phone = self.operable(h)?;
        if !phone.has_applet() {
            return Err(Refusal::NoApplet);
        }
        if self.sp.session(h).is_none() {
            return Err(Refusal::NoSession);
        }
        let (person, kind, _) = self.sp.temporary_pin_for(&self.ca, h, self.now)?;
        // The written credential must still be in the slot (it may have been deleted).
        let state = self.slot_state(h, kind)?;
        let written = match self.sp.session(h).map(|s| &s.step) {
            Some(crate::tsm::sp::IssuanceStep::Written { serial }) => Some(*serial),
            _ => None,
        };
        if state.cert_serial.as_deref().and_then(serial_from_bytes) != written {
            return Err(Refusal::KeyMissing);
        }
        // The holder may have replaced the temporary PIN by R-PIN-INIT meanwhile: the SP-TSM
        // then resets it to a fresh temporary PIN first (R-PIN-SETUP in the same session).
        if !matches!(state.pin_state, PinState::Temporary) {
            let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
            self.sp.renew_temporary_pin(&mut phone.se, h)?;
        }
        let (_, _, temp) = self.sp.temporary_pin_for(&self.ca, h, self.now)?;
        let pin = pin_value(person, h, kind, 0);
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.set_user_pin(applet_kind(kind), &temp, &pin)
            .map_err(app_refusal)?;
        drop(ch);
        self.sp.complete(h);
        self.pin_memory.insert((h, kind), (person, 0));
        Ok(())
    }

    /// `AbandonIssuance(h)`: the session is dropped, whatever its step (a certificate already
    /// issued for it stays registered, as in the model).
    pub fn abandon_issuance(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.phone(h)?;
        self.sp.abandon(h)?;
        Ok(())
    }

    // ----- revocation, suspension -----

    /// `RevokeFromPhone(h, k)`: the holder revokes the credential in this phone's applet;
    /// it is deleted locally (R-REVOKE(a), R-DELETE).
    pub fn revoke_from_phone(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let state = self.slot_state(h, kind)?;
        let serial = state
            .cert_serial
            .as_deref()
            .and_then(serial_from_bytes)
            .ok_or(Refusal::NoCredential)?;
        let p = match self.phone(h)?.holder {
            Holder::Person(p) => p,
            _ => return Err(Refusal::NotCredentialOwner),
        };
        let now = self.now;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp
            .revoke_from_phone(&mut self.ca, &mut phone.se, h, p, kind, serial, now)?;
        Ok(())
    }

    /// `RevokeWithCard(p, k)`: from another device with the card signature; the deletion
    /// push goes to the token of the phone holding the certificate (R-REVOKE(b), R-TOKEN).
    pub fn revoke_with_card(&mut self, p: PersonId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        let signed = self.sign_application(Purpose::Revoke, p, None, kind)?;
        self.sp
            .revoke_with_card(&mut self.ca, &mut self.push, &signed, self.now)?;
        Ok(())
    }

    /// `Suspend(p, k)`: the call center suspends the person's live certificate (R-SUSPEND).
    pub fn suspend(&mut self, p: PersonId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        if !self.cards.contains_key(&p) {
            return Err(Refusal::UnknownPerson(p));
        }
        let record = self
            .ca
            .live_phone_cert(p, kind)
            .ok_or(Refusal::NoLiveCert)?;
        if matches!(record.status, CertStatus::Suspended { .. }) {
            return Err(Refusal::AlreadySuspended);
        }
        let serial = record.serial;
        self.ca
            .suspend(serial, self.now)
            .map_err(|e| Refusal::Failure(e.to_string()))
    }

    /// Verify the PIN, read the certificate and sign `challenge` with the applet: what the
    /// app does for a relying party or for resumption.
    fn prove(
        &mut self,
        h: PhoneId,
        kind: CertKind,
        pin: Pin,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
        self.usable_slot(h, kind)?;
        let entered = self.entered_pin(h, kind, pin)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.verify(applet_kind(kind), &entered)
            .map_err(|e| match app_refusal(e) {
                // The wrong try that reaches zero answers 6983: it was still counted.
                Refusal::PinBlocked => Refusal::WrongPin { tries_left: 0 },
                r => r,
            })?;
        let cert = ch.read_cert(applet_kind(kind)).map_err(app_refusal)?;
        let sig = ch.sign(applet_kind(kind), challenge).map_err(app_refusal)?;
        Ok((cert, sig))
    }

    /// Check a signature under the public key of `cert_der` (RSASSA-PKCS1-v1_5 / SHA-256).
    fn signature_ok(cert_der: &[u8], message: &[u8], sig: &[u8]) -> Result<(), Refusal> {
        let cert = crate::ca::cert::parse_certificate(cert_der)
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        let key =
            crate::ca::cert::public_key_of(&cert).map_err(|e| Refusal::Failure(e.to_string()))?;
        let sig = Signature::try_from(sig).map_err(|e| Refusal::Failure(e.to_string()))?;
        VerifyingKey::<Sha256>::new(key)
            .verify(message, &sig)
            .map_err(|_| Refusal::Failure("applet signature does not verify".into()))
    }

    /// `Resume(h, k, pin)`: the holder proves possession of the suspended credential (PIN,
    /// applet signature) and the CA resumes it (R-SUSPEND).
    pub fn resume(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        // The app asks the status of the credential first (R-SUSPEND): a certificate that is
        // not suspended costs no PIN try.
        let held = self.held_cert(h, kind)?;
        match self.ca.status(held) {
            StatusAnswer::Known(CertStatus::Suspended { .. }) => {}
            StatusAnswer::Known(CertStatus::Active) => return Err(Refusal::NotSuspended),
            _ => return Err(Refusal::CertRevoked),
        }
        let challenge = self.rng.next_u64().to_be_bytes();
        let (cert, sig) = self.prove(h, kind, pin, &challenge)?;
        Self::signature_ok(&cert, &challenge, &sig)?;
        let serial = crate::ca::cert::parse_certificate(&cert)
            .and_then(|c| crate::ca::cert::serial_of(&c))
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        match self.ca.status(serial) {
            StatusAnswer::Known(CertStatus::Suspended { .. }) => self
                .ca
                .resume(serial)
                .map_err(|e| Refusal::Failure(e.to_string())),
            StatusAnswer::Known(CertStatus::Active) => Err(Refusal::NotSuspended),
            _ => Err(Refusal::CertRevoked),
        }
    }

    // ----- PIN -----

    /// `ChangePin(h, k, pin)`: on the phone alone, after verifying the current PIN
    /// (R-PIN-CHANGE); a wrong PIN counts down (R-PIN-RETRY).
    pub fn change_pin(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.operable(h)?;
        self.usable_slot(h, kind)?;
        let old = self.entered_pin(h, kind, pin)?;
        let (p, version) = match (self.phone(h)?.holder, self.pin_memory.get(&(h, kind))) {
            (Holder::Person(p), Some(&(setter, v))) if setter == p => (Some(p), v + 1),
            (Holder::Person(p), _) => (Some(p), 0),
            _ => (None, 0),
        };
        let new = match p {
            Some(p) => pin_value(p, h, kind, version),
            None => stranger_pin(kind).to_string(),
        };
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.change_pin(applet_kind(kind), &old, &new)
            .map_err(|e| match app_refusal(e) {
                Refusal::PinBlocked => Refusal::WrongPin { tries_left: 0 },
                r => r,
            })?;
        drop(ch);
        if let Some(p) = p {
            self.pin_memory.insert((h, kind), (p, version));
        }
        Ok(())
    }

    /// `InitPin(h, k)`: online, with the card signature of the credential's owner: the
    /// SP-TSM resets the PIN (unblocking it) and the holder sets a new one (R-PIN-INIT).
    pub fn init_pin(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let serial = self.held_cert(h, kind)?;
        let p = self.holder_person(h)?;
        let signed = self.sign_application(Purpose::InitPin, p, Some(h), kind)?;
        let now = self.now;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let temp = self
            .sp
            .init_pin(&self.ca, &mut phone.se, h, &signed, serial, now)?;
        let version = match self.pin_memory.get(&(h, kind)) {
            Some(&(setter, v)) if setter == p => v + 1,
            _ => 0,
        };
        let new = pin_value(p, h, kind, version);
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.set_user_pin(applet_kind(kind), &temp, &new)
            .map_err(app_refusal)?;
        drop(ch);
        self.pin_memory.insert((h, kind), (p, version));
        Ok(())
    }

    // ----- use -----

    /// `Use(h, k, pin)`: the app verifies the PIN on the applet and has it sign the relying
    /// party's challenge; the relying party verifies the signature with the phone certificate
    /// and checks its status with the CA (INV-PIN, INV-NO-USE-AFTER-REVOKE).
    pub fn r#use(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let mut challenge = [0u8; 32];
        self.rng.fill_bytes(&mut challenge);
        let (cert, sig) = self.prove(h, kind, pin, &challenge)?;
        Self::signature_ok(&cert, &challenge, &sig)?;
        match self.ca.validate_phone_cert(&cert, kind, self.now) {
            Ok(_) => Ok(()),
            Err(CaError::NotGood { status, .. }) => Err(match status {
                CertStatus::Suspended { .. } => Refusal::CertSuspended,
                _ => Refusal::CertRevoked,
            }),
            Err(CaError::OutsideValidity { .. }) => Err(Refusal::CertExpired),
            Err(CaError::UnknownSerial(_)) => Err(Refusal::CertRevoked),
            Err(e) => Err(Refusal::Failure(e.to_string())),
        }
    }

    /// Alias of [`System::r#use`].
    pub fn use_cert(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.r#use(h, kind, pin)
    }

    // ----- phone life events -----

    /// `Lose(h)`: the phone is mislaid (R-LOSS, R-TEMP-LOSS); it stays online if it was. An
    /// issuance session in progress on it is lost.
    pub fn lose(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.operable(h)?;
        self.phone_mut(h)?.condition = Condition::Lost;
        self.sp.drop_session(h);
        Ok(())
    }

    /// `Find(h)`: a lost phone is back in hand.
    pub fn find(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition != Condition::Lost {
            return Err(Refusal::NotLost);
        }
        phone.condition = Condition::InHand;
        Ok(())
    }

    /// `Break(h)`: broken for good (R-FAILURE): offline forever.
    pub fn r#break(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        phone.condition = Condition::Broken;
        phone.online = false;
        self.sp.drop_session(h);
        Ok(())
    }

    /// Alias of [`System::r#break`].
    pub fn break_phone(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.r#break(h)
    }

    /// `HandOver(h, to, procedure)`: to a person or a stranger (R-TRANSFER); with the
    /// procedure the holder first revokes from the phone and deletes the applet (online),
    /// then factory-resets.
    pub fn hand_over(&mut self, h: PhoneId, to: Holder, procedure: bool) -> Result<(), Refusal> {
        self.tick();
        let phone = self.operable(h)?;
        if to == Holder::Nobody {
            return Err(Refusal::InvalidHolder);
        }
        if let Holder::Person(q) = to {
            if !self.cards.contains_key(&q) {
                return Err(Refusal::UnknownPerson(q));
            }
        }
        if phone.holder == to {
            return Err(Refusal::SameHolder);
        }
        if procedure {
            self.procedure(h)?;
        }
        self.sp.drop_session(h);
        self.phone_mut(h)?.holder = to;
        Ok(())
    }

    /// `Dispose(h, procedure)`: the phone is disposed of (R-DISPOSE); likewise with or
    /// without the procedure. Nobody holds it afterwards and it is offline.
    pub fn dispose(&mut self, h: PhoneId, procedure: bool) -> Result<(), Refusal> {
        self.tick();
        // A broken phone is disposed of too (R-FAILURE, R-DISPOSE); the procedure then does
        // what it can offline: the factory reset.
        let phone = self.phone(h)?;
        if phone.condition != Condition::Broken {
            self.operable(h)?;
        } else if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        if procedure {
            self.procedure(h)?;
        }
        self.sp.drop_session(h);
        let phone = self.phone_mut(h)?;
        phone.holder = Holder::Nobody;
        phone.online = false;
        Ok(())
    }

    /// `FactoryReset(h)`: the app goes (token invalid) and the SE's JPKI data is wiped
    /// (R-RESET).
    pub fn factory_reset(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.operable(h)?;
        self.reset(h)
    }

    /// `GoOffline(h)`: network lost (R-CONTINUE).
    pub fn go_offline(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if !phone.online {
            return Err(Refusal::AlreadyOffline);
        }
        phone.online = false;
        Ok(())
    }

    /// `GoOnline(h)`: network back; the app syncs its credentials' status and has revoked
    /// ones deleted (R-CONTINUE, R-DELETE).
    pub fn go_online(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition == Condition::Broken {
            return Err(Refusal::PhoneBroken);
        }
        if phone.holder == Holder::Nobody {
            return Err(Refusal::NotInHand);
        }
        if phone.online {
            return Err(Refusal::AlreadyOnline);
        }
        phone.online = true;
        self.sync(h);
        Ok(())
    }

    // ----- push -----

    /// `DeliverPush(i)`: pending push `i` (send order) reaches the app, which has the
    /// SP-TSM delete the credential with that serial (R-DELETE, INV-NO-STALE-DELETE).
    /// Refused `Undeliverable` for an offline phone or an invalid token.
    pub fn deliver_push(&mut self, i: usize) -> Result<(), Refusal> {
        self.tick();
        let phones = &self.phones;
        let msg = self
            .push
            .deliver(i, |t| {
                let Some(phone) = phones.get(&t.phone) else {
                    return Err(Undeliverable::InvalidToken);
                };
                if phone.app.map(|a| a.installation) != Some(t.installation) {
                    return Err(Undeliverable::InvalidToken);
                }
                if !phone.online {
                    return Err(Undeliverable::PhoneOffline);
                }
                Ok(())
            })
            .map_err(|e| match e {
                PushError::NoSuchPush { .. } => Refusal::NoSuchPush,
                PushError::Undeliverable { why, .. } => Refusal::Undeliverable(why),
            })?;
        let h = msg.token.phone;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp
            .delete_by_serial(&mut phone.se, h, msg.notice.kind, msg.notice.serial)?;
        Ok(())
    }

    /// `DropPush(i)`: pending push `i` is lost (課題2).
    pub fn drop_push(&mut self, i: usize) -> Result<(), Refusal> {
        self.tick();
        self.push.drop_push(i).map_err(|_| Refusal::NoSuchPush)?;
        Ok(())
    }

    // ----- read-only inspection -----

    /// The configuration.
    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// The current logical time.
    pub fn now(&self) -> LogicalTime {
        self.now
    }

    /// The CA (registry, status, root certificate).
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// Registry status of `serial`.
    pub fn status(&self, serial: Serial) -> StatusAnswer {
        self.ca.status(serial)
    }

    /// The person's live phone certificate of `kind`: serial and phone.
    pub fn live_cert(&self, p: PersonId, kind: CertKind) -> Option<(Serial, PhoneId)> {
        self.ca
            .live_phone_cert(p, kind)
            .and_then(|r| match r.subject {
                CertSubject::Phone { phone, .. } => Some((r.serial, phone)),
                CertSubject::CardSigning { .. } => None,
            })
    }

    /// The person's latest card signing certificate: serial and DER.
    pub fn card_cert(&self, p: PersonId) -> Option<(Serial, Vec<u8>)> {
        self.ca
            .registry()
            .latest_card_cert(p)
            .map(|r| (r.serial, r.der.clone()))
    }

    /// A CRL as of now, from a copy of the CA (the cRLNumber of the real CA is not used up).
    pub fn crl(&self) -> Result<Crl, CaError> {
        self.ca.clone().issue_crl(self.now)
    }

    /// Publish a CRL as of now (advances the CA's cRLNumber).
    pub fn publish_crl(&mut self) -> Result<Crl, CaError> {
        self.ca.issue_crl(self.now)
    }

    /// The SP-TSM's view of the issuance session on `h`.
    pub fn session(&self, h: PhoneId) -> Option<&crate::tsm::sp::Issuance> {
        self.sp.session(h)
    }

    /// The token last registered for `h` (R-TOKEN).
    pub fn registered_token(&self, h: PhoneId) -> Option<Token> {
        self.sp.token(h)
    }

    /// The pending pushes in send order.
    pub fn pending_pushes(&self) -> Vec<PushView> {
        self.push
            .pending()
            .iter()
            .enumerate()
            .map(|(index, m)| PushView {
                index,
                phone: m.token.phone,
                token: m.token,
                serial: m.notice.serial,
                kind: m.notice.kind,
            })
            .collect()
    }

    /// Holder, condition, network, app, applet and slots of `h` (SE inspection: no keys).
    pub fn phone_view(&self, h: PhoneId) -> Option<PhoneView> {
        let phone = self.phones.get(&h)?;
        let slots = CertKind::ALL
            .into_iter()
            .filter_map(|kind| {
                phone.se.slot(applet_kind(kind)).map(|v| SlotInfo {
                    kind,
                    pin_state: v.pin_state,
                    tries_left: v.tries_left,
                    max_tries: v.max_tries,
                    has_key: v.public_key.is_some(),
                    cert_serial: v.cert_serial.as_deref().and_then(serial_from_bytes),
                })
            })
            .collect();
        Some(PhoneView {
            holder: phone.holder,
            condition: phone.condition,
            online: phone.online,
            app: phone.app.map(|a| a.installation),
            applet: phone.has_applet(),
            applet_life_cycle: phone
                .se
                .installed_applets()
                .first()
                .map(|a| a.life_cycle.byte()),
            slots,
        })
    }

    /// The slot of `kind` on `h`, if the applet is installed.
    pub fn slot(&self, h: PhoneId, kind: CertKind) -> Option<SlotInfo> {
        self.phone_view(h)?
            .slots
            .into_iter()
            .find(|s| s.kind == kind)
    }

    /// The DER of a registered certificate.
    pub fn cert_der(&self, serial: Serial) -> Option<Vec<u8>> {
        self.ca.registry().get(serial).map(|r| r.der.clone())
    }

    /// The phones, in id order.
    pub fn phone_ids(&self) -> Vec<PhoneId> {
        self.phones.keys().copied().collect()
    }

    /// Phone `h`'s secure element, for a card reader's view of it (THREAT-READER: the
    /// contactless interface, `phone-jpki card serve`).
    pub fn secure_element(&self, h: PhoneId) -> Option<&crate::se::SecureElement> {
        self.phones.get(&h).map(|p| &p.se)
    }

    /// The PIN or password the holder of `h` types for `kind` (the user PIN they set).
    pub fn holder_pin(&self, h: PhoneId, kind: CertKind) -> Option<String> {
        self.entered_pin(h, kind, Pin::Right).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(sw: StatusWord) -> AppError {
        AppError::Status { what: "VERIFY", sw }
    }

    /// The applet's PIN status words become the refusals the model names (R-PIN-RETRY,
    /// R-PIN-SETUP); channel refusals become R-ACL / missing-applet refusals; anything else
    /// is a defect, never a business refusal.
    #[test]
    fn applet_answers_map_to_refusals() {
        assert_eq!(
            app_refusal(status(StatusWord::tries_left(2))),
            Refusal::WrongPin { tries_left: 2 }
        );
        assert_eq!(
            app_refusal(status(StatusWord::tries_left(0))),
            Refusal::WrongPin { tries_left: 0 }
        );
        assert_eq!(
            app_refusal(status(StatusWord::AUTH_BLOCKED)),
            Refusal::PinBlocked
        );
        assert_eq!(
            app_refusal(status(StatusWord::CONDITIONS_NOT_SATISFIED)),
            Refusal::TemporaryPin
        );
        assert_eq!(
            app_refusal(status(StatusWord::REF_DATA_NOT_FOUND)),
            Refusal::NoCredential
        );
        assert_eq!(
            app_refusal(AppError::Se(SeError::NoSuchApplet { aid: vec![0xD3] })),
            Refusal::NoApplet
        );
        assert!(matches!(
            app_refusal(status(StatusWord(0x6F00))),
            Refusal::Failure(m) if m.contains("VERIFY")
        ));
        assert!(matches!(
            app_refusal(AppError::Malformed("short".into())),
            Refusal::Failure(_)
        ));
    }

    /// A configuration out of range is refused before any key is made, naming what is wrong.
    #[test]
    fn bad_configurations_are_named() {
        let bad = |f: &dyn Fn(&mut SystemConfig)| {
            let mut c = SystemConfig::new(2, 3);
            f(&mut c);
            match System::new(c) {
                Err(SystemError::Config(m)) => m,
                Err(other) => panic!("expected a configuration error, got {other}"),
                Ok(_) => panic!("accepted a bad configuration"),
            }
        };
        assert!(bad(&|c| c.persons = 0).contains("persons"));
        assert!(bad(&|c| c.persons = 10).contains("persons"));
        assert!(bad(&|c| c.phones = 11).contains("phones"));
        assert!(System::new(SystemConfig::new(1, 10)).is_ok());
        assert!(bad(&|c| c.auth_tries = 0).contains("retry"));
        assert!(bad(&|c| c.sign_tries = 16).contains("retry"));
        // The edges of the ranges are fine.
        let mut c = SystemConfig::new(9, 0);
        c.auth_tries = 15;
        c.sign_tries = 1;
        assert!(System::new(c).is_ok());
    }

    #[test]
    fn strangers_never_know_a_holders_pin() {
        // ALPHABET: only the person who set the PIN can enter it right. A stranger's
        // attempt is a fixed value no holder's PIN can equal.
        for p in 0..9 {
            for h in 0..10 {
                for kind in CertKind::ALL {
                    for version in [0, 1, 57, 99] {
                        let pin = pin_value(PersonId(p), PhoneId(h), kind, version);
                        assert_ne!(pin, stranger_pin(kind));
                        assert_ne!(pin, wrong_pin(kind));
                    }
                }
            }
        }
        assert_ne!(stranger_pin(CertKind::Auth), wrong_pin(CertKind::Auth));
    }
}
