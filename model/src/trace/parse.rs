//! Reading a trace: JSON Lines to a [`ParsedTrace`], every error naming its line.

use super::*;
use crate::action::Action;
use crate::config::Config;
use serde::Serialize;
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
            TraceError::WrongFormat { line, found } => {
                write!(f, "line {line}: format {found:?}, expected {FORMAT:?}")
            }
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

fn json_line(line: usize, text: &str) -> Result<serde_json::Value, TraceError> {
    serde_json::from_str(text).map_err(|e| TraceError::Syntax {
        line,
        column: e.column(),
        message: e.to_string(),
    })
}

/// Parse a trace. Blank lines are skipped; everything else must be a header (first) or a step.
pub fn parse(input: &[u8]) -> Result<ParsedTrace, TraceError> {
    let mut header: Option<(Header, Config)> = None;
    let mut steps = Vec::new();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let text = std::str::from_utf8(raw).map_err(|_| TraceError::NotUtf8 { line })?;
        if text.trim().is_empty() {
            continue;
        }
        let value = json_line(line, text)?;
        match &header {
            None => {
                let obj = value.as_object().ok_or_else(|| TraceError::MissingHeader {
                    line,
                    message: "the first line is not a JSON object".into(),
                })?;
                let format = match obj.get("format") {
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(_) => {
                        return Err(TraceError::MissingHeader {
                            line,
                            message: "\"format\" is not a string".into(),
                        })
                    }
                    None => {
                        return Err(TraceError::MissingHeader {
                            line,
                            message: "the first line has no \"format\"".into(),
                        })
                    }
                };
                if format != FORMAT {
                    return Err(TraceError::WrongFormat {
                        line,
                        found: format,
                    });
                }
                let h: Header =
                    serde_json::from_value(value).map_err(|e| TraceError::BadConfig {
                        line,
                        message: e.to_string(),
                    })?;
                let c = h
                    .config
                    .to_config()
                    .map_err(|message| TraceError::BadConfig { line, message })?;
                header = Some((h, c));
            }
            Some((_, config)) => {
                let (st, a) = parse_step(config, value)
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

fn parse_step(config: &Config, value: serde_json::Value) -> Result<(Step, Action), String> {
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
    let st: Step = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    let allowed = st.action.fields();
    for key in obj.keys() {
        if !matches!(key.as_str(), "action" | "outcome" | "facts")
            && !allowed.contains(&key.as_str())
        {
            return Err(format!(
                "unknown field {key:?} for {} (expected {})",
                obj["action"],
                allowed.join(", ")
            ));
        }
    }
    for f in &st.facts.slots {
        if f.phone >= config.phones {
            return Err(format!("facts: slot phone {} out of range", f.phone));
        }
    }
    let a = st.action.to_model(config)?;
    Ok((st, a))
}
