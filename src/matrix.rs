//! `phone-jpki matrix`: the seeds' design and every policy variant checked against every
//! property, variants in parallel (`--threads`), progress on one updating line, and a table
//! that tells the cell a variant is meant to break from collateral ones.

use crate::variants::Choice;
use crate::variants::{broken, expected};
use phone_jpki_model::check::{check, CheckOptions, CheckReport, Verdict};
use phone_jpki_model::Config;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One row: the seeds' design (`variant: None`) or a variant, and its check.
pub struct Row {
    pub base: Config,
    pub variant: Option<Choice>,
    pub report: CheckReport,
}

impl Row {
    /// The world this row checked.
    pub fn config(&self) -> Config {
        match self.variant {
            Some(v) => crate::variants::with(&self.base, v),
            None => self.base.clone(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.variant.map_or("default", |v| v.name())
    }

    /// The property IDs this row is meant to break.
    pub fn meant(&self) -> BTreeSet<String> {
        expected(&self.variant.into_iter().collect::<Vec<_>>())
    }

    /// What broke here and not in the seeds' design (`baseline`, that row's [`broken`]): a
    /// scenario too big for the world is unreached in every row and is nobody's doing.
    pub fn broke(&self, baseline: &BTreeSet<String>) -> BTreeSet<String> {
        let got = broken(&self.report);
        if self.variant.is_none() {
            return got;
        }
        got.difference(baseline).cloned().collect()
    }

    /// Complete, and what was meant to break broke. Collateral breaks are shown apart: some
    /// follow from the meant one (no careless hand-over leaves no buyer; a model change that
    /// keeps the old cert is no SCN-MODEL-CHANGE), and they are the reader's to weigh.
    pub fn as_meant(&self, baseline: &BTreeSet<String>) -> bool {
        self.report.complete && self.meant().is_subset(&self.broke(baseline))
    }
}

/// The IDs shown as columns: invariants, scenarios and risks (not the ACT-* coverage).
pub fn columns(r: &CheckReport) -> Vec<String> {
    r.properties
        .iter()
        .map(|p| p.name.split(':').next().unwrap_or("").to_string())
        .filter(|id| !id.starts_with("ACT-"))
        .collect()
}

/// Check the default and every variant of `base`, `threads` at a time, in matrix order.
pub fn run(base: &Config, threads: usize, progress: bool) -> Vec<Row> {
    run_within(base, threads, progress, (None, None))
}

/// [`run`] with limits (issue 16 finding 11): at most `max_states` unique states per check,
/// and one `timeout` for the whole matrix (each check gets what is left of it).
pub fn run_within(
    base: &Config,
    threads: usize,
    progress: bool,
    (max_states, timeout): (Option<usize>, Option<Duration>),
) -> Vec<Row> {
    let todo: Vec<Option<Choice>> = std::iter::once(None)
        .chain(crate::variants::all().into_iter().map(Some))
        .collect();
    let next = Mutex::new(0usize);
    let done: Mutex<Vec<Option<Row>>> = Mutex::new(todo.iter().map(|_| None).collect());
    let start = Instant::now();
    let line = Mutex::new(phone_jpki_checks::progress::Line::new("matrix"));
    let workers = threads.clamp(1, todo.len());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = {
                    let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                    let i = *n;
                    *n += 1;
                    i
                };
                let Some(v) = todo.get(i).copied() else {
                    return;
                };
                let c = match v {
                    Some(v) => crate::variants::with(base, v),
                    None => base.clone(),
                };
                let opts = CheckOptions {
                    threads: if workers > 1 { 1 } else { threads.max(1) },
                    max_states,
                    timeout: timeout.map(|t| t.saturating_sub(start.elapsed())),
                    ..CheckOptions::default()
                };
                let report = check(&c, &opts, &mut |_| {});
                let mut d = done.lock().unwrap_or_else(|e| e.into_inner());
                d[i] = Some(Row {
                    base: base.clone(),
                    variant: v,
                    report,
                });
                if progress {
                    let n = d.iter().filter(|r| r.is_some()).count();
                    let name = v.map_or("default", |v| v.name());
                    line.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .show(&format!(
                            "{n}/{} checked ({name} done), {:.0} s",
                            todo.len(),
                            start.elapsed().as_secs_f64()
                        ));
                }
            });
        }
    });
    line.into_inner().unwrap_or_else(|e| e.into_inner()).done();
    done.into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .flatten()
        .collect()
}

/// What the seeds' design (the first row) leaves broken or unreached in this world.
pub fn baseline(rows: &[Row]) -> BTreeSet<String> {
    rows.first()
        .map_or_else(BTreeSet::new, |r| broken(&r.report))
}

/// One cell in words: `holds`, `broken (8)`, `reached (9)`, `closed`, `UNDECIDED`.
pub fn cell(r: &CheckReport, id: &str) -> String {
    let Some(p) = r.property(id) else {
        return "-".into();
    };
    let len = p.path.as_ref().map_or(0, |x| x.len());
    match p.verdict(r.complete) {
        Verdict::Holds => "holds".into(),
        Verdict::Broken => format!("broken ({len})"),
        Verdict::Reached => format!("reached ({len})"),
        Verdict::Unreached if id.starts_with("RISK") => "closed".into(),
        Verdict::Unreached => "UNREACHED".into(),
        Verdict::Undecided => "UNDECIDED".into(),
    }
}

/// The text table: one line per row, the meant break first, then collateral breaks and the
/// risks.
pub fn text(rows: &[Row]) -> String {
    let mut out = String::from(
        "Each variant changes one design answer (phone-jpki check --policy list). \
         \"broken (n)\": a counterexample of n steps; RISK-* \"reached\" means the risk exists.\n",
    );
    out += &format!("{:26} {:24} result\n", "variant", "meant to break");
    let baseline = baseline(rows);
    for row in rows {
        let r = &row.report;
        let meant = row.meant();
        let got = row.broke(&baseline);
        let risks: Vec<String> = columns(r)
            .into_iter()
            .filter(|id| id.starts_with("RISK"))
            .map(|id| format!("{id} {}", cell(r, &id)))
            .collect();
        let fmt = |ids: &BTreeSet<String>| {
            ids.iter()
                .map(|id| format!("{id} {}", cell(r, id)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let collateral: BTreeSet<String> = got
            .difference(&meant)
            .filter(|id| !id.starts_with("RISK"))
            .cloned()
            .collect();
        let verdict = if !r.complete {
            "UNDECIDED (search cut short)".to_string()
        } else if row.variant.is_none() {
            if got.is_empty() {
                "every invariant holds, every scenario reached".into()
            } else {
                format!("NOT as designed: {}", fmt(&got))
            }
        } else if row.as_meant(&baseline) {
            format!("as meant: {}", fmt(&meant))
        } else {
            format!("NOT as meant: {}", fmt(&meant))
        };
        let extra = if collateral.is_empty() {
            String::new()
        } else {
            format!("; collateral: {}", fmt(&collateral))
        };
        out += &format!(
            "{:26} {:24} {verdict}{extra}; {}\n",
            row.name(),
            if meant.is_empty() {
                "-".to_string()
            } else {
                meant.iter().cloned().collect::<Vec<_>>().join(",")
            },
            risks.join(", ")
        );
    }
    out
}

/// The JSON rows.
pub fn json(rows: &[Row]) -> serde_json::Value {
    let baseline = baseline(rows);
    let out: Vec<_> = rows
        .iter()
        .map(|row| {
            let r = &row.report;
            let meant = row.meant();
            json!({
                "policy": row.name(),
                "kind": row.variant.map_or("default", crate::variants::kind),
                "sentence": row.variant.map(crate::variants::sentence),
                "meant_to_break": meant,
                "as_meant": row.as_meant(&baseline),
                "complete": r.complete,
                "properties": r.properties.iter().map(|p| {
                    let id = p.name.split(':').next().unwrap_or("");
                    let v = p.verdict(r.complete);
                    json!({
                        "name": p.name,
                        "verdict": v,
                        "holds": (v != Verdict::Undecided).then_some(p.holds),
                        "meant": meant.contains(id),
                        "path_len": p.path.as_ref().map(|x| x.len()),
                        "link": p.path.as_ref().and_then(|x| {
                            crate::links::explorer_link(crate::links::DEFAULT_ADDR, &row.config(), x).ok()
                        }),
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_in_matrix_order_whatever_the_threads() {
        let mut base = Config::single();
        base.max_events = Some(1);
        let one = run(&base, 1, false);
        let three = run(&base, 3, false);
        assert_eq!(one.len(), crate::variants::all().len() + 1);
        let names = |rs: &[Row]| rs.iter().map(|r| r.name()).collect::<Vec<_>>();
        assert_eq!(names(&one), names(&three));
        assert_eq!(text(&one), text(&three));
        assert_eq!(one[0].name(), "default");
        let t = text(&one);
        assert!(t.contains("keygen-at-tsm              INV-KEY-IN-SE            as meant: INV-KEY-IN-SE broken (4)"), "{t}");
    }
}
