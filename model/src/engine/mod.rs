//! The checker's engine: a level-synchronous breadth-first search that keeps full states only
//! in the frontier, and those packed ([`pack`]); every visited state is a 64-bit fingerprint,
//! a parent id and an action index ([`visited`]), and a shortest path is rebuilt by replaying
//! those indices ([`path`]). A level is expanded in batches on several threads and merged in
//! frontier order, so ids, first discoveries and paths do not depend on the thread count.
//! Limits are enforced within a level: the state budget at the state that exceeds it, the
//! time limit between batches.
//!
//! It decides exactly what [`crate::check`]'s first checker decided (tests in
//! `model/tests/engine.rs` compare both on several worlds and policies).

#[cfg(feature = "distributed")]
pub mod distributed;
pub(crate) mod graph;
pub mod pack;
pub mod path;
pub mod progress;
mod props;
pub mod visited;

use crate::action::{Action, Refusal};
use crate::check::{CheckOptions, CheckReport, Cut, Progress, PropertyResult};
use crate::config::Config;
use crate::deadend;
use crate::properties::{Condition, Observed, Property};
use crate::rules::{candidate_actions, step};
use crate::state::State;
use crate::symmetry;
use pack::Arena;
use props::{Hit, Open};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;
use visited::Visited;

/// Frontier states expanded by one thread between two merges.
const BATCH_PER_THREAD: usize = 1 << 13;

/// A successor found by a worker: fingerprint, position of its parent in the batch, the
/// parent's candidate-action index, end of its packed bytes in the worker's arena.
struct Succ {
    fp: u64,
    parent: u32,
    action: u16,
    /// A person's own action (INV-NO-DEAD-END): the phone renaming into the successor.
    own: Option<u16>,
    end: u32,
}

/// What one worker produced for its part of a batch.
#[derive(Default)]
struct Out {
    succs: Vec<Succ>,
    bytes: Vec<u8>,
    /// (position in the part, discovery), in expansion order.
    hits: Vec<(u32, Hit)>,
    /// Refusals met, by discriminant.
    refusals: Refusals,
    /// Edges that change the state.
    generated: usize,
    /// Candidate actions stepped (refusals and self-loops included).
    steps: usize,
    /// The dead-end analysis' view of each expanded state, in order (when it runs).
    nodes: Vec<deadend::NodeInfo>,
}

/// Refusal counts indexed by the refusal's discriminant.
#[derive(Default)]
struct Refusals(Vec<Option<(Refusal, usize)>>);

impl Refusals {
    fn add(&mut self, r: Refusal, n: usize) {
        let i = r as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, None);
        }
        self.0[i].get_or_insert((r, 0)).1 += n;
    }
}

/// Figures of the engine's memory and work, for the benchmarks.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Memory {
    /// Candidate actions stepped, refusals and self-loops included: what stateright counts
    /// as generated states (its `next_state` of our model answers every candidate).
    pub steps: usize,
    /// Heap bytes of the visited set at the end.
    pub visited_bytes: usize,
    /// The largest frontier's packed bytes (a BFS level).
    pub peak_frontier_bytes: usize,
    /// The largest frontier's state count.
    pub peak_frontier_states: usize,
    /// INV-NO-DEAD-END's graph at its largest, measured: the forward adjacency and what the
    /// analysis held beside it (0 when the property is not checked).
    pub dead_end_bytes: usize,
}

/// What every expansion of one search shares.
#[derive(Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub config: &'a Config,
    pub sym: bool,
    /// Explore only the candidate actions this keeps ([`CheckOptions::only`]).
    pub only: Option<fn(Action) -> bool>,
    /// INV-NO-DEAD-END is checked: record the analysis' view of each state.
    pub dead_end: bool,
}

/// The candidate actions of `state` that the search explores (in the order their indices
/// refer to).
pub(crate) fn actions_of(
    config: &Config,
    only: Option<fn(Action) -> bool>,
    state: &State,
    out: &mut Vec<Action>,
) {
    candidate_actions(config, state, out);
    if let Some(keep) = only {
        out.retain(|&a| keep(a));
    }
}

fn expand_part(ctx: Ctx, open: &Open, frontier: &Arena, range: std::ops::Range<usize>) -> Out {
    let Ctx { config, sym, .. } = ctx;
    let mut out = Out::default();
    let mut actions = Vec::new();
    let mut scratch = Vec::with_capacity(128);
    for (pos, i) in range.enumerate() {
        let packed = frontier.get(i);
        let state = pack::unpack(packed);
        let pos = pos as u32;
        for &(p, f, hit_when) in &open.states {
            if f(config, &state) == hit_when {
                out.hits.push((pos, (p, None)));
            }
        }
        if ctx.dead_end {
            out.nodes.push(deadend::node_info(config, &state));
        }
        actions.clear();
        actions_of(config, ctx.only, &state, &mut actions);
        out.steps += actions.len();
        for (ai, &a) in actions.iter().enumerate() {
            let o = step(config, &state, a);
            let ai16 = u16::try_from(ai).expect("more than 65535 candidate actions");
            if !open.steps.is_empty() {
                let observed = Observed {
                    config,
                    before: &state,
                    action: a,
                    result: o.result,
                    after: &o.next,
                };
                for &(p, f, hit_when) in &open.steps {
                    if f(&observed) == hit_when {
                        out.hits.push((pos, (p, Some(ai16))));
                    }
                }
            }
            match o.result {
                Ok(()) => {
                    for &p in &open.actions[a.kind() as usize] {
                        out.hits.push((pos, (p, Some(ai16))));
                    }
                }
                Err(r) => out.refusals.add(r, 1),
            }
            // A self-loop (most refusals) is no successor: told by comparing the states, which
            // costs less than packing the copy (measured: packing every attempted step's
            // state was a sixth of the search).
            if o.next == state {
                continue;
            }
            scratch.clear();
            let own = ctx.dead_end && deadend::is_own(&a);
            let map = if sym {
                let (rep, perm) = symmetry::representative(&o.next);
                pack::pack_into(&rep, &mut scratch);
                own.then(|| deadend::pack(&perm.phones))
            } else {
                pack::pack_into(&o.next, &mut scratch);
                own.then(|| deadend::identity(config.phones))
            };
            out.generated += 1;
            out.bytes.extend_from_slice(&scratch);
            out.succs.push(Succ {
                fp: pack::fingerprint(&scratch),
                parent: pos,
                action: ai16,
                own: map,
                end: u32::try_from(out.bytes.len()).expect("a batch's successors exceed 4 GiB"),
            });
        }
    }
    out
}

/// Expand `range` of the frontier on `threads` threads; the parts in order.
fn expand_batch(
    ctx: Ctx,
    open: &Open,
    frontier: &Arena,
    range: std::ops::Range<usize>,
    threads: usize,
) -> Vec<(usize, Out)> {
    let chunk = range.len().div_ceil(threads).max(1);
    let parts: Vec<std::ops::Range<usize>> = (range.start..range.end)
        .step_by(chunk)
        .map(|s| s..(s + chunk).min(range.end))
        .collect();
    if parts.len() <= 1 {
        return parts
            .into_iter()
            .map(|r| (r.start, expand_part(ctx, open, frontier, r)))
            .collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|r| scope.spawn(move || (r.start, expand_part(ctx, open, frontier, r))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("checker worker panicked"))
            .collect()
    })
}

/// INV-NO-DEAD-END over the complete graph `g` of the states in `visited` (ids in BFS
/// order): the first state, in id order, with a phone whose holder cannot reach its goal,
/// the bounds lifted ([`deadend`]); its searches on `opts.threads` threads, cut at `deadline`.
pub(crate) fn stranded_state(
    config: &Config,
    opts: &CheckOptions,
    g: &mut graph::Graph,
    visited: &Visited,
    deadline: Option<Instant>,
) -> deadend::Stranded {
    let sym = opts.symmetry;
    let lifted = deadend::lifted(config);
    let state = |id, replays: &mut deadend::Replays| {
        path::replay_state(config, sym, opts.only, visited, id, replays)
    };
    let find = |t: &State| {
        let (stored, map) = deadend::stored_form(t, sym, config.phones);
        visited
            .get(pack::fingerprint(&pack::pack(&stored)))
            .map(|id| (id, map))
    };
    let (start, line) = (
        Instant::now(),
        Mutex::new(progress::Line::new(opts.progress_line)),
    );
    let progress = |done, states| {
        if let Ok(mut line) = line.try_lock() {
            line.analysis(done, states, start);
        }
    };
    let walk = deadend::Lifted {
        config: &lifted,
        state: &state,
        find: &find,
        threads: worker_threads(opts),
        deadline,
        progress: &progress,
    };
    let stranded = g.stranded(visited.len(), config.phones, Some(walk));
    if let Ok(mut line) = line.lock() {
        line.finish();
    }
    stranded
}

/// Worker threads for `opts`: more than cores only add overhead (issue 16: `--threads 30000`).
fn worker_threads(opts: &CheckOptions) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    opts.threads.clamp(1, cores)
}

/// A world by name, for benchmarks and scripts: `reference`, `deep`, `single`, `new-phone`,
/// `storyline`, or `wide` (the reference world with 4 phone certs and 2 detours: a person can
/// move both kinds to a new phone).
pub fn named_world(name: &str) -> Option<Config> {
    Some(match name {
        "reference" => Config::reference(),
        "deep" => Config::deep(),
        "single" => Config::single(),
        "new-phone" => Config::new_phone(),
        "storyline" => Config::storyline(),
        "wide" => Config {
            max_certs: Some(4),
            max_events: Some(2),
            ..Config::reference()
        },
        _ => return None,
    })
}

/// Run the check for the given properties (what [`crate::check::check_properties`] calls).
pub fn run(
    config: &Config,
    opts: &CheckOptions,
    props: Vec<Property>,
    progress: &mut dyn FnMut(Progress),
) -> (CheckReport, Memory) {
    let start = Instant::now();
    let threads = worker_threads(opts);
    let sym = opts.symmetry;
    let dead_end = props
        .iter()
        .any(|p| matches!(p.condition, Condition::NoDeadEnd));
    let mut graph = dead_end.then(|| graph::Graph::new(config.phones, sym));
    let ctx = Ctx {
        config,
        sym,
        only: opts.only,
        dead_end,
    };
    let init = {
        let s = State::initial(config);
        if sym {
            symmetry::representative(&s).0
        } else {
            s
        }
    };
    let packed_init = pack::pack(&init);
    let mut visited = Visited::new();
    let root = visited.insert(pack::fingerprint(&packed_init), 0, 0);
    debug_assert_eq!(root, Ok(0));
    let mut frontier = Arena::default();
    frontier.push(&packed_init);
    // First discovery per property: state id and, for edges, the candidate-action index.
    let mut found: Vec<Option<(u32, Option<u16>)>> = vec![None; props.len()];
    let mut refusals = Refusals::default();
    let mut memory = Memory::default();
    let mut line = progress::Line::new(opts.progress_line);
    let (mut depth, mut states, mut level_start) = (0usize, 1usize, 0u32);
    let mut cut = None;

    'levels: while !frontier.is_empty() {
        if opts.max_depth.is_some_and(|d| depth > d) {
            cut = Some(Cut::Depth);
            break;
        }
        memory.peak_frontier_bytes = memory.peak_frontier_bytes.max(frontier.heap_bytes());
        memory.peak_frontier_states = memory.peak_frontier_states.max(frontier.len());
        let open_flags: Vec<bool> = found.iter().map(|f| f.is_none()).collect();
        let open = Open::new(&props, &open_flags);
        let mut next = Arena::default();
        let batch = BATCH_PER_THREAD * threads;
        let mut begin = 0;
        while begin < frontier.len() {
            if opts.timeout.is_some_and(|t| start.elapsed() > t) {
                cut = Some(Cut::Timeout);
                break 'levels;
            }
            let end = (begin + batch).min(frontier.len());
            for (first, out) in expand_batch(ctx, &open, &frontier, begin..end, threads) {
                let base = level_start + first as u32;
                memory.steps += out.steps;
                if let Some(g) = graph.as_mut() {
                    out.nodes.into_iter().for_each(|n| g.node(n));
                }
                for (pos, (p, a)) in out.hits {
                    found[p as usize].get_or_insert((base + pos, a));
                }
                for &(r, n) in out.refusals.0.iter().flatten() {
                    refusals.add(r, n);
                }
                let mut from = 0usize;
                for s in &out.succs {
                    let bytes = &out.bytes[from..s.end as usize];
                    from = s.end as usize;
                    // Counted per successor, so the figures do not depend on batch sizes;
                    // the budget counts unique states: a new one beyond it stops the search.
                    states += 1;
                    if opts.max_states.is_some_and(|m| visited.len() >= m)
                        && visited.get(s.fp).is_none()
                    {
                        cut = Some(Cut::StateBudget);
                        break 'levels;
                    }
                    let parent = base + s.parent;
                    let inserted = visited.insert(s.fp, parent, usize::from(s.action));
                    if let (Some(g), Some(map)) = (graph.as_mut(), s.own) {
                        g.edge(parent, inserted.unwrap_or_else(|id| id), map);
                    }
                    if inserted.is_ok() {
                        next.push(bytes);
                    }
                }
            }
            begin = end;
            line.show(depth, visited.len(), begin, frontier.len(), start);
        }
        level_start += frontier.len() as u32;
        frontier = next;
        if !frontier.is_empty() {
            depth += 1;
        }
        progress(Progress {
            depth,
            unique_states: visited.len(),
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    line.finish();
    memory.visited_bytes = visited.heap_bytes();
    // INV-NO-DEAD-END: only over a complete graph (a cut graph strands its frontier). An
    // analysis cut by the time limit leaves the run cut short, every `always` undecided.
    if let Some(g) = graph.as_mut() {
        if cut.is_none() {
            let deadline = opts.timeout.map(|t| start + t);
            match stranded_state(config, opts, g, &visited, deadline) {
                deadend::Stranded::At(id, _) => {
                    for (i, p) in props.iter().enumerate() {
                        if matches!(p.condition, Condition::NoDeadEnd) {
                            found[i].get_or_insert((id, None));
                        }
                    }
                }
                deadend::Stranded::Cut => cut = Some(Cut::Timeout),
                deadend::Stranded::None => {}
            }
        }
        memory.dead_end_bytes = g.peak_bytes();
    }
    let complete = cut.is_none();
    let properties = props
        .iter()
        .zip(&found)
        .map(|(p, f)| {
            let path = f.map(|(id, last)| {
                path::path_to(config, sym, opts.only, &visited, id, last.map(usize::from))
            });
            PropertyResult::new(p, path, complete)
        })
        .collect();
    let refusals: BTreeMap<String, usize> = refusals
        .0
        .iter()
        .flatten()
        .map(|(r, n)| (r.name().to_string(), *n))
        .collect();
    let report = CheckReport {
        complete,
        cut,
        unique_states: visited.len(),
        states,
        max_depth: depth,
        seconds: start.elapsed().as_secs_f64(),
        properties,
        refusals,
    };
    (report, memory)
}
