//! `ktui --record DIR` as a user runs it: a demo run with the real local helper (eBPF) whose
//! summary agrees with events.jsonl and whose bundle verifies with `ktui verify` and
//! `minisign`; SIGINT (exit 0, bundle complete) and SIGKILL (every JSONL line whole, sealed at
//! the next open); auto-clone against the fake API server (50 crashes of one Deployment → one
//! clone); usage and no-cluster exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn ktui(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ktui"));
    cmd.env("XDG_CONFIG_HOME", config)
        .env("XDG_STATE_HOME", config)
        .env_remove("KTUI_SIGNING_KEY")
        .env_remove("KTUI_HELPER_IMAGE")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null());
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(path: &Path) -> Vec<Value> {
    let body = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        body.is_empty() || body.ends_with('\n'),
        "{}: ends in a cut line",
        path.display()
    );
    body.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

fn summary(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap()
}

/// The one bundle in `dir/bundles`.
fn bundle(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir.join("bundles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

/// `ktui verify`, and `minisign -V` when it is installed (always under CI=true).
fn verifies(bundle: &Path, config: &Path) {
    let public = config.join("ktui").join("ktui.pub");
    let out = ktui(config)
        .args(["verify"])
        .arg(bundle)
        .arg("--pubkey")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    if common::skip_unless(
        "record: minisign check",
        common::missing_tool(&["minisign"]),
    ) {
        return;
    }
    let out = Command::new("minisign")
        .arg("-Vm")
        .arg(bundle)
        .arg("-p")
        .arg(&public)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `ktui --demo --helper local --sockets --duration 5s --record DIR` plus `extra`, with
/// refused connects to a closed port all along the run (the probes attach in its first second
/// or two): connect events with ECONNREFUSED.
fn record_local_with_traffic(config: &Path, dir: &Path, extra: &[&str]) -> Output {
    let child = ktui(config)
        .env("KTUI_HELPER_BIN", common::helper_binary())
        .args([
            "--demo",
            "--helper",
            "local",
            "--sockets",
            "--duration",
            "5s",
        ])
        .args(extra)
        .arg("--record")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let traffic = std::thread::spawn(move || {
        while started.elapsed() < Duration::from_millis(4500) {
            let _ = std::net::TcpStream::connect_timeout(
                &"127.0.0.1:9".parse().unwrap(),
                Duration::from_millis(200),
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let out = child.wait_with_output().unwrap();
    traffic.join().unwrap();
    out
}

#[test]
fn a_demo_run_with_the_local_helper_writes_every_file_and_a_summary_that_agrees() {
    let test = "record::local_helper";
    if common::skip_unless(test, common::ebpf_unavailable()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("incident");
    let out = record_local_with_traffic(tmp.path(), &dir, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("ktui record 00:00:0"),
        "a status line a second: {stderr}"
    );
    for f in [
        "crashes.jsonl",
        "events.jsonl",
        "packets.jsonl",
        "custody.jsonl",
        "index.jsonl",
        "summary.json",
        "case.json",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let events = lines(&dir.join("events.jsonl"));
    let s = summary(&dir);
    assert_eq!(s["events"]["lines"], events.len() as u64);
    let represented: u64 = events
        .iter()
        .map(|e| e["count"].as_u64().unwrap_or(1))
        .sum();
    assert_eq!(s["events"]["represented"], represented);
    let connects = events.iter().filter(|e| e["type"] == "connect").count() as u64;
    assert!(
        connects >= 5,
        "the refused connects are in events.jsonl: {connects} of {} events; {stderr}",
        events.len()
    );
    assert_eq!(
        s["events"]["by_type"]["connect"].as_u64().unwrap_or(0),
        events
            .iter()
            .filter(|e| e["type"] == "connect")
            .map(|e| e["count"].as_u64().unwrap_or(1))
            .sum::<u64>()
    );
    let refused = events
        .iter()
        .filter(|e| e["type"] == "connect" && e["errno"] == 111)
        .count() as u64;
    assert_eq!(s["connect_failures"]["ECONNREFUSED (111)"], refused);
    assert!(refused >= 5);
    // The trace keys of `ktui-helper trace`.
    for key in [
        "ts", "type", "pid", "comm", "src", "dst", "dport", "errno", "netns",
    ] {
        assert!(
            events[0].get(key).is_some(),
            "{key} missing in {}",
            events[0]
        );
    }
    assert_eq!(s["demo"], true);
    assert_eq!(s["stopped_by"], "duration");
    // The helper's counters as last sent (once a second: events after it are in the file).
    for key in [
        "generated",
        "delivered",
        "lost",
        "sampled_out",
        "rate_limited",
        "dropped",
    ] {
        assert!(
            s["losses"]["local"][key].is_u64(),
            "losses.local.{key}: {s}"
        );
    }
    let crashes = lines(&dir.join("crashes.jsonl"));
    assert!(!crashes.is_empty());
    assert_eq!(s["crashes"]["lines"], crashes.len() as u64);
    for key in [
        "namespace",
        "pod",
        "container",
        "category",
        "reason",
        "signature",
        "finished_at",
    ] {
        assert!(crashes[0].get(key).is_some(), "{key} missing");
    }
    let node = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| {
            n.starts_with("node-")
                && s["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|h| n == &format!("node-{}.json", h.as_str().unwrap()))
        })
        .expect("a node file");
    let node: Value = serde_json::from_slice(&std::fs::read(dir.join(node)).unwrap()).unwrap();
    assert!(node["kernel"].is_string());
    // Sealed with their hashes in the index.
    let index = lines(&dir.join("index.jsonl"));
    for f in ["events.jsonl", "crashes.jsonl", "packets.jsonl"] {
        let last = index.iter().rev().find(|e| e["path"] == f).unwrap();
        assert_eq!(last["sealed"], true, "{f}");
        let bytes = std::fs::read(dir.join(f)).unwrap();
        let sha = sha256_hex(&bytes);
        assert_eq!(last["sha256"], sha, "{f}");
    }
    verifies(&bundle(&dir), tmp.path());
}

fn sha256_hex(bytes: &[u8]) -> String {
    ktui::case::custody::sha256_hex(bytes)
}

#[test]
fn sigint_finishes_with_exit_0_and_a_complete_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let child = ktui(tmp.path())
        .args(["--demo", "--record"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(2));
    signal(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let s = summary(&dir);
    assert_eq!(s["stopped_by"], "signal");
    assert_eq!(
        s["crashes"]["lines"],
        lines(&dir.join("crashes.jsonl")).len() as u64
    );
    let b = bundle(&dir);
    assert!(text(&out.stdout).contains(&b.file_name().unwrap().to_string_lossy().into_owned()));
    verifies(&b, tmp.path());
    // The bundle holds the record streams and the summary.
    let listing = Command::new("tar").arg("tzf").arg(&b).output().unwrap();
    let listing = text(&listing.stdout);
    for f in [
        "crashes.jsonl",
        "events.jsonl",
        "summary.json",
        "custody.jsonl",
    ] {
        assert!(
            listing.contains(&format!("/{f}")),
            "{f} not in the bundle: {listing}"
        );
    }
}

#[test]
fn sigkill_leaves_whole_lines_sealed_at_the_next_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let mut child = ktui(tmp.path())
        .args(["--demo", "--record"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The demo's crashes are written as soon as the first list is in.
    let until = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(dir.join("crashes.jsonl")).map_or(0, |m| m.len()) == 0 {
        assert!(Instant::now() < until, "no crash written");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let before = std::fs::read(dir.join("crashes.jsonl")).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let crashes = lines(&dir.join("crashes.jsonl"));
    assert!(!crashes.is_empty());
    assert!(
        std::fs::read(dir.join("crashes.jsonl"))
            .unwrap()
            .starts_with(&before)
    );
    lines(&dir.join("events.jsonl"));
    lines(&dir.join("packets.jsonl"));
    // A second run of the same case seals the streams the kill left open, writes no crash
    // twice, and ends with a bundle.
    let out = ktui(tmp.path())
        .args(["--demo", "--duration", "2s", "--record"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let custody = lines(&dir.join("custody.jsonl"));
    assert!(
        custody.iter().any(|l| l["action"] == "recover_segment"),
        "the killed run's streams are sealed at the next open"
    );
    let again = lines(&dir.join("crashes.jsonl"));
    let key = |v: &Value| {
        format!(
            "{}/{}/{}/{}",
            v["pod"], v["container"], v["restarts"], v["finished_at"]
        )
    };
    let mut keys: Vec<String> = again.iter().map(key).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(keys.len(), n, "no termination written twice");
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn usage_errors_exit_2_and_no_cluster_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let code = |args: &[&str]| {
        let out: Output = ktui(tmp.path()).args(args).output().unwrap();
        (out.status.code(), text(&out.stderr))
    };
    assert_eq!(code(&["--record", "d", "triage"]).0, Some(2));
    assert_eq!(
        code(&["--record", "d", "--packets"]).0,
        Some(2),
        "--packets needs --pod"
    );
    assert_eq!(
        code(&["--duration", "5s"]).0,
        Some(2),
        "record flags need --record"
    );
    let dir = tmp.path().join("r");
    let (c, err) = code(&[
        "--kubeconfig",
        tmp.path().join("none").to_str().unwrap(),
        "--record",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(c, Some(3), "{err}");
    assert!(err.contains("ktui record:"), "{err}");
}

/// A Deployment's pod in CrashLoopBackOff (the same crash for every `n`).
fn crashed_pod(n: usize) -> Value {
    common::crashed_web_pod(&format!("web-6d4-{n:02}"), json!({}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_crashes_of_one_deployment_make_one_clone_and_a_count() {
    let store = ktui_fake_apiserver::Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.apply(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-6d4", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}}}));
    for n in 0..50 {
        store.apply(crashed_pod(n));
        store.set_logs(
            "shop",
            &format!("web-6d4-{n:02}"),
            "app",
            true,
            b"panic: no db\n",
        );
    }
    let setup = common::Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let out = ktui(tmp.path())
        .arg("--kubeconfig")
        .arg(&setup.kubeconfig)
        .args(["-n", "shop", "--auto-clone", "--duration", "6s", "--record"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let store = setup.store();
    assert_eq!(store.count("Pod"), 51, "one clone: {stderr}");
    assert_eq!(store.count("NetworkPolicy"), 1);
    assert_eq!(lines(&dir.join("crashes.jsonl")).len(), 50);
    let s = summary(&dir);
    assert_eq!(s["clones"]["created"], 1, "{s}");
    assert_eq!(s["clones"]["deduplicated"], 49);
    assert_eq!(s["crashes"]["signatures"], 1);
    let custody = lines(&dir.join("custody.jsonl"));
    assert!(custody.iter().any(|l| l["action"] == "create_object"));
    // A second run within the window clones nothing more (the clone in the cluster is found).
    let out = ktui(tmp.path())
        .arg("--kubeconfig")
        .arg(&setup.kubeconfig)
        .args(["-n", "shop", "--auto-clone", "--duration", "4s", "--record"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(setup.store().count("Pod"), 51);
    assert_eq!(
        lines(&dir.join("crashes.jsonl")).len(),
        50,
        "no crash written twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_records_only_the_pods_it_matches() {
    let store = ktui_fake_apiserver::Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    for n in 0..5 {
        let mut pod = crashed_pod(n);
        if n >= 3 {
            pod["metadata"]["labels"]["app"] = json!("db");
        }
        store.apply(pod);
    }
    let setup = common::Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let out = ktui(tmp.path())
        .arg("--kubeconfig")
        .arg(&setup.kubeconfig)
        .args([
            "-n",
            "shop",
            "--selector",
            "app=web",
            "--duration",
            "3s",
            "--record",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut pods: Vec<String> = lines(&dir.join("crashes.jsonl"))
        .iter()
        .map(|l| l["pod"].as_str().unwrap().to_string())
        .collect();
    pods.sort();
    assert_eq!(pods, ["web-6d4-00", "web-6d4-01", "web-6d4-02"]);
    assert_eq!(summary(&dir)["scope"]["selector"], "app=web");
}

/// GET `path` from `addr` (HTTP/1.1, Connection: close): the body.
fn scrape(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

fn counter(body: &str, series: &str) -> u64 {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_shows_the_counters_moving() {
    use std::io::BufRead as _;
    let store = ktui_fake_apiserver::Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.apply(crashed_pod(0));
    let setup = common::Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let mut child = ktui(tmp.path())
        .arg("--kubeconfig")
        .arg(&setup.kubeconfig)
        .args([
            "-n",
            "shop",
            "--duration",
            "8s",
            "--metrics-addr",
            "127.0.0.1:0",
            "--record",
        ])
        .arg(tmp.path().join("r"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() && stderr.read_line(&mut line).unwrap() > 0 {
        addr = line
            .split_once("metrics at http://")
            .map(|(_, rest)| rest.trim().trim_end_matches("/metrics").to_string());
        line.clear();
    }
    // The rest of stderr, drained so the child never blocks on it.
    let drain = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap());
    let addr = addr.expect("the metrics address is said");
    let series = "ktui_crashes_total{namespace=\"shop\",reason=\"Error\"}";
    let until = Instant::now() + Duration::from_secs(5);
    let mut first = scrape(&addr, "/metrics");
    while counter(&first, series) == 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        first = scrape(&addr, "/metrics");
    }
    assert_eq!(counter(&first, series), 1, "{first}");
    for family in [
        "ktui_clones_created_total",
        "ktui_events_total",
        "ktui_actions_total",
    ] {
        assert!(
            first.contains(&format!("# TYPE {family} counter")),
            "{first}"
        );
    }
    assert_eq!(scrape(&addr, "/healthz").trim(), "ok");
    // Two more pods crash: the counter moves.
    setup.store().apply(crashed_pod(1));
    setup.store().apply(crashed_pod(2));
    let until = Instant::now() + Duration::from_secs(5);
    let mut second = scrape(&addr, "/metrics");
    while counter(&second, series) < 3 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(200));
        second = scrape(&addr, "/metrics");
    }
    assert_eq!(counter(&second, series), 3, "{second}");
    let status = child.wait().unwrap();
    let rest = drain.join().unwrap();
    assert_eq!(status.code(), Some(0), "{rest}");
}

#[test]
fn max_events_stops_the_trace_and_says_so_in_the_summary() {
    let test = "record::max_events";
    if common::skip_unless(test, common::ebpf_unavailable()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("r");
    let out = record_local_with_traffic(tmp.path(), &dir, &["--max-events", "20"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--max-events 20 reached"), "{stderr}");
    let s = summary(&dir);
    assert_eq!(s["limit"]["kind"], "max_events", "{s}");
    assert_eq!(s["limit"]["value"], 20);
    let events = lines(&dir.join("events.jsonl"));
    // The helper stops at the limit (its filter carries it); a batch in flight may end past it.
    assert!(events.len() >= 20, "{}", events.len());
    assert!(events.len() < 400, "capture stopped: {}", events.len());
    assert_eq!(s["events"]["lines"], events.len() as u64);
}
