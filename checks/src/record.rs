//! Recording: drive the implementation along a list of model actions and write, in the trace
//! format `phone-jpki-trace/1` (`docs/trace.schema.json`), what the *implementation* answered
//! and showed. Outcomes come from its refusals through [`crate::refusal::class`], facts from
//! its inspection API (`status`, `slot`, `pending_pushes`); the model is never consulted for
//! either, so replaying the recorded trace (`phone-jpki replay`) checks the implementation.
//!
//! Ids: person `i` and phone `i` are the implementation's `PersonId(i)` and `PhoneId(i)`.
//! Serials: the model names phone certs by issuance order; the recorder learns the
//! implementation's serial of each from `live_cert` right after an accepted `CaIssue`, and
//! maps pushes (R-DELETE, R-TOKEN) from model serial to the implementation's send-order index
//! through `pending_pushes`.

use crate::refusal::{class, Class};
use phone_jpki_impl::applet::PinState;
use phone_jpki_impl::ca::{CertKind, CertStatus, PersonId, PhoneId, Serial, StatusAnswer};
use phone_jpki_impl::phone::Holder;
use phone_jpki_impl::system::{Pin, Refusal as ImplRefusal, System, SystemConfig, SystemError};
use phone_jpki_model::trace::{
    self, CertFact, Facts, Header, Observed, PinFact, SlotContent, SlotFact, Step, TraceConfig,
};
use phone_jpki_model::{Action, Config, Kind, PinEntry, Recipient};
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

fn ck(k: Kind) -> CertKind {
    match k {
        Kind::Auth => CertKind::Auth,
        Kind::Sign => CertKind::Sign,
    }
}

fn pin(e: PinEntry) -> Pin {
    match e {
        PinEntry::Right => Pin::Right,
        PinEntry::Wrong => Pin::Wrong,
    }
}

/// The implementation's configuration for a model configuration, with `seed`.
pub fn system_config(c: &Config, seed: u64) -> SystemConfig {
    let mut sc = SystemConfig::new(u32::from(c.persons), u32::from(c.phones));
    sc.kinds = c.kinds.iter().map(|&k| ck(k)).collect();
    sc.auth_tries = c.pin_tries[0];
    sc.sign_tries = c.pin_tries[1];
    sc.seed = seed;
    sc
}

/// A recorder: the system, and the model-serial <-> implementation-serial map.
pub struct Recorder {
    config: Config,
    system: System,
    /// Implementation serial of each model serial, in issuance order.
    serials: Vec<Serial>,
    steps: Vec<Step>,
}

impl Recorder {
    /// A fresh system for `config` (deterministic keys from `seed`).
    pub fn new(config: &Config, seed: u64) -> Result<Recorder, RecordError> {
        let system = System::new(system_config(config, seed)).map_err(RecordError::System)?;
        Ok(Recorder {
            config: config.clone(),
            system,
            serials: Vec::new(),
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

    fn model_serial(&self, s: Serial) -> Option<u8> {
        self.serials.iter().position(|&x| x == s).map(|i| i as u8)
    }

    fn push_index(&self, model: u8, step: usize) -> Result<usize, RecordError> {
        let unmapped = |what: String| RecordError::Unmapped {
            step,
            what,
            partial: self.partial(),
        };
        let s = *self
            .serials
            .get(usize::from(model))
            .ok_or_else(|| unmapped(format!("model serial #{model}: never issued")))?;
        self.system
            .pending_pushes()
            .iter()
            .find(|p| p.serial == s)
            .map(|p| p.index)
            .ok_or_else(|| unmapped(format!("push for #{model}: none pending")))
    }

    /// Run one action on the implementation and record its answer and its facts.
    pub fn act(&mut self, a: Action) -> Result<(), RecordError> {
        let step = self.steps.len();
        let sys = &mut self.system;
        let h = |x: phone_jpki_model::PhoneId| PhoneId(u32::from(x.0));
        let p = |x: phone_jpki_model::PersonId| PersonId(u32::from(x.0));
        // Who applied on a phone, read before CaIssue (to find the cert it issues).
        let session = match a {
            Action::CaIssue(x) => sys.session(h(x)).map(|s| (s.person, s.kind)),
            _ => None,
        };
        let result: Result<(), ImplRefusal> = match a {
            Action::GoOffline(x) => sys.go_offline(h(x)),
            Action::GoOnline(x) => sys.go_online(h(x)),
            Action::Lose(x) => sys.lose(h(x)),
            Action::Find(x) => sys.find(h(x)),
            Action::Break(x) => sys.break_phone(h(x)),
            Action::InstallApp(x) => sys.install_app(h(x)),
            Action::UninstallApp(x) => sys.uninstall_app(h(x)),
            Action::InstallApplet(x) => sys.install_applet(h(x)),
            Action::CardRenew(x) => sys.card_renew(p(x)),
            Action::CardRevoke(x) => sys.card_revoke(p(x)),
            Action::CardExpire(x) => sys.card_expire(p(x)),
            Action::Use(x, k, e) => sys.use_cert(h(x), ck(k), pin(e)),
            Action::ChangePin(x, k, e) => sys.change_pin(h(x), ck(k), pin(e)),
            Action::InitPin(x, k) => sys.init_pin(h(x), ck(k)),
            Action::Suspend(x, k) => sys.suspend(p(x), ck(k)),
            Action::Resume(x, k, e) => sys.resume(h(x), ck(k), pin(e)),
            Action::Apply(x, k) => sys.apply(h(x), ck(k)),
            Action::GenerateKey(x) => sys.generate_key(h(x)),
            Action::CaIssue(x) => sys.ca_issue(h(x)),
            Action::WriteCert(x) => sys.write_cert(h(x)),
            Action::SetUserPin(x) => sys.set_user_pin(h(x)),
            Action::AbandonIssuance(x) => sys.abandon_issuance(h(x)),
            Action::RevokeFromPhone(x, k) => sys.revoke_from_phone(h(x), ck(k)),
            Action::RevokeWithCard(x, k) => sys.revoke_with_card(p(x), ck(k)),
            Action::DeliverPush(s) => {
                let i = self.push_index(s.0, step)?;
                self.system.deliver_push(i)
            }
            Action::DropPush(s) => {
                let i = self.push_index(s.0, step)?;
                self.system.drop_push(i)
            }
            Action::FactoryReset(x) => sys.factory_reset(h(x)),
            Action::HandOver(x, to, procedure) => {
                let to = match to {
                    Recipient::Person(q) => Holder::Person(p(q)),
                    Recipient::Stranger => Holder::Stranger,
                };
                sys.hand_over(h(x), to, procedure)
            }
            Action::Dispose(x, procedure) => sys.dispose(h(x), procedure),
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
        if let (Ok(()), Some((person, kind))) = (&result, session) {
            if let Some((serial, _)) = self.system.live_cert(person, kind) {
                if self.model_serial(serial).is_none() {
                    self.serials.push(serial);
                }
            }
        }
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
        let mut certs = BTreeMap::new();
        for (i, &s) in self.serials.iter().enumerate() {
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
                let info = self.system.slot(PhoneId(u32::from(x)), ck(k));
                let (holds, serial, pin) = match info {
                    None => (SlotContent::Empty, None, None),
                    Some(i) => match i.cert_serial {
                        Some(s) => {
                            let m = self
                                .model_serial(s)
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
                self.model_serial(v.serial)
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
