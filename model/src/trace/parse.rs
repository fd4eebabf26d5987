//! Reading a trace: JSON Lines to a [`ParsedTrace`], every error naming its line.

use super::*;
use crate::action::{Action, ActionKind, Refusal};
use crate::config::Config;
use crate::semantics::describe;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// Why a trace could not be read (exit code 2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum TraceError {
    /// A line is not valid UTF-8.
    NotUtf8 {
        /// 1-based line.
        line: usize,
    },
    /// A line is not (complete) JSON.
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column from the JSON parser.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The input is empty or its first line is not a header.
    MissingHeader {
        /// 1-based line.
        line: usize,
        /// What was found.
        message: String,
    },
    /// The header names another format.
    WrongFormat {
        /// 1-based line.
        line: usize,
        /// The format found.
        found: String,
    },
    /// The header's configuration is invalid.
    BadConfig {
        /// 1-based line.
        line: usize,
        /// Which field and why.
        message: String,
    },
    /// A step line is JSON but not a valid step (unknown action, missing or unknown field,
    /// id out of range, bad outcome or facts).
    BadStep {
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl TraceError {
    /// The 1-based line the error is on.
    pub fn line(&self) -> usize {
        match self {
            TraceError::NotUtf8 { line }
            | TraceError::Syntax { line, .. }
            | TraceError::MissingHeader { line, .. }
            | TraceError::WrongFormat { line, .. }
            | TraceError::BadConfig { line, .. }
            | TraceError::BadStep { line, .. } => *line,
        }
    }
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::NotUtf8 { line } => write!(f, "line {line}: not UTF-8"),
            TraceError::Syntax {
                line,
                column,
                message,
            } => write!(f, "line {line}, column {column}: not JSON: {message}"),
            TraceError::MissingHeader { line, message } => write!(
                f,
                "line {line}: missing header {{\"format\": \"{FORMAT}\", \"config\": {{...}}}}: {message}"
            ),
            TraceError::WrongFormat { line, found } => write!(
                f,
                "line {line}: format {found:?}, expected {FORMAT:?} (or the older \"phone-jpki-trace/1\")"
            ),
            TraceError::BadConfig { line, message } => {
                write!(f, "line {line}: bad config: {message}")
            }
            TraceError::BadStep { line, message } => write!(f, "line {line}: bad step: {message}"),
        }
    }
}

impl std::error::Error for TraceError {}

/// A parsed trace: its header, the configuration, and each step with its line and model action.
#[derive(Clone, Debug)]
pub struct ParsedTrace {
    /// The header line.
    pub header: Header,
    /// The configuration it names.
    pub config: Config,
    /// (1-based line, step, the model action).
    pub steps: Vec<(usize, Step, Action)>,
}

/// The refusals the model produces for some action in some state (docs/SEMANTICS.md): the
/// only names a step's `{"refused": NAME}` may carry.
pub fn producible_refusals() -> BTreeSet<Refusal> {
    ActionKind::ALL
        .iter()
        .flat_map(|&k| describe(k).refusals.iter().copied())
        .collect()
}

fn json_line(line: usize, text: &str) -> Result<serde_json::Value, TraceError> {
    json::parse_line(text).map_err(|e| TraceError::Syntax {
        line,
        column: e.column,
        message: e.message,
    })
}

/// Parse a trace. Blank lines are skipped; everything else must be a header (first) or a step.
pub fn parse(input: &[u8]) -> Result<ParsedTrace, TraceError> {
    let mut header: Option<(Header, Config)> = None;
    let mut steps = Vec::new();
    let producible = producible_refusals();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| TraceError::NotUtf8 { line })?;
        if text.trim().is_empty() || (line == 1 && text.trim() == "\u{feff}") {
            continue;
        }
        let value = json_line(line, text)?;
        match &header {
            None => header = Some(parse_header(line, value)?),
            Some((_, config)) => {
                let (st, a) = parse_step(config, &producible, value)
                    .map_err(|message| TraceError::BadStep { line, message })?;
                steps.push((line, st, a));
            }
        }
    }
    let (header, config) = header.ok_or(TraceError::MissingHeader {
        line: 1,
        message: "the input is empty".into(),
    })?;
    Ok(ParsedTrace {
        header,
        config,
        steps,
    })
}

fn parse_header(line: usize, value: serde_json::Value) -> Result<(Header, Config), TraceError> {
    let missing = |message: &str| TraceError::MissingHeader {
        line,
        message: message.into(),
    };
    let obj = value
        .as_object()
        .ok_or_else(|| missing("the first line is not a JSON object"))?;
    let format = match obj.get("format") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(_) => return Err(missing("\"format\" is not a string")),
        None => return Err(missing("the first line has no \"format\"")),
    };
    let Some(version) = TraceFormat::from_name(&format) else {
        return Err(TraceError::WrongFormat {
            line,
            found: format,
        });
    };
    let bad = |message: String| TraceError::BadConfig { line, message };
    if version == TraceFormat::V2 {
        if let Some(serde_json::Value::Object(c)) = obj.get("config") {
            for (k, v) in c {
                if v.is_null() && !NULLABLE.contains(&k.as_str()) {
                    return Err(bad(format!(
                        "config.{k}: null is not a value here (null means \"no bound\" in {} only); omit the field for its default",
                        NULLABLE.join(", ")
                    )));
                }
            }
        }
    }
    let h: Header = serde_json::from_value(value.clone()).map_err(|e| {
        bad(match failing_config_field(&value) {
            Some(field) => format!("config.{field}: {}", json::plain(&e.to_string())),
            None => json::plain(&e.to_string()),
        })
    })?;
    let c = h.config.to_config(version).map_err(bad)?;
    Ok((h, c))
}

/// The first field of the header's `config` that does not read on its own.
fn failing_config_field(header: &serde_json::Value) -> Option<String> {
    let config = header.get("config")?.as_object()?;
    config.iter().find_map(|(k, v)| {
        let one = serde_json::json!({ k.clone(): v.clone() });
        serde_json::from_value::<TraceConfig>(one)
            .is_err()
            .then(|| k.clone())
    })
}

fn parse_step(
    config: &Config,
    producible: &BTreeSet<Refusal>,
    value: serde_json::Value,
) -> Result<(Step, Action), String> {
    let obj = value.as_object().ok_or("a step must be a JSON object")?;
    match obj.get("action") {
        None => return Err("no \"action\" field".into()),
        Some(serde_json::Value::String(name)) => {
            if !crate::ActionKind::ALL.iter().any(|k| k.name() == name) {
                return Err(format!(
                    "unknown action {name:?} (the alphabet is in docs/ALPHABET.md)"
                ));
            }
        }
        Some(_) => return Err("\"action\" must be a string".into()),
    }
    if !obj.contains_key("outcome") {
        return Err(
            "no \"outcome\" field (\"accepted\", {\"refused\": NAME} or \"not_offered\")".into(),
        );
    }
    let st: Step =
        serde_json::from_value(value.clone()).map_err(|e| json::plain(&e.to_string()))?;
    let allowed = st.action.fields();
    for key in obj.keys() {
        if !matches!(key.as_str(), "action" | "outcome" | "facts" | "note")
            && !allowed.contains(&key.as_str())
        {
            return Err(format!(
                "unknown field {key:?} for {} (expected {}; and outcome, facts, note)",
                obj["action"],
                allowed.join(", ")
            ));
        }
    }
    if let Observed::Refused(r) = st.outcome {
        if !producible.contains(&r) {
            return Err(format!(
                "outcome: the model never refuses with {r} (docs/SEMANTICS.md lists the refusals of each action); a system that declines an action the model does not offer answers \"not_offered\""
            ));
        }
    }
    check_fact_ids(config, &st.facts)?;
    let a = st.action.to_model(config)?;
    Ok((st, a))
}

/// Every id in the facts is in the world and every slot kind in play.
fn check_fact_ids(config: &Config, f: &Facts) -> Result<(), String> {
    let phone = |what: &str, h: u8| {
        if h < config.phones {
            Ok(())
        } else {
            Err(format!(
                "facts: {what} phone {h} out of range (the world has {} phones)",
                config.phones
            ))
        }
    };
    for s in &f.slots {
        phone("slot", s.phone)?;
        if !config.kinds.contains(&s.kind) {
            return Err(format!(
                "facts: slot of kind {} on phone {}: the kind is not in play in this configuration",
                s.kind, s.phone
            ));
        }
    }
    for p in &f.phones {
        phone("phones:", p.phone)?;
        if let Some(HolderFact::Person(q)) = p.holder {
            if q >= config.persons {
                return Err(format!(
                    "facts: phone {} holder: person {q} out of range",
                    p.phone
                ));
            }
        }
    }
    for p in f.pushes.iter().flatten() {
        if let PushFact::Target { phone: h, .. } = p {
            phone("push target", *h)?;
        }
    }
    if let Some(&p) = f.cards.keys().find(|&&p| p >= config.persons) {
        return Err(format!(
            "facts: card of person {p} out of range (the world has {} persons)",
            config.persons
        ));
    }
    Ok(())
}
