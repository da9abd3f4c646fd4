//! `--flows`: per-flow totals. A flow is a protocol and two endpoints (address and port when
//! the packet has one), in either direction; A is the source of its first packet. Counted:
//! packets and bytes (original lengths, as tshark's conversation tables count them) each way,
//! first and last seen, and for TCP whether a three-way handshake was seen, FINs, resets and
//! retransmit-like repeats — a segment carrying sequence space (data, SYN or FIN) that ends at
//! or before the highest sequence number that direction already reached.
//!
//! At most [`MAX_FLOWS`] flows are tracked (memory stays bounded on a scan of a whole /16);
//! packets of flows beyond that are counted together and reported as untracked.

use std::collections::HashMap;
use std::io::{self, Write as _};

use ktui_packet::{Addr, Proto, Summary, ts_text};
use serde::Serialize;

use super::out::Out;
use super::text::{UTC_WIDTH, pad, push_endpoint, push_utc};

pub const MAX_FLOWS: usize = 1_000_000;

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const RST: u8 = 0x04;
const FIN: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub addr: Option<Addr>,
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    proto: Proto,
    lo: Endpoint,
    hi: Endpoint,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// A SYN (without ACK) from one side, a SYN+ACK back, then an ACK from the first side.
    pub handshake: bool,
    pub resets: u64,
    pub fins: u64,
    pub repeats: u64,
    /// Which side sent the first SYN (0 = A), and whether the SYN+ACK came back.
    syn_from: Option<usize>,
    syn_ack: bool,
    /// Per direction (0 = A→B), the sequence number after the highest segment seen.
    next_seq: [Option<u32>; 2],
}

impl TcpStats {
    fn add(&mut self, dir: usize, s: &Summary) {
        let flags = s.tcp_flags.unwrap_or(0);
        if flags & RST != 0 {
            self.resets += 1;
        }
        if flags & FIN != 0 {
            self.fins += 1;
        }
        match (flags & (SYN | ACK), self.syn_from) {
            (SYN, None) => self.syn_from = Some(dir),
            (f, Some(from)) if f == SYN | ACK && dir != from => self.syn_ack = true,
            (ACK, Some(from)) if dir == from && self.syn_ack => self.handshake = true,
            _ => {}
        }
        let Some(seq) = s.tcp_seq else { return };
        let Some(payload) = s.tcp_payload else { return };
        let space = payload
            .wrapping_add(u32::from(flags & SYN != 0))
            .wrapping_add(u32::from(flags & FIN != 0));
        let next = &mut self.next_seq[dir];
        if space == 0 {
            // A bare ACK's sequence number is where its sender has got to (a segment before it
            // may be missing from the capture).
            advance(next, seq);
            return;
        }
        let end = seq.wrapping_add(space);
        match *next {
            // `end` at or before what this direction already reached.
            Some(n) if !before(n, end) => self.repeats += 1,
            _ => advance(next, end),
        }
    }
}

/// `a` comes before `b` in sequence-number arithmetic (RFC 1982).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

fn advance(next: &mut Option<u32>, to: u32) {
    if next.is_none_or(|n| before(n, to)) {
        *next = Some(to);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flow {
    pub proto: Proto,
    pub a: Endpoint,
    pub b: Endpoint,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// First and last seen (`None` while every packet of the flow came without time).
    pub first_ns: Option<i128>,
    pub last_ns: Option<i128>,
    pub tcp: Option<TcpStats>,
}

#[derive(Default)]
pub struct FlowTable {
    index: HashMap<Key, usize>,
    flows: Vec<Flow>,
    pub untracked_packets: u64,
    pub untracked_bytes: u64,
}

impl FlowTable {
    pub fn new() -> FlowTable {
        FlowTable::default()
    }

    /// The flows in the order their first packets came.
    pub fn flows(&self) -> &[Flow] {
        &self.flows
    }

    /// Count one packet; a packet without time (`None`) leaves first and last seen alone.
    pub fn add(&mut self, s: &Summary, ts_ns: Option<i128>) {
        let proto = s.proto.unwrap_or(Proto::Other);
        let src = Endpoint {
            addr: s.src,
            port: s.sport,
        };
        let dst = Endpoint {
            addr: s.dst,
            port: s.dport,
        };
        let key = Key {
            proto,
            lo: src.min(dst),
            hi: src.max(dst),
        };
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None if self.flows.len() >= MAX_FLOWS => {
                self.untracked_packets += 1;
                self.untracked_bytes += u64::from(s.len);
                return;
            }
            None => {
                self.flows.push(Flow {
                    proto,
                    a: src,
                    b: dst,
                    packets: [0; 2],
                    bytes: [0; 2],
                    first_ns: ts_ns,
                    last_ns: ts_ns,
                    tcp: (proto == Proto::Tcp).then(TcpStats::default),
                });
                self.index.insert(key, self.flows.len() - 1);
                self.flows.len() - 1
            }
        };
        let flow = &mut self.flows[i];
        // A packet from A to A (the same endpoint both ways) counts as A→B.
        let dir = usize::from(src != flow.a);
        flow.packets[dir] += 1;
        flow.bytes[dir] += u64::from(s.len);
        if let Some(ts) = ts_ns {
            flow.first_ns = Some(flow.first_ns.map_or(ts, |f| f.min(ts)));
            flow.last_ns = Some(flow.last_ns.map_or(ts, |l| l.max(ts)));
        }
        if let Some(tcp) = &mut flow.tcp {
            tcp.add(dir, s);
        }
    }

    pub fn write_text<W: io::Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        let _ = writeln!(
            out.buf(),
            "{:<6} {:<23} {:<23} {:>8} {:>8} {:>8} {:>11} {:>11} {:>11}  {:<29}  {:<29}  tcp",
            "proto",
            "A",
            "B",
            "packets",
            "A→B",
            "B→A",
            "bytes",
            "A→B",
            "B→A",
            "first (UTC)",
            "last (UTC)"
        );
        for f in &self.flows {
            let buf = out.buf();
            pad(
                buf,
                |o| {
                    let _ = write!(o, "{}", f.proto.name());
                },
                6,
            );
            for e in [f.a, f.b] {
                buf.push(b' ');
                pad(buf, |o| push_endpoint(o, e.addr, e.port), 23);
            }
            let _ = write!(
                buf,
                " {:>8} {:>8} {:>8} {:>11} {:>11} {:>11}  ",
                f.packets[0] + f.packets[1],
                f.packets[0],
                f.packets[1],
                f.bytes[0] + f.bytes[1],
                f.bytes[0],
                f.bytes[1],
            );
            for (i, at) in [f.first_ns, f.last_ns].into_iter().enumerate() {
                if i > 0 {
                    buf.extend_from_slice(b"  ");
                }
                match at {
                    Some(at) => push_utc(buf, at),
                    None => pad(buf, |o| o.push(b'-'), UTC_WIDTH),
                }
            }
            if let Some(t) = &f.tcp {
                let _ = write!(
                    buf,
                    "  handshake {} fins {} resets {} repeats {}",
                    if t.handshake { "yes" } else { "no" },
                    t.fins,
                    t.resets,
                    t.repeats
                );
            }
            buf.push(b'\n');
            out.maybe_flush()?;
        }
        if self.untracked_packets > 0 {
            let _ = writeln!(
                out.buf(),
                "(more than {MAX_FLOWS} flows: {} packets, {} bytes of later flows not tracked)",
                self.untracked_packets,
                self.untracked_bytes
            );
        }
        Ok(())
    }

    /// One JSON object per flow (see [`FlowLine`]).
    pub fn write_json<W: io::Write>(&self, out: &mut Out<W>) -> io::Result<()> {
        for f in &self.flows {
            let line = FlowLine::from(f);
            serde_json::to_writer(&mut *out.buf(), &line).map_err(io::Error::other)?;
            out.buf().push(b'\n');
            out.maybe_flush()?;
        }
        if self.untracked_packets > 0 {
            eprintln!(
                "ktui: more than {MAX_FLOWS} flows: {} packets, {} bytes of later flows not tracked",
                self.untracked_packets, self.untracked_bytes
            );
        }
        Ok(())
    }
}

/// `--flows --json`: one object per flow; `tcp` is null for other protocols.
#[derive(Debug, Serialize)]
pub struct FlowLine {
    pub proto: String,
    pub a: Option<String>,
    pub a_port: Option<u16>,
    pub b: Option<String>,
    pub b_port: Option<u16>,
    pub packets: u64,
    pub packets_a_to_b: u64,
    pub packets_b_to_a: u64,
    pub bytes: u64,
    pub bytes_a_to_b: u64,
    pub bytes_b_to_a: u64,
    /// Epoch seconds with 9 decimals, as the packet lines' `ts` (null: no packet of the flow
    /// had a time).
    pub first: Option<String>,
    pub last: Option<String>,
    pub tcp: Option<TcpLine>,
}

#[derive(Debug, Serialize)]
pub struct TcpLine {
    pub handshake: bool,
    pub fins: u64,
    pub resets: u64,
    pub repeats: u64,
}

impl From<&Flow> for FlowLine {
    fn from(f: &Flow) -> FlowLine {
        FlowLine {
            proto: f.proto.name().to_string(),
            a: f.a.addr.map(|a| a.to_string()),
            a_port: f.a.port,
            b: f.b.addr.map(|a| a.to_string()),
            b_port: f.b.port,
            packets: f.packets[0] + f.packets[1],
            packets_a_to_b: f.packets[0],
            packets_b_to_a: f.packets[1],
            bytes: f.bytes[0] + f.bytes[1],
            bytes_a_to_b: f.bytes[0],
            bytes_b_to_a: f.bytes[1],
            first: f.first_ns.map(ts_text),
            last: f.last_ns.map(ts_text),
            tcp: f.tcp.as_ref().map(|t| TcpLine {
                handshake: t.handshake,
                fins: t.fins,
                resets: t.resets,
                repeats: t.repeats,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const C: Addr = Addr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const S: Addr = Addr::V4(Ipv4Addr::new(10, 0, 0, 2));

    fn seg(from_client: bool, flags: u8, seq: u32, payload: u32) -> Summary {
        let (src, dst, sp, dp) = if from_client {
            (C, S, 40000, 80)
        } else {
            (S, C, 80, 40000)
        };
        Summary {
            len: 54 + payload,
            caplen: 54 + payload,
            src: Some(src),
            dst: Some(dst),
            proto: Some(Proto::Tcp),
            sport: Some(sp),
            dport: Some(dp),
            tcp_flags: Some(flags),
            tcp_seq: Some(seq),
            tcp_payload: Some(payload),
            ..Summary::default()
        }
    }

    #[test]
    fn a_tcp_conversation() {
        let mut t = FlowTable::new();
        let c = 0xffff_fff0u32; // wraps during the transfer
        let packets = [
            seg(true, SYN, c, 0),
            seg(true, SYN, c, 0), // SYN retransmitted
            seg(false, SYN | ACK, 500, 0),
            seg(true, ACK, c.wrapping_add(1), 0),
            seg(true, ACK | 0x08, c.wrapping_add(1), 100),
            seg(true, ACK | 0x08, c.wrapping_add(1), 100), // repeat
            seg(true, ACK | 0x08, c.wrapping_add(101), 50),
            seg(false, ACK, 501, 0),
            seg(false, ACK | FIN, 501, 0),
            seg(true, ACK | RST, c.wrapping_add(151), 0),
        ];
        for (i, p) in packets.iter().enumerate() {
            t.add(p, Some(1_000 + i as i128));
        }
        assert_eq!(t.flows().len(), 1);
        let f = &t.flows()[0];
        assert_eq!(
            (f.a.addr, f.a.port, f.b.port),
            (Some(C), Some(40000), Some(80))
        );
        assert_eq!(f.packets, [7, 3]);
        assert_eq!(f.bytes[1], 3 * 54);
        assert_eq!((f.first_ns, f.last_ns), (Some(1_000), Some(1_009)));
        let tcp = f.tcp.as_ref().unwrap();
        assert!(tcp.handshake);
        assert_eq!((tcp.resets, tcp.fins, tcp.repeats), (1, 1, 2));
    }

    #[test]
    fn a_segment_behind_a_later_bare_ack_is_a_repeat() {
        // Data to 124, a bare ACK at 125 (the FIN at 124 was not captured first), then the
        // FIN at 124: tshark calls it a retransmission.
        let mut t = FlowTable::new();
        t.add(&seg(false, ACK | 0x08, 100, 24), Some(0));
        t.add(&seg(false, ACK, 125, 0), Some(1));
        t.add(&seg(false, ACK | FIN, 124, 0), Some(2));
        assert_eq!(t.flows()[0].tcp.as_ref().unwrap().repeats, 1);
    }

    #[test]
    fn no_handshake_without_the_syn_ack() {
        let mut t = FlowTable::new();
        t.add(&seg(true, SYN, 1, 0), Some(0));
        t.add(&seg(false, RST | ACK, 0, 0), Some(1));
        let tcp = t.flows()[0].tcp.clone().unwrap();
        assert!(!tcp.handshake);
        assert_eq!(tcp.resets, 1);
    }

    #[test]
    fn flows_are_told_apart_and_bounded() {
        let mut t = FlowTable::new();
        let mut udp = seg(true, 0, 0, 0);
        udp.proto = Some(Proto::Udp);
        udp.tcp_flags = None;
        t.add(&udp, Some(5));
        t.add(&seg(true, SYN, 0, 0), Some(6));
        let mut other_port = udp.clone();
        other_port.sport = Some(40001);
        t.add(&other_port, Some(7));
        assert_eq!(t.flows().len(), 3);
        assert!(t.flows()[0].tcp.is_none());
        // Beyond MAX_FLOWS nothing more is held.
        for i in 0..(MAX_FLOWS as u32) {
            let mut p = udp.clone();
            p.src = Some(Addr::V4(Ipv4Addr::from(i)));
            t.add(&p, Some(8));
        }
        assert_eq!(t.flows().len(), MAX_FLOWS);
        assert_eq!(t.untracked_packets, 3);
    }

    #[test]
    fn json_lines() {
        let mut t = FlowTable::new();
        t.add(&seg(true, SYN, 1, 0), Some(1_700_000_000_000_000_001));
        let mut out = Out::new(Vec::new());
        t.write_json(&mut out).unwrap();
        let line = serde_json::to_string(&FlowLine::from(&t.flows()[0])).unwrap();
        assert!(line.starts_with("{\"proto\":\"tcp\",\"a\":\"10.0.0.1\",\"a_port\":40000,\"b\":\"10.0.0.2\",\"b_port\":80,\"packets\":1,"), "{line}");
        assert!(
            line.contains("\"first\":\"1700000000.000000001\""),
            "{line}"
        );
        assert!(
            line.ends_with("\"tcp\":{\"handshake\":false,\"fins\":0,\"resets\":0,\"repeats\":0}}"),
            "{line}"
        );
    }
}
