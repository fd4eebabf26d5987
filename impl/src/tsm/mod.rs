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

pub mod revoke_auth;
pub mod sei;
pub mod sp;
pub mod status_gate;
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
    keys: KeysetSpec,
    host: HostSession,
}

/// A TSM rotates a domain's keys when the card announces this sequence counter or more
/// (three quarters of the 24-bit range): an attacker who burns counter values with
/// unauthenticated INITIALIZE UPDATEs must send about 4.2 million between two TSM contacts
/// to exhaust it (issue 16 finding 6; see `crate::scp03::putkey`).
pub const ROTATE_AT: u32 = 0x00C0_0000;

/// The key version after `kvn` (never `00`, "first available", nor `FF`, reserved).
pub fn next_kvn(kvn: u8) -> u8 {
    match kvn.wrapping_add(1) {
        0x00 | 0xFF => 0x01,
        k => k,
    }
}

/// INITIALIZE UPDATE with a fresh host challenge from `rng`, card cryptogram check,
/// EXTERNAL AUTHENTICATE at `level` (see [`ScpLink::open`]).
fn handshake(
    wire: &mut dyn TsmWire,
    sd: SdId,
    keys: &KeysetSpec,
    level: SecurityLevel,
    rng: &mut ChaCha20Rng,
) -> Result<HostSession, TsmError> {
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
    Ok(host)
}

impl<'a> ScpLink<'a> {
    /// [`ScpLink::open`] with the key set a TSM holds for `phone`'s SE (`UnknownPhone` if it
    /// holds none). When the card announces a sequence counter at or past [`ROTATE_AT`], the
    /// TSM first rotates the domain's keys ([`ScpLink::put_key`]: fresh keys from `rng`, the
    /// next key version), records them in `keysets` and reopens, so the counter starts again
    /// long before it runs out.
    pub fn open_for(
        wire: &'a mut dyn TsmWire,
        sd: SdId,
        keysets: &mut std::collections::BTreeMap<crate::ca::PhoneId, KeysetSpec>,
        phone: crate::ca::PhoneId,
        level: SecurityLevel,
        rng: &mut ChaCha20Rng,
    ) -> Result<Self, TsmError> {
        let keys = keysets.get(&phone).ok_or(TsmError::UnknownPhone(phone))?;
        let mut link = Self::open(wire, sd, keys, level, rng)?;
        if link.sequence_counter().is_some_and(|c| c >= ROTATE_AT) {
            let new = derive_keyset(rng, next_kvn(keys.kvn));
            link.put_key(&new)?;
            keysets.insert(phone, new.clone());
            link.reopen(&new, level, rng)?;
        }
        Ok(link)
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
        let host = handshake(wire, sd, keys, level, rng)?;
        Ok(ScpLink {
            wire,
            sd,
            keys: keys.clone(),
            host,
        })
    }

    /// A new session on the same wire with `keys` (after [`ScpLink::put_key`]).
    pub fn reopen(
        &mut self,
        keys: &KeysetSpec,
        level: SecurityLevel,
        rng: &mut ChaCha20Rng,
    ) -> Result<(), TsmError> {
        self.host = handshake(self.wire, self.sd, keys, level, rng)?;
        self.keys = keys.clone();
        Ok(())
    }

    /// The sequence counter the card announced for this session (pseudo-random challenges).
    pub fn sequence_counter(&self) -> Option<u32> {
        self.host.init_update_response().sequence_counter
    }

    /// PUT KEY: replace the domain's key set by `new` (`crate::scp03::putkey`). The answer
    /// must be `9000` with `new`'s version and check values; the card then ends this session,
    /// so [`ScpLink::reopen`] with `new` follows.
    pub fn put_key(&mut self, new: &KeysetSpec) -> Result<(), TsmError> {
        use crate::scp03::putkey::{put_key_answer, put_key_command};
        let (current, next) = (self.keys.static_keys()?, new.static_keys()?);
        let answer = self.expect_ok("PUT KEY", &put_key_command(&current, &next)?)?;
        if answer != put_key_answer(&next)? {
            return Err(TsmError::Malformed(
                "PUT KEY answer: check values differ".into(),
            ));
        }
        Ok(())
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

/// What a TSM holds for one kind of security domain: each phone's key set, and the level it
/// requires (configuration, never the card's answer).
#[derive(Debug, Clone)]
pub(crate) struct KeyRing {
    sd: SdId,
    keys: std::collections::BTreeMap<crate::ca::PhoneId, KeysetSpec>,
    pub(crate) level: SecurityLevel,
}

impl KeyRing {
    pub(crate) fn new(sd: SdId) -> Self {
        KeyRing {
            sd,
            keys: std::collections::BTreeMap::new(),
            level: PERSONALISATION_LEVEL,
        }
    }

    pub(crate) fn register(&mut self, phone: crate::ca::PhoneId, keys: KeysetSpec) {
        self.keys.insert(phone, keys);
    }

    pub(crate) fn get(&self, phone: crate::ca::PhoneId) -> Option<&KeysetSpec> {
        self.keys.get(&phone)
    }

    /// [`ScpLink::open_for`] `phone`'s domain (rotating near the counter's end).
    pub(crate) fn link<'a>(
        &mut self,
        wire: &'a mut dyn TsmWire,
        phone: crate::ca::PhoneId,
        rng: &mut ChaCha20Rng,
    ) -> Result<ScpLink<'a>, TsmError> {
        ScpLink::open_for(wire, self.sd, &mut self.keys, phone, self.level, rng)
    }

    /// Planned key rotation: PUT KEY with fresh keys from `rng` and the next key version,
    /// recorded here, and a session under the new keys to confirm them.
    pub(crate) fn rotate(
        &mut self,
        wire: &mut dyn TsmWire,
        phone: crate::ca::PhoneId,
        rng: &mut ChaCha20Rng,
    ) -> Result<(), TsmError> {
        let keys = self.keys.get(&phone).ok_or(TsmError::UnknownPhone(phone))?;
        let new = derive_keyset(rng, next_kvn(keys.kvn));
        let mut link = ScpLink::open(wire, self.sd, keys, self.level, rng)?;
        link.put_key(&new)?;
        self.keys.insert(phone, new.clone());
        link.reopen(&new, self.level, rng)
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
