//! A trace recorded from the implementation replays against the model (R-ISSUE,
//! R-MODEL-CHANGE, R-SUSPEND, R-PIN-RETRY, R-REVOKE, R-DELETE, R-TOKEN), and an altered one
//! diverges at the altered line.

use phone_jpki_checks::record::record;
use phone_jpki_model::trace::{parse, replay, Verdict};
use phone_jpki_model::{Action, Config, Kind, PersonId, PhoneId, PinEntry, Serial};

/// One person with two phones, auth only, no world budgets, 3 PIN tries.
fn world() -> Config {
    Config {
        persons: 1,
        phones: 2,
        kinds: vec![Kind::Auth],
        max_events: None,
        max_certs: None,
        max_sessions: None,
        pin_tries: [3, 3],
        ..Config::reference()
    }
}

/// Issue on h0, wrong PIN, suspend and resume, model change to h1 while h0 is offline (the
/// push to h0 is lost), revoke with the card (the push to h1 is delivered), h0 back online.
fn scenario() -> Vec<Action> {
    use Action::*;
    let (h0, h1, p0, a) = (PhoneId(0), PhoneId(1), PersonId(0), Kind::Auth);
    let mut v = Vec::new();
    v.extend([
        InstallApp(h0),
        InstallApplet(h0),
        Apply(h0, a),
        GenerateKey(h0),
    ]);
    v.extend([CaIssue(h0), WriteCert(h0)]);
    v.extend([
        Use(h0, a, PinEntry::Right),
        SetUserPin(h0),
        Use(h0, a, PinEntry::Right),
    ]);
    v.extend([
        Use(h0, a, PinEntry::Wrong),
        Suspend(p0, a),
        Use(h0, a, PinEntry::Right),
    ]);
    v.push(Resume(h0, a, PinEntry::Right));
    v.extend([
        InstallApp(h1),
        InstallApplet(h1),
        Apply(h1, a),
        Apply(h0, a),
    ]);
    v.extend([
        GenerateKey(h1),
        GoOffline(h0),
        CaIssue(h1),
        DropPush(Serial(0)),
    ]);
    v.extend([WriteCert(h1), SetUserPin(h1), Use(h1, a, PinEntry::Right)]);
    v.extend([
        RevokeWithCard(p0, a),
        Use(h1, a, PinEntry::Right),
        DeliverPush(Serial(1)),
    ]);
    v.extend([Use(h0, a, PinEntry::Right), GoOnline(h0)]);
    v
}

#[test]
fn a_recorded_trace_replays_and_an_altered_one_diverges_at_its_line() {
    let c = world();
    let text = record(&c, &scenario(), 7, Some("scripted scenario".into()))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = parse(text.as_bytes()).unwrap();
    assert_eq!(t.steps.len(), scenario().len());
    match replay(&t) {
        Verdict::Conforms(n) => assert_eq!(n, scenario().len()),
        Verdict::Diverges(d) => panic!("{d}\n{text}"),
    }
    // The recording shows refusals and the lost push.
    assert!(text.contains(r#""refused":"WrongPin""#));
    assert!(text.contains(r#""refused":"CertSuspended""#));
    assert!(text.contains(r#""refused":"ReissueWhileLive""#));
    assert!(text.contains(r#""action":"DropPush","serial":0"#));
    // Alter the outcome of the wrong-PIN step (line 11: header + 10 steps).
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[10].contains(r#""pin":"wrong""#));
    let altered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 10 {
                l.replace(r#"{"refused":"WrongPin"}"#, r#""accepted""#)
            } else {
                l.to_string()
            }
        })
        .collect();
    let Verdict::Diverges(d) = replay(&parse(altered.join("\n").as_bytes()).unwrap()) else {
        panic!("the altered trace conforms")
    };
    assert_eq!(d.line, 11);
    // Alter a fact: the slot of h0 after the final sync still holding cert 0.
    let last = lines.len() - 1;
    let altered: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == last {
                l.replacen(
                    r#"{"phone":0,"kind":"auth","holds":"empty"}"#,
                    r#"{"phone":0,"kind":"auth","holds":"cert","serial":0,"pin":"user"}"#,
                    1,
                )
            } else {
                l.to_string()
            }
        })
        .collect();
    assert_ne!(altered[last], lines[last], "{}", lines[last]);
    let Verdict::Diverges(d) = replay(&parse(altered.join("\n").as_bytes()).unwrap()) else {
        panic!("the altered trace conforms")
    };
    assert_eq!((d.line, d.facts.len()), (last + 1, 1));
    assert_eq!(d.facts[0].fact, "slots.h0.auth");
}
