//! Throughput figures for ktui-helper (prints them; no harness):
//!
//!   cargo bench -p ktui-helper --bench pipeline            # user space only
//!   sudo cargo bench -p ktui-helper --bench pipeline       # + kernel rate, load/attach time
//!
//! 1. User space, one core: raw ring-buffer records (rebuilt from the real recording
//!    helper-image/recordings/demo-sockets.jsonl) → decode → convert (k8s lookup included) →
//!    JSON line → writer channel. Records per second of the reader thread's CPU time.
//! 2. Kernel: events generated and delivered per second while loopback UDP is flooded
//!    (needs root).
//! 3. Program load + attach time (needs root).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ktui_helper::dns;
use ktui_helper::events::convert::Converter;
use ktui_helper::events::decode::{Record, encode};
use ktui_helper::events::layout::*;
use ktui_helper::guard::UserCounters;
use ktui_helper::k8s::{Resolver, Roots};
use ktui_helper::netfmt;
use ktui_helper::pipeline::{Emitter, Format, Processor, SharedFilter};
use ktui_helper::probes::load::{KernelFilter, Session, drop_reason_names};
use ktui_wire::{Direction, EventType, SocketEvent};

const RECORDING: &str = include_str!("../../recordings/demo-sockets.jsonl");

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime into a timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn pin_to_cpu(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t with one bit set, for this thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn state_number(name: Option<&str>) -> u8 {
    (1..=13)
        .find(|n| netfmt::tcp_state_name(*n) == name)
        .unwrap_or(0)
}

fn put_addr(family: &mut u16, dst: &mut [u8; 16], addr: Option<&str>) {
    match addr.and_then(|a| a.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => {
            *family = netfmt::AF_INET;
            dst[..4].copy_from_slice(&v4.octets());
        }
        Some(IpAddr::V6(v6)) => {
            *family = netfmt::AF_INET6;
            *dst = v6.octets();
        }
        None => {}
    }
}

/// The raw record the kernel would have produced for a recorded line.
fn record_of(e: &SocketEvent, reasons: &std::collections::HashMap<String, u32>) -> Record {
    let ts: jiff::Timestamp = e.ts.parse().unwrap();
    let mut ev = KtuiEvent {
        ts_ns: (ts.as_nanosecond() % 1_000_000_000_000_000) as u64,
        kind: match e.kind {
            EventType::TcpState => KIND_TCP_STATE,
            EventType::TcpRetransmit => KIND_TCP_RETRANSMIT,
            EventType::TcpReset => KIND_TCP_RESET,
            EventType::Connect => KIND_CONNECT,
            EventType::UdpSend => KIND_UDP_SEND,
            EventType::UdpRecv => KIND_UDP_RECV,
            EventType::Dns => KIND_DNS,
            EventType::Drop => KIND_DROP,
        },
        proto: match e.proto {
            Some(ktui_wire::Proto::Tcp) => netfmt::IPPROTO_TCP,
            Some(ktui_wire::Proto::Udp) => netfmt::IPPROTO_UDP,
            None => 0,
        },
        pid: e.pid.unwrap_or(0),
        tid: e.tid.unwrap_or(0),
        sport: e.sport.unwrap_or(0),
        dport: e.dport.unwrap_or(0),
        old_state: state_number(e.old_state.as_deref()),
        new_state: state_number(e.new_state.as_deref()),
        bytes: e.bytes.unwrap_or(0),
        latency_ns: e.latency_us.unwrap_or(0) * 1000,
        err: e.errno.unwrap_or(0),
        direction: match e.direction {
            Some(Direction::Send) => DIR_SEND,
            Some(Direction::Recv) => DIR_RECV,
            None => 0,
        },
        netns: e.netns.unwrap_or(0) as u32,
        cgroup_id: e.cgroup_id.unwrap_or(0),
        drop_reason: e
            .drop_reason
            .as_ref()
            .and_then(|r| reasons.get(r).copied())
            .unwrap_or(2),
        ..Default::default()
    };
    if let Some(c) = &e.comm {
        let n = c.len().min(15);
        ev.comm[..n].copy_from_slice(&c.as_bytes()[..n]);
    }
    let mut family = 0;
    put_addr(&mut family, &mut ev.saddr, e.src.as_deref());
    put_addr(&mut family, &mut ev.daddr, e.dst.as_deref());
    ev.family = family;
    let payload = e.dns.as_ref().map(|d| {
        let q = dns::build_query(
            0x1234,
            d.qname.as_deref().unwrap_or("x"),
            d.qtype.unwrap_or(1),
        );
        match d.rcode {
            Some(rc) => dns::build_response(&q, rc),
            None => q,
        }
    });
    if let Some(p) = &payload {
        ev.payload_len = p.len() as u16;
    }
    Record { ev, payload }
}

fn user_space(format: Format) {
    let vmlinux = std::fs::read("/sys/kernel/btf/vmlinux").ok();
    let btf = vmlinux
        .as_deref()
        .and_then(|d| ktui_helper::btf::Btf::parse(d).ok());
    let names = drop_reason_names(btf.as_ref());
    let by_name = names.iter().map(|(k, v)| (v.clone(), *k)).collect();
    let recorded: Vec<SocketEvent> = RECORDING
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(!recorded.is_empty(), "the recording is empty");
    let raw: Vec<Vec<u8>> = recorded
        .iter()
        .map(|e| encode(&record_of(e, &by_name)))
        .collect();

    let (tx, rx) = std::sync::mpsc::sync_channel::<String>(1 << 16);
    let drained = Arc::new(AtomicU64::new(0));
    let d = drained.clone();
    let drain = std::thread::spawn(move || {
        pin_to_cpu(1);
        let mut bytes = 0u64;
        for line in rx {
            bytes += line.len() as u64;
            d.fetch_add(
                line.bytes().filter(|&b| b == b'\n').count() as u64,
                Ordering::Relaxed,
            );
        }
        bytes
    });
    pin_to_cpu(0);
    let counters = Arc::new(UserCounters::default());
    let emitter = Emitter::new(
        tx,
        format,
        counters.clone(),
        Arc::new(SharedFilter::default()),
    );
    let converter = Converter::new(names, Some(Resolver::new(Roots::from_env())));
    let mut p = Processor::new(converter, emitter);

    let total = 2_000_000usize;
    // Warm up (caches, resolver negative entries).
    for r in raw.iter().take(10_000) {
        p.record(r, Instant::now());
    }
    let cpu0 = thread_cpu();
    let wall0 = Instant::now();
    let mut now = Instant::now();
    for (i, r) in raw.iter().cycle().take(total).enumerate() {
        if i % 4096 == 0 {
            now = Instant::now();
            p.flush(now, false);
        }
        p.record(r, now);
    }
    p.flush(Instant::now(), true);
    let cpu = thread_cpu() - cpu0;
    let wall = wall0.elapsed();
    drop(p);
    let bytes = drain.join().unwrap();
    let delivered = counters.delivered.load(Ordering::Relaxed);
    let dropped = counters.dropped.load(Ordering::Relaxed);
    println!(
        "user space (decode → convert → {} line → channel), one core, {} distinct recorded records:",
        match format {
            Format::TraceLine => "trace JSON",
            Format::Wire => "wire-protocol `socket`",
        },
        raw.len()
    );
    println!(
        "  {total} records in {:.3} s wall, {:.3} s reader CPU: {:.0} records/s per core ({:.0} records/s wall)",
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        total as f64 / cpu.as_secs_f64(),
        total as f64 / wall.as_secs_f64()
    );
    println!(
        "  lines written {} ({:.1} MB), records delivered {delivered}, dropped on a full channel {dropped}",
        drained.load(Ordering::Relaxed),
        bytes as f64 / 1e6
    );
}

fn flood(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let _ = s.send_to(b"x", ("127.0.0.1", port));
            n += 1;
        }
        n
    })
}

fn kernel_and_load() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("kernel rate and load time: skipped (needs root)");
        return;
    }
    let mut loads = Vec::new();
    for _ in 0..3 {
        let s = Session::open(4 << 20).expect("load");
        loads.push(s.report.load_time);
    }
    loads.sort();
    println!(
        "program load + attach (Session::open, incl. /proc listener seeding): median {:.0} ms (min {:.0}, max {:.0})",
        loads[1].as_secs_f64() * 1000.0,
        loads[0].as_secs_f64() * 1000.0,
        loads[2].as_secs_f64() * 1000.0
    );

    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = sink.local_addr().unwrap().port();
    let secs = 3.0;
    // Baseline: the same flood with no probes attached.
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2).map(|_| flood(port, stop.clone())).collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let baseline: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    let session = Session::open(16 << 20).expect("load");
    let (tx, rx) = std::sync::mpsc::sync_channel::<String>(1 << 16);
    let writer = std::thread::spawn(move || {
        rx.into_iter()
            .map(|chunk| chunk.bytes().filter(|&b| b == b'\n').count())
            .sum::<usize>()
    });
    let mut engine =
        ktui_helper::engine::Engine::start(session, tx, Format::TraceLine, Duration::ZERO, false)
            .unwrap();
    let filter = KernelFilter {
        enabled: true,
        ports: [port].into_iter().collect(),
        tcp: true,
        udp: true,
        ..Default::default()
    };
    engine.configure(&filter, Default::default()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..2).map(|_| flood(port, stop.clone())).collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = senders.into_iter().map(|h| h.join().unwrap()).sum();
    let s = engine.shutdown();
    let lines = writer.join().unwrap();
    println!(
        "kernel: loopback UDP flood from 2 threads for {secs} s to a socket nobody reads \
         (per datagram: a udp_send event, and a drop once its buffer is full; repeats of the \
         flow fold in the kernel into count lines)"
    );
    println!(
        "  without probes: {:.0} datagrams/s; traced: {:.0} datagrams/s",
        baseline as f64 / secs,
        sent as f64 / secs
    );
    println!(
        "  generated {:.0} events/s ({:.0}/s folded), delivered {:.0} records/s, lost {} (ring buffer full), dropped {} (writer), {lines} lines",
        s.generated as f64 / secs,
        s.aggregated as f64 / secs,
        s.events as f64 / secs,
        s.lost,
        s.dropped
    );
    drop(sink);
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too. Nothing to parse.
    user_space(Format::TraceLine);
    user_space(Format::Wire);
    kernel_and_load();
}
