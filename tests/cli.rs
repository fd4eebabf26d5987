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
    assert_eq!(v["unique_states"], 2_999_921);
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
fn a_policy_variant_fails_the_check_with_a_counterexample() {
    let out = bin()
        .args([
            "check",
            "--world",
            "single",
            "--policy",
            "rp-ignores-suspension",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAILED") && text.contains("INV-NO-USE-AFTER-REVOKE"));
    assert!(
        text.contains("1. "),
        "numbered counterexample expected:\n{text}"
    );
}

#[test]
fn a_search_cut_short_is_incomplete_and_fails() {
    let out = bin()
        .args(["check", "--max-states", "500", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["complete"], false);
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
        .contains("--world: expected deep, reference or single"));
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
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ERROR"));
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
