//! `phone-jpki card` and `phone-jpki ca` refuse bad input with exit 2 and a message naming
//! what and where, before serving anything.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_phone-jpki");

fn exit2(args: &[&str], says: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run phone-jpki");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    for s in says {
        assert!(err.contains(s), "{args:?}: {err} lacks {s}");
    }
}

#[test]
fn bad_flags_and_files_exit_2_naming_them() {
    let dir = std::env::temp_dir().join(format!("phone-jpki-card-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        b"{\"format\": \"phone-jpki-card-state/1\", \"se\": 3}",
    )
    .unwrap();
    let bad_s = bad.to_string_lossy().into_owned();
    exit2(
        &["card", "serve", "--vpcd", "localhost"],
        &["--vpcd localhost", "IP:port"],
    );
    exit2(
        &["card", "serve", "--scenario", "nope"],
        &["--scenario nope", "auth-only"],
    );
    exit2(
        &["card", "serve", "--state", &bad_s],
        &["--state", "bad.json"],
    );
    exit2(
        &["card", "serve", "--state", "/nonexistent/s.json"],
        &["/nonexistent/s.json"],
    );
    exit2(
        &[
            "card",
            "state",
            "--scenario",
            "both",
            "--out",
            "/nonexistent/dir/s.json",
        ],
        &["/nonexistent/dir/s.json"],
    );
    exit2(
        &["ca", "serve", "--dir", &dir.to_string_lossy()],
        &["ca.pem"],
    );
    let _ = std::fs::remove_dir_all(&dir);
}
