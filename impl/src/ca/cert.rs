//! X.509 v3 certificate profiles of the emulated J-LIS CA, and checks on presented
//! certificates (R-KINDS, R-KEYGEN, R-ISSUE).
//!
//! Every certificate is DER, RSA-2048, signed sha256WithRSAEncryption by the CA. Profiles:
//!
//! | profile | basicConstraints | keyUsage | policy |
//! |---|---|---|---|
//! | CA root (self-signed) | CA, critical | keyCertSign, cRLSign | none |
//! | card signing | end entity, critical | digitalSignature, nonRepudiation | [`oids::POLICY_CARD_SIGN`] |
//! | phone signing | end entity, critical | digitalSignature, nonRepudiation | [`oids::POLICY_PHONE_SIGN`] |
//! | phone user authentication | end entity, critical | digitalSignature | [`oids::POLICY_PHONE_AUTH`] |
//!
//! Every certificate carries a subjectKeyIdentifier (RFC 5280 method 1, SHA-1 of the key
//! bits) and an authorityKeyIdentifier equal to the CA's subjectKeyIdentifier (on the root,
//! its own). End-entity certificates also carry, so that a relying party finds status and
//! issuer on its own (RFC 5280 §4.2.1.13, §4.2.2.1): a cRLDistributionPoints with the full
//! name [`CRL_URL`] and an authorityInfoAccess with caIssuers [`CA_CERT_URL`] (both DER,
//! served on loopback by `phone-jpki ca serve`; a real CA would put its repository here). No
//! OCSP URL: the emulation runs no OCSP responder.
//!
//! No extendedKeyUsage (decision): JPKI relying parties tell the kinds apart by the policy
//! OID; an EKU would only narrow what the keys may be used for (clientAuth on the auth
//! certificate would keep it from document signing, emailProtection on the sign certificate
//! from other signatures) and the public JPKI profile is not known to carry one. keyUsage
//! stays the constraint.
//!
//! Subjects name the person by pseudonymous id (`CN=p3`) and, for phone certificates, the
//! phone (`OU=h1`) and kind (`OU=Phone Signing` / `OU=Phone Authentication`).

use super::{CaError, LogicalTime, PersonId, PhoneId, Serial};
use der::asn1::{BitString, OctetString};
use der::referenced::OwnedToRef;
use der::{Decode, Encode};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePublicKey, EncodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    certpolicy::PolicyInformation, AccessDescription, AuthorityInfoAccessSyntax,
    AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies, CrlDistributionPoints, KeyUsage,
    KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::spki::{AlgorithmIdentifierOwned, DynSignatureAlgorithmIdentifier};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

/// Certificate-policy OIDs distinguishing the certificate kinds (R-KINDS).
///
/// PLACEHOLDERS under the documentation arc 1.3.6.1.4.1.32473 that RFC 5612 reserves for
/// examples (this project owns no arc); real J-LIS policy OIDs would replace them. Arc `.1`
/// is the card, arc `.2` the phone; leaf `.1` signing, `.2` user authentication.
pub mod oids {
    use x509_cert::der::oid::ObjectIdentifier;

    /// Card signing certificate (署名用電子証明書 on the My Number card).
    pub const POLICY_CARD_SIGN: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1.1");
    /// Card user-authentication certificate (reserved: this emulation issues no card auth
    /// certificates, the card emulator holds only the signing key).
    pub const POLICY_CARD_AUTH: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.1.2");
    /// Phone signing certificate.
    pub const POLICY_PHONE_SIGN: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.2.1");
    /// Phone user-authentication certificate.
    pub const POLICY_PHONE_AUTH: ObjectIdentifier =
        ObjectIdentifier::new_unwrap("1.3.6.1.4.1.32473.2.2");
}

/// Where the CA publishes (loopback: `phone-jpki ca serve`'s default address).
pub const PUBLICATION_ADDR: &str = "127.0.0.1:8780";
/// The CRL's URL in every end-entity certificate (DER CRL).
pub const CRL_URL: &str = "http://127.0.0.1:8780/crl.der";
/// The CA certificate's URL (AIA caIssuers; DER certificate).
pub const CA_CERT_URL: &str = "http://127.0.0.1:8780/ca.der";

/// id-ad-caIssuers (RFC 5280 §4.2.2.1).
const ID_AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");

fn uri(url: &str) -> Result<GeneralName, CaError> {
    Ok(GeneralName::UniformResourceIdentifier(
        der::asn1::Ia5String::new(url).map_err(CaError::from)?,
    ))
}

/// cRLDistributionPoints and authorityInfoAccess of an end-entity certificate.
fn publication_extensions() -> Result<[Extension; 2], CaError> {
    let dp = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(CRL_URL)?])),
        reasons: None,
        crl_issuer: None,
    }]);
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: ID_AD_CA_ISSUERS,
        access_location: uri(CA_CERT_URL)?,
    }]);
    Ok([extension(&dp, false)?, extension(&aia, false)?])
}

/// Validity of the CA root: 20 years from its creation.
pub const CA_VALIDITY_SECS: u64 = 20 * LogicalTime::YEAR;
/// Validity of a card signing certificate: 5 years (as the real signing certificate).
pub const CARD_VALIDITY_SECS: u64 = 5 * LogicalTime::YEAR;
/// Maximum validity of a phone certificate: 5 years, and never past the notAfter of the
/// card certificate that authorised it.
pub const PHONE_VALIDITY_SECS: u64 = 5 * LogicalTime::YEAR;

/// The two kinds of phone certificate (R-KINDS), mirroring the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CertKind {
    /// User authentication (利用者証明用), 4-digit PIN.
    Auth,
    /// Signing (署名用), alphanumeric password.
    Sign,
}

impl CertKind {
    /// Both kinds, in a fixed order.
    pub const ALL: [CertKind; 2] = [CertKind::Auth, CertKind::Sign];
}

impl fmt::Display for CertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertKind::Auth => write!(f, "auth"),
            CertKind::Sign => write!(f, "sign"),
        }
    }
}

/// What a certificate is, which fixes its subject, key usage and policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertProfile {
    /// The self-signed CA root.
    CaRoot,
    /// A card signing certificate of `person`.
    CardSigning {
        /// Holder.
        person: PersonId,
    },
    /// A phone certificate of `person`, of `kind`, on `phone`.
    Phone {
        /// Holder.
        person: PersonId,
        /// Signing or user authentication.
        kind: CertKind,
        /// The phone whose SE holds the key.
        phone: PhoneId,
    },
}

impl CertProfile {
    /// The certificate-policy OID of this profile (none for the CA root).
    pub fn policy_oid(&self) -> Option<ObjectIdentifier> {
        match self {
            CertProfile::CaRoot => None,
            CertProfile::CardSigning { .. } => Some(oids::POLICY_CARD_SIGN),
            CertProfile::Phone {
                kind: CertKind::Sign,
                ..
            } => Some(oids::POLICY_PHONE_SIGN),
            CertProfile::Phone {
                kind: CertKind::Auth,
                ..
            } => Some(oids::POLICY_PHONE_AUTH),
        }
    }

    /// The key usages of this profile.
    pub fn key_usage(&self) -> KeyUsage {
        match self {
            CertProfile::CaRoot => KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign),
            CertProfile::CardSigning { .. }
            | CertProfile::Phone {
                kind: CertKind::Sign,
                ..
            } => KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            CertProfile::Phone {
                kind: CertKind::Auth,
                ..
            } => KeyUsage(KeyUsages::DigitalSignature.into()),
        }
    }

    /// The subject distinguished name, in RFC 4514 string form.
    pub fn subject_string(&self) -> String {
        match self {
            CertProfile::CaRoot => CA_SUBJECT.to_string(),
            CertProfile::CardSigning { person } => {
                format!("CN={person},OU=Card Signing,{ORG}")
            }
            CertProfile::Phone {
                person,
                kind,
                phone,
            } => {
                let what = match kind {
                    CertKind::Sign => "Phone Signing",
                    CertKind::Auth => "Phone Authentication",
                };
                format!("CN={person},OU={phone},OU={what},{ORG}")
            }
        }
    }

    /// The subject distinguished name.
    pub fn subject(&self) -> Result<Name, CaError> {
        Name::from_str(&self.subject_string()).map_err(CaError::from)
    }
}

const ORG: &str = "O=JPKI Emulation,C=JP";
const CA_SUBJECT: &str = "CN=JPKI Emulated J-LIS CA,O=JPKI Emulation,C=JP";

/// Convert a logical time to an X.509 `Time`: UTCTime through 2049, GeneralizedTime after
/// (RFC 5280 §4.1.2.5).
pub fn x509_time(t: LogicalTime) -> Result<Time, CaError> {
    let dt = der::DateTime::from_unix_duration(std::time::Duration::from_secs(t.unix_secs()))
        .map_err(|_| CaError::TimeOutOfRange(t))?;
    if dt.year() < 2050 {
        der::asn1::UtcTime::from_date_time(dt)
            .map(Time::UtcTime)
            .map_err(|_| CaError::TimeOutOfRange(t))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_date_time(dt),
        ))
    }
}

/// Convert an X.509 `Time` back to logical time (times before the base date map to 0).
pub fn logical_time(t: &Time) -> LogicalTime {
    LogicalTime(
        t.to_unix_duration()
            .as_secs()
            .saturating_sub(LogicalTime::BASE_UNIX_SECS),
    )
}

/// Check that `key` is acceptable as a subject key: RSA with a 2048-bit modulus (R-KEYGEN).
pub fn check_rsa_2048(key: &RsaPublicKey) -> Result<(), CaError> {
    let bits = key.n().bits();
    if bits == crate::crypto::RSA_BITS {
        Ok(())
    } else {
        Err(CaError::BadPublicKey(format!(
            "RSA modulus of {bits} bits, {} required",
            crate::crypto::RSA_BITS
        )))
    }
}

/// The SubjectPublicKeyInfo of an RSA public key.
pub fn spki_of(key: &RsaPublicKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    let doc = key
        .to_public_key_der()
        .map_err(|e| CaError::Encoding(e.to_string()))?;
    SubjectPublicKeyInfoOwned::from_der(doc.as_bytes()).map_err(CaError::from)
}

/// The RFC 5280 method-1 key identifier (SHA-1 of the subjectPublicKey bits) of `spki`.
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Result<Vec<u8>, CaError> {
    let ski = SubjectKeyIdentifier::try_from(spki.owned_to_ref())?;
    Ok(ski.0.as_bytes().to_vec())
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// The CA's identity as an issuer: name, signing key, key identifier.
pub(crate) struct Issuer<'a> {
    pub(crate) name: &'a Name,
    pub(crate) key: &'a SigningKey<Sha256>,
    pub(crate) key_id: &'a [u8],
}

/// Everything that varies between two certificates of the same profile.
pub(crate) struct CertSpec<'a> {
    pub(crate) profile: CertProfile,
    pub(crate) serial: Serial,
    pub(crate) not_before: LogicalTime,
    pub(crate) not_after: LogicalTime,
    pub(crate) subject_key: &'a RsaPublicKey,
}

/// The sha256WithRSAEncryption algorithm identifier (with NULL parameters).
pub(crate) fn signature_algorithm(
    key: &SigningKey<Sha256>,
) -> Result<AlgorithmIdentifierOwned, CaError> {
    key.signature_algorithm_identifier()
        .map_err(|e| CaError::Encoding(e.to_string()))
}

/// Sign `tbs` (DER) with the CA key: RSASSA-PKCS1-v1_5 / SHA-256.
pub(crate) fn sign_der(key: &SigningKey<Sha256>, tbs: &[u8]) -> Result<BitString, CaError> {
    let sig: Signature = key
        .try_sign(tbs)
        .map_err(|e| CaError::Signing(e.to_string()))?;
    BitString::from_bytes(&sig.to_vec()).map_err(CaError::from)
}

/// Build and sign a certificate. For [`CertProfile::CaRoot`] the issuer is the subject.
pub(crate) fn build_certificate(
    spec: &CertSpec<'_>,
    issuer: &Issuer<'_>,
) -> Result<Certificate, CaError> {
    check_rsa_2048(spec.subject_key)?;
    let spki = spki_of(spec.subject_key)?;
    let subject = spec.profile.subject()?;
    let ski = key_identifier(&spki)?;
    let mut extensions = Vec::new();
    match spec.profile {
        CertProfile::CaRoot => {
            extensions.push(extension(
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
                true,
            )?);
            extensions.push(extension(&spec.profile.key_usage(), true)?);
            extensions.push(extension(
                &SubjectKeyIdentifier(OctetString::new(ski.clone())?),
                false,
            )?);
            // Self-signed: the AKI names its own key (RFC 5280 §4.2.1.1 allows omitting it;
            // path builders and linters prefer it present).
            extensions.push(extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(ski)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?);
        }
        CertProfile::CardSigning { .. } | CertProfile::Phone { .. } => {
            extensions.push(extension(
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
                true,
            )?);
            extensions.push(extension(&spec.profile.key_usage(), true)?);
            extensions.push(extension(
                &SubjectKeyIdentifier(OctetString::new(ski)?),
                false,
            )?);
            extensions.push(extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(OctetString::new(issuer.key_id)?),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?);
            if let Some(policy) = spec.profile.policy_oid() {
                extensions.push(extension(
                    &CertificatePolicies(vec![PolicyInformation {
                        policy_identifier: policy,
                        policy_qualifiers: None,
                    }]),
                    false,
                )?);
            }
            extensions.extend(publication_extensions()?);
        }
    }
    let algorithm = signature_algorithm(issuer.key)?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::from(spec.serial.0),
        signature: algorithm.clone(),
        issuer: match spec.profile {
            CertProfile::CaRoot => subject.clone(),
            _ => issuer.name.clone(),
        },
        validity: Validity {
            not_before: x509_time(spec.not_before)?,
            not_after: x509_time(spec.not_after)?,
        },
        subject,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = sign_der(issuer.key, &tbs.to_der()?)?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature,
    })
}

/// Parse DER bytes presented from outside into a certificate.
pub fn parse_certificate(der_bytes: &[u8]) -> Result<Certificate, CaError> {
    Certificate::from_der(der_bytes).map_err(|e| CaError::MalformedCertificate(e.to_string()))
}

/// Check that `cert` was signed by `issuer_key` under `issuer_name` with
/// sha256WithRSAEncryption.
pub fn verify_issued_by(
    cert: &Certificate,
    issuer_name: &Name,
    issuer_key: &RsaPublicKey,
) -> Result<(), CaError> {
    let expected = SHA256_WITH_RSA;
    if cert.signature_algorithm.oid != expected || cert.tbs_certificate.signature.oid != expected {
        return Err(CaError::UnsupportedAlgorithm(
            cert.signature_algorithm.oid.to_string(),
        ));
    }
    if &cert.tbs_certificate.issuer != issuer_name {
        return Err(CaError::NotIssuedByThisCa(format!(
            "issuer is {}",
            cert.tbs_certificate.issuer
        )));
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| CaError::MalformedCertificate(e.to_string()))?;
    let sig_bytes = cert
        .signature
        .as_bytes()
        .ok_or_else(|| CaError::MalformedCertificate("signature has unused bits".into()))?;
    let sig = Signature::try_from(sig_bytes)
        .map_err(|_| CaError::NotIssuedByThisCa("signature is malformed".into()))?;
    VerifyingKey::<Sha256>::new(issuer_key.clone())
        .verify(&tbs, &sig)
        .map_err(|_| CaError::NotIssuedByThisCa("signature does not verify".into()))
}

/// sha256WithRSAEncryption (RFC 4055 §5).
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");

/// The serial number of `cert` as a [`Serial`] (errors if it does not fit in 64 bits).
pub fn serial_of(cert: &Certificate) -> Result<Serial, CaError> {
    serial_from(&cert.tbs_certificate.serial_number)
}

/// An X.509 serial number as a [`Serial`] (errors if it does not fit in 64 bits).
pub fn serial_from(serial: &SerialNumber) -> Result<Serial, CaError> {
    let bytes = serial.as_bytes();
    let bytes = match bytes.split_first() {
        Some((0, rest)) => rest,
        _ => bytes,
    };
    if bytes.len() > 8 {
        return Err(CaError::MalformedCertificate(format!(
            "serial of {} bytes is not one of ours",
            bytes.len()
        )));
    }
    let mut buf = [0u8; 8];
    let start = 8 - bytes.len();
    buf[start..].copy_from_slice(bytes);
    Ok(Serial(u64::from_be_bytes(buf)))
}

/// The certificate-policy OIDs `cert` carries (empty if it has no certificatePolicies).
pub fn policy_oids(cert: &Certificate) -> Result<Vec<ObjectIdentifier>, CaError> {
    let mut out = Vec::new();
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        if ext.extn_id == CertificatePolicies::OID {
            let policies = CertificatePolicies::from_der(ext.extn_value.as_bytes())
                .map_err(|e| CaError::MalformedCertificate(e.to_string()))?;
            out.extend(policies.0.into_iter().map(|p| p.policy_identifier));
        }
    }
    Ok(out)
}

/// Require that `cert` carries the policy `expected` (R-KINDS).
pub fn require_policy(cert: &Certificate, expected: ObjectIdentifier) -> Result<(), CaError> {
    let found = policy_oids(cert)?;
    if found.contains(&expected) {
        Ok(())
    } else {
        Err(CaError::WrongCertificateKind {
            expected: expected.to_string(),
            found: found.iter().map(|o| o.to_string()).collect(),
        })
    }
}

/// The RSA public key certified by `cert`.
pub fn public_key_of(cert: &Certificate) -> Result<RsaPublicKey, CaError> {
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| CaError::MalformedCertificate(e.to_string()))?;
    let key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| CaError::BadPublicKey(e.to_string()))?;
    check_rsa_2048(&key)?;
    Ok(key)
}

/// PEM encoding (label `CERTIFICATE`) of certificate DER bytes.
pub fn certificate_pem(der_bytes: &[u8]) -> Result<String, CaError> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der_bytes)
        .map_err(|e| CaError::Encoding(e.to_string()))
}
