//! Where to capture, least privilege first.
//!
//! 1. The host side of the pod's veth, from the helper's own (host) network namespace: the
//!    host's id for the target namespace (RTM_GETNSID with NETNSA_FD) names the veth whose
//!    peer lives there (IFLA_LINK_NETNSID; with an interface named, also IFLA_LINK = that
//!    interface's ifindex in the pod). Needs NET_RAW only.
//! 2. Otherwise (ipvlan, macvlan, eBPF datapaths without a host veth, a veth between two
//!    other namespaces, several veths and no interface named): an AF_PACKET socket opened
//!    inside the namespace by a dedicated thread that enters it (setns) and does nothing
//!    else; the socket stays in that namespace. Needs SYS_ADMIN too.
//!
//! A target that is the helper's own namespace needs neither: the socket is opened here.

use std::fs::File;
use std::os::fd::{AsFd as _, AsRawFd as _, OwnedFd};

use ktui_wire::CaptureMode;

use super::error::{CaptureError, Result};
use super::ring;
use super::rtnl::{Link, Rtnl};
use super::target::{Target, own_netns};
use crate::caps::{CAP_NET_RAW, CAP_SYS_ADMIN, Caps};

/// The socket to capture with, before it is set up, and what it sees.
pub struct Point {
    pub mode: CaptureMode,
    pub socket: OwnedFd,
    /// rtnetlink in the socket's namespace (interface names for the file).
    pub rtnl: Rtnl,
    /// The interface bound to; None = every interface of the socket's namespace.
    pub link: Option<Link>,
}

/// Why the host side of a veth cannot be used (for the message when SYS_ADMIN is missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoHostVeth {
    NoPeer,
    Several(Vec<String>),
    InterfaceUnknown(String),
}

impl std::fmt::Display for NoHostVeth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoHostVeth::NoPeer => write!(
                f,
                "no veth in the node's network namespace leads into it (ipvlan, macvlan or an eBPF datapath)"
            ),
            NoHostVeth::Several(names) => write!(
                f,
                "several host veths lead into it ({}); name an interface to capture on one",
                names.join(", ")
            ),
            NoHostVeth::InterfaceUnknown(name) => write!(
                f,
                "interface {name:?} in it could not be matched to a host veth"
            ),
        }
    }
}

/// The host veth for the namespace with host id `nsid`, among `links` (a dump of the host's
/// links), optionally the one whose peer has index `peer`.
pub fn host_veth(links: &[Link], nsid: Option<i32>, peer: Option<i32>) -> Result<Link, NoHostVeth> {
    let Some(nsid) = nsid else {
        return Err(NoHostVeth::NoPeer);
    };
    let found: Vec<&Link> = links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("veth") && l.link_netnsid == Some(nsid))
        .filter(|l| peer.is_none() || l.link == peer)
        .collect();
    match found.as_slice() {
        [] => Err(NoHostVeth::NoPeer),
        [one] => Ok((*one).clone()),
        many => Err(NoHostVeth::Several(
            many.iter().map(|l| l.name.clone()).collect(),
        )),
    }
}

/// Choose the capture point for `target` and open its socket.
pub fn open(target: &Target, interface: Option<&str>, caps: Caps) -> Result<Point> {
    let what = format!("packets of {}", target.what);
    if !caps.has(CAP_NET_RAW) {
        return Err(CaptureError::NotPermitted {
            cap: "CAP_NET_RAW",
            what,
        });
    }
    let packet_err = |e| {
        CaptureError::os(
            format!("opening an AF_PACKET socket for {what}"),
            e,
            "CAP_NET_RAW",
        )
    };
    if own_netns() == Some(target.inode) {
        let mut rtnl = Rtnl::open().map_err(|e| CaptureError::io("rtnetlink", e))?;
        let link = named_link(&mut rtnl, interface, &target.what)?;
        let socket = ring::open_socket().map_err(packet_err)?;
        return Ok(Point {
            mode: CaptureMode::Netns,
            socket,
            rtnl,
            link,
        });
    }
    let why = match find_host_veth(target, interface) {
        Ok((rtnl, link)) => {
            let socket = ring::open_socket().map_err(packet_err)?;
            return Ok(Point {
                mode: CaptureMode::HostVeth,
                socket,
                rtnl,
                link: Some(link),
            });
        }
        Err(why) => why,
    };
    if !caps.has(CAP_SYS_ADMIN) {
        return Err(CaptureError::NotPermitted {
            cap: "CAP_SYS_ADMIN",
            what: format!("{what} inside its namespace ({why})"),
        });
    }
    let (socket, mut rtnl) = open_inside(&target.ns, &what)?;
    let link = named_link(&mut rtnl, interface, &target.what)?;
    Ok(Point {
        mode: CaptureMode::Netns,
        socket,
        rtnl,
        link,
    })
}

fn named_link(rtnl: &mut Rtnl, interface: Option<&str>, what: &str) -> Result<Option<Link>> {
    let Some(name) = interface else {
        return Ok(None);
    };
    match rtnl.link_by_name(name, None) {
        Ok(Some(l)) => Ok(Some(l)),
        Ok(None) => Err(CaptureError::BadRequest(format!(
            "{what} has no interface {name:?}"
        ))),
        Err(e) => Err(CaptureError::io(
            format!("looking up interface {name:?}"),
            e,
        )),
    }
}

/// The host veth leading into the target namespace (from this thread's namespace).
fn find_host_veth(target: &Target, interface: Option<&str>) -> Result<(Rtnl, Link), NoHostVeth> {
    let Ok(mut rtnl) = Rtnl::open() else {
        return Err(NoHostVeth::NoPeer);
    };
    // The dump first: listing a veth gives its peer's namespace an id here if it had none.
    let links = rtnl.links().map_err(|_| NoHostVeth::NoPeer)?;
    let nsid = rtnl.nsid_of(target.ns.as_fd()).ok().flatten();
    let peer = match (interface, nsid) {
        (Some(name), Some(id)) => match rtnl.link_by_name(name, Some(id)) {
            Ok(Some(l)) => Some(l.index),
            _ => return Err(NoHostVeth::InterfaceUnknown(name.to_string())),
        },
        _ => None,
    };
    let link = host_veth(&links, nsid, peer)?;
    Ok((rtnl, link))
}

/// An AF_PACKET socket and an rtnetlink socket created inside `ns` by a thread that enters
/// it and ends (no other thread of the helper ever changes namespace).
fn open_inside(ns: &File, what: &str) -> Result<(OwnedFd, Rtnl)> {
    let fd = ns
        .try_clone()
        .map_err(|e| CaptureError::io("duplicating the namespace descriptor", e))?;
    let what = what.to_string();
    let joined = std::thread::Builder::new()
        .name("ktui-capture-setns".into())
        .spawn(move || -> Result<(OwnedFd, Rtnl)> {
            // SAFETY: setns on a namespace descriptor we own, changing this thread only.
            let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(CaptureError::os(
                    format!("entering the network namespace of {what}"),
                    std::io::Error::last_os_error(),
                    "CAP_SYS_ADMIN",
                ));
            }
            let socket = ring::open_socket().map_err(|e| {
                CaptureError::os(
                    format!("opening an AF_PACKET socket for {what}"),
                    e,
                    "CAP_NET_RAW",
                )
            })?;
            let rtnl =
                Rtnl::open().map_err(|e| CaptureError::io("rtnetlink inside the namespace", e))?;
            Ok((socket, rtnl))
        })
        .map_err(|e| CaptureError::io("starting the setns thread", e))?
        .join();
    joined.unwrap_or_else(|_| {
        Err(CaptureError::Unavailable(
            "the setns thread panicked".into(),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(
        index: i32,
        name: &str,
        kind: Option<&str>,
        peer: Option<i32>,
        nsid: Option<i32>,
    ) -> Link {
        Link {
            index,
            name: name.into(),
            hatype: 1,
            kind: kind.map(str::to_string),
            link: peer,
            link_netnsid: nsid,
        }
    }

    #[test]
    fn the_veth_into_the_namespace_is_chosen() {
        let links = [
            link(1, "lo", None, None, None),
            link(2, "eth0", None, None, None),
            link(7, "vethA", Some("veth"), Some(2), Some(0)),
            link(8, "vethB", Some("veth"), Some(2), Some(1)),
            link(9, "vethB2", Some("veth"), Some(3), Some(1)),
            link(10, "vx", Some("vxlan"), Some(2), Some(2)),
        ];
        assert_eq!(host_veth(&links, Some(0), None).unwrap().name, "vethA");
        assert_eq!(
            host_veth(&links, Some(1), None),
            Err(NoHostVeth::Several(vec!["vethB".into(), "vethB2".into()]))
        );
        assert_eq!(host_veth(&links, Some(1), Some(3)).unwrap().name, "vethB2");
        assert_eq!(host_veth(&links, Some(2), None), Err(NoHostVeth::NoPeer));
        assert_eq!(host_veth(&links, None, None), Err(NoHostVeth::NoPeer));
        assert!(NoHostVeth::NoPeer.to_string().contains("ipvlan"));
    }
}
