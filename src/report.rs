//! `phone-jpki report --out DIR`: a design report a study group can attach to its minutes,
//! as one self-contained HTML page (`report.html`, pictures inline) and a Markdown twin
//! (`report.md`, pictures in `img/`). Same bytes on every run: no times, no dates.
//! Also the HTML of `check --html FILE`.

use crate::links::{explorer_link, DEFAULT_ADDR};
use crate::matrix::{cell, columns, Row};
use crate::picture::{esc, state_svg, steps, timeline_svg, words};
use crate::variants::policy_names;
use phone_jpki_model::check::{CheckReport, Verdict};
use phone_jpki_model::properties::{self, Expectation};
use phone_jpki_model::{Action, Config};
use std::collections::BTreeSet;
use std::path::Path;

const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:16px;color:#1f2328}\
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #d0d7de;padding:3px 6px;text-align:left}\
td.meant{background:#fff1c2;font-weight:bold}td.missed{background:#eaeef2;font-style:italic}td.what{min-width:260px}td.collateral{background:#ffd7d5}td.reached{color:#b42318}\
td.holds,td.closed,td.risk-closed{color:#1a7f37}.fails{color:#b42318;font-weight:bold}ol li{font-family:monospace}\
.changes{color:#57606a;font-family:sans-serif;font-size:12px}";

/// A path as HTML: numbered steps in words, its timeline, the final state and what fails.
pub fn path_html(c: &Config, title: &str, path: &[Action], fails: Option<&str>) -> String {
    let (views, last) = steps(c, path);
    let mut out = format!("<h3>{}</h3>\n<ol>\n", esc(title));
    for v in &views {
        out += &format!(
            "<li>{}{}{}<div class='changes'>{}</div></li>\n",
            esc(&v.label),
            v.refusal
                .as_ref()
                .map_or(String::new(), |r| format!(" — refused: {}", esc(r))),
            v.mark
                .as_ref()
                .map_or(String::new(), |m| format!(" — ⚠ {}", esc(m))),
            v.changes
                .iter()
                .map(|x| esc(x))
                .collect::<Vec<_>>()
                .join("<br>")
        );
    }
    out += "</ol>\n";
    out += &timeline_svg(&views, None);
    out += "\n<p>Final state:</p>\n";
    out += &state_svg(c, &last);
    if let Some(f) = fails {
        out += &format!("\n<p class='fails'>Fails there: {}</p>\n", esc(f));
    }
    if let Ok(l) = explorer_link(DEFAULT_ADDR, c, path) {
        out += &format!(
            "<p>Open in the Explorer (<code>phone-jpki explore</code>): <a href='{0}'>{0}</a></p>\n",
            esc(&l)
        );
    }
    out
}

/// The world in words.
pub fn world_text(c: &Config) -> String {
    let b = |x: Option<u8>| x.map_or("unbounded".to_string(), |n| n.to_string());
    format!(
        "{} persons, {} phones, kinds {:?}, PIN tries {:?}, card generations {}, issuances per person and kind {}, \
         app installs per phone {}, hand-overs per phone {}, detours in the world {}, sessions at once {}, phone certs {}",
        c.persons,
        c.phones,
        c.kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        c.pin_tries,
        c.max_card_generations,
        c.max_issuances,
        c.max_app_installs,
        c.max_handovers,
        b(c.max_events),
        b(c.max_sessions),
        b(c.max_certs)
    )
}

/// The broken cells: (row, property name, path), in table order.
fn broken_cells(rows: &[Row]) -> Vec<(&Row, &str, &[Action])> {
    let mut v = Vec::new();
    for row in rows {
        for p in &row.report.properties {
            if let (Verdict::Broken, Some(path)) = (p.verdict(row.report.complete), &p.path) {
                v.push((row, p.name.as_str(), path.as_slice()));
            }
        }
    }
    v
}

fn cell_class(row: &Row, baseline: &BTreeSet<String>, id: &str, text: &str) -> &'static str {
    let meant = row.meant().contains(id);
    if meant && row.broke(baseline).contains(id) {
        "meant"
    } else if meant {
        "missed"
    } else if id.starts_with("RISK") && text == "closed" && row.broke(baseline).contains(id) {
        // A risk the variant closes is a changed verdict, not a break.
        "risk-closed"
    } else if row.broke(baseline).contains(id) {
        "collateral"
    } else if text.starts_with("reached") && id.starts_with("RISK") {
        "reached"
    } else if text == "closed" {
        "closed"
    } else {
        "holds"
    }
}

/// The report: (HTML, Markdown, pictures for the Markdown as (file name, SVG)).
pub fn build(base: &Config, rows: &[Row]) -> (String, String, Vec<(String, String)>) {
    let default = &rows[0].report;
    let baseline = crate::matrix::baseline(rows);
    let cols = columns(default);
    let flags = crate::links::config_flags(base)
        .map(|f| {
            f.iter()
                .map(|(k, v)| format!("--{k} {v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut h = format!("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>phone-jpki design report</title><style>{STYLE}</style></head><body>\n<h1>JPKI on smartphones: design report</h1>\n");
    let mut m = String::from("# JPKI on smartphones: design report\n\n");
    let fig = figures(default);
    let world = format!("World checked (`{flags}`): {}. {fig}", world_text(base));
    h += &format!("<h2>The world checked</h2>\n<p>{}</p>\n", esc(&world));
    m += &format!("## The world checked\n\n{world}\n\n");
    // The table.
    let intro = "Rows: the seeds' design and each variant (one design answer changed). Cells: \
                 holds; broken (n) = a counterexample of n steps; for a RISK, reached (n) = the risk \
                 exists, closed = it cannot happen. Marked: the cell the variant is meant to break \
                 (yellow, ◆; grey when this world is too small for it) collateral breaks (red, ✗), and a risk this variant closes though the seeds' design leaves it open (△).";
    h += &format!("<h2>Design alternatives × properties</h2>\n<p>{}</p>\n<table><tr><th>variant</th><th>kind</th><th>what it changes</th>", esc(intro));
    m += &format!(
        "## Design alternatives × properties\n\n{intro}\n\n| variant | kind | what it changes |"
    );
    for id in &cols {
        h += &format!("<th>{}</th>", esc(id));
        m += &format!(" {id} |");
    }
    h += "</tr>\n";
    m += &format!("\n|---|---|---|{}\n", "---|".repeat(cols.len()));
    for row in rows {
        let sentence = row
            .variant
            .map_or("the seeds' design", crate::variants::sentence);
        let kind = if row.variant.is_some() {
            "fault"
        } else {
            "default"
        };
        h += &format!(
            "<tr><td>{}</td><td>{kind}</td><td class='what'>{}</td>",
            esc(row.name()),
            esc(sentence)
        );
        m += &format!("| {} | {kind} | {sentence} |", row.name());
        for id in &cols {
            let t = cell(&row.report, id);
            let class = cell_class(row, &baseline, id, &t);
            let mark = match class {
                "meant" => "◆ ",
                "missed" => "◆ not broken in this world: ",
                "collateral" => "✗ ",
                "risk-closed" => "△ ",
                _ => "",
            };
            h += &format!("<td class='{class}'>{mark}{}</td>", esc(&t));
            m += &format!(" {mark}{t} |");
        }
        h += "</tr>\n";
        m += "\n";
    }
    h += "</table>\n";
    m += "\n";
    // Counterexamples.
    h += "<h2>Counterexamples</h2>\n";
    m += "## Counterexamples\n\n";
    let mut pictures = Vec::new();
    for (n, (row, name, path)) in broken_cells(rows).into_iter().enumerate() {
        let c = row.config();
        let id = name.split(':').next().unwrap_or(name);
        let title = format!(
            "{}: {id} broken in {} steps{}",
            row.name(),
            path.len(),
            if row.meant().contains(id) {
                " (meant)"
            } else {
                " (collateral)"
            }
        );
        h += &path_html(&c, &title, path, Some(name));
        let (views, last) = steps(&c, path);
        m += &format!("### {title}\n\n");
        for (i, v) in views.iter().enumerate() {
            m += &format!(
                "{}. `{}`{}{}{}\n",
                i + 1,
                v.label,
                v.refusal
                    .as_ref()
                    .map_or(String::new(), |r| format!(" — refused: {r}")),
                v.mark
                    .as_ref()
                    .map_or(String::new(), |x| format!(" — ⚠ {x}")),
                if v.changes.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", v.changes.join("; "))
                }
            );
        }
        let (tl, st) = (
            format!("cex-{n:02}-timeline.svg"),
            format!("cex-{n:02}-state.svg"),
        );
        m += &format!("\n![timeline](img/{tl})\n\nFinal state:\n\n```\n");
        for l in words(&c, &last) {
            m += &format!("{l}\n");
        }
        m += &format!("```\n\n![final state](img/{st})\n\n**Fails there:** {name}\n\n");
        pictures.push((tl, timeline_svg(&views, None)));
        pictures.push((st, state_svg(&c, &last)));
    }
    // Catalogue.
    h += "<h2>Property catalogue</h2>\n<table><tr><th>ID</th><th>kind</th><th>statement</th><th>seeds' design</th></tr>\n";
    m += "## Property catalogue\n\n| ID | kind | statement | seeds' design |\n|---|---|---|---|\n";
    for p in properties::for_config(base) {
        let kind = match p.expectation {
            Expectation::Always => "invariant (always)",
            Expectation::Sometimes => "reachable (sometimes)",
        };
        let verdict = default
            .property(p.id())
            .map(|r| r.verdict(default.complete).word())
            .unwrap_or("-");
        let text = p.name.split_once(": ").map_or("", |x| x.1);
        h += &format!(
            "<tr><td>{}</td><td>{kind}</td><td>{}</td><td>{verdict}</td></tr>\n",
            esc(p.id()),
            esc(text)
        );
        m += &format!("| {} | {kind} | {text} | {verdict} |\n", p.id());
    }
    h += "</table>\n</body></html>\n";
    (h, m, pictures)
}

fn figures(r: &CheckReport) -> String {
    format!(
        "The seeds' design: {} states, {} state-changing steps, longest shortest path {} steps, {}.",
        r.unique_states,
        r.states.saturating_sub(1),
        r.max_depth,
        if r.complete {
            "every state visited"
        } else {
            "UNDECIDED: the search was cut short"
        }
    )
}

/// Write `bytes` to `path` through a temporary file and a rename (no partial file).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("tmp-partial");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

/// `check --html FILE`: the check's summary and every printed path as pictures.
pub fn check_html(c: &Config, r: &CheckReport) -> String {
    let mut h = format!("<!doctype html><html lang='en'><head><meta charset='utf-8'><title>phone-jpki check</title><style>{STYLE}</style></head><body>\n<h1>phone-jpki check</h1>\n<p>{}</p>\n<p>{}</p>\n<table>\n",
        esc(&world_text(c)),
        esc(&format!("policies: {}; {}", {
            let p = policy_names(&c.policy);
            if p.is_empty() { "the seeds' design".to_string() } else { p.join(", ") }
        }, figures(r))));
    for p in &r.properties {
        h += &format!(
            "<tr><td>{}</td><td>{}</td></tr>\n",
            p.verdict(r.complete).word(),
            esc(&p.name)
        );
    }
    h += "</table>\n";
    for p in &r.properties {
        let v = p.verdict(r.complete);
        if let Some(path) = &p.path {
            if v == Verdict::Broken || p.name.starts_with("SCN") || p.name.starts_with("RISK") {
                let fails = (v == Verdict::Broken).then_some(p.name.as_str());
                h += &path_html(c, &format!("{} {}", v.word(), p.name), path, fails);
            }
        }
    }
    h + "</body></html>\n"
}

/// `phone-jpki report --out DIR`: check the rows, then write report.html, report.md and
/// img/*.svg. The directory is made usable before any work starts.
pub fn run(base: &Config, out: &Path, threads: usize) -> Result<String, String> {
    let img = out.join("img");
    std::fs::create_dir_all(&img).map_err(|e| format!("--out {}: {e}", out.display()))?;
    let probe = out.join(".write-test");
    std::fs::write(&probe, b"")
        .map_err(|e| format!("--out {}: not writable: {e}", out.display()))?;
    let _ = std::fs::remove_file(&probe);
    let rows = crate::matrix::run(base, threads, true);
    let (h, m, pics) = build(base, &rows);
    for (name, svg) in &pics {
        write_atomic(&img.join(name), svg.as_bytes())?;
    }
    write_atomic(&out.join("report.md"), m.as_bytes())?;
    write_atomic(&out.join("report.html"), h.as_bytes())?;
    Ok(format!(
        "wrote {} and {} ({} pictures in {})",
        out.join("report.html").display(),
        out.join("report.md").display(),
        pics.len(),
        img.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_marks_meant_and_collateral_cells_and_is_deterministic() {
        let mut base = Config::single();
        base.max_events = Some(1);
        let rows = crate::matrix::run(&base, 2, false);
        let (h, m, pics) = build(&base, &rows);
        let (h2, m2, _) = build(&base, &crate::matrix::run(&base, 1, false));
        assert_eq!((&h, &m), (&h2, &m2));
        assert!(
            h.contains("<td class='meant'>◆ broken (4)</td>"),
            "keygen-at-tsm's cell"
        );
        assert!(m.contains("### keygen-at-tsm: INV-KEY-IN-SE broken in 4 steps (meant)"));
        assert!(m.contains("**Fails there:** INV-KEY-IN-SE"));
        assert!(h.matches("<svg").count() >= 2 * broken_cells(&rows).len());
        assert_eq!(pics.len(), 2 * broken_cells(&rows).len());
        assert!(h.contains("<td>INV-PIN</td><td>invariant (always)</td>"));
        assert!(!h.contains("http://") || h.contains("http://127.0.0.1:3000/path/"));
    }
}
