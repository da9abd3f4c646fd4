//! `ktui-helper fetch PATH [--offset N]`: send a file staged on the node (a kubelet checkpoint
//! archive, a capture) to the console on stdout in the `ktui_wire::bulk` framing, and
//! `ktui-helper rm PATH`: remove one after the console verified its copy.
//!
//! Only regular files under the allowed roots ([`roots::allowed_roots`]) are served; the path is
//! canonicalised first, so neither `..` nor a symlink leads outside. The trailer's SHA-256 is of
//! the whole file: with `--offset` the bytes before it are read and hashed, not sent. Reads are
//! 1 MiB, each sent as one chunk straight from the read buffer.
//!
//! Exit status: 0 after `bulk_end`, 1 after `bulk_error` (also on stderr), 1 when stdout
//! breaks (the console went away).

pub mod rm;
pub mod roots;

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::process::ExitCode;

use ktui_wire::bulk::{self, BulkHeader, BulkWriter};

use crate::cli::FetchArgs;

/// Bytes per read, and so per chunk.
pub const READ_SIZE: usize = bulk::MAX_CHUNK;

/// Why a fetch stopped (sent to the console as `bulk_error`).
#[derive(Debug, thiserror::Error)]
enum FetchError {
    #[error(transparent)]
    Path(#[from] roots::PathError),
    #[error("cannot open {path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("--offset {offset} is beyond the end of {path} ({len} bytes)")]
    OffsetBeyondEnd { path: String, offset: u64, len: u64 },
    #[error("reading {path} failed at byte {at}: {source}")]
    Read {
        path: String,
        at: u64,
        source: io::Error,
    },
    #[error(
        "{path} shrank while it was sent: it ended at byte {at}, not {len} (is something still writing or deleting it?)"
    )]
    Shrank { path: String, at: u64, len: u64 },
}

/// stdout for a bulk stream: an unbuffered file (no line buffering scanning every chunk for
/// newlines), with a 1 MiB pipe when it is one. `snapshot` streams through it too.
pub fn bulk_stdout() -> io::Result<File> {
    let out = File::from(io::stdout().as_fd().try_clone_to_owned()?);
    grow_pipe(&out);
    Ok(out)
}

pub fn run(args: &FetchArgs) -> ExitCode {
    let out = match bulk_stdout() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ktui-helper fetch: no stdout: {e}");
            return ExitCode::from(1);
        }
    };
    match send(&roots::allowed_roots(), args, out) {
        Ok(Sent::Done { bytes, sha256 }) => {
            eprintln!(
                "ktui-helper fetch: sent {} ({bytes} bytes, sha256 {sha256})",
                args.path
            );
            ExitCode::SUCCESS
        }
        Ok(Sent::Failed(message)) => {
            eprintln!("ktui-helper fetch: {message}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("ktui-helper fetch: writing to the console failed: {e}");
            ExitCode::from(1)
        }
    }
}

/// A pipe to the container runtime: 1 MiB of room rather than 64 KiB, so a whole chunk is
/// taken per write (fewer wake-ups of both ends). Best effort: not a pipe, or refused, is fine.
fn grow_pipe(out: &File) {
    use std::os::fd::AsRawFd as _;
    // SAFETY: F_SETPIPE_SZ on a file descriptor we own; on a non-pipe it fails with EBADF/EINVAL
    // and changes nothing.
    unsafe {
        libc::fcntl(
            out.as_raw_fd(),
            libc::F_SETPIPE_SZ,
            READ_SIZE as libc::c_int,
        );
    }
}

/// How a transfer ended, as the console was told.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Done { bytes: u64, sha256: String },
    Failed(String),
}

/// Send `args.path` to `out`. `Err` only when writing to `out` fails.
pub fn send(roots: &[roots::Root], args: &FetchArgs, mut out: impl Write) -> io::Result<Sent> {
    let opened = open(roots, &args.path, args.offset);
    let (mut file, len, name) = match opened {
        Ok(o) => o,
        Err(e) => {
            let message = e.to_string();
            bulk::write_early_error(&mut out, &message)?;
            return Ok(Sent::Failed(message));
        }
    };
    let header = BulkHeader {
        name,
        size: Some(len),
        offset: args.offset,
    };
    let mut w = BulkWriter::start(out, &header)?;
    match stream(&mut file, &mut w, &args.path, len, args) {
        Ok(()) => {
            let (bytes, sha256) = w.finish()?;
            Ok(Sent::Done { bytes, sha256 })
        }
        Err(Stop::Out(e)) => Err(e),
        Err(Stop::File(e)) => {
            let message = e.to_string();
            w.fail(&message)?;
            Ok(Sent::Failed(message))
        }
    }
}

fn open(roots: &[roots::Root], path: &str, offset: u64) -> Result<(File, u64, String), FetchError> {
    let resolved = roots::resolve(path, roots)?;
    let open_err = |source| FetchError::Open {
        path: path.to_string(),
        source,
    };
    // O_NOFOLLOW: the canonical path has no symlink left; one appearing now is refused.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&resolved.path)
        .map_err(open_err)?;
    let meta = file.metadata().map_err(open_err)?;
    if !meta.is_file() {
        return Err(roots::PathError::NotFile {
            path: path.to_string(),
        }
        .into());
    }
    let len = meta.len();
    if offset > len {
        return Err(FetchError::OffsetBeyondEnd {
            path: path.to_string(),
            offset,
            len,
        });
    }
    let name = resolved
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok((file, len, name))
}

enum Stop {
    /// Writing to the console failed.
    Out(io::Error),
    /// The file failed: said to the console in `bulk_error`.
    File(FetchError),
}

/// Hash the prefix before the offset, then send the rest: exactly `len` bytes in all.
fn stream<W: Write>(
    file: &mut File,
    w: &mut BulkWriter<W>,
    path: &str,
    len: u64,
    args: &FetchArgs,
) -> Result<(), Stop> {
    let mut buf = vec![0u8; READ_SIZE];
    let mut at = 0u64;
    while at < len {
        let want = (len - at).min(READ_SIZE as u64) as usize;
        // Before the offset, read only up to it: the prefix is hashed, not sent.
        let want = if at < args.offset {
            want.min((args.offset - at) as usize)
        } else {
            want
        };
        let n = read_full(file, &mut buf[..want]).map_err(|source| {
            Stop::File(FetchError::Read {
                path: path.to_string(),
                at,
                source,
            })
        })?;
        if n == 0 {
            return Err(Stop::File(FetchError::Shrank {
                path: path.to_string(),
                at,
                len,
            }));
        }
        let piece = &buf[..n];
        if at < args.offset {
            w.hash_prefix(piece).map_err(Stop::Out)?;
        } else {
            send_piece(w, piece, at, args.debug_flip_byte).map_err(Stop::Out)?;
        }
        at += n as u64;
    }
    Ok(())
}

/// Send `piece` (file bytes from `at`); the hidden test hook `--debug-flip-byte N` sends the
/// byte at file offset N inverted while the hash covers the true one (corruption in transit).
fn send_piece<W: Write>(
    w: &mut BulkWriter<W>,
    piece: &[u8],
    at: u64,
    flip: Option<u64>,
) -> io::Result<()> {
    match flip {
        Some(f) if f >= at && f < at + piece.len() as u64 => {
            let mut wire = piece.to_vec();
            let i = (f - at) as usize;
            wire[i] = !wire[i];
            w.content_sent_as(piece, &wire)
        }
        _ => w.content(piece),
    }
}

/// Read until `buf` is full or EOF.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests;
