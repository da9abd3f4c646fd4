//! Top flows of a capture, from its summaries: per conversation (protocol and both ends, either
//! direction), packets, bytes, first and last frame, TCP SYNs and RSTs. Bounded: once
//! [`MAX_FLOWS`] conversations are tracked, packets of new ones are counted as untracked.
//! (Sampled-out packets never reach the console: the pcap has them, these counts do not.)

use std::collections::HashMap;

use ktui_wire::PacketLine;

/// Conversations tracked per capture.
pub const MAX_FLOWS: usize = 4096;

/// One end: address and port (0 when the protocol has none).
pub type End = (String, u16);

/// A conversation: protocol, then its two ends in a fixed order (the smaller first).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub proto: String,
    pub a: End,
    pub b: End,
}

impl FlowKey {
    pub fn of(p: &PacketLine) -> FlowKey {
        let src = (p.src.clone().unwrap_or_default(), p.sport.unwrap_or(0));
        let dst = (p.dst.clone().unwrap_or_default(), p.dport.unwrap_or(0));
        let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
        FlowKey {
            proto: p.proto.clone().unwrap_or_else(|| "other".to_string()),
            a,
            b,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub packets: u64,
    /// Original lengths summed.
    pub bytes: u64,
    pub first_n: u64,
    pub last_n: u64,
    pub syn: u64,
    pub rst: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Flows {
    flows: HashMap<FlowKey, FlowStats>,
    /// Packets (and bytes) of conversations beyond [`MAX_FLOWS`].
    pub untracked_packets: u64,
    pub untracked_bytes: u64,
}

impl Flows {
    pub fn add(&mut self, p: &PacketLine) {
        let key = FlowKey::of(p);
        let full = self.flows.len() >= MAX_FLOWS;
        let f = match self.flows.get_mut(&key) {
            Some(f) => f,
            None if full => {
                self.untracked_packets += 1;
                self.untracked_bytes += u64::from(p.len);
                return;
            }
            None => self.flows.entry(key).or_insert(FlowStats {
                first_n: p.n,
                ..FlowStats::default()
            }),
        };
        f.packets += 1;
        f.bytes += u64::from(p.len);
        f.last_n = p.n;
        if let Some(flags) = p.tcp_flags.as_deref() {
            let has = |name: &str| flags.split(',').any(|g| g == name);
            if has("SYN") && !has("ACK") {
                f.syn += 1;
            }
            if has("RST") {
                f.rst += 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.flows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The `n` conversations with the most bytes (then packets, then key), largest first.
    pub fn top(&self, n: usize) -> Vec<(&FlowKey, &FlowStats)> {
        let mut all: Vec<(&FlowKey, &FlowStats)> = self.flows.iter().collect();
        all.sort_by(|x, y| {
            (y.1.bytes, y.1.packets)
                .cmp(&(x.1.bytes, x.1.packets))
                .then_with(|| x.0.cmp(y.0))
        });
        all.truncate(n);
        all
    }

    pub fn clear(&mut self) {
        *self = Flows::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(
        n: u64,
        src: &str,
        sport: u16,
        dst: &str,
        dport: u16,
        len: u32,
        flags: &str,
    ) -> PacketLine {
        PacketLine {
            n,
            ts: Some("1700000000.000000000".into()),
            len,
            caplen: len,
            src: Some(src.into()),
            dst: Some(dst.into()),
            proto: Some("tcp".into()),
            sport: Some(sport),
            dport: Some(dport),
            tcp_flags: Some(flags.into()),
            icmp_type: None,
            vlan: None,
            dns_qname: None,
            truncated: false,
        }
    }

    #[test]
    fn both_directions_are_one_conversation_and_the_biggest_come_first() {
        let mut f = Flows::default();
        f.add(&p(1, "10.0.0.1", 40000, "10.0.0.2", 443, 74, "SYN"));
        f.add(&p(2, "10.0.0.2", 443, "10.0.0.1", 40000, 74, "SYN,ACK"));
        f.add(&p(3, "10.0.0.1", 40000, "10.0.0.2", 443, 1500, "ACK"));
        f.add(&p(4, "10.0.0.1", 40001, "10.0.0.3", 80, 60, "RST"));
        let top = f.top(10);
        assert_eq!(top.len(), 2);
        let (key, stats) = top[0];
        assert_eq!(key.a, ("10.0.0.1".to_string(), 40000));
        assert_eq!(key.b, ("10.0.0.2".to_string(), 443));
        assert_eq!(
            (
                stats.packets,
                stats.bytes,
                stats.first_n,
                stats.last_n,
                stats.syn
            ),
            (3, 1648, 1, 3, 1),
            "a SYN+ACK is not counted as an opening"
        );
        assert_eq!(top[1].1.rst, 1);
    }

    #[test]
    fn the_table_is_bounded_and_counts_what_it_does_not_track() {
        let mut f = Flows::default();
        for i in 0..(MAX_FLOWS as u64 + 10) {
            let port = u16::try_from(i % 60_000).unwrap();
            let host = format!("10.1.{}.{}", i / 60_000, 1);
            f.add(&p(i + 1, &host, port, "10.0.0.2", 443, 100, "ACK"));
        }
        assert_eq!(f.len(), MAX_FLOWS);
        assert_eq!((f.untracked_packets, f.untracked_bytes), (10, 1000));
    }
}
