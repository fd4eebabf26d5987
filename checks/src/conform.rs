//! The `phone-jpki conform` run: replay kept cases, a random run, model-guided edge coverage;
//! figures as text or JSON, and the divergence report if any.

use crate::exhaustive::{self, Coverage};
use crate::lockstep::{replay, Divergence};
use crate::random::{random_run, RandomReport};
use phone_jpki_model::check::{check_properties, CheckOptions};
use phone_jpki_model::{Action, Config};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Clone, Debug, Default)]
pub struct ConformOptions {
    /// Name of the world (for the output).
    pub world: String,
    /// Action-list JSON files to replay first.
    pub replay: Vec<PathBuf>,
    /// Random sequences to run (0: none).
    pub random: usize,
    /// Longest random sequence.
    pub steps: usize,
    /// Cover every edge of the model graph.
    pub exhaustive: bool,
    /// Seed of the random choices and of the implementation's keys.
    pub seed: u64,
    /// Worker threads of the exhaustive run.
    pub threads: usize,
    /// Stop the exhaustive run after this many states.
    pub max_states: Option<usize>,
    /// Stop the exhaustive run after this long.
    pub timeout: Option<Duration>,
    /// JSON output.
    pub json: bool,
}

/// Read an action list (a JSON array of model actions).
pub fn read_actions(path: &std::path::Path) -> Result<Vec<Action>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON list of actions: {e}", path.display()))
}

/// Size of the reachable model graph the implementation can be driven along: states and state-changing edges (model only), from
/// the model's own checker run with no properties (its count of generated states includes
/// the initial one).
///
/// Only the actions the implementation realises are walked ([`crate::lockstep::realised`]):
/// the rest are skipped by the drivers and named in the report.
pub fn model_graph(config: &Config) -> (usize, usize) {
    let opts = CheckOptions {
        only: Some(crate::lockstep::realised),
        ..CheckOptions::default()
    };
    let config = &crate::lockstep::realised_config(config);
    let r = check_properties(config, &opts, Vec::new(), &mut |_| {});
    (r.unique_states, r.states - 1)
}

/// Run; returns the text to print and whether everything agreed. `Err` for a setup problem.
pub fn conform(config: &Config, opts: &ConformOptions) -> Result<(String, bool), String> {
    let mut text = String::new();
    let mut json_out = json!({ "world": opts.world, "seed": opts.seed });
    let mut divergence: Option<Box<Divergence>> = None;

    let mut replays = Vec::new();
    for path in &opts.replay {
        let actions = read_actions(path)?;
        let r = replay(config, opts.seed, &actions);
        let ok = r.is_ok();
        text += &format!(
            "replay {}: {} actions, {}\n",
            path.display(),
            actions.len(),
            if ok { "ok" } else { "DIVERGED" }
        );
        replays.push(
            json!({ "file": path.display().to_string(), "actions": actions.len(), "ok": ok }),
        );
        if let Err(d) = r {
            divergence.get_or_insert(d);
        }
    }
    json_out["replays"] = json!(replays);

    if divergence.is_none() && opts.random > 0 {
        let (r, d) = random_run(config, opts.seed, opts.random, opts.steps.max(1))
            .map_err(|e| e.to_string())?;
        text += &random_line(&r, d.is_none());
        json_out["random"] = json!({
            "sequences": r.sequences, "actions": r.actions, "seconds": r.seconds,
            "actions_per_second": rate(r.actions, r.seconds), "ok": d.is_none(),
        });
        if let Some(d) = d {
            divergence = Some(d);
        }
    }

    if divergence.is_none() && opts.exhaustive {
        let t = Instant::now();
        let (model_states, model_edges) = model_graph(config);
        let graph_seconds = t.elapsed().as_secs_f64();
        let eo = exhaustive::Options {
            threads: opts.threads.max(1),
            max_states: opts.max_states,
            timeout: opts.timeout,
            seed: opts.seed,
        };
        let (c, d) = exhaustive::cover(config, &eo).map_err(|e| e.to_string())?;
        text += &coverage_line(&c, model_states, model_edges);
        json_out["exhaustive"] = json!({
            "model_states": model_states, "model_edges": model_edges,
            "model_graph_seconds": graph_seconds,
            "states": c.states, "edges": c.edges, "refused_unchanged": c.refused_unchanged,
            "actions": c.actions, "seconds": c.seconds, "actions_per_second": c.rate(),
            "complete": c.complete, "threads": eo.threads, "skipped": c.skipped,
        });
        if let Some(d) = d {
            divergence = Some(d);
        }
    }

    // Never silent: the model's actions the implementation does not realise yet are skipped
    // by every driver (the model graph figures above include their edges).
    let unrealised: Vec<&str> = phone_jpki_model::ActionKind::ALL
        .iter()
        .filter(|k| k.is_threat())
        .map(|k| k.name())
        .collect();
    text += &format!(
        "skipped (not realised by the implementation yet): {}; THREAT-PIN-KNOWN (run with nobody's PIN known to others)\n",
        unrealised.join(", ")
    );
    json_out["skipped_kinds"] = json!(unrealised);

    let ok = divergence.is_none();
    if let Some(d) = &divergence {
        text += &format!("\n{d}");
        json_out["divergence"] = json!(d.to_string());
        json_out["divergence_actions"] = json!(d.actions);
    } else {
        json_out["divergence"] = serde_json::Value::Null;
    }
    if opts.json {
        text = serde_json::to_string_pretty(&json_out).unwrap_or_default() + "\n";
    }
    Ok((text, ok))
}

fn rate(actions: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        actions as f64 / seconds
    } else {
        0.0
    }
}

fn random_line(r: &RandomReport, ok: bool) -> String {
    format!(
        "random: {} sequences, {} actions, {:.1} s, {:.0} actions/s, {}\n",
        r.sequences,
        r.actions,
        r.seconds,
        rate(r.actions, r.seconds),
        if ok { "ok" } else { "DIVERGED" }
    )
}

fn coverage_line(c: &Coverage, model_states: usize, model_edges: usize) -> String {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            100.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    format!(
        "exhaustive: {}/{} states ({:.1}%), {}/{} edges ({:.1}%), {} refused-unchanged, \
         {} actions, {:.1} s, {:.0} actions/s, {}\n",
        c.states,
        model_states,
        pct(c.states, model_states),
        c.edges,
        model_edges,
        pct(c.edges, model_edges),
        c.refused_unchanged,
        c.actions,
        c.seconds,
        c.rate(),
        if c.complete { "complete" } else { "INCOMPLETE" }
    ) + &if c.skipped.is_empty() {
        String::new()
    } else {
        let parts: Vec<String> = c.skipped.iter().map(|(k, n)| format!("{k} x{n}")).collect();
        format!(
            "exhaustive: skipped offered actions the implementation does not realise: {}\n",
            parts.join(", ")
        )
    }
}
