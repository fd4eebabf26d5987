//! The commands that turn verdicts into pictures: `report`, `check --html`, `matrix`,
//! `explore --path`, and `conform`'s verdict when cut short (issue 15).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("phone-jpki-pictures-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn the_report_is_written_twice_with_the_same_bytes() {
    let (a, b) = (tmp("report-a"), tmp("report-b"));
    for (dir, threads) in [(&a, "1"), (&b, "2")] {
        let out = bin()
            .args([
                "report",
                "--world",
                "single",
                "--max-events",
                "1",
                "--threads",
                threads,
                "--out",
            ])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in ["report.html", "report.md"] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(x == y, "{f} differs between runs");
    }
    let md = std::fs::read_to_string(a.join("report.md")).unwrap();
    assert!(md.contains("| keygen-at-tsm | fault | Key pairs are generated at the TSM"));
    assert!(md.contains("### keygen-at-tsm: INV-KEY-IN-SE broken in 4 steps (meant)"));
    // Every picture the Markdown names exists.
    for name in md
        .split("](img/")
        .skip(1)
        .map(|x| x.split(')').next().unwrap())
    {
        let svg = std::fs::read_to_string(a.join("img").join(name)).unwrap();
        assert!(svg.starts_with("<svg"), "{name}");
    }
    let html = std::fs::read_to_string(a.join("report.html")).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("src="),
        "self-contained"
    );
    // An unusable --out is refused before any work, exit 2.
    let out = bin()
        .args([
            "report",
            "--world",
            "single",
            "--out",
            "/proc/no-such-dir/x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out /proc/no-such-dir/x"));
    let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
}

#[test]
fn check_html_draws_each_counterexample() {
    let dir = tmp("html");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("check.html");
    let out = bin()
        .args([
            "check",
            "--world",
            "single",
            "--policy",
            "temporary-pin-shown",
            "--html",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success());
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("<p class='fails'>Fails there: INV-PIN"));
    assert!(html.contains("class='timeline'") && html.contains("class='state'"));
    assert!(html.contains("http://127.0.0.1:3000/path/InstallApp(h0)/"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn matrix_tells_meant_breaks_from_collateral_and_prints_json_expectations() {
    let out = bin()
        .args([
            "matrix",
            "--world",
            "single",
            "--max-events",
            "1",
            "--threads",
            "2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("keygen-at-tsm              INV-KEY-IN-SE            as meant: INV-KEY-IN-SE broken (4)"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() < 260), "{text}");
    let out = bin()
        .args(["matrix", "--world", "single", "--max-events", "1", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == "keygen-at-tsm")
        .unwrap();
    assert_eq!(row["meant_to_break"], serde_json::json!(["INV-KEY-IN-SE"]));
    assert_eq!(row["as_meant"], true);
    let cell = row["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"].as_str().unwrap().starts_with("INV-KEY-IN-SE"))
        .unwrap();
    assert_eq!(
        (&cell["meant"], &cell["verdict"]),
        (&serde_json::json!(true), &serde_json::json!("broken"))
    );
}

#[test]
fn explore_path_opens_a_pasted_listing_and_refuses_a_bad_one() {
    let dir = tmp("path");
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("cex.txt");
    std::fs::write(&good, " 1. InstallApp(h0)\n 2. InstallApplet(h0)\n").unwrap();
    let mut child = bin()
        .args([
            "explore",
            "--world",
            "reference",
            "--addr",
            "127.0.0.1:0",
            "--path",
        ])
        .arg(&good)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let link = lines.next().unwrap().unwrap();
    assert!(
        link.ends_with("/path/InstallApp(h0)/InstallApplet(h0)?world=reference"),
        "{link}"
    );
    // The page's data for that link, over plain HTTP.
    let addr = first
        .trim_start_matches("Explorer on http://")
        .split('/')
        .next()
        .unwrap();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /api/view/InstallApp(h0)/InstallApplet(h0)?world=reference HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(
        body.contains("\"label\":\"Apply(h0,auth)\",\"mark\":null,\"refusal\":null")
            || body.contains("Apply(h0,auth)")
    );

    let bad = dir.join("bad.txt");
    std::fs::write(&bad, "InstallApp(h0)\nGenerateKey(h0)\n").unwrap();
    let out = bin()
        .args(["explore", "--world", "reference", "--path"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("step 2: GenerateKey(h0) is not offered there: no issuance session is in progress on h0"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn conform_cut_short_is_undecided_and_fails() {
    let out = bin()
        .args([
            "conform",
            "--world",
            "single",
            "--max-events",
            "1",
            "--exhaustive",
            "--max-states",
            "5",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("UNDECIDED: cut short"), "{text}");
    assert!(!text.contains("INCOMPLETE"), "{text}");
}
