//! The narrow crypto boundary: where RSA-2048 key pairs come from (R-KEYGEN).
//!
//! Everything that needs a fresh key pair (the SE emulator, the CA, the card emulator) takes a
//! [`KeySource`]. Production code uses [`OsKeySource`], the real generator seeded from the OS.
//! Tests use [`SeededKeyPool`]: the same seed always yields the same keys, and each key is
//! generated once per process and then shared, because RSA-2048 generation is slow.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::RsaPrivateKey;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Modulus size of every key in the system (R-KEYGEN: RSA-2048).
pub const RSA_BITS: usize = 2048;

/// Failure to produce a key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The underlying generator failed (message from the `rsa` crate).
    KeyGeneration(String),
}

impl std::fmt::Display for CryptoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CryptoError::KeyGeneration(m) => write!(f, "RSA key generation failed: {m}"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// A source of RSA-2048 key pairs.
pub trait KeySource: Send {
    /// Produce a fresh key pair. Each call returns a different key.
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError>;
}

/// The real generator, seeded from the operating system.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeySource;

impl KeySource for OsKeySource {
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError> {
        RsaPrivateKey::new(&mut rand_core::OsRng, RSA_BITS)
            .map_err(|e| CryptoError::KeyGeneration(e.to_string()))
    }
}

/// Deterministic keys for tests: key number `i` of seed `s` is generated from a ChaCha20 stream
/// seeded with `(s, i)`, once per process, and cached. Two pools with the same seed hand out the
/// same sequence of keys; pools with different seeds share nothing.
#[derive(Debug, Clone)]
pub struct SeededKeyPool {
    seed: u64,
    next: u64,
}

type KeyCache = Mutex<BTreeMap<(u64, u64), Arc<OnceLock<RsaPrivateKey>>>>;

fn cache() -> &'static KeyCache {
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(BTreeMap::new()))
}

impl SeededKeyPool {
    /// A pool whose keys are derived from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededKeyPool { seed, next: 0 }
    }

    /// Key number `index` of this pool's seed, independent of how many were drawn.
    pub fn key(seed: u64, index: u64) -> Result<RsaPrivateKey, CryptoError> {
        let cell = {
            let mut map = cache().lock().unwrap_or_else(|p| p.into_inner());
            map.entry((seed, index)).or_default().clone()
        };
        if let Some(k) = cell.get() {
            return Ok(k.clone());
        }
        let mut material = [0u8; 32];
        material[..8].copy_from_slice(&seed.to_be_bytes());
        material[8..16].copy_from_slice(&index.to_be_bytes());
        let mut rng = ChaCha20Rng::from_seed(material);
        let key = RsaPrivateKey::new(&mut rng, RSA_BITS)
            .map_err(|e| CryptoError::KeyGeneration(e.to_string()))?;
        Ok(cell.get_or_init(|| key).clone())
    }

    /// How many keys this pool has handed out.
    pub fn drawn(&self) -> u64 {
        self.next
    }
}

impl KeySource for SeededKeyPool {
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError> {
        let k = Self::key(self.seed, self.next)?;
        self.next += 1;
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;

    #[test]
    fn seeded_pool_is_deterministic_and_distinct() {
        let mut a = SeededKeyPool::new(7);
        let mut b = SeededKeyPool::new(7);
        let a0 = a.generate().unwrap();
        let a1 = a.generate().unwrap();
        assert_eq!(a0, b.generate().unwrap());
        assert_ne!(a0.n(), a1.n());
        assert_eq!(a0.n().bits(), RSA_BITS);
        let mut c = SeededKeyPool::new(8);
        assert_ne!(c.generate().unwrap().n(), a0.n());
        assert_eq!(a.drawn(), 2);
    }

    /// The one test on the real generator (R-KEYGEN): a fresh 2048-bit key that validates.
    #[test]
    fn os_key_source_generates_valid_2048_bit_keys() {
        let k = OsKeySource.generate().unwrap();
        assert_eq!(k.n().bits(), RSA_BITS);
        k.validate().unwrap();
    }
}
