//! Traces: what a system did, step by step, in a form other teams can write without Rust
//! (format `phone-jpki-trace/1`, JSON Lines; schema in `docs/trace.schema.json`), and the
//! replay that checks a trace against the model.
//!
//! Line 1 is a [`Header`]: the format name and the model [`Config`] (omitted fields take the
//! reference configuration's values). Every further non-blank line is a [`Step`]: an action in
//! the alphabet of `docs/ALPHABET.md` with small ids, the outcome the system answered
//! (`"accepted"` or `{"refused": "WrongPin"}`) and optional observed [`Facts`] after the step;
//! only the facts given are compared. The action names cite their R-IDs there; the facts
//! serve R-DELETE (slots), R-REVOKE / R-SUSPEND (cert statuses) and R-TOKEN (pushes).
//!
//! [`parse`] never panics: bad input is a [`TraceError`] naming its line (and column for JSON
//! syntax). [`replay`] checks each step: the action must be offered in the model's state, the
//! outcome must be the model's, and every given fact must match the model's next state.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod action;
mod facts;
mod header;
mod json;
mod parse;
mod render;
mod replay;

pub use action::*;
pub use facts::*;
pub use header::*;
pub use json::{parse_line, plain, JsonError};
pub use parse::*;
pub use render::*;
pub use replay::*;

/// The format name and version every trace's header carries.
pub const FORMAT: &str = "phone-jpki-trace/2";

/// One step: the action, what the system answered, and what it showed afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The action (its name in `action`, its ids beside it).
    #[serde(flatten)]
    pub action: TraceAction,
    /// The outcome the system answered.
    pub outcome: Observed,
    /// Facts observed after the step (only those given are compared).
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
    /// Free text (a seed citation, what the step shows); never compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The JSON Schema of one trace line: a header or a step (`docs/trace.schema.json`).
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Line {
    /// The first line.
    Header(Header),
    /// Every other line.
    Step(Step),
}

/// The JSON Schema of a trace line, pretty-printed (what `docs/trace.schema.json` holds).
///
/// The refusal names are those the model produces ([`producible_refusals`]), the only ones
/// the parser takes.
pub fn schema_json() -> String {
    let mut schema = serde_json::to_value(schemars::schema_for!(Line)).unwrap_or_default();
    let producible: Vec<String> = producible_refusals()
        .iter()
        .map(|r| r.name().to_string())
        .collect();
    if let Some(serde_json::Value::Array(names)) = schema.pointer_mut("/$defs/Refusal/oneOf") {
        names.retain(|n| {
            n.get("const")
                .and_then(|c| c.as_str())
                .is_some_and(|c| producible.iter().any(|p| p == c))
        });
    }
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
