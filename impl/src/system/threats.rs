//! Who else touches a phone (THREAT-* of `shared/DOMAIN.md`): a stranger who finds a lost
//! phone (THREAT-FINDER), anyone holding a phone to a card reader (THREAT-READER), reading the
//! certificates out of the applet (THREAT-READ-PII), and signing with a leftover key while
//! offline, the signature presented to a relying party later (THREAT-OFFLINE-SIGN).
//!
//! The card-reader route is the SE's contactless interface ([`crate::se::contactless`]): no
//! app, no OMAPI access rule, no network on the phone's side, the phone possibly powered off;
//! the applet's own PIN checks are all that stand in the way. The reader (a convenience-store
//! terminal, a PC with a Type-B reader) speaks only ISO 7816 commands: SELECT by AID, an empty
//! VERIFY to read the counter (no try used), VERIFY, SELECT EF, COMPUTE DIGITAL SIGNATURE and
//! READ BINARY; the relying party behind it is online and checks status when it verifies.

use super::refusal::app_refusal;
use super::{Pin, Refusal, System};
use crate::applet::Kind;
use crate::ca::{CertKind, LogicalTime, PhoneId, Serial};
use crate::phone::app::AppChannel;
use crate::phone::{Condition, Holder};
use crate::tsm::sp::applet_kind;
use crate::tsm::status_gate::Grant;
use rand_chacha::rand_core::RngCore;

/// A signature made with a phone's signing key and kept to be presented later
/// (THREAT-OFFLINE-SIGN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSignature {
    /// The signed document.
    pub message: Vec<u8>,
    /// RSASSA-PKCS1-v1_5 / SHA-256 signature from the applet.
    pub signature: Vec<u8>,
    /// The signing certificate read out of the applet with it.
    pub cert_der: Vec<u8>,
    /// Who held the phone and signed.
    pub by: Holder,
    /// When it was made.
    pub made_at: LogicalTime,
}

/// The PIN check both routes make: the counter first (a blocked PIN costs no try and is
/// `PinBlocked`), then VERIFY (no credential `6A88` and a temporary PIN `6985` are refused
/// before any try is counted). The wrong try that reaches zero answers `6983`: it was still
/// counted, so it is a wrong PIN with no tries left, not a refusal of a blocked PIN.
pub(super) fn verify_counted(
    ch: &mut AppChannel<'_>,
    kind: Kind,
    entered: &str,
) -> Result<(), Refusal> {
    if ch.pin_status(kind).map_err(app_refusal)? == 0 {
        return Err(Refusal::PinBlocked);
    }
    ch.verify(kind, entered).map_err(|e| match app_refusal(e) {
        Refusal::PinBlocked => Refusal::WrongPin { tries_left: 0 },
        r => r,
    })
}

impl System {
    /// `StrangerFinds(h)` (THREAT-FINDER): a stranger finds the lost phone and keeps it. Its
    /// screen lock keeps them out of the app and the settings ([`Refusal::ScreenLocked`]);
    /// the card reader does not care. An issuance session on it is gone.
    pub fn stranger_finds(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.phone_mut(h)?;
        if phone.condition != Condition::Lost {
            return Err(Refusal::NotLost);
        }
        phone.condition = Condition::InHand;
        phone.holder = Holder::Stranger;
        self.sp.drop_session(h);
        self.found.insert(h);
        Ok(())
    }

    /// The phone held to a card reader: whoever holds it, on or off, online or not.
    fn reader(&mut self, h: PhoneId) -> Result<AppChannel<'_>, Refusal> {
        self.in_hand(h)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        AppChannel::contactless(&mut phone.se).map_err(app_refusal)
    }

    /// Over the reader: the PIN the holder types, verified; the certificate read and the
    /// `message` signed with the key of `kind`. Under ALT-APPLET-STATUS the terminal knows
    /// that a phone's signing key signs only through the app with a fresh grant: it asks no
    /// PIN for it and answers `StatusUnknown` (a rogue reader that sends VERIFY and COMPUTE
    /// DIGITAL SIGNATURE anyway gets `6985` from the gated key, the same refusal).
    fn reader_sign(
        &mut self,
        h: PhoneId,
        kind: CertKind,
        pin: Pin,
        message: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
        if self.config.policy.applet_status && kind == CertKind::Sign {
            // As any reader use: the phone in hand, the applet reached.
            self.reader(h)?;
            return Err(Refusal::StatusUnknown);
        }
        let entered = self.entered_pin(h, kind, pin)?;
        let mut ch = self.reader(h)?;
        verify_counted(&mut ch, applet_kind(kind), &entered)?;
        let sig = ch.sign(applet_kind(kind), message).map_err(app_refusal)?;
        let cert = ch.read_cert(applet_kind(kind)).map_err(app_refusal)?;
        Ok((cert, sig))
    }

    /// `ReaderUse(h, k, pin)` (THREAT-READER): whoever holds the phone logs in or signs at a
    /// card reader: the applet checks the PIN, the relying party behind the reader verifies the
    /// signature and checks the certificate's status online (INV-PIN, INV-NO-FOREIGN-USE,
    /// INV-NO-USE-AFTER-REVOKE). Neither the app nor the phone's network is needed.
    pub fn reader_use(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        let mut challenge = [0u8; 32];
        self.rng.fill_bytes(&mut challenge);
        let (cert, sig) = self.reader_sign(h, kind, pin, &challenge)?;
        self.relying_party(&cert, kind, &challenge, &sig)
    }

    /// `ReadAuthCert(h)` (THREAT-READ-PII): the auth certificate is public, as on the card;
    /// read over the card reader. `NoCredential` if the slot holds none.
    pub fn read_auth_cert(&mut self, h: PhoneId) -> Result<Vec<u8>, Refusal> {
        self.tick();
        self.check_kind(CertKind::Auth)?;
        let mut ch = self.reader(h)?;
        read_cert(&mut ch, Kind::Auth)
    }

    /// `ReadSignCert(h, pin)` (THREAT-READ-PII): the signing certificate carries the 基本4情報
    /// and is read only after VERIFY of the signing password, as on the card; over the card
    /// reader. A wrong password counts down (R-PIN-RETRY).
    pub fn read_sign_cert(&mut self, h: PhoneId, pin: Pin) -> Result<Vec<u8>, Refusal> {
        self.tick();
        self.check_kind(CertKind::Sign)?;
        let entered = self.entered_pin(h, CertKind::Sign, pin)?;
        let mut ch = self.reader(h)?;
        verify_counted(&mut ch, Kind::Sign, &entered)?;
        read_cert(&mut ch, Kind::Sign)
    }

    /// `SignOffline(h, pin)` (THREAT-OFFLINE-SIGN): whoever holds the phone signs a document
    /// with its signing key over the card reader, the phone offline or off; nothing checks
    /// status now (except under ALT-APPLET-STATUS, see below). The signature waits to be presented; returns the serial of the certificate
    /// it was made under. One waiting signature per certificate (a new one replaces it).
    pub fn sign_offline(&mut self, h: PhoneId, pin: Pin) -> Result<Serial, Refusal> {
        self.tick();
        self.check_kind(CertKind::Sign)?;
        let mut message = format!("document signed at t={} ", self.now.0).into_bytes();
        message.extend(self.rng.next_u64().to_be_bytes());
        // Under ALT-APPLET-STATUS a holder who can open the app online signs through it, with
        // the SP-TSM's grant; anyone else (offline, a finder) only has the reader, where the
        // gated key signs nothing.
        let app_online = self.operable(h).is_ok_and(|p| p.online && p.app.is_some());
        let (cert_der, signature) = if self.config.policy.applet_status && app_online {
            self.grant_if_gated(h, CertKind::Sign, Grant::Use)?;
            self.prove(h, CertKind::Sign, pin, &message)?
        } else {
            self.reader_sign(h, CertKind::Sign, pin, &message)?
        };
        let serial = crate::ca::cert::parse_certificate(&cert_der)
            .and_then(|c| crate::ca::cert::serial_of(&c))
            .map_err(|e| Refusal::Failure(e.to_string()))?;
        let by = self.phone(h)?.holder;
        let made_at = self.now;
        self.signatures.insert(
            serial,
            OfflineSignature {
                message,
                signature,
                cert_der,
                by,
                made_at,
            },
        );
        Ok(serial)
    }

    /// `PresentSignature(serial)` (THREAT-OFFLINE-SIGN): the waiting signature made under
    /// `serial` reaches a relying party, which verifies it against the certificate and checks
    /// the certificate's status *now* (query or CRL, [`super::StatusCheck`]): revoked and held
    /// certificates are refused (INV-NO-USE-AFTER-REVOKE). An accepted signature is used up;
    /// a refused one stays with its holder, who may try again later.
    pub fn present_signature(&mut self, serial: Serial) -> Result<(), Refusal> {
        self.tick();
        let s = self
            .signatures
            .get(&serial)
            .cloned()
            .ok_or(Refusal::NoSuchSignature)?;
        self.relying_party(&s.cert_der, CertKind::Sign, &s.message, &s.signature)?;
        self.signatures.remove(&serial);
        Ok(())
    }

    /// The signatures waiting to be presented, by certificate serial.
    pub fn offline_signatures(&self) -> Vec<(Serial, OfflineSignature)> {
        self.signatures
            .iter()
            .map(|(s, x)| (*s, x.clone()))
            .collect()
    }

    /// Whether a stranger found and keeps `h` (THREAT-FINDER).
    pub fn found_by_stranger(&self, h: PhoneId) -> bool {
        self.found.contains(&h)
    }
}

/// READ BINARY of the certificate of `kind`; a slot with no certificate (EF absent) is
/// `NoCredential`, a sign certificate without VERIFY is `PinRequired`.
fn read_cert(ch: &mut AppChannel<'_>, kind: Kind) -> Result<Vec<u8>, Refusal> {
    ch.read_cert(kind).map_err(|e| match e {
        crate::phone::AppError::Status { sw, .. } if sw.0 == 0x6A82 => Refusal::NoCredential,
        crate::phone::AppError::Status { sw, .. } if sw.0 == 0x6982 => Refusal::PinRequired,
        e => app_refusal(e),
    })
}
