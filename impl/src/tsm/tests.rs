//! The TSM's SCP03 link against a wire that lies about the card (THREAT-SKIM).

use super::*;
use crate::scp03::{I_R_ENC, I_R_MAC};
use crate::se::{KeyGen, SeConfig};
use rand_chacha::rand_core::SeedableRng;

fn se_and_keys() -> (SecureElement, KeysetSpec) {
    let isd = KeysetSpec::new(0x30, &[0x11; 16], &[0x12; 16], &[0x13; 16]);
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
