//! `ktui triage`: the crash list without a UI, from the cluster or from saved dumps.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use serde::Serialize;

use crate::cli::{ConnArgs, TriageArgs};
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::cluster::kube::files::{InputError, Inputs};
use crate::cluster::{Cluster, PodSummary, first_list};
use crate::sanitize;
use crate::triage::{self, CrashRecord};

/// Exit code when no cluster is reachable (clap keeps 2 for usage errors).
pub const EXIT_NO_CLUSTER: u8 = 3;

/// The pinned JSON line: all 14 keys, always present.
#[derive(Debug, Serialize)]
pub struct JsonRecord<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub container: Option<&'a str>,
    pub init: Option<bool>,
    pub category: &'static str,
    pub reason: Option<&'a str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub restarts: Option<u32>,
    pub finished_at: Option<String>,
    pub node: Option<&'a str>,
    pub workload_kind: &'a str,
    pub workload_name: &'a str,
    pub signature: &'a str,
}

impl<'a> From<&'a CrashRecord> for JsonRecord<'a> {
    fn from(r: &'a CrashRecord) -> Self {
        JsonRecord {
            namespace: &r.pod.namespace,
            pod: &r.pod.name,
            container: r.container.as_deref(),
            init: r.role.map(|role| role.is_init()),
            category: r.category.as_str(),
            reason: r.reason.as_deref(),
            exit_code: r.exit_code,
            signal: r.signal,
            restarts: r.restarts,
            finished_at: r.finished_at.map(|t| t.to_string()),
            node: r.node.as_deref(),
            workload_kind: &r.workload.kind,
            workload_name: &r.workload.name,
            signature: &r.signature,
        }
    }
}

/// How long listing the cluster's pods may take before the command gives up.
const LIST_TIMEOUT: Duration = Duration::from_secs(60);

/// Run the subcommand; returns the process exit code. `demo`: the embedded demo cluster
/// instead of the kubeconfig's (files, when given, still win: no cluster is read then).
pub async fn run(conn: &ConnArgs, args: &TriageArgs, demo: bool) -> u8 {
    let pods = if args.from_file.is_empty() {
        match from_cluster(conn, demo).await {
            Ok(p) => p,
            Err(code) => return code,
        }
    } else {
        match from_files(&args.from_file) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{e}");
                return 1;
            }
        }
    };
    let records = records(&pods, conn.namespace.as_deref());
    let out = if args.json {
        json_lines(&records)
    } else {
        table(&records)
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return 1;
    }
    0
}

/// Classify and sort, optionally one namespace only.
pub fn records(pods: &[PodSummary], namespace: Option<&str>) -> Vec<CrashRecord> {
    let mut records: Vec<CrashRecord> = pods
        .iter()
        .filter(|p| namespace.is_none_or(|ns| p.key.namespace == ns))
        .flat_map(triage::classify)
        .collect();
    triage::sort_newest_first(&mut records);
    records
}

/// One JSON object a line; strings escape what must not reach a terminal raw (C1 controls, bidi
/// overrides), as the text output neutralises them.
pub fn json_lines(records: &[CrashRecord]) -> String {
    let mut out = String::new();
    for r in records {
        // Serialising plain strings and numbers cannot fail.
        if let Ok(line) = sanitize::json::to_string(&JsonRecord::from(r)) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

fn table(records: &[CrashRecord]) -> String {
    let mut out = format!(
        "{:<14} {:<36} {:<18} {:<12} {:<22} {:>5} {:>8}  {}\n",
        "NAMESPACE", "POD", "CONTAINER", "CATEGORY", "REASON", "EXIT", "RESTARTS", "WORKLOAD"
    );
    for r in records {
        out.push_str(&format!(
            "{:<14} {:<36} {:<18} {:<12} {:<22} {:>5} {:>8}  {}\n",
            sanitize::line(&r.pod.namespace),
            sanitize::line(&r.pod.name),
            sanitize::line(r.container.as_deref().unwrap_or("-")),
            r.category.as_str(),
            sanitize::line(&r.display_reason()),
            r.exit_code.map_or("-".to_string(), |c| c.to_string()),
            r.restarts.map_or("-".to_string(), |c| c.to_string()),
            sanitize::line(&r.workload.to_string()),
        ));
    }
    out
}

/// Every pod of the files; an error's text is sanitised (its file name and message come from
/// the user's input).
fn from_files(files: &[String]) -> Result<Vec<PodSummary>, InputError> {
    let mut inputs = Inputs::default();
    for file in files {
        let mut text = String::new();
        let read = if file == "-" {
            std::io::stdin().read_to_string(&mut text).map(|_| ())
        } else {
            std::fs::read_to_string(file).map(|t| text = t)
        };
        if let Err(e) = read {
            return Err(InputError {
                file: file.clone(),
                line: 1,
                column: 1,
                message: format!("cannot read: {e}"),
            });
        }
        inputs.add_text(file, &text)?;
    }
    Ok(inputs.summaries())
}

async fn from_cluster(conn: &ConnArgs, demo: bool) -> Result<Vec<PodSummary>, u8> {
    let cluster: Box<dyn Cluster> = if demo {
        Box::new(DemoCluster::new(jiff::Timestamp::now(), false))
    } else {
        let opts = conn.connect_options();
        match KubeCluster::connect(&opts).await {
            Ok(c) => Box::new(c),
            Err(e) => {
                eprintln!("ktui: {e}");
                return Err(EXIT_NO_CLUSTER);
            }
        }
    };
    let info = cluster.info();
    let scope = conn.scope(demo, &info.namespace);
    match tokio::time::timeout(LIST_TIMEOUT, first_list(cluster.as_ref(), scope)).await {
        Ok(Ok(pods)) => Ok(pods),
        Ok(Err(why)) => {
            eprintln!("ktui: {why}");
            Err(1)
        }
        Err(_) => {
            eprintln!(
                "ktui: listing pods in context {} ({}) did not finish within {} s: the API server \
                 is slow or the list is huge; try -n NAMESPACE",
                info.context,
                info.server,
                LIST_TIMEOUT.as_secs()
            );
            Err(1)
        }
    }
}
