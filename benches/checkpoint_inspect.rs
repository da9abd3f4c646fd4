//! `ktui checkpoint inspect --grep` on a ~1 GiB checkpoint archive (mostly pages), side by side
//! with what a responder does by hand on the same file: `tar xf` then `grep -abo` over the
//! extracted pages images. Peak RSS of each process from `/usr/bin/time -f %M` (target for ktui:
//! < 64 MiB whatever the archive size).
//!
//! The archive is the real CRI-O fixture enlarged consistently (tests/common/ckpt_gen.rs: a new
//! 1 GiB mapping of pid 7 — VMA, pagemap entry and pages), with the secret planted 64 times.
//!
//! Run: `cargo bench --bench checkpoint_inspect` (needs GNU tar, grep and /usr/bin/time; ~2.2 GB
//! free in the temporary directory; `KTUI_BENCH_GIB=4` for a 4 GiB archive); figures go to
//! benches/README.md by hand.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/ckpt_gen.rs"]
mod ckpt_gen;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GIB: u64 = 1 << 30;
const RUNS: usize = 3;
const PLANTED: u64 = 64;

/// One run: wall time, peak RSS in MiB (per process for the manual path), occurrences found.
struct Run {
    wall: Duration,
    rss_mib: Vec<f64>,
    found: u64,
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("checkpoint_inspect bench: run with `cargo bench --bench checkpoint_inspect`");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("checkpoint-big.tar");
    // KTUI_BENCH_GIB=N makes an N GiB archive instead (RSS must not grow with it).
    let gib: u64 = std::env::var("KTUI_BENCH_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let pages = gib * GIB / ckpt_gen::PAGE;
    let step = pages * ckpt_gen::PAGE / PLANTED;
    // Spread over the new pages, some straddling the scanner's 1 MiB windows.
    let planted: Vec<u64> = (0..PLANTED)
        .map(|i| i * step + (1 << 20) - 7 - ckpt_gen::PAGES_3_BYTES)
        .collect();
    let made = Instant::now();
    let g = ckpt_gen::enlarge(&archive, pages, &planted);
    println!(
        "archive: {:.2} GiB ({} bytes), made in {:.1} s; the secret planted {} times (+4 in the fixture)",
        g.archive_bytes as f64 / GIB as f64,
        g.archive_bytes,
        made.elapsed().as_secs_f64(),
        PLANTED
    );
    let ktui = env!("CARGO_BIN_EXE_ktui");
    let extract = dir.path().join("x");
    let (mut ours, mut manual) = (Vec::new(), Vec::new());
    // Alternate, so both see the same page cache and the same noise.
    for _ in 0..RUNS {
        ours.push(run_ktui(ktui, &archive));
        manual.push(run_manual(&archive, &extract));
        std::fs::remove_dir_all(&extract).unwrap();
    }
    for r in ours.iter().chain(&manual) {
        assert_eq!(r.found, PLANTED + 4, "both ways must find every occurrence");
    }
    report(
        "ktui checkpoint inspect --grep --json",
        &ours,
        g.archive_bytes,
    );
    report(
        "tar xf + grep -abo checkpoint/pages-*.img",
        &manual,
        g.archive_bytes,
    );
    println!(
        "best ktui / best manual: {:.2}x the time",
        best(&ours).as_secs_f64() / best(&manual).as_secs_f64()
    );
}

fn best(runs: &[Run]) -> Duration {
    runs.iter().map(|r| r.wall).min().unwrap_or_default()
}

fn report(what: &str, runs: &[Run], bytes: u64) {
    let secs: Vec<String> = runs
        .iter()
        .map(|r| format!("{:.2}", r.wall.as_secs_f64()))
        .collect();
    let rss: Vec<String> = runs[0].rss_mib.iter().map(|m| format!("{m:.1}")).collect();
    let peak = runs
        .iter()
        .flat_map(|r| r.rss_mib.iter().copied())
        .fold(0.0, f64::max);
    println!(
        "{what}: {} s (best {:.0} MB/s), peak RSS {} MiB (max over runs {peak:.1})",
        secs.join(", "),
        bytes as f64 / 1e6 / best(runs).as_secs_f64(),
        rss.join(" + ")
    );
}

/// Runs `cmd` under `/usr/bin/time -f %M`; returns (stdout, wall, peak RSS in MiB).
fn timed(cmd: &mut Command) -> (Vec<u8>, Duration, f64) {
    let rss_file = tempfile::NamedTempFile::new().unwrap();
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-o")
        .arg(rss_file.path())
        .arg("-f")
        .arg("%M")
        .arg(program)
        .args(args);
    timed.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let start = Instant::now();
    let out = timed.output().unwrap();
    let wall = start.elapsed();
    let kib: f64 = std::fs::read_to_string(rss_file.path())
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (out.stdout, wall, kib / 1024.0)
}

fn run_ktui(ktui: &str, archive: &Path) -> Run {
    let (stdout, wall, rss) = timed(
        Command::new(ktui)
            .args(["checkpoint", "inspect"])
            .arg(archive)
            .args([
                "--json",
                "--grep",
                std::str::from_utf8(ckpt_gen::SECRET).unwrap(),
            ]),
    );
    let report: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    // Every pages byte went through the scanner.
    assert!(
        report["grep"]["bytes_scanned"].as_u64().unwrap()
            >= report["sizes"]["pages"].as_u64().unwrap()
    );
    Run {
        wall,
        rss_mib: vec![rss],
        found: report["grep"]["total"].as_u64().unwrap(),
    }
}

fn run_manual(archive: &Path, extract: &Path) -> Run {
    std::fs::create_dir_all(extract).unwrap();
    let (_, tar_wall, tar_rss) = timed(
        Command::new("tar")
            .arg("--force-local")
            .arg("-xf")
            .arg(archive)
            .arg("-C")
            .arg(extract),
    );
    let pages: Vec<_> = std::fs::read_dir(extract.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("pages-")
        })
        .collect();
    let (stdout, grep_wall, grep_rss) = timed(
        Command::new("grep")
            .arg("-abo")
            .arg(std::str::from_utf8(ckpt_gen::SECRET).unwrap())
            .args(&pages),
    );
    let found = String::from_utf8_lossy(&stdout).lines().count() as u64;
    Run {
        wall: tar_wall + grep_wall,
        rss_mib: vec![tar_rss, grep_rss],
        found,
    }
}
