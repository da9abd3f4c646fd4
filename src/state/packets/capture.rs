//! One capture as the console follows it: the request, the helper's answers per request
//! ("segments": a reconnect sends the request again under a new id, and the time between is a
//! recorded gap), its files from the node to the case, the live summaries and the end.

use jiff::Timestamp;
use ktui_wire::{CaptureEnd, CaptureInterface, CaptureMode, CaptureSpec, CaptureStats};

use super::flows::Flows;
use super::ring::Ring;
use crate::cluster::PodKey;
use crate::helper::manifest::HelperVariant;
use crate::state::helper::HelperTarget;

/// Where a capture is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Looking for a ready helper with what the capture needs (the step, in words).
    Helper(String),
    /// Waiting for the answer to the deploy question, or for the deploy.
    Deploying(String),
    /// Waiting for the helper session (its hello).
    Connecting,
    /// `capture_start` sent, no answer yet.
    Requested,
    /// Waiting for a capture slot of the helper (1 = next).
    Queued {
        position: u32,
    },
    Running,
    /// `capture_stop` sent: the last file and `capture_done` are on their way.
    Stopping,
    /// The helper stream was lost (why): the request is sent again after the reconnect.
    Interrupted(String),
    /// Over (files may still be on their way into the case).
    Ended,
}

/// Why a capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// What the helper's `capture_done` said.
    Helper(CaptureEnd),
    /// The helper refused the request (an `error` with its id).
    Refused,
    /// It never reached a helper (none deployed, the deploy failed or was declined).
    NotStarted,
    /// The helper session ended for good.
    SessionLost,
    /// Stopped while the helper stream was down.
    Stopped,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Helper(CaptureEnd::Stopped) | EndReason::Stopped => "stopped",
            EndReason::Helper(CaptureEnd::MaxPackets) => "max_packets",
            EndReason::Helper(CaptureEnd::MaxBytes) => "max_bytes",
            EndReason::Helper(CaptureEnd::Duration) => "duration",
            EndReason::Helper(CaptureEnd::TargetGone) => "target_gone",
            EndReason::Helper(CaptureEnd::Shutdown) => "shutdown",
            EndReason::Helper(CaptureEnd::Error) => "error",
            EndReason::Refused => "refused",
            EndReason::NotStarted => "not_started",
            EndReason::SessionLost => "session_lost",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct End {
    pub at: Timestamp,
    pub reason: EndReason,
    pub message: Option<String>,
}

/// What `capture_started` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub at: Timestamp,
    pub mode: CaptureMode,
    pub interfaces: Vec<CaptureInterface>,
    pub format: String,
    pub dir: String,
}

/// One request to the helper (the first, or one sent again after a reconnect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub wire_id: u64,
    pub requested_at: Timestamp,
    pub started: Option<Started>,
    /// Its cumulative counters (from `capture_stats`, `capture_done`).
    pub stats: CaptureStats,
    /// When and how it ended: the helper's end, `cut: ...`, `refused: ...`.
    pub ended: Option<(Timestamp, String)>,
    /// The highest file number announced, and whether its last file was.
    pub last_seq: u32,
    pub last_file: bool,
}

/// A stretch without capture: the stream was lost while a request ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub from: Timestamp,
    /// When capture resumed (the new request's `capture_started`); None while it lasts.
    pub to: Option<Timestamp>,
    pub reason: String,
    /// The request that was cut, and the one sent after the reconnect.
    pub before: u64,
    pub after: Option<u64>,
}

/// Where a file is on its way from the node into the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// On the node, waiting for its turn.
    OnNode,
    Fetching {
        done: u64,
        total: Option<u64>,
    },
    /// Committed in the case (its path there, SHA-256); the node's copy.
    InCase {
        path: String,
        sha256: String,
        node: NodeCopy,
    },
    /// Not in the case: why (what stays where).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeCopy {
    Removing,
    Removed,
    /// Still on the node: why.
    Kept(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    pub wire_id: u64,
    pub seq: u32,
    pub node_path: String,
    pub bytes: u64,
    pub packets: u64,
    /// The SHA-256 `capture_file` gave (None: recovered after a cut, never announced).
    pub sha256: Option<String>,
    pub first_n: Option<u64>,
    pub last_n: Option<u64>,
    pub last: bool,
    /// The file that was open when the stream was cut, fetched by its expected name.
    pub recovered: bool,
    pub status: FileStatus,
}

impl FileState {
    /// In the case, and the node's copy no longer in question.
    pub fn settled(&self) -> bool {
        match &self.status {
            FileStatus::InCase { node, .. } => *node != NodeCopy::Removing,
            FileStatus::Failed(_) => true,
            FileStatus::OnNode | FileStatus::Fetching { .. } => false,
        }
    }

    pub fn in_case(&self) -> bool {
        matches!(self.status, FileStatus::InCase { .. })
    }

    /// The file's name on the node.
    pub fn name(&self) -> &str {
        self.node_path.rsplit('/').next().unwrap_or(&self.node_path)
    }
}

/// The capture record's progress.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RecordStatus {
    #[default]
    NotYet,
    Writing,
    Written {
        path: String,
        sha256: String,
    },
    Failed(String),
}

/// Packets and bits per second, measured over at least a second of the console's clock.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Rate {
    pub pps: f64,
    pub bps: f64,
    sample: Option<(Timestamp, u64, u64)>,
}

impl Rate {
    pub fn update(&mut self, now: Timestamp, packets: u64, wire_bytes: u64) {
        match self.sample {
            Some((at, p, b)) => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs >= 1.0 {
                    self.pps = packets.saturating_sub(p) as f64 / secs;
                    self.bps = wire_bytes.saturating_sub(b) as f64 * 8.0 / secs;
                    self.sample = Some((now, packets, wire_bytes));
                }
            }
            None => self.sample = Some((now, packets, wire_bytes)),
        }
    }

    /// Nothing flows (an end, a gap): the rate starts over.
    pub fn reset(&mut self) {
        *self = Rate::default();
    }
}

#[derive(Debug, Clone)]
pub struct Capture {
    /// The console's number for it (`#N`).
    pub id: u64,
    pub pod: PodKey,
    pub pod_uid: String,
    /// The pod's node, or `local`.
    pub node: String,
    /// The helper it runs on (its files are fetched through it).
    pub helper: HelperTarget,
    /// The file names' prefix (`<pod>-<UTC time>`).
    pub label: String,
    pub spec: CaptureSpec,
    /// The helper variant it needs (None with `--helper local`).
    pub variant: Option<HelperVariant>,
    pub phase: Phase,
    pub requested_at: Timestamp,
    pub segments: Vec<Segment>,
    pub gaps: Vec<Gap>,
    pub files: Vec<FileState>,
    pub ring: Ring,
    pub flows: Flows,
    pub rate: Rate,
    pub end: Option<End>,
    pub record: RecordStatus,
    /// The last thing said about it (a refusal, a hint), for the pane.
    pub note: Option<String>,
}

impl Capture {
    /// Not over yet.
    pub fn active(&self) -> bool {
        self.phase != Phase::Ended
    }

    /// Over, every file settled: ready for its record.
    pub fn finished(&self) -> bool {
        !self.active() && self.files.iter().all(FileState::settled)
    }

    /// A request to the helper under `wire_id` (the first, or one sent again after a
    /// reconnect): its segment begins, the capture waits for the answer.
    pub fn request(&mut self, wire_id: u64, at: Timestamp) {
        self.segments.push(Segment {
            wire_id,
            requested_at: at,
            started: None,
            stats: CaptureStats::default(),
            ended: None,
            last_seq: 0,
            last_file: false,
        });
        self.phase = Phase::Requested;
    }

    /// Over, for `reason`: nothing flows any more (its files may still be on their way).
    pub fn mark_ended(&mut self, at: Timestamp, reason: EndReason, message: Option<String>) {
        self.phase = Phase::Ended;
        self.rate.reset();
        self.end = Some(End {
            at,
            reason,
            message,
        });
    }

    /// The request now in flight with the helper (not ended).
    pub fn live(&mut self) -> Option<&mut Segment> {
        self.segments.last_mut().filter(|s| s.ended.is_none())
    }

    pub fn segment(&mut self, wire_id: u64) -> Option<&mut Segment> {
        self.segments.iter_mut().find(|s| s.wire_id == wire_id)
    }

    /// The counters over every request.
    pub fn stats(&self) -> CaptureStats {
        self.segments
            .iter()
            .fold(CaptureStats::default(), |a, s| add(a, s.stats))
    }

    /// The next file to fetch (one at a time): the last one first (a stop's), then in order.
    pub fn next_fetch(&self) -> Option<usize> {
        if self
            .files
            .iter()
            .any(|f| matches!(f.status, FileStatus::Fetching { .. }))
        {
            return None;
        }
        let waiting = || {
            self.files
                .iter()
                .enumerate()
                .filter(|(_, f)| f.status == FileStatus::OnNode)
        };
        waiting()
            .find(|(_, f)| f.last)
            .or_else(|| waiting().min_by_key(|(_, f)| (f.wire_id, f.seq)))
            .map(|(i, _)| i)
    }

    pub fn file(&mut self, wire_id: u64, seq: u32) -> Option<&mut FileState> {
        self.files
            .iter_mut()
            .find(|f| f.wire_id == wire_id && f.seq == seq)
    }

    /// Where the file a cut request had open should be (the pinned file naming), when it
    /// started and its last file was not announced.
    pub fn open_file_of(&self, seg: &Segment) -> Option<(u32, String)> {
        let started = seg.started.as_ref().filter(|_| !seg.last_file)?;
        let ext = if started.format == "pcapng" {
            "pcapng"
        } else {
            "pcap"
        };
        let seq = seg.last_seq + 1;
        let dir = started.dir.trim_end_matches('/');
        Some((
            seq,
            format!("{dir}/{}-{}-{seq:04}.{ext}", self.label, seg.wire_id),
        ))
    }

    /// `<label>-<id>.capture.json`, the id being its first request's.
    pub fn record_name(&self) -> String {
        match self.segments.first() {
            Some(s) => format!("{}-{}.capture.json", self.label, s.wire_id),
            None => format!("{}.capture.json", self.label),
        }
    }

    /// Files in the case / all announced.
    pub fn files_in_case(&self) -> usize {
        self.files.iter().filter(|f| f.in_case()).count()
    }
}

fn add(a: CaptureStats, b: CaptureStats) -> CaptureStats {
    CaptureStats {
        packets: a.packets + b.packets,
        bytes: a.bytes + b.bytes,
        wire_bytes: a.wire_bytes + b.wire_bytes,
        kernel_drops: a.kernel_drops + b.kernel_drops,
        summarized: a.summarized + b.summarized,
        sampled_out: a.sampled_out + b.sampled_out,
        files: a.files + b.files,
        files_lost: a.files_lost + b.files_lost,
    }
}

/// The file names' prefix for a capture of `pod` at `at`: `<pod name>-<UTC compact>`, in the
/// characters the helper keeps (`[A-Za-z0-9._-]`).
pub fn label(pod: &PodKey, at: Timestamp) -> String {
    let name: String = pod
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("{name}-{}", at.strftime("%Y%m%dT%H%M%SZ"))
}
