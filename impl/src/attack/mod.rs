//! An attacker harness (issue 16; THREAT-SKIM, THREAT-FAKE-APP): a network attacker between
//! the TSMs and the SE ([`wire`]) and a malicious app on the phone ([`app`]), driven by
//! seeded random campaigns that check, after every step, the invariants that matter:
//!
//! - no certificate over a key that was not generated in the SE (R-KEYGEN, INV-KEY-IN-SE);
//! - no use of a key without its PIN on the caller's own channel, and none after the
//!   caller's access rule is removed (R-ACL);
//! - a secure channel session ends after any refusal of a secured command (R-SCP03);
//! - no private key bytes in anything that leaves the SE (INV-KEY-IN-SE);
//! - what a TSM reports done is done in the SE (written certificate, deletion).
//!
//! Compiled for tests and with the `attack` feature (`scripts/attack` runs a long campaign).

pub mod app;
pub mod wire;

#[cfg(test)]
mod tests;

use crate::applet::AppletConfig;
use crate::ca::{Ca, CertKind, LogicalTime, PersonId, PhoneId, RevocationCause};
use crate::card::MyNumberCard;
use crate::crypto::SeededKeyPool;
use crate::push::PushService;
use crate::se::{KeyGen, SeConfig, SecureElement};
use crate::tsm::sei::SeiTsm;
use crate::tsm::sp::{Application, Purpose, SignedApplication, SpTsm};
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PrivateKeyParts;
use rsa::RsaPrivateKey;
use std::collections::BTreeMap;
use wire::{Move, NetAttacker, Tapped};

/// Key seeds shared by every run (keys are cached per process).
const CA_SEED: u64 = 0x00A7_7AC0;
const CARD_SEED: u64 = 0x00A7_7AC1;
const SE_SEED: u64 = 0x00A7_7AC2;
const ATTACKER_SEED: u64 = 0x00A7_7AC3;
const PASSWORD: &str = "ATTACK1";
/// The genuine app's signing-certificate hash.
pub const GENUINE: [u8; 32] = [0x61; 32];

/// One person, one card, one phone's SE, both TSMs.
pub struct Bench {
    pub ca: Ca,
    pub card: MyNumberCard,
    pub se: SecureElement,
    pub sei: SeiTsm,
    pub sp: SpTsm,
    pub push: PushService,
    pub now: LogicalTime,
    pub phone: PhoneId,
    pub person: PersonId,
    rng: ChaCha20Rng,
}

impl Bench {
    /// A fresh bench; the TSMs' SCP03 keys and challenges come from `seed`.
    pub fn new(seed: u64) -> Result<Bench, String> {
        let now = LogicalTime::BASE;
        let mut ca = Ca::new(&mut SeededKeyPool::new(CA_SEED), now).map_err(|e| e.to_string())?;
        let person = PersonId(0);
        let mut card =
            MyNumberCard::new(person, &mut SeededKeyPool::new(CARD_SEED), PASSWORD, "1234")
                .map_err(|e| e.to_string())?;
        card.enrol(&mut ca, now).map_err(|e| e.to_string())?;
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let isd = crate::tsm::derive_keyset(&mut rng, 0x30);
        let apsd = crate::tsm::derive_keyset(&mut rng, 0x31);
        let se = SecureElement::new(
            SeConfig::new(isd.clone(), apsd.clone(), [0x5E; 10]),
            KeyGen::seeded(SE_SEED),
        )
        .map_err(|e| e.to_string())?;
        let phone = PhoneId(0);
        let mut sei = SeiTsm::new(ChaCha20Rng::seed_from_u64(rng.next_u64()));
        sei.register_phone(phone, isd);
        let mut sp = SpTsm::new(ChaCha20Rng::seed_from_u64(rng.next_u64()));
        sp.register_phone(phone, apsd);
        Ok(Bench {
            ca,
            card,
            se,
            sei,
            sp,
            push: PushService::new(),
            now,
            phone,
            person,
            rng,
        })
    }

    /// A card-signed application for `purpose` and `kind`.
    pub fn signed(
        &mut self,
        purpose: Purpose,
        kind: CertKind,
    ) -> Result<SignedApplication, String> {
        let application = Application {
            purpose,
            person: self.person,
            phone: (purpose != Purpose::Revoke).then_some(self.phone),
            kind,
            nonce: self.rng.next_u64(),
        };
        let signature = self
            .card
            .sign_application(PASSWORD, &application.encode())
            .map_err(|e| e.to_string())?;
        let card_cert_der = self
            .card
            .certificate()
            .ok_or("no card certificate")?
            .to_vec();
        Ok(SignedApplication {
            application,
            signature,
            card_cert_der,
        })
    }

    /// The private keys the SE has generated so far.
    pub fn se_keys(&self) -> Vec<RsaPrivateKey> {
        let KeyGen::Seeded { seed, next } = self.se.key_gen() else {
            return Vec::new();
        };
        (0..*next)
            .filter_map(|i| SeededKeyPool::key(*seed, i).ok())
            .collect()
    }
}

/// The attacker's own key pair (the one it tries to get certified).
pub fn attacker_key() -> RsaPrivateKey {
    SeededKeyPool::key(ATTACKER_SEED, 0).expect("attacker key")
}

/// 16-byte windows of each key's private exponent and primes: none may appear outside.
pub fn secret_windows(keys: &[RsaPrivateKey]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for k in keys {
        out.push(k.d().to_bytes_be());
        out.extend(k.primes().iter().map(|p| p.to_bytes_be()));
    }
    out.into_iter()
        .flat_map(|s| {
            s.chunks(16)
                .filter(|c| c.len() == 16)
                .map(<[u8]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `bytes` contains any of `windows`.
pub fn leaks(bytes: &[u8], windows: &[Vec<u8>]) -> bool {
    windows
        .iter()
        .any(|w| bytes.windows(16).any(|b| b == w.as_slice()))
}

/// Figures and findings of a campaign.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Runs (fresh benches).
    pub runs: u64,
    /// TSM operations attempted over the attacked wire.
    pub operations: u64,
    /// Commands the TSMs sent over the wire.
    pub wire_commands: u64,
    /// What the network attacker did, per move.
    pub moves: BTreeMap<Move, u64>,
    /// APDUs the malicious apps sent.
    pub app_apdus: u64,
    /// Certificates issued.
    pub certificates: u64,
    /// Invariant violations, each with its run's seed.
    pub findings: Vec<String>,
}

/// One network campaign run: issuance, revocation with deletion and key rotation, each TSM
/// operation over the attacked wire and retried up to three times.
/// `rate`: the percentage of messages attacked at random, or `None` for the downgrade
/// attack alone ([`NetAttacker::downgrade_only`]).
pub fn network_run(seed: u64, rate: Option<u32>, report: &mut Report) -> Result<(), String> {
    let mut b = Bench::new(seed)?;
    let own = attacker_key()
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| e.to_string())?;
    let own = own.as_bytes().to_vec();
    let mut attacker = match rate {
        Some(rate) => NetAttacker::new(seed ^ 0xA77A, rate, own),
        None => NetAttacker::downgrade_only(seed ^ 0xA77A, own),
    };
    let mut seen = Vec::new();
    let kind = if seed.is_multiple_of(2) {
        CertKind::Auth
    } else {
        CertKind::Sign
    };
    let (phone, slot) = (b.phone, crate::tsm::sp::applet_kind(kind));
    let finding =
        |report: &mut Report, what: String| report.findings.push(format!("seed {seed}: {what}"));
    let signed = b.signed(Purpose::Issue, kind)?;
    b.sp.apply(&b.ca, phone, &signed, b.now)
        .map_err(|e| e.to_string())?;
    macro_rules! wire {
        () => {
            &mut Tapped {
                se: &mut b.se,
                attacker: &mut attacker,
                seen: &mut seen,
            }
        };
    }
    for step in 0..8u32 {
        for _ in 0..3 {
            report.operations += 1;
            let ok = match step {
                0 => {
                    let config = AppletConfig::default();
                    b.sei
                        .install_applet(wire!(), phone, config, GENUINE)
                        .is_ok()
                }
                1 => b.sp.generate_key(wire!(), phone).is_ok(),
                2 => b.sp.ca_issue(&mut b.ca, &mut b.push, phone, b.now).is_ok(),
                3 => {
                    let r = b.sp.write_cert(&b.ca, wire!(), phone);
                    if r.is_ok() && b.se.slot(slot).and_then(|v| v.cert_serial).is_none() {
                        let what = "write_cert reported done, no certificate in the SE";
                        finding(report, what.into());
                    }
                    r.is_ok()
                }
                4 => b.sei.rotate_keys(wire!(), phone).is_ok(),
                5 => {
                    let Some(live) = b.ca.live_phone_cert(b.person, kind).map(|r| r.serial) else {
                        break;
                    };
                    let cause = RevocationCause::UserRequestFromPhone;
                    b.ca.revoke_phone_cert(live, cause, b.now).is_ok()
                }
                6 => {
                    let serial =
                        b.ca.certificates_of(b.person)
                            .iter()
                            .rev()
                            .find_map(|r| r.phone_kind().map(|_| r.serial));
                    let Some(serial) = serial else { break };
                    let r = b.sp.delete_by_serial(wire!(), phone, kind, serial);
                    let held = b.se.slot(slot).and_then(|v| v.cert_serial);
                    let held = held.and_then(|s| crate::tsm::sp::serial_from_bytes(&s));
                    if r.is_ok() && held == Some(serial) {
                        let what =
                            format!("deletion of {serial} reported {r:?}, the SE still holds it");
                        finding(report, what);
                    }
                    r.is_ok()
                }
                _ => b.sp.rotate_keys(wire!(), phone).is_ok(),
            };
            if ok {
                break;
            }
        }
    }
    // No certificate over a key that was not generated in the SE.
    let se_keys: Vec<_> = b.se_keys().iter().map(|k| k.to_public_key()).collect();
    for r in b.ca.certificates_of(b.person) {
        if r.phone_kind().is_none() {
            continue;
        }
        report.certificates += 1;
        let cert =
            <x509_cert::Certificate as der::Decode>::from_der(&r.der).map_err(|e| e.to_string())?;
        let spki = crate::ca::cert::public_key_of(&cert).map_err(|e| e.to_string())?;
        if !se_keys.contains(&spki) {
            finding(
                report,
                format!(
                    "certificate {} over a key not generated in the SE",
                    r.serial
                ),
            );
        }
    }
    let windows = secret_windows(&b.se_keys());
    if seen.iter().any(|a| leaks(a, &windows)) {
        finding(report, "private key bytes on the wire".into());
    }
    for v in attacker.open_after_tamper.drain(..) {
        finding(report, v);
    }
    report.runs += 1;
    report.wire_commands += seen.len() as u64;
    for (m, n) in &attacker.moves {
        *report.moves.entry(*m).or_default() += n;
    }
    Ok(())
}
