//! INV-NO-DEAD-END across processes: after a complete search every worker sends worker 0 its
//! share of the graph (its visited states' parents and levels, the analysis' view of the
//! states it expanded, the own-action edges out of them); worker 0 numbers the states in BFS
//! order and runs the one-process analysis ([`crate::engine::stranded_state`]).

use super::{Feed, Msg, Owned};
use crate::check::{CheckOptions, Cut};
use crate::config::Config;
use crate::deadend::{NodeInfo, Stranded};
use crate::engine::graph::Graph;
use crate::engine::visited::Visited;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Instant;

/// A worker's visited states (fingerprint, parent's fingerprint, action index, level), the
/// analysis' view of the states it expanded, and the own-action edges out of them (from, to,
/// phone renaming), in chunks.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct GraphPart {
    pub(super) states: Vec<(u64, u64, u16, u32)>,
    pub(super) nodes: Vec<(u64, NodeInfo)>,
    pub(super) edges: Vec<(u64, u64, u16)>,
}

/// Entries per graph message.
const GRAPH_CHUNK: usize = 1 << 16;

/// Send this worker's share of the graph to worker 0 (in one round, in chunks); worker 0
/// returns every worker's, the others nothing.
pub(super) fn gather_graph(
    worker: &mut timely::worker::Worker,
    input: &mut Feed,
    exchange: &mut impl FnMut(&mut Feed, &mut timely::worker::Worker) -> Vec<Msg>,
    visited: &Owned,
    mut mine: GraphPart,
) -> Vec<GraphPart> {
    mine.states = visited
        .iter()
        .map(|(&fp, &(parent, action, level))| (fp, parent, action, level))
        .collect();
    let chunks = mine
        .states
        .len()
        .max(mine.nodes.len())
        .max(mine.edges.len())
        .div_ceil(GRAPH_CHUNK)
        .max(1);
    for i in 0..chunks {
        let part = GraphPart {
            states: chunk(&mine.states, i),
            nodes: chunk(&mine.nodes, i),
            edges: chunk(&mine.edges, i),
        };
        let now = *input.time();
        input.send((now, Msg::Graph { to: 0, part }));
    }
    exchange(input, worker)
        .into_iter()
        .filter_map(|m| match m {
            Msg::Graph { part, .. } => Some(part),
            _ => None,
        })
        .collect()
}

/// The `i`th chunk of `v` (empty past its end).
fn chunk<T: Clone>(v: &[T], i: usize) -> Vec<T> {
    let from = (i * GRAPH_CHUNK).min(v.len());
    let to = ((i + 1) * GRAPH_CHUNK).min(v.len());
    v[from..to].to_vec()
}

/// INV-NO-DEAD-END on worker 0 over the gathered graph: the states numbered in BFS order
/// (level, then fingerprint: a parent before its children), the analysis of one process, and
/// the path to the first stranded state, if any; the analysis stops at `deadline`.
pub(super) fn dead_end_on_whole_graph(
    config: &Config,
    opts: &CheckOptions,
    init_fp: u64,
    parts: Vec<GraphPart>,
    deadline: Option<Instant>,
) -> Result<Option<Vec<crate::action::Action>>, Cut> {
    let mut states: Vec<(u32, u64, u64, u16)> = Vec::new();
    let mut nodes: HashMap<u64, NodeInfo> = HashMap::new();
    let mut edges: Vec<(u64, u64, u16)> = Vec::new();
    for part in parts {
        states.extend(
            part.states
                .into_iter()
                .map(|(fp, parent, action, level)| (level, fp, parent, action)),
        );
        nodes.extend(part.nodes);
        edges.extend(part.edges);
    }
    states.sort_unstable();
    let mut visited = Visited::new();
    for &(_, fp, parent, action) in &states {
        let parent_id = if fp == init_fp {
            0
        } else {
            visited
                .get(parent)
                .expect("a parent is one level up, numbered before its children")
        };
        let _ = visited.insert(fp, parent_id, usize::from(action));
    }
    let mut graph = Graph::new(config.phones, opts.symmetry);
    for &(_, fp, _, _) in &states {
        graph.node(nodes.get(&fp).copied().unwrap_or_default());
    }
    let id = |fp: u64| visited.get(fp).expect("every edge's states were visited");
    let mut numbered: Vec<(u32, u32, u16)> = edges
        .into_iter()
        .map(|(from, to, map)| (id(from), id(to), map))
        .collect();
    numbered.sort_unstable();
    for (from, to, map) in numbered {
        graph.edge(from, to, map);
    }
    match crate::engine::stranded_state(config, opts, &mut graph, &visited, deadline) {
        Stranded::None => Ok(None),
        Stranded::Cut => Err(Cut::Timeout),
        Stranded::At(stranded, _) => Ok(Some(crate::engine::path::path_to(
            config,
            opts.symmetry,
            opts.only,
            &visited,
            stranded,
            None,
        ))),
    }
}
