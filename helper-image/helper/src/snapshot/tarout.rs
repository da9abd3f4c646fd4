//! The snapshot's outer tar, written straight to the sink: small members from memory, and one
//! streamed member (the nested `rootfs-diff.tar`) whose size is known before its bytes.

use std::io::{self, Write};

/// A writer that counts what passes through.
pub struct Counting<W> {
    pub inner: W,
    pub bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub struct TarOut<'a> {
    b: tar::Builder<Counting<&'a mut dyn Write>>,
    mtime: u64,
}

fn header(size: u64, mtime: u64, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_uid(0);
    h.set_gid(0);
    h
}

impl<'a> TarOut<'a> {
    /// Members get `mtime` (seconds since the epoch) as their modification time.
    pub fn new(out: &'a mut dyn Write, mtime: u64) -> Self {
        let b = tar::Builder::new(Counting {
            inner: out,
            bytes: 0,
        });
        Self { b, mtime }
    }

    pub fn file(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        let mut h = header(data.len() as u64, self.mtime, 0o644);
        self.b.append_data(&mut h, path, data)
    }

    /// A member of exactly `size` bytes written by `body` (short name: no long-name entry).
    /// Writing more or fewer bytes is an error (the archive would be corrupt).
    pub fn stream(
        &mut self,
        path: &str,
        size: u64,
        body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let mut h = header(size, self.mtime, 0o644);
        h.set_path(path)?;
        h.set_cksum();
        let w = self.b.get_mut();
        w.write_all(h.as_bytes())?;
        let before = w.bytes;
        body(w)?;
        let written = w.bytes - before;
        if written != size {
            return Err(io::Error::other(format!(
                "{path}: wrote {written} bytes, announced {size}"
            )));
        }
        let pad = (512 - size % 512) % 512;
        w.write_all(&[0u8; 512][..pad as usize])
    }

    /// The end-of-archive blocks; the archive's total size.
    pub fn finish(mut self) -> io::Result<u64> {
        self.b.finish()?;
        let w = self.b.get_mut();
        w.flush()?;
        Ok(w.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_in_order_with_long_names_and_a_stream() {
        let mut sink = Vec::new();
        let long = format!("proc/1/{}", "x".repeat(150));
        {
            let mut t = TarOut::new(&mut sink, 1_700_000_000);
            t.file("proc/1/cmdline", b"sh\0-c\0").unwrap();
            t.file(&long, b"long").unwrap();
            t.stream("rootfs-diff.tar", 700, |w| w.write_all(&[7u8; 700]))
                .unwrap();
            let bad = t.stream("short", 10, |w| w.write_all(b"123"));
            assert!(bad.is_err());
        }
        // The failed member left the archive corrupt: build a good one again for reading.
        let mut sink = Vec::new();
        let mut t = TarOut::new(&mut sink, 1_700_000_000);
        t.file("proc/1/cmdline", b"sh\0-c\0").unwrap();
        t.file(&long, b"long").unwrap();
        t.stream("rootfs-diff.tar", 700, |w| w.write_all(&[7u8; 700]))
            .unwrap();
        let total = t.finish().unwrap();
        assert_eq!(total, sink.len() as u64);
        let mut ar = tar::Archive::new(&sink[..]);
        let got: Vec<(String, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.size())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("proc/1/cmdline".to_string(), 6),
                (long, 4),
                ("rootfs-diff.tar".to_string(), 700)
            ]
        );
    }
}
