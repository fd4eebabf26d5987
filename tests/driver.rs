//! The driver protocol end to end (docs/DRIVER.md): our implementation as its own process
//! gives the same figures over every edge as in process; a Python toy system's divergences
//! are reported; broken drivers are clear errors; the conformance report and its check.

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

fn exe() -> String {
    env!("CARGO_BIN_EXE_phone-jpki").to_string()
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run phone-jpki")
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A small world: one person, one phone, auth, one detour (the same figures in process and
/// through the driver).
const SMALL: [&str; 4] = ["--world", "single", "--max-events", "1"];

#[test]
fn every_edge_through_the_driver_process_gives_the_in_process_figures() {
    let driver = format!("{} driver", exe());
    let mut args = vec!["conform", "--exhaustive", "--json"];
    args.extend(SMALL);
    let inproc = run(&args);
    args.extend(["--driver", &driver]);
    let through = run(&args);
    assert_eq!(
        inproc.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&inproc.stderr)
    );
    assert_eq!(
        through.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&through.stderr)
    );
    let (a, b) = (json_of(&inproc), json_of(&through));
    for f in [
        "states",
        "edges",
        "refused_unchanged",
        "actions",
        "complete",
        "model_edges",
    ] {
        assert_eq!(a["exhaustive"][f], b["exhaustive"][f], "{f}");
    }
    assert_eq!(b["exhaustive"]["edges"], b["exhaustive"]["model_edges"]);
    assert!(b["exhaustive"]["edges"].as_u64().unwrap() > 200);
    assert_eq!(
        b["driver"]["identity"].as_str().unwrap().split(' ').next(),
        Some("phone-jpki-impl")
    );
    // Every refusal of the world was met through the driver, as in process.
    assert_eq!(a["refusals_exercised"], b["refusals_exercised"]);
    // Throughput, for the record (not asserted: timing is no test).
    eprintln!(
        "actions/s: in process {:.0}, through the driver {:.0}",
        a["exhaustive"]["actions_per_second"], b["exhaustive"]["actions_per_second"]
    );
}

#[test]
fn random_and_edge_classes_through_the_driver_agree() {
    let driver = format!("{} driver", exe());
    let mut args = vec![
        "conform",
        "--random",
        "4",
        "--steps",
        "25",
        "--classes",
        "--json",
        "--driver",
        &driver,
    ];
    args.extend(SMALL);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let v = json_of(&o);
    assert_eq!(v["random"]["sequences"], 4);
    assert_eq!(v["classes"]["covered"], v["classes"]["total"]);
    assert!(v["classes"]["total"].as_u64().unwrap() > 10);
}

#[test]
fn a_partial_python_system_gets_its_divergence_reported() {
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "python3 is needed for this test (.ci/run installs it)"
    );
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/examples/toy_driver.py");
    let driver = format!("python3 {}", script.display());
    let mut args = vec![
        "conform", "--random", "20", "--steps", "15", "--driver", &driver,
    ];
    args.extend(SMALL);
    let o = run(&args);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("driver: toy-phones 0.1 (Python)"), "{text}");
    assert!(text.contains("outcomes differ"), "{text}");
    assert!(text.contains("is not implemented"), "{text}");
    // Shrunk: the case ends with the first action the toy does not implement, after only
    // what the model needs to offer it.
    let steps = text
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(steps <= 3, "{text}");
    // Every edge without snapshots: the toy diverges too, reached by reset and path.
    let mut args = vec!["conform", "--exhaustive", "--driver", &driver];
    args.extend(SMALL);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_broken_driver_is_a_clear_error() {
    let o = run(&["conform", "--world", "single", "--driver", "echo hello"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("bad answer to {\"cmd\":\"reset\"") && err.contains("hello"),
        "{err}"
    );
    let o = run(&["conform", "--world", "single", "--driver", "true"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("closed its output"), "{err}");
    let o = run(&[
        "conform",
        "--world",
        "single",
        "--driver",
        "echo '{\"error\":\"no world for you\"}'",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code() == Some(2) && err.contains("no world for you"),
        "{err}"
    );
}

#[test]
fn the_driver_answers_the_protocol_line_by_line() {
    use std::io::Write;
    let mut child = bin()
        .arg("driver")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = [
        r#"{"cmd":"step","action":{"action":"InstallApp","phone":0}}"#,
        r#"{"cmd":"reset","protocol":"phone-jpki-driver/1","config":{"persons":1,"phones":1,"kinds":["auth"]},"seed":0}"#,
        r#"{"cmd":"step","action":{"action":"InstallApp","phone":0}}"#,
        r#"{"cmd":"snapshot"}"#,
        r#"{"cmd":"step","action":{"action":"DeliverPush","serial":0}}"#,
        r#"{"cmd":"restore","id":"s0"}"#,
        r#"{"cmd":"restore","id":"nope"}"#,
        r#"{"cmd":"fly"}"#,
        r#"{"cmd":"bye"}"#,
    ];
    child
        .stdin
        .take()
        .unwrap()
        .write_all((input.join("\n") + "\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), input.len());
    assert!(lines[0]["error"].as_str().unwrap().contains("before reset"));
    assert_eq!(lines[1]["snapshots"], true);
    assert_eq!(lines[2]["outcome"], "accepted");
    assert_eq!(lines[2]["facts"]["phones"][0]["app"], true);
    assert_eq!(lines[3]["id"], "s0");
    assert_eq!(lines[4]["outcome"], "not_offered");
    assert_eq!(lines[5]["ok"], true);
    assert!(lines[6]["error"].as_str().unwrap().contains("no snapshot"));
    assert!(lines[7]["error"].is_string());
    assert_eq!(lines[8]["ok"], true);
}

#[test]
fn a_conformance_report_names_the_model_and_verify_report_checks_it() {
    let dir = std::env::temp_dir().join(format!("phone-jpki-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("report.json");
    let driver = format!("{} driver", exe());
    let mut args = vec![
        "conform", "--random", "2", "--steps", "10", "--driver", &driver, "--report",
    ];
    let f = file.to_str().unwrap().to_string();
    args.push(&f);
    args.extend(SMALL);
    let o = run(&args);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(r["format"], "phone-jpki-conform-report/1");
    assert_eq!(r["verdict"], "conforms");
    assert!(r["model"]["hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(r["config"]["persons"], 1);
    assert!(r["system"].as_str().unwrap().starts_with("phone-jpki-impl"));
    assert!(r["refusals_exercised"].is_array() && r["seconds"].is_number());
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        md.contains("Verdict: **conforms**") && md.contains("sha256:"),
        "{md}"
    );
    assert_eq!(run(&["verify-report", &f]).status.code(), Some(0));
    // Another model's report.
    let mut other = r.clone();
    other["model"]["hash"] = Value::from("sha256:00");
    let other_file = dir.join("other.json");
    std::fs::write(&other_file, other.to_string()).unwrap();
    let o = run(&["verify-report", other_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).contains("another model"));
    // Not a report.
    std::fs::write(&other_file, "{\"format\":\"x\"}").unwrap();
    assert_eq!(
        run(&["verify-report", other_file.to_str().unwrap()])
            .status
            .code(),
        Some(2)
    );
    std::fs::remove_dir_all(&dir).ok();
}
