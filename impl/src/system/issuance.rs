//! Issuance: the app and applet installation, then the issuance session (R-ISSUE,
//! R-KEYGEN, R-SCP03, R-PIN-SETUP).

use super::pin_use::pin_value;
use super::refusal::app_refusal;
use super::{Refusal, System};
use crate::applet::{AppletConfig, PinState};
use crate::ca::{CertKind, PhoneId};
use crate::phone::app::AppChannel;
use crate::phone::{InstalledApp, GENUINE_APP_HASH};
use crate::push::Token;
use crate::tsm::sp::{applet_kind, serial_from_bytes, Purpose};

impl System {
    // ----- app and applet -----

    /// `InstallApp(h)`: the genuine JPKI app from the store; registers its token with the
    /// SP-TSM (R-TOKEN) and syncs its applet's credentials (R-DELETE).
    pub fn install_app(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.install_app_as(h, GENUINE_APP_HASH)
    }

    /// `InstallApp(h)` with an app signed by another certificate (`cert_hash`): a fake app,
    /// which the access rules refuse (R-ACL). Not an alphabet action of its own.
    pub fn install_app_as(&mut self, h: PhoneId, cert_hash: [u8; 32]) -> Result<(), Refusal> {
        self.tick();
        let phone = self.online(h)?;
        if phone.app.is_some() {
            return Err(Refusal::AppAlreadyInstalled);
        }
        let installation = self.next_installation;
        self.next_installation += 1;
        self.phone_mut(h)?.app = Some(InstalledApp {
            installation,
            cert_hash,
        });
        self.sp.register_token(Token {
            phone: h,
            installation,
        });
        self.sync(h);
        Ok(())
    }

    /// `UninstallApp(h)`: the app goes; its token becomes invalid; the SE keeps the applet.
    pub fn uninstall_app(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.operable(h)?;
        Self::app_of(phone)?;
        self.phone_mut(h)?.app = None;
        self.sp.drop_session(h);
        Ok(())
    }

    /// `InstallApplet(h)`: the SEI-TSM installs the applet under the APSD over SCP03 with the
    /// configured retry limits and the access rule for the genuine app (R-ACL, phase 2).
    pub fn install_applet(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        let phone = self.online(h)?;
        Self::app_of(phone)?;
        if phone.has_applet() {
            return Err(Refusal::AppletAlreadyInstalled);
        }
        self.install_applet_now(h)
    }

    /// The SEI-TSM installs the applet with the configured retry limits and the access rule
    /// for the genuine app.
    fn install_applet_now(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let config = AppletConfig {
            auth_max_tries: self.config.auth_tries,
            sign_max_tries: self.config.sign_tries,
        };
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sei
            .install_applet(&mut phone.se, h, config, GENUINE_APP_HASH)?;
        Ok(())
    }

    // ----- issuance -----

    /// `Apply(h, k)`: the holder signs an application with their card (password + NFC); the
    /// SP-TSM verifies it with the CA and checks phone-cert status (R-ISSUE, R-REISSUE).
    pub fn apply(&mut self, h: PhoneId, kind: CertKind) -> Result<(), Refusal> {
        self.tick();
        self.check_kind(kind)?;
        self.online(h)?;
        // The applet went with the last revoked credential: as the model has it, the holder
        // has it installed again (InstallApplet, phase 2) before applying (`NoApplet`).
        self.slot_state(h, kind)?;
        let p = self.holder_person(h)?;
        let signed = self.sign_application(Purpose::Issue, p, Some(h), kind)?;
        self.sp.apply(&self.ca, h, &signed, self.now)?;
        Ok(())
    }

    /// Common checks of the session steps driven through the phone.
    fn session_step(&mut self, h: PhoneId) -> Result<(), Refusal> {
        let phone = self.online(h)?;
        if !phone.has_applet() {
            return Err(Refusal::NoApplet);
        }
        if self.sp.session(h).is_none() {
            return Err(Refusal::NoSession);
        }
        Ok(())
    }

    /// `GenerateKey(h)`: GENERATE KEY PAIR in the SE over SCP03 (R-KEYGEN, R-SCP03).
    pub fn generate_key(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.session_step(h)?;
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp.generate_key(&mut phone.se, h)?;
        Ok(())
    }

    /// `CaIssue(h)`: J-LIS issues the phone certificate on the session's card authorisation;
    /// the person's previous certificate of the kind is revoked and its phone gets a deletion
    /// push (R-ONE, R-MODEL-CHANGE, R-DELETE). The phone takes part online (R-ISSUE: issuance
    /// is online, from the phone).
    pub fn ca_issue(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.online(h)?;
        self.sp
            .ca_issue(&mut self.ca, &mut self.push, h, self.now)?;
        Ok(())
    }

    /// `WriteCert(h)`: certificate and temporary PIN written over SCP03 (phase 3). A
    /// certificate revoked meanwhile is not written (`CertRevoked`; the session stays).
    pub fn write_cert(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        // An applet deleted with the last credential took the session's key with it: the
        // key is missing (as the model's WriteCert).
        match self.session_step(h) {
            Err(Refusal::NoApplet) => return Err(Refusal::KeyMissing),
            r => r?,
        }
        let kind = self.sp.session(h).map(|s| s.kind);
        // The key first, then the certificate's status (as the model's WriteCert): a slot
        // whose key a deletion took is `KeyMissing` whatever became of the certificate.
        if let Some(k) = kind {
            if !matches!(self.slot_state(h, k)?.pin_state, PinState::KeyGenerated) {
                return Err(Refusal::KeyMissing);
            }
        }
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        self.sp.write_cert(&self.ca, &mut phone.se, h)?;
        if self.config.policy.applet_status && kind == Some(CertKind::Sign) {
            self.sp.gate_signing(&mut phone.se, h, CertKind::Sign)?;
        }
        Ok(())
    }

    /// `SetUserPin(h)`: in the same session, with the card certificate still valid, the app
    /// replaces the temporary PIN (which the user never sees) by the holder's PIN (phase 4).
    pub fn set_user_pin(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        // On the phone (the app already holds the temporary PIN): no network needed.
        self.operable(h)?;
        if self.sp.session(h).is_none() {
            return Err(Refusal::NoSession);
        }
        let (person, kind, _) = self.sp.temporary_pin_for(&self.ca, h, self.now)?;
        // An applet deleted with its last credential took the written one with it.
        if !self.phone(h)?.has_applet() {
            return Err(Refusal::KeyMissing);
        }
        // The written credential must still be in the slot (it may have been deleted).
        let state = self.slot_state(h, kind)?;
        let written = match self.sp.session(h).map(|s| &s.step) {
            Some(crate::tsm::sp::IssuanceStep::Written { serial }) => Some(*serial),
            _ => None,
        };
        if state.cert_serial.as_deref().and_then(serial_from_bytes) != written {
            return Err(Refusal::KeyMissing);
        }
        // The holder may have replaced the temporary PIN by R-PIN-INIT meanwhile: the SP-TSM
        // then resets it to a fresh temporary PIN first (R-PIN-SETUP in the same session).
        if !matches!(state.pin_state, PinState::Temporary) {
            let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
            self.sp.renew_temporary_pin(&mut phone.se, h)?;
        }
        let (_, _, temp) = self.sp.temporary_pin_for(&self.ca, h, self.now)?;
        let pin = pin_value(person, h, kind, 0);
        let phone = self.phones.get_mut(&h).ok_or(Refusal::UnknownPhone(h))?;
        let app = Self::app_of(phone)?;
        let mut ch = AppChannel::open(&mut phone.se, app.cert_hash).map_err(app_refusal)?;
        ch.set_user_pin(applet_kind(kind), &temp, &pin)
            .map_err(app_refusal)?;
        drop(ch);
        self.sp.complete(h);
        self.pin_memory.insert((h, kind), (person, 0));
        Ok(())
    }

    /// `AbandonIssuance(h)`: the session is dropped, whatever its step (a certificate already
    /// issued for it stays registered, as in the model).
    pub fn abandon_issuance(&mut self, h: PhoneId) -> Result<(), Refusal> {
        self.tick();
        self.phone(h)?;
        self.sp.abandon(h)?;
        Ok(())
    }
}
