//! Live capture figures (prints them; no harness), as root:
//!
//!   cargo bench -p ktui-helper --bench capture -- --secs 3 --rates 50000,100000,200000,0
//!
//! Two namespaces joined by a veth pair; a UDP flood (64-byte payloads, 106-byte frames) from
//! A to B at each offered rate (0 = as fast as one sender thread goes) for SECS seconds,
//! captured on A's veth in A's namespace, one capturer at a time, by:
//! - `ktui-helper capture -i VETH` (release) with every packet summarised
//!   (`--summaries-per-sec` unbounded) and its lines read by this process, as serve's writer
//!   would send them on;
//! - the same with the default summary cap (1,000/s: the file gets every packet);
//! - `tcpdump -i VETH -w FILE` (libpcap's default 2 MiB buffer) and `tcpdump -B 32768`
//!   (32 MiB, ktui's ring size).
//!
//! Printed per run: packets sent, written to the file, kernel drops (PACKET_STATISTICS; for
//! tcpdump its "dropped by kernel" line), packets/s written, summaries sent, and the
//! capturer's CPU time (wait4 rusage, user + system, including its idle polling) with the
//! packets it wrote per CPU-second: the one-core ceiling, since one sender on this 2-core VM
//! cannot outrun either capturer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead as _, BufReader};
use std::net::{Ipv4Addr, UdpSocket};
use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, NetnsPair, in_netns, sh};
use ktui_wire::HelperMessage;

/// Wait after the flood before stopping a capturer: libpcap's ring blocks are handed over
/// after tcpdump's 1 s timeout, and a stop loses a block not yet handed over.
const SETTLE: Duration = Duration::from_millis(1500);

/// The two namespaces (10.77.90.1 in A, .2 in B), without IPv6 (no router solicitations or
/// other chatter in the counts).
fn pair() -> NetnsPair {
    let pair = NetnsPair::new("bench", 90);
    for ns in [&pair.a, &pair.b] {
        sh(&format!(
            "ip netns exec {ns} sysctl -qw net.ipv6.conf.all.disable_ipv6=1"
        ));
    }
    pair
}

/// A socket bound in B (so no ICMP errors come back; never read: B's kernel drops what
/// overflows it, spending nothing on a reader) and a sender in A (sendmmsg, 64 datagrams a
/// call) at `rate` packets/s (0 = flat out) for `secs`; the number sent.
fn flood(pair: &NetnsPair, rate: u64, secs: f64) -> u64 {
    let sink = in_netns(&pair.b, || {
        UdpSocket::bind((Ipv4Addr::new(10, 77, 90, 2), 9000)).unwrap()
    })
    .join()
    .unwrap();
    let sent = in_netns(&pair.a, move || {
        let u = UdpSocket::bind((Ipv4Addr::new(10, 77, 90, 1), 0)).unwrap();
        u.connect((Ipv4Addr::new(10, 77, 90, 2), 9000)).unwrap();
        let mut payload = [0x5au8; 64];
        const BATCH: usize = 64;
        let mut iov = libc::iovec {
            iov_base: payload.as_mut_ptr().cast(),
            iov_len: payload.len(),
        };
        // SAFETY: all-zero mmsghdr values are valid; each then points at the one iovec.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for m in msgs.iter_mut() {
            m.msg_hdr.msg_iov = &raw mut iov;
            m.msg_hdr.msg_iovlen = 1;
        }
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        let mut n = 0u64;
        while Instant::now() < end {
            if rate > 0 {
                let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
                if n >= due {
                    std::thread::sleep(Duration::from_micros(200));
                    continue;
                }
            }
            // SAFETY: sendmmsg on our connected socket with BATCH headers we own.
            let r = unsafe { libc::sendmmsg(u.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0) };
            if r > 0 {
                n += r as u64;
            }
        }
        n
    })
    .join()
    .unwrap();
    drop(sink);
    sent
}

/// Stop a capturer with SIGINT and wait for it; its CPU time (user + system).
fn stop_and_cpu(child: &mut std::process::Child) -> Duration {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it for our child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, with pointers to values we own.
    let rc = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut ru) };
    assert_eq!(rc, child.id() as i32);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One capturer's run at one rate: (packets sent, what it did).
type Capturer<'a> = (&'static str, Box<dyn Fn() -> (u64, Run) + 'a>);

struct Run {
    written: u64,
    drops: u64,
    summaries: u64,
    cpu: Duration,
}

fn ktui(pair: &NetnsPair, rate: u64, secs: f64, all_summaries: bool) -> (u64, Run) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "capture",
        "--netns",
        &NetnsPair::path(&pair.a),
        "-i",
        &pair.veth_a,
    ]);
    cmd.args(["--dir", &dir.path().display().to_string()]);
    if all_summaries {
        cmd.args(["--summaries-per-sec", "4000000000"]);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("capture_started"), "{first}");
    let reader = std::thread::spawn(move || {
        let (mut summaries, mut done) = (0u64, None);
        for line in lines.map_while(Result::ok) {
            if line.starts_with("{\"v\":1,\"type\":\"packet\"") {
                summaries += 1;
            } else if let Ok(HelperMessage::CaptureDone { stats, .. }) =
                HelperMessage::decode(line.as_bytes())
            {
                done = Some(stats);
            }
        }
        (summaries, done.expect("capture_done"))
    });
    let sent = flood(pair, rate, secs);
    std::thread::sleep(SETTLE);
    let cpu = stop_and_cpu(&mut child);
    let (summaries, stats) = reader.join().unwrap();
    (
        sent,
        Run {
            written: stats.packets,
            drops: stats.kernel_drops,
            summaries,
            cpu,
        },
    )
}

fn tcpdump(pair: &NetnsPair, rate: u64, secs: f64, buffer_kib: Option<u32>) -> (u64, Run) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.pcap");
    let mut cmd = Command::new("ip");
    cmd.args([
        "netns",
        "exec",
        &pair.a,
        "tcpdump",
        "-n",
        "-i",
        &pair.veth_a,
        "-w",
    ])
    .arg(&file);
    if let Some(b) = buffer_kib {
        cmd.args(["-B", &b.to_string()]);
    }
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = err.next().unwrap().unwrap();
    assert!(first.contains("listening"), "{first}");
    let sent = flood(pair, rate, secs);
    std::thread::sleep(SETTLE);
    // `ip netns exec` execs tcpdump: the child is tcpdump.
    let cpu = stop_and_cpu(&mut child);
    let rest: Vec<String> = err.map_while(Result::ok).collect();
    let count = |what: &str| {
        rest.iter()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (
        sent,
        Run {
            written: count("packets captured"),
            drops: count("dropped by kernel"),
            summaries: 0,
            cpu,
        },
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("capture bench: needs root (network namespaces, AF_PACKET); skipped");
        return;
    }
    let secs: f64 = arg("--secs").map_or(3.0, |s| s.parse().unwrap());
    let rates: Vec<u64> = arg("--rates")
        .unwrap_or_else(|| "50000,100000,200000,0".into())
        .split(',')
        .map(|r| r.parse().unwrap())
        .collect();
    let pair = pair();
    println!("live capture, UDP flood of 106-byte frames on a veth, {secs} s per run");
    println!(
        "{:<28} {:>9} {:>9} {:>9} {:>7} {:>10} {:>9} {:>8} {:>12}",
        "capturer",
        "offered/s",
        "sent",
        "written",
        "drops",
        "written/s",
        "summaries",
        "cpu ms",
        "pkts/cpu-s"
    );
    for rate in rates {
        let offered = if rate == 0 {
            "max".to_string()
        } else {
            rate.to_string()
        };
        let runs: [Capturer<'_>; 4] = [
            (
                "ktui-helper (all summarised)",
                Box::new(|| ktui(&pair, rate, secs, true)),
            ),
            (
                "ktui-helper (1000 summ./s)",
                Box::new(|| ktui(&pair, rate, secs, false)),
            ),
            (
                "tcpdump -w (2 MiB buffer)",
                Box::new(|| tcpdump(&pair, rate, secs, None)),
            ),
            (
                "tcpdump -w -B 32768",
                Box::new(|| tcpdump(&pair, rate, secs, Some(32768))),
            ),
        ];
        for (name, run) in runs.iter() {
            let (sent, r) = run();
            let cpu = r.cpu.as_secs_f64();
            println!(
                "{:<28} {:>9} {:>9} {:>9} {:>7} {:>10.0} {:>9} {:>8.0} {:>12.0}",
                name,
                offered,
                sent,
                r.written,
                r.drops,
                r.written as f64 / secs,
                r.summaries,
                cpu * 1000.0,
                r.written as f64 / cpu.max(1e-9)
            );
        }
    }
}
