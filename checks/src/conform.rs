//! The `phone-jpki conform` run: replay kept cases, a random run, model-guided edge coverage;
//! figures as text or JSON, and the divergence report if any.

use crate::exhaustive::{self, Coverage};
use crate::lockstep::{replay, Divergence};
use crate::random::{random_run, RandomReport};
use phone_jpki_model::check::{check_properties, CheckOptions};
use phone_jpki_model::trace::{self, TraceConfig};
use phone_jpki_model::vectors::{export, Coverage as VCoverage, Graph};
use phone_jpki_model::{Action, Config};
use serde_json::json;
use std::collections::BTreeSet;
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
    /// Drive this command's process over the driver protocol instead of our implementation
    /// in process (docs/DRIVER.md).
    pub driver: Option<String>,
    /// Run one golden-vector case per edge class (`vectors export`'s cases).
    pub classes: bool,
    /// Coverage-guided walks through every edge class ([`crate::cover`]).
    pub cover_classes: bool,
}

/// Read an action list (a JSON array of model actions; at most
/// [`phone_jpki_impl::fsio::MAX_INPUT_BYTES`]).
pub fn read_actions(path: &std::path::Path) -> Result<Vec<Action>, String> {
    let text = phone_jpki_impl::fsio::read_capped_text(path)?;
    serde_json::from_str(&text)
        .map_err(|e| format!("{}: not a JSON list of actions: {e}", path.display()))
}

/// [`read_actions`], with every id checked against `config`: an id out of range or a kind
/// not in play is malformed input (an error naming the file and the action), never a
/// divergence.
pub fn read_actions_for(path: &std::path::Path, config: &Config) -> Result<Vec<Action>, String> {
    let actions = read_actions(path)?;
    for (i, &a) in actions.iter().enumerate() {
        phone_jpki_model::trace::TraceAction::from(a)
            .to_model(config)
            .map_err(|e| format!("{}: action {i} ({a}): {e}", path.display()))?;
    }
    Ok(actions)
}

/// Size of the reachable model graph the implementation can be driven along: states and state-changing edges (model only), from
/// the model's own checker run with no properties (its count of generated states includes
/// the initial one).
///
/// Only the actions the implementation realises are walked ([`crate::lockstep::realised`]):
/// the rest are skipped by the drivers and named in the report. The graph is the one the
/// implementation is driven on ([`crate::lockstep::driven_config`]).
pub fn model_graph(config: &Config) -> (usize, usize) {
    let g = model_graph_within(config, None, None);
    (g.states, g.edges)
}

/// What [`model_graph_within`] counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelGraph {
    pub states: usize,
    pub edges: usize,
    /// Every reachable state was counted (no limit hit).
    pub complete: bool,
}

/// [`model_graph`] within `--max-states` and `--timeout` (issue 16 finding 3: the count
/// used to ignore both); a cut-short count is a lower bound.
pub fn model_graph_within(
    config: &Config,
    max_states: Option<usize>,
    timeout: Option<Duration>,
) -> ModelGraph {
    let mut line = crate::progress::Line::new("conform: counting the model graph");
    let opts = CheckOptions {
        max_states,
        timeout,
        only: Some(crate::lockstep::realised),
        ..CheckOptions::default()
    };
    let config = crate::lockstep::driven_config(config).unwrap_or_else(|_| config.clone());
    let r = check_properties(&config, &opts, Vec::new(), &mut |p| {
        line.show(&format!(
            "depth {}, {} states, {:.0} s",
            p.depth, p.unique_states, p.seconds
        ))
    });
    line.done();
    ModelGraph {
        states: r.unique_states,
        edges: r.states - 1,
        complete: r.complete,
    }
}

/// Run; returns the text to print and whether everything agreed. `Err` for a setup problem.
pub fn conform(config: &Config, opts: &ConformOptions) -> Result<(String, bool), String> {
    conform_json(config, opts).map(|(text, ok, _)| (text, ok))
}

/// Run; the text to print, whether everything agreed, and the figures as JSON (what
/// `--json` prints and `--report` writes).
pub fn conform_json(
    config: &Config,
    opts: &ConformOptions,
) -> Result<(String, bool, serde_json::Value), String> {
    if opts.cover_classes && opts.driver.is_some() {
        return Err(
            "--cover-classes drives the implementation in process, not with --driver".into(),
        );
    }
    if let Some(cmd) = &opts.driver {
        return crate::driver::conform::conform_driver(config, opts, cmd);
    }
    let started = Instant::now();
    let mut text = String::new();
    let mut json_out = report_head(config, opts, "phone-jpki-impl (in process)");
    let mut divergence: Option<Box<Divergence>> = None;
    text += &format!("{}\n", crate::lockstep::policy_note(config));
    json_out["policy_note"] = json!(crate::lockstep::policy_note(config));

    let mut replays = Vec::new();
    for path in &opts.replay {
        let actions = read_actions_for(path, config)?;
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

    if divergence.is_none() && opts.classes {
        let cases = class_cases(config)?;
        let (mut run, mut covered) = (0, 0);
        for (actions, new) in &cases.cases {
            run += 1;
            if let Err(d) = replay(config, opts.seed, actions) {
                divergence = Some(d);
                break;
            }
            covered += new;
        }
        text += &classes_line(&cases, run, covered, divergence.is_none());
        json_out["classes"] = json!({
            "cases": run, "cases_total": cases.cases.len(),
            "covered": covered, "total": cases.total, "ok": divergence.is_none(),
            "skipped_unrealised": cases.skipped,
        });
    }

    if divergence.is_none() && opts.cover_classes {
        let co = crate::cover::Options {
            seed: opts.seed,
            max_states: opts.max_states,
            timeout: opts.timeout,
        };
        let (r, d) = crate::cover::cover_classes(config, &co).map_err(|e| e.to_string())?;
        text += &r.line(d.is_none());
        json_out["cover_classes"] = r.json(d.is_none());
        divergence = divergence.or(d);
    }

    if divergence.is_none() && opts.exhaustive {
        let t = Instant::now();
        let graph = model_graph_within(config, opts.max_states, opts.timeout);
        let graph_seconds = t.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let eo = exhaustive::Options {
            threads: opts.threads.clamp(1, cores),
            max_states: opts.max_states,
            // One budget for the whole exhaustive run, the count included.
            timeout: opts.timeout.map(|d| d.saturating_sub(t.elapsed())),
            seed: opts.seed,
        };
        let (c, d) = exhaustive::cover(config, &eo).map_err(|e| e.to_string())?;
        text += &coverage_line(&c, &graph);
        json_out["exhaustive"] = json!({
            "model_states": graph.states, "model_edges": graph.edges,
            "model_graph_complete": graph.complete,
            "model_graph_seconds": graph_seconds,
            "states": c.states, "edges": c.edges, "refused_unchanged": c.refused_unchanged,
            "actions": c.actions, "seconds": c.seconds, "actions_per_second": c.rate(),
            "complete": c.complete, "threads": eo.threads, "skipped": c.skipped,
        });
        if c.complete && d.is_none() {
            // Every edge was driven: every refusal of this world, under the policy the
            // implementation is driven under, was exercised.
            let driven = crate::lockstep::driven_config(config).unwrap_or_else(|_| config.clone());
            let refusals: BTreeSet<String> = Graph::explore(&driven)
                .refusals()
                .into_values()
                .flatten()
                .map(|r| r.name().to_string())
                .collect();
            json_out["refusals_exercised"] = json!(refusals);
        }
        if let Some(d) = d {
            divergence = Some(d);
        }
    }

    // Never silent: the model's actions the implementation does not realise are skipped
    // by every driver (the model graph counted above is the realised subgraph).
    let unrealised: Vec<&str> = crate::lockstep::MODEL_ONLY
        .iter()
        .map(|k| k.name())
        .collect();
    text += &format!(
        "skipped (model-only, not realised by the implementation): {}\n",
        unrealised.join(", ")
    );
    json_out["skipped_kinds"] = json!(unrealised);

    // A cut-short exhaustive run decides nothing about the edges it did not take.
    let complete = json_out["exhaustive"]["complete"] != json!(false)
        && json_out["cover_classes"]["complete"] != json!(false);
    let ok = divergence.is_none() && complete;
    json_out["seconds"] = json!(started.elapsed().as_secs_f64());
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
    Ok((text, ok, json_out))
}

/// The fields every conform JSON starts with: model, world, mode, system.
pub fn report_head(config: &Config, opts: &ConformOptions, system: &str) -> serde_json::Value {
    let mut modes = Vec::new();
    if !opts.replay.is_empty() {
        modes.push("kept cases");
    }
    if opts.random > 0 {
        modes.push("random");
    }
    if opts.classes {
        modes.push("edge classes");
    }
    if opts.cover_classes {
        modes.push("edge classes by coverage-guided walks");
    }
    if opts.exhaustive {
        modes.push("every edge");
    }
    json!({
        "world": opts.world,
        "seed": opts.seed,
        "model": { "version": phone_jpki_model::MODEL_VERSION, "hash": phone_jpki_model::MODEL_HASH },
        "config": TraceConfig::of(config),
        "modes": modes,
        "system": system,
        "refusals_exercised": serde_json::Value::Null,
    })
}

/// The golden-vector cases of one edge class each: their actions and how many classes each
/// takes first, and the number of classes.
pub struct ClassCases {
    /// (actions, classes it takes first).
    pub cases: Vec<(Vec<Action>, usize)>,
    /// Edge classes the kept cases take (all the world's, less `skipped`).
    pub total: usize,
    /// Classes taken first by cases with an action the implementation does not realise yet
    /// ([`crate::lockstep::realised`]): those cases are left out, and the report says so.
    pub skipped: usize,
}

/// The cases of `vectors export` for `config` (one per edge class).
pub fn class_cases(config: &Config) -> Result<ClassCases, String> {
    let x = export(config, VCoverage::EdgeClasses);
    let (mut cases, mut skipped) = (Vec::new(), 0);
    for ((name, text), case) in x
        .files
        .iter()
        .filter(|(n, _)| n != "manifest.json")
        .zip(&x.manifest.cases)
    {
        let t = trace::parse(text.as_bytes()).map_err(|e| format!("vector {name}: {e}"))?;
        let actions: Vec<Action> = t.steps.iter().map(|s| s.2).collect();
        if actions.iter().all(|a| crate::lockstep::realised(*a)) {
            cases.push((actions, case.new_edges));
        } else {
            skipped += case.new_edges;
        }
    }
    Ok(ClassCases {
        cases,
        total: x.manifest.classes - skipped,
        skipped,
    })
}

/// The text line of an edge-class run.
pub fn classes_line(cases: &ClassCases, run: usize, covered: usize, ok: bool) -> String {
    format!(
        "edge classes: {run}/{} cases, {covered}/{} classes{}, {}\n",
        cases.cases.len(),
        cases.total,
        if cases.skipped > 0 {
            format!(
                " ({} more taken only by actions not realised yet)",
                cases.skipped
            )
        } else {
            String::new()
        },
        if ok { "ok" } else { "DIVERGED" }
    )
}

/// Actions per second.
pub fn rate(actions: usize, seconds: f64) -> f64 {
    if seconds > 0.0 {
        actions as f64 / seconds
    } else {
        0.0
    }
}

/// The text line of a random run.
pub fn random_line(r: &RandomReport, ok: bool) -> String {
    format!(
        "random: {} sequences, {} actions, {:.1} s, {:.0} actions/s, {}\n",
        r.sequences,
        r.actions,
        r.seconds,
        rate(r.actions, r.seconds),
        if ok { "ok" } else { "DIVERGED" }
    )
}

/// The text line of an exhaustive run.
pub fn coverage_line(c: &Coverage, g: &ModelGraph) -> String {
    // Against a cut-short count (a lower bound) a share means nothing.
    let share = |a: usize, b: usize, what: &str| match (g.complete, b) {
        (false, _) => format!("{a}/at least {b} {what} (model count cut short)"),
        (true, 0) => format!("{a}/{b} {what} (100.0%)"),
        (true, b) => format!("{a}/{b} {what} ({:.1}%)", 100.0 * a as f64 / b as f64),
    };
    format!(
        "exhaustive: {}, {}, {} refused-unchanged, \
         {} actions, {:.1} s, {:.0} actions/s, {}\n",
        share(c.states, g.states, "states"),
        share(c.edges, g.edges, "edges"),
        c.refused_unchanged,
        c.actions,
        c.seconds,
        c.rate(),
        if c.complete {
            "complete"
        } else {
            "UNDECIDED: cut short (--max-states or --timeout), no divergence in the part covered"
        }
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
