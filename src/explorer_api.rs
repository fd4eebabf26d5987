//! The Explorer's answers: a path's view (steps, the state in words and as a picture, every
//! property on that state, the actions offered with their outcome, those not offered with
//! the reason) and "Run to completion" with the project's own checker.

use crate::links::{actions_from_labels, config_flags, config_from_flags, query};
use crate::pathview::properties_on;
use crate::picture::{diff, mark, state_svg, steps, timeline_svg, words};
use crate::whynot::{reason, universe};
use phone_jpki_model::check::{check, CheckOptions, CheckReport, Progress};
use phone_jpki_model::{candidate_actions, step, Config};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A path request: world flags and labels.
pub struct Request {
    pub flags: Vec<(String, String)>,
    pub labels: Vec<String>,
}

/// The config of a request, or an error that says what is wrong with the link.
pub fn config_of(r: &Request) -> Result<Config, String> {
    config_from_flags(&r.flags).map_err(|e| format!("this link's world cannot be built: {e}"))
}

/// The view of a path.
pub fn view(r: &Request) -> Result<Value, String> {
    let c = config_of(r)?;
    let path = actions_from_labels(&c, &r.labels)?;
    let (views, s) = steps(&c, &path);
    let q = query(&config_flags(&c).unwrap_or_else(|_| r.flags.clone()));
    let mut offered = Vec::new();
    candidate_actions(&c, &s, &mut offered);
    let offered_json: Vec<Value> = offered
        .iter()
        .map(|&a| {
            let o = step(&c, &s, a);
            json!({
                "label": a.to_string(),
                "accepted": o.result.is_ok(),
                "refusal": o.result.err().map(|x| x.to_string()),
                "changes": diff(&c, &s, &o.next),
                "mark": mark(&s, a),
            })
        })
        .collect();
    let not_offered: Vec<Value> = universe(&c, &s)
        .into_iter()
        .filter_map(|a| reason(&c, &s, a).map(|why| json!({"label": a.to_string(), "why": why})))
        .collect();
    let policies = crate::variants::policy_names(&c.policy);
    Ok(json!({
        "query": q,
        "flags": r.flags,
        "policies": policies.iter().map(|p| {
            let v = crate::variants::from_name(p).expect("listed variant");
            json!({"name": p, "sentence": crate::variants::sentence(v), "kind": crate::variants::kind(v),
                   "breaks": crate::variants::expected(&[v])})
        }).collect::<Vec<_>>(),
        "labels": r.labels,
        "steps": views,
        "state_words": words(&c, &s),
        "state_svg": state_svg(&c, &s),
        "timeline_svg": timeline_svg(&views, Some(views.len())),
        "properties": properties_on(&c, &path),
        "offered": offered_json,
        "not_offered": not_offered,
    }))
}

/// One "Run to completion" per world, kept while the Explorer runs.
#[derive(Default)]
pub struct Runs {
    runs: Mutex<BTreeMap<String, Arc<Mutex<Run>>>>,
}

struct Run {
    started: Instant,
    progress: Vec<Progress>,
    report: Option<CheckReport>,
}

impl Runs {
    /// Start the run for this world unless it is running or done.
    pub fn start(&self, c: &Config, key: &str) {
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        if runs.contains_key(key) {
            return;
        }
        let run = Arc::new(Mutex::new(Run {
            started: Instant::now(),
            progress: Vec::new(),
            report: None,
        }));
        runs.insert(key.to_string(), run.clone());
        let c = c.clone();
        std::thread::spawn(move || {
            let opts = CheckOptions {
                symmetry: true,
                ..CheckOptions::default()
            };
            let r = check(&c, &opts, &mut |p| {
                run.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .progress
                    .push(p)
            });
            run.lock().unwrap_or_else(|e| e.into_inner()).report = Some(r);
        });
    }

    /// Where the run for this world stands: `idle`, `running` with progress and an
    /// estimate, or `done` with every property's verdict and path.
    pub fn status(&self, c: &Config, key: &str) -> Value {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(run) = runs.get(key) else {
            return json!({"state": "idle"});
        };
        let run = run.lock().unwrap_or_else(|e| e.into_inner());
        let Some(r) = &run.report else {
            let elapsed = run.started.elapsed().as_secs_f64();
            let last = run.progress.last();
            return json!({
                "state": "running",
                "seconds": elapsed,
                "depth": last.map(|p| p.depth),
                "states": last.map(|p| p.unique_states),
                "estimate": estimate(&run.progress),
            });
        };
        let props: Vec<Value> = r
            .properties
            .iter()
            .map(|p| {
                let v = p.verdict(r.complete);
                json!({
                    "name": p.name,
                    "verdict": v.word(),
                    "length": p.path.as_ref().map(|x| x.len()),
                    "link": p.path.as_ref().and_then(|x| crate::links::explorer_link("", c, x).ok())
                        .map(|l| l.trim_start_matches("http://").to_string()),
                })
            })
            .collect();
        json!({
            "state": "done",
            "complete": r.complete,
            "cut": r.cut.map(|x| x.describe()),
            "unique_states": r.unique_states,
            "depth": r.max_depth,
            "seconds": r.seconds,
            "properties": props,
        })
    }
}

/// A rough time left: once BFS levels shrink, assume they keep shrinking at the last rate.
pub fn estimate(progress: &[Progress]) -> Value {
    let n = progress.len();
    if n < 3 {
        return json!({"text": "no estimate yet (first levels)"});
    }
    let new = |i: usize| (progress[i].unique_states - progress[i - 1].unique_states) as f64;
    let (last, prev) = (new(n - 1), new(n - 2));
    if prev <= 0.0 || last >= prev {
        return json!({"text": "levels still growing: no estimate yet"});
    }
    let ratio = last / prev;
    let remaining_states = last * ratio / (1.0 - ratio);
    let p = progress[n - 1];
    let rate = p.unique_states as f64 / p.seconds.max(0.001);
    let secs = remaining_states / rate;
    json!({
        "text": format!("about {:.0} s left (rough: levels shrinking by {:.0}% each)", secs.ceil(), 100.0 * (1.0 - ratio)),
        "seconds_left": secs,
        "states_total": p.unique_states as f64 + remaining_states,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(labels: &[&str], flags: &[(&str, &str)]) -> Request {
        Request {
            flags: flags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_view_lists_offered_and_not_offered_actions_with_outcomes() {
        let v = view(&req(&["InstallApp(h0)"], &[("world", "reference")])).unwrap();
        let offered = v["offered"].as_array().unwrap();
        let apply = offered
            .iter()
            .find(|a| a["label"] == "Apply(h0,auth)")
            .unwrap();
        assert_eq!(apply["accepted"], false);
        assert_eq!(apply["refusal"], "NoApplet");
        let why = v["not_offered"].as_array().unwrap();
        let gk = why
            .iter()
            .find(|a| a["label"] == "GenerateKey(h0)")
            .unwrap();
        assert_eq!(gk["why"], "no issuance session is in progress on h0");
        assert!(v["state_svg"]
            .as_str()
            .unwrap()
            .contains("app (push token 1)"));
        assert_eq!(v["steps"][0]["changes"][0], "h0: no app → app (token 1)");
    }

    #[test]
    fn a_bad_link_says_why() {
        let e = view(&req(&["Apply(h0,auth)"], &[("world", "reference")])).unwrap_err();
        assert!(
            e.contains("step 1: Apply(h0,auth) is not offered there"),
            "{e}"
        );
        let e = view(&req(&[], &[("world", "moon")])).unwrap_err();
        assert!(
            e.contains("this link's world cannot be built: --world"),
            "{e}"
        );
        let e = view(&req(&[], &[("policy", "nope")])).unwrap_err();
        assert!(e.contains("unknown variant"), "{e}");
    }

    #[test]
    fn the_estimate_waits_for_shrinking_levels() {
        let p = |d, u, s| Progress {
            depth: d,
            unique_states: u,
            seconds: s,
        };
        assert!(estimate(&[p(0, 1, 0.1), p(1, 10, 0.2)])["text"]
            .as_str()
            .unwrap()
            .starts_with("no estimate"));
        let e = estimate(&[p(0, 1, 0.1), p(1, 101, 1.0), p(2, 151, 1.5), p(3, 176, 2.0)]);
        // New states per level 100, 50, 25: 25 more expected at 88 states/s.
        assert!((e["states_total"].as_f64().unwrap() - 201.0).abs() < 1e-6);
    }
}
