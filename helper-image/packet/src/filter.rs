//! The capture filter language: a tcpdump subset (enough for incidents), parsed here and
//! compiled to classic BPF, which the helper attaches to its AF_PACKET socket so that unwanted
//! packets never reach user space. An expression selects the same packets as tcpdump (libpcap
//! 1.10) given the same expression; the tests compare the two on captures.
//!
//! # Grammar
//! ```text
//! filter := expr | ""                       (empty: every packet)
//! expr   := unary (("and" | "&&" | "or" | "||") unary)*
//! unary  := ("not" | "!") unary | "(" expr ")" | prim | VALUE
//! prim   := [ip | ip6 | arp | rarp] [dir] host ADDR        IPv4 or IPv6 address
//!         | [ip | ip6 | arp | rarp] [dir] net NET          10.0.0.0/8, 10.1 (= /16), fd00::/8
//!         | [tcp | udp | sctp] [dir] port N
//!         | [tcp | udp | sctp] [dir] portrange A-B
//!         | [ip | ip6] proto N                             0-255
//!         | [ip | ip6 | arp | rarp] dir ADDR               (= dir host ADDR)
//!         | tcp | udp | sctp | icmp | icmp6 | arp | rarp | ip | ip6
//! dir    := src | dst | src or dst | src and dst           (either order)
//! ```
//! Numbers are decimal or `0x` hex. A bare `VALUE` repeats the qualifiers of the primitive
//! before it: `port 53 or 80`, `host 10.0.0.1 or 10.0.0.2`. Keywords are lower case. Host and
//! service names are not looked up.
//!
//! **Precedence**: `not` binds tightest; `and` and `or` have *equal* precedence and group from
//! the left, exactly as in tcpdump, so that a filter copied from a runbook keeps its meaning:
//! `port 53 or port 80 and host 10.0.0.1` is `(port 53 or port 80) and host 10.0.0.1`.
//! Parenthesise when mixing them.
//!
//! Limits: [`MAX_LEN`] bytes, [`MAX_DEPTH`] levels of nesting, and the compiled program at most
//! [`MAX_INSNS`] instructions (the kernel's `BPF_MAXINSNS`); errors name the byte offset.
//!
//! # Meaning (libpcap's)
//! - `host A`: IPv4 source or destination; for ARP and RARP the sender or target protocol
//!   address (Ethernet/IPv4 layout); for an IPv6 address the IPv6 source or destination.
//!   `net` is the same under a prefix. `ip host` / `arp host` / `rarp host` restrict it.
//! - `port N`: TCP, UDP or SCTP, over IPv4 and IPv6. An IPv4 fragment other than the first
//!   never matches (it has no ports). IPv6 ports are only found when the fixed header's next
//!   header is the transport: no extension-header walk, as in tcpdump.
//! - `tcp`, `udp`, `sctp`, `proto N`: the IPv4 protocol, or the IPv6 next header, or the next
//!   header of a fragment header directly after the fixed one (tcpdump's single step). `ip proto`
//!   and `icmp` are IPv4 only, `ip6 proto` and `icmp6` IPv6 only.
//! - A filter that cannot match on a link type (`arp` on raw IP) compiles to `ret #0`, see
//!   [`Filter::can_match`].
//!
//! # Link types
//! Ethernet (EtherType at 12), Linux cooked v1 (16-byte header, protocol at 14), v2 (20-byte
//! header, protocol at 0), raw IP (the version nibble tells IPv4 from IPv6), IPv4, IPv6. Others
//! are an error. No VLAN handling: an AF_PACKET socket receives the VLAN tag out of band
//! (`tp_vlan_tci`), so the frames the filter sees have none and a live filter matches tagged
//! traffic by what it carries. In a pcap the tags are back in the frames, where (as for
//! tcpdump without its `vlan` prefix, which this language does not have) they match nothing
//! but the protocol-free parts of an expression (`not ip`).
//!
//! The program returns the snaplen for a match and 0 otherwise. [`run`] interprets classic BPF
//! in user space and [`check`] applies the kernel's attach-time checks.
//!
//! # Attaching (notes for the socket's owner)
//! - Create the AF_PACKET socket with protocol 0, attach (SO_ATTACH_FILTER), then bind with
//!   ETH_P_ALL: a socket of protocol 0 receives nothing, so no frame gets in unfiltered.
//! - The program is for frames as a SOCK_RAW socket of the interface sees them (`LinkType` of
//!   its ARPHRD type); a SOCK_DGRAM (cooked) socket sees no link header and needs `Raw`
//!   (then only IP can match: ARP is not told apart without the protocol).
//! - The kernel charges the filter, converted to eBPF, to `net.core.optmem_max` (131072 here):
//!   beyond ~1000 loads (~2500 instructions of `or`-ed primitives that share nothing) the
//!   attach fails with ENOMEM. libpcap then filters in user space; [`run`] does the same.
//! - An accepted frame is trimmed to the returned snaplen by the kernel (`recv` reports the
//!   trimmed length; TPACKET rings keep the original in `tp_len`).

mod ast;
mod bpf;
mod codegen;
mod lex;
mod lower;
mod node;
mod parse;
mod value;

pub use bpf::{InvalidProgram, MAX_INSNS, check, dump, run};

use crate::LinkType;

/// The longest filter accepted, in bytes.
pub const MAX_LEN: usize = 4096;
/// The deepest nesting accepted (parentheses, `not`s, alternations of `and` and `or`).
pub const MAX_DEPTH: usize = 64;
/// What a snaplen of 0 means (as in tcpdump `-s 0`).
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A filter that does not parse or cannot be compiled, with where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset in the expression.
    pub at: usize,
    pub message: String,
}

impl FilterError {
    fn new(at: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            at,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "filter error at byte {}: {}", self.at, self.message)
    }
}

impl std::error::Error for FilterError {}

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The expression as given (shown in the confirmation and recorded in the capture record).
    pub text: String,
    /// None for an empty filter.
    expr: Option<ast::Expr>,
}

impl Filter {
    /// Parse `text`; errors name the byte offset.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            text: text.to_string(),
            expr: parse::parse(text)?,
        })
    }

    /// The expression in tcpdump syntax with every `and`/`or` group parenthesised (empty for
    /// the empty filter): how it was understood.
    pub fn canonical(&self) -> String {
        self.expr
            .as_ref()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// Whether some frame of `link` type can match (false for e.g. `arp` on raw IP, or an
    /// unsupported link type).
    pub fn can_match(&self, link: LinkType) -> bool {
        match (&self.expr, lower::Link::of(link)) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(e), Some(l)) => lower::lower(e, l) != node::Node::Const(false),
        }
    }

    /// Classic BPF for frames of `link` type (as an AF_PACKET socket of that interface sees
    /// them), accepting `snaplen` bytes of a matching frame (a snaplen of 0 means
    /// [`DEFAULT_SNAPLEN`]) and 0 of any other.
    pub fn compile(&self, link: LinkType, snaplen: u32) -> Result<Vec<BpfInsn>, FilterError> {
        let Some(l) = lower::Link::of(link) else {
            return Err(FilterError::new(
                0,
                format!(
                    "cannot compile a filter for link type {}: supported are Ethernet (1), Linux \
                     cooked capture v1 (113) and v2 (276), raw IP (101), IPv4 (228) and IPv6 \
                     (229); capture without a filter on this interface",
                    link.linktype()
                ),
            ));
        };
        let node = match &self.expr {
            Some(e) => lower::lower(e, l),
            None => node::Node::Const(true),
        };
        let accept = if snaplen == 0 {
            DEFAULT_SNAPLEN
        } else {
            snaplen
        };
        codegen::generate(&node, accept).map_err(|n| {
            FilterError::new(
                0,
                format!(
                    "the filter compiles to {n} classic BPF instructions, more than the kernel's \
                     {MAX_INSNS}: simplify it (a net covers many hosts, a portrange many ports)"
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests;
