//! `conform --cover-classes`: coverage-guided walks that drive the implementation through
//! every edge class of a world too large to replay every edge.
//!
//! The classes are those of `vectors export --coverage edge-classes`
//! ([`phone_jpki_model::vectors::class_key`]), over the graph the implementation is driven on
//! ([`crate::lockstep::driven_config`], realised actions only). A model-only pass (no
//! implementation) lists every class with the first edge of it in breadth-first order. Then
//! each walk starts from the initial state, goes along the shortest path to the first class
//! not covered yet, takes its edge, and goes on greedily: at each state it takes an offered
//! action whose class is not covered yet (the one listed first), and stops when none is
//! left there. Every step runs in lockstep (model and implementation compared); every walk
//! covers at least the class it aimed at, so the run ends after at most one walk per class.

use crate::lockstep::{driven_config, realised, Divergence, Lockstep, SetupError};
use phone_jpki_model::check::fingerprint;
use phone_jpki_model::vectors::{class_key, Edge};
use phone_jpki_model::{candidate_actions, step, Action, Config, State};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Limits of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Seed of the implementation's keys.
    pub seed: u64,
    /// Stop the model pass (its class list then a lower bound) after this many states.
    pub max_states: Option<usize>,
    /// Stop the whole run (model pass and walks) after this long.
    pub timeout: Option<Duration>,
}

/// Figures of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// Classes listed by the model pass (and any met only on a walk).
    pub total: usize,
    /// The model pass visited every reachable state (else `total` is a lower bound).
    pub total_complete: bool,
    /// Model states visited by the model pass.
    pub model_states: usize,
    /// Seconds of the model pass.
    pub model_seconds: f64,
    /// Classes covered by the implementation in lockstep.
    pub covered: usize,
    /// Walks run.
    pub walks: usize,
    /// Actions driven (each on both sides).
    pub actions: usize,
    /// Seconds of the walks.
    pub seconds: f64,
    /// The walks stopped at the time limit with classes left.
    pub cut: bool,
}

impl Report {
    /// Actions per second of the walks.
    pub fn rate(&self) -> f64 {
        crate::conform::rate(self.actions, self.seconds)
    }

    /// The figures as JSON (`conform --json`); `ok`: no divergence.
    pub fn json(&self, ok: bool) -> serde_json::Value {
        serde_json::json!({
            "covered": self.covered, "total": self.total,
            "total_complete": self.total_complete, "model_states": self.model_states,
            "model_seconds": self.model_seconds, "walks": self.walks, "actions": self.actions,
            "seconds": self.seconds, "actions_per_second": self.rate(),
            "complete": !self.cut && self.total_complete, "ok": ok,
        })
    }

    /// The text line.
    pub fn line(&self, ok: bool) -> String {
        let total = if self.total_complete {
            format!("{}", self.total)
        } else {
            format!(
                "at least {} (model pass cut short at {} states)",
                self.total, self.model_states
            )
        };
        let verdict = match (ok, self.cut || !self.total_complete) {
            (false, _) => "DIVERGED",
            (true, true) => "UNDECIDED: cut short, no divergence in the part covered",
            (true, false) => "ok",
        };
        format!(
            "cover classes: {}/{total} classes, {} walks, {} actions, {:.1} s, {:.0} actions/s \
             (model pass: {} states, {:.1} s), {verdict}\n",
            self.covered,
            self.walks,
            self.actions,
            self.seconds,
            self.rate(),
            self.model_states,
            self.model_seconds,
        )
    }
}

/// The classes of the driven graph, numbered in breadth-first order of their first edge.
struct Classes {
    ids: HashMap<String, u32>,
    /// Per class: (state id of its first edge, action of that edge).
    first: Vec<(u32, Action)>,
    /// Per state id: (parent id, action from the parent); the root has none.
    parent: Vec<Option<(u32, Action)>>,
}

/// The class of taking `a` in `s`, and the state it leads to.
fn class_of(config: &Config, s: &State, a: Action) -> (String, State) {
    let o = step(config, s, a);
    let e = Edge {
        action: a,
        result: o.result,
        to: 0,
    };
    (class_key(config, s, &e, &o.next), o.next)
}

fn offered(config: &Config, s: &State, out: &mut Vec<Action>) {
    out.clear();
    candidate_actions(config, s, out);
    out.retain(|&a| realised(a));
}

/// The model-only pass, stopped at `deadline`; `false` with it when cut short.
fn model_pass(config: &Config, opts: &Options, deadline: Option<Instant>) -> (Classes, bool) {
    let mut c = Classes {
        ids: HashMap::new(),
        first: Vec::new(),
        parent: vec![None],
    };
    let init = State::initial(config);
    let mut seen: HashMap<u64, u32> = HashMap::from([(fingerprint(&init), 0)]);
    let mut frontier = vec![(0u32, init)];
    let mut actions = Vec::new();
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for (id, s) in &frontier {
            if deadline.is_some_and(|d| Instant::now() > d) {
                return (c, false);
            }
            offered(config, s, &mut actions);
            for &a in &actions {
                let (key, next_state) = class_of(config, s, a);
                c.id(key, (*id, a));
                if next_state == *s {
                    continue;
                }
                let fp = fingerprint(&next_state);
                if !seen.contains_key(&fp) {
                    if opts.max_states.is_some_and(|m| seen.len() >= m) {
                        return (c, false);
                    }
                    let nid = c.parent.len() as u32;
                    seen.insert(fp, nid);
                    c.parent.push(Some((*id, a)));
                    next.push((nid, next_state));
                }
            }
        }
        frontier = next;
    }
    (c, true)
}

impl Classes {
    /// The actions from the initial state to state `id`.
    fn path_to(&self, id: u32) -> Vec<Action> {
        let mut out = Vec::new();
        let mut cur = id;
        while let Some((p, a)) = self.parent[cur as usize] {
            out.push(a);
            cur = p;
        }
        out.reverse();
        out
    }

    /// The class id of `key`, listing a class the (cut-short) model pass did not meet.
    fn id(&mut self, key: String, at: (u32, Action)) -> u32 {
        let n = self.first.len() as u32;
        let id = *self.ids.entry(key).or_insert(n);
        if id == n {
            self.first.push(at);
        }
        id
    }
}

/// Run the walks; the figures, and the first divergence if any.
pub fn cover_classes(
    config: &Config,
    opts: &Options,
) -> Result<(Report, Option<Box<Divergence>>), SetupError> {
    let start = Instant::now();
    let base = Lockstep::new(config, opts.seed)?;
    let driven = driven_config(config)?;
    // The model pass gets at most half the time: the walks need the rest, and they list
    // the classes the pass did not reach as they meet them.
    let (mut classes, complete) = model_pass(&driven, opts, opts.timeout.map(|t| start + t / 2));
    let mut report = Report {
        total_complete: complete,
        model_states: classes.parent.len(),
        model_seconds: start.elapsed().as_secs_f64(),
        ..Report::default()
    };
    let walks_start = Instant::now();
    let mut covered = vec![false; classes.first.len()];
    let done = |report: &mut Report, covered: &[bool], d: Option<Box<Divergence>>| {
        report.covered = covered.iter().filter(|&&c| c).count();
        report.total = covered.len();
        report.seconds = walks_start.elapsed().as_secs_f64();
        Ok((report.clone(), d))
    };
    if let Err(d) = base.check_initial() {
        return done(&mut report, &covered, Some(d));
    }
    let mut actions = Vec::new();
    while let Some(target) = covered.iter().position(|&c| !c) {
        if opts.timeout.is_some_and(|t| start.elapsed() > t) {
            report.cut = true;
            break;
        }
        report.walks += 1;
        let (at, a) = classes.first[target];
        let mut plan = classes.path_to(at);
        plan.push(a);
        let mut l = base.clone();
        // Along the plan, then greedily on while an uncovered class is offered.
        let mut i = 0;
        loop {
            let next = match plan.get(i) {
                Some(&a) => Some(a),
                None => {
                    offered(&driven, l.model(), &mut actions);
                    actions.iter().copied().find(|&a| {
                        let k = classes.ids.get(&class_of(&driven, l.model(), a).0);
                        !matches!(k, Some(&k) if covered[k as usize])
                    })
                }
            };
            let Some(a) = next else { break };
            let key = class_of(&driven, l.model(), a).0;
            let id = classes.id(key, (u32::MAX, a)) as usize;
            if id >= covered.len() {
                covered.resize(id + 1, false);
                report.total_complete = false;
            }
            report.actions += 1;
            if let Err(d) = l.step(a) {
                return done(&mut report, &covered, Some(d));
            }
            covered[id] = true;
            i += 1;
        }
        if !covered[target] {
            // Cannot happen while the model is deterministic: the plan ends on its edge.
            report.cut = true;
            break;
        }
    }
    done(&mut report, &covered, None)
}
