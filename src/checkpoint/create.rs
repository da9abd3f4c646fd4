//! `ktui checkpoint create POD [-n NS] [-c CONTAINER] [--timeout DUR] [--snapshot] [--fetch]`
//! (pinned): ask the pod's kubelet for a checkpoint through the API server's node proxy, print
//! the archive's path on the node (stdout), and record request and answer in the case (`--case
//! ID`, else a new one, as `ktui export` does). Exit 0 done, 1 refused or failed (the precise
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
    /// Take a live snapshot through the node helper instead (processes, memory, changed files;
    /// streamed into the case): for runtimes that cannot checkpoint. Not built yet in this
    /// version (refused, exit 1).
    // integrator: wire snapshot/fetch (and drop the "not built yet" sentences).
    #[arg(long)]
    pub snapshot: bool,
    /// Then fetch the archive into the case through the node helper (SHA-256 checked on both
    /// ends) and print its local path and hash. Not built yet in this version (refused, exit 1).
    #[arg(long)]
    pub fetch: bool,
}

/// Run the command; the exit code.
pub async fn create_cmd(
    args: &CreateArgs,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> u8 {
    // integrator: wire snapshot/fetch (a temporary refusal until the helper's snapshot and the
    // bulk fetch land; nothing is asked of the cluster).
    if let Some(flag) = [(args.snapshot, "--snapshot"), (args.fetch, "--fetch")]
        .iter()
        .find_map(|(on, flag)| on.then_some(*flag))
    {
        say(&format!(
            "{flag} is not built yet in this ktui: run without it to checkpoint through the kubelet"
        ));
        return 1;
    }
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
    if code == 0 { Ok(()) } else { Err(code) }
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
fn say(text: &str) {
    eprintln!("ktui checkpoint: {}", crate::sanitize::line(text));
}
