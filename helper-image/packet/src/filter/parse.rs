//! Recursive descent over the tokens, bounded by [`MAX_DEPTH`]: text in, [`Expr`] out.

use std::net::IpAddr;

use super::ast::{Dir, ETH_ARP, ETH_IP, ETH_IP6, ETH_RARP, Expr, Family, Prim};
use super::lex::{Tok, Token, tokens};
use super::value;
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
pub(super) enum Kind {
    Host,
    Net,
    Port,
    Portrange,
    Proto,
}

/// A protocol word before a primitive (`ip host`, `tcp port`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Qual {
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

/// tcpdump primitives this language does not have.
const NOT_HERE: &[&str] = &[
    "ether",
    "vlan",
    "mpls",
    "pppoed",
    "pppoes",
    "geneve",
    "less",
    "greater",
    "len",
    "broadcast",
    "multicast",
    "gateway",
    "inbound",
    "outbound",
    "ifname",
    "on",
    "link",
    "fddi",
    "tr",
    "wlan",
    "decnet",
    "iso",
    "atalk",
    "aarp",
    "ipx",
    "netbeui",
    "stp",
    "llc",
    "igmp",
    "igrp",
    "pim",
    "vrrp",
    "carp",
    "ah",
    "esp",
    "protochain",
];

fn expected_prim(t: &Token<'_>) -> FilterError {
    if let Tok::Word(w) = t.tok
        && NOT_HERE.contains(&w)
    {
        let why = if w == "vlan" {
            " (the capture socket receives frames with their VLAN tag already removed: filter on \
             what is inside, e.g. `host` or `port`)"
        } else {
            ""
        };
        return FilterError::new(
            t.at,
            format!(
                "tcpdump's `{w}` is not part of this filter language{why}; it has host, net, \
                 port, portrange, proto, tcp, udp, sctp, icmp, icmp6, arp, rarp, ip and ip6"
            ),
        );
    }
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
            None if NOT_HERE.contains(&w) => return Err(expected_prim(&t)),
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
        match t.tok {
            Tok::Word(w) if !is_keyword(w) => {
                value::primitive(q.kind, q.qual, q.dir, w, t.at, start)
            }
            _ => Err(FilterError::new(
                t.at,
                format!(
                    "expected {}, found {}",
                    value::expected(q.kind),
                    t.tok.describe()
                ),
            )),
        }
    }
}
