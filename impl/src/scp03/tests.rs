//! Session-level tests of SCP03 (R-SCP03): vectors on both ends, host <-> card round trips at
//! every level and key length, and every refusal ending the session.

use std::path::PathBuf;

use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::host::InitUpdateResponse;
use super::vectors::{run_vector_file, run_vector_json, Side, VectorErrorKind};
use super::*;
use crate::apdu::{Command, Response, StatusWord};

fn vector_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/vectors/scp03"
    ))
}

fn read_vector(name: &str) -> String {
    std::fs::read_to_string(vector_dir().join(name)).unwrap()
}

/// ISD-R AID of an eUICC (SGP.22): the AID behind the pseudo-random challenges of the pySim
/// vectors (found by reproducing their card challenges).
const ISD_R_AID: &str = "A0000005591010FFFFFFFF8900000100";

/// pySim's AES-128 test keyset (osmocom/pysim tests/unittests/test_globalplatform.py).
fn pysim_keys_128() -> StaticKeys {
    StaticKeys::new(
        0x30,
        hex::decode("000102030405060708090a0b0c0d0e0f").unwrap(),
        hex::decode("101112131415161718191a1b1c1d1e1f").unwrap(),
        hex::decode("202122232425262728292a2b2c2d2e2f").unwrap(),
    )
    .unwrap()
}

/// A keyset of `len`-byte keys derived from `seed`.
fn keys(len: usize, seed: u8) -> StaticKeys {
    let k = |c: u8| (0..len as u8).map(|i| i ^ c ^ seed).collect::<Vec<u8>>();
    StaticKeys::new(0x30, k(0x11), k(0x22), k(0x33)).unwrap()
}

fn card_for(keys: &StaticKeys) -> CardSession {
    CardSession::new(keys.clone(), [0x42; 10], hex::decode(ISD_R_AID).unwrap(), 7)
}

/// Run INITIALIZE UPDATE and EXTERNAL AUTHENTICATE between a fresh host and `card`.
fn authenticate(keys: &StaticKeys, card: &mut CardSession, level: SecurityLevel) -> HostSession {
    let hc = [0x5A; 8];
    let iu = HostSession::initialize_update_command(keys.kvn, hc);
    let resp = card.initialize_update(&iu).unwrap();
    let mut host = HostSession::open(keys.clone(), hc, &resp).unwrap();
    let ea = host.external_authenticate_command(level).unwrap();
    card.external_authenticate(&ea).unwrap();
    assert!(card.is_authenticated() && host.is_authenticated());
    assert_eq!((card.level(), host.level()), (Some(level), Some(level)));
    host
}

fn pair(level: SecurityLevel) -> (StaticKeys, HostSession, CardSession) {
    let k = keys(16, 0);
    let mut card = card_for(&k);
    let host = authenticate(&k, &mut card, level);
    (k, host, card)
}

fn put_data(n: u8) -> Command {
    Command::new(0x80, 0xE2, 0x90, 0x00, vec![n; 5 + usize::from(n)])
}

/// After a refusal the card is closed: the host's next, correctly wrapped command is refused
/// with SessionClosed, and so is EXTERNAL AUTHENTICATE; INITIALIZE UPDATE starts afresh.
fn assert_closed(k: &StaticKeys, host: &mut HostSession, card: &mut CardSession) {
    assert!(card.is_closed() && !card.is_authenticated() && card.level().is_none());
    let next = host.wrap_command(&put_data(9)).unwrap();
    assert_eq!(card.unwrap_command(&next), Err(Scp03Error::SessionClosed));
    assert_eq!(
        Scp03Error::SessionClosed.status(),
        StatusWord::SECURITY_NOT_SATISFIED
    );
    assert!(card.wrap_response(&Response::ok(vec![1])).is_err());
    // Recovery needs a whole new session.
    let mut fresh = authenticate(k, card, SecurityLevel::C_MAC);
    let cmd = put_data(1);
    let wrapped = fresh.wrap_command(&cmd).unwrap();
    assert_eq!(card.unwrap_command(&wrapped).unwrap(), cmd);
}

// ---------------------------------------------------------------------------------------
// Vectors

#[test]
fn r_scp03_shared_vectors_pass_both_sides() {
    for name in [
        "pysim-aes128-level03.json",
        "pysim-aes128-level11.json",
        "pysim-aes128-level33.json",
    ] {
        let report = run_vector_file(&vector_dir().join(name)).unwrap();
        assert!(report.passed(), "{report}");
        assert_eq!(report.steps_passed, report.steps);
        assert_eq!(report.steps, 8);
        assert_eq!(report.name, name.trim_end_matches(".json"));
    }
}

/// Two more sessions from the same pySim test file (AES-192 level 33, AES-256 level 11),
/// converted to the vector format, to cover the longer keys.
#[test]
fn r_scp03_pysim_aes192_and_aes256_vectors_pass() {
    let k192 = (
        "000102030405060708090a0b0c0d0e0f0001020304050607",
        "101112131415161718191a1b1c1d1e1f1011121314151617",
        "202122232425262728292a2b2c2d2e2f2021222324252627",
    );
    let k256 = (
        "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f",
        "101112131415161718191a1b1c1d1e1f101112131415161718191a1b1c1d1e1f",
        "202122232425262728292a2b2c2d2e2f202122232425262728292a2b2c2d2e2f",
    );
    let sessions = [
        (
            "aes192-33",
            "31",
            k192,
            [
                "80503100089b3f2eef0e8c937400",
                "00000000000000000000310370f6bb305a15bae1a68f79fb08212fbed7000002",
                "84823300109100bc22d58b45b86a26365ce39ff3cf",
                "84e29100188f7f946c84f70d17994bc6e8791251bb1bb1bf02cf8de58900",
                "c05176c1b6f72aae50c32cbee63b0e95998928fd4dfb2be9f27ffde8c8476f5909b4805cc4039599",
                "84f2200208d5d97754b6b3d2ba",
                "84ca006608516c82b8e30adbeb00",
                "84f2200218cc247f4761e6944277a4e0d6e32e44025b1e31537e2fc668",
                "84f2800218ba22b63d509bef5d093b43e5eaed03ed23144ab2d9cb51de00",
            ],
        ),
        (
            "aes256-11",
            "32",
            k256,
            [
                "805032000811666d57866c6f5400",
                "0000000000000000000032037053ea8847efa7674e41498a4d66cf0dee000003",
                "84821100102f2ad190eff2fafc4908996d1cebd310",
                "84e291000ebf3e035c015af4b680372542b59d00",
                "bf3e125a10898821199000000000000000000000058012dd7f01f1c4c1",
                "84f2200208d618b7da68d5fe52",
                "84ca0066088f3e055db23ad5e500",
                "84f22002124f0212345c054f9f70c5b6e15cc42404915e",
                "84f280020a4f00aa124aa74afe7f7500",
            ],
        ),
    ];
    for (name, kvn, (enc, mac, dek), v) in sessions {
        let json = serde_json::json!({
            "name": name, "source": "osmocom/pysim tests/unittests/test_globalplatform.py",
            "keys": {"kvn": kvn, "enc": enc, "mac": mac, "dek": dek},
            "steps": [
                {"op": "initialize_update", "command": v[0], "response": v[1], "sw": "9000"},
                {"op": "external_authenticate", "command": v[2], "sw": "9000"},
                {"op": "wrap_command", "plain": "80E2910006BF3E035C015A00", "wrapped": v[3]},
                {"op": "unwrap_response", "wrapped": v[4], "sw": "9000",
                 "plain": "bf3e125a1089882119900000000000000000000005"},
                {"op": "wrap_command", "plain": "80F22002", "wrapped": v[5]},
                {"op": "wrap_command", "plain": "80ca006600", "wrapped": v[6]},
                {"op": "wrap_command", "plain": "80F220020a4f0212345c054f9f70c5", "wrapped": v[7]},
                {"op": "wrap_command", "plain": "80f28002024f0000", "wrapped": v[8]},
            ]
        });
        let report = run_vector_json(&json.to_string()).unwrap();
        assert!(report.passed(), "{report}");
    }
}

/// The card's pseudo-random challenge reproduces pySim's recorded sessions: counter 1 then 2
/// with the ISD-R AID, and the counter advances per INITIALIZE UPDATE.
#[test]
fn r_scp03_pseudo_random_challenge_reproduces_pysim_sessions() {
    let mut card = CardSession::new(
        pysim_keys_128(),
        [0; 10],
        hex::decode(ISD_R_AID).unwrap(),
        1,
    );
    let v03: serde_json::Value =
        serde_json::from_str(&read_vector("pysim-aes128-level03.json")).unwrap();
    let v11: serde_json::Value =
        serde_json::from_str(&read_vector("pysim-aes128-level11.json")).unwrap();
    for (v, next) in [(v03, 2), (v11, 3)] {
        let step = &v["steps"][0];
        let cmd = Command::parse(&hex::decode(step["command"].as_str().unwrap()).unwrap()).unwrap();
        let resp = card.initialize_update(&cmd).unwrap();
        assert_eq!(hex::encode(resp), step["response"].as_str().unwrap());
        assert_eq!(card.sequence_counter(), next);
    }
}

// ---------------------------------------------------------------------------------------
// Round trips

fn level_strategy() -> impl Strategy<Value = SecurityLevel> {
    prop::sample::select(SecurityLevel::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Host and card agree at every level and key length over several chained commands:
    /// the card recovers every command, the host every response.
    #[test]
    fn r_scp03_round_trip_every_level_and_key_length(
        key_len in prop::sample::select(vec![16usize, 24, 32]),
        seed in any::<u8>(),
        level in level_strategy(),
        exchanges in prop::collection::vec(
            (prop::collection::vec(any::<u8>(), 0..=255),
             prop::option::of(any::<u8>()),
             prop::collection::vec(any::<u8>(), 0..=255),
             prop::sample::select(vec![0x9000u16, 0x6310, 0x6A82, 0x6982])),
            1..5),
    ) {
        let k = keys(key_len, seed);
        let mut card = card_for(&k);
        let mut host = authenticate(&k, &mut card, level);
        for (data, le, rdata, sw) in exchanges {
            let mut cmd = Command::new(0x80, 0xE2, 0x91, 0x00, data);
            cmd.le = le.map(u32::from);
            let wrapped = host.wrap_command(&cmd).unwrap();
            let got = card.unwrap_command(&wrapped).unwrap();
            prop_assert_eq!(&got.data, &cmd.data);
            prop_assert_eq!((got.cla, got.ins, got.p1, got.p2), (0x80, 0xE2, 0x91, 0x00));
            prop_assert_eq!(got.le, cmd.le);
            if level.c_dec() && !cmd.data.is_empty() {
                prop_assert!(!wrapped.windows(cmd.data.len()).any(|w| w == cmd.data.as_slice())
                    || cmd.data.len() < 4, "plain data visible at a C-DECRYPTION level");
            }
            let resp = Response { data: rdata, sw: StatusWord(sw) };
            let raw = card.wrap_response(&resp).unwrap();
            let back = host.unwrap_response(&raw).unwrap();
            prop_assert_eq!(back.sw, resp.sw);
            let protected = sw == 0x9000 || sw == 0x6310;
            if level.r_mac() && !protected {
                prop_assert!(back.data.is_empty());
            } else {
                prop_assert_eq!(&back.data, &resp.data);
            }
            if level.r_mac() && protected {
                prop_assert_eq!(raw.len() >= resp.data.len() + 10, true);
            }
        }
    }

    /// Arbitrary bytes never panic the card, in any session state.
    #[test]
    fn r_scp03_arbitrary_bytes_never_panic(
        raw in prop::collection::vec(any::<u8>(), 0..300),
        level in level_strategy(),
        state in 0u8..3,
    ) {
        let k = keys(16, 1);
        let mut card = card_for(&k);
        let mut host = match state {
            0 => None,
            1 => {
                let iu = HostSession::initialize_update_command(0x30, [1; 8]);
                card.initialize_update(&iu).unwrap();
                None
            }
            _ => Some(authenticate(&k, &mut card, level)),
        };
        let r = card.unwrap_command(&raw);
        if r.is_err() {
            prop_assert!(!card.is_authenticated());
        }
        let _ = card.external_authenticate(&raw);
        let _ = card.wrap_response(&Response::ok(raw.clone()));
        if let Ok(cmd) = Command::parse(&raw) {
            let _ = card.initialize_update(&cmd);
        }
        if let Some(h) = host.as_mut() {
            let _ = h.unwrap_response(&raw);
        }
        let _ = InitUpdateResponse::parse(&raw);
        let _ = HostSession::open(k.clone(), [0; 8], &raw);
    }

    /// A wrapped command with one byte changed or cut short is refused (and the session
    /// closed), except a change or removal of Le, which the C-MAC does not cover.
    #[test]
    fn r_scp03_mutated_commands_are_refused(
        level in level_strategy(),
        data in prop::collection::vec(any::<u8>(), 0..40),
        pos in any::<prop::sample::Index>(),
        xor in 1u8..,
        cut in any::<bool>(),
    ) {
        let (_, mut host, mut card) = pair(level);
        let cmd = Command::new(0x80, 0xE8, 0x00, 0x01, data).with_le(0);
        let mut wrapped = host.wrap_command(&cmd).unwrap();
        let le_at = wrapped.len() - 1;
        let i = pos.index(wrapped.len());
        if cut {
            wrapped.truncate(i);
        } else {
            wrapped[i] ^= xor;
        }
        match card.unwrap_command(&wrapped) {
            Ok(got) => {
                // Only Le (changed or dropped) is outside the C-MAC.
                prop_assert!(i == le_at, "accepted a change at {}", i);
                prop_assert_eq!(got.data, cmd.data);
                prop_assert!(card.is_authenticated());
            }
            Err(_) => prop_assert!(card.is_closed()),
        }
    }

    /// Arbitrary text never panics the vector runner.
    #[test]
    fn r_scp03_vector_runner_never_panics(text in ".{0,200}") {
        let _ = run_vector_json(&text);
    }
}

#[test]
fn r_scp03_logical_channels_and_further_interindustry_class() {
    for (cla, wrapped_cla) in [(0x81u8, 0x85u8), (0x03, 0x07), (0x45, 0x65), (0xCF, 0xEF)] {
        let (_, mut host, mut card) = pair(SecurityLevel::FULL);
        let cmd = Command::new(cla, 0xCA, 0x00, 0x66, vec![1, 2, 3]).with_le(0);
        let wrapped = host.wrap_command(&cmd).unwrap();
        assert_eq!(wrapped[0], wrapped_cla);
        assert_eq!(card.unwrap_command(&wrapped).unwrap(), cmd);
    }
    // The MAC ignores the channel number: the same command on channel 0 and 1 has the same
    // C-MAC (GP: logical channel set to zero in the MAC input).
    let (_, mut h0, _) = pair(SecurityLevel::C_MAC);
    let (_, mut h1, _) = pair(SecurityLevel::C_MAC);
    let w0 = h0
        .wrap_command(&Command::new(0x80, 0xCA, 0, 0x66, vec![1]))
        .unwrap();
    let w1 = h1
        .wrap_command(&Command::new(0x81, 0xCA, 0, 0x66, vec![1]))
        .unwrap();
    assert_eq!(w0[1..], w1[1..]);
    // A command already marked as secured cannot be wrapped again, and FF is no class.
    let (_, mut host, _) = pair(SecurityLevel::C_MAC);
    assert_eq!(
        host.wrap_command(&Command::new(0x84, 0xCA, 0, 0, vec![])),
        Err(Scp03Error::UnsupportedClass(0x84))
    );
}

#[test]
fn r_scp03_random_challenge_mode() {
    let k = keys(32, 9);
    let mut card = CardSession::with_options(
        k.clone(),
        [1; 10],
        Vec::new(),
        0,
        CardOptions {
            i_param: I_PSEUDO_RANDOM | I_R_MAC,
            challenge: ChallengeSource::Random(Box::new(ChaCha20Rng::seed_from_u64(5))),
        },
    );
    assert_eq!(card.i_param(), I_R_MAC);
    let iu = HostSession::initialize_update_command(0, [3; 8]);
    let r1 = card.initialize_update(&iu).unwrap();
    let r2 = card.initialize_update(&iu).unwrap();
    assert_eq!((r1.len(), r2.len()), (29, 29), "no sequence counter");
    assert_ne!(r1[13..21], r2[13..21], "fresh challenge per session");
    let mut host = HostSession::open(k.clone(), [3; 8], &r2).unwrap();
    // R-ENCRYPTION is not offered by i = 20.
    assert_eq!(
        host.clone()
            .external_authenticate_command(SecurityLevel::FULL),
        Err(Scp03Error::LevelNotSupported {
            level: 0x33,
            i_param: 0x20
        })
    );
    let ea = host
        .external_authenticate_command(SecurityLevel::C_DEC_C_MAC_R_MAC)
        .unwrap();
    card.external_authenticate(&ea).unwrap();
}

#[test]
fn r_scp03_keys_and_levels_are_validated() {
    assert_eq!(
        StaticKeys::new(1, vec![0; 16], vec![0; 20], vec![0; 16]),
        Err(Scp03Error::InvalidKeyLength {
            which: "Key-MAC",
            len: 20
        })
    );
    assert!(StaticKeys::new(1, vec![0; 24], vec![0; 32], vec![0; 16]).is_ok());
    for b in 0..=255u8 {
        let ok = [0x01, 0x03, 0x11, 0x13, 0x33].contains(&b);
        assert_eq!(SecurityLevel::from_byte(b).is_ok(), ok, "{b:02X}");
    }
    assert_eq!(
        SecurityLevel::from_byte(0x00),
        Err(Scp03Error::InvalidSecurityLevel(0))
    );
    // Keys made invalid through the public fields are caught before use.
    let mut bad = keys(16, 0);
    bad.enc.pop();
    let mut card = card_for(&bad);
    let iu = HostSession::initialize_update_command(0x30, [0; 8]);
    assert!(matches!(
        card.initialize_update(&iu),
        Err(Scp03Error::InvalidKeyLength {
            which: "Key-ENC",
            len: 15
        })
    ));
    assert!(matches!(
        HostSession::open(bad, [0; 8], &[0; 29]),
        Err(Scp03Error::InvalidKeyLength { .. })
    ));
}

#[test]
fn r_scp03_sequence_counter_exhaustion() {
    let k = keys(16, 2);
    let mut card = CardSession::new(k, [0; 10], vec![0xA0; 8], card::MAX_SEQUENCE_COUNTER);
    let iu = HostSession::initialize_update_command(0x30, [0; 8]);
    let resp = card.initialize_update(&iu).unwrap();
    assert_eq!(resp[29..], [0xFF, 0xFF, 0xFF]);
    let e = card.initialize_update(&iu).unwrap_err();
    assert_eq!(e, Scp03Error::SequenceCounterExhausted);
    assert_eq!(e.status(), StatusWord::CONDITIONS_NOT_SATISFIED);
}

// ---------------------------------------------------------------------------------------
// Refusals: each with its typed error, and the session closed afterwards.

#[test]
fn r_scp03_tampered_mac_is_refused_and_closes() {
    for level in SecurityLevel::ALL {
        for flip in [usize::MAX, 5] {
            let (k, mut host, mut card) = pair(level);
            let mut wrapped = host.wrap_command(&put_data(3)).unwrap();
            let i = if flip == usize::MAX {
                wrapped.len() - 1
            } else {
                flip
            };
            wrapped[i] ^= 0x01;
            let e = card.unwrap_command(&wrapped).unwrap_err();
            assert_eq!(e, Scp03Error::CMacMismatch, "level {level}");
            assert_eq!(e.status(), StatusWord::SECURITY_NOT_SATISFIED);
            assert_closed(&k, &mut host, &mut card);
        }
    }
}

#[test]
fn r_scp03_replayed_command_is_refused_and_closes() {
    let (k, mut host, mut card) = pair(SecurityLevel::C_DEC_C_MAC);
    let w1 = host.wrap_command(&put_data(1)).unwrap();
    card.unwrap_command(&w1).unwrap();
    card.wrap_response(&Response::ok(vec![])).unwrap();
    assert_eq!(card.unwrap_command(&w1), Err(Scp03Error::Replay));
    assert_eq!(
        Scp03Error::Replay.status(),
        StatusWord::SECURITY_NOT_SATISFIED
    );
    assert_closed(&k, &mut host, &mut card);
}

#[test]
fn r_scp03_reordered_commands_are_refused_and_close() {
    let (k, mut host, mut card) = pair(SecurityLevel::C_MAC_R_MAC);
    let a = host.wrap_command(&put_data(1)).unwrap();
    let b = host.wrap_command(&put_data(2)).unwrap();
    assert_eq!(card.unwrap_command(&b), Err(Scp03Error::CMacMismatch));
    assert_eq!(card.unwrap_command(&a), Err(Scp03Error::SessionClosed));
    assert_closed(&k, &mut host, &mut card);
}

#[test]
fn r_scp03_command_below_session_level_is_refused_and_closes() {
    // Unencrypted (but correctly MACed) data in a C-DECRYPTION session.
    let (k, mut host, mut card) = pair(SecurityLevel::C_DEC_C_MAC);
    let w = host
        .wrap_command_at_level(&put_data(0), SecurityLevel::C_MAC)
        .unwrap();
    assert_eq!(
        card.unwrap_command(&w),
        Err(Scp03Error::DataNotEncrypted { len: 5 })
    );
    assert_closed(&k, &mut host, &mut card);

    // Plain data of a whole number of blocks decrypts to garbage padding.
    let (k, mut host, mut card) = pair(SecurityLevel::FULL);
    let cmd = Command::new(0x80, 0xE2, 0, 0, vec![0x11; 32]);
    let w = host
        .wrap_command_at_level(&cmd, SecurityLevel::C_MAC)
        .unwrap();
    assert_eq!(card.unwrap_command(&w), Err(Scp03Error::BadPadding));
    assert_closed(&k, &mut host, &mut card);

    // No secure messaging at all (CLA 80) in a C-MAC session.
    let (k, mut host, mut card) = pair(SecurityLevel::C_MAC);
    let e = card.unwrap_command(&put_data(1).to_bytes()).unwrap_err();
    assert_eq!(e, Scp03Error::MissingSecureMessaging { cla: 0x80 });
    assert_eq!(e.status(), StatusWord::SECURITY_NOT_SATISFIED);
    assert_closed(&k, &mut host, &mut card);

    // Secure-messaging class but no room for a MAC.
    let (k, mut host, mut card) = pair(SecurityLevel::C_MAC);
    let short = Command::new(0x84, 0xE2, 0, 0, vec![1, 2, 3]).to_bytes();
    assert_eq!(
        card.unwrap_command(&short),
        Err(Scp03Error::MissingMac { len: 3 })
    );
    assert_closed(&k, &mut host, &mut card);

    // Malformed bytes in a session also end it.
    let (k, mut host, mut card) = pair(SecurityLevel::C_MAC);
    assert!(matches!(
        card.unwrap_command(&[0x84, 0xE2]),
        Err(Scp03Error::MalformedApdu(_))
    ));
    assert_closed(&k, &mut host, &mut card);
}

#[test]
fn r_scp03_unauthenticated_command_is_refused_and_closes() {
    let k = keys(16, 3);
    let mut card = card_for(&k);
    // Before any session.
    let mut other = pair(SecurityLevel::C_MAC).1;
    let w = other.wrap_command(&put_data(1)).unwrap();
    assert_eq!(card.unwrap_command(&w), Err(Scp03Error::NotAuthenticated));
    // After INITIALIZE UPDATE but before EXTERNAL AUTHENTICATE.
    let hc = [9; 8];
    let resp = card
        .initialize_update(&HostSession::initialize_update_command(0x30, hc))
        .unwrap();
    let mut host = HostSession::open(k.clone(), hc, &resp).unwrap();
    // (The host refuses too, which ends its session: probe a copy.)
    assert_eq!(
        host.clone().wrap_command(&put_data(1)),
        Err(Scp03Error::NotAuthenticated)
    );
    let e = card.unwrap_command(&w).unwrap_err();
    assert_eq!(e, Scp03Error::NotAuthenticated);
    assert_eq!(e.status(), StatusWord::SECURITY_NOT_SATISFIED);
    // That ended the session: the host's EXTERNAL AUTHENTICATE now comes too late.
    let ea = host
        .external_authenticate_command(SecurityLevel::C_MAC)
        .unwrap();
    let e = card.external_authenticate(&ea).unwrap_err();
    assert_eq!(e, Scp03Error::NotInitialized);
    assert_eq!(e.status(), StatusWord::CONDITIONS_NOT_SATISFIED);
    assert_closed(&k, &mut host, &mut card);
}

#[test]
fn r_scp03_wrong_host_cryptogram_is_refused_and_closes() {
    let k = keys(24, 4);
    let mut card = card_for(&k);
    let hc = [7; 8];
    let resp = card
        .initialize_update(&HostSession::initialize_update_command(0x30, hc))
        .unwrap();
    let mut host = HostSession::open(k.clone(), hc, &resp).unwrap();
    let mut ea = host
        .external_authenticate_command(SecurityLevel::C_MAC)
        .unwrap();
    ea[5] ^= 0x80; // first byte of the host cryptogram
    let e = card.external_authenticate(&ea).unwrap_err();
    assert_eq!(e, Scp03Error::HostCryptogramMismatch);
    assert_eq!(e.status(), StatusWord(0x6300));
    assert_closed(&k, &mut host, &mut card);

    // A host with other keys: the card cryptogram does not verify on its side.
    let mut card = card_for(&k);
    let resp = card
        .initialize_update(&HostSession::initialize_update_command(0, hc))
        .unwrap();
    assert_eq!(
        HostSession::open(keys(24, 5), hc, &resp).unwrap_err(),
        Scp03Error::CardCryptogramMismatch
    );

    // Right cryptogram, tampered C-MAC on EXTERNAL AUTHENTICATE.
    let resp = card
        .initialize_update(&HostSession::initialize_update_command(0, hc))
        .unwrap();
    let mut host = HostSession::open(k.clone(), hc, &resp).unwrap();
    let mut ea = host
        .external_authenticate_command(SecurityLevel::FULL)
        .unwrap();
    let last = ea.len() - 1;
    ea[last] ^= 1;
    assert_eq!(
        card.external_authenticate(&ea),
        Err(Scp03Error::CMacMismatch)
    );
    assert_closed(&k, &mut host, &mut card);
}

#[test]
fn r_scp03_external_authenticate_checks() {
    let k = keys(16, 6);
    let hc = [1; 8];
    let setup = |card: &mut CardSession| {
        let resp = card
            .initialize_update(&HostSession::initialize_update_command(0x30, hc))
            .unwrap();
        HostSession::open(k.clone(), hc, &resp).unwrap()
    };
    // Level the card does not offer (i = 10: no R-MAC).
    let mut card = CardSession::with_options(
        k.clone(),
        [0; 10],
        vec![0xA0; 8],
        0,
        CardOptions {
            i_param: 0,
            challenge: ChallengeSource::PseudoRandom,
        },
    );
    let mut host = setup(&mut card);
    let mut probe = host.clone();
    assert!(matches!(
        probe.external_authenticate_command(SecurityLevel::C_MAC_R_MAC),
        Err(Scp03Error::LevelNotSupported { .. })
    ));
    // A host that ignores i-parameter: build a level-11 EXTERNAL AUTHENTICATE by hand.
    let ea_ok = host
        .external_authenticate_command(SecurityLevel::C_MAC)
        .unwrap();
    let mut ea11 = ea_ok.clone();
    ea11[2] = 0x11;
    let e = card.external_authenticate(&ea11).unwrap_err();
    assert!(matches!(
        e,
        Scp03Error::LevelNotSupported { level: 0x11, .. }
    ));
    assert_eq!(e.status(), StatusWord::WRONG_P1P2);
    assert!(card.is_closed());
    // Invalid level byte.
    let _ = setup(&mut card);
    let mut ea_bad = ea_ok.clone();
    ea_bad[2] = 0x02;
    assert_eq!(
        card.external_authenticate(&ea_bad),
        Err(Scp03Error::InvalidSecurityLevel(2))
    );
    // Twice in one session.
    let mut host = setup(&mut card);
    let ea = host
        .external_authenticate_command(SecurityLevel::C_MAC)
        .unwrap();
    card.external_authenticate(&ea).unwrap();
    assert_eq!(
        card.external_authenticate(&ea),
        Err(Scp03Error::AlreadyAuthenticated)
    );
    assert!(card.is_closed());
    assert_eq!(
        host.external_authenticate_command(SecurityLevel::C_MAC),
        Err(Scp03Error::AlreadyAuthenticated)
    );
}

#[test]
fn r_scp03_initialize_update_checks() {
    let k = keys(16, 7);
    let mut card = card_for(&k);
    let hc = [2; 8];
    let e = card
        .initialize_update(&HostSession::initialize_update_command(0x31, hc))
        .unwrap_err();
    assert_eq!(
        e,
        Scp03Error::KeyVersionNotFound {
            requested: 0x31,
            held: 0x30
        }
    );
    assert_eq!(e.status(), StatusWord::REF_DATA_NOT_FOUND);
    let mut bad = HostSession::initialize_update_command(0x30, hc);
    bad.data.pop();
    assert!(matches!(
        card.initialize_update(&bad),
        Err(Scp03Error::WrongDataLength { got: 7, .. })
    ));
    let mut bad = HostSession::initialize_update_command(0x30, hc);
    bad.cla = 0x84;
    assert_eq!(
        card.initialize_update(&bad),
        Err(Scp03Error::UnsupportedClass(0x84))
    );
    let mut bad = HostSession::initialize_update_command(0x30, hc);
    bad.p2 = 1;
    assert!(matches!(
        card.initialize_update(&bad),
        Err(Scp03Error::WrongP1P2 { .. })
    ));
    // INITIALIZE UPDATE ends a session in progress.
    let mut host = authenticate(&k, &mut card, SecurityLevel::C_MAC);
    let w = host.wrap_command(&put_data(1)).unwrap();
    card.initialize_update(&HostSession::initialize_update_command(0x30, hc))
        .unwrap();
    assert_eq!(card.unwrap_command(&w), Err(Scp03Error::NotAuthenticated));
}

#[test]
fn r_scp03_host_refuses_bad_responses_and_closes() {
    // Tampered R-MAC.
    let (_, mut host, mut card) = pair(SecurityLevel::C_MAC_R_MAC);
    let w = host.wrap_command(&put_data(1)).unwrap();
    card.unwrap_command(&w).unwrap();
    let mut raw = card.wrap_response(&Response::ok(vec![1, 2, 3])).unwrap();
    raw[0] ^= 1;
    assert_eq!(host.unwrap_response(&raw), Err(Scp03Error::RMacMismatch));
    assert_eq!(
        host.wrap_command(&put_data(2)),
        Err(Scp03Error::SessionClosed)
    );
    // Missing R-MAC, and data with an error status word at an R-MAC level.
    let (_, mut host, _) = pair(SecurityLevel::FULL);
    host.wrap_command(&put_data(1)).unwrap();
    assert_eq!(
        host.clone().unwrap_response(&[1, 2, 0x90, 0x00]),
        Err(Scp03Error::MissingRMac { len: 2 })
    );
    assert!(matches!(
        host.clone().unwrap_response(&[1, 0x6A, 0x82]),
        Err(Scp03Error::UnprotectedErrorData { len: 1, .. })
    ));
    assert_eq!(
        host.unwrap_response(&[0x6A, 0x82]).unwrap(),
        Response::status(StatusWord::NOT_FOUND)
    );
    // A malformed INITIALIZE UPDATE response.
    let k = keys(16, 0);
    let mut resp = card_for(&k)
        .initialize_update(&HostSession::initialize_update_command(0x30, [0; 8]))
        .unwrap();
    resp[11] = 0x02; // SCP02
    assert!(matches!(
        HostSession::open(k.clone(), [0; 8], &resp),
        Err(Scp03Error::MalformedInitUpdateResponse(_))
    ));
    resp[11] = 0x03;
    resp.pop(); // counter cut short
    assert!(matches!(
        HostSession::open(k, [0; 8], &resp),
        Err(Scp03Error::MalformedInitUpdateResponse(_))
    ));
}

// ---------------------------------------------------------------------------------------
// Vector runner: malformed files and mismatches

fn edit(name: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(&read_vector(name)).unwrap();
    f(&mut v);
    v.to_string()
}

fn vector_err(text: &str) -> (Option<usize>, String, VectorErrorKind) {
    let e = run_vector_json(text).unwrap_err();
    assert_eq!(e.file, "<inline>");
    assert!(!e.to_string().is_empty());
    (e.step, e.field, e.kind)
}

#[test]
fn r_scp03_malformed_vector_files_are_typed_errors() {
    let f = "pysim-aes128-level11.json";
    assert!(matches!(
        vector_err("{ not json"),
        (None, _, VectorErrorKind::Json(_))
    ));
    assert!(matches!(
        vector_err("[1, 2]"),
        (None, _, VectorErrorKind::WrongType(_))
    ));
    let (step, field, kind) = vector_err(&edit(f, |v| {
        v["keys"].as_object_mut().unwrap().remove("mac");
    }));
    assert_eq!(
        (step, field.as_str(), kind),
        (None, "keys.mac", VectorErrorKind::Missing)
    );
    let (step, field, kind) = vector_err(&edit(f, |v| v["keys"]["enc"] = "00112233".into()));
    assert_eq!((step, field.as_str()), (None, "keys.enc"));
    assert!(matches!(kind, VectorErrorKind::BadKey(_)));
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][2]["wrapped"] = "84e2zz".into()));
    assert_eq!((step, field.as_str()), (Some(2), "wrapped"));
    assert!(matches!(kind, VectorErrorKind::BadHex(_)));
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][4]["op"] = "get_status".into()));
    assert_eq!((step, field.as_str()), (Some(4), "op"));
    assert_eq!(kind, VectorErrorKind::UnknownOp("get_status".into()));
    let (step, field, kind) = vector_err(&edit(f, |v| {
        v["steps"][3].as_object_mut().unwrap().remove("sw");
    }));
    assert_eq!(
        (step, field.as_str(), kind),
        (Some(3), "sw", VectorErrorKind::Missing)
    );
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][3]["sw"] = "900000".into()));
    assert_eq!((step, field.as_str()), (Some(3), "sw"));
    assert!(matches!(kind, VectorErrorKind::BadValue(_)));
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][0]["response"] = "0000".into()));
    assert_eq!((step, field.as_str()), (Some(0), "response"));
    assert!(matches!(kind, VectorErrorKind::BadValue(_)));
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][5]["plain"] = "80".into()));
    assert_eq!((step, field.as_str()), (Some(5), "plain"));
    assert!(matches!(kind, VectorErrorKind::BadValue(_)));
    let (step, field, kind) = vector_err(&edit(f, |v| v["steps"][1] = 5.into()));
    assert_eq!((step, field.as_str()), (Some(1), ""));
    assert!(matches!(kind, VectorErrorKind::WrongType(_)));
    let (_, field, kind) = vector_err(&edit(f, |v| v["name"] = 3.into()));
    assert_eq!(
        (field.as_str(), kind),
        ("name", VectorErrorKind::WrongType("a string"))
    );
    // A missing file names the file.
    let e = run_vector_file(&vector_dir().join("no-such-file.json")).unwrap_err();
    assert!(e.file.ends_with("no-such-file.json"));
    assert!(matches!(e.kind, VectorErrorKind::Io(_)));
}

#[test]
fn r_scp03_vector_mismatch_is_reported_per_side() {
    // A wrong expected wrapped command: the host builds something else, the card refuses it.
    let text = edit("pysim-aes128-level11.json", |v| {
        v["steps"][4]["wrapped"] = "84f220020863a63f8959827fb3".into();
    });
    let r = run_vector_json(&text).unwrap();
    assert!(!r.passed() && !r.host_ok && !r.card_ok);
    assert_eq!(r.steps_passed, 4);
    let host = r.mismatches.iter().find(|m| m.side == Side::Host).unwrap();
    assert_eq!((host.step, host.field.as_str()), (4, "wrapped"));
    assert_eq!(host.expected, "84f220020863a63f8959827fb3");
    assert_eq!(host.got, "84f220020863a63f8959827fb2");
    let card = r.mismatches.iter().find(|m| m.side == Side::Card).unwrap();
    assert_eq!((card.step, card.field.as_str()), (4, "plain"));
    assert!(card.got.contains("C-MAC"), "{}", card.got);
    assert!(r.to_string().contains("step 4 (host side)"));

    // A wrong plain response: the host unwraps something else, the card wraps the wrong
    // plain text into bytes other than the recorded ones.
    let text = edit("pysim-aes128-level33.json", |v| {
        v["steps"][3]["plain"] = "bf3e".into();
    });
    let r = run_vector_json(&text).unwrap();
    assert!(!r.host_ok && !r.card_ok);
    assert!(r.mismatches.iter().all(|m| m.step == 3));

    // A wrong key: the card cryptogram does not verify on the host side; the card side
    // answers a different cryptogram.
    let text = edit("pysim-aes128-level03.json", |v| {
        v["keys"]["mac"] = "101112131415161718191a1b1c1d1e1e".into();
    });
    let r = run_vector_json(&text).unwrap();
    assert_eq!(r.steps_passed, 0);
    assert!(r
        .mismatches
        .iter()
        .all(|m| m.step == 0 && m.field == "response"));
}

/// Files may also record refusals: a non-9000 EXTERNAL AUTHENTICATE must be refused by the
/// card with that status word.
#[test]
fn r_scp03_vector_with_recorded_refusal() {
    let text = edit("pysim-aes128-level03.json", |v| {
        let steps = v["steps"].as_array_mut().unwrap();
        steps.truncate(2);
        steps[1]["command"] = "8482030010fd4721a14d9b07003c451d2f8ae6bb22".into();
        steps[1]["sw"] = "6982".into();
    });
    let r = run_vector_json(&text).unwrap();
    assert!(r.passed(), "{r}");
    let text = text.replace("6982", "6300");
    let r = run_vector_json(&text).unwrap();
    assert!(!r.card_ok && r.host_ok, "{r}");
}

#[test]
fn r_scp03_oversized_command_is_refused_by_the_host() {
    let (_, mut host, mut card) = pair(SecurityLevel::C_MAC);
    let big = Command::new(0x80, 0xE8, 0, 0, vec![0; 65_530]);
    assert_eq!(
        host.clone().wrap_command(&big),
        Err(Scp03Error::DataTooLong { len: 65_538 })
    );
    // Extended length just under the limit works end to end.
    let near = Command::new(0x80, 0xE8, 0, 0, vec![5; 65_527]);
    let w = host.wrap_command(&near).unwrap();
    assert_eq!(&w[4..7], &[0x00, 0xFF, 0xFF]);
    assert_eq!(card.unwrap_command(&w).unwrap().data, near.data);
}
