//! PIN and use: the PIN a holder types, PIN change and initialisation, and use towards a
//! relying party (R-PIN-*, INV-PIN, INV-NO-USE-AFTER-REVOKE).

use super::refusal::app_refusal;
use super::threats::verify_counted;
use super::{Pin, Refusal, System};
use crate::ca::{CertKind, PersonId, PhoneId};
use crate::phone::app::AppChannel;
use crate::phone::Holder;
use crate::tsm::sp::{applet_kind, Purpose};
use crate::tsm::status_gate::Grant;
use rand_chacha::rand_core::RngCore;

/// The value of a person's PIN for a slot: auth 4 digits, sign 6-16 alphanumerics; distinct
/// per person (for fewer than 9 persons and 10 phones).
pub(super) fn pin_value(p: PersonId, h: PhoneId, kind: CertKind, version: u32) -> String {
    match kind {
        CertKind::Auth => format!("{}{}{:02}", p.0 % 9, h.0 % 10, version % 100),
        CertKind::Sign => format!("pw{}h{}v{}", p.0, h.0, version),
    }
}

pub(super) fn wrong_pin(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Auth => "9999",
        CertKind::Sign => "wrong9x",
    }
}

pub(super) fn stranger_pin(kind: CertKind) -> &'static str {
    match kind {
        CertKind::Auth => "9998",
        CertKind::Sign => "stranger9",
    }
}

impl System {
    /// The PIN the holder types.
    pub(super) fn entered_pin(
        &self,
        h: PhoneId,
        kind: CertKind,
        pin: Pin,
    ) -> Result<String, Refusal> {
        if pin == Pin::Wrong {
            return Ok(wrong_pin(kind).to_string());
        }
        let holder = self.phone(h)?.holder;
        Ok(match (holder, self.pin_memory.get(&(h, kind))) {
            // The PIN they set themselves.
            (Holder::Person(p), Some(&(setter, v))) if setter == p => pin_value(p, h, kind, v),
            // THREAT-PIN-KNOWN: the owner's PIN, known to whoever holds the phone.
            (Holder::Person(_) | Holder::Stranger, Some(&(setter, v)))
                if self.config.pin_known.contains(&setter) =>
            {
                pin_value(setter, h, kind, v)
            }
            // Their own PIN, wrong here.
            (Holder::Person(p), _) => pin_value(p, h, kind, 99),
            _ => stranger_pin(kind).to_string(),
        })
    }

    /// Verify the PIN, read the certificate and sign `challenge` with the applet: what the
    /// app does for a relying party or for resumption.
    pub(super) fn prove(
        &mut self,
        h: PhoneId,
        kind: CertKind,
        pin: Pin,
        challenge: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), Refusal> {
        let entered = self.entered_pin(h, kind, pin)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        verify_counted(&mut ch, applet_kind(kind), &entered)?;
        let cert = ch.read_cert(applet_kind(kind)).map_err(app_refusal)?;
        let sig = ch.sign(applet_kind(kind), challenge).map_err(app_refusal)?;
        Ok((cert, sig))
    }

    // ----- PIN -----

    /// `ChangePin(h, k, pin)`: on the phone alone, after verifying the current PIN
    /// (R-PIN-CHANGE); a wrong PIN counts down (R-PIN-RETRY).
    pub fn change_pin(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.operable(h)?;
        self.usable_slot(h, kind)?;
        let old = self.entered_pin(h, kind, pin)?;
        let (p, version) = match (self.phone(h)?.holder, self.pin_memory.get(&(h, kind))) {
            (Holder::Person(p), Some(&(setter, v))) if setter == p => (Some(p), v + 1),
            (Holder::Person(p), _) => (Some(p), 0),
            _ => (None, 0),
        };
        let new = match p {
            Some(p) => pin_value(p, h, kind, version),
            None => stranger_pin(kind).to_string(),
        };
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.change_pin(applet_kind(kind), &old, &new)
            .map_err(|e| match app_refusal(e) {
                Refusal::PinBlocked => Refusal::WrongPin { tries_left: 0 },
                r => r,
            })?;
        drop(ch);
        if let Some(p) = p {
            self.pin_memory.insert((h, kind), (p, version));
        }
        Ok(())
    }

    /// `InitPin(h, k)`: online, with the card signature of the credential's owner: the
    /// SP-TSM resets the PIN (unblocking it) and the holder sets a new one (R-PIN-INIT).
    pub fn init_pin(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let serial = self.held_cert(h, kind)?;
        let p = self.holder_person(h)?;
        let signed = self.sign_application(Purpose::InitPin, p, Some(h), kind)?;
        let now = self.now;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let temp = self
            .sp
            .init_pin(&self.ca, &mut phone.se, h, &signed, serial, now)?;
        let version = match self.pin_memory.get(&(h, kind)) {
            Some(&(setter, v)) if setter == p => v + 1,
            _ => 0,
        };
        let new = pin_value(p, h, kind, version);
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.set_user_pin(applet_kind(kind), &temp, &new)
            .map_err(app_refusal)?;
        drop(ch);
        self.pin_memory.insert((h, kind), (p, version));
        Ok(())
    }

    // ----- use -----

    /// `Use(h, k, pin)`: the app verifies the PIN on the applet and has it sign the relying
    /// party's challenge; the relying party verifies the signature with the phone certificate
    /// and checks its status with the CA (INV-PIN, INV-NO-USE-AFTER-REVOKE).
    pub fn r#use(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        let mut challenge = [0u8; 32];
        self.rng.fill_bytes(&mut challenge);
        self.grant_if_gated(h, kind, Grant::Use)?;
        let (cert, sig) = self.prove(h, kind, pin, &challenge)?;
        self.relying_party(&cert, kind, &challenge, &sig)
    }

    /// ALT-APPLET-STATUS: before the app has the gated signing key sign, it asks the SP-TSM
    /// (online) for a grant, given only while J-LIS answers what `purpose` needs
    /// ([`Grant`]). Nothing to do for an ungated key.
    pub(super) fn grant_if_gated(
        &mut self,
        h: PhoneId,
        kind: CertKind,
        purpose: Grant,
    ) -> Result<(), Refusal> {
        if !self.config.policy.applet_status || kind != CertKind::Sign {
            return Ok(());
        }
        self.online(h)?;
        let serial = self.held_cert(h, kind)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp
            .grant_signature(&self.ca, &mut phone.se, h, (kind, serial), purpose)?;
        Ok(())
    }

    /// Alias of [`System::r#use`].
    pub fn use_cert(&mut self, h: PhoneId, kind: CertKind, pin: Pin) -> Result<(), Refusal> {
        self.r#use(h, kind, pin)
    }
}
