//! The lockstep driver: one model action applied to the model and to the implementation,
//! outcomes compared class for class ([`crate::refusal::class`]) and the mapped
//! implementation state ([`crate::map::abstract_state`]) compared with the model state after
//! every step. On divergence, a [`Divergence`] report: the numbered action sequence, the
//! field-by-field difference of the two states, and what the implementation answered.
//!
//! Persons, phones, kinds, PIN entries and recipients map one to one by index;
//! `DeliverPush(serial)` / `DropPush(serial)` go to the implementation's pending push for the
//! implementation serial standing for that model serial (R-DELETE, R-TOKEN).

use crate::map::{self, abstract_state, Ghost, MapError};
use crate::refusal::{class, Class};
use phone_jpki_impl::ca::{CertStatus as ImplStatus, LogicalTime, Serial as ISerial, StatusAnswer};
use phone_jpki_impl::phone::Holder as IHolder;
use phone_jpki_impl::system::{Refusal as ImplRefusal, System, SystemConfig};
use phone_jpki_model::{
    candidate_actions, step, Action, ActionKind, Config, Policy, Recipient, Refusal, State,
};
use serde_json::Value;
use std::fmt;

/// Why a lockstep run could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// The policy is model-only: the implementation does not realise it
    /// ([`crate::policy::realise`]).
    Policy,
    /// The configuration is invalid for the model.
    Config(String),
    /// The implementation could not be built.
    System(String),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Policy => write!(
                f,
                "the policy is model-only: the implementation realises the model's default and \
                 the alternatives {} (impl/src/system/policy.rs)",
                crate::policy::realised_names()
            ),
            SetupError::Config(e) => write!(f, "invalid configuration: {e}"),
            SetupError::System(e) => write!(f, "implementation setup failed: {e}"),
        }
    }
}

impl std::error::Error for SetupError {}

/// One field on which the two states differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDiff {
    /// Readable path, e.g. `phones[1].slots[auth]`.
    pub path: String,
    /// The model's value (compact JSON; `-` if absent).
    pub model: String,
    /// The mapped implementation's value.
    pub implementation: String,
}

/// What went wrong at the last step of a [`Divergence`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The model does not offer the action (a replayed sequence that no longer applies).
    NotOffered,
    /// The implementation has no pending push for the serial the model names.
    NoSuchPush,
    /// A threat actor's or an alternative's action the implementation does not realise yet
    /// ([`phone_jpki_model::ActionKind::is_threat`]).
    NotRealised,
    /// Accepted by one, refused by the other, or refused for different reasons.
    Outcome,
    /// The same outcome, but the states differ.
    State,
    /// The implementation's state stands for no model state.
    Unmappable(MapError),
}

/// A divergence report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// The actions from the initial state; the last one diverged.
    pub actions: Vec<Action>,
    /// What diverged.
    pub mismatch: Mismatch,
    /// The model's outcome (`accepted` or `refused X`).
    pub model_outcome: String,
    /// The implementation's answer (its `Refusal` Debug), if it was asked.
    pub impl_outcome: Option<String>,
    /// Fields that differ (model state vs mapped implementation state after the step).
    pub diff: Vec<FieldDiff>,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.mismatch {
            Mismatch::NotOffered => "the model does not offer this action".to_string(),
            Mismatch::NoSuchPush => "the implementation has no push for that serial".into(),
            Mismatch::NotRealised => "the implementation does not realise this action yet".into(),
            Mismatch::Outcome => "outcomes differ".into(),
            Mismatch::State => "states differ".into(),
            Mismatch::Unmappable(e) => format!("implementation state not mappable: {e}"),
        };
        writeln!(f, "divergence at step {}: {what}", self.actions.len())?;
        writeln!(f, "actions:")?;
        for (i, a) in self.actions.iter().enumerate() {
            writeln!(f, "  {:>3}. {a}", i + 1)?;
        }
        writeln!(f, "model:          {}", self.model_outcome)?;
        match &self.impl_outcome {
            Some(o) => writeln!(f, "implementation: {o}")?,
            None => writeln!(f, "implementation: (not asked)")?,
        }
        if !self.diff.is_empty() {
            writeln!(f, "state differences (model | implementation):")?;
            for d in &self.diff {
                writeln!(f, "  {}: {} | {}", d.path, d.model, d.implementation)?;
            }
        }
        Ok(())
    }
}

/// What the driver reads from the implementation just before a step, for the ghost.
#[derive(Default)]
struct Pre {
    /// The slot the action works on (Use: its slot; DeliverPush: the target slot).
    slot: Option<phone_jpki_impl::system::SlotInfo>,
    /// Use: the CA's status of the slot's certificate.
    status: Option<StatusAnswer>,
    /// DeliverPush: target phone, kind and serial of the push.
    push: Option<(
        phone_jpki_impl::ca::PhoneId,
        phone_jpki_impl::ca::CertKind,
        ISerial,
    )>,
    /// GenerateKey / CaIssue: the session's person, kind, card cert, and whether that card
    /// cert is the person's current one and active.
    session: Option<(
        phone_jpki_impl::ca::PersonId,
        phone_jpki_impl::ca::CertKind,
        ISerial,
        bool,
    )>,
    /// CaIssue: phone-cert serials before.
    serials: Vec<ISerial>,
    /// HandOver / Dispose: the holder before.
    holder: Option<phone_jpki_model::PersonId>,
}

impl Pre {
    fn observe(sys: &System, action: Action) -> Pre {
        use map::{kind, phone};
        let mut pre = Pre::default();
        match action {
            Action::Use(h, k, _) => {
                pre.slot = sys.slot(phone(h), kind(k));
                pre.status = pre
                    .slot
                    .as_ref()
                    .and_then(|s| s.cert_serial)
                    .map(|s| sys.status(s));
            }
            Action::DeliverPush(serial) => {
                let ids = map::serials(sys);
                if let Some(s) = ids.get(serial.index()) {
                    if let Some(p) = sys.pending_pushes().into_iter().find(|p| p.serial == *s) {
                        pre.push = Some((p.phone, p.kind, *s));
                        pre.slot = sys.slot(p.phone, p.kind);
                    }
                }
            }
            Action::GenerateKey(h) | Action::CaIssue(h) => {
                if let Some(s) = sys.session(phone(h)) {
                    let current = sys.card_cert(s.person).map(|(serial, _)| serial);
                    let valid = current == Some(s.card_serial)
                        && matches!(
                            sys.status(s.card_serial),
                            StatusAnswer::Known(ImplStatus::Active)
                        );
                    pre.session = Some((s.person, s.kind, s.card_serial, valid));
                }
                if matches!(action, Action::CaIssue(_)) {
                    pre.serials = map::serials(sys);
                }
            }
            Action::HandOver(h, ..) | Action::Dispose(h, _) => {
                pre.holder = sys.phone_view(phone(h)).and_then(|v| match v.holder {
                    IHolder::Person(p) => u8::try_from(p.0).ok().map(phone_jpki_model::PersonId),
                    _ => None,
                });
            }
            _ => {}
        }
        pre
    }
}

/// Model and implementation side by side, with the driver's correspondence.
#[derive(Clone)]
pub struct Lockstep {
    config: Config,
    model: State,
    sys: System,
    ghost: Ghost,
    actions: Vec<Action>,
}

/// The implementation configuration standing for `config` (persons, phones, kinds, PIN
/// tries one to one), with deterministic keys from `seed`.
pub fn system_config(config: &Config, seed: u64) -> SystemConfig {
    SystemConfig {
        persons: u32::from(config.persons),
        phones: u32::from(config.phones),
        kinds: config.kinds.iter().map(|&k| map::kind(k)).collect(),
        auth_tries: config.pin_tries[0],
        sign_tries: config.pin_tries[1],
        seed,
        start: LogicalTime::BASE,
        // THREAT-PIN-KNOWN: the world's persons whose PINs others know.
        pin_known: config.pin_known.iter().map(|&p| map::person(p)).collect(),
        // The model's policy as configuration; a model-only one ([`driven_config`] refuses
        // it) gets the default.
        policy: crate::policy::realise(&config.policy).unwrap_or_default(),
    }
}

/// The implementation's push index (send order) for the pending push of model serial
/// `serial`, if there is one (model serial = the implementation's phone certs in serial order).
pub fn push_index(sys: &System, serial: phone_jpki_model::Serial) -> Option<usize> {
    let ids = map::serials(sys);
    let s = *ids.get(serial.index())?;
    sys.pending_pushes()
        .iter()
        .find(|p| p.serial == s)
        .map(|p| p.index)
}

/// Whether the implementation realises this model action: all but the actions of the
/// alternatives that exist only on paper (ALT-STORAGE sim: SimSwap; ALT-UNLOCK: EnrollFinger,
/// BiometricUse; ALT-PROOFING: ApplyWithCode).
pub fn realised(action: Action) -> bool {
    !MODEL_ONLY.contains(&action.kind())
}

/// The action kinds the implementation does not realise ([`realised`]).
pub const MODEL_ONLY: [ActionKind; 4] = [
    ActionKind::EnrollFinger,
    ActionKind::BiometricUse,
    ActionKind::SimSwap,
    ActionKind::ApplyWithCode,
];

/// The implementation serial standing for model serial `serial`.
fn impl_serial(s: &System, serial: phone_jpki_model::Serial) -> Option<ISerial> {
    map::serials(s).get(serial.index()).copied()
}

/// Run a model action on the implementation (ids one to one); `None` if a push action names
/// a serial with no pending push, or the action is not [`realised`].
pub fn call(s: &mut System, action: Action) -> Option<Result<(), ImplRefusal>> {
    use map::{kind, person, phone, pin};
    Some(match action {
        Action::GoOffline(h) => s.go_offline(phone(h)),
        Action::GoOnline(h) => s.go_online(phone(h)),
        Action::Lose(h) => s.lose(phone(h)),
        Action::Find(h) => s.find(phone(h)),
        Action::Break(h) => s.r#break(phone(h)),
        Action::InstallApp(h) => s.install_app(phone(h)),
        Action::UninstallApp(h) => s.uninstall_app(phone(h)),
        Action::InstallApplet(h) => s.install_applet(phone(h)),
        Action::CardRenew(p) => s.card_renew(person(p)),
        Action::CardRevoke(p) => s.card_revoke(person(p)),
        Action::CardExpire(p) => s.card_expire(person(p)),
        Action::Use(h, k, e) => s.r#use(phone(h), kind(k), pin(e)),
        Action::ChangePin(h, k, e) => s.change_pin(phone(h), kind(k), pin(e)),
        Action::InitPin(h, k) => s.init_pin(phone(h), kind(k)),
        Action::Suspend(p, k) => s.suspend(person(p), kind(k)),
        Action::Resume(h, k, e) => s.resume(phone(h), kind(k), pin(e)),
        Action::Apply(h, k) => s.apply(phone(h), kind(k)),
        Action::GenerateKey(h) => s.generate_key(phone(h)),
        Action::CaIssue(h) => s.ca_issue(phone(h)),
        Action::WriteCert(h) => s.write_cert(phone(h)),
        Action::SetUserPin(h) => s.set_user_pin(phone(h)),
        Action::AbandonIssuance(h) => s.abandon_issuance(phone(h)),
        Action::RevokeFromPhone(h, k) => s.revoke_from_phone(phone(h), kind(k)),
        Action::RevokeWithCard(p, k) => s.revoke_with_card(person(p), kind(k)),
        Action::DeliverPush(serial) => {
            let i = push_index(s, serial)?;
            s.deliver_push(i)
        }
        Action::DropPush(serial) => {
            let i = push_index(s, serial)?;
            s.drop_push(i)
        }
        Action::FactoryReset(h) => s.factory_reset(phone(h)),
        Action::HandOver(h, to, procedure) => {
            let to = match to {
                Recipient::Person(q) => IHolder::Person(person(q)),
                Recipient::Stranger => IHolder::Stranger,
            };
            s.hand_over(phone(h), to, procedure)
        }
        Action::Dispose(h, procedure) => s.dispose(phone(h), procedure),
        Action::StrangerFinds(h) => s.stranger_finds(phone(h)),
        Action::ReaderUse(h, k, e) => s.reader_use(phone(h), kind(k), pin(e)),
        Action::ReadAuthCert(h) => s.read_auth_cert(phone(h)).map(|_| ()),
        Action::ReadSignCert(h, e) => s.read_sign_cert(phone(h), pin(e)).map(|_| ()),
        Action::SignOffline(h, e) => s.sign_offline(phone(h), pin(e)).map(|_| ()),
        Action::PresentSignature(serial) => s.present_signature(impl_serial(s, serial)?),
        // Model-only (see `realised`).
        Action::EnrollFinger(_)
        | Action::BiometricUse(_)
        | Action::SimSwap(_)
        | Action::ApplyWithCode(..) => return None,
        Action::CertExpire(serial) => s.cert_expire(impl_serial(s, serial)?),
    })
}

fn describe(r: &Result<(), Refusal>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused {e}"),
    }
}

fn describe_impl(r: &Result<(), ImplRefusal>) -> String {
    match r {
        Ok(()) => "accepted".into(),
        Err(e) => format!("refused {e:?} (class {})", class(e)),
    }
}

/// The configuration the implementation is driven under: `config` itself, if the
/// implementation realises its policy ([`crate::policy::realise`]).
pub fn driven_config(config: &Config) -> Result<Config, SetupError> {
    if crate::policy::realise(&config.policy).is_none() {
        return Err(SetupError::Policy);
    }
    Ok(config.clone())
}

/// The policy line of the reports.
pub fn policy_note(config: &Config) -> String {
    let alternatives: Vec<&str> = phone_jpki_model::policy::Alternative::ALL
        .into_iter()
        .filter(|a| {
            let mut p = Policy::default();
            a.apply(&mut p);
            p != Policy::default() && {
                let mut q = config.policy;
                a.apply(&mut q);
                q == config.policy
            }
        })
        .map(|a| a.name())
        .collect();
    if config.policy == Policy::default() {
        "policy: the model's default (the seeds' design)".into()
    } else {
        format!("policy: {}", alternatives.join(", "))
    }
}

impl Lockstep {
    /// Both sides in their initial states; the implementation's keys from `seed`. The model
    /// side runs under [`driven_config`].
    pub fn new(config: &Config, seed: u64) -> Result<Lockstep, SetupError> {
        config.validate().map_err(SetupError::Config)?;
        let config = &driven_config(config)?;
        let sys = System::new(system_config(config, seed))
            .map_err(|e| SetupError::System(e.to_string()))?;
        Ok(Lockstep {
            config: config.clone(),
            model: State::initial(config),
            sys,
            ghost: Ghost::new(config),
            actions: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The model state (equal to the mapped implementation state while no divergence).
    pub fn model(&self) -> &State {
        &self.model
    }

    /// The implementation.
    pub fn system(&self) -> &System {
        &self.sys
    }

    /// The actions applied so far.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The actions the model offers now that the implementation realises, in the model's
    /// stable order (see [`Lockstep::unrealised`]).
    pub fn offered(&self) -> Vec<Action> {
        let mut v = Vec::new();
        candidate_actions(&self.config, &self.model, &mut v);
        v.retain(|a| realised(*a));
        v
    }

    /// The actions the model offers now that the implementation does not realise yet (the
    /// threat actors' and the alternatives'): the drivers skip them and count them.
    pub fn unrealised(&self) -> Vec<Action> {
        let mut v = Vec::new();
        candidate_actions(&self.config, &self.model, &mut v);
        v.retain(|a| !realised(*a));
        v
    }

    /// Check the initial states agree (the mapping of a fresh system is the initial state).
    pub fn check_initial(&self) -> Result<(), Box<Divergence>> {
        self.compare_states(&self.model, Mismatch::State, "initial".into(), None)
    }

    /// Apply `action` to both sides and compare; on success both have moved on.
    pub fn step(&mut self, action: Action) -> Result<(), Box<Divergence>> {
        self.actions.push(action);
        if !realised(action) {
            return Err(self.report(Mismatch::NotRealised, "not realised".into(), None, vec![]));
        }
        if !self.offered().contains(&action) {
            return Err(self.report(Mismatch::NotOffered, "not offered".into(), None, vec![]));
        }
        let outcome = step(&self.config, &self.model, action);
        let model_outcome = describe(&outcome.result);
        let pre = Pre::observe(&self.sys, action);
        let result = match call(&mut self.sys, action) {
            Some(r) => r,
            None => return Err(self.report(Mismatch::NoSuchPush, model_outcome, None, vec![])),
        };
        let impl_outcome = describe_impl(&result);
        self.observe(action, &pre, result.is_ok());
        let same = match (&outcome.result, &result) {
            (Ok(()), Ok(())) => true,
            (Err(m), Err(i)) => class(i) == Class::Model(*m),
            _ => false,
        };
        let mut mapped = match abstract_state(&self.config, &self.sys, &self.ghost) {
            Ok(m) => m,
            Err(e) => {
                return Err(self.report(
                    Mismatch::Unmappable(e),
                    model_outcome,
                    Some(impl_outcome),
                    vec![],
                ))
            }
        };
        // The detour counter, as the model counts it (world bookkeeping, not a fact of the
        // implementation): a detour that changed the (mapped) state and does not follow the
        // detour that gave a stranger the phone.
        if self.config.max_events.is_some()
            && self.config.spends_detour(&self.model, action)
            && mapped != self.model
        {
            self.ghost.events = self.ghost.events.saturating_add(1);
            mapped.events = self.ghost.events;
        }
        if !same || mapped != outcome.next {
            let diff = diff_states(&outcome.next, &mapped);
            let mismatch = if same {
                Mismatch::State
            } else {
                Mismatch::Outcome
            };
            return Err(self.report(mismatch, model_outcome, Some(impl_outcome), diff));
        }
        self.model = outcome.next;
        Ok(())
    }

    fn compare_states(
        &self,
        expected: &State,
        mismatch: Mismatch,
        model_outcome: String,
        impl_outcome: Option<String>,
    ) -> Result<(), Box<Divergence>> {
        match abstract_state(&self.config, &self.sys, &self.ghost) {
            Ok(mapped) if mapped == *expected => Ok(()),
            Ok(mapped) => Err(self.report(
                mismatch,
                model_outcome,
                impl_outcome,
                diff_states(expected, &mapped),
            )),
            Err(e) => {
                Err(self.report(Mismatch::Unmappable(e), model_outcome, impl_outcome, vec![]))
            }
        }
    }

    fn report(
        &self,
        mismatch: Mismatch,
        model_outcome: String,
        impl_outcome: Option<String>,
        diff: Vec<FieldDiff>,
    ) -> Box<Divergence> {
        Box::new(Divergence {
            actions: self.actions.clone(),
            mismatch,
            model_outcome,
            impl_outcome,
            diff,
        })
    }

    /// Keep the ghost in step: what the implementation did, judged from what it showed
    /// before (`pre`) and after the step.
    fn observe(&mut self, action: Action, pre: &Pre, accepted: bool) {
        use map::phone;
        if !accepted {
            return;
        }
        let g = &mut self.ghost;
        match action {
            Action::InstallApp(h) => {
                if let Some(inst) = self.sys.phone_view(phone(h)).and_then(|v| v.app) {
                    let n = &mut g.app_installs[h.index()];
                    *n = n.saturating_add(1);
                    g.installs.insert(inst, (h, *n));
                }
            }
            Action::GenerateKey(h) => {
                if let Some((p, k, _, _)) = pre.session {
                    if let Ok(p) = u8::try_from(p.0) {
                        g.key_person
                            .insert((h, map::model_kind(k)), phone_jpki_model::PersonId(p));
                    }
                    g.key_certified.remove(&(h, map::model_kind(k)));
                }
            }
            Action::CaIssue(h) => {
                if let Some((_, k, _, valid)) = pre.session {
                    for (i, new) in map::serials(&self.sys).into_iter().enumerate() {
                        if !pre.serials.contains(&new) {
                            g.signature_valid.insert(new, valid);
                            g.key_certified
                                .insert((h, map::model_kind(k)), phone_jpki_model::Serial(i as u8));
                        }
                    }
                }
            }
            Action::HandOver(h, _, procedure) | Action::Dispose(h, procedure) => {
                if matches!(action, Action::HandOver(..)) {
                    let n = &mut g.handovers[h.index()];
                    *n = n.saturating_add(1);
                }
                g.procedure_from[h.index()] = if procedure { pre.holder } else { None };
            }
            _ => {}
        }
    }

    /// Run `action` on the implementation only; the model is not consulted and stays where
    /// it is. The ghost follows what the implementation did, so [`Lockstep::mapped`] reads
    /// the implementation's state afterwards. `None`: a push action names a serial with no
    /// pending push.
    pub fn drive(&mut self, action: Action) -> Option<Result<(), ImplRefusal>> {
        let pre = Pre::observe(&self.sys, action);
        let result = call(&mut self.sys, action)?;
        self.observe(action, &pre, result.is_ok());
        self.actions.push(action);
        Some(result)
    }

    /// The implementation's state mapped to the model's terms (what [`Lockstep::step`]
    /// compares with the model).
    pub fn mapped(&self) -> Result<State, MapError> {
        abstract_state(&self.config, &self.sys, &self.ghost)
    }

    /// Apply a sequence from the current state; stop at the first divergence.
    pub fn run(&mut self, actions: &[Action]) -> Result<(), Box<Divergence>> {
        for &a in actions {
            self.step(a)?;
        }
        Ok(())
    }
}

/// Replay `actions` from the initial state of `config`.
pub fn replay(config: &Config, seed: u64, actions: &[Action]) -> Result<(), Box<Divergence>> {
    let mut l = Lockstep::new(config, seed).map_err(|e| {
        Box::new(Divergence {
            actions: vec![],
            mismatch: Mismatch::Unmappable(MapError::TooLarge("setup")),
            model_outcome: e.to_string(),
            impl_outcome: None,
            diff: vec![],
        })
    })?;
    l.check_initial()?;
    l.run(actions)
}

/// The fields on which two states differ, with readable paths.
pub fn diff_states(model: &State, implementation: &State) -> Vec<FieldDiff> {
    let a = serde_json::to_value(model).unwrap_or(Value::Null);
    let b = serde_json::to_value(implementation).unwrap_or(Value::Null);
    let mut out = Vec::new();
    diff_values(String::new(), "", &a, &b, &mut out);
    out
}

fn compact(v: Option<&Value>) -> String {
    match v {
        None => "-".into(),
        Some(v) => serde_json::to_string(v).unwrap_or_default(),
    }
}

fn diff_values(path: String, key: &str, a: &Value, b: &Value, out: &mut Vec<FieldDiff>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.keys().eq(y.keys()) => {
            for (k, va) in x {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_values(p, k, va, &y[k], out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                // Slots are indexed by kind.
                let idx = match (key, i) {
                    ("slots", 0) => "auth".to_string(),
                    ("slots", 1) => "sign".to_string(),
                    _ => i.to_string(),
                };
                diff_values(format!("{path}[{idx}]"), "", va, vb, out);
            }
        }
        _ => out.push(FieldDiff {
            path: if path.is_empty() {
                "state".into()
            } else {
                path
            },
            model: compact(Some(a)),
            implementation: compact(Some(b)),
        }),
    }
}

/// Whether `r` is refused-for-a-model-reason `m` (helper for tests and reports).
pub fn same_class(m: Refusal, r: &ImplRefusal) -> bool {
    class(r) == Class::Model(m)
}
