//! The nfnetlink and ctnetlink encodings the conntrack socket needs (netfilter/nfnetlink.h,
//! netfilter/nfnetlink_conntrack.h; netlink itself is [`crate::netlink`]): attributes read
//! from the kernel's answers into entries, and the two requests (a dump, a GET by tuple)
//! written. Pure functions, tested on a real dump.

use super::{Entry, TCP_STATES, Tuple, mapped, udp_state};
use crate::netfmt::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use crate::netlink::{attr, attrs, find, nested};

/// nfnetlink message type: subsystem in the high byte.
const CT_GET: u16 = (1 << 8) | 1;

const CTA_TUPLE_ORIG: u16 = 1;
const CTA_TUPLE_REPLY: u16 = 2;
const CTA_STATUS: u16 = 3;
const CTA_PROTOINFO: u16 = 4;
const CTA_TUPLE_IP: u16 = 1;
const CTA_TUPLE_PROTO: u16 = 2;
const CTA_IP_V4_SRC: u16 = 1;
const CTA_IP_V4_DST: u16 = 2;
const CTA_IP_V6_SRC: u16 = 3;
const CTA_IP_V6_DST: u16 = 4;
const CTA_PROTO_NUM: u16 = 1;
const CTA_PROTO_SRC_PORT: u16 = 2;
const CTA_PROTO_DST_PORT: u16 = 3;
const CTA_PROTOINFO_TCP: u16 = 1;
const CTA_PROTOINFO_TCP_STATE: u16 = 1;
/// The multicast group of destroyed entries.
pub const NFNLGRP_CONNTRACK_DESTROY: u32 = 3;
const IPS_SEEN_REPLY: u32 = 1 << 1;
const IPS_ASSURED: u32 = 1 << 2;

fn be16(p: &[u8]) -> Option<u16> {
    Some(u16::from_be_bytes(p.get(..2)?.try_into().ok()?))
}

fn addr(p: &[u8]) -> Option<[u8; 16]> {
    match p.len() {
        4 => Some(mapped([p[0], p[1], p[2], p[3]])),
        16 => p.try_into().ok(),
        _ => None,
    }
}

/// A `CTA_TUPLE_*` nest, for TCP and UDP.
fn tuple(buf: &[u8]) -> Option<Tuple> {
    let ip = find(buf, CTA_TUPLE_IP)?;
    let proto = find(buf, CTA_TUPLE_PROTO)?;
    let (mut src, mut dst) = (None, None);
    for (ty, p) in attrs(ip) {
        match ty {
            CTA_IP_V4_SRC | CTA_IP_V6_SRC => src = addr(p),
            CTA_IP_V4_DST | CTA_IP_V6_DST => dst = addr(p),
            _ => {}
        }
    }
    let num = u16::from(*find(proto, CTA_PROTO_NUM)?.first()?);
    if !matches!(num, IPPROTO_TCP | IPPROTO_UDP) {
        return None;
    }
    Some(Tuple {
        proto: num as u8,
        src: src?,
        dst: dst?,
        sport: be16(find(proto, CTA_PROTO_SRC_PORT)?)?,
        dport: be16(find(proto, CTA_PROTO_DST_PORT)?)?,
    })
}

/// One conntrack message's attributes (after the nfgenmsg header) as an entry; None for
/// protocols other than TCP and UDP.
pub fn entry(buf: &[u8]) -> Option<Entry> {
    let orig = tuple(find(buf, CTA_TUPLE_ORIG)?)?;
    let reply = tuple(find(buf, CTA_TUPLE_REPLY)?)?;
    let status = find(buf, CTA_STATUS)
        .and_then(|p| Some(u32::from_be_bytes(p.get(..4)?.try_into().ok()?)))
        .unwrap_or(0);
    let state = if u16::from(orig.proto) == IPPROTO_TCP {
        find(buf, CTA_PROTOINFO)
            .and_then(|p| find(p, CTA_PROTOINFO_TCP))
            .and_then(|p| find(p, CTA_PROTOINFO_TCP_STATE))
            .and_then(|p| TCP_STATES.get(usize::from(*p.first()?)).copied())
    } else {
        Some(udp_state(
            status & IPS_SEEN_REPLY != 0,
            status & IPS_ASSURED != 0,
        ))
    };
    Some(Entry { orig, reply, state })
}

/// A ctnetlink GET request (`flags` besides NLM_F_REQUEST) for `family`.
pub fn request(seq: u32, flags: u16, family: u16, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    crate::netlink::request(CT_GET, flags, seq, |buf| {
        // nfgenmsg: family, NFNETLINK_V0, res_id (big endian) 0.
        buf.extend_from_slice(&[family as u8, 0, 0, 0]);
        body(buf);
    })
}

/// The GET request for the entry `t` is one direction of.
pub fn get_request(seq: u32, t: &Tuple) -> Vec<u8> {
    let v4 = t.is_v4();
    request(seq, 0, if v4 { AF_INET } else { AF_INET6 }, |buf| {
        nested(buf, CTA_TUPLE_ORIG, |buf| {
            nested(buf, CTA_TUPLE_IP, |buf| {
                if v4 {
                    attr(buf, CTA_IP_V4_SRC, &t.src[12..]);
                    attr(buf, CTA_IP_V4_DST, &t.dst[12..]);
                } else {
                    attr(buf, CTA_IP_V6_SRC, &t.src);
                    attr(buf, CTA_IP_V6_DST, &t.dst);
                }
            });
            nested(buf, CTA_TUPLE_PROTO, |buf| {
                attr(buf, CTA_PROTO_NUM, &[t.proto]);
                attr(buf, CTA_PROTO_SRC_PORT, &t.sport.to_be_bytes());
                attr(buf, CTA_PROTO_DST_PORT, &t.dport.to_be_bytes());
            });
        });
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::procfs;
    use crate::conntrack::tests::v4;
    use crate::netlink::{NLA_F_NESTED, NLM_F_REQUEST, NLMSG_DONE, messages};

    fn fixture() -> Vec<u8> {
        let hex: String = include_str!("../../tests/fixtures/conntrack/ctnetlink-dump-ipv4.hex")
            .split_whitespace()
            .collect();
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn a_real_dump_parses_to_the_entries_proc_shows() {
        let buf = fixture();
        let msgs: Vec<_> = messages(&buf).collect();
        assert_eq!(msgs.len(), 6);
        assert_eq!(msgs.last().unwrap().0, NLMSG_DONE);
        assert!(
            msgs[..5]
                .iter()
                .all(|(ty, seq, _)| *ty == (1 << 8) && *seq == 1)
        );
        let from_netlink: Vec<Entry> = msgs[..5]
            .iter()
            .filter_map(|(_, _, p)| entry(&p[4..]))
            .collect();
        let text = include_str!("../../tests/fixtures/conntrack/nf_conntrack.txt");
        let from_proc: Vec<Entry> = procfs::parse(text).collect();
        assert_eq!(from_netlink.len(), 5);
        assert_eq!(from_netlink, from_proc);
        let est = from_netlink
            .iter()
            .find(|e| e.state == Some("ESTABLISHED"))
            .unwrap();
        assert_eq!(est.orig, v4(6, "10.79.200.2", 58704, "10.96.200.10", 80));
        assert_eq!(est.reply, v4(6, "10.79.201.2", 8080, "10.79.200.2", 58704));
        assert_eq!(est.nat(), Some("dnat"));
        let udp = from_netlink.iter().find(|e| e.orig.proto == 17).unwrap();
        assert_eq!(udp.state, Some("REPLIED"));
        assert_eq!(udp.reply.sport, 5353);
        let stalled = from_netlink
            .iter()
            .find(|e| e.state == Some("SYN_SENT"))
            .unwrap();
        assert_eq!(stalled.nat(), None, "no rule for :81 then");
    }

    #[test]
    fn truncated_or_garbage_input_ends_the_parse_without_panicking() {
        let buf = fixture();
        for cut in 0..buf.len().min(400) {
            for (_, _, p) in messages(&buf[..cut]) {
                let _ = p.get(4..).and_then(entry);
            }
        }
        assert_eq!(
            messages(&[0u8; 16]).count(),
            0,
            "a zero-length message ends the parse"
        );
        let mut short = [0u8; 32];
        short[0] = 8; // shorter than a netlink header
        assert_eq!(
            messages(&short).count(),
            0,
            "a message shorter than its header"
        );
        assert_eq!(attrs(&[8, 0, 1, 0, 1, 2]).count(), 0, "length past the end");
        assert_eq!(
            attrs(&[2, 0, 1, 0, 1, 2, 3, 4]).count(),
            0,
            "length below a header"
        );
        assert_eq!(
            attrs(&[5, 0, 0x01, 0x80, 7, 0, 0, 0, 6, 0, 2, 0, 1, 2])
                .map(|(t, p)| (t, p.to_vec()))
                .collect::<Vec<_>>(),
            vec![(1, vec![7]), (2, vec![1, 2])],
            "flags masked off, padding skipped, an unpadded last attribute kept"
        );
    }

    #[test]
    fn a_get_request_carries_the_tuple_in_the_kernel_layout() {
        let t = v4(6, "10.79.200.2", 58704, "10.96.200.10", 80);
        let req = get_request(7, &t);
        let (ty, seq, payload) = messages(&req).next().unwrap();
        assert_eq!((ty, seq), (CT_GET, 7));
        assert_eq!(
            u32::from_ne_bytes(req[0..4].try_into().unwrap()) as usize,
            req.len()
        );
        assert_eq!(u16::from_ne_bytes([req[6], req[7]]), NLM_F_REQUEST);
        assert_eq!(&payload[..4], &[AF_INET as u8, 0, 0, 0]);
        let orig = find(&payload[4..], CTA_TUPLE_ORIG).unwrap();
        assert_eq!(tuple(orig), Some(t));
        let ip = find(orig, CTA_TUPLE_IP).unwrap();
        assert_eq!(find(ip, CTA_IP_V4_DST), Some(&[10, 96, 200, 10][..]));
        // The nests are flagged, as the kernel's strict parsers expect.
        assert_eq!(
            u16::from_ne_bytes([payload[6], payload[7]]),
            CTA_TUPLE_ORIG | NLA_F_NESTED
        );

        let v6: [u8; 16] = "fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets();
        let t6 = Tuple { src: v6, ..t };
        let req = get_request(8, &t6);
        let (_, _, payload) = messages(&req).next().unwrap();
        assert_eq!(payload[0], AF_INET6 as u8);
        let orig = find(&payload[4..], CTA_TUPLE_ORIG).unwrap();
        assert_eq!(
            find(find(orig, CTA_TUPLE_IP).unwrap(), CTA_IP_V6_SRC),
            Some(&v6[..])
        );
    }
}
