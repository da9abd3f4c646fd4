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
}

/// A query's question: type and name (lower-cased).
type Question = (Option<u16>, Option<String>);

/// Questions asked at once under one key (one socket, one id) before older ones give way.
const PER_KEY: usize = 8;

#[derive(Debug, Default)]
pub struct RoundTrips {
    /// (socket, id) → the questions waiting, each with when it was asked (CLOCK_MONOTONIC ns).
    pending: HashMap<Key, Vec<(u64, Question)>>,
    order: VecDeque<(u64, Key)>,
}

impl RoundTrips {
    /// Note a DNS record; for an answer to a remembered query, its round trip in µs. An answer
    /// is paired with the query of its question; one without a question (FORMERR and REFUSED
    /// answers often have none) with the oldest query of its socket and id.
    pub fn observe(&mut self, e: &KtuiEvent, info: &DnsInfo) -> Option<u64> {
        let id = info.id?;
        let key = Key {
            netns: e.netns,
            proto: e.proto,
            local: (e.saddr, e.sport),
            remote: (e.daddr, e.dport),
            id,
        };
        let question: Question = (
            info.qtype,
            info.qname.as_ref().map(|n| n.to_ascii_lowercase()),
        );
        self.expire(e.ts_ns);
        if info.rcode.is_none() {
            if !self.pending.contains_key(&key) {
                while self.pending.len() >= MAX_PENDING {
                    let Some((_, old)) = self.order.pop_front() else {
                        break;
                    };
                    self.pending.remove(&old);
                }
            }
            let asked = self.pending.entry(key.clone()).or_default();
            // A retransmission keeps the first time: the wait the application saw.
            if !asked.iter().any(|(_, q)| *q == question) {
                if asked.len() == PER_KEY {
                    asked.remove(0);
                }
                asked.push((e.ts_ns, question));
                self.order.push_back((e.ts_ns, key));
            }
            return None;
        }
        let asked = self.pending.get_mut(&key)?;
        let i = if question.1.is_some() {
            asked.iter().position(|(_, q)| *q == question)?
        } else {
            0
        };
        let (at, _) = asked.remove(i);
        if asked.is_empty() {
            self.pending.remove(&key);
        }
        Some(e.ts_ns.saturating_sub(at) / 1000)
    }

    /// Whether the query asked at `at` under `key` is still waiting.
    fn waiting(&self, key: &Key, at: u64) -> bool {
        self.pending
            .get(key)
            .is_some_and(|v| v.iter().any(|(t, _)| *t == at))
    }

    /// Forget queries waiting longer than [`MAX_WAIT_NS`], and the order's entries of
    /// queries already answered (the order never grows past twice the pending bound).
    fn expire(&mut self, now: u64) {
        while let Some((at, k)) = self.order.front() {
            let live = self.waiting(k, *at);
            if live && now.saturating_sub(*at) <= MAX_WAIT_NS {
                break;
            }
            if let Some((at, k)) = self.order.pop_front()
                && live
                && let Some(v) = self.pending.get_mut(&k)
            {
                v.retain(|(t, _)| *t != at);
                if v.is_empty() {
                    self.pending.remove(&k);
                }
            }
        }
        if self.order.len() > 2 * MAX_PENDING * PER_KEY {
            let order = std::mem::take(&mut self.order);
            self.order = order
                .into_iter()
                .filter(|(at, k)| self.waiting(k, *at))
                .collect();
        }
    }

    /// Queries still waiting for an answer.
    pub fn pending(&self) -> usize {
        self.pending.values().map(Vec::len).sum()
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
    fn an_answer_without_a_question_and_two_questions_under_one_id() {
        let mut rt = RoundTrips::default();
        let a = dns::build_query(9, "a.test", 1);
        let aaaa = dns::build_query(9, "a.test", 28);
        rt.observe(&ev(0, 40000, 53), &dns::parse(&a));
        rt.observe(&ev(1, 40000, 53), &dns::parse(&aaaa));
        // The AAAA answer pairs with the AAAA query, though both have id 9.
        assert_eq!(
            rt.observe(&ev(4, 40000, 53), &dns::parse(&answer(&aaaa))),
            Some(3_000)
        );
        // FORMERR with no question section (QDCOUNT 0): the oldest query of that id.
        let mut formerr = vec![0, 9, 0x81, 0x01];
        formerr.extend_from_slice(&[0; 8]);
        let info = dns::parse(&formerr);
        assert_eq!((info.qname.as_deref(), info.rcode), (None, Some(1)));
        assert_eq!(rt.observe(&ev(7, 40000, 53), &info), Some(7_000));
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
