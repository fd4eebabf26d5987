//! The suite catches deliberately broken implementations: `scripts/faults` patches a scratch
//! copy of the workspace (never a switch in impl/), builds it and runs `phone-jpki conform`
//! until it reports a divergence, or, for faults in code the model has no action for yet, runs
//! the implementation's scenario tests until one fails. Slow (five release builds and three
//! test builds on 2 cores), so ignored by default:
//! `cargo test -p phone-jpki-checks --test faults -- --ignored`.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "eight builds of a patched copy: run by hand or via scripts/faults"]
fn eight_broken_implementations_are_caught() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/faults");
    let out = Command::new("bash").arg(&script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    for name in [
        "linked-revocation-skipped",
        "model-change-keeps-old",
        "push-not-matched-to-serial",
        "rp-ignores-suspension",
        "pin-counter-not-decremented",
        "reader-skips-pin",
        "rp-ignores-status-offline",
        "delete-by-slot-not-serial",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("{name}: CAUGHT"))),
            "{name} not caught:\n{text}"
        );
    }
    assert!(out.status.success(), "{text}");
}
