//! `explore --path FILE`: a path to open, given as a trace (docs/trace.schema.json; its
//! header names the world), as a JSON list of actions (`conform --replay`'s format), or as
//! text with one action label a line (`check`'s numbered listing pasted as it is).

use crate::links::actions_from_labels;
use phone_jpki_model::{Action, Config};
use std::path::Path;

/// Read a path file; a trace's own world replaces `c`. Errors name the file and the line.
pub fn read(file: &Path, c: &Config) -> Result<(Config, Vec<Action>), String> {
    let name = file.display();
    let bytes =
        phone_jpki_impl::fsio::read_capped(file).map_err(|e| format!("--path {name}: {e}"))?;
    let text =
        String::from_utf8(bytes.clone()).map_err(|_| format!("--path {name}: not UTF-8 text"))?;
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.trim_start().starts_with('{') {
        let t = phone_jpki_model::trace::parse(&bytes)
            .map_err(|e| format!("--path {name}: not a trace: {e}"))?;
        let tc = t.config.clone();
        let actions: Vec<Action> = t.steps.iter().map(|(_, _, a)| *a).collect();
        let labels: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        actions_from_labels(&tc, &labels).map_err(|e| format!("--path {name}: {e}"))?;
        return Ok((tc, actions));
    }
    if first.trim_start().starts_with('[') {
        let actions: Vec<Action> = serde_json::from_str(&text)
            .map_err(|e| format!("--path {name}: not a JSON list of actions: {e}"))?;
        let labels: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
        actions_from_labels(c, &labels).map_err(|e| format!("--path {name}: {e}"))?;
        return Ok((c.clone(), actions));
    }
    let labels: Vec<String> = text
        .lines()
        .map(|l| {
            let l = l.trim();
            // "12. Label  (refused: X)" as check prints it.
            let l = l
                .split_once(". ")
                .filter(|(n, _)| n.chars().all(|ch| ch.is_ascii_digit()))
                .map_or(l, |(_, rest)| rest);
            l.split("  ").next().unwrap_or(l).trim().to_string()
        })
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let actions = actions_from_labels(c, &labels).map_err(|e| format!("--path {name}: {e}"))?;
    Ok((c.clone(), actions))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("h15-pathfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn labels_numbered_or_not_and_json_lists_read_back() {
        let c = Config::reference();
        let p = tmp("a.txt", "# from check\n 1. InstallApp(h0)\n 2. Apply(h0,auth)  (refused: NoApplet)\nInstallApplet(h0)\n");
        let (_, a) = read(&p, &c).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[1].to_string(), "Apply(h0,auth)");
        let json = serde_json::to_string(&a).unwrap();
        let (_, b) = read(&tmp("a.json", &json), &c).unwrap();
        assert_eq!(a, b);
        let e = read(&tmp("bad.txt", "InstallApp(h0)\nFind(h0)\n"), &c).unwrap_err();
        assert!(
            e.contains("bad.txt: step 2: Find(h0) is not offered there: h0 is not lost"),
            "{e}"
        );
        assert!(read(Path::new("/nonexistent/x"), &c)
            .unwrap_err()
            .starts_with("--path /nonexistent/x"));
    }

    #[test]
    fn a_trace_brings_its_own_world() {
        let trace = r#"{"format":"phone-jpki-trace/1","config":{"persons":1,"phones":1,"kinds":["auth"],"max_events":null,"max_certs":null,"max_sessions":null,"pin_tries":[2,2]}}
{"action":"InstallApp","phone":0,"outcome":"accepted"}
{"action":"Apply","phone":0,"kind":"auth","outcome":{"refused":"NoApplet"}}
"#;
        let (tc, a) = read(&tmp("t.jsonl", trace), &Config::deep()).unwrap();
        assert_eq!((tc.persons, tc.phones, tc.max_events), (1, 1, None));
        assert_eq!(a.len(), 2);
        let link = crate::links::explorer_link("h:1", &tc, &a).unwrap();
        assert_eq!(
            link,
            "http://h:1/path/InstallApp(h0)/Apply(h0,auth)?world=single"
        );
        let e = read(
            &tmp("bad.jsonl", "{\"format\":\"nope\"}\n"),
            &Config::deep(),
        )
        .unwrap_err();
        assert!(e.contains("bad.jsonl: not a trace"), "{e}");
    }
}
