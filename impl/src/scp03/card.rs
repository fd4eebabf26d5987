//! The card (SE security domain) end of SCP03 (R-SCP03): answers INITIALIZE UPDATE, checks
//! EXTERNAL AUTHENTICATE, then unwraps commands and wraps responses at the session's level.
//!
//! Every refusal ends the session: the state becomes closed and every later command is
//! refused with [`Scp03Error::SessionClosed`] until a new INITIALIZE UPDATE. A new INITIALIZE
//! UPDATE also ends any session in progress.

use std::fmt;

use rand_core::RngCore;

use super::kdf::{ct_eq, pseudo_random_challenge, SessionKeys};
use super::sm::Channel;
use super::{
    Scp03Error, SecurityLevel, StaticKeys, INS_EXTERNAL_AUTHENTICATE, INS_INITIALIZE_UPDATE,
    I_PSEUDO_RANDOM, I_R_ENC, I_R_MAC, S8,
};
use crate::apdu::{Command, Response};

/// The largest sequence counter value (3 bytes).
pub const MAX_SEQUENCE_COUNTER: u32 = 0x00FF_FFFF;

/// How the card makes its challenge.
pub enum ChallengeSource {
    /// Pseudo-random (Amd D §6.2.2.1): KDF(Key-ENC, `02`, sequence counter || AID). The
    /// i-parameter gets bit `10`, and the response carries the sequence counter.
    PseudoRandom,
    /// Random, from this generator; the i-parameter bit `10` is cleared.
    Random(Box<dyn RngCore + Send>),
    /// A fixed challenge, only to replay a recorded transcript (test vectors): the
    /// i-parameter is used exactly as given. Never use it for a real card.
    Fixed([u8; 8]),
}

impl fmt::Debug for ChallengeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChallengeSource::PseudoRandom => write!(f, "PseudoRandom"),
            ChallengeSource::Random(_) => write!(f, "Random(..)"),
            ChallengeSource::Fixed(c) => write!(f, "Fixed({})", hex::encode(c)),
        }
    }
}

/// Card options beyond [`CardSession::new`]'s defaults.
#[derive(Debug)]
pub struct CardOptions {
    /// The i-parameter: `20` R-MAC supported, `40` R-ENCRYPTION supported; bit `10`
    /// (pseudo-random challenge) is set or cleared to match `challenge` unless it is
    /// [`ChallengeSource::Fixed`].
    pub i_param: u8,
    /// Where card challenges come from.
    pub challenge: ChallengeSource,
}

impl Default for CardOptions {
    /// i = `70`: pseudo-random challenge, R-MAC and R-ENCRYPTION supported.
    fn default() -> Self {
        CardOptions {
            i_param: I_PSEUDO_RANDOM | I_R_MAC | I_R_ENC,
            challenge: ChallengeSource::PseudoRandom,
        }
    }
}

/// Where the card's session stands.
#[derive(Debug)]
enum CardState {
    /// No session has been started.
    Idle,
    /// INITIALIZE UPDATE answered; waiting for EXTERNAL AUTHENTICATE.
    Initialized(SessionKeys),
    /// Mutually authenticated; secure messaging per the level.
    Authenticated(Channel),
    /// Ended by a refusal; only INITIALIZE UPDATE is accepted.
    Closed,
}

/// The card (SE) end of SCP03 for one security domain, across its successive sessions.
#[derive(Debug)]
pub struct CardSession {
    keys: StaticKeys,
    key_diversification_data: [u8; 10],
    aid: Vec<u8>,
    sequence_counter: u32,
    i_param: u8,
    challenge: ChallengeSource,
    state: CardState,
}

impl CardSession {
    /// A security domain with pseudo-random challenges from its `aid` and `sequence_counter`
    /// (the value the next INITIALIZE UPDATE uses), i-parameter `70`.
    pub fn new(
        keys: StaticKeys,
        key_diversification_data: [u8; 10],
        aid: Vec<u8>,
        sequence_counter: u32,
    ) -> Self {
        Self::with_options(
            keys,
            key_diversification_data,
            aid,
            sequence_counter,
            CardOptions::default(),
        )
    }

    /// A security domain with explicit options (random or fixed challenges, i-parameter).
    pub fn with_options(
        keys: StaticKeys,
        key_diversification_data: [u8; 10],
        aid: Vec<u8>,
        sequence_counter: u32,
        options: CardOptions,
    ) -> Self {
        let i_param = match options.challenge {
            ChallengeSource::PseudoRandom => options.i_param | I_PSEUDO_RANDOM,
            ChallengeSource::Random(_) => options.i_param & !I_PSEUDO_RANDOM,
            ChallengeSource::Fixed(_) => options.i_param,
        };
        CardSession {
            keys,
            key_diversification_data,
            aid,
            sequence_counter,
            i_param,
            challenge: options.challenge,
            state: CardState::Idle,
        }
    }

    /// The i-parameter this card announces.
    pub fn i_param(&self) -> u8 {
        self.i_param
    }

    /// The AID used for pseudo-random challenges.
    pub fn aid(&self) -> &[u8] {
        &self.aid
    }

    /// The sequence counter the next INITIALIZE UPDATE will use; each answered INITIALIZE
    /// UPDATE increments it.
    pub fn sequence_counter(&self) -> u32 {
        self.sequence_counter
    }

    /// Whether a session is authenticated (EXTERNAL AUTHENTICATE accepted, nothing refused
    /// since).
    pub fn is_authenticated(&self) -> bool {
        matches!(self.state, CardState::Authenticated(_))
    }

    /// Whether the last session was ended by a refusal.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, CardState::Closed)
    }

    /// The security level of the authenticated session.
    pub fn level(&self) -> Option<SecurityLevel> {
        match &self.state {
            CardState::Authenticated(c) => Some(c.level()),
            _ => None,
        }
    }

    /// Handle a parsed INITIALIZE UPDATE (`80 50 kvn 00 08 host_challenge [Le]`); returns the
    /// response data (status `9000` implied): key diversification data || kvn `03` i ||
    /// card challenge || card cryptogram [|| sequence counter]. Ends any session in progress.
    pub fn initialize_update(&mut self, cmd: &Command) -> Result<Vec<u8>, Scp03Error> {
        self.state = CardState::Closed;
        if cmd.ins != INS_INITIALIZE_UPDATE {
            return Err(Scp03Error::WrongInstruction {
                expected: INS_INITIALIZE_UPDATE,
                got: cmd.ins,
            });
        }
        let proprietary_plain = if cmd.cla & 0x40 == 0 {
            cmd.cla & 0x8C == 0x80
        } else {
            cmd.cla & 0xA0 == 0x80
        };
        if !proprietary_plain || cmd.cla == 0xFF {
            return Err(Scp03Error::UnsupportedClass(cmd.cla));
        }
        if cmd.p1 != 0 && cmd.p1 != self.keys.kvn {
            return Err(Scp03Error::KeyVersionNotFound {
                requested: cmd.p1,
                held: self.keys.kvn,
            });
        }
        if cmd.p2 != 0 {
            return Err(Scp03Error::WrongP1P2 {
                p1: cmd.p1,
                p2: cmd.p2,
            });
        }
        let host_challenge: [u8; 8] =
            cmd.data
                .as_slice()
                .try_into()
                .map_err(|_| Scp03Error::WrongDataLength {
                    what: "host challenge",
                    expected: S8,
                    got: cmd.data.len(),
                })?;
        let keys = self.keys.checked()?;
        let pseudo = self.i_param & I_PSEUDO_RANDOM != 0;
        if pseudo && self.sequence_counter > MAX_SEQUENCE_COUNTER {
            return Err(Scp03Error::SequenceCounterExhausted);
        }
        let card_challenge = match &mut self.challenge {
            ChallengeSource::PseudoRandom => {
                pseudo_random_challenge(&keys.enc, self.sequence_counter, &self.aid)
            }
            ChallengeSource::Random(rng) => {
                let mut c = [0u8; 8];
                rng.fill_bytes(&mut c);
                c
            }
            ChallengeSource::Fixed(c) => *c,
        };
        let sk = SessionKeys::derive(&keys.enc, &keys.mac, &host_challenge, &card_challenge);
        let mut out = self.key_diversification_data.to_vec();
        out.extend_from_slice(&[keys.kvn, super::SCP_ID, self.i_param]);
        out.extend_from_slice(&card_challenge);
        out.extend_from_slice(&sk.card_cryptogram());
        if pseudo {
            out.extend_from_slice(&self.sequence_counter.to_be_bytes()[1..]);
        }
        self.sequence_counter = self.sequence_counter.saturating_add(1);
        self.state = CardState::Initialized(sk);
        Ok(out)
    }

    /// Check the raw EXTERNAL AUTHENTICATE (`84 82 level 00 10 host_cryptogram C-MAC`): the
    /// level must be valid and offered by the i-parameter, the host cryptogram and the C-MAC
    /// (over a zero chaining value) must verify. On success the session is authenticated.
    pub fn external_authenticate(&mut self, raw: &[u8]) -> Result<(), Scp03Error> {
        let sk = match std::mem::replace(&mut self.state, CardState::Closed) {
            CardState::Initialized(sk) => sk,
            CardState::Authenticated(_) => return Err(Scp03Error::AlreadyAuthenticated),
            CardState::Idle | CardState::Closed => return Err(Scp03Error::NotInitialized),
        };
        let cmd = Command::parse(raw)?;
        if cmd.ins != INS_EXTERNAL_AUTHENTICATE {
            return Err(Scp03Error::WrongInstruction {
                expected: INS_EXTERNAL_AUTHENTICATE,
                got: cmd.ins,
            });
        }
        if cmd.p2 != 0 {
            return Err(Scp03Error::WrongP1P2 {
                p1: cmd.p1,
                p2: cmd.p2,
            });
        }
        let level = SecurityLevel::from_byte(cmd.p1)?;
        if !level.supported_by(self.i_param) {
            return Err(Scp03Error::LevelNotSupported {
                level: level.byte(),
                i_param: self.i_param,
            });
        }
        if cmd.data.len() != 2 * S8 {
            return Err(Scp03Error::WrongDataLength {
                what: "EXTERNAL AUTHENTICATE data (host cryptogram and C-MAC)",
                expected: 2 * S8,
                got: cmd.data.len(),
            });
        }
        if !ct_eq(&cmd.data[..S8], &sk.host_cryptogram()) {
            return Err(Scp03Error::HostCryptogramMismatch);
        }
        let mut channel = Channel::new(sk, level);
        channel.check_cmac(&cmd)?;
        self.state = CardState::Authenticated(channel);
        Ok(())
    }

    /// Verify the C-MAC (and undo C-DECRYPTION) of a raw command in the authenticated session;
    /// returns the plain command (class byte without the secure-messaging bit).
    pub fn unwrap_command(&mut self, raw: &[u8]) -> Result<Command, Scp03Error> {
        let result = match &mut self.state {
            CardState::Authenticated(c) => Command::parse(raw)
                .map_err(Scp03Error::from)
                .and_then(|cmd| c.unprotect_command(&cmd)),
            CardState::Idle | CardState::Initialized(_) => Err(Scp03Error::NotAuthenticated),
            CardState::Closed => Err(Scp03Error::SessionClosed),
        };
        if result.is_err() {
            self.state = CardState::Closed;
        }
        result
    }

    /// Protect the response to the last unwrapped command per the level (R-ENCRYPTION of the
    /// data, then R-MAC over chaining value || data || SW) and encode it as data || SW1 SW2.
    /// At R-MAC levels, error status words (other than `9000`, `62xx`, `63xx`) go out bare,
    /// their data dropped (Amd D §6.2.5); at levels `01` and `03` the response is unchanged.
    /// Refused outside an authenticated session: a refused command is answered with its
    /// error's [`Scp03Error::status`] directly. Does not change the session.
    pub fn wrap_response(&mut self, resp: &Response) -> Result<Vec<u8>, Scp03Error> {
        match &self.state {
            CardState::Authenticated(c) => Ok(c.protect_response(resp)),
            CardState::Idle | CardState::Initialized(_) => Err(Scp03Error::NotAuthenticated),
            CardState::Closed => Err(Scp03Error::SessionClosed),
        }
    }
}

#[cfg(test)]
impl CardSession {
    /// Test only: wrap a response with `extra_blocks` more blocks of padding than the minimum.
    pub(crate) fn wrap_response_overpadded(
        &self,
        resp: &Response,
        extra_blocks: usize,
    ) -> Option<Vec<u8>> {
        match &self.state {
            CardState::Authenticated(c) => Some(c.protect_response_overpadded(resp, extra_blocks)),
            _ => None,
        }
    }
}
