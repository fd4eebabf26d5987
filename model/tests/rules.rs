//! Rule unit tests (moved out of `model/src/rules.rs`): concrete paths through the rules.
//! Property verdicts are in `verdicts.rs`.

use phone_jpki_model::ids::{PersonId, PhoneId, Serial};
use phone_jpki_model::rules::{candidate_actions, step};
use phone_jpki_model::state::{CertStatus, Pin, RevokeReason, Slot, State};
use phone_jpki_model::{Action, Config, Kind, PinEntry, Refusal};
fn run(config: &Config, actions: &[Action]) -> State {
    let mut s = State::initial(config);
    for (i, a) in actions.iter().enumerate() {
        let mut enabled = Vec::new();
        candidate_actions(config, &s, &mut enabled);
        assert!(enabled.contains(a), "step {i}: {a} not offered");
        let o = step(config, &s, *a);
        assert_eq!(o.result, Ok(()), "step {i}: {a}");
        s = o.next;
    }
    s
}

/// The reference world without its small-scope budgets, with the cards' PIN tries.
fn unbounded() -> Config {
    Config {
        max_events: None,
        max_sessions: None,
        max_certs: None,
        pin_tries: [3, 5],
        ..Config::reference()
    }
}

const H0: PhoneId = PhoneId(0);
const H2: PhoneId = PhoneId(2);
const P0: PersonId = PersonId(0);

fn issue(h: PhoneId, k: Kind) -> Vec<Action> {
    vec![
        Action::Apply(h, k),
        Action::GenerateKey(h),
        Action::CaIssue(h),
        Action::WriteCert(h),
        Action::SetUserPin(h),
    ]
}

fn setup(h: PhoneId) -> Vec<Action> {
    vec![Action::InstallApp(h), Action::InstallApplet(h)]
}

#[test]
fn issuance_reaches_phase_4_and_use_works() {
    let c = unbounded();
    let mut path = setup(H0);
    path.extend(issue(H0, Kind::Auth));
    path.push(Action::Use(H0, Kind::Auth, PinEntry::Right));
    let s = run(&c, &path);
    assert_eq!(s.phone(H0).phase(), 4);
    assert_eq!(s.registry.len(), 1);
}

#[test]
fn reissue_while_live_is_refused_and_model_change_revokes_old() {
    let c = unbounded();
    let mut path = setup(H0);
    path.extend(issue(H0, Kind::Sign));
    let s = run(&c, &path);
    let o = step(&c, &s, Action::Apply(H0, Kind::Sign));
    assert_eq!(o.result, Err(Refusal::ReissueWhileLive));
    assert_eq!(o.next, s);
    // h2 is also p0's: setting it up is a model change.
    let mut path2 = path.clone();
    path2.extend(setup(H2));
    path2.extend(issue(H2, Kind::Sign));
    let s = run(&c, &path2);
    assert_eq!(
        s.cert(Serial(0)).status,
        CertStatus::Revoked(RevokeReason::ModelChange)
    );
    assert_eq!(s.pushes.len(), 1);
    assert_eq!(s.pushes[0].phone, H0);
}

#[test]
fn wrong_pins_block_and_init_unblocks() {
    let c = unbounded();
    let mut path = setup(H0);
    path.extend(issue(H0, Kind::Auth));
    let mut s = run(&c, &path);
    for left in (0..3).rev() {
        let o = step(&c, &s, Action::Use(H0, Kind::Auth, PinEntry::Wrong));
        assert_eq!(o.result, Err(Refusal::WrongPin));
        s = o.next;
        let expect = if left == 0 {
            Pin::Blocked
        } else {
            Pin::User { tries_left: left }
        };
        assert_eq!(
            s.phone(H0).slot(Kind::Auth),
            Slot::Cert {
                serial: Serial(0),
                pin: expect
            }
        );
    }
    let o = step(&c, &s, Action::Use(H0, Kind::Auth, PinEntry::Right));
    assert_eq!(o.result, Err(Refusal::PinBlocked));
    let s = step(&c, &s, Action::InitPin(H0, Kind::Auth)).next;
    assert_eq!(
        step(&c, &s, Action::Use(H0, Kind::Auth, PinEntry::Right)).result,
        Ok(())
    );
}

#[test]
fn late_push_after_reissue_does_not_delete_new_credential() {
    let c = unbounded();
    let mut path = setup(H0);
    path.extend(issue(H0, Kind::Auth));
    path.push(Action::GoOffline(H0));
    path.push(Action::RevokeWithCard(P0, Kind::Auth));
    let s = run(&c, &path);
    assert_eq!(s.pushes.len(), 1);
    // Back online, the app syncs and deletes; then a reissue on the same phone.
    let mut path2 = path.clone();
    path2.push(Action::GoOnline(H0));
    let s2 = run(&c, &path2);
    assert_eq!(s2.phone(H0).slot(Kind::Auth), Slot::Empty);
    path2.extend(issue(H0, Kind::Auth));
    path2.push(Action::DeliverPush(Serial(0)));
    let s3 = run(&c, &path2);
    assert_eq!(s3.phone(H0).slot(Kind::Auth).serial(), Some(Serial(1)));

    // Under the variant, the same late push wipes the new credential.
    let bad = unbounded().with_variant(phone_jpki_model::Variant::DeleteWhateverIsThere);
    let s4 = run(&bad, &path2);
    assert_eq!(s4.phone(H0).slot(Kind::Auth), Slot::Empty);
}
