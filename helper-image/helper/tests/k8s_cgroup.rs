#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: a process placed in a real cgroup v2 directory laid out like kubelet's
//! (systemd driver, containerd) is attributed to its pod from the kernel's cgroup id, with
//! names from a /var/log/pods-style tree.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ktui_wire::{ConsoleMessage, Filters, HelperMessage, SocketEvent, Stats};

use common::*;

#[test]
fn pod_identity_from_a_real_cgroup() {
    if skip_without_ebpf("pod_identity_from_a_real_cgroup") {
        return;
    }
    let Some(root) = cgroup2_root() else {
        skip_unless(
            "pod_identity_from_a_real_cgroup",
            Some("no cgroup2 mount".into()),
        );
        return;
    };
    let pid = std::process::id();
    let uid = format!("{pid:08x}-7e57-4abc-8def-0123456789ab");
    let cid = format!("{pid:08x}{}", "c".repeat(56));
    let slices = [
        "kubepods.slice".to_string(),
        "kubepods-burstable.slice".to_string(),
        format!("kubepods-burstable-pod{}.slice", uid.replace('-', "_")),
        format!("cri-containerd-{cid}.scope"),
    ];
    let mut dirs = CgroupDirs(Vec::new());
    let mut path = root.clone();
    for s in &slices {
        path = path.join(s);
        if !path.exists() {
            std::fs::create_dir(&path).unwrap();
            dirs.0.push(path.clone());
        }
    }
    let cgroup_id = std::fs::metadata(&path).unwrap().ino();

    let logs = tempfile::tempdir().unwrap();
    let pod_dir = logs
        .path()
        .join(format!("pods/payments_api-6c9d_{uid}/server"));
    std::fs::create_dir_all(&pod_dir).unwrap();
    std::fs::create_dir_all(
        logs.path()
            .join(format!("pods/payments_api-6c9d_{uid}/sidecar")),
    )
    .unwrap();
    let containers = logs.path().join("containers");
    std::fs::create_dir_all(&containers).unwrap();
    std::fs::write(
        containers.join(format!("api-6c9d_payments_server-{cid}.log")),
        "",
    )
    .unwrap();

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pods = logs.path().join("pods");
    let trace = Trace::start_with_env(
        &["--duration", "3s", "--ports", &port.to_string()],
        &[
            ("KTUI_POD_LOG_ROOT", pods.to_str().unwrap()),
            ("KTUI_CONTAINER_LOG_ROOT", containers.to_str().unwrap()),
        ],
    );
    let procs = path.join("cgroup.procs");
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && exec 3<>/dev/tcp/127.0.0.1/{port} && sleep 0.3",
            procs.display()
        ))
        .spawn()
        .unwrap();
    let _ = listener.accept().unwrap();
    let child_pid = child.id();
    assert!(child.wait().unwrap().success());
    let (events, _, _) = trace.finish();
    print_events(&events);
    drop(dirs);

    let connect = events
        .iter()
        .find(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
        .expect("connect from the pod's process");
    assert_eq!(connect.pid, Some(child_pid));
    assert_eq!(connect.cgroup_id, Some(cgroup_id));
    let k8s = connect.k8s.as_ref().expect("k8s identity");
    assert_eq!(k8s.pod_uid.as_deref(), Some(uid.as_str()));
    assert_eq!(k8s.namespace.as_deref(), Some("payments"));
    assert_eq!(k8s.pod.as_deref(), Some("api-6c9d"));
    assert_eq!(k8s.container.as_deref(), Some("server"));
    assert_eq!(k8s.container_id.as_deref(), Some(cid.as_str()));
    // The test process itself is not in a pod: null, never a guess.
    let listen_side = events
        .iter()
        .find(|e| e.pid == Some(pid))
        .expect("an event of the test process");
    assert!(listen_side.k8s.is_none());
    let _ = Path::new("");
}

/// A pod subscription is narrowed in the kernel to the pod's network namespace (found through
/// its cgroup): the node's other traffic is not even generated, so it cannot use up the
/// sampling, rate-limit or ring-buffer budget of the pod under investigation.
#[test]
fn pod_subscription_filters_in_the_kernel_by_the_pods_netns() {
    const TEST: &str = "pod_subscription_filters_in_the_kernel_by_the_pods_netns";
    if skip_without_ebpf(TEST) {
        return;
    }
    let Some(root) = cgroup2_root() else {
        skip_unless(TEST, Some("no cgroup2 mount".into()));
        return;
    };
    let pair = NetnsPair::new("p", 5);
    let pid = std::process::id();
    let uid = format!("{pid:08x}-5e1f-4abc-8def-0123456789ab");
    let cid = format!("{pid:08x}{}", "d".repeat(56));
    let mut dirs = CgroupDirs(Vec::new());
    let mut path = root.clone();
    for s in [
        "kubepods.slice".to_string(),
        "kubepods-besteffort.slice".to_string(),
        format!("kubepods-besteffort-pod{}.slice", uid.replace('-', "_")),
        format!("cri-containerd-{cid}.scope"),
    ] {
        path = path.join(s);
        if !path.exists() {
            std::fs::create_dir(&path).unwrap();
            dirs.0.push(path.clone());
        }
    }
    // The pod's container: a process in its cgroup and its network namespace.
    let mut container = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "echo $$ > {} && exec ip netns exec {} sleep 60",
            path.join("cgroup.procs").display(),
            pair.a
        ))
        .spawn()
        .unwrap();
    let pod_netns = ns_inode(&NetnsPair::path(&pair.a));
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::metadata(format!("/proc/{}/ns/net", container.id()))
        .map(|m| m.ino())
        .ok()
        != Some(pod_netns)
    {
        assert!(
            Instant::now() < deadline,
            "the container never entered its netns"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    let mut serve = Command::new(BIN)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = serve.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = serve.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(m) = HelperMessage::decode(l.as_bytes())
                && tx.send(m).is_err()
            {
                break;
            }
        }
    });
    let subscribe = ConsoleMessage::Subscribe {
        id: 1,
        filters: Filters {
            pod_uids: vec![uid.clone()],
            ..Default::default()
        },
    };
    stdin
        .write_all(ktui_wire::encode(&subscribe).as_bytes())
        .unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("subscribed");
        match m {
            HelperMessage::Subscribed { id: 1 } => break,
            HelperMessage::Error(e) => panic!("subscribe failed: {e:?}"),
            _ => {}
        }
    }

    // The node's noise: 40 refused connects on the host's loopback (each is a connect event
    // and state changes when it is generated at all).
    let noise_port = free_tcp_port();
    for _ in 0..40 {
        let _ = std::net::TcpStream::connect(("127.0.0.1", noise_port));
    }
    // The pod's traffic: connects from its namespace to a server in the other one.
    let port = free_tcp_port();
    let addr_b = pair.addr_b.clone();
    let server = in_netns(&pair.b, move || {
        let l = std::net::TcpListener::bind((addr_b.as_str(), port)).unwrap();
        for _ in 0..3 {
            let _ = l.accept().unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(200));
    let addr_b = pair.addr_b.clone();
    in_netns(&pair.a, move || {
        for _ in 0..3 {
            let _ = std::net::TcpStream::connect((addr_b.as_str(), port)).unwrap();
        }
    })
    .join()
    .unwrap();
    server.join().unwrap();

    let mut events: Vec<SocketEvent> = Vec::new();
    let mut last = Stats::default();
    let deadline = Instant::now() + Duration::from_millis(2500);
    while let Ok(m) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match m {
            HelperMessage::Socket { event } => events.push(*event),
            HelperMessage::Stats(s) => last = s,
            _ => {}
        }
    }
    drop(stdin);
    let _ = serve.wait();
    let _ = container.kill();
    let _ = container.wait();
    drop(dirs);
    print_events(&events);

    let pod_connects: Vec<&SocketEvent> = events
        .iter()
        .filter(|e| e.kind.as_str() == "connect" && e.dport == Some(port))
        .collect();
    assert_eq!(
        pod_connects.len(),
        3,
        "the pod's connects; {} events, stats {last:?}, pod netns {pod_netns}",
        events.len()
    );
    for e in &pod_connects {
        assert_eq!(e.netns, Some(pod_netns));
        let k8s = e.k8s.as_ref().expect("attributed through the namespace");
        assert_eq!(k8s.pod_uid.as_deref(), Some(uid.as_str()));
    }
    assert!(
        events
            .iter()
            .all(|e| e.dport != Some(noise_port) && e.sport != Some(noise_port)),
        "no host event is delivered"
    );
    assert!(
        last.generated < 40,
        "the host's connects were filtered in the kernel, not generated: {last:?}"
    );
}
