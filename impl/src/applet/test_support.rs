//! Test helpers shared by the applet and SE tests: certificates for generated keys, SHA-256
//! DigestInfo, and the scan for private key bytes in responses (INV-KEY-IN-SE).

use super::SHA256_DIGEST_INFO_PREFIX;
use crate::crypto::{CryptoError, KeySource, SeededKeyPool};
use der::{Decode, Encode};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PrivateKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::{Digest, Sha256};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

/// Seed of the test CA key.
pub const CA_SEED: u64 = 0xCA;

/// A leaf certificate for `subject` with `serial`, signed by the test CA key.
pub fn make_cert(subject: &RsaPublicKey, serial: u32) -> Vec<u8> {
    let ca = SeededKeyPool::key(CA_SEED, 0).unwrap();
    let signer = SigningKey::<Sha256>::new(ca);
    let spki_der = subject.to_public_key_der().unwrap();
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).unwrap();
    let builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: Name::from_str("CN=Test JPKI CA").unwrap(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(serial),
        Validity::from_now(Duration::from_secs(3600 * 24 * 365)).unwrap(),
        Name::from_str("CN=phone holder").unwrap(),
        spki,
        &signer,
    )
    .unwrap();
    builder
        .build::<rsa::pkcs1v15::Signature>()
        .unwrap()
        .to_der()
        .unwrap()
}

/// The DER DigestInfo of SHA-256(`msg`).
pub fn digest_info(msg: &[u8]) -> Vec<u8> {
    let mut v = SHA256_DIGEST_INFO_PREFIX.to_vec();
    v.extend_from_slice(&Sha256::digest(msg));
    v
}

/// The secret byte strings of a key: private exponent and primes, big-endian.
pub fn secrets(key: &RsaPrivateKey) -> Vec<Vec<u8>> {
    let mut v = vec![key.d().to_bytes_be()];
    v.extend(key.primes().iter().map(|p| p.to_bytes_be()));
    v
}

/// Panics if `bytes` contains any 16-byte window of any secret.
pub fn assert_no_secret(bytes: &[u8], secrets: &[Vec<u8>]) {
    for s in secrets {
        for w in s.windows(16).step_by(8) {
            assert!(
                !bytes.windows(16).any(|b| b == w),
                "response contains private key bytes"
            );
        }
    }
}

/// A key source that records every key it hands out (for the secret scan) and draws from a
/// [`SeededKeyPool`].
pub struct RecordingKeys {
    pool: SeededKeyPool,
    /// Secrets of every key handed out.
    pub secrets: Vec<Vec<u8>>,
    /// Keys handed out, in order.
    pub keys: Vec<RsaPrivateKey>,
}

impl RecordingKeys {
    /// Draw from the pool of `seed`.
    pub fn new(seed: u64) -> Self {
        RecordingKeys {
            pool: SeededKeyPool::new(seed),
            secrets: Vec::new(),
            keys: Vec::new(),
        }
    }
}

impl KeySource for RecordingKeys {
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError> {
        let k = self.pool.generate()?;
        self.secrets.extend(secrets(&k));
        self.keys.push(k.clone());
        Ok(k)
    }
}

/// A key source that always returns key 0 of a seed (cheap for property tests).
pub struct SameKey(pub u64);

impl KeySource for SameKey {
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError> {
        SeededKeyPool::key(self.0, 0)
    }
}
