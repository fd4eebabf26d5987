//! Policy choices, as data: the fault variants (the model's self-test: each toggles one
//! requirement off and must break the property that requirement protects) and the seeds'
//! design alternatives (ALT-* of `shared/DOMAIN.md`: designs the study group weighs, each with
//! the properties it is expected to break and the risks it is expected to open or close).
//! `phone-jpki check --policy list` and `matrix` read this module; `model/tests/verdicts.rs`
//! checks every stated expectation against the checker's verdicts.

use crate::config::{Policy, Variant};
use serde::{Deserialize, Serialize};

/// ALT-STORAGE: where the applet and its keys live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// The embedded GP-SE (004, the default).
    Se,
    /// A detachable SIM/UICC (001, 002 Android): it can be moved to another phone
    /// (THREAT-SIM-SWAP).
    Sim,
}

/// ALT-UNLOCK: what unlocks the auth credential for a use through the app.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unlock {
    /// The PIN only (the default, as on the card).
    Pin,
    /// The phone's biometrics too: any finger enrolled on the phone unlocks.
    AnyFinger,
    /// The phone's biometrics too, but enrolling a new finger invalidates the biometric key.
    InvalidateOnEnrol,
}

/// ALT-REVOKE-AUTH: what a revocation from the phone (R-REVOKE (a)) must show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevokeAuth {
    /// The credential's PIN: only someone who knows it revokes (the default; the phone's
    /// signature with the signing password is the same in this model).
    Pin,
    /// Nothing beyond holding the phone with the app.
    Nothing,
    /// The card signature of the credential's owner (000 §3(3)).
    Card,
}

/// ALT-PROOFING: how identity is proven for an issuance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Proofing {
    /// The card signature online (the default, R-ISSUE).
    Card,
    /// An access code mailed by 本人限定受取郵便, which a co-resident may receive.
    MailedCode,
}

/// ALT-LINK: which card cert the phone certs are linked to (R-LINK).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Link {
    /// Both kinds to the card signing cert (the project's decision, the default).
    CardSigning,
    /// Each kind to the card cert of its own kind: revoking the card signing cert (an
    /// address change) leaves the phone auth cert live.
    PerKind,
}

/// A seeds' design alternative: one non-default answer to an ALT-* question.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    StorageSim,
    UnlockAnyFinger,
    UnlockInvalidateOnEnrol,
    RevokeAuthNothing,
    RevokeAuthCard,
    AppletChecksStatus,
    NoSuspension,
    ProofingMailedCode,
    KeygenAtJlis,
    LinkPerKind,
    ResetLocalWipe,
}

/// What a policy choice is expected to do to the verdicts, by property ID.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Expected {
    /// `always` properties (INV-*, and risks the default design closes) it breaks.
    pub breaks: Vec<&'static str>,
    /// `sometimes` properties (threats and risks) it makes reachable that the default
    /// design does not offer at all.
    pub opens: Vec<&'static str>,
    /// `sometimes` properties (risks, scenarios) reachable by default that it closes.
    pub closes: Vec<&'static str>,
}

impl Alternative {
    /// Every alternative, in matrix order.
    pub const ALL: [Alternative; 11] = [
        Alternative::StorageSim,
        Alternative::UnlockAnyFinger,
        Alternative::UnlockInvalidateOnEnrol,
        Alternative::RevokeAuthNothing,
        Alternative::RevokeAuthCard,
        Alternative::AppletChecksStatus,
        Alternative::NoSuspension,
        Alternative::ProofingMailedCode,
        Alternative::KeygenAtJlis,
        Alternative::LinkPerKind,
        Alternative::ResetLocalWipe,
    ];

    /// The CLI name (`--policy NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Alternative::StorageSim => "storage-sim",
            Alternative::UnlockAnyFinger => "unlock-any-finger",
            Alternative::UnlockInvalidateOnEnrol => "unlock-invalidate-on-enrol",
            Alternative::RevokeAuthNothing => "revoke-auth-nothing",
            Alternative::RevokeAuthCard => "revoke-auth-card",
            Alternative::AppletChecksStatus => "applet-checks-status",
            Alternative::NoSuspension => "no-suspension",
            Alternative::ProofingMailedCode => "proofing-mailed-code",
            Alternative::KeygenAtJlis => "keygen-at-jlis",
            Alternative::LinkPerKind => "link-per-kind",
            Alternative::ResetLocalWipe => Variant::ResetLocalWipe.name(),
        }
    }

    /// The ALT-* question of DOMAIN.md it answers.
    pub fn alt_id(self) -> &'static str {
        match self {
            Alternative::StorageSim => "ALT-STORAGE",
            Alternative::UnlockAnyFinger | Alternative::UnlockInvalidateOnEnrol => "ALT-UNLOCK",
            Alternative::RevokeAuthNothing | Alternative::RevokeAuthCard => "ALT-REVOKE-AUTH",
            Alternative::AppletChecksStatus => "ALT-APPLET-STATUS",
            Alternative::NoSuspension => "ALT-SUSPEND",
            Alternative::ProofingMailedCode => "ALT-PROOFING",
            Alternative::KeygenAtJlis => "ALT-KEYGEN",
            Alternative::LinkPerKind => "ALT-LINK",
            Alternative::ResetLocalWipe => "ALT-RESET",
        }
    }

    /// One sentence: what the alternative is and what it does in the model.
    pub fn sentence(self) -> &'static str {
        match self {
            Alternative::StorageSim => "The applet lives on a detachable SIM (001, 002): a finder or buyer moves the SIM into a phone of their own with the genuine app, past the found phone's screen lock, where only the PIN still protects it (THREAT-SIM-SWAP).",
            Alternative::UnlockAnyFinger => "Any finger enrolled on the phone unlocks the auth credential (004 生体認証): a buyer who enrols a finger logs in as the seller.",
            Alternative::UnlockInvalidateOnEnrol => "Biometrics unlock the auth credential, but enrolling a new finger invalidates the biometric key: a new holder's finger unlocks nothing.",
            Alternative::RevokeAuthNothing => "A revocation from the phone needs nothing beyond holding the phone with the app: a finder or buyer can revoke the owner's credential.",
            Alternative::RevokeAuthCard => "A revocation from the phone needs the owner's card signature (000 §3(3)): nobody else can revoke, and neither can the owner once their card cert has ended.",
            Alternative::AppletChecksStatus => "The phone refuses to sign unless the app, online, has just seen the cert active (004 基本方針4): no signature is made offline or over a card reader, so a leftover revoked key signs nothing.",
            Alternative::NoSuspension => "No call-center suspension (R-SUSPEND is 継続検討中): a mislaid phone can only be revoked, and nothing is ever resumed.",
            Alternative::ProofingMailedCode => "Identity proven by an access code mailed by 本人限定受取郵便 (001, 002): a co-resident who receives it gets the person's phone cert on their own phone, with a PIN they set.",
            Alternative::KeygenAtJlis => "The key pair is generated at J-LIS and sent over the network to the SE (001 ネットワーク経由による格納): a private key exists outside every SE.",
            Alternative::LinkPerKind => "Each phone cert kind is linked to the card cert of its own kind: revoking the card signing cert (an address change) leaves the phone auth cert live.",
            Alternative::ResetLocalWipe => "A factory reset wipes the SE's JPKI data locally through the OS, online or not, instead of asking the server (004 課題2 対策): an offline reset deletes too.",
        }
    }

    /// Its expected effects on the verdicts.
    pub fn expected(self) -> Expected {
        match self {
            Alternative::StorageSim => Expected {
                opens: vec!["THREAT-SIM-SWAP", "ACT-SimSwap"],
                ..Expected::default()
            },
            Alternative::UnlockAnyFinger => Expected {
                breaks: vec!["INV-NO-FOREIGN-USE"],
                opens: vec![
                    "THREAT-BUYER-BIOMETRIC",
                    "ACT-EnrollFinger",
                    "ACT-BiometricUse",
                ],
                ..Expected::default()
            },
            Alternative::UnlockInvalidateOnEnrol => Expected {
                opens: vec![
                    "THREAT-BUYER-BIOMETRIC",
                    "ACT-EnrollFinger",
                    "ACT-BiometricUse",
                ],
                ..Expected::default()
            },
            Alternative::RevokeAuthNothing => Expected {
                breaks: vec!["RISK-REVOKE-BY-OTHER"],
                ..Expected::default()
            },
            Alternative::RevokeAuthCard => Expected::default(),
            Alternative::AppletChecksStatus => Expected {
                closes: vec!["RISK-2-OFFLINE-SIGN"],
                ..Expected::default()
            },
            Alternative::NoSuspension => Expected {
                closes: vec!["SCN-RESUME-AFTER-SUSPEND", "ACT-Suspend", "ACT-Resume"],
                ..Expected::default()
            },
            Alternative::ProofingMailedCode => Expected {
                // A cert the co-resident later obtains for the person on a phone the person
                // handed over is a new issuance, not a leftover: INV-DELETE-ON-TRANSFER (what
                // the procedure leaves on the phone) holds.
                breaks: vec!["INV-ISSUE-AUTH", "INV-NO-FOREIGN-USE"],
                opens: vec!["ACT-ApplyWithCode"],
                ..Expected::default()
            },
            Alternative::KeygenAtJlis => Expected {
                breaks: vec!["INV-KEY-IN-SE"],
                ..Expected::default()
            },
            Alternative::LinkPerKind => Expected {
                breaks: vec!["INV-LINK"],
                ..Expected::default()
            },
            // It closes RISK-RESET-OFFLINE, which needs two detours (offline, then the reset)
            // and so is decided in `deep`, not in the reference world these expectations
            // are measured in (model/tests/verdicts_threats.rs).
            Alternative::ResetLocalWipe => Expected::default(),
        }
    }

    /// Apply this alternative to a policy.
    pub fn apply(self, p: &mut Policy) {
        match self {
            Alternative::StorageSim => p.storage = Storage::Sim,
            Alternative::UnlockAnyFinger => p.unlock = Unlock::AnyFinger,
            Alternative::UnlockInvalidateOnEnrol => p.unlock = Unlock::InvalidateOnEnrol,
            Alternative::RevokeAuthNothing => p.revoke_auth = RevokeAuth::Nothing,
            Alternative::RevokeAuthCard => p.revoke_auth = RevokeAuth::Card,
            Alternative::AppletChecksStatus => p.applet_checks_status = true,
            Alternative::NoSuspension => p.suspension = false,
            Alternative::ProofingMailedCode => p.proofing = Proofing::MailedCode,
            Alternative::KeygenAtJlis => p.keygen_in_se = false,
            Alternative::LinkPerKind => p.link = Link::PerKind,
            Alternative::ResetLocalWipe => Variant::ResetLocalWipe.apply(p),
        }
    }
}

/// Whether a policy choice is a fault variant or a seeds' alternative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// Toggles a requirement off: the model's self-test.
    Fault,
    /// A design the seeds weigh, answering this ALT-* question.
    Alternative(&'static str),
}

/// One non-default policy choice: `--policy NAME`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Choice {
    Fault(Variant),
    Alternative(Alternative),
}

impl Choice {
    /// Every choice: the fault variants, then the alternatives (ALT-RESET's local wipe is
    /// listed among the latter only).
    pub fn all() -> Vec<Choice> {
        Variant::ALL
            .into_iter()
            .filter(|&v| !is_alternative(v))
            .map(Choice::Fault)
            .chain(Alternative::ALL.into_iter().map(Choice::Alternative))
            .collect()
    }

    pub fn name(self) -> &'static str {
        match self {
            Choice::Fault(v) => v.name(),
            Choice::Alternative(a) => a.name(),
        }
    }

    /// Parse a CLI name.
    pub fn from_name(name: &str) -> Option<Choice> {
        Choice::all().into_iter().find(|c| c.name() == name)
    }

    pub fn kind(self) -> PolicyKind {
        match self {
            Choice::Fault(_) => PolicyKind::Fault,
            Choice::Alternative(a) => PolicyKind::Alternative(a.alt_id()),
        }
    }

    /// One sentence: what the choice is. A fault variant says which requirement it toggles
    /// off.
    pub fn sentence(self) -> String {
        match self {
            Choice::Fault(v) => format!(
                "Fault variant: toggles {} off; expected to break {}.",
                fault_requirement(v),
                v.breaks()
            ),
            Choice::Alternative(a) => a.sentence().to_string(),
        }
    }

    pub fn expected(self) -> Expected {
        match self {
            // A fault variant that makes a risk unreachable closes it; the others break the
            // invariant their requirement protects.
            Choice::Fault(v) if v.breaks().starts_with("RISK") => Expected {
                closes: vec![v.breaks()],
                ..Expected::default()
            },
            Choice::Fault(v) => Expected {
                breaks: vec![v.breaks()],
                ..Expected::default()
            },
            Choice::Alternative(a) => a.expected(),
        }
    }

    pub fn apply(self, p: &mut Policy) {
        match self {
            Choice::Fault(v) => v.apply(p),
            Choice::Alternative(a) => a.apply(p),
        }
    }
}

/// A [`Variant`] that is one of the seeds' alternatives rather than a fault.
pub fn is_alternative(v: Variant) -> bool {
    v == Variant::ResetLocalWipe
}

/// The requirement a fault variant toggles off.
fn fault_requirement(v: Variant) -> &'static str {
    match v {
        Variant::DeleteWhateverIsThere => "R-DELETE's serial match",
        Variant::NoCarelessHandover => "careless users (課題1)",
        Variant::RpIgnoresSuspension => "R-SUSPEND at the relying party",
        Variant::ResetKeepsSe => "R-RESET",
        Variant::ReissueWhileLive => "R-REISSUE's status check",
        Variant::NoLinkedRevocation => "R-LINK",
        Variant::ModelChangeKeepsOld => "R-MODEL-CHANGE",
        Variant::PushToRequester => "R-TOKEN",
        Variant::CaTrustsApplication => "R-ISSUE's re-check at the CA",
        Variant::KeygenAtTsm => "R-KEYGEN",
        Variant::TemporaryPinShown => "R-PIN-SETUP's secret temporary PIN",
        Variant::NoStatusSync => "the app's status sync (a project decision)",
        Variant::ResetLocalWipe => "R-RESET's deletion through the server",
        Variant::OfflineProcedure => "the procedure's need for the network",
        Variant::RevocationKeepsApplet => "the applet's deletion on revocation",
        Variant::PushNeedsWrittenCert => "R-DELETE of a certified key not yet written",
        Variant::NoCertExpiry => "phone cert expiry (更新)",
        Variant::ReissueBlockedByRevoked => {
            "R-REISSUE's reading of the status (not the validity period)"
        }
    }
}

/// A property verdict that differs from the default design's, by property ID, with the
/// length of its shortest counterexample or example when there is one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// `always` properties that hold by default and are broken here.
    pub breaks: Vec<(String, Option<usize>)>,
    /// `sometimes` properties reached here and not by default (or not offered by default).
    pub opens: Vec<(String, Option<usize>)>,
    /// `sometimes` properties reached by default and not here.
    pub closes: Vec<String>,
}

impl Measured {
    /// Whether the measured effects are exactly the expected ones (by ID).
    pub fn matches(&self, e: &Expected) -> bool {
        let ids = |v: &[(String, Option<usize>)]| {
            let mut x: Vec<String> = v.iter().map(|(i, _)| i.clone()).collect();
            x.sort();
            x
        };
        let sorted = |v: &[&str]| {
            let mut x: Vec<String> = v.iter().map(|s| s.to_string()).collect();
            x.sort();
            x
        };
        let mut closes = self.closes.clone();
        closes.sort();
        ids(&self.breaks) == sorted(&e.breaks)
            && ids(&self.opens) == sorted(&e.opens)
            && closes == sorted(&e.closes)
    }
}

/// Compare a policy's check with the default design's, property by property (by ID).
pub fn measure(default: &crate::check::CheckReport, other: &crate::check::CheckReport) -> Measured {
    use crate::properties::Expectation;
    let mut m = Measured::default();
    let id = |n: &str| n.split(':').next().unwrap_or(n).to_string();
    for p in &other.properties {
        let d = default.property(&id(&p.name));
        let len = p.path.as_ref().map(Vec::len);
        match p.expectation {
            Expectation::Always if !p.holds && d.is_none_or(|d| d.holds) => {
                m.breaks.push((id(&p.name), len))
            }
            Expectation::Sometimes if p.holds && d.is_none_or(|d| !d.holds) => {
                m.opens.push((id(&p.name), len))
            }
            _ => {}
        }
    }
    for d in &default.properties {
        if d.expectation == Expectation::Sometimes && d.holds {
            let o = other.property(&id(&d.name));
            if o.is_none_or(|o| !o.holds) {
                m.closes.push(id(&d.name));
            }
        }
    }
    m
}
