//! docs/driver.schema.json is the protocol's schema as generated from the types; the worked
//! example of docs/DRIVER.md reads as the protocol says.

use phone_jpki_checks::driver::client::decode;
use phone_jpki_checks::driver::protocol::{
    schema_json, OkAnswer, Request, ResetAnswer, SnapshotAnswer, StepAnswer,
};
use std::path::PathBuf;

fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

#[test]
fn driver_schema_is_current() {
    let path = repo_file("docs/driver.schema.json");
    let text = schema_json();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "docs/driver.schema.json is stale: regenerate with UPDATE_SCHEMA=1 cargo test -p phone-jpki-checks --test driver_schema"
    );
}

/// Every `> ` (to the driver) and `< ` (from it) line of the worked example parses as the
/// message it stands for.
#[test]
fn the_worked_example_in_driver_md_follows_the_protocol() {
    let doc = std::fs::read_to_string(repo_file("docs/DRIVER.md")).unwrap();
    let mut last = None;
    let (mut sent, mut answered) = (0, 0);
    for line in doc.lines() {
        if let Some(req) = line.strip_prefix("> ") {
            let r: Request = serde_json::from_str(req).unwrap_or_else(|e| panic!("{req}: {e}"));
            last = Some(r);
            sent += 1;
        } else if let Some(ans) = line.strip_prefix("< ") {
            let ok = match last.as_ref().expect("an answer before any request") {
                Request::Reset { .. } => decode::<ResetAnswer>("reset", ans).is_ok(),
                Request::Step { .. } => decode::<StepAnswer>("step", ans).is_ok(),
                Request::Snapshot => decode::<SnapshotAnswer>("snapshot", ans).is_ok(),
                Request::Restore { .. } | Request::Bye => decode::<OkAnswer>("ok", ans).is_ok(),
            };
            assert!(ok, "{ans}");
            answered += 1;
        }
    }
    assert!(
        sent >= 6 && sent == answered,
        "{sent} requests, {answered} answers"
    );
}
