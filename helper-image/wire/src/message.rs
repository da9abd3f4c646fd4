//! The messages. Helper → console: `hello` (first line), `socket`, `stats`, `error`, `pong`,
//! `subscribed`, and the capture messages (`capture_queued`, `capture_started`, `packet`,
//! `capture_stats`, `capture_file`, `capture_done`). Console → helper: `subscribe`,
//! `unsubscribe`, `ping`, `capture_start`, `capture_stop`.

use serde::{Deserialize, Serialize};

use crate::capture::{
    CaptureEnd, CaptureInterface, CaptureMode, CaptureSpec, CaptureStats, PacketLine,
};
use crate::event::{Proto, SocketEvent};

/// One probe the helper tried to attach, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeStatus {
    /// What it observes: `tcp_state`, `tcp_retransmit`, `connect`, `udp_send`, `dns`, `drop`, ...
    pub name: String,
    /// Where it is attached, e.g. `tracepoint:sock/inet_sock_set_state`, `kprobe:udp_sendmsg`;
    /// null when nothing could be attached.
    pub attach: Option<String>,
    /// A fallback was used because the preferred attach point is missing on this kernel.
    pub fallback: bool,
    /// Why it is not attached (or what is degraded).
    pub error: Option<String>,
}

/// The helper's first line: who it is and what it can do here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub helper_version: String,
    /// `uname -r`.
    pub kernel: String,
    pub node: Option<String>,
    pub probes: Vec<ProbeStatus>,
    /// eBPF programs are loaded and attached (at least one probe).
    pub ebpf: bool,
    /// Why eBPF is unavailable (missing capability, no BTF, ...), naming what to fix.
    pub ebpf_error: Option<String>,
    /// Capabilities the helper would need but lacks (`CAP_BPF`, `CAP_PERFMON`, ...).
    pub missing_capabilities: Vec<String>,
    /// Packet capture is possible.
    pub capture: bool,
    /// The kubelet checkpoint directory is readable.
    pub checkpoint_dir: bool,
    /// A live snapshot can read everything it is meant to: the helper's effective
    /// capabilities include SYS_PTRACE, DAC_READ_SEARCH and SYSLOG (the snapshot variant of
    /// the helper pod). Absent from older helpers: false.
    #[serde(default)]
    pub snapshot: bool,
}

/// What the console wants to see. Empty lists mean "everything".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Filters {
    pub pod_uids: Vec<String>,
    /// Network namespace inodes.
    pub netns: Vec<u64>,
    /// Either end matches.
    pub ports: Vec<u16>,
    pub protocols: Vec<Proto>,
    /// Port 53 over UDP and TCP only.
    pub dns_only: bool,
    /// Keep 1 event in N (applied in eBPF before the ring buffer reserve); 0 or 1 = all.
    pub sample: u32,
    /// Most events per second (in eBPF, before the reserve); None = unlimited.
    pub rate_limit: Option<u32>,
    /// Stop after this many events delivered.
    pub max_events: Option<u64>,
    /// Stop after this many bytes of encoded events delivered.
    pub max_bytes: Option<u64>,
    /// Leave the owner's security context (`sec`) out of events.
    #[serde(default)]
    pub no_sec: bool,
}

/// Cumulative counters, sent every second. Accounting closes:
/// `events + lost + sampled_out + rate_limited + dropped + aggregated == generated`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Delivered to the reader.
    pub events: u64,
    /// Ring buffer full in the kernel.
    pub lost: u64,
    pub sampled_out: u64,
    pub rate_limited: u64,
    /// Dropped in user space because the reader was too slow (backpressure) or a limit hit.
    pub dropped: u64,
    /// Everything that passed the filters.
    pub generated: u64,
    /// Repeats of a flow folded in the kernel into another event's count during a storm
    /// (reported in lines with `count`): `events + lost + sampled_out + rate_limited +
    /// dropped + aggregated == generated`.
    #[serde(default)]
    pub aggregated: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, or not a known shape.
    Malformed,
    /// A line over the size limit.
    Oversized,
    UnknownType,
    /// The peer speaks another protocol version.
    VersionMismatch,
    /// Missing privileges (the message names which).
    NotPermitted,
    /// The feature is not available on this node/kernel.
    Unavailable,
    BadRequest,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    pub code: ErrorCode,
    pub message: String,
    /// The request this answers, when known.
    pub id: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HelperMessage {
    Hello(Hello),
    Socket {
        event: Box<SocketEvent>,
    },
    Stats(Stats),
    Error(ErrorReply),
    Subscribed {
        id: u64,
    },
    Pong {
        id: u64,
    },
    /// All capture slots are busy: this one waits (1 = next to start).
    CaptureQueued {
        id: u64,
        position: u32,
    },
    CaptureStarted {
        id: u64,
        mode: CaptureMode,
        /// In file order (pcapng interface ids).
        interfaces: Vec<CaptureInterface>,
        /// `pcap` (one interface) or `pcapng` (several).
        format: String,
        /// The directory on the node the files are written to.
        dir: String,
    },
    Packet {
        id: u64,
        p: PacketLine,
    },
    CaptureStats {
        id: u64,
        stats: CaptureStats,
    },
    /// A file is complete on the node (rotated, or the last one): fetch it, then remove it.
    CaptureFile {
        id: u64,
        /// 1-based, in capture order.
        seq: u32,
        /// Absolute path on the node (under the capture directory).
        path: String,
        bytes: u64,
        packets: u64,
        /// SHA-256 of the whole file, hex.
        sha256: String,
        /// Frame numbers (`n`) of the first and last packet in it; None when empty.
        first_n: Option<u64>,
        last_n: Option<u64>,
        /// No file follows.
        last: bool,
    },
    /// The capture's last message (after its last `capture_file`).
    CaptureDone {
        id: u64,
        end: CaptureEnd,
        stats: CaptureStats,
        /// Why, when `end` is `error` or `target_gone`.
        message: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ConsoleMessage {
    Subscribe {
        id: u64,
        filters: Filters,
    },
    Unsubscribe {
        id: u64,
    },
    Ping {
        id: u64,
    },
    CaptureStart {
        id: u64,
        spec: CaptureSpec,
    },
    /// Stop the capture (or drop it from the queue): the open file is closed and reported
    /// first, then `capture_done`.
    CaptureStop {
        id: u64,
    },
}

impl HelperMessage {
    /// The wire name of the message type.
    pub fn type_name(&self) -> &'static str {
        match self {
            HelperMessage::Hello(_) => "hello",
            HelperMessage::Socket { .. } => "socket",
            HelperMessage::Stats(_) => "stats",
            HelperMessage::Error(_) => "error",
            HelperMessage::Subscribed { .. } => "subscribed",
            HelperMessage::Pong { .. } => "pong",
            HelperMessage::CaptureQueued { .. } => "capture_queued",
            HelperMessage::CaptureStarted { .. } => "capture_started",
            HelperMessage::Packet { .. } => "packet",
            HelperMessage::CaptureStats { .. } => "capture_stats",
            HelperMessage::CaptureFile { .. } => "capture_file",
            HelperMessage::CaptureDone { .. } => "capture_done",
        }
    }
}

/// Type names the console accepts from the helper.
pub const HELPER_TYPES: &[&str] = &[
    "hello",
    "socket",
    "stats",
    "error",
    "subscribed",
    "pong",
    "capture_queued",
    "capture_started",
    "packet",
    "capture_stats",
    "capture_file",
    "capture_done",
];
/// Type names the helper accepts from the console.
pub const CONSOLE_TYPES: &[&str] = &[
    "subscribe",
    "unsubscribe",
    "ping",
    "capture_start",
    "capture_stop",
];

impl HelperMessage {
    /// Decode one line from the helper.
    pub fn decode(line: &[u8]) -> Result<Self, crate::WireError> {
        crate::decode(line, HELPER_TYPES)
    }
}

impl ConsoleMessage {
    /// Decode one line from the console.
    pub fn decode(line: &[u8]) -> Result<Self, crate::WireError> {
        crate::decode(line, CONSOLE_TYPES)
    }
}
