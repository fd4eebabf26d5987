//! Random lockstep runs: sequences of model-offered actions, chosen by index into the offered
//! list sorted simple -> complex (`Action`'s order), so that a shrinker lowering indices
//! lands on simple actions and a short list of small numbers is a readable case.
//!
//! Failing cases are kept as JSON action lists (`checks/tests/regressions/*.json`) and
//! replayed with [`crate::lockstep::replay`].

use crate::lockstep::{Divergence, Lockstep, SetupError};
use phone_jpki_model::{Action, Config};
use std::time::Instant;

/// The offered actions of the current state, simple first.
pub fn offered_sorted(l: &Lockstep) -> Vec<Action> {
    let mut v = l.offered();
    v.sort();
    v
}

/// Drive from the initial state, at each step taking offered action `choice % len`; stops
/// early when nothing is offered. Returns the actions taken, or the divergence.
pub fn run_choices(base: &Lockstep, choices: &[usize]) -> Result<Vec<Action>, Box<Divergence>> {
    let mut l = base.clone();
    for &c in choices {
        let offered = offered_sorted(&l);
        if offered.is_empty() {
            break;
        }
        l.step(offered[c % offered.len()])?;
    }
    Ok(l.actions().to_vec())
}

/// SplitMix64: a tiny explicit-seed generator for the CLI's random runs.
#[derive(Clone, Debug)]
pub struct SplitMix(pub u64);

impl SplitMix {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Figures of a random run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RandomReport {
    /// Sequences run.
    pub sequences: usize,
    /// Actions run (each on both sides).
    pub actions: usize,
    /// Wall time.
    pub seconds: f64,
}

/// `sequences` random sequences of at most `max_len` actions from `seed`; the first
/// divergence is returned with the run's figures so far.
pub fn random_run(
    config: &Config,
    seed: u64,
    sequences: usize,
    max_len: usize,
) -> Result<(RandomReport, Option<Box<Divergence>>), SetupError> {
    let base = Lockstep::new(config, seed)?;
    let mut rng = SplitMix(seed);
    let start = Instant::now();
    let mut report = RandomReport::default();
    if let Err(d) = base.check_initial() {
        return Ok((report, Some(d)));
    }
    for _ in 0..sequences {
        let choices: Vec<usize> = (0..max_len).map(|_| rng.next_u64() as usize).collect();
        report.sequences += 1;
        match run_choices(&base, &choices) {
            Ok(done) => report.actions += done.len(),
            Err(d) => {
                report.actions += d.actions.len();
                report.seconds = start.elapsed().as_secs_f64();
                return Ok((report, Some(d)));
            }
        }
    }
    report.seconds = start.elapsed().as_secs_f64();
    Ok((report, None))
}
