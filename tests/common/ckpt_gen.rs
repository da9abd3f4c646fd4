//! Checkpoint archives made for tests and benchmarks from the real CRI-O fixture.
//!
//! [`enlarge`] grows the fixture consistently: process 7 gets a new anonymous mapping of
//! `pages` pages — a VMA appended to mm-7.img, a PE_PRESENT pagemap entry appended to
//! pagemap-7.img, and the pages themselves appended to pages-3.img (the image pagemap-7.img
//! names) — so an occurrence in the new pages belongs to pid 7 at a known address. The pages
//! are streamed into the archive, never held in memory. [`write_snapshot`] writes a minimal
//! live snapshot in the issue 8 layout.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub const SECRET: &[u8] = b"KTUI_SECRET_7731";
pub const PAGE: u64 = 4096;
/// The size of pages-3.img in the fixture: the new pages start at this offset of it.
pub const PAGES_3_BYTES: u64 = 73_728;
/// Where the new mapping of process 7 starts.
pub const VADDR: u64 = 0x7e00_0000_0000;

pub fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checkpoint/checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar")
}

/// What [`enlarge`] wrote.
pub struct Enlarged {
    pub path: PathBuf,
    /// Size of pages-3.img in the fixture (the new pages start there).
    pub base: u64,
    /// Offsets in checkpoint/pages-3.img where the secret was planted.
    pub planted: Vec<u64>,
    pub archive_bytes: u64,
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn num(field: u64, v: u64, out: &mut Vec<u8>) {
    varint(field << 3, out);
    varint(v, out);
}

/// Appends `extra` to the single record of a one-record image (mm), fixing its size.
fn extend_single_record(image: &[u8], extra: &[u8]) -> Vec<u8> {
    let size = u32::from_le_bytes(image[8..12].try_into().unwrap()) as usize;
    assert_eq!(12 + size, image.len(), "mm image with one record");
    let mut out = image[..8].to_vec();
    out.extend_from_slice(&((size + extra.len()) as u32).to_le_bytes());
    out.extend_from_slice(&image[12..]);
    out.extend_from_slice(extra);
    out
}

/// The new pages: half zero pages, half pseudo-random bytes, the secret at `planted` offsets
/// (relative to the first new page).
struct Pages {
    len: u64,
    pos: u64,
    planted: Vec<u64>,
    state: u64,
}

impl Read for Pages {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (self.len - self.pos).min(buf.len() as u64) as usize;
        for (i, b) in buf[..n].iter_mut().enumerate() {
            let at = self.pos + i as u64;
            *b = if (at / PAGE).is_multiple_of(2) {
                0
            } else {
                self.state ^= self.state << 13;
                self.state ^= self.state >> 7;
                self.state ^= self.state << 17;
                // Never an uppercase letter: the secret cannot appear by chance.
                let v = (self.state >> 24) as u8;
                if v.is_ascii_uppercase() { v + 32 } else { v }
            };
        }
        for &p in &self.planted {
            let (start, end) = (p, p + SECRET.len() as u64);
            let (lo, hi) = (self.pos, self.pos + n as u64);
            if end > lo && start < hi {
                for k in start.max(lo)..end.min(hi) {
                    buf[(k - lo) as usize] = SECRET[(k - start) as usize];
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Writes the fixture with `pages` new pages for pid 7, the secret planted at `planted`
/// (offsets in the new pages).
pub fn enlarge(out: &Path, pages: u64, planted: &[u64]) -> Enlarged {
    let mut archive = tar::Archive::new(std::fs::File::open(fixture()).unwrap());
    let file = std::fs::File::create(out).unwrap();
    let mut builder = tar::Builder::new(io::BufWriter::with_capacity(1 << 20, file));
    let mut base = 0;
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut header = entry.header().clone();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        match path.as_str() {
            "checkpoint/pages-3.img" => {
                base = data.len() as u64;
                assert_eq!(base, PAGES_3_BYTES);
                header.set_size(base + pages * PAGE);
                header.set_cksum();
                let new = Pages {
                    len: pages * PAGE,
                    pos: 0,
                    planted: planted.to_vec(),
                    state: 0x9e37_79b9_7f4a_7c15,
                };
                builder
                    .append(&header, io::Cursor::new(data).chain(new))
                    .unwrap();
                continue;
            }
            "checkpoint/pagemap-7.img" => {
                let mut rec = Vec::new();
                num(1, VADDR, &mut rec);
                num(2, pages.min(u64::from(u32::MAX)), &mut rec);
                num(4, 1 << 2, &mut rec); // PE_PRESENT
                num(5, pages, &mut rec);
                data.extend_from_slice(&(rec.len() as u32).to_le_bytes());
                data.extend_from_slice(&rec);
            }
            "checkpoint/mm-7.img" => {
                let mut vma = Vec::new();
                num(1, VADDR, &mut vma);
                num(2, VADDR + pages * PAGE, &mut vma);
                num(3, 0, &mut vma);
                num(4, 0, &mut vma);
                num(5, 3, &mut vma); // PROT_READ | PROT_WRITE
                num(6, 0x22, &mut vma); // MAP_PRIVATE | MAP_ANONYMOUS
                num(7, 1 | (1 << 9), &mut vma); // VMA_AREA_REGULAR | VMA_ANON_PRIVATE
                num(8, 1, &mut vma); // fd -1 (sint64)
                let mut field = Vec::new();
                varint((14 << 3) | 2, &mut field);
                varint(vma.len() as u64, &mut field);
                field.extend_from_slice(&vma);
                data = extend_single_record(&data, &field);
            }
            _ => {}
        }
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, &data[..]).unwrap();
    }
    builder.into_inner().unwrap();
    Enlarged {
        path: out.to_path_buf(),
        base,
        planted: planted.iter().map(|p| base + p).collect(),
        archive_bytes: std::fs::metadata(out).unwrap().len(),
    }
}

/// A minimal live snapshot (layout version 1) with one memory region holding `region`.
pub fn write_snapshot(out: &Path, region: &[u8]) {
    let start = 0x7f12_a000_0000u64;
    let member = format!("memory/42/{start:x}-{:x}.bin", start + region.len() as u64);
    let snapshot = serde_json::json!({
        "kind": "ktui-live-snapshot", "version": 1, "atomic": false,
        "note": "processes were not frozen; the read is not atomic; not a CRIU image, cannot be restored",
        "started_at": "2026-12-02T13:30:00Z", "finished_at": "2026-12-02T13:30:01Z",
        "helper": {"version": "0.1.0", "node": "node-1", "kernel": "6.18.0"},
        "container": {"name": "app", "id": null, "image": null, "image_ref": null, "runtime": null,
                      "pod": "app-0", "namespace": "shop", "pod_uid": null, "cgroup": null, "created": null},
        "processes": [{"pid": 42, "ppid": 0, "comm": "app", "uid": 0}],
        "memory": [{"pid": 42, "start": format!("{start:x}"), "end": format!("{:x}", start + region.len() as u64),
                    "prot": "rw-p", "file": "", "member": member, "bytes": region.len(), "error": null}],
        "fds": [], "rootfs": {"source": "overlay-upper", "files": 0, "bytes": 0, "cap_bytes": 0, "left_out": [], "unreadable": []},
        "deleted_files": [], "mounts": [], "unreadable": [], "kmsg": {"lines": 0, "error": null}
    });
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    let json = serde_json::to_vec(&snapshot).unwrap();
    for (path, data) in [
        ("proc/42/cmdline", &b"app\0"[..]),
        (member.as_str(), region),
        ("kmsg.txt", b""),
        ("snapshot.json", &json),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    }
    b.into_inner().unwrap();
}
