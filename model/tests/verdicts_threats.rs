//! The seeds' design alternatives (issue 10): each changes exactly the verdicts
//! `phone_jpki_model::policy` says it does, measured against the seeds' design in the
//! reference world. (The threat actors' verdicts are in verdicts.rs, the mutation killers.)

use phone_jpki_model::check::{check, CheckOptions, CheckReport};
use phone_jpki_model::policy::{measure, Alternative, Choice};
use phone_jpki_model::Config;
use std::sync::OnceLock;

fn run(c: &Config) -> CheckReport {
    let r = check(
        c,
        &CheckOptions {
            threads: 2,
            ..CheckOptions::default()
        },
        &mut |_| {},
    );
    assert!(r.complete, "the check of {c:?} was cut short");
    r
}

fn reference() -> &'static CheckReport {
    static R: OnceLock<CheckReport> = OnceLock::new();
    R.get_or_init(|| run(&Config::reference()))
}

/// Every alternative changes exactly the verdicts `policy` says it does, in the reference
/// world, against the seeds' design.
#[test]
fn every_alternative_has_its_stated_effects() {
    let mut wrong = Vec::new();
    for a in Alternative::ALL {
        let r = run(&Config::reference().with_choice(Choice::Alternative(a)));
        let m = measure(reference(), &r);
        if !m.matches(&a.expected()) {
            wrong.push(format!(
                "{}: expected {:?}, measured {m:?}",
                a.name(),
                a.expected()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
