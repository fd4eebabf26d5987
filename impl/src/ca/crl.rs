//! The CA's X.509 v2 certificate revocation list (R-REVOKE, R-SUSPEND,
//! INV-NO-USE-AFTER-REVOKE).
//!
//! One CRL lists every revoked certificate and every suspended one (reason certificateHold).
//! Entries carry the `reasonCode` extension, except reason unspecified, for which RFC 5280
//! §5.3.1 asks that the extension be absent. CRL extensions: authorityKeyIdentifier and
//! cRLNumber, which increases by one for each CRL issued. `nextUpdate` is one day after
//! `thisUpdate`.

use super::cert::{sign_der, signature_algorithm, x509_time, Issuer, SHA256_WITH_RSA};
use super::{CaError, CrlReason, LogicalTime, Serial};
use der::asn1::{OctetString, Uint};
use der::{Decode, Encode};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::der::oid::AssociatedOid;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::Version;

/// How long a CRL is current: `nextUpdate = thisUpdate + CRL_VALIDITY_SECS` (one day).
pub const CRL_VALIDITY_SECS: u64 = LogicalTime::DAY;

/// One CRL entry: a revoked or held certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrlEntry {
    /// The certificate.
    pub serial: Serial,
    /// When it was revoked or suspended.
    pub time: LogicalTime,
    /// RFC 5280 reason code.
    pub reason: CrlReason,
}

/// An issued CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    /// The cRLNumber.
    pub number: u64,
    /// thisUpdate.
    pub this_update: LogicalTime,
    /// nextUpdate.
    pub next_update: LogicalTime,
    /// The entries, in serial order.
    pub entries: Vec<CrlEntry>,
    der: Vec<u8>,
}

impl Crl {
    /// The CRL, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The CRL, PEM (label `X509 CRL`).
    pub fn to_pem(&self) -> Result<String, CaError> {
        der::pem::encode_string("X509 CRL", der::pem::LineEnding::LF, &self.der)
            .map_err(|e| CaError::Encoding(e.to_string()))
    }

    /// Whether `serial` is listed, and with which reason.
    pub fn reason_for(&self, serial: Serial) -> Option<CrlReason> {
        self.entries
            .iter()
            .find(|e| e.serial == serial)
            .map(|e| e.reason)
    }
}

fn extension<T: AssociatedOid + Encode>(value: &T) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical: false,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// Build and sign a CRL over `entries`.
pub(crate) fn build_crl(
    issuer: &Issuer<'_>,
    number: u64,
    this_update: LogicalTime,
    entries: Vec<CrlEntry>,
) -> Result<Crl, CaError> {
    let next_update = this_update.plus(CRL_VALIDITY_SECS);
    let mut revoked = Vec::with_capacity(entries.len());
    for e in &entries {
        let crl_entry_extensions = if e.reason == CrlReason::Unspecified {
            None
        } else {
            Some(vec![extension(&e.reason)?])
        };
        revoked.push(RevokedCert {
            serial_number: SerialNumber::from(e.serial.0),
            revocation_date: x509_time(e.time)?,
            crl_entry_extensions,
        });
    }
    let algorithm = signature_algorithm(issuer.key)?;
    let tbs = TbsCertList {
        version: Version::V2,
        signature: algorithm.clone(),
        issuer: issuer.name.clone(),
        this_update: x509_time(this_update)?,
        next_update: Some(x509_time(next_update)?),
        revoked_certificates: if revoked.is_empty() {
            None
        } else {
            Some(revoked)
        },
        crl_extensions: Some(vec![
            extension(&AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(issuer.key_id)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            })?,
            extension(&CrlNumber(Uint::new(&number.to_be_bytes())?))?,
        ]),
    };
    let signature = sign_der(issuer.key, &tbs.to_der()?)?;
    let list = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature,
    };
    Ok(Crl {
        number,
        this_update,
        next_update,
        entries,
        der: list.to_der()?,
    })
}

/// Parse a DER CRL and check its signature under `issuer_name` / `issuer_key`; returns the
/// parsed list. For relying parties and tests.
pub fn parse_and_verify(
    der_bytes: &[u8],
    issuer_name: &Name,
    issuer_key: &RsaPublicKey,
) -> Result<CertificateList, CaError> {
    let list = CertificateList::from_der(der_bytes)
        .map_err(|e| CaError::MalformedCertificate(format!("CRL: {e}")))?;
    // RFC 5280 §5.1.1.2: the outer signatureAlgorithm is the signed one, parameters
    // included (the signature covers only the inner copy); sha256WithRSAEncryption takes
    // NULL parameters (RFC 4055 §5) or none.
    let signed = &list.tbs_cert_list.signature;
    let null_or_absent = signed
        .parameters
        .as_ref()
        .is_none_or(|p| der::Tagged::tag(p) == der::Tag::Null && p.value().is_empty());
    if signed.oid != SHA256_WITH_RSA || !null_or_absent {
        return Err(CaError::UnsupportedAlgorithm(format!(
            "CRL signature algorithm {} with parameters {:?}",
            signed.oid, signed.parameters
        )));
    }
    if &list.signature_algorithm != signed {
        return Err(CaError::NotIssuedByThisCa(
            "CRL signatureAlgorithm differs from the signed one (parameters altered)".into(),
        ));
    }
    if &list.tbs_cert_list.issuer != issuer_name {
        return Err(CaError::NotIssuedByThisCa(format!(
            "CRL issuer is {}",
            list.tbs_cert_list.issuer
        )));
    }
    let tbs = list
        .tbs_cert_list
        .to_der()
        .map_err(|e| CaError::MalformedCertificate(e.to_string()))?;
    let sig = list
        .signature
        .as_bytes()
        .and_then(|b| Signature::try_from(b).ok())
        .ok_or_else(|| CaError::NotIssuedByThisCa("CRL signature is malformed".into()))?;
    VerifyingKey::<Sha256>::new(issuer_key.clone())
        .verify(&tbs, &sig)
        .map_err(|_| CaError::NotIssuedByThisCa("CRL signature does not verify".into()))?;
    Ok(list)
}

/// The reason code in a parsed CRL entry (`None` if the entry has no reasonCode).
pub fn entry_reason(entry: &RevokedCert) -> Result<Option<CrlReason>, CaError> {
    for ext in entry.crl_entry_extensions.iter().flatten() {
        if ext.extn_id == CrlReason::OID {
            return CrlReason::from_der(ext.extn_value.as_bytes())
                .map(Some)
                .map_err(|e| CaError::MalformedCertificate(format!("reasonCode: {e}")));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SeededKeyPool;
    use der::asn1::Any;

    /// Finding 8 of issue 16: only the OIDs were compared, so a CRL whose outer
    /// signatureAlgorithm parameters were altered still verified.
    #[test]
    fn altered_outer_algorithm_parameters_are_refused() {
        let mut ca = crate::ca::Ca::new(&mut SeededKeyPool::new(0xC1), LogicalTime::BASE).unwrap();
        let crl = ca.issue_crl(LogicalTime::BASE.plus(1)).unwrap();
        let (name, key) = (ca.name().clone(), ca.public_key().clone());
        parse_and_verify(&crl.der, &name, &key).unwrap();
        for params in [
            Some(Any::new(der::Tag::Integer, [0u8]).unwrap()),
            Some(Any::new(der::Tag::OctetString, [1u8, 2]).unwrap()),
            None,
        ] {
            let mut list = CertificateList::from_der(&crl.der).unwrap();
            list.signature_algorithm.parameters = params.clone();
            let altered = list.to_der().unwrap();
            assert!(
                matches!(
                    parse_and_verify(&altered, &name, &key),
                    Err(CaError::NotIssuedByThisCa(_))
                ),
                "outer parameters {params:?}"
            );
        }
    }
}
