//! Packet drops folded per (reason, netns, cgroup, direction, protocol) and emitted about
//! once a second as one `drop` event with a `count`.

use std::collections::HashMap;

use super::decode::Record;
use super::layout::KtuiEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    reason: u32,
    netns: u32,
    cgroup_id: u64,
    direction: u8,
    proto: u16,
}

#[derive(Debug, Clone)]
struct Group {
    /// The first drop, with fields that differed within the group cleared.
    first: KtuiEvent,
    last_ts: u64,
    count: u64,
}

#[derive(Debug, Default)]
pub struct DropAggregator {
    groups: HashMap<Key, Group>,
    /// Insertion order, so output is stable.
    order: Vec<Key>,
}

impl DropAggregator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Records folded so far (not yet flushed).
    pub fn pending(&self) -> u64 {
        self.groups.values().map(|g| g.count).sum()
    }

    pub fn add(&mut self, ev: &KtuiEvent) {
        let key = Key {
            reason: ev.drop_reason,
            netns: ev.netns,
            cgroup_id: ev.cgroup_id,
            direction: ev.direction,
            proto: ev.proto,
        };
        match self.groups.get_mut(&key) {
            Some(g) => {
                g.count += 1;
                g.last_ts = g.last_ts.max(ev.ts_ns);
                let f = &mut g.first;
                if (f.saddr, f.sport, f.daddr, f.dport, f.family)
                    != (ev.saddr, ev.sport, ev.daddr, ev.dport, ev.family)
                {
                    f.saddr = [0; 16];
                    f.daddr = [0; 16];
                    f.sport = 0;
                    f.dport = 0;
                }
                if (f.pid, f.tid) != (ev.pid, ev.tid) {
                    f.pid = 0;
                    f.tid = 0;
                    f.comm = [0; 16];
                }
            }
            None => {
                self.order.push(key);
                self.groups.insert(
                    key,
                    Group {
                        first: *ev,
                        last_ts: ev.ts_ns,
                        count: 1,
                    },
                );
            }
        }
    }

    /// Everything folded so far: (record stamped with the last drop's time, count).
    pub fn flush(&mut self) -> Vec<(Record, u64)> {
        let mut out = Vec::with_capacity(self.order.len());
        for key in self.order.drain(..) {
            if let Some(g) = self.groups.remove(&key) {
                let mut ev = g.first;
                ev.ts_ns = g.last_ts;
                out.push((Record { ev, payload: None }, g.count));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::layout::KIND_DROP;

    #[test]
    fn folds_per_reason_and_netns() {
        let mut a = DropAggregator::new();
        let base = KtuiEvent {
            kind: KIND_DROP,
            drop_reason: 2,
            netns: 1,
            sport: 5,
            ts_ns: 10,
            ..Default::default()
        };
        a.add(&base);
        a.add(&KtuiEvent { ts_ns: 30, ..base });
        a.add(&KtuiEvent {
            sport: 6,
            ts_ns: 20,
            ..base
        });
        a.add(&KtuiEvent { netns: 2, ..base });
        a.add(&KtuiEvent {
            drop_reason: 3,
            ..base
        });
        assert_eq!(a.pending(), 5);
        let out = a.flush();
        assert_eq!(out.len(), 3);
        assert_eq!(out[0].1, 3);
        assert_eq!(out[0].0.ev.ts_ns, 30);
        assert_eq!(
            out[0].0.ev.sport, 0,
            "tuples differ within the group: cleared"
        );
        assert_eq!(out[1].0.ev.sport, 5);
        assert!(a.is_empty());
    }
}
