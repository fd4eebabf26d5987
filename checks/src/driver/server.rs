//! Our implementation behind the driver protocol (`phone-jpki driver`): each `step` runs the
//! action on the implementation through the recorder and answers its outcome and every fact
//! it shows; snapshots are clones of the whole system.

use super::protocol::{
    ErrorAnswer, OkAnswer, Protocol, Request, ResetAnswer, SnapshotAnswer, StepAnswer,
};
use crate::record::Recorder;
use phone_jpki_model::trace::{parse_line, plain, TraceFormat};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, Write};

/// The driver's state between requests.
#[derive(Default)]
pub struct Server {
    current: Option<Recorder>,
    snapshots: BTreeMap<String, Recorder>,
}

fn line<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn error(message: String) -> String {
    line(&ErrorAnswer { error: message })
}

impl Server {
    /// Answer one request line; `None` after `bye`.
    pub fn answer(&mut self, text: &str) -> (String, bool) {
        let request: Request = match parse_line(text) {
            Err(e) => return (error(format!("column {}: {}", e.column, e.message)), true),
            Ok(v) => match serde_json::from_value(v) {
                Ok(r) => r,
                Err(e) => return (error(plain(&e.to_string())), true),
            },
        };
        match request {
            Request::Reset {
                protocol: Protocol::V1,
                config,
                seed,
            } => {
                let made = config
                    .to_config(TraceFormat::V2)
                    .map_err(|e| format!("config: {e}"))
                    .and_then(|c| Recorder::new(&c, seed).map_err(|e| e.to_string()));
                match made {
                    Ok(r) => {
                        self.current = Some(r);
                        self.snapshots.clear();
                        let ok = ResetAnswer {
                            ok: true,
                            driver: format!("phone-jpki-impl {}", env!("CARGO_PKG_VERSION")),
                            snapshots: true,
                        };
                        (line(&ok), true)
                    }
                    Err(e) => (error(e), true),
                }
            }
            Request::Step { action } => {
                let Some(r) = self.current.as_mut() else {
                    return (error("step before reset".into()), true);
                };
                let a = match action.to_model(r_config(r)) {
                    Ok(a) => a,
                    Err(e) => return (error(e), true),
                };
                match r.answer(a) {
                    Ok((outcome, note, facts)) => (
                        line(&StepAnswer {
                            outcome,
                            facts,
                            note,
                        }),
                        true,
                    ),
                    Err(e) => (error(e.to_string()), true),
                }
            }
            Request::Snapshot => match &self.current {
                None => (error("snapshot before reset".into()), true),
                Some(r) => {
                    let id = format!("s{}", self.snapshots.len());
                    self.snapshots.insert(id.clone(), r.clone());
                    (line(&SnapshotAnswer { id }), true)
                }
            },
            Request::Restore { id } => match self.snapshots.get(&id) {
                None => (error(format!("no snapshot {id:?}")), true),
                Some(r) => {
                    self.current = Some(r.clone());
                    (line(&OkAnswer { ok: true }), true)
                }
            },
            Request::Bye => (line(&OkAnswer { ok: true }), false),
        }
    }
}

fn r_config(r: &Recorder) -> &phone_jpki_model::Config {
    r.config()
}

/// Serve requests from `input` until `bye` or the end of input.
pub fn serve(input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
    let mut server = Server::default();
    for text in input.lines() {
        let text = text?;
        if text.trim().is_empty() {
            continue;
        }
        let (answer, go_on) = server.answer(&text);
        writeln!(output, "{answer}")?;
        output.flush()?;
        if !go_on {
            break;
        }
    }
    Ok(())
}
