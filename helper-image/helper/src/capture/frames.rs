//! A ring frame → the bytes written to the file: the interface's file id (pcapng: a new
//! interface gets its description block when its first frame arrives), the VLAN tag put back
//! (Ethernet), a cooked header for hardware types pcap has no raw link type for, the
//! snaplen. The loopback device's outgoing copy of each frame is skipped (it is seen again
//! as incoming), as libpcap does.

use std::collections::HashMap;

use ktui_packet::LinkType;

use super::error::Result;
use super::files::FileSet;
use super::link::{LinkKind, SLL_HEADER_LEN, is_loopback, sll_header};
use super::ring::Frame;
use super::rtnl::{Link, Rtnl};
use super::vlan;
use super::writer::FileInterface;

const PACKET_OUTGOING: u8 = 4;

/// One frame as it goes to the file and the summary.
pub struct Packet<'a> {
    pub data: &'a [u8],
    pub orig_len: u32,
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
    pub link: LinkType,
}

pub struct Framer {
    snaplen: usize,
    /// Bound to one interface: every frame is its.
    single: Option<LinkKind>,
    by_ifindex: HashMap<i32, (u32, LinkKind)>,
    scratch: Vec<u8>,
}

impl Framer {
    /// `links`: the bound interface (single) or the namespace's interfaces in file order.
    pub fn new(snaplen: u32, single: bool, links: &[Link]) -> Framer {
        let kind = |l: &Link| LinkKind::of_hatype(l.hatype);
        Framer {
            snaplen: snaplen as usize,
            single: if single {
                Some(links.first().map_or(LinkKind::Ethernet, kind))
            } else {
                None
            },
            by_ifindex: links
                .iter()
                .enumerate()
                .map(|(i, l)| (l.index, (i as u32, kind(l))))
                .collect(),
            scratch: Vec::with_capacity(64 * 1024),
        }
    }

    fn interface(
        &mut self,
        f: &Frame<'_>,
        files: &mut FileSet,
        rtnl: &mut Rtnl,
    ) -> Result<(u32, LinkKind)> {
        if let Some(kind) = self.single {
            return Ok((0, kind));
        }
        if let Some(known) = self.by_ifindex.get(&f.ifindex) {
            return Ok(*known);
        }
        let kind = LinkKind::of_hatype(f.hatype);
        let name = rtnl
            .link(f.ifindex)
            .ok()
            .flatten()
            .map_or_else(|| format!("if{}", f.ifindex), |l| l.name);
        let id = files.add_interface(FileInterface {
            name,
            linktype: kind.linktype(),
        })?;
        self.by_ifindex.insert(f.ifindex, (id, kind));
        Ok((id, kind))
    }

    /// None: the frame is not written (the loopback's outgoing copy).
    pub fn frame<'a>(
        &'a mut self,
        f: &Frame<'a>,
        files: &mut FileSet,
        rtnl: &mut Rtnl,
    ) -> Option<Result<Packet<'a>>> {
        if is_loopback(f.hatype) && f.pkttype == PACKET_OUTGOING {
            return None;
        }
        let (interface, kind) = match self.interface(f, files, rtnl) {
            Ok(k) => k,
            Err(e) => return Some(Err(e)),
        };
        let (data, orig_len): (&[u8], u32) = match kind {
            LinkKind::Ethernet => match vlan::tag_of(f.status, f.vlan_tci, f.vlan_tpid) {
                Some((tpid, tci)) if vlan::reinsert(f.data, tpid, tci, &mut self.scratch) => {
                    (&self.scratch, f.len + vlan::VLAN_TAG_LEN as u32)
                }
                _ => (f.data, f.len),
            },
            LinkKind::Raw => (f.data, f.len),
            LinkKind::Cooked => {
                let net = f.net_offset;
                self.scratch.clear();
                self.scratch.extend_from_slice(&sll_header(
                    f.pkttype,
                    f.hatype,
                    f.addr,
                    f.protocol_be,
                ));
                self.scratch.extend_from_slice(&f.data[net..]);
                let orig = (f.len as usize).saturating_sub(net) + SLL_HEADER_LEN;
                (&self.scratch, orig as u32)
            }
        };
        let data = &data[..data.len().min(self.snaplen)];
        Some(Ok(Packet {
            data,
            orig_len: orig_len.max(data.len() as u32),
            interface,
            link: kind.link_type(),
        }))
    }
}
