//! Observer effect: what the helper's eBPF programs cost a node under a packet storm.
//!
//!   sudo cargo bench -p ktui-helper --bench observer [-- --secs 4 --rounds 5]
//!
//! The pinned flood: one Python UDP sender pinned to CPU 0 sends 64-byte datagrams over loopback
//! to a socket nobody reads. Side by side in one run, each round:
//!   1. no helper;
//!   2. `ktui-helper trace` pinned to CPU 1, default probe set, no filter;
//!   3. the same with `--ports 9`, a filter that excludes the flood;
//!   4. the same with `--netns 1` (the earliest exit);
//!   5. no helper again.
//!
//! Each traced rate is compared with the mean of its round's two untraced rates (the VM's speed
//! drifts between rounds by more than the effect), and the median of those paired losses is
//! reported with their range, beside the median rates.
//!
//! Then one more unfiltered run with `kernel.bpf_stats_enabled=1`: per program, runs and average
//! ns per run (from `bpftool prog show --json`, before/after deltas), and BPF ns per datagram
//! (bpf_stats itself adds two clock reads per run). Targets (issue 12): ≤ 500 ns per program
//! run, ≤ 1 µs of BPF per datagram, ≤ 15 % throughput loss unfiltered, ≤ 3 % with the
//! excluding filter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const FLOOD: &str = r#"
import os, socket, sys, time
os.sched_setaffinity(0, {0})
secs = float(sys.argv[1])
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(("127.0.0.1", 0))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
addr = r.getsockname()
payload = b"x" * 64
n = 0
start = time.monotonic()
end = start + secs
while True:
    for _ in range(1000):
        s.sendto(payload, addr)
    n += 1000
    if time.monotonic() >= end:
        break
print(n / (time.monotonic() - start))
"#;

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Datagrams per second of one flood.
fn flood(secs: f64) -> f64 {
    let out = Command::new("python3")
        .args(["-c", FLOOD, &secs.to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// `ktui-helper trace` pinned to CPU 1, running once its first stats line is out.
fn start_helper(extra: &[&str]) -> Child {
    let mut child = Command::new("taskset")
        .args(["-c", "1", env!("CARGO_BIN_EXE_ktui-helper"), "trace"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskset + ktui-helper");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(
        first.contains("generated"),
        "the helper did not start: {first}"
    );
    // Keep draining stderr so the helper never blocks on it.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    child
}

fn stop(mut child: Child) {
    // SAFETY: kill(2) with the child's pid and SIGINT.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let _ = child.wait();
}

/// (run count, run time ns) of every loaded program, by program name.
fn prog_stats() -> BTreeMap<String, (u64, u64)> {
    let out = Command::new("bpftool")
        .args(["prog", "show", "--json"])
        .output()
        .expect("bpftool");
    let progs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let mut map = BTreeMap::new();
    for p in progs.as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or("?").to_string();
        let cnt = p["run_cnt"].as_u64().unwrap_or(0);
        let ns = p["run_time_ns"].as_u64().unwrap_or(0);
        let e = map.entry(name).or_insert((0, 0));
        e.0 += cnt;
        e.1 += ns;
    }
    map
}

fn sysctl_stats(on: bool) -> String {
    let path = "/proc/sys/kernel/bpf_stats_enabled";
    let old = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, if on { "1" } else { "0" }).expect("bpf_stats_enabled");
    old.trim().to_string()
}

fn main() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("observer bench: needs root (eBPF, bpf_stats); skipped");
        return;
    }
    let secs = arg("--secs", 5.0);
    let rounds = arg("--rounds", 5.0) as usize;
    // Throughput with bpf_stats off (it adds two clock reads per program run).
    let old = sysctl_stats(false);
    let runs: [(&str, &[&str]); 4] = [
        ("no helper", &[]),
        ("helper, no filter", &[]),
        ("helper, --ports 9", &["--ports", "9"]),
        ("helper, --netns 1", &["--netns", "1"]),
    ];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    // Per round, each traced rate against that round's untraced rate, measured before and
    // after the traced runs (their mean): the VM's speed drifts between rounds by more than
    // the effect, so losses are paired within a round.
    let mut losses: Vec<Vec<f64>> = vec![Vec::new(); runs.len()];
    for round in 1..=rounds {
        let mut line = format!("round {round}:");
        let mut traced = Vec::new();
        for (i, (label, args)) in runs.iter().enumerate() {
            let dps = if i == 0 {
                flood(secs)
            } else {
                let helper = start_helper(args);
                std::thread::sleep(Duration::from_millis(500));
                let dps = flood(secs);
                stop(helper);
                dps
            };
            rates[i].push(dps);
            traced.push(dps);
            line.push_str(&format!(" {label} {dps:.0};"));
        }
        let after = flood(secs);
        line.push_str(&format!(" no helper again {after:.0}"));
        let base = (traced[0] + after) / 2.0;
        for (i, dps) in traced.iter().enumerate() {
            losses[i].push((dps / base - 1.0) * 100.0);
        }
        eprintln!("{line}");
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    println!(
        "pinned flood, {rounds} rounds of {secs} s (bpf_stats off): median rate, and the median \
         of the losses paired within each round (range over rounds)"
    );
    for (i, (label, _)) in runs.iter().enumerate() {
        let m = median(&rates[i]);
        if i == 0 {
            println!("  {label:<20} {m:>9.0} datagrams/s");
            continue;
        }
        let (lo, hi) = range(&losses[i]);
        println!(
            "  {label:<20} {m:>9.0} datagrams/s  {:+.1} % paired ({lo:+.1} … {hi:+.1})",
            median(&losses[i])
        );
    }
    // Per-program cost: one more unfiltered run with bpf_stats on.
    sysctl_stats(true);
    let helper = start_helper(&[]);
    std::thread::sleep(Duration::from_millis(500));
    let before = prog_stats();
    let dps = flood(secs);
    let after = prog_stats();
    stop(helper);
    sysctl_stats(old == "1");
    let datagrams = dps * secs;
    let mut total_ns = 0u64;
    println!("bpf_stats, one unfiltered run ({dps:.0} datagrams/s with stats on):");
    println!(
        "  {:<20} {:>12} {:>10} {:>10}",
        "program", "runs", "avg ns", "per dgram"
    );
    for (name, (c1, t1)) in &after {
        let (c0, t0) = before.get(name).copied().unwrap_or((0, 0));
        if *c1 > c0 {
            let (cnt, ns) = (c1 - c0, t1 - t0);
            total_ns += ns;
            println!(
                "  {name:<20} {cnt:>12} {:>10.0} {:>10.2}",
                ns as f64 / cnt as f64,
                cnt as f64 / datagrams
            );
        }
    }
    println!("  BPF ns per datagram: {:.0}", total_ns as f64 / datagrams);
}
