//! The JSON Schema of a trace line (`docs/trace.schema.json`): generated from the types,
//! then narrowed to exactly what the parser takes for format 2 in the largest world (4
//! persons, 5 phones, both kinds): id ranges, the configuration's limits, the refusals the
//! model produces, no unknown step fields, `null` only in the bounds. What the schema cannot
//! say: an id beyond the header's own world, a slot of a kind not in play, a repeated key,
//! more than 250 possible certificates (persons × kinds × max_issuances).
//! `model/tests/trace_schema.rs` checks both directions.

use super::{producible_refusals, Line, NULLABLE};

use serde_json::{json, Value};

/// Largest phone id in any world (`Config::validate`: at most 5 phones).
const MAX_PHONE: u8 = 4;
/// Largest person id in any world (at most 4 persons).
const MAX_PERSON: u8 = 3;

/// Narrow every `phone` / `person` id property below `v`.
fn narrow_ids(v: &mut Value) {
    match v {
        Value::Object(o) => {
            if let Some(Value::Object(props)) = o.get_mut("properties") {
                for (k, max) in [("phone", MAX_PHONE), ("person", MAX_PERSON)] {
                    if let Some(p) = props.get_mut(k) {
                        p["maximum"] = json!(max);
                    }
                }
            }
            for x in o.values_mut() {
                narrow_ids(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(narrow_ids),
        _ => {}
    }
}

/// The schema, pretty-printed with a final newline.
pub fn schema_json() -> String {
    let mut s = serde_json::to_value(schemars::schema_for!(Line)).unwrap_or_default();
    let producible: Vec<String> = producible_refusals()
        .iter()
        .map(|r| r.name().to_string())
        .collect();
    if let Some(Value::Array(names)) = s.pointer_mut("/$defs/Refusal/oneOf") {
        names.retain(|n| {
            n.get("const")
                .and_then(|c| c.as_str())
                .is_some_and(|c| producible.iter().any(|p| p == c))
        });
    }
    if let Some(Value::Object(props)) = s.pointer_mut("/$defs/TraceConfig/properties") {
        for (k, p) in props.iter_mut() {
            if !NULLABLE.contains(&k.as_str()) {
                if let Some(Value::Array(types)) = p.get_mut("type") {
                    types.retain(|t| t != "null");
                    if types.len() == 1 {
                        p["type"] = types[0].clone();
                    }
                }
            }
        }
        for (k, min, max) in [
            ("persons", 1, 4),
            ("phones", 1, 5),
            ("max_card_generations", 1, 255),
            ("max_issuances", 1, 255),
        ] {
            props[k]["minimum"] = json!(min);
            props[k]["maximum"] = json!(max);
        }
        props["kinds"]["minItems"] = json!(1);
        props["pin_tries"]["items"]["minimum"] = json!(1);
        props["pin_tries"]["items"]["maximum"] = json!(15);
        // THREAT-PIN-KNOWN names persons: indices below the largest world's 4, each once.
        props["pin_known"]["items"]["minimum"] = json!(0);
        props["pin_known"]["items"]["maximum"] = json!(3);
        props["pin_known"]["uniqueItems"] = json!(true);
        // Fault variants and the seeds' alternatives, by their `--policy` names.
        let names: Vec<&str> = crate::policy::Choice::all()
            .iter()
            .map(|v| v.name())
            .collect();
        props["policy"]["items"] = json!({ "enum": names, "type": "string" });
    }
    if let Some(step) = s.pointer_mut("/$defs/Step") {
        step["unevaluatedProperties"] = json!(false);
    }
    narrow_ids(&mut s);
    for def in ["TraceRecipient", "HolderFact"] {
        if let Some(Value::Array(alts)) = s.pointer_mut(&format!("/$defs/{def}/anyOf")) {
            for a in alts {
                if a.get("type") == Some(&json!("integer")) {
                    a["maximum"] = json!(MAX_PERSON);
                }
            }
        }
    }
    let u8_key = "^(0|[1-9][0-9]?|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$";
    for (map, key) in [("certs", u8_key), ("cards", "^[0-3]$")] {
        if let Some(Value::Object(pp)) =
            s.pointer_mut(&format!("/$defs/Facts/properties/{map}/patternProperties"))
        {
            if let Some((_, v)) = pp.iter().next().map(|(k, v)| (k.clone(), v.clone())) {
                pp.clear();
                pp.insert(key.to_string(), v);
            }
        }
    }
    let mut text = serde_json::to_string_pretty(&s).unwrap_or_default();
    text.push('\n');
    text
}
