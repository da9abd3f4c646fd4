//! TCP, UDP, ICMP and ICMPv6 headers (etherparse header slices), and the DNS question behind
//! port 53.
//!
//! A header cut by the snaplen gives what tshark (4.0) gives for it, so the two agree on
//! `--headers-only` captures: tshark reads a header's fields in order and stops at the first one
//! not captured. The thresholds, in bytes of the transport header captured:
//! - TCP: ports from [`TCP_PORTS`], the sequence number from [`TCP_SEQ`], the flags from
//!   [`TCP_FLAGS`] (tshark reads the window field before it shows the flags); DNS over TCP
//!   needs the whole header, options included.
//! - UDP: ports from [`UDP_PORTS`].
//! - ICMP: the type from [`ICMP_TYPE`] bytes (tshark reads type, code, checksum and the first
//!   two bytes after them before it shows any); ICMPv6: from [`ICMPV6_TYPE`].
//! - DNS: the name once the whole first question (name, type, class) is there ([`super::dns`]).

use etherparse::{TcpHeaderSlice, UdpHeaderSlice};

use super::{Summary, be16, dns};

pub const TCP_PORTS: usize = 4;
pub const TCP_SEQ: usize = 8;
pub const TCP_FLAGS: usize = 16;
pub const UDP_PORTS: usize = 4;
pub const ICMP_TYPE: usize = 6;
pub const ICMPV6_TYPE: usize = 1;

/// The DNS port: a UDP datagram or TCP segment from or to it is read as DNS.
pub const DNS_PORT: u16 = 53;

/// Reads the transport header of IP protocol `number` from `data` (what was captured of the IP
/// payload). `declared`: the payload length the IP header gives, when it gives one.
pub(super) fn read(s: &mut Summary, number: u8, data: &[u8], declared: Option<usize>) {
    match number {
        6 => tcp(s, data, declared),
        17 => udp(s, data),
        // The type is the first byte; etherparse's ICMP slices want the whole 8-byte header.
        1 if data.len() >= ICMP_TYPE => s.icmp_type = Some(data[0]),
        58 if data.len() >= ICMPV6_TYPE => s.icmp_type = Some(data[0]),
        _ => {}
    }
}

fn tcp(s: &mut Summary, data: &[u8], declared: Option<usize>) {
    // The payload length: what the IP header declares beyond the TCP header.
    let payload = |header_len: usize| {
        declared
            .and_then(|d| d.checked_sub(header_len))
            .and_then(|n| u32::try_from(n).ok())
    };
    match TcpHeaderSlice::from_slice(data) {
        Ok(h) => {
            s.sport = Some(h.source_port());
            s.dport = Some(h.destination_port());
            s.tcp_seq = Some(h.sequence_number());
            s.tcp_flags = Some(data[13]);
            let header_len = h.slice().len();
            s.tcp_payload = payload(header_len);
            if is_dns(s) {
                let segment = data.get(header_len..).unwrap_or_default();
                dns::from_tcp(s, segment);
            }
        }
        // Cut (or a data offset below 5): the fixed fields that are there.
        Err(_) => {
            if data.len() >= TCP_PORTS {
                s.sport = Some(be16(data, 0));
                s.dport = Some(be16(data, 2));
            }
            if data.len() >= TCP_SEQ {
                s.tcp_seq = Some(u32::from_be_bytes([data[4], data[5], data[6], data[7]]));
            }
            if data.len() >= TCP_FLAGS {
                s.tcp_flags = Some(data[13]);
                let header_len = usize::from(data[12] >> 4) * 4;
                if header_len >= 20 {
                    s.tcp_payload = payload(header_len);
                }
            }
        }
    }
}

fn udp(s: &mut Summary, data: &[u8]) {
    match UdpHeaderSlice::from_slice(data) {
        Ok(h) => {
            s.sport = Some(h.source_port());
            s.dport = Some(h.destination_port());
            if is_dns(s) {
                // The UDP length bounds the datagram (Ethernet padding follows it); a length
                // below the header's own (0 for a GSO super-frame) leaves the captured bytes.
                let len = usize::from(h.length());
                let end = if len >= 8 {
                    len.min(data.len())
                } else {
                    data.len()
                };
                dns::from_udp(s, data.get(8..end).unwrap_or_default());
            }
        }
        Err(_) => {
            if data.len() >= UDP_PORTS {
                s.sport = Some(be16(data, 0));
                s.dport = Some(be16(data, 2));
            }
        }
    }
}

fn is_dns(s: &Summary) -> bool {
    s.sport == Some(DNS_PORT) || s.dport == Some(DNS_PORT)
}

#[cfg(test)]
mod tests {
    use super::super::testframe::*;
    use super::super::*;
    use super::{ICMP_TYPE, ICMPV6_TYPE, TCP_FLAGS, TCP_PORTS};

    fn cut(link: LinkType, f: &[u8], keep: usize) -> Summary {
        summarize(link, &f[..keep], f.len() as u32)
    }

    #[test]
    fn cut_tcp_header_thresholds() {
        let f = ipv4(6, &tcp(57928, 9090, 0x02, b""));
        assert_eq!(cut(LinkType::Raw, &f, 20 + TCP_PORTS - 1).sport, None);
        let ports = cut(LinkType::Raw, &f, 20 + TCP_PORTS);
        assert_eq!(
            (ports.sport, ports.dport, ports.tcp_flags),
            (Some(57928), Some(9090), None)
        );
        assert_eq!(ports.proto, Some(Proto::Tcp));
        assert!(ports.truncated);
        assert_eq!(cut(LinkType::Raw, &f, 20 + TCP_FLAGS - 1).tcp_flags, None);
        let flags = cut(LinkType::Raw, &f, 20 + TCP_FLAGS);
        assert_eq!(flags.tcp_flags, Some(0x02));
        // The data offset is in the cut header: the payload length still follows from IP.
        assert_eq!(flags.tcp_payload, Some(0));
    }

    #[test]
    fn tcp_payload_length_comes_from_ip_not_the_capture() {
        let f = ipv4(6, &tcp(1, 2, 0x18, &[0u8; 1000]));
        let s = cut(LinkType::Raw, &f, 20 + 20 + 10);
        assert_eq!((s.tcp_payload, s.tcp_flags), (Some(1000), Some(0x18)));
    }

    #[test]
    fn bad_tcp_data_offset_keeps_the_fixed_fields() {
        let mut seg = tcp(1, 2, 0x10, b"");
        seg[12] = 0x30; // data offset 3 (12 bytes): invalid
        let s = summarize(LinkType::Raw, &ipv4(6, &seg), 40);
        assert_eq!(
            (s.sport, s.tcp_flags, s.tcp_payload),
            (Some(1), Some(0x10), None)
        );
    }

    #[test]
    fn cut_udp_and_icmp() {
        let f = ipv4(17, &udp(53418, 53, b"abc"));
        assert_eq!(cut(LinkType::Raw, &f, 23).sport, None);
        assert_eq!(cut(LinkType::Raw, &f, 24).dport, Some(53));
        let f = ipv4(1, &icmp(8));
        assert_eq!(cut(LinkType::Raw, &f, 20 + ICMP_TYPE - 1).icmp_type, None);
        assert_eq!(cut(LinkType::Raw, &f, 20 + ICMP_TYPE).icmp_type, Some(8));
        let f = ipv6(58, &icmp(135));
        assert_eq!(cut(LinkType::Raw, &f, 40).icmp_type, None);
        assert_eq!(
            cut(LinkType::Raw, &f, 40 + ICMPV6_TYPE).icmp_type,
            Some(135)
        );
    }

    #[test]
    fn icmp_error_keeps_the_outer_header() {
        // Port unreachable quoting the UDP datagram that caused it.
        let quoted = ipv4_from(B4, A4, 17, &udp(40000, 9999, b"q"));
        let mut body = icmp(3);
        body[1] = 3;
        body.extend_from_slice(&quoted);
        let f = ipv4(1, &body);
        let s = summarize(LinkType::Raw, &f, f.len() as u32);
        assert_eq!((s.proto, s.icmp_type), (Some(Proto::Icmp), Some(3)));
        assert_eq!((s.src, s.dst), (Some(Addr::V4(A4)), Some(Addr::V4(B4))));
        assert_eq!((s.sport, s.dport), (None, None));
    }

    #[test]
    fn dns_over_udp_and_tcp_both_directions() {
        let q = dns_query(7, "db.example.test");
        for (sp, dp) in [(40000, 53), (53, 40000)] {
            let f = ipv4(17, &udp(sp, dp, &q));
            let s = summarize(LinkType::Raw, &f, f.len() as u32);
            assert_eq!(s.dns_qname.as_deref(), Some("db.example.test"));
            let mut framed = (q.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&q);
            let f = ipv6(6, &tcp(sp, dp, 0x18, &framed));
            let s = summarize(LinkType::Raw, &f, f.len() as u32);
            assert_eq!(s.dns_qname.as_deref(), Some("db.example.test"));
        }
        // Not port 53: no name even when the payload is DNS.
        let f = ipv4(17, &udp(5353, 5353, &q));
        assert_eq!(summarize(LinkType::Raw, &f, f.len() as u32).dns_qname, None);
    }

    #[test]
    fn udp_length_bounds_the_dns_message() {
        let q = dns_query(7, "a.test");
        let mut seg = udp(40000, 53, &q);
        // Claim a datagram shorter than the question: no name.
        let short = (8 + 12 + 3) as u16;
        seg[4..6].copy_from_slice(&short.to_be_bytes());
        let f = ipv4(17, &seg);
        assert_eq!(summarize(LinkType::Raw, &f, f.len() as u32).dns_qname, None);
    }
}
