//! SKELETON (issue 9 integration): the types are the contract; `summarize` is filled in by
//! the parser work.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A capture's link type (pcap LINKTYPE_* numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// LINKTYPE_ETHERNET (1).
    Ethernet,
    /// LINKTYPE_LINUX_SLL (113), Linux cooked capture v1.
    LinuxSll,
    /// LINKTYPE_LINUX_SLL2 (276), Linux cooked capture v2 (20-byte header).
    LinuxSll2,
    /// LINKTYPE_RAW (101): an IPv4 or IPv6 packet, told apart by its version nibble.
    Raw,
    /// LINKTYPE_IPV4 (228).
    Ipv4,
    /// LINKTYPE_IPV6 (229).
    Ipv6,
    /// Anything else: summarised as `other` with lengths only.
    Other(u32),
}

impl LinkType {
    pub fn from_linktype(n: u32) -> LinkType {
        match n {
            1 => LinkType::Ethernet,
            113 => LinkType::LinuxSll,
            276 => LinkType::LinuxSll2,
            101 => LinkType::Raw,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            n => LinkType::Other(n),
        }
    }

    pub fn linktype(self) -> u32 {
        match self {
            LinkType::Ethernet => 1,
            LinkType::LinuxSll => 113,
            LinkType::LinuxSll2 => 276,
            LinkType::Raw => 101,
            LinkType::Ipv4 => 228,
            LinkType::Ipv6 => 229,
            LinkType::Other(n) => n,
        }
    }
}

/// An endpoint address: IP when the frame carries IP, else the link-layer address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Addr {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Mac([u8; 6]),
}

/// The summary's `proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmpv6,
    Arp,
    /// Another IP protocol number.
    Ip(u8),
    /// Not IP and not ARP (or not parseable at all).
    Other,
}

/// One packet, summarised from its outermost headers (no reassembly).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    /// Original length on the wire.
    pub len: u32,
    /// Bytes captured.
    pub caplen: u32,
    pub src: Option<Addr>,
    pub dst: Option<Addr>,
    pub proto: Option<Proto>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    /// TCP flag bits as in the header's byte 13 (FIN=0x01 ... CWR=0x80); None when not TCP.
    pub tcp_flags: Option<u8>,
    pub icmp_type: Option<u8>,
    /// Outermost VLAN id.
    pub vlan: Option<u16>,
    /// DNS query name without the trailing dot (port 53, UDP or TCP).
    pub dns_qname: Option<String>,
    /// `caplen < len`: the frame was cut by the snaplen.
    pub truncated: bool,
}

/// Summarise one frame of `link` type: `frame` is what was captured, `len` the original length.
pub fn summarize(link: LinkType, frame: &[u8], len: u32) -> Summary {
    let _ = link;
    let caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    Summary {
        len,
        caplen,
        truncated: caplen < len,
        ..Summary::default()
    }
}
