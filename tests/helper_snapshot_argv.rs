//! The argv the console execs for a live snapshot is what the real `ktui-helper snapshot`
//! accepts: against an empty cgroup tree it gets as far as looking for the container.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ktui::helper::snapshot::SnapshotRequest;

#[test]
fn the_console_argv_is_accepted_by_the_helper() {
    let cid = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let mut req = SnapshotRequest::from_status_id(&format!("containerd://{cid}")).unwrap();
    req.pod = Some("web-0".into());
    req.namespace = Some("shop".into());
    req.pod_uid = Some("8a3f7c2e-1b4d-4e6f-9a0b-c1d2e3f4a5b6".into());
    req.container = Some("app".into());
    req.image = Some("registry.example/app:1".into());
    req.image_ref = Some("registry.example/app@sha256:ab".into());
    req.created = Some("2026-12-02T13:30:00Z".into());
    req.max_memory_bytes = Some(1 << 30);
    req.max_rootfs_bytes = Some(1 << 28);
    let argv = req.argv();
    let empty = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::helper_binary())
        .args(&argv[1..])
        .env("KTUI_CGROUP_ROOT", empty.path())
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Exit 1 (not 2, a usage error): every flag parsed, the container is simply not there.
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("is named for container {cid}")),
        "{err}"
    );
}
