//! My Number card emulator: the card signing key and certificate, the signing password and
//! the user-authentication PIN (R-ISSUE, R-KINDS, R-PIN-RETRY).
//!
//! The card generates its signing key from a [`KeySource`] and obtains its certificate from the
//! CA ([`MyNumberCard::enrol`]). It signs an application (bytes) with RSASSA-PKCS1-v1_5 /
//! SHA-256 only inside a [`SigningSession`], which exists only after the signing password was
//! verified. The private key never leaves the card: no method returns it.
//!
//! Secrets (checked when set):
//! - signing password (署名用パスワード): 6 to 16 ASCII letters and digits, at least one of
//!   each; [`PASSWORD_TRIES`] wrong entries block it.
//! - user-authentication PIN (利用者証明用暗証番号): exactly 4 ASCII digits; [`PIN_TRIES`]
//!   wrong entries block it.
//!
//! A correct entry resets the counter. The wrong entry that takes the counter to zero reports
//! `tries_left: 0`; every later entry, right or wrong, is refused with
//! [`CardError::Blocked`] (unblocking happens at the municipal office, which this emulation
//! models only as [`MyNumberCard::office_reset`]).

use crate::ca::{cert, Ca, CaError, CardCertIssued, LogicalTime, PersonId};
use crate::crypto::{CryptoError, KeySource};
use rsa::pkcs1v15::{Signature, SigningKey};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPublicKey;
use sha2::{Digest, Sha256};
use std::fmt;

/// Wrong signing-password entries before the password is blocked.
pub const PASSWORD_TRIES: u8 = 5;
/// Wrong PIN entries before the user-authentication PIN is blocked.
pub const PIN_TRIES: u8 = 3;
/// Shortest signing password.
pub const PASSWORD_MIN_LEN: usize = 6;
/// Longest signing password.
pub const PASSWORD_MAX_LEN: usize = 16;
/// Length of the user-authentication PIN.
pub const PIN_LEN: usize = 4;

/// Which of the card's two secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardSecret {
    /// The signing password.
    SigningPassword,
    /// The user-authentication PIN.
    AuthPin,
}

impl fmt::Display for CardSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardSecret::SigningPassword => write!(f, "signing password"),
            CardSecret::AuthPin => write!(f, "user-authentication PIN"),
        }
    }
}

/// What is wrong with a proposed signing password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// Not 6 to 16 characters long.
    Length {
        /// Its length in characters.
        len: usize,
    },
    /// Contains a character that is not an ASCII letter or digit.
    NotAlphanumeric,
    /// Contains no letter.
    NoLetter,
    /// Contains no digit.
    NoDigit,
}

impl fmt::Display for PasswordRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordRule::Length { len } => write!(
                f,
                "{len} characters, {PASSWORD_MIN_LEN} to {PASSWORD_MAX_LEN} required"
            ),
            PasswordRule::NotAlphanumeric => write!(f, "only ASCII letters and digits allowed"),
            PasswordRule::NoLetter => write!(f, "at least one letter required"),
            PasswordRule::NoDigit => write!(f, "at least one digit required"),
        }
    }
}

/// Errors of the card emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardError {
    /// The proposed signing password breaks a format rule.
    BadPasswordFormat(PasswordRule),
    /// The proposed PIN is not exactly 4 ASCII digits.
    BadPinFormat,
    /// Wrong signing password; this many tries remain (0: now blocked).
    WrongPassword {
        /// Remaining tries.
        tries_left: u8,
    },
    /// Wrong PIN; this many tries remain (0: now blocked).
    WrongPin {
        /// Remaining tries.
        tries_left: u8,
    },
    /// The secret is blocked; no entry is checked until the office resets it.
    Blocked(CardSecret),
    /// The card holds no certificate yet.
    NoCertificate,
    /// The offered certificate does not certify this card's key (or is not a card signing
    /// certificate of this card's holder).
    CertificateMismatch(String),
    /// The card's key pair could not be generated.
    KeyGeneration(CryptoError),
    /// The RSA signing operation failed.
    Signing(String),
    /// The CA refused or failed.
    Ca(CaError),
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardError::BadPasswordFormat(r) => write!(f, "bad signing password format: {r}"),
            CardError::BadPinFormat => {
                write!(f, "bad PIN format: exactly {PIN_LEN} digits required")
            }
            CardError::WrongPassword { tries_left } => {
                write!(f, "wrong signing password, {tries_left} tries left")
            }
            CardError::WrongPin { tries_left } => write!(f, "wrong PIN, {tries_left} tries left"),
            CardError::Blocked(s) => write!(f, "the {s} is blocked"),
            CardError::NoCertificate => write!(f, "the card holds no certificate"),
            CardError::CertificateMismatch(m) => {
                write!(f, "certificate does not fit the card: {m}")
            }
            CardError::KeyGeneration(e) => write!(f, "card key generation failed: {e}"),
            CardError::Signing(m) => write!(f, "card signing failed: {m}"),
            CardError::Ca(e) => write!(f, "CA: {e}"),
        }
    }
}

impl std::error::Error for CardError {}

impl From<CaError> for CardError {
    fn from(e: CaError) -> Self {
        CardError::Ca(e)
    }
}

/// Check the signing-password format rules.
pub fn check_password_format(password: &str) -> Result<(), PasswordRule> {
    let len = password.chars().count();
    if !(PASSWORD_MIN_LEN..=PASSWORD_MAX_LEN).contains(&len) {
        return Err(PasswordRule::Length { len });
    }
    if !password.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(PasswordRule::NotAlphanumeric);
    }
    if !password.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(PasswordRule::NoLetter);
    }
    if !password.chars().any(|c| c.is_ascii_digit()) {
        return Err(PasswordRule::NoDigit);
    }
    Ok(())
}

/// Check the PIN format rule: exactly 4 ASCII digits.
pub fn check_pin_format(pin: &str) -> Result<(), CardError> {
    if pin.len() == PIN_LEN && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CardError::BadPinFormat)
    }
}

/// A secret with a retry counter. Only a digest of the secret is kept.
#[derive(Clone)]
struct Guarded {
    digest: [u8; 32],
    tries_left: u8,
    limit: u8,
}

impl Guarded {
    fn new(secret: &str, limit: u8) -> Self {
        Guarded {
            digest: Sha256::digest(secret.as_bytes()).into(),
            tries_left: limit,
            limit,
        }
    }

    /// `Ok` on a match; `Err(None)` if blocked; `Err(Some(n))` wrong with `n` tries left.
    fn check(&mut self, candidate: &str) -> Result<(), Option<u8>> {
        if self.tries_left == 0 {
            return Err(None);
        }
        let d: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        // Compare every byte, whatever the first difference.
        let diff = d
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if diff == 0 {
            self.tries_left = self.limit;
            Ok(())
        } else {
            self.tries_left -= 1;
            Err(Some(self.tries_left))
        }
    }
}

/// An emulated My Number card (see the module documentation).
#[derive(Clone)]
pub struct MyNumberCard {
    person: PersonId,
    key: SigningKey<Sha256>,
    public: RsaPublicKey,
    certificate: Option<Vec<u8>>,
    password: Guarded,
    pin: Guarded,
}

impl fmt::Debug for MyNumberCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MyNumberCard")
            .field("person", &self.person)
            .field("has_certificate", &self.certificate.is_some())
            .field("password_tries_left", &self.password.tries_left)
            .field("pin_tries_left", &self.pin.tries_left)
            .finish_non_exhaustive()
    }
}

impl MyNumberCard {
    /// A new card for `person`, with a signing key from `keys`, the signing `password` and the
    /// user-authentication `pin` (both format-checked first). It holds no certificate yet.
    pub fn new(
        person: PersonId,
        keys: &mut dyn KeySource,
        password: &str,
        pin: &str,
    ) -> Result<Self, CardError> {
        check_password_format(password).map_err(CardError::BadPasswordFormat)?;
        check_pin_format(pin)?;
        let private = keys.generate().map_err(CardError::KeyGeneration)?;
        let public = private.to_public_key();
        Ok(MyNumberCard {
            person,
            key: SigningKey::<Sha256>::new(private),
            public,
            certificate: None,
            password: Guarded::new(password, PASSWORD_TRIES),
            pin: Guarded::new(pin, PIN_TRIES),
        })
    }

    /// The card holder.
    pub fn person(&self) -> PersonId {
        self.person
    }

    /// The card signing public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The card signing certificate (DER), once installed.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.certificate.as_deref()
    }

    /// Remaining signing-password tries.
    pub fn password_tries_left(&self) -> u8 {
        self.password.tries_left
    }

    /// Remaining PIN tries.
    pub fn pin_tries_left(&self) -> u8 {
        self.pin.tries_left
    }

    /// Install a card signing certificate: it must parse, carry the card-signing policy and
    /// certify this card's public key.
    pub fn install_certificate(&mut self, der_bytes: Vec<u8>) -> Result<(), CardError> {
        let certificate = cert::parse_certificate(&der_bytes)?;
        cert::require_policy(&certificate, cert::oids::POLICY_CARD_SIGN)?;
        if cert::public_key_of(&certificate)? != self.public {
            return Err(CardError::CertificateMismatch(
                "it certifies another key".into(),
            ));
        }
        self.certificate = Some(der_bytes);
        Ok(())
    }

    /// Have the CA issue a card signing certificate for this card's key and install it
    /// (first issuance, or renewal on the same key; the CA supersedes the previous
    /// generation and revokes its linked phone certs, R-LINK).
    pub fn enrol(&mut self, ca: &mut Ca, now: LogicalTime) -> Result<CardCertIssued, CardError> {
        let issued = ca.issue_card_cert(self.person, &self.public, now)?;
        self.install_certificate(issued.der.clone())?;
        Ok(issued)
    }

    /// Renewal with a new key (`CardRenew`): a fresh key from `keys`, a new certificate
    /// generation from the CA. On any failure the card keeps its old key and certificate.
    pub fn renew(
        &mut self,
        keys: &mut dyn KeySource,
        ca: &mut Ca,
        now: LogicalTime,
    ) -> Result<CardCertIssued, CardError> {
        let private = keys.generate().map_err(CardError::KeyGeneration)?;
        let public = private.to_public_key();
        let issued = ca.issue_card_cert(self.person, &public, now)?;
        self.key = SigningKey::<Sha256>::new(private);
        self.public = public;
        self.install_certificate(issued.der.clone())?;
        Ok(issued)
    }

    /// Verify the signing password; on success, a session in which the card signs.
    pub fn verify_password(&mut self, password: &str) -> Result<SigningSession<'_>, CardError> {
        match self.password.check(password) {
            Ok(()) => Ok(SigningSession { card: self }),
            Err(None) => Err(CardError::Blocked(CardSecret::SigningPassword)),
            Err(Some(tries_left)) => Err(CardError::WrongPassword { tries_left }),
        }
    }

    /// Verify the password and sign `application` in one step (what the JPKI app does over
    /// NFC): the RSASSA-PKCS1-v1_5 / SHA-256 signature bytes.
    pub fn sign_application(
        &mut self,
        password: &str,
        application: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        self.verify_password(password)?.sign(application)
    }

    /// Verify the user-authentication PIN.
    pub fn verify_pin(&mut self, pin: &str) -> Result<(), CardError> {
        match self.pin.check(pin) {
            Ok(()) => Ok(()),
            Err(None) => Err(CardError::Blocked(CardSecret::AuthPin)),
            Err(Some(tries_left)) => Err(CardError::WrongPin { tries_left }),
        }
    }

    /// Municipal-office reset of a secret (identity checked in person, outside this model):
    /// sets a new value (format-checked) and restores the full try count.
    pub fn office_reset(&mut self, which: CardSecret, new_value: &str) -> Result<(), CardError> {
        match which {
            CardSecret::SigningPassword => {
                check_password_format(new_value).map_err(CardError::BadPasswordFormat)?;
                self.password = Guarded::new(new_value, PASSWORD_TRIES);
            }
            CardSecret::AuthPin => {
                check_pin_format(new_value)?;
                self.pin = Guarded::new(new_value, PIN_TRIES);
            }
        }
        Ok(())
    }
}

/// Proof that the signing password was verified: the only way to make the card sign.
#[derive(Debug)]
pub struct SigningSession<'a> {
    card: &'a MyNumberCard,
}

impl SigningSession<'_> {
    /// Sign `application` with the card signing key (RSASSA-PKCS1-v1_5 / SHA-256). Refused if
    /// the card holds no certificate (the signature could not be verified by anyone).
    pub fn sign(&self, application: &[u8]) -> Result<Vec<u8>, CardError> {
        if self.card.certificate.is_none() {
            return Err(CardError::NoCertificate);
        }
        let sig: Signature = self
            .card
            .key
            .try_sign(application)
            .map_err(|e| CardError::Signing(e.to_string()))?;
        Ok(sig.to_vec())
    }

    /// The card certificate (DER) to send along with the signature.
    pub fn certificate(&self) -> Option<&[u8]> {
        self.card.certificate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::cert::public_key_of;
    use crate::crypto::SeededKeyPool;
    use rsa::pkcs1v15::VerifyingKey;
    use rsa::signature::Verifier;

    const SEED: u64 = 0xC0DE00;

    fn blank_card(password: &str, pin: &str) -> Result<MyNumberCard, CardError> {
        MyNumberCard::new(PersonId(0), &mut SeededKeyPool::new(SEED), password, pin)
    }

    fn enrolled() -> (Ca, MyNumberCard) {
        let mut ca = Ca::new(&mut SeededKeyPool::new(0xCA), LogicalTime::BASE).unwrap();
        let mut card = blank_card("abc123", "1234").unwrap();
        card.enrol(&mut ca, LogicalTime(10)).unwrap();
        (ca, card)
    }

    #[test]
    fn password_format_rules() {
        for ok in ["abc123", "A1b2C3d4E5f6G7h8", "1a2b3c", "PASSWORD9"] {
            assert_eq!(check_password_format(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("ab12", PasswordRule::Length { len: 4 }),
            ("a1b2c", PasswordRule::Length { len: 5 }),
            ("a1b2c3d4e5f6g7h8i", PasswordRule::Length { len: 17 }),
            ("", PasswordRule::Length { len: 0 }),
            ("abc 123", PasswordRule::NotAlphanumeric),
            ("abc-123", PasswordRule::NotAlphanumeric),
            ("abcé123", PasswordRule::NotAlphanumeric),
            ("１２３abc", PasswordRule::NotAlphanumeric),
            ("123456", PasswordRule::NoLetter),
            ("abcdef", PasswordRule::NoDigit),
        ];
        for (bad, rule) in cases {
            assert_eq!(check_password_format(bad), Err(rule), "{bad}");
        }
        // Validated on set: no card with a bad password or PIN.
        assert_eq!(
            blank_card("abcdef", "1234").unwrap_err(),
            CardError::BadPasswordFormat(PasswordRule::NoDigit)
        );
        for pin in ["123", "12345", "12a4", "", "１２３４", " 123"] {
            assert_eq!(check_pin_format(pin), Err(CardError::BadPinFormat), "{pin}");
            assert_eq!(
                blank_card("abc123", pin).unwrap_err(),
                CardError::BadPinFormat
            );
        }
        assert_eq!(check_pin_format("0000"), Ok(()));
    }

    #[test]
    fn r_pin_retry_password_counts_down_to_blocked() {
        let (_ca, mut card) = enrolled();
        // A correct entry resets the counter.
        assert_eq!(
            card.verify_password("wrong1").unwrap_err(),
            CardError::WrongPassword { tries_left: 4 }
        );
        card.verify_password("abc123").unwrap();
        assert_eq!(card.password_tries_left(), PASSWORD_TRIES);
        for left in (0..PASSWORD_TRIES).rev() {
            assert_eq!(
                card.sign_application("Abc123", b"x").unwrap_err(),
                CardError::WrongPassword { tries_left: left }
            );
        }
        // Blocked: even the right password is refused, and no signature is made.
        assert_eq!(
            card.sign_application("abc123", b"x").unwrap_err(),
            CardError::Blocked(CardSecret::SigningPassword)
        );
        assert_eq!(card.password_tries_left(), 0);
        // The PIN is independent.
        card.verify_pin("1234").unwrap();
        // Office reset restores it, with a format-checked new password.
        assert!(card
            .office_reset(CardSecret::SigningPassword, "short")
            .is_err());
        card.office_reset(CardSecret::SigningPassword, "new456")
            .unwrap();
        assert_eq!(card.password_tries_left(), PASSWORD_TRIES);
        card.sign_application("new456", b"x").unwrap();
    }

    #[test]
    fn r_pin_retry_pin_counts_down_to_blocked() {
        let (_ca, mut card) = enrolled();
        assert_eq!(
            card.verify_pin("4321").unwrap_err(),
            CardError::WrongPin { tries_left: 2 }
        );
        card.verify_pin("1234").unwrap();
        assert_eq!(card.pin_tries_left(), PIN_TRIES);
        for left in (0..PIN_TRIES).rev() {
            assert_eq!(
                card.verify_pin("0000").unwrap_err(),
                CardError::WrongPin { tries_left: left }
            );
        }
        assert_eq!(
            card.verify_pin("1234").unwrap_err(),
            CardError::Blocked(CardSecret::AuthPin)
        );
        // The signing password is independent.
        card.sign_application("abc123", b"x").unwrap();
    }

    #[test]
    fn r_issue_card_signature_verifies_with_card_certificate() {
        let (ca, mut card) = enrolled();
        let application = b"apply p0 auth h3".to_vec();
        let session = card.verify_password("abc123").unwrap();
        let sig = session.sign(&application).unwrap();
        let cert_der = session.certificate().unwrap().to_vec();
        // Verify with the key in the certificate, independently of the CA code path.
        let certificate = crate::ca::cert::parse_certificate(&cert_der).unwrap();
        let key = public_key_of(&certificate).unwrap();
        assert_eq!(&key, card.public_key());
        let sig_obj = Signature::try_from(sig.as_slice()).unwrap();
        VerifyingKey::<Sha256>::new(key.clone())
            .verify(&application, &sig_obj)
            .unwrap();
        assert!(VerifyingKey::<Sha256>::new(key)
            .verify(b"apply p0 sign h3", &sig_obj)
            .is_err());
        // And the CA accepts it as p0's.
        let v = ca
            .verify_card_signature(&application, &sig, &cert_der, LogicalTime(20))
            .unwrap();
        assert_eq!(v.person, PersonId(0));
        // RSASSA-PKCS1-v1_5 is deterministic: same input, same signature.
        assert_eq!(card.sign_application("abc123", &application).unwrap(), sig);
    }

    #[test]
    fn card_without_certificate_or_with_foreign_certificate() {
        let mut card = blank_card("abc123", "1234").unwrap();
        assert_eq!(
            card.sign_application("abc123", b"x").unwrap_err(),
            CardError::NoCertificate
        );
        // A certificate for another key is refused and not installed.
        let mut ca = Ca::new(&mut SeededKeyPool::new(0xCA), LogicalTime::BASE).unwrap();
        let mut other = MyNumberCard::new(
            PersonId(1),
            &mut SeededKeyPool::new(SEED + 1),
            "xyz789",
            "9876",
        )
        .unwrap();
        let issued = other.enrol(&mut ca, LogicalTime(1)).unwrap();
        assert!(matches!(
            card.install_certificate(issued.der),
            Err(CardError::CertificateMismatch(_))
        ));
        assert!(card.certificate().is_none());
        assert!(matches!(
            card.install_certificate(vec![0x30, 0x00]),
            Err(CardError::Ca(CaError::MalformedCertificate(_)))
        ));
        // Debug output shows no key material.
        let dbg = format!("{card:?}");
        assert!(
            dbg.contains("MyNumberCard") && !dbg.contains("key"),
            "{dbg}"
        );
    }
}
