//! Recording: drive the implementation along a list of model actions and write, in the trace
//! format `phone-jpki-trace/1` (`docs/trace.schema.json`), what the *implementation* answered
//! and showed. Outcomes come from its refusals through [`crate::refusal::class`], facts from
//! its inspection API (`status`, `slot`, `pending_pushes`); the model is never consulted for
//! either, so replaying the recorded trace (`phone-jpki replay`) checks the implementation.
//!
//! Ids: person `i` and phone `i` are the implementation's `PersonId(i)` and `PhoneId(i)`.
//! Serials: the model names phone certs by issuance order, which is the implementation's phone
//! certs in serial order ([`crate::map::serials`]); pushes (R-DELETE, R-TOKEN) go from model
//! serial to the implementation's send-order index through `pending_pushes`. Actions reach
//! the implementation through [`crate::lockstep::call`], as in lockstep.

use crate::refusal::{class, Class};
use crate::{lockstep, map};
use phone_jpki_impl::applet::PinState;
use phone_jpki_impl::ca::{CertStatus, PhoneId, Serial, StatusAnswer};
use phone_jpki_impl::system::{System, SystemError};
use phone_jpki_model::trace::{
    self, CertFact, Facts, Header, Observed, PinFact, SlotContent, SlotFact, Step, TraceConfig,
};
use phone_jpki_model::{Action, Config};
use std::collections::BTreeMap;
use std::fmt;

/// Why recording stopped.
#[derive(Debug)]
pub enum RecordError {
    /// The system could not be built.
    System(SystemError),
    /// The implementation answered a refusal the model has no name for (a divergence by
    /// itself); the steps recorded before it are kept.
    Outside {
        /// 0-based step.
        step: usize,
        /// The action.
        action: String,
        /// The implementation's refusal.
        refusal: String,
        /// The trace up to the step before.
        partial: String,
    },
    /// A push or cert serial the recorder cannot map (the implementation has no pending push
    /// for that cert, or shows a cert it never issued in this run).
    Unmapped {
        /// 0-based step.
        step: usize,
        /// What could not be mapped.
        what: String,
        /// The trace up to the step before.
        partial: String,
    },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::System(e) => write!(f, "system: {e}"),
            RecordError::Outside {
                step,
                action,
                refusal,
                ..
            } => write!(
                f,
                "step {}: {action}: the implementation refused {refusal}, outside the model",
                step + 1
            ),
            RecordError::Unmapped { step, what, .. } => {
                write!(f, "step {}: cannot map {what}", step + 1)
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// A recorder: the system and the steps recorded so far.
pub struct Recorder {
    config: Config,
    system: System,
    steps: Vec<Step>,
}

impl Recorder {
    /// A fresh system for `config` (deterministic keys from `seed`).
    pub fn new(config: &Config, seed: u64) -> Result<Recorder, RecordError> {
        let system =
            System::new(lockstep::system_config(config, seed)).map_err(RecordError::System)?;
        Ok(Recorder {
            config: config.clone(),
            system,
            steps: Vec::new(),
        })
    }

    /// The system as driven so far.
    pub fn system(&self) -> &System {
        &self.system
    }

    fn partial(&self) -> String {
        trace::write(&self.header(None), &self.steps)
    }

    fn header(&self, description: Option<String>) -> Header {
        Header {
            format: trace::FORMAT.to_string(),
            config: TraceConfig::of(&self.config),
            description,
            rids: Vec::new(),
        }
    }

    /// Run one action on the implementation and record its answer and its facts.
    pub fn act(&mut self, a: Action) -> Result<(), RecordError> {
        let step = self.steps.len();
        let Some(result) = lockstep::call(&mut self.system, a) else {
            return Err(RecordError::Unmapped {
                step,
                what: format!("{a}: no such push pending"),
                partial: self.partial(),
            });
        };
        let outcome = match &result {
            Ok(()) => Observed::Accepted,
            Err(r) => match class(r) {
                Class::Model(m) => Observed::Refused(m),
                Class::Outside(_) => {
                    return Err(RecordError::Outside {
                        step,
                        action: a.to_string(),
                        refusal: format!("{r:?}"),
                        partial: self.partial(),
                    })
                }
            },
        };
        let facts = self.facts(step)?;
        self.steps.push(Step {
            action: a.into(),
            outcome,
            facts,
        });
        Ok(())
    }

    /// Every fact the implementation shows: the status of every phone cert issued in this
    /// run, every slot of the kinds in play, the pending pushes.
    fn facts(&self, step: usize) -> Result<Facts, RecordError> {
        let unmapped = |what: String| RecordError::Unmapped {
            step,
            what,
            partial: self.partial(),
        };
        // Model serials: the implementation's phone certs in serial order.
        let serials = map::serials(&self.system);
        let model_serial = |s: Serial| map::model_serial(&serials, s).map(|m| m.0);
        let mut certs = BTreeMap::new();
        for (i, &s) in serials.iter().enumerate() {
            let f = match self.system.status(s) {
                StatusAnswer::Known(CertStatus::Active) => CertFact::Active,
                StatusAnswer::Known(CertStatus::Suspended { .. }) => CertFact::Suspended,
                // The model has no phone cert expiry: an expired cert is not live, which the
                // model calls revoked.
                StatusAnswer::Known(CertStatus::Revoked { .. } | CertStatus::Expired { .. }) => {
                    CertFact::Revoked
                }
                StatusAnswer::Unknown => {
                    return Err(unmapped(format!("status of {s}: unknown to the CA")))
                }
            };
            certs.insert(i as u8, f);
        }
        let mut slots = Vec::new();
        for x in 0..self.config.phones {
            for &k in &self.config.kinds {
                let info = self.system.slot(PhoneId(u32::from(x)), map::kind(k));
                let (holds, serial, pin) = match info {
                    None => (SlotContent::Empty, None, None),
                    Some(i) => match i.cert_serial {
                        Some(s) => {
                            let m = model_serial(s)
                                .ok_or_else(|| unmapped(format!("slot cert {s}")))?;
                            let pin = match i.pin_state {
                                PinState::Temporary => PinFact::Temporary,
                                PinState::Blocked => PinFact::Blocked,
                                _ => PinFact::User,
                            };
                            (SlotContent::Cert, Some(m), Some(pin))
                        }
                        None if i.has_key => (SlotContent::Key, None, None),
                        None => (SlotContent::Empty, None, None),
                    },
                };
                slots.push(SlotFact {
                    phone: x,
                    kind: k,
                    holds,
                    serial,
                    pin,
                });
            }
        }
        let mut pushes = Vec::new();
        for v in self.system.pending_pushes() {
            pushes.push(
                model_serial(v.serial)
                    .ok_or_else(|| unmapped(format!("pending push for {}", v.serial)))?,
            );
        }
        pushes.sort_unstable();
        Ok(Facts {
            certs,
            slots,
            pushes: Some(pushes),
        })
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
    let mut r = Recorder::new(config, seed)?;
    for &a in actions {
        r.act(a)?;
    }
    Ok(r.trace(description))
}
