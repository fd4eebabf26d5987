//! The design alternatives' own promises (ALT-*) and the threat actors' ground truth kept
//! straight. The safety properties of [`crate::risks`] read facts the threat actors leave in
//! the state (who found a phone, which signatures wait to be presented, whose PIN someone set,
//! which biometric key is invalid): a rule that kept them wrong would blind those properties
//! without breaking any. These observers say how each fact may change, step by step, and what
//! each alternative promises of its own (an SE that signs only with a fresh status, a mailed
//! code that opens an application). Written apart from the rules, like every observer: they
//! read the states, the action and its outcome, never the rules' helpers.

use crate::action::Action;
use crate::config::Config;
use crate::ids::{Kind, PhoneId};
use crate::policy::{Proofing, Unlock};
use crate::properties::{Observed, Property};
use crate::state::{CertStatus, Holder, State};
use crate::threats::Signature;

/// The properties of this module that apply in `config`: an alternative's own promise only
/// under that alternative.
pub fn for_config(config: &Config) -> Vec<Property> {
    let policy = config.policy;
    let mut v = vec![
        Property::always_step(
            "THREAT-FINDER-LOCK: a phone's screen is locked against a stranger only by their finding it, and opened only by a wipe or by its SIM going into the stranger's own phone; a step on one phone locks or opens no other",
            finder_lock,
        ),
        Property::always_step(
            "THREAT-OFFLINE-SIGN-KEPT: a signature made for later waits until it is presented: an accepted signing adds exactly the signing slot's one, by the phone's holder, an accepted presentation removes exactly its own, and nothing else makes or drops one",
            signatures_kept,
        ),
    ];
    if policy.applet_checks_status {
        v.push(Property::always_step(
            "ALT-APPLET-STATUS: the SE signs only with a fresh status from the app: never over a card reader, and a signature for later only on a phone online with the app, its screen open to its holder, of a cert active then",
            signs_with_status,
        ));
    }
    if policy.unlock == Unlock::InvalidateOnEnrol {
        v.push(Property::always_step(
            "ALT-UNLOCK-KEY: a phone's biometric key is invalidated by a new finger enrolled on it and by nothing else, and renewed by nothing but a new auth user PIN set on it",
            biometric_key,
        ));
    }
    if policy.proofing == Proofing::MailedCode {
        v.extend([
            Property::always_step(
                "ALT-PROOFING-PIN: whoever sets a user PIN in the issuance session knows it afterwards (the co-resident who applied with another person's mailed code among them)",
                setter_knows_pin,
            ),
            Property::always_step(
                "ALT-PROOFING-CODED: a phone's application is marked as proven by a mailed code only by an application with the code on it, and unmarked only by an application with the card on it; a step on one phone marks or unmarks no other",
                coded_mark,
            ),
            Property::always_step(
                "ALT-PROOFING-APPLY: an application with a mailed code, from a phone online with the app and the applet and no session, for a person and kind with no cert on that phone yet, is opened",
                coded_application_opened,
            ),
        ]);
    }
    v
}

/// A fact kept per phone as a bit (`bits` of a state): on every phone, only `sets(h)` turns
/// it on and only `clears(h)` turns it off, and each of them does.
fn only_by(
    o: &Observed,
    bits: fn(&State) -> u8,
    sets: impl Fn(PhoneId) -> bool,
    clears: impl Fn(PhoneId) -> bool,
) -> bool {
    (0..o.before.phones.len()).all(|i| {
        let h = PhoneId(i as u8);
        let (b, a) = (bits(o.before) >> i & 1 != 0, bits(o.after) >> i & 1 != 0);
        let (sets, clears) = (o.accepted() && sets(h), o.accepted() && clears(h));
        match (b, a) {
            (false, true) => sets,
            (true, false) => clears,
            (_, a) => (a || !sets) && (!a || !clears),
        }
    })
}

/// THREAT-FINDER-LOCK: how the screen lock against a finder changes, phone by phone.
fn finder_lock(o: &Observed) -> bool {
    only_by(
        o,
        |s| s.threats.found,
        |h| o.action == Action::StrangerFinds(h),
        |h| {
            matches!(o.action,
                Action::FactoryReset(x) | Action::HandOver(x, _, true) | Action::Dispose(x, true)
                | Action::SimSwap(x) if x == h)
        },
    )
}

/// The pending signatures as a set (their order means nothing).
fn sorted(v: &[Signature]) -> Vec<Signature> {
    let mut v = v.to_vec();
    v.sort();
    v
}

/// THREAT-OFFLINE-SIGN-KEPT: the pending signatures change only by an accepted signing or
/// presentation, and by exactly that one.
fn signatures_kept(o: &Observed) -> bool {
    let (before, after) = (&o.before.threats.signatures, &o.after.threats.signatures);
    let makes_or_takes = o.accepted()
        && matches!(
            o.action,
            Action::SignOffline(..) | Action::PresentSignature(_)
        );
    if !makes_or_takes && before == after {
        // Almost every edge: nothing changes, nothing to allocate.
        return true;
    }
    let mut expected = sorted(before);
    match (o.action, o.accepted()) {
        (Action::SignOffline(h, _), true) => {
            let ph = o.before.phone(h);
            let Some(serial) = ph.slot(Kind::Sign).serial() else {
                return false;
            };
            expected.push(Signature {
                serial,
                by: ph.holder,
            });
        }
        (Action::PresentSignature(x), true) => expected.retain(|s| s.serial != x),
        _ => {}
    }
    expected.sort();
    expected.dedup();
    let after = sorted(after);
    // A signature made twice is still one pending signature: `after` must hold no copy.
    expected == after && after.windows(2).all(|w| w[0] != w[1])
}

/// The SP-TSM's grant under ALT-APPLET-STATUS can reach phone `h`: online, with the app, its
/// screen open to its holder (not a finder). R-USE's signature for later asks it too.
pub(crate) fn fresh_status(s: &State, h: PhoneId) -> bool {
    let ph = s.phone(h);
    ph.online && ph.app && !s.threats.is_found(h)
}

/// ALT-APPLET-STATUS: what the SE signs under the alternative.
fn signs_with_status(o: &Observed) -> bool {
    if !o.accepted() {
        return true;
    }
    match o.action {
        Action::ReaderUse(_, Kind::Sign, _) => false,
        Action::SignOffline(h, _) => {
            fresh_status(o.before, h)
                && o.before
                    .phone(h)
                    .slot(Kind::Sign)
                    .serial()
                    .is_some_and(|x| o.before.cert(x).status == CertStatus::Active)
        }
        _ => true,
    }
}

/// ALT-UNLOCK-KEY: how each phone's biometric key validity changes.
fn biometric_key(o: &Observed) -> bool {
    only_by(
        o,
        |s| s.threats.bio_invalid,
        |h| o.action == Action::EnrollFinger(h),
        |h| {
            o.action == Action::SetUserPin(h)
                && o.before
                    .phone(h)
                    .session
                    .is_some_and(|x| x.kind == Kind::Auth)
        },
    )
}

/// ALT-PROOFING-PIN: after an accepted PIN setting, the phone's holder knows that PIN.
fn setter_knows_pin(o: &Observed) -> bool {
    let (Action::SetUserPin(h), true) = (o.action, o.accepted()) else {
        return true;
    };
    let Some(session) = o.before.phone(h).session else {
        return true;
    };
    matches!(o.before.phone(h).holder, Holder::Person(_))
        && crate::invariants::holder_knows_user_pin(o.after, h, session.kind)
}

/// ALT-PROOFING-CODED: how each phone's mark of a mailed-code application changes (the mark
/// INV-ISSUE-AUTH reads as "no card signature").
fn coded_mark(o: &Observed) -> bool {
    only_by(
        o,
        |s| s.threats.coded,
        |h| matches!(o.action, Action::ApplyWithCode(x, ..) if x == h),
        |h| matches!(o.action, Action::Apply(x, _) if x == h),
    )
}

/// ALT-PROOFING-APPLY: a mailed code opens the application when nothing stands in its way.
fn coded_application_opened(o: &Observed) -> bool {
    let Action::ApplyWithCode(h, p, k) = o.action else {
        return true;
    };
    let ph = o.before.phone(h);
    let fresh = !o
        .before
        .registry
        .iter()
        .any(|c| c.person == p && c.kind == k && c.phone == h);
    let ready = ph.online && ph.app && ph.applet && ph.session.is_none() && fresh;
    !ready || o.accepted()
}
