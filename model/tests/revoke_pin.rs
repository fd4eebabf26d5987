//! ALT-REVOKE-AUTH=pin (the default): a revocation from the phone, and the hand-over
//! procedure, are proven by the PIN the holder can enter, checked by the applet (R-PIN-RETRY):
//! a wrong entry counts down, a blocked or temporary PIN proves nothing, and the owner's way
//! out is the card (R-REVOKE (b)). And INV-PIN observes it: a rule that let a blocked PIN
//! revoke fails the property.

use phone_jpki_model::ids::{PersonId, PhoneId, Serial};
use phone_jpki_model::invariants::{inv_pin, pin_retry};
use phone_jpki_model::properties::Observed;
use phone_jpki_model::rules::{candidate_actions, step};
use phone_jpki_model::state::{CertStatus, Holder, Pin, RevokeReason, Slot, State};
use phone_jpki_model::{Action, Config, Kind, PinEntry, Recipient, Refusal};

const H0: PhoneId = PhoneId(0);
const P0: PersonId = PersonId(0);
const P1: PersonId = PersonId(1);
const X0: Serial = Serial(0);

/// The reference world without its small-scope budgets, with the
/// cards' PIN tries and nobody's PIN known to others.
fn unbounded() -> Config {
    Config {
        max_events: None,
        max_sessions: None,
        max_certs: None,
        pin_known: Vec::new(),
        pin_tries: [3, 5],
        ..Config::reference()
    }
}

fn run(c: &Config, s: &State, actions: &[Action]) -> State {
    let mut s = s.clone();
    for (i, a) in actions.iter().enumerate() {
        let mut offered = Vec::new();
        candidate_actions(c, &s, &mut offered);
        assert!(offered.contains(a), "step {i}: {a} not offered");
        s = step(c, &s, *a).next;
    }
    s
}

/// p0's auth credential written on h0, with its temporary PIN.
fn written(c: &Config) -> State {
    run(
        c,
        &State::initial(c),
        &[
            Action::InstallApp(H0),
            Action::InstallApplet(H0),
            Action::Apply(H0, Kind::Auth),
            Action::GenerateKey(H0),
            Action::CaIssue(H0),
            Action::WriteCert(H0),
        ],
    )
}

/// p0's auth credential issued on h0, its user PIN set.
fn issued(c: &Config) -> State {
    run(c, &written(c), &[Action::SetUserPin(H0)])
}

fn blocked(c: &Config) -> State {
    let wrong = Action::Use(H0, Kind::Auth, PinEntry::Wrong);
    run(
        c,
        &issued(c),
        &vec![wrong; usize::from(c.tries(Kind::Auth))],
    )
}

fn pin(s: &State) -> Pin {
    match s.phone(H0).slot(Kind::Auth) {
        Slot::Cert { pin, .. } => pin,
        other => panic!("no credential in h0's auth slot: {other:?}"),
    }
}

#[test]
fn the_owner_revokes_with_the_pin_they_know() {
    let c = unbounded();
    let o = step(&c, &issued(&c), Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(o.result, Ok(()));
    assert_eq!(
        o.next.cert(X0).status,
        CertStatus::Revoked(RevokeReason::FromPhone)
    );
    assert_eq!(o.next.phone(H0).slot(Kind::Auth), Slot::Empty);
}

#[test]
fn a_blocked_pin_revokes_nothing_and_the_card_still_does() {
    let c = unbounded();
    let s = blocked(&c);
    assert_eq!(pin(&s), Pin::Blocked);
    let o = step(&c, &s, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(o.result, Err(Refusal::PinBlocked));
    assert_eq!(o.next, s, "a refused revocation changes nothing");
    // The procedure asks the same proof, and is refused before anything is done.
    let o = step(&c, &s, Action::HandOver(H0, Recipient::Person(P1), true));
    assert_eq!(o.result, Err(Refusal::PinBlocked));
    assert_eq!(o.next, s);
    // R-REVOKE (b): the card is the owner's way out; the push deletes the credential.
    let s = run(
        &c,
        &s,
        &[
            Action::RevokeWithCard(P0, Kind::Auth),
            Action::DeliverPush(X0),
        ],
    );
    assert_eq!(s.phone(H0).slot(Kind::Auth), Slot::Empty);
    assert!(!s.cert(X0).status.is_live());
}

#[test]
fn the_temporary_pin_revokes_nothing() {
    let c = unbounded();
    let s = written(&c);
    assert_eq!(pin(&s), Pin::Temporary);
    let o = step(&c, &s, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(o.result, Err(Refusal::TemporaryPin));
    assert_eq!(o.next, s);
    let o = step(&c, &s, Action::Dispose(H0, true));
    assert_eq!(o.result, Err(Refusal::TemporaryPin));
}

#[test]
fn a_buyer_who_does_not_know_the_pin_counts_it_down() {
    let c = unbounded();
    let s = run(
        &c,
        &issued(&c),
        &[Action::HandOver(H0, Recipient::Person(P1), false)],
    );
    assert_eq!(s.phone(H0).holder, Holder::Person(P1));
    let full = c.tries(Kind::Auth);
    let o = step(&c, &s, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(o.result, Err(Refusal::WrongPin));
    assert_eq!(
        pin(&o.next),
        Pin::User {
            tries_left: full - 1
        }
    );
    assert!(o.next.cert(X0).status.is_live());
    // THREAT-PIN-KNOWN: when p0's PIN is known, the buyer enters it and revokes.
    let c = Config {
        pin_known: vec![P0],
        ..c
    };
    let s = run(
        &c,
        &issued(&c),
        &[Action::HandOver(H0, Recipient::Person(P1), false)],
    );
    let o = step(&c, &s, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(o.result, Ok(()));
}

#[test]
fn a_cert_never_written_stops_the_procedure() {
    let c = unbounded();
    let s = run(
        &c,
        &State::initial(&c),
        &[
            Action::InstallApp(H0),
            Action::InstallApplet(H0),
            Action::Apply(H0, Kind::Auth),
            Action::GenerateKey(H0),
            Action::CaIssue(H0),
        ],
    );
    assert!(s.cert(X0).status.is_live());
    let o = step(&c, &s, Action::HandOver(H0, Recipient::Person(P1), true));
    assert_eq!(o.result, Err(Refusal::NoCredential));
    assert_eq!(o.next, s);
}

/// INV-PIN and R-PIN-RETRY on one revocation from h0's auth slot: (INV-PIN, R-PIN-RETRY).
fn observe(c: &Config, before: &State, result: Result<(), Refusal>, after: &State) -> (bool, bool) {
    let o = Observed {
        config: c,
        before,
        action: Action::RevokeFromPhone(H0, Kind::Auth),
        result,
        after,
    };
    (inv_pin(&o), pin_retry(&o))
}

/// What a rule that accepted the revocation would leave: the cert revoked, the slot empty.
fn revoked_anyway(before: &State) -> State {
    let mut after = before.clone();
    after.registry[0].status = CertStatus::Revoked(RevokeReason::FromPhone);
    after.phones[0].slots[Kind::Auth.index()] = Slot::Empty;
    after
}

/// INV-PIN and R-PIN-RETRY observe the revocation: a rule that admitted a blocked PIN, or
/// a buyer's wrong entry, or did not count it, fails them.
#[test]
fn the_pin_observers_bite_on_a_wrong_revocation_rule() {
    let c = unbounded();
    let before = blocked(&c);
    let (pin_ok, _) = observe(&c, &before, Ok(()), &revoked_anyway(&before));
    assert!(!pin_ok, "INV-PIN admits a revocation with a blocked PIN");
    // The rules as they are pass.
    let o = step(&c, &before, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(observe(&c, &before, o.result, &o.next), (true, true));

    // A buyer's entry accepted, or counted down by two.
    let before = run(
        &c,
        &issued(&c),
        &[Action::HandOver(H0, Recipient::Person(P1), false)],
    );
    let (pin_ok, _) = observe(&c, &before, Ok(()), &revoked_anyway(&before));
    assert!(!pin_ok, "INV-PIN admits a buyer's revocation");
    let mut counted_twice = before.clone();
    counted_twice.phones[0].slots[Kind::Auth.index()] = Slot::Cert {
        serial: X0,
        pin: Pin::User { tries_left: 1 },
    };
    let (_, retry_ok) = observe(&c, &before, Err(Refusal::WrongPin), &counted_twice);
    assert!(!retry_ok, "R-PIN-RETRY lets a wrong entry take two tries");
    let o = step(&c, &before, Action::RevokeFromPhone(H0, Kind::Auth));
    assert_eq!(observe(&c, &before, o.result, &o.next), (true, true));
}

/// The procedure asks proof only of the holder's live certs bound to the phone it leaves: a
/// cert of theirs issued on another phone, never written there, does not stop it.
#[test]
fn the_procedure_asks_only_for_the_certs_bound_to_that_phone() {
    let c = unbounded();
    const H2: PhoneId = PhoneId(2);
    let s = run(
        &c,
        &issued(&c),
        &[
            Action::InstallApp(H2),
            Action::InstallApplet(H2),
            Action::Apply(H2, Kind::Sign),
            Action::GenerateKey(H2),
            Action::CaIssue(H2),
        ],
    );
    let on_h2 = Serial(1);
    assert_eq!(s.cert(on_h2).person, P0);
    assert!(s.cert(on_h2).status.is_live());
    let o = step(&c, &s, Action::HandOver(H0, Recipient::Person(P1), true));
    assert_eq!(o.result, Ok(()));
    assert!(!o.next.cert(X0).status.is_live(), "h0's cert revoked");
    assert!(o.next.cert(on_h2).status.is_live(), "h2's cert untouched");
}
