//! The rules: which actions can be attempted in a state, and what each does or why it is
//! refused. This is the reference semantics; every rule cites its R-IDs.
//!
//! Order of checks inside an action is part of the semantics (the implementation must refuse
//! for the same reason): network first, then the card or applet, then the server's records.

use crate::action::{Action, PinEntry, Recipient, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::state::{
    CardStatus, CertStatus, Condition, Holder, PhoneCert, Pin, Push, RevokeReason, Session,
    SessionStep, Slot, State,
};

/// The result of attempting an action. A refused action usually leaves the state as it was;
/// a wrong PIN is refused *and* counts down the retry counter, so `next` carries that.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub next: State,
    pub result: Result<(), Refusal>,
}

/// Every action an actor could attempt in `state`, in a stable order. Attempting one may still
/// be refused by the system (that is part of what the model specifies). Bounds from the
/// configuration (card generations, issuances, app installs) remove actions, never refuse them.
pub fn candidate_actions(config: &Config, state: &State, out: &mut Vec<Action>) {
    let kinds = &config.kinds;
    for h in config.phone_ids() {
        let ph = state.phone(h);
        let operable = ph.condition == Condition::InHand && ph.holder != Holder::Nobody;
        // World events matter only once the JPKI app has been on the phone: before that the
        // phone holds nothing of JPKI's, and offering them would only multiply states.
        let involved = ph.app_installs > 0;
        if involved && ph.holder != Holder::Nobody && ph.condition != Condition::Broken {
            out.push(if ph.online {
                Action::GoOffline(h)
            } else {
                Action::GoOnline(h)
            });
        }
        let person = match ph.holder {
            Holder::Person(p) => Some(p),
            _ => None,
        };
        match ph.condition {
            // A person's involved phone is lost or broken; a stranger's loss would only hand
            // it to another stranger (model/src/threats.rs has what strangers do).
            Condition::InHand if person.is_some() && involved => {
                out.push(Action::Lose(h));
                out.push(Action::Break(h));
            }
            Condition::Lost => out.push(Action::Find(h)),
            _ => {}
        }
        if !operable {
            if let (Holder::Person(_), Condition::Broken) = (ph.holder, ph.condition) {
                dispose_actions(config, h, out);
            }
            continue;
        }
        if person.is_some() && !ph.app && ph.app_installs < config.max_app_installs {
            out.push(Action::InstallApp(h));
        }
        if person.is_some() && ph.app {
            out.push(Action::UninstallApp(h));
            if !ph.applet {
                out.push(Action::InstallApplet(h));
            }
        }
        for &k in kinds {
            let Slot::Cert { serial, .. } = ph.slot(k) else {
                continue;
            };
            if !ph.app {
                continue;
            }
            let owner = state.cert(serial).person;
            let knows_pin = person == Some(owner);
            for e in [PinEntry::Wrong, PinEntry::Right] {
                if e == PinEntry::Right && !knows_pin {
                    continue;
                }
                out.push(Action::Use(h, k, e));
                if person.is_some() {
                    out.push(Action::ChangePin(h, k, e));
                    out.push(Action::Resume(h, k, e));
                }
            }
            if person.is_some() {
                out.push(Action::InitPin(h, k));
                out.push(Action::RevokeFromPhone(h, k));
            }
        }
        if let (Some(p), true) = (person, ph.app) {
            match ph.session {
                None if sessions_full(config, state)
                    || config
                        .max_certs
                        .is_some_and(|max| state.registry.len() >= usize::from(max)) => {}
                None => {
                    for &k in kinds {
                        if issued_count(state, p, k) < config.max_issuances {
                            out.push(Action::Apply(h, k));
                        }
                    }
                }
                Some(s) => {
                    out.push(match s.step {
                        SessionStep::Applied => Action::GenerateKey(h),
                        SessionStep::KeyGenerated => Action::CaIssue(h),
                        SessionStep::Issued(_) => Action::WriteCert(h),
                        SessionStep::CertWritten(_) => Action::SetUserPin(h),
                    });
                    out.push(Action::AbandonIssuance(h));
                }
            }
        }
        out.push(Action::FactoryReset(h));
        // A phone that never had the JPKI app leaves its holder outside JPKI's concern (the
        // same world as a different initial holder), so hand-over and disposal are offered
        // once it is involved.
        if let (Some(p), true) = (person, involved) {
            if ph.handovers < config.max_handovers {
                for to in config.person_ids().filter(|&q| q != p) {
                    handover_actions(config, h, Recipient::Person(to), out);
                }
                handover_actions(config, h, Recipient::Stranger, out);
            }
            dispose_actions(config, h, out);
        }
    }
    for p in config.person_ids() {
        let person = state.person(p);
        if person.card_generation + 1 < config.max_card_generations {
            out.push(Action::CardRenew(p));
        }
        if person.card == CardStatus::Valid {
            out.push(Action::CardRevoke(p));
            out.push(Action::CardExpire(p));
        }
        for &k in kinds {
            if state.live_cert(p, k).is_some() {
                out.push(Action::Suspend(p, k));
                out.push(Action::RevokeWithCard(p, k));
            }
        }
    }
    for push in &state.pushes {
        if deliverable(state, push) {
            out.push(Action::DeliverPush(push.serial));
        }
        // 004 課題2: delivery is not guaranteed, even to a phone that is online with its app
        // (notifications refused, "other reasons"): a push can be lost at any time.
        out.push(Action::DropPush(push.serial));
    }
    // 更新: a phone cert's validity period can end while it is live.
    for (i, c) in state.registry.iter().enumerate() {
        if config.policy.phone_certs_expire && c.status.is_live() {
            out.push(Action::CertExpire(Serial(i as u8)));
        }
    }
    // Threat actors and the ALT-* policies' own actions (crate::threats).
    crate::threats::candidates(config, state, out);
    // The small-scope bound: once the world's budget of detours is spent, only the happy path
    // (and the consequences already in motion) goes on.
    if config.max_events.is_some_and(|max| state.events >= max) {
        out.retain(|a| !config.spends_detour(state, *a));
    }
}

fn handover_actions(config: &Config, h: PhoneId, to: Recipient, out: &mut Vec<Action>) {
    out.push(Action::HandOver(h, to, true));
    if config.policy.careless_handover_possible {
        out.push(Action::HandOver(h, to, false));
    }
}

fn dispose_actions(config: &Config, h: PhoneId, out: &mut Vec<Action>) {
    out.push(Action::Dispose(h, true));
    if config.policy.careless_handover_possible {
        out.push(Action::Dispose(h, false));
    }
}

/// Whether the world's bound on issuance sessions in flight at once is reached.
pub(crate) fn sessions_full(config: &Config, state: &State) -> bool {
    config.max_sessions.is_some_and(|max| {
        state
            .phones
            .iter()
            .filter(|ph| ph.session.is_some())
            .count()
            >= usize::from(max)
    })
}

/// Phone certs issued so far to `p` of kind `k` (bounded by `max_issuances`).
pub fn issued_count(state: &State, p: PersonId, k: Kind) -> u8 {
    state
        .registry
        .iter()
        .filter(|c| c.person == p && c.kind == k)
        .count() as u8
}

/// A push can reach its app only while that phone is online and still has the app
/// installation the token was issued to (R-TOKEN; 004 リモートでのGP-SE内の情報削除). The push
/// service may lose it at any time (`DropPush`), deliverable or not.
pub fn deliverable(state: &State, push: &Push) -> bool {
    let ph = state.phone(push.phone);
    ph.online && ph.token() == Some(push.token)
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

fn apply(config: &Config, s: &mut State, action: Action) -> Result<(), Refusal> {
    let policy = config.policy;
    match action {
        // R-CONTINUE: losing and regaining the network changes no certificate. Back online,
        // the app checks its credentials' status and deletes revoked ones (R-DELETE).
        Action::GoOffline(h) => s.phones[h.index()].online = false,
        Action::GoOnline(h) => {
            s.phones[h.index()].online = true;
            app_sync(config, s, h);
        }
        // R-LOSS / R-TEMP-LOSS: a mislaid phone keeps its state; a session in progress is lost.
        Action::Lose(h) => {
            let ph = &mut s.phones[h.index()];
            ph.condition = Condition::Lost;
            ph.session = None;
        }
        Action::Find(h) => s.phones[h.index()].condition = Condition::InHand,
        // R-FAILURE: broken for good, never online again.
        Action::Break(h) => {
            let ph = &mut s.phones[h.index()];
            ph.condition = Condition::Broken;
            ph.online = false;
            ph.session = None;
        }
        // Phase 1 (003): app from the store; its new push token is registered (R-TOKEN). Both
        // need the network.
        Action::InstallApp(h) => {
            need_online(s, h)?;
            let ph = &mut s.phones[h.index()];
            ph.app_installs += 1;
            ph.app = true;
            app_sync(config, s, h);
        }
        // Removing the app invalidates its token; the SE keeps the applet (004 課題2).
        Action::UninstallApp(h) => {
            let ph = &mut s.phones[h.index()];
            ph.app = false;
            ph.session = None;
        }
        // Phase 2: applet installed by the SEI-TSM on first app start (R-ACL).
        Action::InstallApplet(h) => {
            need_online(s, h)?;
            s.phones[h.index()].applet = true;
        }
        // R-LINK, R-REVOKE (c): a new card cert generation ends the previous one.
        Action::CardRenew(p) => {
            end_card_cert(config, s, p);
            let person = &mut s.persons[p.index()];
            person.card_generation += 1;
            person.card = CardStatus::Valid;
        }
        // ALT-LINK=per-kind: only the phone signing certs are linked to the card signing cert
        // that a revocation (an address change) ends; the auth certs follow the card auth
        // cert, which stays valid.
        Action::CardRevoke(p) if config.policy.link == crate::policy::Link::PerKind => {
            end_linked(config, s, p, &[Kind::Sign]);
            s.persons[p.index()].card = CardStatus::Revoked;
        }
        Action::CardRevoke(p) => {
            end_card_cert(config, s, p);
            s.persons[p.index()].card = CardStatus::Revoked;
        }
        Action::CardExpire(p) => {
            end_card_cert(config, s, p);
            s.persons[p.index()].card = CardStatus::Expired;
        }
        // Login (auth) or signature (sign): the applet checks the PIN, the relying party the
        // certificate status (INV-PIN, INV-NO-USE-AFTER-REVOKE).
        Action::Use(h, k, e) => {
            need_online(s, h)?;
            let serial = slot_serial(s, h, k)?;
            // The applet admits the user PIN, or a temporary PIN shown to the user under the
            // `temporary-pin-shown` variant; the relying party then checks the status.
            verify_pin(config, s, h, k, e)?;
            ended(s.cert(serial).status)?;
            if s.cert(serial).status == CertStatus::Suspended && policy.rp_checks_suspension {
                return Err(Refusal::CertSuspended);
            }
        }
        // R-PIN-CHANGE: on the phone alone, after verifying the current PIN.
        Action::ChangePin(h, k, e) => {
            slot_serial(s, h, k)?;
            if verify_pin(config, s, h, k, e)? != Verified::User {
                return Err(Refusal::TemporaryPin);
            }
            set_pin(
                s,
                h,
                k,
                Pin::User {
                    tries_left: config.tries(k),
                },
            );
        }
        // R-PIN-INIT: online, with the card signature of the cert's owner; unblocks.
        Action::InitPin(h, k) => {
            need_online(s, h)?;
            let serial = slot_serial(s, h, k)?;
            let p = holder_person(s, h);
            if !s.card_valid(p) {
                return Err(Refusal::CardNotValid);
            }
            if s.cert(serial).person != p {
                return Err(Refusal::NotCredentialOwner);
            }
            ended(s.cert(serial).status)?;
            set_pin(
                s,
                h,
                k,
                Pin::User {
                    tries_left: config.tries(k),
                },
            );
        }
        // R-SUSPEND: call center; not terminal.
        Action::Suspend(p, k) => {
            let serial = s.live_cert(p, k).ok_or(Refusal::NoLiveCert)?;
            let cert = &mut s.registry[serial.index()];
            if cert.status == CertStatus::Suspended {
                return Err(Refusal::AlreadySuspended);
            }
            cert.status = CertStatus::Suspended;
        }
        // R-SUSPEND: resumption from the phone with the phone cert and its PIN. The app asks
        // the status first, so a cert that is not suspended costs no PIN try.
        Action::Resume(h, k, e) => {
            need_online(s, h)?;
            let serial = slot_serial(s, h, k)?;
            ended(s.cert(serial).status)?;
            if s.cert(serial).status != CertStatus::Suspended {
                return Err(Refusal::NotSuspended);
            }
            if verify_pin(config, s, h, k, e)? != Verified::User {
                return Err(Refusal::TemporaryPin);
            }
            s.registry[serial.index()].status = CertStatus::Active;
        }
        // R-ISSUE, R-REISSUE: card signature checked, then the phone-cert status check.
        Action::Apply(h, k) => {
            need_online(s, h)?;
            let p = holder_person(s, h);
            if !s.phone(h).applet {
                return Err(Refusal::NoApplet);
            }
            if !s.card_valid(p) {
                return Err(Refusal::CardNotValid);
            }
            open_session(config, s, h, p, k)?;
        }
        // R-KEYGEN: key pair generated inside the SE over SCP03 (overwrites the slot).
        Action::GenerateKey(h) => {
            need_online(s, h)?;
            // The applet went with its last credential while the session waited (a deletion
            // push, a sync): no applet to generate the key in (found by lockstep conformance:
            // the model generated a key with no applet).
            if !s.phone(h).applet {
                return Err(Refusal::NoApplet);
            }
            let sess = session(s, h);
            s.phones[h.index()].slots[sess.kind.index()] = Slot::Key {
                person: sess.person,
                certified: None,
            };
            // Where the key pair is generated (ground truth for INV-KEY-IN-SE): generated
            // outside the SE, a copy stays where it was made.
            if !policy.keygen_in_se {
                s.keys_outside_se = s.keys_outside_se.saturating_add(1);
            }
            set_step(s, h, SessionStep::KeyGenerated);
        }
        // R-ISSUE, R-ONE, R-MODEL-CHANGE: J-LIS issues and, in the same step, revokes the
        // person's cert of this kind on the old phone, with a deletion push to it.
        Action::CaIssue(h) => {
            need_online(s, h)?;
            let sess = session(s, h);
            let person = s.person(sess.person);
            let signature_valid =
                person.card_generation == sess.card_generation && person.card == CardStatus::Valid;
            if policy.ca_rechecks_card && !signature_valid {
                return Err(Refusal::CardNotValid);
            }
            let previous: Vec<Serial> = (0..s.registry.len())
                .map(|i| Serial(i as u8))
                .filter(|&x| {
                    let c = s.cert(x);
                    c.person == sess.person && c.kind == sess.kind && c.status.is_live()
                })
                .collect();
            let serial = Serial(s.registry.len() as u8);
            s.registry.push(PhoneCert {
                person: sess.person,
                kind: sess.kind,
                phone: h,
                card_generation: sess.card_generation,
                status: CertStatus::Active,
                signer: sess.person,
                signature_valid_at_issue: signature_valid,
            });
            for old in previous {
                if s.cert(old).phone != h && policy.model_change_revokes_old {
                    revoke(config, s, old, RevokeReason::ModelChange, Some(h));
                }
            }
            // The certificate is for the public key the SE generated in this session: that key,
            // if the slot still holds it, is now certified as `serial` (ground truth).
            let slot = &mut s.phones[h.index()].slots[sess.kind.index()];
            if *slot
                == (Slot::Key {
                    person: sess.person,
                    certified: None,
                })
            {
                *slot = Slot::Key {
                    person: sess.person,
                    certified: Some(serial),
                };
            }
            set_step(s, h, SessionStep::Issued(serial));
        }
        // R-PIN-SETUP: certificate and temporary PIN written over SCP03. The SP-TSM does not
        // write a certificate that was revoked meanwhile.
        Action::WriteCert(h) => {
            need_online(s, h)?;
            let sess = session(s, h);
            let SessionStep::Issued(serial) = sess.step else {
                unreachable!("WriteCert is offered only after CaIssue")
            };
            if s.phone(h).slot(sess.kind)
                != (Slot::Key {
                    person: sess.person,
                    certified: Some(serial),
                })
            {
                return Err(Refusal::KeyMissing);
            }
            ended(s.cert(serial).status)?;
            s.phones[h.index()].slots[sess.kind.index()] = Slot::Cert {
                serial,
                pin: Pin::Temporary,
            };
            set_step(s, h, SessionStep::CertWritten(serial));
        }
        // R-PIN-SETUP: the user sets their PIN in the same session, while the card signature
        // is still valid; the cert becomes usable (phase 4).
        Action::SetUserPin(h) => {
            let sess = session(s, h);
            let SessionStep::CertWritten(serial) = sess.step else {
                unreachable!("SetUserPin is offered only after WriteCert")
            };
            let person = s.person(sess.person);
            if person.card_generation != sess.card_generation || person.card != CardStatus::Valid {
                return Err(Refusal::CardNotValid);
            }
            if s.phone(h).slot(sess.kind).serial() != Some(serial) {
                return Err(Refusal::KeyMissing);
            }
            set_pin(
                s,
                h,
                sess.kind,
                Pin::User {
                    tries_left: config.tries(sess.kind),
                },
            );
            s.phones[h.index()].session = None;
        }
        // Decision (seeds silent): the session ends whatever its step; a cert J-LIS already
        // issued stays live with its key in the slot, and the person revokes it with the card
        // (R-REVOKE (b)) before a reissue on that phone (INV-NO-DEAD-END shows the way exists).
        Action::AbandonIssuance(h) => s.phones[h.index()].session = None,
        // 更新: the validity period ends; the phone learns it at its next status sync.
        Action::CertExpire(serial) => s.registry[serial.index()].status = CertStatus::Expired,
        // R-REVOKE (a), R-DELETE (対策2-1/2-2): from the phone alone; deleted locally. A cert
        // already revoked elsewhere is just deleted.
        Action::RevokeFromPhone(h, k) => {
            need_online(s, h)?;
            let serial = slot_serial(s, h, k)?;
            crate::threats::revoke_authorised(config, s, h, k, serial)?;
            if s.cert(serial).status.is_live() {
                s.registry[serial.index()].status = CertStatus::Revoked(RevokeReason::FromPhone);
            }
            delete_slot(config, s, h, k);
        }
        // R-REVOKE (b), R-LOSS, R-FAILURE: from another device with the card signature; the
        // deletion push goes to the phone holding the cert (R-TOKEN).
        Action::RevokeWithCard(p, k) => {
            if !s.card_valid(p) {
                return Err(Refusal::CardNotValid);
            }
            let serial = s.live_cert(p, k).ok_or(Refusal::NoLiveCert)?;
            revoke(config, s, serial, RevokeReason::WithCard, None);
        }
        // R-DELETE: the app deletes the credential the push names (INV-NO-STALE-DELETE).
        Action::DeliverPush(serial) => {
            let i = push_index(s, serial);
            let push = s.pushes[i];
            if !deliverable(s, &push) {
                return Err(Refusal::Undeliverable);
            }
            s.pushes.remove(i);
            let slot = s.phone(push.phone).slot(push.kind);
            let named = if policy.push_deletes_certified_key {
                slot.certified()
            } else {
                slot.serial()
            };
            if named == Some(push.serial) || (!policy.push_matches_serial && slot.has_key()) {
                delete_slot(config, s, push.phone, push.kind);
            }
        }
        // 課題2: the push service gives up on a push it cannot deliver.
        Action::DropPush(serial) => {
            let i = push_index(s, serial);
            s.pushes.remove(i);
        }
        // R-RESET: the app goes; the SE's JPKI data is deleted through the server (ALT-RESET).
        Action::FactoryReset(h) => factory_reset(config, s, h),
        // R-TRANSFER: with the procedure the holder revokes and deletes first; careless users
        // just hand it over (課題1).
        Action::HandOver(h, to, procedure) => {
            let from = holder_person(s, h);
            if procedure {
                leave_procedure(config, s, h, from)?;
            }
            let ph = &mut s.phones[h.index()];
            ph.holder = match to {
                Recipient::Person(q) => Holder::Person(q),
                Recipient::Stranger => Holder::Stranger,
            };
            ph.session = None;
            ph.handovers += 1;
            ph.procedure_from = procedure.then_some(from);
        }
        // R-DISPOSE: same procedure as a transfer; then nobody holds it.
        Action::Dispose(h, procedure) => {
            let from = holder_person(s, h);
            if procedure {
                leave_procedure(config, s, h, from)?;
            }
            let ph = &mut s.phones[h.index()];
            ph.holder = Holder::Nobody;
            ph.online = false;
            ph.session = None;
            ph.procedure_from = procedure.then_some(from);
        }
        // Threat actors and the alternatives' actions: their rules are crate::threats's.
        other => {
            return crate::threats::apply(config, s, other)
                .unwrap_or_else(|| unreachable!("{other} has no rule"))
        }
    }
    Ok(())
}

/// R-REISSUE's phone-cert status check, then an issuance session of `p`'s `k` cert opened on
/// `h` at Applied (Apply; ALT-PROOFING's ApplyWithCode in crate::threats).
pub(crate) fn open_session(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    p: PersonId,
    k: Kind,
) -> Result<(), Refusal> {
    // Under the fault variant reissue-blocked-by-revoked, a revoked cert blocks as well (the
    // validity period read instead of the status).
    let blocks = |st: CertStatus| {
        st.is_live() || (!config.policy.reissue_by_status && matches!(st, CertStatus::Revoked(_)))
    };
    if config.policy.reissue_refused_while_live
        && s.registry
            .iter()
            .any(|c| c.person == p && c.kind == k && c.phone == h && blocks(c.status))
    {
        return Err(Refusal::ReissueWhileLive);
    }
    let card_generation = s.person(p).card_generation;
    s.phones[h.index()].session = Some(Session {
        person: p,
        kind: k,
        card_generation,
        step: SessionStep::Applied,
    });
    Ok(())
}

/// How a PIN check went.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verified {
    /// The user PIN was entered right.
    User,
    /// The temporary PIN was entered (only possible when it is shown to the user).
    Temporary,
}

/// The applet's PIN check (R-PIN-RETRY): a wrong entry counts down and blocks at zero; a
/// right one resets the counter.
pub(crate) fn verify_pin(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<Verified, Refusal> {
    let Slot::Cert { pin, .. } = s.phone(h).slot(k) else {
        return Err(Refusal::NoCredential);
    };
    match (pin, e) {
        (Pin::Blocked, _) => Err(Refusal::PinBlocked),
        (Pin::Temporary, PinEntry::Right) if !config.policy.temporary_pin_secret => {
            Ok(Verified::Temporary)
        }
        (Pin::Temporary, _) => Err(Refusal::TemporaryPin),
        (Pin::User { .. }, PinEntry::Right) => {
            set_pin(
                s,
                h,
                k,
                Pin::User {
                    tries_left: config.tries(k),
                },
            );
            Ok(Verified::User)
        }
        (Pin::User { tries_left }, PinEntry::Wrong) => {
            let left = tries_left.saturating_sub(1);
            set_pin(
                s,
                h,
                k,
                if left == 0 {
                    Pin::Blocked
                } else {
                    Pin::User { tries_left: left }
                },
            );
            Err(Refusal::WrongPin)
        }
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

/// Delete the credential (key and cert) in a slot; the applet goes with its last key
/// (失効時にアプレットの削除) unless the policy keeps it.
fn delete_slot(config: &Config, s: &mut State, h: PhoneId, k: Kind) {
    let ph = &mut s.phones[h.index()];
    ph.slots[k.index()] = Slot::Empty;
    if config.policy.revocation_deletes_applet && ph.slots.iter().all(|x| !x.has_key()) {
        ph.applet = false;
    }
}

fn set_pin(s: &mut State, h: PhoneId, k: Kind, new: Pin) {
    if let Slot::Cert { pin, .. } = &mut s.phones[h.index()].slots[k.index()] {
        *pin = new;
    }
}

/// The hand-over procedure revokes from the phone in the app and has the applet deleted: it
/// needs the network and the app (decision: refused otherwise, not done halfway).
fn procedure_possible(s: &State, h: PhoneId) -> Result<(), Refusal> {
    need_online(s, h)?;
    if s.phone(h).app {
        Ok(())
    } else {
        Err(Refusal::NoApp)
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

fn session(s: &State, h: PhoneId) -> Session {
    s.phone(h)
        .session
        .unwrap_or_else(|| unreachable!("session step offered without a session on {h}"))
}

fn set_step(s: &mut State, h: PhoneId, step: SessionStep) {
    if let Some(sess) = &mut s.phones[h.index()].session {
        sess.step = step;
    }
}

/// Revoke a phone cert; J-LIS/SP-TSM send a deletion push to the token of the phone holding
/// it (R-TOKEN), or under the `push-to-requester` variant to the requesting phone.
fn revoke(
    config: &Config,
    s: &mut State,
    serial: Serial,
    reason: RevokeReason,
    requester: Option<PhoneId>,
) {
    let cert = s.registry[serial.index()];
    s.registry[serial.index()].status = CertStatus::Revoked(reason);
    let target = if config.policy.push_to_holding_phone {
        Some(cert.phone)
    } else {
        requester
    };
    if let Some(t) = target {
        let token = s.phone(t).app_installs;
        if token > 0 {
            // Kept in serial order: delivery order is the push service's free choice, so
            // the order of sending carries no meaning and must not split states.
            let at = s.pushes.partition_point(|p| p.serial < serial);
            s.pushes.insert(
                at,
                Push {
                    phone: t,
                    token,
                    serial,
                    kind: cert.kind,
                },
            );
        }
    }
}

/// Position of the push for `serial` (at most one per serial: a cert is revoked once).
fn push_index(s: &State, serial: Serial) -> usize {
    s.pushes
        .iter()
        .position(|p| p.serial == serial)
        .unwrap_or_else(|| unreachable!("push action offered for {serial} with no push pending"))
}

/// R-LINK: the card signing cert ends; its linked phone certs are revoked in tandem.
fn end_card_cert(config: &Config, s: &mut State, p: PersonId) {
    end_linked(config, s, p, &Kind::ALL);
}

/// R-LINK for the phone certs of `kinds` only.
fn end_linked(config: &Config, s: &mut State, p: PersonId, kinds: &[Kind]) {
    if !config.policy.linked_revocation {
        return;
    }
    let generation = s.person(p).card_generation;
    for i in 0..s.registry.len() {
        let c = s.registry[i];
        if c.person == p
            && kinds.contains(&c.kind)
            && c.card_generation == generation
            && c.status.is_live()
        {
            revoke(config, s, Serial(i as u8), RevokeReason::Linked, None);
        }
    }
}

/// Back online (or freshly installed), the app asks the SP-TSM for the status of the certs in
/// its applet and deletes the revoked ones (R-DELETE; the fallback for lost pushes).
fn app_sync(config: &Config, s: &mut State, h: PhoneId) {
    let ph = &s.phones[h.index()];
    if !(config.policy.app_status_sync && ph.online && ph.app && ph.applet) {
        return;
    }
    for k in Kind::ALL {
        if let Slot::Cert { serial, .. } = s.phone(h).slot(k) {
            if !s.cert(serial).status.is_live() {
                delete_slot(config, s, h, k);
            }
        }
    }
}

/// R-RESET: the app (and its token) goes. The SE's JPKI data goes too: as designed the phone
/// asks the server to delete it, so only while online; under ALT-RESET's local wipe always;
/// never under the `reset-keeps-se` variant.
fn factory_reset(config: &Config, s: &mut State, h: PhoneId) {
    let policy = config.policy;
    let ph = &mut s.phones[h.index()];
    ph.app = false;
    ph.session = None;
    if policy.factory_reset_wipes_se && (ph.online || !policy.reset_via_server) {
        ph.applet = false;
        ph.slots = [Slot::Empty; 2];
    }
}

/// The procedure before a phone leaves its holder (R-TRANSFER, R-DISPOSE; 000 §3(2)(3)):
/// revoke the holder's live certs bound to the phone (the SP-TSM's records: written into the
/// slot or not yet), have the SEI-TSM delete the applet with its keys (both need the
/// network), then factory-reset.
fn leave_procedure(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    from: PersonId,
) -> Result<(), Refusal> {
    if config.policy.procedure_needs_network {
        procedure_possible(s, h)?;
    }
    if s.phone(h).online {
        if s.phone(h).app {
            crate::threats::procedure_authorised(config, s, h, from)?;
            for c in s.registry.iter_mut() {
                if c.person == from && c.phone == h && c.status.is_live() {
                    c.status = CertStatus::Revoked(RevokeReason::FromPhone);
                }
            }
        }
        let ph = &mut s.phones[h.index()];
        ph.applet = false;
        ph.slots = [Slot::Empty; 2];
    }
    factory_reset(config, s, h);
    Ok(())
}
