//! SKELETON (issue 9 integration): the capture filter language. The parser and compiler are
//! filled in by the filter work; the types and signatures are the contract.
//!
//! Grammar (a tcpdump subset, enough for incidents):
//! `expr := term (("and"|"&&"|"or"|"||") term)*`, `term := ("not"|"!") term | "(" expr ")" | prim`,
//! `prim := [src|dst] host ADDR | [src|dst] net CIDR | [src|dst] port N | tcp | udp | icmp |
//! icmp6 | arp | ip | ip6 | proto N`. `and` binds tighter than `or`.

use crate::LinkType;

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
}

impl Filter {
    /// Parse `text`; errors name the byte offset.
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            text: text.to_string(),
        })
    }

    /// Classic BPF for frames of `link` type (as an AF_PACKET socket of that interface sees
    /// them), accepting `snaplen` bytes of a matching frame and 0 of any other.
    pub fn compile(&self, link: LinkType, snaplen: u32) -> Result<Vec<BpfInsn>, FilterError> {
        let _ = link;
        Ok(vec![BpfInsn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: snaplen,
        }])
    }
}
