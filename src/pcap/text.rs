//! The text line of `ktui pcap summary`: frame number, UTC time to the nanosecond, protocol,
//! source → destination (address:port, `[v6]:port`), original length, then what else is known
//! (TCP flags, ICMP type, VLAN, DNS name, the captured length of a cut frame). Columns are fixed
//! widths so lines align; a longer address (IPv6) pushes the rest of its line right.
//!
//! The DNS name is the only text from the packet; it is already printable ASCII
//! (`ktui_packet::dns`) and goes through [`crate::sanitize::line`] anyway.

use std::io::Write as _;

use ktui_packet::{Addr, Summary, push_flags};

const PROTO_WIDTH: usize = 6;
const ENDPOINT_WIDTH: usize = 21;
/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn`.
pub const UTC_WIDTH: usize = 29;

pub fn write_line(s: &Summary, n: u64, ts_ns: Option<i128>, out: &mut Vec<u8>) {
    let _ = write!(out, "{n:>7} ");
    match ts_ns {
        Some(ts_ns) => push_utc(out, ts_ns),
        // A frame without time (pcapng simple packet block): as wide as a time.
        None => pad(out, |o| o.push(b'-'), UTC_WIDTH),
    }
    out.push(b' ');
    pad(
        out,
        |o| match s.proto {
            Some(p) => {
                let _ = write!(o, "{}", p.name());
            }
            None => o.push(b'-'),
        },
        PROTO_WIDTH,
    );
    out.push(b' ');
    pad(out, |o| push_endpoint(o, s.src, s.sport), ENDPOINT_WIDTH);
    out.extend_from_slice(" → ".as_bytes());
    pad(out, |o| push_endpoint(o, s.dst, s.dport), ENDPOINT_WIDTH);
    let _ = write!(out, " {:>5}", s.len);
    if let Some(bits) = s.tcp_flags {
        out.extend_from_slice(b" [");
        push_flags(out, bits);
        out.push(b']');
    }
    if let Some(t) = s.icmp_type {
        let _ = write!(out, " type {t}");
    }
    if let Some(v) = s.vlan {
        let _ = write!(out, " vlan {v}");
    }
    if let Some(name) = &s.dns_qname {
        let _ = write!(out, " dns {}", crate::sanitize::line(name));
    }
    if s.truncated {
        let _ = write!(out, " (cut to {})", s.caplen);
    }
    out.push(b'\n');
}

/// Writes with `f`, then pads with spaces to `width` bytes (everything written is ASCII but
/// the DNS name, which is never padded).
pub fn pad(out: &mut Vec<u8>, f: impl FnOnce(&mut Vec<u8>), width: usize) {
    let start = out.len();
    f(out);
    let used = out.len() - start;
    out.extend(std::iter::repeat_n(b' ', width.saturating_sub(used)));
}

/// `address:port`, `[v6]:port`, the address alone, or `-` when there is none.
pub fn push_endpoint(out: &mut Vec<u8>, addr: Option<Addr>, port: Option<u16>) {
    match (addr, port) {
        (None, _) => out.push(b'-'),
        (Some(a @ Addr::V6(_)), Some(p)) => {
            let _ = write!(out, "[{a}]:{p}");
        }
        (Some(a), Some(p)) => {
            let _ = write!(out, "{a}:{p}");
        }
        (Some(a), None) => {
            let _ = write!(out, "{a}");
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` in UTC.
pub fn push_utc(out: &mut Vec<u8>, ts_ns: i128) {
    let secs = ts_ns.div_euclid(1_000_000_000);
    let nanos = ts_ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{nanos:09}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    );
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i128) -> (i128, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ktui_packet::Proto;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn line(s: &Summary, n: u64, ts: i128) -> String {
        let mut out = Vec::new();
        write_line(s, n, Some(ts), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn utc_times() {
        let cases = [
            (0i128, "1970-01-01 00:00:00.000000000"),
            (1_795_349_209_556_955_000, "2026-11-22 12:06:49.556955000"),
            (951_782_400_000_000_001, "2000-02-29 00:00:00.000000001"),
            (-1, "1969-12-31 23:59:59.999999999"),
        ];
        for (ns, want) in cases {
            let mut out = Vec::new();
            push_utc(&mut out, ns);
            assert_eq!(String::from_utf8(out).unwrap(), want);
        }
    }

    #[test]
    fn lines_align_and_say_what_is_known() {
        let dns = Summary {
            len: 99,
            caplen: 99,
            src: Some(Addr::V4(Ipv4Addr::new(10, 66, 0, 1))),
            dst: Some(Addr::V4(Ipv4Addr::new(10, 66, 0, 2))),
            proto: Some(Proto::Udp),
            sport: Some(53418),
            dport: Some(53),
            dns_qname: Some("api.example.test".into()),
            ..Summary::default()
        };
        let syn = Summary {
            len: 1514,
            caplen: 128,
            truncated: true,
            src: Some(Addr::V4(Ipv4Addr::new(192, 168, 100, 200))),
            dst: Some(Addr::V4(Ipv4Addr::new(10, 0, 0, 1))),
            proto: Some(Proto::Tcp),
            sport: Some(443),
            dport: Some(65535),
            tcp_flags: Some(0x12),
            vlan: Some(100),
            ..Summary::default()
        };
        let a = line(&dns, 1, 1_795_349_209_556_955_000);
        let b = line(&syn, 12345, 1_795_349_209_556_955_000);
        assert_eq!(
            a,
            "      1 2026-11-22 12:06:49.556955000 udp    10.66.0.1:53418       → 10.66.0.2:53             99 dns api.example.test\n"
        );
        assert_eq!(
            b,
            "  12345 2026-11-22 12:06:49.556955000 tcp    192.168.100.200:443   → 10.0.0.1:65535         1514 [SYN,ACK] vlan 100 (cut to 128)\n"
        );
        let six = Summary {
            src: Some(Addr::V6(Ipv6Addr::LOCALHOST)),
            sport: Some(1),
            proto: Some(Proto::Icmpv6),
            icmp_type: Some(128),
            ..Summary::default()
        };
        let l = line(&six, 2, 0);
        assert!(
            l.ends_with(" icmpv6 [::1]:1               → -                         0 type 128\n"),
            "{l}"
        );
    }

    #[test]
    fn hostile_names_never_reach_the_terminal_raw() {
        let s = Summary {
            dns_qname: Some("a\u{1b}[2J\u{202e}".into()),
            ..Summary::default()
        };
        let l = line(&s, 1, 0);
        assert!(!l.contains('\u{1b}') && !l.contains('\u{202e}'), "{l}");
    }
}
