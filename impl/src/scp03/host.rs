//! The host (TSM) end of SCP03 (R-SCP03): builds INITIALIZE UPDATE, verifies the card
//! cryptogram, authenticates with EXTERNAL AUTHENTICATE, then wraps commands and unwraps
//! responses at the chosen security level. Any error ends the session on this end.

use super::kdf::{ct_eq, SessionKeys};
use super::sm::Channel;
use super::{
    Scp03Error, SecurityLevel, StaticKeys, INS_EXTERNAL_AUTHENTICATE, INS_INITIALIZE_UPDATE,
    I_PSEUDO_RANDOM, SCP_ID,
};
use crate::apdu::{Command, Response};

/// Where the host session stands.
#[derive(Clone, Debug)]
enum HostState {
    /// Card cryptogram verified; EXTERNAL AUTHENTICATE not yet built.
    Opened(SessionKeys),
    /// EXTERNAL AUTHENTICATE built; commands can be wrapped.
    Authenticated(Channel),
    /// Ended by an error.
    Closed,
}

/// The fields of an INITIALIZE UPDATE response (Amd D §7.1.1.6, S8 mode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitUpdateResponse {
    /// Key diversification data (10 bytes).
    pub key_diversification_data: [u8; 10],
    /// Key version number of the keys the card used.
    pub kvn: u8,
    /// The i-parameter (see the `I_*` constants).
    pub i_param: u8,
    /// Card challenge.
    pub card_challenge: [u8; 8],
    /// Card cryptogram.
    pub card_cryptogram: [u8; 8],
    /// Sequence counter (present exactly when the challenge is pseudo-random).
    pub sequence_counter: Option<u32>,
}

impl InitUpdateResponse {
    /// Parse the response data (without SW): 29 bytes, or 32 with the sequence counter.
    pub fn parse(data: &[u8]) -> Result<InitUpdateResponse, Scp03Error> {
        let bad = |why: String| Scp03Error::MalformedInitUpdateResponse(why);
        if data.len() != 29 && data.len() != 32 {
            return Err(bad(format!(
                "{} bytes, expected 29 or 32 (S8 mode)",
                data.len()
            )));
        }
        let (kdd, rest) = data.split_at(10);
        let (info, rest) = rest.split_at(3);
        let (challenge, rest) = rest.split_at(8);
        let (cryptogram, counter) = rest.split_at(8);
        let (kvn, scp, i_param) = (info[0], info[1], info[2]);
        if scp != SCP_ID {
            return Err(bad(format!("SCP identifier {scp:02X}, not 03")));
        }
        let pseudo = i_param & I_PSEUDO_RANDOM != 0;
        let sequence_counter = match (pseudo, counter.len()) {
            (true, 3) => Some(u32::from_be_bytes([0, counter[0], counter[1], counter[2]])),
            (false, 0) => None,
            (true, _) => {
                return Err(bad(format!(
                    "i-parameter {i_param:02X} announces a pseudo-random challenge but no sequence counter follows"
                )))
            }
            (false, _) => {
                return Err(bad(format!(
                    "i-parameter {i_param:02X} announces a random challenge but a sequence counter follows"
                )))
            }
        };
        let arr8 = |s: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            a
        };
        let mut key_diversification_data = [0u8; 10];
        key_diversification_data.copy_from_slice(kdd);
        Ok(InitUpdateResponse {
            key_diversification_data,
            kvn,
            i_param,
            card_challenge: arr8(challenge),
            card_cryptogram: arr8(cryptogram),
            sequence_counter,
        })
    }

    /// Encode as response data (without SW).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.key_diversification_data.to_vec();
        out.extend_from_slice(&[self.kvn, SCP_ID, self.i_param]);
        out.extend_from_slice(&self.card_challenge);
        out.extend_from_slice(&self.card_cryptogram);
        if let Some(c) = self.sequence_counter {
            out.extend_from_slice(&c.to_be_bytes()[1..]);
        }
        out
    }
}

/// The host (TSM) end of one SCP03 session.
#[derive(Clone, Debug)]
pub struct HostSession {
    response: InitUpdateResponse,
    host_challenge: [u8; 8],
    state: HostState,
}

impl HostSession {
    /// INITIALIZE UPDATE: `80 50 kvn 00 08 host_challenge 00` (kvn `00`: first available).
    pub fn initialize_update_command(kvn: u8, host_challenge: [u8; 8]) -> Command {
        Command::new(
            0x80,
            INS_INITIALIZE_UPDATE,
            kvn,
            0x00,
            host_challenge.to_vec(),
        )
        .with_le(0)
    }

    /// Open a session from the card's INITIALIZE UPDATE response data (without SW): derives
    /// the session keys and verifies the card cryptogram. A key version other than the keys'
    /// (unless they are addressed as `00`) is [`Scp03Error::KeyVersionNotFound`].
    pub fn open(
        keys: StaticKeys,
        host_challenge: [u8; 8],
        init_update_response: &[u8],
    ) -> Result<HostSession, Scp03Error> {
        let keys = keys.checked()?;
        let response = InitUpdateResponse::parse(init_update_response)?;
        if keys.kvn != 0 && response.kvn != keys.kvn {
            return Err(Scp03Error::KeyVersionNotFound {
                requested: keys.kvn,
                held: response.kvn,
            });
        }
        let sk = SessionKeys::derive(
            &keys.enc,
            &keys.mac,
            &host_challenge,
            &response.card_challenge,
        );
        if !ct_eq(&sk.card_cryptogram(), &response.card_cryptogram) {
            return Err(Scp03Error::CardCryptogramMismatch);
        }
        Ok(HostSession {
            response,
            host_challenge,
            state: HostState::Opened(sk),
        })
    }

    /// The parsed INITIALIZE UPDATE response this session was opened with.
    pub fn init_update_response(&self) -> &InitUpdateResponse {
        &self.response
    }

    /// The host challenge of this session.
    pub fn host_challenge(&self) -> [u8; 8] {
        self.host_challenge
    }

    /// Whether EXTERNAL AUTHENTICATE has been built and no error has ended the session.
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, HostState::Authenticated(_))
    }

    /// The security level, once authenticated.
    pub fn level(&self) -> Option<SecurityLevel> {
        match &self.state {
            HostState::Authenticated(c) => Some(c.level()),
            _ => None,
        }
    }

    /// EXTERNAL AUTHENTICATE `84 82 level 00 10 host_cryptogram C-MAC`. The level must be
    /// offered by the card's i-parameter ([`Scp03Error::LevelNotSupported`]).
    pub fn external_authenticate_command(
        &mut self,
        level: SecurityLevel,
    ) -> Result<Vec<u8>, Scp03Error> {
        let sk = match std::mem::replace(&mut self.state, HostState::Closed) {
            HostState::Opened(sk) => sk,
            HostState::Authenticated(_) => return Err(Scp03Error::AlreadyAuthenticated),
            HostState::Closed => return Err(Scp03Error::SessionClosed),
        };
        if !level.supported_by(self.response.i_param) {
            return Err(Scp03Error::LevelNotSupported {
                level: level.byte(),
                i_param: self.response.i_param,
            });
        }
        let cryptogram = sk.host_cryptogram();
        let mut channel = Channel::new(sk, level);
        let cmd = Command::new(
            0x80,
            INS_EXTERNAL_AUTHENTICATE,
            level.byte(),
            0x00,
            cryptogram.to_vec(),
        );
        let raw = channel.protect_command(&cmd, false)?;
        self.state = HostState::Authenticated(channel);
        Ok(raw)
    }

    /// Apply C-MAC (and C-DECRYPTION at levels `03`, `13`, `33`) to `cmd`. The class byte must
    /// not already indicate secure messaging. Le is kept as given.
    pub fn wrap_command(&mut self, cmd: &Command) -> Result<Vec<u8>, Scp03Error> {
        let result = match &mut self.state {
            HostState::Authenticated(c) => c.protect_command(cmd, true),
            HostState::Opened(_) => Err(Scp03Error::NotAuthenticated),
            HostState::Closed => Err(Scp03Error::SessionClosed),
        };
        self.close_on_error(result)
    }

    /// Verify the R-MAC and undo R-ENCRYPTION of a response `data || SW` per the level
    /// (levels without R-MAC return it unchanged). Error status words carry no protection.
    pub fn unwrap_response(&mut self, raw: &[u8]) -> Result<Response, Scp03Error> {
        let result = match &self.state {
            HostState::Authenticated(c) => c.unprotect_response(raw),
            HostState::Opened(_) => Err(Scp03Error::NotAuthenticated),
            HostState::Closed => Err(Scp03Error::SessionClosed),
        };
        self.close_on_error(result)
    }

    fn close_on_error<T>(&mut self, result: Result<T, Scp03Error>) -> Result<T, Scp03Error> {
        if result.is_err() {
            self.state = HostState::Closed;
        }
        result
    }

    /// Wrap `cmd` with an explicit level instead of the session's, to exercise the card's
    /// checks against commands below the session level.
    #[cfg(test)]
    pub(crate) fn wrap_command_at_level(
        &mut self,
        cmd: &Command,
        level: SecurityLevel,
    ) -> Result<Vec<u8>, Scp03Error> {
        match &mut self.state {
            HostState::Authenticated(c) => {
                let real = c.level();
                c.set_level(level);
                let out = c.protect_command(cmd, true);
                c.set_level(real);
                out
            }
            _ => Err(Scp03Error::NotAuthenticated),
        }
    }
}
