//! The two trusted service managers: the SEI-TSM ([`sei`], keys of the ISD: installs and
//! deletes the JPKI applet and its access rules) and the SP-TSM ([`sp`], keys of the APSD:
//! application intake, personalisation, PIN initialisation, revocation and deletion
//! requests, push-token registry).
//!
//! Requirements: R-SCP03 (every TSM command to the SE goes through [`ScpLink`], an
//! authenticated SCP03 session with C-MAC and C-DECRYPTION, R-MAC and R-ENCRYPTION when the
//! card offers them), R-ACL, R-ISSUE, R-REISSUE, R-PIN-SETUP, R-PIN-INIT, R-REVOKE, R-TOKEN,
//! R-DELETE, INV-NO-STALE-DELETE.

pub mod revoke_auth;
pub mod sei;
pub mod sp;

use crate::apdu::{ApduError, Command, Response, StatusWord};
use crate::ca::CaError;
use crate::scp03::{HostSession, Scp03Error, SecurityLevel};
use crate::se::{KeysetSpec, SdId, SecureElement};
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha20Rng;
use std::fmt;

/// Why a TSM operation failed or was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TsmError {
    /// The TSM has no keys for this phone's SE.
    UnknownPhone(crate::ca::PhoneId),
    /// The SCP03 session could not be opened or a message failed its checks.
    Scp03(Scp03Error),
    /// A response was not a well-formed APDU response.
    Apdu(ApduError),
    /// The SE or applet answered an error status word to `what`.
    Status {
        /// The command that failed.
        what: &'static str,
        /// Its status word.
        sw: StatusWord,
    },
    /// The CA refused or failed.
    Ca(CaError),
    /// A response or certificate could not be understood.
    Malformed(String),
}

impl fmt::Display for TsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsmError::UnknownPhone(p) => write!(f, "no SCP03 keys for the SE of {p}"),
            TsmError::Scp03(e) => write!(f, "SCP03: {e}"),
            TsmError::Apdu(e) => write!(f, "bad response APDU: {e}"),
            TsmError::Status { what, sw } => write!(f, "{what} answered {sw:?}"),
            TsmError::Ca(e) => write!(f, "CA: {e}"),
            TsmError::Malformed(m) => write!(f, "malformed: {m}"),
        }
    }
}

impl std::error::Error for TsmError {}

impl From<Scp03Error> for TsmError {
    fn from(e: Scp03Error) -> Self {
        TsmError::Scp03(e)
    }
}

impl From<ApduError> for TsmError {
    fn from(e: ApduError) -> Self {
        TsmError::Apdu(e)
    }
}

impl From<CaError> for TsmError {
    fn from(e: CaError) -> Self {
        TsmError::Ca(e)
    }
}

/// An authenticated SCP03 session from a TSM to one security domain of one SE (R-SCP03).
pub struct ScpLink<'a> {
    se: &'a mut SecureElement,
    sd: SdId,
    host: HostSession,
}

impl<'a> ScpLink<'a> {
    /// [`ScpLink::open`] with the key set a TSM holds for `phone`'s SE (`UnknownPhone` if it
    /// holds none).
    pub fn open_for(
        se: &'a mut SecureElement,
        sd: SdId,
        keysets: &std::collections::BTreeMap<crate::ca::PhoneId, KeysetSpec>,
        phone: crate::ca::PhoneId,
        rng: &mut ChaCha20Rng,
    ) -> Result<Self, TsmError> {
        let keys = keysets.get(&phone).ok_or(TsmError::UnknownPhone(phone))?;
        Self::open(se, sd, keys, rng)
    }

    /// INITIALIZE UPDATE with a fresh host challenge from `rng`, card cryptogram check,
    /// EXTERNAL AUTHENTICATE at the strongest level the card offers (FULL, else C-DEC + C-MAC).
    pub fn open(
        se: &'a mut SecureElement,
        sd: SdId,
        keys: &KeysetSpec,
        rng: &mut ChaCha20Rng,
    ) -> Result<Self, TsmError> {
        let keys = keys.static_keys()?;
        let mut challenge = [0u8; 8];
        rng.fill_bytes(&mut challenge);
        let iu = HostSession::initialize_update_command(keys.kvn, challenge);
        let resp = Response::parse(&se.transmit_tsm(sd, &iu.to_bytes()))?;
        if !resp.sw.is_ok() {
            return Err(TsmError::Status {
                what: "INITIALIZE UPDATE",
                sw: resp.sw,
            });
        }
        let mut host = HostSession::open(keys, challenge, &resp.data)?;
        let i_param = host.init_update_response().i_param;
        let level = if SecurityLevel::FULL.supported_by(i_param) {
            SecurityLevel::FULL
        } else {
            SecurityLevel::C_DEC_C_MAC
        };
        let ea = host.external_authenticate_command(level)?;
        let resp = Response::parse(&se.transmit_tsm(sd, &ea))?;
        if !resp.sw.is_ok() {
            return Err(TsmError::Status {
                what: "EXTERNAL AUTHENTICATE",
                sw: resp.sw,
            });
        }
        Ok(ScpLink { se, sd, host })
    }

    /// Send `cmd` wrapped; the unwrapped response, whatever its status word.
    pub fn send(&mut self, cmd: &Command) -> Result<Response, TsmError> {
        let raw = self.host.wrap_command(cmd)?;
        let answer = self.se.transmit_tsm(self.sd, &raw);
        Ok(self.host.unwrap_response(&answer)?)
    }

    /// Send `cmd` and require `9000`; the response data.
    pub fn expect_ok(&mut self, what: &'static str, cmd: &Command) -> Result<Vec<u8>, TsmError> {
        let resp = self.send(cmd)?;
        if resp.sw.is_ok() {
            Ok(resp.data)
        } else {
            Err(TsmError::Status { what, sw: resp.sw })
        }
    }
}

/// Per-phone SCP03 key sets derived from a seed (each TSM holds its own domain's keys).
pub(crate) fn derive_keyset(rng: &mut ChaCha20Rng, kvn: u8) -> KeysetSpec {
    let mut k = [[0u8; 16]; 3];
    for key in k.iter_mut() {
        rng.fill_bytes(key);
    }
    KeysetSpec::new(kvn, &k[0], &k[1], &k[2])
}
