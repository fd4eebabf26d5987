//! The issuance session on a phone, phase by phase (003, 004 基本方針): application with the
//! card signature (R-ISSUE, R-REISSUE), key generation in the SE (R-KEYGEN), issuance by
//! J-LIS with the old phone's cert revoked (R-ONE, R-MODEL-CHANGE), the certificate written
//! and the user PIN set in the same session (R-PIN-SETUP), or the session abandoned.

use super::pin::set_pin;
use super::revoke::revoke;
use super::{ended, holder_person, need_online};
use crate::action::Refusal;
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::state::{
    CardStatus, CertStatus, PhoneCert, Pin, RevokeReason, Session, SessionStep, Slot, State,
};

/// R-ISSUE, R-REISSUE: card signature checked, then the phone-cert status check.
pub(super) fn apply_for(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
) -> Result<(), Refusal> {
    need_online(s, h)?;
    let p = holder_person(s, h);
    if !s.phone(h).applet {
        return Err(Refusal::NoApplet);
    }
    if !s.card_valid(p) {
        return Err(Refusal::CardNotValid);
    }
    open_session(config, s, h, p, k)
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

/// R-KEYGEN: key pair generated inside the SE over SCP03 (overwrites the slot).
pub(super) fn generate_key(config: &Config, s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    need_online(s, h)?;
    // The applet went with its last credential while the session waited (a deletion push, a
    // sync): no applet to generate the key in (found by lockstep conformance: the model
    // generated a key with no applet).
    if !s.phone(h).applet {
        return Err(Refusal::NoApplet);
    }
    let sess = session(s, h);
    s.phones[h.index()].slots[sess.kind.index()] = Slot::Key {
        person: sess.person,
        certified: None,
    };
    // Where the key pair is generated (ground truth for INV-KEY-IN-SE): generated outside the
    // SE, a copy stays where it was made.
    if !config.policy.keygen_in_se {
        s.keys_outside_se = s.keys_outside_se.saturating_add(1);
    }
    set_step(s, h, SessionStep::KeyGenerated);
    Ok(())
}

/// R-ISSUE, R-ONE, R-MODEL-CHANGE: J-LIS issues and, in the same step, revokes the person's
/// cert of this kind on the old phone, with a deletion push to it.
pub(super) fn ca_issue(config: &Config, s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    let policy = config.policy;
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
    // The certificate is for the public key the SE generated in this session: that key, if
    // the slot still holds it, is now certified as `serial` (ground truth).
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
    Ok(())
}

/// R-PIN-SETUP: certificate and temporary PIN written over SCP03. The SP-TSM does not write a
/// certificate that was revoked meanwhile.
pub(super) fn write_cert(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
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
    Ok(())
}

/// R-PIN-SETUP: the user sets their PIN in the same session, while the card signature is
/// still valid; the cert becomes usable (phase 4).
pub(super) fn set_user_pin(config: &Config, s: &mut State, h: PhoneId) -> Result<(), Refusal> {
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
    Ok(())
}

/// Decision (seeds silent): the session ends whatever its step; a cert J-LIS already issued
/// stays live with its key in the slot, and the person revokes it with the card (R-REVOKE
/// (b)) before a reissue on that phone (INV-NO-DEAD-END shows the way exists).
pub(super) fn abandon(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    s.phones[h.index()].session = None;
    Ok(())
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
