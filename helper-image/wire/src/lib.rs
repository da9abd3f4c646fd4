//! Wire protocol between the ktui console and `ktui-helper`.
//!
//! Newline-delimited JSON, one message per line, each `{"v":1,"type":...}`. Lines longer than
//! [`MAX_LINE_BYTES`] are rejected (and skipped up to the next newline), never buffered without
//! bound. The first line the helper writes is [`HelperMessage::Hello`]. No IO here: both sides
//! feed bytes to a [`LineBuffer`] and call [`decode`] / [`encode`].
//!
//! Files (checkpoints, snapshots, pcaps) travel over their own exec stream in the [`bulk`]
//! framing: length-prefixed raw chunks between a header and a trailer line with the SHA-256.
//!
//! The [`SocketEvent`] object is also the pinned line format of `ktui-helper trace`.

pub mod bulk;
mod capture;
mod codec;
mod event;
mod message;

pub use capture::{
    CaptureEnd, CaptureInterface, CaptureMode, CaptureSpec, CaptureStats, CaptureTarget,
    DEFAULT_SNAPLEN, HEADERS_ONLY_SNAPLEN, PacketLine,
};
pub use codec::{
    LineBuffer, WireError, decode, decode_value, encode, encode_socket, encode_socket_into,
};
pub use event::{
    Conntrack, CtTuple, Direction, DnsInfo, EventType, K8sRef, ProcNs, Proto, SecContext,
    SocketEvent,
};
pub use message::{
    CONSOLE_TYPES, ConsoleMessage, ErrorCode, ErrorReply, Filters, HELPER_TYPES, Hello,
    HelperMessage, ProbeStatus, Stats,
};

/// Protocol version spoken by this build.
pub const PROTOCOL_VERSION: u32 = 1;

/// Longest line either side accepts (bytes, newline excluded).
pub const MAX_LINE_BYTES: usize = 1 << 20;
