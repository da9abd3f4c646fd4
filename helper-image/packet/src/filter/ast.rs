//! The parsed filter: primitives combined with and / or / not. `Display` prints it back in
//! tcpdump syntax, fully parenthesised (so it means the same to tcpdump and to us).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Expr {
    Prim(Prim),
    Not(Box<Expr>),
    /// Two or more operands.
    And(Vec<Expr>),
    /// Two or more operands.
    Or(Vec<Expr>),
}

/// Which address or port of a packet a primitive looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dir {
    Src,
    Dst,
    /// No qualifier, or `src or dst`.
    Either,
    /// `src and dst`.
    Both,
}

/// The protocols a `host` / `net` primitive applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum L3 {
    /// IPv4, ARP and RARP for a v4 address; IPv6 for a v6 one.
    Any,
    Ip,
    Ip6,
    Arp,
    Rarp,
}

/// The transports a `port` primitive applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum L4 {
    /// TCP, UDP and SCTP.
    Any,
    Tcp,
    Udp,
    Sctp,
}

impl L4 {
    pub fn protocols(self) -> &'static [u8] {
        match self {
            L4::Any => &[132, 6, 17],
            L4::Tcp => &[6],
            L4::Udp => &[17],
            L4::Sctp => &[132],
        }
    }
}

/// The IP versions a `proto` primitive applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Any,
    V4,
    V6,
}

/// An address with a prefix length (a host is a full-length prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IpNet {
    V4 { addr: Ipv4Addr, prefix: u8 },
    V6 { addr: Ipv6Addr, prefix: u8 },
}

impl IpNet {
    pub fn is_host(self) -> bool {
        match self {
            IpNet::V4 { prefix, .. } => prefix == 32,
            IpNet::V6 { prefix, .. } => prefix == 128,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prim {
    /// `ip`, `ip6`, `arp`, `rarp`: the frame carries this EtherType.
    EtherType(u16),
    /// `proto N`, `ip proto N`, `ip6 proto N` (and `tcp`, `udp`, `sctp`, `icmp`, `icmp6`).
    Proto { family: Family, n: u8 },
    /// `host ADDR` and `net CIDR`.
    Net { l3: L3, dir: Dir, net: IpNet },
    /// `port N` and `portrange A-B` (lo <= hi).
    Port { l4: L4, dir: Dir, lo: u16, hi: u16 },
}

pub(super) const ETH_IP: u16 = 0x0800;
pub(super) const ETH_IP6: u16 = 0x86dd;
pub(super) const ETH_ARP: u16 = 0x0806;
pub(super) const ETH_RARP: u16 = 0x8035;

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::Src => "src ",
            Dir::Dst => "dst ",
            Dir::Either => "",
            Dir::Both => "src and dst ",
        })
    }
}

impl fmt::Display for Prim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Prim::EtherType(t) => f.write_str(match t {
                ETH_IP => "ip",
                ETH_IP6 => "ip6",
                ETH_ARP => "arp",
                _ => "rarp",
            }),
            Prim::Proto { family, n } => {
                let fam = match family {
                    Family::Any => "",
                    Family::V4 => "ip ",
                    Family::V6 => "ip6 ",
                };
                write!(f, "{fam}proto {n}")
            }
            Prim::Net { l3, dir, net } => {
                let q = match l3 {
                    L3::Any => "",
                    L3::Ip => "ip ",
                    L3::Ip6 => "ip6 ",
                    L3::Arp => "arp ",
                    L3::Rarp => "rarp ",
                };
                match net {
                    n if n.is_host() => match n {
                        IpNet::V4 { addr, .. } => write!(f, "{q}{dir}host {addr}"),
                        IpNet::V6 { addr, .. } => write!(f, "{q}{dir}host {addr}"),
                    },
                    IpNet::V4 { addr, prefix } => write!(f, "{q}{dir}net {addr}/{prefix}"),
                    IpNet::V6 { addr, prefix } => write!(f, "{q}{dir}net {addr}/{prefix}"),
                }
            }
            Prim::Port { l4, dir, lo, hi } => {
                let q = match l4 {
                    L4::Any => "",
                    L4::Tcp => "tcp ",
                    L4::Udp => "udp ",
                    L4::Sctp => "sctp ",
                };
                if lo == hi {
                    write!(f, "{q}{dir}port {lo}")
                } else {
                    write!(f, "{q}{dir}portrange {lo}-{hi}")
                }
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, items: &[Expr], op: &str| {
            for (i, e) in items.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                match e {
                    Expr::Prim(_) | Expr::Not(_) => write!(f, "{e}")?,
                    _ => write!(f, "({e})")?,
                }
            }
            Ok(())
        };
        match self {
            Expr::Prim(p) => write!(f, "{p}"),
            Expr::Not(e) => match **e {
                Expr::Prim(_) | Expr::Not(_) => write!(f, "not {e}"),
                _ => write!(f, "not ({e})"),
            },
            Expr::And(items) => list(f, items, "and"),
            Expr::Or(items) => list(f, items, "or"),
        }
    }
}
