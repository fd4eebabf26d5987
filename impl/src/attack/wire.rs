//! The network attacker between a TSM and the SE (THREAT-SKIM): reads every message, and
//! at random drops, replays, reorders, alters any byte of, truncates or extends commands,
//! and alters, strips (R-MAC), forges, replays or downgrades (i-parameter) answers, or
//! substitutes its own public key in a GENERATE KEY PAIR answer. [`Tapped`] puts it on the
//! wire ([`TsmWire`]) and checks, after every command the SE received that the TSM did not
//! send as such, that the SE's secure channel session is closed.

use crate::apdu::Command;
use crate::scp03::{INS_INITIALIZE_UPDATE, I_R_ENC, I_R_MAC};
use crate::se::{SdId, SecureElement};
use crate::tsm::TsmWire;
use rand_chacha::rand_core::RngCore;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;

/// What the attacker did to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Move {
    /// Passed unchanged.
    Pass,
    /// Command dropped, a forged bare status word answered.
    Drop,
    /// An earlier recorded command delivered instead.
    Replay,
    /// The command delivered, then again.
    Duplicate,
    /// Held back, delivered before the next command (a forged status word answered now).
    Reorder,
    /// One bit of the command flipped.
    FlipCommand,
    /// The command cut short or extended by a byte.
    Resize,
    /// The i-parameter of an INITIALIZE UPDATE answer stripped of R-MAC and R-ENCRYPTION.
    Downgrade,
    /// One bit of the answer flipped.
    FlipAnswer,
    /// The 8 bytes before the status word (the R-MAC) removed.
    StripMac,
    /// The answer replaced by a bare status word.
    ForgeStatus,
    /// An earlier recorded answer returned instead.
    ReplayAnswer,
    /// A GENERATE KEY PAIR answer replaced by the attacker's key (with and without a fake
    /// R-MAC).
    SubstituteKey,
}

const FORGED: [[u8; 2]; 6] = [
    [0x90, 0x00],
    [0x6A, 0x88],
    [0x69, 0x82],
    [0x67, 0x00],
    [0x6A, 0x80],
    [0x6F, 0x00],
];

/// A seeded random attacker. `rate` in 0..=100: the percentage of messages attacked.
pub struct NetAttacker {
    rng: ChaCha20Rng,
    rate: u32,
    /// Per mille of INITIALIZE UPDATE answers downgraded.
    downgrade: u32,
    /// Percentage of GENERATE KEY PAIR answers replaced by the attacker's key.
    substitute: u32,
    /// The attacker's own public key (SubjectPublicKeyInfo DER) for key substitution.
    pub own_spki: Vec<u8>,
    commands: Vec<(SdId, Vec<u8>)>,
    answers: Vec<Vec<u8>>,
    held: Option<(SdId, Vec<u8>)>,
    delivered: std::collections::BTreeSet<(SdId, Vec<u8>)>,
    /// How often each move was made.
    pub moves: BTreeMap<Move, u64>,
    /// Violations of "a refused secured command ends the session".
    pub open_after_tamper: Vec<String>,
}

impl NetAttacker {
    /// An attacker from `seed`, attacking `rate` percent of messages.
    pub fn new(seed: u64, rate: u32, own_spki: Vec<u8>) -> Self {
        NetAttacker {
            rng: rand_chacha::rand_core::SeedableRng::seed_from_u64(seed),
            rate,
            downgrade: rate.max(1) * 5,
            substitute: rate,
            own_spki,
            commands: Vec::new(),
            answers: Vec::new(),
            held: None,
            delivered: std::collections::BTreeSet::new(),
            moves: BTreeMap::new(),
            open_after_tamper: Vec::new(),
        }
    }

    /// The downgrade attack of issue 16 finding 1 alone: every command passes, every
    /// INITIALIZE UPDATE answer is downgraded and every GENERATE KEY PAIR answer carries the
    /// attacker's key.
    pub fn downgrade_only(seed: u64, own_spki: Vec<u8>) -> Self {
        NetAttacker {
            rate: 0,
            downgrade: 1000,
            substitute: 100,
            ..NetAttacker::new(seed, 0, own_spki)
        }
    }

    fn pick(&mut self, n: u32) -> u32 {
        self.rng.next_u32() % n
    }

    fn attacks(&mut self) -> bool {
        self.pick(100) < self.rate
    }

    fn count(&mut self, m: Move) {
        *self.moves.entry(m).or_default() += 1;
    }

    fn forged(&mut self) -> Vec<u8> {
        FORGED[self.pick(FORGED.len() as u32) as usize].to_vec()
    }

    /// Deliver `raw` to the SE. A command whose protected part (header and data: Le is
    /// outside SCP03's protection) differs from what the TSM sent (`sent`), or that repeats
    /// a command the SE already received, must be refused, and the refusal must end the
    /// session. A genuine command delivered late (held, dropped then replayed) may still be
    /// accepted: the SE never saw it, and its C-MAC chain decides.
    fn deliver(&mut self, se: &mut SecureElement, sd: SdId, raw: &[u8], sent: &[u8]) -> Vec<u8> {
        let repeat = !self.delivered.insert((sd, raw.to_vec()));
        let altered = !same_protected(raw, sent);
        let answer = se.transmit_tsm(sd, raw);
        let is_iu = raw.get(1) == Some(&INS_INITIALIZE_UPDATE);
        if (repeat || altered) && !is_iu && se.scp_level(sd).is_some() {
            self.open_after_tamper.push(format!(
                "{sd:?}: session open after {} answered {}",
                hex::encode(raw),
                hex::encode(&answer)
            ));
        }
        answer
    }

    fn command(&mut self, se: &mut SecureElement, sd: SdId, raw: &[u8]) -> Vec<u8> {
        if let Some((hsd, held)) = self.held.take() {
            self.deliver(se, hsd, &held.clone(), &held);
        }
        self.commands.push((sd, raw.to_vec()));
        if !self.attacks() {
            self.count(Move::Pass);
            return self.deliver(se, sd, raw, raw);
        }
        match self.pick(6) {
            0 => {
                self.count(Move::Drop);
                self.forged()
            }
            1 => {
                self.count(Move::Replay);
                let i = self.pick(self.commands.len() as u32) as usize;
                let (rsd, old) = self.commands[i].clone();
                self.deliver(se, rsd, &old, &old)
            }
            2 => {
                self.count(Move::Duplicate);
                let first = self.deliver(se, sd, raw, raw);
                self.deliver(se, sd, raw, raw);
                first
            }
            3 => {
                self.count(Move::Reorder);
                self.held = Some((sd, raw.to_vec()));
                self.forged()
            }
            4 => {
                self.count(Move::FlipCommand);
                let mut bad = raw.to_vec();
                let i = self.pick(bad.len().max(1) as u32) as usize;
                if let Some(b) = bad.get_mut(i) {
                    *b ^= 1 << self.pick(8);
                }
                self.deliver(se, sd, &bad, raw)
            }
            _ => {
                self.count(Move::Resize);
                let mut bad = raw.to_vec();
                if self.pick(2) == 0 && bad.len() > 1 {
                    bad.truncate(1 + self.pick(bad.len() as u32 - 1) as usize);
                } else {
                    bad.push(self.rng.next_u32() as u8);
                }
                self.deliver(se, sd, &bad, raw)
            }
        }
    }

    fn answer(&mut self, raw: &[u8], mut answer: Vec<u8>) -> Vec<u8> {
        self.answers.push(answer.clone());
        let is_iu = raw.get(1) == Some(&INS_INITIALIZE_UPDATE);
        let is_gen = raw.get(1) == Some(&crate::applet::ins::GENERATE_KEY_PAIR);
        if is_iu && answer.len() > 12 && self.pick(1000) < self.downgrade {
            self.count(Move::Downgrade);
            answer[12] &= !(I_R_MAC | I_R_ENC);
            return answer;
        }
        if is_gen && self.pick(100) < self.substitute {
            self.count(Move::SubstituteKey);
            let mut fake = self.own_spki.clone();
            if self.rate > 0 && self.pick(2) == 0 {
                fake.extend_from_slice(
                    &answer[answer.len().saturating_sub(10)..][..8.min(answer.len())],
                );
            }
            fake.extend_from_slice(&[0x90, 0x00]);
            return fake;
        }
        if !self.attacks() {
            return answer;
        }
        match self.pick(4) {
            0 => {
                self.count(Move::FlipAnswer);
                let i = self.pick(answer.len().max(1) as u32) as usize;
                if let Some(b) = answer.get_mut(i) {
                    *b ^= 1 << self.pick(8);
                }
                answer
            }
            1 if answer.len() >= 10 => {
                self.count(Move::StripMac);
                let sw = answer.split_off(answer.len() - 2);
                answer.truncate(answer.len() - 8);
                answer.extend(sw);
                answer
            }
            2 => {
                self.count(Move::ReplayAnswer);
                let i = self.pick(self.answers.len() as u32) as usize;
                self.answers[i].clone()
            }
            _ => {
                self.count(Move::ForgeStatus);
                self.forged()
            }
        }
    }
}

/// Whether two command APDUs agree in what SCP03 protects: class, instruction, P1, P2 and
/// data (two unparsable ones agree only byte for byte).
fn same_protected(a: &[u8], b: &[u8]) -> bool {
    match (Command::parse(a), Command::parse(b)) {
        (Ok(x), Ok(y)) => {
            (x.cla, x.ins, x.p1, x.p2, &x.data) == (y.cla, y.ins, y.p1, y.p2, &y.data)
        }
        _ => a == b,
    }
}

/// The SE seen through the attacker, with every answer that crossed the wire recorded.
pub struct Tapped<'a> {
    /// The SE.
    pub se: &'a mut SecureElement,
    /// The attacker.
    pub attacker: &'a mut NetAttacker,
    /// Every answer the TSM received (scanned for key bytes).
    pub seen: &'a mut Vec<Vec<u8>>,
}

impl TsmWire for Tapped<'_> {
    fn transmit_tsm(&mut self, sd: SdId, raw: &[u8]) -> Vec<u8> {
        let genuine_answer = self.attacker.command(self.se, sd, raw);
        self.seen.push(genuine_answer.clone());
        self.attacker.answer(raw, genuine_answer)
    }

    fn applet_installed(&self) -> bool {
        self.se.applet_installed()
    }
}
