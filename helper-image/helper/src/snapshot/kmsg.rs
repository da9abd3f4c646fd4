//! `kmsg.txt`: the kernel log lines about the container (OOM kills, segfaults, traps), read
//! without blocking from `/dev/kmsg` (the whole ring, oldest first) and filtered by the
//! container's PIDs, process names and cgroup.
//!
//! Where `/dev/kmsg` cannot be opened — a container runtime's device rules refuse the device
//! to a non-privileged pod even when it is mounted — the same ring is read with `syslog(2)`
//! (`SYSLOG_ACTION_READ_ALL`, also CAP_SYSLOG).

use std::collections::HashSet;
use std::io::{self, Read as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// Most bytes kept in `kmsg.txt`.
const MAX_BYTES: usize = 4 << 20;
/// Most records read (the ring is finite, but a flooding kernel keeps adding to it).
const MAX_RECORDS: usize = 2_000_000;
/// A record is at most ~8 KiB (`PRINTK_MESSAGE_MAX` plus dictionary).
const RECORD_BUF: usize = 16 * 1024;

/// What makes a line about the container.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub pids: HashSet<u32>,
    pub comms: HashSet<String>,
    /// Substrings: the container id, its cgroup's last path component.
    pub needles: Vec<String>,
}

/// One record: `prio,seq,usec,flags[,...];message` (then ` KEY=value` continuation lines).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub usec: u64,
    pub message: &'a str,
}

pub fn parse_record(rec: &str) -> Option<Record<'_>> {
    let (head, rest) = rec.split_once(';')?;
    let usec = head.split(',').nth(2)?.parse().ok()?;
    let message = rest.split('\n').next().unwrap_or("");
    Some(Record { usec, message })
}

/// Numbers the kernel prints as PIDs: `comm[123]`, `pid=123`, `pid 123`, `process 123`,
/// `task 123`.
fn mentioned_pids(msg: &str) -> Vec<u32> {
    let b = msg.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let before = &msg[..start];
        let bracket = before.ends_with('[') && b.get(i) == Some(&b']');
        let keyed = [
            "pid=",
            "pid ",
            "pid: ",
            "process ",
            "task ",
            "Killed process ",
        ]
        .iter()
        .any(|k| before.ends_with(k));
        if (bracket || keyed)
            && let Ok(p) = msg[start..i].parse()
        {
            out.push(p);
        }
    }
    out
}

/// `comm[` at a word start, or `(comm)` as in `Killed process 123 (comm)`.
fn mentions_comm(msg: &str, comm: &str) -> bool {
    if comm.is_empty() {
        return false;
    }
    msg.contains(&format!("({comm})"))
        || msg.match_indices(&format!("{comm}[")).any(|(at, _)| {
            msg[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '/'))
        })
}

impl Filter {
    /// Whether the line is about the container; an OOM kill of one of its tasks adds the
    /// victim's PID, so the `Killed process` line that follows matches too.
    pub fn matches(&mut self, msg: &str) -> bool {
        let pids = mentioned_pids(msg);
        let hit = self.needles.iter().any(|n| msg.contains(n.as_str()))
            || pids.iter().any(|p| self.pids.contains(p))
            || self.comms.iter().any(|c| mentions_comm(msg, c));
        if hit && msg.contains("oom-kill:") {
            self.pids.extend(pids);
        }
        hit
    }
}

/// The result of reading the ring.
#[derive(Debug, Default)]
pub struct Kmsg {
    pub text: Vec<u8>,
    pub lines: u64,
    pub error: Option<String>,
    /// `/dev/kmsg` or `syslog(2)`; None when neither could be read.
    pub source: Option<&'static str>,
    /// Why `/dev/kmsg` was not used when `syslog(2)` was.
    pub note: Option<String>,
}

impl Kmsg {
    /// Keep a matching record; false when the output is full.
    fn keep(&mut self, usec: u64, message: &str, filter: &mut Filter) -> bool {
        if !filter.matches(message) {
            return true;
        }
        let line = format!(
            "[{:>5}.{:06}] {message}\n",
            usec / 1_000_000,
            usec % 1_000_000
        );
        if self.text.len() + line.len() > MAX_BYTES {
            self.error = Some(format!(
                "more than {MAX_BYTES} bytes of matching lines: the rest is left out"
            ));
            return false;
        }
        self.text.extend_from_slice(line.as_bytes());
        self.lines += 1;
        true
    }
}

/// One line of `syslog(2)` text: `<6>[   12.345678] message` (the time only with
/// `printk.time`).
pub fn parse_syslog_line(line: &str) -> Option<(u64, &str)> {
    let rest = line.strip_prefix('<')?;
    let rest = &rest[rest.find('>')? + 1..];
    let Some(stamped) = rest.strip_prefix('[') else {
        return Some((0, rest));
    };
    let (ts, msg) = stamped.split_once(']')?;
    let (sec, frac) = ts.trim().split_once('.').unwrap_or((ts.trim(), "0"));
    let usec = sec.parse::<u64>().ok()? * 1_000_000 + frac.parse::<u64>().unwrap_or(0);
    Some((usec, msg.strip_prefix(' ').unwrap_or(msg)))
}

/// The whole ring through `syslog(2)`.
fn read_syslog(filter: &mut Filter) -> io::Result<Kmsg> {
    const SIZE_BUFFER: libc::c_int = 10;
    const READ_ALL: libc::c_int = 3;
    // SAFETY: SYSLOG_ACTION_SIZE_BUFFER reads no buffer (null, length 0).
    let size = unsafe { libc::klogctl(SIZE_BUFFER, std::ptr::null_mut(), 0) };
    if size < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; usize::try_from(size).unwrap_or(0).clamp(4096, 64 << 20)];
    let len = libc::c_int::try_from(buf.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: the kernel writes at most `len` bytes into `buf`, which is that long and ours.
    let n = unsafe { libc::klogctl(READ_ALL, buf.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(usize::try_from(n).unwrap_or(0));
    let mut out = Kmsg {
        source: Some("syslog(2)"),
        ..Kmsg::default()
    };
    for line in String::from_utf8_lossy(&buf).lines() {
        if let Some((usec, msg)) = parse_syslog_line(line)
            && !out.keep(usec, msg, filter)
        {
            break;
        }
    }
    Ok(out)
}

/// Read every record of `path` (normally `/dev/kmsg`) until the ring is drained, keeping the
/// lines `filter` matches as `[seconds.micros] message`. Failing to read is reported in
/// `error`, not raised: the log is a bonus, not the snapshot.
pub fn read(path: &Path, filter: &mut Filter) -> Kmsg {
    let mut out = Kmsg {
        source: Some("/dev/kmsg"),
        ..Kmsg::default()
    };
    let mut f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            return match read_syslog(filter) {
                Ok(mut k) => {
                    k.note = Some(format!("cannot open {}: {e}", path.display()));
                    k
                }
                Err(e2) => Kmsg {
                    error: Some(format!(
                        "cannot open {}: {e}; syslog(2): {e2} (reading the kernel log needs \
                         CAP_SYSLOG: deploy the snapshot variant of the helper)",
                        path.display()
                    )),
                    ..Kmsg::default()
                },
            };
        }
    };
    let mut buf = vec![0u8; RECORD_BUF];
    for _ in 0..MAX_RECORDS {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let rec = String::from_utf8_lossy(&buf[..n]);
                if let Some(r) = parse_record(&rec)
                    && !out.keep(r.usec, r.message, filter)
                {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            // Overwritten while we read (the ring wrapped): go on with the next record.
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.error = Some(format!("reading {}: {e}", path.display()));
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";

    fn filter() -> Filter {
        Filter {
            pids: HashSet::from([4242]),
            comms: HashSet::from(["app".to_string()]),
            needles: vec![CID.to_string()],
        }
    }

    #[test]
    fn records_parse() {
        let r = parse_record("6,339,5140900,-;NET: Registered\n SUBSYSTEM=net\n").unwrap();
        assert_eq!(r.usec, 5_140_900);
        assert_eq!(r.message, "NET: Registered");
        assert_eq!(parse_record("garbage"), None);
    }

    #[test]
    fn container_lines_and_the_oom_victim() {
        let mut f = filter();
        let oom = format!(
            "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=cri-containerd-{CID}.scope,mems_allowed=0,oom_memcg=/kubepods.slice/x/cri-containerd-{CID}.scope,task=worker,pid=5151,uid=1000"
        );
        assert!(f.matches(&oom));
        assert!(
            f.matches("Memory cgroup out of memory: Killed process 5151 (worker) total-vm:1kB")
        );
        assert!(f.matches("app[777]: segfault at 0 ip 000055 sp 00007ff error 4 in app[55+1000]"));
        assert!(f.matches("traps: x[4242] general protection fault ip:1 sp:2 error:0"));
        assert!(!f.matches("myapp[777]: segfault at 0"));
        assert!(!f.matches("other[1]: segfault at 0"));
        assert!(!f.matches("eth0: link up, 4242 Mbps"));
        assert!(!f.matches("Killed process 6000 (other)"));
    }

    #[test]
    fn syslog_lines_parse() {
        assert_eq!(
            parse_syslog_line("<4>[   12.000345] app[9]: segfault"),
            Some((12_000_345, "app[9]: segfault"))
        );
        assert_eq!(parse_syslog_line("<6>no time"), Some((0, "no time")));
        assert_eq!(parse_syslog_line("plain"), None);
    }

    #[test]
    fn a_missing_device_falls_back_to_syslog_or_says_why() {
        let k = read(Path::new("/nonexistent/kmsg"), &mut filter());
        match k.source {
            // Allowed to read the log (root, or dmesg_restrict off): the same ring.
            Some(src) => {
                assert_eq!(src, "syslog(2)");
                assert!(k.note.unwrap().contains("/nonexistent/kmsg"));
                assert_eq!(k.error, None);
            }
            None => {
                assert_eq!(k.lines, 0);
                assert!(k.error.unwrap().contains("CAP_SYSLOG"));
            }
        }
    }

    #[test]
    fn a_plain_file_is_read_to_its_end() {
        // A regular file returns one read of everything; only the first record is parsed:
        // enough to see reading stops at the end instead of blocking.
        let t = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(t.path(), "4,1,2000000,-;app[9]: segfault at 0\n").unwrap();
        let k = read(t.path(), &mut filter());
        assert_eq!(k.lines, 1);
        assert_eq!(k.text, b"[    2.000000] app[9]: segfault at 0\n");
        assert_eq!(k.error, None);
    }
}
