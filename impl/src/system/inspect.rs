//! Read-only inspection: configuration, CA, sessions, pushes and phone views (no keys).

use super::{Pin, System, SystemConfig};
use crate::applet::PinState;
use crate::ca::{
    Ca, CaError, CertKind, CertSubject, Crl, LogicalTime, PersonId, PhoneId, Serial, StatusAnswer,
};
use crate::phone::{Condition, Holder};
use crate::push::Token;
use crate::tsm::sp::{applet_kind, serial_from_bytes};

/// One applet slot as inspected (no private key material).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// The kind.
    pub kind: CertKind,
    /// PIN state (Empty: no credential).
    pub pin_state: PinState,
    /// Tries left.
    pub tries_left: u8,
    /// Retry limit.
    pub max_tries: u8,
    /// Whether a key pair is in the slot.
    pub has_key: bool,
    /// The stored certificate's serial.
    pub cert_serial: Option<Serial>,
}

/// What one phone looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneView {
    /// Holder.
    pub holder: Holder,
    /// Condition.
    pub condition: Condition,
    /// Online.
    pub online: bool,
    /// The installed app's installation number (its token).
    pub app: Option<u32>,
    /// Whether the applet is installed.
    pub applet: bool,
    /// GP life cycle byte of the applet (GET STATUS), if installed.
    pub applet_life_cycle: Option<u8>,
    /// The slots (empty without the applet).
    pub slots: Vec<SlotInfo>,
}

/// A pending push as inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushView {
    /// Its index in send order.
    pub index: usize,
    /// The phone of its token.
    pub phone: PhoneId,
    /// The token.
    pub token: Token,
    /// The serial to delete.
    pub serial: Serial,
    /// The kind.
    pub kind: CertKind,
}

impl System {
    // ----- read-only inspection -----

    /// The configuration.
    pub fn config(&self) -> &SystemConfig {
        &self.config
    }

    /// The current logical time.
    pub fn now(&self) -> LogicalTime {
        self.now
    }

    /// The CA (registry, status, root certificate).
    pub fn ca(&self) -> &Ca {
        &self.ca
    }

    /// Registry status of `serial`.
    pub fn status(&self, serial: Serial) -> StatusAnswer {
        self.ca.status(serial)
    }

    /// The person's live phone certificate of `kind`: serial and phone.
    pub fn live_cert(&self, p: PersonId, kind: CertKind) -> Option<(Serial, PhoneId)> {
        self.ca
            .live_phone_cert(p, kind)
            .and_then(|r| match r.subject {
                CertSubject::Phone { phone, .. } => Some((r.serial, phone)),
                CertSubject::CardSigning { .. } => None,
            })
    }

    /// The person's latest card signing certificate: serial and DER.
    pub fn card_cert(&self, p: PersonId) -> Option<(Serial, Vec<u8>)> {
        self.ca
            .registry()
            .latest_card_cert(p)
            .map(|r| (r.serial, r.der.clone()))
    }

    /// A CRL as of now, from a copy of the CA (the cRLNumber of the real CA is not used up).
    pub fn crl(&self) -> Result<Crl, CaError> {
        self.ca.clone().issue_crl(self.now)
    }

    /// Publish a CRL as of now (advances the CA's cRLNumber).
    pub fn publish_crl(&mut self) -> Result<Crl, CaError> {
        self.ca.issue_crl(self.now)
    }

    /// The SP-TSM's view of the issuance session on `h`.
    pub fn session(&self, h: PhoneId) -> Option<&crate::tsm::sp::Issuance> {
        self.sp.session(h)
    }

    /// The token last registered for `h` (R-TOKEN).
    pub fn registered_token(&self, h: PhoneId) -> Option<Token> {
        self.sp.token(h)
    }

    /// The pending pushes in send order.
    pub fn pending_pushes(&self) -> Vec<PushView> {
        self.push
            .pending()
            .iter()
            .enumerate()
            .map(|(index, m)| PushView {
                index,
                phone: m.token.phone,
                token: m.token,
                serial: m.notice.serial,
                kind: m.notice.kind,
            })
            .collect()
    }

    /// Holder, condition, network, app, applet and slots of `h` (SE inspection: no keys).
    pub fn phone_view(&self, h: PhoneId) -> Option<PhoneView> {
        let phone = self.phones.get(&h)?;
        let slots = CertKind::ALL
            .into_iter()
            .filter_map(|kind| {
                phone.se.slot(applet_kind(kind)).map(|v| SlotInfo {
                    kind,
                    pin_state: v.pin_state,
                    tries_left: v.tries_left,
                    max_tries: v.max_tries,
                    has_key: v.public_key.is_some(),
                    cert_serial: v.cert_serial.as_deref().and_then(serial_from_bytes),
                })
            })
            .collect();
        Some(PhoneView {
            holder: phone.holder,
            condition: phone.condition,
            online: phone.online,
            app: phone.app.map(|a| a.installation),
            applet: phone.has_applet(),
            applet_life_cycle: phone
                .se
                .installed_applets()
                .first()
                .map(|a| a.life_cycle.byte()),
            slots,
        })
    }

    /// The slot of `kind` on `h`, if the applet is installed.
    pub fn slot(&self, h: PhoneId, kind: CertKind) -> Option<SlotInfo> {
        self.phone_view(h)?
            .slots
            .into_iter()
            .find(|s| s.kind == kind)
    }

    /// The DER of a registered certificate.
    pub fn cert_der(&self, serial: Serial) -> Option<Vec<u8>> {
        self.ca.registry().get(serial).map(|r| r.der.clone())
    }

    /// The phones, in id order.
    pub fn phone_ids(&self) -> Vec<PhoneId> {
        self.phones.keys().copied().collect()
    }

    /// Phone `h`'s secure element, for a card reader's view of it (THREAT-READER: the
    /// contactless interface, `phone-jpki card serve`).
    pub fn secure_element(&self, h: PhoneId) -> Option<&crate::se::SecureElement> {
        self.phones.get(&h).map(|p| &p.se)
    }

    /// The PIN or password the holder of `h` types for `kind` (the user PIN they set).
    pub fn holder_pin(&self, h: PhoneId, kind: CertKind) -> Option<String> {
        self.entered_pin(h, kind, Pin::Right).ok()
    }
}
