#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! TCP on loopback, traced by the real binary: accepted connections, refused ports, closes
//! from either side, non-blocking connects.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd as _;
use std::time::Duration;

use common::*;

#[test]
fn accepted_connection_and_client_close() {
    if skip_without_ebpf("accepted_connection_and_client_close") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let trace = Trace::start(&["--duration", "3s", "--ports", &port.to_string()]);

    let tid = gettid();
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let (mut server, _) = listener.accept().unwrap();
    client.write_all(b"hello").unwrap();
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).unwrap();
    drop(client); // client closes first: FIN_WAIT1/2 on the client, CLOSE_WAIT on the server
    std::thread::sleep(Duration::from_millis(100));
    drop(server);

    let (events, _, status) = trace.finish();
    assert!(status.success(), "{status}");
    print_events(&events);
    let pid = std::process::id();
    let comm = own_comm();

    let syn =
        state_change(&events, "CLOSE", "SYN_SENT", None, Some(port)).expect("CLOSE->SYN_SENT");
    assert_eq!(syn.pid, Some(pid));
    assert_eq!(syn.tid, Some(tid), "connect() ran on this thread");
    assert_eq!(syn.comm.as_deref(), Some(comm.as_str()));
    assert_eq!(syn.dst.as_deref(), Some("127.0.0.1"));

    let est = state_change(
        &events,
        "SYN_SENT",
        "ESTABLISHED",
        Some(client_port),
        Some(port),
    )
    .expect("client SYN_SENT->ESTABLISHED");
    assert_eq!(est.pid, Some(pid));
    assert!(est.tid.is_some());
    assert_eq!(est.comm.as_deref(), Some(comm.as_str()));
    assert_eq!(est.src.as_deref(), Some("127.0.0.1"));

    let srv = state_change(
        &events,
        "SYN_RECV",
        "ESTABLISHED",
        Some(port),
        Some(client_port),
    )
    .expect("server child SYN_RECV->ESTABLISHED");
    assert_eq!(
        srv.pid,
        Some(pid),
        "accepted child attributed to the listener's process"
    );

    let connect = events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.sport == Some(client_port))
        .expect("connect event");
    assert_eq!(connect.errno, None);
    assert!(connect.latency_us.is_some());
    assert_eq!(connect.pid, Some(pid));

    // Client closed first.
    assert!(
        state_change(
            &events,
            "ESTABLISHED",
            "FIN_WAIT1",
            Some(client_port),
            Some(port)
        )
        .is_some()
    );
    assert!(
        state_change(
            &events,
            "FIN_WAIT1",
            "FIN_WAIT2",
            Some(client_port),
            Some(port)
        )
        .is_some()
    );
    let cw = state_change(
        &events,
        "ESTABLISHED",
        "CLOSE_WAIT",
        Some(port),
        Some(client_port),
    )
    .expect("server ESTABLISHED->CLOSE_WAIT");
    assert_eq!(cw.pid, Some(pid));
    assert!(
        state_change(
            &events,
            "CLOSE_WAIT",
            "LAST_ACK",
            Some(port),
            Some(client_port)
        )
        .is_some()
    );
    assert!(state_change(&events, "LAST_ACK", "CLOSE", Some(port), Some(client_port)).is_some());
    // Every event is ours (the port filter) and carries the netns.
    assert!(events.iter().all(|e| e.netns.is_some()));
}

#[test]
fn server_closes_first() {
    if skip_without_ebpf("server_closes_first") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let trace = Trace::start(&["--duration", "3s", "--ports", &port.to_string()]);
    let client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let client_port = client.local_addr().unwrap().port();
    let (server, _) = listener.accept().unwrap();
    server.shutdown(Shutdown::Both).unwrap();
    drop(server);
    std::thread::sleep(Duration::from_millis(100));
    drop(client);
    let (events, _, _) = trace.finish();
    print_events(&events);
    assert!(
        state_change(
            &events,
            "ESTABLISHED",
            "FIN_WAIT1",
            Some(port),
            Some(client_port)
        )
        .is_some()
    );
    assert!(
        state_change(
            &events,
            "ESTABLISHED",
            "CLOSE_WAIT",
            Some(client_port),
            Some(port)
        )
        .is_some()
    );
    assert!(
        state_change(
            &events,
            "CLOSE_WAIT",
            "LAST_ACK",
            Some(client_port),
            Some(port)
        )
        .is_some()
    );
}

#[test]
fn refused_port() {
    if skip_without_ebpf("refused_port") {
        return;
    }
    let port = free_tcp_port();
    let trace = Trace::start(&["--duration", "3s", "--ports", &port.to_string()]);
    let err = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
    let (events, _, _) = trace.finish();
    print_events(&events);
    let connect = events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
        .expect("connect event");
    assert_eq!(connect.errno, Some(111));
    assert_eq!(connect.pid, Some(std::process::id()));
    assert_eq!(connect.tid, Some(gettid()));
    assert!(connect.latency_us.is_some());
    assert!(state_change(&events, "SYN_SENT", "CLOSE", None, Some(port)).is_some());
    let resets: Vec<_> = with_port(&events, "tcp_reset", port);
    assert!(
        resets
            .iter()
            .any(|e| e.direction == Some(ktui_wire::Direction::Recv))
    );
    assert!(
        resets
            .iter()
            .any(|e| e.direction == Some(ktui_wire::Direction::Send))
    );
}

/// connect() on an O_NONBLOCK socket: EINPROGRESS, then poll.
fn nonblocking_connect(port: u16) -> (i32, u16) {
    // SAFETY: plain socket syscalls on an fd we own.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK, 0);
        assert!(fd >= 0);
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as u16,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as u32,
        );
        assert_eq!(rc, -1);
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINPROGRESS)
        );
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLOUT,
            revents: 0,
        };
        libc::poll(&mut pfd, 1, 2000);
        let mut local: libc::sockaddr_in = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as u32;
        libc::getsockname(fd, (&mut local as *mut libc::sockaddr_in).cast(), &mut len);
        (fd, u16::from_be(local.sin_port))
    }
}

#[test]
fn nonblocking_connect_is_not_a_failure() {
    if skip_without_ebpf("nonblocking_connect_is_not_a_failure") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let refused = free_tcp_port();
    let trace = Trace::start(&["--duration", "3s", "--ports", &format!("{port},{refused}")]);
    let (fd, client_port) = nonblocking_connect(port);
    let (_server, _) = listener.accept().unwrap();
    let (fd2, _) = nonblocking_connect(refused);
    // SAFETY: closing fds we own.
    unsafe {
        libc::close(fd);
        libc::close(fd2);
    }
    let _ = listener.as_raw_fd();
    let (events, _, _) = trace.finish();
    print_events(&events);
    let ok: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
        .collect();
    assert_eq!(
        ok.len(),
        1,
        "exactly one connect event for the non-blocking connect"
    );
    assert_eq!(ok[0].errno, None, "EINPROGRESS is not a failure");
    assert_eq!(ok[0].sport, Some(client_port));
    assert!(ok[0].latency_us.is_some());
    assert_eq!(ok[0].pid, Some(std::process::id()));
    let bad: Vec<_> = events
        .iter()
        .filter(|e| e.kind.as_str() == "connect" && e.dport == Some(refused))
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(
        bad[0].errno,
        Some(111),
        "the refused non-blocking connect reports ECONNREFUSED"
    );
}

#[test]
fn ipv6_and_ipv4_mapped_addresses() {
    if skip_without_ebpf("ipv6_and_ipv4_mapped_addresses") {
        return;
    }
    let Ok(v6) = TcpListener::bind("[::1]:0") else {
        skip_unless(
            "ipv6_and_ipv4_mapped_addresses",
            Some("no IPv6 loopback".into()),
        );
        return;
    };
    let port6 = v6.local_addr().unwrap().port();
    // A dual-stack listener: IPv4 clients appear as ::ffff:127.0.0.1 on an AF_INET6 socket.
    let dual = TcpListener::bind("[::]:0").unwrap();
    let port_dual = dual.local_addr().unwrap().port();
    let trace = Trace::start(&[
        "--duration",
        "3s",
        "--ports",
        &format!("{port6},{port_dual}"),
    ]);
    let c6 = TcpStream::connect(("::1", port6)).unwrap();
    let _ = v6.accept().unwrap();
    let c4 = TcpStream::connect(("127.0.0.1", port_dual)).unwrap();
    let (mapped, peer) = dual.accept().unwrap();
    assert!(
        peer.is_ipv6(),
        "the dual-stack side sees a mapped address: {peer}"
    );
    drop((c6, c4, mapped));
    let (events, _, _) = trace.finish();
    print_events(&events);
    let est6 = state_change(&events, "SYN_SENT", "ESTABLISHED", None, Some(port6)).unwrap();
    assert_eq!(est6.src.as_deref(), Some("::1"));
    assert_eq!(est6.dst.as_deref(), Some("::1"));
    let child = state_change(&events, "SYN_RECV", "ESTABLISHED", Some(port_dual), None).unwrap();
    assert_eq!(
        child.src.as_deref(),
        Some("127.0.0.1"),
        "IPv4-mapped shown as IPv4"
    );
    assert_eq!(child.dst.as_deref(), Some("127.0.0.1"));
}
