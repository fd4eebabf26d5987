//! SCP03 cryptographic primitives (GP Card Specification v2.2 Amendment D §4.1, §6.2): the
//! counter-mode KDF with AES-CMAC as PRF in SCP03's own derivation-data layout, session-key
//! and cryptogram derivation, the pseudo-random card challenge, and the AES-CBC helpers used
//! by secure messaging. Part of R-SCP03.

use aes::cipher::block_padding::{Iso7816, NoPadding};
use aes::cipher::generic_array::GenericArray;
use aes::cipher::{BlockDecryptMut, BlockEncrypt, BlockEncryptMut, KeyInit, KeyIvInit};
use aes::{Aes128, Aes192, Aes256};
use cmac::{Cmac, Mac};

/// Derivation constant for the card cryptogram (Amd D Table 4-1).
pub const DDC_CARD_CRYPTOGRAM: u8 = 0x00;
/// Derivation constant for the host cryptogram.
pub const DDC_HOST_CRYPTOGRAM: u8 = 0x01;
/// Derivation constant for the pseudo-random card challenge.
pub const DDC_CARD_CHALLENGE: u8 = 0x02;
/// Derivation constant for the session encryption key S-ENC.
pub const DDC_S_ENC: u8 = 0x04;
/// Derivation constant for the session C-MAC key S-MAC.
pub const DDC_S_MAC: u8 = 0x06;
/// Derivation constant for the session R-MAC key S-RMAC.
pub const DDC_S_RMAC: u8 = 0x07;

/// AES block size in bytes.
pub(crate) const BLOCK: usize = 16;

/// An AES key of one of the three lengths SCP03 allows. Constructed only from a checked slice,
/// so every operation on it is infallible.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum AesKey {
    A128([u8; 16]),
    A192([u8; 24]),
    A256([u8; 32]),
}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AesKey({} bits, redacted)", self.len() * 8)
    }
}

impl AesKey {
    /// The key held in `bytes`, or `None` when it is not 16, 24 or 32 bytes long.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<AesKey> {
        match bytes.len() {
            16 => <[u8; 16]>::try_from(bytes).ok().map(AesKey::A128),
            24 => <[u8; 24]>::try_from(bytes).ok().map(AesKey::A192),
            32 => <[u8; 32]>::try_from(bytes).ok().map(AesKey::A256),
            _ => None,
        }
    }

    /// Key length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            AesKey::A128(_) => 16,
            AesKey::A192(_) => 24,
            AesKey::A256(_) => 32,
        }
    }

    /// Full 16-byte AES-CMAC (NIST SP 800-38B) over the concatenation of `parts`.
    pub(crate) fn cmac(&self, parts: &[&[u8]]) -> [u8; BLOCK] {
        fn run<M: Mac>(mut mac: M, parts: &[&[u8]]) -> [u8; BLOCK] {
            for p in parts {
                mac.update(p);
            }
            let tag = mac.finalize().into_bytes();
            let mut out = [0u8; BLOCK];
            out.copy_from_slice(&tag[..BLOCK.min(tag.len())]);
            out
        }
        match self {
            AesKey::A128(k) => run(
                <Cmac<Aes128> as KeyInit>::new(GenericArray::from_slice(k)),
                parts,
            ),
            AesKey::A192(k) => run(
                <Cmac<Aes192> as KeyInit>::new(GenericArray::from_slice(k)),
                parts,
            ),
            AesKey::A256(k) => run(
                <Cmac<Aes256> as KeyInit>::new(GenericArray::from_slice(k)),
                parts,
            ),
        }
    }

    /// AES encryption of one block (used for the encryption-counter ICVs).
    pub(crate) fn encrypt_block(&self, block: [u8; BLOCK]) -> [u8; BLOCK] {
        let mut b = GenericArray::from(block);
        match self {
            AesKey::A128(k) => Aes128::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
            AesKey::A192(k) => Aes192::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
            AesKey::A256(k) => Aes256::new(GenericArray::from_slice(k)).encrypt_block(&mut b),
        }
        b.into()
    }

    /// AES-CBC encryption with ISO/IEC 9797-1 padding method 2 (`80 00..`, always at least one
    /// byte, GPCS §B.2.3). The output is a non-empty multiple of 16 bytes.
    pub(crate) fn cbc_encrypt_padded(&self, iv: &[u8; BLOCK], data: &[u8]) -> Vec<u8> {
        let iv = GenericArray::from_slice(iv);
        match self {
            AesKey::A128(k) => cbc::Encryptor::<Aes128>::new(GenericArray::from_slice(k), iv)
                .encrypt_padded_vec_mut::<Iso7816>(data),
            AesKey::A192(k) => cbc::Encryptor::<Aes192>::new(GenericArray::from_slice(k), iv)
                .encrypt_padded_vec_mut::<Iso7816>(data),
            AesKey::A256(k) => cbc::Encryptor::<Aes256>::new(GenericArray::from_slice(k), iv)
                .encrypt_padded_vec_mut::<Iso7816>(data),
        }
    }

    /// AES-CBC decryption and removal of the `80 00..` padding; `None` when the length is not
    /// a non-zero multiple of 16 or the padding is not well formed.
    pub(crate) fn cbc_decrypt_padded(&self, iv: &[u8; BLOCK], data: &[u8]) -> Option<Vec<u8>> {
        if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
            return None;
        }
        let iv = GenericArray::from_slice(iv);
        let plain = match self {
            AesKey::A128(k) => cbc::Decryptor::<Aes128>::new(GenericArray::from_slice(k), iv)
                .decrypt_padded_vec_mut::<NoPadding>(data),
            AesKey::A192(k) => cbc::Decryptor::<Aes192>::new(GenericArray::from_slice(k), iv)
                .decrypt_padded_vec_mut::<NoPadding>(data),
            AesKey::A256(k) => cbc::Decryptor::<Aes256>::new(GenericArray::from_slice(k), iv)
                .decrypt_padded_vec_mut::<NoPadding>(data),
        }
        .ok()?;
        unpad_m2(&plain)
    }
}

/// Strip ISO/IEC 9797-1 method 2 padding: any run of trailing zeros, then `80`. We pad
/// minimally (fewer than one block of zeros), but a peer may pad more and still be well
/// formed: Samsung's OpenSCP card emulation adds a whole extra block of `80 00..`. Callers
/// decrypt only after the MAC over the ciphertext verified, so accepting any well-formed
/// padding gives nothing away (no padding oracle on unauthenticated data).
fn unpad_m2(plain: &[u8]) -> Option<Vec<u8>> {
    let end = plain.iter().rposition(|&b| b != 0x00)?;
    match plain.get(end)? {
        0x80 => plain.get(..end).map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The SCP03 KDF (Amd D §4.1.5): NIST SP 800-108 counter mode with AES-CMAC as PRF, but with
/// SCP03's own derivation data: 11 zero bytes (label) || derivation constant || `00`
/// separator || L (2 bytes, output length in bits) || counter i (1 byte, from 1) || context.
/// `out_bits` must be a multiple of 8; SCP03 only uses 64, 128, 192 and 256.
pub(crate) fn kdf(key: &AesKey, constant: u8, context: &[u8], out_bits: u16) -> Vec<u8> {
    let out_len = usize::from(out_bits / 8);
    let mut out = Vec::with_capacity(out_len + BLOCK);
    let mut i: u8 = 1;
    while out.len() < out_len {
        let mut head = [0u8; 16];
        head[11] = constant;
        head[12] = 0x00;
        head[13..15].copy_from_slice(&out_bits.to_be_bytes());
        head[15] = i;
        out.extend_from_slice(&key.cmac(&[&head, context]));
        i = i.wrapping_add(1);
    }
    out.truncate(out_len);
    out
}

/// An 8-byte KDF output (L = 0x0040): cryptograms and the pseudo-random card challenge.
fn kdf8(key: &AesKey, constant: u8, context: &[u8]) -> [u8; 8] {
    let v = kdf(key, constant, context, 64);
    let mut out = [0u8; 8];
    out.copy_from_slice(&v[..8]);
    out
}

/// Derive a session key of the same length as `static_key` (L = key length in bits).
fn session_key(static_key: &AesKey, constant: u8, context: &[u8]) -> AesKey {
    let bits = (static_key.len() * 8) as u16;
    let bytes = kdf(static_key, constant, context, bits);
    // kdf returns exactly static_key.len() bytes, a valid AES length.
    AesKey::from_slice(&bytes).unwrap_or_else(|| static_key.clone())
}

/// The three session keys of one SCP03 session (Amd D §6.2.1).
#[derive(Clone, Debug)]
pub(crate) struct SessionKeys {
    pub(crate) s_enc: AesKey,
    pub(crate) s_mac: AesKey,
    pub(crate) s_rmac: AesKey,
    /// host challenge || card challenge, the context of the cryptograms.
    context: [u8; 16],
}

impl SessionKeys {
    /// Derive S-ENC from Key-ENC and S-MAC, S-RMAC from Key-MAC, with context host challenge
    /// || card challenge.
    pub(crate) fn derive(
        k_enc: &AesKey,
        k_mac: &AesKey,
        host_challenge: &[u8; 8],
        card_challenge: &[u8; 8],
    ) -> SessionKeys {
        let mut context = [0u8; 16];
        context[..8].copy_from_slice(host_challenge);
        context[8..].copy_from_slice(card_challenge);
        SessionKeys {
            s_enc: session_key(k_enc, DDC_S_ENC, &context),
            s_mac: session_key(k_mac, DDC_S_MAC, &context),
            s_rmac: session_key(k_mac, DDC_S_RMAC, &context),
            context,
        }
    }

    /// Card cryptogram: KDF(S-MAC, 0x00, L = 64, host challenge || card challenge).
    pub(crate) fn card_cryptogram(&self) -> [u8; 8] {
        kdf8(&self.s_mac, DDC_CARD_CRYPTOGRAM, &self.context)
    }

    /// Host cryptogram: KDF(S-MAC, 0x01, L = 64, host challenge || card challenge).
    pub(crate) fn host_cryptogram(&self) -> [u8; 8] {
        kdf8(&self.s_mac, DDC_HOST_CRYPTOGRAM, &self.context)
    }

    /// ICV for command encryption: AES(S-ENC, counter as a 16-byte big-endian block).
    pub(crate) fn command_icv(&self, counter: u64) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        block[8..].copy_from_slice(&counter.to_be_bytes());
        self.s_enc.encrypt_block(block)
    }

    /// ICV for response encryption: as the command ICV but with the first byte set to `80`.
    pub(crate) fn response_icv(&self, counter: u64) -> [u8; BLOCK] {
        let mut block = [0u8; BLOCK];
        block[8..].copy_from_slice(&counter.to_be_bytes());
        block[0] = 0x80;
        self.s_enc.encrypt_block(block)
    }
}

/// Pseudo-random card challenge (Amd D §6.2.2.1): KDF(Key-ENC, 0x02, L = 64, sequence counter
/// (3 bytes) || AID of the security domain).
pub(crate) fn pseudo_random_challenge(
    k_enc: &AesKey,
    sequence_counter: u32,
    aid: &[u8],
) -> [u8; 8] {
    let mut context = Vec::with_capacity(3 + aid.len());
    context.extend_from_slice(&sequence_counter.to_be_bytes()[1..]);
    context.extend_from_slice(aid);
    kdf8(k_enc, DDC_CARD_CHALLENGE, &context)
}

/// Constant-time equality of two byte strings of equal length (false when lengths differ).
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(hex_str: &str) -> AesKey {
        AesKey::from_slice(&hex::decode(hex_str).unwrap()).unwrap()
    }

    #[test]
    fn key_lengths_are_checked() {
        assert!(AesKey::from_slice(&[0; 15]).is_none());
        assert!(AesKey::from_slice(&[0; 17]).is_none());
        assert_eq!(AesKey::from_slice(&[0; 24]).unwrap().len(), 24);
        assert!(AesKey::from_slice(&[]).is_none());
    }

    /// NIST SP 800-38B / RFC 4493 example 2: AES-128 CMAC of one block. Guards the PRF.
    #[test]
    fn cmac_matches_rfc4493() {
        let k = key("2b7e151628aed2a6abf7158809cf4f3c");
        let m = hex::decode("6bc1bee22e409f96e93d7e117393172a").unwrap();
        assert_eq!(
            hex::encode(k.cmac(&[&m])),
            "070a16b46b4d4144f79bdd9dd04a287c"
        );
        // Split input gives the same tag as contiguous input.
        assert_eq!(k.cmac(&[&m[..5], &m[5..]]), k.cmac(&[&m]));
    }

    /// The derivation-data layout, checked against the CMAC of a hand-built block.
    #[test]
    fn kdf_uses_scp03_layout() {
        let k = key("000102030405060708090a0b0c0d0e0f");
        let ctx = [0xAAu8; 16];
        let mut dd = vec![0u8; 11];
        dd.extend_from_slice(&[0x06, 0x00, 0x00, 0x80, 0x01]);
        dd.extend_from_slice(&ctx);
        assert_eq!(kdf(&k, 0x06, &ctx, 128), k.cmac(&[&dd]).to_vec());
        // 256-bit output: two PRF blocks with counters 1 and 2, L = 0x0100 in both.
        let out = kdf(&k, 0x04, &ctx, 256);
        let block = |i: u8| {
            let mut d = vec![0u8; 11];
            d.extend_from_slice(&[0x04, 0x00, 0x01, 0x00, i]);
            d.extend_from_slice(&ctx);
            k.cmac(&[&d])
        };
        assert_eq!(&out[..16], &block(1));
        assert_eq!(&out[16..], &block(2));
        // 192 bits: first 24 bytes of the two blocks, with L = 0x00C0.
        let out192 = kdf(&k, 0x04, &ctx, 192);
        assert_eq!(out192.len(), 24);
        assert_ne!(
            &out192[..16],
            &out[..16],
            "L is part of the derivation data"
        );
    }

    #[test]
    fn session_keys_follow_static_key_length() {
        for len in [16usize, 24, 32] {
            let k = AesKey::from_slice(&vec![7u8; len]).unwrap();
            let sk = SessionKeys::derive(&k, &k, &[1; 8], &[2; 8]);
            assert_eq!(
                (sk.s_enc.len(), sk.s_mac.len(), sk.s_rmac.len()),
                (len, len, len)
            );
            assert_ne!(sk.s_mac, sk.s_rmac);
            assert_ne!(sk.card_cryptogram(), sk.host_cryptogram());
        }
    }

    #[test]
    fn padding_round_trips_and_rejects_garbage() {
        let k = key("000102030405060708090a0b0c0d0e0f");
        let iv = [3u8; 16];
        for n in [0usize, 1, 15, 16, 17, 40] {
            let data: Vec<u8> = (0..n as u8).collect();
            let c = k.cbc_encrypt_padded(&iv, &data);
            assert_eq!(c.len(), (n / 16 + 1) * 16);
            assert_eq!(k.cbc_decrypt_padded(&iv, &c).unwrap(), data);
        }
        assert!(k.cbc_decrypt_padded(&iv, &[]).is_none());
        assert!(k.cbc_decrypt_padded(&iv, &[0; 15]).is_none());
        assert_eq!(unpad_m2(&[0u8; 16]), None);
        assert_eq!(
            unpad_m2(&[[1u8; 15].as_slice(), &[0x80]].concat()),
            Some(vec![1; 15])
        );
        assert_eq!(unpad_m2(&[[1u8; 15].as_slice(), &[0x81]].concat()), None);
        // More than the minimum is still well formed: a whole extra block of 80 00.. (as
        // OpenSCP pads), or 80 then two blocks of zeros.
        let over = [[7u8; 5].as_slice(), &[0x80], &[0u8; 26]].concat();
        assert_eq!(unpad_m2(&over), Some(vec![7; 5]));
        assert_eq!(
            unpad_m2(&[[7u8; 16].as_slice(), &[0x80], &[0u8; 31]].concat()),
            Some(vec![7; 16])
        );
        assert_eq!(unpad_m2(&[0x80; 1]), Some(vec![]));
        assert_eq!(unpad_m2(&[0u8; 48]), None);
        assert_eq!(
            unpad_m2(&[[0x80].as_slice(), &[0x01], &[0u8; 30]].concat()),
            None
        );
        // And through the cipher: CBC of an over-padded block sequence decrypts to the data.
        let ct = k.cbc_encrypt_padded(&iv, &over);
        assert_eq!(k.cbc_decrypt_padded(&iv, &ct[..32]).unwrap(), vec![7; 5]);
    }
}
