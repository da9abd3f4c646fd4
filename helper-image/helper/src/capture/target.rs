//! The network namespace a capture is about: an explicit namespace file, or a pod found
//! through one of its processes (its cgroup, as the sockets subscription resolves pods) and
//! that process's `/proc/PID/ns/net`. Also whether it is still there.

use std::fs::File;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ktui_wire::CaptureTarget;

use super::error::{CaptureError, Result};
use crate::k8s::{Resolver, Roots};

/// An opened target namespace.
#[derive(Debug)]
pub struct Target {
    pub ns: File,
    pub inode: u64,
    /// What was asked for, for messages (`pod <uid>`, `/var/run/netns/x`).
    pub what: String,
    /// The file to re-check (a pod's process's namespace link, or the namespace file).
    check: PathBuf,
    /// For a pod: its UID and where to look for another of its processes.
    pod: Option<(String, Roots)>,
}

impl Target {
    pub fn open(target: &CaptureTarget, roots: Roots) -> Result<Target> {
        match target {
            CaptureTarget::Netns { path } => {
                let p = Path::new(path);
                let ns = File::open(p).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => CaptureError::TargetNotFound(format!(
                        "network namespace {path:?} does not exist on this node"
                    )),
                    _ => CaptureError::os(
                        format!("opening network namespace {path:?}"),
                        e,
                        "CAP_SYS_PTRACE",
                    ),
                })?;
                let inode = is_netns(&ns, path)?;
                Ok(Target {
                    ns,
                    inode,
                    what: format!("network namespace {path:?}"),
                    check: p.to_path_buf(),
                    pod: None,
                })
            }
            CaptureTarget::Pod { uid } => {
                let proc_root = roots.proc.clone();
                let mut resolver = Resolver::new(roots.clone());
                let (pid, inode) =
                    resolver.process_of_pod(uid, Instant::now()).ok_or_else(|| {
                        CaptureError::TargetNotFound(format!(
                            "pod {uid:?} has no running process on this node (not scheduled here, or not started)"
                        ))
                    })?;
                if resolver.host_netns() == Some(inode) {
                    return Err(CaptureError::BadRequest(format!(
                        "pod {uid:?} uses the node's network namespace (hostNetwork): its traffic is the node's; capture with an explicit namespace (/proc/1/ns/net) and an interface"
                    )));
                }
                let check = proc_root.join(pid.to_string()).join("ns/net");
                let ns = File::open(&check).map_err(|e| {
                    CaptureError::os(
                        format!("opening {} (pod {uid:?})", check.display()),
                        e,
                        "CAP_SYS_PTRACE",
                    )
                })?;
                let inode = is_netns(&ns, &check.display().to_string())?;
                Ok(Target {
                    ns,
                    inode,
                    what: format!("pod {uid:?}"),
                    check,
                    pod: Some((uid.clone(), roots)),
                })
            }
        }
    }

    /// The namespace is still in use by what was asked for: the namespace file still names
    /// it, or a process of the pod is still in it (when the one found first ended, e.g. a
    /// restarted container, another is looked for).
    pub fn alive(&mut self) -> bool {
        if std::fs::metadata(&self.check).is_ok_and(|m| m.ino() == self.inode) {
            return true;
        }
        let Some((uid, roots)) = &self.pod else {
            return false;
        };
        let mut resolver = Resolver::new(roots.clone());
        match resolver.process_of_pod(uid, Instant::now()) {
            Some((pid, inode)) if inode == self.inode => {
                self.check = roots.proc.join(pid.to_string()).join("ns/net");
                true
            }
            _ => false,
        }
    }
}

/// The inode of a namespace file; an error when it is not a network namespace.
fn is_netns(ns: &File, path: &str) -> Result<u64> {
    use std::os::fd::AsRawFd as _;
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    // SAFETY: an ioctl without arguments on a descriptor we own.
    let ty = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_NSTYPE) };
    if ty != libc::CLONE_NEWNET {
        return Err(CaptureError::BadRequest(format!(
            "{path:?} is not a network namespace file (expected /var/run/netns/NAME or /proc/PID/ns/net)"
        )));
    }
    ns.metadata()
        .map(|m| m.ino())
        .map_err(|e| CaptureError::io(format!("stat {path:?}"), e))
}

/// The calling thread's own network namespace inode.
pub fn own_netns() -> Option<u64> {
    std::fs::metadata("/proc/thread-self/ns/net")
        .ok()
        .map(|m| m.ino())
}
