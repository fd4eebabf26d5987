//! Lockstep conformance of the implementation against the model: the kept regression cases,
//! a bounded random run (proptest, shrinking to simple actions), exhaustive edge coverage of
//! a small world, and the divergence report itself.

use phone_jpki_checks::conform::{model_graph, read_actions};
use phone_jpki_checks::exhaustive::{cover, Options};
use phone_jpki_checks::lockstep::{diff_states, replay, Lockstep, Mismatch};
use phone_jpki_checks::map::{abstract_state, Ghost};
use phone_jpki_checks::random::run_choices;
use phone_jpki_model::state::{Pin, Slot};
use phone_jpki_model::{Action, Config, Kind, PersonId, PhoneId, PinEntry, Serial, State};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestError, TestRunner};
use std::path::{Path, PathBuf};

fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions")
}

fn regression_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(regressions_dir())
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Every kept case replays without divergence: on the deep world if its name starts with
/// `deep--`, under a realised alternative if it starts with that alternative's name and
/// `--` (e.g. `applet-checks-status--`), else on the reference world.
fn replay_regressions() {
    let files = regression_files();
    for f in &files {
        let actions = read_actions(f).unwrap();
        assert!(!actions.is_empty(), "{}: empty case", f.display());
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let config = match name.split_once("--") {
            Some(("deep", _)) => Config::deep(),
            Some((policy, _)) => Config {
                policy: phone_jpki_checks::policy::by_name(policy)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display())),
                ..Config::reference()
            },
            None => Config::reference(),
        };
        if let Err(d) = replay(&config, 0, &actions) {
            panic!("regression {} diverges:\n{d}", f.display());
        }
    }
}

#[test]
fn kept_cases_then_bounded_random_run_on_the_reference_world() {
    // Kept failing cases first (each was a real divergence once).
    assert!(
        regression_files().len() >= 10,
        "the kept cases are missing from {}",
        regressions_dir().display()
    );
    replay_regressions();

    // Then 64 random sequences of at most 40 steps; each step picks an index into the
    // offered actions sorted simple -> complex, so shrinking lands on simple actions.
    let base = Lockstep::new(&Config::reference(), 0).unwrap();
    base.check_initial().unwrap();
    let mut runner = TestRunner::new(PtConfig {
        cases: 64,
        failure_persistence: None,
        ..PtConfig::default()
    });
    let strategy = prop::collection::vec(0usize..48, 1..=40);
    let result = runner.run(&strategy, |choices| {
        run_choices(&base, &choices)
            .map(|_| ())
            .map_err(|d| TestCaseError::fail(d.to_string()))
    });
    if let Err(TestError::Fail(_, choices)) = result {
        let d = run_choices(&base, &choices).expect_err("shrunk case no longer fails");
        // Keep the minimal case as an action list, replayed by every later run.
        let name = format!("random-{:016x}.json", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            d.actions.hash(&mut h);
            h.finish()
        });
        let path = regressions_dir().join(name);
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&d.actions).unwrap() + "\n",
        )
        .unwrap();
        panic!("divergence (kept as {}):\n{d}", path.display());
    } else if let Err(e) = result {
        panic!("random run aborted: {e}");
    }
}

#[test]
fn every_edge_of_a_small_world_agrees() {
    // The reference world without detours: every issuance interleaving of 2 persons,
    // 3 phones, both kinds.
    let config = Config {
        max_events: Some(0),
        ..Config::reference()
    };
    let (states, edges) = model_graph(&config);
    let (c, d) = cover(
        &config,
        &Options {
            threads: 2,
            ..Options::default()
        },
    )
    .unwrap();
    if let Some(d) = d {
        panic!("divergence:\n{d}");
    }
    assert!(c.complete);
    assert_eq!((c.states, c.edges), (states, edges));
    assert!(c.refused_unchanged > 0, "refused actions are driven too");
    assert_eq!(c.actions, c.edges + c.refused_unchanged);

    // One phone's whole life with one detour (loss, reset, revocation, wrong PIN, ...).
    let config = Config {
        max_events: Some(1),
        ..Config::single()
    };
    let (states, edges) = model_graph(&config);
    let (c, d) = cover(&config, &Options::default()).unwrap();
    if let Some(d) = d {
        panic!("divergence:\n{d}");
    }
    assert!(c.complete);
    assert_eq!((c.states, c.edges), (states, edges));
}

#[test]
fn a_fresh_system_maps_to_the_initial_state() {
    for config in [Config::reference(), Config::single(), Config::deep()] {
        let l = Lockstep::new(&config, 7).unwrap();
        let mapped = abstract_state(&config, l.system(), &Ghost::new(&config)).unwrap();
        assert_eq!(mapped, State::initial(&config));
    }
}

#[test]
fn mapping_follows_issuance_pin_and_revocation() {
    let config = Config::reference();
    let (h0, p0) = (PhoneId(0), PersonId(0));
    let mut l = Lockstep::new(&config, 0).unwrap();
    l.run(&[
        Action::InstallApp(h0),
        Action::InstallApplet(h0),
        Action::Apply(h0, Kind::Auth),
        Action::GenerateKey(h0),
        Action::CaIssue(h0),
        Action::WriteCert(h0),
        Action::SetUserPin(h0),
        Action::Use(h0, Kind::Auth, PinEntry::Wrong),
    ])
    .unwrap();
    // One try in the reference world: the wrong entry blocked it, and the detour counted.
    assert_eq!(
        l.model().phone(h0).slot(Kind::Auth),
        Slot::Cert {
            serial: Serial(0),
            pin: Pin::Blocked
        }
    );
    assert_eq!(l.model().events, 1);
    l.step(Action::InitPin(h0, Kind::Auth)).unwrap();
    assert_eq!(
        l.model().phone(h0).slot(Kind::Auth),
        Slot::Cert {
            serial: Serial(0),
            pin: Pin::User { tries_left: 1 }
        }
    );
    // GoOffline is a detour: with the budget spent, the model no longer offers it.
    let d = l.step(Action::GoOffline(h0)).unwrap_err();
    assert_eq!(d.mismatch, Mismatch::NotOffered);
    assert_eq!(d.actions.len(), 10);
    let mut l2 = Lockstep::new(&config, 0).unwrap();
    let d = l2
        .run(&[Action::Suspend(p0, Kind::Auth)])
        .expect_err("nothing issued: Suspend is not offered");
    assert_eq!(d.mismatch, Mismatch::NotOffered);
}

#[test]
fn divergence_report_names_actions_fields_and_the_answer() {
    // A state differing in one slot and one push: readable paths, only differing fields.
    let config = Config::reference();
    let a = State::initial(&config);
    let mut b = a.clone();
    b.phones[1].slots[Kind::Auth.index()] = Slot::Key {
        person: PersonId(1),
        certified: None,
    };
    b.phones[2].online = false;
    let diff = diff_states(&a, &b);
    let paths: Vec<&str> = diff.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["phones[1].slots[auth]", "phones[2].online"]);
    assert_eq!(diff[1].model, "true");
    assert_eq!(diff[1].implementation, "false");

    // A replayed case the model no longer offers is reported with the numbered sequence.
    let d = replay(
        &config,
        0,
        &[
            Action::InstallApp(PhoneId(0)),
            Action::InstallApp(PhoneId(0)),
        ],
    )
    .unwrap_err();
    assert_eq!(d.mismatch, Mismatch::NotOffered);
    let text = d.to_string();
    assert!(text.contains("divergence at step 2"), "{text}");
    assert!(text.contains("  1. InstallApp(h0)"), "{text}");
    assert!(text.contains("  2. InstallApp(h0)"), "{text}");
}
