//! `check --policy list` and the alternatives' part of `matrix`: the seeds' design
//! alternatives (ALT-*) apart from the fault variants, each with its sentence and its
//! measured effects against the default design (`phone_jpki_model::policy`).

use phone_jpki_model::check::CheckReport;
use phone_jpki_model::policy::{measure, Choice, PolicyKind};

/// Every policy choice: its kind (fault or ALT-*), name, sentence and expected effects.
pub fn policy_list() -> String {
    let mut out = String::new();
    for c in Choice::all() {
        let kind = match c.kind() {
            PolicyKind::Fault => "fault".to_string(),
            PolicyKind::Alternative(id) => id.to_string(),
        };
        let e = c.expected();
        out += &format!("{:28} {kind:18} {}\n", c.name(), c.sentence());
        let mut effects = Vec::new();
        if !e.breaks.is_empty() {
            effects.push(format!("breaks {}", e.breaks.join(", ")));
        }
        if !e.opens.is_empty() {
            effects.push(format!("opens {}", e.opens.join(", ")));
        }
        if !e.closes.is_empty() {
            effects.push(format!("closes {}", e.closes.join(", ")));
        }
        if effects.is_empty() {
            effects.push("no verdict changes expected".into());
        }
        out += &format!("{:47} expected: {}\n", "", effects.join("; "));
    }
    out
}

/// The alternatives' rows: for each, its ALT id, sentence and the verdicts it changes
/// against the default design, with shortest path lengths.
pub fn alternatives_table(default: &CheckReport, rows: &[(Choice, CheckReport)]) -> String {
    let mut out = String::from(
        "\nseeds' design alternatives (ALT-*) against the default design: breaks / opens (len of shortest path) / closes\n",
    );
    for (c, r) in rows {
        let PolicyKind::Alternative(id) = c.kind() else {
            continue;
        };
        let m = measure(default, r);
        let list = |v: &[(String, Option<usize>)]| {
            v.iter()
                .map(|(i, l)| format!("{i}({})", l.map_or("-".into(), |l| l.to_string())))
                .collect::<Vec<_>>()
                .join(" ")
        };
        out += &format!("{id:18} {:28} {}\n", c.name(), c.sentence());
        out += &format!(
            "{:47} breaks: {}; opens: {}; closes: {}{}\n",
            "",
            or_none(list(&m.breaks)),
            or_none(list(&m.opens)),
            or_none(m.closes.join(" ")),
            if r.complete {
                ""
            } else {
                " (UNDECIDED: incomplete)"
            }
        );
    }
    out
}

fn or_none(s: String) -> String {
    if s.is_empty() {
        "none".into()
    } else {
        s
    }
}
