//! Writing traces and the model state as text.

use super::*;
use crate::config::Config;
use crate::state::{CardStatus, Condition, Holder, Pin, Slot, State};

/// Write one trace: the header line, then one line per step, each ending in a newline.
pub fn write(header: &Header, steps: &[Step]) -> String {
    let mut out = serde_json::to_string(header).unwrap_or_default();
    out.push('\n');
    for st in steps {
        out.push_str(&serde_json::to_string(st).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// The model state, one fact per line: persons, phones, the registry, pushes.
pub fn render_state(c: &Config, s: &State) -> String {
    let mut out = String::new();
    for p in c.person_ids() {
        let person = s.person(p);
        let card = match person.card {
            CardStatus::Valid => "valid",
            CardStatus::Revoked => "revoked",
            CardStatus::Expired => "expired",
        };
        out.push_str(&format!(
            "{p}: card signing cert generation {} {card}\n",
            person.card_generation
        ));
    }
    for h in c.phone_ids() {
        let ph = s.phone(h);
        let holder = match ph.holder {
            Holder::Person(p) => format!("held by {p}"),
            Holder::Stranger => "held by a stranger".into(),
            Holder::Nobody => "disposed of".into(),
        };
        let cond = match ph.condition {
            Condition::InHand => "in hand",
            Condition::Lost => "lost",
            Condition::Broken => "broken",
        };
        let app = match ph.token() {
            Some(t) => format!("app (token {t})"),
            None => "no app".into(),
        };
        let mut line = format!(
            "{h}: {holder}, {cond}, {}, {app}, {}",
            if ph.online { "online" } else { "offline" },
            if ph.applet { "applet" } else { "no applet" }
        );
        for &k in &c.kinds {
            let slot = match ph.slot(k) {
                Slot::Empty => "empty".to_string(),
                Slot::Key { person, .. } => format!("key of {person}"),
                Slot::Cert { serial, pin } => format!(
                    "cert {serial} pin {}",
                    match pin {
                        Pin::Temporary => "temporary".to_string(),
                        Pin::User { tries_left } => format!("user ({tries_left} tries left)"),
                        Pin::Blocked => "blocked".to_string(),
                    }
                ),
            };
            line.push_str(&format!("; {k} slot: {slot}"));
        }
        if let Some(sess) = ph.session {
            line.push_str(&format!(
                "; issuance session of {} {} at {:?}",
                sess.person, sess.kind, sess.step
            ));
        }
        out.push_str(&line);
        out.push('\n');
    }
    if s.registry.is_empty() {
        out.push_str("registry: no phone certs\n");
    }
    for (i, cert) in s.registry.iter().enumerate() {
        out.push_str(&format!(
            "cert #{i}: {} {} on {}, card generation {}, {:?}\n",
            cert.person, cert.kind, cert.phone, cert.card_generation, cert.status
        ));
    }
    if s.pushes.is_empty() {
        out.push_str("pushes: none pending\n");
    }
    for p in &s.pushes {
        out.push_str(&format!(
            "push for #{} ({}) to {} token {}\n",
            p.serial.0, p.kind, p.phone, p.token
        ));
    }
    out.push_str(&format!("detours taken: {}\n", s.events));
    out
}
