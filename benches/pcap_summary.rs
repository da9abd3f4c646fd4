//! `ktui pcap summary --json` on a large capture, side by side with `tcpdump -nr` and
//! `tshark -r` on the same file (targets: ≥ 1.5M packets/s on one core, ≥ 10× tcpdump, ≥ 20×
//! tshark, memory flat in file size).
//!
//! The capture is generated here: 1,000,000 Ethernet frames (nanosecond pcap, as the helper
//! writes) in 65,536 flows — TCP data segments with handshakes and closes, DNS queries and
//! answers over UDP, other UDP and ICMP echo — then ktui alone once more on 3,000,000 frames of
//! the same mix to show its peak RSS does not grow with the file. Each command runs with stdout
//! on /dev/null; wall time and CPU time and peak RSS come from wait4's rusage.
//!
//! Run: `cargo bench --bench pcap_summary` (needs tcpdump and tshark on PATH; without them
//! only ktui is timed). KTUI_BENCH_PACKETS changes the first file's size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FLOWS: u32 = 65_536;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that quick.
    if !std::env::args().any(|a| a == "--bench") {
        println!("pcap_summary bench: run with `cargo bench --bench pcap_summary`");
        return;
    }
    let packets: u64 = std::env::var("KTUI_BENCH_PACKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.pcap");
    let bytes = write_capture(&file, packets);
    println!(
        "{packets} packets in {FLOWS} flows: {:.1} MB (pcap, ns timestamps)",
        bytes as f64 / 1e6
    );
    let path = file.to_str().unwrap();
    let ktui = env!("CARGO_BIN_EXE_ktui");

    // Warm the page cache, and check the line count once (streamed from a pipe, not timed:
    // the bench process stays small, see `run`).
    let mut child = Command::new(ktui)
        .args(["pcap", "summary", "--json", path])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = 0u64;
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    loop {
        let buf = std::io::BufRead::fill_buf(&mut reader).unwrap();
        if buf.is_empty() {
            break;
        }
        lines += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        std::io::BufRead::consume(&mut reader, n);
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(lines, packets, "ktui printed {lines} lines");
    println!(
        "(peak RSS below includes the bench process's own at spawn time, inherited through \
         fork+exec: {:.1} MB)",
        own_hwm_kb() as f64 / 1024.0
    );

    let k = best_of(3, ktui, &["pcap", "summary", "--json", path]);
    report(
        "ktui pcap summary --json FILE >/dev/null",
        packets,
        &k,
        None,
    );
    let kt = best_of(1, ktui, &["pcap", "summary", path]);
    report(
        "ktui pcap summary FILE (text) >/dev/null",
        packets,
        &kt,
        None,
    );
    let kf = best_of(1, ktui, &["pcap", "summary", "--flows", "--json", path]);
    report("ktui pcap summary --flows --json FILE", packets, &kf, None);
    for (tool, args) in [("tcpdump", vec!["-nr", path]), ("tshark", vec!["-r", path])] {
        if Command::new(tool).arg("--version").output().is_err() {
            println!("{tool}: not installed, skipped");
            continue;
        }
        let r = best_of(1, tool, &args);
        report(
            &format!("{tool} {} >/dev/null", args[0]),
            packets,
            &r,
            Some(&k),
        );
    }

    // Memory flat in file size: the same mix, three times as long.
    let big = dir.path().join("bench3.pcap");
    let big_bytes = write_capture(&big, packets * 3);
    println!("{} packets: {:.1} MB", packets * 3, big_bytes as f64 / 1e6);
    let k3 = best_of(
        1,
        ktui,
        &["pcap", "summary", "--json", big.to_str().unwrap()],
    );
    report(
        "ktui pcap summary --json FILE3 >/dev/null",
        packets * 3,
        &k3,
        None,
    );
    println!(
        "peak RSS {:.1} MB at {packets} packets, {:.1} MB at {} packets",
        k.max_rss_kb as f64 / 1024.0,
        k3.max_rss_kb as f64 / 1024.0,
        packets * 3
    );
}

/// This process's peak RSS (VmHWM), kB. Linux carries a parent's high-water mark into the
/// rusage of a child it forks and execs, so this is the floor of every figure measured here.
fn own_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One finished process, as wait4 saw it.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    cpu: Duration,
    max_rss_kb: i64,
}

fn best_of(n: usize, program: &str, args: &[&str]) -> Run {
    (0..n)
        .map(|_| run(program, args))
        .min_by_key(|r| r.wall)
        .unwrap()
}

fn report(what: &str, packets: u64, r: &Run, vs: Option<&Run>) {
    let pps = packets as f64 / r.wall.as_secs_f64();
    let cpu_pps = packets as f64 / r.cpu.as_secs_f64();
    let ratio = vs
        .map(|k| {
            format!(
                ", ktui --json is {:.1}× faster",
                r.wall.as_secs_f64() / k.wall.as_secs_f64()
            )
        })
        .unwrap_or_default();
    println!(
        "{what}: {:.3} s wall, {:.3} s CPU, {:.2}M packets/s ({:.2}M per CPU second), peak RSS {:.1} MB{ratio}",
        r.wall.as_secs_f64(),
        r.cpu.as_secs_f64(),
        pps / 1e6,
        cpu_pps / 1e6,
        r.max_rss_kb as f64 / 1024.0
    );
}

/// struct rusage of Linux (x86_64 and aarch64: two timevals, then 14 longs).
#[repr(C)]
#[derive(Default)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    maxrss: i64,
    rest: [i64; 13],
}

unsafe extern "C" {
    fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
}

fn run(program: &str, args: &[&str]) -> Run {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let pid = child.id() as i32;
    let mut status = 0i32;
    let mut usage = Rusage::default();
    // SAFETY: `pid` is our child, not yet reaped (std's Child is never waited on: dropping it
    // does not reap); `status` and `usage` are valid for writes and `Rusage` has the kernel's
    // layout.
    let got = unsafe { wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed();
    assert_eq!(got, pid, "wait4 failed");
    // WIFEXITED && WEXITSTATUS == 0
    assert!(
        status & 0x7f == 0 && (status >> 8) & 0xff == 0,
        "{program} failed: status {status:#x}"
    );
    drop(child);
    let tv = |t: [i64; 2]| Duration::from_secs(t[0] as u64) + Duration::from_micros(t[1] as u64);
    Run {
        wall,
        cpu: tv(usage.utime) + tv(usage.stime),
        max_rss_kb: usage.maxrss,
    }
}

/// Writes `packets` frames; returns the file's size.
fn write_capture(path: &Path, packets: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    // Nanosecond pcap, little-endian, Ethernet.
    out.write_all(&0xa1b2_3c4du32.to_le_bytes()).unwrap();
    out.write_all(&[2, 0, 4, 0]).unwrap();
    out.write_all(&[0; 8]).unwrap();
    out.write_all(&262_144u32.to_le_bytes()).unwrap();
    out.write_all(&1u32.to_le_bytes()).unwrap();
    let mut frame = Vec::with_capacity(2048);
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut seq = vec![0u32; FLOWS as usize];
    let mut ts: u64 = 1_796_000_000_000_000_000;
    let mut written = 24u64;
    for i in 0..packets {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let flow = (rng % u64::from(FLOWS)) as u32;
        ts += 700 + (rng >> 54);
        frame.clear();
        build(&mut frame, flow, i, rng, &mut seq[flow as usize]);
        let len = frame.len() as u32;
        out.write_all(&((ts / 1_000_000_000) as u32).to_le_bytes())
            .unwrap();
        out.write_all(&((ts % 1_000_000_000) as u32).to_le_bytes())
            .unwrap();
        out.write_all(&len.to_le_bytes()).unwrap();
        out.write_all(&len.to_le_bytes()).unwrap();
        out.write_all(&frame).unwrap();
        written += 16 + u64::from(len);
    }
    out.flush().unwrap();
    written
}

/// One frame of `flow`: flows 0–39,999 TCP, 40,000–59,999 DNS over UDP, 60,000–62,999 other
/// UDP, the rest ICMP echo. Direction alternates by packet.
fn build(f: &mut Vec<u8>, flow: u32, i: u64, r: u64, seq: &mut u32) {
    let client = [10, 1 + (flow >> 16) as u8, (flow >> 8) as u8, flow as u8];
    let server = [10, 200, (flow % 7) as u8, 1 + (flow % 200) as u8];
    let reply = r & 1 == 1;
    let (src, dst) = if reply {
        (server, client)
    } else {
        (client, server)
    };
    f.extend_from_slice(&[0x02, 0x4b, 0x54, 0, 0, if reply { 1 } else { 2 }]);
    f.extend_from_slice(&[0x02, 0x4b, 0x54, 0, 0, if reply { 2 } else { 1 }]);
    f.extend_from_slice(&[0x08, 0x00]);
    let cport = 20_000 + (flow % 40_000) as u16;
    let mut l4 = Vec::with_capacity(256);
    let proto = if flow < 40_000 {
        let sport = if reply { 443 } else { cport };
        let dport = if reply { cport } else { 443 };
        let step = (r >> 8) % 100;
        let (flags, payload) = match step {
            0 => (0x02u8, 0usize),
            1 => (0x12, 0),
            2 => (0x11, 0),
            3 => (0x04, 0),
            4..=40 => (0x10, 0),
            _ => (0x18, (r >> 16) as usize % 120),
        };
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&seq.to_be_bytes());
        l4.extend_from_slice(&(i as u32).to_be_bytes());
        l4.extend_from_slice(&[0x50, flags, 0x01, 0xf6, 0, 0, 0, 0]);
        l4.resize(20 + payload, 0x61);
        *seq = seq.wrapping_add(payload as u32);
        6u8
    } else if flow < 63_000 {
        let dns = flow < 60_000;
        let port = if dns {
            53
        } else {
            5_000 + (flow % 1000) as u16
        };
        let (sport, dport) = if reply { (port, cport) } else { (cport, port) };
        let mut body = Vec::with_capacity(64);
        if dns {
            body.extend_from_slice(&(flow as u16).to_be_bytes());
            body.extend_from_slice(&[
                if reply { 0x81 } else { 0x01 },
                0x80,
                0,
                1,
                0,
                u8::from(reply),
                0,
                0,
                0,
                0,
            ]);
            let host = format!("host{}", flow % 5000);
            for label in [host.as_str(), "svc", "cluster", "local"] {
                body.push(label.len() as u8);
                body.extend_from_slice(label.as_bytes());
            }
            body.extend_from_slice(&[0, 0, 1, 0, 1]);
            if reply {
                body.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4]);
                body.extend_from_slice(&server);
            }
        } else {
            body.resize(40 + (r >> 20) as usize % 200, 0x42);
        }
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        l4.extend_from_slice(&body);
        17
    } else {
        l4.extend_from_slice(&[if reply { 0 } else { 8 }, 0, 0, 0]);
        l4.extend_from_slice(&(flow as u16).to_be_bytes());
        l4.extend_from_slice(&(i as u16).to_be_bytes());
        l4.resize(64, 0x37);
        1
    };
    let total = (20 + l4.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&(i as u16).to_be_bytes());
    f.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&l4);
}
