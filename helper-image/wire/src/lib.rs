//! Wire protocol between the ktui console and `ktui-helper`.
//!
//! Newline-delimited JSON, one message per line, each tagged `{"v":1,"type":...}`.
//! The full message set arrives with the helper; the foundation pins the version.

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line either side accepts (bytes, newline excluded).
pub const MAX_LINE_BYTES: usize = 1 << 20;
