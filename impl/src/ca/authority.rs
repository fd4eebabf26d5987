//! The certificate authority itself: its key and root certificate, and the operations that
//! issue, revoke, suspend and resume certificates and publish CRLs (R-ISSUE, R-ONE, R-LINK,
//! R-REVOKE, R-SUSPEND, R-MODEL-CHANGE, INV-ISSUE-AUTH).
//!
//! Every operation takes the current [`LogicalTime`]. Certificates are built and signed before
//! the registry is touched, and the registry step is atomic, so a refused or failed operation
//! changes nothing (not even the serial counter).

use super::cert::{
    self, build_certificate, key_identifier, oids, spki_of, CertKind, CertProfile, CertSpec, Issuer,
};
use super::crl::{build_crl, Crl};
use super::registry::{
    CardEnd, CardEnded, CertRecord, CertStatus, CertSubject, Registry, RevocationCause,
    RevokedPhoneCert, StatusAnswer,
};
use super::{CaError, LogicalTime, PersonId, PhoneId, Serial};
use crate::crypto::KeySource;
use der::Encode;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use sha2::Sha256;
use std::fmt;
use x509_cert::name::Name;
use x509_cert::Certificate;

/// The serial number of the CA root certificate.
pub const ROOT_SERIAL: Serial = Serial(1);

/// A newly issued card signing certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardCertIssued {
    /// Its serial.
    pub serial: Serial,
    /// Its generation (0 for the person's first).
    pub generation: u32,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The previous generation it superseded, with the phone certs revoked in tandem (R-LINK).
    pub superseded: Option<CardEnded>,
}

/// A newly issued phone certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneCertIssued {
    /// Its serial.
    pub serial: Serial,
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The person's previous live certificate of the same kind, revoked in the same step
    /// (model change; R-ONE, R-MODEL-CHANGE). The TSM sends the deletion push to its phone.
    pub revoked_previous: Option<RevokedPhoneCert>,
}

/// A card signature that verified (R-ISSUE): whose card, and which card certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedCard {
    /// The card holder.
    pub person: PersonId,
    /// The card signing certificate that verified the signature; pass it to
    /// [`Ca::issue_phone_cert`] as the authorisation.
    pub card_serial: Serial,
}

/// The emulated J-LIS CA (see the module documentation). `Clone` makes a snapshot of the
/// whole CA, key included (for system snapshots in tests and model checking).
#[derive(Clone)]
pub struct Ca {
    key: SigningKey<Sha256>,
    public: RsaPublicKey,
    name: Name,
    key_id: Vec<u8>,
    root: Certificate,
    root_der: Vec<u8>,
    registry: Registry,
    next_serial: u64,
    next_crl_number: u64,
}

impl fmt::Debug for Ca {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ca")
            .field("name", &self.name.to_string())
            .field("certificates", &self.registry.records().count())
            .field("next_serial", &self.next_serial)
            .field("next_crl_number", &self.next_crl_number)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// A new CA with a key pair from `keys` and a self-signed root certificate valid for
    /// [`cert::CA_VALIDITY_SECS`] from `now`.
    pub fn new(keys: &mut dyn KeySource, now: LogicalTime) -> Result<Self, CaError> {
        let private = keys.generate().map_err(CaError::KeyGeneration)?;
        let public = private.to_public_key();
        let key = SigningKey::<Sha256>::new(private);
        let name = CertProfile::CaRoot.subject()?;
        let key_id = key_identifier(&spki_of(&public)?)?;
        let root = build_certificate(
            &CertSpec {
                profile: CertProfile::CaRoot,
                serial: ROOT_SERIAL,
                not_before: now,
                not_after: now.plus(cert::CA_VALIDITY_SECS),
                subject_key: &public,
            },
            &Issuer {
                name: &name,
                key: &key,
                key_id: &key_id,
            },
        )?;
        let root_der = root.to_der()?;
        Ok(Ca {
            key,
            public,
            name,
            key_id,
            root,
            root_der,
            registry: Registry::new(),
            next_serial: ROOT_SERIAL.0 + 1,
            next_crl_number: 1,
        })
    }

    /// The CA's distinguished name (issuer of every certificate and CRL).
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The CA's public key.
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// The self-signed root certificate.
    pub fn root_certificate(&self) -> &Certificate {
        &self.root
    }

    /// The root certificate, DER.
    pub fn root_der(&self) -> &[u8] {
        &self.root_der
    }

    /// The root certificate, PEM.
    pub fn root_pem(&self) -> Result<String, CaError> {
        cert::certificate_pem(&self.root_der)
    }

    /// The registry (read only; it changes only through the CA's operations).
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn issuer(&self) -> Issuer<'_> {
        Issuer {
            name: &self.name,
            key: &self.key,
            key_id: &self.key_id,
        }
    }

    fn build(
        &self,
        profile: CertProfile,
        not_before: LogicalTime,
        not_after: LogicalTime,
        subject_key: &RsaPublicKey,
    ) -> Result<(Serial, Vec<u8>), CaError> {
        let serial = Serial(self.next_serial);
        let certificate = build_certificate(
            &CertSpec {
                profile,
                serial,
                not_before,
                not_after,
                subject_key,
            },
            &self.issuer(),
        )?;
        Ok((serial, certificate.to_der()?))
    }

    /// Issue a new card signing certificate generation for `person` over the card's public
    /// key, valid [`cert::CARD_VALIDITY_SECS`] from `now`. The previous generation, if still
    /// live, is superseded and its linked phone certs are revoked (R-LINK, `CardRenew`).
    pub fn issue_card_cert(
        &mut self,
        person: PersonId,
        card_key: &RsaPublicKey,
        now: LogicalTime,
    ) -> Result<CardCertIssued, CaError> {
        let generation = self.registry.next_card_generation(person);
        let not_after = now.plus(cert::CARD_VALIDITY_SECS);
        let (serial, der) = self.build(
            CertProfile::CardSigning { person },
            now,
            not_after,
            card_key,
        )?;
        let superseded = self.registry.add_card_cert(
            CertRecord {
                serial,
                person,
                subject: CertSubject::CardSigning { generation },
                status: CertStatus::Active,
                not_before: now,
                not_after,
                der: der.clone(),
            },
            now,
        )?;
        self.next_serial += 1;
        Ok(CardCertIssued {
            serial,
            generation,
            der,
            superseded,
        })
    }

    /// Revoke the person's current card signing certificate (`CardRevoke`); its linked phone
    /// certs are revoked in tandem (R-LINK, R-REVOKE(c)).
    pub fn revoke_card_cert(
        &mut self,
        person: PersonId,
        now: LogicalTime,
    ) -> Result<CardEnded, CaError> {
        self.registry.end_card_cert(person, CardEnd::Revoked, now)
    }

    /// Record the expiry of the person's current card signing certificate (`CardExpire`).
    /// Expiry is a status, not a CRL entry; the linked phone certs are revoked (R-LINK) and
    /// are CRL entries.
    pub fn expire_card_cert(
        &mut self,
        person: PersonId,
        now: LogicalTime,
    ) -> Result<CardEnded, CaError> {
        self.registry.end_card_cert(person, CardEnd::Expired, now)
    }

    /// Verify an application signed by a My Number card (R-ISSUE): the card certificate
    /// (DER, as read from the card) must be issued by this CA, carry the card-signing policy,
    /// be the registered certificate, be its holder's current card certificate and valid at
    /// `now`; and `signature` must be a RSASSA-PKCS1-v1_5/SHA-256 signature of `application`
    /// under its key. Revoked, superseded or expired card certificates are refused.
    pub fn verify_card_signature(
        &self,
        application: &[u8],
        signature: &[u8],
        card_cert_der: &[u8],
        now: LogicalTime,
    ) -> Result<VerifiedCard, CaError> {
        let certificate = cert::parse_certificate(card_cert_der)?;
        cert::verify_issued_by(&certificate, &self.name, &self.public)?;
        cert::require_policy(&certificate, oids::POLICY_CARD_SIGN)?;
        let serial = cert::serial_of(&certificate)?;
        let record = self.registered(serial, card_cert_der)?;
        let person = record.person;
        self.registry.check_card_valid(serial, person, now)?;
        let key = cert::public_key_of(&certificate)?;
        let sig = Signature::try_from(signature).map_err(|_| CaError::BadSignature)?;
        VerifyingKey::<Sha256>::new(key)
            .verify(application, &sig)
            .map_err(|_| CaError::BadSignature)?;
        Ok(VerifiedCard {
            person,
            card_serial: serial,
        })
    }

    /// The registry record for `serial`, which must hold exactly `der_bytes`.
    fn registered(&self, serial: Serial, der_bytes: &[u8]) -> Result<&CertRecord, CaError> {
        let record = self
            .registry
            .get(serial)
            .ok_or(CaError::UnknownSerial(serial))?;
        if record.der != der_bytes {
            return Err(CaError::NotIssuedByThisCa(format!(
                "certificate differs from the registered {serial}"
            )));
        }
        Ok(record)
    }

    /// Issue a phone certificate of `kind` for `person` over `public_key` (generated in the SE
    /// of `phone`), authorised by the card signing certificate `authorised_by`.
    ///
    /// Refused unless `authorised_by` is `person`'s current card certificate and valid at
    /// `now` (INV-ISSUE-AUTH). In ONE registry step it registers the new certificate and
    /// revokes the person's previous live certificate of the same kind, on whatever phone
    /// (reason superseded; R-ONE, R-MODEL-CHANGE), and reports that one for the deletion
    /// push. Validity: from `now` for [`cert::PHONE_VALIDITY_SECS`], cut at the card
    /// certificate's notAfter.
    pub fn issue_phone_cert(
        &mut self,
        person: PersonId,
        kind: CertKind,
        phone: PhoneId,
        public_key: &RsaPublicKey,
        authorised_by: Serial,
        now: LogicalTime,
    ) -> Result<PhoneCertIssued, CaError> {
        let card = self.registry.check_card_valid(authorised_by, person, now)?;
        let not_after = now.plus(cert::PHONE_VALIDITY_SECS).min(card.not_after);
        let (serial, der) = self.build(
            CertProfile::Phone {
                person,
                kind,
                phone,
            },
            now,
            not_after,
            public_key,
        )?;
        let revoked_previous = self.registry.add_phone_cert(
            CertRecord {
                serial,
                person,
                subject: CertSubject::Phone {
                    kind,
                    phone,
                    card_serial: authorised_by,
                },
                status: CertStatus::Active,
                not_before: now,
                not_after,
                der: der.clone(),
            },
            now,
        )?;
        self.next_serial += 1;
        Ok(PhoneCertIssued {
            serial,
            der,
            revoked_previous,
        })
    }

    /// Revoke a live (Active or Suspended) phone certificate on request (R-REVOKE(a), (b)).
    /// `cause` must be [`RevocationCause::UserRequestFromPhone`] or
    /// [`RevocationCause::WithCard`]; the other causes are the CA's own.
    pub fn revoke_phone_cert(
        &mut self,
        serial: Serial,
        cause: RevocationCause,
        now: LogicalTime,
    ) -> Result<RevokedPhoneCert, CaError> {
        if !cause.requestable_for_phone() {
            return Err(CaError::CauseNotRequestable(cause));
        }
        self.registry.revoke_phone(serial, cause, now)
    }

    /// The validity period of a live phone certificate ends (`CertExpire`, 更新): its expiry
    /// is recorded; relying parties refuse it and the app deletes it at its next status sync.
    pub fn expire_phone_cert(&mut self, serial: Serial, now: LogicalTime) -> Result<(), CaError> {
        self.registry.expire_phone(serial, now)
    }

    /// Suspend an Active phone certificate (call center; R-SUSPEND, R-TEMP-LOSS). It appears
    /// on the CRL with reason certificateHold.
    pub fn suspend(&mut self, serial: Serial, now: LogicalTime) -> Result<(), CaError> {
        self.registry.suspend(serial, now)
    }

    /// Resume a Suspended phone certificate (R-SUSPEND); it leaves the CRL. Refused unless
    /// the certificate is Suspended.
    pub fn resume(&mut self, serial: Serial) -> Result<(), CaError> {
        self.registry.resume(serial)
    }

    /// Status query by serial (Active / Suspended / Revoked with cause / Expired / Unknown).
    pub fn status(&self, serial: Serial) -> StatusAnswer {
        self.registry.status(serial)
    }

    /// Every certificate of `person`, in serial order.
    pub fn certificates_of(&self, person: PersonId) -> Vec<&CertRecord> {
        self.registry.certificates_of(person)
    }

    /// The person's live (Active or Suspended) phone certificate of `kind`, if any.
    pub fn live_phone_cert(&self, person: PersonId, kind: CertKind) -> Option<&CertRecord> {
        self.registry.live_phone_cert(person, kind)
    }

    /// The person's current card signing certificate if it is valid at `now`.
    pub fn current_card_cert(&self, person: PersonId, now: LogicalTime) -> Option<&CertRecord> {
        let latest = self.registry.latest_card_cert(person)?;
        self.registry
            .check_card_valid(latest.serial, person, now)
            .ok()
    }

    /// A relying party's check of a presented phone certificate (INV-NO-USE-AFTER-REVOKE):
    /// issued by this CA, a phone certificate of `kind`, registered, Active, and within its
    /// validity at `now`. Returns its registry record.
    pub fn validate_phone_cert(
        &self,
        der_bytes: &[u8],
        kind: CertKind,
        now: LogicalTime,
    ) -> Result<&CertRecord, CaError> {
        let certificate = cert::parse_certificate(der_bytes)?;
        cert::verify_issued_by(&certificate, &self.name, &self.public)?;
        let policy = match kind {
            CertKind::Auth => oids::POLICY_PHONE_AUTH,
            CertKind::Sign => oids::POLICY_PHONE_SIGN,
        };
        cert::require_policy(&certificate, policy)?;
        let serial = cert::serial_of(&certificate)?;
        let record = self.registered(serial, der_bytes)?;
        if record.status != CertStatus::Active {
            return Err(CaError::NotGood {
                serial,
                status: record.status,
            });
        }
        if now < record.not_before || now >= record.not_after {
            return Err(CaError::OutsideValidity {
                serial,
                not_before: record.not_before,
                not_after: record.not_after,
                now,
            });
        }
        Ok(record)
    }

    /// Issue a CRL at `now` listing every revoked and suspended certificate; each call gets
    /// the next cRLNumber.
    pub fn issue_crl(&mut self, now: LogicalTime) -> Result<Crl, CaError> {
        let crl = build_crl(
            &self.issuer(),
            self.next_crl_number,
            now,
            self.registry.crl_entries(),
        )?;
        self.next_crl_number += 1;
        Ok(crl)
    }
}
