//! The SEI-TSM: holds each SE's ISD keys; installs the JPKI applet instance under the APSD
//! with its retry limits and the access rule for the genuine app (R-ACL, phase 2), and
//! deletes the instance with its rules (R-TRANSFER, R-DISPOSE, R-DELETE). Everything goes
//! over SCP03 to the ISD (R-SCP03).

use super::{KeyRing, ScpLink, TsmError, TsmWire};
use crate::apdu::Command;
use crate::applet::{AppletConfig, JPKI_AID};
use crate::ca::PhoneId;
use crate::scp03::SecurityLevel;
use crate::se::{tlv, KeysetSpec, SdId, JPKI_ELF_AID, JPKI_MODULE_AID};
use rand_chacha::ChaCha20Rng;

/// The SEI-TSM (see the module documentation).
#[derive(Debug, Clone)]
pub struct SeiTsm {
    ring: KeyRing,
    rng: ChaCha20Rng,
}

fn lv(out: &mut Vec<u8>, v: &[u8]) {
    out.push(v.len() as u8);
    out.extend_from_slice(v);
}

impl SeiTsm {
    /// A SEI-TSM with no phones; host challenges come from `rng`.
    pub fn new(rng: ChaCha20Rng) -> Self {
        SeiTsm {
            ring: KeyRing::new(SdId::Isd),
            rng,
        }
    }

    /// Require `level` instead of [`PERSONALISATION_LEVEL`] on every link (configuration,
    /// never the card's answer).
    pub fn with_level(mut self, level: SecurityLevel) -> Self {
        self.ring.level = level;
        self
    }

    /// Planned rotation of `phone`'s ISD keys (PUT KEY; the sequence counter starts
    /// again). Links also rotate on their own near the counter's end (`super::ROTATE_AT`).
    pub fn rotate_keys(&mut self, se: &mut dyn TsmWire, phone: PhoneId) -> Result<(), TsmError> {
        self.ring.rotate(se, phone, &mut self.rng)
    }

    /// The key set held for `phone`'s domain.
    pub fn keys(&self, phone: PhoneId) -> Option<&KeysetSpec> {
        self.ring.get(phone)
    }

    /// Record the ISD key set of `phone`'s SE (shared at SE manufacture).
    pub fn register_phone(&mut self, phone: PhoneId, keys: KeysetSpec) {
        self.ring.register(phone, keys);
    }

    fn link<'a>(
        &mut self,
        se: &'a mut dyn TsmWire,
        phone: PhoneId,
    ) -> Result<ScpLink<'a>, TsmError> {
        self.ring.link(se, phone, &mut self.rng)
    }

    /// INSTALL [for install and make selectable] of the JPKI instance with retry limits
    /// `config` (`C9 02 auth sign`), then STORE DATA of the access rule granting the app whose
    /// signing certificate hashes to `app_cert_hash` (R-ACL).
    pub fn install_applet(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        config: AppletConfig,
        app_cert_hash: [u8; 32],
    ) -> Result<(), TsmError> {
        let mut link = self.link(se, phone)?;
        let mut data = Vec::new();
        lv(&mut data, &JPKI_ELF_AID);
        lv(&mut data, &JPKI_MODULE_AID);
        lv(&mut data, &JPKI_AID);
        lv(&mut data, &[0x00]);
        lv(
            &mut data,
            &tlv::encode(0xC9, &[config.auth_max_tries, config.sign_max_tries]),
        );
        lv(&mut data, &[]);
        link.expect_ok("INSTALL", &Command::new(0x80, 0xE6, 0x0C, 0x00, data))?;
        let mut refs = tlv::encode(0x4F, &JPKI_AID);
        refs.extend(tlv::encode(0xC1, &app_cert_hash));
        let mut rule = tlv::encode(0xE1, &refs);
        rule.extend(tlv::encode(0xE3, &tlv::encode(0xD0, &[0x01])));
        let store = tlv::encode(0xF0, &tlv::encode(0xE2, &rule));
        link.expect_ok(
            "STORE DATA (access rule)",
            &Command::new(0x80, 0xE2, 0x80, 0x00, store),
        )?;
        Ok(())
    }

    /// DELETE the JPKI instance and related objects (its access rules): keys, certificates
    /// and PINs go with it (R-DELETE).
    pub fn delete_applet(&mut self, se: &mut dyn TsmWire, phone: PhoneId) -> Result<(), TsmError> {
        let mut link = self.link(se, phone)?;
        link.expect_ok(
            "DELETE",
            &Command::new(0x80, 0xE4, 0x00, 0x80, tlv::encode(0x4F, &JPKI_AID)),
        )?;
        Ok(())
    }
}
