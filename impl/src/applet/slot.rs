//! One credential slot of the JPKI applet (R-KINDS): key pair, certificate and PIN of one kind,
//! with the PIN life cycle in the type (R-PIN-SETUP, R-PIN-RETRY, INV-PIN, INV-KEY-IN-SE).

use super::Kind;
use der::{Decode, Encode};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// An RSA private key held inside the SE (INV-KEY-IN-SE). It is serialised (for state
/// snapshots of the emulator only) as PKCS#8 DER bytes; no APDU ever returns it, and its
/// `Debug` output shows only the public modulus size.
#[derive(Clone, PartialEq, Eq)]
pub struct SeKey(RsaPrivateKey);

impl SeKey {
    /// Wrap a freshly generated key.
    pub fn new(key: RsaPrivateKey) -> Self {
        SeKey(key)
    }

    /// The public half.
    pub fn public(&self) -> RsaPublicKey {
        self.0.to_public_key()
    }

    /// The private key, for signing inside the applet only.
    pub(crate) fn private(&self) -> &RsaPrivateKey {
        &self.0
    }
}

impl fmt::Debug for SeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use rsa::traits::PublicKeyParts;
        write!(f, "SeKey(RSA-{}, private part hidden)", self.0.n().bits())
    }
}

impl Serialize for SeKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let der = self
            .0
            .to_pkcs8_der()
            .map_err(|e| serde::ser::Error::custom(format!("PKCS#8 encoding failed: {e}")))?;
        s.serialize_bytes(der.as_bytes())
    }
}

impl<'de> Deserialize<'de> for SeKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes: Vec<u8> = Vec::deserialize(d)?;
        RsaPrivateKey::from_pkcs8_der(&bytes)
            .map(SeKey)
            .map_err(|e| serde::de::Error::custom(format!("not a PKCS#8 RSA private key: {e}")))
    }
}

/// The DER SubjectPublicKeyInfo of a public key (the GENERATE KEY PAIR response).
pub fn spki_der(key: &RsaPublicKey) -> Option<Vec<u8>> {
    key.to_public_key_der().ok().map(|d| d.as_bytes().to_vec())
}

/// Why a certificate cannot be stored in a slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertError {
    /// Not a DER X.509 certificate.
    NotDer(String),
    /// The certificate's public key is not RSA or does not match the slot's key pair.
    KeyMismatch,
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertError::NotDer(m) => write!(f, "not a DER X.509 certificate: {m}"),
            CertError::KeyMismatch => {
                write!(
                    f,
                    "certificate public key does not match the slot's key pair"
                )
            }
        }
    }
}

impl std::error::Error for CertError {}

/// A certificate stored in a slot, with its serial number (DER INTEGER content bytes, as in
/// the certificate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCert {
    /// The DER certificate, as written by the SP-TSM.
    pub der: Vec<u8>,
    /// The serial number's INTEGER content bytes.
    pub serial: Vec<u8>,
}

impl StoredCert {
    /// Parse `der` and check that it certifies `key` (a cert for another key is refused).
    pub fn parse_for(der: &[u8], key: &RsaPublicKey) -> Result<StoredCert, CertError> {
        let cert =
            x509_cert::Certificate::from_der(der).map_err(|e| CertError::NotDer(e.to_string()))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertError::NotDer(e.to_string()))?;
        let cert_key =
            RsaPublicKey::from_public_key_der(&spki).map_err(|_| CertError::KeyMismatch)?;
        if &cert_key != key {
            return Err(CertError::KeyMismatch);
        }
        Ok(StoredCert {
            der: der.to_vec(),
            serial: cert.tbs_certificate.serial_number.as_bytes().to_vec(),
        })
    }

    /// Whether `serial` (big-endian bytes, leading zero bytes ignored) is this cert's serial.
    pub fn has_serial(&self, serial: &[u8]) -> bool {
        strip_zeros(&self.serial) == strip_zeros(serial)
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(first..).unwrap_or(&[])
}

/// The PIN (auth) or password (sign) of a slot, stored as a salted SHA-256 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRecord {
    hash: [u8; 32],
    /// Set by SET TEMPORARY PIN or RESET PIN (temporary): admits no service use (INV-PIN).
    pub temporary: bool,
    /// Tries left; zero means blocked (R-PIN-RETRY).
    pub tries_left: u8,
}

impl PinRecord {
    /// A fresh record for `pin`, with the full retry budget.
    pub fn new(kind: Kind, pin: &[u8], temporary: bool, max_tries: u8) -> Self {
        PinRecord {
            hash: pin_hash(kind, pin),
            temporary,
            tries_left: max_tries,
        }
    }

    /// Whether `pin` is the stored PIN (does not touch the counter).
    pub fn matches(&self, kind: Kind, pin: &[u8]) -> bool {
        let h = pin_hash(kind, pin);
        // Compare every byte (no early exit).
        h.iter()
            .zip(self.hash.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }

    /// Whether the PIN is blocked.
    pub fn blocked(&self) -> bool {
        self.tries_left == 0
    }
}

/// The hash of a PIN as stored: the sign password upper-cased first (the card's password is
/// upper case; see the applet's module doc).
fn pin_hash(kind: Kind, pin: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"phone-jpki applet PIN v1");
    h.update([kind.p2()]);
    match kind {
        Kind::Auth => h.update(pin),
        Kind::Sign => h.update(pin.to_ascii_uppercase()),
    }
    h.finalize().into()
}

/// The life cycle of one slot, in the type: no PIN can exist without a certificate, and no
/// certificate without a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Slot {
    /// No credential of this kind.
    #[default]
    Empty,
    /// A key pair was generated (R-KEYGEN); the certificate may already be written.
    KeyGenerated {
        key: SeKey,
        cert: Option<StoredCert>,
    },
    /// Key, certificate and a PIN (temporary or user, maybe blocked).
    Personalised {
        key: SeKey,
        cert: StoredCert,
        pin: PinRecord,
    },
}

/// The PIN state of a slot as seen from outside (GET CREDENTIAL STATE, inspection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PinState {
    /// No credential.
    Empty,
    /// Key generated, no PIN yet (the certificate may be written).
    KeyGenerated,
    /// Certificate and temporary PIN written; service use refused until SET USER PIN.
    Temporary,
    /// The user PIN is set: the credential is usable.
    User,
    /// No tries left: only RESET PIN (R-PIN-INIT) recovers.
    Blocked,
}

impl PinState {
    /// The code used in the GET CREDENTIAL STATE response (tag 80).
    pub fn code(self) -> u8 {
        match self {
            PinState::Empty => 0,
            PinState::KeyGenerated => 1,
            PinState::Temporary => 2,
            PinState::User => 3,
            PinState::Blocked => 4,
        }
    }

    /// Inverse of [`PinState::code`].
    pub fn from_code(c: u8) -> Option<PinState> {
        Some(match c {
            0 => PinState::Empty,
            1 => PinState::KeyGenerated,
            2 => PinState::Temporary,
            3 => PinState::User,
            4 => PinState::Blocked,
            _ => return None,
        })
    }
}

impl Slot {
    /// The externally visible PIN state.
    pub fn pin_state(&self) -> PinState {
        match self {
            Slot::Empty => PinState::Empty,
            Slot::KeyGenerated { .. } => PinState::KeyGenerated,
            Slot::Personalised { pin, .. } if pin.blocked() => PinState::Blocked,
            Slot::Personalised { pin, .. } if pin.temporary => PinState::Temporary,
            Slot::Personalised { .. } => PinState::User,
        }
    }

    /// The key pair, if generated.
    pub fn key(&self) -> Option<&SeKey> {
        match self {
            Slot::Empty => None,
            Slot::KeyGenerated { key, .. } | Slot::Personalised { key, .. } => Some(key),
        }
    }

    /// The stored certificate, if written.
    pub fn cert(&self) -> Option<&StoredCert> {
        match self {
            Slot::Empty => None,
            Slot::KeyGenerated { cert, .. } => cert.as_ref(),
            Slot::Personalised { cert, .. } => Some(cert),
        }
    }

    /// Tries left on the PIN (0 when there is no PIN).
    pub fn tries_left(&self) -> u8 {
        match self {
            Slot::Personalised { pin, .. } => pin.tries_left,
            _ => 0,
        }
    }
}
