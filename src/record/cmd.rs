//! `ktui record manifest [--controller-namespace NS] [--image IMAGE] [--s3 URI]
//! [--s3-endpoint URL] [--auto-clone] [--sockets] [--packets] [--deploy-helper] [--checkpoint]
//! [--metrics-addr ADDR] [--pvc SIZE] [--replicas N]` with `-n NS | -A` the watch scope
//! (pinned): the controller's YAML on stdout. Reads no kubeconfig and no cluster.
//!
//! Exit codes: 0 printed, 1 stdout could not be written, 2 usage (the message names the flag
//! and the value).

use std::io::Write as _;

use crate::cli::ConnArgs;
use crate::cluster::Scope;
use crate::record::manifest::{self, ControllerSpec};

const EXIT_USAGE: u8 = 2;

#[derive(Debug, clap::Args)]
pub struct RecordArgs {
    #[command(subcommand)]
    pub command: RecordCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum RecordCommand {
    /// Print the YAML that runs ktui as the in-cluster forensics controller (Deployment,
    /// ServiceAccount, a PVC or emptyDir for the case, the minimal Roles for the chosen flags);
    /// -n NS or -A is what it watches. `| kubectl apply -f -` to install.
    Manifest(ManifestArgs),
}

#[derive(Debug, clap::Args)]
pub struct ManifestArgs {
    /// Where the controller runs (its Deployment, ServiceAccount, Lease).
    #[arg(long, value_name = "NS", default_value = manifest::DEFAULT_NAMESPACE)]
    pub controller_namespace: String,
    /// The controller image (default: what `helper-image/build-image.sh --controller` tags,
    /// localhost/ktui-controller:<version>).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Upload each bundle to s3://BUCKET/PREFIX (credentials: the ServiceAccount's cloud
    /// identity, or the optional Secret ktui-controller-s3).
    #[arg(long, value_name = "URI")]
    pub s3: Option<String>,
    /// An S3-compatible store (MinIO, Ceph, …) at this URL.
    #[arg(long, value_name = "URL", requires = "s3")]
    pub s3_endpoint: Option<String>,
    /// Clone every new crash (deduplicated); also what `ktui.dev/clone: "true"` needs.
    #[arg(long)]
    pub auto_clone: bool,
    /// Record socket events from the node helpers (grants pods/exec in the helper namespace).
    #[arg(long)]
    pub sockets: bool,
    /// Record packets (`ktui.dev/capture: "<seconds>"`; grants pods/exec in the helper
    /// namespace).
    #[arg(long)]
    pub packets: bool,
    /// Deploy the node helpers it needs (with --sockets or --packets); without it they must
    /// already run.
    #[arg(long)]
    pub deploy_helper: bool,
    /// Act on `ktui.dev/checkpoint: "true"` (grants create on nodes/proxy, cluster-wide).
    #[arg(long)]
    pub checkpoint: bool,
    /// Where the controller serves /metrics and /healthz: :PORT, 0.0.0.0:PORT or [::]:PORT.
    #[arg(long, value_name = "ADDR", default_value = manifest::DEFAULT_METRICS_ADDR)]
    pub metrics_addr: String,
    /// Keep the case on a PersistentVolumeClaim of this size (e.g. 20Gi); default an emptyDir.
    #[arg(long, value_name = "SIZE")]
    pub pvc: Option<String>,
    /// Replicas of the Deployment; with more than one, only the Lease holder acts.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub replicas: u32,
}

impl ManifestArgs {
    /// The spec these flags and the watch scope ask for (not validated yet).
    pub fn spec(&self, watch: Scope) -> ControllerSpec {
        ControllerSpec {
            namespace: self.controller_namespace.clone(),
            image: self.image.clone().unwrap_or_else(manifest::default_image),
            s3: self.s3.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            auto_clone: self.auto_clone,
            sockets: self.sockets,
            packets: self.packets,
            deploy_helper: self.deploy_helper,
            checkpoint: self.checkpoint,
            metrics_addr: self.metrics_addr.clone(),
            pvc: self.pvc.clone(),
            replicas: self.replicas,
            ..ControllerSpec::new(watch)
        }
    }
}

/// Run `ktui record SUBCOMMAND`.
pub fn run(conn: &ConnArgs, args: &RecordArgs) -> u8 {
    match &args.command {
        RecordCommand::Manifest(m) => manifest_cmd(conn, m),
    }
}

fn manifest_cmd(conn: &ConnArgs, args: &ManifestArgs) -> u8 {
    let watch = match (&conn.namespace, conn.all_namespaces) {
        (_, true) => Scope::All,
        (Some(ns), false) => Scope::Namespace(ns.clone()),
        (None, false) => {
            eprintln!(
                "ktui record manifest: say what the controller watches: -n NS (a Role in that \
                 namespace) or -A (a ClusterRole, every namespace)"
            );
            return EXIT_USAGE;
        }
    };
    let spec = args.spec(watch);
    if let Err(e) = spec.validate() {
        eprintln!(
            "ktui record manifest: {}",
            crate::sanitize::line(&e.to_string())
        );
        return EXIT_USAGE;
    }
    let mut out = std::io::stdout().lock();
    match out
        .write_all(spec.to_yaml().as_bytes())
        .and_then(|()| out.flush())
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("ktui record manifest: cannot write the manifest to stdout: {e}");
            1
        }
    }
}
