//! Traces, replay, golden vectors and the generated documents (docs/trace.schema.json,
//! docs/SEMANTICS.md).

use phone_jpki_model::action::ActionKind;
use phone_jpki_model::policy::{Alternative, Choice};
use phone_jpki_model::semantics::{describe, markdown};
use phone_jpki_model::trace::{self, parse, replay, Observed, TraceError, Verdict};
use phone_jpki_model::vectors::{export, Coverage, Graph};
use phone_jpki_model::{Config, Refusal};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

/// Compare a generated document with the committed one; `var=1` rewrites it.
fn current(rel: &str, var: &str, text: &str) {
    let path = repo_file(rel);
    if std::env::var(var).is_ok_and(|v| v == "1") {
        std::fs::write(&path, text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{rel} is stale: regenerate with {var}=1 cargo test -p phone-jpki-model --test trace"
    );
}

#[test]
fn schema_is_current() {
    current(
        "docs/trace.schema.json",
        "UPDATE_SCHEMA",
        &trace::schema_json(),
    );
}

#[test]
fn semantics_md_is_current() {
    current("docs/SEMANTICS.md", "UPDATE_SEMANTICS", &markdown());
}

/// A world with two persons and one phone and two detours: a person holding another's phone.
fn pair() -> Config {
    Config {
        persons: 2,
        phones: 1,
        kinds: vec![phone_jpki_model::Kind::Auth],
        max_events: Some(2),
        pin_known: Vec::new(),
        ..Config::reference()
    }
}

#[test]
fn refusal_lists_are_exactly_the_refusals_the_rules_produce() {
    let mut seen: BTreeMap<ActionKind, BTreeSet<Refusal>> = BTreeMap::new();
    // The alternatives that offer actions of their own, or refuse for reasons of their own.
    let alternatives = [
        Alternative::AppletChecksStatus,
        Alternative::UnlockInvalidateOnEnrol,
        Alternative::ProofingMailedCode,
        Alternative::StorageSim,
    ]
    .map(|a| Config::reference().with_choice(Choice::Alternative(a)));
    let worlds = [Config::reference(), Config::single(), pair()]
        .into_iter()
        .map(|c| (c, false))
        .chain(alternatives.into_iter().map(|c| (c, true)));
    for (c, alternative) in worlds {
        for (k, rs) in Graph::explore(&c).refusals() {
            // An alternative's world documents its own actions' refusals only: the phone's
            // own actions are described under the seeds' design.
            if !alternative || k.is_threat() {
                seen.entry(k).or_default().extend(rs);
            }
        }
    }
    let mut wrong = Vec::new();
    for k in ActionKind::ALL {
        let listed: BTreeSet<Refusal> = describe(k).refusals.iter().copied().collect();
        let observed = seen.get(&k).cloned().unwrap_or_default();
        if listed != observed {
            wrong.push(format!("{k:?}: listed {listed:?}, observed {observed:?}"));
        }
        assert_eq!(describe(k).rids, k.requirements());
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn small() -> Config {
    Config {
        max_events: Some(1),
        ..Config::single()
    }
}

#[test]
fn every_vector_replays_and_all_edges_are_taken() {
    let c = small();
    let g = Graph::explore(&c);
    let x = export(&c, Coverage::AllEdges);
    assert_eq!(x.manifest.edges.total, g.edge_count());
    assert_eq!(x.manifest.edges.covered, g.edge_count());
    // Replay every case and collect the (state, action) pairs taken: every edge.
    let mut taken: BTreeSet<(String, String)> = BTreeSet::new();
    for (name, text) in &x.files {
        if name == "manifest.json" {
            continue;
        }
        let t = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            matches!(replay(&t), Verdict::Conforms(n) if n == t.steps.len()),
            "{name}"
        );
        let mut s = phone_jpki_model::State::initial(&t.config);
        for (_, _, a) in &t.steps {
            taken.insert((format!("{s:?}"), a.to_string()));
            s = phone_jpki_model::step(&t.config, &s, *a).next;
        }
    }
    assert_eq!(taken.len(), g.edge_count());
    // Accepted and refused cases alike.
    assert!(x.manifest.edges.refused > 0 && x.manifest.edges.accepted > 0);
}

#[test]
fn export_is_deterministic_and_classes_cover_every_class() {
    let c = small();
    let a = export(&c, Coverage::EdgeClasses);
    let b = export(&c, Coverage::EdgeClasses);
    assert_eq!(a.files, b.files);
    assert!(a.manifest.classes < a.manifest.edges.total);
    let firsts: usize = a.manifest.cases.iter().map(|c| c.new_edges).sum();
    assert_eq!(firsts, a.manifest.classes);
    for (name, text) in &a.files {
        if name != "manifest.json" {
            let t = parse(text.as_bytes()).unwrap();
            assert!(matches!(replay(&t), Verdict::Conforms(_)), "{name}");
            assert!(!t.header.rids.is_empty() && t.header.description.is_some());
        }
    }
    let per_action: usize = a
        .manifest
        .per_action
        .values()
        .map(|k| k.accepted + k.refused.values().sum::<usize>())
        .sum();
    assert_eq!(per_action, a.manifest.edges.total);
}

const HEADER: &str = r#"{"format":"phone-jpki-trace/1","config":{"persons":1,"phones":1,"kinds":["auth"],"pin_tries":[2,2],"max_events":null,"max_certs":null,"max_sessions":null}}"#;

/// Issue a cert on h0 and use it with a wrong PIN.
fn good_trace() -> String {
    let steps = [
        r#"{"action":"InstallApp","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"InstallApplet","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"Apply","phone":0,"kind":"auth","outcome":"accepted"}"#,
        r#"{"action":"GenerateKey","phone":0,"outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"key"}]}}"#,
        r#"{"action":"CaIssue","phone":0,"outcome":"accepted","facts":{"certs":{"0":"active"}}}"#,
        r#"{"action":"WriteCert","phone":0,"outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert","serial":0,"pin":"temporary"}]}}"#,
        r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":{"refused":"TemporaryPin"}}"#,
        r#"{"action":"SetUserPin","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"Use","phone":0,"kind":"auth","pin":"wrong","outcome":{"refused":"WrongPin"}}"#,
        r#"{"action":"RevokeWithCard","person":0,"kind":"auth","outcome":"accepted","facts":{"certs":{"0":"revoked"},"pushes":[0]}}"#,
    ];
    let mut s = format!("{HEADER}\n");
    for l in steps {
        s.push_str(l);
        s.push('\n');
    }
    s
}

#[test]
fn a_hand_written_trace_conforms() {
    let t = parse(good_trace().as_bytes()).unwrap();
    assert!(matches!(replay(&t), Verdict::Conforms(10)));
}

fn replace_line(text: &str, line: usize, new: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { new } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn a_wrong_outcome_diverges_at_its_line_with_the_state() {
    let text = replace_line(
        &good_trace(),
        10,
        r#"{"action":"Use","phone":0,"kind":"auth","pin":"wrong","outcome":"accepted"}"#,
    );
    let Verdict::Diverges(d) = replay(&parse(text.as_bytes()).unwrap()) else {
        panic!("conforms")
    };
    assert_eq!(d.line, 10);
    assert_eq!(d.expected, Some(Observed::Refused(Refusal::WrongPin)));
    assert_eq!(d.observed, Observed::Accepted);
    let shown = d.to_string();
    assert!(
        shown.contains("line 10") && shown.contains("cert #0"),
        "{shown}"
    );
}

#[test]
fn a_wrong_fact_diverges() {
    let text = replace_line(
        &good_trace(),
        11,
        r#"{"action":"RevokeWithCard","person":0,"kind":"auth","outcome":"accepted","facts":{"certs":{"0":"active"},"pushes":[]}}"#,
    );
    let Verdict::Diverges(d) = replay(&parse(text.as_bytes()).unwrap()) else {
        panic!("conforms")
    };
    assert_eq!(d.line, 11);
    let facts: Vec<&str> = d.facts.iter().map(|f| f.fact.as_str()).collect();
    assert_eq!(facts, ["certs.0", "pushes"]);
}

#[test]
fn an_action_not_offered_diverges() {
    let text = replace_line(
        &good_trace(),
        3,
        r#"{"action":"CaIssue","phone":0,"outcome":"accepted"}"#,
    );
    let Verdict::Diverges(d) = replay(&parse(text.as_bytes()).unwrap()) else {
        panic!("conforms")
    };
    assert!(d.not_offered && d.line == 3);
    assert!(d.offered.iter().any(|a| a == "InstallApplet(h0)"));
}

#[test]
fn header_fields_default_to_the_reference_configuration() {
    let t = parse(b"{\"format\":\"phone-jpki-trace/1\"}\n").unwrap();
    // Every field but THREAT-PIN-KNOWN's: an omitted `pin_known` is nobody's (docs/WORLD.md).
    assert_eq!(
        t.config,
        Config {
            pin_known: Vec::new(),
            ..Config::reference()
        }
    );
    let t = parse(
        b"{\"format\":\"phone-jpki-trace/1\",\"config\":{\"policy\":[\"rp-ignores-suspension\"]}}",
    )
    .unwrap();
    assert!(!t.config.policy.rp_checks_suspension);
    // A config written out reads back the same.
    let c = Config::deep().with_variant(phone_jpki_model::Variant::KeygenAtTsm);
    assert_eq!(
        trace::TraceConfig::of(&c)
            .to_config(trace::TraceFormat::V2)
            .unwrap(),
        c
    );
}

fn err(text: &str) -> TraceError {
    parse(text.as_bytes()).expect_err("malformed input parsed")
}

#[test]
fn malformed_input_names_its_line() {
    let step = |l: &str| format!("{HEADER}\n{l}\n");
    let e = err(&step(r#"{"action":"Fly","phone":0,"outcome":"accepted"}"#));
    assert!(
        matches!(&e, TraceError::BadStep { line: 2, message } if message.contains("unknown action \"Fly\"")),
        "{e}"
    );
    let e = err(&step(r#"{"action":"Lose","phone":7,"outcome":"accepted"}"#));
    assert!(
        matches!(&e, TraceError::BadStep { line: 2, message } if message.contains("phone 7 out of range")),
        "{e}"
    );
    let e = err(&step(
        r#"{"action":"Suspend","person":0,"kind":"sign","outcome":"accepted"}"#,
    ));
    assert!(
        matches!(&e, TraceError::BadStep { line: 2, message } if message.contains("not in play")),
        "{e}"
    );
    let e = err(&step(
        r#"{"action":"Lose","phone":0,"outcome":"accepted","pin":"right"}"#,
    ));
    assert!(
        matches!(&e, TraceError::BadStep { line: 2, message } if message.contains("unknown field \"pin\"")),
        "{e}"
    );
    let e = err(&step(
        r#"{"action":"Lose","phone":0,"outcome":{"refused":"Tired"}}"#,
    ));
    assert!(matches!(e, TraceError::BadStep { line: 2, .. }), "{e}");
    let e = err(&step(r#"{"action":"Lose","phone":0,"outc"#));
    assert!(
        matches!(
            e,
            TraceError::Syntax {
                line: 2,
                column: 32,
                ..
            }
        ),
        "{e}"
    );
    let e = err(&step("not json"));
    assert!(
        matches!(
            e,
            TraceError::Syntax {
                line: 2,
                column: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = err(r#"{"format":"phone-jpki-trace/3"}"#);
    assert!(matches!(e, TraceError::WrongFormat { line: 1, .. }), "{e}");
    let e = err(r#"{"action":"Lose","phone":0,"outcome":"accepted"}"#);
    assert!(
        matches!(e, TraceError::MissingHeader { line: 1, .. }),
        "{e}"
    );
    assert!(matches!(err(""), TraceError::MissingHeader { line: 1, .. }));
    let e = err(r#"{"format":"phone-jpki-trace/1","config":{"phones":9}}"#);
    assert!(matches!(e, TraceError::BadConfig { line: 1, .. }), "{e}");
    let mut bytes = format!("{HEADER}\n\n").into_bytes();
    bytes.extend([0xff, 0xfe]);
    assert!(matches!(
        parse(&bytes),
        Err(TraceError::NotUtf8 { line: 3 })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parser_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(t) = parse(&bytes) {
            let _ = replay(&t);
        }
    }

    #[test]
    fn parser_never_panics_on_mutated_traces(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = good_trace().into_bytes();
        for (at, b, op) in edits {
            let i = at.index(bytes.len().max(1));
            match op {
                0 if i < bytes.len() => bytes[i] = b,
                1 => bytes.insert(i.min(bytes.len()), b),
                _ if i < bytes.len() => { bytes.remove(i); }
                _ => {}
            }
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        match parse(&bytes) {
            Ok(t) => { let _ = replay(&t).clone(); }
            Err(e) => prop_assert!(e.line() >= 1 && !e.to_string().is_empty()),
        }
    }
}
