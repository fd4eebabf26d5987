//! ITF export read by an independent reader: the `itf-py` package (pip), as Apalache and
//! Quint tools read it. The test fails when python3 or itf-py is missing (.ci/run installs
//! them).

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

/// Read every `*.itf.json` of `dir` with itf-py; prints "files states" on success.
const READER: &str = r#"
import glob, json, sys
import itf_py
files = sorted(glob.glob(sys.argv[1] + "/*.itf.json"))
states = 0
for f in files:
    t = itf_py.trace_from_json(json.load(open(f)))
    assert t.vars and len(t.states) >= 1, f
    first = t.states[0].values
    assert first["action"] == "init", f
    for s in t.states:
        assert set(s.values) == set(t.vars), f
        assert isinstance(s.values["phones"], list)
    states += len(t.states)
print(len(files), states)
"#;

fn read_with_itf_py(dir: &Path) -> (usize, usize) {
    let o = Command::new("python3")
        .args(["-c", READER, dir.to_str().unwrap()])
        .output()
        .expect("python3 is needed for this test (.ci/run installs it)");
    assert!(
        o.status.success(),
        "itf-py could not read {}: {}",
        dir.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    let mut it = out.split_whitespace().map(|n| n.parse::<usize>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("phone-jpki-itf-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn check_counterexamples_as_itf_read_by_itf_py() {
    let dir = tmp("check");
    let o = bin()
        .args([
            "check",
            "--world",
            "single",
            "--max-events",
            "1",
            "--policy",
            "rp-ignores-suspension",
            "--itf",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (files, states) = read_with_itf_py(&dir);
    assert!(
        files > 5 && states > files,
        "{files} files, {states} states"
    );
    // The broken property's counterexample is among them, its last action the violating one.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".itf.json")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("INV-")), "{names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn golden_vectors_as_itf_read_by_itf_py() {
    let dir = tmp("vectors");
    let o = bin()
        .args(["vectors", "export"])
        .arg(&dir)
        .args(["--world", "single", "--max-events", "1", "--format", "itf"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (files, states) = read_with_itf_py(&dir);
    // One file per case (the manifest is beside them), one ITF state per step plus init.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(files as u64, manifest["files"].as_u64().unwrap());
    assert_eq!((states - files) as u64, manifest["steps"].as_u64().unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn itf_py_is_installed() {
    let o = Command::new("python3")
        .args(["-c", "import itf_py"])
        .output()
        .expect("python3 is needed (.ci/run installs it)");
    assert!(
        o.status.success(),
        "pip package itf-py is needed (.ci/run installs it)"
    );
}
