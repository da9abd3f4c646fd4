//! `ktui --record` under load, side by side with its peer in one run:
//!
//! 1. **Loopback flood.** A Python process makes refused TCP connects to 127.0.0.1:9 as fast as
//!    it can (each one a connect, two TCP state changes and a reset: distinct events the kernel
//!    cannot fold) for `--secs`. Recorded by `ktui --demo --helper local --sockets --record`
//!    (the driver, the runtime's recorder, events.jsonl with the trace keys) and, in the same
//!    run, by the peer: `ktui-helper trace > file` (the raw helper, what a script would run).
//!    Measured: lines/s written, events the lines stand for, the helper's lost/dropped counts,
//!    and ktui's RSS each second (flat, or growing?).
//! 2. **Crash to logs on disk.** Against the fake API server (in this process), pods crash one
//!    by one while `ktui --record` watches; the time from the pod's write to its previous log's
//!    file in the case, p50/p99.
//!
//! Needs root (eBPF). Run: `sudo cargo bench --bench record -- --secs 10`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const FLOOD: &str = r#"
import socket, sys, time
secs = float(sys.argv[1])
n = 0
end = time.monotonic() + secs
while time.monotonic() < end:
    for _ in range(100):
        s = socket.socket()
        try:
            s.connect(("127.0.0.1", 9))
        except OSError:
            pass
        s.close()
    n += 100
print(n / secs)
"#;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn helper() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_ktui"))
        .parent()
        .unwrap()
        .join("ktui-helper")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn flood(secs: f64) -> Child {
    Command::new("python3")
        .args(["-c", FLOOD, &secs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3")
}

fn flood_rate(child: Child) -> f64 {
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0)
}

fn lines_and_represented(path: &Path) -> (u64, u64) {
    let body = std::fs::read_to_string(path).unwrap_or_default();
    let mut lines = 0;
    let mut represented = 0;
    for l in body.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        lines += 1;
        represented += v["count"].as_u64().unwrap_or(1);
    }
    (lines, represented)
}

fn record_flood(secs: f64, dir: &Path) {
    let keys = dir.join("keys");
    let case = dir.join("flood");
    let mut ktui = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .env("KTUI_HELPER_BIN", helper())
        .env("XDG_CONFIG_HOME", &keys)
        .args(["--demo", "--helper", "local", "--sockets", "--duration"])
        .arg(format!("{}s", secs + 3.0))
        .arg("--record")
        .arg(&case)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2)); // the probes attach
    let load = flood(secs);
    let mut rss = Vec::new();
    let began = Instant::now();
    while began.elapsed().as_secs_f64() < secs {
        rss.extend(rss_kib(ktui.id()));
        std::thread::sleep(Duration::from_secs(1));
    }
    let rate = flood_rate(load);
    assert!(ktui.wait().unwrap().success());
    let (lines, represented) = lines_and_represented(&case.join("events.jsonl"));
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("summary.json")).unwrap()).unwrap();
    let losses = &summary["losses"]["local"];
    println!(
        "record  : flood {rate:.0} connects/s; events.jsonl {lines} lines ({:.0}/s), {represented} events; lost {} dropped {} sampled_out {}; ktui RSS {} → {} MiB (min {}, max {})",
        lines as f64 / secs,
        losses["lost"],
        losses["dropped"],
        losses["sampled_out"],
        rss.first().copied().unwrap_or(0) / 1024,
        rss.last().copied().unwrap_or(0) / 1024,
        rss.iter().min().copied().unwrap_or(0) / 1024,
        rss.iter().max().copied().unwrap_or(0) / 1024,
    );
}

fn trace_flood(secs: f64, dir: &Path) {
    let out_path = dir.join("trace.jsonl");
    let out = std::fs::File::create(&out_path).unwrap();
    let err_path = dir.join("trace.stderr");
    let err = std::fs::File::create(&err_path).unwrap();
    let mut trace = Command::new(helper())
        .args(["trace", "--duration"])
        .arg(format!("{}s", secs + 3.0))
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let load = flood(secs);
    let mut rss = Vec::new();
    let began = Instant::now();
    while began.elapsed().as_secs_f64() < secs {
        rss.extend(rss_kib(trace.id()));
        std::thread::sleep(Duration::from_secs(1));
    }
    let rate = flood_rate(load);
    trace.wait().unwrap();
    let (lines, represented) = lines_and_represented(&out_path);
    let stats = std::fs::read_to_string(&err_path).unwrap_or_default();
    let last = stats
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .unwrap_or_default();
    println!(
        "peer    : flood {rate:.0} connects/s; ktui-helper trace > file {lines} lines ({:.0}/s), {represented} events; lost {} dropped {}; helper RSS max {} MiB",
        lines as f64 / secs,
        last["lost"],
        last["dropped"],
        rss.iter().max().copied().unwrap_or(0) / 1024,
    );
}

fn crash_to_logs(n: usize, dir: &Path) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = ktui_fake_apiserver::Store::new();
        store.add_namespace("shop");
        store.add_node("worker-1", "amd64");
        let server = ktui_fake_apiserver::FakeApiServer::start(store.clone())
            .await
            .unwrap();
        let kubeconfig = server.write_kubeconfig(dir).unwrap();
        let case = dir.join("crashes");
        let mut ktui = Command::new(env!("CARGO_BIN_EXE_ktui"))
            .env("XDG_CONFIG_HOME", dir.join("keys"))
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["-n", "shop", "--record"])
            .arg(&case)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut took = Vec::new();
        for i in 0..n {
            let name = format!("web-{i}");
            // A new signature each time (its own exit code), as a first crash is.
            store.set_logs("shop", &name, "app", true, b"panic: no database\n");
            let began = Instant::now();
            store.apply(serde_json::json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "shop", "uid": format!("u{i}")},
                "spec": {"nodeName": "worker-1", "containers": [{"name": "app", "image": "web:1"}]},
                "status": {"phase": "Running", "containerStatuses": [{"name": "app",
                    "image": "web:1", "imageID": "", "ready": false, "restartCount": 1,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"exitCode": i + 1, "reason": "Error",
                        "finishedAt": "2026-12-03T10:00:00Z"}}}]},
            }));
            let log = case.join(format!("artifacts/shop/{name}/logs/app.previous.log"));
            while !log.is_file() && began.elapsed() < Duration::from_secs(10) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            assert!(log.is_file(), "no log for {name}");
            took.push(began.elapsed());
        }
        Command::new("kill")
            .args(["-TERM", &ktui.id().to_string()])
            .status()
            .unwrap();
        ktui.wait().unwrap();
        took.sort();
        let p = |q: f64| took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1];
        println!(
            "crash → previous log on disk ({n} crashes, one at a time): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            p(0.5).as_secs_f64() * 1000.0,
            p(0.99).as_secs_f64() * 1000.0,
            took.last().unwrap().as_secs_f64() * 1000.0
        );
    });
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("record bench: run with `sudo cargo bench --bench record -- --secs 10`");
        return;
    }
    ktui::tls::install_crypto_provider();
    let secs = arg("--secs", 10.0);
    let dir = tempfile::tempdir().unwrap();
    crash_to_logs(arg("--crashes", 50.0) as usize, dir.path());
    // SAFETY: geteuid has no preconditions.
    if unsafe { geteuid() } != 0 {
        println!("the flood needs root (eBPF): skipped");
        return;
    }
    record_flood(secs, dir.path());
    trace_flood(secs, dir.path());
}

unsafe extern "C" {
    fn geteuid() -> u32;
}
