//! The seed scenarios of the threat actors and the alternatives (issue 10), written as traces
//! in `docs/examples/threat-*.jsonl` with the outcomes the seeds call for, replayed against
//! the model: each must conform step by step.

use phone_jpki_model::trace::{parse, replay, Verdict};
use std::path::PathBuf;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples")
}

/// The scenarios issue 10 asks for, by file.
const SCENARIOS: [&str; 6] = [
    "threat-finder-reader",
    "threat-careless-sale",
    "threat-offline-sign",
    "threat-sim-swap",
    "threat-biometric-any-finger",
    "threat-biometric-invalidate",
];

#[test]
fn every_threat_scenario_conforms_to_the_model() {
    for name in SCENARIOS {
        let path = examples_dir().join(format!("{name}.jsonl"));
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let t = parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(t.steps.len() >= 5, "{name}: too short to show anything");
        match replay(&t) {
            Verdict::Conforms(n) => assert_eq!(n, t.steps.len(), "{name}"),
            Verdict::Diverges(d) => panic!("{name} diverges:\n{d}"),
        }
    }
}

/// A changed outcome in a scenario is caught: the replay is not vacuous.
#[test]
fn a_scenario_with_a_wrong_outcome_diverges() {
    let path = examples_dir().join("threat-offline-sign.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    // The relying party refuses the signature made with the revoked key; claiming it
    // accepted must diverge.
    let wrong = text.replace(
        r#""action":"PresentSignature","serial":0,"outcome":{"refused":"CertRevoked"}"#,
        r#""action":"PresentSignature","serial":0,"outcome":"accepted""#,
    );
    assert_ne!(wrong, text, "the scenario's last step changed shape");
    let t = parse(wrong.as_bytes()).unwrap();
    assert!(matches!(replay(&t), Verdict::Diverges(_)));
}
