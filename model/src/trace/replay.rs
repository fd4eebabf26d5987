//! Replaying a parsed trace against the model.

use super::*;
use crate::rules::{is_offered, step};
use crate::state::State;
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
            writeln!(f, "  the model does not offer this action here; it offers:")?;
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

/// Replay a parsed trace against the model.
pub fn replay(t: &ParsedTrace) -> Verdict {
    let c = &t.config;
    let mut s = State::initial(c);
    for (i, (line, st, a)) in t.steps.iter().enumerate() {
        let diverge = |s: &State, not_offered, expected, facts| {
            let mut offered = Vec::new();
            if not_offered {
                let mut all = Vec::new();
                crate::rules::candidate_actions(c, s, &mut all);
                offered = all.iter().map(|a| a.to_string()).collect();
            }
            Verdict::Diverges(Box::new(Divergence {
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
            }))
        };
        if !is_offered(c, &s, *a) {
            return diverge(&s, true, None, Vec::new());
        }
        let o = step(c, &s, *a);
        let expected = Observed::from(o.result);
        let facts = st.facts.mismatches(c, &o.next);
        if expected != st.outcome || !facts.is_empty() {
            return diverge(&s, false, Some(expected), facts);
        }
        s = o.next;
    }
    Verdict::Conforms(t.steps.len())
}
