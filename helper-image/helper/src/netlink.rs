//! Netlink itself (include/uapi/linux/netlink.h), for the two families the helper speaks:
//! ctnetlink ([`crate::conntrack`]) and rtnetlink ([`crate::capture::rtnl`]). Messages and
//! attributes read from the kernel's answers and written into requests (pure functions), and
//! a raw socket that sends a request and hands over the answers to its sequence number.

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

const NLMSG_HDRLEN: usize = 16;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_DUMP: u16 = 0x300;
pub const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;
/// A kernel dump message is at most 32 KiB (netlink caps its dump buffers there).
const RECV_BUF: usize = 64 * 1024;

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Netlink attributes: (type without the nested/byte-order flags, payload). Ends at the first
/// malformed one.
pub fn attrs(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let head = rest.get(..4)?;
        let len = usize::from(u16::from_ne_bytes([head[0], head[1]]));
        let ty = u16::from_ne_bytes([head[2], head[3]]) & NLA_TYPE_MASK;
        let payload = rest.get(4..len.max(4))?;
        if len < 4 {
            return None;
        }
        rest = rest.get(align4(len)..).unwrap_or_default();
        Some((ty, payload))
    })
}

/// The payload of the first attribute of type `ty`.
pub fn find(buf: &[u8], ty: u16) -> Option<&[u8]> {
    attrs(buf).find(|(t, _)| *t == ty).map(|(_, p)| p)
}

/// A netlink message: (type, sequence number, payload).
pub fn messages(buf: &[u8]) -> impl Iterator<Item = (u16, u32, &[u8])> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let head = rest.get(..NLMSG_HDRLEN)?;
        let len = u32::from_ne_bytes(head[0..4].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes([head[4], head[5]]);
        let seq = u32::from_ne_bytes(head[8..12].try_into().ok()?);
        // A length shorter than its own header would never advance: the rest is garbage.
        if len < NLMSG_HDRLEN {
            return None;
        }
        let payload = rest.get(NLMSG_HDRLEN..len)?;
        rest = rest.get(align4(len)..).unwrap_or_default();
        Some((ty, seq, payload))
    })
}

/// Append one attribute (padded to 4 bytes).
pub fn attr(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let len = 4 + data.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(data);
    buf.resize(align4(buf.len()), 0);
}

/// Append a nested attribute (flagged NLA_F_NESTED, as the kernel's strict parsers expect)
/// whose attributes `body` writes.
pub fn nested(buf: &mut Vec<u8>, ty: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 2]);
    buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
    body(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
}

/// A request of type `ty` (`flags` besides NLM_F_REQUEST) whose family header and attributes
/// `body` writes after the message header.
pub fn request(ty: u16, flags: u16, seq: u32, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    body(&mut buf);
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf
}

/// The error an NLMSG_ERROR payload carries; None for an acknowledgement (error 0).
pub fn error_of(payload: &[u8]) -> Option<io::Error> {
    let code = i32::from_ne_bytes(payload.get(..4)?.try_into().ok()?);
    (code != 0).then(|| io::Error::from_raw_os_error(-code))
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T) -> io::Result<()> {
    // SAFETY: setsockopt with a value we own and its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A raw netlink socket of one protocol, in the network namespace of the thread that opened
/// it, with its sequence numbers and receive buffer.
pub struct Socket {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

impl Socket {
    /// A socket of `protocol` (NETLINK_ROUTE, NETLINK_NETFILTER) whose receives give up after
    /// `timeout_secs` (replies are queued before send returns; the timeout only guards
    /// against a kernel that never answers).
    pub fn open(protocol: libc::c_int, timeout_secs: libc::time_t) -> io::Result<Socket> {
        // SAFETY: socket(2) with constant arguments; the descriptor is owned right below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let timeout = libc::timeval {
            tv_sec: timeout_secs,
            tv_usec: 0,
        };
        setsockopt(&fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, &timeout)?;
        Ok(Socket {
            fd,
            seq: 0,
            buf: vec![0; RECV_BUF],
        })
    }

    /// Bind to a port id the kernel picks: an unbound socket's id 0 is the kernel's, and its
    /// multicast skips the sender's id.
    pub fn bind(&self) -> io::Result<()> {
        // SAFETY: an all-zero sockaddr_nl is valid; then the family is set.
        let mut local: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        local.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: bind(2) with a sockaddr_nl we own and its size.
        let rc = unsafe {
            libc::bind(
                self.fd.as_raw_fd(),
                (&raw const local).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Receive the multicast group `group` too.
    pub fn add_membership(&self, group: u32) -> io::Result<()> {
        setsockopt(
            &self.fd,
            libc::SOL_NETLINK,
            libc::NETLINK_ADD_MEMBERSHIP,
            &group,
        )
    }

    /// The sequence number for the next request.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Send to the kernel (an unconnected netlink socket's default destination).
    pub fn send(&self, msg: &[u8]) -> io::Result<()> {
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

    /// One datagram (recv(2) `flags`), in the socket's buffer.
    pub fn recv(&mut self, flags: i32) -> io::Result<&[u8]> {
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
                return Ok(&self.buf[..n as usize]);
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Send `req` (sequence number `seq`) and hand the (type, payload) of each answer to it to
    /// `each` until the answer is complete: NLMSG_DONE for a `dump`, the first message
    /// otherwise. An NLMSG_ERROR ends it: Err with its error, Ok for an acknowledgement.
    pub fn exchange(
        &mut self,
        req: &[u8],
        seq: u32,
        dump: bool,
        mut each: impl FnMut(u16, &[u8]),
    ) -> io::Result<()> {
        self.send(req)?;
        loop {
            for (ty, s, payload) in messages(self.recv(0)?) {
                if s != seq {
                    continue;
                }
                match ty {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => return error_of(payload).map_or(Ok(()), Err),
                    _ => {
                        each(ty, payload);
                        if !dump {
                            return Ok(());
                        }
                    }
                }
            }
        }
    }
}
