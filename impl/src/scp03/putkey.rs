//! PUT KEY (GPCS v2.2 §11.8, SCP03 key format of Amd D §7.2, simplified): the key-rotation
//! path of a security domain. It replaces the domain's whole static key set (Key-ENC,
//! Key-MAC, Key-DEK) in an authenticated session, and the domain's sequence counter starts
//! again (a pseudo-random card challenge is a function of the key and the counter, so a new
//! key makes the old counter values fresh). This is how a TSM keeps a domain usable before
//! its 3-byte counter runs out (24 bits: about 16.7 million INITIALIZE UPDATEs, which anyone
//! can send unauthenticated).
//!
//! Command: `80 D8 kvn 81 Lc data`, P1 the key version being replaced, P2 `81` (key
//! identifier 1, several keys). Data: new kvn, then for Key-ENC, Key-MAC and Key-DEK in that
//! order one block `88 L klen E(key) 03 KCV`: `88` AES, `L` the length of `klen || E(key)`,
//! `klen` the key length (16, 24 or 32), `E(key)` the key encrypted under the current static
//! Key-DEK (AES-CBC, zero ICV, `80 00..` padding), and the key check value (the first 3 bytes
//! of AES(key, 16 × `01`)). Answer: new kvn || the three KCVs.

use super::kdf::{AesKey, BLOCK};
use super::{Scp03Error, StaticKeys};
use crate::apdu::Command;

/// INS of PUT KEY.
pub const INS_PUT_KEY: u8 = 0xD8;
/// P2 of PUT KEY: key identifier 1, several keys.
pub const P2_KEY_SET: u8 = 0x81;
const AES_KEY_TYPE: u8 = 0x88;

fn aes(which: &'static str, k: &[u8]) -> Result<AesKey, Scp03Error> {
    AesKey::from_slice(k).ok_or(Scp03Error::InvalidKeyLength {
        which,
        len: k.len(),
    })
}

/// The key check value of an AES key: the first 3 bytes of AES(key, 16 × `01`).
pub fn kcv(key: &[u8]) -> Result<[u8; 3], Scp03Error> {
    let block = aes("key", key)?.encrypt_block([0x01; BLOCK]);
    Ok([block[0], block[1], block[2]])
}

/// The PUT KEY command replacing `current`'s key set by `new` (key data encrypted under
/// `current`'s Key-DEK), to be wrapped in a session opened with `current`.
pub fn put_key_command(current: &StaticKeys, new: &StaticKeys) -> Result<Command, Scp03Error> {
    let dek = aes("Key-DEK", &current.dek)?;
    let mut data = vec![new.kvn];
    for (which, key) in [
        ("Key-ENC", &new.enc),
        ("Key-MAC", &new.mac),
        ("Key-DEK", &new.dek),
    ] {
        aes(which, key)?;
        let enc = dek.cbc_encrypt_padded(&[0; BLOCK], key);
        data.push(AES_KEY_TYPE);
        data.push((1 + enc.len()) as u8);
        data.push(key.len() as u8);
        data.extend_from_slice(&enc);
        data.push(3);
        data.extend_from_slice(&kcv(key)?);
    }
    Ok(Command::new(0x80, INS_PUT_KEY, current.kvn, P2_KEY_SET, data).with_le(0))
}

/// The answer a card gives to a PUT KEY installing `new`.
pub fn put_key_answer(new: &StaticKeys) -> Result<Vec<u8>, Scp03Error> {
    let mut out = vec![new.kvn];
    for key in [&new.enc, &new.mac, &new.dek] {
        out.extend_from_slice(&kcv(key)?);
    }
    Ok(out)
}

/// Card side: the key set a plain (unwrapped) PUT KEY installs, checked against the current
/// key set: P1 its version, P2 `81`, three well-formed AES blocks whose check values match,
/// a new version other than `00` and `FF`. Anything else is [`Scp03Error::BadKeyData`].
pub fn parse_put_key(current: &StaticKeys, cmd: &Command) -> Result<StaticKeys, Scp03Error> {
    if cmd.p1 != current.kvn || cmd.p2 != P2_KEY_SET {
        return Err(Scp03Error::WrongP1P2 {
            p1: cmd.p1,
            p2: cmd.p2,
        });
    }
    let bad = Scp03Error::BadKeyData;
    let dek = aes("Key-DEK", &current.dek)?;
    let (&kvn, mut rest) = cmd.data.split_first().ok_or(bad("no key version"))?;
    if kvn == 0 || kvn == 0xFF {
        return Err(bad("key version 00 or FF"));
    }
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for _ in 0..3 {
        let [ty, len, klen, tail @ ..] = rest else {
            return Err(bad("truncated key block"));
        };
        if *ty != AES_KEY_TYPE {
            return Err(bad("key type is not AES (88)"));
        }
        let enc_len = usize::from(*len)
            .checked_sub(1)
            .ok_or(bad("key block length"))?;
        if tail.len() < enc_len + 4 {
            return Err(bad("truncated key block"));
        }
        let (enc, tail) = tail.split_at(enc_len);
        let key = dek
            .cbc_decrypt_padded(&[0; BLOCK], enc)
            .ok_or(bad("key data does not decrypt"))?;
        if key.len() != usize::from(*klen) || AesKey::from_slice(&key).is_none() {
            return Err(bad("key length"));
        }
        if tail[0] != 3 || tail[1..4] != kcv(&key)? {
            return Err(bad("key check value does not match"));
        }
        keys.push(key);
        rest = &tail[4..];
    }
    if !rest.is_empty() {
        return Err(bad("data after the third key block"));
    }
    let [enc, mac, dek] = <[Vec<u8>; 3]>::try_from(keys).map_err(|_| bad("three keys"))?;
    StaticKeys::new(kvn, enc, mac, dek)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(kvn: u8, b: u8, len: usize) -> StaticKeys {
        StaticKeys::new(kvn, vec![b; len], vec![b + 1; len], vec![b + 2; len]).unwrap()
    }

    #[test]
    fn round_trips_and_checks_every_field() {
        let cur = keys(0x30, 0x10, 16);
        for len in [16, 24, 32] {
            let new = keys(0x31, 0x40, len);
            let cmd = put_key_command(&cur, &new).unwrap();
            assert_eq!(parse_put_key(&cur, &cmd).unwrap(), new);
            // Every single-bit change of the data is refused (or, for the kvn byte, gives
            // another version): nothing else gets in unnoticed.
            for i in 1..cmd.data.len() {
                let mut bad = cmd.clone();
                bad.data[i] ^= 0x01;
                assert!(parse_put_key(&cur, &bad).is_err(), "len {len} byte {i}");
            }
            // Under another DEK the keys do not decrypt to their check values.
            assert!(parse_put_key(&keys(0x30, 0x70, 16), &cmd).is_err());
        }
        let mut wrong_p1 = put_key_command(&cur, &keys(0x31, 0x40, 16)).unwrap();
        wrong_p1.p1 = 0x31;
        assert!(matches!(
            parse_put_key(&cur, &wrong_p1),
            Err(Scp03Error::WrongP1P2 { .. })
        ));
        assert_eq!(
            put_key_answer(&keys(0x31, 0x40, 16)).unwrap().len(),
            1 + 3 * 3
        );
    }
}
