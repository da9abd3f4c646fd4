#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The kernel accepts the compiled programs and runs them as `filter::run` does. In a fresh
//! pair of network namespaces joined by a veth, two AF_PACKET sockets listen on the same veth,
//! one with the program attached (SO_ATTACH_FILTER: the kernel validates classic BPF there)
//! and one without; `a` sends UDP to ports 53 and 9999 and ICMP echo requests over IPv4 and
//! IPv6 (and ARP / neighbour discovery happen). Every frame the unfiltered socket saw reaches
//! the filtered one exactly when `run` accepts it, cut to the snaplen, and an independent
//! reading of the frames checks the meaning (`udp port 53` really is UDP to or from 53).

mod common;

use std::net::UdpSocket;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use ktui_packet::LinkType;
use ktui_packet::filter::{BpfInsn, Filter, run};

fn ready(test: &str) -> bool {
    !skip_unless(test, needs_root().or_else(|| needs_tool("ip", "-V")))
}

fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces `a` (10.99.n.1, fd00:99:n::1) and `b` (.2, ::2) joined by a veth; deleted on drop.
struct Pair {
    a: String,
    b: String,
    dev_b: String,
    v4: [String; 2],
    v6: [String; 2],
}

impl Pair {
    fn new(n: u8) -> Pair {
        let pid = std::process::id();
        let (a, b) = (format!("ktuibpf{n}a{pid}"), format!("ktuibpf{n}b{pid}"));
        let (va, vb) = (
            format!("kba{n}{}", pid % 10000),
            format!("kbb{n}{}", pid % 10000),
        );
        let v4 = [format!("10.99.{n}.1"), format!("10.99.{n}.2")];
        let v6 = [format!("fd00:99:{n}::1"), format!("fd00:99:{n}::2")];
        let _ = Command::new("ip").args(["netns", "del", &a]).output();
        let _ = Command::new("ip").args(["netns", "del", &b]).output();
        let quiet = "sysctl -qw net.ipv6.conf.all.router_solicitations=0 \
                     net.ipv6.conf.default.router_solicitations=0";
        sh(&format!(
            "ip netns add {a} && ip netns add {b} && \
             ip netns exec {a} {quiet} && ip netns exec {b} {quiet} && \
             ip link add {va} netns {a} type veth peer name {vb} netns {b} && \
             ip -n {a} addr add {}/24 dev {va} && ip -n {b} addr add {}/24 dev {vb} && \
             ip -n {a} link set {va} up && ip -n {b} link set {vb} up && \
             ip -n {a} addr add {}/64 dev {va} nodad && ip -n {b} addr add {}/64 dev {vb} nodad",
            v4[0], v4[1], v6[0], v6[1]
        ));
        Pair {
            a,
            b,
            dev_b: vb,
            v4,
            v6,
        }
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.a]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.b]).output();
    }
}

/// Run `f` on a thread that has entered network namespace `name`.
fn in_netns<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let path = format!("/run/netns/{name}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on a namespace fd we own, for this thread only.
        let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
        f()
    })
}

/// An AF_PACKET socket on `dev` with `prog` attached before it is bound (so no frame gets in
/// unfiltered), or the attach error.
fn packet_socket(dev: &str, prog: Option<&[BpfInsn]>) -> std::io::Result<OwnedFd> {
    // SAFETY: plain socket(2); protocol 0 receives nothing until bound with a protocol.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    if let Some(prog) = prog {
        attach(&fd, prog)?;
    }
    let name = std::ffi::CString::new(dev).unwrap();
    // SAFETY: a NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(name.as_ptr()) };
    assert_ne!(ifindex, 0, "no interface {dev}");
    // SAFETY: an all-zero sockaddr_ll is valid; the fields set below complete it.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: sll is a sockaddr_ll of the size passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

fn attach(fd: &OwnedFd, prog: &[BpfInsn]) -> std::io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: fprog points at insns, alive for the call; the kernel copies the program.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as u32,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A received frame: the bytes the socket got and the length recv reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    data: Vec<u8>,
    len: usize,
}

fn drain(fd: &OwnedFd, out: &mut Vec<Got>) {
    let mut buf = vec![0u8; 70_000];
    loop {
        // SAFETY: buf is writable for its length; MSG_TRUNC makes recv return the real length.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        if n < 0 {
            return;
        }
        let n = n as usize;
        out.push(Got {
            data: buf[..n.min(buf.len())].to_vec(),
            len: n,
        });
    }
}

/// Listen on `b`'s veth with and without `prog` while `a` sends the traffic; returns what
/// the filtered and the unfiltered socket received.
fn capture(pair: &Pair, prog: Vec<BpfInsn>) -> (Vec<Got>, Vec<Got>) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let dev = pair.dev_b.clone();
    let listener = in_netns(&pair.b, move || {
        let filtered = packet_socket(&dev, Some(&prog)).expect("the kernel accepts the program");
        let all = packet_socket(&dev, None).unwrap();
        ready_tx.send(()).unwrap();
        let (mut got, mut seen) = (Vec::new(), Vec::new());
        done_rx.recv().unwrap();
        // Quiet for 300 ms, then read both at once.
        std::thread::sleep(Duration::from_millis(300));
        drain(&filtered, &mut got);
        drain(&all, &mut seen);
        (got, seen)
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    sh(&format!("ip -n {} neigh flush all", pair.a));
    let (v4, v6) = (pair.v4[1].clone(), pair.v6[1].clone());
    in_netns(&pair.a, move || send_traffic(&v4, &v6))
        .join()
        .unwrap();
    done_tx.send(()).unwrap();
    listener.join().unwrap()
}

fn send_traffic(v4: &str, v6: &str) {
    let payload = [0x5au8; 100];
    let u4 = UdpSocket::bind("0.0.0.0:0").unwrap();
    let u6 = UdpSocket::bind("[::]:0").unwrap();
    for port in [53u16, 9999] {
        u4.send_to(&payload, (v4, port)).unwrap();
        u6.send_to(&payload, (v6, port)).unwrap();
        std::thread::sleep(Duration::from_millis(20));
    }
    echo(libc::AF_INET, v4);
    echo(libc::AF_INET6, v6);
    // Let the replies (echo replies, port unreachables) arrive.
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An ICMP / ICMPv6 echo request through a raw socket.
fn echo(family: i32, dst: &str) {
    let v6 = family == libc::AF_INET6;
    let proto = if v6 {
        libc::IPPROTO_ICMPV6
    } else {
        libc::IPPROTO_ICMP
    };
    // SAFETY: plain socket(2).
    let fd = unsafe { libc::socket(family, libc::SOCK_RAW | libc::SOCK_CLOEXEC, proto) };
    assert!(fd >= 0, "raw socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut msg = vec![if v6 { 128 } else { 8 }, 0, 0, 0, 0x12, 0x34, 0, 1];
    msg.extend_from_slice(&[0xa5; 32]);
    if !v6 {
        // IPv4 ICMP carries its own checksum (the kernel fills ICMPv6's).
        let sum = msg
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
            .sum::<u32>();
        let sum = (sum & 0xffff) + (sum >> 16);
        let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    let rc = match dst.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(a) => {
            // SAFETY: zeroed sockaddr_in is valid; family and address set below.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as u16;
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
            send_to(&fd, &msg, &sa)
        }
        std::net::IpAddr::V6(a) => {
            // SAFETY: zeroed sockaddr_in6 is valid; family and address set below.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as u16;
            sa.sin6_addr.s6_addr = a.octets();
            send_to(&fd, &msg, &sa)
        }
    };
    assert!(rc > 0, "echo to {dst}: {}", std::io::Error::last_os_error());
}

/// sendto(2) of `msg` to the socket address `sa` (a `sockaddr_in` or `sockaddr_in6`).
fn send_to<T>(fd: &OwnedFd, msg: &[u8], sa: &T) -> isize {
    // SAFETY: msg and sa are valid for the lengths passed.
    unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (sa as *const T).cast(),
            std::mem::size_of::<T>() as u32,
        )
    }
}

/// What the test itself reads from a frame, independently of the compiler.
#[derive(Debug, Default)]
struct Seen {
    ethertype: u16,
    proto: Option<u8>,
    sport: Option<u16>,
    dport: Option<u16>,
    src: Vec<u8>,
    dst: Vec<u8>,
}

fn read_frame(f: &[u8]) -> Seen {
    let mut s = Seen {
        ethertype: u16::from_be_bytes([f[12], f[13]]),
        ..Seen::default()
    };
    let ip = &f[14..];
    let (proto, l4) = match s.ethertype {
        0x0800 => {
            s.src = ip[12..16].to_vec();
            s.dst = ip[16..20].to_vec();
            let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff;
            (
                ip[9],
                (frag == 0).then(|| &ip[usize::from(ip[0] & 0xf) * 4..]),
            )
        }
        0x86dd => {
            s.src = ip[8..24].to_vec();
            s.dst = ip[24..40].to_vec();
            (ip[6], Some(&ip[40..]))
        }
        0x0806 => {
            // ARP: the sender and target protocol addresses.
            s.src = ip[14..18].to_vec();
            s.dst = ip[24..28].to_vec();
            return s;
        }
        _ => return s,
    };
    s.proto = Some(proto);
    if let (6 | 17, Some(l4)) = (proto, l4) {
        s.sport = Some(u16::from_be_bytes([l4[0], l4[1]]));
        s.dport = Some(u16::from_be_bytes([l4[2], l4[3]]));
    }
    s
}

fn ip_bytes(a: &str) -> Vec<u8> {
    match a.parse::<std::net::IpAddr>().unwrap() {
        std::net::IpAddr::V4(v) => v.octets().to_vec(),
        std::net::IpAddr::V6(v) => v.octets().to_vec(),
    }
}

/// Attach `expr` compiled with `snaplen`, check kernel = interpreter frame by frame, and
/// return what the filtered socket got (read back) for the case's own checks.
fn case(pair: &Pair, expr: &str, snaplen: u32) -> Vec<Seen> {
    let prog = Filter::parse(expr)
        .unwrap()
        .compile(LinkType::Ethernet, snaplen)
        .unwrap();
    let (got, seen) = capture(pair, prog.clone());
    assert!(seen.len() >= 12, "{expr}: the traffic was seen: {seen:?}");
    // Every frame the unfiltered socket saw: accepted by `run` exactly when the filtered socket
    // got it, cut to the snaplen.
    let mut rest = got.clone();
    for f in &seen {
        let verdict = run(&prog, &f.data, f.len as u32);
        // The kernel trims an accepted frame to the program's return value (recv then
        // reports the trimmed length; TPACKET rings keep the original in tp_len).
        let cut = Got {
            data: f.data[..f.data.len().min(snaplen as usize)].to_vec(),
            len: f.len.min(snaplen as usize),
        };
        let pos = rest.iter().position(|g| *g == cut);
        match (verdict, pos) {
            (0, None) => {}
            (v, Some(i)) if v > 0 => {
                assert_eq!(v, snaplen, "{expr}: accept returns the snaplen");
                rest.remove(i);
            }
            (v, p) => panic!(
                "{expr}: run says {v}, the kernel {} a frame: {:02x?}",
                if p.is_some() { "delivered" } else { "dropped" },
                f.data
            ),
        }
    }
    assert!(
        rest.is_empty(),
        "{expr}: the filtered socket got frames the other did not: {rest:?}"
    );
    // Read back the full frames the filtered socket got (matched by their cut prefix).
    got.iter()
        .map(|g| {
            let full = seen.iter().find(|f| f.data.starts_with(&g.data)).unwrap();
            read_frame(&full.data)
        })
        .collect()
}

#[test]
fn kernel_runs_the_compiled_programs_like_the_interpreter() {
    let test = "kernel_runs_the_compiled_programs_like_the_interpreter";
    if !ready(test) {
        return;
    }
    let pair = Pair::new(1);
    // Let link-local addresses and their announcements settle.
    std::thread::sleep(Duration::from_millis(500));
    let (a4, b4) = (ip_bytes(&pair.v4[0]), ip_bytes(&pair.v4[1]));
    let (a6, b6) = (ip_bytes(&pair.v6[0]), ip_bytes(&pair.v6[1]));

    // UDP to port 53 (v4 and v6), cut to 64 bytes: nothing to 9999, no ICMP, no ARP.
    let got = case(&pair, "udp port 53", 64);
    assert!(
        got.iter()
            .all(|s| s.proto == Some(17) && (s.dport == Some(53) || s.sport == Some(53)))
    );
    assert!(
        got.iter().any(|s| s.ethertype == 0x0800 && s.dst == b4),
        "{got:?}"
    );
    assert!(
        got.iter().any(|s| s.ethertype == 0x86dd && s.dst == b6),
        "{got:?}"
    );

    // ICMP: the echo request, its reply and the port unreachables, IPv4 only.
    let got = case(&pair, "icmp", 262_144);
    assert!(
        got.iter()
            .all(|s| s.ethertype == 0x0800 && s.proto == Some(1))
    );
    assert!(got.len() >= 4, "request, reply, two unreachables: {got:?}");

    // Everything except DNS and ARP: port 9999, ICMP, ICMPv6 (neighbour discovery too).
    let got = case(&pair, "not (port 53 or arp)", 262_144);
    assert!(
        got.iter()
            .all(|s| s.ethertype != 0x0806 && s.dport != Some(53) && s.sport != Some(53))
    );
    assert!(got.iter().any(|s| s.dport == Some(9999)));
    assert!(got.iter().any(|s| s.proto == Some(58)));

    // ARP only (the neighbour cache was flushed before the traffic).
    let got = case(&pair, "arp", 262_144);
    assert!(!got.is_empty() && got.iter().all(|s| s.ethertype == 0x0806));

    // IPv6 from a to b, UDP: the two datagrams.
    let expr = format!(
        "src host {} and dst host {} and udp",
        pair.v6[0], pair.v6[1]
    );
    let got = case(&pair, &expr, 262_144);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got.iter()
            .all(|s| s.src == a6 && s.dst == b6 && s.proto == Some(17))
    );

    // A long program: 100 hosts, the last one a's; far jumps through trampolines.
    let mut hosts: Vec<String> = (1..=99).map(|i| format!("host 192.0.2.{i}")).collect();
    hosts.push(format!("host {}", pair.v4[0]));
    let expr = hosts.join(" or ");
    let prog = Filter::parse(&expr)
        .unwrap()
        .compile(LinkType::Ethernet, 262_144)
        .unwrap();
    assert!(prog.len() > 512, "{} instructions", prog.len());
    let got = case(&pair, &expr, 262_144);
    assert!(!got.is_empty());
    assert!(got.iter().all(|s| s.src == a4 || s.dst == a4));

    // A longer one that shares no loads: alternating ports and hosts, then port 9999. (The
    // kernel charges a socket filter to net.core.optmem_max: at the default 131072, ~1000
    // loads attach, beyond that SO_ATTACH_FILTER fails with ENOMEM.)
    let mut terms = Vec::new();
    for i in 1..=50 {
        terms.push(format!("udp port {}", 20000 + i));
        terms.push(format!("host 192.0.2.{i}"));
    }
    terms.push("udp port 9999".into());
    let expr = terms.join(" or ");
    let prog = Filter::parse(&expr)
        .unwrap()
        .compile(LinkType::Ethernet, 262_144)
        .unwrap();
    assert!(prog.len() > 1500, "{} instructions", prog.len());
    let got = case(&pair, &expr, 262_144);
    assert_eq!(got.len(), 2, "the two datagrams to 9999: {got:?}");
    assert!(got.iter().all(|s| s.dport == Some(9999)));
}

#[test]
fn kernel_refuses_an_invalid_program() {
    // The acceptance above means something: a jump past the end does not attach.
    let test = "kernel_refuses_an_invalid_program";
    if !ready(test) {
        return;
    }
    let pair = Pair::new(2);
    let dev = pair.dev_b.clone();
    // `jeq #0 jt 5` in a program of two instructions, then `ret #0`.
    let bad = [
        BpfInsn {
            code: 0x15,
            jt: 5,
            jf: 0,
            k: 0,
        },
        BpfInsn {
            code: 0x06,
            jt: 0,
            jf: 0,
            k: 0,
        },
    ];
    let err = in_netns(&pair.b, move || packet_socket(&dev, Some(&bad)).map(|_| ()))
        .join()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
    assert!(ktui_packet::filter::check(&bad).is_err());
}
