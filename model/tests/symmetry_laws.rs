//! The laws the symmetry reduction rests on (`model/src/symmetry.rs`), checked on the states
//! of seeded random walks in the reference world with more room (three detours, four phone
//! certs), under the design and under each alternative, since the alternatives add state that
//! renaming must carry (enrolled fingers, swapped SIMs, mailed codes, pending signatures, PINs
//! set by a co-resident, known PINs):
//! - renaming by the identity changes nothing;
//! - renaming by a permutation, then by its inverse, gives the state back;
//! - every renaming of a state has the state's representative;
//! - the rules do not look at names: attempting the renamed action in the renamed state gives
//!   the renamed outcome.
//!
//! The verdict tests compare the check under symmetry with the plain check (verdicts.rs,
//! check.rs); these laws catch a wrong renaming that no verdict of those worlds happens to
//! show (found by the mutation run of `Threats::renamed`: a finger, a known PIN or a stranger's
//! finger bit invented or lost by renaming). Fast enough to run beside verdicts.rs in
//! `scripts/mutants`.

use phone_jpki_model::policy::{Alternative, Choice};
use phone_jpki_model::rules::{candidate_actions, step};
use phone_jpki_model::symmetry::{all_perms, representative, Perm};
use phone_jpki_model::{Config, State};

/// Walks per world, and steps per walk.
const WALKS: usize = 150;
const LEN: usize = 40;

/// A small deterministic generator (xorshift64*): the walks are the same on every run.
struct Walker(u64);

impl Walker {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

fn roomy(choice: Option<Alternative>) -> Config {
    let c = Config {
        max_events: Some(3),
        max_certs: Some(4),
        ..Config::reference()
    };
    match choice {
        Some(a) => c.with_choice(Choice::Alternative(a)),
        None => c,
    }
}

/// The states of `walks` seeded random walks of `len` steps (each step one of the offered
/// actions, accepted or refused) from the initial state.
fn walk_states(c: &Config, seed: u64, walks: usize, len: usize) -> Vec<State> {
    let mut rng = Walker(seed | 1);
    let mut out = Vec::new();
    let mut actions = Vec::new();
    for _ in 0..walks {
        let mut s = State::initial(c);
        for _ in 0..len {
            actions.clear();
            candidate_actions(c, &s, &mut actions);
            if actions.is_empty() {
                break;
            }
            let a = actions[rng.below(actions.len())];
            s = step(c, &s, a).next;
            out.push(s.clone());
        }
    }
    out
}

/// Every law broken at `s` under `perms`, described.
fn broken_laws(c: &Config, s: &State, perms: &[Perm], rng: &mut Walker) -> Vec<String> {
    let mut broken = Vec::new();
    let identity = &perms[0];
    if identity.state(s) != *s {
        broken.push("renaming by the identity changed the state".to_string());
    }
    let (rep, _) = representative(s);
    let mut actions = Vec::new();
    candidate_actions(c, s, &mut actions);
    for p in perms {
        let renamed = p.state(s);
        if p.inverse().state(&renamed) != *s {
            broken.push(format!(
                "{p:?} then its inverse did not give the state back"
            ));
        }
        if representative(&renamed).0 != rep {
            broken.push(format!("renaming by {p:?} changed the representative"));
        }
    }
    // The rules against one renaming per state (every action offered there).
    let p = &perms[rng.below(perms.len())];
    let renamed = p.state(s);
    for &a in &actions {
        let here = step(c, s, a);
        let there = step(c, &renamed, p.action(&a));
        if there.result != here.result || there.next != p.state(&here.next) {
            broken.push(format!("{a} under {p:?}: the renamed outcome differs"));
        }
    }
    broken
}

fn assert_laws(name: &str, c: &Config, seed: u64) {
    let perms = all_perms(c.persons, c.phones);
    assert_eq!(perms.len(), 12, "2 persons and 3 phones");
    assert!(perms[0].persons == [0, 1] && perms[0].phones == [0, 1, 2]);
    let mut rng = Walker(seed.rotate_left(17) | 1);
    let states = walk_states(c, seed, WALKS, LEN);
    assert!(states.len() > 1000, "{name}: {} states", states.len());
    for s in &states {
        let broken = broken_laws(c, s, &perms, &mut rng);
        assert!(broken.is_empty(), "{name}: at {s:?}: {broken:#?}");
    }
}

#[test]
fn renaming_laws_hold_under_the_design() {
    assert_laws("design", &roomy(None), 1);
}

#[test]
fn renaming_laws_hold_under_every_alternative() {
    for (i, a) in Alternative::ALL.into_iter().enumerate() {
        assert_laws(a.name(), &roomy(Some(a)), 100 + i as u64);
    }
}

/// The walks reach what renaming must carry: a phone found by a stranger, an enrolled
/// stranger's finger, a swapped SIM, a pending offline signature, a session opened with a
/// mailed code (without these the laws above would be checked on easy states only).
#[test]
fn the_walks_reach_the_threat_actors_state() {
    let reached = |a: Option<Alternative>, seed: u64, what: fn(&State) -> bool| {
        walk_states(&roomy(a), seed, WALKS, LEN).iter().any(what)
    };
    assert!(reached(None, 1, |s| s.threats.found != 0), "found");
    assert!(
        reached(None, 1, |s| !s.threats.signatures.is_empty()),
        "signature"
    );
    // Each alternative walked with the seed renaming_laws_hold_under_every_alternative gives it.
    let seed_of =
        |a: Alternative| 100 + Alternative::ALL.iter().position(|&x| x == a).unwrap() as u64;
    let stranger_finger: fn(&State) -> bool = |s| {
        s.threats
            .fingers
            .iter()
            .any(|f| f & phone_jpki_model::threats::STRANGER_FINGER != 0)
    };
    let swapped: fn(&State) -> bool = |s| s.threats.swapped != 0;
    let coded: fn(&State) -> bool = |s| s.threats.coded != 0;
    for (a, what, name) in [
        (
            Alternative::UnlockAnyFinger,
            stranger_finger,
            "stranger's finger",
        ),
        (Alternative::StorageSim, swapped, "swapped SIM"),
        (Alternative::ProofingMailedCode, coded, "mailed code"),
    ] {
        assert!(reached(Some(a), seed_of(a), what), "{name}");
    }
}
