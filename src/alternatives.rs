//! The seeds' design alternatives (ALT-*) in `check --policy list` and `matrix`, apart from
//! the fault variants: each with its ALT id, its sentence, its expected effects and, in the
//! matrix, its measured effects against the seeds' design (`phone_jpki_model::policy`).

use phone_jpki_model::check::{check, CheckOptions, CheckReport};
use phone_jpki_model::policy::{measure, Alternative, Choice, Expected, Measured};
use phone_jpki_model::Config;
use serde_json::json;
use std::time::{Duration, Instant};

/// The effects in words: `breaks X, Y; opens Z; closes W`.
fn effects(e: &Expected) -> String {
    let mut parts = Vec::new();
    for (what, ids) in [
        ("breaks", &e.breaks),
        ("opens", &e.opens),
        ("closes", &e.closes),
    ] {
        if !ids.is_empty() {
            parts.push(format!("{what} {}", ids.join(", ")));
        }
    }
    if parts.is_empty() {
        "no verdict changes".into()
    } else {
        parts.join("; ")
    }
}

/// `--policy list`, the alternatives' part: one line per alternative, its expected effects
/// on the next.
pub fn list() -> String {
    let mut out = String::from("\nseeds' design alternatives (ALT-*):\n");
    for a in Alternative::ALL {
        let sentence = wrap(a.sentence(), 90);
        out += &format!("{:28} {:18} {}\n", a.name(), a.alt_id(), sentence[0]);
        for line in &sentence[1..] {
            out += &format!("{:47} {line}\n", "");
        }
        out += &format!("{:47} expected: {}\n", "", effects(&a.expected()));
    }
    out
}

/// Check every alternative of `base`, `threads` at a time, in [`Alternative::ALL`] order,
/// within the matrix's `--max-states` (each check) and `--timeout` (the whole run); a cut-short
/// check is UNDECIDED in the table.
pub fn run(
    base: &Config,
    threads: usize,
    (max_states, timeout): (Option<usize>, Option<Duration>),
) -> Vec<(Alternative, CheckReport)> {
    let todo = Alternative::ALL;
    let start = Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, todo.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&a) = todo.get(i) else { return };
                let c = base.clone().with_choice(Choice::Alternative(a));
                let opts = CheckOptions {
                    threads: 1,
                    max_states,
                    timeout: timeout.map(|t| t.saturating_sub(start.elapsed())),
                    ..CheckOptions::default()
                };
                let r = check(&c, &opts, &mut |_| {});
                done.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push((i, a, r));
            });
        }
    });
    let mut rows = done.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_by_key(|(i, _, _)| *i);
    rows.into_iter().map(|(_, a, r)| (a, r)).collect()
}

fn ids(v: &[(String, Option<usize>)]) -> String {
    v.iter()
        .map(|(i, l)| format!("{i} ({})", l.map_or("-".into(), |l| l.to_string())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn measured_text(m: &Measured) -> String {
    let or_none = |s: String| if s.is_empty() { "none".into() } else { s };
    format!(
        "breaks: {}; opens: {}; closes: {}",
        or_none(ids(&m.breaks)),
        or_none(ids(&m.opens)),
        or_none(m.closes.join(", "))
    )
}

/// The alternatives' rows of `matrix`: sentence, then what the check measured against the
/// seeds' design (`default`), with the shortest path lengths, and whether that is what the
/// alternative is expected to do.
pub fn table(default: &CheckReport, rows: &[(Alternative, CheckReport)]) -> String {
    let mut out = String::from(
        "\nSeeds' design alternatives (ALT-*), measured against the seeds' design: \
         \"breaks\" invariants (counterexample length), \"opens\" threats and risks it makes \
         reachable (example length), \"closes\" what it makes unreachable.\n",
    );
    for (a, r) in rows {
        let m = measure(default, r);
        let verdict = if !r.complete {
            "UNDECIDED (search cut short)".to_string()
        } else if m.matches(&a.expected()) {
            "as expected".into()
        } else {
            format!("NOT as expected ({})", effects(&a.expected()))
        };
        out += &format!("{:18} {}\n", a.alt_id(), a.name());
        for line in wrap(a.sentence(), 100) {
            out += &format!("{:18} {line}\n", "");
        }
        out += &format!("{:18} {}; {verdict}\n", "", measured_text(&m));
    }
    out
}

/// `text` in lines of at most `width` characters, broken at spaces (a longer word stands alone).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("never empty");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > width {
            lines.push(word.to_string());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines
}

/// The alternatives' JSON rows, appended to `matrix --json`'s.
pub fn json(default: &CheckReport, rows: &[(Alternative, CheckReport)]) -> Vec<serde_json::Value> {
    rows.iter()
        .map(|(a, r)| {
            let m = measure(default, r);
            json!({
                "policy": a.name(),
                "kind": "alternative",
                "alt": a.alt_id(),
                "sentence": a.sentence(),
                "expected": a.expected(),
                "measured": m,
                "as_expected": r.complete && m.matches(&a.expected()),
                "complete": r.complete,
            })
        })
        .collect()
}
