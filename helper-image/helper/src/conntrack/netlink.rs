//! ctnetlink over a raw `NETLINK_NETFILTER` socket: a dump of the table, a GET by tuple and
//! the destroy events. Read-only, but the kernel requires CAP_NET_ADMIN for any of it (EPERM).

use std::io;

use super::message::{NFNLGRP_CONNTRACK_DESTROY, entry, get_request, request};
use super::{Entry, Tuple};
use crate::netlink::{self, NLM_F_DUMP, NLMSG_ERROR, messages};

/// A ctnetlink socket in the helper's network namespace.
pub struct Ctnetlink {
    sock: netlink::Socket,
}

impl Ctnetlink {
    pub fn open() -> io::Result<Ctnetlink> {
        let sock = netlink::Socket::open(libc::NETLINK_NETFILTER, 1)?;
        // Bound, so that the destroy events reach it.
        sock.bind()?;
        Ok(Ctnetlink { sock })
    }

    /// A socket the kernel sends every entry it destroys to (a refused connection's entry is
    /// destroyed the moment the reset passes, before the connecting socket sees it).
    pub fn destroyed() -> io::Result<Ctnetlink> {
        let nl = Ctnetlink::open()?;
        nl.sock.add_membership(NFNLGRP_CONNTRACK_DESTROY)?;
        Ok(nl)
    }

    /// The TCP and UDP entries destroyed since the last call, without waiting. When the
    /// socket's buffer overflowed, the events that did not fit are lost (and the rest read).
    pub fn drain(&mut self, each: &mut impl FnMut(Entry)) -> io::Result<()> {
        loop {
            let buf = match self.sock.recv(libc::MSG_DONTWAIT) {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) => return Err(e),
            };
            for (ty, _, payload) in messages(buf) {
                if ty != NLMSG_ERROR
                    && let Some(e) = payload.get(4..).and_then(entry)
                {
                    each(e);
                }
            }
        }
    }

    /// Every TCP and UDP entry of `family` (AF_INET or AF_INET6), in the kernel's order.
    pub fn dump(&mut self, family: u16, each: &mut impl FnMut(Entry)) -> io::Result<()> {
        let seq = self.sock.next_seq();
        let req = request(seq, NLM_F_DUMP, family, |_| {});
        self.sock.exchange(&req, seq, true, |_, payload| {
            if let Some(e) = payload.get(4..).and_then(entry) {
                each(e);
            }
        })
    }

    /// The entry `t` is either direction of; None when the kernel has none (ENOENT).
    pub fn get(&mut self, t: &Tuple) -> io::Result<Option<Entry>> {
        let seq = self.sock.next_seq();
        let mut found = None;
        match self
            .sock
            .exchange(&get_request(seq, t), seq, false, |_, payload| {
                found = payload.get(4..).and_then(entry);
            }) {
            Ok(()) => Ok(found),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
