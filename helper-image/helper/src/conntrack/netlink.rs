//! ctnetlink over a raw `NETLINK_NETFILTER` socket: a dump of the table, a GET by tuple and
//! the destroy events. Read-only, but the kernel requires CAP_NET_ADMIN for any of it (EPERM).

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use super::message::{
    NFNLGRP_CONNTRACK_DESTROY, NLM_F_DUMP, NLMSG_DONE, NLMSG_ERROR, entry, error_of, get_request,
    messages, request,
};
use super::{Entry, Tuple};

/// A kernel dump message is at most 32 KiB (netlink caps its dump buffers there).
const RECV_BUF: usize = 64 * 1024;

/// A ctnetlink socket in the helper's network namespace.
pub struct Ctnetlink {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Ctnetlink {
    pub fn open() -> io::Result<Ctnetlink> {
        // SAFETY: socket(2) with constant arguments; the descriptor is owned right below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_NETFILTER,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Bound to a port id the kernel picks: an unbound socket's id 0 is the kernel's, and
        // its multicast (the destroy events) skips the sender's id.
        // SAFETY: an all-zero sockaddr_nl is valid; then the family is set.
        let mut local: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        local.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: bind(2) with a sockaddr_nl we own and its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const local).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // Replies are queued before send returns; the timeout only guards against a kernel
        // that never answers.
        let timeout = libc::timeval {
            tv_sec: 1,
            tv_usec: 0,
        };
        // SAFETY: setsockopt with a timeval we own and its size.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const timeout).cast(),
                size_of::<libc::timeval>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Ctnetlink {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    /// A socket the kernel sends every entry it destroys to (a refused connection's entry is
    /// destroyed the moment the reset passes, before the connecting socket sees it).
    pub fn destroyed() -> io::Result<Ctnetlink> {
        let nl = Ctnetlink::open()?;
        let group = NFNLGRP_CONNTRACK_DESTROY;
        // SAFETY: setsockopt with a u32 we own and its size.
        let rc = unsafe {
            libc::setsockopt(
                nl.fd.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_ADD_MEMBERSHIP,
                (&raw const group).cast(),
                size_of::<u32>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(nl)
    }

    /// The TCP and UDP entries destroyed since the last call, without waiting. When the
    /// socket's buffer overflowed, the events that did not fit are lost (and the rest read).
    pub fn drain(&mut self, each: &mut impl FnMut(Entry)) -> io::Result<()> {
        loop {
            let n = match self.recv(libc::MSG_DONTWAIT) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) => return Err(e),
            };
            for (ty, _, payload) in messages(&self.buf[..n]) {
                if ty != NLMSG_ERROR
                    && let Some(e) = payload.get(4..).and_then(entry)
                {
                    each(e);
                }
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send to the kernel (an unconnected netlink socket's default destination).
    fn send(&self, msg: &[u8]) -> io::Result<()> {
        loop {
            // SAFETY: send(2) from a buffer we own, with its length.
            let n = unsafe { libc::send(self.fd.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// One datagram into `self.buf`; its length.
    fn recv(&mut self, flags: i32) -> io::Result<usize> {
        loop {
            // SAFETY: recv(2) into our buffer, with its length.
            let n = unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                    flags,
                )
            };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Every TCP and UDP entry of `family` (AF_INET or AF_INET6), in the kernel's order.
    pub fn dump(&mut self, family: u16, each: &mut impl FnMut(Entry)) -> io::Result<()> {
        let seq = self.next_seq();
        self.send(&request(seq, NLM_F_DUMP, family, |_| {}))?;
        loop {
            let n = self.recv(0)?;
            for (ty, s, payload) in messages(&self.buf[..n]) {
                if s != seq {
                    continue;
                }
                match ty {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => match error_of(payload) {
                        Some(e) => return Err(e),
                        None => return Ok(()),
                    },
                    _ => {
                        if let Some(e) = payload.get(4..).and_then(entry) {
                            each(e);
                        }
                    }
                }
            }
        }
    }

    /// The entry `t` is either direction of; None when the kernel has none (ENOENT).
    pub fn get(&mut self, t: &Tuple) -> io::Result<Option<Entry>> {
        let seq = self.next_seq();
        self.send(&get_request(seq, t))?;
        loop {
            let n = self.recv(0)?;
            for (ty, s, payload) in messages(&self.buf[..n]) {
                if s != seq {
                    continue;
                }
                if ty == NLMSG_ERROR {
                    return match error_of(payload) {
                        Some(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
                        Some(e) => Err(e),
                        None => Ok(None),
                    };
                }
                return Ok(payload.get(4..).and_then(entry));
            }
        }
    }
}
