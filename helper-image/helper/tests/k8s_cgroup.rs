#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! End to end: a process placed in a real cgroup v2 directory laid out like kubelet's
//! (systemd driver, containerd) is attributed to its pod from the kernel's cgroup id, with
//! names from a /var/log/pods-style tree.

mod common;

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The cgroup2 mount: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified (hybrid).
fn cgroup2_root() -> Option<PathBuf> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.join("cgroup.procs").is_file() && p.join("cgroup.controllers").is_file())
}

struct CgroupDirs(Vec<PathBuf>);

impl Drop for CgroupDirs {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

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
    // The test process itself is not in a pod: null, never a guess.
    let listen_side = events
        .iter()
        .find(|e| e.pid == Some(pid))
        .expect("an event of the test process");
    assert!(listen_side.k8s.is_none());
    let _ = Path::new("");
}
