//! `phone-jpki conform --driver CMD`: the conform modes through a driver process, with the
//! same text lines, JSON fields and divergence report as in process.

use super::client::{DriverError, Process, Sut};
use super::run::Driven;
use crate::conform::{
    class_cases, classes_line, coverage_line, model_graph_within, random_line, rate, read_actions,
    report_head, ConformOptions,
};
use crate::lockstep::Divergence;
use crate::random::RandomReport;
use phone_jpki_model::Config;
use serde_json::json;
use std::time::{Duration, Instant};

/// How long one answer may take.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

fn driver_error(e: DriverError) -> String {
    e.to_string()
}

/// Run the modes of `opts` through the driver started by `cmd`.
pub fn conform_driver(
    config: &Config,
    opts: &ConformOptions,
    cmd: &str,
) -> Result<(String, bool, serde_json::Value), String> {
    let started = Instant::now();
    // The driver is driven under the same policy as the in-process implementation
    // (the one it realises), and the report says so.
    let config = &crate::lockstep::driven_config(config).map_err(|e| e.to_string())?;
    let mut process = Process::spawn(cmd, ANSWER_TIMEOUT).map_err(driver_error)?;
    let mut d = Driven::start(config, opts.seed, &mut process).map_err(driver_error)?;
    let mut json_out = report_head(config, opts, &d.identity);
    json_out["driver"] =
        json!({ "command": cmd, "identity": d.identity, "snapshots": d.snapshots });
    let mut text = format!(
        "driver: {} ({}snapshots)\n{}\n",
        d.identity,
        if d.snapshots { "" } else { "no " },
        crate::lockstep::policy_note(config)
    );
    json_out["policy_note"] = json!(crate::lockstep::policy_note(config));
    let mut divergence: Option<Box<Divergence>> = None;

    let mut replays = Vec::new();
    for path in &opts.replay {
        let actions = read_actions(path)?;
        let r = d.sequence(&actions).map_err(driver_error)?;
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
        if let Err(x) = r {
            divergence.get_or_insert(x);
        }
    }
    json_out["replays"] = json!(replays);

    if divergence.is_none() && opts.random > 0 {
        let t = Instant::now();
        let before = d.actions;
        let r = d
            .random(opts.random, opts.steps.max(1))
            .map_err(driver_error)?;
        let report = RandomReport {
            sequences: d.sequences,
            actions: d.actions - before,
            seconds: t.elapsed().as_secs_f64(),
        };
        text += &random_line(&report, r.is_ok());
        json_out["random"] = json!({
            "sequences": report.sequences, "actions": report.actions, "seconds": report.seconds,
            "actions_per_second": rate(report.actions, report.seconds), "ok": r.is_ok(),
        });
        if let Err(x) = r {
            divergence = Some(x);
        }
    }

    if divergence.is_none() && opts.classes {
        let cases = class_cases(config)?;
        let (mut run, mut covered) = (0, 0);
        for (actions, new) in &cases.cases {
            run += 1;
            if let Err(x) = d.sequence(actions).map_err(driver_error)? {
                divergence = Some(x);
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

    if divergence.is_none() && opts.exhaustive {
        let t = std::time::Instant::now();
        let graph = model_graph_within(config, opts.max_states, opts.timeout);
        // One budget for the whole exhaustive run, the count included.
        let left = opts.timeout.map(|x| x.saturating_sub(t.elapsed()));
        let before = d.actions;
        let r = d.exhaustive(opts.max_states, left).map_err(driver_error)?;
        match r {
            Ok(c) => {
                text += &coverage_line(&c, &graph);
                let sent = d.actions - before;
                json_out["exhaustive"] = json!({
                    "model_states": graph.states, "model_edges": graph.edges,
                    "model_graph_complete": graph.complete,
                    "states": c.states, "edges": c.edges, "refused_unchanged": c.refused_unchanged,
                    "actions": c.actions, "seconds": c.seconds, "actions_per_second": c.rate(),
                    "actions_sent": sent, "sent_per_second": rate(sent, c.seconds),
                    "complete": c.complete, "threads": 1,
                });
            }
            Err(x) => {
                text += "exhaustive: DIVERGED\n";
                divergence = Some(x);
            }
        }
    }

    let refusals: std::collections::BTreeSet<&str> = d.refusals.iter().map(|r| r.name()).collect();
    json_out["refusals_exercised"] = json!(refusals);
    process.bye();
    // A cut-short exhaustive run decides nothing about the edges it did not take.
    let complete = json_out["exhaustive"]["complete"] != json!(false);
    let ok = divergence.is_none() && complete;
    if let Some(x) = &divergence {
        text += &format!("\n{x}");
        json_out["divergence"] = json!(x.to_string());
        json_out["divergence_actions"] = json!(x.actions);
    } else {
        json_out["divergence"] = serde_json::Value::Null;
    }
    json_out["seconds"] = json!(started.elapsed().as_secs_f64());
    if opts.json {
        text = serde_json::to_string_pretty(&json_out).unwrap_or_default() + "\n";
    }
    Ok((text, ok, json_out))
}
