//! For tests/capture.rs: `ktui-helper serve` driven over stdio, the CLI's message lines,
//! traffic between namespaces (TCP, UDP with DNS queries, ICMP echo), and tshark's reading
//! of a capture file.

#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ktui_wire::{CaptureSpec, CaptureTarget, ConsoleMessage, Hello, HelperMessage, PacketLine};

use crate::common::*;

/// Root, iproute2 and tshark, or why not.
pub fn capture_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root (AF_PACKET and network namespaces)".into());
    }
    for tool in ["ip", "tshark", "capinfos", "sha256sum"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

pub fn ready(test: &str) -> bool {
    !skip_unless(test, capture_unavailable())
}

/// A running `ktui-helper serve` with its own capture directory.
pub struct Serve {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: mpsc::Receiver<String>,
    pub hello: Hello,
    pub dir: tempfile::TempDir,
    /// Every message seen so far, in order.
    pub seen: Vec<HelperMessage>,
}

impl Serve {
    pub fn start() -> Serve {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(BIN)
            .arg("serve")
            .env("KTUI_CAPTURE_DIR", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ktui-helper serve");
        let stdin = child.stdin.take();
        let rx = lines(child.stdout.take().unwrap());
        let first = rx.recv_timeout(Duration::from_secs(60)).expect("hello");
        let HelperMessage::Hello(hello) = HelperMessage::decode(first.as_bytes()).unwrap() else {
            panic!("first line is not hello: {first}")
        };
        Serve {
            child,
            stdin,
            rx,
            hello,
            dir,
            seen: Vec::new(),
        }
    }

    pub fn send(&mut self, m: &ConsoleMessage) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(ktui_wire::encode(m).as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn start_capture(&mut self, id: u64, spec: CaptureSpec) {
        self.send(&ConsoleMessage::CaptureStart { id, spec });
    }

    /// Read messages until one satisfies `pred` (returned; all are kept in `seen`).
    pub fn until(
        &mut self,
        what: &str,
        mut pred: impl FnMut(&HelperMessage) -> bool,
    ) -> HelperMessage {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("waiting for {what}; seen: {:#?}", self.kinds()));
            let m = HelperMessage::decode(line.as_bytes())
                .unwrap_or_else(|e| panic!("line {line:?}: {e}"));
            self.seen.push(m.clone());
            if pred(&m) {
                return m;
            }
        }
    }

    /// The type and id of each message seen (stats left out).
    pub fn kinds(&self) -> Vec<String> {
        self.seen
            .iter()
            .filter(|m| {
                !matches!(
                    m,
                    HelperMessage::Stats(_)
                        | HelperMessage::CaptureStats { .. }
                        | HelperMessage::Packet { .. }
                )
            })
            .map(|m| {
                format!(
                    "{} {}",
                    m.type_name(),
                    id_of(m).map_or(String::new(), |i| i.to_string())
                )
            })
            .collect()
    }

    /// SIGTERM (the pod is deleted) and wait for the exit; every message seen.
    pub fn terminate(self) -> (std::process::ExitStatus, Vec<HelperMessage>) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.close()
    }

    /// Close stdin (the console went away) and wait for the exit; every message seen.
    pub fn close(mut self) -> (std::process::ExitStatus, Vec<HelperMessage>) {
        drop(self.stdin.take());
        let status = wait_exit(
            &mut self.child,
            Duration::from_secs(30),
            "serve did not exit on stdin EOF",
        );
        let mut rest = Vec::new();
        while let Ok(l) = self.rx.recv_timeout(Duration::from_secs(2)) {
            rest.push(HelperMessage::decode(l.as_bytes()).unwrap());
        }
        self.seen.extend(rest);
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn id_of(m: &HelperMessage) -> Option<u64> {
    match m {
        HelperMessage::CaptureQueued { id, .. }
        | HelperMessage::CaptureStarted { id, .. }
        | HelperMessage::Packet { id, .. }
        | HelperMessage::CaptureStats { id, .. }
        | HelperMessage::CaptureFile { id, .. }
        | HelperMessage::CaptureDone { id, .. } => Some(*id),
        HelperMessage::Error(e) => e.id,
        _ => None,
    }
}

pub fn netns_spec(path: &str, interface: Option<&str>) -> CaptureSpec {
    let mut spec = CaptureSpec::new(CaptureTarget::Netns {
        path: path.to_string(),
    });
    spec.interface = interface.map(str::to_string);
    spec
}

/// `ktui-helper capture ARGS` run to its end: its messages and exit status.
pub fn cli_capture(
    args: &[&str],
    env: &[(&str, &str)],
    wrapper: &[&str],
) -> (Vec<HelperMessage>, std::process::ExitStatus) {
    let mut cmd = match wrapper.split_first() {
        Some((w, rest)) => {
            let mut c = Command::new(w);
            c.args(rest).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    let out = cmd
        .arg("capture")
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::inherit())
        .output()
        .expect("run ktui-helper capture");
    let msgs = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| HelperMessage::decode(l.as_bytes()).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect();
    (msgs, out.status)
}

pub const DNS_NAME: &str = "example.ktui.test";

/// A DNS query for `name` (type A), id `id`.
pub fn dns_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Send `count` ICMP echo requests to `dst` from a raw socket (the kernel answers them).
pub fn ping(dst: Ipv4Addr, count: u16) {
    // SAFETY: a raw ICMP socket, owned by the File below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: the descriptor is fresh and owned here.
    let _owner = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    for seq in 1..=count {
        let mut pkt = vec![8u8, 0, 0, 0, 0x12, 0x34];
        pkt.extend_from_slice(&seq.to_be_bytes());
        pkt.extend_from_slice(b"ktui-ping-payload");
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
        // SAFETY: an all-zero sockaddr_in is valid; then family and address are set.
        let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sa.sin_family = libc::AF_INET as u16;
        sa.sin_addr.s_addr = u32::from_ne_bytes(dst.octets());
        // SAFETY: sendto from our buffer to a sockaddr_in we own.
        let n = unsafe {
            libc::sendto(
                fd,
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_in>() as u32,
            )
        };
        assert_eq!(n as usize, pkt.len());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Traffic from namespace `client_ns` (None = this one) to `server` in `server_ns`: one TCP
/// exchange on `port`, `dns` DNS queries to server:53 over UDP each answered, 3 pings.
pub fn traffic(
    client_ns: Option<&str>,
    server_ns: Option<&str>,
    server: Ipv4Addr,
    port: u16,
    dns: u16,
) {
    let run_in = |ns: Option<&str>, f: Box<dyn FnOnce() + Send>| -> std::thread::JoinHandle<()> {
        match ns {
            Some(ns) => in_netns(ns, f),
            None => std::thread::spawn(f),
        }
    };
    let (ready_tx, ready_rx) = mpsc::channel();
    let srv = run_in(
        server_ns,
        Box::new(move || {
            let l = TcpListener::bind((server, port)).unwrap();
            let u = UdpSocket::bind((server, 53)).unwrap();
            ready_tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).unwrap();
            s.write_all(b"pong").unwrap();
            drop(s);
            u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = [0u8; 512];
            for _ in 0..dns {
                let (n, peer) = u.recv_from(&mut buf).unwrap();
                let mut answer = buf[..n].to_vec();
                answer[2] |= 0x80;
                u.send_to(&answer, peer).unwrap();
            }
        }),
    );
    ready_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    let cli = run_in(
        client_ns,
        Box::new(move || {
            let mut c = TcpStream::connect((server, port)).unwrap();
            c.write_all(b"ping").unwrap();
            let mut buf = [0u8; 4];
            c.read_exact(&mut buf).unwrap();
            drop(c);
            let u = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
            u.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            for i in 0..dns {
                u.send_to(&dns_query(0x4b00 + i, DNS_NAME), (server, 53))
                    .unwrap();
                let mut buf = [0u8; 512];
                u.recv_from(&mut buf).unwrap();
            }
            ping(server, 3);
        }),
    );
    cli.join().unwrap();
    srv.join().unwrap();
    // Let the last replies and FIN/ACKs land in the ring.
    std::thread::sleep(Duration::from_millis(300));
}

/// `count` datagrams of `size` bytes from namespace A to B's `port`, 5 ms apart, starting
/// half a second from now (once the capture started), on a thread of their own. With
/// `receive`, a socket in B is bound to the port first (else B answers with ICMP errors).
pub fn udp_burst(
    pair: &NetnsPair,
    count: usize,
    size: usize,
    port: u16,
    receive: bool,
) -> std::thread::JoinHandle<()> {
    let addr_a: Ipv4Addr = pair.addr_a.parse().unwrap();
    let addr_b: Ipv4Addr = pair.addr_b.parse().unwrap();
    let (a, b) = (pair.a.clone(), pair.b.clone());
    std::thread::spawn(move || {
        let _receiver = receive.then(|| {
            in_netns(&b, move || UdpSocket::bind((addr_b, port)).unwrap())
                .join()
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(500));
        in_netns(&a, move || {
            let u = UdpSocket::bind((addr_a, 0)).unwrap();
            let payload = vec![7u8; size];
            for _ in 0..count {
                let _ = u.send_to(&payload, (addr_b, port));
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .join()
        .unwrap();
    })
}

/// One frame as tshark reads it, in PacketLine terms (outermost headers; tshark is not asked
/// for `vlan` and `truncated`: None and false).
pub type Truth = PacketLine;

const FLAGS: [&str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

pub fn tshark(file: &std::path::Path, filter: Option<&str>) -> Vec<Truth> {
    let fields = [
        "frame.number",
        "frame.time_epoch",
        "frame.len",
        "frame.cap_len",
        "ip.src",
        "ip.dst",
        "ipv6.src",
        "ipv6.dst",
        "eth.src",
        "eth.dst",
        "ip.proto",
        "ipv6.nxt",
        "tcp.srcport",
        "tcp.dstport",
        "tcp.flags",
        "udp.srcport",
        "udp.dstport",
        "icmp.type",
        "icmpv6.type",
        "dns.qry.name",
        "arp.opcode",
    ];
    let mut cmd = Command::new("tshark");
    cmd.arg("-n").arg("-r").arg(file);
    cmd.args([
        "-o",
        "ip.defragment:FALSE",
        "-o",
        "tcp.desegment_tcp_streams:FALSE",
    ]);
    if let Some(f) = filter {
        cmd.args(["-Y", f]);
    }
    cmd.args(["-T", "fields", "-E", "separator=/t", "-E", "occurrence=f"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.stderr(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "tshark failed on {}", file.display());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let f = |i: usize| {
                c.get(i)
                    .copied()
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            let num = |i: usize| f(i).map(|s| s.parse::<u64>().unwrap());
            let (tcp, udp, icmp, icmp6, arp) = (
                f(12).is_some(),
                f(15).is_some(),
                f(17).is_some(),
                f(18).is_some(),
                f(20).is_some(),
            );
            let proto = if tcp {
                Some("tcp".into())
            } else if udp {
                Some("udp".into())
            } else if icmp {
                Some("icmp".into())
            } else if icmp6 {
                Some("icmpv6".into())
            } else if arp {
                Some("arp".into())
            } else {
                f(10).or(f(11))
            };
            let ip = f(4).is_some() || f(6).is_some();
            Truth {
                n: num(0).unwrap(),
                ts: Some(f(1).unwrap()),
                len: num(2).unwrap() as u32,
                caplen: num(3).unwrap() as u32,
                src: f(4).or(f(6)).or(if ip { None } else { f(8) }),
                dst: f(5).or(f(7)).or(if ip { None } else { f(9) }),
                proto,
                sport: if tcp {
                    num(12)
                } else if udp {
                    num(15)
                } else {
                    None
                }
                .map(|p| p as u16),
                dport: if tcp {
                    num(13)
                } else if udp {
                    num(16)
                } else {
                    None
                }
                .map(|p| p as u16),
                tcp_flags: f(14).map(|h| {
                    let bits = u16::from_str_radix(h.trim_start_matches("0x"), 16).unwrap();
                    FLAGS
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| bits & (1 << i) != 0)
                        .map(|(_, n)| *n)
                        .collect::<Vec<_>>()
                        .join(",")
                }),
                icmp_type: f(17).or(f(18)).map(|t| t.parse().unwrap()),
                vlan: None,
                dns_qname: f(19),
                truncated: false,
            }
        })
        .collect()
}

/// The summary's view of the same fields.
pub fn as_truth(p: &PacketLine) -> Truth {
    PacketLine {
        vlan: None,
        truncated: false,
        ..p.clone()
    }
}

pub fn sha256sum(path: &str) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

pub fn capinfos_packets(path: &str) -> u64 {
    let out = Command::new("capinfos")
        .args(["-M", "-c", path])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("Number of packets:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or_else(|| panic!("capinfos {path}: {text}"))
}
