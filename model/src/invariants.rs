//! The invariants of DOMAIN.md (and the R-* rules checked as invariants), decided by code that
//! observes a step (state before, action, outcome, state after) or a state alone. Written apart
//! from the rules: nothing here calls `crate::rules` or reads a flag a rule sets in one of its
//! decision branches; what is read is ground truth (slots, the registry, the pushes, which
//! serial certifies each key, where private keys are, what PIN was entered and who holds the
//! phone).

use crate::action::{Action, PinEntry};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::policy::RevokeAuth;
use crate::properties::Observed;
use crate::state::{
    CardStatus, CertStatus, Condition, Holder, Pin, RevokeReason, Session, Slot, State,
};

// --- state invariants -------------------------------------------------------------------

/// INV-ONE: per person and kind, at most one live phone cert.
pub fn inv_one(config: &Config, s: &State) -> bool {
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

/// INV-LINK: every live phone cert is linked to its person's current, valid card cert.
pub fn inv_link(_: &Config, s: &State) -> bool {
    s.registry.iter().filter(|c| c.status.is_live()).all(|c| {
        let p = s.person(c.person);
        p.card == CardStatus::Valid && p.card_generation == c.card_generation
    })
}

/// INV-KEY-IN-SE: no private key has a copy outside an SE (ground truth kept by the state).
pub fn inv_key_in_se(_: &Config, s: &State) -> bool {
    s.keys_outside_se == 0
}

// --- step observers ---------------------------------------------------------------------

/// Whose key sits in a slot.
fn owner_of(s: &State, slot: Slot) -> Option<PersonId> {
    match slot {
        Slot::Empty => None,
        Slot::Key { person, .. } => Some(person),
        Slot::Cert { serial, .. } => Some(s.cert(serial).person),
    }
}

/// INV-DELETE-ON-TRANSFER: right after a hand-over or disposal through the procedure, the
/// phone holds no key or cert of its former holder, and no live cert of theirs is bound to it.
pub fn delete_on_transfer(o: &Observed) -> bool {
    let h = match o.action {
        Action::HandOver(h, _, true) | Action::Dispose(h, true) if o.accepted() => h,
        _ => return true,
    };
    let Holder::Person(from) = o.before.phone(h).holder else {
        return true;
    };
    let after = o.after;
    after
        .phone(h)
        .slots
        .iter()
        .all(|&slot| owner_of(after, slot) != Some(from))
        && !after
            .registry
            .iter()
            .any(|c| c.person == from && c.phone == h && c.status.is_live())
}

/// The pending push for `serial` in `s`.
fn push_for(s: &State, serial: Serial) -> Option<crate::state::Push> {
    s.pushes.iter().copied().find(|p| p.serial == serial)
}

/// INV-NO-STALE-DELETE: a delivered push takes away only a key certified as its serial.
pub fn no_stale_delete(o: &Observed) -> bool {
    let Action::DeliverPush(x) = o.action else {
        return true;
    };
    o.before.phones.iter().zip(&o.after.phones).all(|(b, a)| {
        b.slots
            .iter()
            .zip(&a.slots)
            .all(|(&sb, &sa)| !sb.has_key() || sa == sb || sb.certified() == Some(x))
    })
}

/// R-DELETE (push): a delivered push deletes the key certified as its serial on the phone it
/// was sent to, whether the cert was written into the slot or not.
pub fn push_deletes_its_key(o: &Observed) -> bool {
    let Action::DeliverPush(x) = o.action else {
        return true;
    };
    let Some(push) = push_for(o.before, x) else {
        return true;
    };
    !o.accepted()
        || o.before.phone(push.phone).slot(push.kind).certified() != Some(x)
        || o.after.phone(push.phone).slot(push.kind) == Slot::Empty
}

/// The PIN entry a step makes on a credential in a slot, if any: (phone, kind, entry). A revocation from the phone under
/// ALT-REVOKE-AUTH=pin carries no entry of its own: its holder enters the PIN they know, so
/// the entry is the ground truth of who knows it.
fn pin_step(o: &Observed) -> Option<(PhoneId, Kind, PinEntry)> {
    match o.action {
        Action::Use(h, k, e) | Action::ChangePin(h, k, e) | Action::Resume(h, k, e) => {
            Some((h, k, e))
        }
        Action::RevokeFromPhone(h, k) if o.config.policy.revoke_auth == RevokeAuth::Pin => {
            let e = if holder_knows_user_pin(o.before, h, k) {
                PinEntry::Right
            } else {
                PinEntry::Wrong
            };
            Some((h, k, e))
        }
        _ => None,
    }
}

fn pin_of(s: &State, h: PhoneId, k: Kind) -> Option<(Serial, Pin)> {
    match s.phone(h).slot(k) {
        Slot::Cert { serial, pin } => Some((serial, pin)),
        _ => None,
    }
}

/// Whether whoever holds `h` knows the user PIN of the credential in slot `k`: its owner set
/// it (R-PIN-SETUP); nobody else is told it.
pub fn holder_knows_user_pin(s: &State, h: PhoneId, k: Kind) -> bool {
    let holder = s.phone(h).holder;
    match (holder, pin_of(s, h, k)) {
        (Holder::Person(p), Some((serial, Pin::User { .. }))) if s.cert(serial).person == p => true,
        // THREAT-PIN-KNOWN: the owner's PIN is known to everyone else; ALT-PROOFING: whoever
        // set it in the owner's place knows it (ground truth kept by crate::threats).
        (Holder::Person(_) | Holder::Stranger, Some((serial, Pin::User { .. }))) => {
            s.threats.pin_known_of(s.cert(serial).person)
                || s.threats
                    .pin_set_by
                    .iter()
                    .any(|&(x, p)| x == serial && holder == Holder::Person(p))
        }
        _ => false,
    }
}

/// INV-PIN, its three clauses: (1) a relying party accepts a use (and, under
/// ALT-REVOKE-AUTH=pin, the SP-TSM a revocation from the phone) only after the correct user
/// PIN was entered by someone who knows it; (2) a blocked PIN admits nothing, and only
/// R-PIN-INIT unblocks it; (3) the temporary PIN admits no service use (a use needs a user
/// PIN, clause 1). Setting the PIN in the issuance session on the card signature counts as an
/// initialisation (decision: it authenticates as R-PIN-INIT does).
pub fn inv_pin(o: &Observed) -> bool {
    // Through the app, over a card reader, or a signature made for later (THREAT-READER,
    // THREAT-OFFLINE-SIGN): each needs the user PIN entered by someone who knows it.
    let used = match o.action {
        Action::Use(h, k, e) | Action::ReaderUse(h, k, e) => Some((h, k, e)),
        Action::SignOffline(h, e) => Some((h, Kind::Sign, e)),
        _ => None,
    };
    if let (Some((h, k, e)), true) = (used, o.accepted()) {
        let user = matches!(pin_of(o.before, h, k), Some((_, Pin::User { .. })));
        if !(user && e == PinEntry::Right && holder_knows_user_pin(o.before, h, k)) {
            return false;
        }
    }
    if !revoked_with_pin(o) {
        return false;
    }
    if let (Some((h, k, _)), true) = (pin_step(o), o.accepted()) {
        if matches!(pin_of(o.before, h, k), Some((_, Pin::Blocked))) {
            return false;
        }
    }
    // Unblocking: a blocked credential that is still there and no longer blocked.
    for (i, (b, a)) in o.before.phones.iter().zip(&o.after.phones).enumerate() {
        for k in Kind::ALL {
            if let (
                Slot::Cert {
                    serial: sb,
                    pin: Pin::Blocked,
                },
                Slot::Cert { serial: sa, pin },
            ) = (b.slot(k), a.slot(k))
            {
                // R-PIN-INIT, or the in-session PIN setting on the card signature (R-PIN-SETUP)
                // which authenticates the same way.
                let h = PhoneId(i as u8);
                let init = o.accepted()
                    && (o.action == Action::InitPin(h, k) || o.action == Action::SetUserPin(h));
                if sb == sa && pin != Pin::Blocked && !init {
                    return false;
                }
            }
        }
    }
    true
}

/// INV-PIN's first clause for revocations under ALT-REVOKE-AUTH=pin: every live cert that a
/// step revokes from the phone (a revocation there, or the hand-over procedure) was in a slot
/// of that phone with a user PIN its holder knows.
fn revoked_with_pin(o: &Observed) -> bool {
    if o.config.policy.revoke_auth != RevokeAuth::Pin || !o.accepted() {
        return true;
    }
    let Some(h) = o.action.phone() else {
        return true;
    };
    o.before
        .registry
        .iter()
        .zip(&o.after.registry)
        .enumerate()
        .filter(|(_, (b, a))| {
            b.status.is_live() && a.status == CertStatus::Revoked(RevokeReason::FromPhone)
        })
        .all(|(i, (b, _))| {
            matches!(pin_of(o.before, h, b.kind),
                Some((x, Pin::User { .. })) if x == Serial(i as u8))
                && holder_knows_user_pin(o.before, h, b.kind)
        })
}

/// R-USE: the service itself (004 想定ユースケース: a Mynaportal login with the auth cert, an
/// e-application signed with the sign cert). A use with the right user PIN, on a phone in
/// hand, online, with the app, of a cert in its slot that is active, is served. The converse
/// of INV-PIN: a rule that refuses without reason (a kind never usable, a status misread)
/// keeps every safety property, and only this one fails. The other routes too: over a card
/// reader (THREAT-READER: no app or network needed) a use of an active cert with the right
/// user PIN is served, and so is a signature made for later (THREAT-OFFLINE-SIGN: the SE
/// asks for nothing but the PIN), except what ALT-APPLET-STATUS withholds: under it the SE
/// signs only with a fresh status from the app (online, the app, a screen open to its holder,
/// an active cert), never over the reader.
pub fn use_served(o: &Observed) -> bool {
    let (h, k, route) = match o.action {
        Action::Use(h, k, PinEntry::Right) => (h, k, Route::App),
        Action::ReaderUse(h, k, PinEntry::Right) => (h, k, Route::Reader),
        Action::SignOffline(h, PinEntry::Right) => (h, Kind::Sign, Route::ForLater),
        _ => return true,
    };
    let ph = o.before.phone(h);
    let Slot::Cert {
        serial,
        pin: Pin::User { .. },
        ..
    } = ph.slot(k)
    else {
        return true;
    };
    let active = o.before.cert(serial).status == CertStatus::Active;
    let in_hand = ph.condition == Condition::InHand;
    let fresh_status = crate::alt_properties::fresh_status(o.before, h);
    let status_check = o.config.policy.applet_checks_status;
    let ready = in_hand
        && match route {
            Route::App => ph.online && ph.app && active,
            Route::Reader => active && !(k == Kind::Sign && status_check),
            Route::ForLater => !status_check || (fresh_status && active),
        };
    !ready || o.accepted()
}

/// How a use reaches the applet (R-USE).
#[derive(Clone, Copy)]
enum Route {
    /// Through the app, online.
    App,
    /// Over an NFC card reader (THREAT-READER).
    Reader,
    /// A signature made now and presented later (THREAT-OFFLINE-SIGN).
    ForLater,
}

/// R-TRANSFER-DONE: the holder's hand-over or disposal through the procedure, on a phone
/// online with the app, is done whenever each of their live certs bound to the phone can be
/// revoked from it as ALT-REVOKE-AUTH asks: under `pin` each sits written in its slot with
/// a user PIN (its holder's own), under `card` their card is valid, under `nothing` always.
/// The converse of the procedure's guards: a procedure refused without reason would leave
/// the careless hand-over as the only way out, and no safety property notices.
pub fn transfer_done(o: &Observed) -> bool {
    let h = match o.action {
        Action::HandOver(h, _, true) | Action::Dispose(h, true) => h,
        _ => return true,
    };
    let ph = o.before.phone(h);
    let Holder::Person(from) = ph.holder else {
        return true;
    };
    if !(ph.online && ph.app) {
        return true;
    }
    let provable = |(i, c): (usize, &crate::state::PhoneCert)| match o.config.policy.revoke_auth {
        RevokeAuth::Nothing => true,
        RevokeAuth::Card => o.before.card_valid(from),
        RevokeAuth::Pin => matches!(ph.slot(c.kind),
            Slot::Cert { serial, pin: Pin::User { .. } } if serial == Serial(i as u8)),
    };
    let ready = o
        .before
        .registry
        .iter()
        .enumerate()
        .filter(|(_, c)| c.person == from && c.phone == h && c.status.is_live())
        .all(provable);
    !ready || o.accepted()
}

/// R-EVENTS: the world's own events and the app's removal do what they say (R-LOSS, R-FAILURE,
/// R-CONTINUE, R-LINK's trigger): a lost phone is lost, a found one is in hand, a broken one is
/// broken and offline, the network goes and comes, an uninstalled app is gone with its
/// session, a card signing cert is revoked, expires or is renewed to a new generation, and a
/// revocation with the card leaves no live cert of that person and kind. An
/// event a rule turned into a no-op would keep every other property (nothing else follows
/// from it), and only this one fails.
pub fn events_take_effect(o: &Observed) -> bool {
    if !o.accepted() {
        return true;
    }
    let (b, a) = (o.before, o.after);
    match o.action {
        Action::Lose(h) => a.phone(h).condition == Condition::Lost,
        Action::Find(h) => a.phone(h).condition == Condition::InHand,
        Action::Break(h) => a.phone(h).condition == Condition::Broken && !a.phone(h).online,
        Action::GoOffline(h) => !a.phone(h).online,
        Action::GoOnline(h) => a.phone(h).online,
        Action::UninstallApp(h) => !a.phone(h).app && a.phone(h).session.is_none(),
        Action::CardRevoke(p) => a.person(p).card == CardStatus::Revoked,
        Action::CardExpire(p) => a.person(p).card == CardStatus::Expired,
        // R-REVOKE (b), R-LOSS: the person's live cert of that kind ends with the card's
        // revocation request.
        Action::RevokeWithCard(p, k) => a.live_cert(p, k).is_none(),
        Action::CardRenew(p) => {
            a.card_valid(p) && a.person(p).card_generation == b.person(p).card_generation + 1
        }
        _ => true,
    }
}

/// R-PIN-RETRY: a wrong entry is never accepted and counts the PIN down by one (blocking it at
/// zero) unless the step refused before reaching the PIN check; an accepted step with the user
/// PIN restores the full tries.
pub fn pin_retry(o: &Observed) -> bool {
    let Some((h, k, e)) = pin_step(o) else {
        return true;
    };
    let (Some((sb, before)), Some((sa, after))) = (pin_of(o.before, h, k), pin_of(o.after, h, k))
    else {
        return true;
    };
    if sb != sa {
        return true;
    }
    match (e, before) {
        (PinEntry::Wrong, _) if o.accepted() => false,
        (PinEntry::Wrong, Pin::User { tries_left }) => {
            let down = if tries_left <= 1 {
                Pin::Blocked
            } else {
                Pin::User {
                    tries_left: tries_left - 1,
                }
            };
            after == before || after == down
        }
        // The applet checks the PIN before the server is asked: a right entry restores the
        // tries even when the step is then refused.
        (PinEntry::Right, Pin::User { .. }) => {
            after == before
                || after
                    == Pin::User {
                        tries_left: o.config.tries(k),
                    }
        }
        _ => after == before,
    }
}

/// INV-NO-USE-AFTER-REVOKE: a relying party accepts a use only of an active cert.
pub fn no_use_after_revoke(o: &Observed) -> bool {
    // The card reader, a finger, and signatures made offline and presented later
    // (crate::risks): no relying party accepts a cert that is not active then.
    if !crate::risks::no_use_after_revoke_other_routes(o) {
        return false;
    }
    let (Action::Use(h, k, _), true) = (o.action, o.accepted()) else {
        return true;
    };
    matches!(pin_of(o.before, h, k), Some((serial, _)) if o.before.cert(serial).status == CertStatus::Active)
}

/// INV-ISSUE-AUTH: a cert enters the registry only through `CaIssue`, for the person whose
/// card signed the application held in that phone's session, while that card cert (the same
/// generation) is valid.
pub fn issue_auth(o: &Observed) -> bool {
    if o.after.registry.len() <= o.before.registry.len() {
        return true;
    }
    let (Action::CaIssue(h), true) = (o.action, o.accepted()) else {
        return false;
    };
    let Some(app) = o.before.phone(h).session else {
        return false;
    };
    let new = o.after.registry.last().copied();
    o.after.registry.len() == o.before.registry.len() + 1
        && new.is_some_and(|c| {
            c.person == app.person
                && c.kind == app.kind
                && c.phone == h
                && c.card_generation == app.card_generation
        })
        && card_still_valid(o.before, &app)
        // ALT-PROOFING: an application opened with a mailed access code carries no card
        // signature at all (ground truth kept by crate::threats).
        && o.before.threats.coded & (1 << h.0) == 0
}

/// R-PIN-SETUP: the user sets their PIN in the issuance session only while the card cert
/// that signed its application is still valid, the same generation (004 PIN/パスワードの初期
/// 設定フロー: the card signature authorises the setting).
pub fn pin_setup(o: &Observed) -> bool {
    let (Action::SetUserPin(h), true) = (o.action, o.accepted()) else {
        return true;
    };
    let Some(app) = o.before.phone(h).session else {
        return false;
    };
    card_still_valid(o.before, &app)
}

/// The card cert that signed a session's application is still valid: same generation, valid.
fn card_still_valid(s: &State, app: &Session) -> bool {
    let card = s.person(app.person);
    card.card == CardStatus::Valid && card.card_generation == app.card_generation
}

/// The phone a step acts on from the phone itself (a revocation there deletes locally).
fn local_phone(a: Action) -> Option<PhoneId> {
    match a {
        Action::RevokeFromPhone(h, _) | Action::HandOver(h, _, _) | Action::Dispose(h, _) => {
            Some(h)
        }
        _ => None,
    }
}

/// R-TOKEN: every new deletion push goes to the latest token of the phone that holds the
/// revoked cert; and every revocation made elsewhere than on that phone sends one, when the
/// phone has ever had the app (a token exists).
pub fn token(o: &Observed) -> bool {
    let (before, after) = (o.before, o.after);
    let new_pushes_ok = after
        .pushes
        .iter()
        .filter(|p| push_for(before, p.serial).is_none())
        .all(|p| {
            let c = after.cert(p.serial);
            p.phone == c.phone
                && p.kind == c.kind
                && p.token == after.phone(c.phone).app_installs
                && matches!(c.status, CertStatus::Revoked(_))
        });
    let revocations_pushed = before
        .registry
        .iter()
        .zip(&after.registry)
        .enumerate()
        .filter(|(_, (b, a))| b.status.is_live() && matches!(a.status, CertStatus::Revoked(_)))
        .all(|(i, (_, a))| {
            local_phone(o.action) == Some(a.phone)
                || before.phone(a.phone).app_installs == 0
                || push_for(after, Serial(i as u8)).is_some_and(|p| p.phone == a.phone)
        });
    // A delivered push reached the app installation its token names, on a phone online
    // (004 リモートでのGP-SE内の情報削除: a reinstalled app has a new token, an offline phone
    // receives nothing).
    let delivered_to_its_token = match o.action {
        Action::DeliverPush(x) if o.accepted() => push_for(before, x).is_some_and(|p| {
            let ph = before.phone(p.phone);
            ph.online && ph.token() == Some(p.token)
        }),
        _ => true,
    };
    new_pushes_ok && revocations_pushed && delivered_to_its_token
}

/// R-DELETE-ON-SYNC (project decision): right after a phone comes online or gets the app,
/// with the applet installed, it holds no cert that has ended.
pub fn delete_on_sync(o: &Observed) -> bool {
    let h = match o.action {
        Action::GoOnline(h) | Action::InstallApp(h) if o.accepted() => h,
        _ => return true,
    };
    let ph = o.after.phone(h);
    !(ph.online && ph.app && ph.applet)
        || ph.slots.iter().all(|slot| {
            slot.serial()
                .is_none_or(|x| o.after.cert(x).status.is_live())
        })
}

/// R-DELETE (applet): a step that takes the last key out of an applet deletes the applet too
/// (失効時にアプレットの削除).
pub fn delete_applet(o: &Observed) -> bool {
    o.before.phones.iter().zip(&o.after.phones).all(|(b, a)| {
        let had = b.applet && b.slots.iter().any(|s| s.has_key());
        let empty = a.applet && a.slots.iter().all(|s| !s.has_key());
        !(had && empty)
    })
}

/// R-RESET: a factory reset while the phone is online leaves no JPKI data in its SE.
pub fn reset_wipes(o: &Observed) -> bool {
    let (Action::FactoryReset(h), true) = (o.action, o.accepted()) else {
        return true;
    };
    let ph = o.after.phone(h);
    !o.before.phone(h).online || (!ph.applet && ph.slots.iter().all(|s| !s.has_key()))
}

/// R-REVOKE: a cert is revoked only for one of its four reasons, each concerning that cert:
/// (a) from its own phone (revocation from the phone, or the hand-over/disposal procedure on
/// it); (b) with its person's card; (c) in tandem with its person's card cert (R-LINK); (d)
/// by its person's issuance of the same kind on another phone (R-MODEL-CHANGE). Observed on
/// the registry before and after the step, apart from the rules.
pub fn revocation_concerns_the_cert(o: &Observed) -> bool {
    let card_event = |p| matches!(o.action, Action::CardRenew(q) | Action::CardRevoke(q) | Action::CardExpire(q) if q == p);
    o.before
        .registry
        .iter()
        .zip(&o.after.registry)
        .filter(|(b, _)| b.status.is_live())
        .all(|(_, c)| match c.status {
            CertStatus::Revoked(RevokeReason::FromPhone) => matches!(
                o.action,
                Action::RevokeFromPhone(h, _) | Action::HandOver(h, ..) | Action::Dispose(h, _)
                    if h == c.phone
            ),
            CertStatus::Revoked(RevokeReason::WithCard) => {
                o.action == Action::RevokeWithCard(c.person, c.kind)
            }
            CertStatus::Revoked(RevokeReason::Linked) => card_event(c.person),
            CertStatus::Revoked(RevokeReason::ModelChange) => {
                matches!(o.action, Action::CaIssue(h) if h != c.phone)
                    && o.after.registry[o.before.registry.len()..]
                        .iter()
                        .any(|n| n.person == c.person && n.kind == c.kind && n.phone != c.phone)
            }
            _ => true,
        })
}
