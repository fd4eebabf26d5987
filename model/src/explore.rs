//! The stateright adapter: the same rules as a `stateright::Model`, for the Explorer web UI and
//! for cross-checking state counts with stateright's own checkers. A refusal that changes
//! nothing is a self-loop whose step text gives the reason (also available through
//! [`crate::rules::step`]).

use crate::action::Action;
use crate::config::Config;
use crate::properties::{self, Condition, Expectation};
use crate::rules::{candidate_actions, step};
use crate::state::{CertStatus, Holder, Pin, Slot, State};
use stateright::{Model, Property};
use std::sync::OnceLock;

/// The model checked by stateright.
#[derive(Clone, Debug)]
pub struct JpkiModel {
    pub config: Config,
}

/// Every property, built once (names and conditions do not depend on the configuration).
fn all_properties() -> &'static [properties::Property] {
    static ALL: OnceLock<Vec<properties::Property>> = OnceLock::new();
    ALL.get_or_init(properties::all)
}

/// stateright properties are plain fn pointers on states, so each property is evaluated by
/// its index `I` in [`all_properties`]. A step observer becomes a state property: "every
/// step out of this state satisfies it" (always) or "some step does" (sometimes).
fn eval<const I: usize>(m: &JpkiModel, s: &State) -> bool {
    let p = &all_properties()[I];
    let sometimes = p.expectation == Expectation::Sometimes;
    match p.condition {
        Condition::State(f) => f(&m.config, s),
        Condition::Step(f) => with_steps(&m.config, s, |steps| {
            let mut all = steps.iter().map(|(a, r, after)| {
                f(&properties::Observed {
                    config: &m.config,
                    before: s,
                    action: *a,
                    result: *r,
                    after,
                })
            });
            if sometimes {
                all.any(|hit| hit)
            } else {
                all.all(|ok| ok)
            }
        }),
        // Action reachability is stateright's own coverage; the dead-end analysis needs the
        // whole graph (crate::check). Neither is a state property.
        Condition::Action(_) | Condition::NoDeadEnd => !sometimes,
    }
}

/// The steps out of one state: action, outcome, state after.
type Steps = Vec<(Action, Result<(), crate::action::Refusal>, State)>;

thread_local! {
    /// The steps out of the state whose properties stateright evaluates now (it evaluates
    /// every property of a state in a row): computed once per state, not once per property.
    static STEPS: std::cell::RefCell<Option<(Config, State, Steps)>> =
        const { std::cell::RefCell::new(None) };
}

/// Run `f` on the steps out of `s` (every candidate action attempted), cached per thread.
fn with_steps<T>(config: &Config, s: &State, f: impl FnOnce(&Steps) -> T) -> T {
    STEPS.with(|cell| {
        let mut cache = cell.borrow_mut();
        let fresh = !matches!(&*cache, Some((c, st, _)) if st == s && c == config);
        if fresh {
            let mut actions = Vec::new();
            candidate_actions(config, s, &mut actions);
            let steps = actions
                .into_iter()
                .map(|a| {
                    let o = step(config, s, a);
                    (a, o.result, o.next)
                })
                .collect();
            *cache = Some((config.clone(), s.clone(), steps));
        }
        f(&cache.as_ref().expect("filled above").2)
    })
}

macro_rules! table {
    ($($i:literal)*) => {
        const EVAL: &[fn(&JpkiModel, &State) -> bool] = &[$(eval::<$i>),*];
    };
}
table!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
    32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61
    62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91
    92 93 94 95 96 97 98 99 100 101 102 103 104 105 106 107 108 109 110 111 112 113 114 115
    116 117 118 119 120 121 122 123 124 125 126 127);

impl Model for JpkiModel {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![State::initial(&self.config)]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        candidate_actions(&self.config, state, actions);
    }

    /// Every offered action has a successor: a refusal that changes nothing leads back to the
    /// same state (a self-loop), so the Explorer shows its reason ("-> refused: ...") instead
    /// of listing the action as ignored. State counts are unaffected.
    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        Some(step(&self.config, last, action).next)
    }

    fn format_action(&self, action: &Action) -> String {
        action.to_string()
    }

    fn format_step(&self, last: &State, action: Action) -> Option<String> {
        let o = step(&self.config, last, action);
        let verdict = match o.result {
            Ok(()) => "accepted".to_string(),
            Err(r) => format!("refused: {r}"),
        };
        Some(format!("{action} -> {verdict}\n\n{}", describe(&o.next)))
    }

    fn as_svg(&self, path: stateright::Path<State, Action>) -> Option<String> {
        Some(timeline_svg(&self.config, &path.into_vec()))
    }

    /// Every state and step property (action reachability and INV-NO-DEAD-END are left to
    /// [`crate::check`]).
    fn properties(&self) -> Vec<Property<Self>> {
        let names: Vec<String> = properties::for_config(&self.config)
            .into_iter()
            .map(|p| p.name)
            .collect();
        all_properties()
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                names.contains(&p.name)
                    && matches!(p.condition, Condition::State(_) | Condition::Step(_))
            })
            .map(|(i, p)| {
                assert!(
                    i < EVAL.len(),
                    "explore: more properties than the EVAL table"
                );
                // Names are built once per checker start; leaking a few strings is fine.
                let name: &'static str = Box::leak(p.name.clone().into_boxed_str());
                match p.expectation {
                    Expectation::Always => Property::always(name, EVAL[i]),
                    Expectation::Sometimes => Property::sometimes(name, EVAL[i]),
                }
            })
            .collect()
    }
}

/// A readable multi-line summary of a state for the Explorer.
pub fn describe(s: &State) -> String {
    let mut out = String::new();
    for (i, p) in s.persons.iter().enumerate() {
        out += &format!("p{i}: card gen {} {:?}\n", p.card_generation, p.card);
    }
    for (i, ph) in s.phones.iter().enumerate() {
        let holder = match ph.holder {
            Holder::Person(p) => p.to_string(),
            Holder::Stranger => "stranger".into(),
            Holder::Nobody => "disposed".into(),
        };
        let slots: Vec<String> = ph
            .slots
            .iter()
            .map(|s| match s {
                Slot::Empty => "-".into(),
                Slot::Key { person, certified } => match certified {
                    None => format!("key({person})"),
                    Some(x) => format!("key({person},{x})"),
                },
                Slot::Cert { serial, pin } => format!(
                    "{serial}/{}",
                    match pin {
                        Pin::Temporary => "tmpPIN".into(),
                        Pin::User { tries_left } => format!("PIN{tries_left}"),
                        Pin::Blocked => "BLOCKED".into(),
                    }
                ),
            })
            .collect();
        out += &format!(
            "h{i}: {holder} {:?} {} app={} (installs {}) applet={} phase {} auth={} sign={}{}{}\n",
            ph.condition,
            if ph.online { "online" } else { "offline" },
            ph.token().map_or("-".into(), |t| format!("token{t}")),
            ph.app_installs,
            ph.applet,
            ph.phase(),
            slots[0],
            slots[1],
            ph.session.map_or(String::new(), |x| format!(
                " session({} {} gen {} {:?})",
                x.person, x.kind, x.card_generation, x.step
            )),
            match (ph.handovers, ph.procedure_from) {
                (0, None) => String::new(),
                (n, None) => format!(" handed over {n}x carelessly"),
                (n, Some(p)) => format!(" handed over {n}x by {p} with the procedure"),
            }
        );
    }
    for (i, c) in s.registry.iter().enumerate() {
        out += &format!(
            "#{i}: {} {} on h{} card gen {} {:?} (signed by {}{})\n",
            c.person,
            c.kind,
            c.phone.0,
            c.card_generation,
            c.status,
            c.signer,
            if c.signature_valid_at_issue {
                ""
            } else {
                ", card not valid"
            }
        );
    }
    for p in &s.pushes {
        out += &format!(
            "push: delete {} ({}) -> h{} token{}\n",
            p.serial, p.kind, p.phone.0, p.token
        );
    }
    if s.threats != Default::default() {
        out += &format!("threats: {:?}\n", s.threats);
    }
    out += &format!("detours taken: {}\n", s.events);
    if s.keys_outside_se > 0 {
        out += &format!("private keys outside SEs: {}\n", s.keys_outside_se);
    }
    out
}

/// A lifecycle timeline: one lane per phone plus one for J-LIS, one row per step, the action
/// in the lane of the part it touches, coloured by outcome.
pub fn timeline_svg(config: &Config, path: &[(State, Option<Action>)]) -> String {
    let lanes = usize::from(config.phones) + 1;
    let (lane_w, row_h, top) = (190usize, 22usize, 30usize);
    let width = lanes * lane_w + 40;
    let height = top + row_h * (path.len() + 2);
    let mut svg = format!(
        "<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='monospace' font-size='11'>"
    );
    // Its own white ground: the Explorer's page is dark.
    svg += &format!("<rect width='{width}' height='{height}' fill='#ffffff'/>");
    for l in 0..lanes {
        let x = 20 + l * lane_w + lane_w / 2;
        let label = if l + 1 == lanes {
            "J-LIS / persons".to_string()
        } else {
            format!("phone h{l}")
        };
        svg +=
            &format!("<text x='{x}' y='18' text-anchor='middle' font-weight='bold'>{label}</text>");
        svg += &format!("<line x1='{x}' y1='22' x2='{x}' y2='{height}' stroke='#e4e4e4'/>");
    }
    for (row, (state, action)) in path.iter().enumerate() {
        let Some(a) = action else { continue };
        let lane = phone_of(a).map_or(lanes - 1, |h| h.min(lanes - 2));
        let o = step(config, state, *a);
        let colour = match o.result {
            Ok(()) => "#1a7f37",
            Err(_) => "#b42318",
        };
        let revoked = o
            .next
            .registry
            .iter()
            .zip(&state.registry)
            .any(|(n, b)| b.status.is_live() && matches!(n.status, CertStatus::Revoked(_)));
        let y = top + row * row_h + 14;
        let x = 20 + lane * lane_w + lane_w / 2;
        svg += &format!(
            "<text x='{x}' y='{y}' text-anchor='middle' fill='{colour}'>{}. {}{}</text>",
            row + 1,
            xml_escape(&a.to_string()),
            if revoked { " ✗cert" } else { "" }
        );
    }
    svg += &format!(
        "<text x='20' y='{}' fill='#555'>green: accepted, red: refused (a wrong PIN still counts down), ✗cert: a cert revoked by the step</text>",
        height - 6
    );
    svg + "</svg>"
}

/// The index of the phone an action acts on, if any ([`Action::phone`]).
pub fn phone_of(a: &Action) -> Option<usize> {
    a.phone().map(|h| h.index())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Kind, PersonId, PhoneId};

    fn walk(c: &Config, actions: &[Action]) -> Vec<(State, Option<Action>)> {
        let mut s = State::initial(c);
        let mut path = Vec::new();
        for a in actions {
            let next = step(c, &s, *a).next;
            path.push((s, Some(*a)));
            s = next;
        }
        path.push((s, None));
        path
    }

    /// App, applet, and an issuance up to the CA's certificate.
    fn up_to_ca_issue(h: PhoneId, k: Kind) -> Vec<Action> {
        vec![
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, k),
            Action::GenerateKey(h),
            Action::CaIssue(h),
        ]
    }

    #[test]
    fn timeline_puts_each_step_in_its_lane_and_marks_revocations() {
        let c = Config::reference();
        let h0 = PhoneId(0);
        let mut actions = up_to_ca_issue(h0, Kind::Auth);
        actions.extend([
            Action::WriteCert(h0),
            Action::SetUserPin(h0),
            Action::Use(h0, Kind::Auth, crate::PinEntry::Wrong),
            Action::RevokeWithCard(PersonId(0), Kind::Auth),
        ]);
        let path = walk(&c, &actions);
        let svg = timeline_svg(&c, &path);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        for lane in ["phone h0", "phone h1", "phone h2", "J-LIS / persons"] {
            assert!(svg.contains(lane), "{lane}");
        }
        // The wrong PIN is refused (red); the revocation is J-LIS's and marks the cert.
        assert!(svg.contains("fill='#b42318'>8. Use(h0,auth,pin=wrong)"));
        assert!(svg.contains("9. RevokeWithCard(p0,auth) ✗cert"));
        assert_eq!(svg.matches("#1a7f37").count(), 8);
    }

    #[test]
    fn the_readable_state_shows_every_part() {
        let c = Config::reference();
        let h0 = PhoneId(0);
        let mut actions = up_to_ca_issue(h0, Kind::Sign);
        actions.push(Action::GoOffline(h0));
        let path = walk(&c, &actions);
        let text = format!("{:?}", path.last().unwrap().0);
        for part in [
            "p0: card gen 0 Valid",
            // The CA has issued #0 for the key: the key names its certificate.
            "h0: p0 InHand offline app=token1 (installs 1) applet=true phase 3 auth=- sign=key(p0,#0)",
            "session(p0 sign gen 0 Issued(Serial(0)))",
            "#0: p0 sign on h0 card gen 0 Active (signed by p0)",
            "detours taken: 1",
        ] {
            assert!(text.contains(part), "{part} missing in:\n{text}");
        }
    }

    #[test]
    fn a_refusal_is_a_self_loop_that_names_its_reason() {
        use stateright::Model;
        let m = JpkiModel {
            config: Config::reference(),
        };
        let h0 = PhoneId(0);
        // Apply without the app's applet: refused, nothing changes.
        let s = walk(&m.config, &[Action::InstallApp(h0)]).pop().unwrap().0;
        let a = Action::Apply(h0, Kind::Auth);
        assert_eq!(m.next_state(&s, a), Some(s.clone()));
        let text = m.format_step(&s, a).unwrap();
        assert!(
            text.starts_with("Apply(h0,auth) -> refused: NoApplet"),
            "{text}"
        );
    }
}
