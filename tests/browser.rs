//! The Explorer and the design report in a real browser: Debian's chromium, driven over the
//! Chrome DevTools protocol by tests/browser/drive.mjs (Node.js, no packages). Opens the
//! counterexample link `check` prints, steps through it click by click, checks properties,
//! refusal marks and pictures, runs the checker from the page, opens the report, and saves
//! screenshots in target/browser-screenshots/. Fails, never skips, when chromium or node is
//! missing (.ci/run installs chromium).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
}

/// Ends the Explorer when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(name: &str, candidates: &[&str]) -> String {
    for c in candidates {
        if Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c.to_string();
        }
    }
    panic!("{name} is missing: install it (CI: .ci/run installs Debian's chromium; node comes with the machine)");
}

#[test]
fn a_counterexample_opens_steps_and_reads_right_in_chromium() {
    let chromium = tool("chromium", &["/usr/bin/chromium", "chromium"]);
    let node = tool("node", &["node"]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = root.join("target");
    let shots = target.join("browser-screenshots");
    let report = target.join("browser-report");
    std::fs::create_dir_all(&shots).unwrap();

    // The link exactly as `check` prints it.
    let out = bin()
        .args([
            "check",
            "--world",
            "reference",
            "--policy",
            "rp-ignores-suspension",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let after = text.split("BROKEN").nth(1).expect("a broken property");
    let link = after
        .lines()
        .find_map(|l| l.split("): ").nth(1).filter(|x| x.starts_with("http://")))
        .expect("an Explorer link under the counterexample")
        .to_string();

    // The Explorer on a free port: bound once, the address printed first.
    let mut child = bin()
        .args(["explore", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut first = String::new();
    let mut reader = BufReader::new(stdout);
    reader.read_line(&mut first).unwrap();
    let addr = first
        .trim()
        .strip_prefix("Explorer on http://")
        .and_then(|x| x.split('/').next())
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    let link = link.replace("127.0.0.1:3000", &addr);

    let out = bin()
        .args(["report", "--world", "reference", "--threads", "2", "--out"])
        .arg(&report)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let run = Command::new(node)
        .arg(root.join("tests/browser/drive.mjs"))
        .args([&chromium, &format!("http://{addr}"), &link])
        .arg(report.join("report.html"))
        .arg(&shots)
        .output()
        .unwrap();
    drop(server);
    drop(reader);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(run.status.success(), "{log}");
    assert!(log.contains("all browser checks passed"), "{log}");
    for png in [
        "explorer-counterexample.png",
        "explorer-refusal.png",
        "explorer-run.png",
        "report.png",
    ] {
        let p: PathBuf = shots.join(png);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{}",
            p.display()
        );
    }
}
