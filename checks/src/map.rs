//! The refinement mapping: from what the implementation shows through `System`'s public
//! inspection API (registry and status, the card certs, what the applet answers per slot,
//! the SP-TSM's sessions, the push service's pending pushes) to a `phone_jpki_model::State`.
//!
//! [`abstract_state`] is the one function; every model field it fills carries a comment saying
//! whether it is **observed** (read from the implementation now) or **tracked** (kept by the
//! lockstep driver in [`Ghost`] from what it observed before and after each step, because the
//! implementation has no place that shows it: the model's history flags and detour counter,
//! its per-phone install numbering, who a bare key pair was generated for and which serial
//! certifies it).
//!
//! Requirement IDs: R-LINK (card generation links), R-TOKEN (push tokens), R-PIN-RETRY (PIN
//! counters), R-ISSUE (sessions). The invariants observe steps of the model; the state keeps
//! no history flags (INV-KEY-IN-SE's ground truth: the implementation generates every key in
//! the SE, so no key is outside one).

use phone_jpki_impl::applet::PinState;
use phone_jpki_impl::ca::{
    CertKind, CertStatus as ImplStatus, CertSubject, PersonId as IPerson, PhoneId as IPhone,
    RevocationCause, Serial as ISerial,
};
use phone_jpki_impl::phone::{Condition as ICondition, Holder as IHolder};
use phone_jpki_impl::system::{Pin as IPin, System};
use phone_jpki_impl::tsm::sp::IssuanceStep;
use phone_jpki_model::state::{
    CardStatus, CertStatus, Condition, Holder, Person, Phone, PhoneCert, Pin, Push, RevokeReason,
    Session, SessionStep, Slot,
};
use phone_jpki_model::threats::{Signature, Threats};
use phone_jpki_model::{Config, Kind, PersonId, PhoneId, PinEntry, Serial, State};
use std::collections::BTreeMap;
use std::fmt;

/// What the driver keeps because the implementation cannot show it (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ghost {
    /// Implementation app installation number -> (phone, model install number 1..). The
    /// implementation numbers installations world-wide; the model per phone (R-TOKEN).
    pub installs: BTreeMap<u32, (PhoneId, u8)>,
    /// Installations seen per phone (the model's `app_installs`).
    pub app_installs: Vec<u8>,
    /// Who the key pair in a slot was generated for (the applet stores no owner for a bare
    /// key); set when GenerateKey is accepted, from the session the SP-TSM showed before.
    pub key_person: BTreeMap<(PhoneId, Kind), PersonId>,
    /// Accepted hand-overs per phone.
    pub handovers: Vec<u8>,
    /// Who handed a phone over / disposed of it with the procedure (last such step).
    pub procedure_from: Vec<Option<PersonId>>,
    /// Whether the card cert authorising an issued phone cert was the person's current and
    /// valid card cert when CaIssue was accepted (observed just before that step).
    pub signature_valid: BTreeMap<ISerial, bool>,
    /// The serial CaIssue certified the bare key in a slot as (the applet shows no serial
    /// before the cert is written); set when CaIssue is accepted, cleared by GenerateKey.
    pub key_certified: BTreeMap<(PhoneId, Kind), Serial>,
    /// Detours that changed the (mapped) state, as the model counts them.
    pub events: u8,
}

impl Ghost {
    /// The ghost of the initial state of `config`.
    pub fn new(config: &Config) -> Ghost {
        let n = usize::from(config.phones);
        Ghost {
            app_installs: vec![0; n],
            handovers: vec![0; n],
            procedure_from: vec![None; n],
            ..Ghost::default()
        }
    }
}

/// The implementation shows something no model state can stand for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapError {
    /// A person has no card signing certificate.
    NoCardCert(PersonId),
    /// A card cert is in a status cards never have in the model (e.g. suspended).
    CardStatus(PersonId, String),
    /// A phone is missing from the implementation.
    NoPhone(PhoneId),
    /// An applet slot names a certificate serial the registry has no phone cert for.
    UnknownSerial(String, u64),
    /// An app installation the driver never saw installed.
    UnknownInstallation(PhoneId, u32),
    /// A key pair in a slot whose owner the driver never saw generated.
    UnknownKeyOwner(PhoneId, Kind),
    /// A value too large for the model's small integers.
    TooLarge(&'static str),
    /// A phone cert in a status phone certs never have (expired).
    PhoneCertStatus(u64, String),
}

impl fmt::Display for MapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapError::NoCardCert(p) => write!(f, "{p} has no card signing certificate"),
            MapError::CardStatus(p, s) => write!(f, "card cert of {p} is {s}"),
            MapError::NoPhone(h) => write!(f, "phone {h} missing from the implementation"),
            MapError::UnknownSerial(at, s) => {
                write!(f, "{at} names serial {s}, not a registered phone cert")
            }
            MapError::UnknownInstallation(h, i) => {
                write!(
                    f,
                    "{h} has app installation {i} the driver never saw installed"
                )
            }
            MapError::UnknownKeyOwner(h, k) => {
                write!(f, "{h} slot {k} holds a key the driver never saw generated")
            }
            MapError::TooLarge(what) => write!(f, "{what} does not fit the model"),
            MapError::PhoneCertStatus(s, st) => write!(f, "phone cert {s} is {st}"),
        }
    }
}

impl std::error::Error for MapError {}

/// Implementation id of a model person.
pub fn person(p: PersonId) -> IPerson {
    IPerson(u32::from(p.0))
}

/// Implementation id of a model phone.
pub fn phone(h: PhoneId) -> IPhone {
    IPhone(u32::from(h.0))
}

/// Implementation kind of a model kind.
pub fn kind(k: Kind) -> CertKind {
    match k {
        Kind::Auth => CertKind::Auth,
        Kind::Sign => CertKind::Sign,
    }
}

/// Implementation PIN entry of a model PIN entry.
pub fn pin(e: PinEntry) -> IPin {
    match e {
        PinEntry::Right => IPin::Right,
        PinEntry::Wrong => IPin::Wrong,
    }
}

/// Model kind of an implementation kind.
pub fn model_kind(k: CertKind) -> Kind {
    match k {
        CertKind::Auth => Kind::Auth,
        CertKind::Sign => Kind::Sign,
    }
}

/// The serial correspondence, observed: the implementation's phone certs in registry (serial)
/// order are the model's registry (the model's serial is its issuance index; the
/// implementation's serials grow with issuance, card certs interleaved).
pub fn serials(sys: &System) -> Vec<ISerial> {
    sys.ca()
        .registry()
        .records()
        .filter(|r| matches!(r.subject, CertSubject::Phone { .. }))
        .map(|r| r.serial)
        .collect()
}

/// Model serial of an implementation serial, if it is a phone cert.
pub fn model_serial(serials: &[ISerial], s: ISerial) -> Option<Serial> {
    serials
        .iter()
        .position(|&x| x == s)
        .and_then(|i| u8::try_from(i).ok())
        .map(Serial)
}

/// Card generation of the card cert `card_serial` (R-LINK).
fn generation_of(sys: &System, card_serial: ISerial) -> Option<u8> {
    match sys.ca().registry().get(card_serial)?.subject {
        CertSubject::CardSigning { generation } => u8::try_from(generation).ok(),
        CertSubject::Phone { .. } => None,
    }
}

/// The threat actors' facts (THREAT-FINDER, -OFFLINE-SIGN, -PIN-KNOWN).
fn threats(config: &Config, sys: &System, ids: &[ISerial]) -> Result<Threats, MapError> {
    // pin_known, and the facts of the model-only alternatives (fingers, SIM swaps, mailed
    // codes): world parameters and their initial values (the drivers never offer the
    // alternatives' actions, so nothing changes them).
    let mut t = Threats::initial(config);
    // found (observed): the phones a stranger found and keeps.
    for h in config.phone_ids() {
        if sys.found_by_stranger(phone(h)) {
            t.found |= 1 << h.0;
        }
    }
    // signatures (observed): the signatures waiting to be presented, by model serial, with
    // who held the phone when it signed.
    for (s, x) in sys.offline_signatures() {
        let serial = model_serial(ids, s)
            .ok_or_else(|| MapError::UnknownSerial("a waiting signature".into(), s.0))?;
        t.signatures.push(Signature {
            serial,
            by: holder(x.by)?,
        });
    }
    t.signatures.sort();
    Ok(t)
}

/// Model holder of an implementation holder.
fn holder(h: IHolder) -> Result<Holder, MapError> {
    Ok(match h {
        IHolder::Person(p) => Holder::Person(PersonId(
            u8::try_from(p.0).map_err(|_| MapError::TooLarge("person"))?,
        )),
        IHolder::Stranger => Holder::Stranger,
        IHolder::Nobody => Holder::Nobody,
    })
}

/// The refinement mapping: the model state the implementation `sys` (with the driver's
/// `ghost`) stands for in the world `config`.
pub fn abstract_state(config: &Config, sys: &System, ghost: &Ghost) -> Result<State, MapError> {
    let ids = serials(sys);
    let map_serial = |at: &str, s: ISerial| {
        model_serial(&ids, s).ok_or_else(|| MapError::UnknownSerial(at.to_string(), s.0))
    };

    // persons: one per card (observed).
    let mut persons = phone_jpki_model::state::Persons::new();
    for p in config.person_ids() {
        // The person's latest card signing cert (observed, registry).
        let rec = sys
            .ca()
            .registry()
            .latest_card_cert(person(p))
            .ok_or(MapError::NoCardCert(p))?;
        // card_generation: its generation number (observed).
        let card_generation = match rec.subject {
            CertSubject::CardSigning { generation } => {
                u8::try_from(generation).map_err(|_| MapError::TooLarge("card generation"))?
            }
            CertSubject::Phone { .. } => return Err(MapError::NoCardCert(p)),
        };
        // card: its registry status (observed): active = valid, revoked, or expiry recorded.
        let card = match rec.status {
            ImplStatus::Active => CardStatus::Valid,
            ImplStatus::Revoked { .. } => CardStatus::Revoked,
            ImplStatus::Expired { .. } => CardStatus::Expired,
            other => return Err(MapError::CardStatus(p, other.to_string())),
        };
        persons.push(Person {
            card_generation,
            card,
        });
    }

    // phones (observed through phone_view / the SP-TSM session, except where noted).
    let mut phones = phone_jpki_model::state::Phones::new();
    for h in config.phone_ids() {
        let v = sys.phone_view(phone(h)).ok_or(MapError::NoPhone(h))?;
        let i = h.index();
        let slots = {
            let mut slots = [Slot::Empty; 2];
            for info in &v.slots {
                let k = model_kind(info.kind);
                let at = format!("{h} slot {k}");
                // What the applet answers for the slot (GET CREDENTIAL STATE); the PIN
                // counter as the applet counts it (R-PIN-RETRY).
                slots[k.index()] = match info.pin_state {
                    PinState::Empty => Slot::Empty,
                    // A key without a PIN: the owner is tracked (the applet stores none).
                    PinState::KeyGenerated => Slot::Key {
                        person: *ghost
                            .key_person
                            .get(&(h, k))
                            .ok_or(MapError::UnknownKeyOwner(h, k))?,
                        // certified (tracked): see Ghost::key_certified.
                        certified: ghost.key_certified.get(&(h, k)).copied(),
                    },
                    st => {
                        let serial = info
                            .cert_serial
                            .ok_or_else(|| MapError::UnknownSerial(at.clone(), 0))?;
                        let serial = map_serial(&at, serial)?;
                        let pin = match st {
                            PinState::Temporary => Pin::Temporary,
                            PinState::Blocked => Pin::Blocked,
                            _ => Pin::User {
                                tries_left: info.tries_left,
                            },
                        };
                        Slot::Cert { serial, pin }
                    }
                };
            }
            slots
        };
        // session: the SP-TSM's issuance session for the phone (observed); its card
        // generation is that of the card cert that signed the application.
        let session = match sys.session(phone(h)) {
            None => None,
            Some(s) => Some(Session {
                person: PersonId(
                    u8::try_from(s.person.0).map_err(|_| MapError::TooLarge("person"))?,
                ),
                kind: model_kind(s.kind),
                card_generation: generation_of(sys, s.card_serial).ok_or_else(|| {
                    MapError::UnknownSerial(format!("{h} session"), s.card_serial.0)
                })?,
                step: match &s.step {
                    IssuanceStep::Applied => SessionStep::Applied,
                    IssuanceStep::KeyGenerated { .. } => SessionStep::KeyGenerated,
                    IssuanceStep::Issued { serial, .. } => {
                        SessionStep::Issued(map_serial(&format!("{h} session"), *serial)?)
                    }
                    IssuanceStep::Written { serial } => {
                        SessionStep::CertWritten(map_serial(&format!("{h} session"), *serial)?)
                    }
                },
            }),
        };
        phones.push(Phone {
            // holder (observed).
            holder: holder(v.holder)?,
            // condition (observed).
            condition: match v.condition {
                ICondition::InHand => Condition::InHand,
                ICondition::Lost => Condition::Lost,
                ICondition::Broken => Condition::Broken,
            },
            // online (observed).
            online: v.online,
            // app_installs (tracked): installations the driver saw on this phone.
            app_installs: ghost.app_installs.get(i).copied().unwrap_or(0),
            // app (observed): an app is installed now; which installation is checked below.
            app: match v.app {
                None => false,
                Some(inst) => match ghost.installs.get(&inst) {
                    Some(&(ph, _)) if ph == h => true,
                    _ => return Err(MapError::UnknownInstallation(h, inst)),
                },
            },
            // applet (observed, GET STATUS of the SE).
            applet: v.applet,
            slots,
            session,
            // handovers (tracked): accepted hand-overs.
            handovers: ghost.handovers.get(i).copied().unwrap_or(0),
            // procedure_from (tracked): who left it with the procedure.
            procedure_from: ghost.procedure_from.get(i).copied().flatten(),
        });
    }

    // registry: the implementation's phone certs in serial order (observed).
    let mut registry = phone_jpki_model::state::Registry::new();
    for &s in &ids {
        let Some(rec) = sys.ca().registry().get(s) else {
            continue;
        };
        let CertSubject::Phone {
            kind: k,
            phone: ph,
            card_serial,
        } = rec.subject
        else {
            continue;
        };
        let p = PersonId(u8::try_from(rec.person.0).map_err(|_| MapError::TooLarge("person"))?);
        registry.push(PhoneCert {
            person: p,
            kind: model_kind(k),
            phone: PhoneId(u8::try_from(ph.0).map_err(|_| MapError::TooLarge("phone"))?),
            // card_generation: generation of the linked card cert (observed, R-LINK).
            card_generation: generation_of(sys, card_serial)
                .ok_or_else(|| MapError::UnknownSerial(format!("cert {}", s.0), card_serial.0))?,
            // status (observed); the revocation cause maps to the model's reason.
            status: match rec.status {
                ImplStatus::Active => CertStatus::Active,
                ImplStatus::Suspended { .. } => CertStatus::Suspended,
                ImplStatus::Revoked { cause, .. } => CertStatus::Revoked(match cause {
                    RevocationCause::UserRequestFromPhone => RevokeReason::FromPhone,
                    RevocationCause::WithCard => RevokeReason::WithCard,
                    RevocationCause::ModelChange => RevokeReason::ModelChange,
                    RevocationCause::Linked(_)
                    | RevocationCause::CardRenewed
                    | RevocationCause::CardRevoked => RevokeReason::Linked,
                }),
                // Its validity period ended (CertExpire).
                ImplStatus::Expired { .. } => CertStatus::Expired,
            },
            // signer (observed): the SP-TSM issues only to the person whose card signed the
            // application (it refuses an application naming someone else), so the holder.
            signer: p,
            // signature_valid_at_issue (tracked, observed just before CaIssue).
            signature_valid_at_issue: ghost.signature_valid.get(&s).copied().unwrap_or(false),
        });
    }

    // pushes: the push service's pending pushes (observed), in serial order like the model
    // (delivery order is the push service's choice; the model does not order by sending).
    let mut pushes = phone_jpki_model::state::Pushes::new();
    for pv in sys.pending_pushes() {
        let h = PhoneId(u8::try_from(pv.phone.0).map_err(|_| MapError::TooLarge("phone"))?);
        // token: the model's per-phone install number of the token's installation (tracked
        // correspondence).
        let token = match ghost.installs.get(&pv.token.installation) {
            Some(&(ph, n)) if ph == h => n,
            _ => return Err(MapError::UnknownInstallation(h, pv.token.installation)),
        };
        pushes.push(Push {
            phone: h,
            token,
            serial: map_serial("a pending push", pv.serial)?,
            kind: model_kind(pv.kind),
        });
    }
    pushes.sort_by_key(|p| p.serial);

    Ok(State {
        persons,
        phones,
        registry,
        pushes,
        // keys_outside_se (ground truth): the implementation generates keys in the SE only.
        keys_outside_se: 0,
        threats: threats(config, sys, &ids)?,
        // events (tracked): detours that changed the mapped state.
        events: ghost.events,
    })
}
