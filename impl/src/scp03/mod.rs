//! GlobalPlatform Secure Channel Protocol '03' (Card Specification v2.2 Amendment D), both
//! ends: [`HostSession`] is the TSM (off-card entity) and [`CardSession`] the security domain
//! in the SE. Implements R-SCP03: TSM <-> SE traffic is mutually authenticated (card and host
//! cryptograms), integrity-protected and chained (C-MAC, R-MAC) and optionally confidential
//! (C-DECRYPTION, R-ENCRYPTION), with AES-128/192/256 static keys.
//!
//! Layout: [`kdf`] (KDF, session keys, cryptograms, challenge), `sm` (secure messaging shared
//! by both ends), [`host`], [`card`], and [`vectors`] (replays public SCP03 transcripts on both
//! ends).
//!
//! Design choices (see Amd D for the protocol itself):
//! - Only the S8 mode (8-byte challenges, cryptograms and MACs) is implemented.
//! - Security levels are the five of [`SecurityLevel`]; level `00` (no secure messaging) is
//!   not offered, so every command after EXTERNAL AUTHENTICATE carries a C-MAC.
//! - Any refusal ends the session on that end: the card then refuses every command until a new
//!   INITIALIZE UPDATE ([`Scp03Error::SessionClosed`]); the host must open a new session.
//! - The encryption counter is incremented for every command after EXTERNAL AUTHENTICATE,
//!   with or without a data field (Amd D §6.2.6); R-ENCRYPTION uses the counter of the command
//!   being answered.

pub mod card;
pub mod host;
pub mod kdf;
pub mod putkey;
mod sm;
pub mod vectors;

#[cfg(test)]
mod tests;

use std::fmt;

use crate::apdu::{ApduError, StatusWord};

pub use card::{CardOptions, CardSession, ChallengeSource};
pub use host::{HostSession, InitUpdateResponse};
pub use vectors::{run_vector_file, run_vector_json, VectorError, VectorReport};

/// INS of INITIALIZE UPDATE.
pub const INS_INITIALIZE_UPDATE: u8 = 0x50;
/// INS of EXTERNAL AUTHENTICATE.
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
/// The SCP identifier in the key information of the INITIALIZE UPDATE response.
pub const SCP_ID: u8 = 0x03;
/// i-parameter bit: the card challenge is pseudo-random (the response then carries the
/// sequence counter).
pub const I_PSEUDO_RANDOM: u8 = 0x10;
/// i-parameter bit: R-MAC supported.
pub const I_R_MAC: u8 = 0x20;
/// i-parameter bit: R-ENCRYPTION supported (requires R-MAC).
pub const I_R_ENC: u8 = 0x40;
/// Length of C-MAC, R-MAC, challenges and cryptograms in S8 mode.
pub const S8: usize = 8;

/// The security level chosen in EXTERNAL AUTHENTICATE P1 (Amd D §5.1, Table 5-2). Bit `01`
/// C-MAC, `02` C-DECRYPTION, `10` R-MAC, `20` R-ENCRYPTION.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SecurityLevel(u8);

impl SecurityLevel {
    /// C-MAC only.
    pub const C_MAC: SecurityLevel = SecurityLevel(0x01);
    /// C-DECRYPTION and C-MAC.
    pub const C_DEC_C_MAC: SecurityLevel = SecurityLevel(0x03);
    /// C-MAC and R-MAC.
    pub const C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x11);
    /// C-DECRYPTION, C-MAC and R-MAC.
    pub const C_DEC_C_MAC_R_MAC: SecurityLevel = SecurityLevel(0x13);
    /// C-DECRYPTION, C-MAC, R-MAC and R-ENCRYPTION.
    pub const FULL: SecurityLevel = SecurityLevel(0x33);
    /// All five levels, weakest first.
    pub const ALL: [SecurityLevel; 5] = [
        SecurityLevel::C_MAC,
        SecurityLevel::C_DEC_C_MAC,
        SecurityLevel::C_MAC_R_MAC,
        SecurityLevel::C_DEC_C_MAC_R_MAC,
        SecurityLevel::FULL,
    ];

    /// The level coded in `b`; any other value (including `00`, no secure messaging) is
    /// [`Scp03Error::InvalidSecurityLevel`].
    pub fn from_byte(b: u8) -> Result<SecurityLevel, Scp03Error> {
        SecurityLevel::ALL
            .into_iter()
            .find(|l| l.0 == b)
            .ok_or(Scp03Error::InvalidSecurityLevel(b))
    }

    /// The P1 byte.
    pub fn byte(self) -> u8 {
        self.0
    }

    /// Command data is encrypted.
    pub fn c_dec(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// Responses carry an R-MAC.
    pub fn r_mac(self) -> bool {
        self.0 & 0x10 != 0
    }

    /// Response data is encrypted.
    pub fn r_enc(self) -> bool {
        self.0 & 0x20 != 0
    }

    /// Whether a card with i-parameter `i_param` supports this level.
    pub fn supported_by(self, i_param: u8) -> bool {
        (!self.r_mac() || i_param & I_R_MAC != 0) && (!self.r_enc() || i_param & I_R_ENC != 0)
    }
}

impl fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.0)
    }
}

/// A static SCP03 key set (Key-ENC, Key-MAC, Key-DEK) with its key version number. The fields
/// are public for the SE emulator's key store; [`StaticKeys::new`] checks the lengths, and the
/// sessions check them again before use.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    /// Key version number (`00` in INITIALIZE UPDATE means "first available").
    pub kvn: u8,
    /// Key-ENC (16, 24 or 32 bytes).
    pub enc: Vec<u8>,
    /// Key-MAC (16, 24 or 32 bytes).
    pub mac: Vec<u8>,
    /// Key-DEK (16, 24 or 32 bytes).
    pub dek: Vec<u8>,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "StaticKeys {{ kvn: {:02X}, enc: {} bytes, mac: {} bytes, dek: {} bytes }}",
            self.kvn,
            self.enc.len(),
            self.mac.len(),
            self.dek.len()
        )
    }
}

impl StaticKeys {
    /// A key set; each key must be an AES key (16, 24 or 32 bytes), else
    /// [`Scp03Error::InvalidKeyLength`] naming the key.
    pub fn new(
        kvn: u8,
        enc: impl Into<Vec<u8>>,
        mac: impl Into<Vec<u8>>,
        dek: impl Into<Vec<u8>>,
    ) -> Result<StaticKeys, Scp03Error> {
        let keys = StaticKeys {
            kvn,
            enc: enc.into(),
            mac: mac.into(),
            dek: dek.into(),
        };
        keys.checked()?;
        Ok(keys)
    }

    /// The keys as checked AES keys.
    pub(crate) fn checked(&self) -> Result<CheckedKeys, Scp03Error> {
        let one = |which: &'static str, k: &[u8]| {
            kdf::AesKey::from_slice(k).ok_or(Scp03Error::InvalidKeyLength {
                which,
                len: k.len(),
            })
        };
        Ok(CheckedKeys {
            kvn: self.kvn,
            enc: one("Key-ENC", &self.enc)?,
            mac: one("Key-MAC", &self.mac)?,
            dek: one("Key-DEK", &self.dek)?,
        })
    }
}

/// [`StaticKeys`] whose lengths have been checked.
#[derive(Clone, Debug)]
pub(crate) struct CheckedKeys {
    pub(crate) kvn: u8,
    pub(crate) enc: kdf::AesKey,
    pub(crate) mac: kdf::AesKey,
    #[allow(dead_code)] // checked here; PUT KEY (`putkey`) uses the static Key-DEK.
    pub(crate) dek: kdf::AesKey,
}

/// Why an SCP03 operation was refused. On the card every refusal ends the session; the
/// status word a card answers is [`Scp03Error::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scp03Error {
    /// A static key is not 16, 24 or 32 bytes.
    InvalidKeyLength { which: &'static str, len: usize },
    /// P1 of EXTERNAL AUTHENTICATE is not one of the five supported levels.
    InvalidSecurityLevel(u8),
    /// The level needs R-MAC / R-ENCRYPTION that the card's i-parameter does not offer.
    LevelNotSupported { level: u8, i_param: u8 },
    /// The command bytes are not an ISO 7816-4 APDU.
    MalformedApdu(ApduError),
    /// The response bytes are shorter than a status word.
    MalformedResponse { len: usize },
    /// A different instruction was expected (INITIALIZE UPDATE or EXTERNAL AUTHENTICATE).
    WrongInstruction { expected: u8, got: u8 },
    /// The class byte cannot carry GlobalPlatform secure messaging (reserved `FF`, or a
    /// command already marked as secured given to the host to wrap), or INITIALIZE UPDATE is
    /// not in a proprietary class without secure messaging.
    UnsupportedClass(u8),
    /// P1/P2 not as the command requires.
    WrongP1P2 { p1: u8, p2: u8 },
    /// A data field of the wrong length (host challenge, EXTERNAL AUTHENTICATE data).
    WrongDataLength {
        what: &'static str,
        expected: usize,
        got: usize,
    },
    /// The requested key version is not the card's.
    KeyVersionNotFound { requested: u8, held: u8 },
    /// The INITIALIZE UPDATE response is malformed (length, SCP id, counter presence).
    MalformedInitUpdateResponse(String),
    /// The card cryptogram does not verify: wrong keys or not the card we think (host side).
    CardCryptogramMismatch,
    /// The host cryptogram in EXTERNAL AUTHENTICATE does not verify (card side).
    HostCryptogramMismatch,
    /// EXTERNAL AUTHENTICATE without a preceding INITIALIZE UPDATE in this session.
    NotInitialized,
    /// EXTERNAL AUTHENTICATE in a session already authenticated.
    AlreadyAuthenticated,
    /// A secured command or response before EXTERNAL AUTHENTICATE completed.
    NotAuthenticated,
    /// The session was ended by an earlier refusal; a new INITIALIZE UPDATE is needed.
    SessionClosed,
    /// The sequence counter has no values left (pseudo-random card challenge).
    SequenceCounterExhausted,
    /// A command without the secure-messaging class bit in a session that requires C-MAC.
    MissingSecureMessaging { cla: u8 },
    /// A command too short to carry its C-MAC.
    MissingMac { len: usize },
    /// The C-MAC does not verify: tampered data, wrong session, or commands out of order
    /// (the MAC chaining value no longer matches).
    CMacMismatch,
    /// The command is the one just accepted, sent again (its C-MAC verifies against the
    /// previous chaining value).
    Replay,
    /// At a C-DECRYPTION level, command data that is not an encrypted block sequence.
    DataNotEncrypted { len: usize },
    /// Decryption gave data whose `80 00..` padding is not well formed.
    BadPadding,
    /// A response too short to carry its R-MAC.
    MissingRMac { len: usize },
    /// The R-MAC does not verify (host side).
    RMacMismatch,
    /// A response with an error status word carries data, which SCP03 never protects.
    UnprotectedErrorData { sw: StatusWord, len: usize },
    /// The wrapped command or response would exceed what one APDU can carry.
    DataTooLong { len: usize },
    /// PUT KEY data that does not give a usable key set (format, decryption, check value).
    BadKeyData(&'static str),
}

impl Scp03Error {
    /// The status word a card answers to this refusal. Choices (GPCS v2.2 §11, Amd D §7):
    /// - `6982` security status not satisfied: any C-MAC, replay, secure-messaging, padding or
    ///   encryption failure, a command before authentication or after the session ended.
    /// - `6300` for a host cryptogram that does not verify (GPCS §11.8.3.2).
    /// - `6A88` referenced data not found: unknown key version (GPCS §11.11.3.2).
    /// - `6985` conditions of use not satisfied: EXTERNAL AUTHENTICATE out of sequence, or the
    ///   sequence counter is exhausted.
    /// - `6A86` incorrect P1-P2, including an unknown or unsupported security level.
    /// - `6700` wrong length for malformed APDUs and data fields of the wrong size.
    /// - `6D00` / `6E00` for a wrong instruction / class.
    /// - `6F00` for host-side and configuration errors a card never sends.
    pub fn status(&self) -> StatusWord {
        use Scp03Error::*;
        match self {
            CMacMismatch
            | Replay
            | MissingSecureMessaging { .. }
            | MissingMac { .. }
            | DataNotEncrypted { .. }
            | BadPadding
            | NotAuthenticated
            | SessionClosed => StatusWord::SECURITY_NOT_SATISFIED,
            HostCryptogramMismatch => StatusWord(0x6300),
            KeyVersionNotFound { .. } => StatusWord::REF_DATA_NOT_FOUND,
            NotInitialized | AlreadyAuthenticated | SequenceCounterExhausted => {
                StatusWord::CONDITIONS_NOT_SATISFIED
            }
            WrongP1P2 { .. } | InvalidSecurityLevel(_) | LevelNotSupported { .. } => {
                StatusWord::WRONG_P1P2
            }
            MalformedApdu(e) => e.status(),
            WrongDataLength { .. } | DataTooLong { .. } => StatusWord::WRONG_LENGTH,
            WrongInstruction { .. } => StatusWord::INS_NOT_SUPPORTED,
            BadKeyData(_) => StatusWord::WRONG_DATA,
            UnsupportedClass(_) => StatusWord::CLA_NOT_SUPPORTED,
            InvalidKeyLength { .. }
            | MalformedResponse { .. }
            | MalformedInitUpdateResponse(_)
            | CardCryptogramMismatch
            | MissingRMac { .. }
            | RMacMismatch
            | UnprotectedErrorData { .. } => StatusWord::UNKNOWN,
        }
    }
}

impl fmt::Display for Scp03Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Scp03Error::*;
        match self {
            InvalidKeyLength { which, len } => {
                write!(f, "{which} is {len} bytes; an AES key is 16, 24 or 32 bytes")
            }
            InvalidSecurityLevel(b) => write!(
                f,
                "security level {b:02X} is not one of 01, 03, 11, 13, 33"
            ),
            LevelNotSupported { level, i_param } => write!(
                f,
                "security level {level:02X} needs R-MAC/R-ENCRYPTION, not offered by i-parameter {i_param:02X}"
            ),
            MalformedApdu(e) => write!(f, "malformed command APDU: {e}"),
            MalformedResponse { len } => {
                write!(f, "response of {len} bytes has no status word")
            }
            WrongInstruction { expected, got } => {
                write!(f, "instruction {got:02X} where {expected:02X} was expected")
            }
            UnsupportedClass(c) => {
                write!(f, "class byte {c:02X} cannot be used for this SCP03 command")
            }
            WrongP1P2 { p1, p2 } => write!(f, "P1-P2 {p1:02X}{p2:02X} not allowed here"),
            WrongDataLength { what, expected, got } => {
                write!(f, "{what}: {got} bytes where {expected} were expected")
            }
            KeyVersionNotFound { requested, held } => write!(
                f,
                "key version {requested:02X} requested, the card holds {held:02X}"
            ),
            MalformedInitUpdateResponse(why) => {
                write!(f, "malformed INITIALIZE UPDATE response: {why}")
            }
            CardCryptogramMismatch => write!(f, "card cryptogram does not verify"),
            HostCryptogramMismatch => write!(f, "host cryptogram does not verify"),
            NotInitialized => write!(f, "EXTERNAL AUTHENTICATE without INITIALIZE UPDATE"),
            AlreadyAuthenticated => write!(f, "the session is already authenticated"),
            NotAuthenticated => write!(f, "no authenticated secure channel session"),
            SessionClosed => write!(
                f,
                "the secure channel session was ended by an earlier error; INITIALIZE UPDATE again"
            ),
            SequenceCounterExhausted => write!(f, "the sequence counter is exhausted"),
            MissingSecureMessaging { cla } => write!(
                f,
                "class byte {cla:02X} does not indicate secure messaging, which the session requires"
            ),
            MissingMac { len } => {
                write!(f, "command data of {len} bytes cannot hold an 8-byte C-MAC")
            }
            CMacMismatch => write!(
                f,
                "C-MAC does not verify (tampered, out of order, or not this session)"
            ),
            Replay => write!(f, "command replayed: it repeats the previously accepted one"),
            DataNotEncrypted { len } => write!(
                f,
                "command data of {len} bytes is not encrypted as the security level requires"
            ),
            BadPadding => write!(f, "decrypted data has bad 80 00.. padding"),
            MissingRMac { len } => {
                write!(f, "response data of {len} bytes cannot hold an 8-byte R-MAC")
            }
            RMacMismatch => write!(f, "R-MAC does not verify"),
            UnprotectedErrorData { sw, len } => write!(
                f,
                "response with error status {sw} carries {len} unprotected data bytes"
            ),
            DataTooLong { len } => {
                write!(f, "{len} bytes after secure messaging do not fit one APDU")
            }
            BadKeyData(why) => write!(f, "PUT KEY data refused: {why}"),
        }
    }
}

impl std::error::Error for Scp03Error {}

impl From<ApduError> for Scp03Error {
    fn from(e: ApduError) -> Self {
        Scp03Error::MalformedApdu(e)
    }
}
