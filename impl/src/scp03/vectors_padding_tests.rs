//! Vector files whose card padded a response more than the minimum (ISO/IEC 9797-1 method 2
//! allows only the minimum, but Samsung's OpenSCP card emulation adds a whole extra block of
//! `80 00..`): the host side accepts them after the R-MAC verified; the card side, which pads
//! minimally, passes when its own wrapping unwraps to the same plain data, and says so.

use super::*;
use crate::scp03::kdf::BLOCK;

const PYSIM_33: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../shared/vectors/scp03/pysim-aes128-level33.json"
));

/// pysim's level-33 file with its response step re-wrapped by a card session in the same
/// state, `extra_blocks` blocks over the minimum; `tamper` flips a ciphertext bit afterwards.
fn overpadded_file(extra_blocks: usize, tamper: bool) -> (String, usize) {
    let mut v: Value = serde_json::from_str(PYSIM_33).unwrap();
    let vf = parse(PYSIM_33, "pysim").unwrap();
    let mut card: Option<CardSession> = None;
    let mut step_index = None;
    for (i, step) in vf.steps.iter().enumerate() {
        if let Step::UnwrapResponse { sw, plain, .. } = step {
            let c = card.as_ref().unwrap();
            let mut w = c
                .wrap_response_overpadded(
                    &Response {
                        data: plain.clone(),
                        sw: *sw,
                    },
                    extra_blocks,
                )
                .unwrap();
            if tamper {
                w[0] ^= 1;
            }
            w.truncate(w.len() - 2);
            v["steps"][i]["wrapped"] = Value::from(hx(&w));
            step_index = Some(i);
            break;
        }
        card_step(&vf.keys, &mut card, step).unwrap();
    }
    v["name"] = Value::from("pysim-aes128-level33, response over-padded");
    (v.to_string(), step_index.unwrap())
}

#[test]
fn over_padded_response_passes_both_sides_with_a_note() {
    let original = run_vector_json(PYSIM_33).unwrap();
    assert!(original.passed() && original.notes.is_empty(), "{original}");
    for extra in [1, 2] {
        let (text, step) = overpadded_file(extra, false);
        let r = run_vector_json(&text).unwrap();
        assert!(r.passed(), "{r}");
        assert_eq!(r.notes.len(), 1, "{r}");
        assert!(
            r.notes[0].contains(&format!("step {step}"))
                && r.notes[0].contains(&format!("{} bytes more", extra * BLOCK)),
            "{r}"
        );
        assert!(r.to_string().contains("note: step"), "{r}");
    }
}

#[test]
fn a_tampered_over_padded_response_fails_on_both_sides() {
    let (text, step) = overpadded_file(1, true);
    let r = run_vector_json(&text).unwrap();
    assert!(!r.host_ok && !r.card_ok, "{r}");
    assert!(r.notes.is_empty());
    assert!(r.mismatches.iter().all(|m| m.step == step), "{r}");
}
