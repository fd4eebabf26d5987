//! The policy choices away from the seeds' design, as the CLI shows them: what each changes,
//! in a sentence, its kind, and what a check of it is expected to show (`--policy list`,
//! `check --policy`'s verdict, `matrix`, the report, the Explorer). The one place that knows
//! the model's choice type.

use phone_jpki_model::check::{CheckReport, Verdict};
pub use phone_jpki_model::Variant as Choice;
use phone_jpki_model::{Config, Policy, Variant};
use std::collections::BTreeSet;

/// Every fault variant, in matrix order (the seeds' alternatives, ALT-RESET's local wipe
/// among them, are `crate::alternatives`').
pub fn all() -> Vec<Choice> {
    Variant::ALL
        .into_iter()
        .filter(|&v| !phone_jpki_model::policy::is_alternative(v))
        .collect()
}

/// A choice by its CLI name.
pub fn from_name(name: &str) -> Option<Choice> {
    Variant::from_name(name)
}

/// The choice's kind: `fault` (a variant meant to break a property) or an ALT-* id.
pub fn kind(_: Choice) -> &'static str {
    "fault"
}

/// `base` with the choice applied.
pub fn with(base: &Config, c: Choice) -> Config {
    base.clone().with_variant(c)
}

/// The choices, faults and alternatives, whose switch is set in `p` (`--policy` names): the
/// fewest, in `--policy list` order, that together give `p` (`keygen-at-jlis` has the same
/// effect as `keygen-at-tsm` in the model, so only the first is named).
pub fn policy_names(p: &Policy) -> Vec<&'static str> {
    let mut acc = Policy::default();
    let mut names = Vec::new();
    for c in phone_jpki_model::policy::Choice::all() {
        let (mut on_p, mut on_acc) = (*p, acc);
        c.apply(&mut on_p);
        c.apply(&mut on_acc);
        if on_p == *p && on_acc != acc {
            acc = on_acc;
            names.push(c.name());
        }
    }
    names
}

/// What the variant changes against the seeds' design, in a sentence.
pub fn sentence(v: Choice) -> &'static str {
    match v {
        Variant::DeleteWhateverIsThere => {
            "A deletion push deletes whatever credential sits in the slot, not only the revoked serial it was sent for."
        }
        Variant::NoCarelessHandover => {
            "Every user follows the hand-over and disposal procedure; nobody passes a phone on carelessly."
        }
        Variant::RpIgnoresSuspension => {
            "Relying parties accept suspended certificates (they check revocation only)."
        }
        Variant::ResetKeepsSe => "A factory reset leaves the JPKI data in the SE.",
        Variant::ReissueWhileLive => {
            "The SP-TSM reissues on a phone even while that phone's current cert is still live."
        }
        Variant::NoLinkedRevocation => {
            "Revoking or renewing the card signing cert leaves the linked phone certs live."
        }
        Variant::ModelChangeKeepsOld => {
            "Issuing on a new phone leaves the person's cert on the old phone live."
        }
        Variant::PushToRequester => {
            "The deletion push goes to the phone that asked for the revocation, not the phone holding the cert."
        }
        Variant::CaTrustsApplication => {
            "The CA checks the card cert only at application, not again when it issues."
        }
        Variant::KeygenAtTsm => {
            "Key pairs are generated at the TSM and injected into the SE."
        }
        Variant::TemporaryPinShown => {
            "The temporary PIN is shown to the user and works for services."
        }
        Variant::NoStatusSync => {
            "The app does not ask its certs' status when it comes online: only pushes delete."
        }
        Variant::ResetLocalWipe => {
            "ALT-RESET: a factory reset wipes the SE's JPKI data locally, online or not."
        }
        Variant::OfflineProcedure => {
            "The hand-over procedure runs offline too, doing only what needs no network."
        }
        Variant::RevocationKeepsApplet => {
            "Revocation deletes the credential but keeps the applet."
        }
        Variant::PushNeedsWrittenCert => {
            "A deletion push deletes only a written cert of its serial, not a key certified as it."
        }
        Variant::NoCertExpiry => "Phone certificates never expire.",
        Variant::ReissueBlockedByRevoked => {
            "The SP-TSM reads the validity period instead of the status: a revoked certificate blocks a reissue on its phone until it would have expired."
        }
    }
}

/// The property IDs the given variants are meant to break (a RISK-* "break" is the risk
/// becoming unreachable).
pub fn expected(variants: &[Choice]) -> BTreeSet<String> {
    variants.iter().map(|v| v.breaks().to_string()).collect()
}

/// The property IDs that did not get their expected verdict in a complete run: invariants
/// broken, scenarios and risks unreached.
pub fn broken(r: &CheckReport) -> BTreeSet<String> {
    r.properties
        .iter()
        .filter(|p| matches!(p.verdict(r.complete), Verdict::Broken | Verdict::Unreached))
        .map(|p| p.name.split(':').next().unwrap_or(&p.name).to_string())
        .collect()
}

/// `--policy list`: one line per variant.
pub fn list() -> String {
    let mut out = String::new();
    for v in all() {
        out += &format!(
            "{:26} {}\n{:26} {}, meant to break {}\n",
            v.name(),
            sentence(v),
            "",
            kind(v),
            v.breaks()
        );
    }
    out
}
