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
const SINGLE_UNIQUE: usize = 139_326;

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
const REFERENCE: (usize, usize, usize) = (193_697, 633_494, 24);
const REFERENCE_SYM_UNIQUE: usize = 99_878;
/// The deep configuration (two detours, two PIN tries), pinned.
const DEEP: (usize, usize, usize) = (8_182_380, 32_812_209, 29);

/// `left_out`: the properties `properties::for_config` leaves out, pinned per configuration
/// (both kinds to a new phone needs room for four certs; a reset while offline, two detours).
fn assert_every_property_gets_its_verdict(c: &Config, r: &CheckReport, left_out: &[&str]) {
    assert!(r.complete);
    // Every property the configuration can decide gets its verdict, SCN-MODEL-CHANGE included;
    // the ones left out are exactly those needing more than the bounds allow.
    assert_eq!(r.properties.len(), properties::for_config(c).len());
    assert!(r.property("SCN-MODEL-CHANGE").is_some());
    let listed: Vec<&str> = r
        .properties
        .iter()
        .map(|p| p.name.split(':').next().unwrap())
        .collect();
    let all = properties::all();
    let missing: Vec<&str> = all
        .iter()
        .map(|p| p.id())
        .filter(|id| !listed.contains(id))
        .collect();
    assert_eq!(missing, left_out, "left out");
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
    assert_every_property_gets_its_verdict(
        &Config::reference(),
        r,
        &[
            "SCN-BOTH-KINDS-NEW-PHONE",
            "RISK-RESET-OFFLINE",
            "RISK-BROKEN-DISPOSAL",
            "ACT-EnrollFinger",
            "ACT-BiometricUse",
            "ACT-SimSwap",
            "ACT-ApplyWithCode",
        ],
    );
}

#[test]
fn deep_configuration_is_complete_and_every_property_gets_its_verdict() {
    let r = deep_report();
    assert_eq!((r.unique_states, r.states, r.max_depth), DEEP);
    assert_every_property_gets_its_verdict(
        &Config::deep(),
        r,
        &[
            "SCN-BOTH-KINDS-NEW-PHONE",
            "ACT-EnrollFinger",
            "ACT-BiometricUse",
            "ACT-SimSwap",
            "ACT-ApplyWithCode",
        ],
    );
}

fn assert_symmetry_agrees(c: &Config, plain: &CheckReport, sym_unique: Option<usize>) {
    let sym = check(c, &sym_opts(2), &mut |_| {});
    assert!(sym.complete);
    if let Some(n) = sym_unique {
        assert_eq!(sym.unique_states, n);
    }
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
        Some(REFERENCE_SYM_UNIQUE),
    );
    assert_symmetry_agrees(&Config::deep(), deep_report(), None);
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

/// The reference bounds are the smallest that decide every property it lists: lowering any
/// bound leaves some property undecided (a scenario or risk no longer found).
#[test]
fn reference_bounds_are_minimal() {
    let lowered: [(&str, Config, &[&str]); 6] = [
        (
            "no detour",
            Config {
                max_events: Some(0),
                ..Config::reference()
            },
            &["RISK-1", "SCN-PIN-INIT-AFTER-BLOCK", "ACT-Lose"],
        ),
        (
            "one cert",
            Config {
                max_certs: Some(1),
                ..Config::reference()
            },
            &["SCN-MODEL-CHANGE", "SCN-REISSUE-AFTER-RENEWAL"],
        ),
        (
            "one card generation",
            Config {
                max_card_generations: 1,
                ..Config::reference()
            },
            &["SCN-REISSUE-AFTER-RENEWAL", "ACT-CardRenew"],
        ),
        (
            "no hand-over",
            Config {
                max_handovers: 0,
                ..Config::reference()
            },
            &["RISK-1", "ACT-HandOver"],
        ),
        (
            "one issuance per person and kind",
            Config {
                max_issuances: 1,
                ..Config::reference()
            },
            &["SCN-MODEL-CHANGE", "SCN-REISSUE-AFTER-RENEWAL"],
        ),
        (
            "one phone per person and no hand-over",
            Config {
                phones: 2,
                max_handovers: 0,
                ..Config::reference()
            },
            &["SCN-MODEL-CHANGE", "RISK-1", "ACT-HandOver"],
        ),
    ];
    for (what, c, lost) in lowered {
        let u = unreached(&c);
        for id in lost {
            assert!(
                u.iter().any(|x| x == id),
                "{what}: {id} still decided ({u:?})"
            );
        }
    }
    // The third phone is what gives a person a second phone without a hand-over. With two
    // phones a (careless) hand-over of p1's phone to p0 still reaches the model change, but
    // the old phone's leftover revoked key can no longer reach someone else within the one
    // detour, so 課題2's consequences are lost.
    assert_eq!(
        unreached(&Config {
            phones: 2,
            ..Config::reference()
        }),
        ["RISK-2-READ-PII", "RISK-2-OFFLINE-SIGN"]
    );
    // THREAT-PIN-KNOWN (p0's PIN known to others) is what lets 課題1 and 課題2 have a
    // consequence: with nobody's PIN known, the reference's own risk properties, checked in
    // that world, are unreached (what a stranger can do with a live or leftover credential).
    let nobody = Config {
        pin_known: Vec::new(),
        ..Config::reference()
    };
    let r = phone_jpki_model::check::check_properties(
        &nobody,
        &sym_opts(2),
        properties::for_config(&Config::reference()),
        &mut |_| {},
    );
    assert!(r.complete);
    for id in [
        "THREAT-PIN-KNOWN",
        "RISK-1-FOREIGN-USE",
        "RISK-2-READ-PII",
        "RISK-2-OFFLINE-SIGN",
    ] {
        let p = r.property(id).unwrap_or_else(|| panic!("{id} not checked"));
        assert!(!p.holds, "nobody's PIN known: {id} still reached");
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

/// The seeds' storyline world (`Config::new_phone`): a person moves both kinds to a new phone
/// (003 §3), and a PIN blocks with the card's real tries (3; wrong entries left to the
/// counter), while every invariant holds.
#[test]
fn storyline_world_moves_both_kinds_and_blocks_with_real_tries() {
    let c = Config::new_phone();
    assert_eq!(c.pin_tries, [3, 5]);
    let r = check(&c, &opts(2), &mut |_| {});
    assert!(r.complete);
    for p in r
        .properties
        .iter()
        .filter(|p| p.expectation == Expectation::Always)
    {
        assert!(p.holds, "{}: {:?}", p.name, p.path);
    }
    for id in ["SCN-BOTH-KINDS-NEW-PHONE", "SCN-PIN-INIT-AFTER-BLOCK"] {
        assert!(r.property(id).unwrap().holds, "{id}");
    }
    let block = r
        .property("SCN-PIN-INIT-AFTER-BLOCK")
        .unwrap()
        .path
        .clone()
        .unwrap();
    let wrong = block
        .iter()
        .filter(|a| matches!(a, Action::Use(_, _, phone_jpki_model::PinEntry::Wrong)))
        .count();
    assert_eq!(wrong, 3, "the auth PIN blocks after the card's 3 tries");
}
