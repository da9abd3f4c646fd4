//! VLAN tags come out of band: the kernel strips the 802.1Q tag from the frame (hardware or
//! software offload) and reports it in the ring header (`tp_vlan_tci`, `tp_vlan_tpid` with
//! TP_STATUS_VLAN_VALID / TP_STATUS_VLAN_TPID_VALID). libpcap puts it back between the MAC
//! addresses and the EtherType (pcap-linux.c, `pcap_handle_packet_mmap`): the frame grows by
//! 4 bytes, and so do its captured and original lengths. We do the same.

pub const ETH_P_8021Q: u16 = 0x8100;
pub const VLAN_TAG_LEN: usize = 4;
const MACS_LEN: usize = 12;

/// The VLAN tag the ring header reports for a frame, if any: (TPID, TCI). libpcap's test:
/// a non-zero TCI, or the VALID flag (a TCI of 0 is priority 0 on VLAN 0).
pub fn tag_of(status: u32, tci: u32, tpid: u16) -> Option<(u16, u16)> {
    if tci == 0 && status & libc::TP_STATUS_VLAN_VALID == 0 {
        return None;
    }
    let tpid = if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
        tpid
    } else {
        ETH_P_8021Q
    };
    Some((tpid, tci as u16))
}

/// `frame` with the tag inserted after the two MAC addresses, written to `out` (cleared
/// first). False, and `out` untouched, when the frame is too short to hold the MACs (libpcap
/// leaves such frames as they are).
pub fn reinsert(frame: &[u8], tpid: u16, tci: u16, out: &mut Vec<u8>) -> bool {
    if frame.len() < MACS_LEN {
        return false;
    }
    out.clear();
    out.reserve(frame.len() + VLAN_TAG_LEN);
    out.extend_from_slice(&frame[..MACS_LEN]);
    out.extend_from_slice(&tpid.to_be_bytes());
    out.extend_from_slice(&tci.to_be_bytes());
    out.extend_from_slice(&frame[MACS_LEN..]);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An untagged ARP request as the kernel hands it over, and the same frame as libpcap
    /// writes it with `tp_vlan_tci` = 0x2064 (priority 1, VLAN 100): the 802.1Q header
    /// (TPID 0x8100, TCI) between the source MAC and the EtherType, lengths + 4.
    #[test]
    fn the_tag_goes_back_where_libpcap_puts_it() {
        let dst = [0xff; 6];
        let src = [0x02, 0, 0, 0, 0, 1];
        let mut untagged = Vec::new();
        untagged.extend_from_slice(&dst);
        untagged.extend_from_slice(&src);
        untagged.extend_from_slice(&[0x08, 0x06]);
        untagged.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1]);
        let mut expected = Vec::new();
        expected.extend_from_slice(&dst);
        expected.extend_from_slice(&src);
        expected.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
        expected.extend_from_slice(&[0x08, 0x06]);
        expected.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0, 1]);
        let (tpid, tci) = tag_of(libc::TP_STATUS_VLAN_VALID, 0x2064, 0).unwrap();
        let mut out = vec![9, 9];
        assert!(reinsert(&untagged, tpid, tci, &mut out));
        assert_eq!(out, expected);
        assert_eq!(out.len(), untagged.len() + VLAN_TAG_LEN);
    }

    #[test]
    fn tpid_and_validity_follow_the_status_bits() {
        assert_eq!(tag_of(0, 0, 0), None);
        // VLAN 0 with the valid flag is a tag.
        assert_eq!(
            tag_of(libc::TP_STATUS_VLAN_VALID, 0, 0),
            Some((ETH_P_8021Q, 0))
        );
        // Older kernels: a TCI without the flag.
        assert_eq!(tag_of(0, 5, 0), Some((ETH_P_8021Q, 5)));
        // 802.1ad outer tag.
        let s = libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID;
        assert_eq!(tag_of(s, 7, 0x88a8), Some((0x88a8, 7)));
        let mut out = Vec::new();
        assert!(!reinsert(&[1, 2, 3], ETH_P_8021Q, 1, &mut out));
        assert!(out.is_empty());
    }
}
