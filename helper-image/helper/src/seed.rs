//! Owners of listening sockets that existed before the session: read from /proc (like
//! `ss -ltnp`) and put into the `listen_owner` map, so connections accepted in softirq context
//! are attributed from the first one on.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use crate::events::layout::{KtuiOwner, KtuiProc, ListenKey};

/// TCP_LISTEN in /proc/net/tcp's `st` column.
const LISTEN: &str = "0A";

/// Listening socket inodes → local port, from a `/proc/<pid>/net/tcp{,6}` file.
pub fn parse_proc_net_tcp(content: &str) -> Vec<(u64, u16)> {
    content
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.get(3) != Some(&LISTEN) {
                return None;
            }
            let port = cols.get(1)?.rsplit_once(':')?.1;
            let port = u16::from_str_radix(port, 16).ok()?;
            let inode = cols.get(9)?.parse().ok()?;
            Some((inode, port))
        })
        .collect()
}

/// The cgroup v2 id (inode of the cgroup directory) of a process.
fn cgroup_id(proc_pid: &Path, cgroup2: Option<&Path>) -> u64 {
    let Some(root) = cgroup2 else { return 0 };
    std::fs::read_to_string(proc_pid.join("cgroup"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("0::")
                    .map(|p| p.trim_start_matches('/').to_string())
            })
        })
        .and_then(|rel| std::fs::metadata(root.join(rel)).ok())
        .map(|m| m.ino())
        .unwrap_or(0)
}

fn owner(proc_pid: &Path, pid: u32, cgroup2: Option<&Path>) -> KtuiOwner {
    let mut comm = [0u8; 16];
    if let Ok(c) = std::fs::read_to_string(proc_pid.join("comm")) {
        let c = c.trim_end_matches('\n').as_bytes();
        let n = c.len().min(15);
        comm[..n].copy_from_slice(&c[..n]);
    }
    let uid = std::fs::metadata(proc_pid).map(|m| m.uid()).unwrap_or(0);
    KtuiOwner {
        cgroup_id: cgroup_id(proc_pid, cgroup2),
        pid,
        tid: pid,
        uid,
        _pad: 0,
        comm,
        proc: proc_context(proc_pid),
    }
}

/// A process's context as the kernel side fills it (struct ktui_proc), from
/// `/proc/<pid>/status` and the inodes of `/proc/<pid>/ns/*`.
pub fn proc_context(proc_pid: &Path) -> KtuiProc {
    let Ok(status) = std::fs::read_to_string(proc_pid.join("status")) else {
        return KtuiProc::default();
    };
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let first = |name: &str| field(name)?.split_whitespace().next()?.parse::<u32>().ok();
    let ns = |name: &str| {
        std::fs::metadata(proc_pid.join("ns").join(name))
            .map(|m| m.ino() as u32)
            .unwrap_or(0)
    };
    let caps = field("CapEff").and_then(|h| u64::from_str_radix(h, 16).ok());
    let seccomp = field("Seccomp").and_then(|v| v.parse::<u8>().ok());
    KtuiProc {
        caps_eff: caps.unwrap_or(0),
        gid: first("Gid").unwrap_or(0),
        ppid: first("PPid").unwrap_or(0),
        ns_net: ns("net"),
        ns_mnt: ns("mnt"),
        ns_pid: ns("pid"),
        ns_user: ns("user"),
        seccomp_mode: seccomp.unwrap_or(0),
        known: 1,
        sec_known: u8::from(caps.is_some()),
        _pad: [0; 5],
        // Unknown from /proc: the kernel reads the context again at the first event.
        cred: 0,
        nsproxy: 0,
    }
}

/// The cgroup2 mount: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
pub fn cgroup2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.controllers").is_file())
}

/// Every listening TCP socket on the node with its owner (first process holding it).
pub fn listeners(proc_root: &Path) -> HashMap<ListenKey, KtuiOwner> {
    let cgroup2 = cgroup2_root();
    let pids: Vec<(u32, PathBuf)> = std::fs::read_dir(proc_root)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let pid = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((pid, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    // Pass 1: listening sockets per network namespace (one process per namespace).
    let mut scanned = std::collections::HashSet::new();
    let mut listening: HashMap<u64, ListenKey> = HashMap::new();
    for (_, dir) in &pids {
        let Ok(ns) = std::fs::metadata(dir.join("ns/net")) else {
            continue;
        };
        let netns = ns.ino();
        if !scanned.insert(netns) {
            continue;
        }
        let Ok(netns32) = u32::try_from(netns) else {
            continue;
        };
        for file in ["net/tcp", "net/tcp6"] {
            let Ok(content) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            for (inode, port) in parse_proc_net_tcp(&content) {
                listening.insert(
                    inode,
                    ListenKey {
                        netns: netns32,
                        port,
                        _pad: 0,
                    },
                );
            }
        }
    }
    // Pass 2: who holds them.
    let mut out = HashMap::new();
    if listening.is_empty() {
        return out;
    }
    for (pid, dir) in &pids {
        let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
            continue;
        };
        // Read once per process, whatever the number of its listeners.
        let mut this: Option<KtuiOwner> = None;
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            if let Some(key) = listening.get(&inode)
                && !out.contains_key(key)
            {
                let o = *this.get_or_insert_with(|| owner(dir, *pid, cgroup2.as_deref()));
                out.insert(*key, o);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_context_matches_the_syscalls() {
        let p = proc_context(Path::new("/proc/self"));
        assert_eq!(p.known, 1);
        // SAFETY: plain getters without arguments.
        let (ppid, gid) = unsafe { (libc::getppid(), libc::getgid()) };
        assert_eq!(p.ppid, ppid as u32);
        assert_eq!(p.gid, gid);
        let ino = |n: &str| {
            std::fs::metadata(format!("/proc/self/ns/{n}"))
                .unwrap()
                .ino() as u32
        };
        assert_eq!(
            (p.ns_net, p.ns_mnt, p.ns_pid, p.ns_user),
            (ino("net"), ino("mnt"), ino("pid"), ino("user"))
        );
        assert_eq!(p.sec_known, 1);
        assert!(p.seccomp_mode <= 2);
    }

    #[test]
    fn parses_listeners_only() {
        let content = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 20 4 30 10 -1
";
        assert_eq!(parse_proc_net_tcp(content), vec![(12345, 8080)]);
        let v6 = "header\n   0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 999 1 0 100 0 0 10 0\n";
        assert_eq!(parse_proc_net_tcp(v6), vec![(999, 53)]);
    }

    #[test]
    fn finds_our_own_listener() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let found = listeners(Path::new("/proc"));
        let mine = found
            .iter()
            .find(|(k, _)| k.port == port)
            .map(|(_, o)| o.pid);
        assert_eq!(mine, Some(std::process::id()));
    }
}
