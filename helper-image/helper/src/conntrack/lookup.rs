//! The reader thread's side: an event's flow → its conntrack entry. A hash lookup in the
//! published snapshot per event; the kernel is asked (one ctnetlink GET, at most
//! [`ASKS_PER_SEC`] a second, so a storm of new flows stays cheap) only for a flow the
//! snapshot does not have yet, and for the events that change a TCP flow's state, so that
//! their state is the current one. Entries the kernel destroys (a refused connection's, at
//! once) are read from its destroy events when an asked flow is gone, and every
//! [`DRAIN_EVERY`] otherwise, and kept for [`LINGER`].

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::netlink::Ctnetlink;
use super::snapshot::{LINGER, Published, Snapshot};
use super::{Entry, Tuple, UNREPLIED};

pub const ASKS_PER_SEC: u32 = 200;
/// Answers kept at most (an entry takes two: one under each direction).
pub const RECENT_CAPACITY: usize = 16_384;
/// A flow the kernel had no entry for is not asked about again for this long (by then the
/// next snapshot has it if it ever gets one).
pub const NOT_FOUND_TTL: Duration = Duration::from_secs(2);
/// How often pending destroy events are read (from the reader's flush, not per event).
pub const DRAIN_EVERY: Duration = Duration::from_millis(10);

/// What the kernel said lately, bounded: the oldest answer goes first.
#[derive(Debug, Default)]
struct Recent {
    map: HashMap<Tuple, (Option<Entry>, Instant)>,
    /// Keys in insertion order, with the expiry they were inserted with.
    order: VecDeque<(Tuple, Instant)>,
}

impl Recent {
    /// Some(answer) while it holds: the entry, or None for "the kernel had none".
    fn get(&self, t: &Tuple, now: Instant) -> Option<Option<Entry>> {
        self.map
            .get(t)
            .filter(|(_, expires)| *expires > now)
            .map(|(e, _)| *e)
    }

    fn put(&mut self, t: Tuple, answer: Option<Entry>, expires: Instant, now: Instant) {
        while let Some(&(old, at)) = self.order.front() {
            if self.order.len() < RECENT_CAPACITY && at > now {
                break;
            }
            self.order.pop_front();
            if self.map.get(&old).is_some_and(|(_, exp)| *exp == at) {
                self.map.remove(&old);
            }
        }
        self.map.insert(t, (answer, expires));
        self.order.push_back((t, expires));
    }

    /// An entry, under both its directions, for [`LINGER`].
    fn remember(&mut self, e: Entry, now: Instant) {
        for key in [e.orig, e.reply] {
            self.put(key, Some(e), now + LINGER, now);
        }
    }
}

/// When the kernel is asked about a flow whose entry is at hand already (within the budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Never: only a flow not known yet is asked about.
    IfUnknown,
    /// The event changes the TCP flow's state: the entry as it is now.
    Always,
    /// A datagram received by the flow's original sender: an answer came, so an entry
    /// known as `UNREPLIED` is out of date.
    IfUnreplied,
}

pub struct Lookup {
    published: Arc<Published>,
    generation: u64,
    snapshot: Arc<Snapshot>,
    recent: Recent,
    /// None when the table is read from /proc (ctnetlink refused).
    kernel: Option<Ctnetlink>,
    /// The destroy events' socket.
    destroyed: Option<Ctnetlink>,
    drained: Instant,
    window: Instant,
    asked: u32,
}

impl Lookup {
    pub fn new(
        published: Arc<Published>,
        kernel: Option<Ctnetlink>,
        destroyed: Option<Ctnetlink>,
    ) -> Lookup {
        Lookup {
            generation: published.generation(),
            snapshot: published.current(),
            published,
            recent: Recent::default(),
            kernel,
            destroyed,
            drained: Instant::now(),
            window: Instant::now(),
            asked: 0,
        }
    }

    /// Read the pending destroy events if [`DRAIN_EVERY`] has passed.
    pub fn poll(&mut self, now: Instant) {
        if now.saturating_duration_since(self.drained) >= DRAIN_EVERY {
            self.drain(now);
        }
    }

    fn drain(&mut self, now: Instant) {
        self.drained = now;
        let Some(nl) = self.destroyed.as_mut() else {
            return;
        };
        let recent = &mut self.recent;
        let _ = nl.drain(&mut |e| recent.remember(e, now));
    }

    /// The entry of the flow `t` is either direction of.
    pub fn find(&mut self, t: &Tuple, ask: Ask, now: Instant) -> Option<Entry> {
        let generation = self.published.generation();
        if generation != self.generation {
            self.generation = generation;
            self.snapshot = self.published.current();
        }
        let fresh = match ask {
            Ask::IfUnknown => false,
            Ask::Always => true,
            Ask::IfUnreplied => self
                .snapshot
                .find(t)
                .copied()
                .or_else(|| self.recent.get(t, now).flatten())
                .is_some_and(|e| e.orig == *t && e.state == Some(UNREPLIED)),
        };
        if fresh && self.admit(now) {
            if let Some(e) = self.ask(t, now) {
                return Some(e);
            }
        } else {
            if let Some(e) = self.snapshot.find(t) {
                return Some(*e);
            }
            match self.recent.get(t, now) {
                Some(answer) => return answer,
                None if self.admit(now) => return self.ask(t, now),
                None => {}
            }
        }
        // Asked and gone, or over the budget: what was read last.
        if let Some(e) = self.snapshot.find(t) {
            return Some(*e);
        }
        self.recent.get(t, now).flatten()
    }

    /// Within [`ASKS_PER_SEC`] (and with a socket to ask on).
    fn admit(&mut self, now: Instant) -> bool {
        if self.kernel.is_none() {
            return false;
        }
        if now.saturating_duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.asked = 0;
        }
        if self.asked >= ASKS_PER_SEC {
            return false;
        }
        self.asked += 1;
        true
    }

    /// One GET. An entry is remembered; when there is none the destroy events are read (the
    /// entry may just have gone) and, if they do not have it either, "none" is remembered for
    /// [`NOT_FOUND_TTL`] unless an entry is remembered already.
    fn ask(&mut self, t: &Tuple, now: Instant) -> Option<Entry> {
        match self.kernel.as_mut()?.get(t).ok()? {
            Some(e) => {
                self.recent.remember(e, now);
                Some(e)
            }
            None => {
                self.drain(now);
                match self.recent.get(t, now) {
                    Some(Some(e)) => Some(e),
                    Some(None) => None,
                    None => {
                        self.recent.put(*t, None, now + NOT_FOUND_TTL, now);
                        None
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tests::v4;

    #[test]
    fn recent_answers_expire_and_stay_bounded() {
        let t0 = Instant::now();
        let mut r = Recent::default();
        let a = v4(17, "10.0.0.1", 1, "10.0.0.2", 53);
        r.put(a, None, t0 + NOT_FOUND_TTL, t0);
        assert_eq!(r.get(&a, t0), Some(None));
        assert_eq!(r.get(&a, t0 + NOT_FOUND_TTL), None, "expired");
        for port in 0..RECENT_CAPACITY as u16 + 10 {
            let t = v4(17, "10.0.0.1", port, "10.0.0.2", 53);
            r.put(t, None, t0 + LINGER, t0);
        }
        assert!(r.map.len() <= RECENT_CAPACITY && r.order.len() <= RECENT_CAPACITY);
        assert_eq!(r.get(&v4(17, "10.0.0.1", 0, "10.0.0.2", 53), t0), None);
        let last = RECENT_CAPACITY as u16 + 9;
        assert_eq!(
            r.get(&v4(17, "10.0.0.1", last, "10.0.0.2", 53), t0),
            Some(None)
        );
    }

    #[test]
    fn without_a_socket_only_the_snapshot_answers() {
        let published = Arc::new(Published::default());
        let mut l = Lookup::new(published.clone(), None, None);
        let e = Entry {
            orig: v4(6, "10.0.0.1", 40000, "10.96.0.10", 80),
            reply: v4(6, "10.244.0.5", 8080, "10.0.0.1", 40000),
            state: Some("SYN_SENT"),
        };
        let now = Instant::now();
        assert_eq!(l.find(&e.orig, Ask::Always, now), None);
        let mut b = super::super::snapshot::Builder::new(&Snapshot::default(), now, 10);
        b.add(e);
        published.publish(Arc::new(b.finish(&Snapshot::default())));
        assert_eq!(l.find(&e.orig, Ask::Always, now), Some(e));
        assert_eq!(
            l.find(&e.reply, Ask::IfUnreplied, now),
            Some(e),
            "the backend's side"
        );
        assert!(!l.admit(now), "nothing to ask");
    }
}
