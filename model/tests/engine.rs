//! The engine (packed frontier, fingerprint-only visited set, paths by replay, INV-NO-DEAD-END
//! on its compact own-action graph) against the first checker: the same verdicts, state
//! counts, depths, refusal counts and shortest path lengths on several worlds and policies,
//! with and without symmetry (threat actors renamed too), on 1 and 2 threads, and on the
//! subgraph a driver walks (`CheckOptions::only`).

use phone_jpki_model::check::{check_properties_classic, CheckOptions, Cut};
use phone_jpki_model::{engine, properties};
use phone_jpki_model::{Action, Config, Kind, Variant};

fn opts(threads: usize, symmetry: bool) -> CheckOptions {
    CheckOptions {
        threads,
        symmetry,
        ..CheckOptions::default()
    }
}

fn assert_same(c: &Config, o: &CheckOptions) {
    // Every property of the world, INV-NO-DEAD-END included.
    let props = || properties::for_config(c);
    let old = check_properties_classic(c, o, props(), &mut |_| {});
    let new = engine::run(c, o, props(), &mut |_| {}).0;
    let what = format!("{c:?} symmetry={} threads={}", o.symmetry, o.threads);
    assert!(old.complete && new.complete, "{what}");
    assert_eq!(new.unique_states, old.unique_states, "{what}");
    assert_eq!(new.states, old.states, "{what}");
    assert_eq!(new.max_depth, old.max_depth, "{what}");
    assert_eq!(new.refusals, old.refusals, "{what}");
    assert_eq!(new.properties.len(), old.properties.len());
    for (n, p) in new.properties.iter().zip(&old.properties) {
        assert_eq!(n.name, p.name);
        assert_eq!(n.holds, p.holds, "{what}: {}", n.name);
        assert_eq!(
            n.path.as_ref().map(Vec::len),
            p.path.as_ref().map(Vec::len),
            "{what}: {}",
            n.name
        );
        // Same order of discovery: the very same path.
        assert_eq!(n.path, p.path, "{what}: {}", n.name);
    }
}

#[test]
fn engine_agrees_with_the_first_checker_on_the_single_world() {
    assert_same(&Config::single(), &opts(1, false));
    assert_same(&Config::single(), &opts(2, false));
}

#[test]
fn engine_agrees_with_the_first_checker_on_the_reference_world() {
    let c = Config::reference();
    assert_same(&c, &opts(2, false));
    assert_same(&c, &opts(1, true));
    assert_same(&c, &opts(2, true));
}

#[test]
fn engine_agrees_with_the_first_checker_on_the_new_phone_world() {
    // One person, two phones, real PIN tries, four phone certs: both kinds move.
    // Under symmetry only: the plain search of this world would double the test's time
    // (symmetry against the plain search: model/tests/check.rs).
    assert_same(&Config::new_phone(), &opts(2, true));
}

#[test]
fn engine_agrees_with_the_first_checker_on_the_realised_subgraph() {
    // What conformance checks: only the actions the implementation realises.
    let o = CheckOptions {
        only: Some(realised_only),
        ..opts(2, false)
    };
    assert_same(&Config::reference(), &o);
    let all = engine::run(
        &Config::reference(),
        &opts(2, false),
        Vec::new(),
        &mut |_| {},
    )
    .0;
    let sub = engine::run(&Config::reference(), &o, Vec::new(), &mut |_| {}).0;
    assert!(
        sub.unique_states < all.unique_states,
        "the filter drops edges"
    );
}

/// Every action but parting with a phone (a driver's filter in the shape of conformance's).
fn realised_only(a: Action) -> bool {
    !matches!(a, Action::HandOver(..) | Action::Dispose(..))
}

#[test]
fn engine_agrees_with_the_first_checker_under_policy_variants() {
    // Variants that break a property through different rules (reissue, links, pushes, PINs).
    for v in [
        Variant::ReissueWhileLive,
        Variant::NoLinkedRevocation,
        Variant::PushToRequester,
        Variant::TemporaryPinShown,
        Variant::DeleteWhateverIsThere,
        // INV-NO-DEAD-END broken: the analysis' searches on two threads find the same
        // counterexample as the first checker's on one.
        Variant::ReissueBlockedByRevoked,
    ] {
        assert_same(&Config::reference().with_variant(v), &opts(2, false));
    }
    // Agreeing is not enough when both share the analysis: the variant's dead end is found.
    let c = Config::reference().with_variant(Variant::ReissueBlockedByRevoked);
    let r = engine::run(&c, &opts(2, false), properties::for_config(&c), &mut |_| {}).0;
    let dead_end = r
        .properties
        .iter()
        .find(|p| p.name.starts_with("INV-NO-DEAD-END"))
        .expect("INV-NO-DEAD-END is checked");
    assert!(dead_end.path.as_ref().is_some_and(|p| !p.is_empty()));
}

#[test]
fn engine_agrees_with_the_first_checker_on_a_sign_only_two_person_world() {
    let c = Config {
        kinds: vec![Kind::Sign],
        pin_tries: [2, 2],
        ..Config::reference()
    };
    assert_same(&c, &opts(2, false));
    assert_same(&c, &opts(2, true));
}

#[test]
fn the_state_budget_stops_within_a_level_and_leaves_always_properties_undecided() {
    let c = Config::reference();
    let o = CheckOptions {
        max_states: Some(1000),
        ..opts(2, false)
    };
    let r = engine::run(&c, &o, properties::for_config(&c), &mut |_| {}).0;
    assert!(!r.complete);
    assert_eq!(r.cut, Some(Cut::StateBudget));
    // Stopped at the first state over the budget, not at the end of its level.
    assert_eq!(r.unique_states, 1000);
    let old = check_properties_classic(&c, &o, properties::for_config(&c), &mut |_| {});
    assert_eq!((r.unique_states, r.states), (old.unique_states, old.states));
    assert!(r
        .properties
        .iter()
        .filter(|p| p.expectation == properties::Expectation::Always)
        .all(|p| !p.holds));
}
