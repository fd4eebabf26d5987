//! The open design choices as configuration (ALT-* of DOMAIN.md), through the facade:
//! ALT-REVOKE-AUTH here; ALT-RESET and ALT-SUSPEND below. Each policy is authenticated by
//! what the request carries (a PIN-gated signature, a card signature), never by who the
//! facade says holds the phone.

mod common;

use common::*;
use phone_jpki_impl::ca::{CertStatus, StatusAnswer};
use phone_jpki_impl::phone::Holder;
use phone_jpki_impl::system::{
    AppletDeletion, Pin, Refusal, ResetPolicy, RevokeAuth, StatusCheck, System,
};

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

/// Under ALT-REVOKE-AUTH=PIN, p0's auth cert issued by the CA for h0, not yet written.
fn issued_not_written() -> System {
    let mut s = system_with(|c| c.policy.revoke_auth = RevokeAuth::Pin);
    s.install_app(H0).unwrap();
    s.install_applet(H0).unwrap();
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s
}

/// ALT-REVOKE-AUTH=PIN: a credential still on its temporary PIN (written, user PIN not yet
/// set) proves nothing and costs no try; the hand-over procedure asks the same proof of each
/// of the holder's live credentials and is refused before anything is done when one cannot
/// give it (a blocked PIN, a temporary PIN, a cert issued but never written).
#[test]
fn alt_revoke_auth_pin_the_procedure_is_refused_not_done_halfway() {
    // A blocked auth PIN: nothing revoked, the applet and the sign credential stay.
    let mut s = with_auth(RevokeAuth::Pin);
    let (auth, sign) = (
        slot_serial(&s, H0, AUTH).unwrap(),
        slot_serial(&s, H0, SIGN).unwrap(),
    );
    for _ in 0..3 {
        let _ = s.r#use(H0, AUTH, Pin::Wrong);
    }
    assert_eq!(
        s.hand_over(H0, Holder::Person(P1), true),
        Err(Refusal::PinBlocked)
    );
    assert_eq!(s.dispose(H0, true), Err(Refusal::PinBlocked));
    assert!(!revoked(&s, auth) && !revoked(&s, sign));
    assert_eq!(slot_serial(&s, H0, SIGN), Some(sign));
    // With the PIN initialised, the procedure revokes both and hands the phone over empty.
    s.init_pin(H0, AUTH).unwrap();
    s.hand_over(H0, Holder::Person(P1), true).unwrap();
    assert!(revoked(&s, auth) && revoked(&s, sign));
    assert_eq!(slot_serial(&s, H0, AUTH), None);

    // The temporary PIN: refused, no try spent, by a revocation and by the procedure.
    let mut t = issued_not_written();
    t.write_cert(H0).unwrap();
    let before = tries(&t, H0, AUTH);
    assert_eq!(t.revoke_from_phone(H0, AUTH), Err(Refusal::TemporaryPin));
    assert_eq!(tries(&t, H0, AUTH), before);
    assert_eq!(t.dispose(H0, true), Err(Refusal::TemporaryPin));

    // Issued but never written: the applet has nothing to prove it with.
    let mut u = issued_not_written();
    assert_eq!(
        u.hand_over(H0, Holder::Person(P1), true),
        Err(Refusal::NoCredential)
    );
    assert_eq!(u.phone_view(H0).unwrap().holder, Holder::Person(P0));
    assert!(
        u.phone_view(H0).unwrap().app.is_some(),
        "nothing done: no reset"
    );
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
    // Now no sign credential: an auth credential issued again (the emptied applet installed
    // again first) cannot be revoked from here.
    s.install_applet(H0).unwrap();
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

/// ALT-RESET=server (default): online, the reset has the SEI-TSM delete the applet; offline
/// (or broken) the request cannot leave the phone and the leftover keys stay; the app goes
/// either way.
#[test]
fn alt_reset_server_deletes_only_when_online() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    ready(&mut s, H1);
    s.factory_reset(H0).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert!(
        !v.applet && v.app.is_none(),
        "online reset deletes the applet"
    );
    s.go_offline(H1).unwrap();
    s.factory_reset(H1).unwrap();
    let v = s.phone_view(H1).unwrap();
    assert!(
        v.applet && v.app.is_none(),
        "offline: the SE keeps the applet"
    );
    // The leftover key still works over a card reader, PIN-protected (課題2).
    s.reader_use(H1, AUTH, Pin::Right).unwrap();
}

/// ALT-RESET=OS wipe: the OS wipes the SE's JPKI data itself, offline too.
#[test]
fn alt_reset_os_wipe_works_offline() {
    let mut s = system_with(|c| c.policy.reset = ResetPolicy::OsWipe);
    ready(&mut s, H0);
    s.go_offline(H0).unwrap();
    s.factory_reset(H0).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert!(!v.applet && v.app.is_none());
    assert_eq!(s.reader_use(H0, AUTH, Pin::Right), Err(Refusal::NoApplet));
}

/// 失効時にアプレットの削除 (000 §3(2)(3)): revoking the last credential deletes the applet
/// (GP DELETE with related objects); while the other kind's credential is there the applet
/// stays; a later issuance installs it again, the applet first (InstallApplet, phase 2):
/// applying without it is refused `NoApplet`, as the model's Apply (found by lockstep
/// conformance under the model's default).
#[test]
fn revocation_deletes_the_applet_and_issuance_reinstalls_it() {
    let mut s = system_with(|_| {});
    ready(&mut s, H0);
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert!(
        s.phone_view(H0).unwrap().applet,
        "the sign credential keeps it"
    );
    s.go_offline(H0).unwrap();
    s.revoke_with_card(P0, SIGN).unwrap();
    s.go_online(H0).unwrap(); // the app's status sync deletes the revoked one
    assert!(!s.phone_view(H0).unwrap().applet, "emptied: deleted");
    assert_eq!(s.reader_use(H0, SIGN, Pin::Right), Err(Refusal::NoApplet));
    assert_eq!(s.apply(H0, SIGN), Err(Refusal::NoApplet));
    s.install_applet(H0).unwrap();
    issue(&mut s, H0, SIGN);
    assert!(s.phone_view(H0).unwrap().applet);
    s.r#use(H0, SIGN, Pin::Right).unwrap();
    // The deletion push path deletes it too.
    s.go_offline(H0).unwrap();
    s.revoke_with_card(P0, SIGN).unwrap();
    s.go_online(H0).unwrap();
    assert!(!s.phone_view(H0).unwrap().applet);
    // An applet empty from the start (nothing issued yet) is no revocation's: the status
    // sync of a reinstalled app leaves it (as the model's; found by lockstep).
    s.install_app(H1).unwrap();
    s.install_applet(H1).unwrap();
    s.uninstall_app(H1).unwrap();
    s.install_app(H1).unwrap();
    assert!(s.phone_view(H1).unwrap().applet);
    let mut t = system_with(|c| c.policy.applet_deletion = AppletDeletion::Never);
    ready(&mut t, H0);
    t.revoke_from_phone(H0, AUTH).unwrap();
    t.revoke_from_phone(H0, SIGN).unwrap();
    assert!(
        t.phone_view(H0).unwrap().applet,
        "AppletDeletion::Never keeps it"
    );
}

/// R-DELETE, INV-NO-STALE-DELETE: a certificate revoked before it was written (between
/// CaIssue and WriteCert) has its key deleted by the push that names its serial; a key-only
/// slot holding another key is left alone.
#[test]
fn deletion_removes_the_key_of_a_cert_revoked_before_it_was_written() {
    let mut s = system_with(|c| c.policy.applet_deletion = AppletDeletion::Never);
    s.install_app(H0).unwrap();
    s.install_applet(H0).unwrap();
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    let (serial, _) = s.live_cert(P0, AUTH).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    assert_eq!(s.write_cert(H0), Err(Refusal::CertRevoked));
    assert!(s.slot(H0, AUTH).unwrap().has_key);
    s.abandon_issuance(H0).unwrap();
    // A new key for a new session is generated before the stale push arrives.
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    let pushes = s.pending_pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].serial, serial);
    s.deliver_push(0).unwrap();
    assert!(
        s.slot(H0, AUTH).unwrap().has_key,
        "the new key is not the one certified for the revoked serial"
    );
    // Without the new session, the push deletes the certified key.
    let mut t = system_with(|c| c.policy.applet_deletion = AppletDeletion::Never);
    t.install_app(H0).unwrap();
    t.install_applet(H0).unwrap();
    t.apply(H0, AUTH).unwrap();
    t.generate_key(H0).unwrap();
    t.ca_issue(H0).unwrap();
    t.revoke_with_card(P0, AUTH).unwrap();
    t.deliver_push(0).unwrap();
    assert!(
        !t.slot(H0, AUTH).unwrap().has_key,
        "the certified key is gone"
    );
}

/// ALT-SUSPEND=none: no suspension and no resumption; a mislaid phone must be revoked.
#[test]
fn alt_suspend_none_refuses_suspension() {
    let mut s = system_with(|c| c.policy.no_suspension = true);
    ready(&mut s, H0);
    assert_eq!(s.suspend(P0, AUTH), Err(Refusal::NoSuspension));
    assert_eq!(s.resume(H0, AUTH, Pin::Right), Err(Refusal::NoSuspension));
    let mut t = system_with(|_| {});
    ready(&mut t, H0);
    t.suspend(P0, AUTH).unwrap();
    t.resume(H0, AUTH, Pin::Right).unwrap();
}

/// ALT-APPLET-STATUS: the signing key signs only with a grant the SP-TSM gives when the app,
/// online, finds the certificate active: no signature over the card reader, none offline, none
/// with a revoked key even before the deletion push arrives; the auth key is not gated.
#[test]
fn alt_applet_status_stops_a_revoked_key_from_signing() {
    let mut s = system_with(|c| c.policy.applet_status = true);
    ready(&mut s, H0);
    s.r#use(H0, SIGN, Pin::Right).unwrap();
    let serial = s.sign_offline(H0, Pin::Right).unwrap();
    s.present_signature(serial).unwrap();
    assert_eq!(
        s.reader_use(H0, SIGN, Pin::Right),
        Err(Refusal::StatusUnknown)
    );
    // The terminal asks no PIN for a key that cannot sign there: no try is spent (as the
    // model's ReaderUse; found by lockstep under applet-checks-status).
    assert_eq!(
        s.reader_use(H0, SIGN, Pin::Wrong),
        Err(Refusal::StatusUnknown)
    );
    assert_eq!(s.slot(H0, SIGN).unwrap().tries_left, 5);
    s.reader_use(H0, AUTH, Pin::Right).unwrap();
    s.go_offline(H0).unwrap();
    assert_eq!(s.sign_offline(H0, Pin::Right), Err(Refusal::StatusUnknown));
    // Revoked while the phone is away from the network; the push cannot arrive. Back online
    // with the push lost, the app's grant request meets the revocation.
    s.revoke_with_card(P0, SIGN).unwrap();
    assert_eq!(
        s.reader_use(H0, SIGN, Pin::Right),
        Err(Refusal::StatusUnknown)
    );
    s.drop_push(0).unwrap();
    let mut t = s.clone();
    t.go_online(H0).unwrap(); // the status sync deletes it
    assert_eq!(t.sign_offline(H0, Pin::Right), Err(Refusal::NoCredential));
    // Without the sync (the app removed), the grant is refused: the SE never signs.
    s.uninstall_app(H0).unwrap();
    assert_eq!(s.sign_offline(H0, Pin::Right), Err(Refusal::StatusUnknown));
    // A suspended key can still prove possession for resumption.
    let mut u = system_with(|c| c.policy.applet_status = true);
    ready(&mut u, H0);
    u.suspend(P0, SIGN).unwrap();
    assert_eq!(u.r#use(H0, SIGN, Pin::Right), Err(Refusal::CertRevoked));
    u.resume(H0, SIGN, Pin::Right).unwrap();
    u.r#use(H0, SIGN, Pin::Right).unwrap();
}

/// 更新 (R-REISSUE): the end of a phone certificate's validity period. Relying parties refuse
/// it (`CertExpired`, through the app and at a card reader, by query and by CRL), the app
/// deletes it at its next status sync (no push), and a reissue is no longer refused as live.
#[test]
fn an_expired_phone_cert_is_refused_deleted_at_sync_and_reissued() {
    for check in [StatusCheck::Query, StatusCheck::Crl] {
        let mut s = system_with(|c| c.policy.status_check = check);
        ready(&mut s, H0);
        let serial = slot_serial(&s, H0, SIGN).unwrap();
        s.cert_expire(serial).unwrap();
        assert_eq!(s.cert_expire(serial), Err(Refusal::CertExpired));
        assert_eq!(s.r#use(H0, SIGN, Pin::Right), Err(Refusal::CertExpired));
        assert_eq!(
            s.reader_use(H0, SIGN, Pin::Right),
            Err(Refusal::CertExpired)
        );
        assert!(s.pending_pushes().is_empty(), "no push for an expiry");
        assert_eq!(slot_serial(&s, H0, SIGN), Some(serial));
        s.go_offline(H0).unwrap();
        s.go_online(H0).unwrap();
        assert_eq!(slot_serial(&s, H0, SIGN), None, "deleted at the sync");
        issue(&mut s, H0, SIGN);
        s.r#use(H0, SIGN, Pin::Right).unwrap();
    }
}
