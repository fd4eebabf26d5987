//! Property verdicts only: no pinned state counts, no rule unit tests. Every property gets its
//! expected verdict under the seeds' design, and every policy variant breaks the property it
//! names, and the symmetry reduction keeps every verdict. Fast enough (12 s in the `mutants`
//! profile) to be the only test `scripts/mutants` runs against mutants of `model/src/rules/`
//! and `model/src/threats.rs`: a mutant survives only if no verdict changes.

use std::sync::OnceLock;

use phone_jpki_model::check::{check_properties, replay, CheckOptions, CheckReport};
use phone_jpki_model::properties::for_config;
use phone_jpki_model::{Config, Variant};

fn run(c: &Config) -> CheckReport {
    run_only(c, |_| true)
}

/// The check of the world's properties that `keep` keeps (INV-NO-DEAD-END's analysis costs a
/// few seconds per world: a variant is checked for the property it names only).
fn run_only(c: &Config, keep: impl Fn(&str) -> bool) -> CheckReport {
    run_with(c, keep, false)
}

fn run_with(c: &Config, keep: impl Fn(&str) -> bool, symmetry: bool) -> CheckReport {
    let props = for_config(c).into_iter().filter(|p| keep(p.id())).collect();
    let opts = CheckOptions {
        threads: 1,
        symmetry,
        ..CheckOptions::default()
    };
    let r = check_properties(c, &opts, props, &mut |_| {});
    assert!(r.complete, "the check was cut short");
    r
}

/// The plain check of the reference world, shared by the design's verdicts and the symmetry
/// test.
fn reference_report() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| run(&Config::reference()))
}

/// Every property listed for the world gets its expected verdict (a counterexample for an
/// `always` property, or no example for a `sometimes` one, fails with its path).
fn assert_design_holds(name: &str, c: &Config) {
    assert_report_holds(name, &run(c));
}

fn assert_report_holds(name: &str, r: &CheckReport) {
    let wrong: Vec<String> = r
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| {
            let path: Vec<String> = p.path.iter().flatten().map(|a| a.to_string()).collect();
            format!("{} [{}]", p.name, path.join(" "))
        })
        .collect();
    assert!(wrong.is_empty(), "{name}: {wrong:#?}");
}

#[test]
fn the_design_keeps_every_property_in_the_reference_world() {
    assert_report_holds("reference", reference_report());
}

/// The check under symmetry over persons and phones (the CLI's `--symmetry`) gives every
/// property of the reference world the plain check's verdict and shortest path length, with
/// fewer states, and its paths replay from the concrete initial state. This is what catches a
/// wrong renaming of the threat actors' state (`Threats::renamed`), which the plain check
/// never calls.
#[test]
fn symmetry_keeps_the_reference_worlds_verdicts_and_path_lengths() {
    let c = Config::reference();
    let plain = reference_report();
    let sym = run_with(&c, |_| true, true);
    assert!(sym.unique_states < plain.unique_states);
    let differ: Vec<String> = plain
        .properties
        .iter()
        .zip(&sym.properties)
        .filter(|(a, b)| {
            a.name != b.name
                || a.holds != b.holds
                || a.path.as_ref().map(Vec::len) != b.path.as_ref().map(Vec::len)
        })
        .map(|(a, b)| format!("{} / {}", a.name, b.name))
        .collect();
    assert!(differ.is_empty(), "{differ:#?}");
    for p in &sym.properties {
        if let Some(path) = &p.path {
            replay(&c, path).unwrap_or_else(|i| panic!("{}: step {i} not offered", p.name));
        }
    }
}

#[test]
fn the_design_keeps_every_property_in_the_single_phone_world() {
    assert_design_holds("single", &Config::single());
}

/// The world in which a variant's property is decided: the reference world, or the single
/// world (no detour budget) for a property it leaves out or a counterexample that takes two
/// detours (an offline procedure: going offline, then the hand-over).
fn world_for(v: Variant) -> Config {
    let reference = Config::reference();
    let listed = for_config(&reference).iter().any(|p| p.id() == v.breaks());
    if listed && v != Variant::OfflineProcedure {
        reference
    } else {
        Config::single()
    }
}

#[test]
fn every_variant_breaks_the_property_it_names() {
    let mut kept = Vec::new();
    for v in Variant::ALL {
        let c = world_for(v).with_variant(v);
        let r = run_only(&c, |id| id == v.breaks());
        let p = r
            .property(v.breaks())
            .unwrap_or_else(|| panic!("{}: {} not checked", v.name(), v.breaks()));
        if p.holds {
            kept.push(format!("{} keeps {}", v.name(), v.breaks()));
        }
    }
    assert!(kept.is_empty(), "{kept:#?}");
}

// The threat actors and the seeds' alternatives (issue 10; model/src/threats.rs).

/// Without anybody's PIN known, a stranger can only try: the consequences of 課題1 and 課題2
/// (what a known PIN gives away) are not listed, and every threat's attempt, every invariant
/// and every other property keep their verdicts.
#[test]
fn without_a_known_pin_the_design_keeps_every_property() {
    let c = Config {
        pin_known: Vec::new(),
        ..Config::reference()
    };
    let ids: Vec<String> = for_config(&c).iter().map(|p| p.id().to_string()).collect();
    for id in [
        "RISK-1-FOREIGN-USE",
        "RISK-2-READ-PII",
        "RISK-2-OFFLINE-SIGN",
    ] {
        assert!(
            !ids.iter().any(|x| x == id),
            "{id} listed without a known PIN"
        );
    }
    assert!(ids.iter().any(|x| x == "THREAT-READER"));
    assert_design_holds("reference, nobody's PIN known", &c);
}

/// With p1's PIN known instead of p0's, a stranger holding p1's phone enters it right
/// (THREAT-PIN-KNOWN, RISK-1-FOREIGN-USE reached) and every invariant holds; only 課題2's
/// consequences go, as p1 has one phone and so no leftover key within one detour (a mutant
/// that read the world's `pin_known` only for p0 survived without this test).
#[test]
fn with_p1s_pin_known_a_stranger_uses_p1s_credential() {
    let c = Config {
        pin_known: vec![phone_jpki_model::PersonId(1)],
        ..Config::reference()
    };
    let r = run(&c);
    let not_holding: Vec<&str> = r
        .properties
        .iter()
        .filter(|p| !p.holds)
        .map(|p| p.name.split(':').next().unwrap())
        .collect();
    assert_eq!(not_holding, ["RISK-2-READ-PII", "RISK-2-OFFLINE-SIGN"]);
    for id in ["THREAT-PIN-KNOWN", "RISK-1-FOREIGN-USE"] {
        assert!(r.property(id).is_some_and(|p| p.holds), "{id} not reached");
    }
}

/// The threat actors' guards can fail: a finger standing for the PIN (ALT-UNLOCK) gives a
/// buyer the seller's login (INV-NO-FOREIGN-USE), a revocation that needs nothing lets a
/// stranger revoke (RISK-REVOKE-BY-OTHER).
#[test]
fn the_threat_guards_can_fail() {
    use phone_jpki_model::policy::{Alternative, Choice};
    for (a, id) in [
        (Alternative::UnlockAnyFinger, "INV-NO-FOREIGN-USE"),
        (Alternative::RevokeAuthNothing, "RISK-REVOKE-BY-OTHER"),
    ] {
        let r = run_only(
            &Config::reference().with_choice(Choice::Alternative(a)),
            |x| x == id,
        );
        let p = r.property(id).unwrap();
        assert!(!p.holds && p.path.is_some(), "{}: {id} holds", a.name());
    }
}

/// INV-NO-DEAD-END tells a world bound from a dead end both ways: with no phone cert allowed
/// in the world nobody ever gets one, yet the property holds (the search with the bounds
/// lifted finds the way); and the lifted search is no blanket excuse, since a revoked cert
/// that blocks a reissue on its phone strands its holder there.
#[test]
fn a_world_bound_alone_is_no_dead_end_and_no_excuse() {
    let id = "INV-NO-DEAD-END";
    let only_bounds = Config {
        max_certs: Some(0),
        max_events: Some(1),
        ..Config::single()
    };
    let r = run_only(&only_bounds, |x| x == id);
    assert!(
        r.property(id).is_some_and(|p| p.holds),
        "a bound counted as a dead end"
    );
    let stranded = Config {
        max_certs: Some(1),
        max_events: Some(1),
        ..Config::single()
    }
    .with_variant(Variant::ReissueBlockedByRevoked);
    let r = run_only(&stranded, |x| x == id);
    let p = r.property(id).expect("checked");
    assert!(!p.holds && p.path.is_some(), "a stranded holder excused");
}
