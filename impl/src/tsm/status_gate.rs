//! ALT-APPLET-STATUS in the SE (004 基本方針4, last bullet: a technical measure against
//! signatures with a revoked key): at personalisation the SP-TSM gates the signing key (STATUS
//! GATE `80 3E 01`); afterwards the key signs once per grant (`80 3E 00`), which the SP-TSM
//! sends over SCP03 only when the app, online, asks and J-LIS answers the certificate active.
//! The applet honours a grant on the app's OMAPI channel only, so the card-reader route and an
//! offline phone make no signature with that key. How the applet learns the status: it never
//! does itself (no clock, no network); it learns "active just now" from the SP-TSM's grant.

use super::sp::{applet_kind, SpError, SpTsm};
use super::TsmWire;
use crate::apdu::Command;
use crate::applet;
use crate::ca::{Ca, CertKind, CertStatus, PhoneId, Serial, StatusAnswer};

impl SpTsm {
    /// Gate the key of `kind`: it signs only after a grant.
    pub fn gate_signing(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
    ) -> Result<(), SpError> {
        self.status_gate(se, phone, kind, 0x01)
    }

    /// Grant one signature with the key of `kind`, if J-LIS answers `serial` active now (or
    /// only suspended, when `suspended_ok`: resumption and revocation prove possession of a
    /// held key); refused `CertRevoked` otherwise.
    pub fn grant_signature(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        (kind, serial): (CertKind, Serial),
        suspended_ok: bool,
    ) -> Result<(), SpError> {
        let ok = match ca.status(serial) {
            StatusAnswer::Known(CertStatus::Active) => true,
            StatusAnswer::Known(CertStatus::Suspended { .. }) => suspended_ok,
            _ => false,
        };
        if !ok {
            return Err(SpError::CertRevoked(serial));
        }
        self.status_gate(se, phone, kind, 0x00)
    }

    fn status_gate(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
        p1: u8,
    ) -> Result<(), SpError> {
        self.link(se, phone)?.expect_ok(
            "STATUS GATE",
            &Command::new(
                0x80,
                applet::ins::STATUS_GATE,
                p1,
                applet_kind(kind).p2(),
                vec![],
            ),
        )?;
        Ok(())
    }
}
