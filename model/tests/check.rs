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
const SINGLE_UNIQUE: usize = 71_654;

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

fn deep_report() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| check(&Config::deep(), &opts(2), &mut |_| {}))
}

/// The reference configuration (2 persons, 3 phones, both kinds, one detour), pinned.
const REFERENCE: (usize, usize, usize) = (89_706, 241_570, 21);
const REFERENCE_SYM_UNIQUE: usize = 46_018;
/// The deep configuration (two detours, two PIN tries), pinned.
const DEEP: (usize, usize, usize) = (2_999_723, 9_679_405, 25);
const DEEP_SYM_UNIQUE: usize = 1_497_824;

fn assert_every_property_gets_its_verdict(c: &Config, r: &CheckReport) {
    assert!(r.complete);
    // Every property of the model is decided, SCN-MODEL-CHANGE included.
    assert_eq!(r.properties.len(), properties::all().len());
    for p in &r.properties {
        assert!(p.holds, "{}: {:?}", p.name, p.path);
        assert_eq!(
            p.path.is_some(),
            p.expectation == Expectation::Sometimes,
            "{}",
            p.name
        );
        let path = p.path.as_ref().map_or(&[][..], |v| &v[..]);
        replay(c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", p.name));
    }
    assert!(r.passed());
}

#[test]
fn reference_configuration_is_complete_and_every_property_gets_its_verdict() {
    let r = reference_report();
    assert_eq!((r.unique_states, r.states, r.max_depth), REFERENCE);
    assert_every_property_gets_its_verdict(&Config::reference(), r);
}

#[test]
fn deep_configuration_is_complete_and_every_property_gets_its_verdict() {
    let r = deep_report();
    assert_eq!((r.unique_states, r.states, r.max_depth), DEEP);
    assert_every_property_gets_its_verdict(&Config::deep(), r);
}

fn assert_symmetry_agrees(c: &Config, plain: &CheckReport, sym_unique: usize) {
    let sym = check(c, &sym_opts(2), &mut |_| {});
    assert!(sym.complete);
    assert_eq!(sym.unique_states, sym_unique);
    assert!(sym.unique_states < plain.unique_states);
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
            replay(c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", b.name));
        }
    }
}

#[test]
fn symmetry_gives_the_same_verdicts_and_path_lengths_with_fewer_states() {
    assert_symmetry_agrees(
        &Config::reference(),
        reference_report(),
        REFERENCE_SYM_UNIQUE,
    );
    assert_symmetry_agrees(&Config::deep(), deep_report(), DEEP_SYM_UNIQUE);
    // Under a variant too: the counterexample found over representatives has the same length.
    let c = Config::reference().with_variant(Variant::NoLinkedRevocation);
    let plain = check(&c, &opts(2), &mut |_| {});
    let sym = check(&c, &sym_opts(2), &mut |_| {});
    let (a, b) = (
        plain.property("INV-LINK").unwrap(),
        sym.property("INV-LINK").unwrap(),
    );
    assert!(!a.holds && !b.holds);
    assert_eq!(a.path.as_ref().map(Vec::len), b.path.as_ref().map(Vec::len));
}

#[test]
fn determinism_on_a_multi_phone_world_with_one_and_two_threads() {
    let a = check(&Config::reference(), &opts(1), &mut |_| {});
    let b = reference_report();
    assert_eq!((a.unique_states, a.states), (b.unique_states, b.states));
    let pa: Vec<_> = a.properties.iter().map(|p| p.path.clone()).collect();
    let pb: Vec<_> = b.properties.iter().map(|p| p.path.clone()).collect();
    assert_eq!(pa, pb);
}

fn unreached(c: &Config) -> Vec<String> {
    let r = check(c, &sym_opts(2), &mut |_| {});
    assert!(r.complete);
    r.properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.name.split(':').next().unwrap().to_string())
        .collect()
}

/// The reference bounds are the smallest that find every reachability property.
#[test]
fn reference_bounds_are_minimal() {
    let without_detours = unreached(&Config {
        max_events: Some(0),
        ..Config::reference()
    });
    for id in ["RISK-1", "RISK-2", "SCN-PIN-INIT-AFTER-BLOCK", "ACT-Lose"] {
        assert!(without_detours.iter().any(|u| u == id), "{id}");
    }
    let one_cert = unreached(&Config {
        max_certs: Some(1),
        ..Config::reference()
    });
    // With one cert a push is lost only after a detour of its own (model change sends one
    // without a detour).
    assert_eq!(
        one_cert,
        [
            "SCN-MODEL-CHANGE",
            "SCN-REISSUE-AFTER-RENEWAL",
            "RISK-2",
            "ACT-DropPush"
        ]
    );
    let one_generation = unreached(&Config {
        max_card_generations: 1,
        ..Config::reference()
    });
    assert_eq!(
        one_generation,
        ["SCN-REISSUE-AFTER-RENEWAL", "ACT-CardRenew"]
    );
    let no_handover = unreached(&Config {
        max_handovers: 0,
        ..Config::reference()
    });
    assert_eq!(no_handover, ["RISK-1", "ACT-HandOver"]);
}

/// Every non-default policy breaks the property it names in the deep configuration, found by
/// the checker (under symmetry), replayed concretely, and shown as a numbered list.
#[test]
fn every_variant_breaks_its_property() {
    for v in Variant::ALL {
        let c = Config::deep().with_variant(v);
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
                Condition::Step(f) => {
                    let n = states.len();
                    let (before, (after, result)) = (&states[n - 2].0, &states[n - 1]);
                    let o = properties::Observed {
                        config: &c,
                        before,
                        action: *path.last().unwrap(),
                        result: *result,
                        after,
                    };
                    assert!(!f(&o), "{}", v.name());
                }
                Condition::NoDeadEnd => {}
                Condition::Action(_) => unreachable!("no variant breaks action reachability"),
            }
        } else {
            // A reachability property made unreachable: only a complete search says so.
            assert!(v.breaks().starts_with("RISK"));
        }
        // The seeds' design keeps it.
        let d = deep_report().property(v.breaks()).unwrap();
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
