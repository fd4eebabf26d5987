//! The CLI as a user runs it.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

#[test]
fn check_json_is_complete_and_passes() {
    let out = bin().args(["check", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], true);
    // The main job checks the deep world (pinned in model/tests/check.rs).
    assert_eq!(v["unique_states"], 8_182_380);
    for field in ["states", "max_depth", "seconds"] {
        assert!(v[field].is_number(), "{field} missing");
    }
    let props = v["properties"].as_array().unwrap();
    assert!(props.iter().all(|p| p["holds"] == true));
    assert!(props
        .iter()
        .any(|p| p["name"].as_str().unwrap().starts_with("INV-ONE")));
}

#[test]
fn a_policy_variant_breaks_as_meant_with_a_counterexample_and_a_link() {
    let args = [
        "check",
        "--world",
        "single",
        "--policy",
        "rp-ignores-suspension",
    ];
    let out = bin().args(args).output().unwrap();
    // Breaking exactly what the variant is meant to break is the expected result.
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("BROKEN") && text.contains("INV-NO-USE-AFTER-REVOKE"));
    assert!(
        text.contains(" 1. "),
        "numbered counterexample expected:\n{text}"
    );
    assert!(text.contains("fails there: INV-NO-USE-AFTER-REVOKE"));
    assert!(text.contains("final state:"));
    assert!(text.contains(
        "open in the Explorer (run `phone-jpki explore`): http://127.0.0.1:3000/path/InstallApp(h0)/"
    ));
    assert!(text.contains("?world=single&policy=rp-ignores-suspension"));
    assert!(text.contains(
        "rp-ignores-suspension: broken, as this variant is meant to (INV-NO-USE-AFTER-REVOKE); nothing else broken"
    ));
    // --strict asks for the plain exit: anything broken fails.
    let out = bin().args(args).arg("--strict").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A variant breaking less than meant is told and fails: in the single world (one
    // phone) a new phone never replaces an old one.
    let out = bin()
        .args([
            "check",
            "--world",
            "single",
            "--policy",
            "model-change-keeps-old",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(
        "model-change-keeps-old: NOT as meant: expected to break INV-ONE; still holding: INV-ONE"
    ));
}

#[test]
fn a_search_cut_short_is_undecided_never_failed() {
    let out = bin()
        .args(["check", "--max-states", "500", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], false);
    assert_eq!(v["cut"], "stopped at the state budget (--max-states)");
    for p in v["properties"].as_array().unwrap() {
        // No counterexample: undecided. With one: broken, whatever the cut.
        match p["path"].is_null() {
            true => assert_eq!(
                (&p["verdict"], &p["holds"]),
                (&"undecided".into(), &serde_json::Value::Null)
            ),
            false => assert_ne!(p["verdict"], "undecided"),
        }
    }
    let out = bin()
        .args(["check", "--world", "reference", "--max-states", "500"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("UNDECIDED  Always INV-ONE"), "{text}");
    assert!(
        !text.contains("FAILED") && !text.contains("BROKEN"),
        "{text}"
    );
}

#[test]
fn policy_list_says_what_each_variant_changes() {
    let out = bin().args(["check", "--policy", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(
        "keygen-at-tsm              Key pairs are generated at the TSM and injected into the SE."
    ));
    // 18 variants, less ALT-RESET's local wipe, listed among the alternatives.
    assert_eq!(text.matches("meant to break ").count(), 17);
}

#[test]
fn bad_flags_are_named() {
    let out = bin().args(["check", "--policy", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--policy: unknown variant \"nope\""));
    let out = bin().args(["check", "--kinds", "x"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kinds"));
    let out = bin().args(["check", "--world", "huge"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--world: expected deep, reference, single, new-phone or storyline"));
    for (v, want) in [
        ("p9", "--pin-known: p9 is not a person of the world"),
        ("p0,p0", "--pin-known: p0 is named twice"),
        ("alice", "--pin-known: expected persons like p0,p1 or none"),
    ] {
        let out = bin()
            .args(["check", "--world", "reference", "--pin-known", v])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{v}");
        assert!(String::from_utf8_lossy(&out.stderr).contains(want), "{v}");
    }
    let out = bin()
        .args(["check", "--max-events", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-events"));
}

#[test]
fn scp03_vectors_pass_and_a_broken_file_fails() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors/scp03");
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(files.len(), 3);
    let out = bin()
        .arg("vectors")
        .arg("scp03")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let bad = std::env::temp_dir().join(format!("phone-jpki-bad-{}.json", std::process::id()));
    std::fs::write(&bad, "{\"name\": 1}").unwrap();
    let out = bin()
        .arg("vectors")
        .arg("scp03")
        .arg(&bad)
        .output()
        .unwrap();
    std::fs::remove_file(&bad).ok();
    // Malformed input (issue 16 finding 9): exit 2, the error on stderr.
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&*bad.to_string_lossy()));
}

// ----- replay and golden vectors (issue 5) -----

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("phone-jpki-{}-{name}", std::process::id()))
}

const TRACE: &str = r#"{"format":"phone-jpki-trace/1","config":{"persons":1,"phones":1,"kinds":["auth"],"max_events":null,"max_certs":null,"max_sessions":null,"pin_tries":[2,2]}}
{"action":"InstallApp","phone":0,"outcome":"accepted"}
{"action":"InstallApplet","phone":0,"outcome":"accepted"}
{"action":"Apply","phone":0,"kind":"auth","outcome":"accepted"}
{"action":"GenerateKey","phone":0,"outcome":"accepted"}
{"action":"CaIssue","phone":0,"outcome":"accepted","facts":{"certs":{"0":"active"}}}
{"action":"WriteCert","phone":0,"outcome":"accepted"}
{"action":"SetUserPin","phone":0,"outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert","serial":0,"pin":"user"}]}}
{"action":"Suspend","person":0,"kind":"auth","outcome":"accepted"}
{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":{"refused":"CertSuspended"}}
"#;

fn replay(text: &str, json: bool) -> std::process::Output {
    let f = temp_path(&format!("trace-{}.jsonl", text.len()));
    std::fs::write(&f, text).unwrap();
    let mut cmd = bin();
    cmd.arg("replay").arg(&f);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().unwrap();
    std::fs::remove_file(&f).ok();
    out
}

#[test]
fn replay_exit_codes_conforms_diverges_malformed() {
    let out = replay(TRACE, false);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("conforms (9 steps)"));
    // The trace's path opens in the Explorer, its world in the link.
    assert!(
        text.contains("open in the Explorer (run `phone-jpki explore`): http://127.0.0.1:3000/path/InstallApp(h0)/"),
        "{text}"
    );
    let out = replay(TRACE, true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["steps"].as_u64()),
        (Some("conforms"), Some(9))
    );

    // The relying party accepting a suspended cert: line 10 diverges.
    let bad = TRACE.replace(r#"{"refused":"CertSuspended"}"#, r#""accepted""#);
    let out = replay(&bad, false);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 10:"), "{text}");
    assert!(
        text.contains("model refused CertSuspended, trace accepted"),
        "{text}"
    );
    assert!(
        text.contains("cert #0: p0 auth on h0, card generation 0, Suspended"),
        "{text}"
    );
    let out = replay(&bad, true);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "diverges");
    assert_eq!(v["divergence"]["line"], 10);
    assert_eq!(v["divergence"]["expected"]["refused"], "CertSuspended");

    // Truncated line 3: exit 2 with line and column.
    let cut: String = TRACE.lines().take(3).collect::<Vec<_>>().join("\n");
    let cut = &cut[..cut.len() - 5];
    let out = replay(cut, false);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 3, column"), "{err}");
    let out = replay(cut, true);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["verdict"].as_str(), v["line"].as_u64()),
        (Some("malformed"), Some(3))
    );
    // Wrong version, missing file.
    let out = replay(&TRACE.replace("trace/1", "trace/9"), false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: format"));
    let out = bin()
        .args(["replay", "/nonexistent/t.jsonl"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn vectors_export_is_byte_identical_and_every_case_replays() {
    let (a, b) = (temp_path("vec-a"), temp_path("vec-b"));
    for d in [&a, &b] {
        let out = bin().args(["vectors", "export"]).arg(d).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let names = |d: &std::path::Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&a), names(&b));
    for n in names(&a) {
        assert_eq!(
            std::fs::read(a.join(&n)).unwrap(),
            std::fs::read(b.join(&n)).unwrap(),
            "{n:?} differs"
        );
    }
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["states"], 193_697);
    assert_eq!(m["edges"]["state_changing"], 633_493);
    let cases = m["cases"].as_array().unwrap();
    assert_eq!(cases.len() + 1, names(&a).len());
    let firsts: u64 = cases.iter().map(|c| c["new_edges"].as_u64().unwrap()).sum();
    assert_eq!(firsts, m["classes"].as_u64().unwrap());
    // Every action kind (CertExpire too) is covered, accepted and refused alike, but the four
    // that only a seeds' alternative offers (EnrollFinger, BiometricUse, SimSwap,
    // ApplyWithCode).
    let kinds = phone_jpki_model::action::ActionKind::ALL;
    assert_eq!(kinds.len(), 40);
    let per_action = m["per_action"].as_object().unwrap();
    let missing: Vec<&str> = kinds
        .iter()
        .map(|k| k.name())
        .filter(|k| !per_action.contains_key(*k))
        .collect();
    assert_eq!(
        missing,
        ["EnrollFinger", "BiometricUse", "SimSwap", "ApplyWithCode"]
    );
    assert!(m["per_rid"]["R-DELETE"].as_u64().unwrap() > 0);
    // Replay a spread of cases through the CLI.
    for c in cases.iter().step_by(cases.len() / 12 + 1) {
        let f = a.join(c["file"].as_str().unwrap());
        let out = bin().arg("replay").arg(&f).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    std::fs::remove_dir_all(&a).ok();
    std::fs::remove_dir_all(&b).ok();
}

#[test]
fn the_readme_trace_example_conforms() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("## Checking your system against the model")
        .nth(1)
        .expect("README section");
    let block = section
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let text: String = block.lines().map(|l| format!("{}\n", l.trim())).collect();
    let out = replay(&text, false);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn conform_reports_coverage_and_fails_on_divergence() {
    let out = bin()
        .args([
            "conform", "--random", "3", "--steps", "15", "--seed", "2", "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["random"]["sequences"], 3);
    assert!(v["random"]["actions"].as_u64().unwrap() > 0);
    assert!(v["divergence"].is_null());

    // Every edge of a tiny world: complete, text figures.
    let out = bin()
        .args([
            "conform",
            "--world",
            "single",
            "--max-events",
            "0",
            "--exhaustive",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("edges (100.0%)") && text.contains("complete"),
        "{text}"
    );

    // A replayed case the model does not offer is a divergence: exit 1 with the report.
    let case = std::env::temp_dir().join(format!("phone-jpki-case-{}.json", std::process::id()));
    std::fs::write(&case, r#"[{"InstallApp":0},{"InstallApp":0}]"#).unwrap();
    let out = bin()
        .args(["conform", "--random", "0", "--replay"])
        .arg(&case)
        .output()
        .unwrap();
    std::fs::remove_file(&case).ok();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("divergence at step 2"), "{text}");
    assert!(text.contains("1. InstallApp(h0)"), "{text}");
}

#[test]
fn conform_bad_flags_exit_2() {
    let out = bin()
        .args(["conform", "--world", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--world"));
    let out = bin()
        .args(["conform", "--random", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["conform", "--replay", "/nonexistent/case.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/case.json"));
}

#[test]
fn explore_on_a_busy_or_bad_address_is_a_plain_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let out = bin().args(["explore", "--addr", &addr]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--addr") && err.contains(&addr), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = bin()
        .args(["explore", "--addr", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--addr not-an-address"));
}

#[test]
fn policy_list_names_faults_and_alternatives_apart() {
    let out = bin().args(["check", "--policy", "list"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // The fault variants come first, each with what it is meant to break; the alternatives
    // follow in their own section.
    let (faults, alternatives) = text.split_once("seeds' design alternatives").unwrap();
    assert!(faults.contains("no-linked-revocation") && faults.contains("meant to break INV-LINK"));
    assert!(!faults.contains("ALT-"));
    let text = alternatives;
    // Every alternative is listed with its ALT id, and its expected effects follow.
    for (name, alt) in [
        ("storage-sim", "ALT-STORAGE"),
        ("unlock-any-finger", "ALT-UNLOCK"),
        ("revoke-auth-nothing", "ALT-REVOKE-AUTH"),
        ("applet-checks-status", "ALT-APPLET-STATUS"),
        ("no-suspension", "ALT-SUSPEND"),
        ("proofing-mailed-code", "ALT-PROOFING"),
        ("keygen-at-jlis", "ALT-KEYGEN"),
        ("link-per-kind", "ALT-LINK"),
    ] {
        let line = text.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(line.contains(alt), "{line}");
    }
    assert!(text.contains("expected: breaks INV-NO-FOREIGN-USE"));
}

#[test]
fn an_alternative_breaks_what_it_says_with_a_counterexample() {
    let out = bin()
        .args([
            "check",
            "--world",
            "reference",
            "--policy",
            "unlock-any-finger",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let failed: Vec<&str> = text.lines().filter(|l| l.starts_with("BROKEN")).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].contains("INV-NO-FOREIGN-USE"));
    assert!(
        text.contains("BiometricUse(h"),
        "the finger's use ends the path:\n{text}"
    );
}
