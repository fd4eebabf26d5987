//! Digest of the state graph of every world `model/tests/verdicts.rs` and
//! `model/tests/verdicts_threats.rs` check, for classifying the mutants those verdicts miss
//! (`scripts/mutants-classify`, issue 9). One line per world:
//!
//! `NAME states=N edges=M shape=HEX reasons=HEX`
//!
//! `shape` hashes, in BFS order, every reachable state (its fingerprint) and each edge that changes the state
//! (its action, whether it was accepted, the id of the state it leads to); `reasons` hashes
//! every edge that leaves the state as it was (its action and its answer: accepted, or the
//! refusal). Two rule sets with the same `shape` reach the same states by the same steps in
//! that world; if only `reasons` differs, they differ only in which actions are offered and
//! refused there and why (what the golden vectors pin, not the properties).
//!
//! `cargo run --profile mutants -p phone-jpki-model --example graph_digest -- [--against FILE]
//! [FILTER]` (FILTER: a part of the names, or `=NAME,NAME` for exact names): with `--against` (a file this program wrote), the worlds are digested in
//! order, two at a time, each compared with the file's line, stopping after the first whose
//! shape differs; the last line is `VERDICT shape WORLD`, `VERDICT reasons WORLD,...` or
//! `VERDICT same`.
//!
//! `graph_digest --edges-dump WORLD FILE` records every reachable state's edges (action,
//! answer, next state's fingerprint); `--edges-check WORLD FILE`, run by other rules, walks
//! the recorded graph along the edges on which both agree and counts the differences by kind,
//! each with its first instance: `VERDICT rule-accept` (an action accepted by one and refused
//! by the other, or accepted to another state), `rule-refusal` (only what a refusal leaves or
//! says), `offers-more` / `offers-less` / `offers-other` (only what actors may attempt), or
//! `same`.

use phone_jpki_model::check::fingerprint;
use phone_jpki_model::policy::{Alternative, Choice};
use phone_jpki_model::properties::for_config;
use phone_jpki_model::rules::{candidate_actions, step};
use phone_jpki_model::{Action, Config, PersonId, Refusal, State, Variant};
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};

/// The worlds the verdict tests check, by a stable name.
fn worlds() -> Vec<(String, Config)> {
    let mut out = Vec::new();
    // The single world has no detour budget: it is finite under the seeds' design and the
    // fault variants, not under every alternative.
    for (w, c, alternatives) in [
        ("reference", Config::reference(), true),
        ("single", Config::single(), false),
    ] {
        out.push((w.to_string(), c.clone()));
        for a in Alternative::ALL.into_iter().filter(|_| alternatives) {
            out.push((
                format!("{w}/{}", a.name()),
                c.clone().with_choice(Choice::Alternative(a)),
            ));
        }
        // A fault variant in the single world only where verdicts.rs checks it there (its
        // property is not listed for `reference`, or its counterexample takes two detours).
        for v in Variant::ALL
            .into_iter()
            .filter(|&v| alternatives || in_single(v))
        {
            out.push((format!("{w}/{}", v.name()), c.clone().with_variant(v)));
        }
    }
    out.push((
        "reference/pin-known-none".into(),
        Config {
            pin_known: Vec::new(),
            ..Config::reference()
        },
    ));
    out.push((
        "reference/pin-known-p1".into(),
        Config {
            pin_known: vec![PersonId(1)],
            ..Config::reference()
        },
    ));
    out
}

/// verdicts.rs's `world_for(v)` is the single world.
fn in_single(v: Variant) -> bool {
    let listed = for_config(&Config::reference())
        .iter()
        .any(|p| p.id() == v.breaks());
    !listed || v == Variant::OfflineProcedure
}

/// (states, edges, shape, reasons) of `config`'s reachable graph, from its recorded edges
/// (states by BFS id, so that two graphs compare by structure).
fn digest(config: &Config) -> (usize, usize, u64, u64) {
    let graph = record(config);
    let ids: HashMap<u64, u32> = graph
        .iter()
        .enumerate()
        .map(|(i, (fp, _))| (*fp, i as u32))
        .collect();
    let (mut shape, mut reasons) = (DefaultHasher::new(), DefaultHasher::new());
    let mut edges = 0usize;
    for (fp, out) in &graph {
        fp.hash(&mut shape);
        for (a, result, to) in out {
            if to == fp {
                a.hash(&mut reasons);
                result.hash(&mut reasons);
            } else {
                a.hash(&mut shape);
                result.is_ok().hash(&mut shape);
                ids[to].hash(&mut shape);
            }
            edges += 1;
        }
    }
    (graph.len(), edges, shape.finish(), reasons.finish())
}

fn line(name: &str, c: &Config) -> String {
    let (n, m, shape, reasons) = digest(c);
    format!("{name} states={n} edges={m} shape={shape:016x} reasons={reasons:016x}")
}

/// One recorded edge: the action, the answer, the fingerprint of the state it leads to.
type Recorded = (Action, Result<(), Refusal>, u64);

/// Every reachable state's fingerprint and its edges, in BFS order.
fn record(config: &Config) -> Vec<(u64, Vec<Recorded>)> {
    let init = State::initial(config);
    let mut seen = HashSet::from([fingerprint(&init)]);
    let mut frontier = VecDeque::from([init]);
    let mut out = Vec::new();
    let mut actions = Vec::new();
    while let Some(s) = frontier.pop_front() {
        actions.clear();
        candidate_actions(config, &s, &mut actions);
        let mut edges = Vec::with_capacity(actions.len());
        for &a in &actions {
            let o = step(config, &s, a);
            let to = fingerprint(&o.next);
            if seen.insert(to) {
                frontier.push_back(o.next);
            }
            edges.push((a, o.result, to));
        }
        out.push((fingerprint(&s), edges));
    }
    out
}

/// How these rules differ from recorded ones on the recorded graph, walked from the initial
/// state along the edges on which both agree: per kind of difference, the number of edges (or
/// states, for the offers) and the first one met.
#[derive(Default)]
struct Differences {
    /// Accepted by one and refused by the other.
    acceptance: (usize, String),
    /// Accepted by both, to different states.
    accepted_next: (usize, String),
    /// Refused by both, leaving different states (a retry counter).
    refused_next: (usize, String),
    /// Refused by both, for different reasons.
    reason: (usize, String),
    /// States where a recorded offer is not offered.
    offers_less: (usize, String),
    /// States with an offer the recorded rules do not make.
    offers_more: (usize, String),
}

fn note(d: &mut (usize, String), what: impl FnOnce() -> String) {
    d.0 += 1;
    if d.1.is_empty() {
        d.1 = what();
    }
}

fn compare(config: &Config, recorded: &HashMap<u64, Vec<Recorded>>) -> Result<Differences, String> {
    let init = State::initial(config);
    let mut seen = HashSet::from([fingerprint(&init)]);
    let mut frontier = VecDeque::from([(init, 0usize)]);
    let mut d = Differences::default();
    let mut mine = Vec::new();
    while let Some((s, depth)) = frontier.pop_front() {
        let Some(theirs) = recorded.get(&fingerprint(&s)) else {
            return Err("the initial state differs".into());
        };
        mine.clear();
        candidate_actions(config, &s, &mut mine);
        if let Some((a, ..)) = theirs.iter().find(|(a, ..)| !mine.contains(a)) {
            note(&mut d.offers_less, || format!("{a} at depth {depth}"));
        }
        if let Some(a) = mine.iter().find(|a| !theirs.iter().any(|(b, ..)| b == *a)) {
            note(&mut d.offers_more, || format!("{a} at depth {depth}"));
        }
        for &(a, result, to) in theirs {
            let o = step(config, &s, a);
            let now = fingerprint(&o.next);
            let at = || format!("{a} at depth {depth}: {result:?} -> {:?}", o.result);
            match (result.is_ok(), o.result.is_ok()) {
                (true, false) | (false, true) => note(&mut d.acceptance, at),
                (true, true) if now != to => note(&mut d.accepted_next, at),
                (false, false) if now != to => note(&mut d.refused_next, at),
                (false, false) if o.result != result => note(&mut d.reason, at),
                _ => {}
            }
            if now == to && seen.insert(now) {
                frontier.push_back((o.next, depth + 1));
            }
        }
    }
    Ok(d)
}

/// `--edges-dump WORLD FILE` / `--edges-check WORLD FILE`.
fn edges_mode(mode: &str, world: &str, file: &str) {
    let Some((_, config)) = worlds().into_iter().find(|(n, _)| n == world) else {
        eprintln!("graph_digest: unknown world {world:?}");
        std::process::exit(2);
    };
    if mode == "--edges-dump" {
        let bytes = postcard::to_allocvec(&record(&config)).expect("edges serialise");
        let tmp = format!("{file}.part");
        if let Err(e) = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, file)) {
            eprintln!("graph_digest: cannot write {file}: {e}");
            std::process::exit(2);
        }
        return;
    }
    let recorded: Vec<(u64, Vec<Recorded>)> = match std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|b| postcard::from_bytes(&b).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("graph_digest: cannot read edges from {file}: {e}");
            std::process::exit(2);
        }
    };
    let recorded: HashMap<u64, Vec<Recorded>> = recorded.into_iter().collect();
    let d = match compare(&config, &recorded) {
        Ok(d) => d,
        Err(e) => {
            println!("VERDICT rule-accept {e}");
            return;
        }
    };
    for (what, x) in [
        ("acceptance", &d.acceptance),
        ("accepted-next", &d.accepted_next),
        ("refused-next", &d.refused_next),
        ("reason", &d.reason),
        ("offers-less", &d.offers_less),
        ("offers-more", &d.offers_more),
    ] {
        if x.0 > 0 {
            println!("EDGES {world} {what}={} first: {}", x.0, x.1);
        }
    }
    // An accepted outcome differs; else only what refusals leave or say; else only the offers.
    let v = if d.acceptance.0 + d.accepted_next.0 > 0 {
        "rule-accept"
    } else if d.refused_next.0 + d.reason.0 > 0 {
        "rule-refusal"
    } else {
        match (d.offers_less.0 > 0, d.offers_more.0 > 0) {
            (false, false) => "same",
            (false, true) => "offers-more",
            (true, false) => "offers-less",
            (true, true) => "offers-other",
        }
    };
    println!("VERDICT {v}");
}

/// `(shape, reasons)` fields of a line.
fn fields(l: &str) -> (Option<&str>, Option<&str>) {
    let f = |k: &str| l.split(' ').find_map(|w| w.strip_prefix(k));
    (f("shape="), f("reasons="))
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, world, file] = &args[..] {
        if mode == "--edges-dump" || mode == "--edges-check" {
            return edges_mode(mode, world, file);
        }
    }
    let against = match args.iter().position(|a| a == "--against") {
        Some(i) if i + 1 < args.len() => {
            let path = args.remove(i + 1);
            args.remove(i);
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                eprintln!("graph_digest: cannot read {path}: {e}");
                std::process::exit(2);
            });
            let base: HashMap<String, String> = text
                .lines()
                .filter_map(|l| Some((l.split(' ').next()?.to_string(), l.to_string())))
                .collect();
            Some(base)
        }
        Some(_) => {
            eprintln!("graph_digest: --against needs a file");
            std::process::exit(2);
        }
        None => None,
    };
    let filter = args.first().cloned().unwrap_or_default();
    let wanted = |name: &str| match filter.strip_prefix('=') {
        Some(exact) => exact.split(',').any(|x| x == name),
        None => name.contains(&filter),
    };
    let list: Vec<(String, Config)> = worlds()
        .into_iter()
        .filter(|(name, _)| wanted(name))
        .collect();
    let mut reasons_differ = Vec::new();
    for pair in list.chunks(2) {
        let lines: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = pair
                .iter()
                .map(|(name, c)| scope.spawn(move || line(name, c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a digest thread panicked"))
                .collect()
        });
        for (l, (name, _)) in lines.iter().zip(pair) {
            println!("{l}");
            let Some(base) = &against else { continue };
            let Some(b) = base.get(name) else {
                eprintln!("graph_digest: {name} is not in the --against file");
                std::process::exit(2);
            };
            let (now, was) = (fields(l), fields(b));
            if now.0 != was.0 {
                println!("VERDICT shape {name}");
                return;
            }
            if now.1 != was.1 {
                reasons_differ.push(name.clone());
            }
        }
    }
    if against.is_some() {
        if reasons_differ.is_empty() {
            println!("VERDICT same");
        } else {
            println!("VERDICT reasons {}", reasons_differ.join(","));
        }
    }
}
