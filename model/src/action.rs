//! The action alphabet (docs/ALPHABET.md) and the typed refusal reasons.

use crate::ids::{Kind, PersonId, PhoneId, Serial};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Whether the holder enters the correct PIN.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PinEntry {
    Right,
    Wrong,
}

/// Who receives a handed-over phone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Recipient {
    Person(PersonId),
    Stranger,
}

/// One step of a user, a server or the world. Variants are ordered from simple to complex so
/// that shrinking and listings start with the simple ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Action {
    // Phone life (R-CONTINUE, R-LOSS, R-TEMP-LOSS, R-FAILURE).
    GoOffline(PhoneId),
    GoOnline(PhoneId),
    Lose(PhoneId),
    Find(PhoneId),
    Break(PhoneId),
    // App and applet (phases 1-2; R-TOKEN, R-ACL).
    InstallApp(PhoneId),
    UninstallApp(PhoneId),
    InstallApplet(PhoneId),
    // Card signing cert (R-LINK).
    CardRenew(PersonId),
    CardRevoke(PersonId),
    CardExpire(PersonId),
    // Use, PIN, suspension.
    Use(PhoneId, Kind, PinEntry),
    ChangePin(PhoneId, Kind, PinEntry),
    InitPin(PhoneId, Kind),
    Suspend(PersonId, Kind),
    Resume(PhoneId, Kind, PinEntry),
    // Issuance session (R-ISSUE, R-KEYGEN, R-PIN-SETUP, R-MODEL-CHANGE).
    Apply(PhoneId, Kind),
    GenerateKey(PhoneId),
    CaIssue(PhoneId),
    WriteCert(PhoneId),
    SetUserPin(PhoneId),
    AbandonIssuance(PhoneId),
    // Revocation (R-REVOKE).
    RevokeFromPhone(PhoneId, Kind),
    RevokeWithCard(PersonId, Kind),
    // Push service (R-DELETE, R-TOKEN).
    /// The pending deletion push for this revoked serial.
    DeliverPush(Serial),
    DropPush(Serial),
    /// The validity period of this phone cert ends (更新, R-REISSUE).
    CertExpire(Serial),
    // Phone leaves its holder (R-TRANSFER, R-DISPOSE, R-RESET).
    FactoryReset(PhoneId),
    HandOver(PhoneId, Recipient, bool),
    Dispose(PhoneId, bool),
    // Threat actors and the alternatives' own actions (crate::threats).
    /// THREAT-FINDER: a stranger finds the lost phone and keeps it.
    StrangerFinds(PhoneId),
    /// THREAT-READER: whoever holds the phone uses the applet through an NFC card reader.
    ReaderUse(PhoneId, Kind, PinEntry),
    /// THREAT-READ-PII: the auth cert read out of the applet (public).
    ReadAuthCert(PhoneId),
    /// THREAT-READ-PII: the signing cert read out of the applet after the signing password.
    ReadSignCert(PhoneId, PinEntry),
    /// THREAT-OFFLINE-SIGN: a signature made with the signing key, kept to present later.
    SignOffline(PhoneId, PinEntry),
    /// The signature made with this serial's key presented to a relying party.
    PresentSignature(Serial),
    /// ALT-UNLOCK: the holder enrols a finger in the phone's OS.
    EnrollFinger(PhoneId),
    /// ALT-UNLOCK: an auth use through the app unlocked by a finger.
    BiometricUse(PhoneId),
    /// THREAT-SIM-SWAP (ALT-STORAGE=sim): the SIM moved into a stranger's phone.
    SimSwap(PhoneId),
    /// ALT-PROOFING=mailed-code: the holder applies for that person's cert with the access
    /// code mailed to them (a co-resident received it).
    ApplyWithCode(PhoneId, PersonId, Kind),
}

/// The variant of an action, without its arguments: the unit of action coverage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ActionKind {
    GoOffline,
    GoOnline,
    Lose,
    Find,
    Break,
    InstallApp,
    UninstallApp,
    InstallApplet,
    CardRenew,
    CardRevoke,
    CardExpire,
    Use,
    ChangePin,
    InitPin,
    Suspend,
    Resume,
    Apply,
    GenerateKey,
    CaIssue,
    WriteCert,
    SetUserPin,
    AbandonIssuance,
    RevokeFromPhone,
    RevokeWithCard,
    DeliverPush,
    DropPush,
    CertExpire,
    FactoryReset,
    HandOver,
    Dispose,
    StrangerFinds,
    ReaderUse,
    ReadAuthCert,
    ReadSignCert,
    SignOffline,
    PresentSignature,
    EnrollFinger,
    BiometricUse,
    SimSwap,
    ApplyWithCode,
}

impl ActionKind {
    /// Every action kind, in alphabet order.
    pub const ALL: [ActionKind; 40] = [
        ActionKind::GoOffline,
        ActionKind::GoOnline,
        ActionKind::Lose,
        ActionKind::Find,
        ActionKind::Break,
        ActionKind::InstallApp,
        ActionKind::UninstallApp,
        ActionKind::InstallApplet,
        ActionKind::CardRenew,
        ActionKind::CardRevoke,
        ActionKind::CardExpire,
        ActionKind::Use,
        ActionKind::ChangePin,
        ActionKind::InitPin,
        ActionKind::Suspend,
        ActionKind::Resume,
        ActionKind::Apply,
        ActionKind::GenerateKey,
        ActionKind::CaIssue,
        ActionKind::WriteCert,
        ActionKind::SetUserPin,
        ActionKind::AbandonIssuance,
        ActionKind::RevokeFromPhone,
        ActionKind::RevokeWithCard,
        ActionKind::DeliverPush,
        ActionKind::DropPush,
        ActionKind::CertExpire,
        ActionKind::FactoryReset,
        ActionKind::HandOver,
        ActionKind::Dispose,
        ActionKind::StrangerFinds,
        ActionKind::ReaderUse,
        ActionKind::ReadAuthCert,
        ActionKind::ReadSignCert,
        ActionKind::SignOffline,
        ActionKind::PresentSignature,
        ActionKind::EnrollFinger,
        ActionKind::BiometricUse,
        ActionKind::SimSwap,
        ActionKind::ApplyWithCode,
    ];

    /// The kinds of the threat actors and the alternatives (crate::threats): not realised by
    /// the implementation yet, so conformance skips them and says so.
    pub fn is_threat(self) -> bool {
        use ActionKind::*;
        matches!(
            self,
            StrangerFinds
                | ReaderUse
                | ReadAuthCert
                | ReadSignCert
                | SignOffline
                | PresentSignature
                | EnrollFinger
                | BiometricUse
                | SimSwap
                | ApplyWithCode
        )
    }

    /// The requirement IDs this action serves (docs/ALPHABET.md).
    pub fn requirements(self) -> &'static [&'static str] {
        use ActionKind::*;
        match self {
            GoOffline | GoOnline => &["R-CONTINUE", "R-DELETE"],
            Lose => &["R-LOSS", "R-TEMP-LOSS"],
            Find => &["R-TEMP-LOSS"],
            Break => &["R-FAILURE"],
            InstallApp | UninstallApp => &["R-TOKEN"],
            InstallApplet => &["R-ACL"],
            CardRenew => &["R-LINK", "R-REVOKE", "R-REISSUE"],
            CardRevoke | CardExpire => &["R-LINK", "R-REVOKE"],
            Use => &["INV-PIN", "INV-NO-USE-AFTER-REVOKE", "R-KEYGEN"],
            ChangePin => &["R-PIN-CHANGE", "R-PIN-RETRY"],
            InitPin => &["R-PIN-INIT"],
            Suspend => &["R-SUSPEND", "R-TEMP-LOSS"],
            Resume => &["R-SUSPEND"],
            Apply => &["R-ISSUE", "R-REISSUE"],
            GenerateKey => &["R-KEYGEN", "R-SCP03"],
            CaIssue => &["R-ISSUE", "R-ONE", "R-MODEL-CHANGE", "R-DELETE"],
            WriteCert => &["R-PIN-SETUP", "R-SCP03"],
            SetUserPin => &["R-PIN-SETUP"],
            AbandonIssuance => &["R-ISSUE"],
            RevokeFromPhone => &["R-REVOKE", "R-DELETE", "R-DISPOSE"],
            RevokeWithCard => &["R-REVOKE", "R-LOSS", "R-FAILURE", "R-TOKEN"],
            DeliverPush | DropPush => &["R-DELETE", "R-TOKEN"],
            CertExpire => &["R-REISSUE"],
            FactoryReset => &["R-RESET"],
            HandOver => &["R-TRANSFER", "R-DELETE"],
            Dispose => &["R-DISPOSE", "R-DELETE"],
            StrangerFinds => &["THREAT-FINDER", "R-LOSS"],
            ReaderUse => &["THREAT-READER", "INV-PIN", "INV-NO-FOREIGN-USE"],
            ReadAuthCert => &["THREAT-READ-PII"],
            ReadSignCert => &["THREAT-READ-PII", "R-PIN-RETRY"],
            SignOffline => &["THREAT-OFFLINE-SIGN", "ALT-APPLET-STATUS"],
            PresentSignature => &["THREAT-OFFLINE-SIGN", "INV-NO-USE-AFTER-REVOKE"],
            EnrollFinger => &["ALT-UNLOCK"],
            BiometricUse => &["ALT-UNLOCK", "INV-NO-FOREIGN-USE"],
            SimSwap => &["THREAT-SIM-SWAP", "ALT-STORAGE"],
            ApplyWithCode => &["ALT-PROOFING", "R-ISSUE", "INV-ISSUE-AUTH"],
        }
    }

    pub fn name(self) -> &'static str {
        use ActionKind::*;
        match self {
            GoOffline => "GoOffline",
            GoOnline => "GoOnline",
            Lose => "Lose",
            Find => "Find",
            Break => "Break",
            InstallApp => "InstallApp",
            UninstallApp => "UninstallApp",
            InstallApplet => "InstallApplet",
            CardRenew => "CardRenew",
            CardRevoke => "CardRevoke",
            CardExpire => "CardExpire",
            Use => "Use",
            ChangePin => "ChangePin",
            InitPin => "InitPin",
            Suspend => "Suspend",
            Resume => "Resume",
            Apply => "Apply",
            GenerateKey => "GenerateKey",
            CaIssue => "CaIssue",
            WriteCert => "WriteCert",
            SetUserPin => "SetUserPin",
            AbandonIssuance => "AbandonIssuance",
            RevokeFromPhone => "RevokeFromPhone",
            RevokeWithCard => "RevokeWithCard",
            DeliverPush => "DeliverPush",
            DropPush => "DropPush",
            CertExpire => "CertExpire",
            FactoryReset => "FactoryReset",
            HandOver => "HandOver",
            Dispose => "Dispose",
            StrangerFinds => "StrangerFinds",
            ReaderUse => "ReaderUse",
            ReadAuthCert => "ReadAuthCert",
            ReadSignCert => "ReadSignCert",
            SignOffline => "SignOffline",
            PresentSignature => "PresentSignature",
            EnrollFinger => "EnrollFinger",
            BiometricUse => "BiometricUse",
            SimSwap => "SimSwap",
            ApplyWithCode => "ApplyWithCode",
        }
    }
}

impl Action {
    /// The phone this action acts on, if any.
    pub fn phone(&self) -> Option<PhoneId> {
        use Action::*;
        match *self {
            GoOffline(h)
            | GoOnline(h)
            | Lose(h)
            | Find(h)
            | Break(h)
            | InstallApp(h)
            | UninstallApp(h)
            | InstallApplet(h)
            | GenerateKey(h)
            | CaIssue(h)
            | WriteCert(h)
            | SetUserPin(h)
            | AbandonIssuance(h)
            | FactoryReset(h)
            | Use(h, ..)
            | ChangePin(h, ..)
            | InitPin(h, _)
            | Resume(h, ..)
            | Apply(h, _)
            | RevokeFromPhone(h, _)
            | HandOver(h, ..)
            | Dispose(h, _)
            | StrangerFinds(h)
            | ReaderUse(h, ..)
            | ReadAuthCert(h)
            | ReadSignCert(h, _)
            | SignOffline(h, _)
            | EnrollFinger(h)
            | BiometricUse(h)
            | SimSwap(h)
            | ApplyWithCode(h, ..) => Some(h),
            _ => None,
        }
    }

    /// A detour from the happy path, counted against [`crate::Config::max_events`]: network
    /// loss, loss, breakage, uninstalling, reset, hand-over, disposal, the card events,
    /// suspension, revocation, abandoning an issuance and wrong PIN entries. What follows
    /// from a detour (going online again, finding, unblocking, resuming, delivering or
    /// dropping a push) is not counted, so every detour can be seen through.
    pub fn is_event(&self) -> bool {
        use Action::*;
        match self {
            GoOffline(_) | Lose(_) | Break(_) | UninstallApp(_) | CardRenew(_) | CardRevoke(_)
            | CardExpire(_) | Suspend(..) | AbandonIssuance(_) | RevokeFromPhone(..)
            | RevokeWithCard(..) | FactoryReset(_) | CertExpire(_) => true,
            Use(_, _, e) | ChangePin(_, _, e) | Resume(_, _, e) => *e == PinEntry::Wrong,
            // A stranger's wrong entries count like the owner's. What a new holder does with
            // the phone follows the detour that gave it to them (finding follows a loss,
            // moving the SIM and enrolling a finger follow a loss or a sale, each at most once
            // per phone and holder); presenting follows signing.
            ReaderUse(_, _, e) | ReadSignCert(_, e) | SignOffline(_, e) => *e == PinEntry::Wrong,
            StrangerFinds(_) | ReadAuthCert(_) | PresentSignature(_) | BiometricUse(_)
            | EnrollFinger(_) | SimSwap(_) | ApplyWithCode(..) => false,
            GoOnline(_) | Find(_) | InstallApp(_) | InstallApplet(_) | InitPin(..) | Apply(..)
            | GenerateKey(_) | CaIssue(_) | WriteCert(_) | SetUserPin(_) | DeliverPush(_)
            | DropPush(_) => false,
            // Not free although bounded per phone: offered at any time, they multiply the
            // world like any other detour (measured: uncounted, the reference world grows
            // past 5M states).
            HandOver(..) | Dispose(..) => true,
        }
    }

    pub fn kind(&self) -> ActionKind {
        use Action::*;
        match self {
            GoOffline(_) => ActionKind::GoOffline,
            GoOnline(_) => ActionKind::GoOnline,
            Lose(_) => ActionKind::Lose,
            Find(_) => ActionKind::Find,
            Break(_) => ActionKind::Break,
            InstallApp(_) => ActionKind::InstallApp,
            UninstallApp(_) => ActionKind::UninstallApp,
            InstallApplet(_) => ActionKind::InstallApplet,
            CardRenew(_) => ActionKind::CardRenew,
            CardRevoke(_) => ActionKind::CardRevoke,
            CardExpire(_) => ActionKind::CardExpire,
            Use(..) => ActionKind::Use,
            ChangePin(..) => ActionKind::ChangePin,
            InitPin(..) => ActionKind::InitPin,
            Suspend(..) => ActionKind::Suspend,
            Resume(..) => ActionKind::Resume,
            Apply(..) => ActionKind::Apply,
            GenerateKey(_) => ActionKind::GenerateKey,
            CaIssue(_) => ActionKind::CaIssue,
            WriteCert(_) => ActionKind::WriteCert,
            SetUserPin(_) => ActionKind::SetUserPin,
            AbandonIssuance(_) => ActionKind::AbandonIssuance,
            RevokeFromPhone(..) => ActionKind::RevokeFromPhone,
            RevokeWithCard(..) => ActionKind::RevokeWithCard,
            DeliverPush(_) => ActionKind::DeliverPush,
            DropPush(_) => ActionKind::DropPush,
            CertExpire(_) => ActionKind::CertExpire,
            FactoryReset(_) => ActionKind::FactoryReset,
            HandOver(..) => ActionKind::HandOver,
            Dispose(..) => ActionKind::Dispose,
            StrangerFinds(_) => ActionKind::StrangerFinds,
            ReaderUse(..) => ActionKind::ReaderUse,
            ReadAuthCert(_) => ActionKind::ReadAuthCert,
            ReadSignCert(..) => ActionKind::ReadSignCert,
            SignOffline(..) => ActionKind::SignOffline,
            PresentSignature(_) => ActionKind::PresentSignature,
            EnrollFinger(_) => ActionKind::EnrollFinger,
            BiometricUse(_) => ActionKind::BiometricUse,
            SimSwap(_) => ActionKind::SimSwap,
            ApplyWithCode(..) => ActionKind::ApplyWithCode,
        }
    }
}

impl fmt::Display for PinEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PinEntry::Right => "right",
            PinEntry::Wrong => "wrong",
        })
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Person(p) => write!(f, "{p}"),
            Recipient::Stranger => f.write_str("stranger"),
        }
    }
}

impl fmt::Display for Action {
    /// Short labels, as the Explorer and counterexample listings show them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Action::*;
        let proc_ = |b: &bool| if *b { "procedure" } else { "careless" };
        match self {
            GoOffline(h) | GoOnline(h) | Lose(h) | Find(h) | Break(h) | InstallApp(h)
            | UninstallApp(h) | InstallApplet(h) | GenerateKey(h) | CaIssue(h) | WriteCert(h)
            | SetUserPin(h) | AbandonIssuance(h) | FactoryReset(h) | StrangerFinds(h)
            | ReadAuthCert(h) | EnrollFinger(h) | BiometricUse(h) | SimSwap(h) => {
                write!(f, "{}({h})", self.kind().name())
            }
            ReadSignCert(h, e) | SignOffline(h, e) => {
                write!(f, "{}({h},pin={e})", self.kind().name())
            }
            CardRenew(p) | CardRevoke(p) | CardExpire(p) => {
                write!(f, "{}({p})", self.kind().name())
            }
            Use(h, k, e) | ChangePin(h, k, e) | Resume(h, k, e) | ReaderUse(h, k, e) => {
                write!(f, "{}({h},{k},pin={e})", self.kind().name())
            }
            InitPin(h, k) | Apply(h, k) | RevokeFromPhone(h, k) => {
                write!(f, "{}({h},{k})", self.kind().name())
            }
            Suspend(p, k) | RevokeWithCard(p, k) => write!(f, "{}({p},{k})", self.kind().name()),
            ApplyWithCode(h, p, k) => write!(f, "ApplyWithCode({h},{p},{k})"),
            DeliverPush(i) | DropPush(i) | CertExpire(i) | PresentSignature(i) => {
                write!(f, "{}({i})", self.kind().name())
            }
            HandOver(h, to, p) => write!(f, "HandOver({h}->{to},{})", proc_(p)),
            Dispose(h, p) => write!(f, "Dispose({h},{})", proc_(p)),
        }
    }
}

/// Why the system refuses an action. The implementation must refuse the same actions for the
/// same reasons; `checks/` compares them.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Refusal {
    /// The operation needs the network and the phone is offline.
    PhoneOffline,
    /// The JPKI app is not installed.
    NoApp,
    /// The JPKI applet is not installed in the SE.
    NoApplet,
    /// The applet is already installed.
    AppletAlreadyInstalled,
    /// An issuance session is already in progress on this phone.
    SessionInProgress,
    /// The card signing cert is not valid (revoked, expired, or superseded by a renewal).
    CardNotValid,
    /// R-REISSUE: the person's cert of this kind on this phone is still live.
    ReissueWhileLive,
    /// The slot does not hold the key this step needs (it was deleted meanwhile).
    KeyMissing,
    /// The slot holds no certificate.
    NoCredential,
    /// The operator is not the person the credential belongs to.
    NotCredentialOwner,
    /// No live cert of this person and kind.
    NoLiveCert,
    /// The cert is already suspended.
    AlreadySuspended,
    /// The cert is not suspended.
    NotSuspended,
    /// The PIN was wrong (the counter went down; may have blocked it).
    WrongPin,
    /// The PIN is blocked (R-PIN-RETRY); only R-PIN-INIT helps.
    PinBlocked,
    /// Only the temporary PIN is set: no service use until the user PIN is set.
    TemporaryPin,
    /// The relying party or server found the cert revoked.
    CertRevoked,
    /// The relying party found the cert suspended.
    CertSuspended,
    /// The cert's validity period has ended.
    CertExpired,
    /// The push cannot reach its token (offline, app removed, phone gone).
    Undeliverable,
    /// ALT-APPLET-STATUS: the phone signs only after the app, online, saw the cert active.
    StatusUnknown,
    /// ALT-UNLOCK=invalidate-on-enrol: a finger enrolled since invalidated the biometric key.
    BiometricInvalidated,
}

impl Refusal {
    pub fn name(self) -> &'static str {
        use Refusal::*;
        match self {
            PhoneOffline => "PhoneOffline",
            NoApp => "NoApp",
            NoApplet => "NoApplet",
            AppletAlreadyInstalled => "AppletAlreadyInstalled",
            SessionInProgress => "SessionInProgress",
            CardNotValid => "CardNotValid",
            ReissueWhileLive => "ReissueWhileLive",
            KeyMissing => "KeyMissing",
            NoCredential => "NoCredential",
            NotCredentialOwner => "NotCredentialOwner",
            NoLiveCert => "NoLiveCert",
            AlreadySuspended => "AlreadySuspended",
            NotSuspended => "NotSuspended",
            WrongPin => "WrongPin",
            PinBlocked => "PinBlocked",
            TemporaryPin => "TemporaryPin",
            CertRevoked => "CertRevoked",
            CertSuspended => "CertSuspended",
            CertExpired => "CertExpired",
            Undeliverable => "Undeliverable",
            StatusUnknown => "StatusUnknown",
            BiometricInvalidated => "BiometricInvalidated",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
