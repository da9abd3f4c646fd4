//! `rootfs-diff.tar`: the files the container changed, as a tar nested in the snapshot.
//!
//! Source: the overlay upper directory of the container's root mount (`upperdir=` in its
//! mountinfo; a host path, read through `/proc/1/root` — the helper shares the host's PID
//! namespace — or directly), else every file under `/proc/<pid>/root` whose ctime is after the
//! container started (`--created`, else the process's start time), on the root filesystem only
//! and never under /proc, /sys, /dev. Paths are relative to the container root, without a
//! leading `/`. Overlay whiteouts (character devices 0:0) are deletions: they go to
//! `deleted_files` (same relative form), not into the tar.
//!
//! Streaming: the tree is listed first (names, sizes, modes; each file opened once to see it is
//! readable), which fixes the nested tar's exact size for the outer header; then the files are
//! read a second time straight into the outer archive. A file that changed size in between is
//! cut or zero-filled to the listed size and said so in `unreadable`.

pub mod fsat;
pub mod nested;
mod source;

pub use source::{Source, source};

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::doc::{LeftOut, RootfsInfo, Unreadable};
use super::tarout::TarOut;
use fsat::{DirFd, lossy};

/// Most entries listed (a bound on what the helper holds in memory).
pub const MAX_ENTRIES: usize = 100_000;
/// Deepest directory level walked.
const MAX_DEPTH: usize = 64;
/// Top-level directories of a container root that are never its changes.
const PSEUDO: [&str; 3] = ["proc", "sys", "dev"];

pub const SOURCE_UPPER: &str = "overlay-upper";
pub const SOURCE_CTIME: &str = "proc-root-ctime";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File { size: u64 },
    Dir,
    Symlink(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rel: PathBuf,
    pub kind: Kind,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
}

/// The listing: what goes into the tar and what does not.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    pub bytes: u64,
    pub left_out: Vec<LeftOut>,
    pub unreadable: Vec<Unreadable>,
    pub deleted: Vec<String>,
    more_left_out: (u64, u64),
    more_unreadable: u64,
}

/// Most entries listed in `left_out` and in `unreadable` each; the rest are counted in one
/// last entry.
pub const MAX_LISTED: usize = 10_000;

impl Plan {
    fn leave_out(&mut self, path: String, bytes: u64, why: String) {
        if self.left_out.len() < MAX_LISTED {
            self.left_out.push(LeftOut { path, bytes, why });
        } else {
            self.more_left_out.0 += 1;
            self.more_left_out.1 += bytes;
        }
    }

    fn cannot_read(&mut self, path: String, e: &io::Error) {
        if self.unreadable.len() < MAX_LISTED {
            self.unreadable.push(Unreadable::new(path, e));
        } else {
            self.more_unreadable += 1;
        }
    }

    /// The counts of what was not listed, as last entries.
    fn close_lists(&mut self) {
        if self.more_left_out.0 > 0 {
            self.left_out.push(LeftOut {
                path: "...".to_string(),
                bytes: self.more_left_out.1,
                why: format!("{} more entries left out, not listed", self.more_left_out.0),
            });
        }
        if self.more_unreadable > 0 {
            self.unreadable.push(Unreadable {
                path: "...".to_string(),
                error: format!(
                    "{} more unreadable entries, not listed",
                    self.more_unreadable
                ),
            });
        }
    }
}

struct Walker<'a> {
    since: Option<(i64, i64)>,
    dev: u64,
    cap: u64,
    plan: &'a mut Plan,
}

fn epoch(t: SystemTime) -> (i64, i64) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        ),
        Err(_) => (0, 0),
    }
}

impl Walker<'_> {
    fn changed(&self, m: &std::fs::Metadata) -> bool {
        self.since
            .is_none_or(|since| (m.ctime(), m.ctime_nsec()) > since)
    }

    fn full(&mut self, rel: &Path) -> bool {
        if self.plan.entries.len() < MAX_ENTRIES {
            return false;
        }
        self.plan.leave_out(
            lossy(rel),
            0,
            format!("more than {MAX_ENTRIES} changed entries: the rest is not listed"),
        );
        true
    }

    fn entry(rel: PathBuf, kind: Kind, m: &std::fs::Metadata) -> Entry {
        Entry {
            rel,
            kind,
            mode: m.mode() & 0o7777,
            uid: u64::from(m.uid()),
            gid: u64::from(m.gid()),
            mtime: u64::try_from(m.mtime()).unwrap_or(0),
        }
    }

    /// Returns false when the listing is full (stop everything).
    fn walk(&mut self, dir: &DirFd, rel: &Path, depth: usize) -> bool {
        let names = match dir.list() {
            Ok(n) => n,
            Err(e) => {
                self.plan.cannot_read(shown(rel), &e);
                return true;
            }
        };
        for name in names {
            let child = rel.join(&name);
            if depth == 0 && self.since.is_some() && PSEUDO.iter().any(|p| OsStr::new(p) == name) {
                continue;
            }
            let m = match dir.lstat(&name) {
                Ok(m) => m,
                Err(e) => {
                    self.plan.cannot_read(lossy(&child), &e);
                    continue;
                }
            };
            let ft = m.file_type();
            if ft.is_dir() {
                if m.dev() != self.dev {
                    continue;
                }
                if self.changed(&m) {
                    if self.full(&child) {
                        return false;
                    }
                    self.plan
                        .entries
                        .push(Self::entry(child.clone(), Kind::Dir, &m));
                }
                if depth + 1 >= MAX_DEPTH {
                    self.plan.leave_out(
                        lossy(&child),
                        0,
                        format!("deeper than {MAX_DEPTH} levels: not walked"),
                    );
                    continue;
                }
                match dir.open_dir(&name) {
                    Ok(sub) => {
                        if !self.walk(&sub, &child, depth + 1) {
                            return false;
                        }
                    }
                    Err(e) => self.plan.cannot_read(lossy(&child), &e),
                }
            } else if ft.is_char_device() && m.rdev() == 0 && self.since.is_none() {
                if self.plan.deleted.len() < MAX_ENTRIES {
                    self.plan.deleted.push(lossy(&child));
                }
            } else if !self.changed(&m) {
                continue;
            } else if ft.is_file() {
                self.file(dir, &name, child, &m);
            } else if ft.is_symlink() {
                match dir.read_link(&name) {
                    Ok(target) => {
                        if self.full(&child) {
                            return false;
                        }
                        self.plan
                            .entries
                            .push(Self::entry(child, Kind::Symlink(target), &m));
                    }
                    Err(e) => self.plan.cannot_read(lossy(&child), &e),
                }
            } else {
                let kind = if ft.is_fifo() {
                    "a FIFO"
                } else if ft.is_socket() {
                    "a socket"
                } else {
                    "a device node"
                };
                self.plan
                    .leave_out(lossy(&child), 0, format!("{kind}: not copied"));
            }
        }
        true
    }

    fn file(&mut self, dir: &DirFd, name: &OsStr, rel: PathBuf, m: &std::fs::Metadata) {
        let size = m.len();
        if self.plan.bytes.saturating_add(size) > self.cap {
            self.plan.leave_out(
                lossy(&rel),
                size,
                format!(
                    "the changed-files cap of {} bytes (--max-rootfs-bytes) would be exceeded",
                    self.cap
                ),
            );
            return;
        }
        if let Err(e) = dir.open_file(name) {
            self.plan.cannot_read(lossy(&rel), &e);
            return;
        }
        if self.full(&rel) {
            return;
        }
        self.plan.bytes += size;
        self.plan
            .entries
            .push(Self::entry(rel, Kind::File { size }, m));
    }
}

fn shown(rel: &Path) -> String {
    if rel.as_os_str().is_empty() {
        ".".to_string()
    } else {
        lossy(rel)
    }
}

/// List the changes below `source` (the first pass).
pub fn plan(source: &Source, cap: u64) -> Plan {
    let mut plan = Plan::default();
    let dev = match source.root.metadata() {
        Ok(m) => m.dev(),
        Err(e) => {
            plan.cannot_read(source.path.clone(), &e);
            return plan;
        }
    };
    let mut w = Walker {
        since: source.since.map(epoch),
        dev,
        cap,
        plan: &mut plan,
    };
    w.walk(&source.root, Path::new(""), 0);
    plan.close_lists();
    plan
}

/// List, then stream `rootfs-diff.tar` into `tar`; what it holds, for `snapshot.json`.
/// `source` None: it could not be opened (`failed` says why); the member is an empty tar.
pub fn write(
    source: Result<Source, (String, io::Error)>,
    cap: u64,
    tar: &mut TarOut<'_>,
) -> io::Result<(RootfsInfo, Vec<String>)> {
    let (plan, mut info, src) = match source {
        Ok(src) => {
            let plan = plan(&src, cap);
            let info = RootfsInfo {
                source: if src.since.is_some() {
                    SOURCE_CTIME
                } else {
                    SOURCE_UPPER
                },
                files: 0,
                bytes: 0,
                cap_bytes: cap,
                left_out: Vec::new(),
                unreadable: Vec::new(),
                path: Some(src.path.clone()),
                since: src.since.map(super::rfc3339),
                note: src.note.clone(),
            };
            (plan, info, Some(src))
        }
        Err((path, e)) => {
            let plan = Plan {
                unreadable: vec![Unreadable::new(path.clone(), &e)],
                ..Plan::default()
            };
            let info = RootfsInfo {
                source: SOURCE_CTIME,
                files: 0,
                bytes: 0,
                cap_bytes: cap,
                left_out: Vec::new(),
                unreadable: Vec::new(),
                path: Some(path),
                since: None,
                note: None,
            };
            (plan, info, None)
        }
    };
    let size = nested::size(&plan.entries)?;
    let mut late = Vec::new();
    tar.stream("rootfs-diff.tar", size, |w| {
        late = nested::write(src.as_ref().map(|s| &s.root), &plan.entries, w)?;
        Ok(())
    })?;
    info.files = plan.entries.len() as u64;
    info.bytes = plan.bytes;
    info.left_out = plan.left_out;
    info.unreadable = plan.unreadable;
    info.unreadable.extend(late);
    Ok((info, plan.deleted))
}

#[cfg(test)]
mod tests;
