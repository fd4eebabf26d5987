//! Properties told on a path: for the state a path reaches, which `always` properties hold
//! there and which fail (and since when), which `sometimes` properties are true there or were
//! reached on the way. Every property the checker checks is listed; one this view cannot
//! evaluate on a path says so instead of guessing.

use phone_jpki_model::properties::{self, Condition, Expectation};
use phone_jpki_model::{step, Action, Config, State};
use serde::Serialize;

/// One property on one path.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyHere {
    pub id: String,
    pub name: String,
    pub expectation: Expectation,
    /// `holds` / `FAILS` (always, in the shown state), `true-here`, `reached` (sometimes,
    /// at step `at`), `not-on-path`, or `checker-only`.
    pub status: &'static str,
    /// The step (1-based; 0 = the initial state) where it first failed or was reached.
    pub at: Option<usize>,
    /// The statement in words.
    pub text: String,
}

/// Evaluate every property of `c` along `path` (all offered; see [`crate::links`]).
pub fn properties_on(c: &Config, path: &[Action]) -> Vec<PropertyHere> {
    let mut states = vec![State::initial(c)];
    let mut accepted = Vec::new();
    let mut results = Vec::new();
    for &a in path {
        let o = step(c, states.last().expect("initial state"), a);
        accepted.push(o.result.is_ok());
        results.push(o.result);
        states.push(o.next);
    }
    let last = states.last().expect("initial state");
    properties::for_config(c)
        .into_iter()
        .map(|p| {
            let (status, at) = match (p.expectation, p.condition) {
                (Expectation::Always, Condition::State(f)) => {
                    if f(c, last) {
                        ("holds", None)
                    } else {
                        ("FAILS", states.iter().position(|s| !f(c, s)))
                    }
                }
                (Expectation::Sometimes, Condition::State(f)) => {
                    match states.iter().position(|s| f(c, s)) {
                        None => ("not-on-path", None),
                        Some(_) if f(c, last) => ("true-here", states.iter().position(|s| f(c, s))),
                        Some(i) => ("reached", Some(i)),
                    }
                }
                (exp, Condition::Step(f)) => {
                    let observed = |i: usize| {
                        f(&properties::Observed {
                            config: c,
                            before: &states[i],
                            action: path[i],
                            result: results[i],
                            after: &states[i + 1],
                        })
                    };
                    if exp == Expectation::Sometimes {
                        let hit = (0..path.len()).find(|&i| observed(i));
                        hit.map_or(("not-on-path", None), |i| ("reached", Some(i + 1)))
                    } else {
                        let bad = (0..path.len()).find(|&i| !observed(i));
                        bad.map_or(("holds", None), |i| ("FAILS", Some(i + 1)))
                    }
                }
                (Expectation::Sometimes, Condition::Action(k)) => {
                    let hit = (0..path.len()).find(|&i| accepted[i] && path[i].kind() == k);
                    hit.map_or(("not-on-path", None), |i| ("reached", Some(i + 1)))
                }
                #[allow(unreachable_patterns)]
                _ => ("checker-only", None),
            };
            PropertyHere {
                id: p.id().to_string(),
                text: p.name.split_once(": ").map_or("", |x| x.1).to_string(),
                name: p.name.clone(),
                expectation: p.expectation,
                status,
                at,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use phone_jpki_model::{Kind, PhoneId, Recipient, Variant};

    #[test]
    fn a_counterexample_fails_where_it_ends_and_risks_show_on_the_way() {
        let c = Config::reference().with_variant(Variant::KeygenAtTsm);
        let h = PhoneId(0);
        let path = [
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, Kind::Auth),
            Action::GenerateKey(h),
        ];
        let v = properties_on(&c, &path);
        assert_eq!(v.len(), properties::for_config(&c).len());
        let get = |id: &str| v.iter().find(|p| p.id == id).unwrap();
        assert_eq!(get("INV-KEY-IN-SE").status, "FAILS");
        assert_eq!(get("INV-KEY-IN-SE").at, Some(4));
        assert_eq!(get("INV-ONE").status, "holds");
        assert_eq!(get("ACT-GenerateKey").status, "reached");
        assert_eq!(get("ACT-GenerateKey").at, Some(4));
        assert_eq!(get("ACT-CaIssue").status, "not-on-path");
        // Three steps in, the invariant still holds.
        let v3 = properties_on(&c, &path[..3]);
        assert_eq!(
            v3.iter().find(|p| p.id == "INV-KEY-IN-SE").unwrap().status,
            "holds"
        );
    }

    #[test]
    fn a_risk_is_true_in_the_state_where_it_is_reached() {
        let c = Config::reference();
        let h = PhoneId(0);
        let path = [
            Action::InstallApp(h),
            Action::InstallApplet(h),
            Action::Apply(h, Kind::Auth),
            Action::GenerateKey(h),
            Action::CaIssue(h),
            Action::WriteCert(h),
            Action::SetUserPin(h),
            Action::HandOver(h, Recipient::Stranger, false),
        ];
        let v = properties_on(&c, &path);
        let r1 = v.iter().find(|p| p.id == "RISK-1").unwrap();
        assert_eq!((r1.status, r1.at), ("true-here", Some(8)));
        let before = properties_on(&c, &path[..7]);
        assert_eq!(
            before.iter().find(|p| p.id == "RISK-1").unwrap().status,
            "not-on-path"
        );
    }
}
