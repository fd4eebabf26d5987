//! Certificates a relying party can check on its own (INV-NO-USE-AFTER-REVOKE): the demo's
//! certificates and CRL pass `pkilint`'s RFC 5280 linters with no WARNING or worse, and with
//! `phone-jpki ca serve` on loopback, `openssl verify -crl_check -crl_download` finds the CRL
//! from each certificate's cRLDistributionPoints alone: live ones verify, revoked and held ones
//! are refused. Needs `openssl`, `lint_pkix_cert` and `lint_crl` (pip `pkilint`; `.ci/run`
//! installs them); FAILS when one is missing.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_phone-jpki");

/// A started process, stopped by its id when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} cannot run ({e}): install openssl and `pip install pkilint` (.ci/run does)")
    })
}

/// Run the demo into a fresh directory; the certificates with whether each is live.
fn demo(tag: &str) -> (PathBuf, Vec<(PathBuf, bool)>) {
    let dir = std::env::temp_dir().join(format!("phone-jpki-rp-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(BIN)
        .args(["demo", "--out"])
        .arg(&dir)
        .output()
        .expect("run phone-jpki demo");
    assert!(out.status.success(), "demo: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("deterministic test keys"),
        "the demo warns about its keys: {text}"
    );
    let certs: Vec<(PathBuf, bool)> = text
        .lines()
        .filter_map(|l| {
            let (path, rest) = l.split_once(" serial ")?;
            Some((PathBuf::from(path), rest.ends_with(" live")))
        })
        .collect();
    assert_eq!(certs.len(), 8, "{text}");
    assert_eq!(certs.iter().filter(|(_, live)| *live).count(), 4, "{text}");
    for kind in ["auth", "sign"] {
        assert!(
            certs.iter().any(|(p, live)| *live
                && p.to_string_lossy()
                    .contains(&format!("phone-h1-{kind}-valid"))),
            "a live phone certificate of kind {kind}: {text}"
        );
    }
    (dir, certs)
}

fn lint(cmd: &str, args: &[&str], file: &Path) {
    let mut all: Vec<&str> = args.to_vec();
    let f = file.to_string_lossy().into_owned();
    all.extend(["-s", "WARNING", "-f", "JSON", &f]);
    let out = tool(cmd, &all);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{cmd} on {f}: not JSON ({e}): {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let findings = v["results"].as_array().map(Vec::len).unwrap_or(usize::MAX);
    assert!(
        out.status.success() && findings == 0,
        "{cmd} on {f}: findings of WARNING or worse: {text}"
    );
}

#[test]
fn pkilint_finds_no_warning_in_any_demo_certificate_or_the_crl() {
    let (dir, certs) = demo("lint");
    lint("lint_pkix_cert", &["lint"], &dir.join("ca.pem"));
    for (cert, _) in &certs {
        lint("lint_pkix_cert", &["lint"], cert);
    }
    lint(
        "lint_crl",
        &["lint", "-t", "CRL", "-p", "PKIX"],
        &dir.join("crl.pem"),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn verify_download(dir: &Path, cert: &Path) -> (bool, String) {
    let ca = dir.join("ca.pem").to_string_lossy().into_owned();
    let c = cert.to_string_lossy().into_owned();
    let out = tool(
        "openssl",
        &["verify", "-CAfile", &ca, "-crl_check", "-crl_download", &c],
    );
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn http_get(url: &str) -> Vec<u8> {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("path"));
    let mut s = TcpStream::connect(host).expect("connect");
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").expect("request");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("response");
    let at = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("head end");
    assert!(out.starts_with(b"HTTP/1.0 200"), "{url}");
    out.split_off(at + 4)
}

#[test]
fn openssl_downloads_the_crl_named_in_each_certificate() {
    let (dir, certs) = demo("crl");
    let live = &certs.iter().find(|(_, l)| *l).expect("a live cert").0;
    // -crl_check needs a CRL: without the download, even a live certificate is not accepted.
    // (Not tried with the server down: OpenSSL 3.0 retries a refused connection for ever.)
    let ca = dir.join("ca.pem").to_string_lossy().into_owned();
    let no_crl = tool(
        "openssl",
        &[
            "verify",
            "-CAfile",
            &ca,
            "-crl_check",
            &live.to_string_lossy(),
        ],
    );
    assert!(
        !no_crl.status.success()
            && String::from_utf8_lossy(&no_crl.stderr).contains("unable to get certificate CRL"),
        "{no_crl:?}"
    );
    let mut child = Command::new(BIN)
        .args(["ca", "serve", "--dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start phone-jpki ca serve");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let info: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        panic!("ca serve's first line {line:?} is not JSON ({e}): is 127.0.0.1:8780 taken?")
    });
    for (cert, live) in &certs {
        let (ok, text) = verify_download(&dir, cert);
        assert_eq!(ok, *live, "{}: {text}", cert.display());
        if !live {
            assert!(text.contains("certificate revoked"), "{text}");
        }
    }
    // AIA caIssuers: the CA certificate at the URL in the certificate, DER.
    let aia = tool(
        "openssl",
        &[
            "x509",
            "-noout",
            "-ext",
            "authorityInfoAccess",
            "-in",
            &live.to_string_lossy(),
        ],
    );
    let aia = String::from_utf8_lossy(&aia.stdout).into_owned();
    let url = aia
        .split("URI:")
        .nth(1)
        .map(|u| u.trim().to_string())
        .expect("caIssuers URI");
    assert_eq!(url, info["ca_url"].as_str().expect("ca_url"));
    let ca_der = tool(
        "openssl",
        &[
            "x509",
            "-in",
            &dir.join("ca.pem").to_string_lossy(),
            "-outform",
            "DER",
        ],
    );
    assert_eq!(http_get(&url), ca_der.stdout);
    let _ = std::fs::remove_dir_all(&dir);
}
