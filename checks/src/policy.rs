//! Which of the model's policies the implementation realises, and as what configuration
//! (`impl/src/system/policy.rs`): the seeds' design (the model's default) and the design
//! alternatives that have a real counterpart (ALT-REVOKE-AUTH, ALT-APPLET-STATUS, ALT-RESET,
//! ALT-SUSPEND). The others exist only on paper (SIM storage, biometrics, mailed access
//! codes, key generation at J-LIS, per-kind links) or are the model's fault variants (its
//! self-test): `conform` refuses them, naming what the implementation realises.

use phone_jpki_impl::system::{
    AppletDeletion, Policy as ImplPolicy, ResetPolicy, RevokeAuth as ImplRevokeAuth,
};
use phone_jpki_model::policy::{Alternative, Choice, RevokeAuth};
use phone_jpki_model::Policy;

/// The alternatives the implementation realises as configuration.
pub const REALISED: [Alternative; 5] = [
    Alternative::RevokeAuthNothing,
    Alternative::RevokeAuthCard,
    Alternative::AppletChecksStatus,
    Alternative::ResetLocalWipe,
    Alternative::NoSuspension,
];

/// The names of [`REALISED`], for messages.
pub fn realised_names() -> String {
    REALISED
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The model policy `name` (`phone-jpki check --policy list`), if the implementation realises
/// it; `default` is the seeds' design. A clear error otherwise.
pub fn by_name(name: &str) -> Result<Policy, String> {
    let mut p = Policy::default();
    if name == "default" {
        return Ok(p);
    }
    match Choice::from_name(name) {
        Some(Choice::Alternative(a)) if REALISED.contains(&a) => {
            a.apply(&mut p);
            Ok(p)
        }
        Some(c) => Err(format!(
            "policy {name} is model-only ({}): the implementation realises the default and {}",
            match c {
                Choice::Fault(_) => "a fault variant, the model's self-test".to_string(),
                Choice::Alternative(a) => format!("{}, a design on paper", a.alt_id()),
            },
            realised_names()
        )),
        None => Err(format!(
            "unknown policy {name}: the implementation realises the default and {}",
            realised_names()
        )),
    }
}

/// The implementation's configuration standing for the model policy `p`, or `None` if `p`
/// differs from the default in a choice the implementation does not realise.
pub fn realise(p: &Policy) -> Option<ImplPolicy> {
    // The realised choices, put back to the default: what is left must be the default.
    let rest = Policy {
        revoke_auth: Policy::default().revoke_auth,
        applet_checks_status: Policy::default().applet_checks_status,
        reset_via_server: Policy::default().reset_via_server,
        suspension: Policy::default().suspension,
        ..*p
    };
    if rest != Policy::default() {
        return None;
    }
    Some(ImplPolicy {
        revoke_auth: match p.revoke_auth {
            // The applet's VERIFY of the PIN the holder knows, as the model's `pin`: a wrong
            // entry counts down, a blocked or temporary PIN proves nothing, and the hand-over
            // procedure is refused before anything when one credential cannot be proven.
            RevokeAuth::Pin => ImplRevokeAuth::Pin,
            RevokeAuth::Nothing => ImplRevokeAuth::Nothing,
            RevokeAuth::Card => ImplRevokeAuth::Card,
        },
        reset: if p.reset_via_server {
            ResetPolicy::Server
        } else {
            ResetPolicy::OsWipe
        },
        no_suspension: !p.suspension,
        applet_status: p.applet_checks_status,
        applet_deletion: AppletDeletion::WhenEmpty,
        keep_unwritten_keys: false,
        offline_procedure: false,
        ..ImplPolicy::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realised_alternatives_configure_the_implementation_and_the_rest_are_refused() {
        assert_eq!(by_name("default"), Ok(Policy::default()));
        for a in REALISED {
            let p = by_name(a.name()).unwrap();
            assert_ne!(p, Policy::default(), "{}", a.name());
            assert!(realise(&p).is_some(), "{}", a.name());
        }
        let card = realise(&by_name("revoke-auth-card").unwrap()).unwrap();
        assert_eq!(card.revoke_auth, ImplRevokeAuth::Card);
        let default = realise(&Policy::default()).unwrap();
        assert_eq!(default.revoke_auth, ImplRevokeAuth::Pin);
        let wipe = realise(&by_name("reset-local-wipe").unwrap()).unwrap();
        assert_eq!(wipe.reset, ResetPolicy::OsWipe);
        assert!(
            realise(&by_name("no-suspension").unwrap())
                .unwrap()
                .no_suspension
        );
        assert!(
            realise(&by_name("applet-checks-status").unwrap())
                .unwrap()
                .applet_status
        );
        for name in [
            "storage-sim",
            "unlock-any-finger",
            "delete-whatever-is-there",
        ] {
            let e = by_name(name).unwrap_err();
            assert!(
                e.contains("model-only") && e.contains("revoke-auth-card"),
                "{e}"
            );
            let mut p = Policy::default();
            Choice::from_name(name).unwrap().apply(&mut p);
            assert_eq!(realise(&p), None, "{name}");
        }
        assert!(by_name("bogus")
            .unwrap_err()
            .contains("unknown policy bogus"));
    }
}
