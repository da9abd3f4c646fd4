//! Shared helpers for the integration tests: run the real binary, collect its lines, and
//! skip (locally) or fail (CI=true) when the machine cannot run eBPF.

#![allow(dead_code)]

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ktui_wire::{SocketEvent, Stats};

pub const BIN: &str = env!("CARGO_BIN_EXE_ktui-helper");

/// Why this machine cannot run the eBPF tests, if it cannot.
pub fn ebpf_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root".into());
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("no kernel BTF at /sys/kernel/btf/vmlinux".into());
    }
    if !std::path::Path::new("/sys/kernel/tracing/events").is_dir()
        && !std::path::Path::new("/sys/kernel/debug/tracing/events").is_dir()
    {
        return Some("tracefs is not mounted".into());
    }
    None
}

/// Skip the test (return true) when eBPF is unavailable; under CI=true, fail instead.
pub fn skip_without_ebpf(test: &str) -> bool {
    skip_unless(test, ebpf_unavailable())
}

/// Skip (locally) or fail (CI=true) when `why` is Some.
pub fn skip_unless(test: &str, why: Option<String>) -> bool {
    let Some(why) = why else { return false };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    note_skip(&format!("{test}: {why}"));
    true
}

/// Say why a test was skipped: on stderr (shown with --nocapture) and appended to the file
/// `KTUI_SKIP_LOG` names, which scripts/test.sh prints after the run (libtest hides the
/// output of passing tests, and a skipped test passes).
pub fn note_skip(line: &str) {
    eprintln!("SKIPPED {line}");
    if let Some(path) = std::env::var_os("KTUI_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        use std::io::Write as _;
        let _ = writeln!(f, "{line}");
    }
}

/// A running `ktui-helper trace`.
pub struct Trace {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
    pub probes: serde_json::Value,
}

/// The lines `r` gives, read on a thread of their own.
pub fn lines<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Trace {
    /// Start `trace -v <args>` and wait until its probes are attached.
    pub fn start(args: &[&str]) -> Trace {
        Trace::start_with_env(args, &[])
    }

    /// Same, with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Trace {
        let mut cmd = Command::new(BIN);
        cmd.envs(env.iter().copied());
        Trace::spawn(cmd, args)
    }

    /// Same, run by `wrapper` (a command and its arguments, e.g. setpriv dropping a
    /// capability), which runs the helper with the rest of its command line.
    pub fn start_via(wrapper: &[&str], args: &[&str]) -> Trace {
        let mut cmd = Command::new(wrapper[0]);
        cmd.args(&wrapper[1..]).arg(BIN);
        Trace::spawn(cmd, args)
    }

    fn spawn(mut cmd: Command, args: &[&str]) -> Trace {
        let mut child = cmd
            .arg("trace")
            .arg("-v")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ktui-helper trace");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let first = stderr
            .recv_timeout(Duration::from_secs(30))
            .expect("trace -v prints its probes first");
        let probes: serde_json::Value =
            serde_json::from_str(&first).unwrap_or_else(|e| panic!("probe line {first:?}: {e}"));
        // The config is written right after the probe line.
        std::thread::sleep(Duration::from_millis(200));
        Trace {
            child,
            stdout,
            stderr,
            probes,
        }
    }

    /// Wait for the process to end (its --duration) and return (events, stats lines).
    pub fn finish(self) -> (Vec<SocketEvent>, Vec<Stats>, std::process::ExitStatus) {
        let (events, stats, status, _) = self.finish_with_notices();
        (events, stats, status)
    }

    /// Same, and the notices trace printed on stderr (`ktui-helper trace: ...` lines).
    pub fn finish_with_notices(
        mut self,
    ) -> (
        Vec<SocketEvent>,
        Vec<Stats>,
        std::process::ExitStatus,
        Vec<String>,
    ) {
        let status = wait_exit(
            &mut self.child,
            Duration::from_secs(60),
            "trace did not exit",
        );
        let mut events = Vec::new();
        while let Ok(l) = self.stdout.recv_timeout(Duration::from_secs(5)) {
            events.push(serde_json::from_str(&l).unwrap_or_else(|e| panic!("line {l:?}: {e}")));
        }
        let mut stats = Vec::new();
        let mut notices = Vec::new();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            if l.starts_with("ktui-helper trace: ") {
                notices.push(l);
                continue;
            }
            stats.push(serde_json::from_str(&l).unwrap_or_else(|e| panic!("stats {l:?}: {e}")));
        }
        (events, stats, status, notices)
    }

    /// Stop with SIGINT now, then finish.
    pub fn interrupt(self) -> (Vec<SocketEvent>, Vec<Stats>, std::process::ExitStatus) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        self.finish()
    }
}

/// Wait for `child` to exit, for at most `timeout` (else fail with `what`); its status.
pub fn wait_exit(child: &mut Child, timeout: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The cgroup2 mount: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
pub fn cgroup2_root() -> Option<std::path::PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .find(|p| p.join("cgroup.procs").is_file() && p.join("cgroup.controllers").is_file())
}

/// Directories removed on drop, deepest (last) first: cgroups made for a test, once their
/// processes are gone.
pub struct CgroupDirs(pub Vec<std::path::PathBuf>);

impl Drop for CgroupDirs {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

/// The comm the kernel reports for this process (the thread-group leader's).
pub fn own_comm() -> String {
    std::fs::read_to_string(format!("/proc/{}/comm", std::process::id()))
        .unwrap()
        .trim()
        .to_string()
}

pub fn gettid() -> u32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() as u32 }
}

/// A port nothing listens on (bound then released).
pub fn free_tcp_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn free_udp_port() -> u16 {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap().port()
}

/// Inode of a namespace file.
pub fn ns_inode(path: &str) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

pub fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two network namespaces joined by a veth pair: `<a>` has 10.77.<n>.1/24 on `veth_a`, `<b>`
/// 10.77.<n>.2/24 on `veth_b`. Deleted on drop.
pub struct NetnsPair {
    pub a: String,
    pub b: String,
    pub addr_a: String,
    pub addr_b: String,
    pub veth_a: String,
    pub veth_b: String,
}

impl NetnsPair {
    pub fn new(tag: &str, subnet: u8) -> NetnsPair {
        let pid = std::process::id();
        let a = format!("ktui{tag}a{pid}");
        let b = format!("ktui{tag}b{pid}");
        let _ = Command::new("ip").args(["netns", "del", &a]).output();
        let _ = Command::new("ip").args(["netns", "del", &b]).output();
        let addr_a = format!("10.77.{subnet}.1");
        let addr_b = format!("10.77.{subnet}.2");
        let va = format!("kv{tag}a{}", pid % 100000);
        let vb = format!("kv{tag}b{}", pid % 100000);
        sh(&format!(
            "ip netns add {a} && ip netns add {b} && \
             ip link add {va} netns {a} type veth peer name {vb} netns {b} && \
             ip -n {a} addr add {addr_a}/24 dev {va} && ip -n {b} addr add {addr_b}/24 dev {vb} && \
             ip -n {a} link set {va} up && ip -n {b} link set {vb} up && \
             ip -n {a} link set lo up && ip -n {b} link set lo up"
        ));
        NetnsPair {
            a,
            b,
            addr_a,
            addr_b,
            veth_a: va,
            veth_b: vb,
        }
    }

    pub fn path(name: &str) -> String {
        format!("/run/netns/{name}")
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).output();
    }
}

/// Run `f` on a new thread that has entered network namespace `name` (setns affects only
/// the calling thread).
pub fn in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = NetnsPair::path(name);
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        use std::os::fd::AsRawFd as _;
        // SAFETY: setns on a namespace fd we own, for this thread only.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// Events of `kind` (wire name) involving `port` at either end.
pub fn with_port<'a>(events: &'a [SocketEvent], kind: &str, port: u16) -> Vec<&'a SocketEvent> {
    events
        .iter()
        .filter(|e| e.kind.as_str() == kind && (e.sport == Some(port) || e.dport == Some(port)))
        .collect()
}

pub fn state_change<'a>(
    events: &'a [SocketEvent],
    old: &str,
    new: &str,
    sport: Option<u16>,
    dport: Option<u16>,
) -> Option<&'a SocketEvent> {
    events.iter().find(|e| {
        e.kind.as_str() == "tcp_state"
            && e.old_state.as_deref() == Some(old)
            && e.new_state.as_deref() == Some(new)
            && (sport.is_none() || e.sport == sport)
            && (dport.is_none() || e.dport == dport)
    })
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// Read everything a child wrote on a pipe.
pub fn read_all(mut r: impl std::io::Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

pub fn print_events(events: &[SocketEvent]) {
    for e in events {
        eprintln!("{}", serde_json::to_string(e).unwrap());
    }
}
