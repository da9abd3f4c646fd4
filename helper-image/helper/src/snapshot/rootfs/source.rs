//! Where a container's changed files are read from: its overlay upper directory, else its
//! root with a ctime threshold.

use std::io;
use std::path::Path;
use std::time::SystemTime;

use super::fsat::DirFd;
use crate::snapshot::mountinfo;

/// Where the changes are read from.
pub struct Source {
    pub root: DirFd,
    /// For messages and `rootfs.path`.
    pub path: String,
    /// None: every entry is a change (an upper directory); Some: changed after this time.
    pub since: Option<SystemTime>,
    /// Why the upper directory was not used.
    pub note: Option<String>,
}

/// Pick the source for the process `pid` whose mountinfo text is given.
pub fn source(
    proc_root: &Path,
    pid: u32,
    mountinfo: Option<&str>,
    since: SystemTime,
) -> Result<Source, (String, io::Error)> {
    let lines = mountinfo.map(mountinfo::parse).unwrap_or_default();
    let mut note = None;
    if let Some(upper) = mountinfo::overlay_upper(&lines) {
        let via_host = DirFd::open_in_root(&proc_root.join("1/root"), &upper);
        match via_host.or_else(|e1| DirFd::open(Path::new(&upper)).map_err(|e2| (e1, e2))) {
            Ok(root) => {
                return Ok(Source {
                    root,
                    path: upper,
                    since: None,
                    note: None,
                });
            }
            Err((e1, e2)) => {
                note = Some(format!(
                    "the overlay upper directory {upper} is not reachable from the helper \
                     (through /proc/1/root: {e1}; directly: {e2}): files changed after the \
                     container started were taken from /proc/{pid}/root instead"
                ));
            }
        }
    } else if let Some(root) = mountinfo::root_mount(&lines) {
        note = Some(format!(
            "the container's root is not an overlay with an upper directory ({} {}): files \
             changed after the container started were taken from /proc/{pid}/root",
            root.fstype, root.source
        ));
    }
    let path = proc_root.join(format!("{pid}/root"));
    match DirFd::open(&path) {
        Ok(root) => Ok(Source {
            root,
            path: path.display().to_string(),
            since: Some(since),
            note,
        }),
        Err(e) => Err((path.display().to_string(), e)),
    }
}
