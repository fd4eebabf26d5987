//! How the SP-TSM authenticates a revocation from the phone (R-REVOKE (a), ALT-REVOKE-AUTH):
//! from what the request carries, never from who the facade says holds the phone.
//!
//! - [`RevocationProof::Nothing`]: the genuine app asked (R-ACL); nothing else is checked.
//! - [`RevocationProof::Key`] with `phone_signing_key: false` (ALT-REVOKE-AUTH=PIN): the
//!   applet verified the credential's PIN and signed the SP-TSM's revocation challenge with
//!   that credential's key; the signature must verify under the certificate being revoked.
//! - [`RevocationProof::Key`] with `phone_signing_key: true` (the phone's signature): signed
//!   after the signing password with the phone's sign key; that certificate must be
//!   registered, live, the same person's and bound to the same phone.
//! - [`RevocationProof::Card`]: the holder's card signed a revocation application for this
//!   phone and kind; the card certificate must be valid and name the credential's owner.

use super::sp::{Purpose, SignedApplication, SpError, SpTsm};
use crate::ca::registry::{CertRecord, CertSubject};
use crate::ca::{cert, Ca, CertKind, LogicalTime, PhoneId, Serial};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

/// Prefix of every revocation challenge: a login challenge signed for a relying party can
/// never pass for a revocation request.
const CHALLENGE_PREFIX: &[u8] = b"JPKI-REVOKE-FROM-PHONE";

/// The challenge the SP-TSM hands the app for revoking `serial` (`nonce` fresh per request).
pub fn revocation_challenge(serial: Serial, nonce: u64) -> Vec<u8> {
    let mut c = CHALLENGE_PREFIX.to_vec();
    c.extend(serial.0.to_be_bytes());
    c.extend(nonce.to_be_bytes());
    c
}

/// What a revocation request from the phone carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationProof {
    /// Nothing beyond the genuine app's request.
    Nothing,
    /// A signature by a phone key over [`revocation_challenge`], with that key's certificate.
    Key {
        /// The certificate of the key that signed (read out of the applet).
        cert_der: Vec<u8>,
        /// The signed challenge.
        challenge: Vec<u8>,
        /// RSASSA-PKCS1-v1_5 / SHA-256 signature.
        signature: Vec<u8>,
        /// `true`: the phone's sign key (for either kind); `false`: the revoked credential's
        /// own key.
        phone_signing_key: bool,
    },
    /// The holder's card signature over a revocation application.
    Card(SignedApplication),
}

impl RevocationProof {
    /// Check the proof for revoking `target` from `phone` (ALT-REVOKE-AUTH).
    pub fn check(
        &self,
        ca: &Ca,
        phone: PhoneId,
        target: &CertRecord,
        now: LogicalTime,
    ) -> Result<(), SpError> {
        let kind = target.phone_kind().ok_or(SpError::NotCredentialOwner)?;
        match self {
            RevocationProof::Nothing => Ok(()),
            RevocationProof::Key {
                cert_der,
                challenge,
                signature,
                phone_signing_key,
            } => {
                if !challenge.starts_with(CHALLENGE_PREFIX)
                    || challenge.get(CHALLENGE_PREFIX.len()..CHALLENGE_PREFIX.len() + 8)
                        != Some(&target.serial.0.to_be_bytes()[..])
                {
                    return Err(SpError::NotCredentialOwner);
                }
                let c = cert::parse_certificate(cert_der).map_err(SpError::CardNotValid)?;
                let signer = ca
                    .registry()
                    .get(cert::serial_of(&c).map_err(SpError::CardNotValid)?)
                    .filter(|r| r.der == *cert_der)
                    .ok_or(SpError::NotCredentialOwner)?;
                let same_key = signer.serial == target.serial;
                let phone_key = matches!(signer.subject,
                    CertSubject::Phone { kind: CertKind::Sign, phone: p, .. } if p == phone)
                    && signer.person == target.person
                    && signer.status.is_live();
                if !(if *phone_signing_key {
                    phone_key
                } else {
                    same_key
                }) {
                    return Err(SpError::NotCredentialOwner);
                }
                let key = cert::public_key_of(&c).map_err(SpError::CardNotValid)?;
                let sig =
                    Signature::try_from(&signature[..]).map_err(|_| SpError::NotCredentialOwner)?;
                VerifyingKey::<Sha256>::new(key)
                    .verify(challenge, &sig)
                    .map_err(|_| SpError::NotCredentialOwner)
            }
            RevocationProof::Card(signed) => {
                let a = signed.application;
                SpTsm::check_card(
                    ca,
                    signed,
                    (Purpose::Revoke, a.person, Some(phone), kind),
                    now,
                )?;
                if a.person != target.person {
                    return Err(SpError::NotCredentialOwner);
                }
                Ok(())
            }
        }
    }
}
