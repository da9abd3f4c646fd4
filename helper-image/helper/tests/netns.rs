#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! TCP between two network namespaces joined by a veth pair (10.77.x.1 ⇄ 10.77.x.2): events
//! carry the right netns inode; dropped packets (iptables) show up as retransmits.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use common::*;

fn netns_ready(test: &str) -> bool {
    if skip_without_ebpf(test) {
        return false;
    }
    let ip = std::process::Command::new("ip").arg("-V").output();
    !skip_unless(
        test,
        ip.is_err()
            .then(|| "iproute2 (ip) is not installed".to_string()),
    )
}

#[test]
fn connection_between_namespaces_reports_each_netns() {
    if !netns_ready("connection_between_namespaces_reports_each_netns") {
        return;
    }
    let pair = NetnsPair::new("c", 1);
    let (ns_a, ns_b) = (
        ns_inode(&NetnsPair::path(&pair.a)),
        ns_inode(&NetnsPair::path(&pair.b)),
    );
    let port = 18080u16;
    let trace = Trace::start(&["--duration", "4s", "--ports", &port.to_string()]);

    let addr_b = pair.addr_b.clone();
    let server = in_netns(&pair.b, move || {
        let l = TcpListener::bind((addr_b.as_str(), port)).unwrap();
        let (mut s, peer) = l.accept().unwrap();
        let mut buf = [0u8; 4];
        s.read_exact(&mut buf).unwrap();
        s.write_all(b"pong").unwrap();
        std::thread::sleep(Duration::from_millis(200));
        peer.port()
    });
    std::thread::sleep(Duration::from_millis(200));
    let addr_b = pair.addr_b.clone();
    let client = in_netns(&pair.a, move || {
        let mut c = TcpStream::connect((addr_b.as_str(), port)).unwrap();
        c.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        c.local_addr().unwrap().port()
    });
    let client_port = client.join().unwrap();
    assert_eq!(server.join().unwrap(), client_port);

    let (events, _, status) = trace.finish();
    assert!(status.success());
    print_events(&events);
    let est = state_change(
        &events,
        "SYN_SENT",
        "ESTABLISHED",
        Some(client_port),
        Some(port),
    )
    .expect("client established");
    assert_eq!(est.netns, Some(ns_a));
    assert_eq!(est.src.as_deref(), Some(pair.addr_a.as_str()));
    assert_eq!(est.dst.as_deref(), Some(pair.addr_b.as_str()));
    assert_eq!(est.pid, Some(std::process::id()));
    let srv = state_change(
        &events,
        "SYN_RECV",
        "ESTABLISHED",
        Some(port),
        Some(client_port),
    )
    .expect("server established");
    assert_eq!(srv.netns, Some(ns_b));
    assert_eq!(srv.pid, Some(std::process::id()));
    let listen = state_change(&events, "CLOSE", "LISTEN", Some(port), None).expect("listen");
    assert_eq!(listen.netns, Some(ns_b));

    // A netns filter keeps only that namespace.
    let trace = Trace::start(&[
        "--duration",
        "3s",
        "--netns",
        &ns_a.to_string(),
        "--ports",
        &port.to_string(),
    ]);
    let addr_b = pair.addr_b.clone();
    let server = in_netns(&pair.b, move || {
        let l = TcpListener::bind((addr_b.as_str(), port)).unwrap();
        let _ = l.accept().unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    let addr_b = pair.addr_b.clone();
    in_netns(&pair.a, move || {
        drop(TcpStream::connect((addr_b.as_str(), port)).unwrap())
    })
    .join()
    .unwrap();
    server.join().unwrap();
    let (events, _, _) = trace.finish();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e.netns == Some(ns_a)),
        "only namespace A"
    );
}

#[test]
fn dropped_packets_cause_retransmits() {
    if !netns_ready("dropped_packets_cause_retransmits") {
        return;
    }
    let iptables = std::process::Command::new("iptables").arg("-V").output();
    if skip_unless(
        "dropped_packets_cause_retransmits",
        iptables
            .is_err()
            .then(|| "iptables is not installed".to_string()),
    ) {
        return;
    }
    let pair = NetnsPair::new("r", 2);
    let port = 18081u16;
    let trace = Trace::start(&["--duration", "5s", "--ports", &port.to_string()]);
    let addr_b = pair.addr_b.clone();
    let server = in_netns(&pair.b, move || {
        let l = TcpListener::bind((addr_b.as_str(), port)).unwrap();
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        let mut total = 0;
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    });
    std::thread::sleep(Duration::from_millis(200));
    let addr_b = pair.addr_b.clone();
    let b = pair.b.clone();
    let client = in_netns(&pair.a, move || {
        let mut c = TcpStream::connect((addr_b.as_str(), port)).unwrap();
        // Established: now lose half the segments to the server at random (this kernel has no
        // netem; an iptables `statistic` rule is the portable way to make loss).
        let rule = format!(
            "INPUT -p tcp --dport {port} -m statistic --mode random --probability 0.5 -j DROP"
        );
        sh(&format!("ip netns exec {b} iptables -A {rule}"));
        for _ in 0..40 {
            c.write_all(&[7u8; 1000]).unwrap();
            std::thread::sleep(Duration::from_millis(25));
        }
        std::thread::sleep(Duration::from_millis(800));
        sh(&format!("ip netns exec {b} iptables -D {rule}"));
        std::thread::sleep(Duration::from_millis(800));
        c.local_addr().unwrap().port()
    });
    let client_port = client.join().unwrap();
    assert_eq!(
        server.join().unwrap(),
        40_000,
        "everything arrived after the retransmits"
    );
    let (events, _, _) = trace.finish();
    print_events(&events);
    let retransmits: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "tcp_retransmit" && e.sport == Some(client_port))
        .collect();
    assert!(!retransmits.is_empty(), "retransmits seen");
    let r = retransmits[0];
    assert_eq!(r.dport, Some(port));
    assert_eq!(r.src.as_deref(), Some(pair.addr_a.as_str()));
    assert_eq!(r.new_state.as_deref(), Some("ESTABLISHED"));
    assert_eq!(
        r.pid,
        Some(std::process::id()),
        "timer context attributed through the socket map"
    );
    assert_eq!(r.netns, Some(ns_inode(&NetnsPair::path(&pair.a))));
    // The segments the rule dropped, counted with the kernel's reason.
    let drops: u64 = events
        .iter()
        .filter(|e| {
            e.kind.as_str() == "drop"
                && e.drop_reason.as_deref() == Some("NETFILTER_DROP")
                && (e.dport == Some(port) || e.sport == Some(port))
        })
        .map(|e| e.count.unwrap_or(1))
        .sum();
    assert!(drops > 0, "NETFILTER_DROP drops seen");
}
