//! `ktui checkpoint create POD [-n NS] [-c CONTAINER] [--timeout DUR] [--snapshot] [--fetch]`
//! (pinned): ask the pod's kubelet for a checkpoint through the API server's node proxy, print
//! the archive's path on the node (stdout), and record request and answer in the case (`--case
//! ID`, else a new one, as `ktui export` does); with `--fetch`, then bring the archive into the
//! case and print its local path and SHA-256; with `--snapshot`, take a live snapshot through
//! the node helper instead (`to_case`). Exit 0 done, 1 refused or failed (the precise
//! reason on stderr), 3 no cluster reachable.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::take::{Outcome, plan, record_into, take};
use crate::case::Case;
use crate::cli::ConnArgs;
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::cluster::{Cluster, ClusterError, PodKey};
use crate::triage_cmd::EXIT_NO_CLUSTER;

#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// The pod; its namespace is -n NS, else the context's.
    #[arg(value_name = "POD")]
    pub pod: String,
    /// The container (default: the pod's only container; init containers that have finished do
    /// not count).
    #[arg(short = 'c', long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// How long the container runtime may take, sent to the kubelet (which waits the longer of
    /// it and its runtime request timeout, 2 min by default). ktui waits this (default 2m) plus
    /// 30 s for the answer.
    #[arg(long, value_name = "DURATION", value_parser = crate::cli::parse_duration)]
    pub timeout: Option<Duration>,
    /// Take a live snapshot through the node helper instead (processes, memory of writable
    /// and anonymous mappings, environment, open files and sockets, changed files, kernel log
    /// lines), streamed into the case with its SHA-256 checked: for runtimes that cannot
    /// checkpoint. Not a CRIU image (it cannot be restored); the processes are not frozen.
    /// Needs the snapshot helper on the pod's node (see --deploy-helper).
    #[arg(long)]
    pub snapshot: bool,
    /// Then fetch the archive into the case through the node helper (SHA-256 computed on the
    /// node and checked here, resumed after a cut) and print its local path and hash.
    #[arg(long, conflicts_with = "snapshot")]
    pub fetch: bool,
    /// With --snapshot or --fetch: deploy the helper on the pod's node, or replace one that
    /// lacks what is needed (the snapshot variant adds DAC_READ_SEARCH, SYSLOG, /dev/kmsg and
    /// a writable /var/lib/kubelet/checkpoints); without it, only a running helper is used.
    #[arg(long)]
    pub deploy_helper: bool,
    /// The helper image --deploy-helper uses (default: what helper-image/build-image.sh tags).
    #[arg(long, value_name = "IMAGE", env = "KTUI_HELPER_IMAGE")]
    pub helper_image: Option<String>,
    /// With --fetch: once the copy is verified, delete the archive from the node without
    /// asking (it holds process memory; needs the snapshot helper's writable mount). Without
    /// it, ktui asks on a terminal (default no) and otherwise says where the file is left.
    #[arg(long, requires = "fetch")]
    pub remove_from_node: bool,
}

/// Run the command; the exit code.
pub async fn create_cmd(
    args: &CreateArgs,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> u8 {
    match run(args, conn, demo, cases_dir, case_id).await {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// Err: the exit code, once said why.
async fn run(
    args: &CreateArgs,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> Result<(), u8> {
    let cluster: Arc<dyn Cluster> = if demo {
        Arc::new(DemoCluster::new(jiff::Timestamp::now(), false))
    } else {
        match KubeCluster::connect(&conn.connect_options()).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                eprintln!("ktui checkpoint: {e}");
                return Err(EXIT_NO_CLUSTER);
            }
        }
    };
    let info = cluster.info();
    let namespace = conn
        .namespace
        .clone()
        .unwrap_or_else(|| info.namespace.clone());
    let key = PodKey::new(namespace, args.pod.clone());
    let detail = cluster.pod_detail(key.clone()).await.map_err(|e| {
        say(&format!("cannot read pod {key}: {e}"));
        match e {
            ClusterError::Unreachable { .. } => EXIT_NO_CLUSTER,
            _ => 1,
        }
    })?;
    let plan = plan(&detail.summary, args.container.as_deref()).map_err(|e| {
        say(&e.to_string());
        1u8
    })?;
    // The record must have somewhere to go before the kubelet is asked.
    let config = crate::collect::case_config(cluster.as_ref(), demo).await;
    let cases = crate::case::cases_dir(cases_dir);
    let case = Case::open(&cases, case_id, &config).map_err(|e| {
        say(&e.to_string());
        1u8
    })?;
    if args.snapshot {
        return super::to_case::snapshot(cluster.as_ref(), &case, &plan, args).await;
    }
    say(&format!(
        "asking the kubelet of node {} to checkpoint container {} of pod {key} (context {}); recording into case {} ({})",
        plan.node,
        plan.container.name,
        info.context,
        case.id(),
        case.dir().display()
    ));
    let outcome = take(cluster.as_ref(), &plan, args.timeout).await;
    let recorded = record_into(&case, &outcome, &info).await;
    let code = report(&outcome);
    match recorded {
        Ok(entry) => say(&format!(
            "recorded in case {}: {} (sha256 {})",
            case.id(),
            entry.path,
            entry.sha256.as_deref().unwrap_or("-")
        )),
        Err(e) => {
            say(&format!(
                "the checkpoint's record could not be written into case {}: {e}",
                case.id()
            ));
            return Err(code.max(1));
        }
    }
    if code != 0 {
        return Err(code);
    }
    match (&outcome.result, args.fetch) {
        (Ok(answer), true) => {
            super::to_case::fetch(cluster.as_ref(), &case, &plan, &answer.node_path, args).await
        }
        _ => Ok(()),
    }
}

/// Print the outcome (the node path on stdout; the rest on stderr); its exit code.
fn report(outcome: &Outcome) -> u8 {
    match &outcome.result {
        Ok(answer) => {
            println!("{}", crate::sanitize::line(&answer.node_path));
            say(&format!(
                "{}; the archive is on the node (it holds the process memory: treat it as a secret)",
                outcome.summary()
            ));
            0
        }
        Err(failure) => {
            say(&failure.to_string());
            if let Some(runs) = outcome.node.describe(&outcome.request.node) {
                say(&runs);
            }
            if failure.error.unreachable() {
                EXIT_NO_CLUSTER
            } else {
                1
            }
        }
    }
}

/// A line on stderr, sanitised.
pub(super) fn say(text: &str) {
    eprintln!("ktui checkpoint: {}", crate::sanitize::line(text));
}
