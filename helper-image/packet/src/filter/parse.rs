//! Recursive descent over the tokens, bounded by [`MAX_DEPTH`]: text in, [`Expr`] out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ast::{Dir, ETH_ARP, ETH_IP, ETH_IP6, ETH_RARP, Expr, Family, IpNet, L3, L4, Prim};
use super::lex::{Tok, Token, tokens};
use super::{FilterError, MAX_DEPTH, MAX_LEN};

/// Parse a whole filter; `None` for an empty one (it accepts every packet, as in tcpdump).
pub(super) fn parse(text: &str) -> Result<Option<Expr>, FilterError> {
    if text.len() > MAX_LEN {
        return Err(FilterError::new(
            MAX_LEN,
            format!(
                "the filter is {} bytes long, more than the {MAX_LEN} allowed: shorten it (a net \
                 covers many hosts, a portrange many ports)",
                text.len()
            ),
        ));
    }
    let toks = tokens(text)?;
    let mut p = Parser {
        toks,
        i: 0,
        nesting: 0,
        last: None,
    };
    if p.peek().tok == Tok::End {
        return Ok(None);
    }
    let (expr, _) = p.expr()?;
    let t = p.peek();
    match t.tok {
        Tok::End => Ok(Some(expr)),
        Tok::RParen => Err(FilterError::new(
            t.at,
            "unbalanced \")\": there is no \"(\" before it",
        )),
        _ => Err(FilterError::new(
            t.at,
            format!(
                "expected `and`, `or` or the end of the filter, found {}",
                t.tok.describe()
            ),
        )),
    }
}

/// What a primitive's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Host,
    Net,
    Port,
    Portrange,
    Proto,
}

/// A protocol word before a primitive (`ip host`, `tcp port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qual {
    Ip,
    Ip6,
    Arp,
    Rarp,
    Tcp,
    Udp,
    Sctp,
}

impl Qual {
    fn of(w: &str) -> Option<Qual> {
        Some(match w {
            "ip" => Qual::Ip,
            "ip6" => Qual::Ip6,
            "arp" => Qual::Arp,
            "rarp" => Qual::Rarp,
            "tcp" => Qual::Tcp,
            "udp" => Qual::Udp,
            "sctp" => Qual::Sctp,
            _ => return None,
        })
    }

    /// The primitive this word is on its own (`tcp` = `proto 6` over IPv4 and IPv6).
    fn alone(self) -> Prim {
        match self {
            Qual::Ip => Prim::EtherType(ETH_IP),
            Qual::Ip6 => Prim::EtherType(ETH_IP6),
            Qual::Arp => Prim::EtherType(ETH_ARP),
            Qual::Rarp => Prim::EtherType(ETH_RARP),
            Qual::Tcp => proto_any(6),
            Qual::Udp => proto_any(17),
            Qual::Sctp => proto_any(132),
        }
    }
}

fn proto_any(n: u8) -> Prim {
    Prim::Proto {
        family: Family::Any,
        n,
    }
}

fn kind_of(w: &str) -> Option<Kind> {
    Some(match w {
        "host" => Kind::Host,
        "net" => Kind::Net,
        "port" => Kind::Port,
        "portrange" => Kind::Portrange,
        "proto" => Kind::Proto,
        _ => return None,
    })
}

fn is_keyword(w: &str) -> bool {
    Qual::of(w).is_some()
        || kind_of(w).is_some()
        || matches!(w, "and" | "or" | "not" | "src" | "dst" | "icmp" | "icmp6")
}

/// The qualifiers of the last primitive, which a bare value repeats (`port 53 or 80`).
#[derive(Debug, Clone, Copy)]
struct Quals {
    qual: Option<Qual>,
    dir: Option<Dir>,
    kind: Kind,
}

struct Parser<'a> {
    toks: Vec<Token<'a>>,
    i: usize,
    /// Open parentheses and `not`s around the current position.
    nesting: usize,
    last: Option<Quals>,
}

fn expected_prim(t: &Token<'_>) -> FilterError {
    FilterError::new(
        t.at,
        format!(
            "expected a primitive (host, net, port, portrange, proto, tcp, udp, sctp, icmp, \
             icmp6, arp, rarp, ip, ip6), `not` or \"(\", found {}",
            t.tok.describe()
        ),
    )
}

fn too_deep(at: usize) -> FilterError {
    FilterError::new(
        at,
        format!(
            "the filter nests more than {MAX_DEPTH} levels (parentheses, `not`s and changes \
             between `and` and `or`): simplify it"
        ),
    )
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token<'a> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Token<'a> {
        let end = Token {
            tok: Tok::End,
            at: self.toks.last().map_or(0, |t| t.at),
        };
        self.toks.get(self.i + n).copied().unwrap_or(end)
    }

    fn bump(&mut self) -> Token<'a> {
        let t = self.peek();
        self.i += 1;
        t
    }

    fn word_at(&self, n: usize) -> Option<&'a str> {
        match self.peek_at(n).tok {
            Tok::Word(w) => Some(w),
            _ => None,
        }
    }

    /// `expr := unary (("and"|"&&"|"or"|"||") unary)*`: `and` and `or` have equal precedence
    /// and group from the left, as in tcpdump. Returns the expression and its tree depth.
    fn expr(&mut self) -> Result<(Expr, usize), FilterError> {
        let (mut acc, mut depth) = self.unary()?;
        loop {
            let t = self.peek();
            let is_and = match t.tok {
                Tok::AndAnd | Tok::Word("and") => true,
                Tok::OrOr | Tok::Word("or") => false,
                _ => return Ok((acc, depth)),
            };
            self.bump();
            let (rhs, d) = self.unary()?;
            (acc, depth) = match (acc, is_and) {
                (Expr::And(mut v), true) => {
                    v.push(rhs);
                    (Expr::And(v), depth.max(d + 1))
                }
                (Expr::Or(mut v), false) => {
                    v.push(rhs);
                    (Expr::Or(v), depth.max(d + 1))
                }
                (lhs, true) => (Expr::And(vec![lhs, rhs]), depth.max(d) + 1),
                (lhs, false) => (Expr::Or(vec![lhs, rhs]), depth.max(d) + 1),
            };
            if depth > MAX_DEPTH {
                return Err(too_deep(t.at));
            }
        }
    }

    /// `unary := ("not"|"!") unary | "(" expr ")" | primitive`.
    fn unary(&mut self) -> Result<(Expr, usize), FilterError> {
        let t = self.peek();
        match t.tok {
            Tok::Bang | Tok::Word("not") => {
                self.enter(t.at)?;
                self.bump();
                let (e, d) = self.unary()?;
                self.nesting -= 1;
                Ok((Expr::Not(Box::new(e)), d + 1))
            }
            Tok::LParen => {
                self.enter(t.at)?;
                self.bump();
                let (e, d) = self.expr()?;
                let close = self.bump();
                if close.tok != Tok::RParen {
                    return Err(FilterError::new(
                        close.at,
                        format!(
                            "expected \")\" to close the \"(\" at byte {}, found {}",
                            t.at,
                            close.tok.describe()
                        ),
                    ));
                }
                self.nesting -= 1;
                Ok((e, d))
            }
            Tok::Word(_) => Ok((Expr::Prim(self.primitive()?), 1)),
            _ => Err(expected_prim(&t)),
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(at));
        }
        Ok(())
    }

    fn primitive(&mut self) -> Result<Prim, FilterError> {
        let start = self.peek();
        let Some(first) = self.word_at(0) else {
            return Err(expected_prim(&start));
        };
        match first {
            "icmp" => {
                self.bump();
                self.last = None;
                return Ok(Prim::Proto {
                    family: Family::V4,
                    n: 1,
                });
            }
            "icmp6" => {
                self.bump();
                self.last = None;
                return Ok(Prim::Proto {
                    family: Family::V6,
                    n: 58,
                });
            }
            _ => {}
        }
        let mut qual = None;
        if let Some(q) = Qual::of(first) {
            let qualifies = self
                .word_at(1)
                .is_some_and(|w| kind_of(w).is_some() || w == "src" || w == "dst");
            self.bump();
            if !qualifies {
                self.last = None;
                return Ok(q.alone());
            }
            qual = Some(q);
        }
        let dir = self.dir();
        let t = self.peek();
        let Some(w) = self.word_at(0) else {
            return Err(self.expected_kind(qual, dir, &t));
        };
        let kind = match kind_of(w) {
            Some(k) => {
                self.bump();
                k
            }
            None if is_keyword(w) && qual.is_none() && dir.is_none() => {
                return Err(expected_prim(&t));
            }
            None if is_keyword(w) => return Err(self.expected_kind(qual, dir, &t)),
            // `src 10.0.0.1` is `src host 10.0.0.1` (as in tcpdump, for addresses only).
            None if dir.is_some() || qual.is_some() => {
                if w.parse::<IpAddr>().is_ok()
                    && !matches!(qual, Some(Qual::Tcp | Qual::Udp | Qual::Sctp))
                {
                    Kind::Host
                } else {
                    return Err(self.expected_kind(qual, dir, &t));
                }
            }
            // A bare value repeats the last primitive's qualifiers.
            None => match self.last {
                Some(last) => {
                    return self.value(last, start.at);
                }
                None => return Err(expected_prim(&t)),
            },
        };
        let quals = Quals { qual, dir, kind };
        let prim = self.value(quals, start.at)?;
        self.last = Some(quals);
        Ok(prim)
    }

    fn expected_kind(&self, qual: Option<Qual>, dir: Option<Dir>, t: &Token<'_>) -> FilterError {
        let what = match qual {
            Some(Qual::Tcp | Qual::Udp | Qual::Sctp) => "port or portrange",
            Some(Qual::Ip | Qual::Ip6) if dir.is_none() => "host, net or proto",
            Some(Qual::Ip | Qual::Ip6 | Qual::Arp | Qual::Rarp) => "host or net",
            None => "host, net, port or portrange",
        };
        FilterError::new(
            t.at,
            format!("expected {what} here, found {}", t.tok.describe()),
        )
    }

    /// `src`, `dst`, `src or dst`, `src and dst` (either order).
    fn dir(&mut self) -> Option<Dir> {
        let one = match self.word_at(0)? {
            "src" => Dir::Src,
            "dst" => Dir::Dst,
            _ => return None,
        };
        self.bump();
        let other = if one == Dir::Src { "dst" } else { "src" };
        if self.word_at(1) == Some(other) {
            let combined = match self.peek().tok {
                Tok::Word("or") | Tok::OrOr => Some(Dir::Either),
                Tok::Word("and") | Tok::AndAnd => Some(Dir::Both),
                _ => None,
            };
            if let Some(d) = combined {
                self.i += 2;
                return Some(d);
            }
        }
        Some(one)
    }

    /// The value word of a primitive with these qualifiers; `start` is where it began.
    fn value(&mut self, q: Quals, start: usize) -> Result<Prim, FilterError> {
        let t = self.bump();
        let Tok::Word(w) = t.tok else {
            return Err(FilterError::new(
                t.at,
                format!(
                    "expected {}, found {}",
                    expected_value(q.kind),
                    t.tok.describe()
                ),
            ));
        };
        if is_keyword(w) {
            return Err(FilterError::new(
                t.at,
                format!(
                    "expected {}, found {}",
                    expected_value(q.kind),
                    t.tok.describe()
                ),
            ));
        }
        let err = |m: String| FilterError::new(t.at, m);
        let dir = q.dir.unwrap_or(Dir::Either);
        match q.kind {
            Kind::Host | Kind::Net => {
                let net = if q.kind == Kind::Host {
                    host(w).map_err(err)?
                } else {
                    net(w).map_err(err)?
                };
                let l3 = match q.qual {
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
                let (lo, hi) = if q.kind == Kind::Port {
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
                let l4 = match q.qual {
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
                if q.dir.is_some() {
                    return Err(FilterError::new(
                        start,
                        "`src` and `dst` do not apply to `proto`",
                    ));
                }
                let family = match q.qual {
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
}

fn expected_value(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "an IPv4 or IPv6 address",
        Kind::Net => "a network such as 10.0.0.0/8 or fd00::/8",
        Kind::Port => "a port number 0-65535",
        Kind::Portrange => "a port range such as 8000-8080",
        Kind::Proto => "an IP protocol number 0-255",
    }
}

/// A decimal or `0x` hexadecimal number.
fn number(w: &str) -> Option<u32> {
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16).ok(),
        _ if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => w.parse().ok(),
        _ => None,
    }
}

fn port(w: &str) -> Result<u16, String> {
    number(w)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| {
            format!("expected a port number 0-65535, found {w:?} (service names are not looked up)")
        })
}

fn host(w: &str) -> Result<IpNet, String> {
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
fn net(w: &str) -> Result<IpNet, String> {
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
