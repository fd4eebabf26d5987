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

/// `a` changes exactly the verdicts `policy` says it does, in the reference world, against
/// the seeds' design.
fn assert_stated_effects(a: Alternative) {
    let r = run(&Config::reference().with_choice(Choice::Alternative(a)));
    let m = measure(reference(), &r);
    assert!(
        m.matches(&a.expected()),
        "{}: expected {:?}, measured {m:?}",
        a.name(),
        a.expected()
    );
}

/// One test per alternative, so that the harness runs them side by side (the mutation run's
/// re-runs wait on this file), and a test that every alternative has one.
macro_rules! alternative_tests {
    ($($name:ident: $alt:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                assert_stated_effects(Alternative::$alt);
            }
        )*

        #[test]
        fn every_alternative_is_tested() {
            assert_eq!([$(Alternative::$alt),*], Alternative::ALL);
        }
    };
}

alternative_tests! {
    storage_sim: StorageSim,
    unlock_any_finger: UnlockAnyFinger,
    unlock_invalidate_on_enrol: UnlockInvalidateOnEnrol,
    revoke_auth_nothing: RevokeAuthNothing,
    revoke_auth_card: RevokeAuthCard,
    applet_checks_status: AppletChecksStatus,
    no_suspension: NoSuspension,
    proofing_mailed_code: ProofingMailedCode,
    keygen_at_jlis: KeygenAtJlis,
    link_per_kind: LinkPerKind,
    reset_local_wipe: ResetLocalWipe,
}
