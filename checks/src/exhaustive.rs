//! Model-guided edge coverage: every reachable model state, every action the model offers
//! there, driven on the implementation and compared.
//!
//! The model is explored depth-first along a spanning tree; each discovered state keeps the
//! lockstep pair (a `System` clone: a full snapshot) that reached it, so every edge costs one
//! snapshot clone and one action on each side, never a replay of the path. Pending snapshots
//! are bounded by depth × branching. Worker threads share the work stack and the visited set.

use crate::lockstep::{Divergence, Lockstep, SetupError};
use phone_jpki_model::{Config, State};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Figures of an exhaustive run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Coverage {
    /// Model states visited (each mapped-compared with the implementation).
    pub states: usize,
    /// Edges (offered actions that changed the model state) driven and compared.
    pub edges: usize,
    /// Offered actions refused by the model without a state change, driven and compared.
    pub refused_unchanged: usize,
    /// Actions run on each side (edges + refused_unchanged).
    pub actions: usize,
    /// Whether the whole reachable graph was covered (no limit hit, no divergence).
    pub complete: bool,
    /// Wall time.
    pub seconds: f64,
    /// Offered actions skipped because the implementation does not realise them yet, per
    /// action kind (edges of the model graph this run does not cover, said so in the report).
    pub skipped: std::collections::BTreeMap<String, usize>,
}

impl Coverage {
    /// Model actions per second.
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.actions as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// Options of an exhaustive run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads.
    pub threads: usize,
    /// Stop (incomplete) after this many states.
    pub max_states: Option<usize>,
    /// Stop (incomplete) after this long.
    pub timeout: Option<Duration>,
    /// Implementation seed.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: 1,
            max_states: None,
            timeout: None,
            seed: 0,
        }
    }
}

struct Shared {
    stack: Mutex<Vec<Lockstep>>,
    visited: Mutex<HashSet<State>>,
    busy: AtomicUsize,
    stop: AtomicBool,
    states: AtomicUsize,
    edges: AtomicUsize,
    refused: AtomicUsize,
    divergence: Mutex<Option<Box<Divergence>>>,
    skipped: Mutex<std::collections::BTreeMap<String, usize>>,
}

/// Cover every edge of `config`'s reachable model graph; the first divergence stops the run.
pub fn cover(
    config: &Config,
    opts: &Options,
) -> Result<(Coverage, Option<Box<Divergence>>), SetupError> {
    let root = Lockstep::new(config, opts.seed)?;
    let start = Instant::now();
    if let Err(d) = root.check_initial() {
        return Ok((Coverage::default(), Some(d)));
    }
    let shared = Shared {
        visited: Mutex::new(HashSet::from([root.model().clone()])),
        stack: Mutex::new(vec![root]),
        busy: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        states: AtomicUsize::new(1),
        edges: AtomicUsize::new(0),
        refused: AtomicUsize::new(0),
        divergence: Mutex::new(None),
        skipped: Mutex::new(Default::default()),
    };
    let limited = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..opts.threads.max(1))
            .map(|_| scope.spawn(|| worker(&shared, opts, start, &limited)))
            .collect();
        // Progress on one updating line while the workers run (only on a terminal).
        let mut line = crate::progress::Line::new("conform exhaustive");
        while !workers.iter().all(|w| w.is_finished()) {
            line.show(&format!(
                "{} states, {} edges, {:.0} s",
                shared.states.load(Ordering::Relaxed),
                shared.edges.load(Ordering::Relaxed),
                start.elapsed().as_secs_f64()
            ));
            std::thread::sleep(Duration::from_millis(200));
        }
        line.done();
    });
    let divergence = shared
        .divergence
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let edges = shared.edges.load(Ordering::Relaxed);
    let refused = shared.refused.load(Ordering::Relaxed);
    let coverage = Coverage {
        states: shared.states.load(Ordering::Relaxed),
        edges,
        refused_unchanged: refused,
        actions: edges + refused,
        complete: divergence.is_none() && !limited.load(Ordering::Relaxed),
        seconds: start.elapsed().as_secs_f64(),
        skipped: shared
            .skipped
            .into_inner()
            .unwrap_or_else(|e| e.into_inner()),
    };
    Ok((coverage, divergence))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn worker(shared: &Shared, opts: &Options, start: Instant, limited: &AtomicBool) {
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let next = {
            let mut stack = lock(&shared.stack);
            let item = stack.pop();
            if item.is_some() {
                shared.busy.fetch_add(1, Ordering::SeqCst);
            }
            item
        };
        let Some(node) = next else {
            if shared.busy.load(Ordering::SeqCst) == 0 && lock(&shared.stack).is_empty() {
                return;
            }
            std::thread::sleep(Duration::from_micros(200));
            continue;
        };
        if opts.timeout.is_some_and(|t| start.elapsed() > t)
            || opts
                .max_states
                .is_some_and(|m| shared.states.load(Ordering::Relaxed) >= m)
        {
            limited.store(true, Ordering::Relaxed);
            shared.stop.store(true, Ordering::Relaxed);
            shared.busy.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        let mut children = Vec::new();
        let unrealised = node.unrealised();
        if !unrealised.is_empty() {
            let mut skipped = lock(&shared.skipped);
            for a in unrealised {
                *skipped.entry(a.kind().name().to_string()).or_default() += 1;
            }
        }
        for action in node.offered() {
            let mut l = node.clone();
            if let Err(d) = l.step(action) {
                let mut slot = lock(&shared.divergence);
                if slot.is_none() {
                    *slot = Some(d);
                }
                shared.stop.store(true, Ordering::Relaxed);
                break;
            }
            if l.model() == node.model() {
                shared.refused.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            shared.edges.fetch_add(1, Ordering::Relaxed);
            let mut visited = lock(&shared.visited);
            if !visited.contains(l.model()) {
                // The state budget holds at every new state, not only per expanded node.
                if opts
                    .max_states
                    .is_some_and(|m| shared.states.load(Ordering::Relaxed) >= m)
                {
                    limited.store(true, Ordering::Relaxed);
                    shared.stop.store(true, Ordering::Relaxed);
                    break;
                }
                visited.insert(l.model().clone());
                shared.states.fetch_add(1, Ordering::Relaxed);
                children.push(l);
            }
        }
        // Depth-first: children go on top (reversed, so the first offered is expanded first).
        children.reverse();
        lock(&shared.stack).extend(children);
        shared.busy.fetch_sub(1, Ordering::SeqCst);
    }
}
