#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! UDP to a local :53 with and without a reply: udp_send/udp_recv with bytes and peer, and
//! dns events with the query name, type and response code.

mod common;

use std::net::UdpSocket;
use std::os::fd::AsRawFd as _;
use std::time::Duration;

use common::*;
use ktui_helper::dns::{build_query, build_response};
use ktui_wire::Direction;

/// Answers one query with NXDOMAIN (rcode 3).
fn responder(addr: &'static str) -> std::thread::JoinHandle<()> {
    let sock = UdpSocket::bind(addr).unwrap();
    std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = [0u8; 512];
        if let Ok((n, peer)) = sock.recv_from(&mut buf) {
            sock.send_to(&build_response(&buf[..n], 3), peer).unwrap();
        }
    })
}

/// glibc's resolver sends A and AAAA together with sendmmsg(2).
fn sendmmsg_two(sock: &UdpSocket, dest: &str, a: &[u8], b: &[u8]) {
    let dest: std::net::SocketAddrV4 = dest.parse().unwrap();
    let sa = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: dest.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*dest.ip()).to_be(),
        },
        sin_zero: [0; 8],
    };
    let mut iov = [
        libc::iovec {
            iov_base: a.as_ptr() as *mut _,
            iov_len: a.len(),
        },
        libc::iovec {
            iov_base: b.as_ptr() as *mut _,
            iov_len: b.len(),
        },
    ];
    // SAFETY: msghdrs point at live buffers for the duration of the call.
    unsafe {
        let mut msgs: [libc::mmsghdr; 2] = std::mem::zeroed();
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = (&sa as *const libc::sockaddr_in) as *mut _;
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
            m.msg_hdr.msg_iov = &mut iov[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        let n = libc::sendmmsg(sock.as_raw_fd(), msgs.as_mut_ptr(), 2, 0);
        assert_eq!(n, 2, "{}", std::io::Error::last_os_error());
    }
}

#[test]
fn dns_query_with_and_without_reply() {
    if skip_without_ebpf("dns_query_with_and_without_reply") {
        return;
    }
    let trace = Trace::start(&["--duration", "3s", "--dns-only"]);
    let server = responder("127.0.0.153:53");

    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let cport = client.local_addr().unwrap().port();
    let query = build_query(0x4242, "answered.example.test", 28);
    client.send_to(&query, "127.0.0.153:53").unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = client.recv_from(&mut buf).unwrap();
    assert_eq!(from.to_string(), "127.0.0.153:53");
    server.join().unwrap();

    // No responder at .154: no reply (the kernel drops it: NO_SOCKET).
    let lonely = UdpSocket::bind("127.0.0.1:0").unwrap();
    let lport = lonely.local_addr().unwrap().port();
    let q_a = build_query(1, "unanswered.example.test", 1);
    let q_aaaa = build_query(2, "unanswered.example.test", 28);
    sendmmsg_two(&lonely, "127.0.0.154:53", &q_a, &q_aaaa);

    let (events, _, status) = trace.finish();
    assert!(status.success());
    print_events(&events);
    let pid = Some(std::process::id());

    let send = events
        .iter()
        .find(|e| e.kind.as_str() == "udp_send" && e.sport == Some(cport))
        .expect("udp_send");
    assert_eq!(send.bytes, Some(query.len() as u64));
    assert_eq!(send.dst.as_deref(), Some("127.0.0.153"));
    assert_eq!(send.dport, Some(53));
    assert_eq!(send.pid, pid);

    let recv = events
        .iter()
        .find(|e| e.kind.as_str() == "udp_recv" && e.sport == Some(cport))
        .expect("udp_recv with the peer from recvfrom");
    assert_eq!(recv.bytes, Some(n as u64));
    assert_eq!(recv.dst.as_deref(), Some("127.0.0.153"));
    assert_eq!(recv.dport, Some(53));

    let dns: Vec<_> = events.iter().filter(|e| e.kind.as_str() == "dns").collect();
    let q = dns
        .iter()
        .find(|e| e.sport == Some(cport) && e.direction == Some(Direction::Send))
        .expect("dns query");
    let qi = q.dns.as_ref().unwrap();
    assert_eq!(qi.qname.as_deref(), Some("answered.example.test"));
    assert_eq!(qi.qtype, Some(28));
    assert_eq!(qi.rcode, None);
    let r = dns
        .iter()
        .find(|e| e.sport == Some(cport) && e.direction == Some(Direction::Recv))
        .expect("dns response");
    let ri = r.dns.as_ref().unwrap();
    assert_eq!(ri.qname.as_deref(), Some("answered.example.test"));
    assert_eq!(ri.rcode, Some(3));
    assert_eq!(r.dst.as_deref(), Some("127.0.0.153"));

    // The responder's side of the exchange is traced too (local port 53).
    assert!(
        dns.iter()
            .any(|e| e.sport == Some(53) && e.direction == Some(Direction::Recv))
    );

    // sendmmsg: both queries, each with its peer.
    let mm: Vec<_> = dns.iter().filter(|e| e.sport == Some(lport)).collect();
    assert_eq!(mm.len(), 2, "A and AAAA from one sendmmsg");
    assert!(
        mm.iter()
            .all(|e| e.dst.as_deref() == Some("127.0.0.154") && e.dport == Some(53))
    );
    let types: Vec<_> = mm.iter().map(|e| e.dns.as_ref().unwrap().qtype).collect();
    assert_eq!(types, vec![Some(1), Some(28)]);
    let sends: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "udp_send" && e.sport == Some(lport))
        .collect();
    assert_eq!(sends.len(), 2);
    assert!(
        sends
            .iter()
            .all(|e| e.dst.as_deref() == Some("127.0.0.154"))
    );
    assert!(
        !events
            .iter()
            .any(|e| e.kind.as_str() == "udp_recv" && e.sport == Some(lport)),
        "no reply for the unanswered queries"
    );
    // --dns-only: nothing that is not port 53.
    assert!(
        events
            .iter()
            .all(|e| e.sport == Some(53) || e.dport == Some(53))
    );
}

#[test]
fn udp_payload_is_never_read_off_port_53() {
    if skip_without_ebpf("udp_payload_is_never_read_off_port_53") {
        return;
    }
    let port = free_udp_port();
    let trace = Trace::start(&["--duration", "2s", "--ports", &port.to_string()]);
    let rx = UdpSocket::bind(("127.0.0.1", port)).unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(&build_query(9, "not-dns.example", 1), ("127.0.0.1", port))
        .unwrap();
    let mut buf = [0u8; 512];
    let (n, _) = rx.recv_from(&mut buf).unwrap();
    let (events, _, _) = trace.finish();
    print_events(&events);
    assert!(
        events
            .iter()
            .all(|e| e.dns.is_none() && e.kind.as_str() != "dns")
    );
    let recv = events
        .iter()
        .find(|e| e.kind.as_str() == "udp_recv" && e.sport == Some(port))
        .expect("udp_recv");
    assert_eq!(recv.bytes, Some(n as u64));
    assert_eq!(recv.dport, Some(tx.local_addr().unwrap().port()));
}

/// A responder that answers after 50 ms: the client's answer event carries `rtt_us` within a
/// few ms of it, and so does the responder's own answer (sent 50 ms after its query came in);
/// a query a mute server takes and never answers has no answer event and no round trip.
#[test]
fn dns_answers_carry_their_round_trip_time() {
    if skip_without_ebpf("dns_answers_carry_their_round_trip_time") {
        return;
    }
    const DELAY: Duration = Duration::from_millis(50);
    let trace = Trace::start(&["--duration", "3s", "--dns-only"]);
    let sock = UdpSocket::bind("127.0.0.155:53").unwrap();
    let server = std::thread::spawn(move || {
        sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut buf = [0u8; 512];
        let (n, peer) = sock.recv_from(&mut buf).unwrap();
        let got = std::time::Instant::now();
        std::thread::sleep(DELAY);
        sock.send_to(&build_response(&buf[..n], 0), peer).unwrap();
        got.elapsed()
    });
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let cport = client.local_addr().unwrap().port();
    let sent = std::time::Instant::now();
    client
        .send_to(
            &build_query(0x5151, "slow.example.test", 1),
            "127.0.0.155:53",
        )
        .unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    let mut buf = [0u8; 512];
    client.recv_from(&mut buf).unwrap();
    let client_waited = sent.elapsed();
    let server_held = server.join().unwrap();
    // A server that takes the query and never answers (no drop either).
    let _mute = UdpSocket::bind("127.0.0.156:53").unwrap();
    let lonely = UdpSocket::bind("127.0.0.1:0").unwrap();
    let lport = lonely.local_addr().unwrap().port();
    lonely
        .send_to(
            &build_query(0x5252, "never.example.test", 1),
            "127.0.0.156:53",
        )
        .unwrap();

    let (events, _, status) = trace.finish();
    assert!(status.success());
    print_events(&events);
    let dns = |port: u16, answer: bool| {
        events
            .iter()
            .filter(|e| e.kind.as_str() == "dns" && e.sport == Some(port))
            .filter(|e| port != 53 || e.src.as_deref() == Some("127.0.0.155"))
            .filter(|e| e.dns.as_ref().is_some_and(|d| d.rcode.is_some() == answer))
            .collect::<Vec<_>>()
    };
    // At least the delay, at most what the test itself measured around the exchange (the
    // kernel's times lie inside the user-space ones) plus a little clock slack.
    let within = |us: u64, outer: Duration| {
        us >= DELAY.as_micros() as u64 && us <= outer.as_micros() as u64 + 1_000
    };
    let answer = dns(cport, true);
    assert_eq!(answer.len(), 1, "one answer at the client");
    let rtt = answer[0]
        .rtt_us
        .expect("the client's answer has a round trip");
    assert!(
        within(rtt, client_waited),
        "client rtt {rtt} µs for a 50 ms delay ({client_waited:?} measured around it)"
    );
    assert_eq!(answer[0].dns.as_ref().unwrap().id, Some(0x5151));
    let query = dns(cport, false);
    assert_eq!(query.len(), 1);
    assert_eq!(query[0].rtt_us, None, "a query has no round trip");
    // The responder's view: its answer went out 50 ms after the query came in.
    let served = dns(53, true);
    assert_eq!(served.len(), 1, "one answer sent by the responder");
    let rtt = served[0]
        .rtt_us
        .expect("the responder's answer has a round trip");
    // The responder's rtt runs from the query's arrival (just before its recv returns) to its
    // answer: a little more slack than the client's.
    assert!(
        rtt >= DELAY.as_micros() as u64 && rtt <= server_held.as_micros() as u64 + 5_000,
        "responder rtt {rtt} µs ({server_held:?} measured)"
    );
    // Never answered: the query alone, without a round trip.
    assert_eq!(dns(lport, false).len(), 1);
    assert!(dns(lport, true).is_empty());
}
