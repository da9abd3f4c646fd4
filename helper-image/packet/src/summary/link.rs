//! The link layer: Ethernet (etherparse), the two Linux cooked headers (read here), and the
//! EtherType chain through VLAN tags to IP or ARP.
//!
//! SLL is read here rather than with etherparse's `LinuxSllHeaderSlice`, which refuses every
//! ARPHRD type but Ethernet, netlink, IPGRE, radiotap and FRAD — `tcpdump -i any` records the
//! loopback (ARPHRD_LOOPBACK) and tun devices (ARPHRD_NONE) with the same header, and libpcap
//! and Wireshark read its protocol field as an EtherType for those too. SLL2 (20 bytes) etherparse
//! does not know at all.

use etherparse::{EtherType, Ethernet2HeaderSlice, SingleVlanHeaderSlice, ether_type};

use super::{Addr, Proto, Summary, be16, ip};

/// VLAN tags followed before giving up on a frame (QinQ is two; more is malformed or hostile).
pub const MAX_VLAN_TAGS: usize = 8;

/// ARPHRD types whose cooked `protocol` is not an EtherType (Wireshark's packet-sll.c).
const ARPHRD_NETLINK: u16 = 824;
const ARPHRD_IEEE80211_RADIOTAP: u16 = 803;
const ARPHRD_FRAD: u16 = 770;
const ARPHRD_CAN: u16 = 280;

pub(super) fn ethernet(s: &mut Summary, frame: &[u8]) {
    let Ok(eth) = Ethernet2HeaderSlice::from_slice(frame) else {
        return;
    };
    s.src = Some(Addr::Mac(eth.source()));
    s.dst = Some(Addr::Mac(eth.destination()));
    let rest = frame.get(eth.slice().len()..).unwrap_or_default();
    ether_type_chain(s, eth.ether_type(), rest);
}

/// LINKTYPE_LINUX_SLL: packet type (2), ARPHRD (2), address length (2), address (8),
/// protocol (2), all big-endian.
pub(super) fn sll(s: &mut Summary, frame: &[u8]) {
    let Some(h) = frame.get(..16) else { return };
    let hatype = be16(h, 2);
    cooked(s, hatype, be16(h, 4), &h[6..14], be16(h, 14), &frame[16..]);
}

/// LINKTYPE_LINUX_SLL2: protocol (2), reserved (2), interface index (4), ARPHRD (2),
/// packet type (1), address length (1), address (8), all big-endian.
pub(super) fn sll2(s: &mut Summary, frame: &[u8]) {
    let Some(h) = frame.get(..20) else { return };
    let hatype = be16(h, 8);
    cooked(
        s,
        hatype,
        u16::from(h[11]),
        &h[12..20],
        be16(h, 0),
        &frame[20..],
    );
}

fn cooked(s: &mut Summary, hatype: u16, addr_len: u16, addr: &[u8], protocol: u16, rest: &[u8]) {
    // Only the sender's address is in the header: it is `src` for non-IP frames.
    if addr_len == 6
        && let Ok(mac) = <[u8; 6]>::try_from(&addr[..6])
    {
        s.src = Some(Addr::Mac(mac));
    }
    let ether_typed = !matches!(
        hatype,
        ARPHRD_NETLINK | ARPHRD_IEEE80211_RADIOTAP | ARPHRD_FRAD | ARPHRD_CAN
    );
    // Below 0x0600 the field is one of LINUX_SLL_P_* (802.3, 802.2 LLC, CAN, ...), not an
    // EtherType.
    if ether_typed && protocol >= 0x0600 {
        ether_type_chain(s, EtherType(protocol), rest);
    }
}

/// Follows VLAN tags (keeping the outermost id) to the network layer. IP replaces the link
/// addresses with its own; a frame whose IP header cannot be read keeps the link addresses.
fn ether_type_chain(s: &mut Summary, mut et: EtherType, mut rest: &[u8]) {
    for _ in 0..=MAX_VLAN_TAGS {
        match et {
            ether_type::VLAN_TAGGED_FRAME
            | ether_type::PROVIDER_BRIDGING
            | ether_type::VLAN_DOUBLE_TAGGED_FRAME => {
                let Ok(tag) = SingleVlanHeaderSlice::from_slice(rest) else {
                    return;
                };
                if s.vlan.is_none() {
                    s.vlan = Some(tag.vlan_identifier().value());
                }
                et = tag.ether_type();
                rest = rest.get(tag.slice().len()..).unwrap_or_default();
            }
            ether_type::IPV4 => {
                ip::v4(s, rest);
                return;
            }
            ether_type::IPV6 => {
                ip::v6(s, rest);
                return;
            }
            ether_type::ARP => {
                s.proto = Some(Proto::Arp);
                return;
            }
            _ => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testframe::*;
    use super::super::*;
    use super::MAX_VLAN_TAGS;

    #[test]
    fn ethernet_tcp_syn() {
        let f = eth(ETH_IPV4, &ipv4(6, &tcp(40000, 443, 0x02, b"")));
        let s = summarize(LinkType::Ethernet, &f, f.len() as u32);
        assert_eq!(s.src, Some(Addr::V4(A4)));
        assert_eq!(s.dst, Some(Addr::V4(B4)));
        assert_eq!(s.proto, Some(Proto::Tcp));
        assert_eq!((s.sport, s.dport), (Some(40000), Some(443)));
        assert_eq!(s.tcp_flags, Some(0x02));
        assert_eq!(s.tcp_payload, Some(0));
        assert_eq!((s.vlan, s.truncated), (None, false));
    }

    #[test]
    fn arp_has_ethernet_macs() {
        let f = eth(0x0806, &arp_request());
        let s = summarize(LinkType::Ethernet, &f, f.len() as u32);
        assert_eq!(s.proto, Some(Proto::Arp));
        assert_eq!(s.src, Some(Addr::Mac(MAC_A)));
        assert_eq!(s.dst, Some(Addr::Mac(BROADCAST)));
        assert_eq!((s.sport, s.icmp_type), (None, None));
    }

    #[test]
    fn non_ip_ethernet_is_other_with_macs() {
        // LLDP (0x88cc) and an 802.3 length field (STP over LLC).
        for et in [0x88cc, 0x0026] {
            let f = eth(et, &[0u8; 38]);
            let s = summarize(LinkType::Ethernet, &f, f.len() as u32);
            assert_eq!(s.proto, Some(Proto::Other));
            assert_eq!(s.src, Some(Addr::Mac(MAC_A)));
            assert_eq!(s.dst, Some(Addr::Mac(BROADCAST)));
        }
    }

    #[test]
    fn vlan_and_qinq_keep_the_outermost_id() {
        let inner = ipv4(17, &udp(5000, 6000, b"x"));
        let single = eth(0x8100, &vlan(100, ETH_IPV4, &inner));
        let s = summarize(LinkType::Ethernet, &single, single.len() as u32);
        assert_eq!(
            (s.vlan, s.proto, s.sport),
            (Some(100), Some(Proto::Udp), Some(5000))
        );

        for outer_tpid in [0x8100u16, 0x88a8, 0x9100] {
            let qinq = eth(outer_tpid, &vlan(200, 0x8100, &vlan(300, ETH_IPV4, &inner)));
            let s = summarize(LinkType::Ethernet, &qinq, qinq.len() as u32);
            assert_eq!(s.vlan, Some(200), "outer TPID {outer_tpid:#x}");
            assert_eq!((s.src, s.dport), (Some(Addr::V4(A4)), Some(6000)));
        }
    }

    #[test]
    fn too_many_vlan_tags_stop_without_network_layer() {
        let mut payload = ipv4(17, &udp(1, 2, b""));
        for id in 0..(MAX_VLAN_TAGS as u16 + 2) {
            payload = vlan(id + 1, if id == 0 { ETH_IPV4 } else { 0x8100 }, &payload);
        }
        let f = eth(0x8100, &payload);
        let s = summarize(LinkType::Ethernet, &f, f.len() as u32);
        assert_eq!(s.vlan, Some(MAX_VLAN_TAGS as u16 + 2));
        assert_eq!(
            (s.proto, s.src),
            (Some(Proto::Other), Some(Addr::Mac(MAC_A)))
        );
    }

    #[test]
    fn cut_vlan_tag_keeps_macs_only() {
        let f = eth(0x8100, &[0x00, 0x64]);
        let s = summarize(LinkType::Ethernet, &f, 64);
        assert_eq!((s.vlan, s.proto), (None, Some(Proto::Other)));
        assert_eq!(s.src, Some(Addr::Mac(MAC_A)));
        assert!(s.truncated);
    }

    #[test]
    fn sll_ipv4_udp_and_loopback_hatype() {
        for hatype in [1u16, 772, 0xfffe] {
            let f = sll(hatype, ETH_IPV4, &ipv4(17, &udp(53, 33000, b"")));
            let s = summarize(LinkType::LinuxSll, &f, f.len() as u32);
            assert_eq!(s.proto, Some(Proto::Udp), "hatype {hatype}");
            assert_eq!((s.src, s.sport), (Some(Addr::V4(A4)), Some(53)));
        }
    }

    #[test]
    fn sll_arp_has_the_sender_mac_and_no_destination() {
        let f = sll(1, 0x0806, &arp_request());
        let s = summarize(LinkType::LinuxSll, &f, f.len() as u32);
        assert_eq!(s.proto, Some(Proto::Arp));
        assert_eq!((s.src, s.dst), (Some(Addr::Mac(MAC_A)), None));
    }

    #[test]
    fn sll_netlink_and_llc_are_other() {
        let f = sll(824, 0x0000, &[0u8; 20]);
        assert_eq!(
            summarize(LinkType::LinuxSll, &f, 36).proto,
            Some(Proto::Other)
        );
        let f = sll(1, 0x0004, &[0u8; 20]);
        assert_eq!(
            summarize(LinkType::LinuxSll, &f, 36).proto,
            Some(Proto::Other)
        );
    }

    #[test]
    fn sll2_ipv6_tcp() {
        let f = sll2(1, 0x86dd, &ipv6(6, &tcp(8080, 51000, 0x12, b"")));
        let s = summarize(LinkType::LinuxSll2, &f, f.len() as u32);
        assert_eq!(s.proto, Some(Proto::Tcp));
        assert_eq!((s.src, s.dst), (Some(Addr::V6(A6)), Some(Addr::V6(B6))));
        assert_eq!((s.sport, s.tcp_flags), (Some(8080), Some(0x12)));
    }

    #[test]
    fn sll2_with_a_vlan_tag() {
        let f = sll2(1, 0x8100, &vlan(42, ETH_IPV4, &ipv4(1, &icmp(8))));
        let s = summarize(LinkType::LinuxSll2, &f, f.len() as u32);
        assert_eq!(
            (s.vlan, s.proto, s.icmp_type),
            (Some(42), Some(Proto::Icmp), Some(8))
        );
    }

    #[test]
    fn cooked_headers_cut_short_are_other() {
        let f = sll2(1, 0x0800, &ipv4(17, &udp(1, 2, b"")));
        let s = summarize(LinkType::LinuxSll2, &f[..19], f.len() as u32);
        assert_eq!(
            (s.proto, s.src, s.truncated),
            (Some(Proto::Other), None, true)
        );
        let f = sll(1, 0x0800, &ipv4(17, &udp(1, 2, b"")));
        let s = summarize(LinkType::LinuxSll, &f[..15], f.len() as u32);
        assert_eq!((s.proto, s.src), (Some(Proto::Other), None));
    }
}
