//! The emulated J-LIS JPKI certificate authority and its registry.
//!
//! J-LIS issues the card signing certificates and the phone certificates, keeps the link from
//! each phone certificate to the card signing certificate whose signature authorised it, and
//! answers status questions (registry lookup and CRL). Requirements implemented here:
//!
//! - R-KINDS: phone certificates come in two kinds (signing, user authentication) and are
//!   distinguishable from card certificates by their certificate-policy OID ([`cert::oids`]).
//! - R-ISSUE / INV-ISSUE-AUTH: a phone certificate is issued only on a card signature that
//!   verifies under the person's current, valid card signing certificate
//!   ([`Ca::verify_card_signature`], [`Ca::issue_phone_cert`]).
//! - R-ONE / INV-ONE and R-MODEL-CHANGE: issuing a phone certificate revokes, in the same
//!   registry step, the person's previous non-revoked phone certificate of that kind.
//! - R-LINK / INV-LINK: renewing, revoking or expiring a card signing certificate revokes the
//!   phone certificates linked to it.
//! - R-REVOKE, R-SUSPEND: revocation with a reason, suspension (`certificateHold`) and
//!   resumption; the X.509 v2 CRL ([`crl`]) carries revoked and held certificates.
//! - R-KEYGEN: every key is RSA-2048; every signature is RSASSA-PKCS1-v1_5 with SHA-256.
//!
//! Time is a [`LogicalTime`] passed into every operation, never the system clock, so runs are
//! deterministic.

pub mod authority;
pub mod cert;
pub mod crl;
pub mod publish;
pub mod registry;

#[cfg(test)]
mod interop_tests;
#[cfg(test)]
mod tests;

pub use authority::{Ca, CardCertIssued, PhoneCertIssued, VerifiedCard, ROOT_SERIAL};
pub use cert::{CertKind, CertProfile};
pub use crl::Crl;
pub use registry::{
    CardEnd, CardEnded, CertRecord, CertStatus, CertSubject, Registry, RevocationCause,
    RevokedPhoneCert, StatusAnswer,
};
/// RFC 5280 CRLReason codes, as encoded in the CRL `reasonCode` entry extension.
pub use x509_cert::ext::pkix::CrlReason;

use crate::crypto::CryptoError;
use std::fmt;

/// A person, by pseudonymous id (`p0`, `p1`, ...). No real personal data is ever modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PersonId(pub u32);

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{}", self.0)
    }
}

/// A smartphone, by id (`h0`, `h1`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhoneId(pub u32);

impl fmt::Display for PhoneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h{}", self.0)
    }
}

/// A certificate serial number issued by this CA (positive, sequential, 1 is the CA root).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(pub u64);

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Logical time: seconds since the fixed base date 2026-01-01T00:00:00Z.
///
/// Every CA operation takes the current `LogicalTime` from its caller; nothing reads the system
/// clock, so a run is a pure function of its inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogicalTime(pub u64);

impl LogicalTime {
    /// The base date 2026-01-01T00:00:00Z as seconds since the Unix epoch.
    pub const BASE_UNIX_SECS: u64 = 1_767_225_600;
    /// One day in seconds.
    pub const DAY: u64 = 86_400;
    /// One (365-day) year in seconds, the unit of the validity periods.
    pub const YEAR: u64 = 365 * Self::DAY;

    /// The base date itself.
    pub const BASE: LogicalTime = LogicalTime(0);

    /// Seconds since the Unix epoch (saturating).
    pub fn unix_secs(self) -> u64 {
        Self::BASE_UNIX_SECS.saturating_add(self.0)
    }

    /// This time plus `secs` seconds (saturating).
    pub fn plus(self, secs: u64) -> LogicalTime {
        LogicalTime(self.0.saturating_add(secs))
    }
}

impl fmt::Display for LogicalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{}s", self.0)
    }
}

/// Everything a CA operation can refuse or fail with. No operation panics on its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaError {
    /// No certificate with this serial was ever issued by this CA.
    UnknownSerial(Serial),
    /// The person has no card signing certificate at all.
    NoCardCert(PersonId),
    /// The person's latest card signing certificate has already ended (revoked, superseded
    /// or expired), so there is nothing to revoke or expire.
    CardCertAlreadyEnded {
        /// The person's latest card certificate.
        serial: Serial,
        /// How it ended.
        status: CertStatus,
    },
    /// The operation needs a phone certificate; this serial is a card or CA certificate.
    NotAPhoneCert(Serial),
    /// The operation needs a card signing certificate; this serial is not one.
    NotACardCert(Serial),
    /// The card signing certificate is not (or no longer) valid at this moment
    /// (R-ISSUE, INV-ISSUE-AUTH): revoked, superseded, expired, or outside its validity.
    CardCertNotValid {
        /// The card certificate presented or named.
        serial: Serial,
        /// Why it is not valid.
        why: CardCertProblem,
    },
    /// The card certificate belongs to another person than the one applying.
    PersonMismatch {
        /// The person named in the request.
        claimed: PersonId,
        /// The person the card certificate was issued to.
        holder: PersonId,
    },
    /// A status transition that is not allowed (e.g. resuming a certificate that is not
    /// suspended, suspending a revoked one).
    InvalidTransition {
        /// The certificate.
        serial: Serial,
        /// What was attempted.
        operation: &'static str,
        /// Its status at the time.
        status: CertStatus,
    },
    /// The certificate is registered but not good (suspended, revoked or expired;
    /// INV-NO-USE-AFTER-REVOKE).
    NotGood {
        /// The certificate.
        serial: Serial,
        /// Its status.
        status: CertStatus,
    },
    /// The logical time is outside the certificate's validity period.
    OutsideValidity {
        /// The certificate.
        serial: Serial,
        /// Its notBefore.
        not_before: LogicalTime,
        /// Its notAfter.
        not_after: LogicalTime,
        /// The time of the check.
        now: LogicalTime,
    },
    /// This revocation cause cannot be requested for a phone certificate from outside
    /// (only [`RevocationCause::UserRequestFromPhone`] and [`RevocationCause::WithCard`] can).
    CauseNotRequestable(RevocationCause),
    /// The presented certificate bytes do not parse as a DER X.509 certificate.
    MalformedCertificate(String),
    /// The presented certificate was not issued by this CA (issuer name, algorithm or
    /// signature does not match), or differs from the one in the registry.
    NotIssuedByThisCa(String),
    /// The certificate does not carry the certificate policy the operation needs
    /// (e.g. a phone certificate presented where a card certificate is required; R-KINDS).
    WrongCertificateKind {
        /// The policy OID that was required, in dotted form.
        expected: String,
        /// The policy OIDs found, in dotted form.
        found: Vec<String>,
    },
    /// The application signature does not verify under the card certificate's public key.
    BadSignature,
    /// The subject public key is not an RSA-2048 key (R-KEYGEN).
    BadPublicKey(String),
    /// The signature algorithm named in a presented certificate is not
    /// sha256WithRSAEncryption.
    UnsupportedAlgorithm(String),
    /// A time that cannot be expressed in X.509 (beyond year 9999).
    TimeOutOfRange(LogicalTime),
    /// DER encoding of a structure failed (an internal error, reported rather than panicking).
    Encoding(String),
    /// The CA's signing operation failed.
    Signing(String),
    /// The CA's own key pair could not be generated.
    KeyGeneration(CryptoError),
}

/// Why a card signing certificate is not valid for authorising an issuance (R-ISSUE).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardCertProblem {
    /// It has been revoked (including superseded by a newer generation).
    Revoked(RevocationCause),
    /// Its expiry was recorded.
    Expired,
    /// The logical time is past its notAfter.
    PastNotAfter(LogicalTime),
    /// The logical time is before its notBefore.
    BeforeNotBefore(LogicalTime),
    /// It is not the person's latest card certificate generation.
    NotCurrent {
        /// The person's latest generation.
        current: Serial,
    },
    /// It is suspended (card certificates are never suspended by this CA; kept for totality).
    Suspended,
}

impl fmt::Display for CardCertProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardCertProblem::Revoked(c) => write!(f, "revoked ({c})"),
            CardCertProblem::Expired => write!(f, "expired"),
            CardCertProblem::PastNotAfter(t) => write!(f, "past its notAfter {t}"),
            CardCertProblem::BeforeNotBefore(t) => write!(f, "before its notBefore {t}"),
            CardCertProblem::NotCurrent { current } => {
                write!(f, "not the current generation (current is {current})")
            }
            CardCertProblem::Suspended => write!(f, "suspended"),
        }
    }
}

impl fmt::Display for CaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaError::UnknownSerial(s) => write!(f, "no certificate with serial {s}"),
            CaError::NoCardCert(p) => write!(f, "{p} has no card signing certificate"),
            CaError::CardCertAlreadyEnded { serial, status } => {
                write!(f, "card certificate {serial} has already ended: {status}")
            }
            CaError::NotAPhoneCert(s) => write!(f, "certificate {s} is not a phone certificate"),
            CaError::NotACardCert(s) => {
                write!(f, "certificate {s} is not a card signing certificate")
            }
            CaError::CardCertNotValid { serial, why } => {
                write!(f, "card certificate {serial} is not valid: {why}")
            }
            CaError::PersonMismatch { claimed, holder } => write!(
                f,
                "card certificate belongs to {holder}, not to the applicant {claimed}"
            ),
            CaError::InvalidTransition {
                serial,
                operation,
                status,
            } => write!(f, "cannot {operation} certificate {serial}: it is {status}"),
            CaError::NotGood { serial, status } => {
                write!(f, "certificate {serial} is not good: {status}")
            }
            CaError::OutsideValidity {
                serial,
                not_before,
                not_after,
                now,
            } => write!(
                f,
                "certificate {serial} is valid from {not_before} to {not_after}, not at {now}"
            ),
            CaError::CauseNotRequestable(c) => {
                write!(f, "revocation cause {c} cannot be requested directly")
            }
            CaError::MalformedCertificate(m) => write!(f, "malformed certificate: {m}"),
            CaError::NotIssuedByThisCa(m) => write!(f, "certificate not issued by this CA: {m}"),
            CaError::WrongCertificateKind { expected, found } => write!(
                f,
                "certificate policy {expected} required, found [{}]",
                found.join(", ")
            ),
            CaError::BadSignature => {
                write!(f, "signature does not verify under the card certificate")
            }
            CaError::BadPublicKey(m) => write!(f, "unacceptable public key: {m}"),
            CaError::UnsupportedAlgorithm(m) => write!(f, "unsupported signature algorithm {m}"),
            CaError::TimeOutOfRange(t) => write!(f, "time {t} cannot be encoded in X.509"),
            CaError::Encoding(m) => write!(f, "DER encoding failed: {m}"),
            CaError::Signing(m) => write!(f, "CA signing failed: {m}"),
            CaError::KeyGeneration(e) => write!(f, "CA key generation failed: {e}"),
        }
    }
}

impl std::error::Error for CaError {}

impl From<der::Error> for CaError {
    fn from(e: der::Error) -> Self {
        CaError::Encoding(e.to_string())
    }
}
