//! The threat actors' properties: INV-NO-FOREIGN-USE, the risks the default design closes
//! (`always`), each threat's attempt (`sometimes`, named by its THREAT-* ID) and the
//! consequences of 課題1 and 課題2 (`sometimes` RISK-*: what someone else can do, not only
//! what remains). Every one is an observer of attempted steps ([`Observed`]), written apart
//! from the rules: it reads the states before and after, the action and its outcome, never
//! the rules' helpers.

use crate::action::{Action, PinEntry};
use crate::config::Config;
use crate::ids::{Kind, PhoneId, Serial};
use crate::policy::{Storage, Unlock};
use crate::properties::{Observed, Property};
use crate::state::{CertStatus, Holder, State};

/// The properties of this module that can be decided in `config`: a threat that only an
/// alternative offers is listed only under it, and the risks that rest on a known PIN only
/// in a world where some PIN is known.
pub fn for_config(config: &Config) -> Vec<Property> {
    let mut v = vec![
        Property::always_step(
            "INV-NO-FOREIGN-USE: no relying party accepts a use of a person's credential by anyone else, unless it was made with that person's PIN known to them (THREAT-PIN-KNOWN)",
            no_foreign_use,
        ),
        Property::always_step(
            "RISK-REVOKE-BY-OTHER: nobody but its owner (or someone knowing its PIN) revokes a credential from the phone",
            no_revoke_by_other,
        ),
        Property::sometimes_step(
            "THREAT-FINDER: the stranger who kept a found phone tries its credentials",
            |o| attempt_on(o).is_some_and(|(h, _)| o.before.threats.is_found(h)),
        ),
        Property::sometimes_step(
            "THREAT-BUYER: the buyer of a carelessly handed-over phone tries the seller's credentials",
            |o| {
                attempt_on(o).is_some_and(|(h, serial)| {
                    let ph = o.before.phone(h);
                    ph.holder == Holder::Stranger
                        && !o.before.threats.is_found(h)
                        && !o.before.threats.is_swapped(h)
                        && foreign(o.before, h, serial)
                })
            },
        ),
        Property::sometimes_step(
            "THREAT-READER: someone else tries a credential over a card reader where the app route is closed to them (a found phone's screen lock, no network, no app)",
            |o| {
                let Action::ReaderUse(h, k, _) = o.action else {
                    return false;
                };
                let ph = o.before.phone(h);
                let app_closed = o.before.threats.is_found(h) || !(ph.online && ph.app);
                ph.slot(k)
                    .serial()
                    .is_some_and(|x| foreign(o.before, h, x) && app_closed)
            },
        ),
        Property::sometimes_step(
            "THREAT-READ-PII: someone else tries to read the signing certificate (基本4情報) out of the applet",
            |o| {
                let Action::ReadSignCert(h, _) = o.action else {
                    return false;
                };
                o.before
                    .phone(h)
                    .slot(Kind::Sign)
                    .serial()
                    .is_some_and(|x| foreign(o.before, h, x))
            },
        ),
        Property::sometimes_step(
            "THREAT-OFFLINE-SIGN: a signature made offline is presented after its cert was revoked",
            |o| {
                let Action::PresentSignature(x) = o.action else {
                    return false;
                };
                matches!(o.before.cert(x).status, CertStatus::Revoked(_))
            },
        ),
    ];
    if !config.pin_known.is_empty() {
        v.extend([
            Property::sometimes_step(
                "THREAT-PIN-KNOWN: someone else enters a person's right PIN",
                |o| attempt_on(o).is_some_and(|(h, x)| foreign(o.before, h, x) && right_pin(o)),
            ),
            Property::sometimes_step(
                "RISK-1-FOREIGN-USE: with the owner's PIN known, a relying party accepts a stranger's use of a carelessly handed-over phone's live credential (課題1 rests on the PIN)",
                |o| {
                    let t = &o.before.threats;
                    accepted_use(o).is_some_and(|(x, who)| {
                        who == Holder::Stranger && o.before.cert(x).status == CertStatus::Active
                    }) && attempt_on(o).is_some_and(|(h, _)| !t.is_found(h) && !t.is_swapped(h))
                },
            ),
            Property::sometimes_step(
                "RISK-2-READ-PII: someone else reads the 基本4情報 out of a revoked cert's leftover signing certificate (課題2)",
                |o| {
                    let Action::ReadSignCert(h, _) = o.action else {
                        return false;
                    };
                    o.accepted()
                        && o.before.phone(h).slot(Kind::Sign).serial().is_some_and(|x| {
                            foreign(o.before, h, x)
                                && matches!(o.before.cert(x).status, CertStatus::Revoked(_))
                        })
                },
            ),
            Property::sometimes_step(
                "RISK-2-OFFLINE-SIGN: someone else makes a signature with a revoked cert's leftover key (課題2; relying parties refuse it when it is presented)",
                |o| {
                    let Action::SignOffline(h, _) = o.action else {
                        return false;
                    };
                    o.accepted()
                        && o.before.phone(h).slot(Kind::Sign).serial().is_some_and(|x| {
                            foreign(o.before, h, x)
                                && matches!(o.before.cert(x).status, CertStatus::Revoked(_))
                        })
                },
            ),
        ]);
    }
    if config.policy.storage == Storage::Sim {
        v.push(Property::sometimes_step(
            "THREAT-SIM-SWAP: a SIM holding someone's credential is moved into a stranger's phone",
            |o| {
                let Action::SimSwap(h) = o.action else {
                    return false;
                };
                o.accepted()
                    && o.before
                        .phone(h)
                        .slots
                        .iter()
                        .any(|s| s.serial().is_some_and(|x| foreign(o.before, h, x)))
            },
        ));
    }
    if config.policy.unlock != Unlock::Pin {
        v.push(Property::sometimes_step(
            "THREAT-BUYER-BIOMETRIC: a new holder enrols a finger on a phone holding someone else's auth credential (ALT-UNLOCK)",
            |o| {
                let Action::EnrollFinger(h) = o.action else {
                    return false;
                };
                o.accepted()
                    && o.before
                        .phone(h)
                        .slot(Kind::Auth)
                        .serial()
                        .is_some_and(|x| foreign(o.before, h, x))
            },
        ));
    }
    // The alternatives' own promises and the threat actors' ground truth
    // (crate::alt_properties).
    v.extend(crate::alt_properties::for_config(config));
    v
}

/// Whether property `id` can be decided in `config`: an action kind that only an
/// alternative offers, or that needs the signing kind, is reachable only there.
pub fn decidable(config: &Config, id: &str) -> bool {
    let p = config.policy;
    let sign = config.kinds.contains(&Kind::Sign);
    match id {
        "ACT-SimSwap" => p.storage == Storage::Sim,
        "ACT-EnrollFinger" | "ACT-BiometricUse" => p.unlock != Unlock::Pin,
        "ACT-ApplyWithCode" => p.proofing == crate::policy::Proofing::MailedCode,
        "ACT-ReadAuthCert" => config.kinds.contains(&Kind::Auth),
        "ACT-ReadSignCert"
        | "ACT-SignOffline"
        | "ACT-PresentSignature"
        | "THREAT-READ-PII"
        | "THREAT-OFFLINE-SIGN"
        | "RISK-2-READ-PII"
        | "RISK-2-OFFLINE-SIGN"
        | "THREAT-OFFLINE-SIGN-KEPT" => sign,
        _ => true,
    }
}

/// The cert `x` on phone `h` belongs to someone other than the phone's holder.
fn foreign(s: &State, h: PhoneId, x: Serial) -> bool {
    s.phone(h).holder != Holder::Person(s.cert(x).person)
}

/// The step enters a PIN and enters it right.
fn right_pin(o: &Observed) -> bool {
    matches!(
        o.action,
        Action::Use(_, _, PinEntry::Right)
            | Action::ReaderUse(_, _, PinEntry::Right)
            | Action::ReadSignCert(_, PinEntry::Right)
            | Action::SignOffline(_, PinEntry::Right)
    )
}

/// The phone and the credential a step tries to use, read or sign with, accepted or not.
fn attempt_on(o: &Observed) -> Option<(PhoneId, Serial)> {
    let (h, k) = match o.action {
        Action::Use(h, k, _) | Action::ReaderUse(h, k, _) => (h, k),
        Action::ReadSignCert(h, _) | Action::SignOffline(h, _) => (h, Kind::Sign),
        Action::ReadAuthCert(h) | Action::BiometricUse(h) => (h, Kind::Auth),
        _ => return None,
    };
    o.before.phone(h).slot(k).serial().map(|x| (h, x))
}

/// A relying party accepted this step as a use of cert `serial` made by `who` (a login or
/// signature through the app, over a card reader, by a finger, or a signature presented
/// later: then `who` is whoever held the phone when it was made).
pub fn accepted_use(o: &Observed) -> Option<(Serial, Holder)> {
    if !o.accepted() {
        return None;
    }
    match o.action {
        Action::Use(h, k, _) | Action::ReaderUse(h, k, _) => {
            let x = o.before.phone(h).slot(k).serial()?;
            Some((x, o.before.phone(h).holder))
        }
        Action::BiometricUse(h) => {
            let x = o.before.phone(h).slot(Kind::Auth).serial()?;
            Some((x, o.before.phone(h).holder))
        }
        Action::PresentSignature(x) => Some((x, o.before.threats.signature(x)?.by)),
        _ => None,
    }
}

/// INV-NO-FOREIGN-USE: an accepted use by anyone but the credential's owner is allowed
/// only when it was made with the owner's PIN and that PIN is known to others
/// (THREAT-PIN-KNOWN); a finger never stands for a known PIN.
fn no_foreign_use(o: &Observed) -> bool {
    let Some((x, who)) = accepted_use(o) else {
        return true;
    };
    let owner = o.before.cert(x).person;
    let with_pin = !matches!(o.action, Action::BiometricUse(_));
    who == Holder::Person(owner) || (with_pin && o.before.threats.pin_known_of(owner))
}

/// RISK-REVOKE-BY-OTHER: an accepted revocation from the phone of a live cert is made by
/// its owner or by someone who knows the owner's PIN.
fn no_revoke_by_other(o: &Observed) -> bool {
    let Action::RevokeFromPhone(h, k) = o.action else {
        return true;
    };
    let Some(x) = o.before.phone(h).slot(k).serial() else {
        return true;
    };
    let c = o.before.cert(x);
    let revoked_now = c.status.is_live() && !o.after.cert(x).status.is_live();
    let who = o.before.phone(h).holder;
    // Who knows the PIN, as ground truth: its owner, everyone when the owner's PIN is known,
    // and whoever set it in the owner's place (ALT-PROOFING).
    let set_it = o
        .before
        .threats
        .pin_set_by
        .iter()
        .any(|&(y, p)| y == x && who == Holder::Person(p));
    !(o.accepted() && revoked_now)
        || who == Holder::Person(c.person)
        || o.before.threats.pin_known_of(c.person)
        || set_it
}

/// INV-NO-USE-AFTER-REVOKE's clause for the routes this module adds (card reader, finger,
/// a signature presented later): no relying party accepts a cert that is not active at
/// that moment.
pub fn no_use_after_revoke_other_routes(o: &Observed) -> bool {
    if matches!(o.action, Action::Use(..)) {
        return true;
    }
    accepted_use(o).is_none_or(|(x, _)| o.before.cert(x).status == CertStatus::Active)
}
