//! Benchmark runs for `scripts/bench-model`: our checker, or stateright's own BFS checker on
//! the same model (the `explore.rs` adapter with one trivial property), on a named world and
//! thread count. Prints one JSON object: counts, seconds, peak resident memory and, for ours,
//! the engine's own memory figures.
//!
//! Usage: bench (ours|stateright) WORLD THREADS [TIMEOUT_SECONDS]
//! (WORLD: reference, deep, single, new-phone, storyline, wide); ours draws its progress line
//! on standard error when BENCH_PROGRESS is set.

use phone_jpki_model::check::CheckOptions;
use phone_jpki_model::engine;
use phone_jpki_model::explore::JpkiModel;
use phone_jpki_model::{Action, State};
use stateright::{Checker, Model, Property};
use std::process::ExitCode;
use std::time::Instant;

/// The adapter with one trivial property: stateright checks nothing but explores everything.
struct Plain(JpkiModel);

impl Model for Plain {
    type State = State;
    type Action = Action;
    fn init_states(&self) -> Vec<State> {
        self.0.init_states()
    }
    fn actions(&self, s: &State, out: &mut Vec<Action>) {
        self.0.actions(s, out)
    }
    fn next_state(&self, s: &State, a: Action) -> Option<State> {
        self.0.next_state(s, a)
    }
    fn properties(&self) -> Vec<Property<Self>> {
        vec![Property::always("true", |_, _| true)]
    }
}

fn peak_rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(which), Some(world), Some(threads)) = (args.first(), args.get(1), args.get(2)) else {
        eprintln!("usage: bench (ours|stateright) WORLD THREADS");
        return ExitCode::from(2);
    };
    let Some(config) = engine::named_world(world) else {
        eprintln!(
            "bench: unknown world {world:?} (reference, deep, single, new-phone, storyline, wide)"
        );
        return ExitCode::from(2);
    };
    let Ok(threads) = threads.parse::<usize>() else {
        eprintln!("bench: THREADS must be a number, got {threads:?}");
        return ExitCode::from(2);
    };
    let timeout = match args.get(3).map(|t| t.parse::<u64>()) {
        None => None,
        Some(Ok(t)) => Some(std::time::Duration::from_secs(t)),
        Some(Err(_)) => {
            eprintln!("bench: TIMEOUT_SECONDS must be a number, got {:?}", args[3]);
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let out = match which.as_str() {
        "ours" => {
            let opts = CheckOptions {
                threads,
                timeout,
                progress_line: std::env::var_os("BENCH_PROGRESS").is_some(),
                ..CheckOptions::default()
            };
            // Every property, INV-NO-DEAD-END's graph included (BENCH_SEARCH_ONLY: without it,
            // to profile the search alone).
            let mut props = phone_jpki_model::properties::for_config(&config);
            if std::env::var_os("BENCH_SEARCH_ONLY").is_some() {
                props.retain(|p| p.id() != "INV-NO-DEAD-END");
            }
            let n = props.len();
            let (r, m) = engine::run(&config, &opts, props, &mut |_| {});
            serde_json::json!({
                "checker": "ours", "world": world, "threads": threads, "properties": n,
                "complete": r.complete, "unique": r.unique_states, "generated": r.states,
                "steps": m.steps, "depth": r.max_depth, "seconds": r.seconds,
                "visited_bytes": m.visited_bytes, "peak_frontier_bytes": m.peak_frontier_bytes,
                "peak_frontier_states": m.peak_frontier_states,
                "dead_end_bytes": m.dead_end_bytes, "peak_rss": peak_rss_bytes(),
                "cut": r.cut, "verdicts": r.properties.iter()
                    .map(|p| (p.name.split(':').next().unwrap_or_default().to_string(),
                              p.verdict(r.complete).word()))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            })
        }
        "stateright" => {
            let c = Plain(JpkiModel { config })
                .checker()
                .threads(threads)
                .spawn_bfs()
                .join();
            serde_json::json!({
                "checker": "stateright", "world": world, "threads": threads, "properties": 1,
                "complete": c.is_done(), "unique": c.unique_state_count(),
                "generated": c.state_count(), "depth": c.max_depth(),
                "seconds": start.elapsed().as_secs_f64(), "peak_rss": peak_rss_bytes(),
            })
        }
        other => {
            eprintln!("bench: expected ours or stateright, got {other:?}");
            return ExitCode::from(2);
        }
    };
    println!("{out}");
    ExitCode::SUCCESS
}
