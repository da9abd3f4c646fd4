//! Where the table comes from on this node (ctnetlink, else /proc, else nowhere, saying why
//! and what to do), and the thread that reads it into a new snapshot every [`EVERY`] while
//! a capture is on.

use std::io::{self, BufRead as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ktui_wire::ProbeStatus;

use super::lookup::Lookup;
use super::netlink::Ctnetlink;
use super::snapshot::{Builder, CAPACITY, Published, Snapshot};
use super::{Entry, Tuple, mapped, procfs};
use crate::netfmt::{AF_INET, AF_INET6};

pub const EVERY: Duration = Duration::from_secs(2);
/// A table that takes longer than 1/DUTY of [`EVERY`] to read is read less often, so reading
/// it never takes more than that share of a core (2.5 %). Measured on the development VM: a
/// read of 70,000 entries (dump 55–63 ms, snapshot 50 ms more) → every ~4.7 s.
const DUTY: u32 = 40;

/// How conntrack entries are read here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// `--no-conntrack`.
    Off,
    /// `degraded`: why destroy events cannot be read (a refused connection may then have no
    /// entry).
    Netlink { degraded: Option<String> },
    /// Read from the file at `path`: ctnetlink was refused for this reason.
    Proc { path: String, netlink: String },
    /// Neither works: why, and what to do.
    Unavailable { why: String },
}

impl Status {
    /// The line the console's hello lists among the probes (None when turned off).
    pub fn probe_status(&self) -> Option<ProbeStatus> {
        let (attach, fallback, error) = match self {
            Status::Off => return None,
            Status::Netlink { degraded } => (
                Some("netlink:ctnetlink".to_string()),
                false,
                degraded
                    .as_ref()
                    .map(|d| format!("degraded: no destroy events ({d})")),
            ),
            Status::Proc { path, netlink } => (
                Some(format!("file:{path}")),
                true,
                Some(format!(
                    "fallback: {netlink}; the table is read every {}s, so a flow shorter than \
                     that may have no conntrack entry",
                    EVERY.as_secs()
                )),
            ),
            Status::Unavailable { why } => (None, false, Some(why.clone())),
        };
        Some(ProbeStatus {
            name: "conntrack".to_string(),
            attach,
            fallback,
            error,
        })
    }

    /// What `trace` says once on stderr when conntrack is degraded or unavailable.
    pub fn notice(&self) -> Option<String> {
        match self {
            Status::Off | Status::Netlink { degraded: None } => None,
            Status::Netlink { .. } => self
                .probe_status()
                .and_then(|p| p.error)
                .map(|e| format!("conntrack: {e}")),
            Status::Proc { path, .. } => self
                .probe_status()
                .and_then(|p| p.error)
                .map(|e| format!("conntrack from {path}: {e}")),
            Status::Unavailable { why } => Some(format!("conntrack stays null: {why}")),
        }
    }
}

/// Why ctnetlink cannot be used, with what to do.
fn netlink_refusal(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::EPERM) => {
            "ctnetlink refused (EPERM): add CAP_NET_ADMIN (the kernel requires it even to read)"
                .to_string()
        }
        _ => format!("ctnetlink is unavailable: {e}"),
    }
}

/// A socket the kernel answers on: a GET for a flow that cannot exist comes back "no such
/// entry" when ctnetlink may be used, EPERM without CAP_NET_ADMIN.
fn usable_netlink() -> io::Result<Ctnetlink> {
    let mut nl = Ctnetlink::open()?;
    let nothing = Tuple {
        proto: 6,
        src: mapped([0; 4]),
        dst: mapped([0; 4]),
        sport: 0,
        dport: 0,
    };
    nl.get(&nothing)?;
    Ok(nl)
}

/// Where the refresher reads the table.
enum Source {
    Netlink(Ctnetlink),
    Proc(PathBuf),
}

impl Source {
    /// Every TCP and UDP entry to `each`.
    fn read(&mut self, each: &mut impl FnMut(Entry)) -> io::Result<()> {
        match self {
            Source::Netlink(nl) => {
                nl.dump(AF_INET, each)?;
                nl.dump(AF_INET6, each)
            }
            Source::Proc(path) => {
                let file = std::fs::File::open(path)?;
                for line in io::BufReader::new(file).lines() {
                    if let Some(e) = procfs::parse_line(&line?) {
                        each(e);
                    }
                }
                Ok(())
            }
        }
    }
}

/// How the table is read here.
struct Access {
    status: Status,
    source: Source,
    /// For the reader's GETs (ctnetlink only).
    asker: Option<Ctnetlink>,
    /// Destroy events (ctnetlink only).
    destroyed: Option<Ctnetlink>,
}

/// ctnetlink, else `net/nf_conntrack` under `proc`; or why neither, with what to do.
fn access(proc: &Path) -> Result<Access, Status> {
    match usable_netlink().and_then(|asker| Ok((asker, Ctnetlink::open()?))) {
        Ok((asker, dumper)) => {
            let (destroyed, degraded) = match Ctnetlink::destroyed() {
                Ok(d) => (Some(d), None),
                Err(e) => (None, Some(e.to_string())),
            };
            Ok(Access {
                status: Status::Netlink { degraded },
                source: Source::Netlink(dumper),
                asker: Some(asker),
                destroyed,
            })
        }
        Err(e) => {
            let netlink = netlink_refusal(&e);
            let file = proc.join(procfs::UNDER_PROC);
            let path = file.display().to_string();
            if let Err(p) = std::fs::File::open(&file) {
                // EPERM already says to add CAP_NET_ADMIN.
                let fix = if e.raw_os_error() == Some(libc::EPERM) {
                    ""
                } else {
                    "; load nf_conntrack (modprobe nf_conntrack_netlink)"
                };
                let why = format!("{netlink}; {path}: {p}{fix}");
                return Err(Status::Unavailable { why });
            }
            Ok(Access {
                status: Status::Proc { path, netlink },
                source: Source::Proc(file),
                asker: None,
                destroyed: None,
            })
        }
    }
}

/// Conntrack for one capture: the status, the reader's lookup and the refresher thread.
pub struct Tracker {
    pub status: Status,
    pub lookup: Option<Lookup>,
    pub refresher: Option<JoinHandle<()>>,
}

/// Find how to read the table and start reading it while `active`, until `stop`.
pub fn start(
    enabled: bool,
    proc: &Path,
    active: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Tracker {
    let off = |status| Tracker {
        status,
        lookup: None,
        refresher: None,
    };
    if !enabled {
        return off(Status::Off);
    }
    let a = match access(proc) {
        Ok(a) => a,
        Err(status) => return off(status),
    };
    let published = Arc::new(Published::default());
    let lookup = Lookup::new(published.clone(), a.asker, a.destroyed);
    let source = a.source;
    let refresher = std::thread::Builder::new()
        .name("ktui-conntrack".into())
        .spawn(move || refresh(source, &published, &active, &stop));
    match refresher {
        Ok(handle) => Tracker {
            status: a.status,
            lookup: Some(lookup),
            refresher: Some(handle),
        },
        Err(e) => off(Status::Unavailable {
            why: format!("cannot start the conntrack thread: {e}"),
        }),
    }
}

/// Read the table into a new snapshot every [`EVERY`] (longer for a big table) while `active`.
fn refresh(mut source: Source, published: &Published, active: &AtomicBool, stop: &AtomicBool) {
    let mut previous = Arc::new(Snapshot::default());
    let mut next_read = Instant::now();
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if now >= next_read && active.load(Ordering::Acquire) {
            let mut b = Builder::new(&previous, now, CAPACITY);
            // A failed read keeps what was read of it (and the lingering entries).
            let _ = source.read(&mut |e| b.add(e));
            let snapshot = Arc::new(b.finish(&previous));
            published.publish(snapshot.clone());
            previous = snapshot;
            next_read = now + EVERY.max(now.elapsed() * DUTY);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_status_says_how_and_what_to_do() {
        assert_eq!(Status::Off.probe_status(), None);
        assert_eq!(Status::Off.notice(), None);
        let ok = Status::Netlink { degraded: None };
        assert_eq!(
            ok.probe_status().unwrap().attach.as_deref(),
            Some("netlink:ctnetlink")
        );
        assert_eq!(ok.notice(), None, "nothing to say");
        let eperm = netlink_refusal(&io::Error::from_raw_os_error(libc::EPERM));
        assert!(eperm.contains("add CAP_NET_ADMIN"), "{eperm}");
        let proc = Status::Proc {
            path: "/proc/net/nf_conntrack".into(),
            netlink: eperm,
        };
        let p = proc.probe_status().unwrap();
        assert!(p.fallback);
        assert!(
            p.error
                .unwrap()
                .starts_with("fallback: ctnetlink refused (EPERM)")
        );
        assert!(
            proc.notice()
                .unwrap()
                .starts_with("conntrack from /proc/net/nf_conntrack")
        );
        let gone = Status::Unavailable {
            why: "no table".into(),
        };
        assert_eq!(gone.probe_status().unwrap().attach, None);
        assert_eq!(gone.notice().unwrap(), "conntrack stays null: no table");
    }
}
