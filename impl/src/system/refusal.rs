//! The refusal map: why the system refused an action, and how applet status words,
//! SP-TSM and TSM errors become refusals.

use crate::apdu::StatusWord;
use crate::ca::{CaError, CertKind, PersonId, PhoneId};
use crate::card::CardError;
use crate::phone::AppError;
use crate::push::Undeliverable;
use crate::se::SeError;
use crate::tsm::sp::SpError;
use crate::tsm::TsmError;
use std::fmt;

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
    /// A finder holds the phone: its screen lock keeps the app and settings closed
    /// (THREAT-FINDER).
    ScreenLocked,
    /// ALT-SUSPEND=none: there is no suspension to ask for or resume from.
    NoSuspension,
    /// No signature made with this certificate's key is waiting to be presented.
    NoSuchSignature,
    /// ALT-APPLET-STATUS: the phone signs only right after the app, online, saw the
    /// certificate active; this route or this moment has no such status.
    StatusUnknown,
    /// The applet wants the PIN verified first (`6982`: the sign certificate, as on the card).
    PinRequired,
    /// The signature does not verify under the certificate's key (a relying party refuses).
    BadSignature,
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
            SpError::CertExpired(_) => Refusal::CertExpired,
            SpError::NotCredentialOwner => Refusal::NotCredentialOwner,
            SpError::NoLiveCert => Refusal::NoLiveCert,
            SpError::Tsm(t) => t.into(),
        }
    }
}

/// Map an app/applet error to a refusal: channel refusals and PIN status words.
pub(super) fn app_refusal(e: AppError) -> Refusal {
    match e {
        AppError::Se(SeError::AccessDenied { .. }) => Refusal::AccessDenied,
        AppError::Se(SeError::NoSuchApplet { .. } | SeError::NotSelectable { .. }) => {
            Refusal::NoApplet
        }
        AppError::Status { sw, .. } if sw.as_tries_left().is_some() => Refusal::WrongPin {
            tries_left: sw.as_tries_left().unwrap_or(0),
        },
        AppError::Status { sw, .. } if sw == StatusWord::AUTH_BLOCKED => Refusal::PinBlocked,
        AppError::Status {
            what: "COMPUTE DIGITAL SIGNATURE",
            sw: crate::applet::sw::NO_STATUS_GRANT,
        } => Refusal::StatusUnknown,
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
