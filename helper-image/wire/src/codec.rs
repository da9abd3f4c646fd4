//! Framing: one JSON object per line, `"v"` checked, sizes bounded.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{MAX_LINE_BYTES, PROTOCOL_VERSION};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("line of {0} bytes exceeds the {MAX_LINE_BYTES}-byte limit")]
    Oversized(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    #[error(
        "protocol version mismatch: peer speaks v{peer}, this build speaks v{PROTOCOL_VERSION}; \
         use a ktui and ktui-helper from the same release"
    )]
    VersionMismatch { peer: u64 },
}

/// One line: the message with `"v"` added, and a trailing newline.
pub fn encode<T: Serialize>(msg: &T) -> String {
    // Serialized straight to text (no JSON tree), then "v" spliced in first: every message
    // is an object, `{...}`.
    let body = serde_json::to_string(msg).unwrap_or_else(|_| "{}".to_string());
    let mut line = String::with_capacity(body.len() + 12);
    line.push_str("{\"v\":");
    line.push_str(&PROTOCOL_VERSION.to_string());
    match body.strip_prefix('{') {
        Some("}") | None => line.push('}'),
        Some(rest) => {
            line.push(',');
            line.push_str(rest);
        }
    }
    line.push('\n');
    line
}

/// The `socket` message for `event`, without building (or cloning into) a `HelperMessage`:
/// the helper's hot path. Same bytes as `encode(&HelperMessage::Socket { .. })`.
pub fn encode_socket(event: &crate::SocketEvent) -> String {
    let mut line = Vec::with_capacity(512);
    encode_socket_into(event, &mut line);
    String::from_utf8(line).unwrap_or_default()
}

/// [`encode_socket`] appended to `out` (UTF-8), for writers that batch lines.
pub fn encode_socket_into(event: &crate::SocketEvent, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(b"{\"v\":");
    out.extend_from_slice(PROTOCOL_VERSION.to_string().as_bytes());
    out.extend_from_slice(b",\"type\":\"socket\",\"event\":");
    if serde_json::to_writer(&mut *out, event).is_err() {
        out.truncate(start);
        return;
    }
    out.extend_from_slice(b"}\n");
}

/// Parse one line (without its newline) into a JSON object with a matching `"v"`.
pub fn decode_value(line: &[u8]) -> Result<Value, WireError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(WireError::Oversized(line.len()));
    }
    let value: Value =
        serde_json::from_slice(line).map_err(|e| WireError::Malformed(e.to_string()))?;
    let Some(obj) = value.as_object() else {
        return Err(WireError::Malformed("expected a JSON object".to_string()));
    };
    match obj.get("v").and_then(Value::as_u64) {
        Some(v) if v == u64::from(PROTOCOL_VERSION) => {}
        Some(v) => return Err(WireError::VersionMismatch { peer: v }),
        None => return Err(WireError::Malformed("missing \"v\"".to_string())),
    }
    if obj.get("type").and_then(Value::as_str).is_none() {
        return Err(WireError::Malformed("missing \"type\"".to_string()));
    }
    Ok(value)
}

/// Parse one line into a message of the expected direction.
pub fn decode<T: DeserializeOwned>(line: &[u8], known_types: &[&str]) -> Result<T, WireError> {
    let mut value = decode_value(line)?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if !known_types.contains(&kind.as_str()) {
        return Err(WireError::UnknownType(kind));
    }
    if let Value::Object(map) = &mut value {
        map.remove("v");
    }
    serde_json::from_value(value).map_err(|e| WireError::Malformed(format!("{kind}: {e}")))
}

/// Splits a byte stream into lines, never holding more than `MAX_LINE_BYTES` of one line.
#[derive(Debug, Default)]
pub struct LineBuffer {
    buf: Vec<u8>,
    /// Inside an oversized line: discard until the next newline.
    skipping: bool,
    /// Bytes of the oversized line seen so far.
    skipped: usize,
}

impl LineBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add bytes; returns complete lines (without newline), or errors for oversized ones.
    pub fn push(&mut self, mut bytes: &[u8]) -> Vec<Result<Vec<u8>, WireError>> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let newline = bytes.iter().position(|b| *b == b'\n');
            let (chunk, rest, complete) = match newline {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &[][..], false),
            };
            bytes = rest;
            if self.skipping {
                self.skipped += chunk.len();
                if complete {
                    out.push(Err(WireError::Oversized(self.skipped)));
                    self.skipping = false;
                    self.skipped = 0;
                }
                continue;
            }
            if self.buf.len() + chunk.len() > MAX_LINE_BYTES {
                self.skipped = self.buf.len() + chunk.len();
                self.buf.clear();
                if complete {
                    out.push(Err(WireError::Oversized(self.skipped)));
                    self.skipped = 0;
                } else {
                    self.skipping = true;
                }
                continue;
            }
            self.buf.extend_from_slice(chunk);
            if complete {
                let line = std::mem::take(&mut self.buf);
                if !line.iter().all(u8::is_ascii_whitespace) {
                    out.push(Ok(line));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
