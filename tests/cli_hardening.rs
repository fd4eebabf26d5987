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

/// Finding 3: `conform --exhaustive` ignored `--timeout` and `--max-states` while it counted
/// the model graph (deep world without a detour bound: gigabytes, no output). Under a 30 s
/// CPU limit, both flags must bring an UNDECIDED answer.
#[test]
fn conform_exhaustive_counts_the_model_graph_within_the_limits() {
    for limit in [["--timeout", "2"], ["--max-states", "300"]] {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -t 30; exec \"$0\" conform --world deep --max-events none --exhaustive --threads 30000 \"$1\" \"$2\"")
            .arg(env!("CARGO_BIN_EXE_phone-jpki"))
            .args(limit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.code().is_some(), "{limit:?}: {:?}", out.status);
        assert!(text.contains("UNDECIDED"), "{limit:?}: {text}");
        assert!(text.contains("at least"), "{limit:?}: {text}");
        if limit[0] == "--max-states" {
            // The lockstep's own budget holds at every new state too.
            let covered = text
                .split("exhaustive: ")
                .nth(1)
                .and_then(|t| t.split('/').next());
            assert_eq!(covered, Some("300"), "{text}");
        }
    }
}

/// Finding 11: `matrix` had no bound at all. Under a 30 s CPU limit, the deep world without
/// a detour bound must come back UNDECIDED with either limit.
#[test]
fn matrix_is_bounded() {
    for limit in [["--max-states", "200"], ["--timeout", "1"]] {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -t 30; exec \"$0\" matrix --world deep --max-events none \"$1\" \"$2\"")
            .arg(env!("CARGO_BIN_EXE_phone-jpki"))
            .args(limit)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{limit:?}: {:?}", out.status);
        assert!(text.contains("UNDECIDED"), "{limit:?}: {text}");
    }
}
