//! Command line.

use std::time::Duration;

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "ktui-helper",
    version = concat!(env!("CARGO_PKG_VERSION"), " (wire protocol v1)"),
    about = "Node-side helper for ktui: eBPF socket events (trace, serve), live snapshots, file transfer (fetch, rm)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print socket events as JSON lines on stdout, stats as JSON lines on stderr.
    Trace(TraceArgs),
    /// Speak the ktui wire protocol on stdin/stdout.
    Serve(ServeArgs),
    /// Sleep until SIGTERM/SIGINT (the helper pod's main process).
    Idle,
    /// Write a live snapshot of a container (processes, memory, changed files, kernel log) as
    /// a tar to stdout. The processes are not frozen: not atomic, not a CRIU image.
    Snapshot(SnapshotArgs),
    /// Send a file staged on the node (checkpoint archive, capture) on stdout in the bulk
    /// framing, with the whole file's SHA-256.
    Fetch(FetchArgs),
    /// Remove a file staged on the node (after the console verified its copy).
    Rm(RmArgs),
    /// Capture packets in a network namespace into pcap files under $KTUI_CAPTURE_DIR,
    /// printing the wire protocol's capture messages (capture_started, packet,
    /// capture_stats, capture_file, capture_done) as JSON lines on stdout until a limit or
    /// SIGINT/SIGTERM.
    Capture(PacketCaptureArgs),
}

/// `ktui-helper capture`: one capture, as `capture_start` would run it.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["netns", "pod_uid"])))]
pub struct PacketCaptureArgs {
    /// A network namespace file (/var/run/netns/NAME, /proc/PID/ns/net).
    #[arg(long, value_name = "PATH")]
    pub netns: Option<String>,
    /// A pod on this node, by UID (found through its cgroup's processes).
    #[arg(long, value_name = "UID")]
    pub pod_uid: Option<String>,
    /// An interface in the namespace (default: every interface, written as pcapng).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,
    /// Bytes kept of each frame.
    #[arg(long, value_name = "N", default_value_t = ktui_wire::DEFAULT_SNAPLEN, conflicts_with = "headers_only")]
    pub snaplen: u32,
    /// Keep headers only (snaplen 128): no payloads in the file.
    #[arg(long)]
    pub headers_only: bool,
    /// Filter expression (host / net / port / proto with and, or, not), in the kernel.
    #[arg(long, value_name = "EXPR")]
    pub filter: Option<String>,
    /// Stop after N packets.
    #[arg(long, value_name = "N")]
    pub max_packets: Option<u64>,
    /// Stop before the captured bytes would pass N.
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<u64>,
    /// Stop after this long (5s, 2m, ...).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Start a new file before one would pass this many bytes (tcpdump -C, in bytes).
    #[arg(short = 'C', long = "rotate-bytes", value_name = "BYTES")]
    pub rotate_bytes: Option<u64>,
    /// Keep at most N files of this capture on the node (tcpdump -W); older ones are deleted.
    #[arg(short = 'W', long = "rotate-files", value_name = "N")]
    pub rotate_files: Option<u32>,
    /// Write the files here instead of $KTUI_CAPTURE_DIR (default /var/run/ktui/captures).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Do not print `packet` summaries.
    #[arg(long)]
    pub no_summaries: bool,
    /// At most N `packet` summaries per second (the rest are counted as sampled out).
    #[arg(long, value_name = "N")]
    pub summaries_per_sec: Option<u32>,
    /// The file name label (`<label>-<id>-<seq>.pcap`).
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// The capture id in messages and file names.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub id: u64,
}

#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// The file: under /var/lib/kubelet/checkpoints or /var/run/ktui/captures
    /// ($KTUI_CHECKPOINT_DIR, $KTUI_CAPTURE_DIR).
    pub path: String,
    /// Start sending at this byte (resuming a cut transfer); the hash still covers the whole
    /// file.
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub offset: u64,
    /// Test hook: send the byte at this file offset inverted (the hash covers the true byte).
    #[arg(long, hide = true, value_name = "BYTE")]
    pub debug_flip_byte: Option<u64>,
}

#[derive(Debug, Clone, Args)]
pub struct RmArgs {
    /// The file, under the same directories as `fetch`.
    pub path: String,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 5s, 2m, 1h30m)"))
}

/// Options shared by trace and serve.
#[derive(Debug, Clone, Args)]
pub struct CaptureArgs {
    /// Ring buffer size in bytes (rounded up to a power of two, at least one page).
    #[arg(long, value_name = "BYTES", default_value_t = crate::probes::load::DEFAULT_RINGBUF_BYTES)]
    pub ringbuf_bytes: u32,
    /// Leave `conntrack` null: do not read the node's conntrack table (by default TCP and UDP
    /// events carry their entry: state, both directions, `nat` when translated).
    #[arg(long)]
    pub no_conntrack: bool,
    /// Test hook: the reader starts this late (fills the ring buffer on purpose).
    #[arg(long, hide = true, value_parser = parse_duration)]
    pub debug_stall_reader: Option<Duration>,
    /// Test hook: lines buffered between the reader and the stdout writer (rounded up to
    /// whole batches of 64).
    #[arg(long, hide = true)]
    pub debug_channel_lines: Option<usize>,
}

#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Stop after this long (5s, 2m, ...); default: until SIGINT/SIGTERM.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Only these ports (either end), comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "P,...")]
    pub ports: Vec<u16>,
    /// Only DNS: port 53 over UDP and TCP.
    #[arg(long)]
    pub dns_only: bool,
    /// Only these network namespace inodes, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "INODE,...")]
    pub netns: Vec<u32>,
    /// Keep 1 event in N (in eBPF, before the ring buffer).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub sample: u32,
    /// At most N events per second (in eBPF, before the ring buffer).
    #[arg(long, value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Stop after N events.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Stop after N bytes of output.
    #[arg(long, value_name = "N")]
    pub max_bytes: Option<u64>,
    /// Also report drops the kernel gives no reason for (NOT_SPECIFIED; noisy).
    #[arg(long)]
    pub unspecified_drops: bool,
    /// Report every event on its own line even in a storm (by default, repeats of one flow
    /// within a second are folded in the kernel into one line with a `count`).
    #[arg(long)]
    pub no_aggregate: bool,
    /// Leave the owner's security context (`sec`: seccomp mode, effective capabilities) out
    /// of events; it is then not read in the kernel either.
    #[arg(long)]
    pub no_sec: bool,
    /// Print the probes attached (JSON, one line) on stderr before the stats.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub capture: CaptureArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub capture: CaptureArgs,
}

/// `ktui-helper snapshot`: which processes, what the console knows about them, the caps.
#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("target").required(true).args(["container_id", "cgroup", "pid"])))]
pub struct SnapshotArgs {
    /// The container whose cgroup directory carries this id (12 to 64 hex digits, without
    /// the `containerd://` prefix).
    #[arg(long, value_name = "ID")]
    pub container_id: Option<String>,
    /// The container's cgroup directory (absolute, or relative to /sys/fs/cgroup).
    #[arg(long, value_name = "PATH")]
    pub cgroup: Option<PathBuf>,
    /// This process and its descendants (host PID).
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Recorded in snapshot.json: the pod's name.
    #[arg(long, value_name = "NAME")]
    pub pod: Option<String>,
    /// Recorded in snapshot.json: the pod's namespace.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Recorded in snapshot.json: the pod's UID (read from the cgroup when not given).
    #[arg(long, value_name = "UID")]
    pub pod_uid: Option<String>,
    /// Recorded in snapshot.json: the container's name.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Recorded in snapshot.json: the container's image.
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Recorded in snapshot.json: the image's digest reference (status imageID).
    #[arg(long, value_name = "REF")]
    pub image_ref: Option<String>,
    /// Recorded in snapshot.json: the container runtime (containerd, cri-o, ...).
    #[arg(long, value_name = "NAME")]
    pub runtime: Option<String>,
    /// When the container started (RFC 3339 UTC, e.g. 2026-12-02T13:30:00Z): without a
    /// reachable overlay upper directory, files changed after it are its changes (default:
    /// the start of its first process).
    #[arg(long, value_name = "TIME")]
    pub created: Option<String>,
    /// Copy at most this much process memory; the regions left out are listed.
    #[arg(long, value_name = "BYTES", default_value_t = crate::snapshot::DEFAULT_MAX_MEMORY_BYTES)]
    pub max_memory_bytes: u64,
    /// Copy at most this much changed-file content; the files left out are listed.
    #[arg(long, value_name = "BYTES", default_value_t = crate::snapshot::DEFAULT_MAX_ROOTFS_BYTES)]
    pub max_rootfs_bytes: u64,
    /// Write the tar to FILE instead of stdout (for debugging: it stages the snapshot, which
    /// holds memory and environment secrets, on the node's disk).
    #[arg(long, value_name = "FILE", conflicts_with = "bulk")]
    pub out: Option<PathBuf>,
    /// Frame stdout in the bulk transfer framing (header, length-prefixed chunks, a trailer
    /// with the SHA-256 computed here, or the error): what the console asks for over exec.
    #[arg(long)]
    pub bulk: bool,
    /// Test hook: read memory through /proc/PID/mem instead of process_vm_readv.
    #[arg(long, hide = true)]
    pub debug_proc_mem: bool,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::*;

    #[test]
    fn definition_is_consistent_and_parses() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from([
            "ktui-helper",
            "trace",
            "--duration",
            "2m",
            "--ports",
            "53,8080",
            "--dns-only",
            "--no-conntrack",
        ]);
        let Command::Trace(t) = cli.command else {
            panic!("not trace")
        };
        assert_eq!(t.duration, Some(Duration::from_secs(120)));
        assert_eq!(t.ports, vec![53, 8080]);
        assert!(t.dns_only);
        assert!(t.capture.no_conntrack);
        assert!(Cli::try_parse_from(["ktui-helper", "trace", "--duration", "soon"]).is_err());
        let cli = Cli::parse_from(["ktui-helper", "fetch", "/x/a.tar", "--offset", "42"]);
        let Command::Fetch(f) = cli.command else {
            panic!("not fetch")
        };
        assert_eq!(
            (f.path.as_str(), f.offset, f.debug_flip_byte),
            ("/x/a.tar", 42, None)
        );
        assert!(Cli::try_parse_from(["ktui-helper", "fetch", "/x", "--offset", "-1"]).is_err());
        assert!(Cli::try_parse_from(["ktui-helper", "trace", "--ports", "70000"]).is_err());
    }

    #[test]
    fn capture_needs_one_target_and_parses_its_limits() {
        let cli = Cli::parse_from([
            "ktui-helper",
            "capture",
            "--netns",
            "/run/netns/a",
            "-i",
            "eth0",
            "--headers-only",
            "-C",
            "1000",
            "-W",
            "3",
            "--duration",
            "2s",
            "--filter",
            "port 53",
        ]);
        let Command::Capture(c) = cli.command else {
            panic!("not capture")
        };
        assert_eq!(c.netns.as_deref(), Some("/run/netns/a"));
        assert_eq!((c.rotate_bytes, c.rotate_files), (Some(1000), Some(3)));
        assert_eq!(c.duration, Some(Duration::from_secs(2)));
        assert!(c.headers_only && c.filter.as_deref() == Some("port 53"));
        assert!(Cli::try_parse_from(["ktui-helper", "capture"]).is_err());
        assert!(
            Cli::try_parse_from(["ktui-helper", "capture", "--netns", "x", "--pod-uid", "u"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "ktui-helper",
                "capture",
                "--netns",
                "x",
                "--snaplen",
                "9",
                "--headers-only"
            ])
            .is_err()
        );
    }

    #[test]
    fn snapshot_needs_exactly_one_target() {
        let cli = Cli::parse_from(["ktui-helper", "snapshot", "--pid", "42", "--pod", "web-0"]);
        let Command::Snapshot(s) = cli.command else {
            panic!("not snapshot")
        };
        assert_eq!((s.pid, s.pod.as_deref()), (Some(42), Some("web-0")));
        assert_eq!(s.max_memory_bytes, 1 << 30);
        assert!(Cli::try_parse_from(["ktui-helper", "snapshot"]).is_err());
        assert!(
            Cli::try_parse_from(["ktui-helper", "snapshot", "--pid", "1", "--cgroup", "x"])
                .is_err()
        );
    }
}
