//! The `proc/<pid>/` members: raw copies of the process's /proc files, its open file
//! descriptors (`fds.json`) and its network namespace's socket tables.

use std::io;
use std::path::Path;

use serde::Serialize;

use super::doc::{FdEntry, Unreadable};
use super::tarout::TarOut;

/// Copied as they are, in this order.
pub const FILES: [&str; 7] = [
    "cmdline",
    "environ",
    "status",
    "limits",
    "cgroup",
    "mountinfo",
    "maps",
];
/// The socket tables of the process's network namespace.
pub const NET_FILES: [&str; 5] = ["tcp", "tcp6", "udp", "udp6", "unix"];

/// The largest /proc file copied (a `maps` of a huge process is a few MiB).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// What the members of one process were made from, for the rest of the snapshot.
#[derive(Debug, Default)]
pub struct ProcFiles {
    pub status: Option<String>,
    pub maps: Option<String>,
    pub mountinfo: Option<String>,
    pub cgroup: Option<String>,
    pub fds: Vec<FdEntry>,
}

#[derive(Serialize)]
struct Fd<'a> {
    fd: u32,
    target: &'a str,
}

fn read_capped(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut out)?;
    Ok(out)
}

/// Write `proc/<pid>/...` for one process; a file that cannot be read is left out and listed.
pub fn copy(
    proc_root: &Path,
    pid: u32,
    tar: &mut TarOut<'_>,
    unreadable: &mut Vec<Unreadable>,
) -> io::Result<ProcFiles> {
    let dir = proc_root.join(pid.to_string());
    let mut kept = ProcFiles::default();
    for name in FILES
        .iter()
        .map(|n| n.to_string())
        .chain(NET_FILES.iter().map(|n| format!("net/{n}")))
    {
        let path = dir.join(&name);
        match read_capped(&path) {
            Ok(data) => {
                tar.file(&format!("proc/{pid}/{name}"), &data)?;
                let text = || Some(String::from_utf8_lossy(&data).into_owned());
                match name.as_str() {
                    "status" => kept.status = text(),
                    "maps" => kept.maps = text(),
                    "mountinfo" => kept.mountinfo = text(),
                    "cgroup" => kept.cgroup = text(),
                    _ => {}
                }
            }
            Err(e) => unreadable.push(Unreadable::new(path.display().to_string(), &e)),
        }
    }
    let Some(fds) = fds(&dir, pid, unreadable) else {
        return Ok(kept);
    };
    kept.fds = fds;
    let list: Vec<Fd<'_>> = kept
        .fds
        .iter()
        .map(|f| Fd {
            fd: f.fd,
            target: &f.target,
        })
        .collect();
    let json = serde_json::to_vec(&list).map_err(io::Error::other)?;
    tar.file(&format!("proc/{pid}/fds.json"), &json)?;
    Ok(kept)
}

/// The targets of `/proc/<pid>/fd/*` (`socket:[1234]`, `/var/log/app.log`, `pipe:[99]`), by fd.
/// None (and listed) when the directory cannot be read.
fn fds(dir: &Path, pid: u32, unreadable: &mut Vec<Unreadable>) -> Option<Vec<FdEntry>> {
    let fd_dir = dir.join("fd");
    let rd = match std::fs::read_dir(&fd_dir) {
        Ok(rd) => rd,
        Err(e) => {
            unreadable.push(Unreadable::new(fd_dir.display().to_string(), &e));
            return None;
        }
    };
    let mut out: Vec<FdEntry> = rd
        .flatten()
        .filter_map(|e| {
            let fd: u32 = e.file_name().to_str()?.parse().ok()?;
            // A descriptor closed since the listing is simply gone.
            let target = std::fs::read_link(e.path()).ok()?;
            Some(FdEntry {
                pid,
                fd,
                target: target.to_string_lossy().into_owned(),
            })
        })
        .collect();
    out.sort_by_key(|f| f.fd);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_files_and_fds() {
        let keep = std::fs::File::open("/proc/self/status").unwrap();
        let mut sink = Vec::new();
        let mut tar = TarOut::new(&mut sink, 0);
        let mut unreadable = Vec::new();
        let pid = std::process::id();
        let got = copy(Path::new("/proc"), pid, &mut tar, &mut unreadable).unwrap();
        tar.finish().unwrap();
        assert!(unreadable.is_empty(), "{unreadable:?}");
        assert!(got.status.unwrap().contains("PPid:"));
        assert!(got.maps.unwrap().contains("[stack]"));
        assert!(got.fds.iter().any(|f| f.target.ends_with("/status")));
        drop(keep);
        let names: Vec<String> = tar::Archive::new(&sink[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        let mut want: Vec<String> = FILES.iter().map(|f| format!("proc/{pid}/{f}")).collect();
        want.extend(NET_FILES.iter().map(|f| format!("proc/{pid}/net/{f}")));
        want.push(format!("proc/{pid}/fds.json"));
        assert_eq!(names, want);
    }

    #[test]
    fn a_gone_process_is_listed_unreadable() {
        let mut sink = Vec::new();
        let mut tar = TarOut::new(&mut sink, 0);
        let mut unreadable = Vec::new();
        let got = copy(Path::new("/proc"), u32::MAX, &mut tar, &mut unreadable).unwrap();
        assert!(got.status.is_none());
        assert_eq!(unreadable.len(), FILES.len() + NET_FILES.len() + 1);
        assert!(unreadable[0].path.ends_with("/cmdline"));
        tar.finish().unwrap();
        assert_eq!(tar::Archive::new(&sink[..]).entries().unwrap().count(), 0);
    }
}
