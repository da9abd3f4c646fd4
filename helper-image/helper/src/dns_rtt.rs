//! DNS round trips: each answer paired with the query it answers (same socket tuple seen from
//! the same side, transaction id, question), giving the answer's `rtt_us`. Works from either
//! end: a client's query goes out and its answer comes in on one local port; a server's
//! query comes in and its answer goes out. Bounded: queries wait at most [`MAX_WAIT`], and at
//! most [`MAX_PENDING`] at once (the oldest give way).

use std::collections::{HashMap, VecDeque};

use ktui_wire::DnsInfo;

use crate::events::layout::KtuiEvent;

/// Queries remembered at once.
pub const MAX_PENDING: usize = 65_536;
/// A query unanswered for this long is forgotten (resolvers give up well before).
pub const MAX_WAIT_NS: u64 = 30_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    netns: u32,
    proto: u16,
    local: ([u8; 16], u16),
    remote: ([u8; 16], u16),
    id: u16,
    qtype: Option<u16>,
    qname: Option<String>,
}

#[derive(Debug, Default)]
pub struct RoundTrips {
    /// Query → when it was seen (CLOCK_MONOTONIC ns).
    pending: HashMap<Key, u64>,
    order: VecDeque<(u64, Key)>,
}

impl RoundTrips {
    /// Note a DNS record; for an answer to a remembered query, its round trip in µs.
    pub fn observe(&mut self, e: &KtuiEvent, info: &DnsInfo) -> Option<u64> {
        let id = info.id?;
        let key = Key {
            netns: e.netns,
            proto: e.proto,
            local: (e.saddr, e.sport),
            remote: (e.daddr, e.dport),
            id,
            qtype: info.qtype,
            qname: info.qname.as_ref().map(|n| n.to_ascii_lowercase()),
        };
        self.expire(e.ts_ns);
        if info.rcode.is_none() {
            // A retransmission keeps the first time: the wait the application saw.
            if !self.pending.contains_key(&key) {
                while self.pending.len() >= MAX_PENDING {
                    let Some((_, old)) = self.order.pop_front() else {
                        break;
                    };
                    self.pending.remove(&old);
                }
                self.pending.insert(key.clone(), e.ts_ns);
                self.order.push_back((e.ts_ns, key));
            }
            return None;
        }
        let asked = self.pending.remove(&key)?;
        Some(e.ts_ns.saturating_sub(asked) / 1000)
    }

    /// Forget queries waiting longer than [`MAX_WAIT_NS`], and the order's entries of
    /// queries already answered (the order never grows past twice the pending bound).
    fn expire(&mut self, now: u64) {
        while let Some((at, k)) = self.order.front() {
            let live = self.pending.get(k) == Some(at);
            if live && now.saturating_sub(*at) <= MAX_WAIT_NS {
                break;
            }
            if let Some((_, k)) = self.order.pop_front()
                && live
            {
                self.pending.remove(&k);
            }
        }
        if self.order.len() > 2 * MAX_PENDING {
            let pending = &self.pending;
            self.order.retain(|(at, k)| pending.get(k) == Some(at));
        }
    }

    /// Queries still waiting for an answer.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns;

    fn ev(ts_ms: u64, sport: u16, dport: u16) -> KtuiEvent {
        KtuiEvent {
            ts_ns: ts_ms * 1_000_000,
            netns: 7,
            proto: 17,
            sport,
            dport,
            ..Default::default()
        }
    }

    fn answer(q: &[u8]) -> Vec<u8> {
        let mut a = q.to_vec();
        a[2] |= 0x80;
        a
    }

    #[test]
    fn an_answer_gets_the_time_since_its_query() {
        let mut rt = RoundTrips::default();
        let q = dns::build_query(77, "Example.test", 1);
        assert_eq!(rt.observe(&ev(1000, 40000, 53), &dns::parse(&q)), None);
        // Another id, another port: not the same exchange.
        let other = dns::build_query(78, "example.test", 1);
        assert_eq!(
            rt.observe(&ev(1001, 40000, 53), &dns::parse(&answer(&other))),
            None
        );
        assert_eq!(
            rt.observe(&ev(1002, 40001, 53), &dns::parse(&answer(&q))),
            None
        );
        // A retransmission keeps the first time; names compare case-insensitively.
        assert_eq!(rt.observe(&ev(1020, 40000, 53), &dns::parse(&q)), None);
        let a = dns::build_query(77, "example.TEST", 1);
        assert_eq!(
            rt.observe(&ev(1050, 40000, 53), &dns::parse(&answer(&a))),
            Some(50_000)
        );
        // Answered once: a duplicate answer has nothing to pair with.
        assert_eq!(
            rt.observe(&ev(1060, 40000, 53), &dns::parse(&answer(&a))),
            None
        );
        assert_eq!(rt.pending(), 0);
    }

    #[test]
    fn unanswered_queries_are_forgotten_after_the_wait_and_bounded() {
        let mut rt = RoundTrips::default();
        let q = dns::build_query(1, "a.test", 1);
        rt.observe(&ev(0, 1, 53), &dns::parse(&q));
        assert_eq!(rt.pending(), 1);
        let later = dns::build_query(2, "b.test", 1);
        rt.observe(&ev(MAX_WAIT_NS / 1_000_000 + 1, 2, 53), &dns::parse(&later));
        assert_eq!(rt.pending(), 1, "the first query expired");
        for i in 0..MAX_PENDING + 10 {
            let q = dns::build_query((i % 65_536) as u16, "c.test", 1);
            let port = 3 + (i / 65_536) as u16;
            rt.observe(&ev(MAX_WAIT_NS / 1_000_000 + 2, port, 53), &dns::parse(&q));
        }
        assert_eq!(rt.pending(), MAX_PENDING, "the oldest gave way");
    }
}
