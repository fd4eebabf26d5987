//! The TSM's SCP03 link against a wire that lies about the card (THREAT-SKIM).

use super::*;
use crate::scp03::{I_R_ENC, I_R_MAC};
use crate::se::{KeyGen, SeConfig};
use rand_chacha::rand_core::SeedableRng;

fn isd_keys() -> KeysetSpec {
    KeysetSpec::new(0x30, &[0x11; 16], &[0x12; 16], &[0x13; 16])
}

fn se_and_keys() -> (SecureElement, KeysetSpec) {
    let isd = isd_keys();
    let apsd = KeysetSpec::new(0x31, &[0x21; 16], &[0x22; 16], &[0x23; 16]);
    let se = SecureElement::new(
        SeConfig::new(isd, apsd.clone(), [0xAB; 10]),
        KeyGen::seeded(1),
    );
    (se.unwrap(), apsd)
}

/// Clears the R-MAC and R-ENCRYPTION bits of the i-parameter in INITIALIZE UPDATE answers
/// (byte 12 of the answer: after 10 bytes of key diversification data, kvn and SCP id).
struct Downgrade<'a>(&'a mut SecureElement);

impl TsmWire for Downgrade<'_> {
    fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8> {
        let mut answer = self.0.transmit_tsm(sd, raw);
        if raw.get(1) == Some(&crate::scp03::INS_INITIALIZE_UPDATE) && answer.len() > 12 {
            answer[12] &= !(I_R_MAC | I_R_ENC);
        }
        answer
    }

    fn applet_installed(&self) -> bool {
        self.0.applet_installed()
    }
}

#[test]
fn link_runs_at_the_configured_level() {
    let (mut se, keys) = se_and_keys();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let link = ScpLink::open(&mut se, SdId::Apsd, &keys, PERSONALISATION_LEVEL, &mut rng);
    assert_eq!(link.unwrap().level(), Some(SecurityLevel::FULL));
}

/// Finding 1 of issue 16: the level used to follow the i-parameter, so a wire that cleared
/// two bits got a session at `03` without response integrity. Now the link is refused.
#[test]
fn downgraded_i_parameter_is_refused_not_followed() {
    let (mut se, keys) = se_and_keys();
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut wire = Downgrade(&mut se);
    let link = ScpLink::open(
        &mut wire,
        SdId::Apsd,
        &keys,
        PERSONALISATION_LEVEL,
        &mut rng,
    );
    assert_eq!(
        link.err(),
        Some(TsmError::LevelNotOffered {
            required: SecurityLevel::FULL,
            i_param: 0x10
        })
    );
    // A TSM configured for a lower level (never the card's choice) still talks.
    let link = ScpLink::open(
        &mut wire,
        SdId::Apsd,
        &keys,
        SecurityLevel::C_DEC_C_MAC,
        &mut rng,
    );
    assert_eq!(link.unwrap().level(), Some(SecurityLevel::C_DEC_C_MAC));
}

/// An SE whose applet holds an auth certificate with serial `serial`, and the APSD keys.
fn personalised(serial: u32) -> (SecureElement, KeysetSpec) {
    use crate::applet::{ins, test_support::make_cert, AppletConfig, Kind};
    use rsa::pkcs8::DecodePublicKey;
    let (mut se, apsd) = se_and_keys();
    let phone = crate::ca::PhoneId(0);
    let mut sei = sei::SeiTsm::new(ChaCha20Rng::seed_from_u64(1));
    sei.register_phone(phone, isd_keys());
    sei.install_applet(&mut se, phone, AppletConfig::default(), [7; 32])
        .unwrap();
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut link =
        ScpLink::open(&mut se, SdId::Apsd, &apsd, PERSONALISATION_LEVEL, &mut rng).unwrap();
    let p2 = Kind::Auth.p2();
    let gen = Command::new(0x80, ins::GENERATE_KEY_PAIR, 0, p2, vec![]).with_le(0);
    let spki = link.expect_ok("GEN", &gen).unwrap();
    let cert = make_cert(
        &rsa::RsaPublicKey::from_public_key_der(&spki).unwrap(),
        serial,
    );
    let write = Command::new(0x80, ins::WRITE_CERTIFICATE, 0, p2, cert);
    link.expect_ok("WRITE", &write).unwrap();
    let temp = Command::new(0x80, ins::SET_TEMPORARY_PIN, 0, p2, b"1234".to_vec());
    link.expect_ok("TEMP", &temp).unwrap();
    (se, apsd)
}

/// Answers DELETE CREDENTIAL BY SERIAL with a bare `6A88` without delivering it.
struct ForgeNotFound<'a>(&'a mut SecureElement);

impl TsmWire for ForgeNotFound<'_> {
    fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8> {
        if raw.get(1) == Some(&crate::applet::ins::DELETE_BY_SERIAL) {
            return vec![0x6A, 0x88];
        }
        self.0.transmit_tsm(sd, raw)
    }

    fn applet_installed(&self) -> bool {
        self.0.applet_installed()
    }
}

/// Finding 5 of issue 16: a forged bare `6A88` to DELETE CREDENTIAL BY SERIAL was taken as
/// "nothing to delete". Now the deletion stays pending and is reported.
#[test]
fn forged_not_found_is_no_proof_of_deletion() {
    use crate::ca::{CertKind, PhoneId, Serial};
    let (mut se, apsd) = personalised(0x51);
    let mut sp = sp::SpTsm::new(ChaCha20Rng::seed_from_u64(3));
    sp.register_phone(PhoneId(0), apsd);
    let r = sp.delete_by_serial(
        &mut ForgeNotFound(&mut se),
        PhoneId(0),
        CertKind::Auth,
        Serial(0x51),
    );
    assert_eq!(
        r,
        Err(sp::SpError::Tsm(TsmError::DeletionUnconfirmed {
            serial: Serial(0x51),
            sw: StatusWord(0x6A88)
        }))
    );
    assert!(se
        .slot(crate::applet::Kind::Auth)
        .unwrap()
        .cert_serial
        .is_some());
    // A genuine "not found" (another serial) is still "nothing to delete" ...
    let r = sp.delete_by_serial(&mut se, PhoneId(0), CertKind::Auth, Serial(0x52));
    assert_eq!(r, Ok(false));
    // ... and the retry deletes.
    let r = sp.delete_by_serial(&mut se, PhoneId(0), CertKind::Auth, Serial(0x51));
    assert_eq!(r, Ok(true));
    assert!(se
        .slot(crate::applet::Kind::Auth)
        .unwrap()
        .cert_serial
        .is_none());
}

/// Finding 6 of issue 16: unauthenticated INITIALIZE UPDATEs burn the 24-bit sequence
/// counter and there was no way back. Now the TSM rotates the keys (PUT KEY) when the card
/// announces a counter past `ROTATE_AT`, and the counter starts again.
#[test]
fn tsm_rotates_keys_before_the_counter_runs_out() {
    use crate::applet::AppletConfig;
    use crate::ca::PhoneId;
    use crate::scp03::card::MAX_SEQUENCE_COUNTER;
    let (mut se, _) = se_and_keys();
    se.set_sequence_counter(SdId::Isd, MAX_SEQUENCE_COUNTER - 1);
    let phone = PhoneId(0);
    let mut sei = sei::SeiTsm::new(ChaCha20Rng::seed_from_u64(4));
    sei.register_phone(phone, isd_keys());
    for _ in 0..3 {
        sei.install_applet(&mut se, phone, AppletConfig::default(), [7; 32])
            .unwrap();
        sei.delete_applet(&mut se, phone).unwrap();
    }
    let new = sei.keys(phone).unwrap().clone();
    assert_eq!(new.kvn, 0x31);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let link = ScpLink::open(&mut se, SdId::Isd, &new, PERSONALISATION_LEVEL, &mut rng).unwrap();
    assert!(
        link.sequence_counter().unwrap() < 16,
        "the counter started again"
    );
    // The old keys open nothing any more.
    let old = ScpLink::open(
        &mut se,
        SdId::Isd,
        &isd_keys(),
        PERSONALISATION_LEVEL,
        &mut rng,
    );
    assert!(old.is_err());
    // A planned rotation of the APSD keys: personalisation goes on under the new keys.
    let (mut se, apsd) = personalised(0x61);
    let mut sp = sp::SpTsm::new(ChaCha20Rng::seed_from_u64(6));
    sp.register_phone(phone, apsd.clone());
    sp.rotate_keys(&mut se, phone).unwrap();
    assert_ne!(sp.keys(phone), Some(&apsd));
    let r = sp.delete_by_serial(
        &mut se,
        phone,
        crate::ca::CertKind::Auth,
        crate::ca::Serial(0x61),
    );
    assert_eq!(r, Ok(true));
}

/// An exhausted counter is refused (`6985`): what an attacker reaches if no TSM contact
/// comes between `ROTATE_AT` and the end (documented residual, docs/ASSUMPTIONS.md).
#[test]
fn exhausted_counter_refuses_initialize_update() {
    use crate::scp03::card::MAX_SEQUENCE_COUNTER;
    let (mut se, keys) = se_and_keys();
    se.set_sequence_counter(SdId::Apsd, MAX_SEQUENCE_COUNTER + 1);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let link = ScpLink::open(&mut se, SdId::Apsd, &keys, PERSONALISATION_LEVEL, &mut rng);
    assert!(matches!(
        link.err(),
        Some(TsmError::Status {
            sw: StatusWord(0x6985),
            ..
        })
    ));
}
