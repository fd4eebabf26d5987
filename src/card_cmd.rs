//! `phone-jpki card`: a phone's SE as a virtual smart card for PC/SC middleware (THREAT-READER's
//! card-reader route), through vsmartcard's vpcd reader driver.

use clap::Subcommand;
use phone_jpki_impl::reader::state::{CardState, Scenario};
use phone_jpki_impl::reader::vpcd::{self, JPKI_ATR};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The warning printed with every deterministic key set.
const KEY_WARNING: &str = "deterministic test keys: anyone can rebuild these private keys from \
the project's seeds; never use them for anything real";

#[derive(Subcommand)]
pub enum CardCmd {
    /// Serve a phone's SE to pcscd's vpcd driver (connects to it; runs until stopped). The
    /// first stdout line is one JSON object: address, PINs, slot states.
    Serve {
        /// The vpcd driver's address (pcscd listens; the card connects).
        #[arg(long, default_value = "127.0.0.1:35963")]
        vpcd: String,
        /// Serve a saved state (`phone-jpki card state`) instead of a scenario.
        #[arg(long, conflicts_with = "scenario")]
        state: Option<PathBuf>,
        /// both, auth-only, temporary or blocked.
        #[arg(long)]
        scenario: Option<String>,
    },
    /// Build a phone along a scenario and save its state (for `card serve --state`).
    State {
        /// both, auth-only, temporary or blocked.
        #[arg(long, default_value = "both")]
        scenario: String,
        /// The state file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn scenario(name: &str) -> Result<Scenario, String> {
    Scenario::from_name(name).ok_or_else(|| {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.name()).collect();
        format!("--scenario {name}: unknown (one of {})", names.join(", "))
    })
}

fn summary(st: &CardState, vpcd: Option<&str>) -> serde_json::Value {
    let mut v = serde_json::json!({
        "phone": st.phone,
        "scenario": st.scenario.name(),
        "auth_pin": st.auth_pin,
        "sign_password": st.sign_password,
        "atr": JPKI_ATR.iter().map(|b| format!("{b:02X}")).collect::<String>(),
        "deterministic_keys": st.deterministic_keys,
    });
    for (k, s) in st.pin_states() {
        v[format!("{k:?}").to_lowercase()] = serde_json::Value::from(s);
    }
    if st.deterministic_keys {
        v["warning"] = KEY_WARNING.into();
    }
    if let Some(a) = vpcd {
        v["vpcd"] = a.into();
    }
    v
}

pub fn run(cmd: CardCmd) -> Result<ExitCode, String> {
    match cmd {
        CardCmd::State {
            scenario: name,
            out,
        } => {
            let st = CardState::from_scenario(scenario(&name)?).map_err(|e| e.to_string())?;
            st.save(&out).map_err(|e| format!("--out {e}"))?;
            println!("{}", summary(&st, None));
            eprintln!("phone-jpki: warning: {KEY_WARNING}");
            Ok(ExitCode::SUCCESS)
        }
        CardCmd::Serve {
            vpcd,
            state,
            scenario: name,
        } => {
            let addr: SocketAddr = vpcd
                .parse()
                .map_err(|e| format!("--vpcd {vpcd}: not an IP:port address: {e}"))?;
            let mut st = match state {
                Some(path) => CardState::load(&path).map_err(|e| format!("--state {e}"))?,
                None => {
                    let sc = scenario(name.as_deref().unwrap_or("both"))?;
                    CardState::from_scenario(sc).map_err(|e| e.to_string())?
                }
            };
            let line = summary(&st, Some(&addr.to_string()));
            let mut out = std::io::stdout();
            writeln!(out, "{line}")
                .and_then(|()| out.flush())
                .map_err(|e| format!("stdout: {e}"))?;
            if st.deterministic_keys {
                eprintln!("phone-jpki: warning: {KEY_WARNING}");
            }
            serve(addr, &mut st)
        }
    }
}

/// Connect to vpcd, serve, reconnect when the reader goes away; runs until killed.
fn serve(addr: SocketAddr, st: &mut CardState) -> Result<ExitCode, String> {
    let mut waiting_logged = false;
    loop {
        let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(s) => s,
            Err(e) => {
                if !waiting_logged {
                    eprintln!("phone-jpki card: waiting for vpcd at {addr} ({e})");
                    waiting_logged = true;
                }
                std::thread::sleep(Duration::from_millis(200));
                continue;
            }
        };
        waiting_logged = false;
        let _ = stream.set_nodelay(true);
        eprintln!("phone-jpki card: connected to vpcd at {addr}");
        match vpcd::serve_connection(&mut stream, &mut st.se, &JPKI_ATR) {
            Ok(stats) => eprintln!(
                "phone-jpki card: vpcd at {addr} closed the link after {} APDUs; reconnecting",
                stats.apdus
            ),
            Err((e, stats)) => eprintln!(
                "phone-jpki card: vpcd at {addr}: {e} (after {} APDUs); dropping the link and reconnecting",
                stats.apdus
            ),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
