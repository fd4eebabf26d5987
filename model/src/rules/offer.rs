//! Which actions the actors can attempt in a state ([`candidate_actions`]), and the world
//! bounds that remove actions (never refuse them): card generations, issuances, app installs,
//! hand-overs, sessions in flight, the detour budget.

use crate::action::{Action, PinEntry, Recipient};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::state::{CardStatus, Condition, Holder, Push, SessionStep, Slot, State};

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
