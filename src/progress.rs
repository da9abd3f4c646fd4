//! Progress of long work on stderr, for the commands: a bar redrawn in place on a terminal,
//! plain lines (every 10 %) otherwise, so a log file reads well.

use std::io::{IsTerminal as _, Write as _};

use crate::case::error::human_bytes;

/// Reports (done, total) bytes of one piece of work named `what`.
pub struct StderrProgress {
    what: String,
    tty: bool,
    /// The last tenth said (plain lines), or the last percent drawn (bar).
    last: Option<u64>,
}

impl StderrProgress {
    pub fn new(what: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            tty: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Bytes done of a total not known in advance (a live snapshot): the count, redrawn on a
    /// terminal at most once per MiB, a line per 64 MiB otherwise.
    pub fn bytes(&mut self, done: u64) {
        let step = if self.tty { 1 << 20 } else { 64 << 20 };
        let mark = done / step;
        if self.last == Some(mark) {
            return;
        }
        self.last = Some(mark);
        let line = format!(
            "{}: {}",
            crate::sanitize::line(&self.what),
            human_bytes(done)
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
    }

    /// Bytes done, of `total` when it is known.
    pub fn report(&mut self, done: u64, total: Option<u64>) {
        match total {
            Some(t) => self.update(done, t),
            None => self.bytes(done),
        }
    }

    pub fn update(&mut self, done: u64, total: u64) {
        let percent = (done.saturating_mul(100)).checked_div(total).unwrap_or(100);
        let line = format!(
            "{}: {} of {} ({percent}%)",
            crate::sanitize::line(&self.what),
            human_bytes(done),
            human_bytes(total)
        );
        let mut err = std::io::stderr().lock();
        if self.tty {
            if self.last == Some(percent) {
                return;
            }
            self.last = Some(percent);
            let width = 30;
            let filled = usize::try_from(percent * width / 100).unwrap_or(0);
            let _ = write!(
                err,
                "\r\x1b[2K[{}{}] {line}",
                "#".repeat(filled),
                " ".repeat(30 - filled.min(30))
            );
            if done >= total {
                let _ = writeln!(err);
            }
        } else {
            let tenth = percent / 10;
            if self.last.is_some_and(|t| t >= tenth) {
                return;
            }
            self.last = Some(tenth);
            let _ = writeln!(err, "{line}");
        }
    }
}
