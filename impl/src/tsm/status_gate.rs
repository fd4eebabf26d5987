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

/// What a granted signature is for, and so which status J-LIS must answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grant {
    /// A login or signature for a relying party: the certificate active.
    Use,
    /// Resumption (R-SUSPEND): active or held; the signature proves possession.
    Resume,
    /// Revocation from the phone (R-REVOKE (a)): any status. The signature is over the
    /// SP-TSM's own revocation challenge and proves possession; a relying party never sees
    /// it, and a cert already revoked is then just deleted.
    Revoke,
}

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

    /// Grant one signature with the key of `kind` for `purpose`, if J-LIS's answer for
    /// `serial` allows it now ([`Grant`]); refused `CertRevoked` otherwise.
    pub fn grant_signature(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        (kind, serial): (CertKind, Serial),
        purpose: Grant,
    ) -> Result<(), SpError> {
        let ok = matches!(
            (ca.status(serial), purpose),
            (_, Grant::Revoke)
                | (StatusAnswer::Known(CertStatus::Active), _)
                | (
                    StatusAnswer::Known(CertStatus::Suspended { .. }),
                    Grant::Resume
                )
        );
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
