//! The JPKI app's side of the applet: an OMAPI-like logical channel opened with the app's
//! signing-certificate hash (R-ACL), and the ISO 7816 commands the app sends: SELECT, VERIFY,
//! COMPUTE DIGITAL SIGNATURE (R-KEYGEN), READ BINARY of the certificate, CHANGE REFERENCE
//! DATA (R-PIN-CHANGE), SET USER PIN (R-PIN-SETUP) and GET CREDENTIAL STATE. No command here
//! can personalise: those answer `6982` outside SCP03.

use crate::apdu::{ApduError, Command, Response, StatusWord};
use crate::applet::{self, fid, Kind, PinState, JPKI_AID, SHA256_DIGEST_INFO_PREFIX};
use crate::se::{tlv, ChannelId, SeError, SecureElement};
use sha2::{Digest, Sha256};
use std::fmt;

/// SHA-256 of the genuine JPKI app's signing certificate (the value the SEI-TSM puts in the
/// access rules). An arbitrary fixed value of this emulation.
pub const GENUINE_APP_HASH: [u8; 32] = [
    0x4a, 0x50, 0x4b, 0x49, 0x2d, 0x41, 0x50, 0x50, 0x2d, 0x47, 0x45, 0x4e, 0x55, 0x49, 0x4e, 0x45,
    0x2d, 0x53, 0x49, 0x47, 0x4e, 0x45, 0x52, 0x2d, 0x43, 0x45, 0x52, 0x54, 0x2d, 0x76, 0x31, 0x00,
];

/// Why an app operation on the applet failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppError {
    /// The SE refused the channel (R-ACL: access denied, no applet, ...).
    Se(SeError),
    /// The applet answered an error status word.
    Status {
        /// The command.
        what: &'static str,
        /// Its status word.
        sw: StatusWord,
    },
    /// A response could not be understood.
    Malformed(String),
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Se(e) => write!(f, "SE: {e}"),
            AppError::Status { what, sw } => write!(f, "{what} answered {sw:?}"),
            AppError::Malformed(m) => write!(f, "malformed response: {m}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<ApduError> for AppError {
    fn from(e: ApduError) -> Self {
        AppError::Malformed(e.to_string())
    }
}

/// One slot as GET CREDENTIAL STATE reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotState {
    /// The kind.
    pub kind: Kind,
    /// PIN state.
    pub pin_state: PinState,
    /// Tries left.
    pub tries_left: u8,
    /// Retry limit.
    pub max_tries: u8,
    /// The stored certificate's serial (INTEGER content bytes).
    pub cert_serial: Option<Vec<u8>>,
}

/// How the session reaches the applet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// An OMAPI logical channel opened by the app (R-ACL checked by the SE), bound to the
    /// app that opened it.
    Omapi {
        /// The channel.
        channel: ChannelId,
        /// The opening app's signing-certificate hash.
        app_cert_hash: [u8; 32],
    },
    /// A card reader over the SE's contactless interface (THREAT-READER: no app, no OMAPI,
    /// no access rule; see `crate::se::contactless` for the status words that differ).
    Contactless,
}

/// An open session with the JPKI applet: an OMAPI logical channel of the app, or a card
/// reader's contactless session. Closed on drop (channel closed, or the phone leaves the
/// reader's field). The commands are the same on both routes.
pub struct AppChannel<'a> {
    se: &'a mut SecureElement,
    route: Route,
}

impl Drop for AppChannel<'_> {
    fn drop(&mut self) {
        match self.route {
            Route::Omapi {
                channel,
                app_cert_hash,
            } => {
                let _ = self.se.close_channel(app_cert_hash, channel);
            }
            Route::Contactless => self.se.contactless_field_off(),
        }
    }
}

impl<'a> AppChannel<'a> {
    /// Open a channel as the app with signing-certificate hash `app_cert_hash` and SELECT the
    /// applet (R-ACL: the SE checks the access rules).
    pub fn open(se: &'a mut SecureElement, app_cert_hash: [u8; 32]) -> Result<Self, AppError> {
        let channel = se
            .open_channel(app_cert_hash, &JPKI_AID)
            .map_err(AppError::Se)?;
        let mut ch = AppChannel {
            se,
            route: Route::Omapi {
                channel,
                app_cert_hash,
            },
        };
        ch.select_applet()?;
        Ok(ch)
    }

    /// A card reader held to the phone SELECTs the applet by AID over the contactless
    /// interface (THREAT-READER): no app, no access rule, no network. `6A82` to the SELECT
    /// (no applet, not selectable, locked) is [`SeError::NoSuchApplet`].
    pub fn contactless(se: &'a mut SecureElement) -> Result<Self, AppError> {
        se.contactless_field_off();
        let mut ch = AppChannel {
            se,
            route: Route::Contactless,
        };
        match ch.select_applet() {
            Err(AppError::Status {
                sw: StatusWord(0x6A82),
                ..
            }) => Err(AppError::Se(SeError::NoSuchApplet {
                aid: JPKI_AID.to_vec(),
            })),
            other => other.map(|()| ch),
        }
    }

    fn select_applet(&mut self) -> Result<(), AppError> {
        self.ok(
            "SELECT",
            &Command::new(0x00, applet::ins::SELECT, 0x04, 0x0C, JPKI_AID.to_vec()),
        )
        .map(|_| ())
    }

    fn send(&mut self, cmd: &Command) -> Result<Response, AppError> {
        let raw = cmd.to_bytes();
        let answer = match self.route {
            Route::Omapi {
                channel,
                app_cert_hash,
            } => self.se.transmit(app_cert_hash, channel, &raw),
            Route::Contactless => self.se.transmit_contactless(&raw),
        };
        Ok(Response::parse(&answer)?)
    }

    fn ok(&mut self, what: &'static str, cmd: &Command) -> Result<Vec<u8>, AppError> {
        let r = self.send(cmd)?;
        if r.sw.is_ok() {
            Ok(r.data)
        } else {
            Err(AppError::Status { what, sw: r.sw })
        }
    }

    fn select_ef(&mut self, fid: u16) -> Result<(), AppError> {
        self.ok(
            "SELECT EF",
            &Command::new(
                0x00,
                applet::ins::SELECT,
                0x02,
                0x0C,
                fid.to_be_bytes().to_vec(),
            ),
        )
        .map(|_| ())
    }

    /// VERIFY the PIN of `kind` (`63Cx` wrong, `6983` blocked, `6985` temporary PIN).
    pub fn verify(&mut self, kind: Kind, pin: &str) -> Result<(), AppError> {
        let p2 = match kind {
            Kind::Auth => 0x81,
            Kind::Sign => 0x82,
        };
        self.ok(
            "VERIFY",
            &Command::new(0x00, applet::ins::VERIFY, 0x00, p2, pin.as_bytes().to_vec()),
        )
        .map(|_| ())
    }

    /// Query the PIN counter of `kind` with an empty VERIFY (no try used): the tries left
    /// (`63Cx`, `x` = 0 when blocked), as a card reader reads it before asking for the PIN.
    pub fn pin_status(&mut self, kind: Kind) -> Result<u8, AppError> {
        let p2 = match kind {
            Kind::Auth => 0x81,
            Kind::Sign => 0x82,
        };
        let r = self.send(&Command::new(0x00, applet::ins::VERIFY, 0x00, p2, vec![]))?;
        match r.sw.as_tries_left() {
            Some(n) => Ok(n),
            None => Err(AppError::Status {
                what: "VERIFY",
                sw: r.sw,
            }),
        }
    }

    /// COMPUTE DIGITAL SIGNATURE of SHA-256(`message`) with the key of `kind` (after VERIFY).
    pub fn sign(&mut self, kind: Kind, message: &[u8]) -> Result<Vec<u8>, AppError> {
        self.select_ef(kind.key_fid())?;
        let mut digest_info = SHA256_DIGEST_INFO_PREFIX.to_vec();
        digest_info.extend(Sha256::digest(message));
        self.ok(
            "COMPUTE DIGITAL SIGNATURE",
            &Command::new(
                0x80,
                applet::ins::COMPUTE_SIGNATURE,
                0x00,
                0x80,
                digest_info,
            )
            .with_le(0),
        )
    }

    /// READ BINARY of the certificate of `kind` (the sign certificate needs VERIFY first).
    pub fn read_cert(&mut self, kind: Kind) -> Result<Vec<u8>, AppError> {
        self.select_ef(kind.cert_fid())?;
        let mut out = Vec::new();
        loop {
            let offset = u16::try_from(out.len())
                .map_err(|_| AppError::Malformed("certificate too large".into()))?;
            let [p1, p2] = offset.to_be_bytes();
            let r = self
                .send(&Command::new(0x00, applet::ins::READ_BINARY, p1, p2, vec![]).with_le(0))?;
            if r.sw == applet::sw::WRONG_OFFSET && !out.is_empty() {
                break;
            }
            if !r.sw.is_ok() {
                return Err(AppError::Status {
                    what: "READ BINARY",
                    sw: r.sw,
                });
            }
            let n = r.data.len();
            out.extend(r.data);
            if n < 256 {
                break;
            }
        }
        Ok(out)
    }

    /// CHANGE REFERENCE DATA with the old PIN (R-PIN-CHANGE).
    pub fn change_pin(&mut self, kind: Kind, old: &str, new: &str) -> Result<(), AppError> {
        let p2 = match kind {
            Kind::Auth => 0x81,
            Kind::Sign => 0x82,
        };
        let mut data = vec![old.len() as u8];
        data.extend_from_slice(old.as_bytes());
        data.extend_from_slice(new.as_bytes());
        self.ok(
            "CHANGE REFERENCE DATA",
            &Command::new(0x00, applet::ins::CHANGE_REFERENCE_DATA, 0x00, p2, data),
        )
        .map(|_| ())
    }

    /// SET USER PIN from the temporary state (R-PIN-SETUP, R-PIN-INIT).
    pub fn set_user_pin(&mut self, kind: Kind, temp: &str, new: &str) -> Result<(), AppError> {
        let mut data = vec![temp.len() as u8];
        data.extend_from_slice(temp.as_bytes());
        data.extend_from_slice(new.as_bytes());
        self.ok(
            "SET USER PIN",
            &Command::new(0x80, applet::ins::SET_USER_PIN, 0x00, kind.p2(), data),
        )
        .map(|_| ())
    }

    /// GET CREDENTIAL STATE of both slots.
    pub fn state(&mut self) -> Result<Vec<SlotState>, AppError> {
        let data = self.ok(
            "GET CREDENTIAL STATE",
            &Command::new(0x80, applet::ins::GET_STATE, 0x00, 0x00, vec![]).with_le(0),
        )?;
        let bad = |m: &str| AppError::Malformed(format!("GET CREDENTIAL STATE: {m}"));
        let objs = tlv::parse(&data).map_err(|e| bad(&format!("{e:?}")))?;
        let mut out = Vec::new();
        for o in objs {
            let kind = u8::try_from(o.tag & 0x0F)
                .ok()
                .and_then(Kind::from_p2)
                .ok_or_else(|| bad("unknown slot tag"))?;
            let inner = tlv::parse(o.value).map_err(|e| bad(&format!("{e:?}")))?;
            let byte = |tag: u32| match tlv::find(&inner, tag) {
                Some([b]) => Ok(*b),
                _ => Err(bad("missing field")),
            };
            out.push(SlotState {
                kind,
                pin_state: PinState::from_code(byte(0x80)?).ok_or_else(|| bad("pin state"))?,
                tries_left: byte(0x81)?,
                max_tries: byte(0x82)?,
                cert_serial: tlv::find(&inner, 0x83).map(<[u8]>::to_vec),
            });
        }
        Ok(out)
    }
}

/// The token EF as a quick applet presence check (READ BINARY of `0006`).
pub fn read_token(ch: &mut AppChannel<'_>) -> Result<Vec<u8>, AppError> {
    ch.select_ef(fid::TOKEN)?;
    ch.ok(
        "READ BINARY",
        &Command::new(0x00, applet::ins::READ_BINARY, 0, 0, vec![]).with_le(0),
    )
}
