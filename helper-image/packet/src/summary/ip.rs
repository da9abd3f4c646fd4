//! IPv4 and IPv6 (etherparse's lax slices: a length field larger than what was captured falls
//! back to the captured bytes), then the transport header.
//!
//! No reassembly: a fragment whose offset is not 0 has a protocol but no ports (its bytes are
//! the middle of a datagram); the first fragment is read like a whole datagram as far as it goes.

use etherparse::{Ipv6ExtensionSlice, LaxIpv4Slice, LaxIpv6Slice};

use super::{Addr, Proto, Summary, transport};

/// A raw IP frame (LINKTYPE_RAW): the version nibble says which.
pub(super) fn any(s: &mut Summary, data: &[u8]) -> bool {
    match data.first().map(|b| b >> 4) {
        Some(4) => v4(s, data),
        Some(6) => v6(s, data),
        _ => false,
    }
}

/// False when no IPv4 header could be read (the caller's addresses stay).
pub(super) fn v4(s: &mut Summary, data: &[u8]) -> bool {
    let Ok((ip, _auth_err)) = LaxIpv4Slice::from_slice(data) else {
        return false;
    };
    let h = ip.header();
    s.src = Some(Addr::V4(h.source_addr()));
    s.dst = Some(Addr::V4(h.destination_addr()));
    let payload = ip.payload();
    let number = payload.ip_number.0;
    s.proto = Some(Proto::from_ip_number(number));
    if h.fragments_offset().value() != 0 {
        return true;
    }
    // What the header says follows (a cut frame has less); 0 is a GSO/TSO super-frame.
    let total = usize::from(h.total_len());
    let declared = (total != 0)
        .then(|| total.checked_sub(offset_in(data, payload.payload)))
        .flatten();
    transport::read(s, number, payload.payload, declared);
    true
}

/// Where `inner`, a subslice of `outer`, starts in it.
fn offset_in(outer: &[u8], inner: &[u8]) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// False when no IPv6 header could be read.
pub(super) fn v6(s: &mut Summary, data: &[u8]) -> bool {
    let Ok((ip, ext_err)) = LaxIpv6Slice::from_slice(data) else {
        return false;
    };
    let h = ip.header();
    s.src = Some(Addr::V6(h.source_addr()));
    s.dst = Some(Addr::V6(h.destination_addr()));
    let payload = ip.payload();
    let number = payload.ip_number.0;
    s.proto = Some(Proto::from_ip_number(number));
    if ext_err.is_some() {
        // An extension header cut short or malformed: `number` is the header that failed,
        // nothing after it can be placed.
        return true;
    }
    let non_first_fragment = ip.extensions().clone().into_iter().any(
        |ext| matches!(ext, Ipv6ExtensionSlice::Fragment(f) if f.fragment_offset().value() != 0),
    );
    if non_first_fragment {
        return true;
    }
    // 0 with a payload is a jumbogram (or a GSO super-frame): the length is not known.
    let total = 40 + usize::from(h.payload_length());
    let declared = (total != 40)
        .then(|| total.checked_sub(offset_in(data, payload.payload)))
        .flatten();
    transport::read(s, number, payload.payload, declared);
    true
}

#[cfg(test)]
mod tests {
    use super::super::testframe::*;
    use super::super::*;

    fn s(link: LinkType, f: &[u8]) -> Summary {
        summarize(link, f, f.len() as u32)
    }

    #[test]
    fn raw_ip_by_version_nibble_and_fixed_link_types() {
        let v4 = ipv4(17, &udp(1000, 53, &dns_query(0x1234, "api.example.test")));
        let v6 = ipv6(58, &icmp(128));
        for (link, f) in [
            (LinkType::Raw, &v4),
            (LinkType::Ipv4, &v4),
            (LinkType::Raw, &v6),
            (LinkType::Ipv6, &v6),
        ] {
            let got = s(link, f);
            assert!(got.src.is_some(), "{link:?}");
            assert_eq!((got.dst.is_some(), got.truncated), (true, false));
        }
        assert_eq!(
            s(LinkType::Raw, &v4).dns_qname.as_deref(),
            Some("api.example.test")
        );
        let six = s(LinkType::Raw, &v6);
        assert_eq!((six.proto, six.icmp_type), (Some(Proto::Icmpv6), Some(128)));
        // A version nibble that is neither: other, no addresses.
        let mut bad = v4.clone();
        bad[0] = 0x55;
        assert_eq!(s(LinkType::Raw, &bad).src, None);
        // LINKTYPE_IPV4 does not accept an IPv6 packet.
        assert_eq!(s(LinkType::Ipv4, &v6).src, None);
    }

    #[test]
    fn ipv4_fragments_first_has_ports_others_not() {
        let dgram = udp(4000, 53, &[7u8; 64]);
        let first = ipv4_frag(17, 0, true, &dgram[..32]);
        let got = s(LinkType::Raw, &first);
        assert_eq!(
            (got.proto, got.sport, got.dport),
            (Some(Proto::Udp), Some(4000), Some(53))
        );
        let middle = ipv4_frag(17, 4, true, &dgram[32..64]);
        let got = s(LinkType::Raw, &middle);
        assert_eq!(
            (got.proto, got.sport, got.dport),
            (Some(Proto::Udp), None, None)
        );
        assert_eq!(got.src, Some(Addr::V4(A4)));
        let last = ipv4_frag(17, 8, false, &dgram[64..]);
        assert_eq!(s(LinkType::Raw, &last).sport, None);
    }

    #[test]
    fn ipv6_extension_headers_are_walked() {
        // Hop-by-hop, then destination options, then TCP.
        let f = ipv6_ext(&[0, 60], 6, &tcp(22, 50000, 0x18, b"data"));
        let got = s(LinkType::Raw, &f);
        assert_eq!(got.proto, Some(Proto::Tcp));
        assert_eq!((got.sport, got.tcp_flags), (Some(22), Some(0x18)));
        assert_eq!(got.tcp_payload, Some(4));
    }

    #[test]
    fn ipv6_fragments() {
        let dgram = udp(5353, 53, &[1u8; 40]);
        let first = ipv6_frag(17, 0, true, &dgram[..24]);
        let got = s(LinkType::Raw, &first);
        assert_eq!((got.proto, got.sport), (Some(Proto::Udp), Some(5353)));
        let later = ipv6_frag(17, 3, false, &dgram[24..]);
        let got = s(LinkType::Raw, &later);
        assert_eq!(
            (got.proto, got.sport, got.src),
            (Some(Proto::Udp), None, Some(Addr::V6(A6)))
        );
    }

    #[test]
    fn ipv6_cut_inside_an_extension_header_names_it() {
        let f = ipv6_ext(&[0], 6, &tcp(1, 2, 0x02, b""));
        let got = s(LinkType::Raw, &f[..44]);
        assert_eq!((got.proto, got.sport), (Some(Proto::Ip(0)), None));
        assert_eq!(got.src, Some(Addr::V6(A6)));
    }

    #[test]
    fn other_ip_protocols_are_numbers() {
        let f = ipv4(47, &[0u8; 8]);
        assert_eq!(s(LinkType::Raw, &f).proto, Some(Proto::Ip(47)));
        assert_eq!(
            s(LinkType::Raw, &f)
                .proto
                .map(|p| p.name().to_string())
                .as_deref(),
            Some("47")
        );
    }

    #[test]
    fn cut_ip_header_keeps_link_addresses() {
        let f = eth(ETH_IPV4, &ipv4(6, &tcp(1, 2, 0x02, b"")));
        let got = s(LinkType::Ethernet, &f[..14 + 19]);
        assert_eq!(
            (got.proto, got.src),
            (Some(Proto::Other), Some(Addr::Mac(MAC_A)))
        );
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        // A 60-byte minimum frame: the IP total length says where the datagram ends.
        let mut f = eth(ETH_IPV4, &ipv4(6, &tcp(1, 2, 0x10, b"")));
        f.resize(60, 0);
        let got = s(LinkType::Ethernet, &f);
        assert_eq!(got.tcp_payload, Some(0));
    }
}
