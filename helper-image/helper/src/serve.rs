//! `ktui-helper serve`: the wire protocol on stdin/stdout. First line `hello`; then
//! `subscribe` / `unsubscribe` / `ping` from the console; `socket` events and a `stats`
//! message every second to it. `capture_start` / `capture_stop` run packet captures through
//! the [`Manager`] (their own threads, a bounded number at once, a queue beyond). Bad input
//! gets an `error` reply and serving goes on. Stops on stdin EOF or SIGTERM/SIGINT: captures
//! are stopped (files closed and reported), every program detached (nothing is pinned).

use std::collections::{BTreeSet, HashSet};
use std::io::Read as _;
use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use ktui_wire::{
    ConsoleMessage, ErrorCode, ErrorReply, Filters, Hello, HelperMessage, LineBuffer, Proto, Stats,
    WireError,
};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::caps::{self, Caps};
use crate::capture::manager::Manager;
use crate::cli::ServeArgs;
use crate::engine::Engine;
use crate::guard::UserFilter;
use crate::k8s::{Resolver, Roots};
use crate::pipeline::{self, Format};
use crate::probes::load::{KernelFilter, Session};

/// Lines buffered between the reader and the stdout writer.
const CHANNEL_LINES: usize = 16 * 1024;
const PORTS_MAX: usize = 64;
const NETNS_MAX: usize = 256;
/// Every this many seconds a pod subscription's network namespaces are looked up again.
const NETNS_REFRESH_TICKS: u64 = 5;

enum Input {
    Message(ConsoleMessage),
    Bad(ErrorReply),
    Eof,
    Signal,
    /// A capture's thread sent its last message.
    CaptureEnded(u64),
}

/// The running kernel's release (`uname -r`).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The node name: `$NODE_NAME` (downward API) else the hostname.
pub fn node_name() -> Option<String> {
    std::env::var("NODE_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
}

fn checkpoint_dir_readable() -> bool {
    let dir = std::env::var("KTUI_CHECKPOINT_DIR")
        .unwrap_or_else(|_| "/var/lib/kubelet/checkpoints".to_string());
    std::fs::read_dir(dir).is_ok()
}

/// The `id` of a request line, when it has one (for error replies).
fn request_id(line: &[u8]) -> Option<u64> {
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()?
        .get("id")?
        .as_u64()
}

fn wire_error(e: &WireError, id: Option<u64>) -> ErrorReply {
    let code = match e {
        WireError::Oversized(_) => ErrorCode::Oversized,
        WireError::Malformed(_) => ErrorCode::Malformed,
        WireError::UnknownType(_) => ErrorCode::UnknownType,
        WireError::VersionMismatch { .. } => ErrorCode::VersionMismatch,
    };
    ErrorReply {
        code,
        message: e.to_string(),
        id,
    }
}

/// Stdin → decoded messages (or error replies), then Eof.
fn spawn_stdin(tx: Sender<Input>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("ktui-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut lines = LineBuffer::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                for line in lines.push(&buf[..n]) {
                    let input = match line {
                        Ok(line) => match ConsoleMessage::decode(&line) {
                            Ok(m) => Input::Message(m),
                            Err(e) => Input::Bad(wire_error(&e, request_id(&line))),
                        },
                        Err(e) => Input::Bad(wire_error(&e, None)),
                    };
                    if tx.send(input).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(Input::Eof);
        })?;
    Ok(())
}

/// Validate console filters and split them into kernel and user-space parts.
pub fn split_filters(f: &Filters) -> Result<(KernelFilter, UserFilter), String> {
    if f.ports.len() > PORTS_MAX {
        return Err(format!(
            "at most {PORTS_MAX} ports can be filtered, got {}",
            f.ports.len()
        ));
    }
    if f.netns.len() > NETNS_MAX {
        return Err(format!(
            "at most {NETNS_MAX} network namespaces, got {}",
            f.netns.len()
        ));
    }
    let mut netns = BTreeSet::new();
    for n in &f.netns {
        let n = u32::try_from(*n).map_err(|_| format!("netns inode {n} is out of range"))?;
        netns.insert(n);
    }
    let any_proto = f.protocols.is_empty();
    let kernel = KernelFilter {
        enabled: true,
        ports: f.ports.iter().copied().collect(),
        netns: (!netns.is_empty()).then_some(netns),
        tcp: any_proto || f.protocols.contains(&Proto::Tcp),
        udp: any_proto || f.protocols.contains(&Proto::Udp),
        dns_only: f.dns_only,
        sample: f.sample,
        rate_limit: f.rate_limit,
        drop_unspecified: false,
        no_aggregate: false,
        no_sec: f.no_sec,
    };
    let user = UserFilter {
        pod_uids: f.pod_uids.iter().cloned().collect::<HashSet<_>>(),
        max_events: f.max_events,
        max_bytes: f.max_bytes,
        no_sec: f.no_sec,
    };
    Ok((kernel, user))
}

struct Server {
    out: SyncSender<String>,
    engine: Option<Engine>,
    /// The filters in force (kernel part as configured, narrowed to pod namespaces).
    active: Option<(KernelFilter, UserFilter)>,
    /// For pod UID → network namespace (the reader thread has its own for attribution).
    resolver: Resolver,
    /// Why there is no engine (sent in reply to subscribe).
    unavailable: Option<(ErrorCode, String)>,
    captures: Manager,
}

impl Server {
    /// Control messages wait for room (they are few); events never do.
    fn send(&self, msg: &HelperMessage) {
        let _ = self.out.send(ktui_wire::encode(msg));
    }

    fn error(&self, code: ErrorCode, message: String, id: Option<u64>) {
        self.send(&HelperMessage::Error(ErrorReply { code, message, id }));
    }

    fn handle(&mut self, msg: ConsoleMessage) {
        match msg {
            ConsoleMessage::Ping { id } => self.send(&HelperMessage::Pong { id }),
            ConsoleMessage::Subscribe { id, filters } => {
                let Some(engine) = self.engine.as_mut() else {
                    let (code, why) = self
                        .unavailable
                        .clone()
                        .unwrap_or((ErrorCode::Unavailable, "eBPF is unavailable".to_string()));
                    self.error(code, format!("cannot subscribe: {why}"), Some(id));
                    return;
                };
                let split = split_filters(&filters).map(|(mut kernel, user)| {
                    narrow_to_pods(&mut kernel, &user, &mut self.resolver);
                    (kernel, user)
                });
                match split.and_then(|(k, u)| engine.configure(&k, u.clone()).map(|()| (k, u))) {
                    Ok(active) => {
                        self.active = Some(active);
                        self.send(&HelperMessage::Subscribed { id });
                    }
                    Err(e) => self.error(ErrorCode::BadRequest, e, Some(id)),
                }
            }
            ConsoleMessage::CaptureStart { id, spec } => self.captures.start(id, spec),
            ConsoleMessage::CaptureStop { id } => self.captures.stop(id),
            ConsoleMessage::Unsubscribe { id } => {
                self.active = None;
                if let Some(engine) = self.engine.as_mut()
                    && let Err(e) =
                        engine.configure(&KernelFilter::default(), UserFilter::default())
                {
                    self.error(ErrorCode::Internal, e, Some(id));
                }
            }
        }
    }

    fn stats(&self) -> Stats {
        self.engine.as_ref().map(Engine::stats).unwrap_or_default()
    }

    /// A pod's network namespace changes when its sandbox is recreated: re-resolve the pod
    /// subscription's namespaces and reconfigure the kernel when they moved.
    fn refresh_pod_netns(&mut self) {
        let (Some(engine), Some((kernel, user))) = (self.engine.as_mut(), self.active.as_mut())
        else {
            return;
        };
        if user.pod_uids.is_empty() {
            return;
        }
        let mut fresh = kernel.clone();
        fresh.netns = None;
        narrow_to_pods(&mut fresh, user, &mut self.resolver);
        if fresh.netns != kernel.netns && engine.configure(&fresh, user.clone()).is_ok() {
            *kernel = fresh;
        }
    }
}

/// A subscription to pods (by UID) also filters in the kernel by their network namespaces, so
/// other pods' traffic does not use up the sampling, rate-limit and ring-buffer budget.
/// Namespaces given explicitly win; pods whose namespace is not found (hostNetwork, not on this
/// node) leave the kernel unfiltered and the user-space filter by UID does the work.
fn narrow_to_pods(kernel: &mut KernelFilter, user: &UserFilter, resolver: &mut Resolver) {
    if user.pod_uids.is_empty() || kernel.netns.is_some() {
        return;
    }
    let found: BTreeSet<u32> = resolver
        .netns_of_pods(&user.pod_uids, Instant::now())
        .into_iter()
        .filter_map(|ns| u32::try_from(ns).ok())
        .collect();
    if !found.is_empty() {
        kernel.netns = Some(found);
    }
}

pub fn run(args: &ServeArgs) -> ExitCode {
    let (out_tx, out_rx) = mpsc::sync_channel::<String>(pipeline::channel_batches(
        args.capture.debug_channel_lines.unwrap_or(CHANNEL_LINES),
    ));
    let broken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = match pipeline::spawn_writer(out_rx, std::io::stdout(), broken) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ktui-helper serve: cannot start the writer thread: {e}");
            return ExitCode::from(1);
        }
    };

    // Signals first: a SIGTERM right after hello must be a clean stop, not a kill.
    let (in_tx, in_rx) = mpsc::channel::<Input>();
    let signals = Signals::new([SIGTERM, SIGINT]);
    let signal_handle = match signals {
        Ok(mut signals) => {
            let handle = signals.handle();
            let tx = in_tx.clone();
            let _ = std::thread::Builder::new()
                .name("ktui-signals".into())
                .spawn(move || {
                    if signals.forever().next().is_some() {
                        let _ = tx.send(Input::Signal);
                    }
                });
            Some(handle)
        }
        Err(e) => {
            eprintln!("ktui-helper serve: cannot install signal handlers: {e}");
            None
        }
    };
    let caps = Caps::current();
    let missing = caps.missing_for_ebpf();
    let (engine, unavailable, probes) = match caps.ebpf_error() {
        Some(err) => (None, Some((ErrorCode::NotPermitted, err)), Vec::new()),
        None => {
            caps::raise_memlock();
            match Session::open(args.capture.ringbuf_bytes) {
                Ok(session) => {
                    let mut probes = session.report.probes.clone();
                    let stall = args.capture.debug_stall_reader.unwrap_or_default();
                    let conntrack = !args.capture.no_conntrack;
                    match Engine::start(session, out_tx.clone(), Format::Wire, stall, conntrack) {
                        Ok(engine) => {
                            probes.extend(engine.conntrack().probe_status());
                            (Some(engine), None, probes)
                        }
                        Err(e) => (None, Some((ErrorCode::Internal, e)), probes),
                    }
                }
                Err(e) => (None, Some((ErrorCode::Unavailable, e)), Vec::new()),
            }
        }
    };
    let hello = Hello {
        protocol: ktui_wire::PROTOCOL_VERSION,
        helper_version: env!("CARGO_PKG_VERSION").to_string(),
        kernel: kernel_release(),
        node: node_name(),
        probes,
        ebpf: engine.is_some(),
        ebpf_error: unavailable.as_ref().map(|(_, e)| e.clone()),
        missing_capabilities: missing,
        capture: crate::capture::available(caps),
        checkpoint_dir: checkpoint_dir_readable(),
        snapshot: caps::Caps::current().missing_for_snapshot().is_empty(),
    };
    let ended = in_tx.clone();
    let captures = Manager::new(
        crate::capture::Env::from_env(),
        out_tx.clone(),
        std::sync::Arc::new(move |id| {
            let _ = ended.send(Input::CaptureEnded(id));
        }),
    );
    let mut server = Server {
        out: out_tx,
        engine,
        unavailable,
        active: None,
        resolver: Resolver::new(Roots::from_env()),
        captures,
    };
    server.send(&HelperMessage::Hello(hello));

    if let Err(e) = spawn_stdin(in_tx.clone()) {
        eprintln!("ktui-helper serve: cannot start the stdin thread: {e}");
        return ExitCode::from(1);
    }
    drop(in_tx);

    let mut next_stats = Instant::now() + Duration::from_secs(1);
    let mut ticks = 0u64;
    loop {
        let wait = next_stats.saturating_duration_since(Instant::now());
        match in_rx.recv_timeout(wait) {
            Ok(Input::Message(m)) => server.handle(m),
            Ok(Input::Bad(reply)) => server.send(&HelperMessage::Error(reply)),
            Ok(Input::CaptureEnded(id)) => server.captures.ended(id),
            Ok(Input::Eof) | Ok(Input::Signal) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= next_stats {
            next_stats += Duration::from_secs(1);
            server.send(&HelperMessage::Stats(server.stats()));
            ticks += 1;
            if ticks.is_multiple_of(NETNS_REFRESH_TICKS) {
                server.refresh_pod_netns();
            }
        }
    }
    if let Some(h) = signal_handle {
        h.close();
    }
    server.captures.shutdown();
    if let Some(engine) = server.engine.take() {
        let stats = engine.shutdown();
        server.send(&HelperMessage::Stats(stats));
    }
    drop(server);
    let _ = writer.join();
    ExitCode::SUCCESS
}
