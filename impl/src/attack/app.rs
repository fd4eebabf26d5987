//! The malicious app on the phone (THREAT-FAKE-APP): an app with no access rule, an app
//! whose rule is granted and then removed, and an app that uses another app's channel
//! number (a stolen channel), against a genuine app that holds a channel with a verified
//! PIN. Every answer is checked: no signature for a caller that has not itself verified the
//! PIN on that channel while granted, and no private key bytes.

use super::{leaks, secret_windows, Bench, Report, GENUINE};
use crate::apdu::{Command, Response};
use crate::applet::{fid, ins, Kind, JPKI_AID};
use crate::ca::CertKind;
use crate::scp03::SecurityLevel;
use crate::se::{tlv, ChannelId, SdId};
use crate::tsm::sp::Purpose;
use crate::tsm::ScpLink;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::collections::{BTreeMap, BTreeSet};

/// The malicious app's signing-certificate hash.
pub const EVIL: [u8; 32] = [0xEE; 32];
const PIN: &str = "1357";

/// Grant (`allow`) or remove the access rule of `app` through the SEI-TSM's ISD keys.
fn set_rule(b: &mut Bench, app: [u8; 32], allow: bool) -> Result<(), String> {
    let keys = b.sei.keys(b.phone).ok_or("no ISD keys")?.clone();
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(app[0]) + u64::from(allow));
    let mut link = ScpLink::open(&mut b.se, SdId::Isd, &keys, SecurityLevel::FULL, &mut rng)
        .map_err(|e| e.to_string())?;
    let mut refs = tlv::encode(0x4F, &JPKI_AID);
    refs.extend(tlv::encode(0xC1, &app));
    let mut rule = tlv::encode(0xE1, &refs);
    rule.extend(tlv::encode(0xE3, &tlv::encode(0xD0, &[u8::from(allow)])));
    let store = tlv::encode(0xF0, &tlv::encode(0xE2, &rule));
    link.expect_ok("STORE DATA", &Command::new(0x80, 0xE2, 0x80, 0x00, store))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A personalised bench: auth credential issued and written, the user PIN set.
fn personalised(seed: u64) -> Result<Bench, String> {
    let mut b = Bench::new(seed)?;
    let phone = b.phone;
    let e = |e: &dyn std::fmt::Display| e.to_string();
    b.sei
        .install_applet(
            &mut b.se,
            phone,
            crate::applet::AppletConfig::default(),
            GENUINE,
        )
        .map_err(|x| e(&x))?;
    let signed = b.signed(Purpose::Issue, CertKind::Auth)?;
    b.sp.apply(&b.ca, phone, &signed, b.now)
        .map_err(|x| e(&x))?;
    b.sp.generate_key(&mut b.se, phone).map_err(|x| e(&x))?;
    b.sp.ca_issue(&mut b.ca, &mut b.push, phone, b.now)
        .map_err(|x| e(&x))?;
    b.sp.write_cert(&b.ca, &mut b.se, phone)
        .map_err(|x| e(&x))?;
    let (_, _, temp) =
        b.sp.temporary_pin_for(&b.ca, phone, b.now)
            .map_err(|x| e(&x))?;
    {
        let mut ch = crate::phone::app::AppChannel::open(&mut b.se, GENUINE).map_err(|x| e(&x))?;
        ch.set_user_pin(Kind::Auth, &temp, PIN).map_err(|x| e(&x))?;
    }
    Ok(b)
}

fn sign_command() -> Command {
    Command::new(
        0x80,
        ins::COMPUTE_SIGNATURE,
        0,
        0x80,
        crate::applet::SHA256_DIGEST_INFO_PREFIX
            .iter()
            .copied()
            .chain([7; 32])
            .collect::<Vec<u8>>(),
    )
    .with_le(0)
}

fn apdu(rng: &mut ChaCha20Rng) -> (Command, bool) {
    match rng.next_u32() % 8 {
        0 => (
            Command::new(0x00, ins::SELECT, 0x04, 0x0C, JPKI_AID.to_vec()),
            false,
        ),
        1 => (
            Command::new(
                0x00,
                ins::SELECT,
                0x02,
                0x0C,
                Kind::Auth.key_fid().to_be_bytes().to_vec(),
            ),
            false,
        ),
        2 => (
            Command::new(
                0x00,
                ins::SELECT,
                0x02,
                0x0C,
                fid::AUTH_PIN.to_be_bytes().to_vec(),
            ),
            false,
        ),
        3 => {
            let guess = format!("{:04}", rng.next_u32() % 10_000);
            let right = guess == PIN;
            (
                Command::new(0x00, ins::VERIFY, 0, 0x80, guess.into_bytes()),
                right,
            )
        }
        4 | 5 => (sign_command(), false),
        6 => (
            Command::new(0x80, ins::GET_STATE, 0, 0, vec![]).with_le(0),
            false,
        ),
        _ => {
            let mut raw = vec![0u8; 4 + (rng.next_u32() % 12) as usize];
            rng.fill_bytes(&mut raw);
            (
                Command::new(raw[0], raw[1], raw[2], raw[3], raw[4..].to_vec()),
                false,
            )
        }
    }
}

/// One malicious-app run of `steps` random moves.
pub fn app_run(seed: u64, steps: u32, report: &mut Report) -> Result<(), String> {
    let mut b = personalised(seed)?;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0xA9);
    let windows = secret_windows(&b.se_keys());
    let mut granted: BTreeSet<[u8; 32]> = BTreeSet::from([GENUINE]);
    // (app, channel) -> PIN verified by that app on that channel.
    let mut verified: BTreeMap<([u8; 32], u8), bool> = BTreeMap::new();
    let finding = |report: &mut Report, what: String| {
        report.findings.push(format!("app seed {seed}: {what}"))
    };
    for _ in 0..steps {
        let app = if rng.next_u32() % 3 == 0 {
            GENUINE
        } else {
            EVIL
        };
        match rng.next_u32() % 10 {
            0 => {
                let allow = rng.next_u32() % 2 == 0;
                set_rule(&mut b, app, allow)?;
                if allow {
                    granted.insert(app);
                } else {
                    granted.remove(&app);
                    verified.retain(|(a, _), _| *a != app);
                }
            }
            1 => {
                if let Ok(ch) = b.se.open_channel(app, &JPKI_AID) {
                    if !granted.contains(&app) {
                        finding(report, "a channel opened without an access rule".into());
                    }
                    verified.insert((app, ch.0), false);
                }
            }
            2 => {
                let ch = (rng.next_u32() % 5) as u8;
                if b.se.close_channel(app, ChannelId(ch)).is_ok() {
                    verified.remove(&(app, ch));
                }
            }
            3 | 4 if app == GENUINE => {
                // The genuine app as it works: a channel, the PIN verified, the key selected.
                let Ok(ch) = b.se.open_channel(GENUINE, &JPKI_AID) else {
                    continue;
                };
                verified.insert((GENUINE, ch.0), false);
                let pin_ef = Kind::Auth.pin_fid().to_be_bytes().to_vec();
                let key_ef = Kind::Auth.key_fid().to_be_bytes().to_vec();
                let script = [
                    Command::new(0x00, ins::SELECT, 0x04, 0x0C, JPKI_AID.to_vec()),
                    Command::new(0x00, ins::SELECT, 0x02, 0x0C, pin_ef),
                    Command::new(0x00, ins::VERIFY, 0, 0x80, PIN.as_bytes().to_vec()),
                    Command::new(0x00, ins::SELECT, 0x02, 0x0C, key_ef),
                ];
                let mut all_ok = true;
                for cmd in script {
                    report.app_apdus += 1;
                    let raw = b.se.transmit(GENUINE, ch, &cmd.to_bytes());
                    all_ok &= Response::parse(&raw).is_ok_and(|r| r.sw.is_ok());
                }
                verified.insert((GENUINE, ch.0), all_ok);
            }
            _ => {
                // Any channel number: its own, another app's (stolen) or none.
                let ch = (rng.next_u32() % 5) as u8;
                let (cmd, right_pin) = if app == GENUINE {
                    (sign_command(), false)
                } else {
                    apdu(&mut rng)
                };
                report.app_apdus += 1;
                let raw = b.se.transmit(app, ChannelId(ch), &cmd.to_bytes());
                if leaks(&raw, &windows) {
                    finding(report, "private key bytes in an answer to an app".into());
                }
                let ok = Response::parse(&raw).is_ok_and(|r| r.sw.is_ok());
                if ok && cmd.ins == ins::VERIFY && right_pin {
                    if let Some(v) = verified.get_mut(&(app, ch)) {
                        *v = true;
                    }
                }
                let allowed = granted.contains(&app) && verified.get(&(app, ch)) == Some(&true);
                if ok && cmd.ins == ins::COMPUTE_SIGNATURE && cmd.cla == 0x80 && !allowed {
                    let who = if app == GENUINE {
                        "the genuine app"
                    } else {
                        "the malicious app"
                    };
                    finding(
                        report,
                        format!(
                            "{who} signed on channel {ch} without its own verified PIN and grant"
                        ),
                    );
                }
            }
        }
    }
    report.runs += 1;
    Ok(())
}
