//! One frame in, one [`Summary`] out: the outermost headers from the link layer to the DNS
//! question, read in place with etherparse slices (no copies).
//!
//! Link types: Ethernet, Linux cooked capture v1 (SLL) and v2 (SLL2), raw IP (101, 228, 229).
//! Then any number of 802.1Q / 802.1ad tags (the outermost id is kept), IPv4 (a non-first
//! fragment has no ports), IPv6 through its extension headers, TCP, UDP, ICMP, ICMPv6, ARP, and
//! the DNS query name for port 53 over UDP and TCP (length-prefixed). A frame cut by the snaplen
//! is summarised as far as it goes (the thresholds, as tshark's, are in [`transport`]).
//!
//! Nothing here is sanitised for a terminal: [`Summary::write_json_line`] and
//! [`Summary::to_line`] give valid JSON / UTF-8 (the DNS name is escaped to printable ASCII, see
//! [`dns`]), and the console sanitises what it draws.

pub mod dns;
mod ip;
mod json;
mod link;
#[cfg(test)]
pub(crate) mod testframe;
pub mod transport;

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use ktui_wire::PacketLine;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addr {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Mac([u8; 6]),
}

impl fmt::Display for Addr {
    /// IPv4 dotted, IPv6 as the standard library writes it (RFC 5952), MAC as lower-case
    /// colon-separated hex (as tshark writes `eth.src`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::V4(a) => a.fmt(f),
            Addr::V6(a) => a.fmt(f),
            Addr::Mac(m) => write!(
                f,
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
        }
    }
}

/// The summary's `proto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl Proto {
    /// The protocol an IP header (or the last IPv6 extension header) names.
    pub fn from_ip_number(n: u8) -> Proto {
        match n {
            6 => Proto::Tcp,
            17 => Proto::Udp,
            1 => Proto::Icmp,
            58 => Proto::Icmpv6,
            n => Proto::Ip(n),
        }
    }

    /// The pinned `proto` text: a name, else the IP protocol number, else `other`.
    pub fn name(self) -> ProtoName {
        ProtoName(self)
    }
}

/// [`Proto`] as its pinned text, written without allocating.
#[derive(Debug, Clone, Copy)]
pub struct ProtoName(Proto);

impl fmt::Display for ProtoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Proto::Ip(n) => write!(f, "{n}"),
            p => f.write_str(static_name(p)),
        }
    }
}

fn static_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Icmp => "icmp",
        Proto::Icmpv6 => "icmpv6",
        Proto::Arp => "arp",
        Proto::Ip(_) | Proto::Other => "other",
    }
}

/// TCP flag bits of header byte 13, in the pinned order of `tcp_flags`.
pub const TCP_FLAG_NAMES: [(u8, &str); 8] = [
    (0x01, "FIN"),
    (0x02, "SYN"),
    (0x04, "RST"),
    (0x08, "PSH"),
    (0x10, "ACK"),
    (0x20, "URG"),
    (0x40, "ECE"),
    (0x80, "CWR"),
];

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
    /// TCP sequence number (flow analysis: retransmit-like repeats).
    pub tcp_seq: Option<u32>,
    /// TCP payload length as the IP header's length says (not what was captured); None when
    /// not TCP or when the headers do not tell.
    pub tcp_payload: Option<u32>,
}

/// Summarise one frame of `link` type: `frame` is what was captured, `len` the original length.
pub fn summarize(link: LinkType, frame: &[u8], len: u32) -> Summary {
    let caplen = u32::try_from(frame.len()).unwrap_or(u32::MAX);
    let mut s = Summary {
        len,
        caplen,
        truncated: caplen < len,
        proto: Some(Proto::Other),
        ..Summary::default()
    };
    match link {
        LinkType::Ethernet => link::ethernet(&mut s, frame),
        LinkType::LinuxSll => link::sll(&mut s, frame),
        LinkType::LinuxSll2 => link::sll2(&mut s, frame),
        LinkType::Raw => {
            ip::any(&mut s, frame);
        }
        LinkType::Ipv4 => {
            ip::v4(&mut s, frame);
        }
        LinkType::Ipv6 => {
            ip::v6(&mut s, frame);
        }
        LinkType::Other(_) => {}
    }
    s
}

impl Summary {
    /// `tcp_flags` as the pinned comma list (`"SYN,ACK"`, `""` for none), None when not TCP.
    pub fn tcp_flags_text(&self) -> Option<String> {
        self.tcp_flags.map(|bits| {
            let mut out = Vec::with_capacity(31);
            push_flags(&mut out, bits);
            // Only ASCII names and commas were written.
            String::from_utf8(out).unwrap_or_default()
        })
    }

    /// The pinned `ktui pcap summary --json` object for frame `n` captured at `ts_ns`
    /// nanoseconds since the epoch (`None`: the frame has no time, and `ts` is null).
    pub fn to_line(&self, n: u64, ts_ns: Option<i128>) -> PacketLine {
        PacketLine {
            n,
            ts: ts_ns.map(ts_text),
            len: self.len,
            caplen: self.caplen,
            src: self.src.map(|a| a.to_string()),
            dst: self.dst.map(|a| a.to_string()),
            proto: self.proto.map(|p| p.name().to_string()),
            sport: self.sport,
            dport: self.dport,
            tcp_flags: self.tcp_flags_text(),
            icmp_type: self.icmp_type,
            vlan: self.vlan,
            dns_qname: self.dns_qname.clone(),
            truncated: self.truncated,
        }
    }

    /// Appends `serde_json::to_string(&self.to_line(n, ts_ns))` and a newline to `out`, byte
    /// for byte, without allocating (except to grow `out`).
    pub fn write_json_line(&self, n: u64, ts_ns: Option<i128>, out: &mut Vec<u8>) {
        json::write_line(self, n, ts_ns, out);
    }
}

/// `ts_ns` nanoseconds since the epoch as the pinned `ts`: seconds with exactly 9 decimals.
pub fn ts_text(ts_ns: i128) -> String {
    let mut ts = Vec::with_capacity(24);
    json::push_ts(&mut ts, ts_ns);
    // Only ASCII digits, '-' and '.' were written.
    String::from_utf8(ts).unwrap_or_default()
}

/// Appends the comma list of flag names set in `bits`, in the pinned order (the `--json`
/// line, [`Summary::tcp_flags_text`] and the console's text line all write it here).
pub fn push_flags(out: &mut Vec<u8>, bits: u8) {
    let mut first = true;
    for (bit, name) in TCP_FLAG_NAMES {
        if bits & bit != 0 {
            if !first {
                out.push(b',');
            }
            out.extend_from_slice(name.as_bytes());
            first = false;
        }
    }
}

/// A big-endian u16 at `at` (the caller has checked the bounds).
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[cfg(test)]
mod tests {
    use super::testframe::*;
    use super::*;

    #[test]
    fn linktype_numbers_round_trip() {
        for n in [1, 113, 276, 101, 228, 229, 147, 0] {
            assert_eq!(LinkType::from_linktype(n).linktype(), n);
        }
        assert_eq!(LinkType::from_linktype(276), LinkType::LinuxSll2);
    }

    #[test]
    fn proto_names_are_pinned() {
        let names: Vec<String> = [
            Proto::Tcp,
            Proto::Udp,
            Proto::Icmp,
            Proto::Icmpv6,
            Proto::Arp,
            Proto::Ip(47),
            Proto::Other,
        ]
        .iter()
        .map(|p| p.name().to_string())
        .collect();
        assert_eq!(
            names,
            ["tcp", "udp", "icmp", "icmpv6", "arp", "47", "other"]
        );
    }

    #[test]
    fn flags_in_pinned_order() {
        let s = Summary {
            tcp_flags: Some(0x12),
            ..Summary::default()
        };
        assert_eq!(s.tcp_flags_text().as_deref(), Some("SYN,ACK"));
        let all = Summary {
            tcp_flags: Some(0xff),
            ..Summary::default()
        };
        assert_eq!(
            all.tcp_flags_text().as_deref(),
            Some("FIN,SYN,RST,PSH,ACK,URG,ECE,CWR")
        );
        let none = Summary {
            tcp_flags: Some(0),
            ..Summary::default()
        };
        assert_eq!(none.tcp_flags_text().as_deref(), Some(""));
        assert_eq!(Summary::default().tcp_flags_text(), None);
    }

    #[test]
    fn mac_is_lower_case_hex() {
        let a = Addr::Mac([0x02, 0x4b, 0x54, 0xff, 0x00, 0x0a]);
        assert_eq!(a.to_string(), "02:4b:54:ff:00:0a");
    }

    #[test]
    fn unknown_link_type_has_lengths_only() {
        let s = summarize(LinkType::Other(147), &[1, 2, 3], 10);
        assert_eq!(
            s,
            Summary {
                len: 10,
                caplen: 3,
                truncated: true,
                proto: Some(Proto::Other),
                ..Summary::default()
            }
        );
    }

    #[test]
    fn empty_frame_is_other_without_addresses() {
        for link in LINKS {
            let s = summarize(link, &[], 0);
            assert_eq!(s.proto, Some(Proto::Other), "{link:?}");
            assert_eq!((s.src, s.dst), (None, None), "{link:?}");
            assert!(!s.truncated);
        }
    }

    #[test]
    fn random_bytes_on_every_link_type_never_panic() {
        let mut next = xorshift(0x853c_49e6_748f_ea9b);
        for i in 0..60_000 {
            let len = (next() % 160) as usize;
            let mut frame: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Steer some frames into the deeper layers: plausible EtherTypes / versions.
            if i % 3 == 0 && len > 20 {
                frame[12..14].copy_from_slice(&[0x81, 0x00]);
                frame[16..18].copy_from_slice(if i % 2 == 0 {
                    &[0x08, 0x00]
                } else {
                    &[0x86, 0xdd]
                });
                frame[18] = if i % 2 == 0 { 0x45 } else { 0x60 };
            }
            let s = summarize(LINKS[i % LINKS.len()], &frame, len as u32 + (i as u32 % 3));
            if let Some(name) = &s.dns_qname {
                assert!(name.bytes().all(|b| (0x21..=0x7e).contains(&b)), "{name:?}");
            }
        }
    }

    #[test]
    fn every_prefix_of_every_frame_is_summarised_without_panic() {
        for (link, frame) in all_frames() {
            for cut in 0..=frame.len() {
                let s = summarize(link, &frame[..cut], frame.len() as u32);
                assert_eq!(s.truncated, cut < frame.len());
                // A cut frame never claims more than the whole one.
                let whole = summarize(link, &frame, frame.len() as u32);
                if s.sport.is_some() {
                    assert_eq!(s.sport, whole.sport, "{link:?} cut {cut}");
                }
                if s.dns_qname.is_some() {
                    assert_eq!(s.dns_qname, whole.dns_qname, "{link:?} cut {cut}");
                }
            }
        }
    }
}
