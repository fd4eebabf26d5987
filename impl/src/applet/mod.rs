//! The JPKI applet inside the phone's GP-SE: ISO 7816-4 file access, PIN verification and
//! RSA signatures as on the My Number card's JPKI AP, plus personalisation commands that only
//! the SP-TSM can send over SCP03.
//!
//! Requirements: R-KINDS (two independent credentials, auth and sign), R-KEYGEN (RSA-2048
//! generated inside, PKCS#1 v1.5 signatures), R-SCP03 (personalisation only over a secure
//! channel with C-MAC and C-DEC), R-PIN-SETUP (temporary PIN, then user PIN), R-PIN-RETRY,
//! R-PIN-CHANGE, R-PIN-INIT, R-DELETE / INV-NO-STALE-DELETE (delete by serial), INV-PIN,
//! INV-KEY-IN-SE (no response ever carries private key material).
//!
//! # Files (selected with `00 A4 02 0C` + 2-byte FID)
//! The real card's file ids as published in OpenSC (`src/libopensc/jpki.h`,
//! `pkcs15-jpki.c`) and the `myna` tools are reused:
//!
//! | FID | file | READ BINARY |
//! |---|---|---|
//! | `0006` | token EF: 32 bytes, `JPKIAPGPSETOKEN` space-padded (the card: `JPKIAPICCTOKEN2`) | always |
//! | `000A` | auth certificate (exists once written) | always |
//! | `0001` | sign certificate (exists once written) | sign PIN verified in this session, else `6982` (as on the card) |
//! | `0017` / `001A` | auth / sign private key (exists once generated) | never: `6981` |
//! | `0018` / `001B` | auth / sign PIN | never: `6981` |
//!
//! The CA certificate EFs of the card (`000B`, `0002`) are not provided: `6A82`. No public
//! source we found says the phone applet (スマホ用電子証明書) carries them, and the issuing CA
//! certificate is public anyway (AIA of every certificate, `phone-jpki ca serve`). OpenSC
//! lists the two CA objects from its static table and reports them unreadable.
//!
//! # Commands
//! | APDU | command | channel |
//! |---|---|---|
//! | `00 A4 04 00/0C` AID | SELECT the applet (resets the session) | any |
//! | `00 A4 02/00 00/0C` FID | SELECT EF | any |
//! | `00 B0 P1 P2 Le` | READ BINARY at offset P1P2 (P1 b8 = 0) | any |
//! | `00 20 00 P2 [PIN]` | VERIFY; P2 `80` = current PIN EF, `81` auth PIN, `82` sign PIN; empty data queries the counter | any |
//! | `00 24 00 P2 L‖old‖new` | CHANGE REFERENCE DATA, old PIN length-prefixed | any |
//! | `00 24 01 P2 new` | CHANGE REFERENCE DATA after VERIFY in this session | any |
//! | `80 2A 00 80 data` | COMPUTE DIGITAL SIGNATURE with the current key EF: PKCS#1 v1.5 type 1 padding of any 1..=k-11 bytes (a DigestInfo of any hash, or raw) | any |
//! | `80 30 00 kk` | GENERATE KEY PAIR; answers the DER SubjectPublicKeyInfo | SCP03 |
//! | `80 32 P1 kk cert` | WRITE CERTIFICATE (DER); P1 `80` = more blocks follow, `00` = last | SCP03 |
//! | `80 34 00 kk PIN` | SET TEMPORARY PIN | SCP03 |
//! | `80 36 P1 kk PIN` | RESET PIN (R-PIN-INIT): P1 `00` new user PIN, `01` new temporary PIN | SCP03 |
//! | `80 38 00 kk serial` | DELETE CREDENTIAL BY SERIAL | SCP03 |
//! | `80 38 01 kk SHA-256(SPKI)` | DELETE a key-only slot (no certificate written) holding exactly that key | SCP03 |
//! | `80 3A 00 kk L‖temp‖new` | SET USER PIN from the Temporary state | any |
//! | `80 3C 00 kk` | GET CREDENTIAL STATE (`kk` = `00` for both kinds) | any |
//! | `80 3E 01 kk` | STATUS GATE on (ALT-APPLET-STATUS): the key of `kk` signs only after a grant | SCP03 |
//! | `80 3E 00 kk` | STATUS GRANT: one signature with the gated key, on an OMAPI channel (the SP-TSM has just seen the cert active); never on the contactless route | SCP03 |
//!
//! `kk` is the kind: `01` auth, `02` sign. "SCP03" means an authenticated secure channel with at
//! least C-MAC and C-DEC; over anything else these commands answer `6982`.
//!
//! GET CREDENTIAL STATE answers, per kind, `A1` (auth) / `A2` (sign) holding `80 01` pin-state
//! code (0 empty, 1 key generated, 2 temporary, 3 user, 4 blocked), `81 01` tries left, `82 01`
//! retry limit and, when a certificate is stored, `83 L` its serial number (INTEGER content).
//!
//! # Status words
//! `9000` ok; `63Cx` wrong PIN / counter query, `x` tries left; `6983` PIN blocked (also on the
//! wrong try that reaches zero; VERIFY with a PIN while blocked); `6985` conditions not satisfied (temporary PIN: no service use;
//! wrong slot state for a personalisation step); `6982` personalisation without SCP03, signing
//! or reading the sign cert without VERIFY; `6986` no (suitable) current EF; `6981` EF not
//! readable; `6A82` file/AID not found; `6A88` no PIN in the slot (VERIFY with a PIN, CHANGE
//! REFERENCE DATA), or DELETE BY SERIAL found no
//! credential with that serial (INV-NO-STALE-DELETE: the slot is left as it was); `6A80` bad
//! data (PIN format, DigestInfo, certificate not DER or for another key); `6A84` certificate too
//! large; `6A86` bad P1-P2; `6700` bad length (also a signature input empty or longer than
//! k-11 bytes); `6B00` offset beyond the EF; `6884` command
//! chaining (CLA b5) not supported; `6D00` unknown INS; `6E00` bad CLA; `6F00` key generation
//! or signing failed.
//!
//! # Empty VERIFY (counter query)
//! `00 20 00 P2` without data answers `63Cx` in every slot state, because public clients
//! (OpenSC `card-jpki.c` at bind time) reject the whole token unless SW1 is `63`:
//!
//! | slot state | answer |
//! |---|---|
//! | user PIN | `63Cx`, `x` tries left |
//! | blocked | `63C0` |
//! | temporary PIN (mid-issuance) | `63Cx`, the temporary PIN's tries left (a VERIFY with data still answers `6985`) |
//! | empty, or key without PIN | `63Cx`, `x` the retry limit (a VERIFY with data still answers `6A88`) |
//!
//! # PIN formats
//! Auth PIN: exactly 4 ASCII digits. Sign password: 6 to 16 ASCII letters or digits. As on
//! the card, the password is upper case: the applet upper-cases ASCII letters before checking
//! or storing it (the card refuses lower case and its clients upper-case what the user typed;
//! here both kinds of client work, and `abc123` and `ABC123` are the same password). A
//! malformed PIN is refused with `6A80` without using a try.

mod slot;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

pub use slot::{CertError, PinRecord, PinState, SeKey, Slot, StoredCert};

use crate::apdu::{Command, Response, StatusWord};
use crate::crypto::KeySource;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The JPKI AP's AID (public: OpenSC `jpki.h`).
pub const JPKI_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01];

/// The token name of the phone applet (the card answers `JPKIAPICCTOKEN2`).
pub const TOKEN: &[u8] = b"JPKIAPGPSETOKEN";

/// The token EF as stored: [`TOKEN`] space-padded to 32 bytes, as on the card (clients read
/// 32 bytes and trim the spaces).
pub const TOKEN_EF: [u8; 32] = {
    let mut ef = [b' '; 32];
    let mut i = 0;
    while i < TOKEN.len() {
        ef[i] = TOKEN[i];
        i += 1;
    }
    ef
};

/// Largest certificate WRITE CERTIFICATE accepts (bytes).
pub const MAX_CERT_LEN: usize = 8192;

/// File identifiers.
pub mod fid {
    /// Token EF.
    pub const TOKEN: u16 = 0x0006;
    /// Auth certificate EF (OpenSC `pkcs15-jpki.c`).
    pub const AUTH_CERT: u16 = 0x000A;
    /// Sign certificate EF (OpenSC `pkcs15-jpki.c`).
    pub const SIGN_CERT: u16 = 0x0001;
    /// Auth key EF (OpenSC `JPKI_AUTH_KEY`).
    pub const AUTH_KEY: u16 = 0x0017;
    /// Auth PIN EF (OpenSC `JPKI_AUTH_PIN`).
    pub const AUTH_PIN: u16 = 0x0018;
    /// Sign key EF (OpenSC `JPKI_SIGN_KEY`).
    pub const SIGN_KEY: u16 = 0x001A;
    /// Sign PIN EF (OpenSC `JPKI_SIGN_PIN`).
    pub const SIGN_PIN: u16 = 0x001B;
}

/// Instruction bytes.
pub mod ins {
    /// SELECT (CLA 00).
    pub const SELECT: u8 = 0xA4;
    /// READ BINARY (CLA 00).
    pub const READ_BINARY: u8 = 0xB0;
    /// VERIFY (CLA 00).
    pub const VERIFY: u8 = 0x20;
    /// CHANGE REFERENCE DATA (CLA 00).
    pub const CHANGE_REFERENCE_DATA: u8 = 0x24;
    /// COMPUTE DIGITAL SIGNATURE (CLA 80, P1P2 00 80).
    pub const COMPUTE_SIGNATURE: u8 = 0x2A;
    /// GENERATE KEY PAIR (CLA 80, SCP03 only).
    pub const GENERATE_KEY_PAIR: u8 = 0x30;
    /// WRITE CERTIFICATE (CLA 80, SCP03 only).
    pub const WRITE_CERTIFICATE: u8 = 0x32;
    /// SET TEMPORARY PIN (CLA 80, SCP03 only).
    pub const SET_TEMPORARY_PIN: u8 = 0x34;
    /// RESET PIN (CLA 80, SCP03 only).
    pub const RESET_PIN: u8 = 0x36;
    /// DELETE CREDENTIAL BY SERIAL (CLA 80, SCP03 only).
    pub const DELETE_BY_SERIAL: u8 = 0x38;
    /// SET USER PIN (CLA 80, any channel, Temporary state only).
    pub const SET_USER_PIN: u8 = 0x3A;
    /// GET CREDENTIAL STATE (CLA 80, any channel).
    pub const GET_STATE: u8 = 0x3C;
    /// STATUS GATE (CLA 80, SCP03 only; ALT-APPLET-STATUS): P1 `01` gates the key, `00`
    /// grants one signature.
    pub const STATUS_GATE: u8 = 0x3E;
}

/// Status words used here beyond [`StatusWord`]'s constants.
pub mod sw {
    use crate::apdu::StatusWord;
    /// Command incompatible with file structure (key and PIN EFs are not readable).
    pub const NOT_READABLE: StatusWord = StatusWord(0x6981);
    /// Not enough memory (certificate too large).
    pub const NO_MEMORY: StatusWord = StatusWord(0x6A84);
    /// Wrong parameters: offset outside the EF.
    pub const WRONG_OFFSET: StatusWord = StatusWord(0x6B00);
    /// Command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: StatusWord = StatusWord(0x6884);
    /// No credential with the given serial (DELETE CREDENTIAL BY SERIAL).
    pub const SERIAL_NOT_FOUND: StatusWord = StatusWord::REF_DATA_NOT_FOUND;
    /// ALT-APPLET-STATUS: a gated key without a grant (conditions of use not satisfied), to
    /// COMPUTE DIGITAL SIGNATURE after a successful VERIFY.
    pub const NO_STATUS_GRANT: StatusWord = StatusWord::CONDITIONS_NOT_SATISFIED;
}

/// The DER prefix of a SHA-256 DigestInfo (RFC 8017 §9.2 note 1).
pub const SHA256_DIGEST_INFO_PREFIX: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// The two credential kinds (R-KINDS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// User authentication (利用者証明用): 4-digit PIN.
    Auth,
    /// Signing (署名用): 6-16 character password.
    Sign,
}

impl Kind {
    /// Both kinds, auth first.
    pub const ALL: [Kind; 2] = [Kind::Auth, Kind::Sign];

    /// The P2 byte naming this kind in the proprietary commands (`01` auth, `02` sign).
    pub fn p2(self) -> u8 {
        match self {
            Kind::Auth => 0x01,
            Kind::Sign => 0x02,
        }
    }

    /// Inverse of [`Kind::p2`].
    pub fn from_p2(p2: u8) -> Option<Kind> {
        match p2 {
            0x01 => Some(Kind::Auth),
            0x02 => Some(Kind::Sign),
            _ => None,
        }
    }

    /// Certificate EF.
    pub fn cert_fid(self) -> u16 {
        match self {
            Kind::Auth => fid::AUTH_CERT,
            Kind::Sign => fid::SIGN_CERT,
        }
    }

    /// Key EF.
    pub fn key_fid(self) -> u16 {
        match self {
            Kind::Auth => fid::AUTH_KEY,
            Kind::Sign => fid::SIGN_KEY,
        }
    }

    /// PIN EF.
    pub fn pin_fid(self) -> u16 {
        match self {
            Kind::Auth => fid::AUTH_PIN,
            Kind::Sign => fid::SIGN_PIN,
        }
    }

    /// Whether `pin` has this kind's format (see the module doc).
    pub fn pin_format_ok(self, pin: &[u8]) -> bool {
        match self {
            Kind::Auth => pin.len() == 4 && pin.iter().all(u8::is_ascii_digit),
            Kind::Sign => {
                (6..=16).contains(&pin.len()) && pin.iter().all(u8::is_ascii_alphanumeric)
            }
        }
    }
}

/// How a command reached the applet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ChannelContext {
    /// From a phone app over an OMAPI logical channel (number 0..=19).
    Omapi { channel: u8 },
    /// Forwarded by the APSD from an authenticated SCP03 session; `level` is the GlobalPlatform
    /// security level byte (`01` C-MAC, `02` C-DEC, `10` R-MAC, `20` R-ENC).
    SecureChannel { level: u8 },
    /// From a card reader over the SE's contactless interface (THREAT-READER): no OMAPI, no
    /// access rule, no app; only the PIN checks apply.
    Contactless,
}

/// Session key under which the secure-channel session is kept (OMAPI ones use the channel).
const SECURE_SESSION: u8 = 0xFF;
/// Session key of the contactless interface.
const CONTACTLESS_SESSION: u8 = 0xFE;

impl ChannelContext {
    /// Whether personalisation commands are allowed: a secure channel with C-MAC and C-DEC.
    pub fn personalisation_allowed(self) -> bool {
        matches!(self, ChannelContext::SecureChannel { level } if level & 0x03 == 0x03)
    }

    fn session_key(self) -> u8 {
        match self {
            ChannelContext::Omapi { channel } => channel.min(0xFD),
            ChannelContext::SecureChannel { .. } => SECURE_SESSION,
            ChannelContext::Contactless => CONTACTLESS_SESSION,
        }
    }
}

/// Retry limits (R-PIN-RETRY: configuration; defaults as on the card). Clamped to 1..=15, the
/// range a `63Cx` word can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppletConfig {
    /// Auth PIN tries (default 3).
    pub auth_max_tries: u8,
    /// Sign password tries (default 5).
    pub sign_max_tries: u8,
}

impl Default for AppletConfig {
    fn default() -> Self {
        AppletConfig {
            auth_max_tries: 3,
            sign_max_tries: 5,
        }
    }
}

impl AppletConfig {
    /// The retry limit of `kind`, clamped to 1..=15.
    pub fn max_tries(&self, kind: Kind) -> u8 {
        let t = match kind {
            Kind::Auth => self.auth_max_tries,
            Kind::Sign => self.sign_max_tries,
        };
        t.clamp(1, 15)
    }
}

/// A currently selected EF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Ef {
    Token,
    Cert(Kind),
    Key(Kind),
    Pin(Kind),
}

/// Per-channel volatile state: current EF, PIN verification status, pending cert blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Session {
    current: Option<Ef>,
    verified_auth: bool,
    verified_sign: bool,
    pending_cert: Option<(Kind, Vec<u8>)>,
}

impl Session {
    fn verified(&self, kind: Kind) -> bool {
        match kind {
            Kind::Auth => self.verified_auth,
            Kind::Sign => self.verified_sign,
        }
    }

    fn set_verified(&mut self, kind: Kind, v: bool) {
        match kind {
            Kind::Auth => self.verified_auth = v,
            Kind::Sign => self.verified_sign = v,
        }
    }
}

/// Read-only view of one slot, without private key material (for the SE inspection API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotView {
    /// Which credential.
    pub kind: Kind,
    /// PIN state.
    pub pin_state: PinState,
    /// Tries left (0 without a PIN).
    pub tries_left: u8,
    /// Configured retry limit.
    pub max_tries: u8,
    /// Public key, once generated.
    pub public_key: Option<RsaPublicKey>,
    /// Stored certificate (DER).
    pub cert_der: Option<Vec<u8>>,
    /// Stored certificate's serial number (INTEGER content bytes).
    pub cert_serial: Option<Vec<u8>>,
}

/// The JPKI applet instance: two slots and per-channel sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JpkiApplet {
    config: AppletConfig,
    auth: Slot,
    sign: Slot,
    sessions: BTreeMap<u8, Session>,
    /// ALT-APPLET-STATUS: keys that sign only after a grant from the SP-TSM.
    #[serde(default)]
    gated: BTreeSet<Kind>,
    /// One signature granted per gated key, consumed by the next signature with it on an
    /// OMAPI channel (only the whitelisted app reaches one, R-ACL, and it asks a fresh grant
    /// before each signature); never usable on the contactless route.
    #[serde(default)]
    granted: BTreeSet<Kind>,
}

type Outcome = Result<Response, StatusWord>;

impl JpkiApplet {
    /// A fresh instance with empty slots.
    pub fn new(config: AppletConfig) -> Self {
        JpkiApplet {
            config,
            auth: Slot::Empty,
            sign: Slot::Empty,
            sessions: BTreeMap::new(),
            gated: BTreeSet::new(),
            granted: BTreeSet::new(),
        }
    }

    /// The retry configuration.
    pub fn config(&self) -> AppletConfig {
        self.config
    }

    /// Process one command. `keys` is where GENERATE KEY PAIR draws its key pairs (the SE's
    /// key source: the applet does not own one so that a re-installed instance never repeats
    /// keys). Never panics; every input gets a status word.
    pub fn process(
        &mut self,
        cmd: &Command,
        ctx: ChannelContext,
        keys: &mut dyn KeySource,
    ) -> Response {
        let key = ctx.session_key();
        // A cert upload in progress survives only consecutive WRITE CERTIFICATE commands.
        if !(cmd.cla & 0x80 != 0 && cmd.ins == ins::WRITE_CERTIFICATE) {
            if let Some(s) = self.sessions.get_mut(&key) {
                s.pending_cert = None;
            }
        }
        match self.dispatch(cmd, ctx, keys) {
            Ok(r) => r,
            Err(sw) => Response::status(sw),
        }
    }

    /// Forget the volatile state of the session of `ctx` (channel closed, secure channel
    /// ended): current EF, PIN verification, pending certificate blocks.
    pub fn end_session(&mut self, ctx: ChannelContext) {
        self.sessions.remove(&ctx.session_key());
    }

    /// Forget every session.
    pub fn end_all_sessions(&mut self) {
        self.sessions.clear();
    }

    /// Whether any slot holds a certificate (GP life cycle PERSONALIZED).
    pub fn personalised(&self) -> bool {
        self.auth.cert().is_some() || self.sign.cert().is_some()
    }

    /// Read-only view of a slot (no private key material).
    pub fn view(&self, kind: Kind) -> SlotView {
        let slot = self.slot(kind);
        SlotView {
            kind,
            pin_state: slot.pin_state(),
            tries_left: slot.tries_left(),
            max_tries: self.config.max_tries(kind),
            public_key: slot.key().map(SeKey::public),
            cert_der: slot.cert().map(|c| c.der.clone()),
            cert_serial: slot.cert().map(|c| c.serial.clone()),
        }
    }

    fn slot(&self, kind: Kind) -> &Slot {
        match kind {
            Kind::Auth => &self.auth,
            Kind::Sign => &self.sign,
        }
    }

    fn slot_mut(&mut self, kind: Kind) -> &mut Slot {
        match kind {
            Kind::Auth => &mut self.auth,
            Kind::Sign => &mut self.sign,
        }
    }

    fn session(&mut self, ctx: ChannelContext) -> &mut Session {
        self.sessions.entry(ctx.session_key()).or_default()
    }

    /// Drop every session's verification of `kind` (its PIN or key changed).
    fn forget_verification(&mut self, kind: Kind) {
        for s in self.sessions.values_mut() {
            s.set_verified(kind, false);
        }
    }

    fn dispatch(
        &mut self,
        cmd: &Command,
        ctx: ChannelContext,
        keys: &mut dyn KeySource,
    ) -> Outcome {
        let cla = cmd.cla;
        if cla == 0xFF || (cla & 0x40 == 0 && cla & 0x20 != 0) {
            return Err(StatusWord::CLA_NOT_SUPPORTED);
        }
        if cla & 0x10 != 0 {
            return Err(sw::CHAINING_NOT_SUPPORTED);
        }
        let proprietary = cla & 0x80 != 0;
        match (proprietary, cmd.ins) {
            (false, ins::SELECT) => self.select(cmd, ctx),
            (false, ins::READ_BINARY) => self.read_binary(cmd, ctx),
            (false, ins::VERIFY) => self.verify(cmd, ctx),
            (false, ins::CHANGE_REFERENCE_DATA) => self.change_reference_data(cmd, ctx),
            (true, ins::COMPUTE_SIGNATURE) => self.compute_signature(cmd, ctx),
            (true, ins::SET_USER_PIN) => self.set_user_pin(cmd),
            (true, ins::GET_STATE) => self.get_state(cmd),
            (
                true,
                ins::GENERATE_KEY_PAIR
                | ins::WRITE_CERTIFICATE
                | ins::SET_TEMPORARY_PIN
                | ins::RESET_PIN
                | ins::DELETE_BY_SERIAL
                | ins::STATUS_GATE,
            ) => {
                // R-SCP03: only the SP-TSM, over C-MAC + C-DEC, personalises.
                if !ctx.personalisation_allowed() {
                    return Err(StatusWord::SECURITY_NOT_SATISFIED);
                }
                self.personalise(cmd, ctx, keys)
            }
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command, ctx: ChannelContext) -> Outcome {
        if cmd.p2 != 0x00 && cmd.p2 != 0x0C {
            return Err(StatusWord::WRONG_P1P2);
        }
        match cmd.p1 {
            0x04 => {
                if cmd.data.as_slice() != JPKI_AID {
                    return Err(StatusWord::NOT_FOUND);
                }
                *self.session(ctx) = Session::default();
                Ok(Response::ok(Vec::new()))
            }
            0x00 | 0x02 => {
                let fid = match cmd.data.as_slice() {
                    [a, b] => u16::from_be_bytes([*a, *b]),
                    _ => return Err(StatusWord::WRONG_LENGTH),
                };
                let ef = self.lookup(fid).ok_or(StatusWord::NOT_FOUND)?;
                self.session(ctx).current = Some(ef);
                Ok(Response::ok(Vec::new()))
            }
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// The EF with `fid`, if it exists now (cert and key EFs exist once written/generated).
    fn lookup(&self, fid: u16) -> Option<Ef> {
        if fid == fid::TOKEN {
            return Some(Ef::Token);
        }
        Kind::ALL.into_iter().find_map(|k| {
            let slot = self.slot(k);
            if fid == k.cert_fid() && slot.cert().is_some() {
                Some(Ef::Cert(k))
            } else if fid == k.key_fid() && slot.key().is_some() {
                Some(Ef::Key(k))
            } else if fid == k.pin_fid() {
                Some(Ef::Pin(k))
            } else {
                None
            }
        })
    }

    fn read_binary(&mut self, cmd: &Command, ctx: ChannelContext) -> Outcome {
        if cmd.p1 & 0x80 != 0 {
            return Err(StatusWord::WRONG_P1P2);
        }
        if !cmd.data.is_empty() {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let offset = usize::from(u16::from_be_bytes([cmd.p1, cmd.p2]));
        let le = match (cmd.le, cmd.extended) {
            (None, _) | (Some(0), false) => 256,
            (Some(0), true) => 65536,
            (Some(n), _) => n as usize,
        };
        let session = self.session(ctx).clone();
        let content: &[u8] = match session.current {
            None => return Err(StatusWord::NO_CURRENT_EF),
            Some(Ef::Token) => &TOKEN_EF,
            Some(Ef::Cert(k)) => {
                if k == Kind::Sign && !session.verified(Kind::Sign) {
                    return Err(StatusWord::SECURITY_NOT_SATISFIED);
                }
                match self.slot(k).cert() {
                    Some(c) => &c.der,
                    None => return Err(StatusWord::NOT_FOUND),
                }
            }
            Some(Ef::Key(_) | Ef::Pin(_)) => return Err(sw::NOT_READABLE),
        };
        if offset >= content.len() {
            return Err(sw::WRONG_OFFSET);
        }
        let end = offset.saturating_add(le).min(content.len());
        Ok(Response::ok(
            content.get(offset..end).unwrap_or(&[]).to_vec(),
        ))
    }

    /// The PIN a VERIFY / CHANGE REFERENCE DATA P2 refers to.
    fn pin_reference(&mut self, p2: u8, ctx: ChannelContext) -> Result<Kind, StatusWord> {
        match p2 {
            0x80 => match self.session(ctx).current {
                Some(Ef::Pin(k)) => Ok(k),
                _ => Err(StatusWord::NO_CURRENT_EF),
            },
            0x81 => Ok(Kind::Auth),
            0x82 => Ok(Kind::Sign),
            _ => Err(StatusWord::WRONG_P1P2),
        }
    }

    /// The user PIN of `kind`, if it may be used for service (INV-PIN): not temporary, not
    /// blocked.
    fn user_pin(&mut self, kind: Kind) -> Result<&mut PinRecord, StatusWord> {
        match self.slot_mut(kind) {
            Slot::Empty | Slot::KeyGenerated { .. } => Err(StatusWord::REF_DATA_NOT_FOUND),
            Slot::Personalised { pin, .. } if pin.temporary => {
                Err(StatusWord::CONDITIONS_NOT_SATISFIED)
            }
            Slot::Personalised { pin, .. } if pin.blocked() => Err(StatusWord::AUTH_BLOCKED),
            Slot::Personalised { pin, .. } => Ok(pin),
        }
    }

    /// Check `candidate` against `kind`'s PIN (user or temporary, as `pin` is), counting down
    /// on failure (R-PIN-RETRY). Ok on a match (counter reset), else `63Cx` / `6983`.
    fn check_pin(
        kind: Kind,
        pin: &mut PinRecord,
        candidate: &[u8],
        max: u8,
    ) -> Result<(), StatusWord> {
        if pin.matches(kind, candidate) {
            pin.tries_left = max;
            Ok(())
        } else {
            pin.tries_left = pin.tries_left.saturating_sub(1);
            if pin.blocked() {
                Err(StatusWord::AUTH_BLOCKED)
            } else {
                Err(StatusWord::tries_left(pin.tries_left))
            }
        }
    }

    fn verify(&mut self, cmd: &Command, ctx: ChannelContext) -> Outcome {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kind = self.pin_reference(cmd.p2, ctx)?;
        let max = self.config.max_tries(kind);
        if cmd.data.is_empty() {
            // The counter query answers 63Cx in every state (module doc, "Empty VERIFY").
            return Err(StatusWord::tries_left(match self.slot(kind) {
                Slot::Personalised { pin, .. } => pin.tries_left,
                Slot::Empty | Slot::KeyGenerated { .. } => max,
            }));
        }
        let pin = self.user_pin(kind)?;
        if !kind.pin_format_ok(&cmd.data) {
            return Err(StatusWord::WRONG_DATA);
        }
        let result = Self::check_pin(kind, pin, &cmd.data, max);
        self.session(ctx).set_verified(kind, result.is_ok());
        result.map(|()| Response::ok(Vec::new()))
    }

    fn change_reference_data(&mut self, cmd: &Command, ctx: ChannelContext) -> Outcome {
        let kind = self.pin_reference(cmd.p2, ctx)?;
        let max = self.config.max_tries(kind);
        let verified = self.session(ctx).verified(kind);
        let new = match cmd.p1 {
            0x00 => {
                let (&len, rest) = cmd.data.split_first().ok_or(StatusWord::WRONG_LENGTH)?;
                let len = usize::from(len);
                if rest.len() < len {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                let (old, new) = rest.split_at(len);
                let pin = self.user_pin(kind)?;
                if !kind.pin_format_ok(old) || !kind.pin_format_ok(new) {
                    return Err(StatusWord::WRONG_DATA);
                }
                Self::check_pin(kind, pin, old, max)?;
                new.to_vec()
            }
            0x01 => {
                self.user_pin(kind)?;
                if !verified {
                    return Err(StatusWord::SECURITY_NOT_SATISFIED);
                }
                if !kind.pin_format_ok(&cmd.data) {
                    return Err(StatusWord::WRONG_DATA);
                }
                cmd.data.clone()
            }
            _ => return Err(StatusWord::WRONG_P1P2),
        };
        *self.user_pin(kind)? = PinRecord::new(kind, &new, false, max);
        self.forget_verification(kind);
        Ok(Response::ok(Vec::new()))
    }

    fn compute_signature(&mut self, cmd: &Command, ctx: ChannelContext) -> Outcome {
        if (cmd.p1, cmd.p2) != (0x00, 0x80) {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kind = match self.session(ctx).current {
            Some(Ef::Key(k)) => k,
            _ => return Err(StatusWord::NO_CURRENT_EF),
        };
        let verified = self.session(ctx).verified(kind);
        match self.slot(kind) {
            Slot::Personalised { pin, .. } if pin.blocked() => {
                return Err(StatusWord::AUTH_BLOCKED)
            }
            Slot::Personalised { pin, .. } if !pin.temporary => {}
            // Empty, key only, or temporary PIN: no service use (INV-PIN).
            _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
        }
        if !verified {
            return Err(StatusWord::SECURITY_NOT_SATISFIED);
        }
        // ALT-APPLET-STATUS: a gated key signs once per grant, on the app's channel only.
        if self.gated.contains(&kind)
            && !(matches!(ctx, ChannelContext::Omapi { .. }) && self.granted.remove(&kind))
        {
            return Err(sw::NO_STATUS_GRANT);
        }
        let key = self
            .slot(kind)
            .key()
            .ok_or(StatusWord::CONDITIONS_NOT_SATISFIED)?;
        // As the card (and OpenSC's `SC_ALGORITHM_RSA_PAD_PKCS1`): the host hashes and builds
        // the DigestInfo (SHA-1, SHA-256, ... or none for raw RSA-PKCS); the applet only pads,
        // any 1..=k-11 bytes (RFC 8017 §9.2 step 3).
        let k = rsa::traits::PublicKeyParts::size(key.private());
        if cmd.data.is_empty() || cmd.data.len() > k.saturating_sub(11) {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let sig = key
            .private()
            .sign(Pkcs1v15Sign::new_unprefixed(), &cmd.data)
            .map_err(|_| StatusWord::UNKNOWN)?;
        Ok(Response::ok(sig))
    }

    fn set_user_pin(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kind = Kind::from_p2(cmd.p2).ok_or(StatusWord::WRONG_P1P2)?;
        let max = self.config.max_tries(kind);
        let pin = match self.slot_mut(kind) {
            Slot::Personalised { pin, .. } if pin.temporary && pin.blocked() => {
                return Err(StatusWord::AUTH_BLOCKED)
            }
            Slot::Personalised { pin, .. } if pin.temporary => pin,
            _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
        };
        let (&len, rest) = cmd.data.split_first().ok_or(StatusWord::WRONG_LENGTH)?;
        let len = usize::from(len);
        if rest.len() < len {
            return Err(StatusWord::WRONG_LENGTH);
        }
        let (temp, new) = rest.split_at(len);
        if !kind.pin_format_ok(temp) || !kind.pin_format_ok(new) {
            return Err(StatusWord::WRONG_DATA);
        }
        Self::check_pin(kind, pin, temp, max)?;
        *pin = PinRecord::new(kind, new, false, max);
        self.forget_verification(kind);
        Ok(Response::ok(Vec::new()))
    }

    fn get_state(&mut self, cmd: &Command) -> Outcome {
        if cmd.p1 != 0x00 {
            return Err(StatusWord::WRONG_P1P2);
        }
        let kinds: &[Kind] = match cmd.p2 {
            0x00 => &Kind::ALL,
            0x01 => &[Kind::Auth],
            0x02 => &[Kind::Sign],
            _ => return Err(StatusWord::WRONG_P1P2),
        };
        let mut out = Vec::new();
        for &k in kinds {
            let v = self.view(k);
            let mut inner = Vec::new();
            inner.extend(tlv(0x80, &[v.pin_state.code()]));
            inner.extend(tlv(0x81, &[v.tries_left]));
            inner.extend(tlv(0x82, &[v.max_tries]));
            if let Some(serial) = &v.cert_serial {
                inner.extend(tlv(0x83, serial));
            }
            out.extend(tlv(0xA0 | k.p2(), &inner));
        }
        Ok(Response::ok(out))
    }

    fn personalise(
        &mut self,
        cmd: &Command,
        ctx: ChannelContext,
        keys: &mut dyn KeySource,
    ) -> Outcome {
        let kind = Kind::from_p2(cmd.p2).ok_or(StatusWord::WRONG_P1P2)?;
        let max = self.config.max_tries(kind);
        match cmd.ins {
            ins::GENERATE_KEY_PAIR => {
                if cmd.p1 != 0 {
                    return Err(StatusWord::WRONG_P1P2);
                }
                if !cmd.data.is_empty() {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                // R-KEYGEN: generated here; an occupied slot is replaced (R-REISSUE: the
                // SP-TSM only regenerates after the old certificate has ended).
                let key = SeKey::new(keys.generate().map_err(|_| StatusWord::UNKNOWN)?);
                let spki = slot::spki_der(&key.public()).ok_or(StatusWord::UNKNOWN)?;
                *self.slot_mut(kind) = Slot::KeyGenerated { key, cert: None };
                self.forget_verification(kind);
                Ok(Response::ok(spki))
            }
            ins::WRITE_CERTIFICATE => {
                let more = match cmd.p1 {
                    0x00 => false,
                    0x80 => true,
                    _ => return Err(StatusWord::WRONG_P1P2),
                };
                let public = match self.slot(kind) {
                    Slot::KeyGenerated { key, .. } => key.public(),
                    _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
                };
                let session = self.session(ctx);
                let mut buf = match session.pending_cert.take() {
                    Some((k, buf)) if k == kind => buf,
                    _ => Vec::new(),
                };
                if buf.len().saturating_add(cmd.data.len()) > MAX_CERT_LEN {
                    return Err(sw::NO_MEMORY);
                }
                buf.extend_from_slice(&cmd.data);
                if more {
                    session.pending_cert = Some((kind, buf));
                    return Ok(Response::ok(Vec::new()));
                }
                let cert =
                    StoredCert::parse_for(&buf, &public).map_err(|_| StatusWord::WRONG_DATA)?;
                if let Slot::KeyGenerated { cert: c, .. } = self.slot_mut(kind) {
                    *c = Some(cert);
                }
                Ok(Response::ok(Vec::new()))
            }
            ins::SET_TEMPORARY_PIN => {
                if cmd.p1 != 0 {
                    return Err(StatusWord::WRONG_P1P2);
                }
                if !kind.pin_format_ok(&cmd.data) {
                    return Err(StatusWord::WRONG_DATA);
                }
                let slot = self.slot_mut(kind);
                match std::mem::take(slot) {
                    Slot::KeyGenerated {
                        key,
                        cert: Some(cert),
                    } => {
                        let pin = PinRecord::new(kind, &cmd.data, true, max);
                        *slot = Slot::Personalised { key, cert, pin };
                        Ok(Response::ok(Vec::new()))
                    }
                    other => {
                        *slot = other;
                        Err(StatusWord::CONDITIONS_NOT_SATISFIED)
                    }
                }
            }
            ins::RESET_PIN => {
                let temporary = match cmd.p1 {
                    0x00 => false,
                    0x01 => true,
                    _ => return Err(StatusWord::WRONG_P1P2),
                };
                if !kind.pin_format_ok(&cmd.data) {
                    return Err(StatusWord::WRONG_DATA);
                }
                match self.slot_mut(kind) {
                    Slot::Personalised { pin, .. } => {
                        *pin = PinRecord::new(kind, &cmd.data, temporary, max);
                    }
                    _ => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
                }
                self.forget_verification(kind);
                Ok(Response::ok(Vec::new()))
            }
            ins::STATUS_GATE => {
                match cmd.p1 {
                    0x01 => {
                        self.gated.insert(kind);
                    }
                    0x00 if self.gated.contains(&kind) && self.slot(kind).cert().is_some() => {
                        self.granted.insert(kind);
                    }
                    0x00 => return Err(StatusWord::CONDITIONS_NOT_SATISFIED),
                    _ => return Err(StatusWord::WRONG_P1P2),
                }
                Ok(Response::ok(Vec::new()))
            }
            ins::DELETE_BY_SERIAL if cmd.p1 == 0x01 => {
                // R-DELETE before the certificate was written: the key certified for the
                // revoked serial, named by the SHA-256 of its SubjectPublicKeyInfo; only a
                // key-only slot with exactly that key goes (INV-NO-STALE-DELETE).
                let certified = match self.slot(kind) {
                    Slot::KeyGenerated { key, cert: None } => slot::spki_der(&key.public())
                        .is_some_and(|d| Sha256::digest(d).as_slice() == cmd.data.as_slice()),
                    _ => false,
                };
                if !certified {
                    return Err(sw::SERIAL_NOT_FOUND);
                }
                *self.slot_mut(kind) = Slot::Empty;
                self.forget_verification(kind);
                Ok(Response::ok(Vec::new()))
            }
            ins::DELETE_BY_SERIAL => {
                if cmd.p1 != 0 {
                    return Err(StatusWord::WRONG_P1P2);
                }
                if cmd.data.is_empty() {
                    return Err(StatusWord::WRONG_LENGTH);
                }
                // INV-NO-STALE-DELETE: only the credential with exactly this serial goes.
                let matches = self
                    .slot(kind)
                    .cert()
                    .is_some_and(|c| c.has_serial(&cmd.data));
                if !matches {
                    return Err(sw::SERIAL_NOT_FOUND);
                }
                *self.slot_mut(kind) = Slot::Empty;
                self.forget_verification(kind);
                Ok(Response::ok(Vec::new()))
            }
            _ => Err(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

/// BER-TLV with a one-byte tag and a definite length (short or `81`/`82` long form).
pub(crate) fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(ber_len(value.len()));
    out.extend_from_slice(value);
    out
}

/// A BER definite length (up to 65535; longer values are not produced here).
pub(crate) fn ber_len(n: usize) -> Vec<u8> {
    match n {
        0..=0x7F => vec![n as u8],
        0x80..=0xFF => vec![0x81, n as u8],
        _ => {
            let n = n.min(0xFFFF) as u16;
            let [a, b] = n.to_be_bytes();
            vec![0x82, a, b]
        }
    }
}
