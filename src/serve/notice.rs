//! What the TCP server reports about load — connections it closed or
//! refused, accepts that failed — gathered and handed to the caller at most
//! once a second: under a flood, a line per event would be a flood of its own.

use std::fmt;
use std::io;
use std::time::{Duration, Instant};

/// The server's load over a stretch of time (at most about a second).
#[derive(Debug)]
pub struct LoadNotice {
    /// Connections open when the notice was made.
    pub open: usize,
    /// The cap on open connections.
    pub max: usize,
    /// The time the counts cover.
    pub period: Duration,
    /// Connections waiting for a request that were closed to admit new ones.
    pub evicted: u64,
    /// New connections refused with 503 because every open one was busy.
    pub refused: u64,
    /// Failed accepts (out of descriptors, say): the server waited and went on.
    pub accept_failures: u64,
    /// The last accept error, if any.
    pub last_error: Option<io::Error>,
}

impl fmt::Display for LoadNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.evicted > 0 {
            parts.push(format!(
                "closed {} waiting connections to admit new ones",
                self.evicted
            ));
        }
        if self.refused > 0 {
            parts.push(format!("refused {} with 503 (all busy)", self.refused));
        }
        if self.accept_failures > 0 {
            let last = self
                .last_error
                .as_ref()
                .map(|e| format!(" (last: {e})"))
                .unwrap_or_default();
            parts.push(format!(
                "{} accepts failed{last}; retrying",
                self.accept_failures
            ));
        }
        write!(
            f,
            "under load, {} of {} connections open: in {:.1} s, {}",
            self.open,
            self.max,
            self.period.as_secs_f64(),
            parts.join(", ")
        )
    }
}

/// Counts load events and makes a [`LoadNotice`] of them when one is due.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    evicted: u64,
    refused: u64,
    accept_failures: u64,
    last_error: Option<io::Error>,
    /// When the current count began.
    since: Option<Instant>,
    /// When the last notice was made.
    last_notice: Option<Instant>,
}

/// The least time between two notices.
const NOTICE_INTERVAL: Duration = Duration::from_secs(1);

impl Tally {
    fn begin(&mut self) {
        self.since.get_or_insert_with(Instant::now);
    }

    /// A waiting connection was closed to admit a new one.
    pub fn evicted(&mut self) {
        self.begin();
        self.evicted += 1;
    }

    /// A new connection was refused.
    pub fn refused(&mut self) {
        self.begin();
        self.refused += 1;
    }

    /// An accept failed with `error`.
    pub fn accept_failed(&mut self, error: io::Error) {
        self.begin();
        self.accept_failures += 1;
        self.last_error = Some(error);
    }

    /// A notice of what was counted, if anything was and the last notice is
    /// old enough (or `now_anyway`, at the end); the count starts again.
    pub fn notice(&mut self, open: usize, max: usize, now_anyway: bool) -> Option<LoadNotice> {
        let since = self.since?;
        let due = self
            .last_notice
            .is_none_or(|last| last.elapsed() >= NOTICE_INTERVAL);
        if !due && !now_anyway {
            return None;
        }
        self.last_notice = Some(Instant::now());
        let taken = std::mem::take(self);
        self.last_notice = taken.last_notice;
        Some(LoadNotice {
            open,
            max,
            period: since.elapsed(),
            evicted: taken.evicted,
            refused: taken.refused,
            accept_failures: taken.accept_failures,
            last_error: taken.last_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_first_event_is_told_at_once_then_at_most_once_a_second() {
        let mut tally = Tally::default();
        assert!(tally.notice(0, 4, false).is_none(), "nothing to tell");
        tally.evicted();
        let first = tally.notice(4, 4, false).expect("first notice at once");
        assert_eq!(
            (first.evicted, first.refused, first.accept_failures),
            (1, 0, 0)
        );
        tally.refused();
        tally.accept_failed(io::Error::from_raw_os_error(24));
        tally.accept_failed(io::Error::from_raw_os_error(24));
        assert!(tally.notice(4, 4, false).is_none(), "too soon");
        let mut last = tally.notice(3, 4, true).expect("at the end");
        last.period = Duration::from_millis(200);
        assert_eq!(
            last.to_string(),
            "under load, 3 of 4 connections open: in 0.2 s, refused 1 with 503 (all busy), \
             2 accepts failed (last: Too many open files (os error 24)); retrying"
        );
        assert!(tally.notice(3, 4, true).is_none(), "counts start again");
    }
}
