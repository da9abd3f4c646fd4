//! Folding, in user space and from the kernel:
//! - [`DropAggregator`]: packet drops folded per (reason, netns, cgroup, direction, protocol)
//!   and emitted about once a second as one `drop` event with a `count`;
//! - [`FoldedFlows`]: the repeats of one flow the kernel folded during a storm (map `agg`,
//!   see `fold` in ebpf/common.h), read once a second and reported as count lines.

use std::collections::HashMap;

use super::decode::Record;
use super::layout::{AGG_SLOTS, KtuiAgg, KtuiEvent};

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

/// Where folded flows are read from: the kernel's per-CPU `agg` table, or a fake in tests.
pub trait AggSource: Send {
    /// Every slot of every CPU that ever held a flow: (CPU, slot index, slot).
    fn slots(&mut self) -> Vec<(usize, u32, KtuiAgg)>;
}

impl AggSource for crate::probes::load::AggMap {
    fn slots(&mut self) -> Vec<(usize, u32, KtuiAgg)> {
        let mut out = Vec::new();
        for idx in 0..AGG_SLOTS {
            let Ok(values) = self.get(&idx, 0) else {
                continue;
            };
            for (cpu, slot) in values.iter().enumerate() {
                if slot.key != 0 {
                    out.push((cpu, idx, *slot));
                }
            }
        }
        out
    }
}

/// One count line: the flow's template event (stamped with the last repeat's time and the
/// repeats' bytes), how many repeats it stands for, and when the first of them happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folded {
    pub template: KtuiEvent,
    pub count: u64,
    pub first_ns: u64,
}

/// What was last read of one slot.
#[derive(Debug, Clone, Copy)]
struct Seen {
    generation: u64,
    count: u64,
    bytes: u64,
    last_ns: u64,
    template: KtuiEvent,
}

/// The kernel's folded flows and what has been reported of each slot.
pub struct FoldedFlows {
    source: Box<dyn AggSource>,
    seen: HashMap<(usize, u32), Seen>,
    /// Folded repeats no line can stand for (see [`FoldedFlows::take_unreported`]).
    unreported: u64,
}

impl FoldedFlows {
    pub fn new(source: Box<dyn AggSource>) -> Self {
        Self {
            source,
            seen: HashMap::new(),
            unreported: 0,
        }
    }

    /// Repeats the kernel folded that no line reports, since the last call: those of flows
    /// that held a slot only between two reads, or before the slot's first read. The caller
    /// accounts them as dropped, so `aggregated` stays "reported in count lines".
    pub fn take_unreported(&mut self) -> u64 {
        std::mem::take(&mut self.unreported)
    }

    /// The repeats folded since the last call, one line per flow. A slot taken over by
    /// another flow since the last read reports what the old flow counted until then (with
    /// the old template) and what the new one counted since; when it changed hands more than
    /// once in between, the repeats of the flows in the middle have no line (they are
    /// [`FoldedFlows::take_unreported`]).
    pub fn take_new(&mut self) -> Vec<Folded> {
        let mut out = Vec::new();
        for (cpu, idx, a) in self.source.slots() {
            let id = (cpu, idx);
            let before = self.seen.get(&id).copied();
            // A copy taken while the kernel was taking the slot over on its CPU can pair the
            // new generation with old counts: counts never go back, so such a read is left
            // for the next round.
            let torn = a.taken_count > a.count
                || before.is_some_and(|b| {
                    a.count < b.count || (b.generation != a.generation && a.taken_count < b.count)
                });
            if torn {
                continue;
            }
            let (from_count, from_bytes, from_last) = match before {
                Some(b) if b.generation == a.generation => (b.count, b.bytes, b.last_ns),
                Some(b) => {
                    if b.generation + 1 != a.generation {
                        // Flows in the middle held the slot only between two reads.
                        self.unreported += a.taken_count.saturating_sub(b.count);
                    } else if a.taken_count > b.count {
                        let mut template = b.template;
                        template.ts_ns = b.last_ns.max(b.template.ts_ns);
                        template.bytes = a.taken_bytes.saturating_sub(b.bytes);
                        out.push(Folded {
                            template,
                            count: a.taken_count - b.count,
                            first_ns: b.last_ns,
                        });
                    }
                    (a.taken_count, a.taken_bytes, 0)
                }
                None => {
                    // Flows before the first read of this slot.
                    self.unreported += a.taken_count;
                    (a.taken_count, a.taken_bytes, 0)
                }
            };
            if a.count > from_count {
                let mut template = a.first;
                template.ts_ns = a.last_ns;
                template.bytes = a.bytes.saturating_sub(from_bytes);
                out.push(Folded {
                    template,
                    count: a.count - from_count,
                    first_ns: if from_last == 0 {
                        a.first_ns
                    } else {
                        from_last
                    },
                });
            }
            self.seen.insert(
                id,
                Seen {
                    generation: a.generation,
                    count: a.count,
                    bytes: a.bytes,
                    last_ns: a.last_ns,
                    template: a.first,
                },
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::layout::KIND_DROP;

    #[derive(Default)]
    struct FakeAgg(Vec<(usize, u32, KtuiAgg)>);

    impl AggSource for std::sync::Arc<std::sync::Mutex<FakeAgg>> {
        fn slots(&mut self) -> Vec<(usize, u32, KtuiAgg)> {
            self.lock().unwrap().0.clone()
        }
    }

    fn event(dport: u16) -> KtuiEvent {
        KtuiEvent {
            kind: 5,
            sport: 40000,
            dport,
            bytes: 64,
            ..Default::default()
        }
    }

    #[test]
    fn folded_flows_report_each_repeat_once() {
        let fake = std::sync::Arc::new(std::sync::Mutex::new(FakeAgg::default()));
        let mut slot = KtuiAgg {
            first: event(9),
            key: 77,
            generation: 1,
            window_ns: 1_000,
            count: 10,
            bytes: 640,
            first_ns: 1_100,
            last_ns: 2_000,
            ..Default::default()
        };
        fake.lock().unwrap().0.push((0, 77, slot));
        let mut flows = FoldedFlows::new(Box::new(fake.clone()));
        let out = flows.take_new();
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].count, out[0].template.bytes), (10, 640));
        assert_eq!((out[0].first_ns, out[0].template.ts_ns), (1_100, 2_000));
        // Nothing new: nothing reported.
        assert!(flows.take_new().is_empty());
        // Five more repeats: only they are reported.
        slot.count = 15;
        slot.bytes = 960;
        slot.last_ns = 3_000;
        fake.lock().unwrap().0[0].2 = slot;
        let out = flows.take_new();
        assert_eq!((out[0].count, out[0].template.bytes), (5, 320));
        assert_eq!(out[0].first_ns, 2_000);
        // Two more for the old flow, then another flow takes the slot and folds 4: both
        // are reported, each under its own template.
        slot = KtuiAgg {
            first: event(10),
            key: 78,
            generation: 2,
            window_ns: 4_000,
            count: 21,
            bytes: 1_344,
            taken_count: 17,
            taken_bytes: 1_088,
            first_ns: 4_100,
            last_ns: 4_500,
        };
        fake.lock().unwrap().0[0].2 = slot;
        let out = flows.take_new();
        assert_eq!(out.len(), 2, "{out:?}");
        assert_eq!(
            (out[0].template.dport, out[0].count, out[0].template.bytes),
            (9, 2, 128)
        );
        assert_eq!(
            (out[1].template.dport, out[1].count, out[1].template.bytes),
            (10, 4, 256)
        );
        assert_eq!(out[1].first_ns, 4_100);
    }

    #[test]
    fn repeats_without_a_line_are_unreported_and_torn_reads_wait() {
        let fake = std::sync::Arc::new(std::sync::Mutex::new(FakeAgg::default()));
        // First read: 3 repeats of flows that held the slot before, 4 of the current one.
        let slot = KtuiAgg {
            first: event(9),
            key: 77,
            generation: 2,
            count: 7,
            bytes: 448,
            taken_count: 3,
            taken_bytes: 192,
            first_ns: 1_100,
            last_ns: 2_000,
            ..Default::default()
        };
        fake.lock().unwrap().0.push((0, 77, slot));
        let mut flows = FoldedFlows::new(Box::new(fake.clone()));
        let out = flows.take_new();
        assert_eq!(out.iter().map(|f| f.count).sum::<u64>(), 4);
        assert_eq!(flows.take_unreported(), 3);
        assert_eq!(flows.take_unreported(), 0, "taken once");
        // A copy taken mid-takeover: new generation, counts from before the old flow's last
        // repeats. Nothing is reported, nothing is forgotten.
        let torn = KtuiAgg {
            generation: 3,
            key: 78,
            count: 6,
            taken_count: 5,
            ..slot
        };
        fake.lock().unwrap().0[0].2 = torn;
        assert!(flows.take_new().is_empty());
        assert_eq!(flows.take_unreported(), 0);
        // The settled slot: the old flow counted 2 more (7 -> 9), then two flows held it in
        // between (generation 2 -> 4); the current one folded 1 since.
        let settled = KtuiAgg {
            first: event(11),
            generation: 4,
            key: 79,
            count: 10,
            bytes: 640,
            taken_count: 9,
            taken_bytes: 576,
            first_ns: 5_000,
            last_ns: 5_000,
            ..slot
        };
        fake.lock().unwrap().0[0].2 = settled;
        let out = flows.take_new();
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].template.dport, out[0].count), (11, 1));
        assert_eq!(flows.take_unreported(), 2);
    }

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
