//! The seam between a security domain and `crate::scp03` (R-SCP03): one card-side SCP03
//! endpoint per security domain, rebuilt from serialisable parts (static keys, key
//! diversification data, AID, next sequence counter) whenever it is absent.
//!
//! The live [`CardSession`] is transient: it is neither serialised nor cloned (a snapshot or a
//! clone of the SE has no open secure channel; the TSM opens a new one). The sequence counter
//! is carried over, so a restored SE never reuses a pseudo-random card challenge.

use crate::apdu::{Command, Response, StatusWord};
use crate::scp03::{CardSession, Scp03Error, StaticKeys};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A static SCP03 key set in serialisable form (`crate::scp03::StaticKeys` is built from it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysetSpec {
    /// Key version number.
    pub kvn: u8,
    /// Key-ENC (16, 24 or 32 bytes).
    pub enc: Vec<u8>,
    /// Key-MAC.
    pub mac: Vec<u8>,
    /// Key-DEK.
    pub dek: Vec<u8>,
}

impl fmt::Debug for KeysetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeysetSpec {{ kvn: {:02X}, keys hidden }}", self.kvn)
    }
}

impl KeysetSpec {
    /// A key set; lengths are checked by [`KeysetSpec::static_keys`].
    pub fn new(kvn: u8, enc: &[u8], mac: &[u8], dek: &[u8]) -> Self {
        KeysetSpec {
            kvn,
            enc: enc.to_vec(),
            mac: mac.to_vec(),
            dek: dek.to_vec(),
        }
    }

    /// The SCP03 static keys (fails on a key length other than 16, 24 or 32).
    pub fn static_keys(&self) -> Result<StaticKeys, Scp03Error> {
        StaticKeys::new(
            self.kvn,
            self.enc.clone(),
            self.mac.clone(),
            self.dek.clone(),
        )
    }
}

/// An `Option<T>` that is dropped by `Clone` and by serde: for live protocol state that
/// cannot be copied.
#[derive(Debug)]
pub(crate) struct Transient<T>(pub(crate) Option<T>);

impl<T> Default for Transient<T> {
    fn default() -> Self {
        Transient(None)
    }
}

impl<T> Clone for Transient<T> {
    fn clone(&self) -> Self {
        Transient(None)
    }
}

/// The card end of SCP03 for one security domain.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScpEndpoint {
    keys: KeysetSpec,
    kdd: [u8; 10],
    aid: Vec<u8>,
    next_counter: u32,
    #[serde(skip)]
    live: Transient<CardSession>,
}

impl ScpEndpoint {
    pub(crate) fn new(keys: KeysetSpec, kdd: [u8; 10], aid: Vec<u8>) -> Self {
        ScpEndpoint {
            keys,
            kdd,
            aid,
            next_counter: 1,
            live: Transient(None),
        }
    }

    fn session(&mut self) -> Result<&mut CardSession, StatusWord> {
        if self.live.0.is_none() {
            let keys = self.keys.static_keys().map_err(|e| e.status())?;
            self.live.0 = Some(CardSession::new(
                keys,
                self.kdd,
                self.aid.clone(),
                self.next_counter,
            ));
        }
        self.live.0.as_mut().ok_or(StatusWord::UNKNOWN)
    }

    /// INITIALIZE UPDATE: raw response (data || SW). Ends any session in progress.
    pub(crate) fn initialize_update(&mut self, cmd: &Command) -> Vec<u8> {
        let out = match self.session() {
            Ok(s) => match s.initialize_update(cmd) {
                Ok(data) => Response::ok(data),
                Err(e) => Response::status(e.status()),
            },
            Err(sw) => Response::status(sw),
        };
        if let Some(s) = &self.live.0 {
            self.next_counter = s.sequence_counter();
        }
        out.to_bytes()
    }

    /// EXTERNAL AUTHENTICATE: raw response.
    pub(crate) fn external_authenticate(&mut self, raw: &[u8]) -> Vec<u8> {
        let sw = match self.session() {
            Ok(s) => match s.external_authenticate(raw) {
                Ok(()) => StatusWord::OK,
                Err(e) => e.status(),
            },
            Err(sw) => sw,
        };
        Response::status(sw).to_bytes()
    }

    /// The security level byte of the authenticated session, if any.
    pub(crate) fn level(&self) -> Option<u8> {
        self.live
            .0
            .as_ref()
            .filter(|s| s.is_authenticated())
            .and_then(CardSession::level)
            .map(|l| l.byte())
    }

    /// Verify and decrypt a command of the authenticated session.
    pub(crate) fn unwrap(&mut self, raw: &[u8]) -> Result<Command, StatusWord> {
        match self.live.0.as_mut() {
            Some(s) => s.unwrap_command(raw).map_err(|e| e.status()),
            None => Err(StatusWord::SECURITY_NOT_SATISFIED),
        }
    }

    /// Protect a response of the authenticated session (raw bytes).
    pub(crate) fn wrap(&mut self, resp: &Response) -> Vec<u8> {
        match self.live.0.as_mut().map(|s| s.wrap_response(resp)) {
            Some(Ok(raw)) => raw,
            Some(Err(e)) => Response::status(e.status()).to_bytes(),
            None => Response::status(StatusWord::SECURITY_NOT_SATISFIED).to_bytes(),
        }
    }

    /// PUT KEY (plain, from the authenticated session): the answer and the key set it
    /// installs, once the answer is sent ([`ScpEndpoint::rotate`]).
    pub(crate) fn put_key(&self, cmd: &Command) -> Result<(Response, KeysetSpec), StatusWord> {
        let current = self.keys.static_keys().map_err(|e| e.status())?;
        let new = crate::scp03::putkey::parse_put_key(&current, cmd).map_err(|e| e.status())?;
        let answer = crate::scp03::putkey::put_key_answer(&new).map_err(|e| e.status())?;
        let spec = KeysetSpec::new(new.kvn, &new.enc, &new.mac, &new.dek);
        Ok((Response::ok(answer), spec))
    }

    /// Install `keys` (after PUT KEY was answered): the session ends and the sequence
    /// counter starts again at 1 under the new keys.
    pub(crate) fn rotate(&mut self, keys: KeysetSpec) {
        self.live.0 = None;
        self.keys = keys;
        self.next_counter = 1;
    }

    #[cfg(test)]
    pub(crate) fn set_sequence_counter(&mut self, counter: u32) {
        self.live.0 = None;
        self.next_counter = counter;
    }

    /// Drop the live session (factory reset, malformed secured input).
    pub(crate) fn end(&mut self) {
        if let Some(s) = &self.live.0 {
            self.next_counter = s.sequence_counter();
        }
        self.live.0 = None;
    }
}
