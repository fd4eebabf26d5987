//! The relying party (Mynaportal login, an e-application, a convenience-store terminal): it
//! verifies an applet signature under the phone certificate's key, checks the certificate was
//! issued by J-LIS for the phone kind, and checks its status *at verification time*
//! (INV-NO-USE-AFTER-REVOKE, THREAT-OFFLINE-SIGN): by an online status query or by a CRL
//! fetched then ([`StatusCheck`]). Revoked and held (suspended) certificates are refused.

use super::{Refusal, StatusCheck, System};
use crate::ca::cert::{self, oids};
use crate::ca::{crl, CaError, CertKind, CertStatus, CrlReason};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use sha2::Sha256;

impl System {
    /// Verify `sig` over `message` under `cert_der` and check the certificate's status now.
    pub(super) fn relying_party(
        &mut self,
        cert_der: &[u8],
        kind: CertKind,
        message: &[u8],
        sig: &[u8],
    ) -> Result<(), Refusal> {
        signature_ok(cert_der, message, sig)?;
        match self.config.policy.status_check {
            StatusCheck::Query => self
                .ca
                .validate_phone_cert(cert_der, kind, self.now)
                .map(|_| ())
                .or_else(status_refusal),
            StatusCheck::Crl => self.crl_check(cert_der, kind),
        }
    }

    /// The CRL route: chain and policy from the certificate itself, then a CRL issued now,
    /// its signature checked under the CA key, searched for the serial.
    fn crl_check(&mut self, cert_der: &[u8], kind: CertKind) -> Result<(), Refusal> {
        let failure = |e: CaError| Refusal::Failure(e.to_string());
        let c = cert::parse_certificate(cert_der).map_err(failure)?;
        cert::verify_issued_by(&c, self.ca.name(), self.ca.public_key()).map_err(failure)?;
        let policy = match kind {
            CertKind::Auth => oids::POLICY_PHONE_AUTH,
            CertKind::Sign => oids::POLICY_PHONE_SIGN,
        };
        cert::require_policy(&c, policy).map_err(failure)?;
        let validity = &c.tbs_certificate.validity;
        if self.now < cert::logical_time(&validity.not_before)
            || self.now >= cert::logical_time(&validity.not_after)
        {
            return Err(Refusal::CertExpired);
        }
        let serial = cert::serial_of(&c).map_err(failure)?;
        // A recorded end of the validity period (`CertExpire`) stands for the clock passing
        // notAfter: the relying party's clock, not a CRL entry.
        if matches!(
            self.ca.status(serial),
            crate::ca::StatusAnswer::Known(CertStatus::Expired { .. })
        ) {
            return Err(Refusal::CertExpired);
        }
        let issued = self.ca.issue_crl(self.now).map_err(failure)?;
        let list = crl::parse_and_verify(issued.der(), self.ca.name(), self.ca.public_key())
            .map_err(failure)?;
        for entry in list.tbs_cert_list.revoked_certificates.iter().flatten() {
            if cert::serial_from(&entry.serial_number).map_err(failure)? == serial {
                return Err(match crl::entry_reason(entry).map_err(failure)? {
                    Some(CrlReason::CertificateHold) => Refusal::CertSuspended,
                    _ => Refusal::CertRevoked,
                });
            }
        }
        Ok(())
    }
}

/// The status query's answer as a refusal.
fn status_refusal(e: CaError) -> Result<(), Refusal> {
    match e {
        CaError::NotGood { status, .. } => Err(match status {
            CertStatus::Suspended { .. } => Refusal::CertSuspended,
            CertStatus::Expired { .. } => Refusal::CertExpired,
            _ => Refusal::CertRevoked,
        }),
        CaError::OutsideValidity { .. } => Err(Refusal::CertExpired),
        CaError::UnknownSerial(_) => Err(Refusal::CertRevoked),
        e => Err(Refusal::Failure(e.to_string())),
    }
}

/// Check a signature under the public key of `cert_der` (RSASSA-PKCS1-v1_5 / SHA-256).
pub(super) fn signature_ok(cert_der: &[u8], message: &[u8], sig: &[u8]) -> Result<(), Refusal> {
    let c = cert::parse_certificate(cert_der).map_err(|e| Refusal::Failure(e.to_string()))?;
    let key = cert::public_key_of(&c).map_err(|e| Refusal::Failure(e.to_string()))?;
    let sig = Signature::try_from(sig).map_err(|_| Refusal::BadSignature)?;
    VerifyingKey::<Sha256>::new(key)
        .verify(message, &sig)
        .map_err(|_| Refusal::BadSignature)
}
