//! The semantics in prose, kept next to the rules: for every action kind when it is offered,
//! what it does, why it can be refused and its R-IDs; for every property its ID. The text of
//! `docs/SEMANTICS.md` is [`markdown`]; `model/tests/trace.rs` checks the committed file is
//! current and that each action's refusal list is exactly the refusals the rules produce in
//! the checked worlds (R-IDs as in `shared/DOMAIN.md`).

use crate::action::{ActionKind, Refusal};
use crate::properties::{self, Condition, Expectation};
use crate::Config;

/// One action kind, described.
#[derive(Clone, Copy, Debug)]
pub struct ActionDoc {
    /// The action with its arguments, as written in traces.
    pub signature: &'static str,
    /// When the model offers it (the precondition).
    pub pre: &'static str,
    /// What it does when accepted.
    pub effect: &'static str,
    /// Why it can be refused, in the order the rules check (every refusal the rules can
    /// produce for it in some reachable state).
    pub refusals: &'static [Refusal],
    /// Its requirement IDs ([`ActionKind::requirements`]).
    pub rids: &'static [&'static str],
}

/// The description of an action kind.
pub fn describe(k: ActionKind) -> ActionDoc {
    use ActionKind as A;
    use Refusal as R;
    let (signature, pre, effect, refusals): (_, _, _, &'static [Refusal]) = match k {
        A::GoOffline => (
            "GoOffline(phone)",
            "the phone has had the app, is held by someone and not broken, and is online",
            "the phone loses the network; no certificate changes (R-CONTINUE)",
            &[],
        ),
        A::GoOnline => (
            "GoOnline(phone)",
            "as GoOffline, and the phone is offline",
            "the phone is online again; with the app and applet, the app asks the status of the certs in its slots and deletes the ended ones, and the applet with its last key (R-DELETE; the status sync is a project decision, policy `app_status_sync`)",
            &[],
        ),
        A::Lose => (
            "Lose(phone)",
            "the phone has had the app, is in the hand of a person",
            "the phone is mislaid; an issuance session on it ends",
            &[],
        ),
        A::Find => ("Find(phone)", "the phone is lost", "the phone is in hand again", &[]),
        A::Break => (
            "Break(phone)",
            "as Lose",
            "the phone is broken for good: offline, its session ends; only disposal is offered on it afterwards",
            &[],
        ),
        A::InstallApp => (
            "InstallApp(phone)",
            "the phone is in the hand of a person, without the app, and app installations are left",
            "the app is downloaded from the store and installed with a new push token (phase 1), both over the network; it syncs the slots' statuses as GoOnline does",
            &[R::PhoneOffline],
        ),
        A::UninstallApp => (
            "UninstallApp(phone)",
            "the phone is in the hand of a person and has the app",
            "the app and its push token are gone, its session ends; the SE keeps the applet and its credentials (004 課題2)",
            &[],
        ),
        A::InstallApplet => (
            "InstallApplet(phone)",
            "the phone is in the hand of a person, has the app and not the applet",
            "the SEI-TSM installs the applet, the access rule admits the genuine app only (phase 2)",
            &[R::PhoneOffline],
        ),
        A::CardRenew => (
            "CardRenew(person)",
            "card generations are left",
            "a new card signing cert generation, valid; the phone certs linked to the previous one are revoked (Linked), with a deletion push to each holding phone that has had the app",
            &[],
        ),
        A::CardRevoke => (
            "CardRevoke(person)",
            "the person's card signing cert is valid",
            "it is revoked; the linked phone certs are revoked with deletion pushes (R-LINK)",
            &[],
        ),
        A::CardExpire => (
            "CardExpire(person)",
            "the person's card signing cert is valid",
            "it expires; the linked phone certs are revoked with deletion pushes (R-LINK)",
            &[],
        ),
        A::Use => (
            "Use(phone, kind, pin)",
            "the phone is operable (in hand, not disposed of), has the app and a cert in the slot; `right` only when the holder owns that cert",
            "a login or signature accepted by the relying party; under ALT-APPLET-STATUS a use of the signing key asks the SP-TSM's grant before the PIN, refused CertRevoked unless the cert is active",
            &[
                R::PhoneOffline,
                R::PinBlocked,
                R::TemporaryPin,
                R::WrongPin,
                R::CertRevoked,
                R::CertExpired,
                R::CertSuspended,
            ],
        ),
        A::ChangePin => (
            "ChangePin(phone, kind, pin)",
            "as Use, and the phone is held by a person",
            "after the current user PIN is verified, a new user PIN with full tries (on the phone alone)",
            &[R::PinBlocked, R::TemporaryPin, R::WrongPin],
        ),
        A::InitPin => (
            "InitPin(phone, kind)",
            "the phone is held by a person, operable, has the app and a cert in the slot",
            "with the holder's card signature, the PIN is set anew with full tries (unblocks)",
            &[
                R::PhoneOffline,
                R::CardNotValid,
                R::NotCredentialOwner,
                R::CertRevoked,
                R::CertExpired,
            ],
        ),
        A::Suspend => (
            "Suspend(person, kind)",
            "the person has a live cert of that kind",
            "the call center suspends it (一時保留)",
            &[R::AlreadySuspended],
        ),
        A::Resume => (
            "Resume(phone, kind, pin)",
            "as ChangePin",
            "the suspended cert in the slot is active again, after the user PIN is verified (the status is checked first: no PIN try is spent on a cert that is not suspended)",
            &[
                R::PhoneOffline,
                R::CertRevoked,
                R::CertExpired,
                R::NotSuspended,
                R::PinBlocked,
                R::TemporaryPin,
                R::WrongPin,
            ],
        ),
        A::Apply => (
            "Apply(phone, kind)",
            "the phone is held by a person, operable, has the app, no session, the world's session and cert budgets are not spent, and the person's issuances of that kind are left",
            "an issuance session starts on the holder's card signature (step Applied)",
            &[
                R::PhoneOffline,
                R::NoApplet,
                R::CardNotValid,
                R::ReissueWhileLive,
            ],
        ),
        A::GenerateKey => (
            "GenerateKey(phone)",
            "the phone's session is at Applied",
            "the SP-TSM has a key pair generated in the SE slot of the session's kind over SCP03 (replacing what was there)",
            &[R::PhoneOffline, R::NoApplet],
        ),
        A::CaIssue => (
            "CaIssue(phone)",
            "the phone's session is at KeyGenerated",
            "J-LIS issues the cert (the next serial), re-checking the card cert that signed; the key the session generated, if still in the slot, is now certified as that serial; the person's live cert of that kind on another phone is revoked (ModelChange) with a deletion push",
            &[R::PhoneOffline, R::CardNotValid],
        ),
        A::WriteCert => (
            "WriteCert(phone)",
            "the phone's session is at Issued",
            "the cert and a temporary PIN are written into the slot over SCP03 (phase 3), when the slot still holds the key certified as that serial (a deletion push for it, after a revocation with the card, takes it away: KeyMissing)",
            &[R::PhoneOffline, R::KeyMissing, R::CertRevoked, R::CertExpired],
        ),
        A::SetUserPin => (
            "SetUserPin(phone)",
            "the phone's session is at CertWritten",
            "the user PIN is set with full tries, the cert is usable (phase 4); the session ends",
            &[R::CardNotValid, R::KeyMissing],
        ),
        A::AbandonIssuance => (
            "AbandonIssuance(phone)",
            "the phone has a session",
            "the session ends, whatever its step; a cert already issued stays live with its key in the slot (decision: the person revokes it with the card before a reissue on that phone, INV-NO-DEAD-END shows the way)",
            &[],
        ),
        A::RevokeFromPhone => (
            "RevokeFromPhone(phone, kind)",
            "as InitPin",
            "proven as ALT-REVOKE-AUTH asks: under `pin` (the default) the applet checks the PIN the holder can enter (right if they know it: a wrong entry counts down, a blocked or temporary PIN proves nothing; under `card` only the owner with a valid card revokes); then the cert in the slot is revoked (FromPhone) if live, and deleted from the slot; the applet goes with its last key (失効時にアプレットの削除)",
            &[
                R::PhoneOffline,
                R::WrongPin,
                R::PinBlocked,
                R::TemporaryPin,
            ],
        ),
        A::RevokeWithCard => (
            "RevokeWithCard(person, kind)",
            "the person has a live cert of that kind",
            "revoked (WithCard) from another device with the card signature; a deletion push goes to the token of the phone holding it",
            &[],
        ),
        A::DeliverPush => (
            "DeliverPush(serial)",
            "a push for that serial is pending and its phone is online with the app installation the token belongs to",
            "the push is consumed; the app deletes the key certified as that serial if the slot still holds it, cert written or not, and the applet with its last key",
            &[],
        ),
        A::DropPush => (
            "DropPush(serial)",
            "a push for that serial is pending (deliverable or not)",
            "the push is lost: offline, app removed, notifications refused or other reasons (004 課題2)",
            &[],
        ),
        A::CertExpire => (
            "CertExpire(serial)",
            "the phone cert is live (active or suspended)",
            "its validity period ends (Expired); no push is sent, the app deletes it at its next status sync; 更新 is a reissue (Apply is no longer refused with ReissueWhileLive)",
            &[],
        ),
        A::FactoryReset => (
            "FactoryReset(phone)",
            "the phone is operable",
            "the app (and token) goes, its session ends; the phone asks the server to delete the SE's JPKI data, so it is deleted only while online (R-RESET, ALT-RESET default; `reset-local-wipe` wipes offline too)",
            &[],
        ),
        A::HandOver => (
            "HandOver(phone, to, procedure)",
            "the phone has had the app, is operable and held by a person, and hand-overs are left; `to` is another person or `stranger`; `procedure: false` only if careless users exist",
            "with the procedure: the holder's live certs bound to the phone (written or not) are revoked (FromPhone) and the applet deleted, then a factory reset; the procedure needs the network and the app, and each revocation the proof ALT-REVOKE-AUTH asks (under `pin` a user PIN in the cert's slot: a blocked or temporary PIN, or a cert never written, stops it), refused otherwise before anything is done, not halfway; the phone goes to `to`, its session ends",
            &[
                R::PhoneOffline,
                R::NoApp,
                R::PinBlocked,
                R::TemporaryPin,
                R::NoCredential,
            ],
        ),
        A::Dispose => (
            "Dispose(phone, procedure)",
            "the phone has had the app and is held by a person (operable or broken)",
            "as HandOver's procedure (a broken phone is offline: only without it); then nobody holds it and it is offline",
            &[
                R::PhoneOffline,
                R::NoApp,
                R::PinBlocked,
                R::TemporaryPin,
                R::NoCredential,
            ],
        ),
        threat => crate::threats_doc::describe(threat),
    };
    ActionDoc {
        signature,
        pre,
        effect,
        refusals,
        rids: k.requirements(),
    }
}

/// `docs/SEMANTICS.md`.
pub fn markdown() -> String {
    let mut s = String::from(
        "# Semantics of the model\n\n\
Generated from `model/src/semantics.rs` and `model/src/properties.rs` (regenerate with \
`UPDATE_SEMANTICS=1 cargo test -p phone-jpki-model --test trace`); a test keeps this file \
current and checks every refusal list against the rules. IDs refer to `shared/DOMAIN.md`; \
the alphabet is `docs/ALPHABET.md`, traces are `docs/trace.schema.json`.\n\n\
An action is *offered* when its precondition holds and the world's budgets allow it (see \
ALPHABET.md: detours, certs and sessions in the world); an offered action is accepted or \
refused. A refused action changes nothing, except that a wrong PIN counts down and blocks at \
zero (R-PIN-RETRY). Refusals are checked in the order listed.\n\n## Actions\n\n",
    );
    for k in ActionKind::ALL {
        let d = describe(k);
        s.push_str(&format!("### `{}`\n\n", d.signature));
        s.push_str(&format!("- **Offered when**: {}.\n", d.pre));
        s.push_str(&format!("- **Effect**: {}.\n", d.effect));
        let r: Vec<String> = d.refusals.iter().map(|r| format!("`{r}`")).collect();
        s.push_str(&format!(
            "- **Refusals**: {}.\n",
            if r.is_empty() {
                "never refused when offered".to_string()
            } else {
                r.join(", ")
            }
        ));
        s.push_str(&format!("- **IDs**: {}.\n\n", d.rids.join(", ")));
    }
    s.push_str("## Refusals\n\n| refusal | meaning | refused actions |\n|---|---|---|\n");
    for r in ALL_REFUSALS {
        let by: Vec<&str> = ActionKind::ALL
            .iter()
            .filter(|k| describe(**k).refusals.contains(&r))
            .map(|k| k.name())
            .collect();
        s.push_str(&format!(
            "| `{r}` | {} | {} |\n",
            refusal_meaning(r),
            if by.is_empty() {
                "none: a guard the offered actions never reach".to_string()
            } else {
                by.join(", ")
            }
        ));
    }
    s.push_str("\n## Properties\n\n| ID | expectation | kind | statement |\n|---|---|---|---|\n");
    for p in properties::for_config(&Config::reference()) {
        let kind = match p.condition {
            Condition::State(_) => "state",
            Condition::Step(_) => "step",
            Condition::NoDeadEnd => "graph",
            Condition::Action(_) => "action",
        };
        let exp = match p.expectation {
            Expectation::Always => "always",
            Expectation::Sometimes => "sometimes",
        };
        let text = p.name.split_once(": ").map_or("", |x| x.1);
        s.push_str(&format!("| {} | {exp} | {kind} | {text} |\n", p.id()));
    }
    s.push_str(
        "\nListed only under a design alternative (`--policy NAME`; below, the first alternative that lists it): its own actions and threats, and its own promises.\n\n\
         | ID | alternative | statement |\n|---|---|---|\n",
    );
    let mut seen: std::collections::BTreeSet<String> = properties::for_config(&Config::reference())
        .iter()
        .map(|p| p.id().to_string())
        .collect();
    for a in crate::policy::Alternative::ALL {
        let c = Config::reference().with_choice(crate::policy::Choice::Alternative(a));
        for p in properties::for_config(&c) {
            if seen.insert(p.id().to_string()) {
                let text = p.name.split_once(": ").map_or("", |x| x.1);
                s.push_str(&format!("| {} | {} | {text} |\n", p.id(), a.name()));
            }
        }
    }
    s
}

/// Every refusal, in declaration order.
pub const ALL_REFUSALS: [Refusal; 22] = [
    Refusal::PhoneOffline,
    Refusal::NoApp,
    Refusal::NoApplet,
    Refusal::AppletAlreadyInstalled,
    Refusal::SessionInProgress,
    Refusal::CardNotValid,
    Refusal::ReissueWhileLive,
    Refusal::KeyMissing,
    Refusal::NoCredential,
    Refusal::NotCredentialOwner,
    Refusal::NoLiveCert,
    Refusal::AlreadySuspended,
    Refusal::NotSuspended,
    Refusal::WrongPin,
    Refusal::PinBlocked,
    Refusal::TemporaryPin,
    Refusal::CertRevoked,
    Refusal::CertSuspended,
    Refusal::CertExpired,
    Refusal::Undeliverable,
    Refusal::StatusUnknown,
    Refusal::BiometricInvalidated,
];

fn refusal_meaning(r: Refusal) -> &'static str {
    use Refusal::*;
    match r {
        PhoneOffline => "the operation needs the network and the phone is offline",
        NoApp => "the JPKI app is not installed",
        NoApplet => "the JPKI applet is not installed in the SE",
        AppletAlreadyInstalled => "the applet is already installed",
        SessionInProgress => "an issuance session is already in progress on the phone",
        CardNotValid => "the card signing cert is revoked, expired or superseded",
        ReissueWhileLive => "R-REISSUE: the person's cert of this kind on this phone is live",
        KeyMissing => "the slot no longer holds the key this step needs",
        NoCredential => "the slot holds no certificate",
        NotCredentialOwner => "the operator does not own the credential",
        NoLiveCert => "no live cert of this person and kind",
        AlreadySuspended => "the cert is already suspended",
        NotSuspended => "the cert is not suspended",
        WrongPin => "the PIN was wrong (the counter went down; it may have blocked)",
        PinBlocked => "the PIN is blocked; only InitPin helps",
        TemporaryPin => "only the temporary PIN is set",
        CertRevoked => "the cert is revoked",
        CertSuspended => "the relying party found the cert suspended",
        CertExpired => "the cert's validity period has ended",
        Undeliverable => "the push cannot reach its token",
        StatusUnknown => {
            "ALT-APPLET-STATUS: the phone signs only after the app, online, saw the cert active"
        }
        BiometricInvalidated => "ALT-UNLOCK: a finger enrolled since invalidated the biometric key",
    }
}
