//! ITF export (`check --itf DIR`, `vectors export DIR --format itf`): counterexamples,
//! examples and golden-vector cases as `*.itf.json` files (model/src/itf.rs), written
//! atomically.

use phone_jpki_impl::fsio::write_atomic;
use phone_jpki_model::check::CheckReport;
use phone_jpki_model::{itf, trace, Config};
use std::path::Path;

fn file_name(property: &str) -> String {
    let id = property.split(':').next().unwrap_or(property).trim();
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.itf.json")
}

/// One ITF file per property with a path (a counterexample or an example); the number written.
pub fn write_check(config: &Config, r: &CheckReport, dir: &Path) -> Result<usize, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("--itf {}: {e}", dir.display()))?;
    let mut n = 0;
    for p in &r.properties {
        if let Some(path) = &p.path {
            let what = if p.holds { "example" } else { "counterexample" };
            let v = itf::trace(config, path, &format!("{what} for {}", p.name));
            let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())? + "\n";
            write_atomic(&dir.join(file_name(&p.name)), text.as_bytes())?;
            n += 1;
        }
    }
    Ok(n)
}

/// The golden-vector files as ITF: each `case-N.jsonl` becomes `case-N.itf.json`; the
/// manifest stays.
pub fn vector_files(files: &[(String, String)]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (name, text) in files {
        let Some(stem) = name.strip_suffix(".jsonl") else {
            out.push((name.clone(), text.clone()));
            continue;
        };
        let t = trace::parse(text.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
        let actions: Vec<_> = t.steps.iter().map(|s| s.2).collect();
        let description = t.header.description.clone().unwrap_or_default();
        let v = itf::trace(&t.config, &actions, &description);
        // One line per file: the cases are many.
        let text = serde_json::to_string(&v).map_err(|e| e.to_string())? + "\n";
        out.push((format!("{stem}.itf.json"), text));
    }
    Ok(out)
}
