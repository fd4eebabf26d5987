//! The SP-TSM of the JPKI service: application intake with card-signature verification
//! (R-ISSUE), the phone-certificate status check before reissue (R-REISSUE), the issuance
//! session over SCP03 to the APSD (R-KEYGEN, R-SCP03, R-PIN-SETUP), PIN initialisation
//! (R-PIN-INIT), revocation requests (R-REVOKE (a), (b)), deletion pushes to the token of the
//! phone that holds the revoked credential (R-TOKEN, R-DELETE), the status sync asked by the
//! app when it comes online or is installed (our decision for R-DELETE) and the push-token
//! registry.
//!
//! Deletion is always by serial (DELETE CREDENTIAL BY SERIAL): a late push never removes a
//! newer credential of the same kind (INV-NO-STALE-DELETE). A certificate revoked between
//! its issuance and WRITE CERTIFICATE is never written.

use super::{KeyRing, ScpLink, TsmError, TsmWire};
use crate::apdu::{Command, StatusWord};
use crate::applet::{self, Kind};
use crate::ca::{
    Ca, CaError, CertKind, CertStatus, LogicalTime, PersonId, PhoneId, RevocationCause,
    RevokedPhoneCert, Serial, StatusAnswer,
};
use crate::push::{DeletionNotice, PushService, Token};
use crate::scp03::SecurityLevel;
use crate::se::{KeysetSpec, SdId};
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use sha2::Digest;
use std::collections::BTreeMap;
use std::fmt;

/// The applet slot for a certificate kind.
pub fn applet_kind(kind: CertKind) -> Kind {
    match kind {
        CertKind::Auth => Kind::Auth,
        CertKind::Sign => Kind::Sign,
    }
}

/// A serial as the big-endian bytes DELETE CREDENTIAL BY SERIAL carries.
pub fn serial_bytes(serial: Serial) -> Vec<u8> {
    let b = serial.0.to_be_bytes();
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len() - 1);
    b.get(first..).unwrap_or(&[0]).to_vec()
}

/// A serial from INTEGER content bytes (as the applet reports them); `None` if it does not
/// fit 64 bits.
pub fn serial_from_bytes(bytes: &[u8]) -> Option<Serial> {
    let first = bytes.iter().position(|&x| x != 0).unwrap_or(bytes.len());
    let rest = bytes.get(first..)?;
    if rest.len() > 8 {
        return None;
    }
    Some(Serial(
        rest.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)),
    ))
}

/// What a card-signed request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Issuance (or reissue) of a phone certificate (R-ISSUE).
    Issue,
    /// Revocation from another device (R-REVOKE(b)).
    Revoke,
    /// PIN initialisation (R-PIN-INIT).
    InitPin,
}

/// A request the holder signs with the card signing key (R-ISSUE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Application {
    /// What it asks for.
    pub purpose: Purpose,
    /// The applicant.
    pub person: PersonId,
    /// The phone concerned, if any (issuance, PIN init).
    pub phone: Option<PhoneId>,
    /// The certificate kind.
    pub kind: CertKind,
    /// A fresh number, so no two applications are the same bytes.
    pub nonce: u64,
}

impl Application {
    /// The bytes the card signs.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = b"phone-jpki application v1\0".to_vec();
        out.push(match self.purpose {
            Purpose::Issue => 1,
            Purpose::Revoke => 2,
            Purpose::InitPin => 3,
        });
        out.extend(self.person.0.to_be_bytes());
        match self.phone {
            Some(p) => {
                out.push(1);
                out.extend(p.0.to_be_bytes());
            }
            None => out.push(0),
        }
        out.push(applet_kind(self.kind).p2());
        out.extend(self.nonce.to_be_bytes());
        out
    }
}

/// An application with the card's signature and certificate, as sent to the SP-TSM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedApplication {
    /// The request.
    pub application: Application,
    /// RSASSA-PKCS1-v1_5 / SHA-256 signature of [`Application::encode`] by the card.
    pub signature: Vec<u8>,
    /// The card signing certificate (DER), read from the card.
    pub card_cert_der: Vec<u8>,
}

/// The step an issuance session has reached (phases 3 and 4 of 003).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuanceStep {
    /// Application accepted.
    Applied,
    /// Key pair generated in the SE; its public key.
    KeyGenerated {
        /// The public key answered by GENERATE KEY PAIR.
        public: RsaPublicKey,
    },
    /// Certificate issued by the CA, not yet written.
    Issued {
        /// Its serial.
        serial: Serial,
        /// DER.
        der: Vec<u8>,
    },
    /// Certificate and temporary PIN written; waiting for the user PIN.
    Written {
        /// Its serial.
        serial: Serial,
    },
}

/// One issuance session on one phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The applicant.
    pub person: PersonId,
    /// The kind applied for.
    pub kind: CertKind,
    /// The card signing certificate whose signature authorised it (R-LINK).
    pub card_serial: Serial,
    /// Where it stands.
    pub step: IssuanceStep,
    temp_pin: Option<String>,
}

/// Why the SP-TSM refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpError {
    /// The card signature or certificate is not acceptable (R-ISSUE): not valid, revoked,
    /// expired, not current, bad signature.
    CardNotValid(CaError),
    /// The application names another person, phone or kind than the request.
    ApplicationMismatch,
    /// R-REISSUE: the person's certificate of this kind on this phone is still live.
    ReissueWhileLive(Serial),
    /// An issuance session is already in progress on this phone.
    SessionInProgress,
    /// No issuance session on this phone.
    NoSession,
    /// The session is not at the step this operation needs.
    WrongStep,
    /// The certificate was revoked (or is unknown to the CA).
    CertRevoked(Serial),
    /// The certificate's validity period has ended (its expiry recorded).
    CertExpired(Serial),
    /// The certificate belongs to another person.
    NotCredentialOwner,
    /// The person has no live certificate of this kind.
    NoLiveCert,
    /// A protocol or CA failure.
    Tsm(TsmError),
}

impl fmt::Display for SpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpError::CardNotValid(e) => write!(f, "card signature refused: {e}"),
            SpError::ApplicationMismatch => write!(f, "the application does not match"),
            SpError::ReissueWhileLive(s) => {
                write!(f, "reissue refused: certificate {s} on this phone is live")
            }
            SpError::SessionInProgress => write!(f, "an issuance session is in progress"),
            SpError::NoSession => write!(f, "no issuance session on this phone"),
            SpError::WrongStep => write!(f, "the issuance session is not at this step"),
            SpError::CertRevoked(s) => write!(f, "certificate {s} is revoked"),
            SpError::CertExpired(s) => write!(f, "certificate {s} has expired"),
            SpError::NotCredentialOwner => write!(f, "the credential belongs to someone else"),
            SpError::NoLiveCert => write!(f, "no live certificate of this kind"),
            SpError::Tsm(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SpError {}

impl From<TsmError> for SpError {
    fn from(e: TsmError) -> Self {
        SpError::Tsm(e)
    }
}

/// Largest certificate block per WRITE CERTIFICATE command.
const CERT_BLOCK: usize = 200;

/// The SP-TSM (see the module documentation).
#[derive(Debug, Clone)]
pub struct SpTsm {
    ring: KeyRing,
    tokens: BTreeMap<PhoneId, Token>,
    sessions: BTreeMap<PhoneId, Issuance>,
    rng: ChaCha20Rng,
}

impl SpTsm {
    /// An SP-TSM with no phones; host challenges and temporary PINs come from `rng`.
    pub fn new(rng: ChaCha20Rng) -> Self {
        SpTsm {
            ring: KeyRing::new(SdId::Apsd),
            tokens: BTreeMap::new(),
            sessions: BTreeMap::new(),
            rng,
        }
    }

    /// Require `level` instead of [`PERSONALISATION_LEVEL`] on every link (configuration,
    /// never the card's answer).
    pub fn with_level(mut self, level: SecurityLevel) -> Self {
        self.ring.level = level;
        self
    }

    /// Planned rotation of `phone`'s APSD keys (PUT KEY; the sequence counter starts
    /// again). Links also rotate on their own near the counter's end (`super::ROTATE_AT`).
    pub fn rotate_keys(&mut self, se: &mut dyn TsmWire, phone: PhoneId) -> Result<(), TsmError> {
        self.ring.rotate(se, phone, &mut self.rng)
    }

    /// The key set held for `phone`'s domain.
    pub fn keys(&self, phone: PhoneId) -> Option<&KeysetSpec> {
        self.ring.get(phone)
    }

    /// Record the APSD key set of `phone`'s SE.
    pub fn register_phone(&mut self, phone: PhoneId, keys: KeysetSpec) {
        self.ring.register(phone, keys);
    }

    /// The app registered `token` for its phone (R-TOKEN): it replaces the previous one.
    pub fn register_token(&mut self, token: Token) {
        self.tokens.insert(token.phone, token);
    }

    /// The last token registered for `phone`.
    pub fn token(&self, phone: PhoneId) -> Option<Token> {
        self.tokens.get(&phone).copied()
    }

    /// The issuance session on `phone`, if any.
    pub fn session(&self, phone: PhoneId) -> Option<&Issuance> {
        self.sessions.get(&phone)
    }

    pub(crate) fn link<'a>(
        &mut self,
        se: &'a mut dyn TsmWire,
        phone: PhoneId,
    ) -> Result<ScpLink<'a>, TsmError> {
        self.ring.link(se, phone, &mut self.rng)
    }

    /// Check a card-signed application (R-ISSUE): the CA verifies the signature and the card
    /// certificate; the application must be for `purpose`, `person`, `phone`, `kind`.
    pub(crate) fn check_card(
        ca: &Ca,
        signed: &SignedApplication,
        expected: (Purpose, PersonId, Option<PhoneId>, CertKind),
        now: LogicalTime,
    ) -> Result<crate::ca::VerifiedCard, SpError> {
        let verified = ca
            .verify_card_signature(
                &signed.application.encode(),
                &signed.signature,
                &signed.card_cert_der,
                now,
            )
            .map_err(SpError::CardNotValid)?;
        let a = signed.application;
        if (a.purpose, a.person, a.phone, a.kind) != expected || verified.person != a.person {
            return Err(SpError::ApplicationMismatch);
        }
        Ok(verified)
    }

    /// Application intake (R-ISSUE, R-REISSUE): verify the card signature, then refuse while
    /// the person's certificate of this kind on THIS phone is live; open the session.
    pub fn apply(
        &mut self,
        ca: &Ca,
        phone: PhoneId,
        signed: &SignedApplication,
        now: LogicalTime,
    ) -> Result<(), SpError> {
        if self.sessions.contains_key(&phone) {
            return Err(SpError::SessionInProgress);
        }
        let a = signed.application;
        let verified = Self::check_card(
            ca,
            signed,
            (Purpose::Issue, a.person, Some(phone), a.kind),
            now,
        )?;
        if let Some(live) = ca.live_phone_cert(a.person, a.kind) {
            if matches!(live.subject, crate::ca::CertSubject::Phone { phone: p, .. } if p == phone)
            {
                return Err(SpError::ReissueWhileLive(live.serial));
            }
        }
        self.sessions.insert(
            phone,
            Issuance {
                person: a.person,
                kind: a.kind,
                card_serial: verified.card_serial,
                step: IssuanceStep::Applied,
                temp_pin: None,
            },
        );
        Ok(())
    }

    /// GENERATE KEY PAIR in the SE slot of the session's kind, over SCP03 (R-KEYGEN).
    pub fn generate_key(&mut self, se: &mut dyn TsmWire, phone: PhoneId) -> Result<(), SpError> {
        let kind = match self.sessions.get(&phone) {
            None => return Err(SpError::NoSession),
            Some(s) if s.step != IssuanceStep::Applied => return Err(SpError::WrongStep),
            Some(s) => s.kind,
        };
        let mut link = self.link(se, phone)?;
        let spki = link.expect_ok(
            "GENERATE KEY PAIR",
            &Command::new(
                0x80,
                applet::ins::GENERATE_KEY_PAIR,
                0,
                applet_kind(kind).p2(),
                vec![],
            )
            .with_le(0),
        )?;
        let public = RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| TsmError::Malformed(format!("public key from the SE: {e}")))?;
        if let Some(s) = self.sessions.get_mut(&phone) {
            s.step = IssuanceStep::KeyGenerated { public };
        }
        Ok(())
    }

    /// Send the public key to the CA (R-ISSUE). The CA revokes the person's previous live
    /// certificate of the kind on another phone (R-MODEL-CHANGE); its deletion push goes to
    /// that phone's token (R-TOKEN).
    pub fn ca_issue(
        &mut self,
        ca: &mut Ca,
        push: &mut PushService,
        phone: PhoneId,
        now: LogicalTime,
    ) -> Result<Serial, SpError> {
        let s = self.sessions.get(&phone).ok_or(SpError::NoSession)?;
        let IssuanceStep::KeyGenerated { public } = &s.step else {
            return Err(SpError::WrongStep);
        };
        let issued = ca
            .issue_phone_cert(s.person, s.kind, phone, public, s.card_serial, now)
            .map_err(|e| match e {
                CaError::CardCertNotValid { .. } | CaError::NoCardCert(_) => {
                    SpError::CardNotValid(e)
                }
                other => SpError::Tsm(TsmError::Ca(other)),
            })?;
        if let Some(prev) = issued.revoked_previous {
            self.notify_deletion(push, &prev);
        }
        if let Some(s) = self.sessions.get_mut(&phone) {
            s.step = IssuanceStep::Issued {
                serial: issued.serial,
                der: issued.der,
            };
        }
        Ok(issued.serial)
    }

    /// WRITE CERTIFICATE and SET TEMPORARY PIN over SCP03 (R-PIN-SETUP). A certificate that
    /// was revoked since its issuance is not written; the session stays.
    pub fn write_cert(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
    ) -> Result<(), SpError> {
        let s = self.sessions.get(&phone).ok_or(SpError::NoSession)?;
        let IssuanceStep::Issued { serial, der } = &s.step else {
            return Err(SpError::WrongStep);
        };
        let (serial, der, kind) = (*serial, der.clone(), s.kind);
        // Refused, the session stays (the holder may abandon it): a refusal changes nothing.
        ended(ca.status(serial), serial)?;
        let temp = self.temporary_pin(kind);
        let p2 = applet_kind(kind).p2();
        let mut link = self.link(se, phone)?;
        let blocks: Vec<&[u8]> = der.chunks(CERT_BLOCK).collect();
        for (i, block) in blocks.iter().enumerate() {
            let p1 = if i + 1 < blocks.len() { 0x80 } else { 0x00 };
            link.expect_ok(
                "WRITE CERTIFICATE",
                &Command::new(0x80, applet::ins::WRITE_CERTIFICATE, p1, p2, block.to_vec()),
            )?;
        }
        link.expect_ok(
            "SET TEMPORARY PIN",
            &Command::new(
                0x80,
                applet::ins::SET_TEMPORARY_PIN,
                0,
                p2,
                temp.as_bytes().to_vec(),
            ),
        )?;
        if let Some(s) = self.sessions.get_mut(&phone) {
            s.step = IssuanceStep::Written { serial };
            s.temp_pin = Some(temp);
        }
        Ok(())
    }

    /// The temporary PIN of a written session, handed to the app (never shown to the user)
    /// so that it sets the user PIN in the same session; the card certificate must still be
    /// the person's valid one (R-PIN-SETUP).
    pub fn temporary_pin_for(
        &self,
        ca: &Ca,
        phone: PhoneId,
        now: LogicalTime,
    ) -> Result<(PersonId, CertKind, String), SpError> {
        let s = self.sessions.get(&phone).ok_or(SpError::NoSession)?;
        let (IssuanceStep::Written { .. }, Some(temp)) = (&s.step, &s.temp_pin) else {
            return Err(SpError::WrongStep);
        };
        match ca.current_card_cert(s.person, now) {
            Some(c) if c.serial == s.card_serial => Ok((s.person, s.kind, temp.clone())),
            _ => Err(SpError::CardNotValid(CaError::NoCardCert(s.person))),
        }
    }

    /// A written session whose temporary PIN the holder already replaced (R-PIN-INIT during
    /// the session): RESET PIN over SCP03 with a fresh temporary PIN, so that the session's
    /// user PIN can still be set (R-PIN-SETUP).
    pub fn renew_temporary_pin(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
    ) -> Result<(), SpError> {
        let s = self.sessions.get(&phone).ok_or(SpError::NoSession)?;
        if !matches!(s.step, IssuanceStep::Written { .. }) {
            return Err(SpError::WrongStep);
        }
        let kind = s.kind;
        let temp = self.reset_to_temporary_pin(se, phone, kind)?;
        if let Some(s) = self.sessions.get_mut(&phone) {
            s.temp_pin = Some(temp);
        }
        Ok(())
    }

    /// The session completed (the user PIN is set): it ends.
    pub fn complete(&mut self, phone: PhoneId) {
        self.sessions.remove(&phone);
    }

    /// The session is dropped (AbandonIssuance, ALPHABET: "dropped, whatever its step"). A
    /// certificate already issued for it stays as it is, like the model's: it is the
    /// person's live certificate on this phone until revoked (R-REISSUE then refuses a
    /// reissue on this phone; RevokeWithCard or a model change ends it).
    pub fn abandon(&mut self, phone: PhoneId) -> Result<(), SpError> {
        self.sessions.remove(&phone).ok_or(SpError::NoSession)?;
        Ok(())
    }

    /// Drop the session without further effect (phone gone: reset, hand-over, broken).
    pub fn drop_session(&mut self, phone: PhoneId) -> Option<Issuance> {
        self.sessions.remove(&phone)
    }

    /// RESET PIN over SCP03 to a fresh temporary PIN (unblocking the slot); returns it.
    fn reset_to_temporary_pin(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
    ) -> Result<String, SpError> {
        let temp = self.temporary_pin(kind);
        let mut link = self.link(se, phone)?;
        link.expect_ok(
            "RESET PIN",
            &Command::new(
                0x80,
                applet::ins::RESET_PIN,
                0x01,
                applet_kind(kind).p2(),
                temp.as_bytes().to_vec(),
            ),
        )?;
        Ok(temp)
    }

    fn temporary_pin(&mut self, kind: CertKind) -> String {
        let r = self.rng.next_u64();
        match kind {
            CertKind::Auth => format!("{:04}", r % 10_000),
            CertKind::Sign => format!("T{:010}", r % 10_000_000_000),
        }
    }

    /// Queue a deletion push for a revoked credential to the token of the phone that holds
    /// it (R-TOKEN); nothing is sent if that phone never registered a token.
    pub fn notify_deletion(&self, push: &mut PushService, revoked: &RevokedPhoneCert) {
        if let Some(token) = self.token(revoked.phone) {
            push.send(
                token,
                DeletionNotice {
                    serial: revoked.serial,
                    kind: revoked.kind,
                },
            );
        }
    }

    /// DELETE CREDENTIAL BY SERIAL over SCP03: `true` if the applet deleted it, `false` if it
    /// holds no credential with that serial (INV-NO-STALE-DELETE) or has no applet.
    ///
    /// Only an authenticated answer counts (THREAT-SKIM): SCP03 sends error status words bare
    /// (Amd D §6.2.5), so anyone on the wire can forge `6A88` "not found". An error answer is
    /// therefore checked with GET CREDENTIAL STATE on a new link, whose `9000` answer carries
    /// an R-MAC: if the slot still holds `serial`, the deletion stays pending and this is
    /// [`TsmError::DeletionUnconfirmed`] (the caller reports it; the app's next status sync
    /// retries).
    pub fn delete_by_serial(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
        serial: Serial,
    ) -> Result<bool, SpError> {
        if !se.applet_installed() {
            return Ok(false);
        }
        let resp = self.link(se, phone)?.send(&Command::new(
            0x80,
            applet::ins::DELETE_BY_SERIAL,
            0,
            applet_kind(kind).p2(),
            serial_bytes(serial),
        ))?;
        if resp.sw == StatusWord::OK {
            return Ok(true);
        }
        match self.held_serial(se, phone, kind)? {
            Some(held) if held == serial => Err(TsmError::DeletionUnconfirmed {
                serial,
                sw: resp.sw,
            }
            .into()),
            _ if resp.sw == applet::sw::SERIAL_NOT_FOUND => Ok(false),
            _ => Err(TsmError::Status {
                what: "DELETE CREDENTIAL BY SERIAL",
                sw: resp.sw,
            }
            .into()),
        }
    }

    /// R-DELETE for a revoked `serial`: the credential holding that certificate, or, when the
    /// certificate was never written (revoked between CaIssue and WriteCert), the key pair it
    /// certifies, named by the SHA-256 of its SubjectPublicKeyInfo (`80 38 01`): a key-only
    /// slot with any other key stays (INV-NO-STALE-DELETE). Whether something was deleted.
    pub fn delete_revoked(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
        serial: Serial,
    ) -> Result<bool, SpError> {
        if self.delete_by_serial(se, phone, kind, serial)? {
            return Ok(true);
        }
        if !se.applet_installed() {
            return Ok(false);
        }
        let Some(spki) = ca
            .registry()
            .get(serial)
            .and_then(|r| crate::ca::cert::parse_certificate(&r.der).ok())
            .and_then(|c| crate::ca::cert::public_key_of(&c).ok())
            .and_then(|k| rsa::pkcs8::EncodePublicKey::to_public_key_der(&k).ok())
        else {
            return Ok(false);
        };
        let resp = self.link(se, phone)?.send(&Command::new(
            0x80,
            applet::ins::DELETE_BY_SERIAL,
            0x01,
            applet_kind(kind).p2(),
            sha2::Sha256::digest(spki.as_bytes()).to_vec(),
        ))?;
        Ok(resp.sw == StatusWord::OK)
    }

    /// The serial of the certificate in `kind`'s slot, from GET CREDENTIAL STATE over a new
    /// link at an R-MAC level (an answer without R-MAC proves nothing:
    /// [`TsmError::Unauthenticated`]).
    fn held_serial(
        &mut self,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        kind: CertKind,
    ) -> Result<Option<Serial>, SpError> {
        let mut link = self.link(se, phone)?;
        if !link.level().is_some_and(|l| l.r_mac()) {
            return Err(TsmError::Unauthenticated("GET CREDENTIAL STATE").into());
        }
        let data = link.expect_ok(
            "GET CREDENTIAL STATE",
            &Command::new(
                0x80,
                applet::ins::GET_STATE,
                0,
                applet_kind(kind).p2(),
                vec![],
            )
            .with_le(0),
        )?;
        let bad = || TsmError::Malformed("GET CREDENTIAL STATE answer".into());
        let outer = crate::se::tlv::parse(&data).map_err(|_| bad())?;
        let slot = crate::se::tlv::find(&outer, u32::from(0xA0 | applet_kind(kind).p2()))
            .ok_or_else(bad)?;
        let inner = crate::se::tlv::parse(slot).map_err(|_| bad())?;
        match crate::se::tlv::find(&inner, 0x83) {
            None => Ok(None),
            Some(b) => Ok(Some(serial_from_bytes(b).ok_or_else(bad)?)),
        }
    }

    /// R-REVOKE(a): revocation requested by the app on the phone holding the credential,
    /// then local deletion over SCP03 (R-DELETE). `proof` authenticates it (ALT-REVOKE-AUTH).
    #[allow(clippy::too_many_arguments)]
    pub fn revoke_from_phone(
        &mut self,
        ca: &mut Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        proof: &super::revoke_auth::RevocationProof,
        kind: CertKind,
        serial: Serial,
        now: LogicalTime,
    ) -> Result<(), SpError> {
        let record = ca
            .registry()
            .get(serial)
            .ok_or(SpError::CertRevoked(serial))?;
        // ALT-REVOKE-AUTH: authenticated by what the request carries (tsm::revoke_auth).
        proof.check(ca, phone, record, now)?;
        // A certificate already revoked elsewhere (model change, card, ...) is just deleted.
        if record.status.is_live() {
            ca.revoke_phone_cert(serial, RevocationCause::UserRequestFromPhone, now)
                .map_err(TsmError::Ca)?;
        }
        self.delete_revoked(ca, se, phone, kind, serial)?;
        Ok(())
    }

    /// R-REVOKE(b): revocation from another device with the card signature; the deletion
    /// push goes to the token of the phone holding the credential (R-TOKEN).
    pub fn revoke_with_card(
        &mut self,
        ca: &mut Ca,
        push: &mut PushService,
        signed: &SignedApplication,
        now: LogicalTime,
    ) -> Result<RevokedPhoneCert, SpError> {
        let a = signed.application;
        Self::check_card(ca, signed, (Purpose::Revoke, a.person, None, a.kind), now)?;
        let serial = ca
            .live_phone_cert(a.person, a.kind)
            .ok_or(SpError::NoLiveCert)?
            .serial;
        let revoked = ca
            .revoke_phone_cert(serial, RevocationCause::WithCard, now)
            .map_err(TsmError::Ca)?;
        self.notify_deletion(push, &revoked);
        Ok(revoked)
    }

    /// R-PIN-INIT: with a valid card signature of the credential's owner, the SP-TSM resets
    /// the PIN to a fresh temporary one over SCP03 (RESET PIN P1 `01`, which also unblocks)
    /// and hands it to the app, which sets the user's new PIN with SET USER PIN.
    #[allow(clippy::too_many_arguments)]
    pub fn init_pin(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        signed: &SignedApplication,
        serial: Serial,
        now: LogicalTime,
    ) -> Result<String, SpError> {
        let a = signed.application;
        Self::check_card(
            ca,
            signed,
            (Purpose::InitPin, a.person, Some(phone), a.kind),
            now,
        )?;
        let record = ca
            .registry()
            .get(serial)
            .ok_or(SpError::CertRevoked(serial))?;
        if record.person != a.person {
            return Err(SpError::NotCredentialOwner);
        }
        ended(StatusAnswer::Known(record.status), serial)?;
        self.reset_to_temporary_pin(se, phone, a.kind)
    }

    /// The app's status sync (R-DELETE, our decision): for each credential the applet
    /// reports, ask the CA; delete by serial those that are revoked, expired (or unknown).
    /// Returns the serials deleted.
    pub fn sync(
        &mut self,
        ca: &Ca,
        se: &mut dyn TsmWire,
        phone: PhoneId,
        held: &[(CertKind, Serial)],
    ) -> Result<Vec<Serial>, SpError> {
        let mut deleted = Vec::new();
        for &(kind, serial) in held {
            let dead = match ca.status(serial) {
                StatusAnswer::Known(st) => !st.is_live(),
                StatusAnswer::Unknown => true,
            };
            if dead && self.delete_revoked(ca, se, phone, kind, serial)? {
                deleted.push(serial);
            }
        }
        Ok(deleted)
    }
}

/// The refusal for a certificate that has ended: `CertExpired` for a recorded expiry,
/// `CertRevoked` for a revoked (or unknown) one.
pub(crate) fn ended(status: StatusAnswer, serial: Serial) -> Result<(), SpError> {
    match status {
        StatusAnswer::Known(st) if st.is_live() => Ok(()),
        StatusAnswer::Known(CertStatus::Expired { .. }) => Err(SpError::CertExpired(serial)),
        _ => Err(SpError::CertRevoked(serial)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_bytes_round_trip() {
        for s in [0u64, 1, 2, 255, 256, 0x1234_5678, u64::MAX] {
            let b = serial_bytes(Serial(s));
            assert_eq!(serial_from_bytes(&b), Some(Serial(s)), "{s}");
            assert!(b.len() == 1 || b[0] != 0);
        }
        assert_eq!(serial_from_bytes(&[0, 0, 5]), Some(Serial(5)));
        assert_eq!(serial_from_bytes(&[1; 9]), None);
    }

    #[test]
    fn applications_differ_in_every_field() {
        let a = Application {
            purpose: Purpose::Issue,
            person: PersonId(1),
            phone: Some(PhoneId(2)),
            kind: CertKind::Auth,
            nonce: 3,
        };
        let variants = [
            Application {
                purpose: Purpose::Revoke,
                ..a
            },
            Application {
                person: PersonId(2),
                ..a
            },
            Application { phone: None, ..a },
            Application {
                kind: CertKind::Sign,
                ..a
            },
            Application { nonce: 4, ..a },
        ];
        for v in variants {
            assert_ne!(v.encode(), a.encode(), "{v:?}");
        }
    }
}
