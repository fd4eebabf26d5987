//! Revocation and deletion: card-certificate events, revocation, suspension and
//! resumption, deletion pushes and the app's status sync (R-REVOKE, R-LINK, R-SUSPEND,
//! R-DELETE).

use super::{AppletDeletion, Pin, Refusal, RevokeAuth, System};
use crate::applet::Kind;
use crate::ca::{
    Ca, CaError, CardEnded, CertKind, CertStatus, LogicalTime, PersonId, PhoneId, RevokedPhoneCert,
    Serial, StatusAnswer,
};
use crate::phone::Condition;
use crate::push::{PushError, Undeliverable};
use crate::tsm::revoke_auth::{revocation_challenge, RevocationProof};
use crate::tsm::sp::{serial_from_bytes, Purpose};
use rand_chacha::rand_core::RngCore;

impl System {
    pub(super) fn push_deletions(&mut self, revoked: &[RevokedPhoneCert]) {
        for r in revoked {
            self.sp.notify_deletion(&mut self.push, r);
        }
    }

    /// The app's status sync (R-DELETE decision): best effort, needs the app, the applet and
    /// network.
    pub(super) fn sync(&mut self, h: PhoneId) {
        let Ok(phone) = self.phones.get(&h).ok_or(()) else {
            return;
        };
        if !phone.online || phone.condition == Condition::Broken {
            return;
        }
        let held: Vec<(CertKind, Serial)> = match self.read_held(h) {
            Ok(v) => v,
            Err(_) => return,
        };
        let deleted = match self.phones.get_mut(&h) {
            Some(phone) => self.sp.sync(&self.ca, &mut phone.se, h, &held),
            None => return,
        };
        // The applet goes with the last credential the sync deleted; an applet that was
        // empty already (installed, nothing issued yet) stays.
        if deleted.is_ok_and(|d| !d.is_empty()) {
            let _ = self.drop_applet_if_empty(h);
        }
    }

    /// Revocation deletes the applet ([`super::AppletDeletion::WhenEmpty`]): once no key is
    /// left in it, the SEI-TSM deletes it with its related objects over SCP03.
    pub(super) fn drop_applet_if_empty(&mut self, h: PhoneId) -> Result<(), Refusal> {
        if self.config.policy.applet_deletion != AppletDeletion::WhenEmpty {
            return Ok(());
        }
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let empty = |k| phone.se.slot(k).is_some_and(|v| v.public_key.is_none());
        if phone.has_applet() && empty(Kind::Auth) && empty(Kind::Sign) {
            self.sei.delete_applet(&mut phone.se, h)?;
            self.pin_memory.retain(|(ph, _), _| *ph != h);
        }
        Ok(())
    }

    // ----- card actions (municipal office, J-LIS, time) -----

    /// `CardRenew(p)`: a new card signing certificate generation (new key); the linked phone
    /// certificates are revoked and their phones get deletion pushes (R-LINK, R-REVOKE(c)).
    pub fn card_renew(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.tick();
        let now = self.now;
        let card = self.cards.get_mut(&p).ok_or(Refusal::UnknownPerson(p))?;
        let issued = card
            .renew(&mut self.keys, &mut self.ca, now)
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        if let Some(ended) = issued.superseded {
            self.push_deletions(&ended.linked_revoked);
        }
        Ok(())
    }

    /// `CardRevoke(p)`: the card signing certificate is revoked; linked phone certificates
    /// too (R-LINK). Refused `CardNotValid` if it already ended.
    pub fn card_revoke(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.end_card_cert(p, Ca::revoke_card_cert)
    }

    /// `CardExpire(p)`: the card signing certificate expires; linked phone certificates are
    /// revoked (R-LINK). Refused `CardNotValid` if it already ended.
    pub fn card_expire(&mut self, p: PersonId) -> Result<(), Refusal> {
        self.end_card_cert(p, Ca::expire_card_cert)
    }

    /// The card signing certificate ends (revoked or expired); its linked phone certificates
    /// are revoked and their deletion pushes sent (R-LINK).
    fn end_card_cert(
        &mut self,
        p: PersonId,
        end: fn(&mut Ca, PersonId, LogicalTime) -> Result<CardEnded, CaError>,
    ) -> Result<(), Refusal> {
        self.tick();
        if !self.cards.contains_key(&p) {
            return Err(Refusal::UnknownPerson(p));
        }
        let ended = end(&mut self.ca, p, self.now).map_err(|_| Refusal::CardNotValid)?;
        self.push_deletions(&ended.linked_revoked);
        Ok(())
    }

    /// `CertExpire(serial)`: the validity period of a live phone certificate ends (更新,
    /// R-REISSUE). No push is sent: the app deletes it at its next status sync, relying
    /// parties refuse it (`CertExpired`), and a reissue is no longer refused as live.
    pub fn cert_expire(&mut self, serial: crate::ca::Serial) -> Result<(), Refusal> {
        self.tick();
        self.ca
            .expire_phone_cert(serial, self.now)
            .map_err(|e| match e {
                CaError::InvalidTransition {
                    status: CertStatus::Expired { .. },
                    ..
                } => Refusal::CertExpired,
                CaError::InvalidTransition { .. } => Refusal::CertRevoked,
                e => Refusal::Failure(e.to_string()),
            })
    }

    // ----- revocation, suspension -----

    /// `RevokeFromPhone(h, k)`: whoever holds the phone asks, through the app, to revoke the
    /// credential in this phone's applet; the SP-TSM authenticates the request as configured
    /// (ALT-REVOKE-AUTH, [`super::RevokeAuth`]: the holder types the PIN they know where one
    /// is asked) and has it deleted locally (R-REVOKE(a), R-DELETE). Nothing here asks who
    /// the holder is.
    pub fn revoke_from_phone(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let state = self.slot_state(h, kind)?;
        let serial = state
            .cert_serial
            .as_deref()
            .and_then(serial_from_bytes)
            .ok_or(Refusal::NoCredential)?;
        self.revoke_held(h, kind, serial)
    }

    /// Revoke the credential `serial` held in slot `kind` of `h` with the proof the policy
    /// asks for, and delete it locally.
    pub(super) fn revoke_held(
        &mut self,
        h: PhoneId,
        kind: CertKind,
        serial: Serial,
    ) -> Result<(), Refusal> {
        let proof = match self.config.policy.revoke_auth {
            RevokeAuth::Nothing => RevocationProof::Nothing,
            RevokeAuth::Pin | RevokeAuth::PhoneSignature => {
                let phone_signing_key =
                    self.config.policy.revoke_auth == RevokeAuth::PhoneSignature;
                let key_kind = if phone_signing_key {
                    CertKind::Sign
                } else {
                    kind
                };
                // The app reads the credential's state first: a blocked or temporary PIN
                // proves nothing and costs no try (INV-PIN).
                self.usable_slot(h, key_kind)?;
                let challenge = revocation_challenge(serial, self.rng.next_u64());
                self.grant_if_gated(h, key_kind, true)?;
                let (cert_der, signature) = self.prove(h, key_kind, Pin::Right, &challenge)?;
                RevocationProof::Key {
                    cert_der,
                    challenge,
                    signature,
                    phone_signing_key,
                }
            }
            RevokeAuth::Card => {
                let p = self.holder_person(h)?;
                RevocationProof::Card(self.sign_application(Purpose::Revoke, p, Some(h), kind)?)
            }
        };
        let now = self.now;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp
            .revoke_from_phone(&mut self.ca, &mut phone.se, h, &proof, kind, serial, now)?;
        self.drop_applet_if_empty(h)
    }

    /// `RevokeWithCard(p, k)`: from another device with the card signature; the deletion
    /// push goes to the token of the phone holding the certificate (R-REVOKE(b), R-TOKEN).
    pub fn revoke_with_card(&mut self, p: PersonId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        let signed = self.sign_application(Purpose::Revoke, p, None, kind)?;
        self.sp
            .revoke_with_card(&mut self.ca, &mut self.push, &signed, self.now)?;
        Ok(())
    }

    /// `Suspend(p, k)`: the call center suspends the person's live certificate (R-SUSPEND).
    pub fn suspend(&mut self, p: PersonId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        if self.config.policy.no_suspension {
            return Err(Refusal::NoSuspension);
        }
        if !self.cards.contains_key(&p) {
            return Err(Refusal::UnknownPerson(p));
        }
        let record = self
            .ca
            .live_phone_cert(p, kind)
            .ok_or(Refusal::NoLiveCert)?;
        if matches!(record.status, CertStatus::Suspended { .. }) {
            return Err(Refusal::AlreadySuspended);
        }
        let serial = record.serial;
        self.ca
            .suspend(serial, self.now)
            .map_err(|e| Refusal::Failure(e.to_string()))
    }

    /// `Resume(h, k, pin)`: the holder proves possession of the suspended credential (PIN,
    /// applet signature) and the CA resumes it (R-SUSPEND).
    pub fn resume(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        if self.config.policy.no_suspension {
            return Err(Refusal::NoSuspension);
        }
        self.online(h)?;
        // The app asks the status of the credential first (R-SUSPEND): a certificate that is
        // not suspended costs no PIN try.
        let held = self.held_cert(h, kind)?;
        match self.ca.status(held) {
            StatusAnswer::Known(CertStatus::Suspended { .. }) => {}
            StatusAnswer::Known(CertStatus::Active) => return Err(Refusal::NotSuspended),
            StatusAnswer::Known(CertStatus::Expired { .. }) => return Err(Refusal::CertExpired),
            _ => return Err(Refusal::CertRevoked),
        }
        let challenge = self.rng.next_u64().to_be_bytes();
        self.grant_if_gated(h, kind, true)?;
        let (cert, sig) = self.prove(h, kind, pin, &challenge)?;
        super::relying::signature_ok(&cert, &challenge, &sig)?;
        let serial = crate::ca::cert::parse_certificate(&cert)
            .and_then(|c| crate::ca::cert::serial_of(&c))
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        match self.ca.status(serial) {
            StatusAnswer::Known(CertStatus::Suspended { .. }) => self
                .ca
                .resume(serial)
                .map_err(|e| Refusal::Failure(e.to_string())),
            StatusAnswer::Known(CertStatus::Active) => Err(Refusal::NotSuspended),
            _ => Err(Refusal::CertRevoked),
        }
    }

    // ----- push -----

    /// `DeliverPush(i)`: pending push `i` (send order) reaches the app, which has the
    /// SP-TSM delete the credential with that serial (R-DELETE, INV-NO-STALE-DELETE).
    /// Refused `Undeliverable` for an offline phone or an invalid token.
    pub fn deliver_push(&mut self, i: usize) -> Result<(), Refusal> {
        self.tick();
        let phones = &self.phones;
        let msg = self
            .push
            .deliver(i, |t| {
                let Some(phone) = phones.get(&t.phone) else {
                    return Err(Undeliverable::InvalidToken);
                };
                if phone.app.map(|a| a.installation) != Some(t.installation) {
                    return Err(Undeliverable::InvalidToken);
                }
                if !phone.online {
                    return Err(Undeliverable::PhoneOffline);
                }
                Ok(())
            })
            .map_err(|e| match e {
                PushError::NoSuchPush { .. } => Refusal::NoSuchPush,
                PushError::Undeliverable { why, .. } => Refusal::Undeliverable(why),
            })?;
        let h = msg.token.phone;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let (kind, serial) = (msg.notice.kind, msg.notice.serial);
        let deleted = if self.config.policy.keep_unwritten_keys {
            self.sp.delete_by_serial(&mut phone.se, h, kind, serial)?
        } else {
            self.sp
                .delete_revoked(&self.ca, &mut phone.se, h, kind, serial)?
        };
        // The applet goes with the last credential the push deleted; a push that finds
        // nothing (the sync deleted it before) leaves an applet installed again meanwhile.
        if deleted {
            self.drop_applet_if_empty(h)?;
        }
        Ok(())
    }

    /// `DropPush(i)`: pending push `i` is lost (課題2).
    pub fn drop_push(&mut self, i: usize) -> Result<(), Refusal> {
        self.tick();
        self.push.drop_push(i).map_err(|_| Refusal::NoSuchPush)?;
        Ok(())
    }
}
