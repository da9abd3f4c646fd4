//! rtnetlink (NETLINK_ROUTE) for finding the capture point: the links of the socket's network
//! namespace (name, hardware type, kind, peer ifindex and peer namespace id), the id this
//! namespace gives another one (RTM_GETNSID with NETNSA_FD), and a link looked up by name in
//! another namespace through its id (IFLA_TARGET_NETNSID). Read-only requests; a socket
//! keeps the namespace it was created in.

use std::io;
use std::os::fd::{AsRawFd as _, BorrowedFd};

use crate::netlink::{self, NLM_F_DUMP, attr, attrs, find};

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWNSID: u16 = 88;
const RTM_GETNSID: u16 = 90;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_TARGET_NETNSID: u16 = 46;
const NETNSA_NSID: u16 = 1;
const NETNSA_FD: u16 = 3;
/// `struct ifinfomsg`: family, pad, type (ARPHRD_*), index, flags, change.
const IFINFOMSG_LEN: usize = 16;

/// One network interface as rtnetlink reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: i32,
    pub name: String,
    /// ARPHRD_* hardware type.
    pub hatype: u16,
    /// `veth`, `ipvlan`, ... (IFLA_INFO_KIND); None for devices without link ops (lo).
    pub kind: Option<String>,
    /// IFLA_LINK: for a veth the peer's ifindex (in the peer's namespace).
    pub link: Option<i32>,
    /// IFLA_LINK_NETNSID: the id, in this namespace, of the peer's namespace.
    pub link_netnsid: Option<i32>,
}

/// A NETLINK_ROUTE socket in the namespace of the thread that opened it.
pub struct Rtnl {
    sock: netlink::Socket,
}

/// An RTM_GETLINK request: a dump (index 0, no attributes), by index, or by name (optionally
/// in the namespace with id `target_nsid`).
pub fn getlink_request(
    seq: u32,
    index: i32,
    name: Option<&str>,
    target_nsid: Option<i32>,
) -> Vec<u8> {
    let dump = index == 0 && name.is_none();
    netlink::request(RTM_GETLINK, if dump { NLM_F_DUMP } else { 0 }, seq, |buf| {
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&index.to_ne_bytes());
        buf.extend_from_slice(&[0; 8]);
        if let Some(name) = name {
            let mut z = name.as_bytes().to_vec();
            z.push(0);
            attr(buf, IFLA_IFNAME, &z);
        }
        if let Some(nsid) = target_nsid {
            attr(buf, IFLA_TARGET_NETNSID, &nsid.to_ne_bytes());
        }
    })
}

/// An RTM_GETNSID request for the namespace `ns_fd` refers to.
pub fn getnsid_request(seq: u32, ns_fd: i32) -> Vec<u8> {
    netlink::request(RTM_GETNSID, 0, seq, |buf| {
        // struct rtgenmsg (one byte), aligned to 4.
        buf.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        attr(buf, NETNSA_FD, &(ns_fd as u32).to_ne_bytes());
    })
}

fn s32(p: &[u8]) -> Option<i32> {
    Some(i32::from_ne_bytes(p.get(..4)?.try_into().ok()?))
}

fn string(p: &[u8]) -> String {
    let end = p.iter().position(|b| *b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}

/// One RTM_NEWLINK payload (ifinfomsg + attributes) as a [`Link`].
pub fn parse_link(payload: &[u8]) -> Option<Link> {
    let head = payload.get(..IFINFOMSG_LEN)?;
    let hatype = u16::from_ne_bytes([head[2], head[3]]);
    let index = s32(&head[4..8])?;
    let mut link = Link {
        index,
        name: String::new(),
        hatype,
        kind: None,
        link: None,
        link_netnsid: None,
    };
    for (ty, p) in attrs(&payload[IFINFOMSG_LEN..]) {
        match ty {
            IFLA_IFNAME => link.name = string(p),
            IFLA_LINK => link.link = s32(p),
            IFLA_LINK_NETNSID => link.link_netnsid = s32(p),
            IFLA_LINKINFO => {
                link.kind = find(p, IFLA_INFO_KIND).map(string);
            }
            _ => {}
        }
    }
    Some(link)
}

/// One RTM_NEWNSID payload's id; None when the namespace has none here (-1).
pub fn parse_nsid(payload: &[u8]) -> Option<i32> {
    s32(find(payload.get(4..)?, NETNSA_NSID)?).filter(|id| *id >= 0)
}

impl Rtnl {
    /// A socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Rtnl> {
        Ok(Rtnl {
            sock: netlink::Socket::open(libc::NETLINK_ROUTE, 2)?,
        })
    }

    /// Every link of this namespace.
    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        let seq = self.sock.next_seq();
        let mut links = Vec::new();
        let req = getlink_request(seq, 0, None, None);
        self.sock.exchange(&req, seq, true, |ty, p| {
            if ty == RTM_NEWLINK {
                links.extend(parse_link(p));
            }
        })?;
        Ok(links)
    }

    /// The link with this index here; None when there is none (ENODEV).
    pub fn link(&mut self, index: i32) -> io::Result<Option<Link>> {
        self.one_link(index, None, None)
    }

    /// The link called `name`, here or (with `nsid`) in the namespace with that id here.
    /// Asking another namespace needs CAP_NET_ADMIN over it.
    pub fn link_by_name(&mut self, name: &str, nsid: Option<i32>) -> io::Result<Option<Link>> {
        self.one_link(0, Some(name), nsid)
    }

    fn one_link(
        &mut self,
        index: i32,
        name: Option<&str>,
        nsid: Option<i32>,
    ) -> io::Result<Option<Link>> {
        let seq = self.sock.next_seq();
        let mut found = None;
        let req = getlink_request(seq, index, name, nsid);
        match self.sock.exchange(&req, seq, false, |ty, p| {
            if ty == RTM_NEWLINK {
                found = parse_link(p);
            }
        }) {
            Ok(()) => Ok(found),
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The id this namespace gives the namespace `ns` refers to; None when it has none.
    pub fn nsid_of(&mut self, ns: BorrowedFd<'_>) -> io::Result<Option<i32>> {
        let seq = self.sock.next_seq();
        let mut found = None;
        let req = getnsid_request(seq, ns.as_raw_fd());
        self.sock.exchange(&req, seq, false, |ty, p| {
            if ty == RTM_NEWNSID {
                found = parse_nsid(p);
            }
        })?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::NLM_F_REQUEST;

    #[test]
    fn requests_have_the_kernel_layout() {
        let dump = getlink_request(7, 0, None, None);
        assert_eq!(dump.len(), 16 + IFINFOMSG_LEN);
        assert_eq!(u32::from_ne_bytes(dump[0..4].try_into().unwrap()), 32);
        assert_eq!(u16::from_ne_bytes([dump[4], dump[5]]), RTM_GETLINK);
        assert_eq!(
            u16::from_ne_bytes([dump[6], dump[7]]),
            NLM_F_REQUEST | NLM_F_DUMP
        );
        let by_name = getlink_request(8, 0, Some("eth0"), Some(3));
        // header + ifinfomsg + IFLA_IFNAME("eth0\0" padded to 8) + IFLA_TARGET_NETNSID.
        assert_eq!(by_name.len(), 16 + 16 + 12 + 8);
        assert_eq!(u16::from_ne_bytes([by_name[6], by_name[7]]), NLM_F_REQUEST);
        let nsid = getnsid_request(9, 5);
        assert_eq!(nsid.len(), 16 + 4 + 8);
        assert_eq!(&nsid[24..28], &5u32.to_ne_bytes());
    }

    #[test]
    fn a_link_message_parses_and_garbage_does_not_panic() {
        let mut p = vec![0u8, 0];
        p.extend_from_slice(&1u16.to_ne_bytes());
        p.extend_from_slice(&12i32.to_ne_bytes());
        p.extend_from_slice(&[0; 8]);
        attr(&mut p, IFLA_IFNAME, b"veth1\0");
        attr(&mut p, IFLA_LINK, &2i32.to_ne_bytes());
        attr(&mut p, IFLA_LINK_NETNSID, &4i32.to_ne_bytes());
        let mut info = Vec::new();
        attr(&mut info, IFLA_INFO_KIND, b"veth\0");
        attr(&mut p, IFLA_LINKINFO, &info);
        let l = parse_link(&p).unwrap();
        assert_eq!(
            l,
            Link {
                index: 12,
                name: "veth1".into(),
                hatype: 1,
                kind: Some("veth".into()),
                link: Some(2),
                link_netnsid: Some(4),
            }
        );
        for cut in 0..p.len() {
            let _ = parse_link(&p[..cut]);
        }
        let mut ns = vec![0u8; 4];
        attr(&mut ns, NETNSA_NSID, &(-1i32).to_ne_bytes());
        assert_eq!(parse_nsid(&ns), None);
        let mut ns = vec![0u8; 4];
        attr(&mut ns, NETNSA_NSID, &3i32.to_ne_bytes());
        assert_eq!(parse_nsid(&ns), Some(3));
    }
}
