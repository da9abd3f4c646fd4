//! `snapshot.json`, the last member of a live snapshot (layout version 1): what was read, what
//! was not and why, and the time window. Keys and their order are the pinned layout (issue 8
//! spec); values the helper cannot know are `null`, never invented.

use serde::Serialize;

pub const KIND: &str = "ktui-live-snapshot";
pub const VERSION: u32 = 1;
pub const NOTE: &str = "processes were not frozen; the read is not atomic: each file and memory \
    region was read at a different moment between started_at and finished_at, while the \
    container kept running; not a CRIU image, cannot be restored";

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotDoc {
    pub kind: &'static str,
    pub version: u32,
    pub atomic: bool,
    pub note: &'static str,
    pub started_at: String,
    pub finished_at: String,
    pub helper: HelperInfo,
    pub container: ContainerInfo,
    pub processes: Vec<ProcessInfo>,
    pub memory: Vec<MemoryEntry>,
    pub fds: Vec<FdEntry>,
    pub rootfs: RootfsInfo,
    pub deleted_files: Vec<String>,
    pub mounts: Vec<MountEntry>,
    pub unreadable: Vec<Unreadable>,
    pub kmsg: KmsgInfo,
}

#[derive(Debug, Clone, Serialize)]
pub struct HelperInfo {
    pub version: &'static str,
    pub node: Option<String>,
    pub kernel: String,
}

/// What the console passed in (`--pod`, `--image`, ...) and what the cgroup path says (id,
/// pod UID); `null` when neither knows.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerInfo {
    pub name: Option<String>,
    pub id: Option<String>,
    pub image: Option<String>,
    pub image_ref: Option<String>,
    pub runtime: Option<String>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    pub pod_uid: Option<String>,
    /// The container's cgroup, relative to the cgroup root (`/kubepods.slice/...`).
    pub cgroup: Option<String>,
    pub created: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Host PID (the helper runs in the host's PID namespace).
    pub pid: u32,
    pub ppid: Option<u32>,
    pub comm: Option<String>,
    /// Real UID.
    pub uid: Option<u32>,
}

/// One memory member, or a mapping (part) that could not be read (`member` null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryEntry {
    pub pid: u32,
    /// Lowercase hex without `0x`, as in `maps`.
    pub start: String,
    pub end: String,
    pub prot: String,
    /// The mapped file or pseudo-name (`[heap]`, `[stack]`), `""` for anonymous memory.
    pub file: String,
    pub member: Option<String>,
    /// Bytes in the member (less than end - start when the read stopped early).
    pub bytes: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FdEntry {
    pub pid: u32,
    pub fd: u32,
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RootfsInfo {
    /// `overlay-upper` or `proc-root-ctime`.
    pub source: &'static str,
    /// Files (and directories, symlinks) in `rootfs-diff.tar`.
    pub files: u64,
    /// Content bytes of the regular files in it.
    pub bytes: u64,
    pub cap_bytes: u64,
    pub left_out: Vec<LeftOut>,
    pub unreadable: Vec<Unreadable>,
    /// Where the changes were read: the upper directory (host path) or `/proc/<pid>/root`.
    pub path: Option<String>,
    /// `proc-root-ctime`: files changed after this moment (RFC 3339) were taken.
    pub since: Option<String>,
    /// Why the overlay upper directory was not used (for `proc-root-ctime`).
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    pub path: String,
    pub bytes: u64,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unreadable {
    pub path: String,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MountEntry {
    pub destination: String,
    pub source: String,
    #[serde(rename = "type")]
    pub type_: String,
    /// The mounted directory inside its filesystem (`/` unless a bind mount of a subdirectory).
    pub root: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct KmsgInfo {
    pub lines: u64,
    pub error: Option<String>,
    /// `/dev/kmsg`, or `syslog(2)` where the device could not be opened; null: neither.
    pub source: Option<&'static str>,
    /// Why `/dev/kmsg` was not used.
    pub note: Option<String>,
}

impl Unreadable {
    pub fn new(path: impl Into<String>, error: &std::io::Error) -> Self {
        Self {
            path: path.into(),
            error: error.to_string(),
        }
    }
}

/// `maps`-style hex.
pub fn hex(v: u64) -> String {
    format!("{v:x}")
}
