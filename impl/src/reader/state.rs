//! What `phone-jpki card serve` serves: one phone's secure element, built by a scenario or
//! loaded from a saved state file, with the PINs its holder set (so scripts can log in).
//!
//! A state file is one JSON object (`format` `phone-jpki-card-state/1`): the scenario that
//! built it, the phone, the holder's auth PIN and sign password (null where no user PIN is
//! set), whether the keys are the deterministic test keys, and the SE itself (its serde form,
//! keys included: a state file is as secret as the SE it copies; never use one for real keys).

use crate::applet::{fid, Kind, PinState, JPKI_AID};
use crate::ca::{CertKind, PhoneId};
use crate::se::SecureElement;
use crate::system::{Refusal, System, SystemConfig, SystemError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::Path;

/// The `format` field of a state file.
pub const FORMAT: &str = "phone-jpki-card-state/1";

/// The phones a scenario can build (README, "A virtual card for OpenSC").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Both kinds issued, user PINs set (the default).
    Both,
    /// Only the auth kind issued; the sign slot empty.
    AuthOnly,
    /// Auth issued; sign mid-issuance: certificate written, temporary PIN (R-PIN-SETUP).
    Temporary,
    /// Both issued; the auth PIN blocked by wrong VERIFYs over the contactless route.
    Blocked,
}

impl Scenario {
    /// Every scenario.
    pub const ALL: [Scenario; 4] = [
        Scenario::Both,
        Scenario::AuthOnly,
        Scenario::Temporary,
        Scenario::Blocked,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Both => "both",
            Scenario::AuthOnly => "auth-only",
            Scenario::Temporary => "temporary",
            Scenario::Blocked => "blocked",
        }
    }

    /// Parse a command-line name.
    pub fn from_name(s: &str) -> Option<Scenario> {
        Scenario::ALL.into_iter().find(|x| x.name() == s)
    }
}

/// One phone's SE as a virtual card, with its holder's PINs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardState {
    /// [`FORMAT`].
    pub format: String,
    /// The scenario that built it.
    pub scenario: Scenario,
    /// The phone (`h0`).
    pub phone: String,
    /// The holder's auth PIN, if a user PIN is set.
    pub auth_pin: Option<String>,
    /// The holder's sign password (upper case, as clients send it), if set.
    pub sign_password: Option<String>,
    /// Whether the keys come from the seeded pool (anyone can rebuild them).
    pub deterministic_keys: bool,
    /// The secure element.
    pub se: SecureElement,
}

/// Why a state could not be built or loaded.
#[derive(Debug)]
pub enum StateError {
    /// The scenario's system run failed.
    System(SystemError),
    /// A scenario step was refused.
    Refused(String, Refusal),
    /// Reading or writing the file failed.
    Io(String),
    /// The file is not a state file.
    Malformed(String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::System(e) => write!(f, "building the phone: {e}"),
            StateError::Refused(step, r) => write!(f, "scenario step {step} refused: {r}"),
            StateError::Io(m) | StateError::Malformed(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for StateError {}

/// Raw contactless command APDUs (the route a card reader takes).
fn apdu(ins: u8, p1: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, ins, p1, p2];
    if !data.is_empty() {
        v.push(data.len() as u8);
        v.extend_from_slice(data);
    }
    v
}

impl CardState {
    /// Build phone h0 of a one-person system along `scenario` (seeded keys, clock one hour
    /// before now so the certificates are valid).
    pub fn from_scenario(scenario: Scenario) -> Result<CardState, StateError> {
        let mut config = SystemConfig::new(1, 1);
        config.seed = 2026;
        config.start = crate::demo::one_hour_ago().map_err(StateError::System)?;
        if scenario == Scenario::AuthOnly {
            config.kinds = vec![CertKind::Auth];
        }
        let mut s = System::new(config).map_err(StateError::System)?;
        let h = PhoneId(0);
        let run = |s: &mut System, name: &str, r: Result<(), Refusal>| {
            r.map_err(|e| StateError::Refused(format!("{name}({h})"), e))
                .map(|()| s.now())
        };
        let r = s.install_app(h);
        run(&mut s, "install_app", r)?;
        let r = s.install_applet(h);
        run(&mut s, "install_applet", r)?;
        let kinds: &[CertKind] = match scenario {
            Scenario::AuthOnly => &[CertKind::Auth],
            _ => &CertKind::ALL,
        };
        for &k in kinds {
            for (name, step) in [
                ("apply", 0),
                ("generate_key", 1),
                ("ca_issue", 2),
                ("write_cert", 3),
                ("set_user_pin", 4),
            ] {
                if scenario == Scenario::Temporary && k == CertKind::Sign && step == 4 {
                    break;
                }
                let r = match step {
                    0 => s.apply(h, k),
                    1 => s.generate_key(h),
                    2 => s.ca_issue(h),
                    3 => s.write_cert(h),
                    _ => s.set_user_pin(h),
                };
                run(&mut s, name, r)?;
            }
        }
        let se = s
            .secure_element(h)
            .cloned()
            .ok_or_else(|| StateError::Malformed("the scenario has no phone h0".into()))?;
        let pin_if_user = |k: CertKind, kind: Kind| {
            (se.slot(kind).map(|v| v.pin_state) == Some(PinState::User))
                .then(|| s.holder_pin(h, k))
                .flatten()
        };
        let mut state = CardState {
            format: FORMAT.to_string(),
            scenario,
            phone: h.to_string(),
            auth_pin: pin_if_user(CertKind::Auth, Kind::Auth),
            sign_password: pin_if_user(CertKind::Sign, Kind::Sign).map(|p| p.to_uppercase()),
            deterministic_keys: true,
            se,
        };
        if scenario == Scenario::Blocked {
            state.block_auth_pin_by_reader()?;
        }
        Ok(state)
    }

    /// THREAT-READER's attempt: wrong PINs over the contactless route until the auth PIN is
    /// blocked (`6983`).
    fn block_auth_pin_by_reader(&mut self) -> Result<(), StateError> {
        let se = &mut self.se;
        se.transmit_contactless(&apdu(0xA4, 0x04, 0x0C, &JPKI_AID));
        se.transmit_contactless(&apdu(0xA4, 0x02, 0x0C, &fid::AUTH_PIN.to_be_bytes()));
        let wrong = if self.auth_pin.as_deref() == Some("9999") {
            "9998"
        } else {
            "9999"
        };
        for _ in 0..15 {
            let r = se.transmit_contactless(&apdu(0x20, 0x00, 0x80, wrong.as_bytes()));
            if r == [0x69, 0x83] {
                se.contactless_field_off();
                self.auth_pin = None;
                return Ok(());
            }
        }
        Err(StateError::Malformed(
            "the auth PIN did not block after 15 wrong VERIFYs".into(),
        ))
    }

    /// The PIN state of each kind as the SE shows it (`"empty"`, `"key"`, `"temporary"`,
    /// `"user"`, `"blocked"`).
    pub fn pin_states(&self) -> [(Kind, &'static str); 2] {
        Kind::ALL.map(|k| {
            let s = match self.se.slot(k).map(|v| v.pin_state) {
                None | Some(PinState::Empty) => "empty",
                Some(PinState::KeyGenerated) => "key",
                Some(PinState::Temporary) => "temporary",
                Some(PinState::User) => "user",
                Some(PinState::Blocked) => "blocked",
            };
            (k, s)
        })
    }

    /// Write the state to `path` (atomically: never a partial file).
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let json = serde_json::to_vec_pretty(self)
            .map_err(|e| StateError::Io(format!("{}: cannot encode: {e}", path.display())))?;
        crate::fsio::write_atomic(path, &json).map_err(StateError::Io)
    }

    /// Load a state file; errors name the file and, for JSON, the line and column.
    pub fn load(path: &Path) -> Result<CardState, StateError> {
        let bytes = crate::fsio::read_capped(path).map_err(StateError::Io)?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| StateError::Malformed(format!("{}: not JSON: {e}", path.display())))?;
        match v.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            other => {
                return Err(StateError::Malformed(format!(
                    "{}: format is {other:?}, expected {FORMAT:?}",
                    path.display()
                )))
            }
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            StateError::Malformed(format!("{}: not a card state: {e}", path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reader::vpcd::Card;

    fn sw(r: &[u8]) -> u16 {
        u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]])
    }

    /// OpenSC's bind: SELECT AP, then per PIN: SELECT PIN EF, empty VERIFY; must be 63xx.
    fn bind_probe(se: &mut SecureElement) -> [u16; 2] {
        assert_eq!(sw(&se.exchange(&apdu(0xA4, 0x04, 0x0C, &JPKI_AID))), 0x9000);
        Kind::ALL.map(|k| {
            assert_eq!(
                sw(&se.exchange(&apdu(0xA4, 0x02, 0x0C, &k.pin_fid().to_be_bytes()))),
                0x9000
            );
            sw(&se.exchange(&apdu(0x20, 0x00, 0x80, &[])))
        })
    }

    #[test]
    fn scenarios_build_the_states_they_name_and_bind_probes_answer_63cx() {
        let expect = [
            (Scenario::Both, ["user", "user"], [0x63C3, 0x63C5]),
            (Scenario::AuthOnly, ["user", "empty"], [0x63C3, 0x63C5]),
            (Scenario::Temporary, ["user", "temporary"], [0x63C3, 0x63C5]),
            (Scenario::Blocked, ["blocked", "user"], [0x63C0, 0x63C5]),
        ];
        for (sc, states, probes) in expect {
            let mut st = CardState::from_scenario(sc).unwrap();
            assert_eq!(st.pin_states().map(|(_, s)| s), states, "{sc:?}");
            assert_eq!(st.auth_pin.is_some(), states[0] == "user", "{sc:?}");
            assert_eq!(st.sign_password.is_some(), states[1] == "user", "{sc:?}");
            assert_eq!(bind_probe(&mut st.se), probes, "{sc:?}");
        }
    }

    #[test]
    fn the_pins_in_the_state_log_in_over_the_contactless_route() {
        let mut st = CardState::from_scenario(Scenario::Both).unwrap();
        let pw = st.sign_password.clone().unwrap();
        assert_eq!(pw, pw.to_uppercase());
        let se = &mut st.se;
        se.exchange(&apdu(0xA4, 0x04, 0x0C, &JPKI_AID));
        se.exchange(&apdu(0xA4, 0x02, 0x0C, &fid::SIGN_PIN.to_be_bytes()));
        assert_eq!(
            sw(&se.exchange(&apdu(0x20, 0, 0x80, pw.as_bytes()))),
            0x9000
        );
        // A reset ends the session: the sign cert needs VERIFY again.
        se.field_off();
        se.exchange(&apdu(0xA4, 0x04, 0x0C, &JPKI_AID));
        se.exchange(&apdu(0xA4, 0x02, 0x0C, &fid::SIGN_CERT.to_be_bytes()));
        assert_eq!(sw(&se.exchange(&[0, 0xB0, 0, 0, 4])), 0x6982);
        // 2- and 3-byte payloads from vpcd are APDUs too: answered with a status word.
        for raw in [&[0x00, 0xA4][..], &[0x00, 0xA4, 0x04]] {
            let r = se.exchange(raw);
            assert_eq!(r.len(), 2, "{raw:02x?}");
            assert_ne!(sw(&r), 0x9000);
        }
    }

    #[test]
    fn save_load_round_trip_and_bad_files_are_named() {
        let dir = std::env::temp_dir().join(format!("phone-jpki-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("blocked.json");
        let st = CardState::from_scenario(Scenario::Blocked).unwrap();
        st.save(&path).unwrap();
        let back = CardState::load(&path).unwrap();
        assert_eq!(back.pin_states(), st.pin_states());
        assert_eq!(back.auth_pin, None);
        assert_eq!(back.sign_password, st.sign_password);
        let bad = dir.join("bad.json");
        std::fs::write(&bad, b"{\"format\": \"other\"}").unwrap();
        let e = CardState::load(&bad).unwrap_err().to_string();
        assert!(e.contains("bad.json") && e.contains("expected"), "{e}");
        std::fs::write(&bad, b"{\n oops").unwrap();
        let e = CardState::load(&bad).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&bad, format!("{{\"format\": \"{FORMAT}\"}}")).unwrap();
        let e = CardState::load(&bad).unwrap_err().to_string();
        assert!(e.contains("missing field"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
