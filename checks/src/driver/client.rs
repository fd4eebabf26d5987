//! The conform side of the protocol: a [`Sut`] (system under test) is anything that answers
//! `reset`, `step`, `snapshot`, `restore`; [`Process`] is a driver process spoken to over its
//! standard input and output.

use super::protocol::{OkAnswer, Protocol, Request, ResetAnswer, SnapshotAnswer, StepAnswer};
use phone_jpki_model::trace::{parse_line, plain, TraceConfig};
use phone_jpki_model::{Action, Config};
use serde::de::DeserializeOwned;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Why talking to a driver failed (conform exits 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DriverError {
    /// The command could not be started.
    Spawn(String),
    /// The driver closed its output or could not be written to.
    Closed {
        /// The request (compact JSON).
        request: String,
    },
    /// No answer in time.
    Timeout {
        /// The request.
        request: String,
        /// Seconds waited.
        seconds: u64,
    },
    /// An answer that is not the expected JSON.
    BadAnswer {
        /// The request.
        request: String,
        /// The answer line.
        answer: String,
        /// What is wrong.
        message: String,
    },
    /// The driver answered `{"error": ...}`.
    Failed {
        /// The request.
        request: String,
        /// Its message.
        message: String,
    },
}

impl fmt::Display for DriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DriverError::Spawn(e) => write!(f, "driver: cannot start: {e}"),
            DriverError::Closed { request } => {
                write!(f, "driver: closed its output before answering {request}")
            }
            DriverError::Timeout { request, seconds } => {
                write!(f, "driver: no answer to {request} within {seconds} s")
            }
            DriverError::BadAnswer {
                request,
                answer,
                message,
            } => write!(
                f,
                "driver: bad answer to {request}: {message}\n  answer: {answer}"
            ),
            DriverError::Failed { request, message } => {
                write!(f, "driver: failed {request}: {message}")
            }
        }
    }
}

impl std::error::Error for DriverError {}

/// A system under test, driven action by action.
pub trait Sut {
    /// Start from the initial world of `config`.
    fn reset(&mut self, config: &Config, seed: u64) -> Result<ResetAnswer, DriverError>;
    /// Do one action.
    fn step(&mut self, action: Action) -> Result<StepAnswer, DriverError>;
    /// Remember the current state.
    fn snapshot(&mut self) -> Result<String, DriverError>;
    /// Go back to a remembered state.
    fn restore(&mut self, id: &str) -> Result<(), DriverError>;
    /// End the session.
    fn bye(&mut self);
}

/// A driver process: `sh -c CMD`, JSON Lines both ways.
pub struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    timeout: Duration,
}

impl Process {
    /// Start `command` (run by `sh -c`); each answer must come within `timeout`.
    pub fn spawn(command: &str, timeout: Duration) -> Result<Process, DriverError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| DriverError::Spawn(format!("{command}: {e}")))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| DriverError::Spawn("no standard output".into()))?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Process {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            timeout,
        })
    }

    fn ask<T: DeserializeOwned>(&mut self, request: &Request) -> Result<T, DriverError> {
        let text = serde_json::to_string(request).unwrap_or_default();
        let closed = || DriverError::Closed {
            request: text.clone(),
        };
        let stdin = self.stdin.as_mut().ok_or_else(closed)?;
        // A driver that exits early may still have written a line: read it either way.
        let _ = writeln!(stdin, "{text}").and_then(|_| stdin.flush());
        let answer = loop {
            match self.lines.recv_timeout(self.timeout) {
                Ok(l) if l.trim().is_empty() => continue,
                Ok(l) => break l,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(DriverError::Timeout {
                        request: text,
                        seconds: self.timeout.as_secs(),
                    })
                }
                Err(RecvTimeoutError::Disconnected) => return Err(closed()),
            }
        };
        decode(&text, &answer)
    }
}

/// Read one answer line as `T`, or the driver's `{"error": ...}`.
pub fn decode<T: DeserializeOwned>(request: &str, answer: &str) -> Result<T, DriverError> {
    let bad = |message: String| DriverError::BadAnswer {
        request: request.to_string(),
        answer: answer.to_string(),
        message,
    };
    let value =
        parse_line(answer).map_err(|e| bad(format!("column {}: {}", e.column, e.message)))?;
    if let Some(m) = value.get("error") {
        return Err(DriverError::Failed {
            request: request.to_string(),
            message: m.as_str().map_or_else(|| m.to_string(), str::to_string),
        });
    }
    serde_json::from_value(value).map_err(|e| bad(plain(&e.to_string())))
}

impl Sut for Process {
    fn reset(&mut self, config: &Config, seed: u64) -> Result<ResetAnswer, DriverError> {
        self.ask(&Request::Reset {
            protocol: Protocol::V1,
            config: TraceConfig::of(config),
            seed,
        })
    }

    fn step(&mut self, action: Action) -> Result<StepAnswer, DriverError> {
        self.ask(&Request::Step {
            action: action.into(),
        })
    }

    fn snapshot(&mut self) -> Result<String, DriverError> {
        self.ask::<SnapshotAnswer>(&Request::Snapshot).map(|a| a.id)
    }

    fn restore(&mut self, id: &str) -> Result<(), DriverError> {
        self.ask::<OkAnswer>(&Request::Restore { id: id.to_string() })
            .map(|_| ())
    }

    fn bye(&mut self) {
        let _ = self.ask::<OkAnswer>(&Request::Bye);
        self.stdin = None;
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stdin = None;
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(50));
            if !matches!(self.child.try_wait(), Ok(Some(_))) {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}
