//! What each policy variant changes, in a sentence, and what a check of it is expected to
//! show: the CLI's `--policy list`, `check --policy`'s verdict, `matrix` and the report.

use phone_jpki_model::check::{CheckReport, Verdict};
use phone_jpki_model::Variant;
use std::collections::BTreeSet;

/// What the variant changes against the seeds' design, in a sentence.
pub fn sentence(v: Variant) -> &'static str {
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
            "The app does not ask its certs' status when it comes online or is installed."
        }
        Variant::ResetLocalWipe => {
            "ALT-RESET: a factory reset wipes the SE locally, online or not, instead of asking the server."
        }
        Variant::OfflineProcedure => {
            "The hand-over procedure runs offline too, and then only resets the phone."
        }
        Variant::RevocationKeepsApplet => {
            "A revocation or deletion leaves the empty applet installed."
        }
        Variant::PushNeedsWrittenCert => {
            "A deletion push deletes only a written cert of its serial, not a certified key."
        }
        Variant::NoCertExpiry => "Phone certs never expire.",
    }
}

/// The property IDs the given variants are meant to break (a RISK-* "break" is the risk
/// becoming unreachable).
pub fn expected(variants: &[Variant]) -> BTreeSet<String> {
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
    for v in Variant::ALL {
        out += &format!(
            "{:26} {}\n{:26} meant to break {}\n",
            v.name(),
            sentence(v),
            "",
            v.breaks()
        );
    }
    out
}
