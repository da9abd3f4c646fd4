//! Which processes a snapshot reads: the container's cgroup (found by its id, or given), or one
//! process and its descendants.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::SnapshotError;
use super::doc::ProcessInfo;
use crate::k8s::cgroup;

/// Deepest cgroup level searched for a container id.
const MAX_DEPTH: usize = 12;
/// Most cgroup directories looked at (a bound on a pathological tree).
const MAX_DIRS: usize = 200_000;

/// How to find the container's processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The cgroup directory whose name carries this container id (or its first 12+ digits).
    ContainerId(String),
    /// A cgroup directory: absolute, or relative to the cgroup root.
    Cgroup(PathBuf),
    /// This process and its descendants.
    Pid(u32),
}

/// The processes found, in PID order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub pids: Vec<u32>,
    /// The cgroup directories they were read from.
    pub cgroup_dirs: Vec<PathBuf>,
}

/// Whether `id` can name a container: 12 to 128 hexadecimal digits.
pub fn valid_container_id(id: &str) -> bool {
    (12..=128).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_hexdigit())
}

pub fn find(target: &Target, cgroup_root: &Path, proc_root: &Path) -> Result<Found, SnapshotError> {
    match target {
        Target::ContainerId(id) => {
            let id = id.to_ascii_lowercase();
            if !valid_container_id(&id) {
                return Err(SnapshotError::BadContainerId(id));
            }
            let dirs = container_cgroups(cgroup_root, &id);
            if dirs.is_empty() {
                return Err(SnapshotError::ContainerNotFound {
                    id,
                    root: cgroup_root.to_path_buf(),
                });
            }
            from_cgroups(dirs)
        }
        Target::Cgroup(path) => {
            let dir = if path.is_absolute() && path.is_dir() {
                path.clone()
            } else {
                cgroup_root.join(path.strip_prefix("/").unwrap_or(path))
            };
            if !dir.is_dir() {
                return Err(SnapshotError::CgroupMissing(dir));
            }
            from_cgroups(vec![dir])
        }
        Target::Pid(pid) => {
            if !proc_root.join(pid.to_string()).is_dir() {
                return Err(SnapshotError::PidMissing(*pid));
            }
            Ok(Found {
                pids: descendants(proc_root, *pid),
                cgroup_dirs: Vec::new(),
            })
        }
    }
}

fn from_cgroups(dirs: Vec<PathBuf>) -> Result<Found, SnapshotError> {
    let mut pids = BTreeSet::new();
    let mut first_error = None;
    for dir in &dirs {
        for d in subtree(dir) {
            match std::fs::read_to_string(d.join("cgroup.procs")) {
                Ok(text) => pids.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok())),
                Err(e) => {
                    first_error.get_or_insert((d.clone(), e));
                }
            }
        }
    }
    if pids.is_empty() {
        return Err(match first_error {
            Some((path, e)) if dirs.len() == 1 => SnapshotError::CgroupUnreadable {
                path: path.join("cgroup.procs"),
                error: e,
            },
            _ => SnapshotError::NoProcesses(dirs.first().cloned().unwrap_or_default()),
        });
    }
    Ok(Found {
        pids: pids.into_iter().collect(),
        cgroup_dirs: dirs,
    })
}

/// A cgroup directory and every directory below it (child cgroups), bounded.
fn subtree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut queue = VecDeque::from([(dir.to_path_buf(), 0usize)]);
    while let Some((d, depth)) = queue.pop_front() {
        if out.len() >= MAX_DIRS {
            break;
        }
        if depth < MAX_DEPTH
            && let Ok(rd) = std::fs::read_dir(&d)
        {
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    queue.push_back((e.path(), depth + 1));
                }
            }
        }
        out.push(d);
    }
    out
}

/// Every cgroup directory named for container `id` (a prefix of 12+ hex digits is enough):
/// `cri-containerd-<id>.scope`, `crio-<id>.scope`, `docker-<id>.scope` (systemd driver), or
/// `<id>` / `crio-<id>` (cgroupfs driver), on cgroup v2, each v1 controller and the hybrid
/// `unified` tree. CRI-O's `crio-conmon-<id>` is the monitor, not the container.
pub fn container_cgroups(root: &Path, id: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut seen = 0usize;
    let mut queue = VecDeque::from([(root.to_path_buf(), 0usize)]);
    while let Some((dir, depth)) = queue.pop_front() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut children: Vec<_> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .collect();
        children.sort_by_key(|e| e.file_name());
        for e in children {
            seen += 1;
            if seen > MAX_DIRS {
                return found;
            }
            let name = e.file_name();
            let name = name.to_string_lossy();
            if cgroup::container_id_of(&name).is_some_and(|cid| cid.starts_with(id)) {
                // Its own child cgroups are read with it; no need to search below.
                found.push(e.path());
            } else if depth < MAX_DEPTH {
                queue.push_back((e.path(), depth + 1));
            }
        }
    }
    found
}

/// The cgroup to name for the container, as `/proc/<pid>/cgroup` names it (`/kubepods.slice/...`):
/// of the directories found, the cgroup v2 one (at the root, or under the hybrid `unified`),
/// else the v1 `memory` controller's, else the first; without the controller directory.
pub fn preferred_cgroup(dirs: &[PathBuf], root: &Path) -> Option<String> {
    /// The directories cgroup v1 hierarchies (and the hybrid v2 one) are mounted on.
    #[rustfmt::skip]
    const HIERARCHIES: [&str; 18] = [
        "unified", "memory", "systemd", "cpu", "cpuacct", "cpu,cpuacct", "cpuset", "devices",
        "freezer", "net_cls", "net_prio", "net_cls,net_prio", "blkio", "perf_event", "hugetlb",
        "pids", "rdma", "misc",
    ];
    let split = |d: &PathBuf| {
        let rel = d.strip_prefix(root).unwrap_or(d).display().to_string();
        let rel = rel.trim_start_matches('/').to_string();
        match rel.split_once('/') {
            Some((first, rest)) if HIERARCHIES.contains(&first) => {
                (first.to_string(), rest.to_string())
            }
            _ => (String::new(), rel),
        }
    };
    let rank = |h: &str| match h {
        "" => 0,
        "unified" => 1,
        "memory" => 2,
        _ => 3,
    };
    dirs.iter()
        .map(split)
        .min_by_key(|(h, _)| rank(h))
        .map(|(_, path)| format!("/{path}"))
}

/// `pid` and every process below it, in PID order (from each process's `stat`).
pub fn descendants(proc_root: &Path, pid: u32) -> Vec<u32> {
    let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    if let Ok(rd) = std::fs::read_dir(proc_root) {
        for e in rd.flatten() {
            let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Some(stat) = read_stat(proc_root, p) {
                children.entry(stat.ppid).or_default().push(p);
            }
        }
    }
    let mut out = BTreeSet::from([pid]);
    let mut queue = VecDeque::from([pid]);
    while let Some(p) = queue.pop_front() {
        for c in children.get(&p).into_iter().flatten() {
            if out.insert(*c) {
                queue.push_back(*c);
            }
        }
    }
    out.into_iter().collect()
}

/// The fields of `/proc/<pid>/stat` used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub ppid: u32,
    /// Clock ticks after boot.
    pub start_ticks: u64,
}

pub fn parse_stat(text: &str) -> Option<Stat> {
    // The comm (field 2) is in parentheses and may hold anything, ')' included.
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        ppid: f.get(1)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

pub fn read_stat(proc_root: &Path, pid: u32) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(proc_root.join(format!("{pid}/stat"))).ok()?)
}

/// pid, ppid, comm and real uid from `status` (raw text as read).
pub fn process_info(pid: u32, status: Option<&str>) -> ProcessInfo {
    let field = |key: &str| {
        status?
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
    };
    ProcessInfo {
        pid,
        ppid: field("PPid:").and_then(|v| v.parse().ok()),
        comm: field("Name:"),
        uid: field("Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok()),
    }
}

/// When the process started (wall clock; a second early at worst: the boot time is whole
/// seconds).
pub fn start_time(proc_root: &Path, pid: u32) -> Option<SystemTime> {
    let stat = read_stat(proc_root, pid)?;
    let btime: u64 = std::fs::read_to_string(proc_root.join("stat"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|h| *h > 0)?;
    let after_boot = Duration::from_secs(stat.start_ticks / hz)
        + Duration::from_nanos((stat.start_ticks % hz) * 1_000_000_000 / hz);
    Some(UNIX_EPOCH + Duration::from_secs(btime) + after_boot)
}

/// The cgroup a `/proc/<pid>/cgroup` file names for the container: a pod's cgroup on any
/// line, else the v2 (`0::`) path, else the first line's.
pub fn cgroup_path(proc_cgroup: &str) -> Option<String> {
    let paths: Vec<(&str, &str)> = proc_cgroup
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?;
            it.next()?;
            Some((id, it.next()?))
        })
        .collect();
    paths
        .iter()
        .find(|(_, p)| cgroup::parse_path(p).is_some())
        .or_else(|| paths.iter().find(|(id, _)| *id == "0"))
        .or(paths.first())
        .map(|(_, p)| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "8a3f7c2e-1b4d-4e6f-9a0b-c1d2e3f4a5b6";
    const CID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    fn mkdir_procs(root: &Path, rel: &str, procs: &str) -> PathBuf {
        let d = root.join(rel);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cgroup.procs"), procs).unwrap();
        d
    }

    #[test]
    fn finds_v2_v1_and_cgroupfs_layouts_but_not_conmon() {
        let t = tempfile::tempdir().unwrap();
        let uid_ = UID.replace('-', "_");
        let v2 = format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/cri-containerd-{CID}.scope"
        );
        let a = mkdir_procs(t.path(), &v2, "101\n102\n");
        mkdir_procs(&a, "init", "103\n");
        let conmon = format!(
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{uid_}.slice/crio-conmon-{CID}.scope"
        );
        mkdir_procs(t.path(), &conmon, "999\n");
        let v1 = format!("memory/kubepods/burstable/pod{UID}/{CID}");
        let b = mkdir_procs(t.path(), &v1, "101\n102\n");
        mkdir_procs(t.path(), "memory/kubepods/burstable/other", "5\n");

        let dirs = container_cgroups(t.path(), &CID[..12]);
        assert_eq!(dirs, vec![a.clone(), b.clone()]);
        assert_eq!(preferred_cgroup(&dirs, t.path()), Some(format!("/{v2}")));
        let hybrid = [b.clone(), t.path().join(format!("unified/{v2}"))];
        assert_eq!(preferred_cgroup(&hybrid, t.path()), Some(format!("/{v2}")));
        assert_eq!(
            preferred_cgroup(&[b], t.path()),
            Some(format!("/kubepods/burstable/pod{UID}/{CID}"))
        );
        let found = find(
            &Target::ContainerId(CID[..16].to_uppercase()),
            t.path(),
            Path::new("/proc"),
        )
        .unwrap();
        assert_eq!(found.pids, vec![101, 102, 103]);

        let by_path = find(
            &Target::Cgroup(PathBuf::from(format!("/{v2}"))),
            t.path(),
            Path::new("/proc"),
        )
        .unwrap();
        assert_eq!(by_path.pids, vec![101, 102, 103]);
        assert_eq!(by_path.cgroup_dirs, vec![a]);
    }

    #[test]
    fn failures_say_what_is_missing() {
        let t = tempfile::tempdir().unwrap();
        let e = find(
            &Target::ContainerId(CID.into()),
            t.path(),
            Path::new("/proc"),
        )
        .unwrap_err();
        assert!(matches!(e, SnapshotError::ContainerNotFound { .. }), "{e}");
        assert!(
            e.to_string().contains(CID) && e.to_string().contains("--pid"),
            "{e}"
        );
        let e = find(
            &Target::ContainerId("xyz".into()),
            t.path(),
            Path::new("/proc"),
        )
        .unwrap_err();
        assert!(matches!(e, SnapshotError::BadContainerId(_)), "{e}");
        mkdir_procs(t.path(), "empty", "");
        let e = find(
            &Target::Cgroup("empty".into()),
            t.path(),
            Path::new("/proc"),
        )
        .unwrap_err();
        assert!(matches!(e, SnapshotError::NoProcesses(_)), "{e}");
        let e = find(&Target::Pid(u32::MAX), t.path(), Path::new("/proc")).unwrap_err();
        assert!(matches!(e, SnapshotError::PidMissing(_)), "{e}");
    }

    #[test]
    fn stat_status_and_cgroup_files() {
        let s =
            parse_stat("42 (a) b) c) S 7 42 42 0 -1 4194560 1 0 0 0 3 4 0 0 20 0 1 0 12345 1 2")
                .unwrap();
        assert_eq!(
            s,
            Stat {
                ppid: 7,
                start_ticks: 12345
            }
        );
        assert_eq!(parse_stat("garbage"), None);
        let p = process_info(
            42,
            Some("Name:\tsh\nUmask:\t0022\nPPid:\t7\nUid:\t1000\t1000\t1000\t1000\n"),
        );
        assert_eq!(
            p,
            ProcessInfo {
                pid: 42,
                ppid: Some(7),
                comm: Some("sh".into()),
                uid: Some(1000)
            }
        );
        assert_eq!(process_info(1, None).comm, None);
        let v1 = format!("12:pids:/kubepods/pod{UID}/{CID}\n1:name=systemd:/x\n0::/\n");
        assert_eq!(cgroup_path(&v1), Some(format!("/kubepods/pod{UID}/{CID}")));
        assert_eq!(
            cgroup_path("1:cpu:/\n0::/user.slice\n").as_deref(),
            Some("/user.slice")
        );
    }

    #[test]
    fn descendants_of_this_process() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let me = std::process::id();
        let d = descendants(Path::new("/proc"), me);
        assert!(d.windows(2).all(|w| w[0] < w[1]), "{d:?}");
        assert!(d.contains(&me) && d.contains(&child.id()), "{d:?}");
        assert!(start_time(Path::new("/proc"), child.id()).unwrap() <= SystemTime::now());
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
