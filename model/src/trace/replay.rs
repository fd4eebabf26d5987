//! Replaying a parsed trace against the model.

use super::*;
use crate::rules::{is_offered, step};
use crate::semantics::describe;
use crate::state::State;
use crate::{Action, Config};
use serde::Serialize;
use std::fmt;

/// Where and how a trace leaves the model.
#[derive(Clone, Debug, Serialize)]
pub struct Divergence {
    /// 1-based line of the step.
    pub line: usize,
    /// Index of the step (0 = first after the header).
    pub step: usize,
    /// The action, as the model labels it.
    pub action: String,
    /// The action is not offered in the model's state (the remaining fields compare nothing).
    pub not_offered: bool,
    /// What the model answers.
    pub expected: Option<Observed>,
    /// What the trace says.
    pub observed: Observed,
    /// Given facts the model contradicts.
    pub facts: Vec<FactMismatch>,
    /// The model's state before the step, readable.
    pub state_text: String,
    /// The model's state before the step.
    pub state: State,
    /// The actions the model offers there (when `not_offered`).
    pub offered: Vec<String>,
    /// Why the model does not offer the action (when `not_offered`): the spent bound, or
    /// the precondition that fails and the state of what the action acts on.
    pub why_not_offered: Option<String>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "line {}: step {} {} diverges",
            self.line,
            self.step + 1,
            self.action
        )?;
        if self.not_offered {
            writeln!(
                f,
                "  the model does not offer this action here (trace: {})",
                self.observed
            )?;
            if let Some(why) = &self.why_not_offered {
                for l in why.lines() {
                    writeln!(f, "  {l}")?;
                }
            }
            writeln!(f, "  it offers:")?;
            for a in &self.offered {
                writeln!(f, "    {a}")?;
            }
        } else {
            if let Some(e) = &self.expected {
                let mark = if *e == self.observed {
                    ""
                } else {
                    "   <- differs"
                };
                writeln!(f, "  outcome: model {e}, trace {}{mark}", self.observed)?;
            }
            for m in &self.facts {
                writeln!(
                    f,
                    "  fact {}: model {}, trace {}",
                    m.fact, m.expected, m.observed
                )?;
            }
        }
        writeln!(f, "  model state before the step:")?;
        for l in self.state_text.lines() {
            writeln!(f, "    {l}")?;
        }
        Ok(())
    }
}

/// The result of replaying a trace.
#[derive(Clone, Debug)]
pub enum Verdict {
    /// Every step conforms; the number of steps.
    Conforms(usize),
    /// The first divergence.
    Diverges(Box<Divergence>),
}

/// Replay a parsed trace against the model; stop at the first divergence.
pub fn replay(t: &ParsedTrace) -> Verdict {
    match walk(t, false).pop() {
        None => Verdict::Conforms(t.steps.len()),
        Some(d) => Verdict::Diverges(Box::new(d)),
    }
}

/// Replay a parsed trace against the model and report every divergence (`--keep-going`):
/// after a divergence the model goes on from its own next state (unchanged when it did not
/// offer the action).
pub fn replay_all(t: &ParsedTrace) -> Vec<Divergence> {
    walk(t, true)
}

fn walk(t: &ParsedTrace, keep_going: bool) -> Vec<Divergence> {
    let c = &t.config;
    let mut s = State::initial(c);
    let mut out = Vec::new();
    for (i, (line, st, a)) in t.steps.iter().enumerate() {
        let diverge = |s: &State, not_offered, expected, facts| {
            let mut offered = Vec::new();
            if not_offered {
                let mut all = Vec::new();
                crate::rules::candidate_actions(c, s, &mut all);
                offered = all.iter().map(|a| a.to_string()).collect();
            }
            Divergence {
                line: *line,
                step: i,
                action: a.to_string(),
                not_offered,
                expected,
                observed: st.outcome,
                facts,
                state_text: render_state(c, s),
                state: s.clone(),
                offered,
                why_not_offered: not_offered.then(|| why_not_offered(c, s, *a)),
            }
        };
        let d = if !is_offered(c, &s, *a) {
            // Declining what the model does not offer agrees with it; the state stays.
            let facts = st.facts.mismatches(c, &s);
            (st.outcome != Observed::NotOffered || !facts.is_empty())
                .then(|| diverge(&s, true, None, facts))
        } else {
            let o = step(c, &s, *a);
            let expected = Observed::from(o.result);
            let facts = st.facts.mismatches(c, &o.next);
            let d = (expected != st.outcome || !facts.is_empty())
                .then(|| diverge(&s, false, Some(expected), facts));
            s = o.next;
            d
        };
        if let Some(d) = d {
            out.push(d);
            if !keep_going {
                break;
            }
        }
    }
    out
}

/// Why `a` is not offered in `s`: a bound of the configuration that is spent (the action is
/// offered once that bound is lifted), or else the precondition of its kind
/// (docs/SEMANTICS.md) with the state of the phone, person or push it acts on.
pub fn why_not_offered(c: &Config, s: &State, a: Action) -> String {
    type Lift = fn(&mut Config);
    let bounds: [(&str, Lift); 7] = [
        ("max_events", |c| c.max_events = None),
        ("max_app_installs", |c| c.max_app_installs = u8::MAX),
        ("max_handovers", |c| c.max_handovers = u8::MAX),
        ("max_issuances", |c| c.max_issuances = u8::MAX),
        ("max_certs", |c| c.max_certs = None),
        ("max_sessions", |c| c.max_sessions = None),
        ("max_card_generations", |c| c.max_card_generations = u8::MAX),
    ];
    for (name, lift) in bounds {
        let mut relaxed = c.clone();
        lift(&mut relaxed);
        if is_offered(&relaxed, s, a) {
            let value = serde_json::to_value(TraceConfig::of(c))
                .ok()
                .and_then(|v| v.get(name).cloned())
                .unwrap_or_default();
            return format!(
                "why: the bound {name} = {value} of the configuration is spent (docs/WORLD.md)"
            );
        }
    }
    let label = a.to_string();
    let subject = label
        .split(['(', ',', ')'])
        .nth(1)
        .unwrap_or_default()
        .trim()
        .to_string();
    let state = render_state(c, s);
    let about: Vec<&str> = state
        .lines()
        .filter(|l| {
            l.starts_with(&format!("{subject}:")) || l.starts_with(&format!("push for {subject} "))
        })
        .collect();
    let mut why = format!(
        "why: the precondition of {} fails: {}",
        a.kind().name(),
        describe(a.kind()).pre
    );
    if about.is_empty() && subject.starts_with('#') {
        why.push_str(&format!("\nno deletion push is pending for {subject}"));
    }
    for l in about {
        why.push_str(&format!("\nnow {l}"));
    }
    why
}
