//! Kubernetes identity of a socket's owner, in user space: cgroup id (or pid, or netns inode)
//! → pod UID, namespace, pod, container, container id. Unresolvable → None, never a guess.
//!
//! cgroup v2 ids are the inode numbers of cgroup directories: the resolver indexes the
//! kubepods subtree by inode. Cgroup ids change on every restart of a crash-looping
//! container, so a failed lookup is remembered for at most [`Roots::negative_ttl`] (2 s).

pub mod cgroup;
pub mod pods;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ktui_wire::K8sRef;

/// Where the node's files are (inside the helper pod they are host mounts).
#[derive(Debug, Clone)]
pub struct Roots {
    /// cgroup filesystem root (`/sys/fs/cgroup`; v1: the directory holding the controllers).
    pub cgroup: PathBuf,
    /// `/var/log/pods`
    pub pod_logs: PathBuf,
    /// `/var/log/containers`
    pub container_logs: PathBuf,
    /// `/proc` (for `/proc/<pid>/cgroup` and `/proc/<pid>/ns/net`)
    pub proc: PathBuf,
    /// How long a failed lookup is remembered.
    pub negative_ttl: Duration,
    /// How long a successful lookup is trusted before it is checked again.
    pub positive_ttl: Duration,
    /// Index only directories on cgroup2 filesystems: on hybrid hosts the v1 hierarchies'
    /// inode numbers could collide with v2 ids. Off only for tests on plain directories.
    pub require_cgroup2: bool,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            cgroup: PathBuf::from("/sys/fs/cgroup"),
            pod_logs: PathBuf::from("/var/log/pods"),
            container_logs: PathBuf::from("/var/log/containers"),
            proc: PathBuf::from("/proc"),
            negative_ttl: Duration::from_secs(2),
            positive_ttl: Duration::from_secs(30),
            require_cgroup2: true,
        }
    }
}

impl Roots {
    /// Defaults, overridden by `KTUI_CGROUP_ROOT`, `KTUI_POD_LOG_ROOT`,
    /// `KTUI_CONTAINER_LOG_ROOT`, `KTUI_PROC_ROOT`.
    pub fn from_env() -> Self {
        let mut r = Self::default();
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(p) = var("KTUI_CGROUP_ROOT") {
            r.cgroup = p;
        }
        if let Some(p) = var("KTUI_POD_LOG_ROOT") {
            r.pod_logs = p;
        }
        if let Some(p) = var("KTUI_CONTAINER_LOG_ROOT") {
            r.container_logs = p;
        }
        if let Some(p) = var("KTUI_PROC_ROOT") {
            r.proc = p;
        }
        r
    }
}

/// Everything known about one container's (or pod's) identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub pod_uid: String,
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub container_id: Option<String>,
}

impl Identity {
    pub fn to_wire(&self) -> K8sRef {
        K8sRef {
            namespace: self.namespace.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
            pod_uid: Some(self.pod_uid.clone()),
            container_id: self.container_id.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct Cached {
    value: Option<Identity>,
    at: Instant,
}

/// Deepest cgroup directory level walked when indexing.
const MAX_DEPTH: usize = 10;
/// Most cgroup directories indexed (a bound on a pathological tree).
const MAX_DIRS: usize = 200_000;

pub struct Resolver {
    roots: Roots,
    by_cgroup: HashMap<u64, Cached>,
    by_pid: HashMap<u32, Cached>,
    by_netns: HashMap<u64, Cached>,
    /// cgroup inode → path, from the last index walk.
    index: HashMap<u64, PathBuf>,
    /// netns inode → pod (pod-level identity), from the last index walk.
    netns_index: HashMap<u64, Identity>,
    last_walk: Option<Instant>,
    host_netns: Option<u64>,
}

impl Resolver {
    pub fn new(roots: Roots) -> Self {
        // PID 1's namespace, else our own: the helper runs with hostNetwork (and `--helper
        // local` on the node itself), and reading PID 1's link needs ptrace access that a
        // sandboxed root may lack.
        let host_netns = std::fs::metadata(roots.proc.join("1/ns/net"))
            .or_else(|_| std::fs::metadata(roots.proc.join("self/ns/net")))
            .ok()
            .map(|m| m.ino());
        Self {
            roots,
            by_cgroup: HashMap::new(),
            by_pid: HashMap::new(),
            by_netns: HashMap::new(),
            index: HashMap::new(),
            netns_index: HashMap::new(),
            last_walk: None,
            host_netns,
        }
    }

    pub fn roots(&self) -> &Roots {
        &self.roots
    }

    fn fresh(&self, c: &Cached, now: Instant) -> bool {
        let ttl = if c.value.is_some() {
            self.roots.positive_ttl
        } else {
            self.roots.negative_ttl
        };
        now.saturating_duration_since(c.at) < ttl
    }

    /// The identity of the owner: by cgroup id, else by pid's /proc cgroup file, else (pod
    /// level only) by network namespace.
    pub fn resolve(
        &mut self,
        cgroup_id: Option<u64>,
        pid: Option<u32>,
        netns: Option<u64>,
        now: Instant,
    ) -> Option<Identity> {
        if let Some(id) = cgroup_id.filter(|id| *id != 0)
            && let Some(found) = self.by_cgroup_id(id, now)
        {
            return Some(found);
        }
        if let Some(pid) = pid.filter(|p| *p != 0)
            && let Some(found) = self.by_pid(pid, now)
        {
            return Some(found);
        }
        netns.and_then(|ns| self.by_netns(ns, now))
    }

    /// cgroup v2 id (= inode of the cgroup directory) → identity.
    pub fn by_cgroup_id(&mut self, id: u64, now: Instant) -> Option<Identity> {
        if let Some(c) = self.by_cgroup.get(&id)
            && self.fresh(c, now)
        {
            return c.value.clone();
        }
        if !self.index.contains_key(&id) {
            self.walk(now);
        }
        let value = self
            .index
            .get(&id)
            .and_then(|p| p.to_str())
            .and_then(cgroup::parse_path)
            .map(|cp| self.identity(&cp.pod_uid, cp.container_id));
        self.by_cgroup.insert(
            id,
            Cached {
                value: value.clone(),
                at: now,
            },
        );
        value
    }

    /// pid → identity through `/proc/<pid>/cgroup` (works on cgroup v1 too).
    pub fn by_pid(&mut self, pid: u32, now: Instant) -> Option<Identity> {
        if let Some(c) = self.by_pid.get(&pid)
            && now.saturating_duration_since(c.at) < self.roots.negative_ttl
        {
            // PIDs are reused: trust either answer only briefly.
            return c.value.clone();
        }
        let value = std::fs::read_to_string(self.roots.proc.join(format!("{pid}/cgroup")))
            .ok()
            .and_then(|s| cgroup::parse_proc_cgroup(&s))
            .map(|cp| self.identity(&cp.pod_uid, cp.container_id));
        self.by_pid.insert(
            pid,
            Cached {
                value: value.clone(),
                at: now,
            },
        );
        value
    }

    /// netns inode → pod-level identity (container null: the netns is the pod's). The
    /// host's namespace (hostNetwork pods) is never attributed to a pod.
    /// Without knowing the host's namespace (/proc/1/ns/net unreadable), nothing is
    /// attributed by namespace at all.
    pub fn by_netns(&mut self, netns: u64, now: Instant) -> Option<Identity> {
        if self.host_netns.is_none_or(|host| host == netns) {
            return None;
        }
        if let Some(c) = self.by_netns.get(&netns)
            && self.fresh(c, now)
        {
            return c.value.clone();
        }
        if !self.netns_index.contains_key(&netns) {
            self.walk(now);
        }
        let value = self.netns_index.get(&netns).cloned();
        self.by_netns.insert(
            netns,
            Cached {
                value: value.clone(),
                at: now,
            },
        );
        value
    }

    fn identity(&self, pod_uid: &str, container_id: Option<String>) -> Identity {
        let names = pods::pod_names(&self.roots.pod_logs, pod_uid);
        let container = names.as_ref().and_then(|n| {
            pods::container_name(&self.roots.container_logs, n, container_id.as_deref())
        });
        Identity {
            pod_uid: pod_uid.to_string(),
            namespace: names.as_ref().map(|n| n.namespace.clone()),
            pod: names.as_ref().map(|n| n.pod.clone()),
            container,
            container_id,
        }
    }

    /// The network namespaces of these pods (by UID) as of a fresh index walk: what the
    /// kernel filter narrows a pod subscription to. Pods on the host's network namespace
    /// (hostNetwork) and pods not on this node resolve to nothing.
    pub fn netns_of_pods(&mut self, uids: &HashSet<String>, now: Instant) -> BTreeSet<u64> {
        self.walk(now);
        self.netns_index
            .iter()
            .filter(|(_, id)| uids.contains(&id.pod_uid))
            .map(|(ns, _)| *ns)
            .collect()
    }

    /// A process of this pod (by UID) as of a fresh index walk, and its network namespace
    /// inode: the first process of the first of its container cgroups that has one. None
    /// when the pod has no running process on this node.
    pub fn process_of_pod(&mut self, uid: &str, now: Instant) -> Option<(u32, u64)> {
        self.walk(now);
        let mut dirs: Vec<&PathBuf> = self
            .index
            .values()
            .filter(|p| {
                p.strip_prefix(&self.roots.cgroup)
                    .ok()
                    .and_then(|rel| rel.to_str())
                    .and_then(cgroup::parse_path)
                    .is_some_and(|cp| cp.pod_uid == uid && cp.container_id.is_some())
            })
            .collect();
        dirs.sort();
        dirs.into_iter().find_map(|dir| self.first_process(dir))
    }

    /// The host's network namespace inode, when known.
    pub fn host_netns(&self) -> Option<u64> {
        self.host_netns
    }

    /// Re-index the cgroup tree (at most once per negative TTL).
    fn walk(&mut self, now: Instant) {
        if let Some(last) = self.last_walk
            && now.saturating_duration_since(last) < self.roots.negative_ttl
        {
            return;
        }
        self.last_walk = Some(now);
        let mut index = HashMap::new();
        let mut netns_index = HashMap::new();
        let mut cgroup2_devs: HashMap<u64, bool> = HashMap::new();
        let mut stack: Vec<(PathBuf, usize)> = vec![(self.roots.cgroup.clone(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            if index.len() >= MAX_DIRS {
                break;
            }
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in rd.flatten() {
                let Ok(ft) = entry.file_type() else { continue };
                if !ft.is_dir() {
                    continue;
                }
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                let rel = path.strip_prefix(&self.roots.cgroup).unwrap_or(&path);
                let rel_str = rel.to_string_lossy();
                // Outside kubepods only the top levels are worth walking (controllers on v1,
                // kubelet.slice on kind).
                let in_kube = rel_str.contains("kubepods");
                let is_v2 = !self.roots.require_cgroup2
                    || *cgroup2_devs
                        .entry(meta.dev())
                        .or_insert_with(|| is_cgroup2(&path));
                if in_kube && is_v2 {
                    index.insert(meta.ino(), path.clone());
                    if let Some(cp) = cgroup::parse_path(&rel_str)
                        && cp.container_id.is_some()
                        && let Some(ns) = self.netns_of_cgroup(&path)
                        && Some(ns) != self.host_netns
                    {
                        match netns_index.get(&ns) {
                            None => {
                                netns_index.insert(ns, Some(self.identity(&cp.pod_uid, None)));
                            }
                            // Two pods in one namespace: ambiguous, never guessed.
                            Some(Some(known)) if known.pod_uid != cp.pod_uid => {
                                netns_index.insert(ns, None);
                            }
                            Some(_) => {}
                        }
                    }
                }
                if depth < MAX_DEPTH && (in_kube || depth < 3) {
                    stack.push((path, depth + 1));
                }
            }
        }
        self.index = index;
        self.netns_index = netns_index
            .into_iter()
            .filter_map(|(ns, id)| id.map(|id| (ns, id)))
            .collect();
    }

    /// The network namespace of the first process in a cgroup.
    fn netns_of_cgroup(&self, dir: &Path) -> Option<u64> {
        self.first_process(dir).map(|(_, ns)| ns)
    }

    /// The first process in a cgroup and its network namespace inode.
    fn first_process(&self, dir: &Path) -> Option<(u32, u64)> {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).ok()?;
        let pid: u32 = procs.lines().next()?.trim().parse().ok()?;
        let ns = std::fs::metadata(self.roots.proc.join(pid.to_string()).join("ns/net")).ok()?;
        Some((pid, ns.ino()))
    }
}

/// Whether `path` is on a cgroup2 filesystem.
fn is_cgroup2(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt as _;
    let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: statfs fills the zeroed struct we own; the path is NUL-terminated.
    unsafe {
        let mut st: libc::statfs = std::mem::zeroed();
        libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type == libc::CGROUP2_SUPER_MAGIC
    }
}

#[cfg(test)]
mod tests;
