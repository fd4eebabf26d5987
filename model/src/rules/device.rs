//! The phone's and the card's own lifecycle: network, loss, breakage, the app and the applet,
//! card renewal, revocation and expiry (their phone certs follow: [`super::revoke`]), factory
//! reset, and the phone leaving its holder (hand-over, disposal, with or without the
//! procedure).

use super::revoke::{app_sync, end_card_cert, end_linked};
use super::{holder_person, need_online};
use crate::action::{Recipient, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId};
use crate::state::{CardStatus, CertStatus, Condition, Holder, RevokeReason, Slot, State};

/// R-CONTINUE: losing the network changes no certificate.
pub(super) fn go_offline(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    s.phones[h.index()].online = false;
    Ok(())
}

/// R-CONTINUE: back online, the app checks its credentials' status and deletes revoked ones
/// (R-DELETE).
pub(super) fn go_online(config: &Config, s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    s.phones[h.index()].online = true;
    app_sync(config, s, h);
    Ok(())
}

/// R-LOSS / R-TEMP-LOSS: a mislaid phone keeps its state; a session in progress is lost.
pub(super) fn lose(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    let ph = &mut s.phones[h.index()];
    ph.condition = Condition::Lost;
    ph.session = None;
    Ok(())
}

pub(super) fn find(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    s.phones[h.index()].condition = Condition::InHand;
    Ok(())
}

/// R-FAILURE: broken for good, never online again.
pub(super) fn break_phone(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    let ph = &mut s.phones[h.index()];
    ph.condition = Condition::Broken;
    ph.online = false;
    ph.session = None;
    Ok(())
}

/// Phase 1 (003): app from the store; its new push token is registered (R-TOKEN). Both need
/// the network.
pub(super) fn install_app(config: &Config, s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    need_online(s, h)?;
    let ph = &mut s.phones[h.index()];
    ph.app_installs += 1;
    ph.app = true;
    app_sync(config, s, h);
    Ok(())
}

/// Removing the app invalidates its token; the SE keeps the applet (004 課題2).
pub(super) fn uninstall_app(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    let ph = &mut s.phones[h.index()];
    ph.app = false;
    ph.session = None;
    Ok(())
}

/// Phase 2: applet installed by the SEI-TSM on first app start (R-ACL).
pub(super) fn install_applet(s: &mut State, h: PhoneId) -> Result<(), Refusal> {
    need_online(s, h)?;
    s.phones[h.index()].applet = true;
    Ok(())
}

/// R-LINK, R-REVOKE (c): a new card cert generation ends the previous one.
pub(super) fn card_renew(config: &Config, s: &mut State, p: PersonId) -> Result<(), Refusal> {
    end_card_cert(config, s, p);
    let person = &mut s.persons[p.index()];
    person.card_generation += 1;
    person.card = CardStatus::Valid;
    Ok(())
}

/// The card signing cert is revoked (an address change, a lost card). ALT-LINK=per-kind: only
/// the phone signing certs are linked to it; the auth certs follow the card auth cert, which
/// stays valid.
pub(super) fn card_revoke(config: &Config, s: &mut State, p: PersonId) -> Result<(), Refusal> {
    if config.policy.link == crate::policy::Link::PerKind {
        end_linked(config, s, p, &[Kind::Sign]);
    } else {
        end_card_cert(config, s, p);
    }
    s.persons[p.index()].card = CardStatus::Revoked;
    Ok(())
}

pub(super) fn card_expire(config: &Config, s: &mut State, p: PersonId) -> Result<(), Refusal> {
    end_card_cert(config, s, p);
    s.persons[p.index()].card = CardStatus::Expired;
    Ok(())
}

/// R-RESET: the app (and its token) goes. The SE's JPKI data goes too: as designed the phone
/// asks the server to delete it, so only while online; under ALT-RESET's local wipe always;
/// never under the `reset-keeps-se` variant.
pub(super) fn factory_reset(config: &Config, s: &mut State, h: PhoneId) {
    let policy = config.policy;
    let ph = &mut s.phones[h.index()];
    ph.app = false;
    ph.session = None;
    if policy.factory_reset_wipes_se && (ph.online || !policy.reset_via_server) {
        ph.applet = false;
        ph.slots = [Slot::Empty; 2];
    }
}

/// R-TRANSFER: with the procedure the holder revokes and deletes first; careless users just
/// hand it over (課題1).
pub(super) fn hand_over(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    to: Recipient,
    procedure: bool,
) -> Result<(), Refusal> {
    let from = leave(config, s, h, procedure)?;
    let ph = &mut s.phones[h.index()];
    ph.holder = match to {
        Recipient::Person(q) => Holder::Person(q),
        Recipient::Stranger => Holder::Stranger,
    };
    ph.session = None;
    ph.handovers += 1;
    ph.procedure_from = procedure.then_some(from);
    Ok(())
}

/// R-DISPOSE: same procedure as a transfer; then nobody holds it.
pub(super) fn dispose(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    procedure: bool,
) -> Result<(), Refusal> {
    let from = leave(config, s, h, procedure)?;
    let ph = &mut s.phones[h.index()];
    ph.holder = Holder::Nobody;
    ph.online = false;
    ph.session = None;
    ph.procedure_from = procedure.then_some(from);
    Ok(())
}

/// The phone's holder, who leaves it: after the procedure if they follow it.
fn leave(config: &Config, s: &mut State, h: PhoneId, procedure: bool) -> Result<PersonId, Refusal> {
    let from = holder_person(s, h);
    if procedure {
        leave_procedure(config, s, h, from)?;
    }
    Ok(from)
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
