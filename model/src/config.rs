//! Configuration: the size of the world, the bounds that keep it finite, and the policies for
//! the design questions the seeds leave open.

use crate::ids::{Kind, PersonId, PhoneId};
use crate::policy::{Link, Proofing, RevokeAuth, Storage, Unlock};
use serde::{Deserialize, Serialize};

/// Answers to the open design questions. [`Policy::default`] is the seeds' design; each other
/// value is a variant the study group may weigh, and breaks the property named on its field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Policy {
    /// A deletion push deletes a credential only when its serial matches the revoked one.
    /// `false` (delete whatever sits in the slot) breaks INV-NO-STALE-DELETE.
    pub push_matches_serial: bool,
    /// Users may hand a phone over without the procedure (課題1: careless users exist).
    /// `false` (everyone follows it) makes 課題1 unreachable.
    pub careless_handover_possible: bool,
    /// Relying parties refuse suspended certificates (R-SUSPEND).
    /// `false` breaks INV-NO-USE-AFTER-REVOKE.
    pub rp_checks_suspension: bool,
    /// Factory reset wipes the JPKI data in the SE (R-RESET), through the server or locally
    /// (see `reset_via_server`). `false` (the SE keeps it) breaks R-RESET.
    pub factory_reset_wipes_se: bool,
    /// The SP-TSM refuses reissue while the current cert on that phone is live (R-REISSUE).
    /// `false` breaks INV-ONE (double issuance on one phone).
    pub reissue_refused_while_live: bool,
    /// R-REISSUE asks for the status of the cert on that phone, so a revoked one no longer
    /// blocks a reissue. `false` (the validity period decides: a revoked cert blocks a reissue
    /// on its phone until it would have expired) breaks INV-NO-DEAD-END.
    #[serde(default = "yes")]
    pub reissue_by_status: bool,
    /// Ending a card signing cert revokes the linked phone certs (R-LINK).
    /// `false` breaks INV-LINK.
    pub linked_revocation: bool,
    /// Issuing on a new phone revokes the person's cert of that kind on the old one
    /// (R-MODEL-CHANGE). `false` breaks INV-ONE.
    pub model_change_revokes_old: bool,
    /// The deletion push goes to the token of the phone holding the revoked cert (R-TOKEN).
    /// `false` (to the phone making the request) breaks R-TOKEN.
    pub push_to_holding_phone: bool,
    /// The CA re-checks the card cert at issuance, not only at application (R-ISSUE).
    /// `false` breaks INV-ISSUE-AUTH (and INV-LINK).
    pub ca_rechecks_card: bool,
    /// Key pairs are generated inside the SE (R-KEYGEN). `false` (generated at the TSM and
    /// injected) breaks INV-KEY-IN-SE.
    pub keygen_in_se: bool,
    /// The temporary PIN is never shown to the user (R-PIN-SETUP). `false` (it is, and works
    /// for services) breaks INV-PIN.
    pub temporary_pin_secret: bool,
    /// Project decision (in no seed): back online or freshly installed, the app asks the
    /// status of the certs in its applet and deletes the ended ones (the fallback for lost
    /// pushes). `false` breaks R-DELETE-ON-SYNC.
    pub app_status_sync: bool,
    /// ALT-RESET: a factory reset deletes the SE's JPKI data by asking the server (004 課題2
    /// 対策; needs the network). `false` is the alternative: the OS wipes it locally, online or
    /// not; it makes RISK-RESET-OFFLINE unreachable.
    pub reset_via_server: bool,
    /// The hand-over and disposal procedure (revoke from the phone, delete the applet) needs
    /// the network and is refused offline. `false` (an offline procedure that only resets)
    /// breaks INV-DELETE-ON-TRANSFER.
    pub procedure_needs_network: bool,
    /// A revocation from the phone or a delivered deletion deletes the applet once it holds
    /// no key (失効時にアプレットの削除, 000 §3(2)(3)). `false` breaks R-DELETE-APPLET.
    pub revocation_deletes_applet: bool,
    /// A deletion push deletes the key certified as the revoked serial even before the cert
    /// was written into the slot. `false` (only a written cert of that serial) breaks
    /// R-DELETE-KEY.
    pub push_deletes_certified_key: bool,
    /// Phone certs have a validity period and can expire (更新 is a reissue). `false` makes
    /// SCN-RENEW-AFTER-EXPIRY unreachable.
    pub phone_certs_expire: bool,
    // The seeds' design alternatives (ALT-*, `crate::policy::Alternative`): the default is
    // the seeds' own design; the other values are what the study group weighs.
    /// ALT-STORAGE: where the JPKI applet lives.
    pub storage: Storage,
    /// ALT-UNLOCK: what unlocks the auth credential.
    pub unlock: Unlock,
    /// ALT-REVOKE-AUTH: how a revocation from the phone is authenticated.
    pub revoke_auth: RevokeAuth,
    /// ALT-APPLET-STATUS: the phone refuses to sign unless the app has just seen the cert
    /// active (`false`: only relying parties check status).
    pub applet_checks_status: bool,
    /// ALT-SUSPEND: the call center suspends (`false`: no suspension at all).
    pub suspension: bool,
    /// ALT-PROOFING: how identity is proven for an issuance.
    pub proofing: Proofing,
    /// ALT-LINK: which card cert a phone cert is linked to.
    pub link: Link,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            push_matches_serial: true,
            careless_handover_possible: true,
            rp_checks_suspension: true,
            factory_reset_wipes_se: true,
            reissue_refused_while_live: true,
            reissue_by_status: true,
            linked_revocation: true,
            model_change_revokes_old: true,
            push_to_holding_phone: true,
            ca_rechecks_card: true,
            keygen_in_se: true,
            temporary_pin_secret: true,
            app_status_sync: true,
            reset_via_server: true,
            procedure_needs_network: true,
            revocation_deletes_applet: true,
            push_deletes_certified_key: true,
            phone_certs_expire: true,
            storage: Storage::Se,
            unlock: Unlock::Pin,
            revoke_auth: RevokeAuth::Pin,
            applet_checks_status: false,
            suspension: true,
            proofing: Proofing::Card,
            link: Link::CardSigning,
        }
    }
}

impl Policy {
    /// The policy the implementation (`impl/`) realises today: the seeds' design except the
    /// rules issue 9 changed and issue 11 has not yet followed (local reset, offline
    /// procedure, the applet kept after revocation, a push that needs the written cert).
    /// `checks/` drives the implementation under it and says so in its report.
    pub fn as_implemented() -> Policy {
        let mut p = Policy::default();
        for v in Variant::NOT_YET_IMPLEMENTED {
            v.apply(&mut p);
        }
        p
    }
}

/// One non-default policy value: a named switch away from the seeds' design.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    DeleteWhateverIsThere,
    NoCarelessHandover,
    RpIgnoresSuspension,
    ResetKeepsSe,
    ReissueWhileLive,
    NoLinkedRevocation,
    ModelChangeKeepsOld,
    PushToRequester,
    CaTrustsApplication,
    KeygenAtTsm,
    TemporaryPinShown,
    NoStatusSync,
    ResetLocalWipe,
    OfflineProcedure,
    RevocationKeepsApplet,
    PushNeedsWrittenCert,
    NoCertExpiry,
    ReissueBlockedByRevoked,
}

impl Variant {
    /// Every variant, in matrix order.
    /// The variants the implementation still follows (see [`Policy::as_implemented`]).
    pub const NOT_YET_IMPLEMENTED: [Variant; 5] = [
        Variant::ResetLocalWipe,
        Variant::OfflineProcedure,
        Variant::RevocationKeepsApplet,
        Variant::PushNeedsWrittenCert,
        Variant::NoCertExpiry,
    ];

    pub const ALL: [Variant; 18] = [
        Variant::DeleteWhateverIsThere,
        Variant::NoCarelessHandover,
        Variant::RpIgnoresSuspension,
        Variant::ResetKeepsSe,
        Variant::ReissueWhileLive,
        Variant::NoLinkedRevocation,
        Variant::ModelChangeKeepsOld,
        Variant::PushToRequester,
        Variant::CaTrustsApplication,
        Variant::KeygenAtTsm,
        Variant::TemporaryPinShown,
        Variant::NoStatusSync,
        Variant::ResetLocalWipe,
        Variant::OfflineProcedure,
        Variant::RevocationKeepsApplet,
        Variant::PushNeedsWrittenCert,
        Variant::NoCertExpiry,
        Variant::ReissueBlockedByRevoked,
    ];

    /// The CLI name (`--policy NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Variant::DeleteWhateverIsThere => "delete-whatever-is-there",
            Variant::NoCarelessHandover => "no-careless-handover",
            Variant::RpIgnoresSuspension => "rp-ignores-suspension",
            Variant::ResetKeepsSe => "reset-keeps-se",
            Variant::ReissueWhileLive => "reissue-while-live",
            Variant::NoLinkedRevocation => "no-linked-revocation",
            Variant::ModelChangeKeepsOld => "model-change-keeps-old",
            Variant::PushToRequester => "push-to-requester",
            Variant::CaTrustsApplication => "ca-trusts-application",
            Variant::KeygenAtTsm => "keygen-at-tsm",
            Variant::TemporaryPinShown => "temporary-pin-shown",
            Variant::NoStatusSync => "no-status-sync",
            Variant::ResetLocalWipe => "reset-local-wipe",
            Variant::OfflineProcedure => "offline-procedure",
            Variant::RevocationKeepsApplet => "revocation-keeps-applet",
            Variant::PushNeedsWrittenCert => "push-needs-written-cert",
            Variant::NoCertExpiry => "no-cert-expiry",
            Variant::ReissueBlockedByRevoked => "reissue-blocked-by-revoked",
        }
    }

    /// Parse a CLI name.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The property this variant is expected to break (its ID prefix).
    pub fn breaks(self) -> &'static str {
        match self {
            Variant::DeleteWhateverIsThere => "INV-NO-STALE-DELETE",
            Variant::NoCarelessHandover => "RISK-1",
            Variant::RpIgnoresSuspension => "INV-NO-USE-AFTER-REVOKE",
            Variant::ResetKeepsSe => "R-RESET",
            Variant::ReissueWhileLive => "INV-ONE",
            Variant::NoLinkedRevocation => "INV-LINK",
            Variant::ModelChangeKeepsOld => "INV-ONE",
            Variant::PushToRequester => "R-TOKEN",
            Variant::CaTrustsApplication => "INV-ISSUE-AUTH",
            Variant::KeygenAtTsm => "INV-KEY-IN-SE",
            Variant::TemporaryPinShown => "INV-PIN",
            Variant::NoStatusSync => "R-DELETE-ON-SYNC",
            Variant::ResetLocalWipe => "RISK-RESET-OFFLINE",
            Variant::OfflineProcedure => "INV-DELETE-ON-TRANSFER",
            Variant::RevocationKeepsApplet => "R-DELETE-APPLET",
            Variant::PushNeedsWrittenCert => "R-DELETE-KEY",
            Variant::NoCertExpiry => "SCN-RENEW-AFTER-EXPIRY",
            Variant::ReissueBlockedByRevoked => "INV-NO-DEAD-END",
        }
    }

    /// Apply this variant to a policy.
    pub fn apply(self, p: &mut Policy) {
        match self {
            Variant::DeleteWhateverIsThere => p.push_matches_serial = false,
            Variant::NoCarelessHandover => p.careless_handover_possible = false,
            Variant::RpIgnoresSuspension => p.rp_checks_suspension = false,
            Variant::ResetKeepsSe => p.factory_reset_wipes_se = false,
            Variant::ReissueWhileLive => p.reissue_refused_while_live = false,
            Variant::NoLinkedRevocation => p.linked_revocation = false,
            Variant::ModelChangeKeepsOld => p.model_change_revokes_old = false,
            Variant::PushToRequester => p.push_to_holding_phone = false,
            Variant::CaTrustsApplication => p.ca_rechecks_card = false,
            Variant::KeygenAtTsm => p.keygen_in_se = false,
            Variant::TemporaryPinShown => p.temporary_pin_secret = false,
            Variant::NoStatusSync => p.app_status_sync = false,
            Variant::ResetLocalWipe => p.reset_via_server = false,
            Variant::OfflineProcedure => p.procedure_needs_network = false,
            Variant::RevocationKeepsApplet => p.revocation_deletes_applet = false,
            Variant::PushNeedsWrittenCert => p.push_deletes_certified_key = false,
            Variant::NoCertExpiry => p.phone_certs_expire = false,
            Variant::ReissueBlockedByRevoked => p.reissue_by_status = false,
        }
    }
}

/// The world and its bounds.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// Number of persons (`p0..`).
    pub persons: u8,
    /// Number of phones (`h0..`); phone `h` starts held by person `h % persons`.
    pub phones: u8,
    /// Certificate kinds in play (R-KINDS).
    pub kinds: Vec<Kind>,
    /// Card signing cert generations per person (the first included): bounds renewals.
    pub max_card_generations: u8,
    /// Phone certs issued per person and kind: bounds reissue and model change.
    pub max_issuances: u8,
    /// App installations per phone: bounds push-token generations.
    pub max_app_installs: u8,
    /// Hand-overs per phone: bounds how often a phone changes hands.
    pub max_handovers: u8,
    /// Detours in the whole world (see [`crate::Action::is_event`]); `None` = unbounded.
    /// The small-scope bound that makes many persons, phones and kinds checkable: every
    /// scenario, risk and policy counterexample needs at most two.
    pub max_events: Option<u8>,
    /// Phone certs issued in the whole world; `None` = only `max_issuances` bounds them.
    pub max_certs: Option<u8>,
    /// Issuance sessions in flight at once in the whole world; `None` = one per phone.
    pub max_sessions: Option<u8>,
    /// Wrong-PIN tries before blocking, per kind (R-PIN-RETRY), indexed by [`Kind::index`].
    pub pin_tries: [u8; 2],
    /// Whether a wrong PIN entry counts as a detour. `false` leaves wrong entries to the PIN
    /// counter alone, which bounds them (at most `pin_tries` in a row before the block): the
    /// abstraction that keeps blocking reachable with the cards' real 3 and 5 tries.
    #[serde(default = "yes")]
    pub wrong_pin_is_detour: bool,
    /// THREAT-PIN-KNOWN: the persons whose PINs are known to everyone else too (shared,
    /// observed, written down): whoever holds their phone can enter them right. The others'
    /// PINs are known to their owners only, so one world shows both sides of 課題1's
    /// reliance on the PIN.
    pub pin_known: Vec<PersonId>,
    /// The design answers.
    pub policy: Policy,
}

fn yes() -> bool {
    true
}

impl Config {
    /// The reference configuration: 2 persons, 3 phones (p0 holds h0 and h2, p1 holds h1),
    /// both kinds, and the smallest bounds in which every reachability property is found
    /// (model/tests/check.rs shows that lowering any loses one): one detour in the world,
    /// two phone certs in the world, one issuance session at a time, and one PIN try (the
    /// cards allow 3 and 5). Small enough to drive the implementation along every edge.
    pub fn reference() -> Config {
        Config {
            persons: 2,
            phones: 3,
            kinds: vec![Kind::Auth, Kind::Sign],
            max_card_generations: 2,
            max_issuances: 2,
            max_app_installs: 2,
            max_handovers: 1,
            max_events: Some(1),
            max_sessions: Some(1),
            max_certs: Some(2),
            pin_tries: [1, 1],
            wrong_pin_is_detour: true,
            pin_known: vec![PersonId(0)],
            policy: Policy::default(),
        }
    }

    /// The reference world with two detours and two PIN tries: every pair of detours (an
    /// offline phone handed over, a lost push after a revocation, ...), a wrong PIN that does
    /// not block, and a counterexample for every policy variant (`reset-keeps-se` needs two
    /// detours). What `phone-jpki check` and `matrix` check by default.
    pub fn deep() -> Config {
        Config {
            max_events: Some(2),
            pin_tries: [2, 2],
            ..Config::reference()
        }
    }

    /// One person, one phone, the auth kind, PIN tries 2, and no world-wide budgets: every
    /// interleaving of that one phone's life, however long (every property but
    /// SCN-MODEL-CHANGE, which needs two phones, is decided in it).
    pub fn single() -> Config {
        Config {
            persons: 1,
            phones: 1,
            kinds: vec![Kind::Auth],
            pin_tries: [2, 2],
            max_events: None,
            max_sessions: None,
            max_certs: None,
            pin_known: Vec::new(),
            ..Config::reference()
        }
    }

    /// The new-phone world: one person with two phones, both kinds, room for four phone
    /// certs so that both kinds move to the new phone (003 §3), the cards' real PIN tries (3
    /// and 5) with wrong entries left to the counter (not detours), no other detour and one
    /// app installation per phone (measured: with one detour it passes 7M states).
    pub fn new_phone() -> Config {
        Config {
            persons: 1,
            phones: 2,
            max_events: Some(0),
            max_app_installs: 1,
            max_certs: Some(4),
            max_sessions: Some(1),
            pin_tries: [3, 5],
            wrong_pin_is_detour: false,
            ..Config::reference()
        }
    }

    /// The world in which every seed storyline fits (issue 10; DOMAIN.md "Reachability"):
    /// the new-phone world (both kinds move to a new phone, a PIN block with the cards' 3/5
    /// tries) with one detour, so that a lost phone is found by a stranger, a phone is sold
    /// carelessly, and a finder or buyer tries the card reader. Nobody's PIN is known to
    /// others (one person: a known PIN would excuse every foreign use). Far too large for CI
    /// today: `phone-jpki check --world storyline` reports its figures.
    pub fn storyline() -> Config {
        Config {
            max_events: Some(1),
            pin_known: Vec::new(),
            ..Config::new_phone()
        }
    }

    /// Whether `a` counts against [`Config::max_events`].
    pub fn is_detour(&self, a: &crate::Action) -> bool {
        use crate::Action::*;
        match a {
            Use(..) | ChangePin(..) | Resume(..) | ReaderUse(..) | ReadSignCert(..)
            | SignOffline(..)
                if !self.wrong_pin_is_detour =>
            {
                false
            }
            _ => a.is_event(),
        }
    }

    /// Whether `a`, attempted in `before`, spends the world's detour budget when it changes the
    /// state: a detour ([`Config::is_detour`]) that does not follow the detour that gave a
    /// stranger the phone ([`crate::threats::follows_detour`]). The rules, `whynot` and the
    /// lockstep's counter all count with this.
    pub fn spends_detour(&self, before: &crate::State, a: crate::Action) -> bool {
        self.is_detour(&a) && !crate::threats::follows_detour(before, a)
    }

    /// The same configuration with one policy variant applied.
    pub fn with_variant(mut self, v: Variant) -> Config {
        v.apply(&mut self.policy);
        self
    }

    pub fn person_ids(&self) -> impl Iterator<Item = PersonId> {
        (0..self.persons).map(PersonId)
    }

    pub fn phone_ids(&self) -> impl Iterator<Item = PhoneId> {
        (0..self.phones).map(PhoneId)
    }

    /// The same configuration with one policy choice (fault variant or ALT-* alternative).
    pub fn with_choice(mut self, c: crate::policy::Choice) -> Config {
        c.apply(&mut self.policy);
        self
    }

    /// Tries allowed for the PIN of `kind`.
    pub fn tries(&self, kind: Kind) -> u8 {
        self.pin_tries[kind.index()]
    }

    /// Check the configuration makes sense; the error names the field.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=4).contains(&self.persons) {
            return Err(format!("persons must be 1..=4, got {}", self.persons));
        }
        if !(1..=5).contains(&self.phones) {
            return Err(format!("phones must be 1..=5, got {}", self.phones));
        }
        if self.kinds.is_empty() {
            return Err("kinds must name at least one kind".into());
        }
        if self.max_card_generations == 0 || self.max_issuances == 0 {
            return Err("max_card_generations and max_issuances must be at least 1".into());
        }
        if self.pin_tries.contains(&0) || self.pin_tries.iter().any(|&t| t > 15) {
            return Err(format!(
                "pin_tries must be 1..=15, got {:?}",
                self.pin_tries
            ));
        }
        if let Some(p) = self.pin_known.iter().find(|p| p.0 >= self.persons) {
            return Err(format!("pin_known names {p}, not a person of the world"));
        }
        if let Some((i, p)) = self
            .pin_known
            .iter()
            .enumerate()
            .find(|(i, p)| self.pin_known[..*i].contains(p))
        {
            return Err(format!("pin_known names {p} twice (entry {i})"));
        }
        let certs = usize::from(self.persons) * self.kinds.len() * usize::from(self.max_issuances);
        if certs > 250 {
            return Err(format!(
                "too many possible certificates ({certs}) for u8 serials"
            ));
        }
        Ok(())
    }
}
