//! How a phone cert ends and its credential leaves the phone: expiry, revocation from the
//! phone or with the card (R-REVOKE), linked revocation with the card signing cert (R-LINK),
//! the deletion push and its loss (R-TOKEN, R-DELETE, 004 課題2), and the app's status sync.

use super::offer::deliverable;
use super::{need_online, slot_serial};
use crate::action::Refusal;
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::state::{CertStatus, Push, RevokeReason, Slot, State};

/// 更新: the validity period ends; the phone learns it at its next status sync.
pub(super) fn cert_expire(s: &mut State, serial: Serial) -> Result<(), Refusal> {
    s.registry[serial.index()].status = CertStatus::Expired;
    Ok(())
}

/// R-REVOKE (a), R-DELETE (対策2-1/2-2): from the phone alone; deleted locally. A cert already
/// revoked elsewhere is just deleted.
pub(super) fn revoke_from_phone(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
) -> Result<(), Refusal> {
    need_online(s, h)?;
    let serial = slot_serial(s, h, k)?;
    crate::threats::revoke_authorised(config, s, h, k, serial)?;
    if s.cert(serial).status.is_live() {
        s.registry[serial.index()].status = CertStatus::Revoked(RevokeReason::FromPhone);
    }
    delete_slot(config, s, h, k);
    Ok(())
}

/// R-REVOKE (b), R-LOSS, R-FAILURE: from another device with the card signature; the deletion
/// push goes to the phone holding the cert (R-TOKEN).
pub(super) fn revoke_with_card(
    config: &Config,
    s: &mut State,
    p: PersonId,
    k: Kind,
) -> Result<(), Refusal> {
    if !s.card_valid(p) {
        return Err(Refusal::CardNotValid);
    }
    let serial = s.live_cert(p, k).ok_or(Refusal::NoLiveCert)?;
    revoke(config, s, serial, RevokeReason::WithCard, None);
    Ok(())
}

/// R-DELETE: the app deletes the credential the push names (INV-NO-STALE-DELETE).
pub(super) fn deliver_push(config: &Config, s: &mut State, serial: Serial) -> Result<(), Refusal> {
    let policy = config.policy;
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
    Ok(())
}

/// 課題2: the push service gives up on a push it cannot deliver.
pub(super) fn drop_push(s: &mut State, serial: Serial) -> Result<(), Refusal> {
    let i = push_index(s, serial);
    s.pushes.remove(i);
    Ok(())
}

/// Revoke a phone cert; J-LIS/SP-TSM send a deletion push to the token of the phone holding
/// it (R-TOKEN), or under the `push-to-requester` variant to the requesting phone.
pub(super) fn revoke(
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
pub(super) fn end_card_cert(config: &Config, s: &mut State, p: PersonId) {
    end_linked(config, s, p, &Kind::ALL);
}

/// R-LINK for the phone certs of `kinds` only.
pub(super) fn end_linked(config: &Config, s: &mut State, p: PersonId, kinds: &[Kind]) {
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
pub(super) fn app_sync(config: &Config, s: &mut State, h: PhoneId) {
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

/// Delete the credential (key and cert) in a slot; the applet goes with its last key
/// (失効時にアプレットの削除) unless the policy keeps it.
fn delete_slot(config: &Config, s: &mut State, h: PhoneId, k: Kind) {
    let ph = &mut s.phones[h.index()];
    ph.slots[k.index()] = Slot::Empty;
    if config.policy.revocation_deletes_applet && ph.slots.iter().all(|x| !x.has_key()) {
        ph.applet = false;
    }
}
