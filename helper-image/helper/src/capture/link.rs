//! How an interface's frames are written: its ARPHRD hardware type → a pcap link type, and
//! for hardware types pcap has no raw equivalent for, a Linux cooked (SLL) header in place of
//! the link-layer header, as libpcap's cooked mode writes it.

use ktui_packet::LinkType;

const ARPHRD_ETHER: u16 = 1;
const ARPHRD_TUNNEL: u16 = 768;
const ARPHRD_TUNNEL6: u16 = 769;
const ARPHRD_SIT: u16 = 776;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xfffe;
/// LINKTYPE_LINUX_SLL's header: packet type, ARPHRD type, address length, 8 address bytes,
/// protocol (all big endian).
pub const SLL_HEADER_LEN: usize = 16;

/// What the socket's frames of one interface look like in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// Ethernet header first (Ethernet, veth, and the loopback device, whose header is
    /// all zeros): LINKTYPE_ETHERNET (1). VLAN tags the kernel took out are put back.
    Ethernet,
    /// The IP header first (tun, ipip, sit): LINKTYPE_RAW (101).
    Raw,
    /// Anything else: the link-layer header is replaced by a cooked header
    /// (LINKTYPE_LINUX_SLL, 113).
    Cooked,
}

impl LinkKind {
    pub fn of_hatype(hatype: u16) -> LinkKind {
        match hatype {
            ARPHRD_ETHER | ARPHRD_LOOPBACK => LinkKind::Ethernet,
            ARPHRD_NONE | ARPHRD_TUNNEL | ARPHRD_TUNNEL6 | ARPHRD_SIT => LinkKind::Raw,
            _ => LinkKind::Cooked,
        }
    }

    pub fn link_type(self) -> LinkType {
        match self {
            LinkKind::Ethernet => LinkType::Ethernet,
            LinkKind::Raw => LinkType::Raw,
            LinkKind::Cooked => LinkType::LinuxSll,
        }
    }

    /// The pcap LINKTYPE_* number.
    pub fn linktype(self) -> u32 {
        self.link_type().linktype()
    }
}

/// Whether this hardware type is the loopback device (whose outgoing frames the socket also
/// sees as incoming: libpcap drops the outgoing copy, and so do we).
pub fn is_loopback(hatype: u16) -> bool {
    hatype == ARPHRD_LOOPBACK
}

/// A cooked (SLL) header for a frame the kernel reports with this `sockaddr_ll` data.
pub fn sll_header(pkttype: u8, hatype: u16, addr: &[u8], protocol_be: u16) -> [u8; SLL_HEADER_LEN] {
    let mut h = [0u8; SLL_HEADER_LEN];
    h[0..2].copy_from_slice(&u16::from(pkttype).to_be_bytes());
    h[2..4].copy_from_slice(&hatype.to_be_bytes());
    let n = addr.len().min(8);
    h[4..6].copy_from_slice(&(n as u16).to_be_bytes());
    h[6..6 + n].copy_from_slice(&addr[..n]);
    // sll_protocol is already in network order.
    h[14..16].copy_from_slice(&protocol_be.to_ne_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_types_map_to_link_types() {
        assert_eq!(LinkKind::of_hatype(ARPHRD_ETHER).linktype(), 1);
        assert_eq!(LinkKind::of_hatype(ARPHRD_LOOPBACK).linktype(), 1);
        assert_eq!(LinkKind::of_hatype(ARPHRD_NONE).linktype(), 101);
        assert_eq!(LinkKind::of_hatype(ARPHRD_SIT).linktype(), 101);
        // ARPHRD_PPP, ARPHRD_IEEE80211: cooked.
        assert_eq!(LinkKind::of_hatype(512).linktype(), 113);
        assert_eq!(LinkKind::of_hatype(801).linktype(), 113);
        assert!(is_loopback(ARPHRD_LOOPBACK) && !is_loopback(ARPHRD_ETHER));
    }

    #[test]
    fn cooked_header_layout() {
        let h = sll_header(4, 512, &[1, 2, 3], 0x0800u16.to_be());
        assert_eq!(h, [0, 4, 2, 0, 0, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0x08, 0x00]);
    }
}
