//! The properties: the eight invariants of DOMAIN.md, eventual deletion as a quiescence-guarded
//! invariant, and reachability of every action kind, the named scenarios and both residual
//! risks (so that a model whose safety holds vacuously fails). Names start with their ID.

use crate::action::{Action, ActionKind, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId};
use crate::state::{CertStatus, Holder, Pin, RevokeReason, Slot, State};
use serde::Serialize;

/// What a property expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Expectation {
    /// Holds in every reachable state (a discovery is a counterexample).
    Always,
    /// Holds in some reachable state or on some edge (a discovery is an example).
    Sometimes,
}

/// One attempted step as an observer sees it: the configuration, the state before, the
/// action, its outcome (accepted, or the refusal) and the state after. `after` equals
/// `before` for most refusals; a wrong PIN is refused and still counts down.
///
/// This is the **observer property vocabulary** (stable API; other properties, threat
/// actors and ALT-* policies build on it): an [`Observer`] is a plain function of an
/// [`Observed`] step, wrapped by [`Property::always_step`] (must hold on every attempted step
/// from every reachable state; a step where it returns `false` is a counterexample) or
/// [`Property::sometimes_step`] (some attempted step makes it return `true`: an example).
/// Both checkers evaluate it: [`crate::check`] on every edge it expands (the path ends with
/// the observed action), and the stateright adapter [`crate::explore`] as a state property
/// "every step out of this state satisfies it" (resp. "some step does") through
/// [`steps_satisfy`] / [`some_step_satisfies`]. Observers must be written apart from the
/// rules: they read the states and the action, never the rules' helpers.
#[derive(Clone, Copy, Debug)]
pub struct Observed<'a> {
    pub config: &'a Config,
    pub before: &'a State,
    pub action: Action,
    pub result: Result<(), Refusal>,
    pub after: &'a State,
}

impl Observed<'_> {
    /// The system accepted the action.
    pub fn accepted(&self) -> bool {
        self.result.is_ok()
    }

    /// The system refused the action with this reason.
    pub fn refused(&self, r: Refusal) -> bool {
        self.result == Err(r)
    }
}

/// A predicate on one attempted step (see [`Observed`]).
pub type Observer = fn(&Observed) -> bool;

/// What a property looks at.
#[derive(Clone, Copy)]
pub enum Condition {
    /// A predicate on states.
    State(fn(&Config, &State) -> bool),
    /// A predicate on attempted steps, accepted or refused (the observer vocabulary).
    Step(Observer),
    /// An accepted step of this action kind.
    Action(ActionKind),
    /// INV-NO-DEAD-END: decided by [`crate::check`] on the explored graph (backward
    /// reachability of goal states over the persons' own actions).
    NoDeadEnd,
}

/// A named property.
#[derive(Clone)]
pub struct Property {
    pub name: String,
    pub expectation: Expectation,
    pub condition: Condition,
}

/// Attempt every action offered in `state` and return the first whose observed step makes
/// `f` false (`None`: all satisfy it). What `always_step` means for one state.
pub fn steps_satisfy(config: &Config, state: &State, f: Observer) -> Option<Action> {
    offered_steps(config, state, |o| !f(o))
}

/// The first action offered in `state` whose observed step makes `f` true.
pub fn some_step_satisfies(config: &Config, state: &State, f: Observer) -> Option<Action> {
    offered_steps(config, state, f)
}

fn offered_steps(
    config: &Config,
    state: &State,
    hit: impl Fn(&Observed) -> bool,
) -> Option<Action> {
    let mut actions = Vec::new();
    crate::rules::candidate_actions(config, state, &mut actions);
    actions.into_iter().find(|&a| {
        let o = crate::rules::step(config, state, a);
        hit(&Observed {
            config,
            before: state,
            action: a,
            result: o.result,
            after: &o.next,
        })
    })
}

impl Property {
    /// Holds in every reachable state.
    pub fn always(name: &str, f: fn(&Config, &State) -> bool) -> Property {
        Property {
            name: name.to_string(),
            expectation: Expectation::Always,
            condition: Condition::State(f),
        }
    }

    /// Holds in some reachable state.
    pub fn sometimes(name: &str, f: fn(&Config, &State) -> bool) -> Property {
        Property {
            name: name.to_string(),
            expectation: Expectation::Sometimes,
            condition: Condition::State(f),
        }
    }

    /// Holds on every attempted step from every reachable state (an always-edge observer).
    pub fn always_step(name: &str, f: Observer) -> Property {
        Property {
            name: name.to_string(),
            expectation: Expectation::Always,
            condition: Condition::Step(f),
        }
    }

    /// Holds on some attempted step from some reachable state.
    pub fn sometimes_step(name: &str, f: Observer) -> Property {
        Property {
            name: name.to_string(),
            expectation: Expectation::Sometimes,
            condition: Condition::Step(f),
        }
    }

    /// The ID at the start of the name (`INV-ONE`, `ACT-Apply`, ...).
    pub fn id(&self) -> &str {
        self.name.split(':').next().unwrap_or(&self.name)
    }
}

/// Every property, invariants first.
pub fn all() -> Vec<Property> {
    let mut v = invariants();
    v.extend(reachability());
    v
}

/// The properties that can be decided in `config`: a scenario that needs more parts than the
/// configuration has (model change needs two phones) is left out rather than reported failed.
pub fn for_config(config: &Config) -> Vec<Property> {
    all()
        .into_iter()
        .filter(|p| config.phones >= 2 || !p.name.starts_with("SCN-MODEL-CHANGE"))
        .collect()
}

/// The `always` properties.
pub fn invariants() -> Vec<Property> {
    vec![
        Property::always(
            "INV-ONE: at most one live phone cert per person and kind",
            inv_one,
        ),
        Property::always(
            "INV-LINK: every live phone cert is linked to its person's valid card signing cert",
            inv_link,
        ),
        Property::always(
            "INV-DELETE-ON-TRANSFER: a phone passed on through the procedure holds nothing of its former owner",
            inv_delete_on_transfer,
        ),
        Property::always(
            "INV-NO-STALE-DELETE: a deletion push deletes only the credential it was sent for",
            |_, s| !s.history.stale_delete,
        ),
        Property::always(
            "INV-NO-USE-AFTER-REVOKE: no relying party accepts a revoked or suspended cert",
            |_, s| !s.history.rp_accepted_unusable,
        ),
        Property::always(
            "INV-PIN: no service use without the correct user PIN",
            |_, s| !s.history.used_without_user_pin,
        ),
        Property::always(
            "INV-KEY-IN-SE: private keys exist only inside SEs",
            |_, s| !s.history.key_outside_se,
        ),
        Property::always(
            "INV-ISSUE-AUTH: every phone cert was issued on a valid card signature of its person",
            |_, s| {
                s.registry
                    .iter()
                    .all(|c| c.signer == c.person && c.signature_valid_at_issue)
            },
        ),
        Property::always(
            "R-DELETE-EVENTUALLY: once no push is pending for an online phone with its app, it holds no revoked cert",
            delete_eventually,
        ),
    ]
}

/// The `sometimes` properties: scenarios, residual risks, then one per action kind.
pub fn reachability() -> Vec<Property> {
    let mut v = vec![
        Property::sometimes_step(
            "SCN-MODEL-CHANGE: issuing on a new phone revokes the cert on the old one",
            |o| {
                let (before, a, after) = (o.before, &o.action, o.after);
                if !o.accepted() {
                    return false;
                }
                matches!(a, Action::CaIssue(_))
                    && revoked_now(before, after)
                        .any(|r| r == CertStatus::Revoked(RevokeReason::ModelChange))
            },
        ),
        Property::sometimes_step(
            "SCN-REISSUE-AFTER-RENEWAL: a phone cert reissued on a renewed card cert",
            |o| {
                let (before, a, after) = (o.before, &o.action, o.after);
                if !o.accepted() {
                    return false;
                }
                let Action::CaIssue(h) = a else { return false };
                let Some(new) = after.registry.last() else {
                    return false;
                };
                after.registry.len() > before.registry.len()
                    && new.card_generation > 0
                    && before.registry.iter().any(|c| {
                        c.person == new.person
                            && c.kind == new.kind
                            && c.phone == *h
                            && c.status == CertStatus::Revoked(RevokeReason::Linked)
                    })
            },
        ),
        Property::sometimes_step(
            "SCN-PIN-INIT-AFTER-BLOCK: a blocked PIN is initialised with the card",
            |o| {
                let (before, a, after) = (o.before, &o.action, o.after);
                if !o.accepted() {
                    return false;
                }
                let Action::InitPin(h, k) = a else {
                    return false;
                };
                matches!(before.phone(*h).slot(*k), Slot::Cert { pin: Pin::Blocked, .. })
                    && matches!(after.phone(*h).slot(*k), Slot::Cert { pin: Pin::User { .. }, .. })
            },
        ),
        Property::sometimes_step(
            "SCN-RESUME-AFTER-SUSPEND: a suspended cert is resumed from the phone",
            |o| {
                let (before, a, after) = (o.before, &o.action, o.after);
                if !o.accepted() {
                    return false;
                }
                let Action::Resume(h, k, _) = a else {
                    return false;
                };
                let Some(serial) = before.phone(*h).slot(*k).serial() else {
                    return false;
                };
                before.cert(serial).status == CertStatus::Suspended
                    && after.cert(serial).status == CertStatus::Active
            },
        ),
        Property::sometimes(
            "RISK-1: a careless hand-over leaves a live, PIN-protected credential with a stranger (課題1)",
            risk_1,
        ),
        Property::sometimes(
            "RISK-2: a revoked cert's key survives on a phone with no deletion on its way (課題2)",
            risk_2,
        ),
    ];
    for k in ActionKind::ALL {
        v.push(Property {
            name: format!("ACT-{}: {} is reachable", k.name(), k.name()),
            expectation: Expectation::Sometimes,
            condition: Condition::Action(k),
        });
    }
    v
}

fn revoked_now<'a>(before: &'a State, after: &'a State) -> impl Iterator<Item = CertStatus> + 'a {
    before
        .registry
        .iter()
        .zip(&after.registry)
        .filter(|(b, a)| b.status.is_live() && !a.status.is_live())
        .map(|(_, a)| a.status)
}

fn inv_one(config: &Config, s: &State) -> bool {
    config.person_ids().all(|p| {
        Kind::ALL.iter().all(|&k| {
            s.registry
                .iter()
                .filter(|c| c.person == p && c.kind == k && c.status.is_live())
                .count()
                <= 1
        })
    })
}

fn inv_link(_: &Config, s: &State) -> bool {
    s.registry.iter().filter(|c| c.status.is_live()).all(|c| {
        let p = s.person(c.person);
        p.card == crate::state::CardStatus::Valid && p.card_generation == c.card_generation
    })
}

fn owner_of(s: &State, slot: Slot) -> Option<PersonId> {
    match slot {
        Slot::Empty => None,
        Slot::Key { person } => Some(person),
        Slot::Cert { serial, .. } => Some(s.cert(serial).person),
    }
}

fn inv_delete_on_transfer(_: &Config, s: &State) -> bool {
    s.phones.iter().all(|ph| match ph.procedure_from {
        None => true,
        Some(p) => ph.slots.iter().all(|&slot| owner_of(s, slot) != Some(p)),
    })
}

fn delete_eventually(_: &Config, s: &State) -> bool {
    s.phones.iter().enumerate().all(|(i, ph)| {
        let quiet = ph.online && ph.app && !s.pushes.iter().any(|p| p.phone.index() == i);
        !quiet
            || ph.slots.iter().all(|slot| match slot.serial() {
                Some(serial) => s.cert(serial).status.is_live(),
                None => true,
            })
    })
}

fn risk_1(_: &Config, s: &State) -> bool {
    s.phones.iter().any(|ph| {
        ph.holder == Holder::Stranger
            && ph.slots.iter().any(|slot| {
                matches!(slot, Slot::Cert { serial, pin: Pin::User { .. } }
                    if s.cert(*serial).status == CertStatus::Active)
            })
    })
}

fn risk_2(_: &Config, s: &State) -> bool {
    s.phones.iter().any(|ph| {
        ph.slots.iter().any(|slot| match slot.serial() {
            Some(serial) => {
                !s.cert(serial).status.is_live() && !s.pushes.iter().any(|p| p.serial == serial)
            }
            None => false,
        })
    })
}
