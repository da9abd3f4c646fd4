//! The `--json` line written straight into a byte buffer: the same bytes serde_json writes for
//! the [`ktui_wire::PacketLine`] of [`super::Summary::to_line`] (field order, `null`s, string
//! escapes), without building the Strings. Integers and IPv4 addresses are written by hand; an
//! IPv6 address goes through the standard library's formatter (RFC 5952, as `to_line` has it).

use std::io::Write as _;

use super::{Addr, Proto, Summary, push_flags, static_name};

const HEX: &[u8; 16] = b"0123456789abcdef";

pub(super) fn write_line(s: &Summary, n: u64, ts_ns: Option<i128>, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"n\":");
    push_u64(out, n);
    match ts_ns {
        Some(ts_ns) => {
            out.extend_from_slice(b",\"ts\":\"");
            push_ts(out, ts_ns);
            out.extend_from_slice(b"\",\"len\":");
        }
        None => out.extend_from_slice(b",\"ts\":null,\"len\":"),
    }
    push_u64(out, u64::from(s.len));
    out.extend_from_slice(b",\"caplen\":");
    push_u64(out, u64::from(s.caplen));
    out.extend_from_slice(b",\"src\":");
    push_addr(out, s.src);
    out.extend_from_slice(b",\"dst\":");
    push_addr(out, s.dst);
    out.extend_from_slice(b",\"proto\":");
    match s.proto {
        None => out.extend_from_slice(b"null"),
        Some(Proto::Ip(n)) => {
            out.push(b'"');
            push_u64(out, u64::from(n));
            out.push(b'"');
        }
        Some(p) => {
            out.push(b'"');
            out.extend_from_slice(static_name(p).as_bytes());
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"sport\":");
    push_opt(out, s.sport.map(u64::from));
    out.extend_from_slice(b",\"dport\":");
    push_opt(out, s.dport.map(u64::from));
    out.extend_from_slice(b",\"tcp_flags\":");
    match s.tcp_flags {
        None => out.extend_from_slice(b"null"),
        Some(bits) => {
            out.push(b'"');
            push_flags(out, bits);
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"icmp_type\":");
    push_opt(out, s.icmp_type.map(u64::from));
    out.extend_from_slice(b",\"vlan\":");
    push_opt(out, s.vlan.map(u64::from));
    out.extend_from_slice(b",\"dns_qname\":");
    match &s.dns_qname {
        None => out.extend_from_slice(b"null"),
        Some(name) => push_str(out, name),
    }
    out.extend_from_slice(if s.truncated {
        b",\"truncated\":true}\n"
    } else {
        b",\"truncated\":false}\n"
    });
}

/// Epoch seconds with exactly 9 decimals (`-` before a time before the epoch).
pub(super) fn push_ts(out: &mut Vec<u8>, ts_ns: i128) {
    if ts_ns < 0 {
        out.push(b'-');
    }
    let abs = ts_ns.unsigned_abs();
    let secs = abs / 1_000_000_000;
    let frac = (abs % 1_000_000_000) as u32;
    match u64::try_from(secs) {
        Ok(s) => push_u64(out, s),
        // Beyond u64 seconds (only a hostile if_tsoffset gets here).
        Err(_) => {
            let _ = write!(out, "{secs}");
        }
    }
    out.push(b'.');
    let mut digits = [b'0'; 9];
    let mut f = frac;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (f % 10) as u8;
        f /= 10;
    }
    out.extend_from_slice(&digits);
}

pub(super) fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn push_opt(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        None => out.extend_from_slice(b"null"),
        Some(v) => push_u64(out, v),
    }
}

fn push_addr(out: &mut Vec<u8>, a: Option<Addr>) {
    let Some(a) = a else {
        out.extend_from_slice(b"null");
        return;
    };
    out.push(b'"');
    push_addr_text(out, a);
    out.push(b'"');
}

/// The address as [`Addr`]'s `Display` writes it.
pub fn push_addr_text(out: &mut Vec<u8>, a: Addr) {
    match a {
        Addr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                push_u64(out, u64::from(octet));
            }
        }
        // Vec's Write never fails.
        Addr::V6(v6) => {
            let _ = write!(out, "{v6}");
        }
        Addr::Mac(m) => {
            for (i, b) in m.into_iter().enumerate() {
                if i > 0 {
                    out.push(b':');
                }
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
}

/// A JSON string as serde_json escapes it: `"`, `\`, and the C0 controls (short escapes for
/// \b \t \n \f \r, `\u00xx` for the rest); everything else as is.
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::super::testframe::*;
    use super::super::*;
    use super::*;

    fn serde_line(s: &Summary, n: u64, ts: Option<i128>) -> String {
        serde_json::to_string(&s.to_line(n, ts)).unwrap() + "\n"
    }

    fn fast_line(s: &Summary, n: u64, ts: Option<i128>) -> String {
        let mut out = Vec::new();
        s.write_json_line(n, ts, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn timestamps_have_nine_decimals() {
        let cases = [
            (0i128, "0.000000000"),
            (1_700_000_000_123_456_789, "1700000000.123456789"),
            (1_795_349_209_556_955_000, "1795349209.556955000"),
            (5, "0.000000005"),
            (-1_500_000_000, "-1.500000000"),
            (i128::MAX, "170141183460469231731687303715.884105727"),
        ];
        for (ns, text) in cases {
            let mut out = Vec::new();
            push_ts(&mut out, ns);
            assert_eq!(String::from_utf8(out).unwrap(), text);
        }
        let mut out = Vec::new();
        push_ts(&mut out, i128::MIN);
        assert!(out.starts_with(b"-170141183460469231731687303715.88410572"));
    }

    #[test]
    fn every_test_frame_and_cut_matches_serde_json() {
        let mut n = 0u64;
        for (link, frame) in all_frames() {
            for cut in 0..=frame.len() {
                n += 1;
                let s = summarize(link, &frame[..cut], frame.len() as u32);
                let ts = Some(1_795_349_209_556_955_000i128 + i128::from(n as u32) * 7_919);
                assert_eq!(
                    fast_line(&s, n, ts),
                    serde_line(&s, n, ts),
                    "{link:?} cut {cut}"
                );
            }
        }
        assert!(n > 1000, "{n}");
    }

    /// Summaries with every field combination the parser can produce and some it cannot
    /// (nulls everywhere, extreme numbers, names needing JSON escapes), from a seeded generator.
    #[test]
    fn random_summaries_match_serde_json() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        let names = [
            "",
            "a.b",
            "q\"uote",
            "back\\slash",
            "\u{1}\u{1f}\t\n\r\u{8}\u{c}",
            "é日本",
            "\u{7f}x",
        ];
        for i in 0..20_000u64 {
            let r = next();
            let addr = |k: u64| match k % 4 {
                0 => None,
                1 => Some(Addr::V4(std::net::Ipv4Addr::from((k >> 8) as u32))),
                2 => Some(Addr::V6(std::net::Ipv6Addr::from(
                    (u128::from(k) << 64 | u128::from(k.rotate_left(17)))
                        & if k & 0x100 != 0 {
                            0xffff_ffff_ffff
                        } else {
                            u128::MAX
                        },
                ))),
                _ => Some(Addr::Mac((k >> 8).to_be_bytes()[..6].try_into().unwrap())),
            };
            let protos = [
                None,
                Some(Proto::Tcp),
                Some(Proto::Udp),
                Some(Proto::Icmp),
                Some(Proto::Icmpv6),
                Some(Proto::Arp),
                Some(Proto::Ip((r >> 3) as u8)),
                Some(Proto::Other),
            ];
            let s = Summary {
                len: (r >> 32) as u32,
                caplen: r as u32,
                src: addr(next()),
                dst: addr(next()),
                proto: protos[(r % 8) as usize],
                sport: (r & 0x10 != 0).then_some((r >> 16) as u16),
                dport: (r & 0x20 != 0).then_some((r >> 24) as u16),
                tcp_flags: (r & 0x40 != 0).then_some((r >> 40) as u8),
                icmp_type: (r & 0x80 != 0).then_some((r >> 48) as u8),
                vlan: (r & 0x100 != 0).then_some((r >> 52) as u16 & 0xfff),
                dns_qname: (r & 0x200 != 0)
                    .then(|| names[(r >> 56) as usize % names.len()].to_string()),
                truncated: r & 0x400 != 0,
                tcp_seq: None,
                tcp_payload: None,
            };
            let n = if i % 3 == 0 { u64::MAX - i } else { i };
            // Every seventh frame has no time (a pcapng simple packet block): `"ts":null`.
            let ts = (i % 7 != 0).then(|| i128::from(next() as i64) * 1_000);
            assert_eq!(fast_line(&s, n, ts), serde_line(&s, n, ts), "{s:?}");
        }
    }
}
