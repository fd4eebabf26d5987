//! The open design choices as configuration (ALT-* of DOMAIN.md), through the facade:
//! ALT-REVOKE-AUTH here; ALT-RESET and ALT-SUSPEND below. Each policy is authenticated by
//! what the request carries (a PIN-gated signature, a card signature), never by who the
//! facade says holds the phone.

mod common;

use common::*;
use phone_jpki_impl::ca::{CertStatus, StatusAnswer};
use phone_jpki_impl::phone::Holder;
use phone_jpki_impl::system::{Pin, Refusal, RevokeAuth, System};

fn with_auth(a: RevokeAuth) -> System {
    let mut s = system_with(|c| c.policy.revoke_auth = a);
    ready(&mut s, H0);
    s
}

fn revoked(s: &System, serial: phone_jpki_impl::ca::Serial) -> bool {
    matches!(
        s.status(serial),
        StatusAnswer::Known(CertStatus::Revoked { .. })
    )
}

/// ALT-REVOKE-AUTH=nothing: the buyer of a carelessly handed-over phone revokes the seller's
/// credential from it.
#[test]
fn alt_revoke_auth_nothing_lets_a_buyer_revoke() {
    let mut s = with_auth(RevokeAuth::Nothing);
    let serial = slot_serial(&s, H0, AUTH).unwrap();
    s.hand_over(H0, Holder::Stranger, false).unwrap();
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert!(revoked(&s, serial));
    assert_eq!(slot_serial(&s, H0, AUTH), None, "deleted locally");
}

/// ALT-REVOKE-AUTH=PIN (default): the credential's own PIN, checked by the applet (a stranger's
/// try counts down); a blocked PIN cannot authenticate; the card route remains.
#[test]
fn alt_revoke_auth_pin_needs_the_credentials_pin() {
    let mut s = with_auth(RevokeAuth::Pin);
    let serial = slot_serial(&s, H0, AUTH).unwrap();
    s.hand_over(H0, Holder::Person(P1), false).unwrap();
    assert_eq!(
        s.revoke_from_phone(H0, AUTH),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    assert!(!revoked(&s, serial));
    s.hand_over(H0, Holder::Person(P0), false).unwrap();
    for _ in 0..2 {
        let _ = s.r#use(H0, AUTH, Pin::Wrong);
    }
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::PinBlocked));
    // The sign credential's own password still works for the sign credential.
    let sign = slot_serial(&s, H0, SIGN).unwrap();
    s.revoke_from_phone(H0, SIGN).unwrap();
    assert!(revoked(&s, sign));
    s.revoke_with_card(P0, AUTH).unwrap();
    assert!(revoked(&s, serial));
}

/// ALT-REVOKE-AUTH=phone signature: the phone's sign key (after the signing password) signs
/// the revocation of either kind; a phone without a sign credential cannot.
#[test]
fn alt_revoke_auth_phone_signature_uses_the_sign_key() {
    let mut s = with_auth(RevokeAuth::PhoneSignature);
    let auth = slot_serial(&s, H0, AUTH).unwrap();
    // A blocked auth PIN does not matter: the sign key authenticates.
    for _ in 0..3 {
        let _ = s.r#use(H0, AUTH, Pin::Wrong);
    }
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert!(revoked(&s, auth));
    let sign = slot_serial(&s, H0, SIGN).unwrap();
    s.revoke_from_phone(H0, SIGN).unwrap();
    assert!(revoked(&s, sign));
    // Now no sign credential: an auth credential issued again cannot be revoked from here.
    issue(&mut s, H0, AUTH);
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::NoCredential));
    // A stranger does not know the signing password.
    let mut t = with_auth(RevokeAuth::PhoneSignature);
    t.hand_over(H0, Holder::Stranger, false).unwrap();
    assert_eq!(
        t.revoke_from_phone(H0, AUTH),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
}

/// ALT-REVOKE-AUTH=card: the holder's card signature must name the credential's owner; a
/// stranger has no card; the owner whose card cert ended cannot (000 §3(3)).
#[test]
fn alt_revoke_auth_card_needs_the_owners_card() {
    let mut s = with_auth(RevokeAuth::Card);
    let serial = slot_serial(&s, H0, AUTH).unwrap();
    s.hand_over(H0, Holder::Stranger, false).unwrap();
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::NoCard));
    s.hand_over(H0, Holder::Person(P1), false).unwrap();
    assert_eq!(
        s.revoke_from_phone(H0, AUTH),
        Err(Refusal::NotCredentialOwner)
    );
    assert!(!revoked(&s, serial));
    s.hand_over(H0, Holder::Person(P0), false).unwrap();
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert!(revoked(&s, serial));
    // With the card cert revoked (its linked phone certs with it), the card no longer signs.
    s.card_revoke(P0).unwrap();
    assert_eq!(s.revoke_from_phone(H0, SIGN), Err(Refusal::CardNotValid));
}
