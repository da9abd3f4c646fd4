//! The status line `--record` prints on stderr once a second: elapsed, crashes, events, drops,
//! bytes — redrawn in place with a bar (when the duration is known) on a terminal, one plain
//! line a second otherwise (a log file or a CI job reads every one).

use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

use crate::case::error::human_bytes;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub crashes: u64,
    pub events: u64,
    /// Lost, sampled out, rate limited or dropped (the helper's counters).
    pub drops: u64,
    pub bytes: u64,
}

pub struct StatusLine {
    tty: bool,
    drawn: bool,
}

impl Default for StatusLine {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusLine {
    pub fn new() -> Self {
        StatusLine {
            tty: std::io::stderr().is_terminal(),
            drawn: false,
        }
    }

    pub fn show(&mut self, elapsed: Duration, duration: Option<Duration>, c: Counts) {
        let text = line(elapsed, duration, c, self.tty);
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{text}");
            self.drawn = true;
        } else {
            let _ = writeln!(err, "{text}");
        }
    }

    /// End the line in place before other output (a terminal).
    pub fn end(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }

    /// A message on its own line (never mixed into the status line).
    pub fn say(&mut self, text: &str) {
        self.end();
        eprintln!("ktui record: {}", crate::sanitize::line(text));
    }
}

/// `ktui record 00:01:05 [=====     ] crashes 3 events 1200 drops 0 bytes 1.2 MiB`.
pub fn line(elapsed: Duration, duration: Option<Duration>, c: Counts, bar: bool) -> String {
    let s = elapsed.as_secs();
    let clock = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    let bar = match duration {
        Some(d) if bar && !d.is_zero() => {
            let filled = ((elapsed.as_secs_f64() / d.as_secs_f64()).min(1.0) * 20.0) as usize;
            format!(" [{}{}]", "=".repeat(filled), " ".repeat(20 - filled))
        }
        _ => String::new(),
    };
    format!(
        "ktui record {clock}{bar} crashes {} events {} drops {} bytes {}",
        c.crashes,
        c.events,
        c.drops,
        human_bytes(c.bytes)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_bar() {
        let c = Counts {
            crashes: 3,
            events: 1200,
            drops: 2,
            bytes: 2048,
        };
        let plain = line(
            Duration::from_secs(65),
            Some(Duration::from_secs(130)),
            c,
            false,
        );
        assert_eq!(
            plain,
            "ktui record 00:01:05 crashes 3 events 1200 drops 2 bytes 2 KiB"
        );
        let bar = line(
            Duration::from_secs(65),
            Some(Duration::from_secs(130)),
            c,
            true,
        );
        assert!(bar.contains("[==========          ]"), "{bar}");
    }
}
