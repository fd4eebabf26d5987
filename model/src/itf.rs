//! The Informal Trace Format (ITF) of Apalache and Quint
//! (<https://apalache-mc.org/docs/adr/015adr-trace.html>): a path of the model as a JSON
//! object `{"#meta", "vars", "states"}` that their tools and viewers read. Each state holds
//! the model state's fields plus `action` (the action that led to it, `"init"` first) and
//! `outcome` (`"accepted"`, `"refused X"`, or `"init"`).
//!
//! Encoding of the state's values: integers as `{"#bigint": "N"}`, lists as JSON arrays,
//! structs as records, enum values as variants `{"tag": NAME, "value": ...}` (a unit variant's
//! value is `"U_OF_UNIT"`, as Apalache writes it; a payload that is not a record is wrapped in
//! the record `{"arg": payload}`), an absent optional value as the variant `Absent` (`None`
//! is a keyword for Python readers). A present optional value is the value itself.

use crate::action::Action;
use crate::config::Config;
use crate::rules::step;
use crate::state::State;
use serde_json::{json, Map, Value};

/// The value of a unit variant, as Apalache writes it.
fn unit() -> Value {
    Value::String("U_OF_UNIT".into())
}

/// A `serde_json` value of the model in ITF terms.
pub fn value(v: &Value) -> Value {
    match v {
        Value::Null => json!({ "tag": "Absent", "value": unit() }),
        Value::Bool(b) => Value::Bool(*b),
        Value::Number(n) => json!({ "#bigint": n.to_string() }),
        // serde writes a unit enum variant as its name.
        Value::String(s) if s.starts_with(|c: char| c.is_ascii_uppercase()) => {
            json!({ "tag": s, "value": unit() })
        }
        Value::String(s) => Value::String(s.clone()),
        Value::Array(a) => Value::Array(a.iter().map(value).collect()),
        Value::Object(o) => {
            // serde writes a variant with data as {"Name": data}.
            if o.len() == 1 {
                let (k, inner) = o
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v))
                    .unwrap_or_default();
                if k.starts_with(|c: char| c.is_ascii_uppercase()) {
                    // A payload that is not a record goes in the record {"arg": ...}, so that
                    // readers taking a variant's object payload for a record (itf-py) read it.
                    let payload = match value(inner) {
                        Value::Object(r) if !r.keys().any(|k| k.starts_with('#')) => {
                            Value::Object(r)
                        }
                        other => json!({ "arg": other }),
                    };
                    return json!({ "tag": k, "value": payload });
                }
            }
            Value::Object(o.iter().map(|(k, v)| (k.clone(), value(v))).collect())
        }
    }
}

fn state_record(index: usize, s: &State, action: &str, outcome: &str) -> Value {
    let mut rec = Map::new();
    rec.insert("#meta".into(), json!({ "index": index }));
    if let Value::Object(fields) = serde_json::to_value(s).unwrap_or_default() {
        for (k, v) in fields {
            rec.insert(k, value(&v));
        }
    }
    rec.insert("action".into(), Value::String(action.into()));
    rec.insert("outcome".into(), Value::String(outcome.into()));
    Value::Object(rec)
}

/// The ITF trace of `actions` from the initial state of `config` (the actions are taken as
/// the model answers them, offered or not).
pub fn trace(config: &Config, actions: &[Action], description: &str) -> Value {
    let mut s = State::initial(config);
    let mut states = vec![state_record(0, &s, "init", "init")];
    for (i, &a) in actions.iter().enumerate() {
        let o = step(config, &s, a);
        let outcome = match o.result {
            Ok(()) => "accepted".to_string(),
            Err(r) => format!("refused {r}"),
        };
        s = o.next;
        states.push(state_record(i + 1, &s, &a.to_string(), &outcome));
    }
    // The variables: the state's fields (whatever the model holds) and action, outcome.
    let vars: Vec<String> = states[0]
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "#meta").cloned().collect())
        .unwrap_or_default();
    json!({
        "#meta": {
            "format": "ITF",
            "format-description": "https://apalache-mc.org/docs/adr/015adr-trace.html",
            "source": "phone-jpki model",
            "description": description,
            "config": crate::trace::TraceConfig::of(config),
        },
        "vars": vars,
        "states": states,
    })
}
