//! Scenario tests of the concrete system through its public facade only (`System`, one method
//! per action of docs/ALPHABET.md). Test names carry the requirement IDs of DOMAIN.md.

use phone_jpki_impl::applet::PinState;
use phone_jpki_impl::ca::{
    CardEnd, CertKind, CertStatus, PersonId, PhoneId, RevocationCause, StatusAnswer,
};
use phone_jpki_impl::phone::{Condition, Holder};
use phone_jpki_impl::push::Undeliverable;
use phone_jpki_impl::system::{AppletDeletion, Pin, Refusal, ResetPolicy, System, SystemConfig};

const AUTH: CertKind = CertKind::Auth;
const SIGN: CertKind = CertKind::Sign;
const P0: PersonId = PersonId(0);
const P1: PersonId = PersonId(1);
const H0: PhoneId = PhoneId(0);
const H1: PhoneId = PhoneId(1);
const H2: PhoneId = PhoneId(2);

/// Two persons, three phones: h0 and h2 held by p0, h1 by p1. These scenarios pin the
/// behaviour the model checks today: a reset wipes the SE locally, an emptied applet stays and
/// a push for a certificate never written leaves its key (tests/policies.rs covers the
/// defaults: reset through the server, applet deleted, that key deleted).
fn system() -> System {
    System::new(config()).expect("system")
}

fn config() -> SystemConfig {
    let mut c = SystemConfig::new(2, 3);
    c.seed = 7;
    c.policy.reset = ResetPolicy::OsWipe;
    c.policy.applet_deletion = AppletDeletion::Never;
    c.policy.keep_unwritten_keys = true;
    c
}

fn setup_phone(s: &mut System, h: PhoneId) {
    s.install_app(h).unwrap();
    s.install_applet(h).unwrap();
}

/// Phases 3 and 4 of a full issuance on a phone with app and applet.
fn issue(s: &mut System, h: PhoneId, k: CertKind) {
    s.apply(h, k).unwrap();
    s.generate_key(h).unwrap();
    s.ca_issue(h).unwrap();
    s.write_cert(h).unwrap();
    s.set_user_pin(h).unwrap();
}

fn status(s: &System, p: PersonId, k: CertKind) -> Option<CertStatus> {
    s.live_cert(p, k)
        .and_then(|(serial, _)| match s.status(serial) {
            StatusAnswer::Known(st) => Some(st),
            StatusAnswer::Unknown => None,
        })
}

fn slot_serial(s: &System, h: PhoneId, k: CertKind) -> Option<phone_jpki_impl::ca::Serial> {
    s.slot(h, k).and_then(|x| x.cert_serial)
}

#[test]
fn r_issue_r_pin_setup_phases_1_to_4() {
    let mut s = system();
    // Phase 1: nothing before the app.
    assert_eq!(s.install_applet(H0), Err(Refusal::NoApp));
    s.install_app(H0).unwrap();
    assert!(s.registered_token(H0).is_some());
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::NoApplet));
    // Phase 2.
    s.install_applet(H0).unwrap();
    assert_eq!(s.install_applet(H0), Err(Refusal::AppletAlreadyInstalled));
    let v = s.phone_view(H0).unwrap();
    assert!(v.applet);
    assert_eq!(v.applet_life_cycle, Some(0x07));
    // Phase 3.
    assert_eq!(s.generate_key(H0), Err(Refusal::NoSession));
    s.apply(H0, AUTH).unwrap();
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::IssuanceInProgress));
    assert_eq!(s.ca_issue(H0), Err(Refusal::WrongStep));
    s.generate_key(H0).unwrap();
    let slot = s.slot(H0, AUTH).unwrap();
    assert_eq!(
        (slot.pin_state, slot.has_key),
        (PinState::KeyGenerated, true)
    );
    s.ca_issue(H0).unwrap();
    let (serial, phone) = s.live_cert(P0, AUTH).unwrap();
    assert_eq!(phone, H0);
    s.write_cert(H0).unwrap();
    let slot = s.slot(H0, AUTH).unwrap();
    assert_eq!(slot.pin_state, PinState::Temporary);
    assert_eq!(slot.cert_serial, Some(serial));
    assert_eq!(s.phone_view(H0).unwrap().applet_life_cycle, Some(0x0F));
    // INV-PIN: the temporary PIN admits no service use.
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::TemporaryPin));
    // Phase 4.
    s.set_user_pin(H0).unwrap();
    assert_eq!(s.slot(H0, AUTH).unwrap().pin_state, PinState::User);
    assert!(s.session(H0).is_none());
    s.r#use(H0, AUTH, Pin::Right).unwrap();
    assert_eq!(
        s.r#use(H0, AUTH, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    // Sign kind alongside, independent (R-KINDS).
    issue(&mut s, H0, SIGN);
    s.r#use(H0, SIGN, Pin::Right).unwrap();
    assert_eq!(s.slot(H0, SIGN).unwrap().max_tries, 5);
    assert_eq!(s.slot(H0, AUTH).unwrap().max_tries, 3);
}

#[test]
fn r_revoke_a_from_the_phone_deletes_locally() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    let (serial, _) = s.live_cert(P0, AUTH).unwrap();
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert!(matches!(
        s.status(serial),
        StatusAnswer::Known(CertStatus::Revoked {
            cause: RevocationCause::UserRequestFromPhone,
            ..
        })
    ));
    assert_eq!(s.slot(H0, AUTH).unwrap().pin_state, PinState::Empty);
    assert!(s.pending_pushes().is_empty());
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::NoCredential));
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::NoCredential));
}

#[test]
fn r_revoke_b_with_card_pushes_to_the_holding_phone_r_token() {
    let mut s = system();
    setup_phone(&mut s, H0);
    s.install_app(H2).unwrap();
    issue(&mut s, H0, AUTH);
    let (serial, _) = s.live_cert(P0, AUTH).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    let pushes = s.pending_pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].phone, H0);
    assert_eq!(Some(pushes[0].token), s.registered_token(H0));
    assert_eq!(pushes[0].serial, serial);
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::CertRevoked));
    s.deliver_push(0).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), None);
    assert_eq!(s.revoke_with_card(P0, AUTH), Err(Refusal::NoLiveCert));
}

#[test]
fn r_revoke_c_linked_card_renew_revoke_expire() {
    for end in [CardEnd::Renewed, CardEnd::Revoked, CardEnd::Expired] {
        let mut s = system();
        setup_phone(&mut s, H0);
        issue(&mut s, H0, AUTH);
        issue(&mut s, H0, SIGN);
        let (a, _) = s.live_cert(P0, AUTH).unwrap();
        let (g, _) = s.live_cert(P0, SIGN).unwrap();
        match end {
            CardEnd::Renewed => s.card_renew(P0),
            CardEnd::Revoked => s.card_revoke(P0),
            CardEnd::Expired => s.card_expire(P0),
        }
        .unwrap();
        for serial in [a, g] {
            assert_eq!(
                s.status(serial),
                StatusAnswer::Known(CertStatus::Revoked {
                    cause: RevocationCause::Linked(end),
                    time: s.now()
                }),
                "{end:?}"
            );
        }
        let pushed: Vec<_> = s.pending_pushes().iter().map(|p| p.serial).collect();
        assert_eq!(pushed, vec![a, g], "{end:?}");
        assert_eq!(s.r#use(H0, SIGN, Pin::Right), Err(Refusal::CertRevoked));
        s.deliver_push(1).unwrap();
        s.deliver_push(0).unwrap();
        assert_eq!(slot_serial(&s, H0, AUTH), None);
        assert_eq!(slot_serial(&s, H0, SIGN), None);
    }
}

#[test]
fn r_model_change_new_phone_revokes_old_and_pushes_to_old() {
    let mut s = system();
    setup_phone(&mut s, H0);
    setup_phone(&mut s, H2);
    issue(&mut s, H0, AUTH);
    let (old, _) = s.live_cert(P0, AUTH).unwrap();
    issue(&mut s, H2, AUTH);
    let (new, phone) = s.live_cert(P0, AUTH).unwrap();
    assert_eq!(phone, H2);
    assert!(matches!(
        s.status(old),
        StatusAnswer::Known(CertStatus::Revoked {
            cause: RevocationCause::ModelChange,
            ..
        })
    ));
    let pushes = s.pending_pushes();
    assert_eq!(
        (pushes.len(), pushes[0].phone, pushes[0].serial),
        (1, H0, old)
    );
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::CertRevoked));
    s.deliver_push(0).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), None);
    assert_eq!(slot_serial(&s, H2, AUTH), Some(new));
    s.r#use(H2, AUTH, Pin::Right).unwrap();
}

#[test]
fn r_reissue_refused_while_live_allowed_after_card_renewal() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::ReissueWhileLive));
    // Suspended is still live.
    s.suspend(P0, AUTH).unwrap();
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::ReissueWhileLive));
    s.card_renew(P0).unwrap();
    issue(&mut s, H0, AUTH);
    s.r#use(H0, AUTH, Pin::Right).unwrap();
}

#[test]
fn r_suspend_relying_party_refuses_until_resumed() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, SIGN);
    assert_eq!(s.resume(H0, SIGN, Pin::Right), Err(Refusal::NotSuspended));
    s.suspend(P0, SIGN).unwrap();
    assert!(matches!(
        status(&s, P0, SIGN),
        Some(CertStatus::Suspended { .. })
    ));
    assert_eq!(s.suspend(P0, SIGN), Err(Refusal::AlreadySuspended));
    assert_eq!(s.r#use(H0, SIGN, Pin::Right), Err(Refusal::CertSuspended));
    assert_eq!(
        s.resume(H0, SIGN, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 4 })
    );
    s.resume(H0, SIGN, Pin::Right).unwrap();
    assert_eq!(status(&s, P0, SIGN), Some(CertStatus::Active));
    s.r#use(H0, SIGN, Pin::Right).unwrap();
    assert_eq!(s.suspend(P1, SIGN), Err(Refusal::NoLiveCert));
}

#[test]
fn r_pin_change_block_and_init_with_card() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    assert_eq!(
        s.change_pin(H0, AUTH, Pin::Wrong),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    s.change_pin(H0, AUTH, Pin::Right).unwrap();
    s.r#use(H0, AUTH, Pin::Right).unwrap();
    for left in [2, 1, 0] {
        assert_eq!(
            s.r#use(H0, AUTH, Pin::Wrong),
            Err(Refusal::WrongPin { tries_left: left })
        );
    }
    assert_eq!(s.slot(H0, AUTH).unwrap().pin_state, PinState::Blocked);
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::PinBlocked));
    assert_eq!(s.change_pin(H0, AUTH, Pin::Right), Err(Refusal::PinBlocked));
    s.init_pin(H0, AUTH).unwrap();
    assert_eq!(s.slot(H0, AUTH).unwrap().tries_left, 3);
    s.r#use(H0, AUTH, Pin::Right).unwrap();
    // R-PIN-INIT needs a valid card.
    s.card_revoke(P0).unwrap();
    assert_eq!(s.init_pin(H0, AUTH), Err(Refusal::CardNotValid));
}

#[test]
fn r_loss_lost_phone_refuses_use_and_remote_deletion_reaches_it() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.lose(H0).unwrap();
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::NotInHand));
    // R-TEMP-LOSS: suspend, find, resume.
    s.suspend(P0, AUTH).unwrap();
    s.find(H0).unwrap();
    assert_eq!(s.find(H0), Err(Refusal::NotLost));
    s.resume(H0, AUTH, Pin::Right).unwrap();
    // R-LOSS: lost for good, revoke with the card; the lost phone is still online.
    s.lose(H0).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    s.deliver_push(0).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), None);
}

#[test]
fn r_failure_broken_phone_push_undeliverable_then_dropped() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.r#break(H0).unwrap();
    assert_eq!(s.go_online(H0), Err(Refusal::PhoneBroken));
    s.revoke_with_card(P0, AUTH).unwrap();
    assert_eq!(
        s.deliver_push(0),
        Err(Refusal::Undeliverable(Undeliverable::PhoneOffline))
    );
    assert_eq!(s.pending_pushes().len(), 1);
    s.drop_push(0).unwrap();
    assert_eq!(s.drop_push(0), Err(Refusal::NoSuchPush));
    // 課題2: the revoked key stays on the broken phone, its cert is revoked.
    assert!(slot_serial(&s, H0, AUTH).is_some());
}

#[test]
fn r_transfer_with_procedure_leaves_nothing_inv_delete_on_transfer() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    issue(&mut s, H0, SIGN);
    let (a, _) = s.live_cert(P0, AUTH).unwrap();
    s.hand_over(H0, Holder::Person(P1), true).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert_eq!(v.holder, Holder::Person(P1));
    assert!(!v.applet && v.slots.is_empty() && v.app.is_none());
    assert!(s.live_cert(P0, AUTH).is_none() && s.live_cert(P0, SIGN).is_none());
    assert!(matches!(
        s.status(a),
        StatusAnswer::Known(CertStatus::Revoked { .. })
    ));
    // The new holder starts from phase 1.
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.r#use(H0, AUTH, Pin::Right).unwrap();
}

#[test]
fn r_transfer_without_procedure_risk_1_pin_still_protects() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.hand_over(H0, Holder::Stranger, false).unwrap();
    assert_eq!(
        s.hand_over(H0, Holder::Stranger, false),
        Err(Refusal::SameHolder)
    );
    assert_eq!(status(&s, P0, AUTH), Some(CertStatus::Active));
    // The stranger's "right" PIN is not the one p0 set.
    assert_eq!(
        s.r#use(H0, AUTH, Pin::Right),
        Err(Refusal::WrongPin { tries_left: 2 })
    );
    // ALT-REVOKE-AUTH=PIN (default): the stranger cannot show p0's PIN (a try is counted).
    assert_eq!(
        s.revoke_from_phone(H0, AUTH),
        Err(Refusal::WrongPin { tries_left: 1 })
    );
    assert_eq!(status(&s, P0, AUTH), Some(CertStatus::Active));
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::NoCard));
}

#[test]
fn r_dispose_with_and_without_procedure() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.dispose(H0, true).unwrap();
    assert!(s.live_cert(P0, AUTH).is_none());
    assert!(!s.phone_view(H0).unwrap().applet);
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::NotInHand));

    let mut s = system();
    setup_phone(&mut s, H2);
    issue(&mut s, H2, AUTH);
    s.dispose(H2, false).unwrap();
    assert_eq!(status(&s, P0, AUTH), Some(CertStatus::Active));
    assert!(slot_serial(&s, H2, AUTH).is_some());
    assert_eq!(s.phone_view(H2).unwrap().holder, Holder::Nobody);
}

#[test]
fn r_reset_wipes_jpki_data_and_invalidates_the_token() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.factory_reset(H0).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert!(!v.applet && v.app.is_none());
    s.revoke_with_card(P0, AUTH).unwrap();
    assert_eq!(
        s.deliver_push(0),
        Err(Refusal::Undeliverable(Undeliverable::InvalidToken))
    );
    // Re-installation gets a new token; the old push stays undeliverable.
    s.install_app(H0).unwrap();
    assert_eq!(
        s.deliver_push(0),
        Err(Refusal::Undeliverable(Undeliverable::InvalidToken))
    );
}

#[test]
fn inv_no_stale_delete_late_push_after_reissue_on_same_phone() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    let (old, _) = s.live_cert(P0, AUTH).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    // The push waits; meanwhile the person reissues on the same phone.
    issue(&mut s, H0, AUTH);
    let (new, _) = s.live_cert(P0, AUTH).unwrap();
    assert_ne!(old, new);
    assert_eq!(s.pending_pushes()[0].serial, old);
    s.deliver_push(0).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), Some(new));
    s.r#use(H0, AUTH, Pin::Right).unwrap();
}

#[test]
fn r_issue_application_with_revoked_or_expired_card_cert_refused() {
    let mut s = system();
    setup_phone(&mut s, H0);
    setup_phone(&mut s, H1);
    s.card_revoke(P0).unwrap();
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::CardNotValid));
    assert_eq!(s.revoke_with_card(P0, AUTH), Err(Refusal::CardNotValid));
    assert_eq!(s.card_revoke(P0), Err(Refusal::CardNotValid));
    s.card_expire(P1).unwrap();
    assert_eq!(s.apply(H1, SIGN), Err(Refusal::CardNotValid));
    // A renewed card works again.
    s.card_renew(P0).unwrap();
    s.apply(H0, AUTH).unwrap();
}

#[test]
fn r_issue_card_ending_mid_session_stops_issuance() {
    let mut s = system();
    setup_phone(&mut s, H0);
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.card_revoke(P0).unwrap();
    assert_eq!(s.ca_issue(H0), Err(Refusal::CardNotValid));
    s.abandon_issuance(H0).unwrap();
    assert_eq!(s.abandon_issuance(H0), Err(Refusal::NoSession));

    // Revoked between CaIssue and WriteCert: never written.
    let mut s = system();
    setup_phone(&mut s, H0);
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.card_renew(P0).unwrap();
    assert_eq!(s.write_cert(H0), Err(Refusal::CertRevoked));
    assert_eq!(slot_serial(&s, H0, AUTH), None);
    // A refusal changes nothing: the session stays until the holder abandons it (as the
    // model's WriteCert).
    assert!(s.session(H0).is_some());
    s.abandon_issuance(H0).unwrap();
    assert!(s.session(H0).is_none());
}

#[test]
fn abandon_after_issue_keeps_the_unwritten_cert_live() {
    // AbandonIssuance drops the session only (ALPHABET, as the model): the issued cert stays
    // live, so a reissue on this phone is refused until it is revoked with the card.
    let mut s = system();
    setup_phone(&mut s, H0);
    s.apply(H0, SIGN).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.abandon_issuance(H0).unwrap();
    assert!(s.session(H0).is_none());
    assert!(s.live_cert(P0, SIGN).is_some());
    assert_eq!(s.apply(H0, SIGN), Err(Refusal::ReissueWhileLive));
    s.revoke_with_card(P0, SIGN).unwrap();
    issue(&mut s, H0, SIGN);
    s.r#use(H0, SIGN, Pin::Right).unwrap();
}

#[test]
fn the_procedure_revokes_a_cert_issued_in_an_abandoned_session() {
    // INV-DELETE-ON-TRANSFER: the SP-TSM binds to the phone every cert issued for it, written
    // or not; the hand-over procedure revokes the holder's, the abandoned session's included
    // (divergence found by `conform --cover-classes` in the deep world). Revocations from the
    // phone are authenticated with the card here, as conformance drives the default until the
    // model decides what a PIN proves for a cert never written (ALT-REVOKE-AUTH).
    let mut c = config();
    c.policy.revoke_auth = phone_jpki_impl::system::RevokeAuth::Card;
    let mut s = System::new(c).expect("system");
    setup_phone(&mut s, H0);
    s.apply(H0, SIGN).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.abandon_issuance(H0).unwrap();
    assert!(s.live_cert(P0, SIGN).is_some());
    s.hand_over(H0, Holder::Person(P1), true).unwrap();
    assert!(s.live_cert(P0, SIGN).is_none());
}

#[test]
fn r_acl_app_not_whitelisted_is_refused() {
    let mut s = system();
    s.install_app_as(H0, [0x77; 32]).unwrap();
    s.install_applet(H0).unwrap();
    assert_eq!(s.apply(H0, AUTH), Err(Refusal::AccessDenied));
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::AccessDenied));
    s.uninstall_app(H0).unwrap();
    s.install_app(H0).unwrap();
    s.apply(H0, AUTH).unwrap();
}

#[test]
fn r_continue_offline_operations_refused_with_phone_offline() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.go_offline(H0).unwrap();
    assert_eq!(s.go_offline(H0), Err(Refusal::AlreadyOffline));
    assert_eq!(s.r#use(H0, AUTH, Pin::Right), Err(Refusal::PhoneOffline));
    assert_eq!(s.apply(H0, SIGN), Err(Refusal::PhoneOffline));
    assert_eq!(s.revoke_from_phone(H0, AUTH), Err(Refusal::PhoneOffline));
    assert_eq!(s.init_pin(H0, AUTH), Err(Refusal::PhoneOffline));
    assert_eq!(s.resume(H0, AUTH, Pin::Right), Err(Refusal::PhoneOffline));
    assert_eq!(s.install_app(H1), Ok(()));
    s.go_offline(H1).unwrap();
    assert_eq!(s.install_applet(H1), Err(Refusal::PhoneOffline));
    // PIN change needs no network (R-PIN-CHANGE).
    s.change_pin(H0, AUTH, Pin::Right).unwrap();
    s.go_online(H0).unwrap();
    s.r#use(H0, AUTH, Pin::Right).unwrap();
}

#[test]
fn push_to_offline_phone_or_invalid_token_undeliverable() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.go_offline(H0).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    assert_eq!(
        s.deliver_push(0),
        Err(Refusal::Undeliverable(Undeliverable::PhoneOffline))
    );
    assert_eq!(s.deliver_push(5), Err(Refusal::NoSuchPush));
    s.uninstall_app(H0).unwrap();
    s.go_online(H0).unwrap();
    assert_eq!(
        s.deliver_push(0),
        Err(Refusal::Undeliverable(Undeliverable::InvalidToken))
    );
    assert!(slot_serial(&s, H0, AUTH).is_some());
}

#[test]
fn r_delete_app_syncs_status_when_back_online() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    issue(&mut s, H0, SIGN);
    let (sign, _) = s.live_cert(P0, SIGN).unwrap();
    s.go_offline(H0).unwrap();
    s.revoke_with_card(P0, AUTH).unwrap();
    s.drop_push(0).unwrap();
    s.go_online(H0).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), None);
    assert_eq!(slot_serial(&s, H0, SIGN), Some(sign));
    // Same on re-installation of the app after the push went to the old token.
    s.uninstall_app(H0).unwrap();
    s.revoke_with_card(P0, SIGN).unwrap();
    s.install_app(H0).unwrap();
    assert_eq!(slot_serial(&s, H0, SIGN), None);
}

#[test]
fn snapshot_by_clone_is_independent() {
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    let snap = s.clone();
    s.revoke_from_phone(H0, AUTH).unwrap();
    let mut t = snap;
    assert_eq!(status(&t, P0, AUTH), Some(CertStatus::Active));
    t.r#use(H0, AUTH, Pin::Right).unwrap();
    assert!(s.live_cert(P0, AUTH).is_none());
    assert_eq!(t.phone_view(H1).unwrap().condition, Condition::InHand);
}

/// Semantics aligned with the model by the lockstep conformance run (checks/): each case
/// was a divergence found by `phone-jpki conform`.
#[test]
fn conformance_fixes_session_and_pin_order() {
    // Resume asks the status first: a cert that is not suspended costs no PIN try.
    let mut s = system();
    setup_phone(&mut s, H0);
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.write_cert(H0).unwrap();
    assert_eq!(s.resume(H0, AUTH, Pin::Right), Err(Refusal::NotSuspended));
    // InitPin during the session replaces the temporary PIN; SetUserPin still completes,
    // and needs no network (on the phone).
    s.init_pin(H0, AUTH).unwrap();
    s.go_offline(H0).unwrap();
    s.set_user_pin(H0).unwrap();
    assert!(s.session(H0).is_none());
    s.go_online(H0).unwrap();
    s.r#use(H0, AUTH, Pin::Right).unwrap();

    // CaIssue is online; losing the phone loses the session.
    let mut s = system();
    setup_phone(&mut s, H0);
    s.apply(H0, SIGN).unwrap();
    s.generate_key(H0).unwrap();
    s.go_offline(H0).unwrap();
    assert_eq!(s.ca_issue(H0), Err(Refusal::PhoneOffline));
    s.go_online(H0).unwrap();
    s.lose(H0).unwrap();
    assert!(s.session(H0).is_none());

    // SetUserPin after the written credential was deleted: KeyMissing. (Revoked from the
    // phone with the card: the temporary PIN cannot authenticate a revocation.)
    let mut c = config();
    c.policy.revoke_auth = phone_jpki_impl::system::RevokeAuth::Card;
    let mut s = System::new(c).unwrap();
    setup_phone(&mut s, H0);
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.write_cert(H0).unwrap();
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert_eq!(s.set_user_pin(H0), Err(Refusal::KeyMissing));
}

#[test]
fn revoke_from_phone_of_a_cert_revoked_elsewhere_just_deletes_it() {
    // h2 is also p0's: issuing there revokes h0's cert (model change); revoking it from h0
    // then deletes it locally (found by the lockstep run).
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    setup_phone(&mut s, H2);
    s.apply(H2, AUTH).unwrap();
    s.generate_key(H2).unwrap();
    s.ca_issue(H2).unwrap();
    assert!(slot_serial(&s, H0, AUTH).is_some());
    s.revoke_from_phone(H0, AUTH).unwrap();
    assert_eq!(slot_serial(&s, H0, AUTH), None);
}

#[test]
fn a_broken_phone_can_be_disposed_of() {
    // As the model's Dispose (found by lockstep on the deep world): a broken phone is
    // disposed of; the procedure needs the network, so with it the disposal is refused
    // before anything is done (the model's default, not done halfway).
    let mut s = system();
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.r#break(H0).unwrap();
    assert_eq!(s.dispose(H0, true), Err(Refusal::PhoneOffline));
    assert!(s.phone_view(H0).unwrap().app.is_some());
    s.dispose(H0, false).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert_eq!(v.holder, Holder::Nobody);
    assert!(v.applet, "nothing could reach the SE");
    assert_eq!(s.dispose(H0, true), Err(Refusal::NotInHand));
    // With the offline procedure allowed, the procedure does what it can: the reset.
    let mut c = config();
    c.policy.offline_procedure = true;
    let mut s = System::new(c).expect("system");
    setup_phone(&mut s, H0);
    issue(&mut s, H0, AUTH);
    s.r#break(H0).unwrap();
    s.dispose(H0, true).unwrap();
    let v = s.phone_view(H0).unwrap();
    assert_eq!(v.app, None);
    assert!(!v.applet);
}

#[test]
fn model_change_before_write_leaves_the_key_as_the_model_does() {
    // Found by `conform --exhaustive` on the reference world: h0's session issued a cert that
    // was never written; issuing on h2 revokes it (R-MODEL-CHANGE) and the push reaches h0.
    // The model (before issue 9) keeps the key; so does this configuration
    // (`keep_unwritten_keys`), while the default deletes it (policies.rs).
    let mut s = system();
    s.install_app(H1).unwrap();
    setup_phone(&mut s, H0);
    s.apply(H0, AUTH).unwrap();
    s.generate_key(H0).unwrap();
    s.ca_issue(H0).unwrap();
    s.lose(H0).unwrap();
    s.find(H0).unwrap();
    setup_phone(&mut s, H2);
    s.apply(H2, AUTH).unwrap();
    s.generate_key(H2).unwrap();
    s.ca_issue(H2).unwrap();
    assert_eq!(s.pending_pushes().len(), 1);
    s.deliver_push(0).unwrap();
    assert!(s.slot(H0, AUTH).unwrap().has_key);
}
