//! Reading another process's memory: `process_vm_readv(2)`, or `/proc/<pid>/mem` where that
//! call is refused (no such syscall, a seccomp filter) or when asked to.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt as _;
use std::path::Path;

/// Bytes asked of the kernel per call.
const CALL_BYTES: usize = 1 << 20;

#[derive(Debug)]
enum Via {
    VmReadv,
    ProcMem(File),
}

/// A reader of one process's memory.
#[derive(Debug)]
pub struct MemReader {
    pid: u32,
    page: usize,
    via: Via,
    proc_root: std::path::PathBuf,
}

/// What one read got: the bytes at the front of the buffer, and why it stopped early.
#[derive(Debug)]
pub struct Got {
    pub bytes: usize,
    pub stopped: Option<io::Error>,
}

pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|p| *p > 0).unwrap_or(4096)
}

impl MemReader {
    /// `proc_mem`: read through `/proc/<pid>/mem` from the start.
    pub fn new(proc_root: &Path, pid: u32, proc_mem: bool) -> io::Result<MemReader> {
        let mut r = MemReader {
            pid,
            page: page_size(),
            via: Via::VmReadv,
            proc_root: proc_root.to_path_buf(),
        };
        if proc_mem {
            r.switch_to_proc_mem()?;
        }
        Ok(r)
    }

    /// `process_vm_readv` or `/proc/<pid>/mem`.
    pub fn method(&self) -> &'static str {
        match self.via {
            Via::VmReadv => "process_vm_readv",
            Via::ProcMem(_) => "/proc/PID/mem",
        }
    }

    fn switch_to_proc_mem(&mut self) -> io::Result<()> {
        let f = File::open(self.proc_root.join(format!("{}/mem", self.pid)))?;
        self.via = Via::ProcMem(f);
        Ok(())
    }

    /// Fill `buf` from address `addr` on; stops at the first byte that cannot be read.
    pub fn read(&mut self, addr: u64, buf: &mut [u8]) -> Got {
        let mut done = 0usize;
        while done < buf.len() {
            let want = (buf.len() - done).min(CALL_BYTES);
            let at = addr.saturating_add(done as u64);
            let chunk = &mut buf[done..done + want];
            let r = match &self.via {
                Via::VmReadv => vm_readv(self.pid, at, chunk, self.page),
                Via::ProcMem(f) => f.read_at(chunk, at),
            };
            match r {
                Ok(0) => {
                    return Got {
                        bytes: done,
                        stopped: Some(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    };
                }
                Ok(n) if n < want => {
                    done += n;
                    // Ask again for the page that stopped it: its error says why.
                    let probe_len = (buf.len() - done).min(self.page);
                    let stopped = match self
                        .read_once(addr + done as u64, &mut buf[done..done + probe_len])
                    {
                        Ok(m) if m > 0 => {
                            done += m;
                            continue;
                        }
                        Ok(_) => io::Error::from(io::ErrorKind::UnexpectedEof),
                        Err(e) => e,
                    };
                    return Got {
                        bytes: done,
                        stopped: Some(stopped),
                    };
                }
                Ok(n) => done += n,
                Err(e)
                    if done == 0
                        && matches!(self.via, Via::VmReadv)
                        && matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) =>
                {
                    // Refused outright (seccomp, kernel without the call): /proc/PID/mem.
                    if let Err(open) = self.switch_to_proc_mem() {
                        return Got {
                            bytes: 0,
                            stopped: Some(io::Error::new(
                                open.kind(),
                                format!("process_vm_readv: {e}; /proc/{}/mem: {open}", self.pid),
                            )),
                        };
                    }
                }
                Err(e) => {
                    return Got {
                        bytes: done,
                        stopped: Some(e),
                    };
                }
            }
        }
        Got {
            bytes: done,
            stopped: None,
        }
    }

    fn read_once(&self, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
        match &self.via {
            Via::VmReadv => vm_readv(self.pid, addr, buf, self.page),
            Via::ProcMem(f) => f.read_at(buf, addr),
        }
    }
}

/// One `process_vm_readv` call into `buf` from `addr`, the remote side split at page
/// boundaries so a fault ends the transfer at the page it hits (the kernel does not split an
/// iovec element in a partial transfer).
fn vm_readv(pid: u32, addr: u64, buf: &mut [u8], page: usize) -> io::Result<usize> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut remote = Vec::with_capacity(buf.len() / page + 2);
    let mut at = addr;
    let end = addr.saturating_add(buf.len() as u64);
    let page64 = page as u64;
    while at < end {
        let next = ((at / page64) + 1).saturating_mul(page64).min(end);
        remote.push(libc::iovec {
            iov_base: at as usize as *mut libc::c_void,
            iov_len: (next - at) as usize,
        });
        at = next;
    }
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let count = libc::c_ulong::try_from(remote.len())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `local` describes `buf`, which we exclusively borrow for the call and whose
    // length it states; the remote iovecs are addresses in the other process, which the kernel
    // checks (a bad one ends the transfer, it is never dereferenced here); `remote` outlives
    // the call.
    let n = unsafe { libc::process_vm_readv(pid, &local, 1, remote.as_ptr(), count, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    usize::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> Vec<u8> {
        let mut v = b"ktui-memread-marker-".to_vec();
        v.extend((0..3000u32).flat_map(|i| i.to_le_bytes()));
        v
    }

    #[test]
    fn reads_this_process_both_ways() {
        let data = marker();
        let addr = data.as_ptr() as u64;
        for proc_mem in [false, true] {
            let mut r = MemReader::new(Path::new("/proc"), std::process::id(), proc_mem).unwrap();
            let mut buf = vec![0u8; data.len()];
            let got = r.read(addr, &mut buf);
            assert!(got.stopped.is_none(), "{:?}", got.stopped);
            assert_eq!(got.bytes, data.len());
            assert_eq!(buf, data, "{}", r.method());
        }
    }

    #[test]
    fn stops_at_an_unmapped_page_with_its_error() {
        let page = page_size();
        // SAFETY: anonymous private mapping of two pages we own; the second is unmapped again
        // below, and the first unmapped at the end; no Rust reference points into them.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                2 * page,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        // SAFETY: the first page is ours and writable; the second is ours to unmap.
        unsafe {
            std::ptr::write_bytes(base.cast::<u8>(), 0xab, page);
            libc::munmap(base.cast::<u8>().add(page).cast(), page);
        }
        for proc_mem in [false, true] {
            let mut r = MemReader::new(Path::new("/proc"), std::process::id(), proc_mem).unwrap();
            let mut buf = vec![0u8; 2 * page];
            let got = r.read(base as u64, &mut buf);
            assert_eq!(got.bytes, page, "{}", r.method());
            assert!(got.stopped.is_some());
            assert!(buf[..page].iter().all(|b| *b == 0xab));
        }
        // SAFETY: unmapping the page mapped above.
        unsafe { libc::munmap(base, page) };
    }
}
