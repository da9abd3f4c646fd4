#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The owner's process context on socket events (uid, gid, ppid, namespaces, seccomp mode,
//! effective capabilities), read in the kernel and checked against what `/proc/<pid>` and the
//! syscalls say, for this process and for a child under a seccomp filter with capabilities
//! dropped.

mod common;

use std::net::TcpStream;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use common::*;
use ktui_wire::SocketEvent;

/// Capability numbers (linux/capability.h).
const CAP_NET_ADMIN: u32 = 12;
const CAP_NET_RAW: u32 = 13;
const CAP_SYS_MODULE: u32 = 16;
const CAP_SYS_TIME: u32 = 25;

fn status_field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{name} missing from status"))
}

fn ns_ino(pid: &str, ns: &str) -> u64 {
    std::fs::metadata(format!("/proc/{pid}/ns/{ns}"))
        .unwrap()
        .ino()
}

fn connect_event(events: &[SocketEvent], port: u16) -> &SocketEvent {
    events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
        .unwrap_or_else(|| {
            print_events(events);
            panic!("no connect event to port {port}")
        })
}

#[test]
fn own_connect_carries_uid_gid_ppid_namespaces_and_security_context() {
    if skip_without_ebpf("own_connect_carries_uid_gid_ppid_namespaces_and_security_context") {
        return;
    }
    let port = free_tcp_port();
    let trace = Trace::start(&["--duration", "3s", "--ports", &port.to_string()]);
    let _ = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    let (events, _, _) = trace.finish();
    let e = connect_event(&events, port);
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    // SAFETY: plain getters without arguments.
    let (uid, gid, ppid) = unsafe { (libc::getuid(), libc::getgid(), libc::getppid()) };
    assert_eq!(e.uid, Some(uid));
    assert_eq!(e.gid, Some(gid));
    assert_eq!(e.ppid, Some(ppid as u32));
    let ns = e.ns.expect("ns");
    assert_eq!(ns.net, Some(ns_ino("self", "net")));
    assert_eq!(ns.mnt, Some(ns_ino("self", "mnt")));
    assert_eq!(ns.pid, Some(ns_ino("self", "pid")));
    assert_eq!(ns.user, Some(ns_ino("self", "user")));
    let sec = e.sec.as_ref().expect("sec");
    assert_eq!(
        sec.seccomp_mode.map(|m| m.to_string()),
        Some(status_field(&status, "Seccomp"))
    );
    assert_eq!(
        sec.caps_eff.as_deref(),
        Some(status_field(&status, "CapEff").as_str())
    );
}

/// Capabilities dropped from the bounding set before exec (so root's exec'd process lacks
/// them), and an allow-all seccomp filter installed: the child's own /proc status is the
/// reference for both.
#[test]
fn a_child_under_seccomp_with_fewer_capabilities_reports_both() {
    if skip_without_ebpf("a_child_under_seccomp_with_fewer_capabilities_reports_both") {
        return;
    }
    let port = free_tcp_port();
    let trace = Trace::start(&["--duration", "4s", "--ports", &port.to_string()]);
    let script = format!(
        "import socket\n\
         print(open('/proc/self/status').read(), flush=True)\n\
         socket.socket().connect_ex(('127.0.0.1', {port}))\n"
    );
    let mut cmd = Command::new("python3");
    cmd.args(["-c", &script]);
    // SAFETY: between fork and exec, only async-signal-safe calls (prctl) on this thread.
    unsafe {
        cmd.pre_exec(|| {
            for cap in [CAP_NET_RAW, CAP_SYS_MODULE, CAP_SYS_TIME] {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            let mut allow = [libc::sock_filter {
                code: (libc::BPF_RET | libc::BPF_K) as u16,
                jt: 0,
                jf: 0,
                k: libc::SECCOMP_RET_ALLOW,
            }];
            let prog = libc::sock_fprog {
                len: 1,
                filter: allow.as_mut_ptr(),
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &prog as *const libc::sock_fprog as libc::c_ulong,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (events, _, _) = trace.finish();
    let status = String::from_utf8_lossy(&out.stdout).to_string();
    let e = connect_event(&events, port);
    assert_eq!(
        e.pid.map(|p| p.to_string()),
        Some(status_field(&status, "Pid"))
    );
    let sec = e.sec.as_ref().expect("sec");
    assert_eq!(sec.seccomp_mode, Some(2), "a seccomp filter is mode 2");
    let caps = status_field(&status, "CapEff");
    assert_eq!(sec.caps_eff.as_deref(), Some(caps.as_str()));
    let eff = u64::from_str_radix(&caps, 16).unwrap();
    assert_eq!(eff & (1 << CAP_NET_RAW), 0, "CAP_NET_RAW was dropped");
    assert_ne!(eff & (1 << CAP_NET_ADMIN), 0, "CAP_NET_ADMIN was kept");
    assert_eq!(
        e.ppid,
        Some(std::process::id()),
        "the child's parent is this test"
    );
}

/// `--no-sec`: the security context is neither read nor shown; the rest stays.
#[test]
fn no_sec_leaves_the_security_context_out() {
    if skip_without_ebpf("no_sec_leaves_the_security_context_out") {
        return;
    }
    let port = free_tcp_port();
    let trace = Trace::start(&["--duration", "3s", "--no-sec", "--ports", &port.to_string()]);
    let _ = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    let (events, _, _) = trace.finish();
    let e = connect_event(&events, port);
    assert!(e.sec.is_none(), "{e:?}");
    assert!(e.ns.is_some() && e.gid.is_some(), "{e:?}");
}

/// One socket, used before and after its process drops privileges (setgid + setuid from root:
/// new credentials, capabilities gone): the second send carries the new uid, gid and
/// capabilities, not the ones remembered with the socket's owner.
#[test]
fn a_socket_used_after_setuid_reports_the_new_credentials() {
    if skip_without_ebpf("a_socket_used_after_setuid_reports_the_new_credentials") {
        return;
    }
    let port = free_udp_port();
    let trace = Trace::start(&[
        "--duration",
        "3s",
        "--no-aggregate",
        "--ports",
        &port.to_string(),
    ]);
    let script = format!(
        "import os, socket\n\
         s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n\
         s.sendto(b'root', ('127.0.0.1', {port}))\n\
         os.setgid(65534)\n\
         os.setuid(65534)\n\
         s.sendto(b'nobody', ('127.0.0.1', {port}))\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (events, _, _) = trace.finish();
    let sends: Vec<&SocketEvent> = events
        .iter()
        .filter(|e| e.kind.as_str() == "udp_send" && e.dport == Some(port))
        .collect();
    assert_eq!(sends.len(), 2, "{sends:?}");
    let before = (sends[0].uid, sends[0].gid);
    let after = (sends[1].uid, sends[1].gid);
    assert_eq!(before, (Some(0), Some(0)));
    assert_eq!(after, (Some(65534), Some(65534)), "the new credentials");
    let caps = |e: &SocketEvent| e.sec.as_ref().and_then(|s| s.caps_eff.clone());
    assert_ne!(caps(sends[0]).as_deref(), Some("0000000000000000"));
    assert_eq!(
        caps(sends[1]).as_deref(),
        Some("0000000000000000"),
        "no capabilities left"
    );
}
