//! OpenSC end to end (THREAT-READER's card-reader route, as public middleware sees it): `pcscd`
//! in the foreground with vsmartcard's vpcd driver on a private port, `phone-jpki card serve`
//! connected to it, then OpenSC's own tools against the JPKI token:
//! `pkcs15-tool --list-certificates` and `--read-certificate`, `pkcs11-tool -L` and `-O`, and
//! `pkcs11-tool --sign` with both keys and SHA256-, SHA1-, SHA384-RSA-PKCS and RSA-PKCS, every
//! signature verified with `openssl` against the certificate read from the token. Then the token
//! must still bind with one kind only, with a temporary PIN, and with a blocked PIN.
//!
//! Needs the Debian packages `pcscd`, `vsmartcard-vpcd`, `opensc`, `opensc-pkcs11` and
//! `openssl` (`.ci/run` installs them); the test FAILS when one is missing. `pcscd` has one
//! socket per machine (`/run/pcscd/pcscd.comm`), so this file holds a single test and refuses
//! to run beside another `pcscd`. Every process it starts is stopped by its id.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PKCS11_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const PCSCD_SOCKET: &str = "/run/pcscd/pcscd.comm";
const DATA: &[u8] = b"phone-jpki: a message signed through OpenSC";

/// A started process, stopped by its id (`Child::kill`) when dropped.
struct Proc {
    name: &'static str,
    child: Child,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("stopped {} (pid {})", self.name, self.child.id());
    }
}

fn require_tools() {
    let mut missing = Vec::new();
    for tool in [
        "pcscd",
        "pkcs15-tool",
        "pkcs11-tool",
        "opensc-tool",
        "openssl",
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false)
            || Path::new("/usr/sbin").join(tool).is_file();
        if !found {
            missing.push(tool.to_string());
        }
    }
    for file in [PKCS11_MODULE, VPCD_DRIVER] {
        if !Path::new(file).is_file() {
            missing.push(file.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "OpenSC end-to-end test needs {missing:?}: apt-get install pcscd vsmartcard-vpcd opensc \
         opensc-pkcs11 openssl (.ci/run does)"
    );
}

fn pcscd_path() -> PathBuf {
    if Path::new("/usr/sbin/pcscd").is_file() {
        PathBuf::from("/usr/sbin/pcscd")
    } else {
        PathBuf::from("pcscd")
    }
}

/// Two free consecutive TCP ports (vpcd listens on the port of its conf and the next).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let a = TcpListener::bind("0.0.0.0:0").expect("bind a free port");
        let port = a.local_addr().expect("local addr").port();
        if port < 65535 && TcpListener::bind(("0.0.0.0", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free TCP ports");
}

fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: cannot start: {e}"));
    eprintln!(
        "$ {cmd} {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Run and require exit 0; stdout as text.
fn ok(cmd: &str, args: &[&str]) -> String {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Bench {
    dir: PathBuf,
    port: u16,
    _pcscd: Proc,
}

impl Bench {
    fn start() -> Bench {
        require_tools();
        let sock_in_use = std::os::unix::net::UnixStream::connect(PCSCD_SOCKET).is_ok();
        assert!(
            !sock_in_use,
            "another pcscd answers on {PCSCD_SOCKET}; this test runs its own: stop that one first"
        );
        let dir = std::env::temp_dir().join(format!("phone-jpki-opensc-{}", std::process::id()));
        let conf = dir.join("reader.conf.d");
        std::fs::create_dir_all(&conf).expect("temp dir");
        let port = free_port_pair();
        std::fs::write(
            conf.join("vpcd"),
            format!(
                "FRIENDLYNAME \"Virtual PCD\"\nDEVICENAME   /dev/null:{port}\nLIBPATH      \
                 {VPCD_DRIVER}\nCHANNELID    {port}\n"
            ),
        )
        .expect("reader conf");
        let log = std::fs::File::create(dir.join("pcscd.log")).expect("pcscd log");
        let child = Command::new(pcscd_path())
            .args(["--foreground", "--debug", "--config"])
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .expect("start pcscd");
        let pcscd = Proc {
            name: "pcscd",
            child,
        };
        // Wait for the vpcd driver to listen.
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "pcscd's vpcd driver did not listen on {port} within 20 s (log: {})",
                dir.join("pcscd.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Bench {
            dir,
            port,
            _pcscd: pcscd,
        }
    }

    /// Start `phone-jpki card serve` with `state`; its first stdout line, and the process.
    fn card(&self, state: &Path) -> (Value, Proc) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_phone-jpki"))
            .args([
                "card",
                "serve",
                "--vpcd",
                &format!("127.0.0.1:{}", self.port),
            ])
            .arg("--state")
            .arg(state)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start phone-jpki card serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("first line");
        let card = Proc {
            name: "phone-jpki card serve",
            child,
        };
        let v: Value = serde_json::from_str(&line).expect("first stdout line is one JSON object");
        assert_eq!(v["vpcd"], format!("127.0.0.1:{}", self.port));
        // Wait until pcscd shows the card with the JPKI ATR.
        let t = Instant::now();
        loop {
            let out = run("opensc-tool", &["--reader", "0", "--atr"]);
            if String::from_utf8_lossy(&out.stdout).contains("3b:e0:00:ff:81:31:fe:45:14") {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "no card with the JPKI ATR in reader 0 within 20 s"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        (v, card)
    }

    fn state(&self, scenario: &str) -> PathBuf {
        let path = self.dir.join(format!("{scenario}.json"));
        ok(
            env!("CARGO_BIN_EXE_phone-jpki"),
            &[
                "card",
                "state",
                "--scenario",
                scenario,
                "--out",
                path.to_str().expect("utf-8 temp path"),
            ],
        );
        path
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// `pkcs11-tool --sign` with `mech` on slot `slot` / key `id`; the signature is checked
    /// with openssl against `pubkey` (PEM). `pin` is given as typed.
    fn sign_and_verify(&self, slot: &str, id: &str, pin: &str, mech: &str, pubkey: &str) {
        let input = self.path("data");
        std::fs::write(&input, DATA).expect("data");
        let sig = self.path(&format!("sig-{id}-{mech}"));
        ok(
            "pkcs11-tool",
            &[
                "--module",
                PKCS11_MODULE,
                "--slot",
                slot,
                "--login",
                "--pin",
                pin,
                "--sign",
                "--id",
                id,
                "--mechanism",
                mech,
                "--input-file",
                &input,
                "--output-file",
                &sig,
            ],
        );
        match mech {
            "RSA-PKCS" => {
                // Raw: the input itself comes back out of the signature.
                let recovered = ok(
                    "openssl",
                    &[
                        "pkeyutl",
                        "-verifyrecover",
                        "-pubin",
                        "-inkey",
                        pubkey,
                        "-in",
                        &sig,
                    ],
                );
                assert_eq!(recovered.as_bytes(), DATA, "RSA-PKCS key {id}");
            }
            _ => {
                let hash = match mech {
                    "SHA256-RSA-PKCS" => "-sha256",
                    "SHA1-RSA-PKCS" => "-sha1",
                    "SHA384-RSA-PKCS" => "-sha384",
                    other => panic!("no openssl digest for {other}"),
                };
                let out = ok(
                    "openssl",
                    &["dgst", hash, "-verify", pubkey, "-signature", &sig, &input],
                );
                assert!(out.contains("Verified OK"), "{mech} key {id}: {out}");
            }
        }
    }

    fn pubkey_of_cert(&self, cert: &str, inform: &str, out: &str) -> String {
        let pem = ok(
            "openssl",
            &["x509", "-inform", inform, "-in", cert, "-pubkey", "-noout"],
        );
        let path = self.path(out);
        std::fs::write(&path, pem).expect("pubkey");
        path
    }

    fn token_list(&self) -> String {
        ok("pkcs11-tool", &["--module", PKCS11_MODULE, "-L"])
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const MECHS: [&str; 4] = [
    "SHA256-RSA-PKCS",
    "SHA1-RSA-PKCS",
    "SHA384-RSA-PKCS",
    "RSA-PKCS",
];

#[test]
fn opensc_reads_and_signs_with_the_phone_as_a_virtual_card() {
    let bench = Bench::start();

    // Both kinds issued.
    let (info, card) = bench.card(&bench.state("both"));
    let auth_pin = info["auth_pin"].as_str().expect("auth PIN").to_string();
    let sign_pw = info["sign_password"].as_str().expect("sign pw").to_string();
    let list = ok("pkcs15-tool", &["--list-certificates"]);
    assert!(list.contains("User Authentication Certificate"), "{list}");
    assert!(list.contains("Digital Signature Certificate"), "{list}");
    let auth_pem = bench.path("auth.pem");
    let pem = ok("pkcs15-tool", &["--read-certificate", "01"]);
    assert!(pem.contains("BEGIN CERTIFICATE"), "{pem}");
    std::fs::write(&auth_pem, &pem).expect("auth.pem");
    let subject = ok("openssl", &["x509", "-in", &auth_pem, "-noout", "-subject"]);
    assert!(subject.contains("Phone Authentication"), "{subject}");
    let tokens = bench.token_list();
    assert!(
        tokens.contains("JPKI (User Authentication PIN)"),
        "{tokens}"
    );
    assert!(tokens.contains("JPKI (Digital Signature PIN)"), "{tokens}");
    let objects = ok("pkcs11-tool", &["--module", PKCS11_MODULE, "-O"]);
    assert!(
        objects.contains("User Authentication Certificate"),
        "{objects}"
    );
    let auth_pub = bench.pubkey_of_cert(&auth_pem, "PEM", "auth.pub");
    for mech in MECHS {
        bench.sign_and_verify("0", "01", &auth_pin, mech, &auth_pub);
    }
    // The sign certificate is private (read after the password, as on the card).
    let sign_der = bench.path("sign.der");
    ok(
        "pkcs11-tool",
        &[
            "--module",
            PKCS11_MODULE,
            "--slot",
            "1",
            "--login",
            "--pin",
            &sign_pw,
            "--read-object",
            "--type",
            "cert",
            "--id",
            "02",
            "--output-file",
            &sign_der,
        ],
    );
    let sign_pub = bench.pubkey_of_cert(&sign_der, "DER", "sign.pub");
    assert_ne!(
        std::fs::read(&sign_pub).expect("sign.pub"),
        std::fs::read(&auth_pub).expect("auth.pub")
    );
    for mech in MECHS {
        bench.sign_and_verify("1", "02", &sign_pw, mech, &sign_pub);
    }
    // The password typed in lower case works: the applet upper-cases it as the card's clients.
    bench.sign_and_verify(
        "1",
        "02",
        &sign_pw.to_lowercase(),
        "SHA256-RSA-PKCS",
        &sign_pub,
    );
    drop(card);

    // One kind only: the token binds; the auth key signs.
    let (info, card) = bench.card(&bench.state("auth-only"));
    assert_eq!(info["sign"], "empty");
    let tokens = bench.token_list();
    assert!(
        tokens.contains("JPKI (User Authentication PIN)"),
        "{tokens}"
    );
    bench.sign_and_verify("0", "01", &auth_pin, "SHA256-RSA-PKCS", &auth_pub);
    drop(card);

    // Sign mid-issuance (temporary PIN): the token binds; the auth key signs; the sign key
    // refuses (no service use with the temporary PIN, INV-PIN).
    let (info, card) = bench.card(&bench.state("temporary"));
    assert_eq!(info["sign"], "temporary");
    assert!(info["sign_password"].is_null());
    let tokens = bench.token_list();
    assert!(tokens.contains("JPKI (Digital Signature PIN)"), "{tokens}");
    bench.sign_and_verify("0", "01", &auth_pin, "SHA256-RSA-PKCS", &auth_pub);
    let refused = run(
        "pkcs11-tool",
        &[
            "--module",
            PKCS11_MODULE,
            "--slot",
            "1",
            "--login",
            "--pin",
            &sign_pw,
            "--sign",
            "--id",
            "02",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--input-file",
            &bench.path("data"),
            "--output-file",
            &bench.path("never"),
        ],
    );
    assert!(!refused.status.success(), "temporary PIN must not sign");
    drop(card);

    // Auth PIN blocked: the token binds, shows the lock, the sign key still signs.
    let (info, card) = bench.card(&bench.state("blocked"));
    assert_eq!(info["auth"], "blocked");
    let tokens = bench.token_list();
    assert!(tokens.contains("user PIN locked"), "{tokens}");
    bench.sign_and_verify("1", "02", &sign_pw, "SHA256-RSA-PKCS", &sign_pub);
    let refused = run(
        "pkcs11-tool",
        &[
            "--module",
            PKCS11_MODULE,
            "--slot",
            "0",
            "--login",
            "--pin",
            &auth_pin,
            "--sign",
            "--id",
            "01",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--input-file",
            &bench.path("data"),
            "--output-file",
            &bench.path("never"),
        ],
    );
    assert!(!refused.status.success(), "blocked PIN must not sign");
    drop(card);
}
