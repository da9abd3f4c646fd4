//! The capture socket: AF_PACKET SOCK_RAW with a TPACKET_V3 receive ring (blocks of frames
//! the kernel fills and hands over whole; no copy, no system call per packet), the classic
//! BPF filter attached before any packet can arrive (the socket is created with protocol 0
//! and bound to ETH_P_ALL only at the end, as libpcap does), and PACKET_STATISTICS.
//!
//! Sizes: blocks of [`BLOCK_SIZE`] (1 MiB), [`BLOCK_COUNT`] of them (32 MiB per capture). A
//! frame must fit in one block: with TSO/GSO a veth hands over super-frames of up to 64 KiB
//! (more with BIG TCP), and the snaplen is capped at [`MAX_SNAPLEN`] (256 KiB), so a frame
//! of at most 256 KiB + headers always fits in a 1 MiB block (the kernel would cut a larger
//! one to the block size). A block is handed over when full or after [`BLOCK_TIMEOUT_MS`].

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use ktui_packet::filter::BpfInsn;

pub const BLOCK_SIZE: u32 = 1 << 20;
pub const BLOCK_COUNT: u32 = 32;
pub const MAX_SNAPLEN: u32 = 256 * 1024;
pub const BLOCK_TIMEOUT_MS: u32 = 20;
const ETH_P_ALL: u16 = 0x0003;
/// Where `struct sockaddr_ll` sits after each frame header: TPACKET_ALIGN(sizeof(tpacket3_hdr)).
const SLL_OFFSET: usize = 48;

/// The frame slot size given to the kernel (V3 packs frames by their real size; this only
/// has to hold the largest frame): header, sockaddr_ll, alignment slack and the snaplen.
pub fn frame_size(snaplen: u32) -> u32 {
    let raw = libc::TPACKET3_HDRLEN as u32 + 16 + snaplen.min(MAX_SNAPLEN);
    raw.div_ceil(libc::TPACKET_ALIGNMENT as u32) * libc::TPACKET_ALIGNMENT as u32
}

/// One received frame, borrowed from the ring.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub sec: u32,
    pub nsec: u32,
    /// Original length.
    pub len: u32,
    pub status: u32,
    pub vlan_tci: u32,
    pub vlan_tpid: u16,
    pub ifindex: i32,
    pub hatype: u16,
    pub pkttype: u8,
    /// sll_protocol, network byte order.
    pub protocol_be: u16,
    pub addr: &'a [u8],
    /// From the link-layer header on, `tp_snaplen` bytes.
    pub data: &'a [u8],
    /// Offset of the network header in `data`.
    pub net_offset: usize,
}

pub struct PacketSocket {
    fd: OwnedFd,
    ring: *mut u8,
    ring_len: usize,
    next: u32,
}

// SAFETY: the ring is a private mapping of this socket used only through &mut self.
unsafe impl Send for PacketSocket {}

fn check(rc: libc::c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    Err(io::Error::new(e.kind(), format!("{what}: {e}")))
}

fn setsockopt<T>(fd: &OwnedFd, level: i32, name: i32, value: &T, what: &str) -> io::Result<()> {
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
    check(rc, what)
}

/// A new AF_PACKET socket in the calling thread's network namespace that receives nothing
/// until [`PacketSocket::setup`] binds it.
pub fn open_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the descriptor is owned right below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl PacketSocket {
    /// TPACKET_V3, the filter, the ring, then bound to `ifindex` (0 = every interface of the
    /// socket's namespace).
    pub fn setup(fd: OwnedFd, filter: &[BpfInsn], snaplen: u32, ifindex: i32) -> io::Result<Self> {
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_VERSION,
            &version,
            "PACKET_VERSION",
        )?;
        let len = u16::try_from(filter.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter too long"))?;
        let prog = libc::sock_fprog {
            len,
            filter: filter.as_ptr().cast_mut().cast::<libc::sock_filter>(),
        };
        setsockopt(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            &prog,
            "SO_ATTACH_FILTER",
        )?;
        let fsize = frame_size(snaplen);
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE,
            tp_block_nr: BLOCK_COUNT,
            tp_frame_size: fsize,
            tp_frame_nr: (BLOCK_SIZE / fsize) * BLOCK_COUNT,
            tp_retire_blk_tov: BLOCK_TIMEOUT_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(
            &fd,
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            &req,
            "PACKET_RX_RING",
        )?;
        let ring_len = BLOCK_SIZE as usize * BLOCK_COUNT as usize;
        // SAFETY: mapping the socket's ring (set up above) shared, at a kernel-chosen address.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("mmap of the ring: {e}")));
        }
        let sock = PacketSocket {
            fd,
            ring: ring.cast(),
            ring_len,
            next: 0,
        };
        // SAFETY: an all-zero sockaddr_ll is valid; then family, protocol and index are set.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex;
        // SAFETY: bind(2) with a sockaddr_ll we own and its size.
        let rc = unsafe {
            libc::bind(
                sock.fd.as_raw_fd(),
                (&raw const sll).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        check(rc, "bind")?;
        Ok(sock)
    }

    fn block_status(&self, i: u32) -> &AtomicU32 {
        // SAFETY: block i lies inside the mapping; block_status is the first u32 of
        // tpacket_hdr_v1 at offset 8 of the block descriptor, 4-byte aligned, and shared with
        // the kernel, hence accessed atomically.
        unsafe { AtomicU32::from_ptr(self.ring.add(i as usize * BLOCK_SIZE as usize + 8).cast()) }
    }

    /// Wait up to `timeout_ms` for the next block. Ok(false) on timeout; an error the socket
    /// reports (ENETDOWN: its interface went down or away) comes back as Err.
    pub fn wait(&self, timeout_ms: i32) -> io::Result<bool> {
        if self.block_status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0 {
            return Ok(true);
        }
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN | libc::POLLERR,
            revents: 0,
        };
        // SAFETY: poll(2) on one pollfd we own.
        let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(e)
            };
        }
        if pfd.revents & libc::POLLERR != 0 {
            let mut err: libc::c_int = 0;
            let mut len = size_of::<libc::c_int>() as libc::socklen_t;
            // SAFETY: getsockopt into an int we own.
            unsafe {
                libc::getsockopt(
                    self.fd.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_ERROR,
                    (&raw mut err).cast(),
                    &mut len,
                )
            };
            if err != 0 {
                return Err(io::Error::from_raw_os_error(err));
            }
        }
        Ok(self.block_status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0)
    }

    /// Every frame of the next block, if the kernel has handed it over; the block goes back
    /// to the kernel afterwards. Returns the number of frames.
    pub fn drain_block(&mut self, mut each: impl FnMut(&Frame<'_>)) -> Option<usize> {
        let i = self.next;
        if self.block_status(i).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        let base = i as usize * BLOCK_SIZE as usize;
        // SAFETY: the block is ours until its status is set back (TP_STATUS_USER, acquired
        // above); BLOCK_SIZE bytes from base lie inside the mapping.
        let block = unsafe { std::slice::from_raw_parts(self.ring.add(base), BLOCK_SIZE as usize) };
        let u32_at = |b: &[u8], off: usize| -> Option<u32> {
            Some(u32::from_ne_bytes(b.get(off..off + 4)?.try_into().ok()?))
        };
        let num = u32_at(block, 12).unwrap_or(0);
        let mut off = u32_at(block, 16).unwrap_or(0) as usize;
        let mut count = 0;
        for _ in 0..num {
            let Some(frame) = parse_frame(block, off) else {
                break;
            };
            each(&frame.0);
            count += 1;
            if frame.1 == 0 {
                break;
            }
            off += frame.1;
        }
        self.block_status(i)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next = (i + 1) % BLOCK_COUNT;
        Some(count)
    }

    /// Frames the kernel dropped (ring full) since the last call (the counters reset on read).
    pub fn drops(&self) -> io::Result<u64> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: getsockopt into a tpacket_stats_v3 we own, with its size.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&raw mut st).cast(),
                &mut len,
            )
        };
        check(rc, "PACKET_STATISTICS")?;
        Ok(u64::from(st.tp_drops))
    }
}

/// The frame at `off` in a block, and the offset of the next one (0 = last).
fn parse_frame(block: &[u8], off: usize) -> Option<(Frame<'_>, usize)> {
    let h = block.get(off..off + SLL_OFFSET + 20)?;
    let u32_at = |o: usize| u32::from_ne_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]);
    let u16_at = |o: usize| u16::from_ne_bytes([h[o], h[o + 1]]);
    let next = u32_at(0) as usize;
    let snaplen = u32_at(12) as usize;
    let mac = usize::from(u16_at(24));
    let net = usize::from(u16_at(26));
    // sockaddr_ll: family, protocol (be), ifindex, hatype, pkttype, halen, addr[8].
    let s = SLL_OFFSET;
    let halen = usize::from(h[s + 11]).min(8);
    let data = block.get(off + mac..off + mac + snaplen)?;
    let frame = Frame {
        sec: u32_at(4),
        nsec: u32_at(8),
        len: u32_at(16),
        status: u32_at(20),
        vlan_tci: u32_at(32),
        vlan_tpid: u16_at(36),
        protocol_be: u16::from_ne_bytes([h[s + 2], h[s + 3]]),
        ifindex: i32::from_ne_bytes([h[s + 4], h[s + 5], h[s + 6], h[s + 7]]),
        hatype: u16_at(s + 8),
        pkttype: h[s + 10],
        addr: &h[s + 12..s + 12 + halen],
        data,
        net_offset: net.saturating_sub(mac).min(data.len()),
    };
    Some((frame, next))
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: unmapping the mapping made in setup, once.
        unsafe { libc::munmap(self.ring.cast(), self.ring_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_frame_fits_a_block_and_the_layout_matches_libc() {
        assert_eq!(size_of::<libc::tpacket3_hdr>(), SLL_OFFSET);
        assert_eq!(std::mem::offset_of!(libc::tpacket3_hdr, tp_mac), 24);
        assert_eq!(std::mem::offset_of!(libc::tpacket3_hdr, hv1), 28);
        assert_eq!(
            std::mem::offset_of!(libc::tpacket_block_desc, hdr),
            8,
            "block_status at 8"
        );
        let f = frame_size(ktui_wire::DEFAULT_SNAPLEN);
        assert!(f <= BLOCK_SIZE && f.is_multiple_of(16));
        assert!(frame_size(1 << 30) <= BLOCK_SIZE);
        assert!(frame_size(65535 + 18) >= 65535 + 18);
    }

    #[test]
    fn frames_parse_from_a_block_and_truncation_stops_the_walk() {
        let mut block = vec![0u8; 4096];
        let off = 64;
        let put = |b: &mut Vec<u8>, o: usize, v: &[u8]| b[o..o + v.len()].copy_from_slice(v);
        put(&mut block, off + 4, &7u32.to_ne_bytes());
        put(&mut block, off + 8, &9u32.to_ne_bytes());
        put(&mut block, off + 12, &20u32.to_ne_bytes());
        put(&mut block, off + 16, &60u32.to_ne_bytes());
        put(&mut block, off + 24, &80u16.to_ne_bytes());
        put(&mut block, off + 26, &94u16.to_ne_bytes());
        put(&mut block, off + 48 + 4, &3i32.to_ne_bytes());
        put(&mut block, off + 48 + 8, &1u16.to_ne_bytes());
        block[off + 48 + 10] = 4;
        block[off + 48 + 11] = 6;
        put(&mut block, off + 80, &[0xaa; 20]);
        let (f, next) = parse_frame(&block, off).unwrap();
        assert_eq!((f.sec, f.nsec, f.len, f.data.len()), (7, 9, 60, 20));
        assert_eq!((f.ifindex, f.hatype, f.pkttype, f.addr.len()), (3, 1, 4, 6));
        assert_eq!((f.net_offset, next), (14, 0));
        assert!(parse_frame(&block, 4090).is_none());
    }
}
