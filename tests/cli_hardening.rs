//! Issue 16: every malformed input exits 2 with the error on stderr, inputs are size-capped,
//! and output locations are checked before the work.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

fn temp_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("phone-jpki-h16-{}-{name}", std::process::id()))
}

/// Finding 9: ids out of range in a `conform --replay` file were a "divergence" (exit 1).
#[test]
fn conform_replay_with_ids_out_of_range_is_malformed() {
    let f = temp_path("out-of-range.json");
    std::fs::write(&f, r#"[{"InstallApp": 9}]"#).unwrap();
    let out = bin()
        .args(["conform", "--world", "single", "--random", "0", "--replay"])
        .arg(&f)
        .output()
        .unwrap();
    std::fs::remove_file(&f).ok();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("out of range") && err.contains("action 0"),
        "{err}"
    );
}

