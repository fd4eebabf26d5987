//! Conformance through a [`Sut`]: the model decides which actions to ask and compares each
//! answer (outcome class, and every fact the system gives) with its own next state. The same
//! modes as in process: kept cases, random sequences (shrunk on divergence), one case per
//! edge class, every edge (with snapshots when the system has them, else a reset and the
//! spanning-tree path to each state). Divergences are [`crate::lockstep::Divergence`]s, the
//! same report as in process.

use super::client::{DriverError, Sut};
use crate::exhaustive::Coverage;
use crate::lockstep::{Divergence, FieldDiff, Mismatch};
use crate::random::SplitMix;
use phone_jpki_model::trace::Observed;
use phone_jpki_model::{candidate_actions, step, Action, Config, Refusal, State};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

/// A run's outcome: a divergence or nothing (errors of the driver itself are `Err`).
pub type Checked<T> = Result<Result<T, Box<Divergence>>, DriverError>;

/// The model and a system under test, side by side.
pub struct Driven<'a> {
    config: Config,
    seed: u64,
    sut: &'a mut dyn Sut,
    /// The driver's name and version (from `reset`).
    pub identity: String,
    /// Whether it has snapshots.
    pub snapshots: bool,
    /// Refusals the model gave on the actions asked (and the system agreed).
    pub refusals: BTreeSet<Refusal>,
    /// Actions asked.
    pub actions: usize,
    /// Random sequences started.
    pub sequences: usize,
}

/// The model's offered actions that conformance drives: the realised subgraph, as in process
/// ([`crate::lockstep::realised`]; the report names what is skipped).
fn offered(config: &Config, s: &State) -> Vec<Action> {
    let mut v = Vec::new();
    candidate_actions(config, s, &mut v);
    v.retain(|a| crate::lockstep::realised(*a));
    v
}

impl<'a> Driven<'a> {
    /// Reset the system once and learn its identity.
    pub fn start(config: &Config, seed: u64, sut: &'a mut dyn Sut) -> Result<Self, DriverError> {
        let hello = sut.reset(config, seed)?;
        Ok(Driven {
            config: config.clone(),
            seed,
            sut,
            identity: hello.driver,
            snapshots: hello.snapshots,
            refusals: BTreeSet::new(),
            actions: 0,
            sequences: 0,
        })
    }

    fn reset(&mut self) -> Result<(), DriverError> {
        self.sut.reset(&self.config, self.seed).map(|_| ())
    }

    /// Ask `a` in model state `s` (reached by `path`); the model's next state, or the
    /// divergence.
    pub fn check(&mut self, s: &State, path: &[Action], a: Action) -> Checked<State> {
        let mut actions = path.to_vec();
        actions.push(a);
        let report = |mismatch, model: String, system: Option<String>, diff| {
            Box::new(Divergence {
                actions: actions.clone(),
                mismatch,
                model_outcome: model,
                impl_outcome: system,
                diff,
            })
        };
        if !offered(&self.config, s).contains(&a) {
            return Ok(Err(report(
                Mismatch::NotOffered,
                "not offered".into(),
                None,
                vec![],
            )));
        }
        let o = step(&self.config, s, a);
        let expected = Observed::from(o.result);
        let answer = self.sut.step(a)?;
        self.actions += 1;
        let said = match &answer.note {
            Some(n) => format!("{} ({n})", answer.outcome),
            None => answer.outcome.to_string(),
        };
        let diff: Vec<FieldDiff> = answer
            .facts
            .mismatches(&self.config, &o.next)
            .into_iter()
            .map(|m| FieldDiff {
                path: m.fact,
                model: m.expected,
                implementation: m.observed,
            })
            .collect();
        if answer.outcome != expected {
            return Ok(Err(report(
                Mismatch::Outcome,
                expected.to_string(),
                Some(said),
                diff,
            )));
        }
        if !diff.is_empty() {
            return Ok(Err(report(
                Mismatch::State,
                expected.to_string(),
                Some(said),
                diff,
            )));
        }
        if let Err(r) = o.result {
            self.refusals.insert(r);
        }
        Ok(Ok(o.next))
    }

    /// From a reset, ask `actions` in order.
    pub fn sequence(&mut self, actions: &[Action]) -> Checked<()> {
        self.reset()?;
        let mut s = State::initial(&self.config);
        for (i, &a) in actions.iter().enumerate() {
            match self.check(&s, &actions[..i], a)? {
                Ok(next) => s = next,
                Err(d) => return Ok(Err(d)),
            }
        }
        Ok(Ok(()))
    }

    /// `sequences` random sequences of at most `max_len` offered actions (chosen as in
    /// process: an index into the offered list sorted simple first); a divergence is shrunk
    /// by dropping actions while it still diverges. Returns the actions asked.
    pub fn random(&mut self, sequences: usize, max_len: usize) -> Checked<usize> {
        let mut rng = SplitMix(self.seed);
        let before = self.actions;
        for _ in 0..sequences {
            self.sequences += 1;
            self.reset()?;
            let mut s = State::initial(&self.config);
            let mut path = Vec::new();
            for _ in 0..max_len {
                let mut o = offered(&self.config, &s);
                if o.is_empty() {
                    break;
                }
                o.sort();
                let a = o[rng.next_u64() as usize % o.len()];
                match self.check(&s, &path, a)? {
                    Ok(next) => s = next,
                    Err(d) => return Ok(Err(self.shrink(d)?)),
                }
                path.push(a);
            }
        }
        Ok(Ok(self.actions - before))
    }

    /// Drop actions from a diverging sequence while what is left is still offered all the
    /// way and still diverges.
    fn shrink(&mut self, d: Box<Divergence>) -> Result<Box<Divergence>, DriverError> {
        let mut best = d;
        let mut i = 0;
        while i + 1 < best.actions.len() {
            let mut shorter = best.actions.clone();
            shorter.remove(i);
            if self.all_offered(&shorter) {
                if let Err(d) = self.sequence(&shorter)? {
                    if d.mismatch != Mismatch::NotOffered {
                        best = d;
                        continue;
                    }
                }
            }
            i += 1;
        }
        Ok(best)
    }

    fn all_offered(&self, actions: &[Action]) -> bool {
        let mut s = State::initial(&self.config);
        for &a in actions {
            if !offered(&self.config, &s).contains(&a) {
                return false;
            }
            s = step(&self.config, &s, a).next;
        }
        true
    }

    /// Every edge of the reachable model graph, depth-first: each state's offered actions
    /// asked from that state (restored from a snapshot, or reached again by a reset and its
    /// path). The same counts as [`crate::exhaustive::cover`].
    pub fn exhaustive(
        &mut self,
        max_states: Option<usize>,
        timeout: Option<Duration>,
    ) -> Checked<Coverage> {
        let start = Instant::now();
        self.reset()?;
        let root = State::initial(&self.config);
        let root_snap = if self.snapshots {
            Some(self.sut.snapshot()?)
        } else {
            None
        };
        let mut visited: HashSet<State> = HashSet::from([root.clone()]);
        let mut stack: Vec<(State, Vec<Action>, Option<String>)> = vec![(root, vec![], root_snap)];
        let mut c = Coverage {
            states: 1,
            ..Coverage::default()
        };
        let mut limited = false;
        while let Some((s, path, snap)) = stack.pop() {
            if timeout.is_some_and(|t| start.elapsed() > t)
                || max_states.is_some_and(|m| c.states >= m)
            {
                limited = true;
                break;
            }
            let mut children = Vec::new();
            for a in offered(&self.config, &s) {
                match &snap {
                    Some(id) => self.sut.restore(id)?,
                    None => {
                        self.reset()?;
                        let mut t = State::initial(&self.config);
                        for &p in &path {
                            self.sut.step(p)?;
                            self.actions += 1;
                            t = step(&self.config, &t, p).next;
                        }
                        debug_assert!(t == s);
                    }
                }
                let next = match self.check(&s, &path, a)? {
                    Ok(n) => n,
                    Err(d) => return Ok(Err(d)),
                };
                if next == s {
                    c.refused_unchanged += 1;
                    continue;
                }
                c.edges += 1;
                if visited.insert(next.clone()) {
                    c.states += 1;
                    let snap = if self.snapshots {
                        Some(self.sut.snapshot()?)
                    } else {
                        None
                    };
                    let mut p = path.clone();
                    p.push(a);
                    children.push((next, p, snap));
                }
            }
            children.reverse();
            stack.extend(children);
        }
        c.actions = c.edges + c.refused_unchanged;
        c.complete = !limited;
        c.seconds = start.elapsed().as_secs_f64();
        Ok(Ok(c))
    }
}
