//! Facade-level scenarios of the threats (THREAT-* of DOMAIN.md): the card-reader route,
//! finders, buyers, a known PIN, reading the certificates, offline signing presented later.
//! Every PIN entered is a real PIN and acceptance is the applet's own check.

mod common;

use common::*;
use phone_jpki_impl::ca::cert::{parse_certificate, serial_of};
use phone_jpki_impl::phone::{Condition, Holder};
use phone_jpki_impl::system::{Pin, Refusal, StatusCheck};

/// THREAT-READER: no app, no network on the phone: the owner still logs in and signs at a
/// reader; the PIN is all that is asked.
#[test]
fn threat_reader_owner_uses_the_reader_offline_without_the_app() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    s.go_offline(H0).unwrap();
    s.uninstall_app(H0).unwrap();
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::PhoneOffline));
    s.reader_use(H0, AUTH, Pin::Right).unwrap();
    s.reader_use(H0, SIGN, Pin::Right).unwrap();
}

/// THREAT-READER, INV-PIN, R-PIN-RETRY: the reader route counts wrong PINs down and blocks
/// like the app route; a blocked PIN admits nothing, not even the right one.
#[test]
fn threat_reader_checks_and_counts_the_pin() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    assert_eq!(
        s.reader_use(H0, AUTH, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    assert_eq!(tries(&s, H0, AUTH), 2);
    s.reader_use(H0, AUTH, Pin::Right).unwrap();
    assert_eq!(tries(&s, H0, AUTH), 3, "a right PIN resets the counter");
    for left in [2, 1, 0] {
        assert_eq!(
            s.reader_use(H0, AUTH, Pin::Wrong),
            Err(Refusal::WrongPin { tries_left: left })
        );
    }
    assert_eq!(s.reader_use(H0, AUTH, Pin::Right), Err(Refusal::PinBlocked));
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::PinBlocked));
    // R-PIN-INIT unblocks it for the owner, and the reader works again.
    s.init_pin(H0, AUTH).unwrap();
    s.reader_use(H0, AUTH, Pin::Right).unwrap();
}

/// THREAT-READER, INV-NO-USE-AFTER-REVOKE: the phone is offline so the deletion push waits,
/// but the relying party behind the reader checks status online, by query or by CRL.
#[test]
fn threat_reader_relying_party_refuses_revoked_and_held_certs() {
    for check in [StatusCheck::Query, StatusCheck::Crl] {
        let mut s = system_with(|c| c.policy.status_check = check);
        ready(&mut s, H0);
        s.go_offline(H0).unwrap();
        s.revoke_with_card(P0, AUTH).unwrap();
        assert_eq!(s.pending_pushes().len(), 1, "{check:?}");
        assert!(
            slot_serial(&s, H0, AUTH).is_some(),
            "the key is still there"
        );
        assert_eq!(
            s.reader_use(H0, AUTH, Pin::Right),
            Err(Refusal::CertRevoked),
            "{check:?}"
        );
        s.suspend(P0, SIGN).unwrap();
        assert_eq!(
            s.reader_use(H0, SIGN, Pin::Right),
            Err(Refusal::CertSuspended),
            "{check:?}"
        );
    }
}

/// THREAT-FINDER: the finder of a lost phone keeps it; the screen lock keeps the app closed;
/// at a reader the finder's PIN is their own, which the applet refuses.
#[test]
fn threat_finder_has_only_the_reader_and_not_the_pin() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    s.lose(H0).unwrap();
    assert_eq!(s.reader_use(H0, AUTH, Pin::Right), Err(Refusal::NotInHand));
    s.stranger_finds(H0).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert_eq!(
        (v.holder, v.condition),
        (Holder::Stranger, Condition::InHand)
    );
    assert!(s.found_by_stranger(H0));
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::ScreenLocked));
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::ScreenLocked));
    assert_eq!(
        s.reader_use(H0, AUTH, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    assert_eq!(
        s.read_sign_cert(H0, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
    assert_eq!(
        s.sign_offline(H0, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 3 })
    );
    // The auth certificate is public (THREAT-READ-PII), as on the card.
    assert!(s.read_auth_cert(H0).is_ok());
    // The locked settings keep the finder from a factory reset too.
    assert_eq!(s.factory_reset(H0), Err(Refusal::ScreenLocked));
}

/// THREAT-PIN-KNOWN, INV-NO-FOREIGN-USE: when the owner's PIN is known, a finder or a buyer
/// logs in with it: the applet cannot tell who types.
#[test]
fn threat_pin_known_lets_a_finder_and_a_buyer_in() {
    let mut s = system_with(|c| c.pin_known = [P0, P1].into());
    ready(&mut s, H0);
    ready(&mut s, H1);
    s.lose(H0).unwrap();
    s.stranger_finds(H0).unwrap();
    s.reader_use(H0, AUTH, Pin::Right).unwrap();
    assert!(s.read_sign_cert(H0, Pin::Right).is_ok());
    // THREAT-BUYER: p1 hands h1 over carelessly to p0, who knows p1's PIN.
    s.hand_over(H1, Holder::Person(P0), false).unwrap();
    s.r#use(H1, AUTH, Pin::Right).unwrap();
    // Without the known PIN the same buyer is refused.
    let mut t = system_with(|_| {});
    ready(&mut t, H1);
    t.hand_over(H1, Holder::Person(P0), false).unwrap();
    assert_eq!(
        t.r#use(H1, AUTH, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    assert_eq!(
        t.reader_use(H1, SIGN, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
}

/// THREAT-READ-PII: the sign certificate (基本4情報 on the card) only after the signing
/// password; the auth certificate is public. Both are the registered certificates.
#[test]
fn threat_read_pii_sign_cert_only_after_the_password() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    s.go_offline(H0).unwrap();
    let auth = s.read_auth_cert(H0).unwrap();
    let auth_serial = serial_of(&parse_certificate(&auth).unwrap()).unwrap();
    assert_eq!(Some(auth_serial), slot_serial(&s, H0, AUTH));
    assert_eq!(
        s.read_sign_cert(H0, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
    let sign = s.read_sign_cert(H0, Pin::Right).unwrap();
    let serial = slot_serial(&s, H0, SIGN).unwrap();
    assert_eq!(Some(sign), s.cert_der(serial));
    // No certificate in the slot: nothing to read.
    assert_eq!(s.read_auth_cert(H1), Err(Refusal::NoApplet));
}

/// THREAT-OFFLINE-SIGN, INV-NO-USE-AFTER-REVOKE: a signature made with a leftover key while
/// offline is refused when presented after the revocation, or while the cert is held; one
/// presented while the cert is active is accepted once.
#[test]
fn threat_offline_sign_checked_at_presentation() {
    for check in [StatusCheck::Query, StatusCheck::Crl] {
        let mut s = system_with(|c| c.policy.status_check = check);
        ready(&mut s, H0);
        s.go_offline(H0).unwrap();
        let serial = s.sign_offline(H0, Pin::Right).unwrap();
        assert_eq!(Some(serial), slot_serial(&s, H0, SIGN));
        s.present_signature(serial).unwrap();
        assert_eq!(
            s.present_signature(serial),
            Err(Refusal::NoSuchSignature),
            "used up"
        );
        // Held: refused, kept.
        s.sign_offline(H0, Pin::Right).unwrap();
        s.suspend(P0, SIGN).unwrap();
        assert_eq!(s.present_signature(serial), Err(Refusal::CertSuspended));
        // Revoked while the phone is offline (the push cannot arrive): the leftover key
        // still signs, and the relying party refuses what it signs.
        s.revoke_with_card(P0, SIGN).unwrap();
        assert_eq!(s.present_signature(serial), Err(Refusal::CertRevoked));
        s.sign_offline(H0, Pin::Right).unwrap();
        assert_eq!(
            s.present_signature(serial),
            Err(Refusal::CertRevoked),
            "{check:?}"
        );
        assert_eq!(s.offline_signatures().len(), 1);
        assert_eq!(s.offline_signatures()[0].1.by, Holder::Person(P0));
    }
}

/// THREAT-OFFLINE-SIGN: a wrong password makes no signature.
#[test]
fn threat_offline_sign_needs_the_password() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    assert_eq!(
        s.sign_offline(H0, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
    assert!(s.offline_signatures().is_empty());
    assert_eq!(
        s.present_signature(slot_serial(&s, H0, SIGN).unwrap()),
        Err(Refusal::NoSuchSignature)
    );
}

/// THREAT-BUYER: after a careless hand-over the buyer (a stranger, no card) tries every
/// operation the phone offers; each is refused by a real check: the applet's PIN check
/// (counted), the card signature the buyer cannot make, or the revocation proof.
#[test]
fn threat_buyer_tries_every_operation() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    let serial = slot_serial(&s, H0, AUTH).unwrap();
    s.hand_over(H0, Holder::Stranger, false).unwrap();
    let wrong = |left| Err(Refusal::WrongPin { tries_left: left });
    let wrong_of = |left| Some(Refusal::WrongPin { tries_left: left });
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), wrong(2));
    assert_eq!(s.change_pin(H0, AUTH, Pin::Right), wrong(1));
    s.suspend(P0, AUTH).unwrap();
    assert_eq!(s.resume(H0, AUTH, Pin::Right), wrong(0));
    assert_eq!(s.reader_use(H0, AUTH, Pin::Right), Err(Refusal::PinBlocked));
    assert_eq!(s.init_pin(H0, AUTH), Err(Refusal::NoCard));
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::NoCard));
    assert_eq!(s.revoke_from_phone(H0, SIGN), wrong(4));
    assert_eq!(s.read_sign_cert(H0, Pin::Right).err(), wrong_of(3));
    assert_eq!(s.sign_offline(H0, Pin::Right).err(), wrong_of(2));
    // Nothing of the seller's changed hands: same certificate, still the seller's.
    assert_eq!(slot_serial(&s, H0, AUTH), Some(serial));
    assert_eq!(s.live_cert(P0, AUTH).map(|(x, _)| x), Some(serial));
}

/// Faithful push (004 課題2 対策案: delivery fails also "for other reasons"): a deletion push
/// can be lost while the phone is online; the leftover key stays until the app's next status
/// sync (network back, or a reinstall), and relying parties refuse it meanwhile.
#[test]
fn push_lost_while_online_leaves_the_key_until_the_next_sync() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    let serial = slot_serial(&s, H0, AUTH).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    assert!(s.phone_view(H0).unwrap().online);
    s.drop_push(0).unwrap();
    assert!(s.pending_pushes().is_empty());
    assert_eq!(slot_serial(&s, H0, AUTH), Some(serial), "the key stays");
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::CertRevoked));
    assert_eq!(
        s.reader_use(H0, AUTH, Pin::Right),
        Err(Refusal::CertRevoked)
    );
    s.go_offline(H0).unwrap();
    s.go_online(H0).unwrap();
    assert_eq!(
        slot_serial(&s, H0, AUTH),
        None,
        "deleted by the status sync"
    );
}

/// THREAT-FINDER: the screen lock keeps the finder out of the app and the settings, not
/// from the physical acts: they may lose the phone again or sell it on (careless, no
/// procedure), never run the procedure (as the model, found by lockstep).
#[test]
fn a_finder_can_lose_or_sell_the_phone_but_not_run_the_procedure() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    s.lose(H0).unwrap();
    s.stranger_finds(H0).unwrap();
    assert_eq!(
        s.hand_over(H0, Holder::Person(P1), true),
        Err(Refusal::ScreenLocked)
    );
    assert_eq!(s.dispose(H0, true), Err(Refusal::ScreenLocked));
    let mut t = s.clone();
    t.lose(H0).unwrap();
    s.hand_over(H0, Holder::Person(P1), false).unwrap();
    assert!(
        s.found_by_stranger(H0),
        "the buyer does not know the lock either"
    );
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::ScreenLocked));
}
