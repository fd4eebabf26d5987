//! `phone-jpki check`'s output: verdict words that mean what they say (UNDECIDED for a run
//! cut short, never a failure without a counterexample), each path with its final state, the
//! clause that fails there and an Explorer link, and for a policy variant whether what broke
//! is exactly what the variant is meant to break.

use crate::links::{explorer_link, DEFAULT_ADDR};
use crate::picture::words;
use crate::variants::Choice;
use crate::variants::{broken, expected};
use phone_jpki_model::check::{CheckReport, PropertyResult, Verdict};
use phone_jpki_model::{check::replay, Action, Config};
use serde_json::json;
use std::collections::BTreeSet;
use std::process::ExitCode;

/// The variants named by `--policy` (already validated by `config`).
pub fn variants(policy: &[String]) -> Vec<Choice> {
    policy
        .iter()
        .filter_map(|p| crate::variants::from_name(p))
        .collect()
}

/// The first line: size and whether the search was complete.
pub fn summary(r: &CheckReport) -> String {
    format!(
        "{} unique states, {} generated, depth {}, {:.1} s, {}",
        r.unique_states,
        r.states,
        r.max_depth,
        r.seconds,
        match r.cut {
            None => "complete".to_string(),
            Some(c) => format!(
                "UNDECIDED where no path was found: the search {} (no violation in the part explored)",
                c.describe()
            ),
        }
    )
}

/// The link that opens `path` in the Explorer, or why there is none.
pub fn link_line(c: &Config, path: &[Action]) -> String {
    match explorer_link(DEFAULT_ADDR, c, path) {
        Ok(l) => format!("open in the Explorer (run `phone-jpki explore`): {l}"),
        Err(e) => format!("no Explorer link: {e}"),
    }
}

/// A path told for a terminal: numbered steps, the final state, what fails there, the link.
pub fn path_text(c: &Config, p: &PropertyResult, path: &[Action], indent: &str) -> String {
    let mut out = String::new();
    let (views, last) = crate::picture::steps(c, path);
    for (i, v) in views.iter().enumerate() {
        out += &format!(
            "{indent}{:2}. {}{}{}\n",
            i + 1,
            v.label,
            v.refusal
                .as_ref()
                .map_or(String::new(), |r| format!("  (refused: {r})")),
            v.mark
                .as_ref()
                .filter(|m| *m != "detour")
                .map_or(String::new(), |m| format!("  [{m}]"))
        );
    }
    if p.verdict(true) == Verdict::Broken {
        out += &format!("{indent}final state:\n");
        for l in words(c, &last) {
            out += &format!("{indent}    {l}\n");
        }
        out += &format!("{indent}fails there: {}\n", p.name);
    }
    out += &format!("{indent}{}\n", link_line(c, path));
    out
}

/// The verdict line for variants: broken as meant, or what differs.
pub fn policy_verdict(r: &CheckReport, vs: &[Choice]) -> Option<(bool, String)> {
    if vs.is_empty() || !r.complete {
        return None;
    }
    let names: Vec<_> = vs.iter().map(|v| v.name()).collect();
    let (want, got) = (expected(vs), broken(r));
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(", ");
    Some(if want == got {
        (
            true,
            format!(
                "{}: broken, as this variant is meant to ({}); nothing else broken",
                names.join(" + "),
                list(&got)
            ),
        )
    } else {
        let missing: BTreeSet<_> = want.difference(&got).cloned().collect();
        let extra: BTreeSet<_> = got.difference(&want).cloned().collect();
        (
            false,
            format!(
                "{}: NOT as meant: expected to break {}; {}{}",
                names.join(" + "),
                list(&want),
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("still holding: {}; ", list(&missing))
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!("also broken: {}", list(&extra))
                }
            ),
        )
    })
}

/// Print the report and choose the exit code.
pub fn finish(c: &Config, r: &CheckReport, vs: &[Choice], json: bool, strict: bool) -> ExitCode {
    let pv = policy_verdict(r, vs);
    let meant = expected(vs);
    if json {
        let props: Vec<_> = r
            .properties
            .iter()
            .map(|p| {
                let v = p.verdict(r.complete);
                let id = p.name.split(':').next().unwrap_or("");
                json!({
                    "name": p.name,
                    "expectation": p.expectation,
                    "verdict": v,
                    "holds": (v != Verdict::Undecided).then_some(p.holds),
                    "meant_to_break": meant.contains(id),
                    "path": p.path.as_ref().map(|v| v.iter().map(|a| a.to_string()).collect::<Vec<_>>()),
                    "link": p.path.as_ref().and_then(|x| explorer_link(DEFAULT_ADDR, c, x).ok()),
                })
            })
            .collect();
        let out = json!({
            "complete": r.complete,
            "cut": r.cut.map(|x| x.describe()),
            "unique_states": r.unique_states,
            "states": r.states,
            "max_depth": r.max_depth,
            "seconds": r.seconds,
            "policies": vs.iter().map(|v| v.name()).collect::<Vec<_>>(),
            "as_meant": pv.as_ref().map(|x| x.0),
            "properties": props,
        });
        println!("{out}");
    } else {
        println!("{}", summary(r));
        for p in &r.properties {
            let v = p.verdict(r.complete);
            println!("{:10} {:9?} {}", v.word(), p.expectation, p.name);
            if let Some(path) = &p.path {
                if v == Verdict::Broken || p.name.starts_with("SCN") || p.name.starts_with("RISK") {
                    print!("{}", path_text(c, p, path, "           "));
                }
            }
        }
        if let Some((_, line)) = &pv {
            println!("{line}");
        }
    }
    let ok = match (&pv, strict) {
        (Some((as_meant, _)), false) => *as_meant,
        _ => r.passed(),
    };
    // Every path printed replays: a guard against a link that would not open.
    debug_assert!(r
        .properties
        .iter()
        .filter_map(|p| p.path.as_ref())
        .all(|x| replay(c, x).is_ok()));
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
