//! The table as the refresher last read it, indexed by both directions (the kernel keeps
//! every tuple unique across both, so one map serves), bounded, and keeping for a while the
//! entries that have left the kernel's table (a short connection's, a refused one's).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Entry, Tuple};

/// Entries kept at most (about 200 bytes each, and twice that while the next one is built).
pub const CAPACITY: usize = 65_536;
/// How long an entry stays after it was last read from the kernel.
pub const LINGER: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct Snapshot {
    /// Each entry with when it was last read from the kernel.
    entries: Vec<(Entry, Instant)>,
    index: HashMap<Tuple, u32>,
    /// Entries of the kernel's table left out because the snapshot was full.
    pub truncated: usize,
}

impl Snapshot {
    /// The entry `t` is either direction of.
    pub fn find(&self, t: &Tuple) -> Option<&Entry> {
        let i = *self.index.get(t)?;
        self.entries.get(i as usize).map(|(e, _)| e)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn insert(&mut self, e: Entry, seen: Instant, cap: usize) -> bool {
        if self.entries.len() >= cap.min(u32::MAX as usize) {
            return false;
        }
        if self.index.contains_key(&e.orig) {
            return true;
        }
        let i = self.entries.len() as u32;
        self.entries.push((e, seen));
        self.index.insert(e.orig, i);
        // A reply tuple already indexed belongs to an entry read earlier (in a lingering
        // entry's case: a newer flow reusing the tuple): it keeps it.
        self.index.entry(e.reply).or_insert(i);
        true
    }
}

/// Builds the next snapshot from one read of the kernel's table.
pub struct Builder {
    next: Snapshot,
    now: Instant,
    cap: usize,
}

impl Builder {
    /// For a read at `now`, sized like the `previous` snapshot.
    pub fn new(previous: &Snapshot, now: Instant, cap: usize) -> Builder {
        let size = previous.len().min(cap);
        Builder {
            next: Snapshot {
                entries: Vec::with_capacity(size),
                index: HashMap::with_capacity(2 * size),
                truncated: 0,
            },
            now,
            cap,
        }
    }

    pub fn add(&mut self, e: Entry) {
        if !self.next.insert(e, self.now, self.cap) {
            self.next.truncated += 1;
        }
    }

    /// The read entries, then those of `previous` read less than [`LINGER`] ago that the
    /// kernel no longer has, while there is room (the most recently read first).
    pub fn finish(mut self, previous: &Snapshot) -> Snapshot {
        for &(e, seen) in &previous.entries {
            // A gone entry whose tuples a live one now uses (the same client port to another
            // VIP, translated to the same backend) would answer for it: left out.
            if self.now.saturating_duration_since(seen) < LINGER
                && !self.next.index.contains_key(&e.orig)
                && !self.next.index.contains_key(&e.reply)
                && !self.next.insert(e, seen, self.cap)
            {
                break;
            }
        }
        self.next
    }
}

/// The current snapshot, handed from the refresher thread to the reader thread: the reader
/// checks the generation (one atomic load per event) and takes the new one when it moved.
#[derive(Debug, Default)]
pub struct Published {
    current: Mutex<Arc<Snapshot>>,
    generation: AtomicU64,
}

impl Published {
    pub fn publish(&self, s: Arc<Snapshot>) {
        if let Ok(mut g) = self.current.lock() {
            *g = s;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn current(&self) -> Arc<Snapshot> {
        self.current
            .lock()
            .map(|g| g.clone())
            .unwrap_or_else(|_| Arc::new(Snapshot::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tests::v4;

    fn entry(port: u16) -> Entry {
        Entry {
            orig: v4(6, "10.0.0.1", port, "10.96.0.10", 80),
            reply: v4(6, "10.244.0.5", 8080, "10.0.0.1", port),
            state: Some("ESTABLISHED"),
        }
    }

    #[test]
    fn both_directions_match_and_the_capacity_holds() {
        let t0 = Instant::now();
        let mut b = Builder::new(&Snapshot::default(), t0, 3);
        for port in 1..=5 {
            b.add(entry(port));
        }
        let s = b.finish(&Snapshot::default());
        assert_eq!((s.len(), s.truncated), (3, 2));
        let e = entry(2);
        assert_eq!(s.find(&e.orig), Some(&e));
        assert_eq!(s.find(&e.reply), Some(&e));
        assert_eq!(s.find(&entry(4).orig), None, "left out");
    }

    #[test]
    fn entries_gone_from_the_kernel_linger_then_go() {
        let t0 = Instant::now();
        let mut b = Builder::new(&Snapshot::default(), t0, 10);
        b.add(entry(1));
        b.add(entry(2));
        let first = b.finish(&Snapshot::default());
        // Entry 1 is gone from the kernel 10 s later: still there.
        let t1 = t0 + Duration::from_secs(10);
        let mut b = Builder::new(&first, t1, 10);
        b.add(entry(2));
        let second = b.finish(&first);
        assert_eq!(second.len(), 2);
        assert_eq!(second.find(&entry(1).reply), Some(&entry(1)));
        // 31 s after it was last read: gone; entry 2, read again, stays.
        let t2 = t0 + Duration::from_secs(31);
        let mut b = Builder::new(&second, t2, 10);
        b.add(entry(2));
        let third = b.finish(&second);
        assert_eq!(third.find(&entry(1).orig), None);
        assert_eq!(third.find(&entry(2).orig), Some(&entry(2)));
        // A full snapshot keeps the fresh entries over the lingering ones.
        let mut b = Builder::new(&second, t1, 1);
        b.add(entry(3));
        let full = b.finish(&second);
        assert_eq!(full.len(), 1);
        assert!(full.find(&entry(3).orig).is_some());
    }

    /// The same client port to another VIP, translated to the same backend: the new flow's
    /// reply tuple equals the gone one's, and the live entry answers for it.
    #[test]
    fn a_lingering_entry_never_answers_for_a_live_one() {
        let t0 = Instant::now();
        let mut b = Builder::new(&Snapshot::default(), t0, 10);
        b.add(entry(1));
        let first = b.finish(&Snapshot::default());
        let other_vip = Entry {
            orig: v4(6, "10.0.0.1", 1, "10.96.0.11", 80),
            ..entry(1)
        };
        let mut b = Builder::new(&first, t0 + Duration::from_secs(2), 10);
        b.add(other_vip);
        let second = b.finish(&first);
        assert_eq!(second.find(&entry(1).reply), Some(&other_vip));
        assert_eq!(second.len(), 1, "the gone entry is left out");
    }

    #[test]
    fn the_reader_sees_a_new_generation() {
        let p = Published::default();
        let g = p.generation();
        let mut b = Builder::new(&Snapshot::default(), Instant::now(), 10);
        b.add(entry(1));
        p.publish(Arc::new(b.finish(&Snapshot::default())));
        assert!(p.generation() > g);
        assert_eq!(p.current().len(), 1);
    }
}
