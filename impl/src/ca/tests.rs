//! Tests of the CA: certificate profiles, registry rules, CRL (keys from `SeededKeyPool`).

use super::cert::{self, oids, CertKind};
use super::crl::parse_and_verify;
use super::*;
use crate::card::MyNumberCard;
use crate::crypto::SeededKeyPool;
use der::{Decode, Encode};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;
use x509_cert::der::oid::AssociatedOid;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use x509_cert::Certificate;

pub(super) const CA_SEED: u64 = 0xCA;
pub(super) const PHONE_KEY_SEED: u64 = 0x5E;
pub(super) const T0: LogicalTime = LogicalTime(3_600);
pub(super) const PASSWORD: &str = "abc123";
pub(super) const PIN: &str = "1234";

pub(super) fn new_ca() -> Ca {
    Ca::new(&mut SeededKeyPool::new(CA_SEED), LogicalTime::BASE).unwrap()
}

/// Person `p`'s card, enrolled at `now` (card keys: seed 0xC0DE00 + p).
pub(super) fn card_for(ca: &mut Ca, p: u32, now: LogicalTime) -> MyNumberCard {
    let mut keys = SeededKeyPool::new(0xC0DE00 + u64::from(p));
    let mut card = MyNumberCard::new(PersonId(p), &mut keys, PASSWORD, PIN).unwrap();
    card.enrol(ca, now).unwrap();
    card
}

pub(super) fn phone_key(i: u64) -> RsaPublicKey {
    SeededKeyPool::key(PHONE_KEY_SEED, i)
        .unwrap()
        .to_public_key()
}

/// The R-ISSUE flow: the card signs the application, the CA verifies it and issues.
pub(super) fn apply(
    ca: &mut Ca,
    card: &mut MyNumberCard,
    kind: CertKind,
    phone: PhoneId,
    key: u64,
    now: LogicalTime,
) -> Result<PhoneCertIssued, CaError> {
    let application = format!("apply {} {kind} {phone}", card.person()).into_bytes();
    let signature = card.sign_application(PASSWORD, &application).unwrap();
    let verified =
        ca.verify_card_signature(&application, &signature, card.certificate().unwrap(), now)?;
    assert_eq!(verified.person, card.person());
    ca.issue_phone_cert(
        verified.person,
        kind,
        phone,
        &phone_key(key),
        verified.card_serial,
        now,
    )
}

fn ext<T: AssociatedOid + for<'a> Decode<'a>>(c: &Certificate) -> Option<(bool, T)> {
    c.tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == T::OID)
        .map(|e| (e.critical, T::from_der(e.extn_value.as_bytes()).unwrap()))
}

fn revoked(cause: RevocationCause) -> impl Fn(&StatusAnswer) -> bool {
    move |s| matches!(s, StatusAnswer::Known(CertStatus::Revoked { cause: c, .. }) if *c == cause)
}

// ---------------------------------------------------------------------------------------
// Certificates (R-KINDS, R-KEYGEN)

#[test]
fn r_kinds_certificates_parse_verify_and_carry_policy_per_kind() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let auth = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(1), 0, T0).unwrap();
    let sign = apply(&mut ca, &mut card, CertKind::Sign, PhoneId(1), 1, T0).unwrap();

    // Root: self-signed, CA, keyCertSign + cRLSign, SKI.
    let root = Certificate::from_der(ca.root_der()).unwrap();
    assert_eq!(root.tbs_certificate.issuer, root.tbs_certificate.subject);
    cert::verify_issued_by(&root, ca.name(), ca.public_key()).unwrap();
    let (crit, bc) = ext::<BasicConstraints>(&root).unwrap();
    assert!(crit && bc.ca);
    let (_, ku) = ext::<KeyUsage>(&root).unwrap();
    assert!(ku.key_cert_sign() && ku.crl_sign() && !ku.digital_signature());
    let (_, root_ski) = ext::<SubjectKeyIdentifier>(&root).unwrap();
    assert!(cert::policy_oids(&root).unwrap().is_empty());

    let card_cert = Certificate::from_der(card.certificate().unwrap()).unwrap();
    let auth_cert = Certificate::from_der(&auth.der).unwrap();
    let sign_cert = Certificate::from_der(&sign.der).unwrap();
    let expected = [
        (&card_cert, oids::POLICY_CARD_SIGN, true, "OU=Card Signing"),
        (
            &auth_cert,
            oids::POLICY_PHONE_AUTH,
            false,
            "OU=Phone Authentication",
        ),
        (
            &sign_cert,
            oids::POLICY_PHONE_SIGN,
            true,
            "OU=Phone Signing",
        ),
    ];
    for (c, policy, non_repudiation, ou) in expected {
        // Chain: issuer is the root's subject, signature verifies under the CA key, and the
        // AKI names the root's SKI.
        assert_eq!(c.tbs_certificate.issuer, root.tbs_certificate.subject);
        cert::verify_issued_by(c, ca.name(), ca.public_key()).unwrap();
        let (_, aki) = ext::<AuthorityKeyIdentifier>(c).unwrap();
        assert_eq!(aki.key_identifier.as_ref(), Some(&root_ski.0));
        assert_eq!(cert::policy_oids(c).unwrap(), vec![policy]);
        let (crit, bc) = ext::<BasicConstraints>(c).unwrap();
        assert!(crit && !bc.ca);
        let (crit, ku) = ext::<KeyUsage>(c).unwrap();
        assert!(crit && ku.digital_signature() && !ku.key_cert_sign());
        assert_eq!(ku.non_repudiation(), non_repudiation);
        let subject = c.tbs_certificate.subject.to_string();
        assert!(
            subject.contains("CN=p0") && subject.contains(ou),
            "{subject}"
        );
        assert_eq!(cert::public_key_of(c).unwrap().n().bits(), 2048);
    }
    for c in [&auth_cert, &sign_cert] {
        assert!(c.tbs_certificate.subject.to_string().contains("OU=h1"));
    }
    // Phone certs certify the SE keys; serials match the registry.
    assert_eq!(cert::public_key_of(&auth_cert).unwrap(), phone_key(0));
    assert_eq!(cert::serial_of(&sign_cert).unwrap(), sign.serial);
    // Validity: a phone cert never outlives the card cert that authorised it.
    let card_rec = ca.current_card_cert(PersonId(0), T0).unwrap().clone();
    assert_eq!(card_rec.not_after, T0.plus(cert::CARD_VALIDITY_SECS));
    assert!(ca.registry().get(auth.serial).unwrap().not_after <= card_rec.not_after);
    assert_eq!(
        cert::logical_time(&card_cert.tbs_certificate.validity.not_after),
        card_rec.not_after
    );

    // A certificate altered after signing no longer verifies under the CA.
    let mut forged = auth_cert.clone();
    forged.tbs_certificate.subject = sign_cert.tbs_certificate.subject.clone();
    assert!(matches!(
        cert::verify_issued_by(&forged, ca.name(), ca.public_key()),
        Err(CaError::NotIssuedByThisCa(_))
    ));
}

#[test]
fn r_keygen_phone_key_must_be_rsa_2048() {
    let mut ca = new_ca();
    let card = card_for(&mut ca, 0, T0);
    let card_serial = ca.current_card_cert(PersonId(0), T0).unwrap().serial;
    // A 1024-bit modulus (odd, no key generation needed to show the refusal).
    let small = RsaPublicKey::new(
        rsa::BigUint::from_bytes_be(&[0xC3; 128]),
        rsa::BigUint::from(65_537u32),
    )
    .unwrap();
    let before = ca.registry().records().count();
    let r = ca.issue_phone_cert(
        card.person(),
        CertKind::Auth,
        PhoneId(0),
        &small,
        card_serial,
        T0,
    );
    assert!(matches!(r, Err(CaError::BadPublicKey(_))), "{r:?}");
    assert_eq!(ca.registry().records().count(), before);
}

// ---------------------------------------------------------------------------------------
// Registry (R-ONE, R-MODEL-CHANGE, R-LINK, R-SUSPEND, INV-ISSUE-AUTH)

#[test]
fn r_model_change_is_atomic_and_keeps_one_live_cert() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let p = card.person();
    let old = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
    let other_kind = apply(&mut ca, &mut card, CertKind::Sign, PhoneId(0), 1, T0).unwrap();
    assert_eq!(old.revoked_previous, None);

    let t1 = T0.plus(100);
    let new = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(1), 2, t1).unwrap();
    assert_eq!(
        new.revoked_previous,
        Some(RevokedPhoneCert {
            serial: old.serial,
            person: p,
            kind: CertKind::Auth,
            phone: PhoneId(0),
            cause: RevocationCause::ModelChange,
        })
    );
    assert_eq!(
        ca.status(old.serial),
        StatusAnswer::Known(CertStatus::Revoked {
            cause: RevocationCause::ModelChange,
            time: t1
        })
    );
    assert_eq!(
        RevocationCause::ModelChange.crl_reason(),
        CrlReason::Superseded
    );
    assert!(ca.status(new.serial).is_good());
    assert!(
        ca.status(other_kind.serial).is_good(),
        "the other kind is untouched"
    );
    assert_eq!(
        ca.live_phone_cert(p, CertKind::Auth).unwrap().serial,
        new.serial
    );
    let live_auth: Vec<_> = ca
        .certificates_of(p)
        .into_iter()
        .filter(|r| r.phone_kind() == Some(CertKind::Auth) && r.status.is_live())
        .collect();
    assert_eq!(live_auth.len(), 1);
    ca.registry().check_invariants().unwrap();
    let crl = ca.issue_crl(t1).unwrap();
    assert_eq!(crl.reason_for(old.serial), Some(CrlReason::Superseded));
    assert_eq!(crl.reason_for(new.serial), None);

    // A suspended cert is still live: a model change revokes it too.
    ca.suspend(new.serial, t1).unwrap();
    let newer = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(2), 3, t1).unwrap();
    assert_eq!(newer.revoked_previous.map(|r| r.serial), Some(new.serial));
    assert!(revoked(RevocationCause::ModelChange)(
        &ca.status(new.serial)
    ));
    ca.registry().check_invariants().unwrap();
}

#[test]
fn r_link_card_renewal_revokes_linked_phone_certs() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let auth = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
    let sign = apply(&mut ca, &mut card, CertKind::Sign, PhoneId(0), 1, T0).unwrap();
    ca.suspend(sign.serial, T0).unwrap();
    let old_card = ca.current_card_cert(PersonId(0), T0).unwrap().serial;

    let t1 = T0.plus(50);
    let renewed = card
        .renew(&mut SeededKeyPool::new(0xC0DE_0100), &mut ca, t1)
        .unwrap();
    assert_eq!(renewed.generation, 1);
    let ended = renewed.superseded.unwrap();
    assert_eq!(ended.card_serial, old_card);
    let linked: Vec<_> = ended.linked_revoked.iter().map(|r| r.serial).collect();
    assert_eq!(
        linked,
        vec![auth.serial, sign.serial],
        "active and suspended both"
    );
    assert!(revoked(RevocationCause::CardRenewed)(&ca.status(old_card)));
    for s in [auth.serial, sign.serial] {
        assert!(revoked(RevocationCause::Linked(CardEnd::Renewed))(
            &ca.status(s)
        ));
    }
    assert_eq!(
        ca.current_card_cert(PersonId(0), t1).unwrap().serial,
        renewed.serial
    );
    ca.registry().check_invariants().unwrap();
    let crl = ca.issue_crl(t1).unwrap();
    assert_eq!(crl.reason_for(old_card), Some(CrlReason::Superseded));
    assert_eq!(
        crl.reason_for(auth.serial),
        Some(CrlReason::AffiliationChanged)
    );

    // The new generation authorises a new phone cert; R-ONE holds with no previous live one.
    let again = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 2, t1).unwrap();
    assert_eq!(again.revoked_previous, None);
    ca.registry().check_invariants().unwrap();
}

#[test]
fn r_link_card_revocation_and_expiry_revoke_linked_phone_certs() {
    for end in [CardEnd::Revoked, CardEnd::Expired] {
        let mut ca = new_ca();
        let mut card = card_for(&mut ca, 0, T0);
        let mut other = card_for(&mut ca, 1, T0);
        let auth = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
        let bystander = apply(&mut ca, &mut other, CertKind::Auth, PhoneId(1), 1, T0).unwrap();
        let card_serial = ca.current_card_cert(PersonId(0), T0).unwrap().serial;
        let t1 = T0.plus(10);
        let ended = match end {
            CardEnd::Revoked => ca.revoke_card_cert(PersonId(0), t1).unwrap(),
            _ => ca.expire_card_cert(PersonId(0), t1).unwrap(),
        };
        assert_eq!(ended.card_serial, card_serial);
        assert_eq!(
            ended.linked_revoked,
            vec![RevokedPhoneCert {
                serial: auth.serial,
                person: PersonId(0),
                kind: CertKind::Auth,
                phone: PhoneId(0),
                cause: RevocationCause::Linked(end),
            }]
        );
        assert!(ca.status(bystander.serial).is_good(), "{end:?}");
        let crl = ca.issue_crl(t1).unwrap();
        assert_eq!(
            crl.reason_for(auth.serial),
            Some(CrlReason::AffiliationChanged)
        );
        match end {
            CardEnd::Revoked => {
                assert!(revoked(RevocationCause::CardRevoked)(
                    &ca.status(card_serial)
                ));
                assert_eq!(crl.reason_for(card_serial), Some(CrlReason::Unspecified));
            }
            _ => {
                assert_eq!(
                    ca.status(card_serial),
                    StatusAnswer::Known(CertStatus::Expired { time: t1 })
                );
                assert_eq!(
                    crl.reason_for(card_serial),
                    None,
                    "expiry is not a CRL entry"
                );
            }
        }
        // Ending it again is refused; the person has no valid card cert left.
        assert!(matches!(
            ca.revoke_card_cert(PersonId(0), t1),
            Err(CaError::CardCertAlreadyEnded { .. })
        ));
        assert!(ca.current_card_cert(PersonId(0), t1).is_none());
        ca.registry().check_invariants().unwrap();
    }
    let mut ca = new_ca();
    assert_eq!(
        ca.revoke_card_cert(PersonId(9), T0),
        Err(CaError::NoCardCert(PersonId(9)))
    );
}

#[test]
fn r_suspend_resume_round_trip_and_crl_contents() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let auth = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
    let card_serial = ca.current_card_cert(PersonId(0), T0).unwrap().serial;

    let empty = ca.issue_crl(T0).unwrap();
    assert!(empty.entries.is_empty());
    assert_eq!(empty.number, 1);

    let t1 = T0.plus(60);
    ca.suspend(auth.serial, t1).unwrap();
    assert_eq!(
        ca.status(auth.serial),
        StatusAnswer::Known(CertStatus::Suspended { since: t1 })
    );
    assert!(!ca.status(auth.serial).is_good());
    assert!(matches!(
        ca.validate_phone_cert(&auth.der, CertKind::Auth, t1),
        Err(CaError::NotGood { .. })
    ));
    let held = ca.issue_crl(t1).unwrap();
    assert_eq!(held.number, 2);
    assert_eq!(
        held.reason_for(auth.serial),
        Some(CrlReason::CertificateHold)
    );
    // The DER CRL says the same: signed by the CA, hold entry with its reasonCode.
    let list = parse_and_verify(held.der(), ca.name(), ca.public_key()).unwrap();
    let entries = list.tbs_cert_list.revoked_certificates.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        cert::serial_from(&entries[0].serial_number).unwrap(),
        auth.serial
    );
    assert_eq!(
        crl::entry_reason(&entries[0]).unwrap(),
        Some(CrlReason::CertificateHold)
    );

    // Suspending twice is refused; resume restores it and it leaves the CRL.
    assert!(matches!(
        ca.suspend(auth.serial, t1),
        Err(CaError::InvalidTransition {
            operation: "suspend",
            ..
        })
    ));
    ca.resume(auth.serial).unwrap();
    assert!(ca.status(auth.serial).is_good());
    ca.validate_phone_cert(&auth.der, CertKind::Auth, t1)
        .unwrap();
    let resumed = ca.issue_crl(t1).unwrap();
    assert_eq!(resumed.number, 3);
    assert_eq!(resumed.reason_for(auth.serial), None);

    // Resume is refused unless suspended: active, revoked; and on card certs / unknown serials.
    let err = ca.resume(auth.serial).unwrap_err();
    assert!(
        matches!(
            err,
            CaError::InvalidTransition {
                operation: "resume",
                status: CertStatus::Active,
                ..
            }
        ),
        "{err}"
    );
    ca.revoke_phone_cert(auth.serial, RevocationCause::UserRequestFromPhone, t1)
        .unwrap();
    assert!(matches!(
        ca.resume(auth.serial),
        Err(CaError::InvalidTransition {
            operation: "resume",
            ..
        })
    ));
    assert!(matches!(
        ca.suspend(auth.serial, t1),
        Err(CaError::InvalidTransition {
            operation: "suspend",
            ..
        })
    ));
    assert_eq!(
        ca.suspend(card_serial, t1),
        Err(CaError::NotAPhoneCert(card_serial))
    );
    assert_eq!(
        ca.resume(Serial(999)),
        Err(CaError::UnknownSerial(Serial(999)))
    );
    assert_eq!(ca.status(Serial(999)), StatusAnswer::Unknown);
    let last = ca.issue_crl(t1).unwrap();
    assert_eq!(
        last.reason_for(auth.serial),
        Some(CrlReason::CessationOfOperation)
    );
}

#[test]
fn r_revoke_phone_cert_requests_and_reasons() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let auth = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
    let sign = apply(&mut ca, &mut card, CertKind::Sign, PhoneId(0), 1, T0).unwrap();
    for cause in [
        RevocationCause::ModelChange,
        RevocationCause::Linked(CardEnd::Revoked),
        RevocationCause::CardRenewed,
        RevocationCause::CardRevoked,
    ] {
        assert_eq!(
            ca.revoke_phone_cert(auth.serial, cause, T0),
            Err(CaError::CauseNotRequestable(cause))
        );
    }
    assert!(ca.status(auth.serial).is_good());
    let r = ca
        .revoke_phone_cert(auth.serial, RevocationCause::WithCard, T0)
        .unwrap();
    assert_eq!((r.phone, r.kind), (PhoneId(0), CertKind::Auth));
    assert!(matches!(
        ca.revoke_phone_cert(auth.serial, RevocationCause::WithCard, T0),
        Err(CaError::InvalidTransition {
            operation: "revoke",
            ..
        })
    ));
    let card_serial = ca.current_card_cert(PersonId(0), T0).unwrap().serial;
    assert_eq!(
        ca.revoke_phone_cert(card_serial, RevocationCause::WithCard, T0),
        Err(CaError::NotAPhoneCert(card_serial))
    );
    ca.revoke_phone_cert(sign.serial, RevocationCause::UserRequestFromPhone, T0)
        .unwrap();
    let crl = ca.issue_crl(T0).unwrap();
    assert_eq!(crl.reason_for(auth.serial), Some(CrlReason::KeyCompromise));
    assert_eq!(
        crl.reason_for(sign.serial),
        Some(CrlReason::CessationOfOperation)
    );
    assert!(ca.live_phone_cert(PersonId(0), CertKind::Auth).is_none());
}

#[test]
fn inv_issue_auth_refused_on_revoked_expired_or_superseded_card_cert() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let p = PersonId(0);
    let application = b"apply p0 auth h0".to_vec();
    let signature = card.sign_application(PASSWORD, &application).unwrap();
    let gen0 = card.certificate().unwrap().to_vec();
    let gen0_serial = ca.current_card_cert(p, T0).unwrap().serial;

    // Valid now.
    let v = ca
        .verify_card_signature(&application, &signature, &gen0, T0)
        .unwrap();
    assert_eq!(
        v,
        VerifiedCard {
            person: p,
            card_serial: gen0_serial
        }
    );

    // Past the card cert's notAfter (expiry not yet recorded): refused by time.
    let late = T0.plus(cert::CARD_VALIDITY_SECS);
    let err = ca
        .verify_card_signature(&application, &signature, &gen0, late)
        .unwrap_err();
    assert!(
        matches!(
            err,
            CaError::CardCertNotValid {
                why: CardCertProblem::PastNotAfter(_),
                ..
            }
        ),
        "{err}"
    );
    let err = ca
        .issue_phone_cert(
            p,
            CertKind::Auth,
            PhoneId(0),
            &phone_key(0),
            gen0_serial,
            late,
        )
        .unwrap_err();
    assert!(matches!(err, CaError::CardCertNotValid { .. }), "{err}");

    // Superseded by a new generation (same card, re-enrolled).
    let t1 = T0.plus(10);
    let gen1 = card.enrol(&mut ca, t1).unwrap();
    let err = ca
        .verify_card_signature(&application, &signature, &gen0, t1)
        .unwrap_err();
    assert_eq!(
        err,
        CaError::CardCertNotValid {
            serial: gen0_serial,
            why: CardCertProblem::Revoked(RevocationCause::CardRenewed)
        }
    );
    let serials_before = ca.registry().records().count();
    let err = ca
        .issue_phone_cert(
            p,
            CertKind::Auth,
            PhoneId(0),
            &phone_key(0),
            gen0_serial,
            t1,
        )
        .unwrap_err();
    assert!(matches!(err, CaError::CardCertNotValid { .. }), "{err}");
    assert_eq!(
        ca.registry().records().count(),
        serials_before,
        "refusal changes nothing"
    );
    // The new generation works, and the next serial was not consumed by the refusal.
    let ok = ca
        .issue_phone_cert(
            p,
            CertKind::Auth,
            PhoneId(0),
            &phone_key(0),
            gen1.serial,
            t1,
        )
        .unwrap();
    assert_eq!(ok.serial, Serial(gen1.serial.0 + 1));

    // Revoked, then a fresh generation, then expired.
    ca.revoke_card_cert(p, t1).unwrap();
    let err = ca
        .issue_phone_cert(
            p,
            CertKind::Sign,
            PhoneId(0),
            &phone_key(1),
            gen1.serial,
            t1,
        )
        .unwrap_err();
    assert_eq!(
        err,
        CaError::CardCertNotValid {
            serial: gen1.serial,
            why: CardCertProblem::Revoked(RevocationCause::CardRevoked)
        }
    );
    let gen2 = card.enrol(&mut ca, t1).unwrap();
    assert_eq!(gen2.superseded, None, "nothing live to supersede");
    ca.expire_card_cert(p, t1).unwrap();
    let application2 = b"apply p0 sign h0".to_vec();
    let signature2 = card.sign_application(PASSWORD, &application2).unwrap();
    assert_eq!(
        ca.verify_card_signature(&application2, &signature2, &gen2.der, t1),
        Err(CaError::CardCertNotValid {
            serial: gen2.serial,
            why: CardCertProblem::Expired
        })
    );
    assert!(ca.live_phone_cert(p, CertKind::Sign).is_none());
    ca.registry().check_invariants().unwrap();
}

#[test]
fn r_issue_other_persons_card_and_tampering_refused() {
    let mut ca = new_ca();
    let mut alice = card_for(&mut ca, 0, T0);
    let mut bob = card_for(&mut ca, 1, T0);
    let bob_serial = ca.current_card_cert(PersonId(1), T0).unwrap().serial;
    let application = b"apply p0 auth h0".to_vec();

    // Bob's card signature authorises nothing for Alice.
    assert_eq!(
        ca.issue_phone_cert(
            PersonId(0),
            CertKind::Auth,
            PhoneId(0),
            &phone_key(0),
            bob_serial,
            T0
        ),
        Err(CaError::PersonMismatch {
            claimed: PersonId(0),
            holder: PersonId(1)
        })
    );
    // Bob's signature presented with Alice's card certificate does not verify.
    let bob_sig = bob.sign_application(PASSWORD, &application).unwrap();
    assert_eq!(
        ca.verify_card_signature(&application, &bob_sig, alice.certificate().unwrap(), T0),
        Err(CaError::BadSignature)
    );
    // With his own certificate it verifies, as Bob.
    let v = ca
        .verify_card_signature(&application, &bob_sig, bob.certificate().unwrap(), T0)
        .unwrap();
    assert_eq!(v.person, PersonId(1));

    // Tampered signature, tampered application, truncated signature.
    let sig = alice.sign_application(PASSWORD, &application).unwrap();
    let alice_cert = alice.certificate().unwrap().to_vec();
    let mut bad = sig.clone();
    bad[17] ^= 0x01;
    assert_eq!(
        ca.verify_card_signature(&application, &bad, &alice_cert, T0),
        Err(CaError::BadSignature)
    );
    assert_eq!(
        ca.verify_card_signature(b"apply p0 sign h0", &sig, &alice_cert, T0),
        Err(CaError::BadSignature)
    );
    assert_eq!(
        ca.verify_card_signature(&application, &sig[..100], &alice_cert, T0),
        Err(CaError::BadSignature)
    );
    // Tampered or garbage certificate bytes.
    let mut cert_bad = alice_cert.clone();
    let last = cert_bad.len() - 1;
    cert_bad[last] ^= 0x01;
    assert!(matches!(
        ca.verify_card_signature(&application, &sig, &cert_bad, T0),
        Err(CaError::NotIssuedByThisCa(_))
    ));
    for junk in [&b""[..], &b"\x30\x03\x02\x01"[..], &alice_cert[..40]] {
        assert!(matches!(
            ca.verify_card_signature(&application, &sig, junk, T0),
            Err(CaError::MalformedCertificate(_))
        ));
    }
    // A phone certificate is not a card certificate (R-KINDS).
    let phone = apply(&mut ca, &mut alice, CertKind::Sign, PhoneId(0), 0, T0).unwrap();
    assert!(matches!(
        ca.verify_card_signature(&application, &sig, &phone.der, T0),
        Err(CaError::WrongCertificateKind { .. })
    ));
    // And a card certificate of another CA (same subject, other key) is refused.
    let other_ca = Ca::new(&mut SeededKeyPool::new(CA_SEED + 1), LogicalTime::BASE).unwrap();
    let mut mallory_keys = SeededKeyPool::new(0xC0DE00);
    let mut fake = MyNumberCard::new(PersonId(0), &mut mallory_keys, PASSWORD, PIN).unwrap();
    let mut other_ca = other_ca;
    fake.enrol(&mut other_ca, T0).unwrap();
    let fake_sig = fake.sign_application(PASSWORD, &application).unwrap();
    assert!(matches!(
        ca.verify_card_signature(&application, &fake_sig, fake.certificate().unwrap(), T0),
        Err(CaError::NotIssuedByThisCa(_))
    ));
}

#[test]
fn inv_no_use_after_revoke_relying_party_check() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let sign = apply(&mut ca, &mut card, CertKind::Sign, PhoneId(0), 0, T0).unwrap();
    let rec = ca
        .validate_phone_cert(&sign.der, CertKind::Sign, T0)
        .unwrap();
    assert_eq!(rec.serial, sign.serial);
    assert!(matches!(
        ca.validate_phone_cert(&sign.der, CertKind::Auth, T0),
        Err(CaError::WrongCertificateKind { .. })
    ));
    assert!(matches!(
        ca.validate_phone_cert(&sign.der, CertKind::Sign, LogicalTime(0)),
        Err(CaError::OutsideValidity { .. })
    ));
    ca.revoke_phone_cert(sign.serial, RevocationCause::WithCard, T0)
        .unwrap();
    assert!(matches!(
        ca.validate_phone_cert(&sign.der, CertKind::Sign, T0),
        Err(CaError::NotGood { .. })
    ));
}

#[test]
fn crl_numbers_increase_and_signature_verifies() {
    let mut ca = new_ca();
    let mut card = card_for(&mut ca, 0, T0);
    let a = apply(&mut ca, &mut card, CertKind::Auth, PhoneId(0), 0, T0).unwrap();
    ca.revoke_card_cert(PersonId(0), T0).unwrap();
    let c1 = ca.issue_crl(T0).unwrap();
    let c2 = ca.issue_crl(T0.plus(5)).unwrap();
    assert_eq!((c1.number, c2.number), (1, 2));
    assert_eq!(c2.next_update, T0.plus(5 + crl::CRL_VALIDITY_SECS));
    let list = parse_and_verify(c2.der(), ca.name(), ca.public_key()).unwrap();
    let exts = list.tbs_cert_list.crl_extensions.clone().unwrap();
    let number = exts
        .iter()
        .find(|e| e.extn_id == x509_cert::ext::pkix::crl::CrlNumber::OID)
        .unwrap();
    let number =
        x509_cert::ext::pkix::crl::CrlNumber::from_der(number.extn_value.as_bytes()).unwrap();
    assert_eq!(number.0.as_bytes(), &[2]);
    assert_eq!(list.tbs_cert_list.version, x509_cert::Version::V2);
    // The card cert (unspecified) entry carries no reasonCode; the linked one does.
    for entry in list.tbs_cert_list.revoked_certificates.as_ref().unwrap() {
        let serial = cert::serial_from(&entry.serial_number).unwrap();
        let reason = crl::entry_reason(entry).unwrap();
        if serial == a.serial {
            assert_eq!(reason, Some(CrlReason::AffiliationChanged));
        } else {
            assert_eq!(reason, None);
        }
    }
    // Another CA's key does not verify it; a flipped byte breaks it.
    let other = Ca::new(&mut SeededKeyPool::new(CA_SEED + 1), LogicalTime::BASE).unwrap();
    assert!(parse_and_verify(c2.der(), ca.name(), other.public_key()).is_err());
    let mut bad = c2.der().to_vec();
    let i = bad.len() - 3;
    bad[i] ^= 0x80;
    assert!(parse_and_verify(&bad, ca.name(), ca.public_key()).is_err());
    assert!(c2
        .to_pem()
        .unwrap()
        .starts_with("-----BEGIN X509 CRL-----\n"));
    assert!(ca
        .root_pem()
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----\n"));
    // The DER round-trips through x509-cert unchanged.
    assert_eq!(list.to_der().unwrap(), c2.der());
}

/// A seeded random walk over the CA operations keeps INV-ONE and INV-LINK after every step,
/// and every issued phone cert was authorised by a then-valid card cert of the same person.
#[test]
fn inv_one_and_inv_link_hold_on_random_walk() {
    let mut ca = new_ca();
    let mut cards: Vec<MyNumberCard> = (0..3).map(|p| card_for(&mut ca, p, T0)).collect();
    let mut rng = ChaCha20Rng::seed_from_u64(2026);
    let mut now = T0;
    let (mut issued, mut refused) = (0, 0);
    for step in 0..160 {
        now = now.plus(1 + u64::from(rng.next_u32() % 1000));
        let p = (rng.next_u32() % 3) as usize;
        let person = PersonId(p as u32);
        let kind = CertKind::ALL[(rng.next_u32() % 2) as usize];
        match rng.next_u32() % 8 {
            0 => {
                cards[p].enrol(&mut ca, now).unwrap();
            }
            1 => {
                let _ = ca.revoke_card_cert(person, now);
            }
            2 => {
                let _ = ca.expire_card_cert(person, now);
            }
            3 | 4 => {
                let phone = PhoneId(rng.next_u32() % 4);
                let valid_card = ca.current_card_cert(person, now).map(|c| c.serial);
                match apply(
                    &mut ca,
                    &mut cards[p],
                    kind,
                    phone,
                    u64::from(rng.next_u32() % 4),
                    now,
                ) {
                    Ok(out) => {
                        issued += 1;
                        let rec = ca.registry().get(out.serial).unwrap();
                        match rec.subject {
                            CertSubject::Phone { card_serial, .. } => {
                                assert_eq!(Some(card_serial), valid_card, "INV-ISSUE-AUTH")
                            }
                            _ => panic!("not a phone cert"),
                        }
                    }
                    Err(e) => {
                        refused += 1;
                        assert!(valid_card.is_none(), "refused with a valid card: {e}");
                        assert!(matches!(e, CaError::CardCertNotValid { .. }), "{e}");
                    }
                }
            }
            5 => {
                if let Some(s) = ca.live_phone_cert(person, kind).map(|r| r.serial) {
                    ca.revoke_phone_cert(s, RevocationCause::UserRequestFromPhone, now)
                        .unwrap();
                }
            }
            6 => {
                if let Some(s) = ca.live_phone_cert(person, kind).map(|r| r.serial) {
                    let _ = ca.suspend(s, now);
                }
            }
            _ => {
                if let Some(s) = ca.live_phone_cert(person, kind).map(|r| r.serial) {
                    let _ = ca.resume(s);
                }
            }
        }
        if let Err(e) = ca.registry().check_invariants() {
            panic!("step {step}: {e}");
        }
        // The CRL agrees with the registry at every step.
        if step % 40 == 39 {
            let crl = ca.issue_crl(now).unwrap();
            for r in ca.registry().records() {
                let expected = match r.status {
                    CertStatus::Revoked { cause, .. } => Some(cause.crl_reason()),
                    CertStatus::Suspended { .. } => Some(CrlReason::CertificateHold),
                    _ => None,
                };
                assert_eq!(crl.reason_for(r.serial), expected, "{}", r.serial);
            }
        }
    }
    assert!(
        issued > 10 && refused > 0,
        "walk too narrow: {issued} issued, {refused} refused"
    );
}
