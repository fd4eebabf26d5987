//! The properties that close the gaps the mutation run of `threats.rs` found (issue 10): R-USE
//! over the card reader and for signatures made for later, R-TRANSFER-DONE, ALT-APPLET-STATUS,
//! R-EVENTS, and the ground truth the threat actors keep (THREAT-FINDER-LOCK,
//! THREAT-OFFLINE-SIGN-KEPT, ALT-UNLOCK-KEY, ALT-PROOFING-PIN/-CODED/-APPLY). Each holds for
//! the rules' own step and fails on the outcome a wrong rule gives (the mutants that survived
//! before).

mod common;

use common::issued;
use phone_jpki_model::ids::{PersonId, PhoneId};
use phone_jpki_model::policy::{Alternative, Choice};
use phone_jpki_model::properties::{for_config, Condition, Observed};
use phone_jpki_model::rules::{candidate_actions, step};
use phone_jpki_model::state::State;
use phone_jpki_model::{Action, Config, Kind, PinEntry, Recipient, Refusal};

const H0: PhoneId = PhoneId(0);
const H1: PhoneId = PhoneId(1);
const P0: PersonId = PersonId(0);
const P1: PersonId = PersonId(1);

/// The reference world without its small-scope budgets and nobody's PIN known, under `alt`.
fn world(alt: Option<Alternative>) -> Config {
    let c = Config {
        max_events: None,
        max_sessions: None,
        max_certs: None,
        pin_known: Vec::new(),
        ..Config::reference()
    };
    match alt {
        Some(a) => c.with_choice(Choice::Alternative(a)),
        None => c,
    }
}

/// Take `actions` in turn from `s`, each offered and accepted.
fn run(c: &Config, s: &State, actions: &[Action]) -> State {
    let mut s = s.clone();
    for (i, &a) in actions.iter().enumerate() {
        let mut offered = Vec::new();
        candidate_actions(c, &s, &mut offered);
        assert!(offered.contains(&a), "step {i}: {a} not offered");
        let o = step(c, &s, a);
        assert_eq!(o.result, Ok(()), "step {i}: {a} refused");
        s = o.next;
    }
    s
}

/// Property `id`'s verdict on one observed step.
fn verdict(
    c: &Config,
    id: &str,
    before: &State,
    action: Action,
    result: Result<(), Refusal>,
    after: &State,
) -> bool {
    let p = for_config(c)
        .into_iter()
        .find(|p| p.id() == id)
        .unwrap_or_else(|| panic!("{id} not listed"));
    let Condition::Step(f) = p.condition else {
        panic!("{id} is no step property");
    };
    f(&Observed {
        config: c,
        before,
        action,
        result,
        after,
    })
}

/// `id` holds on the rules' own step and fails on `wrong` (a wrong rule's outcome).
fn holds_and_bites(
    c: &Config,
    id: &str,
    before: &State,
    action: Action,
    wrong: (Result<(), Refusal>, &State),
) {
    let o = step(c, before, action);
    assert!(
        verdict(c, id, before, action, o.result, &o.next),
        "{id} fails on the rules' {action}"
    );
    assert!(
        !verdict(c, id, before, action, wrong.0, wrong.1),
        "{id} keeps a wrong {action}: {:?}",
        wrong.0
    );
}

#[test]
fn r_use_serves_the_reader_route_and_signatures_for_later() {
    let c = world(None);
    let s = issued(&c, Kind::Sign);
    for a in [
        Action::ReaderUse(H0, Kind::Sign, PinEntry::Right),
        Action::SignOffline(H0, PinEntry::Right),
    ] {
        assert_eq!(step(&c, &s, a).result, Ok(()), "{a} refused");
        holds_and_bites(&c, "R-USE", &s, a, (Err(Refusal::StatusUnknown), &s));
    }
    // Over the reader the auth credential is served even offline and without the app.
    let a = issued(&c, Kind::Auth);
    let off = run(&c, &a, &[Action::GoOffline(H0)]);
    let reader = Action::ReaderUse(H0, Kind::Auth, PinEntry::Right);
    holds_and_bites(
        &c,
        "R-USE",
        &off,
        reader,
        (Err(Refusal::PhoneOffline), &off),
    );
}

#[test]
fn alt_applet_status_signs_only_with_the_apps_fresh_status() {
    let c = world(Some(Alternative::AppletChecksStatus));
    let s = issued(&c, Kind::Sign);
    let sign = Action::SignOffline(H0, PinEntry::Right);
    // Online with the app: the owner's signature for later is made (R-USE), and a refusal
    // fails R-USE.
    holds_and_bites(&c, "R-USE", &s, sign, (Err(Refusal::StatusUnknown), &s));
    assert!(verdict(
        &c,
        "ALT-APPLET-STATUS",
        &s,
        sign,
        Ok(()),
        &step(&c, &s, sign).next
    ));
    // Offline, or over the reader, nothing is signed: a grant there fails ALT-APPLET-STATUS.
    let off = run(&c, &s, &[Action::GoOffline(H0)]);
    let signed_anyway = step(&world(None), &off, sign).next;
    holds_and_bites(
        &c,
        "ALT-APPLET-STATUS",
        &off,
        sign,
        (Ok(()), &signed_anyway),
    );
    assert!(verdict(
        &c,
        "R-USE",
        &off,
        sign,
        Err(Refusal::StatusUnknown),
        &off
    ));
    let reader = Action::ReaderUse(H0, Kind::Sign, PinEntry::Right);
    holds_and_bites(&c, "ALT-APPLET-STATUS", &s, reader, (Ok(()), &s));
    // The auth credential over the reader is no signature: still served.
    let a = issued(&c, Kind::Auth);
    let auth = Action::ReaderUse(H0, Kind::Auth, PinEntry::Right);
    holds_and_bites(&c, "R-USE", &a, auth, (Err(Refusal::StatusUnknown), &a));
}

#[test]
fn r_transfer_done_asks_only_the_proof_alt_revoke_auth_asks() {
    for alt in [
        None,
        Some(Alternative::RevokeAuthCard),
        Some(Alternative::RevokeAuthNothing),
    ] {
        let c = world(alt);
        let s = issued(&c, Kind::Auth);
        for a in [
            Action::HandOver(H0, Recipient::Person(P1), true),
            Action::HandOver(H0, Recipient::Stranger, true),
            Action::Dispose(H0, true),
        ] {
            holds_and_bites(&c, "R-TRANSFER-DONE", &s, a, (Err(Refusal::PinBlocked), &s));
        }
    }
    // A blocked PIN proves nothing under ALT-REVOKE-AUTH=pin: the refusal is no gap.
    let c = world(None);
    let wrong = Action::Use(H0, Kind::Auth, PinEntry::Wrong);
    let blocked = (0..c.tries(Kind::Auth)).fold(issued(&c, Kind::Auth), |s, _| {
        let o = step(&c, &s, wrong);
        assert_eq!(o.result, Err(Refusal::WrongPin));
        o.next
    });
    let a = Action::HandOver(H0, Recipient::Person(P1), true);
    let o = step(&c, &blocked, a);
    assert_eq!(o.result, Err(Refusal::PinBlocked));
    assert!(verdict(
        &c,
        "R-TRANSFER-DONE",
        &blocked,
        a,
        o.result,
        &o.next
    ));
}

#[test]
fn pending_signatures_change_only_by_signing_and_presenting() {
    let c = world(None);
    let s = issued(&c, Kind::Sign);
    let sign = Action::SignOffline(H0, PinEntry::Right);
    // A signing that keeps nothing pending.
    holds_and_bites(&c, "THREAT-OFFLINE-SIGN-KEPT", &s, sign, (Ok(()), &s));
    let signed = step(&c, &s, sign).next;
    let x = signed.threats.signatures[0].serial;
    // A presentation that leaves the signature pending.
    let present = Action::PresentSignature(x);
    holds_and_bites(
        &c,
        "THREAT-OFFLINE-SIGN-KEPT",
        &signed,
        present,
        (Ok(()), &signed),
    );
    // Any other step that drops it.
    let online = Action::GoOffline(H0);
    let dropped = {
        let mut d = step(&c, &signed, online).next;
        d.threats.signatures.clear();
        d
    };
    holds_and_bites(
        &c,
        "THREAT-OFFLINE-SIGN-KEPT",
        &signed,
        online,
        (Ok(()), &dropped),
    );
}

#[test]
fn a_finders_lock_comes_with_the_find_and_goes_with_a_wipe_or_a_swap() {
    let c = world(Some(Alternative::StorageSim));
    let lost = run(&c, &issued(&c, Kind::Auth), &[Action::Lose(H0)]);
    let finds = Action::StrangerFinds(H0);
    holds_and_bites(&c, "THREAT-FINDER-LOCK", &lost, finds, (Ok(()), &lost));
    let found = step(&c, &lost, finds).next;
    assert!(found.threats.is_found(H0));
    let swap = Action::SimSwap(H0);
    holds_and_bites(&c, "THREAT-FINDER-LOCK", &found, swap, (Ok(()), &found));
    // A step on another phone opens no lock.
    let other = Action::InstallApp(H1);
    let opened = {
        let mut o = step(&c, &found, other).next;
        o.threats.found = 0;
        o
    };
    holds_and_bites(&c, "THREAT-FINDER-LOCK", &found, other, (Ok(()), &opened));
}

#[test]
fn a_biometric_key_goes_with_a_new_finger_and_comes_with_a_new_pin() {
    let c = world(Some(Alternative::UnlockInvalidateOnEnrol));
    let sold = run(
        &c,
        &issued(&c, Kind::Auth),
        &[Action::HandOver(H0, Recipient::Person(P1), false)],
    );
    let enrol = Action::EnrollFinger(H0);
    holds_and_bites(&c, "ALT-UNLOCK-KEY", &sold, enrol, (Ok(()), &sold));
    let enrolled = step(&c, &sold, enrol).next;
    assert!(enrolled.threats.bio_invalid(H0));
    let in_session = run(
        &c,
        &enrolled,
        &[
            Action::Apply(H0, Kind::Auth),
            Action::GenerateKey(H0),
            Action::CaIssue(H0),
            Action::WriteCert(H0),
        ],
    );
    let set = Action::SetUserPin(H0);
    let still_invalid = {
        let mut n = step(&c, &in_session, set).next;
        n.threats.bio_invalid |= 1;
        n
    };
    holds_and_bites(
        &c,
        "ALT-UNLOCK-KEY",
        &in_session,
        set,
        (Ok(()), &still_invalid),
    );
}

#[test]
fn a_mailed_code_opens_the_application_and_its_applicant_knows_the_pin() {
    let c = world(Some(Alternative::ProofingMailedCode));
    let ready = run(
        &c,
        &State::initial(&c),
        &[Action::InstallApp(H1), Action::InstallApplet(H1)],
    );
    let apply = Action::ApplyWithCode(H1, P0, Kind::Auth);
    holds_and_bites(
        &c,
        "ALT-PROOFING-APPLY",
        &ready,
        apply,
        (Err(Refusal::NoApplet), &ready),
    );
    // The application is marked as proven by the code, and a card-signed one later is not.
    let forgotten_mark = step(&world(None), &ready, Action::Apply(H1, Kind::Auth)).next;
    holds_and_bites(
        &c,
        "ALT-PROOFING-CODED",
        &ready,
        apply,
        (Ok(()), &forgotten_mark),
    );
    let coded = step(&c, &ready, apply).next;
    let again = run(&c, &coded, &[Action::AbandonIssuance(H1)]);
    let card = Action::Apply(H1, Kind::Sign);
    let still_marked = {
        let mut n = step(&c, &again, card).next;
        n.threats.coded |= 1 << H1.0;
        n
    };
    holds_and_bites(
        &c,
        "ALT-PROOFING-CODED",
        &again,
        card,
        (Ok(()), &still_marked),
    );
    let written = run(
        &c,
        &ready,
        &[
            apply,
            Action::GenerateKey(H1),
            Action::CaIssue(H1),
            Action::WriteCert(H1),
        ],
    );
    let set = Action::SetUserPin(H1);
    let forgotten = {
        let mut n = step(&c, &written, set).next;
        n.threats.pin_set_by.clear();
        n
    };
    holds_and_bites(&c, "ALT-PROOFING-PIN", &written, set, (Ok(()), &forgotten));
    assert_eq!(
        written.phone(H1).holder,
        phone_jpki_model::state::Holder::Person(P1)
    );
    assert_eq!(
        written.phone(H1).session.map(|s| s.person),
        Some(P0),
        "the session is the code's person's"
    );
}

/// R-EVENTS: an event a rule turned into a no-op (found by the mutation run of the split
/// rules: `find`, `uninstall_app`, `card_revoke`, `card_expire`, `revoke_with_card` replaced
/// by `Ok(())` kept every other verdict).
#[test]
fn r_events_fail_on_an_event_that_does_nothing() {
    let c = world(None);
    let s = issued(&c, Kind::Auth);
    let lost = run(&c, &s, &[Action::Lose(H0)]);
    for (before, a) in [
        (&lost, Action::Find(H0)),
        (&s, Action::Lose(H0)),
        (&s, Action::UninstallApp(H0)),
        (&s, Action::GoOffline(H0)),
        (&s, Action::CardRevoke(P0)),
        (&s, Action::CardExpire(P0)),
        (&s, Action::CardRenew(P0)),
        (&s, Action::RevokeWithCard(P0, Kind::Auth)),
    ] {
        holds_and_bites(&c, "R-EVENTS", before, a, (Ok(()), before));
    }
}
