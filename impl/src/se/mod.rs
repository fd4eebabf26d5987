//! The phone's GlobalPlatform secure element, emulated: an Issuer Security Domain (ISD, keys
//! held by the SEI-TSM) and an Application Provider Security Domain (APSD, keys held by the
//! JPKI SP-TSM), each with its own SCP03 key set; a card content registry with the JPKI applet
//! instance; access rules (ARA); OMAPI-like logical channels for phone apps.
//!
//! Requirements: R-SCP03 (TSM traffic only over SCP03; personalisation only through the APSD),
//! R-ACL (only an app whose signing-certificate SHA-256 is in the access rules for the
//! applet's AID opens a channel), R-RESET ([`SecureElement::factory_reset`]), R-DELETE /
//! R-TRANSFER / R-DISPOSE (DELETE of the applet instance), INV-KEY-IN-SE.
//!
//! # TSM side: [`SecureElement::transmit_tsm`]
//! Raw APDUs addressed to a security domain ([`SdId`]). `80 50` INITIALIZE UPDATE and
//! `84 82` EXTERNAL AUTHENTICATE open SCP03 (see `crate::scp03`); after that every command
//! must be wrapped. Without an authenticated session every other command answers `6982`.
//! Unwrapped commands are handled as follows (CLA `80`):
//!
//! | INS | command | ISD | APSD |
//! |---|---|---|---|
//! | `E6` | INSTALL: P1 `04` for install, `08` for make selectable, `0C` both | yes | yes |
//! | `E4` | DELETE `4F` AID; P2 `80` also deletes related objects (the access rules of that AID) | yes | yes |
//! | `F2` | GET STATUS (P2 `02`, data `4F 00` or `4F` AID prefix) | all | itself + its applet |
//! | `F0` | SET STATUS: P1 `80` card (ISD only: P2 `7F` lock, `0F` unlock, `FF` terminate); P1 `40` applet (data AID, P2 `80` lock, `00` unlock) | yes | applet only |
//! | `E2` | STORE DATA of access rules (below) | yes | `6D00` |
//! | `D8` | PUT KEY: replace the domain's own key set, counter back to 1, session ends after the answer (`crate::scp03::putkey`; personalisation level) | yes | yes |
//! | other | | `6D00` | forwarded to the JPKI applet with `ChannelContext::SecureChannel`, only in a session at [`SeConfig::personalisation_level`] or above (else `6982`, THREAT-SKIM) |
//!
//! INSTALL data is the GP form `Lelf ELF-AID Lmod module-AID Linst instance-AID Lpriv
//! privileges Lparams params Ltoken token`. The only loadable code is the preloaded (ROM)
//! JPKI executable load file [`JPKI_ELF_AID`] / module [`JPKI_MODULE_AID`]; the only instance
//! AID is [`crate::applet::JPKI_AID`]. Install parameters may carry `C9 02 auth-tries
//! sign-tries` (1..=15 each) to configure the retry limits (R-PIN-RETRY); `C9 00` or no `C9`
//! takes the SE's defaults. The instance is always associated with the APSD, whichever domain
//! installed it. INSTALL answers `00 9000`.
//!
//! GET STATUS answers, per entry, `E3 L { 4F L AID, 9F70 01 life-cycle, C5 03 privileges }`
//! (GP Amd. on TLV format, simplified: no `CC`/`EA`/`84` except `84` module AIDs for P1 `10`).
//! P1 `80` ISD, `40` applications and SDs, `20` executable load files, `10` ELFs with modules.
//! Life-cycle bytes: ISD `01` OP_READY, `07` INITIALIZED, `0F` SECURED, `7F` CARD_LOCKED, `FF`
//! TERMINATED; applications `03` INSTALLED, `07` SELECTABLE, `0F` PERSONALIZED (selectable
//! and a certificate stored), `+80` LOCKED; the APSD `0F`; the ELF `01` LOADED.
//!
//! Access rules (SEI-TSM, ISD only), STORE DATA `80 E2 P1 00` with P1 b8 set (last block), data
//! in the GP SE Access Control form, simplified to SHA-256 hashes:
//! `F0 L { E2 L { E1 L { 4F L AID, C1 20 app-cert-SHA-256 } [, E3 L { D0 01 01|00 }] } }` stores
//! a rule (`D0 01 00` "never" removes that app's grant), `F1 00` deletes every rule, and
//! `F1 L { E2 L { E1 L {..} } }` deletes one.
//!
//! Status words: `6982` no SCP03 session / MAC failure; `6985` conditions not satisfied
//! (card locked or terminated, instance already installed, ROM file, wrong life-cycle
//! transition, applet locked); `6A88` referenced AID not found (also GET STATUS with nothing to
//! list); `6A80` bad data (TLV, AIDs, install parameters, hash length); `6A86` bad P1-P2;
//! `6700` malformed APDU; `6D00` unsupported INS on that domain; `6A82` no applet to forward to.
//!
//! # Phone side: OMAPI-like channels
//! [`SecureElement::open_channel`] checks the card life cycle, the applet (installed,
//! selectable, not locked) and the access rules (R-ACL), then opens a logical channel (at most
//! [`SeConfig::max_channels`]) on which [`SecureElement::transmit`] sends raw APDUs to the
//! applet (`ChannelContext::Omapi`). MANAGE CHANNEL (`70`) is refused `6D00`; an unknown or
//! closed channel answers `6881`. A channel is bound to the app that opened it: every command
//! names its caller, and answers only that app while the access rules still grant it (a
//! removed grant closes the app's channels at once, THREAT-FAKE-APP).

mod contactless;
mod gp;
mod omapi;
mod scp;
#[cfg(test)]
mod tests;
pub mod tlv;

pub use scp::KeysetSpec;

use crate::apdu::{Command, Response, StatusWord};
use crate::applet::{AppletConfig, ChannelContext, JpkiApplet, Kind, SlotView, JPKI_AID};
use crate::crypto::{CryptoError, KeySource, OsKeySource, SeededKeyPool};
use rsa::RsaPrivateKey;
use scp::ScpEndpoint;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The ISD's AID (GlobalPlatform's default ISD AID).
pub const ISD_AID: [u8; 8] = [0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00];
/// The APSD's AID (this emulator's choice: the JPKI RID `D392F00026` + `FF..01`).
pub const APSD_AID: [u8; 10] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0xFF, 0x00, 0x00, 0x00, 0x01];
/// The preloaded JPKI executable load file (this emulator's choice).
pub const JPKI_ELF_AID: [u8; 6] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01];
/// The JPKI executable module in [`JPKI_ELF_AID`] (this emulator's choice).
pub const JPKI_MODULE_AID: [u8; 9] = [0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00];

/// `6881`: logical channel not supported / not open.
pub const SW_NO_CHANNEL: StatusWord = StatusWord(0x6881);

/// A security domain of the SE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SdId {
    /// Issuer Security Domain (SEI-TSM).
    Isd,
    /// Application Provider Security Domain of the JPKI SP (SP-TSM).
    Apsd,
}

/// An OMAPI logical channel number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChannelId(pub u8);

/// GlobalPlatform card life cycle (the ISD's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CardLifeCycle {
    /// `01`.
    OpReady,
    /// `07`.
    Initialized,
    /// `0F`: normal operation.
    Secured,
    /// `7F`: no application may be selected.
    CardLocked,
    /// `FF`: irreversible.
    Terminated,
}

impl CardLifeCycle {
    /// The GP coding.
    pub fn byte(self) -> u8 {
        match self {
            CardLifeCycle::OpReady => 0x01,
            CardLifeCycle::Initialized => 0x07,
            CardLifeCycle::Secured => 0x0F,
            CardLifeCycle::CardLocked => 0x7F,
            CardLifeCycle::Terminated => 0xFF,
        }
    }
}

/// GlobalPlatform application life cycle, as reported by GET STATUS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AppLifeCycle {
    /// `03`: installed, not selectable.
    Installed,
    /// `07`: selectable.
    Selectable,
    /// `0F`: selectable and holding at least one certificate.
    Personalized,
    /// `83`/`87`/`8F`: locked (the previous state is kept in the low bits).
    Locked(u8),
}

impl AppLifeCycle {
    /// The GP coding.
    pub fn byte(self) -> u8 {
        match self {
            AppLifeCycle::Installed => 0x03,
            AppLifeCycle::Selectable => 0x07,
            AppLifeCycle::Personalized => 0x0F,
            AppLifeCycle::Locked(b) => 0x80 | b,
        }
    }
}

/// Why a phone app cannot open or use a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeError {
    /// R-ACL: no access rule grants this app (signing-certificate hash) the AID.
    AccessDenied {
        aid: Vec<u8>,
        app_cert_hash: [u8; 32],
    },
    /// No applet instance with this AID is installed.
    NoSuchApplet { aid: Vec<u8> },
    /// The instance exists but is only INSTALLED (not yet made selectable).
    NotSelectable { aid: Vec<u8> },
    /// The applet instance is LOCKED.
    AppletLocked { aid: Vec<u8> },
    /// The card is CARD_LOCKED or TERMINATED.
    CardNotAvailable(CardLifeCycle),
    /// Every logical channel is in use.
    NoChannelAvailable { max: u8 },
    /// The channel is not open.
    UnknownChannel(ChannelId),
    /// A configured SCP03 key set is unusable.
    BadKeys { sd: SdId, reason: String },
    /// The configured personalisation level is not an SCP03 security level.
    BadLevel(u8),
}

impl fmt::Display for SeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeError::AccessDenied { aid, app_cert_hash } => write!(
                f,
                "access rules grant app {} no access to applet {}",
                hex::encode(app_cert_hash),
                hex::encode(aid)
            ),
            SeError::NoSuchApplet { aid } => write!(f, "no applet {} installed", hex::encode(aid)),
            SeError::NotSelectable { aid } => {
                write!(
                    f,
                    "applet {} is installed but not selectable",
                    hex::encode(aid)
                )
            }
            SeError::AppletLocked { aid } => write!(f, "applet {} is locked", hex::encode(aid)),
            SeError::CardNotAvailable(lc) => write!(f, "card life cycle {lc:?} admits no channel"),
            SeError::NoChannelAvailable { max } => {
                write!(f, "all {max} logical channels are in use")
            }
            SeError::UnknownChannel(c) => write!(f, "logical channel {} is not open", c.0),
            SeError::BadKeys { sd, reason } => write!(f, "SCP03 keys of {sd:?} unusable: {reason}"),
            SeError::BadLevel(b) => write!(
                f,
                "personalisation level {b:02X} is not one of 01, 03, 11, 13, 33"
            ),
        }
    }
}

impl std::error::Error for SeError {}

/// Where the SE's key pairs come from: a serialisable [`KeySource`] (so a snapshot of the SE
/// resumes the same key sequence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyGen {
    /// The real generator ([`OsKeySource`]).
    Os,
    /// Key number `next`, `next + 1`, ... of [`SeededKeyPool`] seed `seed` (tests).
    Seeded { seed: u64, next: u64 },
}

impl KeyGen {
    /// Keys from [`SeededKeyPool`] seed `seed`, starting at key 0.
    pub fn seeded(seed: u64) -> Self {
        KeyGen::Seeded { seed, next: 0 }
    }
}

impl KeySource for KeyGen {
    fn generate(&mut self) -> Result<RsaPrivateKey, CryptoError> {
        match self {
            KeyGen::Os => OsKeySource.generate(),
            KeyGen::Seeded { seed, next } => {
                let k = SeededKeyPool::key(*seed, *next)?;
                *next += 1;
                Ok(k)
            }
        }
    }
}

/// Static configuration of an SE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeConfig {
    /// The ISD's SCP03 key set (SEI-TSM).
    pub isd_keys: KeysetSpec,
    /// The APSD's SCP03 key set (SP-TSM).
    pub apsd_keys: KeysetSpec,
    /// Key diversification data announced in INITIALIZE UPDATE (the SE's identity).
    pub kdd: [u8; 10],
    /// Retry limits for an instance installed without `C9` parameters.
    pub applet: AppletConfig,
    /// How many logical channels phone apps may hold at once (1..=19).
    pub max_channels: u8,
    /// The SCP03 level the APSD requires of the commands it forwards to the applet
    /// (personalisation: GENERATE KEY PAIR, WRITE CERTIFICATE, SET TEMPORARY PIN, RESET PIN,
    /// DELETE CREDENTIAL BY SERIAL, and every other applet command over SCP03): every bit of
    /// this level must be in the session's level, else `6982` (THREAT-SKIM). One of `01`,
    /// `03`, `11`, `13`, `33`; `33` by default.
    #[serde(default = "default_personalisation_level")]
    pub personalisation_level: u8,
}

fn default_personalisation_level() -> u8 {
    crate::scp03::SecurityLevel::FULL.byte()
}

impl SeConfig {
    /// A configuration with the given key sets, default retry limits and 3 channels.
    pub fn new(isd_keys: KeysetSpec, apsd_keys: KeysetSpec, kdd: [u8; 10]) -> Self {
        SeConfig {
            isd_keys,
            apsd_keys,
            kdd,
            applet: AppletConfig::default(),
            max_channels: 3,
            personalisation_level: default_personalisation_level(),
        }
    }
}

/// The JPKI applet instance in the registry.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Instance {
    selectable: bool,
    locked: bool,
    applet: JpkiApplet,
}

/// One access rule (R-ACL): the app with this signing-certificate SHA-256 may open channels
/// to this AID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccessRule {
    /// Applet AID.
    pub aid: Vec<u8>,
    /// SHA-256 of the app's signing certificate.
    pub app_cert_hash: [u8; 32],
}

/// Read-only registry entry for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppletInfo {
    /// Instance AID.
    pub aid: Vec<u8>,
    /// Life cycle.
    pub life_cycle: AppLifeCycle,
}

/// The emulated GP secure element.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecureElement {
    config: SeConfig,
    card: CardLifeCycle,
    isd: ScpEndpoint,
    apsd: ScpEndpoint,
    instance: Option<Instance>,
    rules: BTreeSet<AccessRule>,
    channels: BTreeMap<u8, [u8; 32]>,
    keygen: KeyGen,
    /// Whether a reader in the field has selected the JPKI applet (THREAT-READER).
    #[serde(default)]
    contactless_selected: bool,
}

impl SecureElement {
    /// A SECURED card with ISD and APSD and no applet instance. Fails if a key set is unusable.
    pub fn new(config: SeConfig, keygen: KeyGen) -> Result<Self, SeError> {
        for (sd, keys) in [
            (SdId::Isd, &config.isd_keys),
            (SdId::Apsd, &config.apsd_keys),
        ] {
            keys.static_keys().map_err(|e| SeError::BadKeys {
                sd,
                reason: e.to_string(),
            })?;
        }
        crate::scp03::SecurityLevel::from_byte(config.personalisation_level)
            .map_err(|_| SeError::BadLevel(config.personalisation_level))?;
        Ok(SecureElement {
            isd: ScpEndpoint::new(config.isd_keys.clone(), config.kdd, ISD_AID.to_vec()),
            apsd: ScpEndpoint::new(config.apsd_keys.clone(), config.kdd, APSD_AID.to_vec()),
            config,
            card: CardLifeCycle::Secured,
            instance: None,
            rules: BTreeSet::new(),
            channels: BTreeMap::new(),
            keygen,
            contactless_selected: false,
        })
    }

    /// A raw APDU from a TSM to security domain `sd`; the raw response (data || SW). Never
    /// panics; every input gets a status word.
    pub fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8> {
        let cmd = match Command::parse(raw) {
            Ok(c) => c,
            Err(e) => {
                // Malformed input is a refusal like any other: it ends the secure channel
                // session (a tampered length field must not leave it open).
                self.endpoint(sd).end();
                if sd == SdId::Apsd {
                    self.end_applet_secure_session();
                }
                return Response::status(e.status()).to_bytes();
            }
        };
        if cmd.cla & 0x80 != 0 && cmd.ins == crate::scp03::INS_INITIALIZE_UPDATE {
            if sd == SdId::Apsd {
                self.end_applet_secure_session();
            }
            return self.endpoint(sd).initialize_update(&cmd);
        }
        if cmd.cla & 0x80 != 0 && cmd.ins == crate::scp03::INS_EXTERNAL_AUTHENTICATE {
            return self.endpoint(sd).external_authenticate(raw);
        }
        let Some(level) = self.endpoint(sd).level() else {
            return Response::status(StatusWord::SECURITY_NOT_SATISFIED).to_bytes();
        };
        let plain = match self.endpoint(sd).unwrap(raw) {
            Ok(c) => c,
            Err(sw) => {
                if sd == SdId::Apsd {
                    self.end_applet_secure_session();
                }
                return Response::status(sw).to_bytes();
            }
        };
        if plain.cla & 0x80 != 0 && plain.ins == crate::scp03::putkey::INS_PUT_KEY {
            return self.put_key(sd, &plain, level);
        }
        let resp = self.handle_sd_command(sd, &plain, level);
        self.endpoint(sd).wrap(&resp)
    }

    /// PUT KEY: the domain's key set is replaced once the answer is wrapped under the old
    /// session, which then ends; the sequence counter starts again (see
    /// `crate::scp03::putkey`). Only at the personalisation level.
    fn put_key(&mut self, sd: SdId, plain: &Command, level: u8) -> Vec<u8> {
        let min = self.config.personalisation_level;
        let outcome = if level & min != min {
            Err(StatusWord::SECURITY_NOT_SATISFIED)
        } else {
            self.endpoint(sd).put_key(plain)
        };
        match outcome {
            Ok((resp, keys)) => {
                let out = self.endpoint(sd).wrap(&resp);
                match sd {
                    SdId::Isd => self.config.isd_keys = keys.clone(),
                    SdId::Apsd => {
                        self.end_applet_secure_session();
                        self.config.apsd_keys = keys.clone();
                    }
                }
                self.endpoint(sd).rotate(keys);
                out
            }
            Err(sw) => self.endpoint(sd).wrap(&Response::status(sw)),
        }
    }

    fn endpoint(&mut self, sd: SdId) -> &mut ScpEndpoint {
        match sd {
            SdId::Isd => &mut self.isd,
            SdId::Apsd => &mut self.apsd,
        }
    }

    fn end_applet_secure_session(&mut self) {
        if let Some(i) = self.instance.as_mut() {
            i.applet
                .end_session(ChannelContext::SecureChannel { level: 0 });
        }
    }

    /// R-RESET: wipe the JPKI applet instance with its keys, certificates and PINs, its access
    /// rules, every open channel and secure channel. The ISD, APSD and their keys remain.
    pub fn factory_reset(&mut self) {
        self.instance = None;
        self.rules.retain(|r| r.aid != JPKI_AID);
        self.channels.clear();
        self.contactless_selected = false;
        self.isd.end();
        self.apsd.end();
    }

    fn close_applet_channels(&mut self) {
        self.channels.clear();
        self.contactless_selected = false;
        if let Some(i) = self.instance.as_mut() {
            i.applet.end_all_sessions();
        }
    }

    // ----- read-only inspection (no private keys) -----

    /// The card life cycle.
    pub fn card_life_cycle(&self) -> CardLifeCycle {
        self.card
    }

    /// The installed applet instances with their life cycle.
    pub fn installed_applets(&self) -> Vec<AppletInfo> {
        self.instance
            .iter()
            .map(|i| AppletInfo {
                aid: JPKI_AID.to_vec(),
                life_cycle: Self::app_life_cycle(i),
            })
            .collect()
    }

    /// The JPKI slot of `kind`, if the applet is installed.
    pub fn slot(&self, kind: Kind) -> Option<SlotView> {
        self.instance.as_ref().map(|i| i.applet.view(kind))
    }

    /// The applet's retry configuration, if installed.
    pub fn applet_config(&self) -> Option<AppletConfig> {
        self.instance.as_ref().map(|i| i.applet.config())
    }

    /// The access rules (R-ACL).
    pub fn access_rules(&self) -> Vec<AccessRule> {
        self.rules.iter().cloned().collect()
    }

    /// The level of `sd`'s authenticated SCP03 session, if one is open (inspection: a
    /// refused secured command must leave none).
    pub fn scp_level(&self, sd: SdId) -> Option<u8> {
        match sd {
            SdId::Isd => self.isd.level(),
            SdId::Apsd => self.apsd.level(),
        }
    }

    /// Set the sequence counter `sd`'s next INITIALIZE UPDATE uses (tests of counter
    /// exhaustion without 16.7 million commands).
    #[cfg(test)]
    pub(crate) fn set_sequence_counter(&mut self, sd: SdId, counter: u32) {
        self.endpoint(sd).set_sequence_counter(counter);
    }

    /// The open logical channels.
    pub fn open_channels(&self) -> Vec<ChannelId> {
        self.channels.keys().map(|&n| ChannelId(n)).collect()
    }

    /// The key source's state (to check determinism of snapshots).
    pub fn key_gen(&self) -> &KeyGen {
        &self.keygen
    }

    fn app_life_cycle(i: &Instance) -> AppLifeCycle {
        let base = if !i.selectable {
            AppLifeCycle::Installed
        } else if i.applet.personalised() {
            AppLifeCycle::Personalized
        } else {
            AppLifeCycle::Selectable
        };
        if i.locked {
            AppLifeCycle::Locked(base.byte())
        } else {
            base
        }
    }
}
