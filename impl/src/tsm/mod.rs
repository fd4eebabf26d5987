//! The two trusted service managers: the SEI-TSM ([`sei`], keys of the ISD: installs and
//! deletes the JPKI applet and its access rules) and the SP-TSM ([`sp`], keys of the APSD:
//! application intake, personalisation, PIN initialisation, revocation and deletion
//! requests, push-token registry).
//!
//! Requirements: R-SCP03 (every TSM command to the SE goes through [`ScpLink`], an
//! authenticated SCP03 session at the TSM's configured level, [`PERSONALISATION_LEVEL`] by
//! default: C-MAC, C-DECRYPTION, R-MAC and R-ENCRYPTION; THREAT-SKIM: the level is never
//! taken from the card's INITIALIZE UPDATE answer, whose i-parameter no cryptogram covers),
//! R-ACL, R-ISSUE, R-REISSUE, R-PIN-SETUP, R-PIN-INIT, R-REVOKE, R-TOKEN,
//! R-DELETE, INV-NO-STALE-DELETE.

pub mod sei;
pub mod sp;
#[cfg(test)]
mod tests;

use crate::apdu::{ApduError, Command, Response, StatusWord};
use crate::ca::CaError;
use crate::scp03::{HostSession, Scp03Error, SecurityLevel};
use crate::se::{KeysetSpec, SdId, SecureElement};

/// The SCP03 level both TSMs require by default (THREAT-SKIM): `33`, so that the SE's
/// answers (the public key of GENERATE KEY PAIR above all) carry an R-MAC and the temporary
/// PIN travels encrypted. A card whose INITIALIZE UPDATE answer offers less is refused, never
/// talked to at a lower level.
pub const PERSONALISATION_LEVEL: SecurityLevel = SecurityLevel::FULL;

/// What a TSM's SCP03 link talks through: the SE itself, or anything in between (a network,
/// an attacker in the tests).
pub trait TsmWire {
    /// Send a raw command APDU to security domain `sd`; the raw answer (data || SW).
    fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8>;
    /// Whether the JPKI applet instance is installed: the SEI-TSM's own record (it installs
    /// and deletes the instance), never read from the wire.
    fn applet_installed(&self) -> bool;
}

impl TsmWire for SecureElement {
    fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8> {
        SecureElement::transmit_tsm(self, sd, raw)
    }

    fn applet_installed(&self) -> bool {
        !self.installed_applets().is_empty()
    }
}
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
    /// The card's INITIALIZE UPDATE answer does not offer the level the TSM requires
    /// (THREAT-SKIM: a downgrade attempt or a card that cannot be personalised safely).
    LevelNotOffered {
        /// The level the TSM requires.
        required: SecurityLevel,
        /// The i-parameter the answer carried.
        i_param: u8,
    },
    /// The SE or applet answered an error status word to `what`.
    Status {
        /// The command that failed.
        what: &'static str,
        /// Its status word.
        sw: StatusWord,
    },
    /// The CA refused or failed.
    Ca(CaError),
    /// A deletion answered with an error status word (unauthenticated: SCP03 sends error
    /// status words without R-MAC), and the slot still holds the credential: the deletion is
    /// pending (THREAT-SKIM).
    DeletionUnconfirmed {
        /// The credential still held.
        serial: crate::ca::Serial,
        /// The status word answered to the deletion.
        sw: StatusWord,
    },
    /// An answer that must be authenticated came at a level without R-MAC.
    Unauthenticated(&'static str),
    /// A response or certificate could not be understood.
    Malformed(String),
}

impl fmt::Display for TsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TsmError::UnknownPhone(p) => write!(f, "no SCP03 keys for the SE of {p}"),
            TsmError::Scp03(e) => write!(f, "SCP03: {e}"),
            TsmError::Apdu(e) => write!(f, "bad response APDU: {e}"),
            TsmError::LevelNotOffered { required, i_param } => write!(
                f,
                "the card's i-parameter {i_param:02X} does not offer the required SCP03 level {required}"
            ),
            TsmError::Status { what, sw } => write!(f, "{what} answered {sw:?}"),
            TsmError::Ca(e) => write!(f, "CA: {e}"),
            TsmError::DeletionUnconfirmed { serial, sw } => write!(
                f,
                "deletion of {serial} answered {sw:?} and the SE still holds it: pending"
            ),
            TsmError::Unauthenticated(what) => {
                write!(f, "{what}: the link has no R-MAC, the answer proves nothing")
            }
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
    wire: &'a mut dyn TsmWire,
    sd: SdId,
    host: HostSession,
}

impl<'a> ScpLink<'a> {
    /// [`ScpLink::open`] with the key set a TSM holds for `phone`'s SE (`UnknownPhone` if it
    /// holds none).
    pub fn open_for(
        wire: &'a mut dyn TsmWire,
        sd: SdId,
        keysets: &std::collections::BTreeMap<crate::ca::PhoneId, KeysetSpec>,
        phone: crate::ca::PhoneId,
        level: SecurityLevel,
        rng: &mut ChaCha20Rng,
    ) -> Result<Self, TsmError> {
        let keys = keysets.get(&phone).ok_or(TsmError::UnknownPhone(phone))?;
        Self::open(wire, sd, keys, level, rng)
    }

    /// INITIALIZE UPDATE with a fresh host challenge from `rng`, card cryptogram check,
    /// EXTERNAL AUTHENTICATE at exactly `level`, the TSM's configuration. The card's
    /// i-parameter only decides whether the link is refused ([`TsmError::LevelNotOffered`]):
    /// it is not covered by the card cryptogram, so it never lowers the level (THREAT-SKIM).
    pub fn open(
        wire: &'a mut dyn TsmWire,
        sd: SdId,
        keys: &KeysetSpec,
        level: SecurityLevel,
        rng: &mut ChaCha20Rng,
    ) -> Result<Self, TsmError> {
        let keys = keys.static_keys()?;
        let mut challenge = [0u8; 8];
        rng.fill_bytes(&mut challenge);
        let iu = HostSession::initialize_update_command(keys.kvn, challenge);
        let resp = Response::parse(&wire.transmit_tsm(sd, &iu.to_bytes()))?;
        if !resp.sw.is_ok() {
            return Err(TsmError::Status {
                what: "INITIALIZE UPDATE",
                sw: resp.sw,
            });
        }
        let mut host = HostSession::open(keys, challenge, &resp.data)?;
        let i_param = host.init_update_response().i_param;
        if !level.supported_by(i_param) {
            return Err(TsmError::LevelNotOffered {
                required: level,
                i_param,
            });
        }
        let ea = host.external_authenticate_command(level)?;
        let resp = Response::parse(&wire.transmit_tsm(sd, &ea))?;
        if !resp.sw.is_ok() {
            return Err(TsmError::Status {
                what: "EXTERNAL AUTHENTICATE",
                sw: resp.sw,
            });
        }
        Ok(ScpLink { wire, sd, host })
    }

    /// The level the link runs at.
    pub fn level(&self) -> Option<SecurityLevel> {
        self.host.level()
    }

    /// Send `cmd` wrapped; the unwrapped response, whatever its status word.
    pub fn send(&mut self, cmd: &Command) -> Result<Response, TsmError> {
        let raw = self.host.wrap_command(cmd)?;
        let answer = self.wire.transmit_tsm(self.sd, &raw);
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
