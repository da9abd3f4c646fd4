//! User-space guardrails and accounting: delivered / dropped / filtered counters, the
//! max-events and max-bytes limits, and the Stats that close:
//! `events + lost + sampled_out + rate_limited + dropped + aggregated == generated`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ktui_wire::Stats;

use crate::probes::load::KernelCounters;

/// Counted in user space (shared between the reader thread and whoever reports stats).
#[derive(Debug, Default)]
pub struct UserCounters {
    /// Records handed to the writer.
    pub delivered: AtomicU64,
    /// Records not handed over: writer too slow (backpressure), a limit hit, or undecodable.
    pub dropped: AtomicU64,
    /// Records the kernel generated but a user-space filter (pod UIDs) rejected: they are
    /// taken out of `generated`, as if the kernel filter had rejected them.
    pub filtered: AtomicU64,
    /// Events the kernel folded (counted `aggregated` there) whose count line was dropped in
    /// user space: moved from `aggregated` to `dropped`.
    pub folded_dropped: AtomicU64,
    /// Folded events whose count line a user-space filter (pod UIDs) rejected: taken out of
    /// `aggregated` and `generated`.
    pub folded_filtered: AtomicU64,
    /// A max-events/max-bytes limit was reached.
    pub limit_reached: AtomicBool,
}

impl UserCounters {
    pub fn add_delivered(&self, n: u64) {
        self.delivered.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_filtered(&self, n: u64) {
        self.filtered.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_folded_dropped(&self, n: u64) {
        self.folded_dropped.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_folded_filtered(&self, n: u64) {
        self.folded_filtered.fetch_add(n, Ordering::Relaxed);
    }
}

/// The wire Stats from kernel and user counters.
pub fn stats(kernel: KernelCounters, user: &UserCounters) -> Stats {
    let folded_dropped = user.folded_dropped.load(Ordering::Relaxed);
    let folded_filtered = user.folded_filtered.load(Ordering::Relaxed);
    Stats {
        events: user.delivered.load(Ordering::Relaxed),
        lost: kernel.lost,
        sampled_out: kernel.sampled_out,
        rate_limited: kernel.rate_limited,
        dropped: user.dropped.load(Ordering::Relaxed) + folded_dropped,
        // The kernel counts an event as generated or as aggregated, never both.
        generated: (kernel.generated + kernel.aggregated)
            .saturating_sub(user.filtered.load(Ordering::Relaxed) + folded_filtered),
        aggregated: kernel
            .aggregated
            .saturating_sub(folded_dropped + folded_filtered),
    }
}

/// Filters and limits applied in user space (what eBPF cannot know).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Only events attributed to these pods (empty = all).
    pub pod_uids: HashSet<String>,
    pub max_events: Option<u64>,
    pub max_bytes: Option<u64>,
    /// Leave `sec` out of events (`--no-sec`).
    pub no_sec: bool,
}

impl UserFilter {
    pub fn accepts_pod(&self, pod_uid: Option<&str>) -> bool {
        self.pod_uids.is_empty() || pod_uid.is_some_and(|u| self.pod_uids.contains(u))
    }
}

/// Running totals against max-events / max-bytes.
#[derive(Debug, Clone, Default)]
pub struct Limits {
    pub max_events: Option<u64>,
    pub max_bytes: Option<u64>,
    events: u64,
    bytes: u64,
}

impl Limits {
    pub fn new(max_events: Option<u64>, max_bytes: Option<u64>) -> Self {
        Self {
            max_events,
            max_bytes,
            events: 0,
            bytes: 0,
        }
    }

    /// Whether `count` more events of `bytes` may go out; counts them if so.
    pub fn admit(&mut self, count: u64, bytes: u64) -> bool {
        if self
            .max_events
            .is_some_and(|m| self.events.saturating_add(count) > m)
            || self
                .max_bytes
                .is_some_and(|m| self.bytes.saturating_add(bytes) > m)
        {
            return false;
        }
        self.events += count;
        self.bytes += bytes;
        true
    }

    /// Nothing more can go out.
    pub fn exhausted(&self) -> bool {
        self.max_events.is_some_and(|m| self.events >= m)
            || self.max_bytes.is_some_and(|m| self.bytes >= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_close() {
        let user = UserCounters::default();
        user.add_delivered(10);
        user.add_dropped(3);
        user.add_filtered(2);
        // 12 folded in the kernel: 2 of them in a count line that was dropped, 1 in one
        // a pod filter rejected.
        user.add_folded_dropped(2);
        user.add_folded_filtered(1);
        let k = KernelCounters {
            generated: 20,
            sampled_out: 4,
            rate_limited: 0,
            lost: 1,
            aggregated: 12,
        };
        let s = stats(k, &user);
        assert_eq!(s.aggregated, 9);
        assert_eq!(s.dropped, 5);
        assert_eq!(
            s.events + s.lost + s.sampled_out + s.rate_limited + s.dropped + s.aggregated,
            s.generated
        );
    }

    #[test]
    fn limits() {
        let mut l = Limits::new(Some(2), None);
        assert!(l.admit(1, 100));
        assert!(l.admit(1, 100));
        assert!(!l.admit(1, 100));
        assert!(l.exhausted());
        let mut b = Limits::new(None, Some(150));
        assert!(b.admit(1, 100));
        assert!(!b.admit(1, 100));
        assert!(!b.exhausted());
        let f = UserFilter {
            pod_uids: HashSet::from(["a".to_string()]),
            ..Default::default()
        };
        assert!(f.accepts_pod(Some("a")));
        assert!(!f.accepts_pod(None));
        assert!(UserFilter::default().accepts_pod(None));
    }
}
