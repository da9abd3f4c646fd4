//! The evidence bundle's archive: `NAME.tar.gz` written in one pass. Each artifact is read once,
//! hashed while it is archived and compared with the hash it was captured with (a mismatch
//! aborts: the evidence changed on disk); the archive's own bytes are hashed (SHA-256) and shown
//! to an observer (the signer's BLAKE2b prehash) while they are written, so nothing is read
//! twice. `SHA256SUMS` is the last member. Memory stays bounded whatever the artifact sizes.
//!
//! Compression: the tar stream is cut into chunks, each its own gzip member (concatenated
//! members are one valid gzip file, as `tar xzf` and `gzip -d` read them); a chunk that looks
//! random (already compressed, encrypted) is stored, the others are deflated at level 6.

pub mod export;
pub mod gz;
pub mod s3;
pub mod upload;
pub mod verify;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use gz::ChunkedGz;

/// What goes into a member.
#[derive(Debug, Clone)]
pub enum Content {
    /// A file of the case, with the SHA-256 it was captured with (None: not yet hashed, e.g.
    /// the case's own files).
    File {
        file: PathBuf,
        expect_sha256: Option<String>,
    },
    /// Bytes made for the bundle (manifest.json).
    Bytes(Vec<u8>),
}

/// One member, at `path` under `NAME/`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: String,
    pub content: Content,
}

/// A member as archived: what `SHA256SUMS` lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// The archive written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// SHA-256 of the `.tar.gz` bytes.
    pub sha256: String,
    pub bytes: u64,
    /// Every member but `SHA256SUMS`, in archive order.
    pub members: Vec<Member>,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// An artifact's bytes no longer match the hash recorded when it was captured.
    #[error(
        "{path} changed on disk since it was captured (sha256 now {actual}, recorded {expected}): the export is aborted; the case's custody log and index say what was captured"
    )]
    Changed {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("cannot read {path} for the bundle: {cause}")]
    Read { path: String, cause: io::Error },
    #[error("cannot write the bundle: {0}")]
    Write(#[source] io::Error),
    #[error("member path {0:?} is not a plain relative path")]
    BadPath(String),
}

/// Write `NAME.tar.gz` into `out`: `entries` in order, then `SHA256SUMS` (`<hex>  <path>` of
/// every member, relative to `NAME/`). Every byte written goes to `observe` too. `mtime`: the
/// members' modification time (the export's time).
pub fn write<W: Write>(
    out: W,
    name: &str,
    entries: impl IntoIterator<Item = Entry>,
    mtime: u64,
    observe: &mut dyn FnMut(&[u8]),
) -> Result<Archive, BundleError> {
    let tee = Tee {
        inner: out,
        sha256: Sha256::new(),
        bytes: 0,
        observe,
    };
    let mut tar = tar::Builder::new(ChunkedGz::new(tee));
    tar.mode(tar::HeaderMode::Deterministic);
    let mut members = Vec::new();
    for entry in entries {
        members.push(append(&mut tar, name, entry, mtime)?);
    }
    let sums: String = members
        .iter()
        .map(|m| format!("{}  {}\n", m.sha256, m.path))
        .collect();
    append(
        &mut tar,
        name,
        Entry {
            path: "SHA256SUMS".to_string(),
            content: Content::Bytes(sums.into_bytes()),
        },
        mtime,
    )?;
    let gz = tar.into_inner().map_err(BundleError::Write)?;
    let mut tee = gz.finish().map_err(BundleError::Write)?;
    tee.inner.flush().map_err(BundleError::Write)?;
    Ok(Archive {
        sha256: hex::encode(tee.sha256.finalize()),
        bytes: tee.bytes,
        members,
    })
}

/// A relative path of plain components (no `..`, no root, no empty parts).
fn plain(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    name: &str,
    entry: Entry,
    mtime: u64,
) -> Result<Member, BundleError> {
    if !plain(&entry.path) {
        return Err(BundleError::BadPath(entry.path));
    }
    let at = format!("{name}/{}", entry.path);
    let mut header = tar::Header::new_gnu();
    header.set_mode(0o644);
    header.set_mtime(mtime);
    header.set_entry_type(tar::EntryType::Regular);
    match entry.content {
        Content::Bytes(bytes) => {
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, &at, bytes.as_slice())
                .map_err(BundleError::Write)?;
            Ok(Member {
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
                path: entry.path,
            })
        }
        Content::File {
            file,
            expect_sha256,
        } => {
            let read_err = |cause| BundleError::Read {
                path: entry.path.clone(),
                cause,
            };
            let f = File::open(&file).map_err(read_err)?;
            let size = f.metadata().map_err(read_err)?.len();
            header.set_size(size);
            let mut reader = Hashing {
                inner: f.take(size),
                sha256: Sha256::new(),
                read: 0,
                error: None,
            };
            let written = tar.append_data(&mut header, &at, &mut reader);
            if let Some(cause) = reader.error.take() {
                return Err(read_err(cause));
            }
            written.map_err(BundleError::Write)?;
            if reader.read != size {
                // The file shrank while it was archived: tar padded it, the bytes are not it.
                return Err(read_err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("it shrank from {size} to {} bytes while read", reader.read),
                )));
            }
            let actual = hex::encode(reader.sha256.finalize());
            if let Some(expected) = expect_sha256
                && !expected.eq_ignore_ascii_case(&actual)
            {
                return Err(BundleError::Changed {
                    path: entry.path,
                    expected,
                    actual,
                });
            }
            Ok(Member {
                path: entry.path,
                sha256: actual,
                size,
            })
        }
    }
}

/// Reads through, hashing; keeps a read error apart from the archive's write errors.
struct Hashing<R> {
    inner: R,
    sha256: Sha256,
    read: u64,
    error: Option<io::Error>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.sha256.update(&buf[..n]);
                self.read += n as u64;
                Ok(n)
            }
            Err(e) => {
                let kind = e.kind();
                self.error = Some(e);
                Err(io::Error::new(kind, "reading the artifact failed"))
            }
        }
    }
}

/// Writes through, hashing and showing every byte to `observe`.
pub struct Tee<'a, W> {
    inner: W,
    sha256: Sha256,
    bytes: u64,
    observe: &'a mut dyn FnMut(&[u8]),
}

impl<W: Write> Write for Tee<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        (self.observe)(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests;
