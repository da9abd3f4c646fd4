#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ktui-helper serve` over stdin/stdout: hello first, bad input answered with errors while
//! serving goes on, ping/pong, subscribe filters, clean exit on EOF; and without privileges.

mod common;

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ktui_wire::{ConsoleMessage, ErrorCode, Filters, HelperMessage};

struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl Serve {
    fn start(cmd: &mut Command) -> Serve {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let lines = lines(child.stdout.take().unwrap());
        Serve {
            child,
            stdin,
            lines,
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, msg: &ConsoleMessage) {
        self.send_raw(ktui_wire::encode(msg).as_bytes());
    }

    /// The next message that is not `stats` (and not `socket` unless `sockets`).
    fn next(&mut self, sockets: bool) -> HelperMessage {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).expect("a message from serve");
            let msg = HelperMessage::decode(line.as_bytes())
                .unwrap_or_else(|e| panic!("serve wrote {line:?}: {e}"));
            match msg {
                HelperMessage::Stats(_) => continue,
                HelperMessage::Socket { .. } if !sockets => continue,
                m => return m,
            }
        }
    }

    fn expect_error(&mut self, code: ErrorCode) -> ktui_wire::ErrorReply {
        match self.next(false) {
            HelperMessage::Error(e) => {
                assert_eq!(e.code, code, "{e:?}");
                e
            }
            other => panic!("expected error {code:?}, got {other:?}"),
        }
    }

    fn ping(&mut self, id: u64) {
        self.send(&ConsoleMessage::Ping { id });
        assert_eq!(self.next(false), HelperMessage::Pong { id });
    }

    /// Close stdin and expect a clean exit.
    fn close(mut self) -> Vec<HelperMessage> {
        drop(self.stdin.take());
        let status = wait_exit(
            &mut self.child,
            Duration::from_secs(15),
            "serve did not exit on stdin EOF",
        );
        assert!(status.success(), "serve exits 0 on stdin EOF: {status}");
        self.lines
            .try_iter()
            .map(|l| HelperMessage::decode(l.as_bytes()).unwrap())
            .collect()
    }
}

fn hello(s: &mut Serve) -> ktui_wire::Hello {
    match s.next(false) {
        HelperMessage::Hello(h) => h,
        other => panic!("first message must be hello, got {other:?}"),
    }
}

#[test]
fn bad_input_gets_errors_and_serving_goes_on() {
    // Works with or without eBPF: the protocol layer is the same.
    let mut s = Serve::start(Command::new(BIN).arg("serve"));
    let h = hello(&mut s);
    assert_eq!(h.protocol, ktui_wire::PROTOCOL_VERSION);
    assert_eq!(h.helper_version, env!("CARGO_PKG_VERSION"));
    assert!(!h.kernel.is_empty());
    // Root (as the tests run in CI) has every capability a live snapshot needs, and
    // NET_RAW for packet capture.
    let caps = ktui_helper::caps::Caps::current();
    assert_eq!(h.capture, ktui_helper::capture::available(caps));
    assert_eq!(h.snapshot, caps.missing_for_snapshot().is_empty());

    s.send_raw(b"this is not json\n");
    s.expect_error(ErrorCode::Malformed);
    s.ping(1);

    let mut big = vec![b'x'; ktui_wire::MAX_LINE_BYTES + 10];
    big.push(b'\n');
    s.send_raw(&big);
    s.expect_error(ErrorCode::Oversized);
    s.ping(2);

    s.send_raw(b"{\"v\":1,\"type\":\"launch_missiles\",\"id\":9}\n");
    let e = s.expect_error(ErrorCode::UnknownType);
    assert_eq!(e.id, Some(9));
    s.ping(3);

    s.send_raw(b"{\"v\":2,\"type\":\"ping\",\"id\":4}\n");
    let e = s.expect_error(ErrorCode::VersionMismatch);
    assert!(
        e.message.contains("v2") && e.message.contains("v1"),
        "{}",
        e.message
    );
    assert_eq!(e.id, Some(4));
    s.ping(5);

    s.send_raw(b"{\"v\":1,\"type\":\"subscribe\",\"id\":6,\"filters\":{\"ports\":\"many\"}}\n");
    s.expect_error(ErrorCode::Malformed);
    s.ping(7);

    let rest = s.close();
    assert!(
        rest.iter().all(|m| matches!(m, HelperMessage::Stats(_))),
        "only stats after the last request: {rest:?}"
    );
}

#[test]
fn subscribe_with_ports_filter_delivers_only_matching_events() {
    if skip_without_ebpf("subscribe_with_ports_filter_delivers_only_matching_events") {
        return;
    }
    let mut s = Serve::start(Command::new(BIN).arg("serve"));
    let h = hello(&mut s);
    assert!(h.ebpf, "hello: {h:?}");
    assert!(h.ebpf_error.is_none());
    assert!(h.missing_capabilities.is_empty());
    assert!(h.probes.iter().any(|p| p.name == "tcp_state"
        && p.attach.as_deref() == Some("tracepoint:sock/inet_sock_set_state")));
    assert!(
        h.probes.iter().any(|p| p.name == "conntrack"
            && p.attach.as_deref() == Some("netlink:ctnetlink")
            && p.error.is_none()),
        "as root the node's conntrack table is read over ctnetlink: {:?}",
        h.probes
    );

    let wanted = TcpListener::bind("127.0.0.1:0").unwrap();
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = wanted.local_addr().unwrap().port();
    let other_port = other.local_addr().unwrap().port();
    s.send(&ConsoleMessage::Subscribe {
        id: 10,
        filters: Filters {
            ports: vec![port],
            ..Default::default()
        },
    });
    assert_eq!(s.next(false), HelperMessage::Subscribed { id: 10 });

    for l in [&other, &wanted, &other] {
        let p = l.local_addr().unwrap().port();
        let c = TcpStream::connect(("127.0.0.1", p)).unwrap();
        let _ = l.accept().unwrap();
        drop(c);
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(l) = s.lines.recv_timeout(Duration::from_millis(200))
            && let Ok(HelperMessage::Socket { event }) = HelperMessage::decode(l.as_bytes())
        {
            got.push(*event);
        }
    }
    print_events(&got);
    assert!(
        got.iter()
            .any(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
    );
    assert!(
        got.iter()
            .all(|e| e.sport == Some(port) || e.dport == Some(port)),
        "only port {port}, never {other_port}"
    );

    // Unsubscribe: nothing more is delivered.
    s.send(&ConsoleMessage::Unsubscribe { id: 11 });
    s.ping(12);
    let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = wanted.accept().unwrap();
    drop(c);
    std::thread::sleep(Duration::from_millis(500));
    s.ping(13);
    let rest = s.close();
    assert!(
        !rest
            .iter()
            .any(|m| matches!(m, HelperMessage::Socket { .. })),
        "no events after unsubscribe"
    );
    // The final stats close.
    let last = rest
        .iter()
        .rev()
        .find_map(|m| match m {
            HelperMessage::Stats(st) => Some(*st),
            _ => None,
        })
        .expect("final stats");
    assert_eq!(
        last.events + last.lost + last.sampled_out + last.rate_limited + last.dropped,
        last.generated,
        "{last:?}"
    );
    assert!(last.events >= got.len() as u64);
}

fn setpriv_nobody(args: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--",
    ])
    .arg(BIN)
    .args(args);
    c
}

fn setpriv_usable(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let setpriv = Command::new("setpriv").arg("--version").output().is_ok();
    !skip_unless(
        test,
        (!root || !setpriv).then(|| "needs root and setpriv to drop privileges".to_string()),
    )
}

#[test]
fn unprivileged_trace_exits_1_naming_capabilities() {
    if !setpriv_usable("unprivileged_trace_exits_1_naming_capabilities") {
        return;
    }
    let out = setpriv_nobody(&["trace", "--duration", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("CAP_BPF and CAP_PERFMON are required (or root)"),
        "{err}"
    );
    assert!(err.contains("missing: CAP_BPF, CAP_PERFMON"), "{err}");
    assert!(out.stdout.is_empty(), "no invented events");
}

#[test]
fn unprivileged_serve_says_hello_without_ebpf() {
    if !setpriv_usable("unprivileged_serve_says_hello_without_ebpf") {
        return;
    }
    let mut s = Serve::start(&mut setpriv_nobody(&["serve"]));
    let h = hello(&mut s);
    assert!(!h.ebpf);
    assert!(h.probes.is_empty());
    assert_eq!(h.missing_capabilities, vec!["CAP_BPF", "CAP_PERFMON"]);
    assert!(
        h.ebpf_error
            .as_deref()
            .unwrap()
            .contains("CAP_BPF and CAP_PERFMON are required")
    );
    s.send(&ConsoleMessage::Subscribe {
        id: 1,
        filters: Filters::default(),
    });
    let e = s.expect_error(ErrorCode::NotPermitted);
    assert_eq!(e.id, Some(1));
    assert!(e.message.contains("CAP_BPF"), "{}", e.message);
    s.ping(2);
    let rest = s.close();
    assert!(
        !rest
            .iter()
            .any(|m| matches!(m, HelperMessage::Socket { .. }))
    );
}

#[test]
fn serve_stops_on_sigterm_and_leaves_nothing_attached() {
    if skip_without_ebpf("serve_stops_on_sigterm_and_leaves_nothing_attached") {
        return;
    }
    let mut s = Serve::start(Command::new(BIN).arg("serve"));
    assert!(hello(&mut s).ebpf);
    let pid = s.child.id();
    // Our programs are loaded while serving ...
    assert!(bpf_progs_of(pid) > 0);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    let status = wait_exit(
        &mut s.child,
        Duration::from_secs(10),
        "serve ignored SIGTERM",
    );
    assert!(status.success(), "{status}");
    // ... and nothing is pinned afterwards.
    let pinned = std::fs::read_dir("/sys/fs/bpf")
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains("ktui"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(pinned, 0);
}

/// How many BPF programs process `pid` holds (fdinfo of its descriptors).
fn bpf_progs_of(pid: u32) -> usize {
    let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    rd.flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .map(|l| l.to_string_lossy().contains("bpf-prog"))
                .unwrap_or(false)
        })
        .count()
}
