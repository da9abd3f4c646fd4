#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The host's conntrack entry on events, as on a node: a client and a backend network
//! namespace, each joined to the host by a veth pair and routed through it, and host iptables
//! rules that DNAT a "Service VIP" 10.96.x.y (TCP :80 → backend :8080, UDP :53 → :5353, TCP
//! :81 → :8081 where nothing listens). Events seen in the client's and in the backend's
//! namespace carry the entry that lives in the host's: the backend as the reply's source,
//! the VIP as the original destination, `nat: dnat`.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use ktui_helper::dns;
use ktui_wire::{Conntrack, SocketEvent};

/// One topology at a time: they share the host's ip_forward setting.
static HOST: Mutex<()> = Mutex::new(());

fn ready(test: &str) -> bool {
    if skip_without_ebpf(test) {
        return false;
    }
    let missing = ["ip", "iptables", "setpriv"]
        .into_iter()
        .find(|tool| Command::new(tool).arg("-V").output().is_err());
    !skip_unless(test, missing.map(|t| format!("{t} is not installed")))
}

/// The client and backend namespaces, the host's DNAT rules (tagged with a comment naming
/// this process) and ip_forward; all undone on drop, a panic included.
struct Nat {
    client: String,
    backend: String,
    client_addr: String,
    backend_addr: String,
    vip: String,
    comment: String,
    forward_was: String,
}

impl Nat {
    fn new(tag: &str, subnet: u8) -> Nat {
        let pid = std::process::id();
        let client = format!("ktui{tag}c{pid}");
        let backend = format!("ktui{tag}b{pid}");
        let (hc, hb) = (
            format!("k{tag}c{}", pid % 100_000),
            format!("k{tag}b{}", pid % 100_000),
        );
        let (net_c, net_b) = (format!("10.79.{subnet}"), format!("10.79.{}", subnet + 1));
        let vip = format!("10.96.{}.{}", pid % 250, 1 + (pid / 250) % 250);
        let forward_was = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
            .unwrap()
            .trim()
            .to_string();
        let nat = Nat {
            client: client.clone(),
            backend: backend.clone(),
            client_addr: format!("{net_c}.2"),
            backend_addr: format!("{net_b}.2"),
            vip: vip.clone(),
            comment: format!("ktui-test-{pid}"),
            forward_was,
        };
        nat.undo();
        for (ns, host_if, net) in [(&client, &hc, &net_c), (&backend, &hb, &net_b)] {
            sh(&format!(
                "ip netns add {ns} && ip link add {host_if} type veth peer name eth0 netns {ns} && \
                 ip addr add {net}.1/24 dev {host_if} && ip link set {host_if} up && \
                 ip -n {ns} addr add {net}.2/24 dev eth0 && ip -n {ns} link set eth0 up && \
                 ip -n {ns} link set lo up && ip -n {ns} route add default via {net}.1"
            ));
        }
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").unwrap();
        let c = &nat.comment;
        let b = &nat.backend_addr;
        for (proto, port, to) in [("tcp", 80, 8080), ("udp", 53, 5353), ("tcp", 81, 8081)] {
            sh(&format!(
                "iptables -t nat -A PREROUTING -d {vip} -p {proto} --dport {port} \
                 -m comment --comment {c} -j DNAT --to-destination {b}:{to}"
            ));
        }
        // Forwarded whatever the FORWARD policy (a container runtime may have made it DROP).
        for dir in ["-i", "-o"] {
            sh(&format!(
                "iptables -I FORWARD {dir} {hc} -m comment --comment {c} -j ACCEPT"
            ));
        }
        nat
    }

    /// Delete this process's rules and namespaces (the host ends of the veth pairs go with
    /// them) and restore ip_forward.
    fn undo(&self) {
        for table in ["nat", "filter"] {
            let out = Command::new("iptables")
                .args(["-t", table, "-S"])
                .output()
                .unwrap();
            for rule in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(rest) = rule.strip_prefix("-A ")
                    && rule.split_whitespace().any(|w| w == self.comment)
                {
                    let _ = Command::new("iptables")
                        .args(["-t", table, "-D"])
                        .args(rest.split_whitespace())
                        .output();
                }
            }
        }
        for ns in [&self.client, &self.backend] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::write("/proc/sys/net/ipv4/ip_forward", &self.forward_was);
    }

    fn ns_inode(&self, ns: &str) -> u64 {
        ns_inode(&NetnsPair::path(ns))
    }
}

impl Drop for Nat {
    fn drop(&mut self) {
        self.undo();
    }
}

/// Both ends keep the connection this long: the helper reads the entry shortly after each
/// event, and by then a connection closed at once would be in CLOSE_WAIT or TIME_WAIT.
const HOLD: Duration = Duration::from_millis(600);

/// A backend on :8080 that answers one ping.
fn serve_tcp(nat: &Nat) -> std::thread::JoinHandle<()> {
    let addr = nat.backend_addr.clone();
    in_netns(&nat.backend, move || {
        let l = TcpListener::bind((addr.as_str(), 8080)).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"pong").unwrap();
        std::thread::sleep(HOLD);
    })
}

/// Connect from the client to VIP:80, ping, wait for the pong; the client's port.
fn connect_vip(nat: &Nat) -> u16 {
    let vip = nat.vip.clone();
    in_netns(&nat.client, move || {
        let mut c = TcpStream::connect((vip.as_str(), 80)).unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        std::thread::sleep(HOLD);
        c.local_addr().unwrap().port()
    })
    .join()
    .unwrap()
}

fn ct(e: &SocketEvent) -> &Conntrack {
    e.conntrack
        .as_ref()
        .unwrap_or_else(|| panic!("no conntrack on {}", serde_json::to_string(e).unwrap()))
}

/// The entry of a flow from the client to the VIP, translated to `backend_port`.
fn assert_translated(nat: &Nat, c: &Conntrack, vip_port: u16, backend_port: u16, client: u16) {
    let reply = c.reply.as_ref().unwrap();
    assert_eq!(reply.src, nat.backend_addr, "the backend answers");
    assert_eq!(reply.sport, Some(backend_port));
    assert_eq!(reply.dst, nat.client_addr);
    assert_eq!(reply.dport, Some(client));
    let orig = c.orig.as_ref().unwrap();
    assert_eq!(
        (orig.src.as_str(), orig.sport),
        (nat.client_addr.as_str(), Some(client))
    );
    assert_eq!(
        (orig.dst.as_str(), orig.dport),
        (nat.vip.as_str(), Some(vip_port))
    );
    assert_eq!(c.nat.as_deref(), Some("dnat"));
}

#[test]
fn connects_to_a_service_vip_carry_the_backend_it_was_translated_to() {
    if !ready("connects_to_a_service_vip_carry_the_backend_it_was_translated_to") {
        return;
    }
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let nat = Nat::new("n", 210);
    let trace = Trace::start(&["--duration", "4s", "--ports", "80,81,8080,8081,53,5353"]);
    assert_eq!(trace.probes["conntrack"]["attach"], "netlink:ctnetlink");

    // TCP: established through the VIP.
    let server = serve_tcp(&nat);
    std::thread::sleep(Duration::from_millis(200));
    let client_port = connect_vip(&nat);
    server.join().unwrap();

    // TCP: refused by the backend (its entry is destroyed as the reset passes the host).
    let vip = nat.vip.clone();
    let refused = in_netns(&nat.client, move || {
        TcpStream::connect((vip.as_str(), 81))
            .unwrap_err()
            .raw_os_error()
    });
    assert_eq!(refused.join().unwrap(), Some(libc::ECONNREFUSED));

    // UDP: a DNS query to the VIP, answered by the backend on :5353.
    let addr = nat.backend_addr.clone();
    let dns_server = in_netns(&nat.backend, move || {
        let s = UdpSocket::bind((addr.as_str(), 5353)).unwrap();
        let mut buf = [0u8; 512];
        let (n, peer) = s.recv_from(&mut buf).unwrap();
        s.send_to(&dns::build_response(&buf[..n], 0), peer).unwrap();
    });
    std::thread::sleep(Duration::from_millis(100));
    let vip = nat.vip.clone();
    let dns_port = in_netns(&nat.client, move || {
        let s = UdpSocket::bind("0.0.0.0:0").unwrap();
        s.connect((vip.as_str(), 53)).unwrap();
        s.send(&dns::build_query(7, "backend.svc", 1)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 512];
        s.recv(&mut buf).unwrap();
        s.local_addr().unwrap().port()
    })
    .join()
    .unwrap();
    dns_server.join().unwrap();

    let (events, _, status) = trace.finish();
    assert!(status.success());
    print_events(&events);
    let (ns_client, ns_backend) = (nat.ns_inode(&nat.client), nat.ns_inode(&nat.backend));

    // The client's side: its own tuple is the entry's original direction.
    let est = state_change(
        &events,
        "SYN_SENT",
        "ESTABLISHED",
        Some(client_port),
        Some(80),
    )
    .expect("the client's connection established");
    assert_eq!(est.netns, Some(ns_client));
    assert_translated(&nat, ct(est), 80, 8080, client_port);
    assert_eq!(ct(est).state.as_deref(), Some("ESTABLISHED"), "{est:?}");
    let connect = events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.sport == Some(client_port))
        .expect("the connect event");
    assert_translated(&nat, ct(connect), 80, 8080, client_port);
    assert_eq!(ct(connect).state.as_deref(), Some("ESTABLISHED"));

    // The backend's side: its tuple is the reply direction; the VIP is in `orig`.
    let srv = state_change(
        &events,
        "SYN_RECV",
        "ESTABLISHED",
        Some(8080),
        Some(client_port),
    )
    .expect("the backend's connection established");
    assert_eq!(srv.netns, Some(ns_backend));
    assert_translated(&nat, ct(srv), 80, 8080, client_port);
    assert_eq!(ct(srv).state.as_deref(), Some("ESTABLISHED"), "{srv:?}");

    // The refused connect: the VIP, and the backend that refused it.
    let failed = events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.dport == Some(81))
        .expect("the refused connect");
    assert_eq!(failed.errno, Some(libc::ECONNREFUSED));
    assert_translated(&nat, ct(failed), 81, 8081, failed.sport.unwrap());

    // UDP: the query's events carry the entry; the answer's says it was answered.
    let flow: Vec<&SocketEvent> = events
        .iter()
        .filter(|e| e.netns == Some(ns_client) && e.sport == Some(dns_port))
        .collect();
    assert!(!flow.is_empty(), "the DNS query's events");
    for e in &flow {
        assert_translated(&nat, ct(e), 53, 5353, dns_port);
    }
    let answer = flow
        .iter()
        .find(|e| e.direction == Some(ktui_wire::Direction::Recv) || e.kind.as_str() == "udp_recv")
        .expect("the answer's event");
    assert!(
        matches!(ct(answer).state.as_deref(), Some("REPLIED" | "ASSURED")),
        "{:?}",
        ct(answer).state
    );
}

/// Runs the helper without CAP_NET_ADMIN (as the helper pod may).
const NO_NET_ADMIN: [&str; 3] = ["setpriv", "--bounding-set=-net_admin", "--"];

#[test]
fn without_net_admin_the_table_is_read_from_proc() {
    if !ready("without_net_admin_the_table_is_read_from_proc") {
        return;
    }
    let _host = HOST.lock().unwrap_or_else(|e| e.into_inner());
    let nat = Nat::new("p", 214);
    let trace = Trace::start_via(&NO_NET_ADMIN, &["--duration", "6s", "--ports", "80,8080"]);
    let probe = &trace.probes["conntrack"];
    assert_eq!(probe["attach"], "file:/proc/net/nf_conntrack", "{probe}");
    assert_eq!(probe["fallback"], true);

    // Only what the table held at a read (every 2 s) is known: the connection's closing
    // events, 3 s after it was established, carry its entry.
    let addr = nat.backend_addr.clone();
    let server = in_netns(&nat.backend, move || {
        let l = TcpListener::bind((addr.as_str(), 8080)).unwrap();
        let (mut s, _) = l.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        let _ = s.read(&mut buf);
    });
    std::thread::sleep(Duration::from_millis(200));
    let vip = nat.vip.clone();
    let client_port = in_netns(&nat.client, move || {
        let mut c = TcpStream::connect((vip.as_str(), 80)).unwrap();
        c.write_all(b"ping").unwrap();
        std::thread::sleep(Duration::from_secs(3));
        c.local_addr().unwrap().port()
    })
    .join()
    .unwrap();
    server.join().unwrap();

    let (events, _, status, notices) = trace.finish_with_notices();
    assert!(status.success());
    print_events(&events);
    assert_eq!(notices.len(), 1, "said once: {notices:?}");
    assert!(
        notices[0].contains("ctnetlink refused (EPERM): add CAP_NET_ADMIN"),
        "{notices:?}"
    );
    let closing = state_change(
        &events,
        "ESTABLISHED",
        "FIN_WAIT1",
        Some(client_port),
        Some(80),
    )
    .expect("the client closes");
    assert_translated(&nat, ct(closing), 80, 8080, client_port);
}

#[test]
fn without_net_admin_nor_the_proc_file_conntrack_is_null_and_says_why() {
    let test = "without_net_admin_nor_the_proc_file_conntrack_is_null_and_says_why";
    if !ready(test) {
        return;
    }
    let empty = tempfile::tempdir().unwrap();
    let root = format!("KTUI_PROC_ROOT={}", empty.path().display());
    let wrapper = [&["env", root.as_str()][..], &NO_NET_ADMIN[..]].concat();
    let port = free_tcp_port();
    let trace = Trace::start_via(
        &wrapper,
        &["--duration", "2s", "--ports", &port.to_string()],
    );
    assert_eq!(trace.probes["conntrack"]["attach"], serde_json::Value::Null);
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    drop(l.accept().unwrap());
    let (events, _, status, notices) = trace.finish_with_notices();
    assert!(status.success());
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e.conntrack.is_none()));
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = &notices[0];
    assert!(n.contains("conntrack stays null"), "{n}");
    assert!(n.contains("net/nf_conntrack"), "{n}");
    assert!(n.contains("add CAP_NET_ADMIN"), "{n}");
}
