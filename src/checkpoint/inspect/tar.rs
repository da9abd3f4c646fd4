//! A streaming tar reader (ustar, GNU and PAX) that never holds more than one header, a bounded
//! long name and a bounded PAX record in memory, and refuses what an archive must not contain.
//!
//! Written here rather than taken from the `tar` crate because that crate reads GNU long-name
//! and PAX members whole into memory whatever size their header declares, and inspection must
//! stay within a fixed memory budget on hostile input. Member data is read through
//! [`TarReader::read_data`] (or [`MemberReader`]), so a nested tar (`rootfs-diff.tar`) is read
//! by a second `TarReader` over the outer member without copying it anywhere.

use std::io::{self, Read};

mod header;

use header::{check_header, header_name, normalise, parse_number, parse_pax, trim_nul};

pub(crate) const BLOCK: u64 = 512;
/// The longest GNU long name or PAX path accepted (Linux paths are at most 4096 bytes).
const MAX_LONG_NAME: u64 = 64 * 1024;
/// The largest PAX extended header accepted.
const MAX_PAX: u64 = 1024 * 1024;

/// Why the tar stream cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    #[error("reading failed at byte {offset}: {source}")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "truncated: {member} declares {declared} bytes from byte {start}, but the data ends at \
         byte {end}"
    )]
    Truncated {
        member: String,
        declared: u64,
        start: u64,
        end: u64,
    },
    #[error("truncated: the archive ends in the padding after {member}, at byte {offset}")]
    TruncatedPadding { member: String, offset: u64 },
    #[error("truncated: the archive ends inside the header at byte {offset}")]
    TruncatedHeader { offset: u64 },
    #[error(
        "{member} declares {declared} bytes from byte {start}, but the archive has only \
         {available} bytes left: its header is corrupt or the archive was cut"
    )]
    SizeBeyondEnd {
        member: String,
        declared: u64,
        start: u64,
        available: u64,
    },
    #[error("the header at byte {offset} is not a tar header ({why})")]
    BadHeader { offset: u64, why: &'static str },
    #[error("the {what} at byte {offset} declares {declared} bytes (at most {cap} accepted)")]
    ExtensionTooLarge {
        what: &'static str,
        offset: u64,
        declared: u64,
        cap: u64,
    },
    #[error(
        "member name {name:?} at byte {offset} is {why}: a checkpoint never holds one; the \
         archive was not written by CRI-O, Podman or ktui (or was tampered with)"
    )]
    UnsafeName {
        name: String,
        offset: u64,
        why: &'static str,
    },
    #[error("{member} at byte {offset} is a GNU sparse member, which no checkpoint writer emits")]
    Sparse { member: String, offset: u64 },
}

pub type Result<T, E = TarError> = std::result::Result<T, E>;

/// What a member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    HardLink,
    Other(u8),
}

/// One member's header, its name validated and normalised (no leading `./`, no trailing `/`).
#[derive(Debug, Clone)]
pub struct Member {
    pub path: String,
    pub kind: Kind,
    pub size: u64,
    /// Where the member's data starts in the stream.
    pub data_offset: u64,
}

impl Member {
    /// The name as `tar -tf` lists it (directories with a trailing `/`).
    pub fn listed_name(&self) -> String {
        if self.kind == Kind::Dir {
            format!("{}/", self.path)
        } else {
            self.path.clone()
        }
    }
}

/// Reads members one after the other from `R`.
pub struct TarReader<R> {
    inner: R,
    /// Bytes consumed from `inner`.
    pos: u64,
    /// The stream's total length, when known (a plain file): declared sizes are checked against it.
    len: Option<u64>,
    /// Data bytes of the current member not read yet, and the padding after them.
    remaining: u64,
    padding: u64,
    current: Option<Member>,
    /// Whether the end-of-archive marker (a zero block) was seen, or the stream just ended.
    pub ended_with_marker: bool,
}

impl<R: Read> TarReader<R> {
    pub fn new(inner: R, len: Option<u64>) -> Self {
        Self {
            inner,
            pos: 0,
            len,
            remaining: 0,
            padding: 0,
            current: None,
            ended_with_marker: false,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The stream this reader reads from.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The next member (skipping what is left of the current one), or `None` at the end.
    pub fn next_member(&mut self) -> Result<Option<Member>> {
        self.skip_rest()?;
        let mut long_name: Option<Vec<u8>> = None;
        let mut pax_path: Option<Vec<u8>> = None;
        let mut pax_size: Option<u64> = None;
        loop {
            let offset = self.pos;
            let mut block = [0u8; BLOCK as usize];
            if !self.read_header_block(&mut block)? {
                if long_name.is_some() || pax_path.is_some() || pax_size.is_some() {
                    return Err(TarError::TruncatedHeader { offset });
                }
                return Ok(None);
            }
            if block.iter().all(|&b| b == 0) {
                self.ended_with_marker = true;
                return Ok(None);
            }
            check_header(&block, offset)?;
            let typeflag = block[156];
            let declared = match pax_size.take() {
                Some(s) => s,
                None => parse_number(&block[124..136]).ok_or(TarError::BadHeader {
                    offset,
                    why: "its size field is not a number",
                })?,
            };
            let data_offset = offset + BLOCK;
            match typeflag {
                b'L' | b'x' | b'g' | b'K' => {
                    let (what, cap) = match typeflag {
                        b'x' | b'g' => ("PAX header", MAX_PAX),
                        _ => ("GNU long name", MAX_LONG_NAME),
                    };
                    if declared > cap {
                        return Err(TarError::ExtensionTooLarge {
                            what,
                            offset,
                            declared,
                            cap,
                        });
                    }
                    let data = self.read_extension(declared, data_offset)?;
                    match typeflag {
                        b'L' => long_name = Some(trim_nul(&data).to_vec()),
                        b'x' => {
                            let (path, size) = parse_pax(&data).ok_or(TarError::BadHeader {
                                offset,
                                why: "a malformed PAX record",
                            })?;
                            pax_path = path.or(pax_path);
                            pax_size = size;
                        }
                        _ => {} // global PAX headers and GNU long link names: not needed
                    }
                    continue;
                }
                _ => {}
            }
            let raw = match (pax_path.take(), long_name.take()) {
                (Some(p), _) | (None, Some(p)) => p,
                (None, None) => header_name(&block),
            };
            let kind = match typeflag {
                b'0' | 0 | b'7' => Kind::File,
                b'5' => Kind::Dir,
                b'2' => Kind::Symlink,
                b'1' => Kind::HardLink,
                other => Kind::Other(other),
            };
            let path = normalise(&raw, offset)?;
            if typeflag == b'S' {
                return Err(TarError::Sparse {
                    member: path,
                    offset,
                });
            }
            if let Some(len) = self.len {
                let available = len.saturating_sub(data_offset);
                if declared > available {
                    return Err(TarError::SizeBeyondEnd {
                        member: path,
                        declared,
                        start: data_offset,
                        available,
                    });
                }
            }
            self.remaining = declared;
            self.padding = pad(declared);
            let member = Member {
                path,
                kind,
                size: declared,
                data_offset,
            };
            self.current = Some(member.clone());
            return Ok(Some(member));
        }
    }

    /// Reads the current member's data; 0 at its end. A stream that ends early is an error.
    pub fn read_data(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.read_inner(&mut buf[..want])?;
        if n == 0 {
            return Err(self.truncated());
        }
        self.remaining -= n as u64;
        Ok(n)
    }

    /// The current member's data as a `Read` (for a nested tar or a JSON parser).
    pub fn member_reader(&mut self) -> MemberReader<'_, R> {
        MemberReader {
            tar: self,
            failed: None,
        }
    }

    /// Reads the whole (small) current member; the caller checked its size.
    pub fn read_small(&mut self) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(self.remaining).unwrap_or(0));
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = self.read_data(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn truncated(&self) -> TarError {
        let (member, declared, start) = self.current.as_ref().map_or((String::new(), 0, 0), |m| {
            (m.path.clone(), m.size, m.data_offset)
        });
        TarError::Truncated {
            member,
            declared,
            start,
            end: self.pos,
        }
    }

    fn skip_rest(&mut self) -> Result<()> {
        let mut buf = [0u8; 64 * 1024];
        while self.remaining > 0 {
            self.read_data(&mut buf)?;
        }
        while self.padding > 0 {
            let want = usize::try_from(self.padding).map_or(buf.len(), |p| p.min(buf.len()));
            let n = self.read_inner(&mut buf[..want])?;
            if n == 0 {
                let member = self
                    .current
                    .as_ref()
                    .map_or_else(String::new, |m| m.path.clone());
                return Err(TarError::TruncatedPadding {
                    member,
                    offset: self.pos,
                });
            }
            self.padding -= n as u64;
        }
        self.current = None;
        Ok(())
    }

    fn read_extension(&mut self, declared: u64, start: u64) -> Result<Vec<u8>> {
        self.remaining = declared;
        self.padding = pad(declared);
        self.current = Some(Member {
            path: "(extended header)".into(),
            kind: Kind::Other(b'x'),
            size: declared,
            data_offset: start,
        });
        let data = self.read_small()?;
        self.skip_rest()?;
        Ok(data)
    }

    /// Fills `block`; false on a clean end of stream before its first byte.
    fn read_header_block(&mut self, block: &mut [u8; BLOCK as usize]) -> Result<bool> {
        let start = self.pos;
        let mut filled = 0;
        while filled < block.len() {
            let n = self.read_inner(&mut block[filled..])?;
            if n == 0 {
                if filled == 0 {
                    return Ok(false);
                }
                return Err(TarError::TruncatedHeader { offset: start });
            }
            filled += n;
        }
        Ok(true)
    }

    fn read_inner(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.pos += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(TarError::Io {
                        offset: self.pos,
                        source,
                    });
                }
            }
        }
    }
}

/// The current member's data as `Read`; a tar error is kept to be reported as such.
pub struct MemberReader<'a, R> {
    tar: &'a mut TarReader<R>,
    pub failed: Option<TarError>,
}

impl<R: Read> Read for MemberReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.tar.read_data(buf) {
            Ok(n) => Ok(n),
            Err(e) => {
                let msg = e.to_string();
                self.failed = Some(e);
                Err(io::Error::new(io::ErrorKind::UnexpectedEof, msg))
            }
        }
    }
}

fn pad(size: u64) -> u64 {
    (BLOCK - size % BLOCK) % BLOCK
}

#[cfg(test)]
mod tests;
