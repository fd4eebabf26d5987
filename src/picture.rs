//! Pictures a non-programmer reads: a state (persons and their cards, phones with holder,
//! condition, network, app, applet and both slots, the J-LIS registry, pushes in flight) and
//! a path (a timeline with accepted, refused and threat steps marked), as SVG; and each
//! step in the domain's words (what changed, using `replay`'s rendering). The Explorer, the
//! report and `check --html` all draw with these.

use phone_jpki_model::state::{CardStatus, CertStatus, Condition, Holder, Pin, Slot};
use phone_jpki_model::trace::render_state;
use phone_jpki_model::{step, Action, Config, Recipient, State};
use serde::Serialize;

/// One step of a path, told in words.
#[derive(Clone, Debug, Serialize)]
pub struct StepView {
    pub label: String,
    pub accepted: bool,
    /// The refusal's reason.
    pub refusal: Option<String>,
    /// The THREAT-* a step acts out, or "detour" for another detour.
    pub mark: Option<String>,
    /// What changed, one fact a line; empty when nothing did.
    pub changes: Vec<String>,
}

/// Replay `path` and tell each step.
pub fn steps(c: &Config, path: &[Action]) -> (Vec<StepView>, State) {
    let mut s = State::initial(c);
    let mut out = Vec::new();
    for &a in path {
        let o = step(c, &s, a);
        out.push(StepView {
            label: a.to_string(),
            accepted: o.result.is_ok(),
            refusal: o.result.err().map(|r| r.to_string()),
            mark: mark(&s, a),
            changes: diff(c, &s, &o.next),
        });
        s = o.next;
    }
    (out, s)
}

/// The threat a step acts out (DOMAIN.md's THREAT-*), or "detour".
pub fn mark(s: &State, a: Action) -> Option<String> {
    let stranger_holds = |h: phone_jpki_model::PhoneId| s.phone(h).holder == Holder::Stranger;
    let t = match a {
        Action::HandOver(_, Recipient::Stranger, _) => "THREAT-BUYER",
        Action::Dispose(_, false) => "THREAT-BUYER",
        Action::Lose(_) => "THREAT-FINDER",
        Action::Use(h, ..) | Action::FactoryReset(h) if stranger_holds(h) => "THREAT-BUYER",
        _ if a.is_event() => "detour",
        _ => return None,
    };
    Some(t.to_string())
}

/// Ground-truth facts, in words (render_state leaves them out).
fn history_lines(s: &State) -> Vec<String> {
    let mut v = Vec::new();
    if s.keys_outside_se > 0 {
        v.push(format!(
            "ground truth: {} private key(s) exist outside an SE",
            s.keys_outside_se
        ));
    }
    if !s.threats.signatures.is_empty() {
        v.push(format!(
            "ground truth: {} signature(s) made offline, waiting to be presented",
            s.threats.signatures.len()
        ));
    }
    v
}

/// A cert status in words.
pub fn status_words(st: CertStatus) -> String {
    humanize(&format!("{st:?}"))
}

/// Rust's spelling of statuses and session steps, in words: `Issued(Serial(0))` becomes
/// `cert #0 issued`, `Revoked(ModelChange)` becomes `revoked (model change)`.
pub fn humanize(line: &str) -> String {
    let mut out = line.to_string();
    for (rust, words) in [
        ("Revoked(FromPhone)", "revoked (from the phone)"),
        ("Revoked(WithCard)", "revoked (with the card)"),
        ("Revoked(Linked)", "revoked (with the card cert)"),
        ("Revoked(ModelChange)", "revoked (model change)"),
        ("Active", "active"),
        ("Suspended", "suspended"),
        ("Applied", "applied"),
        ("KeyGenerated", "key generated"),
    ] {
        out = out.replace(rust, words);
    }
    for (rust, words) in [
        ("Issued(Serial(", "issued"),
        ("CertWritten(Serial(", "written with a temporary PIN"),
    ] {
        while let Some(i) = out.find(rust) {
            let rest = &out[i + rust.len()..];
            let Some(end) = rest.find("))") else { break };
            let n = rest[..end].to_string();
            out = format!("{}cert #{n} {words}{}", &out[..i], &rest[end + 2..]);
        }
    }
    out
}

/// The state in words, one fact a line (replay's rendering plus the history facts).
pub fn words(c: &Config, s: &State) -> Vec<String> {
    let mut v: Vec<String> = render_state(c, s).lines().map(humanize).collect();
    v.extend(history_lines(s));
    v
}

/// What changed from `before` to `after`, in words: `subject: old -> new` for a fact that
/// changed, `+ fact` for a new one, `- fact` for one gone.
pub fn diff(c: &Config, before: &State, after: &State) -> Vec<String> {
    let key = |l: &str| l.split(':').next().unwrap_or(l).to_string();
    let (b, a) = (words(c, before), words(c, after));
    let mut out = Vec::new();
    for l in &a {
        if b.contains(l) {
            continue;
        }
        match b.iter().find(|x| key(x) == key(l) && !a.contains(x)) {
            Some(old) => out.push(format!("{}: {}", key(l), part_diff(rest(old), rest(l)))),
            None => out.push(format!("+ {l}")),
        }
    }
    for l in &b {
        let empty_marker = l == "registry: no phone certs" || l == "pushes: none pending";
        if !a.contains(l) && !a.iter().any(|x| key(x) == key(l)) && !empty_marker {
            out.push(format!("- {l}"));
        }
    }
    out
}

/// The parts of a line (split at `;` and `,`) that changed: `old parts → new parts`.
fn part_diff(old: &str, new: &str) -> String {
    let parts = |s: &str| -> Vec<String> {
        s.split("; ")
            .flat_map(|x| x.split(", "))
            .map(str::to_string)
            .collect()
    };
    let (o, n) = (parts(old), parts(new));
    let gone: Vec<_> = o.iter().filter(|x| !n.contains(x)).cloned().collect();
    let came: Vec<_> = n.iter().filter(|x| !o.contains(x)).cloned().collect();
    match (gone.is_empty(), came.is_empty()) {
        (true, _) => format!("now {}", came.join(", ")),
        (_, true) => format!("no longer {}", gone.join(", ")),
        _ => format!("{} → {}", gone.join(", "), came.join(", ")),
    }
}

fn rest(l: &str) -> &str {
    l.split_once(": ").map_or(l, |(_, r)| r)
}

/// XML text escape.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&#39;")
        .replace('"', "&quot;")
}

const GREEN: &str = "#1a7f37";
const RED: &str = "#b42318";
const AMBER: &str = "#9a6700";
const GREY: &str = "#57606a";

fn text(x: usize, y: usize, fill: &str, weight: &str, t: &str) -> String {
    format!(
        "<text x='{x}' y='{y}' fill='{fill}' font-weight='{weight}'>{}</text>",
        esc(t)
    )
}

fn status_colour(st: CertStatus) -> &'static str {
    match st {
        CertStatus::Active => GREEN,
        CertStatus::Suspended => AMBER,
        CertStatus::Revoked(_) | CertStatus::Expired => RED,
    }
}

/// The state as a picture.
pub fn state_svg(c: &Config, s: &State) -> String {
    let (w, card_w, card_h) = (780usize, 250usize, 150usize);
    let mut body = String::new();
    let mut y = 20;
    body += &text(10, y, "#000", "bold", "Persons and their My Number cards");
    y += 8;
    for (i, p) in c.person_ids().enumerate() {
        let person = s.person(p);
        let (label, colour) = match person.card {
            CardStatus::Valid => ("valid", GREEN),
            CardStatus::Revoked => ("revoked", RED),
            CardStatus::Expired => ("expired", RED),
        };
        let x = 10 + i * 190;
        body += &format!("<rect x='{x}' y='{y}' width='180' height='34' rx='6' fill='#f6f8fa' stroke='#d0d7de'/>");
        body += &text(x + 8, y + 14, "#000", "bold", &format!("person {p}"));
        body += &text(
            x + 8,
            y + 28,
            colour,
            "normal",
            &format!("card cert gen {}: {label}", person.card_generation),
        );
    }
    y += 56;
    body += &text(10, y, "#000", "bold", "Phones");
    y += 8;
    let phones: Vec<_> = c.phone_ids().collect();
    for (i, &h) in phones.iter().enumerate() {
        let ph = s.phone(h);
        let (x, top) = (10 + (i % 3) * (card_w + 10), y + (i / 3) * (card_h + 10));
        let frame = if ph.holder == Holder::Stranger {
            RED
        } else {
            "#d0d7de"
        };
        body += &format!("<rect x='{x}' y='{top}' width='{card_w}' height='{card_h}' rx='8' fill='#ffffff' stroke='{frame}' stroke-width='2'/>");
        let holder = match ph.holder {
            Holder::Person(p) => format!("held by {p}"),
            Holder::Stranger => "held by a STRANGER".into(),
            Holder::Nobody => "disposed of".into(),
        };
        body += &text(x + 8, top + 16, "#000", "bold", &format!("{h}  {holder}"));
        let cond = match ph.condition {
            Condition::InHand => ("in hand", GREEN),
            Condition::Lost => ("lost", RED),
            Condition::Broken => ("broken", RED),
        };
        body += &text(x + 8, top + 32, cond.1, "normal", cond.0);
        body += &text(
            x + 80,
            top + 32,
            if ph.online { GREEN } else { AMBER },
            "normal",
            if ph.online { "online" } else { "offline" },
        );
        let app = match ph.token() {
            Some(t) => format!("app (push token {t})"),
            None => "no app".into(),
        };
        body += &text(x + 8, top + 48, "#000", "normal", &app);
        body += &text(
            x + 150,
            top + 48,
            "#000",
            "normal",
            if ph.applet {
                "applet in SE"
            } else {
                "no applet"
            },
        );
        for (row, &k) in phone_jpki_model::Kind::ALL.iter().enumerate() {
            let ty = top + 68 + row * 30;
            let in_play = c.kinds.contains(&k);
            let (t, pin, colour) = match ph.slot(k) {
                _ if !in_play => ("not in this world".to_string(), String::new(), GREY),
                Slot::Empty => ("empty".to_string(), String::new(), GREY),
                Slot::Key { person, .. } => {
                    (format!("key of {person}, no cert"), String::new(), AMBER)
                }
                Slot::Cert { serial, pin } => {
                    let pin = match pin {
                        Pin::Temporary => "temporary PIN".to_string(),
                        Pin::User { tries_left } => {
                            format!("user PIN set, {tries_left} tries left")
                        }
                        Pin::Blocked => "PIN BLOCKED".to_string(),
                    };
                    let st = s.cert(serial).status;
                    (
                        format!("cert #{}: {}", serial.0, status_words(st)),
                        pin,
                        status_colour(st),
                    )
                }
            };
            body += &format!(
                "<rect x='{}' y='{}' width='{}' height='28' rx='3' fill='#f6f8fa'/>",
                x + 6,
                ty - 12,
                card_w - 12
            );
            body += &text(x + 10, ty, "#000", "bold", &format!("{k}"));
            body += &text(x + 46, ty, colour, "normal", &t);
            body += &text(x + 46, ty + 13, colour, "normal", &pin);
        }
        if let Some(sess) = ph.session {
            body += &text(
                x + 8,
                top + 130,
                AMBER,
                "normal",
                &format!(
                    "issuance of {} {}: {}",
                    sess.person,
                    sess.kind,
                    humanize(&format!("{:?}", sess.step))
                ),
            );
        }
        if ph.handovers > 0 {
            let how = match ph.procedure_from {
                Some(p) => format!("passed on by {p} with the procedure"),
                None => "passed on carelessly".into(),
            };
            body += &text(x + 8, top + 144, GREY, "normal", &how);
        }
    }
    y += phones.len().div_ceil(3) * (card_h + 10) + 14;
    body += &text(10, y, "#000", "bold", "J-LIS registry of phone certs");
    y += 18;
    if s.registry.is_empty() {
        body += &text(20, y, GREY, "normal", "no phone certs issued");
        y += 18;
    }
    for (i, cert) in s.registry.iter().enumerate() {
        body += &text(
            20,
            y,
            status_colour(cert.status),
            "normal",
            &format!(
                "#{i}  {} {} on {}, card gen {}, {}{}",
                cert.person,
                cert.kind,
                cert.phone,
                cert.card_generation,
                status_words(cert.status),
                if cert.signature_valid_at_issue && cert.signer == cert.person {
                    String::new()
                } else {
                    format!(
                        "  (signed by {}, card valid: {})",
                        cert.signer, cert.signature_valid_at_issue
                    )
                }
            ),
        );
        y += 18;
    }
    y += 6;
    body += &text(10, y, "#000", "bold", "Deletion pushes in flight");
    y += 18;
    if s.pushes.is_empty() {
        body += &text(20, y, GREY, "normal", "none");
        y += 18;
    }
    for p in &s.pushes {
        body += &text(
            20,
            y,
            AMBER,
            "normal",
            &format!(
                "delete #{} ({}) → {} token {}",
                p.serial.0, p.kind, p.phone, p.token
            ),
        );
        y += 18;
    }
    for l in history_lines(s) {
        body += &text(10, y, RED, "bold", &l);
        y += 18;
    }
    let h = y + 6;
    format!(
        "<svg xmlns='http://www.w3.org/2000/svg' class='state' width='{w}' height='{h}' viewBox='0 0 {w} {h}' font-family='sans-serif' font-size='12'><rect width='{w}' height='{h}' fill='#ffffff'/>{body}</svg>"
    )
}

/// The path as a timeline: one row per step, marked accepted (✓), refused (✗ and the
/// reason) or a threat (⚠), the `current` step highlighted.
pub fn timeline_svg(views: &[StepView], current: Option<usize>) -> String {
    let (w, row) = (780usize, 20usize);
    let h = 40 + row * views.len().max(1);
    let mut body = text(10, 16, "#000", "bold", "Timeline");
    body += &text(
        90,
        16,
        GREY,
        "normal",
        "✓ accepted   ✗ refused (reason)   ⚠ threat or detour",
    );
    if views.is_empty() {
        body += &text(20, 38, GREY, "normal", "the initial state: no step taken");
    }
    for (i, v) in views.iter().enumerate() {
        let y = 36 + i * row;
        if current == Some(i + 1) {
            body += &format!(
                "<rect class='current' x='4' y='{}' width='{}' height='{row}' fill='#ddf4ff'/>",
                y - 14,
                w - 8
            );
        }
        let (sym, colour) = if v.accepted {
            ("✓", GREEN)
        } else {
            ("✗", RED)
        };
        body += &format!(
            "<g class='step {}'>",
            if v.accepted { "accepted" } else { "refused" }
        );
        body += &text(10, y, GREY, "normal", &format!("{:>2}.", i + 1));
        body += &text(36, y, colour, "bold", sym);
        body += &text(52, y, colour, "normal", &v.label);
        let mut note = String::new();
        if let Some(r) = &v.refusal {
            note += &format!("refused: {r}");
        }
        if v.accepted && v.changes.is_empty() {
            note += "accepted, nothing changed";
        }
        body += &text(300, y, colour, "normal", &note);
        if let Some(m) = &v.mark {
            body += &text(
                560,
                y,
                if m == "detour" { AMBER } else { RED },
                "bold",
                &format!("⚠ {m}"),
            );
        }
        body += "</g>";
    }
    format!(
        "<svg xmlns='http://www.w3.org/2000/svg' class='timeline' width='{w}' height='{h}' viewBox='0 0 {w} {h}' font-family='sans-serif' font-size='12'><rect width='{w}' height='{h}' fill='#ffffff'/>{body}</svg>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use phone_jpki_model::{Kind, PersonId, PhoneId, PinEntry};

    fn happy(h: PhoneId) -> Vec<Action> {
        vec![
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, Kind::Auth),
            Action::GenerateKey(h),
            Action::CaIssue(h),
            Action::WriteCert(h),
            Action::SetUserPin(h),
        ]
    }

    #[test]
    fn steps_tell_accepted_refused_threats_and_changes() {
        let c = Config::reference();
        let h0 = PhoneId(0);
        let mut path = happy(h0);
        path.push(Action::Use(h0, Kind::Auth, PinEntry::Right));
        path.push(Action::HandOver(h0, Recipient::Stranger, false));
        path.push(Action::Use(h0, Kind::Auth, PinEntry::Wrong));
        let (v, last) = steps(&c, &path);
        assert!(v[..9].iter().all(|s| s.accepted));
        assert_eq!(
            v[4].changes,
            vec![
                "h0: issuance session of p0 auth at key generated → issuance session of p0 auth at cert #0 issued",
                "+ cert #0: p0 auth on h0, card generation 0, active"
            ]
        );
        // An accepted use changes nothing, and is still accepted.
        assert!(v[7].accepted && v[7].changes.is_empty());
        assert_eq!(v[8].mark.as_deref(), Some("THREAT-BUYER"));
        assert_eq!(
            v[8].changes,
            vec![
                "h0: held by p0 → held by a stranger",
                "detours taken: 0 → 1"
            ]
        );
        assert_eq!(v[9].refusal.as_deref(), Some("WrongPin"));
        assert_eq!(v[9].mark.as_deref(), Some("THREAT-BUYER"));
        let svg = timeline_svg(&v, Some(10));
        assert_eq!(svg.matches("class='step accepted'").count(), 9);
        assert_eq!(svg.matches("class='step refused'").count(), 1);
        assert!(svg.contains("refused: WrongPin"));
        assert!(svg.contains("accepted, nothing changed"));
        let st = state_svg(&c, &last);
        assert!(st.contains("held by a STRANGER"));
        assert!(
            st.contains("cert #0: active") && st.contains("PIN BLOCKED"),
            "{st}"
        );
        assert!(st.contains("#0  p0 auth on h0, card gen 0, active"));
        assert_eq!(
            humanize("x at CertWritten(Serial(12)); Revoked(ModelChange)"),
            "x at cert #12 written with a temporary PIN; revoked (model change)"
        );
        assert!(st.contains("person p1"));
    }

    #[test]
    fn ground_truth_shows_in_words_and_picture() {
        let c = Config::reference().with_variant(phone_jpki_model::Variant::KeygenAtTsm);
        let mut path = happy(PhoneId(0));
        path.truncate(4);
        let (v, last) = steps(&c, &path);
        assert!(v[3]
            .changes
            .contains(&"+ ground truth: 1 private key(s) exist outside an SE".to_string()));
        assert!(!v[2].changes.iter().any(|l| l.contains("ground truth")));
        assert!(state_svg(&c, &last).contains("1 private key(s) exist outside an SE"));
        let _ = PersonId(0);
    }
}
