//! `ktui export POD`: connect, open the case, collect the pod into it, package the pod.

use std::path::Path;
use std::sync::Arc;

use super::{Exported, export_pod, say};
use crate::case::Case;
use crate::cli::{ConnArgs, ExportArgs};
use crate::cluster::demo::DemoCluster;
use crate::cluster::kube::KubeCluster;
use crate::cluster::{Cluster, ClusterError, ObjectRef, PodKey};
use crate::collect::{CollectError, CollectOptions, collect_pod};
use crate::triage_cmd::EXIT_NO_CLUSTER;

/// Err: the exit code, once said why.
pub(super) async fn run(
    args: &ExportArgs,
    pod: &str,
    conn: &ConnArgs,
    demo: bool,
    cases_dir: Option<&Path>,
    case_id: Option<&str>,
) -> Result<(Exported, Case, PodKey), u8> {
    if args.include_secrets {
        match super::confirm::include_secrets(pod) {
            Ok(how) => tracing::info!(?how, "Secret values included"),
            Err(why) => {
                say(&why);
                return Err(1);
            }
        }
    }
    let cluster: Arc<dyn Cluster> = if demo {
        Arc::new(DemoCluster::new(jiff::Timestamp::now(), false))
    } else {
        match KubeCluster::connect(&conn.connect_options()).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                eprintln!("ktui export: {e}");
                return Err(EXIT_NO_CLUSTER);
            }
        }
    };
    let info = cluster.info();
    let namespace = conn
        .namespace
        .clone()
        .unwrap_or_else(|| info.namespace.clone());
    let key = PodKey::new(namespace, pod);
    // A pod that cannot be read leaves no case behind (collection reads it again, into one).
    if let Err(e) = cluster.get_json(ObjectRef::pod(&key)).await {
        say(&format!("cannot read pod {key}: {e}"));
        return Err(match e {
            ClusterError::Unreachable { .. } => EXIT_NO_CLUSTER,
            _ => 1,
        });
    }
    let config = crate::collect::case_config(cluster.as_ref(), demo).await;
    let cases = crate::case::cases_dir(cases_dir);
    let case = Case::open(&cases, case_id, &config).map_err(|e| {
        say(&e.to_string());
        1u8
    })?;
    say(&format!(
        "collecting pod {key} (context {}) into case {} ({})",
        info.context,
        case.id(),
        case.dir().display()
    ));
    let options = CollectOptions {
        include_secrets: args.include_secrets,
    };
    let collected = collect_pod(cluster.as_ref(), &case, &key, options, &say)
        .await
        .map_err(|e| {
            say(&e.to_string());
            match e {
                CollectError::Pod { source, .. }
                    if matches!(*source, ClusterError::Unreachable { .. }) =>
                {
                    EXIT_NO_CLUSTER
                }
                _ => 1,
            }
        })?;
    say(&format!(
        "collected {} artifacts; packaging pod {key}",
        collected.written.len()
    ));
    let (out, sign_key) = (args.out.clone(), args.sign_key.clone());
    let held = case.clone();
    tokio::task::spawn_blocking(move || {
        let mut bar = crate::progress::StderrProgress::new("packaging");
        export_pod(
            &case,
            &collected,
            out.as_deref(),
            sign_key.as_deref(),
            jiff::Timestamp::now(),
            &mut |done, total| bar.update(done, total),
        )
    })
    .await
    .map_err(|e| {
        say(&format!("the export was interrupted: {e}"));
        1u8
    })?
    .map(|done| (done, held, key))
    .map_err(|e| {
        say(&e.to_string());
        1
    })
}
