//! What each primitive means on a link type, as tcpdump (libpcap 1.10) compiles it: the
//! expression becomes a tree of tests on frame bytes, folded where the link type decides a
//! test alone (`ip` on an IPv4 link is true, `arp` on a raw-IP link false).

use super::ast::{Dir, ETH_ARP, ETH_IP, ETH_IP6, ETH_RARP, Expr, Family, IpNet, L3, L4, Prim};
use super::node::{Cmp, Load, Node, Size, Test, all, any, not};
use crate::LinkType;

fn test(load: Load, cmp: Cmp, k: u32) -> Node {
    Node::Test(Test {
        load,
        mask: None,
        cmp,
        k,
    })
}

fn abs(size: Size, off: u32) -> Load {
    Load::Abs { size, off }
}

/// Where a link type puts its EtherType (or version nibble) and its network header.
#[derive(Debug, Clone, Copy)]
pub(super) struct Link {
    kind: LinkKind,
    /// Offset of the IP / ARP header.
    nl: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    /// A 16-bit EtherType at this offset.
    EtherType(u32),
    /// IPv4 or IPv6 from offset 0, told apart by the version nibble.
    Raw,
    Ipv4,
    Ipv6,
}

impl Link {
    pub fn of(link: LinkType) -> Option<Link> {
        let (kind, nl) = match link {
            LinkType::Ethernet => (LinkKind::EtherType(12), 14),
            // sll_protocol is the last field of the 16-byte header.
            LinkType::LinuxSll => (LinkKind::EtherType(14), 16),
            // SLL2 starts with its protocol; the header is 20 bytes.
            LinkType::LinuxSll2 => (LinkKind::EtherType(0), 20),
            LinkType::Raw => (LinkKind::Raw, 0),
            LinkType::Ipv4 => (LinkKind::Ipv4, 0),
            LinkType::Ipv6 => (LinkKind::Ipv6, 0),
            LinkType::Other(_) => return None,
        };
        Some(Link { kind, nl })
    }

    /// The frame carries EtherType `et`.
    fn ethertype(self, et: u16) -> Node {
        let version = |v: u32| {
            Node::Test(Test {
                load: abs(Size::B, 0),
                mask: Some(0xf0),
                cmp: Cmp::Eq,
                k: v << 4,
            })
        };
        match (self.kind, et) {
            (LinkKind::EtherType(off), et) => test(abs(Size::H, off), Cmp::Eq, u32::from(et)),
            (LinkKind::Raw, ETH_IP) => version(4),
            (LinkKind::Raw, ETH_IP6) => version(6),
            (LinkKind::Ipv4, ETH_IP) | (LinkKind::Ipv6, ETH_IP6) => Node::Const(true),
            _ => Node::Const(false),
        }
    }

    fn at(self, size: Size, off: u32) -> Load {
        abs(size, self.nl + off)
    }
}

/// Lower a whole expression. In an `or`, neighbouring primitives that differ only in their
/// value (`host a or host b`, `port 53 or 80`) become one test of the field against each value,
/// as libpcap's optimiser arranges them: fewer instructions, and each field is loaded once.
pub(super) fn lower(e: &Expr, link: Link) -> Node {
    match e {
        Expr::Prim(p) => lower_run(std::slice::from_ref(p), link),
        Expr::Not(e) => not(lower(e, link)),
        Expr::And(v) => all(v.iter().map(|e| lower(e, link)).collect()),
        Expr::Or(v) => {
            let mut out = Vec::new();
            let mut run: Vec<Prim> = Vec::new();
            for e in v {
                match e {
                    Expr::Prim(p) if run.last().is_some_and(|q| same_field(q, p)) => run.push(*p),
                    _ => {
                        if !run.is_empty() {
                            out.push(lower_run(&run, link));
                            run.clear();
                        }
                        match e {
                            Expr::Prim(p) => run.push(*p),
                            e => out.push(lower(e, link)),
                        }
                    }
                }
            }
            if !run.is_empty() {
                out.push(lower_run(&run, link));
            }
            any(out)
        }
    }
}

/// Whether two primitives compare the same field the same way, so that it is loaded once for
/// both: IPv4 addresses under equal prefixes and single ports (what libpcap's optimiser merges;
/// it keeps IPv6 addresses and port ranges apart, which matters for frames cut inside them).
fn same_field(a: &Prim, b: &Prim) -> bool {
    match (*a, *b) {
        (
            Prim::Net {
                l3,
                dir,
                net: IpNet::V4 { prefix, .. },
            },
            Prim::Net {
                l3: l3b,
                dir: dirb,
                net: IpNet::V4 { prefix: pb, .. },
            },
        ) => l3 == l3b && dir == dirb && prefix == pb,
        (
            Prim::Port { l4, dir, lo, hi },
            Prim::Port {
                l4: l4b,
                dir: dirb,
                lo: lb,
                hi: hb,
            },
        ) => l4 == l4b && dir == dirb && lo == hi && lb == hb,
        _ => false,
    }
}

/// `f(src)` / `f(dst)` / either / both, per the direction.
fn by_dir(dir: Dir, src: u32, dst: u32, f: impl Fn(u32) -> Node) -> Node {
    match dir {
        Dir::Src => f(src),
        Dir::Dst => f(dst),
        Dir::Either => any(vec![f(src), f(dst)]),
        Dir::Both => all(vec![f(src), f(dst)]),
    }
}

/// A 32-bit word compared under a mask: nothing for mask 0, no `and` for a full mask.
fn word(load: Load, value: u32, mask: u32) -> Node {
    match mask {
        0 => Node::Const(true),
        u32::MAX => test(load, Cmp::Eq, value),
        m => Node::Test(Test {
            load,
            mask: Some(m),
            cmp: Cmp::Eq,
            k: value & m,
        }),
    }
}

/// One primitive, or several that [`same_field`] groups (the first one's qualifiers).
fn lower_run(run: &[Prim], link: Link) -> Node {
    let Some(first) = run.first() else {
        return Node::Const(false);
    };
    match *first {
        Prim::EtherType(et) => link.ethertype(et),
        Prim::Proto { family, n } => match family {
            Family::V4 => ip_proto(link, n),
            Family::V6 => ip6_proto(link, n),
            Family::Any => any(vec![ip_proto(link, n), ip6_proto(link, n)]),
        },
        Prim::Net { l3, dir, net } => {
            let nets = run.iter().filter_map(|p| match p {
                Prim::Net { net, .. } => Some(*net),
                _ => None,
            });
            match net {
                IpNet::V4 { .. } => nets4(link, l3, dir, &nets.collect::<Vec<_>>()),
                IpNet::V6 { .. } => match l3 {
                    L3::Any | L3::Ip6 => nets6(link, dir, &nets.collect::<Vec<_>>()),
                    // The parser refuses a v6 address with `ip`, `arp` or `rarp`.
                    _ => Node::Const(false),
                },
            }
        }
        Prim::Port { l4, dir, .. } => {
            let ranges: Vec<(u16, u16)> = run
                .iter()
                .filter_map(|p| match p {
                    Prim::Port { lo, hi, .. } => Some((*lo, *hi)),
                    _ => None,
                })
                .collect();
            any(vec![
                port4(link, l4, dir, &ranges),
                port6(link, l4, dir, &ranges),
            ])
        }
    }
}

/// IPv4 source / destination; ARP and RARP sender / target protocol address (Ethernet/IPv4
/// ARP layout, as libpcap assumes), in any of `nets`.
fn nets4(link: Link, l3: L3, dir: Dir, nets: &[IpNet]) -> Node {
    let in_nets = |off: u32| {
        any(nets
            .iter()
            .filter_map(|n| match *n {
                IpNet::V4 { addr, prefix } => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                    Some(word(link.at(Size::W, off), u32::from(addr), mask))
                }
                IpNet::V6 { .. } => None,
            })
            .collect())
    };
    let ip = || all(vec![link.ethertype(ETH_IP), by_dir(dir, 12, 16, in_nets)]);
    let arp = |ets: &[u16]| {
        all(vec![
            any(ets.iter().map(|&et| link.ethertype(et)).collect()),
            by_dir(dir, 14, 24, in_nets),
        ])
    };
    match l3 {
        L3::Any => any(vec![ip(), arp(&[ETH_ARP, ETH_RARP])]),
        L3::Ip => ip(),
        L3::Arp => arp(&[ETH_ARP]),
        L3::Rarp => arp(&[ETH_RARP]),
        // The parser refuses a v4 address with `ip6`.
        L3::Ip6 => Node::Const(false),
    }
}

/// IPv6 source / destination in any of `nets`, word by word under the prefix.
fn nets6(link: Link, dir: Dir, nets: &[IpNet]) -> Node {
    let in_nets = |base: u32| {
        any(nets
            .iter()
            .filter_map(|n| match *n {
                IpNet::V6 { addr, prefix } => {
                    let bits = u128::from(addr);
                    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                    Some(all((0..4u32)
                        .map(|i| {
                            let shift = 96 - 32 * i;
                            let (w, m) = ((bits >> shift) as u32, (mask >> shift) as u32);
                            word(link.at(Size::W, base + 4 * i), w, m)
                        })
                        .collect()))
                }
                IpNet::V4 { .. } => None,
            })
            .collect())
    };
    all(vec![link.ethertype(ETH_IP6), by_dir(dir, 8, 24, in_nets)])
}

/// `ip proto n`: the IPv4 protocol field (fragments included, as in tcpdump).
fn ip_proto(link: Link, n: u8) -> Node {
    all(vec![
        link.ethertype(ETH_IP),
        test(link.at(Size::B, 9), Cmp::Eq, u32::from(n)),
    ])
}

/// `ip6 proto n`: the fixed header's next header, or the next header of a fragment header
/// that directly follows it (tcpdump's rule; other extension headers are not walked).
fn ip6_proto(link: Link, n: u8) -> Node {
    let nh = |v: u8| test(link.at(Size::B, 6), Cmp::Eq, u32::from(v));
    const FRAGMENT: u8 = 44;
    let inner = if n == FRAGMENT {
        Node::Const(false)
    } else {
        all(vec![
            nh(FRAGMENT),
            test(link.at(Size::B, 40), Cmp::Eq, u32::from(n)),
        ])
    };
    all(vec![link.ethertype(ETH_IP6), any(vec![nh(n), inner])])
}

fn in_ranges(load: Load, ranges: &[(u16, u16)]) -> Node {
    any(ranges
        .iter()
        .map(|&(lo, hi)| in_range(load, lo, hi))
        .collect())
}

fn in_range(load: Load, lo: u16, hi: u16) -> Node {
    let (lo, hi) = (u32::from(lo), u32::from(hi));
    if lo == hi {
        return test(load, Cmp::Eq, lo);
    }
    all(vec![
        if lo == 0 {
            Node::Const(true)
        } else {
            test(load, Cmp::Ge, lo)
        },
        if hi == 0xffff {
            Node::Const(true)
        } else {
            not(test(load, Cmp::Gt, hi))
        },
    ])
}

fn transports(link: Link, l4: L4, at: u32) -> Node {
    any(l4
        .protocols()
        .iter()
        .map(|&p| test(link.at(Size::B, at), Cmp::Eq, u32::from(p)))
        .collect())
}

/// Ports over IPv4: TCP/UDP/SCTP, not a non-first fragment, ports after the IHL-sized header.
fn port4(link: Link, l4: L4, dir: Dir, ranges: &[(u16, u16)]) -> Node {
    let port = |off: u32| {
        in_ranges(
            Load::AfterIpv4 {
                size: Size::H,
                ihl_at: link.nl,
                off: link.nl + off,
            },
            ranges,
        )
    };
    all(vec![
        link.ethertype(ETH_IP),
        transports(link, l4, 9),
        not(test(link.at(Size::H, 6), Cmp::Set, 0x1fff)),
        by_dir(dir, 0, 2, port),
    ])
}

/// Ports over IPv6: the fixed header's next header only (no extension-header walk, as in
/// tcpdump), ports right after the 40-byte header.
fn port6(link: Link, l4: L4, dir: Dir, ranges: &[(u16, u16)]) -> Node {
    all(vec![
        link.ethertype(ETH_IP6),
        transports(link, l4, 6),
        by_dir(dir, 40, 42, |o| in_ranges(link.at(Size::H, o), ranges)),
    ])
}
