//! The incremental, bounded decoder of a bulk stream.

use serde_json::Value;

use super::{BulkError, BulkHeader, BulkTrailer, MAX_BULK_LINE, MAX_CHUNK};
use crate::PROTOCOL_VERSION;

/// One thing decoded from the stream. Content borrows from the bytes given to
/// [`BulkDecoder::next_event`]: a chunk split across reads comes out as several pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkEvent<'a> {
    Header(BulkHeader),
    Content(&'a [u8]),
    /// The last event: after it, only an error for any further bytes.
    Trailer(BulkTrailer),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Length,
    Content { left: u32 },
    Trailer,
    Done,
}

/// Push bytes in, take events out (see [`BulkDecoder::next_event`]); holds at most one line
/// ([`MAX_BULK_LINE`]) and four length bytes, never content.
#[derive(Debug)]
pub struct BulkDecoder {
    state: State,
    line: Vec<u8>,
    len_bytes: [u8; 4],
    len_have: usize,
    header: Option<BulkHeader>,
    /// Content bytes decoded so far.
    content: u64,
}

impl Default for BulkDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl BulkDecoder {
    pub fn new() -> Self {
        BulkDecoder {
            state: State::Header,
            line: Vec::new(),
            len_bytes: [0; 4],
            len_have: 0,
            header: None,
            content: 0,
        }
    }

    /// The header, once decoded.
    pub fn header(&self) -> Option<&BulkHeader> {
        self.header.as_ref()
    }

    /// Content bytes decoded so far.
    pub fn content_bytes(&self) -> u64 {
        self.content
    }

    /// Whether the trailer has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// The next event from the front of `input`, which is advanced past what was used.
    /// `Ok(None)`: `input` is used up and more bytes are needed. After an error the stream is
    /// not readable any further.
    pub fn next_event<'a>(
        &mut self,
        input: &mut &'a [u8],
    ) -> Result<Option<BulkEvent<'a>>, BulkError> {
        loop {
            if input.is_empty() {
                return Ok(None);
            }
            match self.state {
                State::Header | State::Trailer => {
                    let what = if self.state == State::Header {
                        "header"
                    } else {
                        "trailer"
                    };
                    let Some(line) = self.take_line(input, what)? else {
                        return Ok(None);
                    };
                    return self.line_event(&line).map(Some);
                }
                State::Length => {
                    let want = 4 - self.len_have;
                    let take = want.min(input.len());
                    self.len_bytes[self.len_have..self.len_have + take]
                        .copy_from_slice(&input[..take]);
                    self.len_have += take;
                    *input = &input[take..];
                    if self.len_have < 4 {
                        return Ok(None);
                    }
                    self.len_have = 0;
                    let len = u32::from_be_bytes(self.len_bytes);
                    if len as usize > MAX_CHUNK {
                        return Err(BulkError::ChunkTooLarge(len));
                    }
                    if len == 0 {
                        self.state = State::Trailer;
                        continue;
                    }
                    if let Some(h) = &self.header
                        && let Some(size) = h.size
                        && h.offset + self.content + u64::from(len) > size
                    {
                        return Err(BulkError::Overrun {
                            size,
                            offset: h.offset,
                        });
                    }
                    self.state = State::Content { left: len };
                }
                State::Content { left } => {
                    let take = (left as usize).min(input.len());
                    let (piece, rest) = input.split_at(take);
                    *input = rest;
                    // take <= left, a u32.
                    let left = left - u32::try_from(take).unwrap_or(left);
                    self.state = if left == 0 {
                        State::Length
                    } else {
                        State::Content { left }
                    };
                    self.content += take as u64;
                    return Ok(Some(BulkEvent::Content(piece)));
                }
                State::Done => {
                    let extra = input.len();
                    *input = &[];
                    return Err(BulkError::TrailingData(extra));
                }
            }
        }
    }

    /// Where a stream that ended now stopped: `Ok` only after the trailer.
    pub fn finish(&self) -> Result<(), BulkError> {
        match self.state {
            State::Done => Ok(()),
            State::Header => Err(BulkError::Truncated("before its header")),
            State::Length | State::Content { .. } => Err(BulkError::Truncated("inside its body")),
            State::Trailer => Err(BulkError::Truncated("before its trailer")),
        }
    }

    /// Bytes up to a newline (consumed), or `None` when the line is not complete yet.
    fn take_line(
        &mut self,
        input: &mut &[u8],
        what: &'static str,
    ) -> Result<Option<Vec<u8>>, BulkError> {
        let newline = input.iter().position(|b| *b == b'\n');
        let (part, rest, complete) = match newline {
            Some(i) => (&input[..i], &input[i + 1..], true),
            None => (*input, &[][..], false),
        };
        if self.line.len() + part.len() > MAX_BULK_LINE {
            return Err(BulkError::LineTooLong { what });
        }
        self.line.extend_from_slice(part);
        *input = rest;
        Ok(complete.then(|| std::mem::take(&mut self.line)))
    }

    fn line_event(&mut self, line: &[u8]) -> Result<BulkEvent<'static>, BulkError> {
        let in_header = self.state == State::Header;
        let bad = |m: String| {
            if in_header {
                BulkError::BadHeader(m)
            } else {
                BulkError::BadTrailer(m)
            }
        };
        let value: Value = serde_json::from_slice(line).map_err(|e| bad(e.to_string()))?;
        match value.get("v").and_then(Value::as_u64) {
            Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
            Some(v) => return Err(BulkError::VersionMismatch { peer: v }),
            None => return Err(bad("missing \"v\"".to_string())),
        }
        let kind = value
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match (kind, in_header) {
            ("bulk", true) => {
                let header: BulkHeader =
                    serde_json::from_value(value.clone()).map_err(|e| bad(format!("bulk: {e}")))?;
                if let Some(size) = header.size
                    && header.offset > size
                {
                    return Err(bad(format!(
                        "offset {} beyond the file size {size}",
                        header.offset
                    )));
                }
                self.header = Some(header.clone());
                self.state = State::Length;
                Ok(BulkEvent::Header(header))
            }
            ("bulk_end", false) => {
                let bytes = value.get("bytes").and_then(Value::as_u64);
                let sha256 = value.get("sha256").and_then(Value::as_str);
                let (Some(bytes), Some(sha256)) = (bytes, sha256) else {
                    return Err(bad("bulk_end needs bytes and sha256".to_string()));
                };
                if sha256.len() != 64
                    || !sha256
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                {
                    return Err(bad("sha256 is not 64 lowercase hex digits".to_string()));
                }
                let offset = self.header.as_ref().map_or(0, |h| h.offset);
                let size = self.header.as_ref().and_then(|h| h.size);
                let carried = offset + self.content;
                if bytes != carried {
                    return Err(BulkError::LengthMismatch {
                        trailer: bytes,
                        carried,
                        offset,
                    });
                }
                if let Some(size) = size
                    && size != bytes
                {
                    return Err(BulkError::SizeMismatch { size, bytes });
                }
                self.state = State::Done;
                Ok(BulkEvent::Trailer(BulkTrailer::End {
                    bytes,
                    sha256: sha256.to_string(),
                }))
            }
            ("bulk_error", _) => {
                let message = value
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("(no message)")
                    .to_string();
                self.state = State::Done;
                Ok(BulkEvent::Trailer(BulkTrailer::Error { message }))
            }
            (other, _) => Err(bad(format!(
                "unexpected type '{}'",
                other.chars().take(40).collect::<String>()
            ))),
        }
    }
}
