//! Exhaustive, level-synchronous breadth-first check of every property.
//!
//! Why not stateright's own BFS (0.31): it ignores symmetry, keeps the *last* discovery per
//! property (so counterexamples need not be shortest) and stops once every property has a
//! discovery. This checker walks the same state graph (the `stateright::Model` impl in
//! [`crate::explore`] uses the same rules), keeps the *first* discovery in BFS order, so every
//! path is a shortest one, evaluates every property on every state and accepted step, and says
//! plainly when it was cut short. Levels are expanded on several threads and merged in order,
//! so results do not depend on the thread count.

use crate::action::{Action, Refusal};
use crate::config::Config;
use crate::deadend;
use crate::properties::{self, Condition, Expectation, Observed, Property};
use crate::rules::{candidate_actions, step};
use crate::state::State;
use crate::symmetry;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

/// How to run a check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Visit one state per symmetry class (persons and phones permuted).
    pub symmetry: bool,
    /// Worker threads for expanding a BFS level.
    pub threads: usize,
    /// Stop (incomplete) after this many unique states.
    pub max_states: Option<usize>,
    /// Stop (incomplete) after this depth.
    pub max_depth: Option<usize>,
    /// Stop (incomplete) after this long.
    pub timeout: Option<Duration>,
    /// Explore only the offered actions this keeps (`None`: all): the subgraph a driver of
    /// the implementation can walk (conformance skips what it does not realise yet).
    pub only: Option<fn(Action) -> bool>,
    /// Draw progress on one updating line of standard error (states, states/s, level,
    /// memory, estimate).
    pub progress_line: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            symmetry: false,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            max_states: None,
            max_depth: None,
            timeout: None,
            only: None,
            progress_line: false,
        }
    }
}

/// Progress after each BFS level.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Progress {
    pub depth: usize,
    pub unique_states: usize,
    pub seconds: f64,
}

/// Verdict for one property.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyResult {
    pub name: String,
    pub expectation: Expectation,
    /// The expected verdict was obtained: no counterexample to an `always` property over a
    /// complete search, or an example of a `sometimes` property.
    pub holds: bool,
    /// The shortest counterexample (`always`) or example (`sometimes`), as actions from the
    /// initial state.
    pub path: Option<Vec<Action>>,
}

/// The word for one property's result; a cut-short run never turns into a failure without a
/// counterexample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// An `always` property with no counterexample in a complete search.
    Holds,
    /// An `always` property with a counterexample (the path shows it).
    Broken,
    /// A `sometimes` property with an example.
    Reached,
    /// A `sometimes` property with no example in a complete search.
    Unreached,
    /// No counterexample or example in the part explored, and the search was cut short.
    Undecided,
}

impl Verdict {
    /// The word printed for it.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Broken => "BROKEN",
            Verdict::Reached => "reached",
            Verdict::Unreached => "UNREACHED",
            Verdict::Undecided => "UNDECIDED",
        }
    }
}

impl PropertyResult {
    /// The result of `p` given its discovery, if any, and whether the search was complete.
    pub fn new(p: &Property, path: Option<Vec<Action>>, complete: bool) -> PropertyResult {
        let holds = match p.expectation {
            Expectation::Always => complete && path.is_none(),
            Expectation::Sometimes => path.is_some(),
        };
        PropertyResult {
            name: p.name.clone(),
            expectation: p.expectation,
            holds,
            path,
        }
    }

    /// The verdict, given whether the search was complete.
    pub fn verdict(&self, complete: bool) -> Verdict {
        match (self.expectation, self.path.is_some(), complete) {
            (Expectation::Always, true, _) => Verdict::Broken,
            (Expectation::Sometimes, true, _) => Verdict::Reached,
            (_, false, false) => Verdict::Undecided,
            (Expectation::Always, false, true) => Verdict::Holds,
            (Expectation::Sometimes, false, true) => Verdict::Unreached,
        }
    }
}

/// Why a search stopped before visiting every reachable state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cut {
    StateBudget,
    Depth,
    Timeout,
}

impl Cut {
    /// What stopped the search, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Cut::StateBudget => "stopped at the state budget (--max-states)",
            Cut::Depth => "stopped at the depth limit",
            Cut::Timeout => "stopped at the time limit (--timeout)",
        }
    }
}

/// The outcome of a check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckReport {
    /// Every reachable state was visited.
    pub complete: bool,
    pub cut: Option<Cut>,
    pub unique_states: usize,
    /// States generated, repeats included (edges that change the state).
    pub states: usize,
    pub max_depth: usize,
    pub seconds: f64,
    pub properties: Vec<PropertyResult>,
    /// How often each refusal was met on an edge.
    pub refusals: BTreeMap<String, usize>,
}

impl CheckReport {
    /// Complete, and every property got its expected verdict.
    pub fn passed(&self) -> bool {
        self.complete && self.properties.iter().all(|p| p.holds)
    }

    /// The result of the property whose ID (name up to the colon) is `id`.
    pub fn property(&self, id: &str) -> Option<&PropertyResult> {
        self.properties
            .iter()
            .find(|p| p.name.split(':').next() == Some(id))
    }
}

/// Deterministic 64-bit fingerprint of a state (std's SipHash with its fixed keys).
pub fn fingerprint(s: &State) -> u64 {
    #[allow(deprecated)]
    let mut h = std::hash::SipHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// States expanded between two merges (bounds the successors held at once).
const BATCH: usize = 1 << 15;

/// What expanding one state produced.
struct Expansion {
    /// Indices into the property list with a discovery at this state (state conditions).
    state_hits: Vec<usize>,
    /// (action, property index) discoveries on attempted steps.
    edge_hits: Vec<(Action, usize)>,
    /// Successors that differ from the state: action, canonical successor, fingerprint, and
    /// for a person's own action (INV-NO-DEAD-END) the phone renaming into the successor.
    next: Vec<(Action, State, u64, Option<u16>)>,
    refusals: Vec<Refusal>,
    /// The dead-end analysis' view of the state, when it runs.
    node: Option<deadend::NodeInfo>,
}

/// What the dead-end analysis needs from the search.
struct DeadEndGraph {
    nodes: Vec<deadend::NodeInfo>,
    edges: Vec<(u32, u32, u16)>,
}

fn expand(
    config: &Config,
    props: &[Property],
    open: &[bool],
    sym: bool,
    only: Option<fn(Action) -> bool>,
    dead_end: bool,
    state: &State,
) -> Expansion {
    let mut out = Expansion {
        state_hits: Vec::new(),
        edge_hits: Vec::new(),
        next: Vec::new(),
        refusals: Vec::new(),
        node: dead_end.then(|| deadend::node_info(config, state)),
    };
    for (i, p) in props.iter().enumerate() {
        if let (true, Condition::State(f)) = (open[i], p.condition) {
            let value = f(config, state);
            if value == (p.expectation == Expectation::Sometimes) {
                out.state_hits.push(i);
            }
        }
    }
    let mut actions = Vec::new();
    candidate_actions(config, state, &mut actions);
    if let Some(keep) = only {
        actions.retain(|&a| keep(a));
    }
    for a in actions {
        let o = step(config, state, a);
        let observed = Observed {
            config,
            before: state,
            action: a,
            result: o.result,
            after: &o.next,
        };
        for (i, p) in props.iter().enumerate() {
            if !open[i] {
                continue;
            }
            let hit = match p.condition {
                Condition::Step(f) => f(&observed) == (p.expectation == Expectation::Sometimes),
                Condition::Action(k) => o.result.is_ok() && a.kind() == k,
                Condition::State(_) | Condition::NoDeadEnd => false,
            };
            if hit {
                out.edge_hits.push((a, i));
            }
        }
        if let Err(r) = o.result {
            out.refusals.push(r);
        }
        if &o.next != state {
            let (next, map) = if sym {
                let (rep, perm) = symmetry::representative(&o.next);
                (rep, deadend::pack(&perm.phones))
            } else {
                (o.next, deadend::identity(config.phones))
            };
            let fp = fingerprint(&next);
            let own = (dead_end && deadend::is_own(&a)).then_some(map);
            out.next.push((a, next, fp, own));
        }
    }
    out
}

/// Run the check with every property that [`properties::for_config`] keeps.
pub fn check(
    config: &Config,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Progress),
) -> CheckReport {
    check_properties(config, opts, properties::for_config(config), progress)
}

/// Run the check for the given properties (on [`crate::engine`]).
pub fn check_properties(
    config: &Config,
    opts: &CheckOptions,
    props: Vec<Property>,
    progress: &mut dyn FnMut(Progress),
) -> CheckReport {
    crate::engine::run(config, opts, props, progress).0
}

/// The first checker: full states in a hash map of fingerprints, kept to compare the engine
/// against (`model/tests/engine.rs`).
pub fn check_properties_classic(
    config: &Config,
    opts: &CheckOptions,
    props: Vec<Property>,
    progress: &mut dyn FnMut(Progress),
) -> CheckReport {
    let start = Instant::now();
    // More workers than cores only add overhead (issue 16: `--threads 30000`).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = opts.threads.clamp(1, cores);
    // Limits hold within a level too: workers stop at the deadline (the batch is then
    // dropped, the search incomplete) and the state budget is checked at every new state.
    let deadline = opts.timeout.map(|t| start + t);
    let late = move || deadline.is_some_and(|d| Instant::now() > d);
    let init = {
        let s = State::initial(config);
        if opts.symmetry {
            symmetry::representative(&s).0
        } else {
            s
        }
    };
    // parent[id] = (parent id, action taken in the parent's stored state).
    let mut parent: Vec<(u32, Option<Action>)> = vec![(0, None)];
    let mut seen: HashMap<u64, u32> = HashMap::new();
    seen.insert(fingerprint(&init), 0);
    let mut found: Vec<Option<(u32, Option<Action>)>> = vec![None; props.len()];
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut frontier: Vec<(u32, State)> = vec![(0, init)];
    let mut dead = props
        .iter()
        .any(|p| matches!(p.condition, Condition::NoDeadEnd))
        .then(|| DeadEndGraph {
            nodes: Vec::new(),
            edges: Vec::new(),
        });
    let dead_end = dead.is_some();
    let mut depth = 0usize;
    let mut states = 1usize;
    let mut cut = None;

    'levels: while !frontier.is_empty() {
        if opts.max_depth.is_some_and(|d| depth > d) {
            cut = Some(Cut::Depth);
            break;
        }
        if opts.timeout.is_some_and(|t| start.elapsed() > t) {
            cut = Some(Cut::Timeout);
            break;
        }
        let open: Vec<bool> = found.iter().map(|f| f.is_none()).collect();
        let mut next_frontier = Vec::new();
        // Expand the level in batches, merged in order: results stay independent of the
        // thread count, and only one batch's successors are held before deduplication.
        for batch in frontier.chunks(BATCH) {
            let chunk = batch.len().div_ceil(threads).max(1);
            let expansions: Vec<Vec<Expansion>> = std::thread::scope(|scope| {
                let handles: Vec<_> = batch
                    .chunks(chunk)
                    .map(|part| {
                        let (props, open) = (&props, &open);
                        scope.spawn(move || {
                            part.iter()
                                .map_while(|(_, s)| {
                                    (!late()).then(|| {
                                        expand(
                                            config,
                                            props,
                                            open,
                                            opts.symmetry,
                                            opts.only,
                                            dead_end,
                                            s,
                                        )
                                    })
                                })
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("checker worker panicked"))
                    .collect()
            });
            if expansions.iter().map(Vec::len).sum::<usize>() < batch.len() {
                cut = Some(Cut::Timeout);
                break 'levels;
            }
            for ((id, _), exp) in batch.iter().zip(expansions.into_iter().flatten()) {
                for i in exp.state_hits {
                    found[i].get_or_insert((*id, None));
                }
                for (a, i) in exp.edge_hits {
                    found[i].get_or_insert((*id, Some(a)));
                }
                for r in exp.refusals {
                    *refusals.entry(r.name().to_string()).or_default() += 1;
                }
                if let (Some(d), Some(node)) = (dead.as_mut(), exp.node) {
                    if d.nodes.len() <= *id as usize {
                        d.nodes
                            .resize(*id as usize + 1, deadend::NodeInfo::default());
                    }
                    d.nodes[*id as usize] = node;
                }
                for (a, s, fp, own) in exp.next {
                    states += 1;
                    let to = match seen.entry(fp) {
                        std::collections::hash_map::Entry::Vacant(e) => {
                            if opts.max_states.is_some_and(|m| parent.len() >= m) {
                                cut = Some(Cut::StateBudget);
                                break 'levels;
                            }
                            let nid = parent.len() as u32;
                            e.insert(nid);
                            parent.push((*id, Some(a)));
                            next_frontier.push((nid, s));
                            nid
                        }
                        std::collections::hash_map::Entry::Occupied(e) => *e.get(),
                    };
                    if let (Some(d), Some(map)) = (dead.as_mut(), own) {
                        d.edges.push((*id, to, map));
                    }
                }
            }
        }
        if opts.max_states.is_some_and(|m| parent.len() > m) {
            cut = Some(Cut::StateBudget);
            break;
        }
        frontier = next_frontier;
        if !frontier.is_empty() {
            depth += 1;
        }
        progress(Progress {
            depth,
            unique_states: parent.len(),
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let complete = cut.is_none();
    // INV-NO-DEAD-END: only over a complete graph (a cut graph strands its frontier).
    if let (true, Some(d)) = (complete, dead.as_mut()) {
        d.nodes.resize(parent.len(), deadend::NodeInfo::default());
        let lifted = deadend::lifted(config);
        let canon = |s: State| {
            if opts.symmetry {
                symmetry::representative(&s).0
            } else {
                s
            }
        };
        let state = |id: u32, replays: &mut deadend::Replays| {
            replays.state(
                id,
                |i| parent[i as usize].1.map(|_| parent[i as usize].0),
                || canon(State::initial(config)),
                |s, i| canon(step(config, s, parent[i as usize].1.expect("a child")).next),
            )
        };
        let find = |t: &State| {
            let (stored, map) = deadend::stored_form(t, opts.symmetry, config.phones);
            seen.get(&fingerprint(&stored)).map(|&id| (id, map))
        };
        // The first checker, the engine's reference: one thread, no time limit.
        let walk = deadend::Lifted {
            config: &lifted,
            state: &state,
            find: &find,
            threads: 1,
            deadline: None,
            progress: &|_, _| {},
        };
        if let deadend::Stranded::At(id, _phone) =
            deadend::stranded(&d.nodes, &d.edges, config.phones, Some(walk))
        {
            for (i, p) in props.iter().enumerate() {
                if matches!(p.condition, Condition::NoDeadEnd) {
                    found[i].get_or_insert((id, None));
                }
            }
        }
    }
    let properties = props
        .iter()
        .zip(&found)
        .map(|(p, f)| {
            let path = f.map(|(id, last)| {
                let mut stored = stored_path(&parent, id);
                stored.extend(last);
                if opts.symmetry {
                    symmetry::concrete_path(config, &stored)
                } else {
                    stored
                }
            });
            PropertyResult::new(p, path, complete)
        })
        .collect();
    CheckReport {
        complete,
        cut,
        unique_states: parent.len(),
        states,
        max_depth: depth,
        seconds: start.elapsed().as_secs_f64(),
        properties,
        refusals,
    }
}

/// The actions from the initial state to state `id`, each taken in the stored state before
/// it (`parent[id]` = parent id and the action taken there).
fn stored_path(parent: &[(u32, Option<Action>)], id: u32) -> Vec<Action> {
    let mut stored = Vec::new();
    let mut cur = id;
    while let (pid, Some(a)) = parent[cur as usize] {
        stored.push(a);
        cur = pid;
    }
    stored.reverse();
    stored
}

/// A replayed run: each state (the initial one first) with the result of the step into it.
pub type Trace = Vec<(State, Result<(), Refusal>)>;

/// Replay actions from the initial state, returning the states visited (initial included) and
/// each step's result; `Err(index)` if an action is not offered where it is taken.
pub fn replay(config: &Config, actions: &[Action]) -> Result<Trace, usize> {
    let mut s = State::initial(config);
    let mut out = vec![(s.clone(), Ok(()))];
    for (i, &a) in actions.iter().enumerate() {
        if !crate::rules::is_offered(config, &s, a) {
            return Err(i);
        }
        let o = step(config, &s, a);
        s = o.next;
        out.push((s.clone(), o.result));
    }
    Ok(out)
}
