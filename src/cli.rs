//! Command-line interface (pinned flags: other tools call exactly these).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  ktui                         open the console on the current kubeconfig context and namespace
  ktui -A                      watch crashed pods in all namespaces
  ktui --context prod -n shop  a given context and namespace
  ktui --demo                  explore the embedded simulated cluster (no cluster needed)
  ktui triage -A --json        crash list as JSON lines, from the cluster
  kubectl get pods -A -o json | ktui triage --from-file - --json
                               crash list from a saved dump (no kubeconfig read)
  ktui clone web-1 -n shop     an isolated forensic copy of a crashed pod (--dry-run shows it)
  ktui --record ./incident -n shop --duration 10m --auto-clone
                               record headless for 10 minutes: crashes, evidence, clones, then a
                               signed bundle (exit 0 done, 1 error, 2 usage, 3 no cluster)

Keys: ? help, / filter, Enter detail, l logs, a all pods, s sort, : command (:ns NAME, :ctx NAME), q quit.
Environment: KUBECONFIG (several files merged), KTUI_LOG (log filter, e.g. debug; log file in
$XDG_STATE_HOME/ktui/ktui.log), KTUI_KEYS (keys file, as --keys), NO_COLOR.";

#[derive(Debug, Parser)]
#[command(
    name = "ktui",
    version,
    about = "Terminal console for live Kubernetes incident investigation",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,

    /// Colour theme: a bundled name (default, light, high-contrast) or a TOML file overriding keys.
    #[arg(long, value_name = "NAME|PATH", global = true)]
    pub theme: Option<String>,

    /// Keys file: a TOML file rebinding commands pane by pane (`[table]` `open_logs = ["L"]`).
    #[arg(long, value_name = "PATH", env = "KTUI_KEYS", global = true)]
    pub keys: Option<PathBuf>,

    /// Use the embedded simulated cluster (labelled DEMO) instead of a real one.
    #[arg(long, global = true)]
    pub demo: bool,

    /// Where the node helper runs: `local` spawns `ktui-helper serve` as a child process on this
    /// machine (tests, or ktui run on a node) instead of deploying a helper pod.
    #[arg(long, value_name = "MODE", value_enum)]
    pub helper: Option<HelperMode>,

    /// Image of the helper pod the console deploys (push it to a registry the nodes pull from,
    /// or load it on the nodes: see helper-image/build-image.sh --save).
    #[arg(long, value_name = "IMAGE", env = "KTUI_HELPER_IMAGE")]
    pub helper_image: Option<String>,

    /// Socket events kept in the sockets pane (older ones scroll away; memory stays bounded).
    #[arg(long, value_name = "N", default_value_t = crate::state::sockets::DEFAULT_CAPACITY)]
    pub socket_events: usize,

    /// Case to collect evidence into (created if new, appended to if it exists); default: a new
    /// case `ktui-<context>-<UTC time>`.
    #[arg(long = "case", value_name = "ID", global = true)]
    pub case: Option<String>,

    /// Directory holding the cases (default: $XDG_STATE_HOME/ktui/cases, else
    /// ~/.local/state/ktui/cases).
    #[arg(long, value_name = "DIR", env = "KTUI_CASES_DIR", global = true)]
    pub cases_dir: Option<PathBuf>,

    /// Record headless into DIR (a case directory, created or appended to) until --duration
    /// elapses or SIGINT/SIGTERM: crashes.jsonl, events.jsonl, packets.jsonl, the evidence of
    /// each new crash, summary.json, node-<name>.json, then a signed bundle in DIR/bundles.
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,

    #[command(flatten)]
    pub record_flags: RecordFlags,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `--record DIR` captures and when it stops (pinned).
#[derive(Debug, Clone, Args)]
pub struct RecordFlags {
    /// How long to record (default: until SIGINT/SIGTERM).
    #[arg(long, value_name = "DUR", requires = "record", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Only this pod (repeatable; in the namespace of -n, else the context's).
    #[arg(long = "pod", value_name = "NAME", requires = "record")]
    pub pods: Vec<String>,
    /// Only pods matching this label selector (`app=web,tier!=db`).
    #[arg(long, value_name = "LABELS", requires = "record")]
    pub selector: Option<String>,
    /// Stream socket events (eBPF, from the node helper) into events.jsonl.
    #[arg(long, requires = "record")]
    pub sockets: bool,
    /// Capture the packets of each --pod (pcap files in the case, one summary line per packet
    /// in packets.jsonl).
    #[arg(long, requires = "pods")]
    pub packets: bool,
    /// Socket events of DNS (port 53) only.
    #[arg(long, requires = "sockets")]
    pub dns_only: bool,
    /// Socket events with either end on one of these ports.
    #[arg(
        long,
        value_name = "P,...",
        value_delimiter = ',',
        requires = "sockets"
    )]
    pub ports: Vec<u16>,
    /// Keep one socket event in N (in the kernel; the others are counted as sampled out).
    #[arg(long, value_name = "N", requires = "sockets", value_parser = clap::value_parser!(u32).range(1..))]
    pub sample: Option<u32>,
    /// Stop capturing socket events after N (said in summary.json).
    #[arg(long, value_name = "N", requires = "record")]
    pub max_events: Option<u64>,
    /// Stop capturing once the record streams hold SIZE bytes (`500M`, `2G`; said in
    /// summary.json).
    #[arg(long, value_name = "SIZE", requires = "record", value_parser = parse_size)]
    pub max_bytes: Option<u64>,
    /// Deploy the helper pod on the nodes of the pods in scope when none runs (never done
    /// without this flag).
    #[arg(long, requires = "record")]
    pub deploy_helper: bool,
    /// A forensic clone of each new crash signature (one per signature in the dedup window).
    #[arg(long, requires = "record")]
    pub auto_clone: bool,
    /// A crash signature cloned within this window is not cloned again (counted instead).
    #[arg(long, value_name = "DUR", requires = "record", default_value = "1h", value_parser = parse_duration)]
    pub dedup_window: std::time::Duration,
    /// Upload the bundle to s3://BUCKET/PREFIX when it is written (keys
    /// <prefix>/<case id>/<UTC>/NAME.tar.gz, .minisig, .sha256).
    #[arg(long, value_name = "URI", requires = "record")]
    pub s3: Option<String>,
    /// An S3-compatible store at this URL (path-style addressing).
    #[arg(long, value_name = "URL", requires = "s3")]
    pub s3_endpoint: Option<String>,
    /// The signing key (minisign format); default: $KTUI_SIGNING_KEY, else ktui.key in the
    /// config dir, created on first use.
    #[arg(long, value_name = "PATH", requires = "record")]
    pub sign_key: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (and /healthz), e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR", requires = "record")]
    pub metrics_addr: Option<String>,
}

/// `500M`, `2G`, `1024` (bytes; K, M, G, T are powers of 1024; a trailing `B`/`iB` is allowed).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => return Err(format!("{s}: unknown unit {c} (examples: 1024, 500M, 2G)")),
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s}: not a size (examples: 1024, 500M, 2G)"))?;
    n.checked_mul(1u64 << shift)
        .filter(|&v| v > 0)
        .ok_or_else(|| format!("{s}: out of range"))
}

impl Cli {
    /// What clap cannot say: `--record` runs on its own (a usage error, exit 2).
    pub fn validate(&self) -> Result<(), clap::Error> {
        use clap::CommandFactory as _;
        if self.record.is_some() && self.command.is_some() {
            return Err(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "--record records on its own: give it no subcommand",
            ));
        }
        Ok(())
    }
}

/// Which cluster, context and namespace.
#[derive(Debug, Clone, Args)]
pub struct ConnArgs {
    /// Kubeconfig file (default: $KUBECONFIG, several files merged, else ~/.kube/config).
    #[arg(long, value_name = "PATH", global = true)]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context (default: the current context).
    #[arg(long, value_name = "NAME", global = true)]
    pub context: Option<String>,

    /// Namespace (default: the context's namespace).
    #[arg(
        short = 'n',
        long,
        value_name = "NS",
        global = true,
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,

    /// All namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,

    /// How long a kubeconfig credential plugin (exec: aws, gke-gcloud-auth-plugin, kubelogin) may
    /// run before it is stopped; raise it for browser or device-code logins.
    #[arg(long, value_name = "DURATION", global = true, default_value = "30s", value_parser = parse_duration)]
    pub exec_timeout: std::time::Duration,
}

impl ConnArgs {
    /// The pods a console or `ktui triage` looks at: `-A` all, `-n NS` that namespace, else the
    /// kubeconfig context's namespace — or, on the demo cluster (its failures spread over
    /// several namespaces, and it has no kubeconfig), all of them.
    pub fn scope(&self, demo: bool, context_namespace: &str) -> crate::cluster::Scope {
        use crate::cluster::Scope;
        match &self.namespace {
            _ if self.all_namespaces => Scope::All,
            Some(ns) => Scope::Namespace(ns.clone()),
            None if demo => Scope::All,
            None => Scope::Namespace(context_namespace.to_string()),
        }
    }

    /// What `KubeCluster::connect` needs from these flags.
    pub fn connect_options(&self) -> crate::cluster::kube::ConnectOptions {
        crate::cluster::kube::ConnectOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
            exec_timeout: self.exec_timeout,
            checkpoint_grace: crate::checkpoint::kubelet::grace_from_env(),
            ..Default::default()
        }
    }
}

/// `30s`, `5m`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 5m, 1h30m)"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HelperMode {
    /// Spawn `ktui-helper serve` locally (needs root or CAP_BPF + CAP_PERFMON for eBPF).
    Local,
    /// The helper pod on the node of the pods watched (the default).
    Cluster,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the crash list without the console (from the cluster or from saved JSON dumps).
    Triage(TriageArgs),
    /// Manage the node helper pod (manifest, list, remove).
    Helper(HelperArgs),
    /// Create the key pair that signs evidence bundles (ktui.key, ktui.pub; minisign format).
    Keygen(KeygenArgs),
    /// Check an evidence bundle: signature, .sha256, every member, the custody chain.
    Verify(VerifyArgs),
    /// Collect a pod's evidence into the case and package that pod (POD -n NS), or package a
    /// whole case (--case ID), into a signed bundle: NAME.tar.gz, .sha256, .minisig.
    Export(ExportArgs),
    /// The evidence cases on disk (list, show).
    Case(CaseArgs),
    /// Remove what a case (--case ID) created in the cluster (from its custody), after a
    /// confirmation.
    Cleanup(CleanupArgs),
    /// Upload an existing bundle (NAME.tar.gz, .sha256, .minisig) to S3: the retry of a failed
    /// `export --s3`.
    Upload(UploadArgs),
    /// Container checkpoints: take one through the kubelet (recorded in the case), inspect an
    /// archive, pack one as a restorable OCI image.
    Checkpoint(CheckpointArgs),
    /// Packet captures: `pcap summary FILE` prints one line per packet (or --flows) of a pcap
    /// or pcapng file, as text or --json.
    Pcap(crate::pcap::PcapArgs),
    /// Forensic clone of a crashed pod: an isolated (deny-all NetworkPolicy), relabelled,
    /// token-less copy that sleeps with a toolkit shell, its previous log in a ConfigMap,
    /// deduplicated across a crash storm, recorded in the case; --remove NAME deletes one.
    Clone(crate::clone::cmd::CloneArgs),
    /// The in-cluster forensics controller: `record manifest` prints its Deployment,
    /// ServiceAccount, case storage and minimal RBAC (-n NS or -A: what it watches).
    Record(crate::record::cmd::RecordArgs),
}

#[derive(Debug, Args)]
pub struct CheckpointArgs {
    #[command(subcommand)]
    pub command: CheckpointCommand,
}

#[derive(Debug, Subcommand)]
pub enum CheckpointCommand {
    /// Ask the pod's kubelet for a CRIU checkpoint of a running container (through the API
    /// server's node proxy: needs create on nodes/proxy); prints the archive's path on the node.
    Create(crate::checkpoint::create::CreateArgs),
    /// Show what a checkpoint archive (kubelet/CRI-O/Podman CRIU checkpoint, or a ktui live
    /// snapshot) holds, without extracting it; --grep TEXT searches its memory.
    Inspect(crate::checkpoint::inspect::InspectArgs),
    /// Pack a CRIU checkpoint archive as an OCI image archive (`podman load`-able) that CRI-O
    /// restores a container from.
    Image(crate::checkpoint::image::ImageArgs),
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Delete without asking (for scripts); without it ktui asks on a terminal and deletes
    /// nothing when there is none.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The pod to collect (manifest, owners, node, events, current and previous logs, the
    /// ConfigMaps and Secrets it reads) and package; its namespace is -n NS, else the context's.
    /// Without POD, the whole case named by --case is packaged.
    #[arg(value_name = "POD")]
    pub pod: Option<String>,
    /// Also write the values of the Secrets the pod reads (default: only an HMAC of each).
    /// Asks for a typed `yes` on the terminal; without one, refused unless
    /// KTUI_CONFIRM_SECRETS=yes (for scripts).
    #[arg(long, requires = "pod")]
    pub include_secrets: bool,
    /// Where the bundle goes (default: the case's bundles/).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The signing key (minisign format); default: $KTUI_SIGNING_KEY, else ktui.key in the
    /// config dir, created on first use.
    #[arg(long, value_name = "PATH")]
    pub sign_key: Option<PathBuf>,
    /// Upload the bundle to s3://BUCKET/PREFIX when it is written: keys
    /// <prefix>/<namespace>/<pod>/<UTC>/NAME.tar.gz (+ .minisig, .sha256), for a whole case
    /// <prefix>/<case id>/<UTC>/. Credentials and region: the standard AWS chain.
    #[arg(long, value_name = "URI")]
    pub s3: Option<String>,
    #[command(flatten)]
    pub s3_flags: S3Flags,
}

/// How an upload goes (with --s3).
#[derive(Debug, Clone, Args)]
pub struct S3Flags {
    /// An S3-compatible store (MinIO, Ceph, …) at this URL, path-style addressing.
    #[arg(long, value_name = "URL", requires = "s3")]
    pub s3_endpoint: Option<String>,
    /// Read the archive back after the upload and compare its SHA-256 with the .sha256.
    #[arg(long, requires = "s3")]
    pub s3_verify: bool,
    /// Lock the uploaded objects for N days (COMPLIANCE retention: nobody can delete them;
    /// the bucket needs object lock enabled).
    #[arg(long, value_name = "N", requires = "s3", value_parser = clap::value_parser!(u32).range(1..=36500))]
    pub s3_object_lock_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The bundle, NAME.tar.gz (its .sha256 and .minisig beside it).
    #[arg(value_name = "BUNDLE")]
    pub bundle: PathBuf,
    /// The target, s3://BUCKET/PREFIX.
    #[arg(long, value_name = "URI")]
    pub s3: String,
    /// A pod's bundle: its NAMESPACE/POD, for the keys <prefix>/<namespace>/<pod>/<UTC>/
    /// (a whole-case bundle needs none: <prefix>/<case id>/<UTC>/).
    #[arg(long, value_name = "NAMESPACE/POD")]
    pub pod: Option<String>,
    #[command(flatten)]
    pub flags: S3Flags,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle, NAME.tar.gz (its .minisig and .sha256 beside it).
    #[arg(value_name = "BUNDLE")]
    pub bundle: std::path::PathBuf,
    /// The signer's public key (minisign format); default: ktui.pub in the config dir.
    #[arg(long, value_name = "FILE")]
    pub pubkey: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct CaseArgs {
    #[command(subcommand)]
    pub command: CaseCommand,
}

#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List the cases: id, created, context, size, artifacts, last action.
    List {
        /// One JSON object per line instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Show a case: its artifact index and its custody log (exit 1 if the chain is broken).
    Show {
        /// Case id (default: --case).
        id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Where to write ktui.key and ktui.pub (default: $XDG_CONFIG_HOME/ktui, else
    /// ~/.config/ktui). The key is encrypted with $KTUI_KEY_PASSWORD when it is set.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HelperArgs {
    #[command(subcommand)]
    pub command: HelperCommand,
}

#[derive(Debug, Subcommand)]
pub enum HelperCommand {
    /// Print the YAML the console applies to deploy a helper.
    Manifest {
        /// Node to run on (spec.nodeName).
        #[arg(long, value_name = "NODE")]
        node: Option<String>,
        /// Helper image.
        #[arg(long, value_name = "IMAGE")]
        image: Option<String>,
        /// The snapshot variant: adds DAC_READ_SEARCH and SYSLOG, /dev/kmsg, and mounts
        /// /var/lib/kubelet/checkpoints read-write (live snapshots; deleting fetched
        /// checkpoints from the node).
        #[arg(long, conflicts_with_all = ["capture", "capture_netns"])]
        snapshot: bool,
        /// The capture variant: adds NET_RAW (an AF_PACKET socket on the host side of the
        /// pod's veth) and a writable emptyDir /var/run/ktui/captures (sizeLimit 2Gi) for the
        /// rotated pcap files (packet capture).
        #[arg(long, conflicts_with = "capture_netns")]
        capture: bool,
        /// The capture-netns variant: the capture variant plus SYS_ADMIN, to setns into a pod
        /// network namespace that has no host veth (ipvlan, macvlan, some eBPF datapaths).
        #[arg(long)]
        capture_netns: bool,
        // `--namespace NS` (the global flag) names the helper's namespace here (default
        // ktui-system): one flag, one meaning per command, no clash with the global one.
    },
    /// List helper pods left in the cluster (all namespaces, or -n NS).
    List,
    /// Remove helper pods (one node's, or all with --all); -n NS limits it to one namespace.
    Remove {
        /// Node whose helper to remove.
        #[arg(long, value_name = "NODE", conflicts_with = "all")]
        node: Option<String>,
        /// Remove every helper pod and ktui's ServiceAccount; also the namespace when ktui
        /// created it and only helpers are in it, after a confirmation (see --yes).
        #[arg(long)]
        all: bool,
        /// Delete such a namespace without asking (for scripts); without it ktui asks on a
        /// terminal and keeps the namespace when there is none.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// A `kubectl get ... -o json` dump (Pod, PodList or List); repeatable; `-` reads stdin.
    /// With files, no kubeconfig is read and all namespaces are shown unless -n is given.
    #[arg(long = "from-file", value_name = "FILE")]
    pub from_file: Vec<String>,

    /// One JSON object per line per crashed, not-started or evicted container.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn namespace_and_all_conflict() {
        assert!(Cli::try_parse_from(["ktui", "-n", "a", "-A"]).is_err());
        let cli = Cli::try_parse_from(["ktui", "triage", "-n", "x", "--json"]).unwrap();
        assert_eq!(cli.conn.namespace.as_deref(), Some("x"));
    }

    #[test]
    fn case_flags_are_global() {
        let cli = Cli::try_parse_from(["ktui", "case", "show", "--cases-dir", "/d", "--case", "x"])
            .unwrap();
        assert_eq!(cli.case.as_deref(), Some("x"));
        assert_eq!(cli.cases_dir.as_deref(), Some(std::path::Path::new("/d")));
        let Some(Command::Case(args)) = cli.command else {
            panic!("not a case command")
        };
        assert!(matches!(args.command, CaseCommand::Show { id: None }));
    }

    #[test]
    fn clone_flags_are_pinned() {
        let clone = |args: &[&str]| {
            let mut all = vec!["ktui", "clone"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
        };
        let cli = clone(&[
            "web-1",
            "-n",
            "shop",
            "--same-node",
            "--forensic-namespace",
            "forensics",
            "--dedup-window",
            "30m",
            "--snapshot-class",
            "csi",
            "--toolkit-image",
            "reg/t:1",
            "--dry-run",
            "-o",
            "json",
            "-c",
            "app",
        ])
        .unwrap();
        let Some(Command::Clone(args)) = cli.command else {
            panic!("not a clone command")
        };
        assert_eq!(args.pod.as_deref(), Some("web-1"));
        assert_eq!(cli.conn.namespace.as_deref(), Some("shop"));
        assert!(args.same_node && args.dry_run);
        assert_eq!(args.dedup_window, std::time::Duration::from_secs(1800));
        assert_eq!(args.output, crate::clone::cmd::Format::Json);
        let cli = clone(&["--remove", "web-1-forensic-1a2b3c4d", "-n", "shop", "--yes"]).unwrap();
        let Some(Command::Clone(args)) = cli.command else {
            panic!("not a clone command")
        };
        assert_eq!(args.remove.as_deref(), Some("web-1-forensic-1a2b3c4d"));
        assert!(args.yes && args.pod.is_none());
        assert!(clone(&[]).is_err(), "POD or --remove is required");
        assert!(
            clone(&["web-1", "--yes"]).is_err(),
            "--yes goes with --remove"
        );
        assert!(
            clone(&["web-1", "-o", "json"]).is_err(),
            "-o goes with --dry-run"
        );
        assert!(clone(&["--remove", "x", "--dry-run"]).is_err());
    }

    #[test]
    fn record_flags_are_pinned() {
        let cli = Cli::try_parse_from([
            "ktui",
            "--record",
            "/tmp/r",
            "--duration",
            "5s",
            "-n",
            "shop",
            "--pod",
            "a",
            "--pod",
            "b",
            "--selector",
            "app=web",
            "--sockets",
            "--packets",
            "--dns-only",
            "--ports",
            "53,80",
            "--sample",
            "4",
            "--max-events",
            "100",
            "--max-bytes",
            "2M",
            "--deploy-helper",
            "--helper",
            "cluster",
            "--auto-clone",
            "--dedup-window",
            "30m",
            "--s3",
            "s3://b/p",
            "--s3-endpoint",
            "http://127.0.0.1:1",
            "--sign-key",
            "/k",
            "--case",
            "inc-1",
            "--metrics-addr",
            "127.0.0.1:0",
            "--demo",
        ])
        .unwrap();
        let r = &cli.record_flags;
        assert_eq!(cli.record.as_deref(), Some(std::path::Path::new("/tmp/r")));
        assert_eq!(r.duration, Some(std::time::Duration::from_secs(5)));
        assert_eq!(r.pods, ["a", "b"]);
        assert_eq!(r.ports, [53, 80]);
        assert_eq!(r.max_bytes, Some(2 << 20));
        assert_eq!(r.dedup_window, std::time::Duration::from_secs(1800));
        assert_eq!(cli.helper, Some(HelperMode::Cluster));
        assert!(r.sockets && r.packets && r.dns_only && r.deploy_helper && r.auto_clone);
        assert!(
            Cli::try_parse_from(["ktui", "--duration", "5s"]).is_err(),
            "record flags need --record"
        );
        assert!(Cli::try_parse_from(["ktui", "--record", "d", "--dns-only"]).is_err());
        let both = Cli::try_parse_from(["ktui", "--record", "d", "triage"]).unwrap();
        assert!(both.validate().is_err());
        assert!(
            Cli::try_parse_from(["ktui", "--record", "d", "--packets"]).is_err(),
            "--packets needs --pod"
        );
        let dflt = Cli::try_parse_from(["ktui", "--record", "d"]).unwrap();
        assert_eq!(
            dflt.record_flags.dedup_window,
            std::time::Duration::from_secs(3600)
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert!(parse_size("0").is_err() && parse_size("5X").is_err() && parse_size("").is_err());
    }

    #[test]
    fn scope_from_flags_context_and_demo() {
        use crate::cluster::Scope;
        let conn = |args: &[&str]| {
            let mut all = vec!["ktui"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().conn
        };
        let ns = |n: &str| Scope::Namespace(n.to_string());
        assert_eq!(conn(&[]).scope(false, "team-a"), ns("team-a"));
        assert_eq!(conn(&[]).scope(true, "team-a"), Scope::All);
        assert_eq!(conn(&["-n", "shop"]).scope(true, "team-a"), ns("shop"));
        assert_eq!(conn(&["-A"]).scope(false, "team-a"), Scope::All);
    }
}
