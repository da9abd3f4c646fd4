//! The helper image: `helper-image/build-image.sh` builds it from scratch without a registry;
//! the image holds the static helper and busybox, starts `idle` (which stops on SIGTERM), and
//! with exactly the manifest's capabilities and host mounts `ktui-helper trace` records a TCP
//! connect made during its run; without CAP_BPF it exits 1.
//!
//! Needs root and podman. Elsewhere the tests print why they skip; with `CI=true` they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::podman::{ULIMITS, podman, podman_cmd, text};

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ktui::helper::manifest;
use serde_json::Value;

/// Why these tests cannot run here, if they cannot.
fn missing_requirement() -> Option<String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| text(&o.stdout));
    if uid.as_deref().map(str::trim) != Some("0") {
        return Some("not root (podman with host PID/network and eBPF needs root)".into());
    }
    if Command::new("podman").arg("--version").output().is_err() {
        return Some("podman is not installed (apt-get install podman)".into());
    }
    if !Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
    }
    if !Path::new("/sys/kernel/tracing/events").exists() {
        return Some("tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing".into());
    }
    None
}

/// Skip (printing why), or under `CI=true` fail.
fn require() -> bool {
    match missing_requirement() {
        None => true,
        Some(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("helper image tests cannot run: {why}")
        }
        Some(why) => {
            common::note_skip(&format!(
                "helper image tests: {why} (with CI=true this fails)"
            ));
            false
        }
    }
}

/// Build once per test binary; returns the image tag.
fn image() -> &'static str {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE.get_or_init(common::podman::build_helper_image)
}

/// `podman run` with the manifest's security settings: drop ALL, add `caps`, host PID and
/// network, the manifest's host paths read-only (those that exist here).
fn run_args(image: &str, caps: &[&str], cmd: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["run", "--rm"].iter().map(|s| s.to_string()).collect();
    args.extend(ULIMITS.iter().map(|s| s.to_string()));
    args.extend(["--pid", "host", "--network", "host", "--cap-drop", "ALL"].map(String::from));
    if !caps.is_empty() {
        args.push("--cap-add".into());
        args.push(caps.join(","));
    }
    // The manifest's seccompProfile: Unconfined; readOnlyRootFilesystem with /tmp an emptyDir.
    args.extend(
        [
            "--security-opt",
            "seccomp=unconfined",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "--tmpfs",
            "/tmp",
            "--user",
            "0:0",
        ]
        .map(String::from),
    );
    for (_, path, _, _) in manifest::HOST_PATHS {
        if Path::new(path).exists() {
            args.push("-v".into());
            args.push(format!("{path}:{path}:ro"));
        }
    }
    args.push(image.to_string());
    args.extend(cmd.iter().map(|s| s.to_string()));
    args
}

fn manifest_caps() -> Vec<&'static str> {
    manifest::CAPABILITIES.iter().map(|(c, _)| *c).collect()
}

#[test]
fn image_is_small_static_and_matches_the_manifest() {
    if !require() {
        return;
    }
    let image = image();
    assert_eq!(image, manifest::default_image());
    let out = podman(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config}} {{.Size}}",
        image,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let (config, size) = line.trim().rsplit_once(' ').unwrap();
    let config: Value = serde_json::from_str(config).unwrap();
    assert_eq!(config["Entrypoint"], serde_json::json!([manifest::BINARY]));
    assert_eq!(config["Cmd"], serde_json::json!(["idle"]));
    let size: u64 = size.parse().unwrap();
    eprintln!("figures: image size {size} bytes");
    assert!(size < 40 << 20, "image is {size} bytes");
    // Only the two binaries (plus what the runtime mounts): no libc, no shell.
    let mut args = vec!["run", "--rm"];
    args.extend(ULIMITS);
    args.extend(["--entrypoint", "/bin/busybox", image, "ls", "/", "/bin"]);
    let out = podman(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.contains("ktui-helper") && listing.contains("busybox"),
        "{listing}"
    );
    for absent in ["lib", "usr", "sh\n"] {
        assert!(
            !listing.contains(absent),
            "{absent} in the image:\n{listing}"
        );
    }
    // The helper is a static binary that runs with no files around it.
    let mut args = vec!["run", "--rm"];
    args.extend(ULIMITS);
    args.extend([image, "--version"]);
    let out = podman(&args);
    assert!(
        text(&out.stdout).starts_with("ktui-helper "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn idle_stops_on_sigterm() {
    if !require() {
        return;
    }
    let image = image();
    let name = format!("ktui-helper-idle-test-{}", std::process::id());
    let mut args = vec!["run", "-d", "--name", name.as_str()];
    args.extend(ULIMITS);
    args.push(image);
    let out = podman(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let out = podman(&["stop", "-t", "10", &name]);
    let stopped_in = t.elapsed();
    let state = podman(&["inspect", "--format", "{{.State.ExitCode}}", &name]);
    podman(&["rm", "-f", &name]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stopped_in < Duration::from_secs(5),
        "idle ignored SIGTERM ({stopped_in:?})"
    );
    assert_eq!(text(&state.stdout).trim(), "0");
}

#[test]
fn trace_with_the_manifest_capabilities_records_a_connect() {
    if !require() {
        return;
    }
    let image = image();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let done = std::sync::Arc::new(AtomicBool::new(false));
    // Connect repeatedly while the trace runs (its probes attach at some point after start).
    let connector = {
        let done = done.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            while !done.load(Ordering::Relaxed) && Instant::now() < deadline {
                let _ = TcpStream::connect(("127.0.0.1", port));
                let _ = listener.set_nonblocking(true);
                while listener.accept().is_ok() {}
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let args = run_args(image, &manifest_caps(), &["trace", "--duration", "3s"]);
    let t = Instant::now();
    let out = podman_cmd()
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    done.store(true, Ordering::Relaxed);
    connector.join().unwrap();
    eprintln!(
        "figures: trace --duration 3s in the image took {:?}",
        t.elapsed()
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "trace failed:\n{}\n{stdout}",
        text(&out.stderr)
    );
    // The connect itself (the blocking connect() from the syscall probes), and the handshake
    // seen by the state probe, both with the port as the remote end.
    let events: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["dport"] == port)
        .collect();
    assert!(
        events.iter().any(|e| e["type"] == "connect"),
        "no connect event to port {port} in:\n{stdout}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "tcp_state" && e["new_state"] == "SYN_SENT"),
        "no SYN_SENT to port {port} in:\n{stdout}"
    );
}

#[test]
fn trace_without_cap_bpf_exits_1() {
    if !require() {
        return;
    }
    let image = image();
    let caps: Vec<&str> = manifest_caps()
        .into_iter()
        .filter(|c| *c != "BPF")
        .collect();
    let out = podman_cmd()
        .args(run_args(image, &caps, &["trace", "--duration", "1s"]))
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("CAP_BPF"), "{err}");
}
