//! The `memory/` members: the writable and anonymous mappings of each process, region by
//! region, through one reusable buffer of [`PART_BYTES`].
//!
//! A tar member's size comes before its bytes, so a mapping is read into the buffer first and
//! then written. A mapping larger than the buffer becomes consecutive members of at most
//! [`PART_BYTES`], each named by the address range it covers (`memory/<pid>/<start>-<end>.bin`
//! with that part's start and end) and listed in `snapshot.json` on its own. A read that stops
//! early (a page the kernel refuses) keeps the bytes before it: the member is shorter than
//! end - start and its entry carries the error. Nothing is read beyond the memory cap; what
//! is left out is listed with the reason.

use std::io;
use std::path::Path;

use super::doc::{MemoryEntry, hex};
use super::memread::MemReader;
use super::tarout::TarOut;

/// The largest member (and the buffer reused for every read).
pub const PART_BYTES: u64 = 16 << 20;

/// One line of `/proc/<pid>/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub path: String,
}

impl Region {
    fn readable(&self) -> bool {
        self.perms.starts_with('r')
    }

    fn writable(&self) -> bool {
        self.perms.as_bytes().get(1) == Some(&b'w')
    }

    /// Anonymous memory: no file, or the kernel's names for it (`[heap]`, `[stack]`,
    /// `[anon:...]`); not the kernel's own pages (`[vvar]`, `[vdso]`, `[vsyscall]`).
    fn anonymous(&self) -> bool {
        self.path.is_empty()
            || self.path == "[heap]"
            || self.path.starts_with("[stack")
            || self.path.starts_with("[anon")
    }

    fn kernel_page(&self) -> bool {
        matches!(
            self.path.as_str(),
            "[vvar]" | "[vvar_vclock]" | "[vdso]" | "[vsyscall]" | "[uprobes]"
        )
    }

    /// Taken into the snapshot (when readable): writable or anonymous memory.
    pub fn wanted(&self) -> bool {
        !self.kernel_page() && (self.writable() || self.anonymous())
    }
}

pub fn parse_maps(text: &str) -> Vec<Region> {
    text.lines()
        .filter_map(|line| {
            let mut it = line.splitn(6, ' ');
            let range = it.next()?;
            let perms = it.next()?.to_string();
            let (s, e) = range.split_once('-')?;
            // offset, dev, inode, then the path after padding spaces.
            it.next()?;
            it.next()?;
            it.next()?;
            let path = it.next().unwrap_or("").trim_start().to_string();
            Some(Region {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                perms,
                path,
            })
        })
        .filter(|r| r.end > r.start)
        .collect()
}

/// The memory budget and the one buffer.
pub struct MemoryCopier {
    buf: Vec<u8>,
    pub cap: u64,
    pub used: u64,
    pub proc_mem: bool,
}

impl MemoryCopier {
    pub fn new(cap: u64, proc_mem: bool) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            used: 0,
            proc_mem,
        }
    }

    /// Copy the wanted regions of `pid` (its `maps` text) into `tar`, returning their entries.
    /// Only an error writing the archive is an error.
    pub fn copy(
        &mut self,
        proc_root: &Path,
        pid: u32,
        maps: &str,
        tar: &mut TarOut<'_>,
    ) -> io::Result<Vec<MemoryEntry>> {
        let regions: Vec<Region> = parse_maps(maps)
            .into_iter()
            .filter(Region::wanted)
            .collect();
        let mut out = Vec::new();
        let mut reader = None;
        for r in regions {
            let entry = |start: u64,
                         end: u64,
                         bytes: u64,
                         member: Option<String>,
                         error: Option<String>| MemoryEntry {
                pid,
                start: hex(start),
                end: hex(end),
                prot: r.perms.clone(),
                file: r.path.clone(),
                member,
                bytes,
                error,
            };
            if !r.readable() {
                out.push(entry(
                    r.start,
                    r.end,
                    0,
                    None,
                    Some(format!(
                        "not read: the mapping is not readable ({})",
                        r.perms
                    )),
                ));
                continue;
            }
            let mut at = r.start;
            while at < r.end {
                let end = r.end.min(at.saturating_add(PART_BYTES));
                let left = self.cap.saturating_sub(self.used);
                if left == 0 {
                    out.push(entry(at, r.end, 0, None, Some(format!(
                        "left out: the snapshot's memory cap of {} bytes (--max-memory-bytes) was reached",
                        self.cap
                    ))));
                    break;
                }
                let reader = match &mut reader {
                    Some(r) => r,
                    None => match MemReader::new(proc_root, pid, self.proc_mem) {
                        Ok(m) => reader.insert(m),
                        Err(e) => {
                            out.push(entry(
                                at,
                                r.end,
                                0,
                                None,
                                Some(format!("cannot open /proc/{pid}/mem: {e}")),
                            ));
                            break;
                        }
                    },
                };
                let len = (end - at).min(left);
                let Ok(len_usize) = usize::try_from(len) else {
                    break;
                };
                self.buf.resize(len_usize, 0);
                let got = reader.read(at, &mut self.buf);
                let mut error = got.stopped.map(|e| {
                    format!(
                        "read stopped at {:#x} ({} of {} bytes stored): {e} [{}]",
                        at + got.bytes as u64,
                        got.bytes,
                        end - at,
                        reader.method()
                    )
                });
                if error.is_none() && len < end - at {
                    error = Some(format!(
                        "cut at {len} of {} bytes: the snapshot's memory cap of {} bytes (--max-memory-bytes) was reached",
                        end - at,
                        self.cap
                    ));
                }
                let member =
                    (got.bytes > 0).then(|| format!("memory/{pid}/{}-{}.bin", hex(at), hex(end)));
                if let Some(m) = &member {
                    tar.file(m, &self.buf[..got.bytes])?;
                }
                self.used += got.bytes as u64;
                out.push(entry(at, end, got.bytes as u64, member, error));
                at = end;
            }
        }
        // Do not keep a large buffer between processes longer than needed.
        if self.buf.capacity() > (1 << 20) {
            self.buf = Vec::new();
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d4c0a00000-55d4c0a02000 r--p 00000000 fd:01 1311                       /usr/bin/sleep
55d4c0a06000-55d4c0a07000 rw-p 00005000 fd:01 1311                       /usr/bin/sleep
55d4c1b2c000-55d4c1b4d000 rw-p 00000000 00:00 0                          [heap]
7f12a0000000-7f12a0021000 rw-p 00000000 00:00 0 
7f12a4000000-7f12a8000000 ---p 00000000 00:00 0 
7f12a9000000-7f12a9200000 r-xp 00000000 fd:01 2222                       /usr/lib/x86_64-linux-gnu/libc.so.6
7ffc1e5b0000-7ffc1e5d1000 rw-p 00000000 00:00 0                          [stack]
7ffc1e5f0000-7ffc1e5f4000 r--p 00000000 00:00 0                          [vvar]
7ffc1e5f4000-7ffc1e5f6000 r-xp 00000000 00:00 0                          [vdso]
7f12aa000000-7f12aa001000 rw-s 00000000 00:01 77                         /memfd:buf (deleted)
ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
";

    #[test]
    fn writable_and_anonymous_regions_only() {
        let all = parse_maps(MAPS);
        assert_eq!(all.len(), 11);
        assert_eq!(all[3].path, "");
        assert_eq!(all[9].path, "/memfd:buf (deleted)");
        let wanted: Vec<String> = all
            .iter()
            .filter(|r| r.wanted())
            .map(|r| format!("{}-{} {}", hex(r.start), hex(r.end), r.path))
            .collect();
        assert_eq!(
            wanted,
            [
                "55d4c0a06000-55d4c0a07000 /usr/bin/sleep",
                "55d4c1b2c000-55d4c1b4d000 [heap]",
                "7f12a0000000-7f12a0021000 ",
                "7f12a4000000-7f12a8000000 ",
                "7ffc1e5b0000-7ffc1e5d1000 [stack]",
                "7f12aa000000-7f12aa001000 /memfd:buf (deleted)",
            ]
        );
    }

    /// This process's own memory, through the real reader, into a tar read back.
    #[test]
    fn copies_own_regions_and_honours_the_cap() {
        let marker = format!("ktui-memory-test-{}", std::process::id()).repeat(1000);
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let mut sink = Vec::new();
        let cap = 64 << 20;
        let mut tar = TarOut::new(&mut sink, 0);
        let mut copier = MemoryCopier::new(cap, false);
        let entries = copier
            .copy(Path::new("/proc"), std::process::id(), &maps, &mut tar)
            .unwrap();
        tar.finish().unwrap();
        assert!(copier.used <= cap);
        let mut found = false;
        let mut ar = tar::Archive::new(&sink[..]);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let meta = entries
                .iter()
                .find(|m| m.member.as_deref() == Some(name.as_str()))
                .unwrap();
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            assert_eq!(data.len() as u64, meta.bytes);
            let start = u64::from_str_radix(&meta.start, 16).unwrap();
            let end = u64::from_str_radix(&meta.end, 16).unwrap();
            assert!(meta.bytes <= end - start && end - start <= PART_BYTES);
            // The member's name says where its bytes live (copies in the archive buffer
            // are there too: any occurrence at the string's own address counts).
            let addr = marker.as_ptr() as u64;
            if (start..end).contains(&addr) {
                let at = (addr - start) as usize;
                found |= data.get(at..at + marker.len()) == Some(marker.as_bytes());
            }
        }
        assert!(found, "the heap string was not found at its own address");
        std::hint::black_box(&marker);

        // A cap of one page: the rest is listed as left out.
        let mut sink = Vec::new();
        let mut tar = TarOut::new(&mut sink, 0);
        let mut copier = MemoryCopier::new(4096, false);
        let entries = copier
            .copy(Path::new("/proc"), std::process::id(), &maps, &mut tar)
            .unwrap();
        assert_eq!(copier.used, 4096);
        assert!(entries.iter().any(|e| {
            e.error
                .as_deref()
                .is_some_and(|x| x.contains("--max-memory-bytes"))
        }));
    }
}
