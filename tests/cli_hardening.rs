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

/// Finding 12: `vectors export` computed everything (deep world: minutes, gigabytes) before
/// finding that the output directory was unusable. Run under a CPU-time limit of 20 s (the
/// deep export needs far more): the location must be refused before the work starts.
#[test]
fn export_checks_the_output_location_before_the_work() {
    let file = temp_path("a-file");
    std::fs::write(&file, b"").unwrap();
    let target = file.join("vectors");
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -t 20; exec \"$0\" vectors export \"$1\" --world deep")
        .arg(env!("CARGO_BIN_EXE_phone-jpki"))
        .arg(&target)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{:?} {err}", out.status);
    assert!(err.contains(&*file.to_string_lossy()), "{err}");
    let out = bin()
        .arg("demo")
        .arg("--out")
        .arg(&target)
        .output()
        .unwrap();
    std::fs::remove_file(&file).ok();
    assert_eq!(out.status.code(), Some(2));
}
