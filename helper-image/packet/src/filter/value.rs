//! The values of primitives: numbers, ports, addresses and networks, with the messages that
//! say what was expected.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::FilterError;
use super::ast::{Dir, Family, IpNet, L3, L4, Prim};
use super::parse::{Kind, Qual};

/// The primitive of `kind` with these qualifiers and value word `w` (at byte `at`; the
/// primitive began at `start`), checking that the qualifiers fit.
pub(super) fn primitive(
    kind: Kind,
    qual: Option<Qual>,
    dir_q: Option<Dir>,
    w: &str,
    at: usize,
    start: usize,
) -> Result<Prim, FilterError> {
    let err = |m: String| FilterError::new(at, m);
    let dir = dir_q.unwrap_or(Dir::Either);
    match kind {
        Kind::Host | Kind::Net => {
            let net = if kind == Kind::Host {
                host(w).map_err(err)?
            } else {
                net(w).map_err(err)?
            };
            let l3 = match qual {
                None => L3::Any,
                Some(Qual::Ip) => L3::Ip,
                Some(Qual::Ip6) => L3::Ip6,
                Some(Qual::Arp) => L3::Arp,
                Some(Qual::Rarp) => L3::Rarp,
                Some(Qual::Tcp | Qual::Udp | Qual::Sctp) => {
                    return Err(FilterError::new(
                        start,
                        "`tcp`, `udp` and `sctp` qualify port and portrange, not host or \
                         net: write e.g. `tcp and host 10.0.0.1`",
                    ));
                }
            };
            if let (IpNet::V6 { .. }, L3::Ip | L3::Arp | L3::Rarp) = (net, l3) {
                return Err(err(format!(
                    "{w:?} is an IPv6 address: `ip`, `arp` and `rarp` take IPv4 ones \
                     (write `ip6 host` / `ip6 net`)"
                )));
            }
            if let (IpNet::V4 { .. }, L3::Ip6) = (net, l3) {
                return Err(err(format!(
                    "{w:?} is an IPv4 address: `ip6` takes IPv6 ones"
                )));
            }
            Ok(Prim::Net { l3, dir, net })
        }
        Kind::Port | Kind::Portrange => {
            let (lo, hi) = if kind == Kind::Port {
                let p = port(w).map_err(err)?;
                (p, p)
            } else {
                let Some((a, b)) = w.split_once('-') else {
                    return Err(err(format!(
                        "expected a port range like 8000-8080, found {w:?}"
                    )));
                };
                let (a, b) = (port(a).map_err(err)?, port(b).map_err(err)?);
                (a.min(b), a.max(b))
            };
            let l4 = match qual {
                None => L4::Any,
                Some(Qual::Tcp) => L4::Tcp,
                Some(Qual::Udp) => L4::Udp,
                Some(Qual::Sctp) => L4::Sctp,
                _ => {
                    return Err(FilterError::new(
                        start,
                        "`ip`, `ip6`, `arp` and `rarp` qualify host, net and proto, not \
                         port: write e.g. `ip and port 53` (or `tcp port 53`)",
                    ));
                }
            };
            Ok(Prim::Port { l4, dir, lo, hi })
        }
        Kind::Proto => {
            if dir_q.is_some() {
                return Err(FilterError::new(
                    start,
                    "`src` and `dst` do not apply to `proto`",
                ));
            }
            let family = match qual {
                None => Family::Any,
                Some(Qual::Ip) => Family::V4,
                Some(Qual::Ip6) => Family::V6,
                _ => {
                    return Err(FilterError::new(
                        start,
                        "only `ip` and `ip6` qualify `proto` (e.g. `ip proto 47`)",
                    ));
                }
            };
            let n = number(w)
                .and_then(|n| u8::try_from(n).ok())
                .ok_or_else(|| {
                    err(format!(
                        "expected an IP protocol number 0-255, found {w:?} (names such as \
                         tcp are primitives of their own: `tcp`, `ip and tcp`)"
                    ))
                })?;
            Ok(Prim::Proto { family, n })
        }
    }
}

pub(super) fn expected(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "an IPv4 or IPv6 address",
        Kind::Net => "a network such as 10.0.0.0/8 or fd00::/8",
        Kind::Port => "a port number 0-65535",
        Kind::Portrange => "a port range such as 8000-8080",
        Kind::Proto => "an IP protocol number 0-255",
    }
}

/// A decimal or `0x` hexadecimal number.
pub(super) fn number(w: &str) -> Option<u32> {
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16).ok(),
        _ if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => w.parse().ok(),
        _ => None,
    }
}

pub(super) fn port(w: &str) -> Result<u16, String> {
    number(w)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            format!("expected a port number 0-65535, found {w:?} (service names are not looked up)")
        })
}

pub(super) fn host(w: &str) -> Result<IpNet, String> {
    match w.parse::<IpAddr>() {
        Ok(IpAddr::V4(addr)) => Ok(IpNet::V4 { addr, prefix: 32 }),
        Ok(IpAddr::V6(addr)) => Ok(IpNet::V6 { addr, prefix: 128 }),
        Err(_) if w.contains('/') => Err(format!(
            "expected an IPv4 or IPv6 address, found {w:?} (for a network write `net {w}`)"
        )),
        Err(_) => Err(format!(
            "expected an IPv4 or IPv6 address, found {w:?} (host names are not resolved)"
        )),
    }
}

/// `A.B.C.D/len`, `A.B.C.D`, the abbreviations `A`, `A.B`, `A.B.C` (/8, /16, /24, as in
/// tcpdump), `v6/len` or `v6`. Bits beyond the prefix must be zero.
pub(super) fn net(w: &str) -> Result<IpNet, String> {
    let (addr, len) = match w.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (w, None),
    };
    let bad = || format!("expected a network such as 10.0.0.0/8 or fd00::/8, found {w:?}");
    let prefix = |max: u8| -> Result<Option<u8>, String> {
        match len {
            None => Ok(None),
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.starts_with('+') => Ok(Some(n)),
                _ => Err(format!(
                    "expected a prefix length 0-{max} after \"/\" in {w:?}, found {l:?}"
                )),
            },
        }
    };
    let v4 = if addr.contains(':') {
        None
    } else {
        let parts: Vec<&str> = addr.split('.').collect();
        let mut octets = [0u8; 4];
        if parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        for (o, p) in octets.iter_mut().zip(&parts) {
            *o = p
                .parse::<u8>()
                .ok()
                .filter(|_| p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(bad)?;
        }
        // Abbreviated forms only without an explicit length (like tcpdump).
        if parts.len() < 4 && len.is_some() {
            return Err(bad());
        }
        Some((Ipv4Addr::from(octets), (parts.len() * 8) as u8))
    };
    let net = match v4 {
        Some((addr, implied)) => {
            let prefix = prefix(32)?.unwrap_or(implied);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            if u32::from(addr) & !mask != 0 {
                return Err(non_network_bits(
                    w,
                    &Ipv4Addr::from(u32::from(addr) & mask),
                    prefix,
                ));
            }
            IpNet::V4 { addr, prefix }
        }
        None => {
            let addr: Ipv6Addr = addr.parse().map_err(|_| bad())?;
            let prefix = prefix(128)?.unwrap_or(128);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            if u128::from(addr) & !mask != 0 {
                return Err(non_network_bits(
                    w,
                    &Ipv6Addr::from(u128::from(addr) & mask),
                    prefix,
                ));
            }
            IpNet::V6 { addr, prefix }
        }
    };
    Ok(net)
}

fn non_network_bits(w: &str, fixed: &dyn std::fmt::Display, prefix: u8) -> String {
    format!(
        "{w:?} has bits set beyond its /{prefix} prefix: did you mean {fixed}/{prefix}, or `host`?"
    )
}
