//! The check on timely dataflow, across worker threads and processes: every state belongs to
//! the worker `fingerprint % workers`; each BFS level is one round of timely time in which
//! every worker expands the states it owns and sends each successor to its owner, which keeps
//! the first one it has not seen. Each round every worker also tells every other its figures
//! (level size, edges, refusals, its discoveries), so all decide the same things at the same
//! round: which properties are still open, when the search ends. A shortest path is rebuilt
//! afterwards by walking parent references from owner to owner, one hop per round, and
//! replayed on process 0.
//!
//! INV-NO-DEAD-END is decided on the whole graph: each worker records the analysis' view of
//! the states it expands and the persons' own-action edges out of them, and after a complete
//! search sends them, with its visited states' parents and levels, to worker 0, which numbers
//! the states in BFS order (level, then fingerprint) and runs the single-process analysis
//! ([`super::stranded_state`]). Process 0 therefore holds the whole graph for this property,
//! as one process does; the search itself stays spread.
//!
//! Verdicts, state counts, depth and path lengths equal the single-process check's (test in
//! `tests/distributed.rs`); the path chosen among the shortest may differ.

mod dead_end;

use super::pack::{self, Arena};
use super::props::Open;
use super::{expand_part, Out, Refusals};
use crate::action::Refusal;
use crate::check::{CheckOptions, CheckReport, Cut, PropertyResult};
use crate::config::Config;
use crate::properties::Condition;
use dead_end::{dead_end_on_whole_graph, gather_graph, GraphPart};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Instant;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::{Exchange, Input, Inspect, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Where this process stands among the others.
#[derive(Clone, Debug)]
pub struct Cluster {
    /// `host:port` of every process, process 0 first.
    pub hosts: Vec<String>,
    pub process: usize,
    /// Worker threads per process.
    pub threads: usize,
}

/// Read a hosts file: one `host:port` per line (blank lines and `#` comments skipped).
pub fn read_hosts(path: &std::path::Path) -> Result<Vec<String>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--hosts {}: {e}", path.display()))?;
    let mut hosts = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && p.parse::<u16>().is_ok() => {
                hosts.push(line.to_string())
            }
            _ => {
                return Err(format!(
                    "--hosts {} line {}: expected host:port, got {line:?}",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    if hosts.is_empty() {
        return Err(format!("--hosts {}: no host:port line", path.display()));
    }
    Ok(hosts)
}

/// One message between workers; `to` routes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Msg {
    /// A successor for its owner: fingerprint, parent's fingerprint, action index, packed.
    Cand {
        fp: u64,
        parent: u64,
        action: u16,
        bytes: Vec<u8>,
    },
    /// One worker's figures for a round, sent to every worker.
    Stat { to: u64, stat: Stat },
    /// A path being walked back: the discovery's property, the state reached so far, the
    /// action indices collected (last first).
    Walk {
        to: u64,
        prop: u32,
        fp: u64,
        steps: Vec<u16>,
    },
    /// Part of one worker's share of the graph, for INV-NO-DEAD-END on worker 0.
    Graph { to: u64, part: GraphPart },
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Stat {
    /// States this worker expands in this round (its share of the level).
    level: u64,
    generated: u64,
    refusals: Vec<(Refusal, u64)>,
    /// (property, state fingerprint, action index): this worker's least discovery per
    /// property in this round.
    hits: Vec<(u32, u64, Option<u16>)>,
    /// Worker 0 only: stop after this round (time limit).
    stop: bool,
}

/// The input every worker sends its messages into, with the round they belong to.
type Feed = InputHandle<u64, CapacityContainerBuilder<Vec<(u64, Msg)>>>;

/// A worker's visited states: fingerprint -> (parent's fingerprint, action index, level).
type Owned = HashMap<u64, (u64, u16, u32)>;

/// A discovery: level of the state, its fingerprint, the action index for edges.
type Found = (u64, u64, Option<u16>);

/// Run the check across the cluster; process 0 returns the report, the others `None`.
pub fn run(
    config: &Config,
    opts: &CheckOptions,
    cluster: &Cluster,
) -> Result<Option<CheckReport>, String> {
    let config = config.clone();
    let timely_config = timely::Config {
        communication: if cluster.hosts.len() == 1 {
            timely::CommunicationConfig::Process(cluster.threads.max(1))
        } else {
            timely::CommunicationConfig::Cluster {
                threads: cluster.threads.max(1),
                process: cluster.process,
                addresses: cluster.hosts.clone(),
                report: false,
                zerocopy: false,
            }
        },
        worker: timely::WorkerConfig::default(),
    };
    let opts = opts.clone();
    let guards = timely::execute(timely_config, move |worker| {
        worker_main(worker, &config, &opts)
    })?;
    let mut report = None;
    for r in guards.join() {
        if let Some(r) = r.map_err(|e| format!("timely worker: {e}"))? {
            report = Some(r);
        }
    }
    Ok(report)
}

fn worker_main(
    worker: &mut timely::worker::Worker,
    config: &Config,
    opts: &CheckOptions,
) -> Option<CheckReport> {
    let start = Instant::now();
    let me = worker.index() as u64;
    let peers = worker.peers() as u64;
    let owner = move |fp: u64| fp % peers;
    let mut input: Feed = InputHandle::new();
    let probe = ProbeHandle::new();
    // Messages with the round they were sent in: a faster worker's next round may arrive
    // before this round is complete everywhere.
    let inbox: Rc<RefCell<Vec<(u64, Msg)>>> = Rc::new(RefCell::new(Vec::new()));
    {
        let inbox = inbox.clone();
        worker.dataflow(|scope| {
            scope
                .input_from(&mut input)
                .exchange(move |(_, m): &(u64, Msg)| match m {
                    Msg::Cand { fp, .. } => fp % peers,
                    Msg::Stat { to, .. } | Msg::Walk { to, .. } | Msg::Graph { to, .. } => *to,
                })
                .inspect(move |m: &(u64, Msg)| inbox.borrow_mut().push(m.clone()))
                .probe_with(&probe);
        });
    }
    let mut round = 0u64;
    let mut exchange = |input: &mut Feed, worker: &mut timely::worker::Worker| {
        round += 1;
        input.advance_to(round);
        while probe.less_than(input.time()) {
            worker.step();
        }
        let (now, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *inbox.borrow_mut())
            .into_iter()
            .partition(|(r, _)| *r < round);
        *inbox.borrow_mut() = later;
        now.into_iter().map(|(_, m)| m).collect::<Vec<Msg>>()
    };

    let props = crate::properties::for_config(config);
    let dead_end = props
        .iter()
        .any(|p| matches!(p.condition, Condition::NoDeadEnd));
    // This worker's share of INV-NO-DEAD-END's graph, by fingerprint.
    let mut mine_graph = GraphPart::default();
    let sym = opts.symmetry;
    let init = {
        let s = crate::state::State::initial(config);
        if sym {
            crate::symmetry::representative(&s).0
        } else {
            s
        }
    };
    let packed_init = pack::pack(&init);
    let init_fp = pack::fingerprint(&packed_init);
    // Owned visited states: fingerprint -> (parent fingerprint, action index, level).
    let mut visited: Owned = HashMap::new();
    let mut frontier = Arena::default();
    if owner(init_fp) == me {
        visited.insert(init_fp, (init_fp, 0, 0));
        frontier.push(&packed_init);
    }
    let mut found: Vec<Option<Found>> = vec![None; props.len()];
    let (mut unique, mut generated, mut depth, mut level) = (0u64, 1u64, 0usize, 0u64);
    let mut refusals = Refusals::default();
    let mut cut = None;
    let mut line = super::progress::Line::new(opts.progress_line);
    loop {
        // Past the depth limit the level is only counted, not expanded (as in one process).
        let beyond = opts.max_depth.is_some_and(|d| depth > d);
        let open_flags: Vec<bool> = found.iter().map(Option::is_none).collect();
        let open = Open::new(&props, &open_flags);
        let out = if beyond {
            Out::default()
        } else {
            expand_part(
                super::Ctx {
                    config,
                    sym,
                    only: opts.only,
                    dead_end,
                },
                &open,
                &frontier,
                0..frontier.len(),
            )
        };
        // Fingerprints of the frontier, for the discoveries' and successors' parents.
        let fps: Vec<u64> = (0..frontier.len())
            .map(|i| pack::fingerprint(frontier.get(i)))
            .collect();
        let mut mine: BTreeMap<u32, (u64, Option<u16>)> = BTreeMap::new();
        for (pos, (p, a)) in &out.hits {
            let hit = (fps[*pos as usize], *a);
            let e = mine.entry(*p).or_insert(hit);
            *e = (*e).min(hit);
        }
        if dead_end {
            mine_graph
                .nodes
                .extend(fps.iter().copied().zip(out.nodes.iter().copied()));
            mine_graph.edges.extend(
                out.succs
                    .iter()
                    .filter_map(|s| s.own.map(|map| (fps[s.parent as usize], s.fp, map))),
            );
        }
        let mut from = 0usize;
        for s in &out.succs {
            let bytes = out.bytes[from..s.end as usize].to_vec();
            from = s.end as usize;
            let now = *input.time();
            input.send((
                now,
                Msg::Cand {
                    fp: s.fp,
                    parent: fps[s.parent as usize],
                    action: s.action,
                    bytes,
                },
            ));
        }
        let stat = Stat {
            level: frontier.len() as u64,
            generated: out.generated as u64,
            refusals: out
                .refusals
                .0
                .iter()
                .flatten()
                .map(|(r, n)| (*r, *n as u64))
                .collect(),
            hits: mine.into_iter().map(|(p, (fp, a))| (p, fp, a)).collect(),
            stop: me == 0 && opts.timeout.is_some_and(|t| start.elapsed() > t),
        };
        for to in 0..peers {
            let now = *input.time();
            input.send((
                now,
                Msg::Stat {
                    to,
                    stat: stat.clone(),
                },
            ));
        }
        let received = exchange(&mut input, worker);
        // Everyone's figures for this round, the same on every worker.
        let mut level_size = 0u64;
        let mut stop = false;
        let mut cands = Vec::new();
        for m in received {
            match m {
                Msg::Stat { stat, .. } => {
                    level_size += stat.level;
                    generated += stat.generated;
                    stop |= stat.stop;
                    for (r, n) in stat.refusals {
                        refusals.add(r, n as usize);
                    }
                    for (p, fp, a) in stat.hits {
                        let hit = (level, fp, a);
                        let f = &mut found[p as usize];
                        if f.is_none_or(|old| hit < old) {
                            *f = Some(hit);
                        }
                    }
                }
                Msg::Cand {
                    fp,
                    parent,
                    action,
                    bytes,
                } => cands.push((fp, parent, action, bytes)),
                Msg::Walk { .. } | Msg::Graph { .. } => {}
            }
        }
        unique += level_size;
        if me == 0 && level_size > 0 {
            // Worker 0 reports each level: the updating line on a terminal, else a line per
            // level, as one process's `check` prints.
            if opts.progress_line {
                line.show(level as usize, unique as usize, 1, 1, start);
            } else {
                eprintln!(
                    "depth {level:3}  {unique:>10} states  {:.1} s",
                    start.elapsed().as_secs_f64()
                );
            }
        }
        if beyond {
            cut = Some(Cut::Depth);
            break;
        }
        // Keep the least candidate per new fingerprint: independent of arrival order.
        cands.sort_unstable_by_key(|a| (a.0, a.1, a.2));
        cands.dedup_by_key(|c| c.0);
        let mut next = Arena::default();
        for (fp, parent, action, bytes) in cands {
            if let std::collections::hash_map::Entry::Vacant(e) = visited.entry(fp) {
                e.insert((parent, action, level as u32 + 1));
                next.push(&bytes);
            }
        }
        frontier = next;
        if level_size == 0 {
            // The level was empty: the search is over (the previous level was the last).
            break;
        }
        if stop {
            cut = Some(Cut::Timeout);
            break;
        }
        if opts.max_states.is_some_and(|m| unique as usize > m) {
            cut = Some(Cut::StateBudget);
            break;
        }
        level += 1;
        // The next level's size is known only next round: an empty one ends the search
        // there, so a complete search's deepest level is one less (below).
        depth = level as usize;
    }
    let max_depth = if cut.is_none() {
        depth.saturating_sub(1)
    } else {
        depth
    };
    let paths = walk_paths(
        worker,
        &mut input,
        &mut exchange,
        &found,
        &visited,
        init_fp,
        me,
    );
    line.finish();
    if me == 0 && dead_end && cut.is_none() {
        eprintln!(
            "search done in {:.1} s; INV-NO-DEAD-END: the graph gathered on process 0, then analysed",
            start.elapsed().as_secs_f64()
        );
    }
    // INV-NO-DEAD-END, over the complete graph only (a cut graph strands its frontier).
    let stranded = if dead_end && cut.is_none() {
        let parts = gather_graph(worker, &mut input, &mut exchange, &visited, mine_graph);
        let deadline = opts.timeout.map(|t| start + t);
        (me == 0).then(|| dead_end_on_whole_graph(config, opts, init_fp, parts, deadline))
    } else {
        None
    };
    if me != 0 {
        return None;
    }
    // An analysis cut by the time limit leaves the run cut short, every `always` undecided.
    let stranded = match stranded {
        Some(Err(c)) => {
            cut = Some(c);
            None
        }
        Some(Ok(path)) => path,
        None => None,
    };
    let complete = cut.is_none();
    let properties = props
        .iter()
        .zip(&found)
        .enumerate()
        .map(|(i, (p, f))| {
            if matches!(p.condition, Condition::NoDeadEnd) {
                return PropertyResult::new(p, stranded.clone(), complete);
            }
            let path = f.map(|(_, _, last)| {
                let mut steps: Vec<usize> = paths[&(i as u32)]
                    .iter()
                    .rev()
                    .map(|&a| usize::from(a))
                    .collect();
                steps.extend(last.map(usize::from));
                super::path::replay_to_path(config, sym, opts.only, &steps)
            });
            PropertyResult::new(p, path, complete)
        })
        .collect();
    Some(CheckReport {
        complete,
        cut,
        unique_states: unique as usize,
        states: generated as usize,
        max_depth,
        seconds: start.elapsed().as_secs_f64(),
        properties,
        refusals: refusals
            .0
            .iter()
            .flatten()
            .map(|(r, n)| (r.name().to_string(), *n))
            .collect(),
    })
}

/// Walk every discovery's parent chain back to the initial state, one hop per round; worker
/// 0 receives each property's action indices (last first).
fn walk_paths(
    worker: &mut timely::worker::Worker,
    input: &mut Feed,
    exchange: &mut impl FnMut(&mut Feed, &mut timely::worker::Worker) -> Vec<Msg>,
    found: &[Option<Found>],
    visited: &Owned,
    init_fp: u64,
    me: u64,
) -> BTreeMap<u32, Vec<u16>> {
    let peers = worker.peers() as u64;
    let rounds = found
        .iter()
        .flatten()
        .map(|f| f.0)
        .max()
        .map_or(0, |l| l + 2);
    let mut walking: Vec<(u32, u64, Vec<u16>)> = if me == 0 {
        found
            .iter()
            .enumerate()
            .filter_map(|(p, f)| f.map(|(_, fp, _)| (p as u32, fp, Vec::new())))
            .collect()
    } else {
        Vec::new()
    };
    let mut done = BTreeMap::new();
    for _ in 0..rounds {
        for (prop, fp, steps) in walking.drain(..) {
            // A walk that reached the initial state goes to worker 0.
            let to = if fp == init_fp { 0 } else { fp % peers };
            let now = *input.time();
            input.send((
                now,
                Msg::Walk {
                    to,
                    prop,
                    fp,
                    steps,
                },
            ));
        }
        for m in exchange(input, worker) {
            let Msg::Walk {
                prop,
                fp,
                mut steps,
                ..
            } = m
            else {
                continue;
            };
            if fp == init_fp {
                if me == 0 {
                    done.insert(prop, steps);
                } else {
                    walking.push((prop, fp, steps));
                }
                continue;
            }
            let (parent, action, _) = visited[&fp];
            steps.push(action);
            walking.push((prop, parent, steps));
        }
    }
    done
}
