//! The seed scenarios of issue 9 as traces (`docs/examples/*.jsonl`), written from the seeds
//! rather than from the model, replayed against the model: each must conform step by step,
//! outcomes and the facts it states.

use phone_jpki_model::trace::{parse, replay, Verdict};

const EXAMPLES: [&str; 5] = [
    "both-kinds-to-a-new-phone.jsonl",
    "stale-push-after-reissue.jsonl",
    "push-refused-while-online.jsonl",
    "reset-while-offline.jsonl",
    "revoked-before-written.jsonl",
];

#[test]
fn every_seed_scenario_replays_against_the_model() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    for name in EXAMPLES {
        assert!(
            dir.join(name).is_file(),
            "{name} missing from docs/examples"
        );
    }
    for name in EXAMPLES {
        let text = std::fs::read(dir.join(name)).unwrap();
        let t = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let steps = text.iter().filter(|&&b| b == b'\n').count() - 1;
        match replay(&t) {
            Verdict::Conforms(n) => assert_eq!(n, steps, "{name}"),
            Verdict::Diverges(d) => panic!("{name}: {d}"),
        }
    }
}
