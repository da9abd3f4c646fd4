#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Packet capture, for real (root): namespaces joined by veth pairs, TCP / UDP+DNS / ICMP
//! between them, captured through `ktui-helper serve` and `ktui-helper capture`; the files
//! checked with tshark, capinfos and sha256sum.
//!
//! VLAN tags cannot be tested end to end here (this kernel has no 8021q module): the
//! reinsertion is a unit test against libpcap's layout (src/capture/vlan.rs).

mod common;
#[path = "capture/support.rs"]
mod support;

use std::net::Ipv4Addr;
use std::process::Command;

use ktui_wire::{CaptureEnd, CaptureMode, ConsoleMessage, HelperMessage, PacketLine};

use common::*;
use support::*;

/// A namespace whose veth peer is in this (the host's) namespace, as a pod's is.
struct HostVethNs {
    ns: String,
    host_if: String,
    host_addr: Ipv4Addr,
    ns_addr: Ipv4Addr,
}

impl HostVethNs {
    fn new(subnet: u8) -> HostVethNs {
        let pid = std::process::id();
        let ns = format!("ktuihv{pid}");
        let host_if = format!("kch{}", pid % 100000);
        let _ = Command::new("ip").args(["netns", "del", &ns]).output();
        let _ = Command::new("ip").args(["link", "del", &host_if]).output();
        sh(&format!(
            "ip netns add {ns} && ip link add {host_if} type veth peer name eth0 netns {ns} && \
             ip addr add 10.77.{subnet}.1/24 dev {host_if} && ip link set {host_if} up && \
             ip -n {ns} addr add 10.77.{subnet}.2/24 dev eth0 && ip -n {ns} link set eth0 up && \
             ip -n {ns} link set lo up"
        ));
        HostVethNs {
            ns,
            host_if,
            host_addr: Ipv4Addr::new(10, 77, subnet, 1),
            ns_addr: Ipv4Addr::new(10, 77, subnet, 2),
        }
    }
}

impl Drop for HostVethNs {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.host_if])
            .output();
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).output();
    }
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Messages of capture `id`, stats left out.
fn of(seen: &[HelperMessage], id: u64) -> Vec<&HelperMessage> {
    seen.iter()
        .filter(|m| {
            support::id_of(m) == Some(id) && !matches!(m, HelperMessage::CaptureStats { .. })
        })
        .collect()
}

fn packets(msgs: &[&HelperMessage]) -> Vec<PacketLine> {
    msgs.iter()
        .filter_map(|m| match m {
            HelperMessage::Packet { p, .. } => Some(p.clone()),
            _ => None,
        })
        .collect()
}

/// A `capture_file` as reported: path, packets, SHA-256, first and last frame number.
type Reported = (String, u64, String, Option<u64>, Option<u64>);

/// The order a capture's messages come in: started, packets, files (the last one marked),
/// done; and the files as reported.
fn check_order(msgs: &[&HelperMessage]) -> Vec<Reported> {
    assert!(
        matches!(msgs.first(), Some(HelperMessage::CaptureStarted { .. })),
        "{msgs:#?}"
    );
    assert!(
        matches!(msgs.last(), Some(HelperMessage::CaptureDone { .. })),
        "{msgs:#?}"
    );
    let files: Vec<_> = msgs
        .iter()
        .filter_map(|m| match m {
            HelperMessage::CaptureFile {
                seq,
                path,
                packets,
                sha256,
                first_n,
                last_n,
                last,
                ..
            } => Some((
                *seq,
                path.clone(),
                *packets,
                sha256.clone(),
                *first_n,
                *last_n,
                *last,
            )),
            _ => None,
        })
        .collect();
    assert!(!files.is_empty());
    for (i, f) in files.iter().enumerate() {
        assert_eq!(f.0 as usize, i + 1, "sequence numbers");
        assert_eq!(
            f.6,
            i + 1 == files.len(),
            "only the last file is marked last"
        );
    }
    let last_file = msgs
        .iter()
        .rposition(|m| matches!(m, HelperMessage::CaptureFile { .. }))
        .unwrap();
    assert_eq!(
        last_file,
        msgs.len() - 2,
        "the last capture_file comes right before capture_done"
    );
    files
        .into_iter()
        .map(|f| (f.1, f.2, f.3, f.4, f.5))
        .collect()
}

/// The file opens in tshark with the reported count and hash, and every summary matches
/// tshark's reading of its frame.
fn check_against_tshark(path: &str, reported_packets: u64, sha: &str, summaries: &[PacketLine]) {
    assert_eq!(sha256sum(path), sha, "reported SHA-256 of {path}");
    assert_eq!(
        capinfos_packets(path),
        reported_packets,
        "capinfos count of {path}"
    );
    let truth = tshark(std::path::Path::new(path), None);
    assert_eq!(
        truth.len() as u64,
        reported_packets,
        "tshark count of {path}"
    );
    assert_eq!(summaries.len(), truth.len(), "one summary per frame");
    // What the capture itself sets: frame numbers, timestamps, lengths.
    for (s, t) in summaries.iter().zip(&truth) {
        assert_eq!(
            (s.n, &s.ts, s.len, s.caplen),
            (t.n, &t.ts, t.len, t.caplen),
            "frame {}",
            t.n
        );
    }
    // What the parser reads from the frame.
    for (s, t) in summaries.iter().zip(&truth) {
        assert_eq!(&as_truth(s), t, "frame {} summary vs tshark", t.n);
    }
}

fn assert_traffic_seen(summaries: &[PacketLine]) {
    let has = |f: &dyn Fn(&PacketLine) -> bool| summaries.iter().any(f);
    assert!(has(&|p| p.tcp_flags.as_deref() == Some("SYN")), "TCP SYN");
    assert!(
        has(&|p| p.tcp_flags.as_deref() == Some("SYN,ACK")),
        "TCP SYN,ACK"
    );
    assert!(
        has(&|p| p.proto.as_deref() == Some("udp")
            && p.dport == Some(53)
            && p.dns_qname.as_deref() == Some(DNS_NAME)),
        "DNS query"
    );
    assert!(
        has(&|p| p.icmp_type == Some(8)) && has(&|p| p.icmp_type == Some(0)),
        "ping"
    );
}

#[test]
fn serve_captures_inside_a_namespace_and_tshark_agrees() {
    if !ready("serve_captures_inside_a_namespace_and_tshark_agrees") {
        return;
    }
    let pair = NetnsPair::new("cap", 61);
    let mut serve = Serve::start();
    assert!(serve.hello.capture, "root can capture");
    serve.start_capture(1, netns_spec(&NetnsPair::path(&pair.a), None));
    let started = serve.until("capture_started", |m| {
        matches!(m, HelperMessage::CaptureStarted { .. })
    });
    let HelperMessage::CaptureStarted {
        mode,
        interfaces,
        format,
        ..
    } = started
    else {
        unreachable!()
    };
    // Neither end of this veth is in the host namespace: only setns reaches it.
    assert_eq!(mode, CaptureMode::Netns);
    assert_eq!(format, "pcapng");
    let names: Vec<_> = interfaces
        .iter()
        .map(|i| (i.name.as_str(), i.linktype))
        .collect();
    assert!(
        names.contains(&("lo", 1)) && names.iter().any(|(n, _)| n.starts_with("kvcapa")),
        "{names:?}"
    );
    traffic(Some(&pair.a), Some(&pair.b), ip(&pair.addr_b), 18091, 3);
    serve.send(&ConsoleMessage::CaptureStop { id: 1 });
    let done = serve.until("capture_done", |m| {
        matches!(m, HelperMessage::CaptureDone { .. })
    });
    let HelperMessage::CaptureDone { end, stats, .. } = done else {
        unreachable!()
    };
    assert_eq!(end, CaptureEnd::Stopped);
    let msgs = of(&serve.seen, 1);
    let files = check_order(&msgs);
    assert_eq!(files.len(), 1);
    let (path, count, sha, first, last) = &files[0];
    assert!(
        path.starts_with(&serve.dir.path().display().to_string())
            && path.ends_with("capture-1-0001.pcapng")
    );
    assert_eq!(
        (stats.packets, *first, *last),
        (*count, Some(1), Some(*count))
    );
    assert_eq!(
        (stats.kernel_drops, stats.sampled_out, stats.files),
        (0, 0, 1)
    );
    let summaries = packets(&msgs);
    check_against_tshark(path, *count, sha, &summaries);
    assert_traffic_seen(&summaries);
    let (status, _) = serve.close();
    assert!(status.success());
}

#[test]
fn a_namespace_with_a_host_veth_is_captured_from_the_host_side() {
    if !ready("a_namespace_with_a_host_veth_is_captured_from_the_host_side") {
        return;
    }
    let hv = HostVethNs::new(62);
    let mut serve = Serve::start();
    serve.start_capture(7, netns_spec(&NetnsPair::path(&hv.ns), Some("eth0")));
    let started = serve.until("capture_started", |m| {
        matches!(m, HelperMessage::CaptureStarted { .. })
    });
    let HelperMessage::CaptureStarted {
        mode,
        interfaces,
        format,
        ..
    } = started
    else {
        unreachable!()
    };
    assert_eq!(mode, CaptureMode::HostVeth);
    assert_eq!(format, "pcap");
    assert_eq!(interfaces.len(), 1);
    assert_eq!(
        (interfaces[0].name.as_str(), interfaces[0].linktype),
        (hv.host_if.as_str(), 1)
    );
    // The namespace is the client; the server is on the host side (this namespace).
    traffic(Some(&hv.ns), None, hv.host_addr, 18092, 2);
    serve.send(&ConsoleMessage::CaptureStop { id: 7 });
    serve.until("capture_done", |m| {
        matches!(m, HelperMessage::CaptureDone { .. })
    });
    let msgs = of(&serve.seen, 7);
    let files = check_order(&msgs);
    let (path, count, sha, _, _) = &files[0];
    assert!(path.ends_with("capture-7-0001.pcap"));
    let summaries = packets(&msgs);
    check_against_tshark(path, *count, sha, &summaries);
    assert_traffic_seen(&summaries);
    assert!(
        summaries
            .iter()
            .any(|p| p.src.as_deref() == Some(&hv.ns_addr.to_string()))
    );
    // SIGTERM with a capture running: its file is closed and reported, then done(shutdown).
    serve.start_capture(8, netns_spec(&NetnsPair::path(&hv.ns), None));
    serve.until("capture_started 8", |m| {
        matches!(m, HelperMessage::CaptureStarted { id: 8, .. })
    });
    let (status, seen) = serve.terminate();
    assert!(status.success());
    let msgs = of(&seen, 8);
    check_order(&msgs);
    assert!(matches!(
        msgs.last(),
        Some(HelperMessage::CaptureDone {
            end: CaptureEnd::Shutdown,
            ..
        })
    ));
}

#[test]
fn a_port_53_filter_keeps_exactly_the_dns_packets() {
    if !ready("a_port_53_filter_keeps_exactly_the_dns_packets") {
        return;
    }
    let pair = NetnsPair::new("flt", 63);
    let mut serve = Serve::start();
    let iface = pair.veth_a.clone();
    let mut filtered = netns_spec(&NetnsPair::path(&pair.a), Some(&iface));
    filtered.filter = Some("port 53".into());
    serve.start_capture(1, filtered);
    serve.start_capture(2, netns_spec(&NetnsPair::path(&pair.a), Some(&iface)));
    for _ in 0..2 {
        serve.until("capture_started", |m| {
            matches!(m, HelperMessage::CaptureStarted { .. })
        });
    }
    traffic(Some(&pair.a), Some(&pair.b), ip(&pair.addr_b), 18093, 4);
    for id in [1, 2] {
        serve.send(&ConsoleMessage::CaptureStop { id });
        serve.until(
            "capture_done",
            |m| matches!(m, HelperMessage::CaptureDone { id: i, .. } if *i == id),
        );
    }
    let f1 = check_order(&of(&serve.seen, 1));
    let f2 = check_order(&of(&serve.seen, 2));
    let with_filter = tshark(std::path::Path::new(&f1[0].0), None);
    let matching = tshark(
        std::path::Path::new(&f2[0].0),
        Some("udp.port == 53 || tcp.port == 53"),
    );
    assert_eq!(
        with_filter.len(),
        8,
        "4 queries and 4 answers: {with_filter:#?}"
    );
    assert_eq!(
        with_filter.len(),
        matching.len(),
        "the same packets as the unfiltered capture's port-53 ones"
    );
    // Two sockets stamp the same frame a microsecond or so apart: compare what is in it.
    let key = |t: &Truth| {
        let t = t.clone();
        (t.len, t.src, t.dst, t.sport, t.dport, t.dns_qname)
    };
    for (a, b) in with_filter.iter().zip(&matching) {
        assert_eq!(key(a), key(b));
    }
    let all = tshark(std::path::Path::new(&f2[0].0), None);
    assert!(all.len() > matching.len(), "TCP and ICMP were there too");
}

#[test]
fn rotation_makes_sequential_hashed_files_and_rm_removes_them() {
    if !ready("rotation_makes_sequential_hashed_files_and_rm_removes_them") {
        return;
    }
    let pair = NetnsPair::new("rot", 64);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let iface = pair.veth_a.clone();
    // 60 datagrams of 300 bytes from A to B (where a socket receives them) while the CLI
    // captures 40 packets.
    let sender = udp_burst(&pair, 60, 300, 9999, true);
    let a_path = NetnsPair::path(&pair.a);
    let args = [
        "--netns",
        &a_path,
        "-i",
        &iface,
        "-C",
        "1500",
        "--max-packets",
        "40",
        "--duration",
        "20s",
        "--dir",
        &d,
        "--label",
        "rot",
        "--id",
        "5",
    ];
    let (msgs, status) = cli_capture(&args, &[], &[]);
    sender.join().unwrap();
    assert!(status.success());
    let refs: Vec<&HelperMessage> = msgs
        .iter()
        .filter(|m| !matches!(m, HelperMessage::CaptureStats { .. }))
        .collect();
    let files = check_order(&refs);
    let HelperMessage::CaptureDone { end, stats, .. } = msgs.last().unwrap() else {
        unreachable!()
    };
    assert_eq!(
        (*end, stats.packets, stats.files),
        (CaptureEnd::MaxPackets, 40, files.len() as u32)
    );
    assert!(files.len() >= 4, "{} files", files.len());
    let mut total = 0;
    for (i, (path, count, sha, first, last)) in files.iter().enumerate() {
        assert!(
            path.ends_with(&format!("rot-5-{:04}.pcap", i + 1)),
            "{path}"
        );
        assert_eq!(sha256sum(path), *sha);
        assert_eq!(capinfos_packets(path), *count);
        assert_eq!((*first, *last), (Some(total + 1), Some(total + count)));
        total += count;
        let size = std::fs::metadata(path).unwrap().len();
        assert!(size <= 1500 || *count == 1, "{path}: {size} bytes");
        // Rotated for a reason: the next file's first packet would not have fit.
        if let Some((next, ..)) = files.get(i + 1) {
            let first_next = tshark(std::path::Path::new(next), None)[0].caplen as u64;
            assert!(size + 16 + first_next > 1500, "{path} closed early");
        }
    }
    assert_eq!(total, 40);
    let env = [("KTUI_CAPTURE_DIR", d.as_str())];
    for (path, ..) in &files {
        let out = Command::new(BIN)
            .args(["rm", path])
            .envs(env)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "rm {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn the_file_limit_drops_the_oldest_and_counts_them() {
    if !ready("the_file_limit_drops_the_oldest_and_counts_them") {
        return;
    }
    let pair = NetnsPair::new("w", 65);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let sender = udp_burst(&pair, 40, 400, 9, false);
    let args = [
        "--netns",
        &NetnsPair::path(&pair.a),
        "-i",
        &pair.veth_a,
        "-C",
        "1000",
        "-W",
        "3",
        "--max-packets",
        "12",
        "--duration",
        "20s",
        "--dir",
        &d,
        "--no-summaries",
    ];
    let (msgs, status) = cli_capture(&args, &[], &[]);
    sender.join().unwrap();
    assert!(status.success());
    assert!(
        !msgs
            .iter()
            .any(|m| matches!(m, HelperMessage::Packet { .. })),
        "--no-summaries"
    );
    let refs: Vec<&HelperMessage> = msgs
        .iter()
        .filter(|m| !matches!(m, HelperMessage::CaptureStats { .. }))
        .collect();
    let files = check_order(&refs);
    let HelperMessage::CaptureDone { stats, .. } = msgs.last().unwrap() else {
        unreachable!()
    };
    assert!(files.len() > 3);
    assert_eq!(stats.files_lost as usize, files.len() - 3);
    let on_disk: Vec<bool> = files
        .iter()
        .map(|f| std::path::Path::new(&f.0).exists())
        .collect();
    let expected: Vec<bool> = (0..files.len()).map(|i| i + 3 >= files.len()).collect();
    assert_eq!(on_disk, expected, "the newest 3 stay");
}

#[test]
fn a_fifth_capture_waits_in_the_queue_and_eof_stops_everything() {
    if !ready("a_fifth_capture_waits_in_the_queue_and_eof_stops_everything") {
        return;
    }
    let pair = NetnsPair::new("q", 66);
    let mut serve = Serve::start();
    for id in 1..=6 {
        let mut spec = netns_spec(&NetnsPair::path(&pair.a), None);
        spec.label = Some("q".into());
        serve.start_capture(id, spec);
    }
    for _ in 0..4 {
        serve.until("capture_started", |m| {
            matches!(m, HelperMessage::CaptureStarted { .. })
        });
    }
    let q: Vec<(u64, u32)> = serve
        .seen
        .iter()
        .filter_map(|m| match m {
            HelperMessage::CaptureQueued { id, position } => Some((*id, *position)),
            _ => None,
        })
        .collect();
    assert_eq!(q, [(5, 1), (6, 2)]);
    assert!(
        !serve
            .seen
            .iter()
            .any(|m| matches!(m, HelperMessage::CaptureStarted { id, .. } if *id > 4))
    );
    // A queued capture stopped: done at once, the one behind it moves up.
    serve.send(&ConsoleMessage::CaptureStop { id: 5 });
    let done5 = serve.until("capture_done 5", |m| {
        matches!(m, HelperMessage::CaptureDone { id: 5, .. })
    });
    assert!(matches!(
        done5,
        HelperMessage::CaptureDone {
            end: CaptureEnd::Stopped,
            ..
        }
    ));
    serve.until("capture_queued 6", |m| {
        matches!(m, HelperMessage::CaptureQueued { id: 6, position: 1 })
    });
    // A running one stopped: its slot goes to 6.
    serve.send(&ConsoleMessage::CaptureStop { id: 2 });
    serve.until("capture_done 2", |m| {
        matches!(m, HelperMessage::CaptureDone { id: 2, .. })
    });
    serve.until("capture_started 6", |m| {
        matches!(m, HelperMessage::CaptureStarted { id: 6, .. })
    });
    serve.send(&ConsoleMessage::CaptureStop { id: 42 });
    serve.until(
        "error 42",
        |m| matches!(m, HelperMessage::Error(e) if e.id == Some(42)),
    );
    let (status, seen) = serve.close();
    assert!(status.success());
    for id in [1, 3, 4, 6] {
        let msgs = of(&seen, id);
        let queued = msgs
            .iter()
            .take_while(|m| matches!(m, HelperMessage::CaptureQueued { .. }))
            .count();
        assert_eq!(queued, if id == 6 { 2 } else { 0 });
        check_order(&msgs[queued..]);
        assert!(
            matches!(
                msgs.last(),
                Some(HelperMessage::CaptureDone {
                    end: CaptureEnd::Shutdown,
                    ..
                })
            ),
            "{id}: {msgs:#?}"
        );
    }
}

#[test]
fn capabilities_decide_the_capture_point() {
    if !ready("capabilities_decide_the_capture_point") {
        return;
    }
    let pair = NetnsPair::new("cp", 67);
    let hv = HostVethNs::new(68);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let no_sys_admin = ["setpriv", "--bounding-set=-sys_admin", "--"];
    let no_net_raw = ["setpriv", "--bounding-set=-net_raw", "--"];
    // The host veth needs NET_RAW only.
    let hv_path = NetnsPair::path(&hv.ns);
    let args = [
        "--netns",
        hv_path.as_str(),
        "--duration",
        "300ms",
        "--dir",
        &d,
        "--id",
        "1",
    ];
    let (msgs, status) = cli_capture(&args, &[], &no_sys_admin);
    assert!(status.success(), "{msgs:#?}");
    assert!(
        matches!(
            &msgs[0],
            HelperMessage::CaptureStarted {
                mode: CaptureMode::HostVeth,
                ..
            }
        ),
        "{msgs:#?}"
    );
    // Without a host veth, SYS_ADMIN is needed: not_permitted names it and the variant.
    let a_path = NetnsPair::path(&pair.a);
    let args = [
        "--netns",
        a_path.as_str(),
        "--duration",
        "300ms",
        "--dir",
        &d,
        "--id",
        "2",
    ];
    let (msgs, status) = cli_capture(&args, &[], &no_sys_admin);
    assert!(!status.success());
    let HelperMessage::Error(e) = &msgs[0] else {
        panic!("{msgs:#?}")
    };
    assert_eq!(
        (e.code, e.id),
        (ktui_wire::ErrorCode::NotPermitted, Some(2))
    );
    assert!(
        e.message.contains("CAP_SYS_ADMIN") && e.message.contains("`capture-netns`"),
        "{}",
        e.message
    );
    // Without NET_RAW nothing can be captured.
    let (msgs, _) = cli_capture(
        &["--netns", hv_path.as_str(), "--dir", &d, "--id", "3"],
        &[],
        &no_net_raw,
    );
    let HelperMessage::Error(e) = &msgs[0] else {
        panic!("{msgs:#?}")
    };
    assert_eq!(e.code, ktui_wire::ErrorCode::NotPermitted);
    assert!(
        e.message.contains("CAP_NET_RAW") && e.message.contains("`capture` helper variant"),
        "{}",
        e.message
    );
    // A namespace that is not there.
    let (msgs, _) = cli_capture(
        &["--netns", "/run/netns/ktui-none", "--dir", &d, "--id", "4"],
        &[],
        &[],
    );
    let HelperMessage::Error(e) = &msgs[0] else {
        panic!("{msgs:#?}")
    };
    assert!(e.message.contains("does not exist"), "{}", e.message);
}

/// `ktui-helper capture ARGS` started in the background; its lines come on the receiver.
fn cli_background(
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(BIN)
        .arg("capture")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(child.stdout.take().unwrap());
    (child, rx)
}

fn next_of(
    rx: &std::sync::mpsc::Receiver<String>,
    what: &str,
    pred: impl Fn(&HelperMessage) -> bool,
) -> HelperMessage {
    loop {
        let l = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("waiting for {what}"));
        let m = HelperMessage::decode(l.as_bytes()).unwrap();
        if pred(&m) {
            return m;
        }
    }
}

#[test]
fn a_deleted_veth_ends_the_capture_as_target_gone() {
    if !ready("a_deleted_veth_ends_the_capture_as_target_gone") {
        return;
    }
    let hv = HostVethNs::new(69);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let path = NetnsPair::path(&hv.ns);
    let (mut child, rx) =
        cli_background(&["--netns", &path, "--dir", &d, "--duration", "30s"], &[]);
    let started = next_of(&rx, "capture_started", |m| {
        matches!(m, HelperMessage::CaptureStarted { .. })
    });
    assert!(matches!(
        started,
        HelperMessage::CaptureStarted {
            mode: CaptureMode::HostVeth,
            ..
        }
    ));
    sh(&format!("ip link del {}", hv.host_if));
    let file = next_of(&rx, "capture_file", |m| {
        matches!(m, HelperMessage::CaptureFile { .. })
    });
    assert!(matches!(
        file,
        HelperMessage::CaptureFile { last: true, .. }
    ));
    let done = next_of(&rx, "capture_done", |m| {
        matches!(m, HelperMessage::CaptureDone { .. })
    });
    let HelperMessage::CaptureDone { end, message, .. } = done else {
        unreachable!()
    };
    assert_eq!(end, CaptureEnd::TargetGone, "{message:?}");
    assert!(message.is_some_and(|m| m.contains("gone")));
    assert!(child.wait().unwrap().success());
}

#[test]
fn max_bytes_stops_before_the_limit() {
    if !ready("max_bytes_stops_before_the_limit") {
        return;
    }
    let pair = NetnsPair::new("mb", 70);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let sender = udp_burst(&pair, 30, 200, 9, false);
    let args = [
        "--netns",
        &NetnsPair::path(&pair.a),
        "-i",
        &pair.veth_a,
        "--max-bytes",
        "2000",
        "--duration",
        "20s",
        "--dir",
        &d,
    ];
    let (msgs, status) = cli_capture(&args, &[], &[]);
    sender.join().unwrap();
    assert!(status.success());
    let HelperMessage::CaptureDone { end, stats, .. } = msgs.last().unwrap() else {
        panic!("{msgs:#?}")
    };
    assert_eq!(*end, CaptureEnd::MaxBytes);
    // Frames here are at most 242 bytes (the datagrams; ICMP errors quote less).
    assert!(stats.bytes <= 2000 && stats.bytes > 2000 - 242, "{stats:?}");
    let HelperMessage::CaptureFile { path, packets, .. } = &msgs[msgs.len() - 2] else {
        panic!()
    };
    assert_eq!(
        (capinfos_packets(path), *packets),
        (stats.packets, stats.packets)
    );
}

#[test]
fn a_pod_is_found_through_its_cgroup_and_its_end_ends_the_capture() {
    if !ready("a_pod_is_found_through_its_cgroup_and_its_end_ends_the_capture") {
        return;
    }
    let Some(root) = cgroup2_root() else {
        skip_unless(
            "a_pod_is_found_through_its_cgroup",
            Some("no cgroup2 mount".into()),
        );
        return;
    };
    let pair = NetnsPair::new("pod", 71);
    let pid = std::process::id();
    let uid = format!("{pid:08x}-ca97-4abc-8def-0123456789ab");
    let cid = format!("{pid:08x}{}", "d".repeat(56));
    let pod_dir = root.join("kubepods").join(format!("pod{uid}"));
    let ctr_dir = pod_dir.join(&cid);
    std::fs::create_dir_all(&ctr_dir).unwrap();
    let _cleanup = CgroupDirs(vec![
        root.join("kubepods"),
        pod_dir.clone(),
        ctr_dir.clone(),
    ]);
    // The pod's process: a sleep inside namespace A, moved into the container's cgroup.
    let mut sleeper = Command::new("ip")
        .args(["netns", "exec", &pair.a, "sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::write(ctr_dir.join("cgroup.procs"), sleeper.id().to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let root_s = root.display().to_string();
    let (mut child, rx) = cli_background(
        &["--pod-uid", &uid, "--dir", &d, "--duration", "30s"],
        &[("KTUI_CGROUP_ROOT", root_s.as_str())],
    );
    let started = next_of(&rx, "capture_started", |m| {
        matches!(
            m,
            HelperMessage::CaptureStarted { .. } | HelperMessage::Error(_)
        )
    });
    let HelperMessage::CaptureStarted {
        mode, interfaces, ..
    } = started
    else {
        panic!("{started:?}")
    };
    assert_eq!(mode, CaptureMode::Netns);
    assert!(
        interfaces.iter().any(|i| i.name.starts_with("kvpoda")),
        "{interfaces:?}"
    );
    // The pod's last process ends: the capture ends as target_gone.
    sleeper.kill().unwrap();
    sleeper.wait().unwrap();
    let done = next_of(&rx, "capture_done", |m| {
        matches!(m, HelperMessage::CaptureDone { .. })
    });
    assert!(
        matches!(
            done,
            HelperMessage::CaptureDone {
                end: CaptureEnd::TargetGone,
                ..
            }
        ),
        "{done:?}"
    );
    assert!(child.wait().unwrap().success());
}
