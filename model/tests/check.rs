//! Exhaustive checks of the model (stateright `paxos.rs` style: properties and pinned counts).

use phone_jpki_model::check::{check, replay, CheckOptions, CheckReport};
use phone_jpki_model::explore::JpkiModel;
use phone_jpki_model::properties::{self, Condition, Expectation};
use phone_jpki_model::{Action, Config, Kind, PhoneId, Variant};
use stateright::{Checker, Model};
use std::sync::OnceLock;

fn opts(threads: usize) -> CheckOptions {
    CheckOptions {
        threads,
        ..CheckOptions::default()
    }
}

fn single_report() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| check(&Config::single(), &opts(2), &mut |_| {}))
}

/// Unique states of `Config::single()`, pinned: a change in the rules shows up here.
const SINGLE_UNIQUE: usize = 77_018;

#[test]
fn single_configuration_is_complete_and_every_invariant_holds() {
    let r = single_report();
    assert!(r.complete);
    // Model change needs two phones: not decided (and not listed) with one.
    assert!(r.property("SCN-MODEL-CHANGE").is_none());
    assert!(r.passed());
    assert_eq!(r.unique_states, SINGLE_UNIQUE);
    for p in &r.properties {
        assert!(
            p.holds,
            "{} did not get its expected verdict: {:?}",
            p.name, p.path
        );
        if p.expectation == Expectation::Sometimes {
            assert!(p.path.is_some());
        }
    }
}

#[test]
fn every_action_kind_and_scenario_is_reachable_with_a_replayable_example() {
    let c = Config::single();
    for p in &single_report().properties {
        let Some(path) = &p.path else { continue };
        let states =
            replay(&c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", p.name));
        assert_eq!(states.len(), path.len() + 1);
    }
}

#[test]
fn stateright_bfs_agrees_on_the_state_count() {
    let checker = JpkiModel {
        config: Config::single(),
    }
    .checker()
    .threads(1)
    .spawn_bfs()
    .join();
    assert!(checker.is_done());
    assert_eq!(checker.unique_state_count(), SINGLE_UNIQUE);
}

#[test]
fn determinism_same_counts_and_paths_on_any_thread_count() {
    let a = check(&Config::single(), &opts(1), &mut |_| {});
    let b = single_report();
    assert_eq!(a.unique_states, b.unique_states);
    assert_eq!(a.states, b.states);
    let pa: Vec<_> = a.properties.iter().map(|p| p.path.clone()).collect();
    let pb: Vec<_> = b.properties.iter().map(|p| p.path.clone()).collect();
    assert_eq!(pa, pb);
}

/// Counterexamples and examples are shortest: no shorter path reaches a discovery. Checked by
/// brute force on depth: a check cut at depth `len - 2` finds no such path.
#[test]
fn reported_paths_are_shortest() {
    let c = Config::single().with_variant(Variant::RpIgnoresSuspension);
    let full = check(&c, &opts(2), &mut |_| {});
    let p = full.property("INV-NO-USE-AFTER-REVOKE").unwrap();
    let len = p.path.as_ref().unwrap().len();
    let shallow = check(
        &c,
        &CheckOptions {
            max_depth: Some(len - 2),
            ..opts(2)
        },
        &mut |_| {},
    );
    assert!(!shallow.complete);
    assert!(shallow
        .property("INV-NO-USE-AFTER-REVOKE")
        .unwrap()
        .path
        .is_none());
}

fn sym_opts(threads: usize) -> CheckOptions {
    CheckOptions {
        symmetry: true,
        ..opts(threads)
    }
}

fn reference_report() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| check(&Config::reference(), &opts(2), &mut |_| {}))
}

fn reference_sym_report() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| check(&Config::reference(), &sym_opts(2), &mut |_| {}))
}

/// The reference configuration (2 persons, 3 phones, both kinds), pinned.
const REFERENCE_UNIQUE: usize = 3_434_018;
const REFERENCE_GENERATED: usize = 11_047_213;
const REFERENCE_DEPTH: usize = 25;
/// The same under symmetry: h0 and h2 (both p0's) are interchangeable.
const REFERENCE_SYM_UNIQUE: usize = 1_701_922;

#[test]
fn reference_configuration_is_complete_and_every_property_gets_its_verdict() {
    let r = reference_report();
    assert!(r.complete);
    assert_eq!(
        (r.unique_states, r.states, r.max_depth),
        (REFERENCE_UNIQUE, REFERENCE_GENERATED, REFERENCE_DEPTH)
    );
    // Every property of the model is decided here, SCN-MODEL-CHANGE included.
    assert_eq!(r.properties.len(), properties::all().len());
    for p in &r.properties {
        assert!(p.holds, "{}: {:?}", p.name, p.path);
        assert_eq!(
            p.path.is_some(),
            p.expectation == Expectation::Sometimes,
            "{}",
            p.name
        );
    }
    assert!(r.passed());
    let c = Config::reference();
    for p in &r.properties {
        let path = p.path.as_ref().map_or(&[][..], |v| &v[..]);
        replay(&c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", p.name));
    }
}

#[test]
fn symmetry_gives_the_same_verdicts_and_path_lengths_with_fewer_states() {
    let (plain, sym) = (reference_report(), reference_sym_report());
    assert!(sym.complete);
    assert_eq!(sym.unique_states, REFERENCE_SYM_UNIQUE);
    assert!(sym.unique_states < plain.unique_states);
    let c = Config::reference();
    for (a, b) in plain.properties.iter().zip(&sym.properties) {
        assert_eq!(a.name, b.name);
        assert_eq!(a.holds, b.holds, "{}", a.name);
        assert_eq!(
            a.path.as_ref().map(Vec::len),
            b.path.as_ref().map(Vec::len),
            "{}",
            a.name
        );
        // Paths found over representatives are mapped back to concrete actions that replay
        // from the concrete initial state.
        if let Some(path) = &b.path {
            replay(&c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", b.name));
        }
    }
}

/// One detour fewer than the reference: a smaller state space, used for the determinism and
/// minimality tests.
fn one_event() -> Config {
    Config {
        max_events: Some(1),
        ..Config::reference()
    }
}

#[test]
fn determinism_on_a_multi_phone_world_with_one_and_two_threads() {
    let a = check(&one_event(), &opts(1), &mut |_| {});
    let b = check(&one_event(), &opts(2), &mut |_| {});
    assert!(a.complete && b.complete);
    assert_eq!((a.unique_states, a.states), (b.unique_states, b.states));
    let pa: Vec<_> = a.properties.iter().map(|p| p.path.clone()).collect();
    let pb: Vec<_> = b.properties.iter().map(|p| p.path.clone()).collect();
    assert_eq!(pa, pb);
}

/// The reference bounds are the smallest that find every reachability property: one detour
/// cannot both block a PIN (2 wrong entries) and unblock it, one cert cannot be changed to a
/// new phone or reissued.
#[test]
fn reference_bounds_are_minimal() {
    let r = check(&one_event(), &sym_opts(2), &mut |_| {});
    assert!(r.complete);
    let unreached: Vec<_> = r
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.name.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(unreached, ["SCN-PIN-INIT-AFTER-BLOCK"]);
    let c = Config {
        max_certs: Some(1),
        ..Config::reference()
    };
    let r = check(&c, &sym_opts(2), &mut |_| {});
    assert!(r.complete);
    let unreached: Vec<_> = r
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.name.split(':').next().unwrap().to_string())
        .collect();
    assert_eq!(unreached, ["SCN-MODEL-CHANGE", "SCN-REISSUE-AFTER-RENEWAL"]);
}

/// Every non-default policy breaks the property it names in the reference configuration,
/// found by the checker (under symmetry), replayed concretely, and shown as a numbered list.
#[test]
fn every_variant_breaks_its_property() {
    for v in Variant::ALL {
        let c = Config::reference().with_variant(v);
        let r = check(&c, &sym_opts(2), &mut |_| {});
        assert!(r.complete, "{}", v.name());
        let p = r.property(v.breaks()).unwrap();
        assert!(!p.holds, "{}: {} still holds", v.name(), v.breaks());
        if let Some(path) = &p.path {
            let states = replay(&c, path).unwrap();
            let listing: Vec<String> = path
                .iter()
                .enumerate()
                .map(|(i, a)| format!("{}. {a}", i + 1))
                .collect();
            assert!(listing.len() == path.len() && !listing.is_empty());
            let prop = properties::all()
                .into_iter()
                .find(|x| x.id() == v.breaks())
                .unwrap();
            match prop.condition {
                Condition::State(f) => assert!(!f(&c, &states.last().unwrap().0), "{}", v.name()),
                Condition::Edge(f) => {
                    let n = states.len();
                    let (before, after) = (&states[n - 2].0, &states[n - 1].0);
                    assert!(f(&c, before, path.last().unwrap(), after), "{}", v.name());
                }
                Condition::Action(_) => unreachable!("no variant breaks action reachability"),
            }
        } else {
            // A reachability property made unreachable: only a complete search says so.
            assert!(v.breaks().starts_with("RISK"));
        }
        // The seeds' design keeps it.
        let d = reference_report().property(v.breaks()).unwrap();
        assert!(d.holds, "{} fails under the default policy", v.breaks());
    }
}

#[test]
fn model_change_keeps_old_breaks_inv_one_on_the_obvious_path() {
    let (h0, h2) = (PhoneId(0), PhoneId(2));
    let mut path = Vec::new();
    for h in [h0, h2] {
        path.extend([
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, Kind::Auth),
            Action::GenerateKey(h),
            Action::CaIssue(h),
        ]);
        if h == h0 {
            path.extend([Action::WriteCert(h), Action::SetUserPin(h)]);
        }
    }
    let inv_one = |c: &Config, s: &_| match properties::all()[0].condition {
        Condition::State(f) => f(c, s),
        _ => unreachable!(),
    };
    let good = Config::reference();
    let s = replay(&good, &path).unwrap();
    assert!(inv_one(&good, &s.last().unwrap().0));
    let bad = Config::reference().with_variant(Variant::ModelChangeKeepsOld);
    let s = replay(&bad, &path).unwrap();
    assert!(!inv_one(&bad, &s.last().unwrap().0));
}
