//! The driver protocol `phone-jpki-driver/1` (docs/DRIVER.md, docs/driver.schema.json):
//! `phone-jpki conform --driver CMD` writes one [`Request`] per line to the driver's standard
//! input and reads one answer per line from its standard output.

use phone_jpki_model::trace::{Facts, Observed, TraceAction, TraceConfig};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The protocol name and version `reset` carries.
pub const PROTOCOL: &str = "phone-jpki-driver/1";

/// The protocol versions this build speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Protocol {
    /// Version 1.
    #[serde(rename = "phone-jpki-driver/1")]
    V1,
}

/// One request of `conform` to the driver.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// Start again from the initial world of `config` (docs/WORLD.md); every field of the
    /// configuration is given. Answer: [`ResetAnswer`].
    Reset {
        /// Always `phone-jpki-driver/1`.
        protocol: Protocol,
        /// The world: persons, phones, kinds, PIN tries, bounds, policy.
        config: TraceConfig,
        /// A seed for anything random in the system (keys); the same seed should give the
        /// same answers.
        seed: u64,
    },
    /// Do one action. Answer: [`StepAnswer`].
    Step {
        /// The action, as in a trace step (docs/ALPHABET.md).
        action: TraceAction,
    },
    /// Remember the current state (only if `reset` answered `"snapshots": true`). Answer:
    /// [`SnapshotAnswer`].
    Snapshot,
    /// Go back to a remembered state. Answer: [`OkAnswer`].
    Restore {
        /// An id a `snapshot` answered.
        id: String,
    },
    /// The run is over: answer [`OkAnswer`] and exit.
    Bye,
}

/// The answer to `reset`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetAnswer {
    /// Always `true`.
    pub ok: bool,
    /// The system's name and version (it goes into the conformance report).
    pub driver: String,
    /// Whether `snapshot` and `restore` are supported (faster exhaustive runs); without them
    /// each edge is reached by a `reset` and the shortest path.
    #[serde(default)]
    pub snapshots: bool,
}

/// The answer to `step`: the outcome and, optionally, facts after the step (trace facts:
/// only those given are compared).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepAnswer {
    /// `"accepted"`, `{"refused": NAME}` or `"not_offered"`.
    pub outcome: Observed,
    /// What the system shows after the step.
    #[serde(default, skip_serializing_if = "Facts::is_empty")]
    pub facts: Facts,
    /// The system's own words (shown in a divergence report, never compared).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The answer to `snapshot`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotAnswer {
    /// Any string naming the remembered state.
    pub id: String,
}

/// The answer to `restore` and `bye`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OkAnswer {
    /// Always `true`.
    pub ok: bool,
}

/// The answer to any request the driver cannot carry out (conform stops with exit 2 and
/// shows the message).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorAnswer {
    /// What went wrong.
    pub error: String,
}

/// Every line a driver may write (the schema's `anyOf`).
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Answer {
    /// To `reset`.
    Reset(ResetAnswer),
    /// To `step`.
    Step(StepAnswer),
    /// To `snapshot`.
    Snapshot(SnapshotAnswer),
    /// To `restore` and `bye`.
    Ok(OkAnswer),
    /// To anything that failed.
    Error(ErrorAnswer),
}

/// Both directions, for the schema document.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Message {
    /// conform to driver.
    Request(Request),
    /// driver to conform.
    Answer(Answer),
}

/// The JSON Schema of the protocol's lines (`docs/driver.schema.json`).
pub fn schema_json() -> String {
    let mut schema = schemars::schema_for!(Message);
    schema.insert("title".into(), PROTOCOL.into());
    let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
    s.push('\n');
    s
}
