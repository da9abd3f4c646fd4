//! The nested `rootfs-diff.tar`: its exact size from the listing alone, then its bytes.

use std::io::{self, Read, Write};

use super::fsat::{DirFd, lossy};
use super::{Entry, Kind};
use crate::snapshot::doc::Unreadable;
use crate::snapshot::tarout::Counting;

fn header(e: &Entry) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_mode(e.mode);
    h.set_uid(e.uid);
    h.set_gid(e.gid);
    h.set_mtime(e.mtime);
    match &e.kind {
        Kind::File { size } => {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(*size);
        }
        Kind::Dir => {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_size(0);
        }
        Kind::Symlink(_) => {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
        }
    }
    h
}

fn emit<W: Write>(b: &mut tar::Builder<W>, e: &Entry, data: &mut dyn Read) -> io::Result<()> {
    let mut h = header(e);
    match &e.kind {
        Kind::Symlink(target) => b.append_link(&mut h, &e.rel, target),
        _ => b.append_data(&mut h, &e.rel, data),
    }
}

fn padded(n: u64) -> u64 {
    n.div_ceil(512) * 512
}

/// The nested tar's size in bytes: its headers (long-name entries included) are built for
/// real without content, the content is its listed size rounded up to whole blocks.
pub fn size(entries: &[Entry]) -> io::Result<u64> {
    let mut b = tar::Builder::new(Counting {
        inner: io::sink(),
        bytes: 0,
    });
    let mut content = 0u64;
    for e in entries {
        emit(&mut b, e, &mut io::empty())?;
        if let Kind::File { size } = e.kind {
            content += padded(size);
        }
    }
    b.finish()?;
    Ok(b.get_ref().bytes + content)
}

/// Exactly `left` bytes of a file: cut when it grew, zero-filled when it shrank or vanished.
struct Exact {
    file: Option<std::fs::File>,
    left: u64,
    short: bool,
}

impl Read for Exact {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = match &mut self.file {
            Some(f) => match f.read(&mut buf[..want]) {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Some(0),
                Err(_) => None,
            },
            None => None,
        };
        let n = n.unwrap_or_else(|| {
            self.file = None;
            self.short = true;
            buf[..want].fill(0);
            want
        });
        self.left -= n as u64;
        Ok(n)
    }
}

/// Write the nested tar (exactly [`size`] bytes) to `out`, reading each file again below
/// `root` (None: nothing could be opened; only the empty listing is written). Returns what
/// changed between the listing and the read.
pub fn write(
    root: Option<&DirFd>,
    entries: &[Entry],
    out: &mut dyn Write,
) -> io::Result<Vec<Unreadable>> {
    let mut notes = Vec::new();
    let mut b = tar::Builder::new(out);
    for e in entries {
        // Nothing to read for a directory, a symlink or an empty file.
        let size = match e.kind {
            Kind::File { size } if size > 0 => size,
            _ => {
                emit(&mut b, e, &mut io::empty())?;
                continue;
            }
        };
        let file = root.map(|r| r.open_beneath(&e.rel));
        let (file, open_error) = match file {
            Some(Ok(f)) => (Some(f), None),
            Some(Err(err)) => (None, Some(err.to_string())),
            None => (None, Some("no root".to_string())),
        };
        let mut data = Exact {
            file,
            left: size,
            short: false,
        };
        emit(&mut b, e, &mut data)?;
        let now = data
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len());
        let why = match (open_error, data.short, now) {
            (Some(err), _, _) => Some(format!(
                "gone between listing and reading ({err}): {size} zero bytes stored"
            )),
            (None, true, _) => Some(format!(
                "shrank while read: zero-filled to the listed {size} bytes"
            )),
            (None, false, Some(n)) if n > size => Some(format!(
                "grew while read: cut at the listed {size} of {n} bytes"
            )),
            _ => None,
        };
        if let Some(error) = why {
            notes.push(Unreadable {
                path: lossy(&e.rel),
                error,
            });
        }
    }
    b.finish()?;
    Ok(notes)
}
