//! Threat actors (THREAT-* of `shared/DOMAIN.md`) and the rules of the seeds' design
//! alternatives (ALT-*, [`crate::policy`]) that need actions of their own.
//!
//! Who else touches a phone: a stranger who finds a lost phone and keeps it (THREAT-FINDER),
//! the buyer of a carelessly handed-over phone (THREAT-BUYER, already a `Holder::Stranger`),
//! anyone holding a phone reaching the applet with an NFC card reader (THREAT-READER: no app,
//! no network, no OMAPI access rule, only the PIN), reading the certificates out of the
//! applet (THREAT-READ-PII: the signing cert only after the signing password), signing while
//! offline and presenting the signature later (THREAT-OFFLINE-SIGN), and, under the
//! alternatives, moving a SIM (THREAT-SIM-SWAP), enrolling a finger (ALT-UNLOCK) and applying
//! with a mailed access code (ALT-PROOFING). THREAT-PIN-KNOWN is the world parameter
//! [`Config::pin_known`].
//!
//! [`candidates`] adds these actions (and filters what a policy removes) to
//! [`crate::rules::candidate_actions`]; [`apply`] is their rule; [`after_step`] keeps the
//! OS-side facts (enrolled fingers) in step with the phone's own rules.

use crate::action::{Action, PinEntry, Refusal};
use crate::config::Config;
use crate::ids::{Kind, PersonId, PhoneId, Serial};
use crate::policy::{Proofing, RevokeAuth, Storage, Unlock};
use crate::rules::{need_online, slot_serial, verify_pin, Verified};
use crate::state::{CertStatus, Condition, Holder, Pin, Slot, State};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Finger bit of strangers (all strangers share it: one stranger per phone at most).
pub const STRANGER_FINGER: u8 = 0x80;

/// A signature made without presenting it (THREAT-OFFLINE-SIGN), waiting to be presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// The signing cert whose key made it.
    pub serial: Serial,
    /// Who held the phone and signed (ground truth for INV-NO-FOREIGN-USE).
    pub by: Holder,
}

/// What the threat actors and the alternatives add to the state: facts about the phones'
/// operating systems and the world outside J-LIS, none read by the phone's own rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Threats {
    /// Phones (bit per phone) kept by the stranger who found them (THREAT-FINDER): the screen
    /// lock keeps the app and the settings closed to them; the card reader does not care.
    pub found: u8,
    /// Phones (bit per phone) whose SIM was moved into a stranger's phone (THREAT-SIM-SWAP):
    /// under ALT-STORAGE=sim the model's phone follows its SIM.
    pub swapped: u8,
    /// Per phone, whose fingers are enrolled in the OS (bit per person, [`STRANGER_FINGER`]);
    /// all zero unless ALT-UNLOCK uses biometrics.
    pub fingers: [u8; 5],
    /// Phones (bit per phone) whose biometric key was invalidated by a new enrolment
    /// (ALT-UNLOCK=invalidate-on-enrol).
    pub bio_invalid: u8,
    /// Signatures made and not yet presented, in serial order (one per serial at most).
    pub signatures: SmallVec<[Signature; 1]>,
    /// Persons (bit per person) whose PINs everyone else knows (THREAT-PIN-KNOWN): the
    /// world parameter [`Config::pin_known`], kept in the state so that symmetry renames it.
    pub pin_known: u8,
    /// Phones (bit per phone) whose issuance session was opened with a mailed access code by
    /// its holder (ALT-PROOFING=mailed-code).
    pub coded: u8,
    /// Certs whose user PIN was set by someone other than their owner: the co-resident who
    /// applied with the mailed code, who therefore knows it (ALT-PROOFING).
    pub pin_set_by: SmallVec<[(Serial, crate::ids::PersonId); 1]>,
}

impl Threats {
    /// The initial facts: under biometric unlock each phone's first holder has enrolled a
    /// finger.
    pub fn initial(config: &Config) -> Threats {
        let mut t = Threats {
            pin_known: config.pin_known.iter().fold(0, |m, p| m | 1 << p.0),
            ..Threats::default()
        };
        if config.policy.unlock != Unlock::Pin {
            for h in config.phone_ids() {
                t.fingers[h.index()] = 1 << (h.0 % config.persons);
            }
        }
        t
    }

    fn bit(h: PhoneId) -> u8 {
        1 << h.0
    }

    /// Whether everyone else knows `p`'s PINs (THREAT-PIN-KNOWN).
    pub fn pin_known_of(&self, p: crate::ids::PersonId) -> bool {
        self.pin_known & (1 << p.0) != 0
    }

    pub fn is_found(&self, h: PhoneId) -> bool {
        self.found & Threats::bit(h) != 0
    }

    pub fn is_swapped(&self, h: PhoneId) -> bool {
        self.swapped & Threats::bit(h) != 0
    }

    pub fn bio_invalid(&self, h: PhoneId) -> bool {
        self.bio_invalid & Threats::bit(h) != 0
    }

    /// Whether `who`'s finger is enrolled on phone `h`.
    pub fn enrolled(&self, h: PhoneId, who: Holder) -> bool {
        finger(who).is_some_and(|b| self.fingers[h.index()] & b != 0)
    }

    /// The pending signature made with `serial`'s key, if any.
    pub fn signature(&self, serial: Serial) -> Option<Signature> {
        self.signatures.iter().copied().find(|x| x.serial == serial)
    }

    /// Rename phones and persons (symmetry): `phone[i]` and `person[i]` are the new ids.
    pub fn renamed(&self, phone: &[u8], person: &[u8]) -> Threats {
        let bits = |b: u8| {
            (0..phone.len()).fold(0u8, |acc, i| {
                if b & (1 << i) != 0 {
                    acc | 1 << phone[i]
                } else {
                    acc
                }
            })
        };
        let mut fingers = [0u8; 5];
        for (i, &f) in self.fingers.iter().enumerate().take(phone.len()) {
            let mut g = f & STRANGER_FINGER;
            for (p, &to) in person.iter().enumerate() {
                if f & (1 << p) != 0 {
                    g |= 1 << to;
                }
            }
            fingers[usize::from(phone[i])] = g;
        }
        let mut signatures = self.signatures.clone();
        for x in &mut signatures {
            if let Holder::Person(p) = x.by {
                x.by = Holder::Person(crate::ids::PersonId(person[p.index()]));
            }
        }
        Threats {
            found: bits(self.found),
            swapped: bits(self.swapped),
            fingers,
            bio_invalid: bits(self.bio_invalid),
            signatures,
            coded: bits(self.coded),
            pin_set_by: self
                .pin_set_by
                .iter()
                .map(|&(x, p)| (x, crate::ids::PersonId(person[p.index()])))
                .collect(),
            pin_known: (0..person.len()).fold(0u8, |acc, i| {
                if self.pin_known & (1 << i) != 0 {
                    acc | 1 << person[i]
                } else {
                    acc
                }
            }),
        }
    }
}

/// The finger bit of a holder (nobody has none).
fn finger(who: Holder) -> Option<u8> {
    match who {
        Holder::Person(p) => Some(1 << p.0),
        Holder::Stranger => Some(STRANGER_FINGER),
        Holder::Nobody => None,
    }
}

/// Ground truth of who can enter a credential's PIN right: its owner, and everyone else
/// when the owner's PIN is known (THREAT-PIN-KNOWN).
pub fn knows_pin(s: &State, who: Holder, serial: Serial) -> bool {
    let owner = s.cert(serial).person;
    who == Holder::Person(owner)
        || (s.threats.pin_known_of(owner) && who != Holder::Nobody)
        || s.threats
            .pin_set_by
            .iter()
            .any(|&(x, p)| x == serial && who == Holder::Person(p))
}

fn entries(knows: bool) -> impl Iterator<Item = PinEntry> {
    [PinEntry::Wrong, PinEntry::Right]
        .into_iter()
        .filter(move |&e| knows || e == PinEntry::Wrong)
}

/// Add the threat actors' and the alternatives' actions offered in `state`, and remove what
/// a policy forbids. Called by [`crate::rules::candidate_actions`] before the detour budget
/// is applied.
pub fn candidates(config: &Config, state: &State, out: &mut Vec<Action>) {
    let policy = config.policy;
    // THREAT-FINDER: the screen lock keeps a finder out of the app and the settings; the
    // phone's own actions through them are not theirs (found by lockstep conformance: the
    // phone's rules offered a finder the app's Use).
    out.retain(|&a| !through_the_screen(a).is_some_and(|h| state.threats.is_found(h)));
    if !policy.suspension {
        // ALT-SUSPEND=none: there is no call center to suspend, hence nothing to resume.
        out.retain(|a| !matches!(a, Action::Suspend(..) | Action::Resume(..)));
    }
    for h in config.phone_ids() {
        let ph = state.phone(h);
        if ph.condition == Condition::Lost {
            out.push(Action::StrangerFinds(h));
        }
        if ph.condition != Condition::InHand || ph.holder == Holder::Nobody {
            continue;
        }
        let who = ph.holder;
        let found = state.threats.is_found(h);
        // A finder cannot open the locked screen: no app route, no settings.
        let unlocked = !found;
        for &k in &config.kinds {
            let Slot::Cert { serial, .. } = ph.slot(k) else {
                continue;
            };
            let knows = knows_pin(state, who, serial);
            let owner = who == Holder::Person(state.cert(serial).person);
            if ph.applet {
                // THREAT-READER: the contactless route needs neither the app nor the network.
                for e in entries(knows) {
                    out.push(Action::ReaderUse(h, k, e));
                }
                match k {
                    Kind::Auth => out.push(Action::ReadAuthCert(h)),
                    Kind::Sign => {
                        for e in entries(knows) {
                            out.push(Action::ReadSignCert(h, e));
                        }
                        if state.threats.signature(serial).is_none() {
                            for e in entries(knows) {
                                out.push(Action::SignOffline(h, e));
                            }
                        }
                    }
                }
            }
            if unlocked && ph.app && !owner {
                // THREAT-PIN-KNOWN: through the app too, someone else may know the PIN
                // (the owner's entries are the phone's own rules).
                if knows && !out.contains(&Action::Use(h, k, PinEntry::Right)) {
                    out.push(Action::Use(h, k, PinEntry::Right));
                }
                if policy.revoke_auth == RevokeAuth::Nothing && !matches!(who, Holder::Person(_)) {
                    // ALT-REVOKE-AUTH=nothing: a stranger with the phone and the app revokes.
                    out.push(Action::RevokeFromPhone(h, k));
                }
            }
        }
        if policy.unlock != Unlock::Pin && unlocked {
            if !state.threats.enrolled(h, who) {
                out.push(Action::EnrollFinger(h));
            } else if ph.app
                && config.kinds.contains(&Kind::Auth)
                && ph.slot(Kind::Auth).serial().is_some()
            {
                out.push(Action::BiometricUse(h));
            }
        }
        if let (Proofing::MailedCode, Holder::Person(q), true, None) =
            (policy.proofing, who, ph.app, ph.session)
        {
            // ALT-PROOFING: a co-resident received another person's mailed access code.
            if !crate::rules::sessions_full(config, state)
                && config
                    .max_certs
                    .is_none_or(|max| state.registry.len() < usize::from(max))
            {
                for p in config.person_ids().filter(|&p| p != q) {
                    for &k in &config.kinds {
                        if crate::rules::issued_count(state, p, k) < config.max_issuances {
                            out.push(Action::ApplyWithCode(h, p, k));
                        }
                    }
                }
            }
        }
        if policy.storage == Storage::Sim
            && who == Holder::Stranger
            && ph.applet
            && !state.threats.is_swapped(h)
        {
            out.push(Action::SimSwap(h));
        }
    }
    for x in &state.threats.signatures {
        out.push(Action::PresentSignature(x.serial));
    }
}

/// The phone of an action that needs the phone unlocked (its app or its settings); the
/// physical acts (losing, breaking, handing over or disposing of it without the procedure)
/// and the network do not.
fn through_the_screen(a: Action) -> Option<PhoneId> {
    match a {
        Action::Use(h, ..)
        | Action::ChangePin(h, ..)
        | Action::InitPin(h, _)
        | Action::Resume(h, ..)
        | Action::Apply(h, _)
        | Action::GenerateKey(h)
        | Action::CaIssue(h)
        | Action::WriteCert(h)
        | Action::SetUserPin(h)
        | Action::AbandonIssuance(h)
        | Action::RevokeFromPhone(h, _)
        | Action::InstallApp(h)
        | Action::UninstallApp(h)
        | Action::InstallApplet(h)
        | Action::FactoryReset(h)
        | Action::HandOver(h, _, true)
        | Action::Dispose(h, true) => Some(h),
        _ => None,
    }
}

/// The relying party's status check (INV-NO-USE-AFTER-REVOKE): revoked, or suspended
/// unless the `rp-ignores-suspension` fault is on.
fn rp_check(config: &Config, s: &State, serial: Serial) -> Result<(), Refusal> {
    match s.cert(serial).status {
        CertStatus::Revoked(_) => Err(Refusal::CertRevoked),
        CertStatus::Expired => Err(Refusal::CertExpired),
        CertStatus::Suspended if config.policy.rp_checks_suspension => Err(Refusal::CertSuspended),
        _ => Ok(()),
    }
}

/// The applet's PIN check for a service use: the temporary PIN admits none.
fn pin_for_use(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    e: PinEntry,
) -> Result<(), Refusal> {
    match verify_pin(config, s, h, k, e)? {
        Verified::User => Ok(()),
        // Only reachable when the temporary PIN is shown (a fault variant): the applet takes
        // it as the route through the app does.
        Verified::Temporary => Ok(()),
    }
}

/// The rule of a threat or alternative action; `None` for the phone's own actions.
pub fn apply(config: &Config, s: &mut State, action: Action) -> Option<Result<(), Refusal>> {
    Some(match action {
        Action::StrangerFinds(h) => {
            let ph = &mut s.phones[h.index()];
            ph.holder = Holder::Stranger;
            ph.condition = Condition::InHand;
            ph.session = None;
            s.threats.found |= Threats::bit(h);
            Ok(())
        }
        // THREAT-READER: the applet checks the PIN; the relying party (reached from the
        // reader's PC) checks the status. Under ALT-APPLET-STATUS no signature is made
        // without the app's fresh status, which this route never has.
        Action::ReaderUse(h, k, e) => (|| {
            let serial = slot_serial(s, h, k)?;
            if k == Kind::Sign && config.policy.applet_checks_status {
                return Err(Refusal::StatusUnknown);
            }
            pin_for_use(config, s, h, k, e)?;
            rp_check(config, s, serial)
        })(),
        // THREAT-READ-PII: the auth cert is public.
        Action::ReadAuthCert(h) => slot_serial(s, h, Kind::Auth).map(|_| ()),
        // THREAT-READ-PII: as on the card, the signing cert (基本4情報) only after the signing
        // password.
        Action::ReadSignCert(h, e) => (|| {
            slot_serial(s, h, Kind::Sign)?;
            verify_pin(config, s, h, Kind::Sign, e).map(|_| ())
        })(),
        // THREAT-OFFLINE-SIGN: the SE signs without any status check; the signature waits.
        Action::SignOffline(h, e) => (|| {
            let serial = slot_serial(s, h, Kind::Sign)?;
            if config.policy.applet_checks_status {
                let ph = s.phone(h);
                if !(ph.online && ph.app) {
                    return Err(Refusal::StatusUnknown);
                }
                if s.cert(serial).status != CertStatus::Active {
                    return Err(Refusal::CertRevoked);
                }
            }
            pin_for_use(config, s, h, Kind::Sign, e)?;
            let by = s.phone(h).holder;
            let at = s.threats.signatures.partition_point(|x| x.serial < serial);
            s.threats.signatures.insert(at, Signature { serial, by });
            Ok(())
        })(),
        // The relying party verifies later, checking the status then.
        Action::PresentSignature(serial) => (|| {
            rp_check(config, s, serial)?;
            s.threats.signatures.retain(|x| x.serial != serial);
            Ok(())
        })(),
        // ALT-UNLOCK: the holder enrols a finger in the OS.
        Action::EnrollFinger(h) => {
            if let Some(b) = finger(s.phone(h).holder) {
                s.threats.fingers[h.index()] |= b;
            }
            if config.policy.unlock == Unlock::InvalidateOnEnrol {
                s.threats.bio_invalid |= Threats::bit(h);
            }
            Ok(())
        }
        // ALT-UNLOCK: an auth use through the app, unlocked by an enrolled finger instead of
        // the PIN; the applet's PIN state still gates the key.
        Action::BiometricUse(h) => (|| {
            need_online(s, h)?;
            let serial = slot_serial(s, h, Kind::Auth)?;
            if s.threats.bio_invalid(h) {
                return Err(Refusal::BiometricInvalidated);
            }
            match s.phone(h).slot(Kind::Auth) {
                Slot::Cert {
                    pin: Pin::Blocked, ..
                } => return Err(Refusal::PinBlocked),
                Slot::Cert {
                    pin: Pin::Temporary,
                    ..
                } => return Err(Refusal::TemporaryPin),
                _ => {}
            }
            rp_check(config, s, serial)
        })(),
        // THREAT-SIM-SWAP: the SIM goes into the stranger's own phone, unlocked and online,
        // with the genuine JPKI app (on the whitelist, so OMAPI admits it); the model's phone
        // follows the SIM, and the app there plays the owner's app's part (pushes, sync).
        Action::SimSwap(h) => {
            s.threats.swapped |= Threats::bit(h);
            s.threats.found &= !Threats::bit(h);
            let ph = &mut s.phones[h.index()];
            ph.app = true;
            ph.online = true;
            ph.session = None;
            Ok(())
        }
        // ALT-PROOFING: the application is proven by the mailed code alone (no card
        // signature): the session is the code's person's, opened by whoever holds the phone.
        Action::ApplyWithCode(h, p, k) => (|| {
            need_online(s, h)?;
            if !s.phone(h).applet {
                return Err(Refusal::NoApplet);
            }
            crate::rules::open_session(config, s, h, p, k)?;
            s.threats.coded |= Threats::bit(h);
            Ok(())
        })(),
        _ => return None,
    })
}

/// Keep the OS-side facts in step with an accepted phone action: a factory reset (alone or
/// in the hand-over procedure) wipes the enrolled fingers and opens the screen to whoever
/// holds the phone; a new user PIN comes with a new biometric key.
pub fn after_step(before: &State, action: Action, result: Result<(), Refusal>, next: &mut State) {
    if result.is_err() {
        return;
    }
    let wiped = match action {
        Action::FactoryReset(h) | Action::HandOver(h, _, true) | Action::Dispose(h, true) => {
            Some(h)
        }
        _ => None,
    };
    if let Some(h) = wiped {
        next.threats.fingers[h.index()] = 0;
        next.threats.found &= !Threats::bit(h);
    }
    if let Action::SetUserPin(h) = action {
        // A new auth credential's user PIN comes with a new biometric key.
        let auth = before
            .phone(h)
            .session
            .is_some_and(|x| x.kind == Kind::Auth);
        if auth && before.threats.bio_invalid(h) {
            next.threats.bio_invalid &= !Threats::bit(h);
        }
        // The holder who applied with a mailed code sets, and so knows, the user PIN.
        if let (true, Holder::Person(q), Some(sess)) = (
            before.threats.coded & Threats::bit(h) != 0,
            before.phone(h).holder,
            before.phone(h).session,
        ) {
            if let crate::state::SessionStep::CertWritten(x) = sess.step {
                if sess.person != q {
                    let at = next.threats.pin_set_by.partition_point(|e| e.0 < x);
                    next.threats.pin_set_by.insert(at, (x, q));
                }
            }
        }
    }
    if let Action::Apply(h, _) = action {
        next.threats.coded &= !Threats::bit(h);
    }
    // Who authenticated the application (ground truth for INV-ISSUE-AUTH): under a mailed
    // code, whoever held the code and the phone, not the cert's person.
    if let Action::CaIssue(h) = action {
        let q = before.phone(h).holder;
        if let (Holder::Person(q), true) = (q, before.threats.coded & Threats::bit(h) != 0) {
            if next.registry.len() > before.registry.len() {
                if let Some(c) = next.registry.last_mut() {
                    c.signer = q;
                }
            }
        }
    }
}

/// A detour action that, taken by a stranger, follows the detour that gave them the phone
/// (a loss or a careless sale) and is not counted again: their wrong PIN entries (bounded by
/// the retry counter) and, under ALT-REVOKE-AUTH=nothing, their revocation from the phone
/// (at most one per credential).
pub fn follows_detour(s: &State, action: Action) -> bool {
    let stranger = |h: PhoneId| s.phone(h).holder == Holder::Stranger;
    match action {
        Action::RevokeFromPhone(h, _)
        | Action::Use(h, _, PinEntry::Wrong)
        | Action::ReaderUse(h, _, PinEntry::Wrong)
        | Action::ReadSignCert(h, PinEntry::Wrong)
        | Action::SignOffline(h, PinEntry::Wrong) => stranger(h),
        _ => false,
    }
}

/// ALT-REVOKE-AUTH: whether whoever holds phone `h` may revoke `serial`, held in slot `k`,
/// from it. Under `pin` the applet checks the PIN the holder can enter (the right one if they
/// know it, R-PIN-RETRY otherwise): a wrong entry counts down and may block, a blocked PIN
/// and the temporary PIN prove nothing (INV-PIN). The owner's way out is then the card
/// (R-REVOKE (b)).
pub fn revoke_authorised(
    config: &Config,
    s: &mut State,
    h: PhoneId,
    k: Kind,
    serial: Serial,
) -> Result<(), Refusal> {
    let who = s.phone(h).holder;
    let owner = s.cert(serial).person;
    match config.policy.revoke_auth {
        RevokeAuth::Pin => {
            let e = if knows_pin(s, who, serial) {
                PinEntry::Right
            } else {
                PinEntry::Wrong
            };
            match verify_pin(config, s, h, k, e)? {
                Verified::User => Ok(()),
                Verified::Temporary => Err(Refusal::TemporaryPin),
            }
        }
        RevokeAuth::Nothing => Ok(()),
        RevokeAuth::Card if who != Holder::Person(owner) => Err(Refusal::NotCredentialOwner),
        RevokeAuth::Card if !s.card_valid(owner) => Err(Refusal::CardNotValid),
        RevokeAuth::Card => Ok(()),
    }
}

/// R-TRANSFER, R-DISPOSE with ALT-REVOKE-AUTH: the hand-over procedure revokes each live
/// cert of `from` bound to phone `h` with the proof a revocation from the phone asks; if one
/// cannot be proven, the procedure is refused before anything is done (decision: not done
/// halfway). Under `pin`: each is in its slot with a user PIN (a blocked or temporary PIN,
/// or a cert never written into the applet, proves nothing); under `card`: `from`'s card is
/// valid. The PIN checks themselves change nothing that the procedure keeps.
pub fn procedure_authorised(
    config: &Config,
    s: &State,
    h: PhoneId,
    from: PersonId,
) -> Result<(), Refusal> {
    let live = s
        .registry
        .iter()
        .enumerate()
        .filter(|(_, c)| c.person == from && c.phone == h && c.status.is_live())
        .map(|(i, c)| (Serial(i as u8), c.kind));
    for (serial, k) in live {
        match config.policy.revoke_auth {
            RevokeAuth::Nothing => {}
            RevokeAuth::Card if !s.card_valid(from) => return Err(Refusal::CardNotValid),
            RevokeAuth::Card => {}
            RevokeAuth::Pin => match s.phone(h).slot(k) {
                Slot::Cert { serial: x, pin } if x == serial => match pin {
                    Pin::User { .. } => {}
                    Pin::Blocked => return Err(Refusal::PinBlocked),
                    Pin::Temporary => return Err(Refusal::TemporaryPin),
                },
                _ => return Err(Refusal::NoCredential),
            },
        }
    }
    Ok(())
}
