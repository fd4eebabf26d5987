//! Golden vectors: traces that together take every edge of a configuration's state graph at
//! least once, accepted and refused alike, so that another team can check its system against
//! the model without Rust (`phone-jpki vectors export`).
//!
//! An *edge* is a pair (reachable state, action the model offers there): every
//! `candidate_actions` entry of every reachable state, whether it is accepted, refused, changes
//! the state or not. The cases are walks from the initial state found by a greedy cover: a
//! case goes down the BFS tree to the first state with an edge not yet taken, then keeps taking
//! untaken edges (those that leave the state unchanged first), moving to a nearby state with
//! untaken edges when the current one has none, until it finds none close by or reaches
//! [`MAX_STEPS`]. Each step carries the facts it changed (cert statuses, slots, pushes); the
//! last step carries every fact. Each case names the R-IDs of the action kinds whose edges it
//! covers first, and the scenario and risk properties (SCN-*, RISK-*) it reaches.

use crate::action::{Action, ActionKind, Refusal};
use crate::config::Config;
use crate::properties::{self, Condition, Expectation};
use crate::rules::{candidate_actions, step};
use crate::state::State;
use crate::trace::{self, Facts, Header, Step, TraceConfig};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Steps per case at most (keeps files a readable size).
pub const MAX_STEPS: usize = 4000;

/// States a case searches around its end for an untaken edge before it stops.
const LOCAL_SEARCH: usize = 512;

/// One edge of the state graph.
#[derive(Clone, Copy, Debug)]
pub struct Edge {
    /// The action offered.
    pub action: Action,
    /// The model's answer.
    pub result: Result<(), Refusal>,
    /// The state it leads to (itself when nothing changed).
    pub to: u32,
}

/// The reachable state graph of a configuration, states numbered in BFS order.
pub struct Graph {
    /// States by id (0 = initial).
    pub states: Vec<State>,
    /// Edges of each state, in `candidate_actions` order.
    pub edges: Vec<Vec<Edge>>,
    /// BFS tree: the parent and the index of the edge from it (none for the initial state).
    pub parent: Vec<Option<(u32, u32)>>,
}

impl Graph {
    /// Explore every reachable state (no symmetry reduction).
    pub fn explore(config: &Config) -> Graph {
        let init = State::initial(config);
        let mut ids: HashMap<State, u32> = HashMap::new();
        ids.insert(init.clone(), 0);
        let mut g = Graph {
            states: vec![init],
            edges: Vec::new(),
            parent: vec![None],
        };
        let mut actions = Vec::new();
        let mut i = 0usize;
        while i < g.states.len() {
            actions.clear();
            candidate_actions(config, &g.states[i], &mut actions);
            let mut out = Vec::with_capacity(actions.len());
            for (j, &a) in actions.iter().enumerate() {
                let o = step(config, &g.states[i], a);
                let to = match ids.get(&o.next) {
                    Some(&t) => t,
                    None => {
                        let t = g.states.len() as u32;
                        ids.insert(o.next.clone(), t);
                        g.states.push(o.next);
                        g.parent.push(Some((i as u32, j as u32)));
                        t
                    }
                };
                out.push(Edge {
                    action: a,
                    result: o.result,
                    to,
                });
            }
            g.edges.push(out);
            i += 1;
        }
        g
    }

    /// The refusals met on the edges of each action kind.
    pub fn refusals(&self) -> BTreeMap<ActionKind, BTreeSet<Refusal>> {
        let mut out: BTreeMap<ActionKind, BTreeSet<Refusal>> = BTreeMap::new();
        for e in self.edges.iter().flatten() {
            let set = out.entry(e.action.kind()).or_default();
            if let Err(r) = e.result {
                set.insert(r);
            }
        }
        out
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edges.iter().map(Vec::len).sum()
    }
}

/// Counts of one action kind's edges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KindCount {
    /// Accepted edges.
    pub accepted: usize,
    /// Refused edges, by refusal.
    pub refused: BTreeMap<String, usize>,
    /// Classes of its edges (each taken by some case).
    pub classes: usize,
}

/// One case in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseEntry {
    /// File name.
    pub file: String,
    /// Steps in it.
    pub steps: usize,
    /// Edge classes it is the first case to take.
    pub new_edges: usize,
    /// What it shows.
    pub description: String,
    /// Its R-IDs and property IDs.
    pub rids: Vec<String>,
}

/// Edge totals.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EdgeTotals {
    /// Every (state, offered action) pair.
    pub total: usize,
    /// Those that change the state.
    pub state_changing: usize,
    /// Those accepted.
    pub accepted: usize,
    /// Those refused.
    pub refused: usize,
    /// Distinct edges taken by some case (equal to `total` with `all-edges`).
    pub covered: usize,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize)]
pub struct Manifest {
    /// `phone-jpki-vectors/1`.
    pub format: String,
    /// The trace format of the cases.
    pub trace_format: String,
    /// The configuration.
    pub config: TraceConfig,
    /// What is covered.
    pub coverage: Coverage,
    /// What "every edge" means here.
    pub coverage_meaning: String,
    /// Classes to cover (equal to `edges.total` with `all-edges`); every one is covered.
    pub classes: usize,
    /// Reachable states.
    pub states: usize,
    /// Edge totals.
    pub edges: EdgeTotals,
    /// Number of case files.
    pub files: usize,
    /// Steps over all cases.
    pub steps: usize,
    /// Edges per action kind (each edge once).
    pub per_action: BTreeMap<String, KindCount>,
    /// Per R-ID or property ID (SCN-*, RISK-*): the cases naming it.
    pub per_rid: BTreeMap<String, usize>,
    /// The cases.
    pub cases: Vec<CaseEntry>,
}

/// The exported vectors: files (name, contents) and the manifest.
pub struct Export {
    /// Case files in order, then `manifest.json`.
    pub files: Vec<(String, String)>,
    /// The manifest (also the last file).
    pub manifest: Manifest,
}

/// What "every edge" means with [`Coverage::AllEdges`].
pub const COVERAGE_ALL: &str = "every edge of the configuration's reachable state graph (no \
symmetry reduction): every pair (reachable state, action the model offers there), accepted or \
refused, state-changing or not, is a step of at least one case taken in exactly that state";

struct Walk {
    steps: Vec<(u32, u32)>,
    new_edges: usize,
}

/// What a set of vectors must cover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coverage {
    /// Every edge (see [`COVERAGE_ALL`]).
    AllEdges,
    /// One edge of every edge class (see [`COVERAGE_CLASSES`]).
    EdgeClasses,
}

impl Coverage {
    /// What it means, for the manifest.
    pub fn meaning(self) -> &'static str {
        match self {
            Coverage::AllEdges => COVERAGE_ALL,
            Coverage::EdgeClasses => COVERAGE_CLASSES,
        }
    }
}

/// Class ids of every edge: each edge its own class, or by [`class_key`].
fn classes(config: &Config, g: &Graph, cov: Coverage) -> (Vec<Vec<u32>>, usize) {
    let mut next = 0u32;
    let mut ids: HashMap<String, u32> = HashMap::new();
    let out = g
        .edges
        .iter()
        .enumerate()
        .map(|(i, es)| {
            es.iter()
                .map(|e| {
                    let id = match cov {
                        Coverage::AllEdges => next,
                        Coverage::EdgeClasses => {
                            let key = class_key(config, &g.states[i], e, &g.states[e.to as usize]);
                            *ids.entry(key).or_insert(next)
                        }
                    };
                    if id == next {
                        next += 1;
                    }
                    id
                })
                .collect()
        })
        .collect();
    (out, next as usize)
}

/// The class of an edge: the action with persons and phones renamed as in the state's
/// symmetry representative, its outcome, the facts it changes (so renamed), and the
/// pre-state of what it acts on: the phone (its whole record, the status and owner of the
/// certs in its slots, its holder's card, the pushes to it), the person (card, live certs),
/// or the push (its target phone and slot).
pub fn class_key(config: &Config, s: &State, e: &Edge, next: &State) -> String {
    use crate::state::Holder;
    let (rep, perm) = crate::symmetry::representative(s);
    let a = perm.action(&e.action);
    let n = perm.state(next);
    let changed = Facts::changed(config, &rep, &n);
    let phone_view = |h: crate::PhoneId| {
        let ph = rep.phone(h);
        let holder = match ph.holder {
            Holder::Person(p) => Some(p),
            _ => None,
        };
        let certs: Vec<_> = ph
            .slots
            .iter()
            .filter_map(|sl| sl.serial())
            .map(|x| (rep.cert(x).status, Some(rep.cert(x).person) == holder))
            .collect();
        let card = holder.map(|p| *rep.person(p));
        let pushes: Vec<_> = rep.pushes.iter().filter(|p| p.phone == h).collect();
        format!("{ph:?} {certs:?} {card:?} {pushes:?}")
    };
    let local = match a {
        Action::CardRenew(p)
        | Action::CardRevoke(p)
        | Action::CardExpire(p)
        | Action::Suspend(p, _)
        | Action::RevokeWithCard(p, _) => {
            let live: Vec<_> = rep
                .registry
                .iter()
                .filter(|c| c.person == p && c.status.is_live())
                .map(|c| (c.kind, c.status, c.card_generation, phone_view(c.phone)))
                .collect();
            format!("{:?} {live:?}", rep.person(p))
        }
        Action::DeliverPush(x) | Action::DropPush(x) => {
            let push = rep.pushes.iter().find(|p| p.serial == x);
            format!(
                "{push:?} {}",
                push.map_or(String::new(), |p| phone_view(p.phone))
            )
        }
        Action::CertExpire(x) => {
            let c = rep.cert(x);
            format!("{c:?} {}", phone_view(c.phone))
        }
        Action::GoOffline(h)
        | Action::GoOnline(h)
        | Action::Lose(h)
        | Action::Find(h)
        | Action::Break(h)
        | Action::InstallApp(h)
        | Action::UninstallApp(h)
        | Action::InstallApplet(h)
        | Action::Use(h, ..)
        | Action::ChangePin(h, ..)
        | Action::InitPin(h, _)
        | Action::Resume(h, ..)
        | Action::Apply(h, _)
        | Action::GenerateKey(h)
        | Action::CaIssue(h)
        | Action::WriteCert(h)
        | Action::SetUserPin(h)
        | Action::AbandonIssuance(h)
        | Action::RevokeFromPhone(h, _)
        | Action::FactoryReset(h)
        | Action::HandOver(h, ..)
        | Action::Dispose(h, _)
        | Action::StrangerFinds(h)
        | Action::ReaderUse(h, ..)
        | Action::ReadAuthCert(h)
        | Action::ReadSignCert(h, _)
        | Action::SignOffline(h, _)
        | Action::EnrollFinger(h)
        | Action::BiometricUse(h)
        | Action::SimSwap(h)
        | Action::ApplyWithCode(h, ..) => format!("{} {:?}", phone_view(h), rep.threats),
        Action::PresentSignature(x) => format!("{:?} {:?}", rep.threats, rep.cert(x)),
    };
    format!(
        "{a:?} {:?} {} {local}",
        e.result,
        serde_json::to_string(&changed).unwrap_or_default()
    )
}

fn cover(g: &Graph, class: &[Vec<u32>], n_classes: usize) -> Vec<Walk> {
    // by_class[c] = the edges of class c; remaining[s] = edges of s whose class is not done.
    let mut by_class: Vec<Vec<(u32, u32)>> = vec![Vec::new(); n_classes];
    for (i, cs) in class.iter().enumerate() {
        for (j, &c) in cs.iter().enumerate() {
            by_class[c as usize].push((i as u32, j as u32));
        }
    }
    let mut done = vec![false; n_classes];
    let mut remaining: Vec<usize> = g.edges.iter().map(Vec::len).collect();
    let undone = |done: &[bool], s: u32, j: usize| !done[class[s as usize][j] as usize];
    let take =
        |from: u32, e: u32, walk: &mut Walk, done: &mut Vec<bool>, remaining: &mut Vec<usize>| {
            walk.steps.push((from, e));
            let c = class[from as usize][e as usize] as usize;
            if !done[c] {
                done[c] = true;
                walk.new_edges += 1;
                for &(s, _) in &by_class[c] {
                    remaining[s as usize] -= 1;
                }
            }
            g.edges[from as usize][e as usize].to
        };
    let mut walks = Vec::new();
    let mut scan = 0usize;
    loop {
        while scan < g.states.len() && remaining[scan] == 0 {
            scan += 1;
        }
        if scan == g.states.len() {
            break;
        }
        let mut walk = Walk {
            steps: Vec::new(),
            new_edges: 0,
        };
        // Down the BFS tree to the first state with an untaken edge.
        let mut path = Vec::new();
        let mut cur = scan as u32;
        while let Some((p, e)) = g.parent[cur as usize] {
            path.push((p, e));
            cur = p;
        }
        path.reverse();
        for &(p, e) in &path {
            cur = take(p, e, &mut walk, &mut done, &mut remaining);
        }
        while walk.steps.len() < MAX_STEPS {
            let es = &g.edges[cur as usize];
            // Untaken edges that leave the state as it is, all at once.
            for (j, e) in es.iter().enumerate() {
                if e.to == cur && undone(&done, cur, j) && walk.steps.len() < MAX_STEPS {
                    take(cur, j as u32, &mut walk, &mut done, &mut remaining);
                }
            }
            if let Some(j) = (0..es.len()).find(|&j| undone(&done, cur, j)) {
                cur = take(cur, j as u32, &mut walk, &mut done, &mut remaining);
                continue;
            }
            // Nothing left here: the nearest state with untaken edges, if close.
            match nearest_untaken(g, cur, &remaining) {
                Some(route) => {
                    for (p, e) in route {
                        cur = take(p, e, &mut walk, &mut done, &mut remaining);
                    }
                }
                None => break,
            }
        }
        walks.push(walk);
    }
    walks
}

fn nearest_untaken(g: &Graph, from: u32, remaining: &[usize]) -> Option<Vec<(u32, u32)>> {
    let mut prev: HashMap<u32, (u32, u32)> = HashMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(u) = queue.pop_front() {
        if u != from && remaining[u as usize] > 0 {
            let mut route = Vec::new();
            let mut v = u;
            while v != from {
                let (p, e) = prev[&v];
                route.push((p, e));
                v = p;
            }
            route.reverse();
            return Some(route);
        }
        if seen.len() > LOCAL_SEARCH {
            continue;
        }
        for (j, e) in g.edges[u as usize].iter().enumerate() {
            if seen.insert(e.to) {
                prev.insert(e.to, (u, j as u32));
                queue.push_back(e.to);
            }
        }
    }
    None
}

/// What [`Coverage::EdgeClasses`] covers.
pub const COVERAGE_CLASSES: &str = "every edge class of the configuration's reachable state \
graph: edges (reachable state, offered action) are in one class when they have the same action \
(persons and phones renamed as in the state's symmetry representative), the same outcome, \
the same changed facts, and the same pre-state of what the action acts on (the phone's whole \
record with the status and owner of the certs in its slots, its holder's card and the pushes \
to it; or the person's card and live certs; or the push and its target phone); at least one \
edge of every class is a step of some case, taken in that edge's state";

/// Export golden vectors for `config`.
pub fn export(config: &Config, cov: Coverage) -> Export {
    let g = Graph::explore(config);
    let (class, n_classes) = classes(config, &g, cov);
    let walks = cover(&g, &class, n_classes);
    let scn: Vec<_> = properties::for_config(config)
        .into_iter()
        .filter(|p| p.id().starts_with("SCN-") || p.id().starts_with("RISK-"))
        .collect();
    let mut files = Vec::new();
    let mut cases = Vec::new();
    let mut per_rid: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen_edges: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut class_seen = vec![false; n_classes];
    let width = walks.len().to_string().len().max(4);
    for (n, w) in walks.iter().enumerate() {
        let mut rids: BTreeSet<String> = BTreeSet::new();
        let (mut acc, mut refd) = (0usize, 0usize);
        let mut steps = Vec::with_capacity(w.steps.len());
        for (i, &(from, j)) in w.steps.iter().enumerate() {
            let e = g.edges[from as usize][j as usize];
            let before = &g.states[from as usize];
            let after = &g.states[e.to as usize];
            let first = !class_seen[class[from as usize][j as usize] as usize];
            class_seen[class[from as usize][j as usize] as usize] = true;
            seen_edges.insert((from, j));
            if first {
                rids.extend(e.action.kind().requirements().iter().map(|r| r.to_string()));
                match e.result {
                    Ok(()) => acc += 1,
                    Err(_) => refd += 1,
                }
            }
            for p in &scn {
                let hit = match (p.condition, p.expectation) {
                    (Condition::Step(f), Expectation::Sometimes) => f(&properties::Observed {
                        config,
                        before,
                        action: e.action,
                        result: e.result,
                        after,
                    }),
                    (Condition::State(f), Expectation::Sometimes) => f(config, after),
                    _ => false,
                };
                if hit {
                    rids.insert(p.id().to_string());
                }
            }
            let facts = if i + 1 == w.steps.len() {
                Facts::full(config, after)
            } else {
                Facts::changed(config, before, after)
            };
            steps.push(Step {
                action: e.action.into(),
                outcome: e.result.into(),
                facts,
                note: None,
            });
        }
        let file = format!("case-{:0width$}.jsonl", n + 1);
        let description = format!(
            "Case {}: {} steps from the initial state; first to take {} edges ({} accepted, {} refused); the last step lists every fact",
            n + 1,
            w.steps.len(),
            w.new_edges,
            acc,
            refd
        );
        let rids: Vec<String> = rids.into_iter().collect();
        for r in &rids {
            *per_rid.entry(r.clone()).or_default() += 1;
        }
        let header = Header {
            format: trace::TraceFormat::V2,
            config: TraceConfig::of(config),
            description: Some(description.clone()),
            rids: rids.clone(),
        };
        files.push((file.clone(), trace::write(&header, &steps)));
        cases.push(CaseEntry {
            file,
            steps: w.steps.len(),
            new_edges: w.new_edges,
            description,
            rids,
        });
    }
    let mut totals = EdgeTotals::default();
    let mut per_action: BTreeMap<String, KindCount> = BTreeMap::new();
    for (i, es) in g.edges.iter().enumerate() {
        for e in es {
            totals.total += 1;
            if e.to as usize != i {
                totals.state_changing += 1;
            }
            let k = per_action
                .entry(e.action.kind().name().to_string())
                .or_default();
            match e.result {
                Ok(()) => {
                    totals.accepted += 1;
                    k.accepted += 1;
                }
                Err(r) => {
                    totals.refused += 1;
                    *k.refused.entry(r.name().to_string()).or_default() += 1;
                }
            }
        }
    }
    totals.covered = seen_edges.len();
    let mut class_kind: BTreeMap<u32, ActionKind> = BTreeMap::new();
    for (i, cs) in class.iter().enumerate() {
        for (j, &c) in cs.iter().enumerate() {
            class_kind.entry(c).or_insert(g.edges[i][j].action.kind());
        }
    }
    for k in class_kind.values() {
        per_action.entry(k.name().to_string()).or_default().classes += 1;
    }
    let manifest = Manifest {
        format: "phone-jpki-vectors/1".into(),
        trace_format: trace::FORMAT.into(),
        config: TraceConfig::of(config),
        coverage: cov,
        coverage_meaning: cov.meaning().into(),
        classes: n_classes,
        states: g.states.len(),
        edges: totals,
        files: cases.len(),
        steps: cases.iter().map(|c| c.steps).sum(),
        per_action,
        per_rid,
        cases,
    };
    let mut m = serde_json::to_string_pretty(&manifest).unwrap_or_default();
    m.push('\n');
    files.push(("manifest.json".into(), m));
    Export { files, manifest }
}
