//! Progress on one updating line of standard error: states, states per second, level, the
//! process's resident memory, and an estimate of the time left in the current level.

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Line {
    on: bool,
    last: Option<Instant>,
    shown: bool,
    /// The level being expanded and when its expansion started.
    level: Option<(usize, Instant)>,
}

/// Resident memory of this process in bytes (Linux `/proc/self/statm`; 0 elsewhere).
pub fn resident_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

impl Line {
    pub fn new(on: bool) -> Line {
        Line {
            on,
            last: None,
            shown: false,
            level: None,
        }
    }

    /// Redraw, at most twice a second: `done` of the level's `level_len` states expanded.
    pub fn show(
        &mut self,
        level: usize,
        states: usize,
        done: usize,
        level_len: usize,
        start: Instant,
    ) {
        if !self.due() {
            return;
        }
        let now = Instant::now();
        if self.level.is_none_or(|(l, _)| l != level) {
            self.level = Some((level, self.last.unwrap_or(start)));
        }
        let level_started = self.level.map_or(start, |(_, t)| t);
        self.last = Some(now);
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let rate = states as f64 / secs;
        let per_state = level_started.elapsed().as_secs_f64().max(1e-9) / done.max(1) as f64;
        let left = per_state * level_len.saturating_sub(done) as f64;
        let text = format!(
            "{states:>12} states  {rate:>10.0} states/s  level {level:>3} ({done}/{level_len})  {:.0} MiB  level done in ~{left:.0} s  {secs:.0} s",
            resident_bytes() as f64 / (1024.0 * 1024.0)
        );
        self.draw(&text);
    }

    /// Redraw, at most twice a second, during INV-NO-DEAD-END's analysis: `done` of the
    /// graph's `states` states gone through since `began`.
    pub fn analysis(&mut self, done: usize, states: usize, began: Instant) {
        if !self.due() {
            return;
        }
        self.last = Some(Instant::now());
        let per_state = began.elapsed().as_secs_f64() / done.max(1) as f64;
        let left = per_state * states.saturating_sub(done) as f64;
        let text = format!(
            "INV-NO-DEAD-END's analysis: {done:>12}/{states} states  {:.0} MiB  done in ~{left:.0} s  {:.0} s",
            resident_bytes() as f64 / (1024.0 * 1024.0),
            began.elapsed().as_secs_f64()
        );
        self.draw(&text);
    }

    /// Whether the line is on and was last drawn at least half a second ago.
    fn due(&self) -> bool {
        self.on
            && self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
    }

    /// Replace the line's text.
    fn draw(&mut self, text: &str) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{text}");
        let _ = err.flush();
        self.shown = true;
    }

    /// End the line (a newline once something was drawn).
    pub fn finish(&mut self) {
        if self.shown {
            eprintln!();
            self.shown = false;
        }
    }
}
