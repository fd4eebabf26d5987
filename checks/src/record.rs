//! Recording: drive the implementation along a list of model actions and write, in the trace
//! format (`docs/trace.schema.json`), what the *implementation* answered and showed.
//! Outcomes come from its refusals through [`crate::refusal::class`], facts from its state
//! read through the inspection API and mapped to the model's terms ([`crate::map`], the same
//! mapping lockstep compares); the model is never consulted for either, so replaying the
//! recorded trace (`phone-jpki replay`) checks the implementation.
//!
//! An action the implementation declines with a reason the model never gives (an unknown
//! push, a phone out of reach, `NoCredential`, ...) is recorded as `"not_offered"` with the
//! implementation's answer in the step's `note`: it replays when the model does not offer
//! the action either, and diverges when the model does.

use crate::lockstep::{Lockstep, SetupError};
use crate::refusal::{class, Class};
use phone_jpki_model::trace::{
    self, producible_refusals, Facts, Header, Observed, Step, TraceConfig, TraceFormat,
};
use phone_jpki_model::{Action, Config, Refusal};
use std::collections::BTreeSet;
use std::fmt;

/// Why recording stopped.
#[derive(Debug)]
pub enum RecordError {
    /// The system could not be built.
    Setup(SetupError),
    /// The implementation's state after a step stands for no model state; the steps recorded
    /// before it are kept.
    Unmapped {
        /// 0-based step.
        step: usize,
        /// What could not be mapped.
        what: String,
        /// The trace up to the step before.
        partial: String,
    },
    /// The trace has an action the implementation does not realise
    /// ([`crate::lockstep::realised`]): nothing is recorded rather than a `not_offered`
    /// that would stand for the implementation's answer.
    NotRealised {
        /// 0-based step.
        step: usize,
        /// The action, as the model writes it.
        action: String,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Setup(e) => write!(f, "{e}"),
            RecordError::Unmapped { step, what, .. } => {
                write!(
                    f,
                    "step {}: cannot map the implementation's state: {what}",
                    step + 1
                )
            }
            RecordError::NotRealised { step, action } => write!(
                f,
                "step {}: {action} is not realised by the implementation (model-only); nothing recorded",
                step + 1
            ),
        }
    }
}

impl std::error::Error for RecordError {}

/// One answer of the implementation: the outcome in the trace's terms and, for a refusal the
/// model never gives, the implementation's own words.
pub fn answer(
    producible: &BTreeSet<Refusal>,
    result: Option<Result<(), phone_jpki_impl::system::Refusal>>,
) -> (Observed, Option<String>) {
    match result {
        None => (
            Observed::NotOffered,
            Some("implementation: no such push pending".into()),
        ),
        Some(Ok(())) => (Observed::Accepted, None),
        Some(Err(r)) => match class(&r) {
            Class::Model(m) if producible.contains(&m) => (Observed::Refused(m), None),
            _ => (
                Observed::NotOffered,
                Some(format!("implementation: refused {r:?}")),
            ),
        },
    }
}

/// A recorder: the implementation (with the driver's correspondence) and the steps so far.
#[derive(Clone)]
pub struct Recorder {
    drive: Lockstep,
    steps: Vec<Step>,
    producible: BTreeSet<Refusal>,
}

impl Recorder {
    /// A fresh system for `config` (deterministic keys from `seed`).
    pub fn new(config: &Config, seed: u64) -> Result<Recorder, RecordError> {
        Ok(Recorder {
            drive: Lockstep::new(config, seed).map_err(RecordError::Setup)?,
            steps: Vec::new(),
            producible: producible_refusals(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        self.drive.config()
    }

    /// The system as driven so far.
    pub fn system(&self) -> &phone_jpki_impl::system::System {
        self.drive.system()
    }

    fn partial(&self) -> String {
        trace::write(&self.header(None), &self.steps)
    }

    fn header(&self, description: Option<String>) -> Header {
        Header {
            format: TraceFormat::V2,
            config: TraceConfig::of(self.drive.config()),
            description,
            rids: Vec::new(),
        }
    }

    /// Run one action on the implementation; its outcome and every fact it shows after.
    pub fn answer(&mut self, a: Action) -> Result<(Observed, Option<String>, Facts), RecordError> {
        let step = self.steps.len();
        let (outcome, note) = answer(&self.producible, self.drive.drive(a));
        let facts = self.facts().map_err(|what| RecordError::Unmapped {
            step,
            what,
            partial: self.partial(),
        })?;
        Ok((outcome, note, facts))
    }

    /// Run one action on the implementation and record its answer and its facts.
    pub fn act(&mut self, a: Action) -> Result<(), RecordError> {
        let (outcome, note, facts) = self.answer(a)?;
        self.steps.push(Step {
            action: a.into(),
            outcome,
            facts,
            note,
        });
        Ok(())
    }

    /// Every fact the implementation shows, in the model's terms.
    pub fn facts(&self) -> Result<Facts, String> {
        let mapped = self.drive.mapped().map_err(|e| e.to_string())?;
        Ok(Facts::everything(self.drive.config(), &mapped))
    }

    /// The trace recorded so far.
    pub fn trace(&self, description: Option<String>) -> String {
        trace::write(&self.header(description), &self.steps)
    }
}

/// Record the implementation along `actions` (deterministic keys from `seed`).
pub fn record(
    config: &Config,
    actions: &[Action],
    seed: u64,
    description: Option<String>,
) -> Result<String, RecordError> {
    if let Some((step, a)) = actions
        .iter()
        .enumerate()
        .find(|(_, a)| !crate::lockstep::realised(**a))
    {
        return Err(RecordError::NotRealised {
            step,
            action: a.to_string(),
        });
    }
    let mut r = Recorder::new(config, seed)?;
    for &a in actions {
        r.act(a)?;
    }
    Ok(r.trace(description))
}
