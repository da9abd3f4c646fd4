//! A bounded queue that can be paused: the last N items (older ones counted as evicted),
//! items arriving while paused held aside (bounded the same way) and appended on resume. The
//! sockets pane's events and each capture's packet summaries live in one.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct Ring<T> {
    pub lines: VecDeque<T>,
    held: VecDeque<T>,
    capacity: usize,
    /// Items that fell out of the ring (or of the held queue while paused).
    pub evicted: u64,
    /// Items received ([`Ring::ingest`]; [`Ring::push`] does not count).
    pub received: u64,
    pub paused: bool,
}

impl<T> Ring<T> {
    pub fn new(capacity: usize) -> Self {
        Self {
            lines: VecDeque::new(),
            held: VecDeque::new(),
            capacity: capacity.max(1),
            evicted: 0,
            received: 0,
            paused: false,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    fn push_into(queue: &mut VecDeque<T>, cap: usize, item: T, evicted: &mut u64) {
        if queue.len() == cap {
            queue.pop_front();
            *evicted += 1;
        }
        queue.push_back(item);
    }

    /// One item received: shown, or held while paused.
    pub fn ingest(&mut self, item: T) {
        self.received += 1;
        if self.paused {
            Self::push_into(&mut self.held, self.capacity, item, &mut self.evicted);
        } else {
            Self::push_into(&mut self.lines, self.capacity, item, &mut self.evicted);
        }
    }

    /// One item shown now, paused or not (a gap marker), not counted as received.
    pub fn push(&mut self, item: T) {
        Self::push_into(&mut self.lines, self.capacity, item, &mut self.evicted);
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        if !paused {
            while let Some(item) = self.held.pop_front() {
                Self::push_into(&mut self.lines, self.capacity, item, &mut self.evicted);
            }
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }

    pub fn clear(&mut self) {
        self.lines.clear();
        self.held.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_last_items_and_counts_the_rest() {
        let mut r = Ring::new(3);
        for n in 1..=5 {
            r.ingest(n);
        }
        assert_eq!(r.lines, [3, 4, 5]);
        assert_eq!((r.evicted, r.received), (2, 5));
        r.set_paused(true);
        for n in 6..=10 {
            r.ingest(n);
        }
        assert_eq!(r.lines.back(), Some(&5), "paused: nothing moves");
        assert_eq!(r.held(), 3, "the held queue is bounded too");
        assert_eq!(r.evicted, 4);
        r.push(0);
        assert_eq!(r.lines, [4, 5, 0], "a pushed marker shows while paused");
        r.set_paused(false);
        assert_eq!(r.lines, [8, 9, 10]);
        assert_eq!((r.evicted, r.received), (8, 10));
    }
}
