//! `ktui-helper trace`: socket events as JSON lines on stdout (the pinned `SocketEvent`
//! format), cumulative stats as one JSON line per second on stderr (after one
//! `ktui-helper trace: ...` line when conntrack is degraded or unavailable). Exits 0 at the
//! end of `--duration` or on SIGINT/SIGTERM, 1 when eBPF cannot be used (naming what is
//! missing).

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

use crate::caps::{self, Caps};
use crate::cli::TraceArgs;
use crate::engine::Engine;
use crate::guard::UserFilter;
use crate::pipeline::{self, Format};
use crate::probes::load::{KernelFilter, Session};

/// Lines buffered between the reader and the stdout writer.
pub const CHANNEL_LINES: usize = 16 * 1024;

fn fail(msg: &str) -> ExitCode {
    eprintln!("ktui-helper trace: {msg}");
    ExitCode::from(1)
}

/// The kernel filter for trace's options.
pub fn kernel_filter(args: &TraceArgs) -> KernelFilter {
    KernelFilter {
        enabled: true,
        ports: args.ports.iter().copied().collect(),
        netns: (!args.netns.is_empty())
            .then(|| args.netns.iter().copied().collect::<BTreeSet<_>>()),
        tcp: true,
        udp: true,
        dns_only: args.dns_only,
        sample: args.sample,
        rate_limit: args.rate_limit,
        drop_unspecified: args.unspecified_drops,
        no_aggregate: args.no_aggregate,
        no_sec: args.no_sec,
    }
}

pub fn run(args: &TraceArgs) -> ExitCode {
    if let Some(err) = Caps::current().ebpf_error() {
        return fail(&format!("eBPF is unavailable: {err}"));
    }
    caps::raise_memlock();
    let term = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, term.clone()) {
            return fail(&format!("cannot install the signal handler: {e}"));
        }
    }
    let session = match Session::open(args.capture.ringbuf_bytes) {
        Ok(s) => s,
        Err(e) => return fail(&format!("eBPF is unavailable: {e}")),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel(pipeline::channel_batches(
        args.capture.debug_channel_lines.unwrap_or(CHANNEL_LINES),
    ));
    let broken = Arc::new(AtomicBool::new(false));
    let writer = match pipeline::spawn_writer(rx, std::io::stdout(), broken.clone()) {
        Ok(w) => w,
        Err(e) => return fail(&format!("cannot start the writer thread: {e}")),
    };
    let stall = args.capture.debug_stall_reader.unwrap_or_default();
    let conntrack = !args.capture.no_conntrack;
    let mut engine = match Engine::start(session, tx, Format::TraceLine, stall, conntrack) {
        Ok(e) => e,
        Err(e) => return fail(&e),
    };
    if args.verbose {
        let report = &engine.session().report;
        let probes = serde_json::json!({ "probes": report.probes,
            "load_ms": report.load_time.as_secs_f64() * 1000.0,
            "conntrack": engine.conntrack().probe_status() });
        eprintln!("{probes}");
    }
    if let Some(notice) = engine.conntrack().notice() {
        eprintln!("ktui-helper trace: {notice}");
    }
    let user = UserFilter {
        pod_uids: Default::default(),
        max_events: args.max_events,
        max_bytes: args.max_bytes,
        no_sec: args.no_sec,
    };
    if let Err(e) = engine.configure(&kernel_filter(args), user) {
        return fail(&e);
    }

    let started = Instant::now();
    let mut next_stats = started + Duration::from_secs(1);
    loop {
        std::thread::sleep(Duration::from_millis(20));
        let now = Instant::now();
        if term.load(Ordering::Acquire)
            || broken.load(Ordering::Acquire)
            || engine.counters.limit_reached.load(Ordering::Acquire)
            || args
                .duration
                .is_some_and(|d| now.duration_since(started) >= d)
        {
            break;
        }
        if now >= next_stats {
            next_stats += Duration::from_secs(1);
            print_stats(&engine.stats());
        }
    }
    let stats = engine.shutdown();
    let _ = writer.join();
    print_stats(&stats);
    ExitCode::SUCCESS
}

fn print_stats(stats: &ktui_wire::Stats) {
    if let Ok(line) = serde_json::to_string(stats) {
        eprintln!("{line}");
    }
}
