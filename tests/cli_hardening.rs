//! Issue 16: every malformed input exits 2 with the error on stderr, inputs are size-capped,
//! and output locations are checked before the work.

use std::io::Write;
use std::process::{Command, Stdio};

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

/// Inputs larger than the cap are refused with a clear error, not read into memory.
#[test]
fn oversized_input_is_refused() {
    let mut child = bin()
        .args(["replay", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let block = vec![b' '; 1 << 20];
    for _ in 0..65 {
        if stdin.write_all(&block).is_err() {
            break; // the reader stopped at the cap
        }
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("limit"), "{err}");
}

