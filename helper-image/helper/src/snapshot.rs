//! `ktui-helper snapshot`: a live snapshot of a running container, streamed as a tar (live
//! snapshot layout version 1) to a sink — stdout, or the bulk framing around it. Nothing is
//! staged on the node's disk, and memory stays bounded: files are copied one at a time, memory
//! one region (at most [`memory::PART_BYTES`]) at a time, the changed files streamed into a
//! nested tar whose size is computed from their listing.
//!
//! Members, in this order:
//! 1. `proc/<pid>/{cmdline,environ,status,limits,cgroup,mountinfo,maps}`, `proc/<pid>/fds.json`
//!    (`[{"fd":3,"target":"socket:[1234]"}]`), `proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}`: raw
//!    copies for every process (a file that cannot be read is absent and listed in
//!    `snapshot.json` `unreadable`);
//! 2. `memory/<pid>/<start>-<end>.bin`: writable and anonymous mappings (see [`memory`] for
//!    large and partly readable ones);
//! 3. `rootfs-diff.tar`: the changed files (see [`rootfs`]);
//! 4. `kmsg.txt`: kernel log lines about the container (see [`kmsg`]);
//! 5. `snapshot.json` ([`doc::SnapshotDoc`]), last, with the time window and every list.
//!
//! The processes are not frozen (a frozen container fails its probes and is restarted): the
//! read is not atomic, and `snapshot.json` says so. It is not a CRIU image.

pub mod doc;
pub mod kmsg;
pub mod memory;
pub mod memread;
pub mod mountinfo;
pub mod procfs;
pub mod rootfs;
pub mod target;
pub mod tarout;

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::cli::SnapshotArgs;
use doc::{ContainerInfo, HelperInfo, ProcessInfo, SnapshotDoc, Unreadable};
pub use target::Target;
use tarout::TarOut;

/// Memory copied at most, by default (1 GiB).
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 1 << 30;
/// Changed-file content copied at most, by default (256 MiB).
pub const DEFAULT_MAX_ROOTFS_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("say which container: --container-id ID, --cgroup PATH or --pid PID")]
    NoTarget,
    #[error(
        "invalid container id {0:?}: expected 12 to 128 hexadecimal digits (the id in the pod's \
         status, without the containerd:// or cri-o:// prefix)"
    )]
    BadContainerId(String),
    #[error(
        "no cgroup under {} is named for container {id}: it is not running on this node (take \
         the snapshot with the helper on the container's node), or the runtime names its cgroups \
         in a way not known here (pass --cgroup PATH or --pid PID instead)",
        root.display()
    )]
    ContainerNotFound { id: String, root: PathBuf },
    #[error("cgroup directory {} does not exist (check the path under /sys/fs/cgroup)", .0.display())]
    CgroupMissing(PathBuf),
    #[error("cannot read {}: {error} (the helper needs the node's /sys/fs/cgroup mounted)", path.display())]
    CgroupUnreadable { path: PathBuf, error: io::Error },
    #[error(
        "cgroup {} has no processes: the container is not running (a stopped container has no \
         memory to read: collect its logs, or clone it)",
        .0.display()
    )]
    NoProcesses(PathBuf),
    #[error("process {0} does not exist (it may have exited)")]
    PidMissing(u32),
    #[error("invalid --created {0:?}: expected an RFC 3339 UTC time such as 2026-12-02T13:30:00Z")]
    BadCreated(String),
    #[error("writing the snapshot failed: {0} (the reader went away or the disk is full)")]
    Write(#[source] io::Error),
}

pub type Result<T, E = SnapshotError> = std::result::Result<T, E>;

/// What to snapshot and how much.
#[derive(Debug, Clone)]
pub struct SnapshotOptions {
    pub target: Target,
    /// Known to the console (`--pod`, `--image`, ...); `id`, `pod_uid` and `cgroup` are
    /// filled from the cgroup when not given.
    pub container: ContainerInfo,
    /// When the container started (`--created`).
    pub created: Option<SystemTime>,
    pub max_memory_bytes: u64,
    pub max_rootfs_bytes: u64,
    pub cgroup_root: PathBuf,
    pub proc_root: PathBuf,
    pub kmsg: PathBuf,
    /// Read memory through /proc/PID/mem from the start (a test hook).
    pub proc_mem: bool,
}

impl SnapshotOptions {
    /// Options from the command line, roots from the environment (`KTUI_CGROUP_ROOT`,
    /// `KTUI_PROC_ROOT`, `KTUI_KMSG`: the kernel log device, default /dev/kmsg).
    pub fn from_args(a: &SnapshotArgs) -> Result<Self> {
        let roots = crate::k8s::Roots::from_env();
        let target = match (&a.container_id, &a.cgroup, a.pid) {
            (Some(id), _, _) => Target::ContainerId(id.clone()),
            (None, Some(path), _) => Target::Cgroup(path.clone()),
            (None, None, Some(pid)) => Target::Pid(pid),
            (None, None, None) => return Err(SnapshotError::NoTarget),
        };
        let created = match &a.created {
            Some(text) => Some(
                humantime::parse_rfc3339(text)
                    .map_err(|_| SnapshotError::BadCreated(text.clone()))?,
            ),
            None => None,
        };
        Ok(Self {
            container: ContainerInfo {
                name: a.container.clone(),
                id: a.container_id.clone().map(|s| s.to_ascii_lowercase()),
                image: a.image.clone(),
                image_ref: a.image_ref.clone(),
                runtime: a.runtime.clone(),
                pod: a.pod.clone(),
                namespace: a.namespace.clone(),
                pod_uid: a.pod_uid.clone(),
                cgroup: None,
                created: a.created.clone(),
            },
            target,
            created,
            max_memory_bytes: a.max_memory_bytes,
            max_rootfs_bytes: a.max_rootfs_bytes,
            cgroup_root: roots.cgroup,
            proc_root: roots.proc,
            kmsg: std::env::var_os("KTUI_KMSG")
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from("/dev/kmsg"), PathBuf::from),
            proc_mem: a.debug_proc_mem,
        })
    }
}

/// What a finished snapshot holds (the CLI prints it on stderr as one JSON line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SnapshotSummary {
    /// Bytes of the tar written.
    pub bytes: u64,
    pub processes: usize,
    pub memory_members: usize,
    pub memory_bytes: u64,
    pub memory_unread: usize,
    pub rootfs_source: String,
    pub rootfs_files: u64,
    pub rootfs_bytes: u64,
    pub kmsg_lines: u64,
    pub unreadable: usize,
}

pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The process whose root and mounts stand for the container: one whose parent is outside the
/// set (the container's init), the lowest such PID.
fn main_pid(processes: &[ProcessInfo]) -> Option<u32> {
    let pids: HashSet<u32> = processes.iter().map(|p| p.pid).collect();
    processes
        .iter()
        .find(|p| p.ppid.is_none_or(|pp| !pids.contains(&pp)))
        .or(processes.first())
        .map(|p| p.pid)
}

/// Take the snapshot, writing the tar to `out`. Only finding no process and failing to
/// write are errors; whatever cannot be read is listed in `snapshot.json`.
pub fn write_snapshot(opts: &SnapshotOptions, out: &mut dyn Write) -> Result<SnapshotSummary> {
    let started = SystemTime::now();
    let found = target::find(&opts.target, &opts.cgroup_root, &opts.proc_root)?;
    let mtime = started
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut tar = TarOut::new(out, mtime);
    let w = SnapshotError::Write;

    let mut unreadable: Vec<Unreadable> = Vec::new();
    let mut processes = Vec::new();
    let mut fds = Vec::new();
    let mut kept = Vec::new();
    for &pid in &found.pids {
        let files = procfs::copy(&opts.proc_root, pid, &mut tar, &mut unreadable).map_err(w)?;
        if let Some(status) = &files.status {
            processes.push(target::process_info(pid, Some(status)));
        }
        fds.extend(files.fds.iter().cloned());
        kept.push((pid, files));
    }

    let mut copier = memory::MemoryCopier::new(opts.max_memory_bytes, opts.proc_mem);
    let mut regions = Vec::new();
    for (pid, files) in &kept {
        if let Some(maps) = &files.maps {
            regions.extend(
                copier
                    .copy(&opts.proc_root, *pid, maps, &mut tar)
                    .map_err(w)?,
            );
        }
    }

    let main = main_pid(&processes).or(found.pids.first().copied());
    let main_files = main.and_then(|m| kept.iter().find(|(p, _)| *p == m).map(|(_, f)| f));
    let since = opts
        .created
        .or_else(|| main.and_then(|m| target::start_time(&opts.proc_root, m)))
        .unwrap_or(UNIX_EPOCH);
    let source = match main {
        Some(m) => rootfs::source(
            &opts.proc_root,
            m,
            main_files.and_then(|f| f.mountinfo.as_deref()),
            since,
        ),
        None => Err((
            "/proc/PID/root".to_string(),
            io::Error::from(io::ErrorKind::NotFound),
        )),
    };
    let (rootfs, deleted_files) =
        rootfs::write(source, opts.max_rootfs_bytes, &mut tar).map_err(w)?;

    // The cgroup the processes were read from, else the one the main process names.
    let mut container = opts.container.clone();
    let proc_cgroup = main_files.and_then(|f| f.cgroup.as_deref());
    let found_dir = target::preferred_cgroup(&found.cgroup_dirs, &opts.cgroup_root);
    let parsed = match &found_dir {
        Some(dir) => crate::k8s::cgroup::parse_path(dir),
        None => proc_cgroup.and_then(crate::k8s::cgroup::parse_proc_cgroup),
    };
    container.cgroup = found_dir.or_else(|| proc_cgroup.and_then(target::cgroup_path));
    if let Some(cp) = parsed {
        if let Some(full) = cp.container_id
            && container
                .id
                .as_ref()
                .is_none_or(|given| full.starts_with(given.as_str()))
        {
            container.id = Some(full);
        }
        container.pod_uid.get_or_insert(cp.pod_uid);
    }

    let mut filter = kmsg::Filter {
        pids: found.pids.iter().copied().collect(),
        comms: processes.iter().filter_map(|p| p.comm.clone()).collect(),
        needles: Vec::new(),
    };
    filter.needles.extend(container.id.clone());
    if let Some(leaf) = container
        .cgroup
        .as_deref()
        .and_then(|c| c.rsplit('/').next())
        && leaf.len() >= 8
    {
        filter.needles.push(leaf.to_string());
    }
    let log = kmsg::read(&opts.kmsg, &mut filter);
    tar.file("kmsg.txt", &log.text).map_err(w)?;

    let summary_memory = (
        regions.iter().filter(|r| r.member.is_some()).count(),
        regions.iter().map(|r| r.bytes).sum::<u64>(),
        regions.iter().filter(|r| r.error.is_some()).count(),
    );
    let doc = SnapshotDoc {
        kind: doc::KIND,
        version: doc::VERSION,
        atomic: false,
        note: doc::NOTE,
        started_at: rfc3339(started),
        finished_at: rfc3339(SystemTime::now()),
        helper: HelperInfo {
            version: env!("CARGO_PKG_VERSION"),
            node: crate::serve::node_name(),
            kernel: crate::serve::kernel_release(),
        },
        container,
        mounts: main_files
            .and_then(|f| f.mountinfo.as_deref())
            .map(|m| mountinfo::entries(&mountinfo::parse(m)))
            .unwrap_or_default(),
        processes,
        memory: regions,
        fds,
        rootfs,
        deleted_files,
        unreadable,
        kmsg: doc::KmsgInfo {
            lines: log.lines,
            error: log.error,
            source: log.source,
            note: log.note,
        },
    };
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| w(io::Error::other(e)))?;
    tar.file("snapshot.json", &json).map_err(w)?;
    let bytes = tar.finish().map_err(w)?;
    Ok(SnapshotSummary {
        bytes,
        processes: doc.processes.len(),
        memory_members: summary_memory.0,
        memory_bytes: summary_memory.1,
        memory_unread: summary_memory.2,
        rootfs_source: doc.rootfs.source.to_string(),
        rootfs_files: doc.rootfs.files,
        rootfs_bytes: doc.rootfs.bytes,
        kmsg_lines: doc.kmsg.lines,
        unreadable: doc.unreadable.len() + doc.rootfs.unreadable.len(),
    })
}

fn stdout_is_terminal() -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(libc::STDOUT_FILENO) == 1 }
}

/// `ktui-helper snapshot`: the tar on stdout (or `--out FILE`), a summary line on stderr.
/// The snapshot on stdout in the bulk framing (`--bulk`): `bulk_end` with the SHA-256 of the
/// tar as sent, or `bulk_error` with what failed (the console keeps nothing of a failed one).
fn run_bulk(opts: &SnapshotOptions) -> ExitCode {
    let header = ktui_wire::bulk::BulkHeader {
        name: "snapshot.tar".to_string(),
        size: None,
        offset: 0,
    };
    let started = crate::fetch::bulk_stdout()
        .and_then(|out| ktui_wire::bulk::BulkWriter::start(out, &header));
    let mut writer = match started {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ktui-helper snapshot: cannot write to stdout: {e}");
            return ExitCode::from(1);
        }
    };
    let mut sink = io::BufWriter::with_capacity(ktui_wire::bulk::MAX_CHUNK, &mut writer);
    let result = write_snapshot(opts, &mut sink).and_then(|s| {
        sink.flush().map_err(SnapshotError::Write)?;
        Ok(s)
    });
    drop(sink);
    match result {
        Ok(summary) => match writer.finish() {
            Ok(_) => {
                eprintln!(
                    "{}",
                    serde_json::to_string(&summary).unwrap_or_else(|_| "{}".to_string())
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ktui-helper snapshot: cannot finish the stream: {e}");
                ExitCode::from(1)
            }
        },
        Err(e) => {
            eprintln!("ktui-helper snapshot: {e}");
            // The console reads the reason from the trailer; stderr keeps it for the log.
            let _ = writer.fail(&e.to_string());
            ExitCode::from(1)
        }
    }
}

pub fn run(args: &SnapshotArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ktui-helper snapshot: {e}");
        ExitCode::from(1)
    };
    let opts = match SnapshotOptions::from_args(args) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let result = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => {
                let mut sink = io::BufWriter::with_capacity(1 << 20, f);
                write_snapshot(&opts, &mut sink).and_then(|s| {
                    sink.flush().map_err(SnapshotError::Write)?;
                    Ok(s)
                })
            }
            Err(e) => return fail(&format!("cannot create {}: {e}", path.display())),
        },
        None if args.bulk => return run_bulk(&opts),
        None if stdout_is_terminal() => {
            return fail(&"stdout is a terminal: redirect it (> snapshot.tar) or pass --out FILE");
        }
        None => {
            let mut sink = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
            write_snapshot(&opts, &mut sink).and_then(|s| {
                sink.flush().map_err(SnapshotError::Write)?;
                Ok(s)
            })
        }
    };
    match result {
        Ok(summary) => {
            eprintln!(
                "{}",
                serde_json::to_string(&summary).unwrap_or_else(|_| "{}".to_string())
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}
