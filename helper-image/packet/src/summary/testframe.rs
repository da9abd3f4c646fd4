//! Hand-built frames for the unit tests (header fields written byte by byte, checksums zero:
//! the parser does not check them), and what the parser's and the filter's tests share: the
//! link types both understand and a seeded random generator.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use super::LinkType;

/// Every link type the parser reads past the link header and the filter compiles for.
pub const LINKS: [LinkType; 6] = [
    LinkType::Ethernet,
    LinkType::LinuxSll,
    LinkType::LinuxSll2,
    LinkType::Raw,
    LinkType::Ipv4,
    LinkType::Ipv6,
];

/// A xorshift64 generator from `seed` (not 0): the same numbers on every run.
pub fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
    move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    }
}

pub const ETH_IPV4: u16 = 0x0800;
pub const A4: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 1);
pub const B4: Ipv4Addr = Ipv4Addr::new(10, 66, 0, 2);
pub const A6: Ipv6Addr = Ipv6Addr::new(0xfd66, 0, 0, 0, 0, 0, 0, 1);
pub const B6: Ipv6Addr = Ipv6Addr::new(0xfd66, 0, 0, 0, 0, 0, 0, 2);
pub const MAC_A: [u8; 6] = [0x02, 0x4b, 0x54, 0x00, 0x00, 0x01];
pub const BROADCAST: [u8; 6] = [0xff; 6];

pub fn eth(ether_type: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = BROADCAST.to_vec();
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&ether_type.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn vlan(id: u16, next: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = (0x2000 | id).to_be_bytes().to_vec(); // PCP 1
    f.extend_from_slice(&next.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked v1, packet type "sent by us" (4), sender MAC_A.
pub fn sll(hatype: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = 4u16.to_be_bytes().to_vec();
    f.extend_from_slice(&hatype.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&protocol.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked v2, interface index 7, packet type "to us" (0), sender MAC_A.
pub fn sll2(hatype: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = protocol.to_be_bytes().to_vec();
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&7u32.to_be_bytes());
    f.extend_from_slice(&hatype.to_be_bytes());
    f.push(0);
    f.push(6);
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

pub fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_from(A4, B4, proto, payload)
}

pub fn ipv4_from(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_raw(src, dst, proto, 0x4000, payload)
}

/// A fragment: `offset` in 8-byte units, `more` = MF.
pub fn ipv4_frag(proto: u8, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    ipv4_raw(
        A4,
        B4,
        proto,
        offset | if more { 0x2000 } else { 0 },
        payload,
    )
}

fn ipv4_raw(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, frag: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut f = vec![0x45, 0];
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&0x1234u16.to_be_bytes());
    f.extend_from_slice(&frag.to_be_bytes());
    f.extend_from_slice(&[64, proto, 0, 0]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(payload);
    f
}

pub fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    ipv6_ext(&[], next, payload)
}

/// IPv6 with the given extension headers (each 8 bytes of PadN options) before `next`.
pub fn ipv6_ext(exts: &[u8], next: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for (i, _) in exts.iter().enumerate() {
        let nh = exts.get(i + 1).copied().unwrap_or(next);
        body.extend_from_slice(&[nh, 0, 1, 4, 0, 0, 0, 0]);
    }
    body.extend_from_slice(payload);
    ipv6_with(exts.first().copied().unwrap_or(next), &body)
}

/// A fragment header (`offset` in 8-byte units) before `next`.
pub fn ipv6_frag(next: u8, offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![next, 0];
    body.extend_from_slice(&((offset << 3) | u16::from(more)).to_be_bytes());
    body.extend_from_slice(&0xabcd_0001u32.to_be_bytes());
    body.extend_from_slice(payload);
    ipv6_with(44, &body)
}

fn ipv6_with(next: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x60, 0, 0, 0];
    f.extend_from_slice(&(body.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, 64]);
    f.extend_from_slice(&A6.octets());
    f.extend_from_slice(&B6.octets());
    f.extend_from_slice(body);
    f
}

pub fn tcp(sport: u16, dport: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = sport.to_be_bytes().to_vec();
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&1000u32.to_be_bytes());
    f.extend_from_slice(&2000u32.to_be_bytes());
    f.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = sport.to_be_bytes().to_vec();
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// An 8-byte ICMP / ICMPv6 header of type `ty` (code 0, id 1, sequence 1).
pub fn icmp(ty: u8) -> Vec<u8> {
    vec![ty, 0, 0, 0, 0, 1, 0, 1]
}

/// An ARP request from MAC_A / A4 for B4.
pub fn arp_request() -> Vec<u8> {
    let mut f = vec![0, 1, 8, 0, 6, 4, 0, 1];
    f.extend_from_slice(&MAC_A);
    f.extend_from_slice(&A4.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&B4.octets());
    f
}

/// A DNS query for `name` (A, IN); `""` is the root.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut f = id.to_be_bytes().to_vec();
    f.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        f.push(label.len() as u8);
        f.extend_from_slice(label.as_bytes());
    }
    f.extend_from_slice(&[0, 0, 1, 0, 1]);
    f
}

/// One frame of every kind the parser knows, on every link type that can carry it.
pub fn all_frames() -> Vec<(LinkType, Vec<u8>)> {
    let q = dns_query(0x4b54, "api.example.test");
    let mut tcp_dns = (q.len() as u16).to_be_bytes().to_vec();
    tcp_dns.extend_from_slice(&q);
    let v4_packets = [
        ipv4(6, &tcp(57928, 9090, 0x02, b"")),
        ipv4(6, &tcp(53, 40000, 0x18, &tcp_dns)),
        ipv4(17, &udp(53418, 53, &q)),
        ipv4(1, &icmp(8)),
        ipv4(47, &[0u8; 12]),
        ipv4_frag(17, 0, true, &udp(1, 53, &q)[..16]),
        ipv4_frag(17, 2, false, &[0u8; 16]),
    ];
    let v6_packets = [
        ipv6(6, &tcp(443, 50000, 0x11, b"bye")),
        ipv6(17, &udp(40000, 53, &q)),
        ipv6(58, &icmp(135)),
        ipv6_ext(&[0, 60], 17, &udp(1, 2, b"x")),
        ipv6_frag(17, 0, true, &udp(3, 4, b"12345678")),
        ipv6_frag(17, 5, false, b"12345678"),
    ];
    let mut out = Vec::new();
    for p in &v4_packets {
        out.push((LinkType::Ethernet, eth(ETH_IPV4, p)));
        out.push((LinkType::Ethernet, eth(0x8100, &vlan(10, ETH_IPV4, p))));
        out.push((
            LinkType::Ethernet,
            eth(0x88a8, &vlan(20, 0x8100, &vlan(30, ETH_IPV4, p))),
        ));
        out.push((LinkType::LinuxSll, sll(1, ETH_IPV4, p)));
        out.push((LinkType::LinuxSll2, sll2(772, ETH_IPV4, p)));
        out.push((LinkType::Raw, p.clone()));
        out.push((LinkType::Ipv4, p.clone()));
    }
    for p in &v6_packets {
        out.push((LinkType::Ethernet, eth(0x86dd, p)));
        out.push((LinkType::LinuxSll, sll(0xfffe, 0x86dd, p)));
        out.push((LinkType::LinuxSll2, sll2(1, 0x86dd, p)));
        out.push((LinkType::Raw, p.clone()));
        out.push((LinkType::Ipv6, p.clone()));
    }
    out.push((LinkType::Ethernet, eth(0x0806, &arp_request())));
    out.push((LinkType::LinuxSll, sll(1, 0x0806, &arp_request())));
    out.push((LinkType::LinuxSll2, sll2(1, 0x0806, &arp_request())));
    out.push((LinkType::Ethernet, eth(0x88cc, &[0u8; 30])));
    out.push((LinkType::Other(147), vec![1, 2, 3, 4]));
    out
}
