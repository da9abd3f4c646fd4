//! Bulk transfer framing: a file (a checkpoint archive, a live snapshot, a pcap) from the helper
//! to the console over a dedicated exec stream, raw bytes rather than base64 in the control
//! protocol.
//!
//! ```text
//! {"v":1,"type":"bulk","name":"<file name>","size":N|null,"offset":N}\n     header line
//! <u32 big-endian length><that many content bytes>  ...                      chunks, 1..=1 MiB
//! <u32 0>                                                                    end of the body
//! {"v":1,"type":"bulk_end","bytes":TOTAL,"sha256":"<hex, the WHOLE file from byte 0>"}\n
//!   or {"v":1,"type":"bulk_error","message":"..."}\n
//! ```
//! - `size` is null when the producer cannot know it in advance (a live snapshot); `offset` is
//!   where the content starts in the file (a resumed transfer), and `bytes` in the trailer counts
//!   from byte 0, so `bytes = offset + content bytes`.
//! - A producer that fails before it can send a header sends the `bulk_error` line alone (the
//!   decoder accepts it as the first line).
//! - The decoder is bounded: a chunk longer than [`MAX_CHUNK`] or a header/trailer line longer
//!   than [`MAX_BULK_LINE`] is an error, never buffered; content beyond a declared size is an
//!   error too.
//!
//! No IO in here beyond `impl Write`: the helper wraps its stdout in a [`BulkWriter`]; the console
//! feeds what it reads to a [`BulkDecoder`].

mod decode;

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use decode::{BulkDecoder, BulkEvent};

use crate::PROTOCOL_VERSION;

/// Largest chunk of content (bytes after its length prefix).
pub const MAX_CHUNK: usize = 1 << 20;
/// Longest header or trailer line (bytes, newline excluded).
pub const MAX_BULK_LINE: usize = 8 * 1024;
/// Longest `bulk_error` message a producer sends (longer ones are cut, on a char boundary).
pub const MAX_ERROR_MESSAGE: usize = 4 * 1024;

/// The header line: what follows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkHeader {
    /// The file's name (its base name on the node; the console chooses its own local name).
    pub name: String,
    /// The whole file's size, when known in advance.
    pub size: Option<u64>,
    /// Where the content starts in the file.
    pub offset: u64,
}

/// How the body ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkTrailer {
    /// Complete: the whole file's size and SHA-256 (lowercase hex), from byte 0.
    End { bytes: u64, sha256: String },
    /// The producer failed (its message, as sent: sanitise before showing it).
    Error { message: String },
}

/// Why a bulk stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BulkError {
    #[error("a bulk {what} line is longer than {MAX_BULK_LINE} bytes")]
    LineTooLong { what: &'static str },
    #[error("bad bulk header: {0}")]
    BadHeader(String),
    #[error("bad bulk trailer: {0}")]
    BadTrailer(String),
    #[error("a bulk chunk declares {0} bytes, beyond the {MAX_CHUNK}-byte limit")]
    ChunkTooLarge(u32),
    #[error(
        "the bulk stream carries more content than its header declared ({size} bytes from offset {offset})"
    )]
    Overrun { size: u64, offset: u64 },
    #[error(
        "the bulk trailer says the file has {trailer} bytes, but the stream carried {carried} (offset {offset} + content)"
    )]
    LengthMismatch {
        trailer: u64,
        carried: u64,
        offset: u64,
    },
    #[error("the bulk header declared a {size}-byte file, but its trailer says {bytes} bytes")]
    SizeMismatch { size: u64, bytes: u64 },
    #[error("{0} bytes follow the bulk trailer")]
    TrailingData(usize),
    #[error("the bulk stream ended {0}")]
    Truncated(&'static str),
    #[error(
        "bulk protocol version mismatch: the helper speaks v{peer}, this build speaks v{PROTOCOL_VERSION}; use a ktui and ktui-helper from the same release"
    )]
    VersionMismatch { peer: u64 },
}

#[derive(Serialize)]
struct HeaderLine<'a> {
    v: u32,
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    size: Option<u64>,
    offset: u64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TrailerLine<'a> {
    End {
        v: u32,
        #[serde(rename = "type")]
        kind: &'static str,
        bytes: u64,
        sha256: &'a str,
    },
    Error {
        v: u32,
        #[serde(rename = "type")]
        kind: &'static str,
        message: &'a str,
    },
}

fn json_line(value: &impl Serialize) -> Vec<u8> {
    // Strings and numbers only: serialising cannot fail.
    let mut line = serde_json::to_vec(value).unwrap_or_default();
    line.push(b'\n');
    line
}

/// The header line, with its newline.
pub fn encode_header(header: &BulkHeader) -> Vec<u8> {
    json_line(&HeaderLine {
        v: PROTOCOL_VERSION,
        kind: "bulk",
        name: &header.name,
        size: header.size,
        offset: header.offset,
    })
}

/// The trailer line, with its newline (an error message is cut to [`MAX_ERROR_MESSAGE`]).
pub fn encode_trailer(trailer: &BulkTrailer) -> Vec<u8> {
    match trailer {
        BulkTrailer::End { bytes, sha256 } => json_line(&TrailerLine::End {
            v: PROTOCOL_VERSION,
            kind: "bulk_end",
            bytes: *bytes,
            sha256,
        }),
        BulkTrailer::Error { message } => json_line(&TrailerLine::Error {
            v: PROTOCOL_VERSION,
            kind: "bulk_error",
            message: cut(message, MAX_ERROR_MESSAGE),
        }),
    }
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Writes one bulk stream: the header at [`BulkWriter::start`], content split into chunks of at
/// most [`MAX_CHUNK`] (each written straight through: no copy), the zero chunk and the trailer
/// at [`BulkWriter::finish`] / [`BulkWriter::fail`]. It hashes what it sends, after what
/// [`BulkWriter::hash_prefix`] was given of the bytes before `offset`.
pub struct BulkWriter<W: Write> {
    out: W,
    hasher: Sha256,
    offset: u64,
    /// Bytes hashed so far (prefix + content).
    hashed: u64,
    sent: u64,
}

impl<W: Write> BulkWriter<W> {
    /// Write the header.
    pub fn start(mut out: W, header: &BulkHeader) -> io::Result<Self> {
        out.write_all(&encode_header(header))?;
        Ok(BulkWriter {
            out,
            hasher: Sha256::new(),
            offset: header.offset,
            hashed: 0,
            sent: 0,
        })
    }

    /// Hash bytes of the file before `offset` (not sent): the trailer's hash covers the whole
    /// file. Call it for the whole prefix, in order, before any [`BulkWriter::content`].
    pub fn hash_prefix(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.sent > 0 || self.hashed + bytes.len() as u64 > self.offset {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bulk prefix beyond the header's offset, or after content",
            ));
        }
        self.hasher.update(bytes);
        self.hashed += bytes.len() as u64;
        Ok(())
    }

    /// Send content (hashed, then written as chunks of at most [`MAX_CHUNK`]).
    pub fn content(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.content_sent_as(bytes, bytes)
    }

    /// Send `wire` in place of `hashed` (same length): a test hook of the helper corrupts what
    /// it sends this way while hashing the true bytes.
    pub fn content_sent_as(&mut self, hashed: &[u8], wire: &[u8]) -> io::Result<()> {
        if hashed.len() != wire.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bulk content and its wire copy differ in length",
            ));
        }
        if self.hashed != self.offset {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bulk content before the whole prefix was hashed",
            ));
        }
        self.hasher.update(hashed);
        for chunk in wire.chunks(MAX_CHUNK) {
            // At most MAX_CHUNK (1 MiB): fits in u32.
            let len = u32::try_from(chunk.len()).unwrap_or(u32::MAX);
            self.out.write_all(&len.to_be_bytes())?;
            self.out.write_all(chunk)?;
        }
        self.sent += hashed.len() as u64;
        Ok(())
    }

    /// Content bytes sent so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// End the body and write `bulk_end` with the whole file's size and hash; returns them.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        if self.hashed != self.offset {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bulk stream finished before the whole prefix was hashed",
            ));
        }
        let bytes = self.offset + self.sent;
        let sha256 = hex::encode(self.hasher.finalize_reset());
        self.out.write_all(&0u32.to_be_bytes())?;
        self.out.write_all(&encode_trailer(&BulkTrailer::End {
            bytes,
            sha256: sha256.clone(),
        }))?;
        self.out.flush()?;
        Ok((bytes, sha256))
    }

    /// End the body and write `bulk_error` with `message`.
    pub fn fail(mut self, message: &str) -> io::Result<()> {
        self.out.write_all(&0u32.to_be_bytes())?;
        self.out.write_all(&encode_trailer(&BulkTrailer::Error {
            message: message.to_string(),
        }))?;
        self.out.flush()
    }
}

/// Content through `std::io::Write` (a tar builder writing a live snapshot): every `write` is
/// sent as it comes, so wrap the writer in a `BufWriter::with_capacity(MAX_CHUNK, &mut w)`
/// when the writes are small, then flush that and call [`BulkWriter::finish`].
impl<W: Write> Write for BulkWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.content(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A failure before any header: the `bulk_error` line alone (see the module docs).
pub fn write_early_error(mut out: impl Write, message: &str) -> io::Result<()> {
    out.write_all(&encode_trailer(&BulkTrailer::Error {
        message: message.to_string(),
    }))?;
    out.flush()
}

/// What `ktui-helper rm PATH` answers on stdout: one JSON line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RemoveReply {
    /// The file was removed.
    Removed { path: String },
    /// It was not (why, and what to do, in `message`).
    RemoveError {
        kind: RemoveErrorKind,
        message: String,
    },
}

/// Why a removal failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemoveErrorKind {
    /// The path is outside the helper's allowed directories (or escapes them).
    Refused,
    /// The directory is mounted read-only in this helper.
    ReadOnly,
    NotFound,
    /// Any other failure (permissions, IO).
    Failed,
}

impl RemoveReply {
    /// The reply as one line, `"v"` first, with its newline.
    pub fn encode(&self) -> String {
        crate::encode(self)
    }

    /// Parse a reply line (without its newline).
    pub fn decode(line: &[u8]) -> Result<Self, crate::WireError> {
        crate::decode(line, &["removed", "remove_error"])
    }
}

#[cfg(test)]
mod tests;
