//! The commands other teams use to check their own systems: `replay` (with `--keep-going`),
//! `record`, `upgrade`, `driver`, and the conformance report (`conform --report`,
//! `verify-report`). Errors with `--json` are JSON too.

use phone_jpki_impl::fsio::{read_capped, read_capped_from, MAX_INPUT_BYTES};
use phone_jpki_model::trace::{self, parse, replay, replay_all, TraceError, Verdict};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Read a file, or standard input for `-`, capped at [`MAX_INPUT_BYTES`].
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path.as_os_str() == "-" {
        read_capped_from(std::io::stdin(), MAX_INPUT_BYTES, "stdin")
    } else {
        read_capped(path)
    }
}

/// A malformed-input error (exit 2), as JSON on stdout with `--json`, else on stderr.
fn malformed(
    json: bool,
    message: String,
    line: Option<usize>,
    detail: Option<&TraceError>,
) -> ExitCode {
    if json {
        println!(
            "{}",
            json!({"verdict": "malformed", "line": line, "message": message, "error": detail})
        );
    } else {
        eprintln!("phone-jpki: {message}");
    }
    ExitCode::from(2)
}

fn read_trace(path: &Path, json: bool) -> Result<trace::ParsedTrace, ExitCode> {
    let bytes = read_input(path).map_err(|e| malformed(json, e, None, None))?;
    parse(&bytes).map_err(|e| {
        malformed(
            json,
            format!("{}: {e}", path.display()),
            Some(e.line()),
            Some(&e),
        )
    })
}

/// `phone-jpki replay`: 0 conforms, 1 diverges, 2 malformed.
pub fn replay_cmd(path: &Path, json: bool, keep_going: bool) -> ExitCode {
    let t = match read_trace(path, json) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let divergences = if keep_going {
        replay_all(&t)
    } else {
        match replay(&t) {
            Verdict::Conforms(_) => vec![],
            Verdict::Diverges(d) => vec![*d],
        }
    };
    let n = t.steps.len();
    let actions: Vec<_> = t.steps.iter().map(|s| s.2).collect();
    let link = crate::links::explorer_link(crate::links::DEFAULT_ADDR, &t.config, &actions).ok();
    if divergences.is_empty() {
        if json {
            println!(
                "{}",
                json!({"verdict": "conforms", "steps": n, "link": link})
            );
        } else {
            println!("{}: conforms ({n} steps)", path.display());
            println!("{}", crate::check_cmd::link_line(&t.config, &actions));
        }
        return ExitCode::SUCCESS;
    }
    if json {
        let out = if keep_going {
            json!({"verdict": "diverges", "steps": n, "divergences": divergences, "link": link})
        } else {
            json!({"verdict": "diverges", "divergence": divergences[0], "link": link})
        };
        println!("{out}");
    } else {
        for d in &divergences {
            print!("{}: {d}", path.display());
        }
        if keep_going {
            println!(
                "{}: {} of {n} steps diverge",
                path.display(),
                divergences.len()
            );
        }
        println!("{}", crate::check_cmd::link_line(&t.config, &actions));
    }
    ExitCode::FAILURE
}

/// Write `text` to `out` atomically (a temporary file beside it, then a rename).
fn write_atomic(out: &Path, text: &str) -> Result<(), String> {
    phone_jpki_impl::fsio::write_atomic(out, text.as_bytes())
}

/// `phone-jpki record TRACE [--out FILE]`: drive our implementation along the trace's actions
/// in the trace's configuration; the recorded trace on stdout (or in FILE).
pub fn record_cmd(path: &Path, out: Option<&Path>, seed: u64) -> ExitCode {
    let t = match read_trace(path, false) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let actions: Vec<_> = t.steps.iter().map(|s| s.2).collect();
    let description = Some(format!(
        "recorded from phone-jpki-impl along {}",
        path.display()
    ));
    let text = match phone_jpki_checks::record::record(&t.config, &actions, seed, description) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("phone-jpki: record {}: {e}", path.display());
            return ExitCode::from(2);
        }
    };
    match out {
        None => print!("{text}"),
        Some(o) => {
            if let Err(e) = write_atomic(o, &text) {
                eprintln!("phone-jpki: --out {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// `phone-jpki upgrade TRACE [--out FILE]`: a `phone-jpki-trace/1` file as version 2, every
/// configuration field spelled out (the same world and steps).
pub fn upgrade_cmd(path: &Path, out: Option<&Path>) -> ExitCode {
    let t = match read_trace(path, false) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let mut header = t.header.clone();
    header.format = trace::TraceFormat::V2;
    header.config = trace::TraceConfig::of(&t.config);
    let steps: Vec<_> = t.steps.iter().map(|s| s.1.clone()).collect();
    let text = trace::write(&header, &steps);
    match out {
        None => print!("{text}"),
        Some(o) => {
            if let Err(e) = write_atomic(o, &text) {
                eprintln!("phone-jpki: --out {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// `phone-jpki driver`: our implementation behind the driver protocol on stdin/stdout.
pub fn driver_cmd() -> ExitCode {
    let stdin = std::io::stdin();
    match phone_jpki_checks::driver::server::serve(stdin.lock(), std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phone-jpki driver: {e}");
            ExitCode::from(2)
        }
    }
}

/// The report format name.
pub const REPORT_FORMAT: &str = "phone-jpki-conform-report/1";

/// Write the conformance report: `file` (JSON) and `file` with `.md` (Markdown).
pub fn write_report(file: &Path, figures: &serde_json::Value, ok: bool) -> Result<PathBuf, String> {
    let mut r = figures.clone();
    r["format"] = json!(REPORT_FORMAT);
    r["verdict"] = json!(if ok { "conforms" } else { "diverges" });
    let text = serde_json::to_string_pretty(&r).map_err(|e| e.to_string())? + "\n";
    let md_path = file.with_extension("md");
    write_atomic(file, &text)?;
    write_atomic(&md_path, &markdown(&r))?;
    Ok(md_path)
}

fn markdown(r: &serde_json::Value) -> String {
    let s = |p: &str| {
        r.pointer(p).map_or("-".to_string(), |v| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    let mut m = String::new();
    m += "# Conformance report (phone-jpki)\n\n";
    m += &format!("- Verdict: **{}**\n", s("/verdict"));
    m += &format!("- System: {}\n", s("/system"));
    m += &format!(
        "- Model: version {}, {}\n",
        s("/model/version"),
        s("/model/hash")
    );
    m += &format!(
        "- World: {} (configuration `{}`)\n",
        s("/world"),
        s("/config")
    );
    m += &format!("- Modes: {}\n", s("/modes"));
    if r.get("exhaustive").is_some() {
        m += &format!(
            "- Edges: {} / {} (states {} / {}), complete: {}\n",
            s("/exhaustive/edges"),
            s("/exhaustive/model_edges"),
            s("/exhaustive/states"),
            s("/exhaustive/model_states"),
            s("/exhaustive/complete")
        );
    }
    if r.get("classes").is_some() {
        m += &format!(
            "- Edge classes: {} / {}\n",
            s("/classes/covered"),
            s("/classes/total")
        );
    }
    if r.get("random").is_some() {
        m += &format!(
            "- Random: {} sequences, {} actions\n",
            s("/random/sequences"),
            s("/random/actions")
        );
    }
    m += &format!("- Refusals exercised: {}\n", s("/refusals_exercised"));
    m += &format!("- Time: {} s\n", s("/seconds"));
    match r.get("divergence") {
        Some(serde_json::Value::String(d)) => m += &format!("\n## Divergence\n\n```\n{d}```\n"),
        _ => m += "\nNo divergence.\n",
    }
    m
}

/// `phone-jpki verify-report FILE`: 0 when the report was made against this binary's model
/// (same hash), 1 when against another model, 2 when it is not a report.
pub fn verify_report_cmd(file: &Path) -> ExitCode {
    let text = match read_capped(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("phone-jpki: {e}");
            return ExitCode::from(2);
        }
    };
    let v = match std::str::from_utf8(&text)
        .map_err(|_| "not UTF-8".to_string())
        .and_then(|t| {
            trace::parse_line(t).map_err(|e| format!("column {}: {}", e.column, e.message))
        }) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("phone-jpki: {}: not a report: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    if v.get("format").and_then(|f| f.as_str()) != Some(REPORT_FORMAT) {
        eprintln!(
            "phone-jpki: {}: not a report (\"format\" is not {REPORT_FORMAT:?})",
            file.display()
        );
        return ExitCode::from(2);
    }
    let hash = v
        .pointer("/model/hash")
        .and_then(|h| h.as_str())
        .unwrap_or("");
    let ours = phone_jpki_model::MODEL_HASH;
    if hash == ours {
        println!(
            "{}: made against this model ({ours}); verdict {}",
            file.display(),
            v.get("verdict").and_then(|x| x.as_str()).unwrap_or("?")
        );
        ExitCode::SUCCESS
    } else {
        println!(
            "{}: made against another model: report {hash:?}, this binary {ours}",
            file.display()
        );
        ExitCode::FAILURE
    }
}
