//! `check --processes 2` over loopback (127.0.0.1 only): two processes on timely dataflow give
//! the same verdicts, state counts, depth and path lengths as the single-process check, and
//! only process 0 prints the report. Bad cluster flags are refused with exit code 2.

use serde_json::Value;
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Completeness, counts, depth, and each property's verdict and path length.
fn summary(v: &Value) -> Value {
    let props = v["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| serde_json::json!([p["name"], p["verdict"], p["path"].as_array().map(Vec::len)]))
        .collect::<Vec<_>>();
    serde_json::json!([
        v["complete"],
        v["unique_states"],
        v["states"],
        v["max_depth"],
        props
    ])
}

const WORLD: [&str; 6] = [
    "--world",
    "reference",
    "--kinds",
    "sign",
    "--max-events",
    "1",
];

/// The single-process report and process 0's report of the same check on two processes.
fn one_and_two(world: &[&str]) -> (Value, Value) {
    let single = bin()
        .args(["check", "--json", "--threads", "1"])
        .args(world)
        .output()
        .expect("run check");
    let single: Value = serde_json::from_slice(&single.stdout).expect("single JSON");

    let dir = std::env::temp_dir().join(format!(
        "phone-jpki-hosts-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let spawn = |i: usize| {
        bin()
            .args(["check", "--json", "--threads", "1", "--processes", "2"])
            .args(["--process", &i.to_string(), "--hosts"])
            .arg(&hosts)
            .args(world)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn a process")
    };
    let p1 = spawn(1);
    let p0 = spawn(0);
    let out0 = p0.wait_with_output().unwrap();
    let out1 = p1.wait_with_output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out1.status.success() && out1.stdout.is_empty(),
        "process 1: {:?} {}",
        out1.status,
        String::from_utf8_lossy(&out1.stderr)
    );
    let two: Value = serde_json::from_slice(&out0.stdout).unwrap_or_else(|e| {
        panic!(
            "process 0 JSON: {e}: {}",
            String::from_utf8_lossy(&out0.stderr)
        )
    });
    (single, two)
}

fn verdict<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .find(|p| p["name"].as_str().is_some_and(|n| n.starts_with(id)))
        .unwrap_or_else(|| panic!("{id} not in the report"))
}

#[test]
fn two_processes_over_loopback_agree_with_one() {
    let (single, two) = one_and_two(&WORLD);
    assert_eq!(two["complete"], Value::Bool(true));
    assert!(two["unique_states"].as_u64().unwrap() > 1000);
    // Every property, INV-NO-DEAD-END (decided on the whole graph) included.
    assert!(verdict(&two, "INV-NO-DEAD-END")["path"].is_null());
    assert_eq!(summary(&two), summary(&single));
}

/// INV-NO-DEAD-END across processes can fail, with a counterexample of the single-process
/// check's length: a revoked cert that blocks a reissue on its phone strands its holder
/// there (the fault variant meant to break it).
#[test]
fn two_processes_find_the_same_dead_end_as_one() {
    let world = [
        "--world",
        "single",
        "--max-certs",
        "1",
        "--max-events",
        "1",
        "--policy",
        "reissue-blocked-by-revoked",
    ];
    let (single, two) = one_and_two(&world);
    let path = verdict(&two, "INV-NO-DEAD-END")["path"]
        .as_array()
        .map(Vec::len);
    assert!(path.is_some_and(|n| n > 0), "no dead end across processes");
    assert_eq!(summary(&two), summary(&single));
}

#[test]
fn bad_cluster_flags_are_refused() {
    for (args, what) in [
        (
            vec!["--processes", "2", "--process", "2", "--hosts", "x"],
            "--process",
        ),
        (vec!["--processes", "2", "--process", "0"], "--hosts"),
    ] {
        let out = bin().arg("check").args(&args).args(WORLD).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
