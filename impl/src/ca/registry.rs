//! The J-LIS certificate registry: who holds which certificate, what it is, how it is linked,
//! and its status (R-ONE, R-LINK, R-REVOKE, R-SUSPEND, R-MODEL-CHANGE, INV-ONE, INV-LINK,
//! INV-ISSUE-AUTH).
//!
//! The registry holds the end-entity certificates (card signing and phone certificates); the
//! CA root is not a registry entry. Every mutation is one step: it validates everything it
//! needs first and only then changes state, so a refused operation leaves the registry as it
//! was.
//!
//! # Statuses and the CRL
//! - `Active`: good; not on the CRL.
//! - `Suspended`: on the CRL with reason `certificateHold` (6); [`Ca::resume`](super::Ca::resume) takes it
//!   off again (R-SUSPEND). Only phone certificates are suspended.
//! - `Revoked { cause, time }`: terminal; on the CRL with the reason code of `cause`
//!   ([`RevocationCause::crl_reason`]).
//! - `Expired { time }`: a card signing certificate whose expiry was recorded
//!   (`CardExpire`). Terminal, but NOT a CRL entry: an expired certificate is refused on its
//!   validity period, and RFC 5280 CRLs list revoked, not expired, certificates. Its linked
//!   phone certificates are revoked (R-LINK) and do appear on the CRL.
//!
//! # Reason-code mapping ([`RevocationCause`] -> RFC 5280 CRLReason)
//! | cause | applies to | CRLReason |
//! |---|---|---|
//! | `UserRequestFromPhone` (R-REVOKE(a): dispose, transfer) | phone | cessationOfOperation (5) |
//! | `WithCard` (R-REVOKE(b): lost or broken phone) | phone | keyCompromise (1) |
//! | `ModelChange` (R-MODEL-CHANGE, R-REVOKE(d)) | phone | superseded (4) |
//! | `Linked(_)` (R-LINK, R-REVOKE(c): card renewed, revoked or expired) | phone | affiliationChanged (3) |
//! | `CardRenewed` (new card generation, R-REISSUE) | card | superseded (4) |
//! | `CardRevoked` | card | unspecified (0), entry without reasonCode (RFC 5280 §5.3.1) |
//! | (suspension, R-SUSPEND) | phone | certificateHold (6) |
//!
//! Linked revocation (decision): `affiliationChanged`, because what ended is the card
//! certificate the phone certificate was tied to, and nothing says the phone's key is
//! compromised; so not `keyCompromise` even when the card was lost, and not `superseded`,
//! which says a newer certificate replaced this one (no phone certificate is issued by the
//! card event itself). `privilegeWithdrawn` was the other candidate; `affiliationChanged`
//! is the one relying-party software commonly treats as a routine end.

use super::cert::CertKind;
use super::crl::CrlEntry;
use super::{CaError, CardCertProblem, CrlReason, LogicalTime, PersonId, PhoneId, Serial};
use std::collections::BTreeMap;
use std::fmt;

/// How a card signing certificate ended; carried by linked phone-cert revocations (R-LINK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CardEnd {
    /// A new card certificate generation was issued (renewal or reissue).
    Renewed,
    /// The card certificate was revoked.
    Revoked,
    /// The card certificate expired.
    Expired,
}

/// Why a certificate was revoked: the internal reason, mapped to an RFC 5280 code by
/// [`RevocationCause::crl_reason`] (see the module documentation for the table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RevocationCause {
    /// R-REVOKE(a): the holder revoked from the phone itself (disposal, transfer).
    UserRequestFromPhone,
    /// R-REVOKE(b): revoked from another device with the card signature (loss, failure).
    WithCard,
    /// R-MODEL-CHANGE: a newer phone certificate of the same kind was issued to the person.
    ModelChange,
    /// R-LINK: the card signing certificate this phone certificate was linked to ended.
    Linked(CardEnd),
    /// A card signing certificate superseded by a new generation.
    CardRenewed,
    /// A card signing certificate revoked.
    CardRevoked,
}

impl RevocationCause {
    /// The RFC 5280 CRLReason code for this cause.
    pub fn crl_reason(self) -> CrlReason {
        match self {
            RevocationCause::UserRequestFromPhone => CrlReason::CessationOfOperation,
            RevocationCause::WithCard => CrlReason::KeyCompromise,
            RevocationCause::ModelChange => CrlReason::Superseded,
            RevocationCause::Linked(_) => CrlReason::AffiliationChanged,
            RevocationCause::CardRenewed => CrlReason::Superseded,
            RevocationCause::CardRevoked => CrlReason::Unspecified,
        }
    }

    /// Whether this cause may be named in an outside request to revoke a phone certificate
    /// (the others are set by the CA itself as consequences of other operations).
    pub fn requestable_for_phone(self) -> bool {
        matches!(
            self,
            RevocationCause::UserRequestFromPhone | RevocationCause::WithCard
        )
    }
}

impl fmt::Display for RevocationCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RevocationCause::UserRequestFromPhone => write!(f, "user request from the phone"),
            RevocationCause::WithCard => write!(f, "request with the card signature"),
            RevocationCause::ModelChange => write!(f, "model change"),
            RevocationCause::Linked(CardEnd::Renewed) => write!(f, "linked: card cert renewed"),
            RevocationCause::Linked(CardEnd::Revoked) => write!(f, "linked: card cert revoked"),
            RevocationCause::Linked(CardEnd::Expired) => write!(f, "linked: card cert expired"),
            RevocationCause::CardRenewed => write!(f, "card cert renewed"),
            RevocationCause::CardRevoked => write!(f, "card cert revoked"),
        }
    }
}

/// Status of a registered certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Good.
    Active,
    /// Temporarily suspended (certificateHold) since the given time (R-SUSPEND).
    Suspended {
        /// When it was suspended.
        since: LogicalTime,
    },
    /// Revoked for good.
    Revoked {
        /// Why.
        cause: RevocationCause,
        /// When.
        time: LogicalTime,
    },
    /// A certificate whose expiry was recorded (not a CRL entry): a card signing
    /// certificate, or a phone certificate whose validity period ended (`CertExpire`).
    Expired {
        /// When the expiry was recorded.
        time: LogicalTime,
    },
}

impl CertStatus {
    /// Not revoked and not expired: `Active` or `Suspended` (the sense of INV-ONE).
    pub fn is_live(&self) -> bool {
        matches!(self, CertStatus::Active | CertStatus::Suspended { .. })
    }
}

impl fmt::Display for CertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CertStatus::Active => write!(f, "active"),
            CertStatus::Suspended { since } => write!(f, "suspended since {since}"),
            CertStatus::Revoked { cause, time } => write!(f, "revoked at {time} ({cause})"),
            CertStatus::Expired { time } => write!(f, "expired at {time}"),
        }
    }
}

/// Answer to a status query by serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAnswer {
    /// The serial is registered; its status.
    Known(CertStatus),
    /// No end-entity certificate with this serial was issued.
    Unknown,
}

impl StatusAnswer {
    /// Whether a relying party may accept the certificate (Active only;
    /// INV-NO-USE-AFTER-REVOKE).
    pub fn is_good(&self) -> bool {
        matches!(self, StatusAnswer::Known(CertStatus::Active))
    }
}

/// What a registered certificate is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertSubject {
    /// The person's card signing certificate, generation `generation` (0, 1, ...).
    CardSigning {
        /// Generation number: 0 for the first, one more per renewal/reissue.
        generation: u32,
    },
    /// A phone certificate.
    Phone {
        /// Signing or user authentication.
        kind: CertKind,
        /// The phone whose SE holds the key (target of deletion pushes, R-TOKEN).
        phone: PhoneId,
        /// The card signing certificate whose signature authorised the issuance (R-LINK).
        card_serial: Serial,
    },
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// Serial number.
    pub serial: Serial,
    /// Holder.
    pub person: PersonId,
    /// What it is.
    pub subject: CertSubject,
    /// Current status.
    pub status: CertStatus,
    /// Start of validity.
    pub not_before: LogicalTime,
    /// End of validity (exclusive in this emulation's checks).
    pub not_after: LogicalTime,
    /// The certificate, DER.
    pub der: Vec<u8>,
}

impl CertRecord {
    /// The phone-certificate kind, if this is a phone certificate.
    pub fn phone_kind(&self) -> Option<CertKind> {
        match self.subject {
            CertSubject::Phone { kind, .. } => Some(kind),
            CertSubject::CardSigning { .. } => None,
        }
    }
}

/// A phone certificate revoked as part of an operation: what the TSM needs to send the
/// deletion push to the right phone (R-DELETE, R-TOKEN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevokedPhoneCert {
    /// The revoked certificate.
    pub serial: Serial,
    /// Its holder.
    pub person: PersonId,
    /// Its kind.
    pub kind: CertKind,
    /// The phone holding its key.
    pub phone: PhoneId,
    /// Why it was revoked.
    pub cause: RevocationCause,
}

/// Result of ending a card signing certificate (renewal, revocation, expiry; R-LINK).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardEnded {
    /// The card certificate that ended.
    pub card_serial: Serial,
    /// The linked phone certificates revoked with it, in serial order.
    pub linked_revoked: Vec<RevokedPhoneCert>,
}

/// The registry (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    records: BTreeMap<Serial, CertRecord>,
    /// Per person, the card signing certificate serials by generation (last = latest).
    card_generations: BTreeMap<PersonId, Vec<Serial>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The entry with this serial.
    pub fn get(&self, serial: Serial) -> Option<&CertRecord> {
        self.records.get(&serial)
    }

    /// All entries, in serial order.
    pub fn records(&self) -> impl Iterator<Item = &CertRecord> {
        self.records.values()
    }

    /// Status query by serial.
    pub fn status(&self, serial: Serial) -> StatusAnswer {
        match self.records.get(&serial) {
            Some(r) => StatusAnswer::Known(r.status),
            None => StatusAnswer::Unknown,
        }
    }

    /// Every certificate of `person` (card and phone, any status), in serial order.
    pub fn certificates_of(&self, person: PersonId) -> Vec<&CertRecord> {
        self.records
            .values()
            .filter(|r| r.person == person)
            .collect()
    }

    /// The person's latest card signing certificate generation, whatever its status.
    pub fn latest_card_cert(&self, person: PersonId) -> Option<&CertRecord> {
        self.card_generations
            .get(&person)
            .and_then(|g| g.last())
            .and_then(|s| self.records.get(s))
    }

    /// The person's live (Active or Suspended) phone certificate of `kind`; by INV-ONE
    /// there is at most one.
    pub fn live_phone_cert(&self, person: PersonId, kind: CertKind) -> Option<&CertRecord> {
        self.records
            .values()
            .find(|r| r.person == person && r.phone_kind() == Some(kind) && r.status.is_live())
    }

    /// Phone certificates whose key is on `phone`, any status, in serial order.
    pub fn phone_certs_on(&self, phone: PhoneId) -> Vec<&CertRecord> {
        self.records
            .values()
            .filter(|r| matches!(r.subject, CertSubject::Phone { phone: p, .. } if p == phone))
            .collect()
    }

    /// INV-ISSUE-AUTH: `serial` must be `person`'s current card signing certificate, Active,
    /// and within its validity period at `now`.
    pub fn check_card_valid(
        &self,
        serial: Serial,
        person: PersonId,
        now: LogicalTime,
    ) -> Result<&CertRecord, CaError> {
        let record = self
            .records
            .get(&serial)
            .ok_or(CaError::UnknownSerial(serial))?;
        if !matches!(record.subject, CertSubject::CardSigning { .. }) {
            return Err(CaError::NotACardCert(serial));
        }
        if record.person != person {
            return Err(CaError::PersonMismatch {
                claimed: person,
                holder: record.person,
            });
        }
        let invalid = |why| CaError::CardCertNotValid { serial, why };
        match record.status {
            CertStatus::Active => {}
            CertStatus::Revoked { cause, .. } => {
                return Err(invalid(CardCertProblem::Revoked(cause)))
            }
            CertStatus::Expired { .. } => return Err(invalid(CardCertProblem::Expired)),
            CertStatus::Suspended { .. } => return Err(invalid(CardCertProblem::Suspended)),
        }
        match self.latest_card_cert(person) {
            Some(latest) if latest.serial == serial => {}
            Some(latest) => {
                return Err(invalid(CardCertProblem::NotCurrent {
                    current: latest.serial,
                }))
            }
            None => return Err(CaError::NoCardCert(person)),
        }
        if now < record.not_before {
            return Err(invalid(CardCertProblem::BeforeNotBefore(record.not_before)));
        }
        if now >= record.not_after {
            return Err(invalid(CardCertProblem::PastNotAfter(record.not_after)));
        }
        Ok(record)
    }

    /// The next card generation number for `person`.
    pub fn next_card_generation(&self, person: PersonId) -> u32 {
        self.card_generations
            .get(&person)
            .map_or(0, |g| u32::try_from(g.len()).unwrap_or(u32::MAX))
    }

    /// The CRL entries: every revoked certificate with its cause's reason code, and every
    /// suspended one with certificateHold. Expired card certificates are not listed.
    pub fn crl_entries(&self) -> Vec<CrlEntry> {
        self.records
            .values()
            .filter_map(|r| match r.status {
                CertStatus::Revoked { cause, time } => Some(CrlEntry {
                    serial: r.serial,
                    time,
                    reason: cause.crl_reason(),
                }),
                CertStatus::Suspended { since } => Some(CrlEntry {
                    serial: r.serial,
                    time: since,
                    reason: CrlReason::CertificateHold,
                }),
                CertStatus::Active | CertStatus::Expired { .. } => None,
            })
            .collect()
    }

    /// Check the registry invariants: INV-ONE (at most one live phone cert per person and
    /// kind), INV-LINK (every live phone cert is linked to its person's latest card cert,
    /// which is Active) and at most one Active card cert per person, the latest.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut live: BTreeMap<(PersonId, CertKind), Serial> = BTreeMap::new();
        for r in self.records.values() {
            match r.subject {
                CertSubject::Phone {
                    kind, card_serial, ..
                } if r.status.is_live() => {
                    if let Some(other) = live.insert((r.person, kind), r.serial) {
                        return Err(format!(
                            "INV-ONE: {} has live {kind} certs {other} and {}",
                            r.person, r.serial
                        ));
                    }
                    let latest = self.latest_card_cert(r.person);
                    match latest {
                        Some(c) if c.serial == card_serial && c.status == CertStatus::Active => {}
                        _ => {
                            return Err(format!(
                                "INV-LINK: live phone cert {} linked to {card_serial}, which is \
                                 not {}'s active current card cert",
                                r.serial, r.person
                            ))
                        }
                    }
                }
                CertSubject::CardSigning { .. }
                    if r.status == CertStatus::Active
                        && self.latest_card_cert(r.person).map(|c| c.serial) != Some(r.serial) =>
                {
                    return Err(format!(
                        "card cert {} of {} is active but not the latest generation",
                        r.serial, r.person
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn set_status(&mut self, serial: Serial, status: CertStatus) {
        if let Some(r) = self.records.get_mut(&serial) {
            r.status = status;
        }
    }

    /// Revoke every live phone cert linked to `card_serial` (R-LINK).
    fn revoke_linked(
        &mut self,
        card_serial: Serial,
        end: CardEnd,
        now: LogicalTime,
    ) -> Vec<RevokedPhoneCert> {
        let cause = RevocationCause::Linked(end);
        let mut out = Vec::new();
        for r in self.records.values_mut() {
            if let CertSubject::Phone {
                kind,
                phone,
                card_serial: linked,
            } = r.subject
            {
                if linked == card_serial && r.status.is_live() {
                    r.status = CertStatus::Revoked { cause, time: now };
                    out.push(RevokedPhoneCert {
                        serial: r.serial,
                        person: r.person,
                        kind,
                        phone,
                        cause,
                    });
                }
            }
        }
        out
    }

    fn check_new_serial(&self, serial: Serial) -> Result<(), CaError> {
        if self.records.contains_key(&serial) {
            Err(CaError::Encoding(format!("serial {serial} already in use")))
        } else {
            Ok(())
        }
    }

    /// Register a new card signing certificate generation. The previous generation, if still
    /// Active, is superseded (`CardRenewed`) and its linked phone certs are revoked
    /// (`Linked(Renewed)`, R-LINK). Returns what ended, if anything.
    pub(crate) fn add_card_cert(
        &mut self,
        record: CertRecord,
        now: LogicalTime,
    ) -> Result<Option<CardEnded>, CaError> {
        self.check_new_serial(record.serial)?;
        match record.subject {
            CertSubject::CardSigning { generation }
                if generation == self.next_card_generation(record.person) => {}
            _ => {
                return Err(CaError::Encoding(format!(
                    "record {} is not the next card generation",
                    record.serial
                )))
            }
        }
        let previous = self
            .latest_card_cert(record.person)
            .filter(|r| r.status.is_live())
            .map(|r| r.serial);
        let ended = previous.map(|prev| {
            self.set_status(
                prev,
                CertStatus::Revoked {
                    cause: RevocationCause::CardRenewed,
                    time: now,
                },
            );
            CardEnded {
                card_serial: prev,
                linked_revoked: self.revoke_linked(prev, CardEnd::Renewed, now),
            }
        });
        self.card_generations
            .entry(record.person)
            .or_default()
            .push(record.serial);
        self.records.insert(record.serial, record);
        Ok(ended)
    }

    /// End the person's current card signing certificate by revocation or recorded expiry,
    /// revoking its linked phone certs (R-LINK). `end` must not be `Renewed` (renewal is
    /// `add_card_cert`).
    pub(crate) fn end_card_cert(
        &mut self,
        person: PersonId,
        end: CardEnd,
        now: LogicalTime,
    ) -> Result<CardEnded, CaError> {
        let latest = self
            .latest_card_cert(person)
            .ok_or(CaError::NoCardCert(person))?;
        if !latest.status.is_live() {
            return Err(CaError::CardCertAlreadyEnded {
                serial: latest.serial,
                status: latest.status,
            });
        }
        let serial = latest.serial;
        let status = match end {
            CardEnd::Revoked => CertStatus::Revoked {
                cause: RevocationCause::CardRevoked,
                time: now,
            },
            CardEnd::Expired => CertStatus::Expired { time: now },
            CardEnd::Renewed => {
                return Err(CaError::InvalidTransition {
                    serial,
                    operation: "end by renewal without a new generation",
                    status: latest.status,
                })
            }
        };
        self.set_status(serial, status);
        Ok(CardEnded {
            card_serial: serial,
            linked_revoked: self.revoke_linked(serial, end, now),
        })
    }

    /// Register a new phone certificate and, in the same step, revoke the person's previous
    /// live phone certificate of the same kind (`ModelChange`; R-ONE, R-MODEL-CHANGE). Refused,
    /// with no change, unless the linked card certificate is valid at `now` (INV-ISSUE-AUTH).
    pub(crate) fn add_phone_cert(
        &mut self,
        record: CertRecord,
        now: LogicalTime,
    ) -> Result<Option<RevokedPhoneCert>, CaError> {
        self.check_new_serial(record.serial)?;
        let CertSubject::Phone {
            kind, card_serial, ..
        } = record.subject
        else {
            return Err(CaError::NotAPhoneCert(record.serial));
        };
        self.check_card_valid(card_serial, record.person, now)?;
        let previous = self.live_phone_cert(record.person, kind).map(|r| r.serial);
        let revoked = match previous {
            Some(prev) => Some(self.revoke_phone(prev, RevocationCause::ModelChange, now)?),
            None => None,
        };
        self.records.insert(record.serial, record);
        Ok(revoked)
    }

    /// Revoke a live phone certificate with `cause` (any cause; the CA checks which causes
    /// outside callers may name).
    pub(crate) fn revoke_phone(
        &mut self,
        serial: Serial,
        cause: RevocationCause,
        now: LogicalTime,
    ) -> Result<RevokedPhoneCert, CaError> {
        let record = self
            .records
            .get(&serial)
            .ok_or(CaError::UnknownSerial(serial))?;
        let CertSubject::Phone { kind, phone, .. } = record.subject else {
            return Err(CaError::NotAPhoneCert(serial));
        };
        if !record.status.is_live() {
            return Err(CaError::InvalidTransition {
                serial,
                operation: "revoke",
                status: record.status,
            });
        }
        let person = record.person;
        self.set_status(serial, CertStatus::Revoked { cause, time: now });
        Ok(RevokedPhoneCert {
            serial,
            person,
            kind,
            phone,
            cause,
        })
    }

    fn phone_record(&self, serial: Serial) -> Result<&CertRecord, CaError> {
        let record = self
            .records
            .get(&serial)
            .ok_or(CaError::UnknownSerial(serial))?;
        match record.subject {
            CertSubject::Phone { .. } => Ok(record),
            CertSubject::CardSigning { .. } => Err(CaError::NotAPhoneCert(serial)),
        }
    }

    /// Record the end of a live phone certificate's validity period (更新, R-REISSUE): it is
    /// no longer live; expiry is a status, not a CRL entry.
    pub(crate) fn expire_phone(&mut self, serial: Serial, now: LogicalTime) -> Result<(), CaError> {
        let record = self.phone_record(serial)?;
        if !record.status.is_live() {
            return Err(CaError::InvalidTransition {
                serial,
                operation: "expire",
                status: record.status,
            });
        }
        self.set_status(serial, CertStatus::Expired { time: now });
        Ok(())
    }

    /// Suspend an Active phone certificate (certificateHold; R-SUSPEND).
    pub(crate) fn suspend(&mut self, serial: Serial, now: LogicalTime) -> Result<(), CaError> {
        let record = self.phone_record(serial)?;
        if record.status != CertStatus::Active {
            return Err(CaError::InvalidTransition {
                serial,
                operation: "suspend",
                status: record.status,
            });
        }
        self.set_status(serial, CertStatus::Suspended { since: now });
        Ok(())
    }

    /// Resume a Suspended phone certificate (R-SUSPEND); refused from any other status.
    pub(crate) fn resume(&mut self, serial: Serial) -> Result<(), CaError> {
        let record = self.phone_record(serial)?;
        if !matches!(record.status, CertStatus::Suspended { .. }) {
            return Err(CaError::InvalidTransition {
                serial,
                operation: "resume",
                status: record.status,
            });
        }
        self.set_status(serial, CertStatus::Active);
        Ok(())
    }
}
