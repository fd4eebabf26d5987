//! Progress on one updating line of standard error, shown only when it is a terminal (a log
//! file gets no carriage returns).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// One line, rewritten in place at most every 200 ms.
pub struct Line {
    label: &'static str,
    on: bool,
    shown: bool,
    last: Option<Instant>,
}

impl Line {
    pub fn new(label: &'static str) -> Line {
        Line {
            label,
            on: std::io::stderr().is_terminal(),
            shown: false,
            last: None,
        }
    }

    /// Rewrite the line with `text`.
    pub fn show(&mut self, text: &str) {
        if !self.on
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(Instant::now());
        self.shown = true;
        let mut e = std::io::stderr();
        let _ = write!(e, "\r\x1b[K{}: {text}", self.label);
        let _ = e.flush();
    }

    /// End the line (clear it) so that what follows starts clean.
    pub fn done(&mut self) {
        if self.shown {
            let mut e = std::io::stderr();
            let _ = write!(e, "\r\x1b[K");
            let _ = e.flush();
        }
        self.shown = false;
    }
}
