//! `ktui triage --from-file` on one large dump: 80,000 pods in one `List` file, as
//! `kubectl get pods -A -o json` writes it, timed side by side with `jq length` on the same file
//! (the target: within 2× of jq).
//!
//! Run: `cargo bench --bench triage_file` (needs `jq` on PATH; peak RSS is measured when
//! `/usr/bin/time` exists; figures go to benches/README.md by hand).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PODS: usize = 80_000;
const NAMESPACES: usize = 200;
const CRASHED: usize = 2_000;
const RUNS: usize = 3;

/// One run: wall time, and peak RSS in MB when measured.
type Run = (Duration, Option<f64>);

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("triage_file bench: run with `cargo bench --bench triage_file`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pods.json");
    let bytes = write_dump(&file);
    println!(
        "{PODS} pods ({CRASHED} crashed) in one List: {:.1} MB",
        bytes as f64 / 1e6
    );
    let ktui = env!("CARGO_BIN_EXE_ktui");
    let path = file.to_str().unwrap();
    let mut ktui_runs = Vec::new();
    let mut jq_runs = Vec::new();
    // Alternate the two so both see the same page cache and the same noise.
    for _ in 0..RUNS {
        ktui_runs.push(run(ktui, &["triage", "--from-file", path, "--json"]));
        jq_runs.push(run("jq", &["length", path]));
    }
    report("ktui triage --from-file FILE --json >/dev/null", &ktui_runs);
    report("jq length FILE >/dev/null", &jq_runs);
    println!(
        "best ktui / best jq: {:.2}× (target ≤ 2×)",
        best(&ktui_runs).as_secs_f64() / best(&jq_runs).as_secs_f64()
    );
}

fn best(runs: &[Run]) -> Duration {
    runs.iter().map(|(d, _)| *d).min().unwrap_or_default()
}

fn report(what: &str, runs: &[Run]) {
    let secs: Vec<String> = runs
        .iter()
        .map(|(d, _)| format!("{:.2}", d.as_secs_f64()))
        .collect();
    let rss = runs
        .iter()
        .filter_map(|(_, rss)| *rss)
        .reduce(f64::max)
        .map(|mb| format!(", peak RSS {mb:.0} MB"))
        .unwrap_or_default();
    println!("{what}: {} s{rss}", secs.join(", "));
}

/// The generated cluster's pods as `kubectl get pods -A -o json` prints them (a List, 4-space
/// indent, no managedFields); returns its size.
fn write_dump(path: &Path) -> usize {
    let store = ktui_fake_apiserver::Store::new();
    ktui_fake_apiserver::populate_cluster(&store, PODS, NAMESPACES, CRASHED);
    let mut list: serde_json::Value = serde_json::from_slice(&store.list_json("Pod")).unwrap();
    let items = list["items"].as_array_mut().unwrap();
    assert_eq!(items.len(), PODS);
    for pod in items {
        if let Some(meta) = pod["metadata"].as_object_mut() {
            meta.remove("managedFields");
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"    "),
    );
    serde::Serialize::serialize(&list, &mut ser).unwrap();
    out.push(b'\n');
    std::fs::write(path, &out).unwrap();
    out.len()
}

/// One run with stdout to /dev/null; it must succeed.
fn run(program: &str, args: &[&str]) -> Run {
    let gnu_time = Path::new("/usr/bin/time");
    let mut cmd = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.args(["-f", "%M", program]);
        c
    } else {
        Command::new(program)
    };
    let start = Instant::now();
    let out = cmd
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (install it: apt-get install -y {program})"));
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?}: {stderr}");
    let rss_mb = gnu_time
        .exists()
        .then(|| stderr.lines().last()?.trim().parse::<f64>().ok())
        .flatten()
        .map(|kb| kb / 1024.0);
    (took, rss_mb)
}
