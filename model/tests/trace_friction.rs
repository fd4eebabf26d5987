//! The friction points of writing traces by hand (issue 14), each settled: duplicate keys,
//! a byte order mark, `null`, PIN tries, optional facts, notes, "not offered" with its
//! reason, refusals the model never produces, richer facts, every divergence, plain errors.

use phone_jpki_model::trace::{parse, replay, replay_all, TraceError, Verdict};
use phone_jpki_model::{Config, Refusal};

const V2: &str = r#"{"format":"phone-jpki-trace/2","config":{"persons":1,"phones":1,"kinds":["auth"],"max_events":null,"max_certs":null,"max_sessions":null}}"#;

/// Issue an auth cert on h0 with the user PIN set; `extra` steps follow.
fn issued(extra: &[&str]) -> String {
    let mut lines = vec![
        V2,
        r#"{"action":"InstallApp","phone":0,"outcome":"accepted","note":"seed 003 phase 1"}"#,
        r#"{"action":"InstallApplet","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"Apply","phone":0,"kind":"auth","outcome":"accepted"}"#,
        r#"{"action":"GenerateKey","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"CaIssue","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"WriteCert","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"SetUserPin","phone":0,"outcome":"accepted"}"#,
    ];
    lines.extend_from_slice(extra);
    lines.join("\n") + "\n"
}

fn conforms(text: &str) -> bool {
    let t = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    matches!(replay(&t), Verdict::Conforms(_))
}

fn error(text: &str) -> TraceError {
    parse(text.as_bytes()).expect_err("parsed")
}

#[test]
fn duplicate_keys_are_refused_with_their_line() {
    let e = error(r#"{"format":"bogus","format":"phone-jpki-trace/1"}"#);
    assert!(
        matches!(&e, TraceError::Syntax { line: 1, message, .. } if message.contains("duplicate key \"format\"")),
        "{e}"
    );
    let text = issued(&[
        r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"accepted","facts":{"certs":{"0":"active","0":"revoked"}}}"#,
    ]);
    let e = error(&text);
    assert!(
        matches!(&e, TraceError::Syntax { line: 9, message, .. } if message.contains("duplicate key \"0\"")),
        "{e}"
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let text = format!("\u{feff}{}", issued(&[]));
    assert!(conforms(&text));
}

#[test]
fn null_means_no_bound_and_nothing_else_in_version_2() {
    let e = error(r#"{"format":"phone-jpki-trace/2","config":{"persons":null}}"#);
    assert!(
        matches!(&e, TraceError::BadConfig { line: 1, message } if message.contains("config.persons: null")),
        "{e}"
    );
    let t = parse(br#"{"format":"phone-jpki-trace/2","config":{"max_events":null}}"#).unwrap();
    assert_eq!(t.config.max_events, None);
    // Version 1 keeps its meaning: null is the reference value there.
    let t = parse(br#"{"format":"phone-jpki-trace/1","config":{"persons":null}}"#).unwrap();
    assert_eq!(t.config.persons, Config::reference().persons);
}

#[test]
fn pin_tries_default_to_the_cards_3_and_5_in_version_2() {
    let t = parse(br#"{"format":"phone-jpki-trace/2"}"#).unwrap();
    assert_eq!(t.config.pin_tries, [3, 5]);
    let t = parse(br#"{"format":"phone-jpki-trace/1"}"#).unwrap();
    assert_eq!(t.config.pin_tries, Config::reference().pin_tries);
    // Two wrong tries do not block an auth PIN with 3 tries.
    let wrong = r#"{"action":"Use","phone":0,"kind":"auth","pin":"wrong","outcome":{"refused":"WrongPin"}}"#;
    let ok = r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert","pin":"user","tries_left":3}]}}"#;
    assert!(conforms(&issued(&[wrong, wrong, ok])));
}

#[test]
fn optional_slot_fields_are_not_compared_when_absent() {
    let bare = r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert"}]}}"#;
    assert!(conforms(&issued(&[bare])));
    let wrong_serial = r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert","serial":1}]}}"#;
    assert!(!conforms(&issued(&[wrong_serial])));
    let wrong_tries = r#"{"action":"Use","phone":0,"kind":"auth","pin":"wrong","outcome":{"refused":"WrongPin"},"facts":{"slots":[{"phone":0,"kind":"auth","holds":"cert","tries_left":3}]}}"#;
    assert!(!conforms(&issued(&[wrong_tries])));
}

#[test]
fn a_slot_fact_for_a_kind_not_in_play_is_an_error() {
    let sign = r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"accepted","facts":{"slots":[{"phone":0,"kind":"sign","holds":"empty"}]}}"#;
    let e = error(&issued(&[sign]));
    assert!(
        matches!(&e, TraceError::BadStep { line: 9, message } if message.contains("not in play")),
        "{e}"
    );
}

#[test]
fn not_offered_says_which_bound_or_precondition_failed() {
    // Precondition: no cert on the phone yet.
    let text = [V2, r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":{"refused":"TemporaryPin"}}"#].join("\n");
    let Verdict::Diverges(d) = replay(&parse(text.as_bytes()).unwrap()) else {
        panic!("conforms")
    };
    let why = d.why_not_offered.clone().unwrap();
    assert!(
        why.contains("precondition of Use") && why.contains("h0:"),
        "{why}"
    );
    assert!(d.to_string().contains("precondition of Use"));
    // A bound: one app installation only.
    let text = [
        r#"{"format":"phone-jpki-trace/2","config":{"persons":1,"phones":1,"kinds":["auth"],"max_app_installs":1}}"#,
        r#"{"action":"InstallApp","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"UninstallApp","phone":0,"outcome":"accepted"}"#,
        r#"{"action":"InstallApp","phone":0,"outcome":"accepted"}"#,
    ]
    .join("\n");
    let Verdict::Diverges(d) = replay(&parse(text.as_bytes()).unwrap()) else {
        panic!("conforms")
    };
    let why = d.why_not_offered.unwrap();
    assert!(why.contains("max_app_installs = 1"), "{why}");
}

#[test]
fn declining_an_action_the_model_does_not_offer_replays() {
    let declined = r#"{"action":"DeliverPush","serial":0,"outcome":"not_offered","note":"no such push: the system answered NoSuchPush"}"#;
    assert!(conforms(&issued(&[declined])));
    // Declining an offered action diverges; so does accepting one the model does not offer.
    let declined_offered =
        r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":"not_offered"}"#;
    assert!(!conforms(&issued(&[declined_offered])));
    let accepted = r#"{"action":"DeliverPush","serial":0,"outcome":"accepted"}"#;
    assert!(!conforms(&issued(&[accepted])));
}

#[test]
fn refusals_the_model_never_produces_are_refused_by_the_parser() {
    // Undeliverable is a guard the offered actions never reach (docs/SEMANTICS.md: a push is
    // offered for delivery only when it can be delivered). (NoCredential no longer serves:
    // the hand-over procedure refuses with it under ALT-REVOKE-AUTH=pin.)
    let producible = phone_jpki_model::trace::producible_refusals();
    assert!(!producible.contains(&Refusal::Undeliverable));
    assert!(producible.contains(&Refusal::NoCredential));
    let text =
        issued(&[r#"{"action":"DeliverPush","serial":0,"outcome":{"refused":"Undeliverable"}}"#]);
    let e = error(&text);
    assert!(
        matches!(&e, TraceError::BadStep { line: 9, message } if message.contains("never refuses with Undeliverable")),
        "{e}"
    );
}

#[test]
fn richer_facts_are_compared() {
    let offline = r#"{"action":"GoOffline","phone":0,"outcome":"accepted"}"#;
    let good = r#"{"action":"RevokeWithCard","person":0,"kind":"auth","outcome":"accepted","facts":{"pushes":[{"serial":0,"phone":0,"token":1}],"cards":{"0":"valid"},"phones":[{"phone":0,"holder":0,"condition":"in_hand","online":false,"app":true,"token":1,"applet":true,"session":"none"}]}}"#;
    assert!(conforms(&issued(&[offline, good])));
    for (from, to) in [
        (r#""token":1}]"#, r#""token":2}]"#),
        (r#""cards":{"0":"valid"}"#, r#""cards":{"0":"revoked"}"#),
        (r#""holder":0"#, r#""holder":"stranger""#),
        (r#""session":"none""#, r#""session":"applied""#),
        (r#""online":false"#, r#""online":true"#),
    ] {
        let bad = good.replace(from, to);
        assert!(!conforms(&issued(&[offline, &bad])), "{bad}");
    }
}

#[test]
fn keep_going_reports_every_divergence() {
    let wrong = r#"{"action":"Use","phone":0,"kind":"auth","pin":"right","outcome":{"refused":"WrongPin"}}"#;
    let text = issued(&[wrong, wrong, wrong]);
    let t = parse(text.as_bytes()).unwrap();
    let all = replay_all(&t);
    assert_eq!(all.iter().map(|d| d.line).collect::<Vec<_>>(), [9, 10, 11]);
}

#[test]
fn errors_carry_no_serde_internals() {
    for step in [
        r#"{"action":"Lose","phone":0,"outcome":"refused"}"#,
        r#"{"action":"Lose","phone":"a","outcome":"accepted"}"#,
        r#"{"action":"Lose","phone":0,"outcome":{"accepted":1}}"#,
    ] {
        let e = error(&format!("{V2}\n{step}\n")).to_string();
        for internal in [
            "unit variant",
            "newtype variant",
            "u8",
            " at line 1 column",
            "untagged enum",
        ] {
            assert!(!e.contains(internal), "{e}");
        }
    }
    let e = error(r#"{"format":"phone-jpki-trace/2","config":{"phones":"two"}}"#).to_string();
    assert!(!e.contains("u8") && e.contains("phones"), "{e}");
}
