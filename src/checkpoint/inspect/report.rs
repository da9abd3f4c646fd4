//! What `ktui checkpoint inspect` finds in an archive: the JSON object of `--json` (keys pinned
//! by issue 8) and the data the text view and the console draw.

use serde::Serialize;

/// The two archive layouts ktui reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A CRIU checkpoint as the kubelet / CRI-O / Podman / containerd write it.
    Criu,
    /// A ktui live snapshot (not a CRIU image; cannot be restored).
    Snapshot,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The archive as given on the command line.
    pub archive: String,
    pub kind: Kind,
    pub container: Container,
    /// The checkpointed processes' architecture (OCI name, from core-*.img), CRIU only.
    pub arch: Option<String>,
    pub sizes: Sizes,
    pub processes: Vec<Process>,
    pub memory: Vec<Mapping>,
    pub fds: Vec<Fd>,
    pub sockets: Vec<Socket>,
    /// Paths in rootfs-diff.tar as `tar -tf` lists them (at most [`super::MAX_LISTED`]).
    pub rootfs_diff: Vec<String>,
    /// How many members rootfs-diff.tar has (more than listed when the list was capped).
    pub rootfs_diff_total: u64,
    pub deleted_files: Vec<String>,
    pub mounts: Vec<Mount>,
    /// With `--grep`: every occurrence (at most [`super::MAX_LISTED`], see `grep.total`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matches: Option<Vec<Match>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grep: Option<GrepSummary>,
    /// CRIU's dump statistics (stats-dump), when present.
    pub criu_stats: Option<crate::checkpoint::inspect::criu::DumpStats>,
    /// A live snapshot's own record: its time window, that it is not atomic, the helper.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotInfo>,
    /// Kernel log lines a live snapshot kept (kmsg.txt).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kmsg: Option<Vec<String>>,
    /// Optional parts the archive does not have (reported, not an error).
    pub absent: Vec<String>,
    /// Things that look wrong but do not stop the inspection.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Container {
    /// The container's name in its pod (Kubernetes), else the engine's name for it.
    pub name: Option<String>,
    pub id: Option<String>,
    pub image: Option<String>,
    pub image_ref: Option<String>,
    /// The OCI runtime (runc, crun) — for a live snapshot, what the helper saw.
    pub runtime: Option<String>,
    /// CRI-O, Podman, containerd.
    pub engine: Option<String>,
    pub created: Option<String>,
    pub checkpointed: Option<String>,
    pub pod: Option<String>,
    pub namespace: Option<String>,
    pub ip: Option<String>,
    /// The engine's own name for the container (CRI-O: `k8s_<container>_<pod>_...`).
    pub engine_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Sizes {
    pub archive: u64,
    /// CRIU: the checkpoint/ directory; snapshot: proc/ and memory/.
    pub checkpoint: u64,
    pub rootfs_diff: Option<u64>,
    /// CRIU pages-*.img; snapshot memory/*.bin.
    pub pages: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub comm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pgid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

/// One mapping; addresses in lowercase hex as /proc/PID/maps prints them.
#[derive(Debug, Clone, Serialize)]
pub struct Mapping {
    pub pid: u32,
    pub start: String,
    pub end: String,
    /// `rw-p` style: read, write, execute, private/shared.
    pub prot: String,
    /// The mapped file, `[heap]`/`[stack]`/`[vdso]`..., or empty for anonymous memory.
    pub file: String,
    /// Bytes of this mapping the archive holds (CRIU pages, snapshot region bytes).
    pub dumped: Option<u64>,
    /// A live snapshot's read error for this region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fd {
    pub pid: u32,
    pub fd: u32,
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Socket {
    pub pid: u32,
    pub fd: u32,
    /// `tcp`, `udp6`, `unix`...
    pub proto: String,
    pub local: String,
    pub remote: Option<String>,
    pub state: Option<String>,
    pub inode: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mount {
    pub destination: String,
    pub source: String,
    #[serde(rename = "type")]
    pub fs_type: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Match {
    /// The member path in the archive (`checkpoint/pages-1.img`, `memory/42/...bin`).
    pub file: String,
    /// Byte offset in that member, as `grep -abo` on the extracted file prints it.
    pub offset: u64,
    /// The process the page belongs to (None: shared memory, or no pagemap names the image).
    pub pid: Option<u32>,
    /// The virtual address in that process, when the pagemap (or region) places it.
    pub address: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GrepSummary {
    pub text: String,
    /// Every occurrence found (the `matches` list stops at [`super::MAX_LISTED`]).
    pub total: u64,
    pub images: u64,
    pub bytes_scanned: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotInfo {
    pub version: u64,
    pub atomic: bool,
    pub note: Option<String>,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub helper: serde_json::Value,
    pub unreadable: serde_json::Value,
    pub rootfs: serde_json::Value,
}

/// 1.5 KiB, 3.0 MiB: `checkpointctl show`'s sizes.
pub fn human_bytes(b: u64) -> String {
    const UNIT: u64 = 1024;
    if b < UNIT {
        return format!("{b} B");
    }
    let (mut div, mut exp) = (UNIT, 0usize);
    let mut n = b / UNIT;
    while n >= UNIT {
        div *= UNIT;
        exp += 1;
        n /= UNIT;
    }
    let unit = ['K', 'M', 'G', 'T', 'P', 'E']
        .get(exp)
        .copied()
        .unwrap_or('E');
    format!("{:.1} {unit}iB", b as f64 / div as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_checkpointctl() {
        use super::human_bytes as h;
        assert_eq!(h(0), "0 B");
        assert_eq!(h(1023), "1023 B");
        assert_eq!(h(20480), "20.0 KiB");
        assert_eq!(h(450_560), "440.0 KiB");
        assert_eq!(h(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
        assert_eq!(h(u64::MAX), "16.0 EiB");
    }
}
