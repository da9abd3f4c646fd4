//! Packet capture over the wire protocol. Console → helper: `capture_start`, `capture_stop`.
//! Helper → console: `capture_queued`, `capture_started`, `packet` (one summary per packet,
//! sampled under load), `capture_stats` (every second), `capture_file` (a pcap file closed on
//! the node — rotated or final — ready to fetch and remove), `capture_done` (the last message
//! of a capture). Errors about a capture are `error` messages with its id.

use serde::{Deserialize, Serialize};

/// Default snaplen: whole frames, including GSO/TSO super-frames up to 256 KiB.
pub const DEFAULT_SNAPLEN: u32 = 262_144;
/// `--headers-only`: enough for Ethernet + VLANs + IPv6 with options + TCP with options.
pub const HEADERS_ONLY_SNAPLEN: u32 = 128;

/// Whose traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CaptureTarget {
    /// A pod on this node: its network namespace is found through one of its processes
    /// (its cgroup), as the sockets subscription does.
    Pod { uid: String },
    /// An explicit network namespace file (`/var/run/netns/NAME`, `/proc/PID/ns/net`).
    Netns { path: String },
}

/// What to capture and where to stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureSpec {
    pub target: CaptureTarget,
    /// An interface inside the target namespace (`eth0`); None = every interface in it.
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default = "default_snaplen")]
    pub snaplen: u32,
    /// The filter expression (`ktui_packet::filter` language), compiled to classic BPF on
    /// the socket; None = everything.
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub max_packets: Option<u64>,
    /// Bytes captured (caplen), summed over the capture.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
    /// Rotate to a new file when the current one reaches this size (tcpdump `-C`).
    #[serde(default)]
    pub rotate_bytes: Option<u64>,
    /// Keep at most this many files on the node (tcpdump `-W`); the oldest not yet fetched is
    /// overwritten (and reported lost) only when the console falls that far behind.
    #[serde(default)]
    pub rotate_files: Option<u32>,
    /// Send `packet` summaries (a console showing a pane wants them; a file-only capture not).
    #[serde(default = "yes")]
    pub summaries: bool,
    /// At most this many `packet` summaries per second; the rest are counted as sampled out.
    /// None: the helper's default, 1,000 per second.
    #[serde(default)]
    pub summaries_per_sec: Option<u32>,
    /// A label for the file names (`<label>-<seq>.pcap`), sanitised by the helper.
    #[serde(default)]
    pub label: Option<String>,
}

fn default_snaplen() -> u32 {
    DEFAULT_SNAPLEN
}

fn yes() -> bool {
    true
}

impl CaptureSpec {
    pub fn new(target: CaptureTarget) -> CaptureSpec {
        CaptureSpec {
            target,
            interface: None,
            snaplen: DEFAULT_SNAPLEN,
            filter: None,
            max_packets: None,
            max_bytes: None,
            duration_ms: None,
            rotate_bytes: None,
            rotate_files: None,
            summaries: true,
            summaries_per_sec: None,
            label: None,
        }
    }
}

/// How the helper reached the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// On the host side of the pod's veth, from the host network namespace (NET_RAW only).
    HostVeth,
    /// An AF_PACKET socket opened inside the pod's namespace (setns; needs SYS_ADMIN too).
    Netns,
}

/// One interface of a capture, as it appears in the file (pcapng interface block order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureInterface {
    pub name: String,
    /// pcap LINKTYPE_* number.
    pub linktype: u32,
}

/// Cumulative counters of one capture, sent every second and in `capture_done`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureStats {
    /// Frames written to the pcap.
    pub packets: u64,
    /// Bytes written (captured lengths).
    pub bytes: u64,
    /// Original lengths summed (what was on the wire).
    pub wire_bytes: u64,
    /// Dropped by the kernel (ring full), from PACKET_STATISTICS.
    pub kernel_drops: u64,
    /// Summaries sent.
    pub summarized: u64,
    /// Packets written but not summarised (summary rate limit or backpressure).
    pub sampled_out: u64,
    /// Files closed so far.
    pub files: u32,
    /// Files overwritten on the node before they were fetched (rotation ran ahead).
    pub files_lost: u32,
}

/// Why a capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureEnd {
    Stopped,
    MaxPackets,
    MaxBytes,
    Duration,
    /// The namespace or interface went away (pod deleted).
    TargetGone,
    /// The helper is shutting down.
    Shutdown,
    Error,
}

/// One packet's summary: the pinned `ktui pcap summary --json` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PacketLine {
    /// 1-based frame number in the capture (across rotated files).
    pub n: u64,
    /// Epoch seconds with 9 decimals; `None` (null) when the frame has no time (a pcapng
    /// simple packet block).
    pub ts: Option<String>,
    pub len: u32,
    pub caplen: u32,
    pub src: Option<String>,
    pub dst: Option<String>,
    pub proto: Option<String>,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub tcp_flags: Option<String>,
    pub icmp_type: Option<u8>,
    pub vlan: Option<u16>,
    pub dns_qname: Option<String>,
    pub truncated: bool,
}
