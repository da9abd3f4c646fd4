//! `ktui helper manifest|list|remove`.
//!
//! Exit codes: 0 done (also when there was nothing to remove), 1 an API or input error (the
//! message says what failed and what to do), 2 usage, 3 no cluster reachable.

pub mod remove;

use std::io::Write as _;

use jiff::Timestamp;

use crate::cli::{ConnArgs, HelperArgs, HelperCommand};
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::cluster::{Cluster, ClusterError, HelperPod, Scope};
use crate::helper::manifest::{self, HelperSpec};
use crate::sanitize;
use crate::triage_cmd::EXIT_NO_CLUSTER;

const EXIT_USAGE: u8 = 2;

/// Run the subcommand against the demo cluster (`demo`) or the kubeconfig's.
pub async fn run_with(conn: &ConnArgs, args: &HelperArgs, demo: bool) -> u8 {
    match &args.command {
        HelperCommand::Manifest {
            node,
            image,
            snapshot,
            capture,
            capture_netns,
        } => {
            use manifest::HelperVariant;
            let variant = match (*snapshot, *capture, *capture_netns) {
                (true, ..) => HelperVariant::Snapshot,
                (_, true, _) => HelperVariant::Capture,
                (.., true) => HelperVariant::CaptureNetns,
                _ => HelperVariant::default(),
            };
            manifest_cmd(conn, node.as_deref(), image.as_deref(), variant)
        }
        HelperCommand::List => match connect(conn, demo).await {
            Ok(cluster) => list_cmd(cluster.as_ref(), conn).await,
            Err(code) => code,
        },
        HelperCommand::Remove { node, all, yes } => {
            if node.is_none() && !*all {
                eprintln!(
                    "ktui helper remove: say which helpers: --node NODE, or --all (see `ktui helper list`)"
                );
                return EXIT_USAGE;
            }
            match connect(conn, demo).await {
                Ok(cluster) => {
                    let consent = remove::Consent::detect(*yes);
                    remove::remove_cmd(cluster.as_ref(), conn, node.as_deref(), *all, consent).await
                }
                Err(code) => code,
            }
        }
    }
}

async fn connect(conn: &ConnArgs, demo: bool) -> Result<Box<dyn Cluster>, u8> {
    if demo {
        return Ok(Box::new(DemoCluster::new(Timestamp::now(), false)));
    }
    let opts = conn.connect_options();
    match KubeCluster::connect(&opts).await {
        Ok(c) => Ok(Box::new(c)),
        Err(e) => {
            eprintln!("ktui: {e}");
            Err(EXIT_NO_CLUSTER)
        }
    }
}

fn print(text: &str) -> u8 {
    let mut out = std::io::stdout().lock();
    if out
        .write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return 1;
    }
    0
}

fn manifest_cmd(
    conn: &ConnArgs,
    node: Option<&str>,
    image: Option<&str>,
    variant: manifest::HelperVariant,
) -> u8 {
    if conn.all_namespaces {
        eprintln!(
            "ktui helper manifest: -A has no meaning here; -n NS names the helper's namespace"
        );
        return EXIT_USAGE;
    }
    let mut spec = HelperSpec::new(node);
    spec.variant = variant;
    if let Some(ns) = &conn.namespace {
        spec.namespace = ns.clone();
    }
    if let Some(image) = image {
        spec.image = image.to_string();
    }
    if let Err(e) = spec.validate() {
        eprintln!("ktui helper manifest: {e}");
        return EXIT_USAGE;
    }
    print(&spec.to_yaml())
}

/// `-n NS`: that namespace; otherwise every namespace.
fn scope_of(conn: &ConnArgs) -> Scope {
    match &conn.namespace {
        Some(ns) if !conn.all_namespaces => Scope::Namespace(ns.clone()),
        _ => Scope::All,
    }
}

/// Helper pods in scope; across all namespaces when allowed, else in `ktui-system`.
async fn helper_pods(
    cluster: &dyn Cluster,
    conn: &ConnArgs,
) -> Result<(Scope, Vec<HelperPod>), ClusterError> {
    let scope = scope_of(conn);
    match cluster.list_helper_pods(scope.clone()).await {
        Err(e @ ClusterError::Forbidden { .. }) if scope == Scope::All => {
            eprintln!(
                "ktui: {e}\nktui: listing helpers in namespace {} only (pass -n NS for another)",
                manifest::DEFAULT_NAMESPACE
            );
            let scope = Scope::Namespace(manifest::DEFAULT_NAMESPACE.to_string());
            let pods = cluster.list_helper_pods(scope.clone()).await?;
            Ok((scope, pods))
        }
        other => other.map(|pods| (scope, pods)),
    }
}

fn where_(scope: &Scope) -> String {
    match scope {
        Scope::All => "in any namespace".to_string(),
        Scope::Namespace(ns) => format!("in namespace {ns}"),
    }
}

async fn list_cmd(cluster: &dyn Cluster, conn: &ConnArgs) -> u8 {
    let (scope, pods) = match helper_pods(cluster, conn).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("ktui: {e}");
            return 1;
        }
    };
    if pods.is_empty() {
        eprintln!("no ktui helper pods {}", where_(&scope));
        return 0;
    }
    print(&table(&pods, Timestamp::now()))
}

/// The `ktui helper list` table.
pub fn table(pods: &[HelperPod], now: Timestamp) -> String {
    let rows: Vec<[String; 7]> = pods
        .iter()
        .map(|p| {
            let s = &p.summary;
            [
                s.key.namespace.clone(),
                s.key.name.clone(),
                s.node.clone().unwrap_or_else(|| "-".into()),
                phase(p),
                crate::view::text::age(now, s.created),
                p.annotations
                    .get(manifest::ANNOTATION_CREATED_BY)
                    .or_else(|| p.labels.get(manifest::LABEL_CREATED_BY))
                    .cloned()
                    .unwrap_or_else(|| "-".into()),
                s.container(manifest::CONTAINER)
                    .or(s.containers.first())
                    .map_or("-".into(), |c| c.image.clone()),
            ]
            .map(|cell| sanitize::line(&cell).into_owned())
        })
        .collect();
    let header = [
        "NAMESPACE",
        "POD",
        "NODE",
        "PHASE",
        "AGE",
        "CREATED-BY",
        "IMAGE",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn phase(p: &HelperPod) -> String {
    let s = &p.summary;
    if p.deleting {
        return "Terminating".to_string();
    }
    let ready = s.container(manifest::CONTAINER).is_some_and(|c| c.ready);
    match (s.phase.as_str(), &s.reason) {
        (phase, Some(reason)) => format!("{phase} ({reason})"),
        ("Running", None) if !ready => "Running (not ready)".to_string(),
        (phase, None) => phase.to_string(),
    }
}
