//! Live `packet` summaries: rate-capped (a token bucket refilled each second, so bursts up to
//! one second's worth pass), batched per ring block and offered to the stdout writer without
//! ever waiting: a batch that does not fit is counted as sampled out.
//!
//! Each line is written straight into the batch: the message's start (the same for every
//! packet of a capture), then the summary's pinned object as [`Summary::write_json_line`]
//! writes it; the same bytes as `ktui_wire::encode(&HelperMessage::Packet { id, p:
//! summary.to_line(..) })`, without building the [`ktui_wire::PacketLine`]'s strings.

use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::{Duration, Instant};

use ktui_packet::Summary;

/// Summaries per second when the request does not say (a console pane shows far fewer).
pub const DEFAULT_SUMMARIES_PER_SEC: u32 = 1000;

/// Summaries of one capture on their way to the writer.
pub struct Summaries {
    tx: SyncSender<String>,
    per_sec: u32,
    tokens: u32,
    refilled: Instant,
    /// `{"v":1,"type":"packet","id":ID,"p":`: every line of this capture starts so.
    head: Vec<u8>,
    batch: Vec<u8>,
    batch_lines: u64,
    pub summarized: u64,
    pub sampled_out: u64,
}

impl Summaries {
    pub fn new(id: u64, tx: SyncSender<String>, per_sec: Option<u32>) -> Summaries {
        let per_sec = per_sec.unwrap_or(DEFAULT_SUMMARIES_PER_SEC);
        let head = format!(
            "{{\"v\":{},\"type\":\"packet\",\"id\":{id},\"p\":",
            ktui_wire::PROTOCOL_VERSION
        );
        Summaries {
            tx,
            per_sec,
            tokens: per_sec,
            refilled: Instant::now(),
            head: head.into_bytes(),
            batch: Vec::new(),
            batch_lines: 0,
            summarized: 0,
            sampled_out: 0,
        }
    }

    /// Whether the next packet may be summarised (else it is counted as sampled out).
    pub fn admit(&mut self, now: Instant) -> bool {
        if now.saturating_duration_since(self.refilled) >= Duration::from_secs(1) {
            self.tokens = self.per_sec;
            self.refilled = now;
        }
        if self.tokens == 0 {
            self.sampled_out += 1;
            return false;
        }
        self.tokens -= 1;
        true
    }

    /// The `packet` line of frame `n`, captured at `ts_ns` nanoseconds since the epoch.
    pub fn push(&mut self, s: &Summary, n: u64, ts_ns: u64) {
        self.batch.extend_from_slice(&self.head);
        s.write_json_line(n, Some(i128::from(ts_ns)), &mut self.batch);
        // The summary object ends its line: the message's own brace goes before the newline.
        self.batch.pop();
        self.batch.extend_from_slice(b"}\n");
        self.batch_lines += 1;
        if self.batch_lines >= crate::pipeline::BATCH_LINES as u64 {
            self.flush();
        }
    }

    /// Offer the pending lines to the writer; when it is full they are sampled out.
    pub fn flush(&mut self) {
        if self.batch_lines == 0 {
            return;
        }
        let lines = std::mem::take(&mut self.batch_lines);
        let Ok(chunk) = String::from_utf8(std::mem::take(&mut self.batch)) else {
            self.sampled_out += lines;
            return;
        };
        match self.tx.try_send(chunk) {
            Ok(()) => self.summarized += lines,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.sampled_out += lines;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use ktui_packet::{Addr, Proto};
    use ktui_wire::{HelperMessage, PacketLine};

    use super::*;

    /// The pinned JSON line of a summary. `ts_ns` is nanoseconds since the epoch.
    fn to_line(s: &Summary, n: u64, ts_ns: u64) -> PacketLine {
        s.to_line(n, Some(i128::from(ts_ns)))
    }

    #[test]
    fn a_summary_becomes_the_pinned_line() {
        let s = Summary {
            len: 74,
            caplen: 74,
            src: Some(Addr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            dst: Some(Addr::Mac([0xff, 0, 0x0a, 1, 2, 3])),
            proto: Some(Proto::Tcp),
            sport: Some(1),
            dport: Some(2),
            tcp_flags: Some(0x12),
            ..Summary::default()
        };
        let l = to_line(&s, 3, 1_700_000_000_000_000_042);
        assert_eq!(l.ts.as_deref(), Some("1700000000.000000042"));
        assert_eq!(l.tcp_flags.as_deref(), Some("SYN,ACK"));
        assert_eq!(l.dst.as_deref(), Some("ff:00:0a:01:02:03"));
        assert_eq!(l.proto.as_deref(), Some("tcp"));
        let none = to_line(
            &Summary {
                tcp_flags: Some(0),
                proto: Some(Proto::Ip(47)),
                ..s
            },
            1,
            0,
        );
        assert_eq!(none.tcp_flags.as_deref(), Some(""));
        assert_eq!(none.proto.as_deref(), Some("47"));
        assert_eq!(none.ts.as_deref(), Some("0.000000000"));
    }

    #[test]
    fn the_cap_and_a_full_writer_count_as_sampled_out() {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let mut s = Summaries::new(9, tx, Some(3));
        let now = Instant::now();
        let admitted = (0..5).filter(|_| s.admit(now)).count();
        assert_eq!((admitted, s.sampled_out), (3, 2));
        for n in 0..3 {
            s.push(&Summary::default(), n, 0);
        }
        s.flush();
        assert_eq!(s.summarized, 3);
        // The channel holds one batch: the next is sampled out, not waited for.
        assert!(s.admit(now + Duration::from_secs(1)));
        s.push(&Summary::default(), 4, 0);
        s.flush();
        assert_eq!((s.summarized, s.sampled_out), (3, 3));
        let batch = rx.recv().unwrap();
        assert_eq!(batch.lines().count(), 3);
        assert!(batch.starts_with("{\"v\":1,\"type\":\"packet\",\"id\":9,\"p\":{\"n\":0,"));
    }

    #[test]
    fn lines_are_the_bytes_encode_writes() {
        let full = Summary {
            len: 1514,
            caplen: 128,
            src: Some(Addr::V6("fd00::1".parse().unwrap())),
            dst: Some(Addr::V6("2001:db8::ff".parse().unwrap())),
            proto: Some(Proto::Udp),
            sport: Some(65535),
            dport: Some(53),
            icmp_type: Some(255),
            vlan: Some(4095),
            dns_qname: Some("we\"ird\\na\u{7f}me.ktui.test".into()),
            truncated: true,
            ..Summary::default()
        };
        let cases = [
            (Summary::default(), 1, 0),
            (full.clone(), u64::MAX, u64::MAX),
            (
                Summary {
                    src: Some(Addr::V4(Ipv4Addr::new(10, 0, 0, 1))),
                    dst: Some(Addr::Mac([0xff, 0, 0x0a, 1, 2, 3])),
                    proto: Some(Proto::Tcp),
                    tcp_flags: Some(0x12),
                    dns_qname: None,
                    ..full
                },
                7,
                1_700_000_000_000_000_042,
            ),
            (
                Summary {
                    proto: Some(Proto::Ip(47)),
                    tcp_flags: Some(0),
                    ..Summary::default()
                },
                2,
                5,
            ),
        ];
        for id in [0, 9, u64::MAX] {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let mut s = Summaries::new(id, tx, None);
            let mut expected = String::new();
            for (summary, n, ts) in &cases {
                s.push(summary, *n, *ts);
                expected.push_str(&ktui_wire::encode(&HelperMessage::Packet {
                    id,
                    p: to_line(summary, *n, *ts),
                }));
            }
            s.flush();
            assert_eq!(rx.recv().unwrap(), expected);
        }
    }
}
