//! The rules: which actions can be attempted in a state, and what each does or why it is
//! refused. This is the reference semantics; every rule cites its R-IDs.
//!
//! Order of checks inside an action is part of the semantics (the implementation must refuse
//! for the same reason): network first, then the card or applet, then the server's records.
//!
//! [`apply`]'s table names the home of every action's rule, by lifecycle:
//! - [`offer`]: which actions the actors can attempt, and the world bounds;
//! - [`device`]: the phone's and the card's events, factory reset, hand-over and disposal;
//! - [`pin`]: use of a credential, its PIN, suspension and resumption;
//! - [`issue`]: the issuance session;
//! - [`revoke`]: expiry, revocation, deletion pushes and the app's status sync;
//! - the threat actors' and the ALT-* policies' own actions: [`crate::threats`].

mod device;
mod issue;
mod offer;
mod pin;
mod revoke;

pub(crate) use issue::open_session;
pub(crate) use offer::sessions_full;
pub use offer::{candidate_actions, deliverable, issued_count};
pub(crate) use pin::{verify_pin, Verified};

use crate::action::{Action, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::state::{CertStatus, Holder, State};

/// The result of attempting an action. A refused action usually leaves the state as it was;
/// a wrong PIN is refused *and* counts down the retry counter, so `next` carries that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub next: State,
    pub result: Result<(), Refusal>,
}

/// Attempt `action` in `state`. Callers must only attempt actions that
/// [`candidate_actions`] offers (see [`is_offered`]); a refusal changes nothing except a PIN
/// retry counter (a wrong entry counts down; a right one resets it even when the server then
/// refuses, as the applet verified it first).
pub fn step(config: &Config, state: &State, action: Action) -> Outcome {
    let mut next = state.clone();
    let result = apply(config, &mut next, action);
    crate::threats::after_step(state, action, result, &mut next);
    if config.max_events.is_some() && config.spends_detour(state, action) && next != *state {
        next.events = next.events.saturating_add(1);
    }
    Outcome { next, result }
}

/// Whether `action` is offered in `state`.
pub fn is_offered(config: &Config, state: &State, action: Action) -> bool {
    let mut all = Vec::new();
    candidate_actions(config, state, &mut all);
    all.contains(&action)
}

/// The rule of each action, found in its lifecycle's module.
fn apply(config: &Config, s: &mut State, action: Action) -> Result<(), Refusal> {
    use Action::*;
    match action {
        GoOffline(h) => device::go_offline(s, h),
        GoOnline(h) => device::go_online(config, s, h),
        Lose(h) => device::lose(s, h),
        Find(h) => device::find(s, h),
        Break(h) => device::break_phone(s, h),
        InstallApp(h) => device::install_app(config, s, h),
        UninstallApp(h) => device::uninstall_app(s, h),
        InstallApplet(h) => device::install_applet(s, h),
        CardRenew(p) => device::card_renew(config, s, p),
        CardRevoke(p) => device::card_revoke(config, s, p),
        CardExpire(p) => device::card_expire(config, s, p),
        FactoryReset(h) => {
            device::factory_reset(config, s, h);
            Ok(())
        }
        HandOver(h, to, procedure) => device::hand_over(config, s, h, to, procedure),
        Dispose(h, procedure) => device::dispose(config, s, h, procedure),
        Use(h, k, e) => pin::use_cert(config, s, h, k, e),
        ChangePin(h, k, e) => pin::change_pin(config, s, h, k, e),
        InitPin(h, k) => pin::init_pin(config, s, h, k),
        Suspend(p, k) => pin::suspend(s, p, k),
        Resume(h, k, e) => pin::resume(config, s, h, k, e),
        Apply(h, k) => issue::apply_for(config, s, h, k),
        GenerateKey(h) => issue::generate_key(config, s, h),
        CaIssue(h) => issue::ca_issue(config, s, h),
        WriteCert(h) => issue::write_cert(s, h),
        SetUserPin(h) => issue::set_user_pin(config, s, h),
        AbandonIssuance(h) => issue::abandon(s, h),
        CertExpire(serial) => revoke::cert_expire(s, serial),
        RevokeFromPhone(h, k) => revoke::revoke_from_phone(config, s, h, k),
        RevokeWithCard(p, k) => revoke::revoke_with_card(config, s, p, k),
        DeliverPush(serial) => revoke::deliver_push(config, s, serial),
        DropPush(serial) => revoke::drop_push(s, serial),
        // Threat actors and the alternatives' actions: their rules are crate::threats's.
        other => crate::threats::apply(config, s, other)
            .unwrap_or_else(|| unreachable!("{other} has no rule")),
    }
}

/// The refusal for a cert that has ended, if it has.
fn ended(status: CertStatus) -> Result<(), Refusal> {
    match status {
        CertStatus::Revoked(_) => Err(Refusal::CertRevoked),
        CertStatus::Expired => Err(Refusal::CertExpired),
        CertStatus::Active | CertStatus::Suspended => Ok(()),
    }
}

pub(crate) fn need_online(s: &State, h: PhoneId) -> Result<(), Refusal> {
    if s.phone(h).online {
        Ok(())
    } else {
        Err(Refusal::PhoneOffline)
    }
}

pub(crate) fn slot_serial(s: &State, h: PhoneId, k: Kind) -> Result<Serial, Refusal> {
    s.phone(h).slot(k).serial().ok_or(Refusal::NoCredential)
}

/// The person operating a phone; actions that need one are only offered to persons.
fn holder_person(s: &State, h: PhoneId) -> PersonId {
    match s.phone(h).holder {
        Holder::Person(p) => p,
        other => unreachable!("action offered to a phone held by {other:?}"),
    }
}
