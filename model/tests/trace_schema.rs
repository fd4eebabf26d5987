//! docs/trace.schema.json and the parser agree, both ways: documents generated from the schema
//! parse (in the largest world; rejected only for the cross-field rule the schema documents it
//! cannot say), and lines the parser accepts (examples, vectors, mutations of them) are valid
//! under the schema, checked by a small validator of the keywords the schema uses.

use phone_jpki_model::trace::{parse, schema_json};
use phone_jpki_model::vectors::{export, Coverage};
use phone_jpki_model::Config;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestRunner};
use serde_json::{json, Map, Value};

fn schema() -> Value {
    serde_json::from_str(&schema_json()).unwrap()
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(|r| r.as_str()) {
        Some(r) => resolve(root, root.pointer(r.trim_start_matches('#')).unwrap()),
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "integer" => v.is_u64() || v.is_i64(),
        "string" => v.is_string(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => panic!("type {t}"),
    }
}

/// Whether `v` is valid under `s`; the property names a valid object's schema evaluated.
fn valid(root: &Value, s: &Value, v: &Value, seen: &mut Vec<String>) -> bool {
    let s = resolve(root, s);
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    if s.get("const").is_some_and(|c| c != v) {
        return false;
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        if !e.contains(v) {
            return false;
        }
    }
    if let Some(n) = v.as_i64() {
        if s.get("minimum")
            .and_then(Value::as_i64)
            .is_some_and(|m| n < m)
            || s.get("maximum")
                .and_then(Value::as_i64)
                .is_some_and(|m| n > m)
        {
            return false;
        }
    }
    if let Some(a) = v.as_array() {
        let n = a.len() as u64;
        if s.get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|m| n < m)
            || s.get("maxItems")
                .and_then(Value::as_u64)
                .is_some_and(|m| n > m)
        {
            return false;
        }
        if let Some(items) = s.get("items") {
            if !a.iter().all(|x| valid(root, items, x, &mut vec![])) {
                return false;
            }
        }
    }
    let mut own: Vec<String> = Vec::new();
    if let Some(o) = v.as_object() {
        if let Some(Value::Array(req)) = s.get("required") {
            if !req.iter().all(|k| o.contains_key(k.as_str().unwrap())) {
                return false;
            }
        }
        let props = s.get("properties").and_then(Value::as_object);
        let patterns = s.get("patternProperties").and_then(Value::as_object);
        for (k, x) in o {
            if let Some(p) = props.and_then(|p| p.get(k)) {
                if !valid(root, p, x, &mut vec![]) {
                    return false;
                }
                own.push(k.clone());
                continue;
            }
            let pat = patterns.and_then(|pp| pp.iter().find(|(re, _)| matches_key(re, k)));
            if let Some((_, p)) = pat {
                if !valid(root, p, x, &mut vec![]) {
                    return false;
                }
                own.push(k.clone());
                continue;
            }
            if s.get("additionalProperties") == Some(&json!(false)) {
                return false;
            }
        }
    }
    for (kw, exactly_one) in [("oneOf", true), ("anyOf", false)] {
        if let Some(Value::Array(alts)) = s.get(kw) {
            let mut hits = 0;
            for a in alts {
                let mut sub = Vec::new();
                if valid(root, a, v, &mut sub) {
                    hits += 1;
                    if hits == 1 {
                        own.extend(sub);
                    }
                }
            }
            if hits == 0 || (exactly_one && hits > 1) {
                return false;
            }
        }
    }
    if s.get("unevaluatedProperties") == Some(&json!(false)) {
        if let Some(o) = v.as_object() {
            if o.keys().any(|k| !own.contains(k)) {
                return false;
            }
        }
    }
    seen.extend(own);
    true
}

/// The two key patterns the schema uses (u8 decimal and 0..=3), checked by meaning.
fn matches_key(re: &str, k: &str) -> bool {
    let canonical = k == "0" || (!k.starts_with('0') && k.chars().all(|c| c.is_ascii_digit()));
    match re {
        "^[0-3]$" => matches!(k, "0" | "1" | "2" | "3"),
        _ if re.contains("25[0-5]") => {
            canonical && k.len() <= 3 && k.parse::<u16>().is_ok_and(|n| n <= 255)
        }
        _ => panic!("pattern {re}"),
    }
}

/// A random document valid under `s` (choices from `pick`).
fn generate(root: &Value, s: &Value, pick: &mut dyn FnMut(usize) -> usize) -> Value {
    let s = resolve(root, s);
    if let Some(c) = s.get("const") {
        return c.clone();
    }
    if let Some(Value::Array(e)) = s.get("enum") {
        return e[pick(e.len())].clone();
    }
    for kw in ["oneOf", "anyOf"] {
        if let Some(Value::Array(alts)) = s.get(kw) {
            let mut v = generate(root, &alts[pick(alts.len())], pick);
            // Properties declared beside oneOf (a step's outcome, facts, note).
            if let (Some(Value::Object(props)), Value::Object(o)) = (s.get("properties"), &mut v) {
                add_properties(root, s, props, o, pick);
            }
            return v;
        }
    }
    let t = match s.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts[pick(ts.len())].as_str().unwrap().to_string(),
        _ => panic!("no type in {s}"),
    };
    match t.as_str() {
        "null" => Value::Null,
        "boolean" => Value::Bool(pick(2) == 1),
        "string" => Value::String(["x", "a note", "R-ISSUE"][pick(3)].into()),
        "integer" => {
            let lo = s.get("minimum").and_then(Value::as_u64).unwrap_or(0);
            let hi = s
                .get("maximum")
                .and_then(Value::as_u64)
                .unwrap_or(9)
                .min(lo + 9);
            json!(lo + pick((hi - lo + 1) as usize) as u64)
        }
        "array" => {
            let lo = s.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
            let hi = s
                .get("maxItems")
                .and_then(Value::as_u64)
                .map_or(lo + 2, |m| m as usize);
            let n = lo + pick(hi - lo + 1);
            let items = s.get("items").unwrap();
            Value::Array((0..n).map(|_| generate(root, items, pick)).collect())
        }
        "object" => {
            let mut o = Map::new();
            if let Some(Value::Object(props)) = s.get("properties") {
                add_properties(root, s, props, &mut o, pick);
            }
            if let Some(Value::Object(pp)) = s.get("patternProperties") {
                for (re, p) in pp {
                    for _ in 0..pick(3) {
                        let key = if re == "^[0-3]$" { pick(4) } else { pick(12) };
                        o.insert(key.to_string(), generate(root, p, pick));
                    }
                }
            }
            Value::Object(o)
        }
        other => panic!("type {other}"),
    }
}

fn add_properties(
    root: &Value,
    s: &Value,
    props: &Map<String, Value>,
    o: &mut Map<String, Value>,
    pick: &mut dyn FnMut(usize) -> usize,
) {
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (k, p) in props {
        if required.contains(&k.as_str()) || pick(2) == 1 {
            o.insert(k.clone(), generate(root, p, pick));
        }
    }
}

/// The largest world: every id of a schema-valid step is in range, both kinds in play.
const LARGEST: &str = r#"{"format":"phone-jpki-trace/2","config":{"persons":4,"phones":5,"kinds":["auth","sign"],"max_events":null,"max_certs":null,"max_sessions":null}}"#;

#[test]
fn documents_generated_from_the_schema_parse() {
    let root = schema();
    let header_schema = json!({ "$ref": "#/$defs/Header" });
    let step_schema = json!({ "$ref": "#/$defs/Step" });
    let mut runner = TestRunner::new(PtConfig::with_cases(400));
    let (headers, cross_field) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    runner
        .run(&proptest::collection::vec(any::<u32>(), 64), |choices| {
            let mut i = 0;
            let mut pick = |n: usize| {
                i += 1;
                choices[i % choices.len()] as usize % n.max(1)
            };
            let h = generate(&root, &header_schema, &mut pick);
            let st = generate(&root, &step_schema, &mut pick);
            prop_assert!(valid(&root, &header_schema, &h, &mut vec![]), "{h}");
            prop_assert!(valid(&root, &step_schema, &st, &mut vec![]), "{st}");
            match parse(format!("{h}\n").as_bytes()) {
                Ok(_) => headers.set(headers.get() + 1),
                Err(e) => {
                    // Constraints across fields the schema cannot state (the world's size,
                    // THREAT-PIN-KNOWN naming persons of the world), and `uniqueItems`,
                    // which this test's generator does not follow.
                    let e = e.to_string();
                    prop_assert!(
                        e.contains("possible certificates")
                            || e.contains("not a person of the world")
                            || (e.contains("pin_known names") && e.contains("twice")),
                        "{h}: {e}"
                    );
                    cross_field.set(cross_field.get() + 1);
                }
            }
            let text = format!("{LARGEST}\n{st}\n");
            prop_assert!(
                parse(text.as_bytes()).is_ok(),
                "{st}: {:?}",
                parse(text.as_bytes()).err()
            );
            Ok(())
        })
        .unwrap();
    let (h, c) = (headers.get(), cross_field.get());
    assert!(h > c, "{h} headers parsed, {c} cross-field");
}

fn lines_valid(root: &Value, text: &str) {
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(l).unwrap();
        assert!(
            valid(root, root, &v, &mut vec![]),
            "not valid under the schema: {l}"
        );
    }
}

#[test]
fn what_the_parser_accepts_is_valid_under_the_schema() {
    let root = schema();
    let x = export(
        &Config {
            max_events: Some(1),
            ..Config::single()
        },
        Coverage::EdgeClasses,
    );
    let mut corpus = Vec::new();
    for (name, text) in &x.files {
        if name.ends_with(".jsonl") {
            corpus.push(text.clone());
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples");
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            corpus.push(std::fs::read_to_string(p).unwrap());
        }
    }
    for text in &corpus {
        assert!(parse(text.as_bytes()).is_ok());
        lines_valid(&root, text);
    }
    // Mutations the parser still accepts are valid too.
    let base = corpus.last().unwrap().clone();
    let mut runner = TestRunner::new(PtConfig::with_cases(2000));
    let accepted = std::cell::Cell::new(0);
    runner
        .run(
            &(
                any::<prop::sample::Index>(),
                any::<prop::sample::Index>(),
                0u8..4,
            ),
            |(at, with, op)| {
                let mut lines: Vec<String> = base.lines().map(String::from).collect();
                let i = 1 + at.index(lines.len() - 1);
                let other = corpus[with.index(corpus.len())]
                    .lines()
                    .nth(1)
                    .unwrap_or("{}");
                let edits = [
                    (r#""phone":0"#, r#""phone":7"#),
                    (r#""accepted""#, r#""not_offered""#),
                    (r#""holds":"cert""#, r#""holds":"cert","extra":1"#),
                    (r#""auth""#, r#""sign""#),
                ];
                match op {
                    0 => lines[i] = other.to_string(),
                    _ => {
                        let (from, to) = edits[with.index(edits.len())];
                        lines[i] = lines[i].replacen(from, to, 1);
                    }
                }
                let text = lines.join("\n");
                if parse(text.as_bytes()).is_ok() {
                    accepted.set(accepted.get() + 1);
                    lines_valid(&root, &text);
                }
                Ok(())
            },
        )
        .unwrap();
    assert!(accepted.get() > 0);
}
