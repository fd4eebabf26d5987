//! The properties: the eight invariants of DOMAIN.md, eventual deletion as a quiescence-guarded
//! invariant, and reachability of every action kind, the named scenarios and both residual
//! risks (so that a model whose safety holds vacuously fails). Names start with their ID.

use crate::action::{Action, ActionKind, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PhoneId};
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
    /// reachability of goal states over the persons' own actions, then a search in the world
    /// with its bounds lifted for what the graph leaves open: [`crate::deadend`]).
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
    let mut v: Vec<Property> = all()
        .into_iter()
        .filter(|p| config.phones >= 2 || !p.name.starts_with("SCN-MODEL-CHANGE"))
        .filter(|p| config.persons >= 2 || !p.name.starts_with("SCN-SECOND-HAND"))
        .filter(|p| !p.name.starts_with("SCN-BOTH-KINDS-NEW-PHONE") || both_kinds_fit(config))
        // A reset while offline takes two detours (going offline, the reset); so does the
        // disposal of a broken phone (breaking it, disposing of it).
        .filter(|p| {
            !(p.name.starts_with("RISK-RESET-OFFLINE")
                || p.name.starts_with("RISK-BROKEN-DISPOSAL"))
                || config.max_events.is_none_or(|m| m >= 2)
        })
        .collect();
    // The threat actors' and the alternatives' properties (crate::risks).
    v.extend(crate::risks::for_config(config));
    v.retain(|p| crate::risks::decidable(config, p.id()));
    v
}

/// Whether a person can move both kinds to a new phone in `config`: two phones of one person,
/// both kinds, and room for four certs of that person.
pub fn both_kinds_fit(config: &Config) -> bool {
    config.phones > config.persons
        && config.kinds.len() == 2
        && config.max_issuances >= 2
        && config.max_certs.is_none_or(|m| m >= 4)
}

/// The `always` properties: DOMAIN.md's invariants, then the R-* rules checked as invariants
/// (observers in [`crate::invariants`]).
pub fn invariants() -> Vec<Property> {
    use crate::invariants as inv;
    vec![
        Property::always(
            "INV-ONE: at most one live phone cert per person and kind",
            inv::inv_one,
        ),
        Property::always(
            "INV-LINK: every live phone cert is linked to its person's valid card signing cert",
            inv::inv_link,
        ),
        Property::always_step(
            "INV-DELETE-ON-TRANSFER: a phone passed on through the procedure holds nothing of its former owner, and no live cert of theirs is bound to it",
            inv::delete_on_transfer,
        ),
        Property::always_step(
            "INV-NO-STALE-DELETE: a deletion push deletes only the key certified as its serial",
            inv::no_stale_delete,
        ),
        Property::always_step(
            "INV-NO-USE-AFTER-REVOKE: no relying party accepts a revoked, expired or suspended cert",
            inv::no_use_after_revoke,
        ),
        Property::always_step(
            "INV-PIN: a use (and under ALT-REVOKE-AUTH=pin a revocation from the phone) needs the correct user PIN entered by someone who knows it; a blocked PIN admits nothing until InitPin; the temporary PIN admits no service use",
            inv::inv_pin,
        ),
        Property::always(
            "INV-KEY-IN-SE: private keys exist only inside SEs",
            inv::inv_key_in_se,
        ),
        Property::always_step(
            "INV-ISSUE-AUTH: a phone cert is issued only on the application in the phone's session, for the person whose card signed it, while that card cert is valid",
            inv::issue_auth,
        ),
        Property {
            name: "INV-NO-DEAD-END: from every reachable state a person holding a working phone can, by their own actions, get a usable credential of each kind on it (a way a world bound blocks is searched on with the bounds lifted by a margin; only a state with no way even then is a dead end)".into(),
            expectation: Expectation::Always,
            condition: Condition::NoDeadEnd,
        },
        Property::always_step(
            "R-PIN-SETUP: the user PIN is set in the issuance session only while the card cert that signed its application is valid",
            inv::pin_setup,
        ),
        Property::always_step(
            "R-USE: a login or a signature with the right user PIN, from a phone in hand, online, with the app, of an active cert in its slot, is served; so is one over a card reader, and a signature made for later (except what ALT-APPLET-STATUS withholds)",
            inv::use_served,
        ),
        Property::always_step(
            "R-TRANSFER-DONE: the holder's hand-over or disposal through the procedure, online with the app, is done when each of their live certs on the phone can be revoked from it as ALT-REVOKE-AUTH asks",
            inv::transfer_done,
        ),
        Property::always_step(
            "R-EVENTS: the world's events and the card's requests do what they say: a lost phone is lost, a found one in hand, a broken one broken and offline, the network goes and comes, an uninstalled app is gone with its session, a card signing cert is revoked, expires or is renewed to a new generation; a revocation with the card leaves no live cert of that kind",
            inv::events_take_effect,
        ),
        Property::always_step(
            "R-PIN-RETRY: a wrong PIN is never accepted and counts down by one, blocking at zero; an accepted user PIN restores the tries",
            inv::pin_retry,
        ),
        Property::always_step(
            "R-TOKEN: a revocation made away from the holding phone sends a deletion push to that phone's latest token, every push goes there, and it is delivered only to that app installation while the phone is online",
            inv::token,
        ),
        Property::always_step(
            "R-REVOKE: a cert is revoked only from its own phone, with its person's card, in tandem with its person's card cert, or by its person's issuance of that kind on another phone",
            inv::revocation_concerns_the_cert,
        ),
        Property::always_step(
            "R-DELETE-KEY: a delivered push deletes the key certified as its serial, cert written or not",
            inv::push_deletes_its_key,
        ),
        Property::always_step(
            "R-DELETE-APPLET: a step that deletes an applet's last key deletes the applet",
            inv::delete_applet,
        ),
        Property::always_step(
            "R-DELETE-ON-SYNC: a phone coming online with its app and applet holds no ended cert after the app's status sync (the project's answer to lost pushes; R-DELETE holds eventually only under it or fair push delivery)",
            inv::delete_on_sync,
        ),
        Property::always_step(
            "R-RESET: a factory reset while online leaves no JPKI data in the SE",
            inv::reset_wipes,
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
        Property::sometimes_step(
            "SCN-PUSH-LOST-ONLINE: a deletion push is lost while its phone is online with the app it was sent to (004 課題2: notifications refused, other reasons)",
            |o| {
                let Action::DropPush(x) = o.action else {
                    return false;
                };
                o.accepted()
                    && o.before.pushes.iter().any(|p| {
                        let ph = o.before.phone(p.phone);
                        p.serial == x && ph.online && ph.token() == Some(p.token)
                    })
            },
        ),
        Property::sometimes_step(
            "SCN-RENEW-AFTER-EXPIRY: a phone cert issued on the phone whose previous cert of that kind expired (更新)",
            |o| {
                let (Action::CaIssue(h), true) = (o.action, o.accepted()) else {
                    return false;
                };
                let Some(new) = o.after.registry.last() else {
                    return false;
                };
                o.before.registry.iter().any(|c| {
                    c.person == new.person
                        && c.kind == new.kind
                        && c.phone == h
                        && c.status == CertStatus::Expired
                })
            },
        ),
        Property::sometimes_step(
            "SCN-BOTH-KINDS-NEW-PHONE: a person completes both kinds on a new phone, both former certs revoked by the model change (003 §3)",
            |o| {
                let Some((h, p)) = completed(o) else {
                    return false;
                };
                crate::deadend::goal(o.config, o.after, h)
                    && o.config.kinds.len() == 2
                    && Kind::ALL.iter().all(|&k| {
                        o.after.registry.iter().any(|c| {
                            c.person == p
                                && c.kind == k
                                && c.phone != h
                                && c.status == CertStatus::Revoked(RevokeReason::ModelChange)
                        })
                    })
            },
        ),
        Property::sometimes_step(
            "SCN-SECOND-HAND: a person completes a credential on a phone that another person had certs on (a phone handed down or sold to someone who uses JPKI; 003 機種変更 from the other side)",
            |o| {
                let Some((h, p)) = completed(o) else {
                    return false;
                };
                o.after
                    .registry
                    .iter()
                    .any(|c| c.phone == h && c.person != p)
            },
        ),
        Property::sometimes_step(
            "RISK-RESET-OFFLINE: a factory reset while offline leaves JPKI keys in the SE (ALT-RESET: the server cannot be asked)",
            |o| {
                let (Action::FactoryReset(h), true) = (o.action, o.accepted()) else {
                    return false;
                };
                !o.before.phone(h).online && o.after.phone(h).slots.iter().any(|s| s.has_key())
            },
        ),
        Property::sometimes_step(
            "RISK-BROKEN-DISPOSAL: a broken phone is disposed of with its keys still in its SE (R-FAILURE: no procedure runs on it; only a remote deletion can reach it)",
            |o| {
                let (Action::Dispose(h, _), true) = (o.action, o.accepted()) else {
                    return false;
                };
                o.before.phone(h).condition == crate::state::Condition::Broken
                    && o.after.phone(h).slots.iter().any(|s| s.has_key())
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

/// A credential completed by its holder: an accepted `SetUserPin` on phone `h` held by `p`.
fn completed(o: &Observed) -> Option<(PhoneId, crate::ids::PersonId)> {
    let (Action::SetUserPin(h), true) = (o.action, o.accepted()) else {
        return None;
    };
    match o.after.phone(h).holder {
        Holder::Person(p) => Some((h, p)),
        _ => None,
    }
}

fn revoked_now<'a>(before: &'a State, after: &'a State) -> impl Iterator<Item = CertStatus> + 'a {
    before
        .registry
        .iter()
        .zip(&after.registry)
        .filter(|(b, a)| b.status.is_live() && !a.status.is_live())
        .map(|(_, a)| a.status)
}

/// A stranger holds the phone by a careless hand-over: not as the finder of a lost phone
/// (THREAT-FINDER) or through a moved SIM (THREAT-SIM-SWAP), which are other threats.
fn risk_1(_: &Config, s: &State) -> bool {
    s.phones.iter().zip(0u8..).any(|(ph, h)| {
        ph.holder == Holder::Stranger
            && !s.threats.is_found(PhoneId(h))
            && !s.threats.is_swapped(PhoneId(h))
            && ph.slots.iter().any(|slot| {
                matches!(slot, Slot::Cert { serial, pin: Pin::User { .. } }
                    if s.cert(*serial).status == CertStatus::Active)
            })
    })
}

fn risk_2(_: &Config, s: &State) -> bool {
    s.phones.iter().any(|ph| {
        ph.slots.iter().any(|slot| match slot.certified() {
            Some(serial) => {
                matches!(s.cert(serial).status, CertStatus::Revoked(_))
                    && !s.pushes.iter().any(|p| p.serial == serial)
            }
            None => false,
        })
    })
}
