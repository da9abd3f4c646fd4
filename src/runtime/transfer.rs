//! Transfers through the node's helper from the console (the checkpoint dialog's `f` and `s`):
//! a ready helper with what the job needs is looked for first (else
//! `Action::TransferNeedsHelper`, and the dialog asks to deploy one); then the kubelet's
//! archive is fetched, or a live snapshot streamed, into the case with `fetch::evidence`,
//! progress as `Action::TransferProgress` and the end as `Action::Transferred`.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc::UnboundedSender;

use crate::action::Action;
use crate::case::Case;
use crate::cluster::{Cluster, ClusterError, Scope};
use crate::evidence::{EvidenceItem, EvidenceKind};
use crate::fetch::FetchOptions;
use crate::fetch::evidence::{
    Evidence, fetch_checkpoint, fetch_snapshot, remove_from_node, snapshot_name,
};
use crate::helper::lifecycle::{Readiness, readiness};
use crate::helper::manifest::{CONTAINER, HelperSpec, HelperVariant};
use crate::state::checkpoint::{FetchedCopy, HelperJob, TransferJob};

/// Progress is reported at most this often (and once at the end).
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

fn spec_of(job: &TransferJob) -> HelperSpec {
    HelperSpec {
        image: job.image.clone(),
        variant: job.variant(),
        ..HelperSpec::new(Some(&job.node))
    }
}

/// Whether a helper pod for `spec` runs on its node, Ready, of its image and with what its
/// variant adds: `Ok(Err(why))` when not (deploying it is the answer).
pub async fn ready_helper(
    cluster: &dyn Cluster,
    spec: &HelperSpec,
) -> Result<Result<(), String>, ClusterError> {
    let key = spec.pod_key();
    let node = spec.node.as_deref().unwrap_or_default();
    let node = crate::sanitize::line(node);
    let pod = match cluster.pod_detail(key.clone()).await {
        Ok(d) => d.summary,
        Err(ClusterError::NotFound { .. }) => {
            return Ok(Err(format!("no helper runs on node {node}")));
        }
        Err(e) => return Err(e),
    };
    match readiness(&pod, &spec.image) {
        Readiness::Ready => {}
        Readiness::Starting(s) => {
            let s = crate::sanitize::line(&s).into_owned();
            return Ok(Err(format!("the helper pod {key} is not ready ({s})")));
        }
        Readiness::Failed(e) => return Ok(Err(format!("the helper pod {key} failed: {e}"))),
    }
    let image = pod.container(CONTAINER).map(|c| c.image.as_str());
    if image != Some(spec.image.as_str()) {
        return Ok(Err(format!(
            "the helper pod {key} runs another image than this ktui's ({})",
            spec.image
        )));
    }
    if spec.variant.is_default() {
        return Ok(Ok(()));
    }
    let running = match cluster
        .list_helper_pods(Scope::Namespace(spec.namespace.clone()))
        .await
    {
        Ok(pods) => pods
            .into_iter()
            .find(|p| p.summary.key == key)
            .map(|p| HelperVariant::running_capabilities(&p.labels, &p.annotations))
            .unwrap_or_default(),
        // Not allowed to look: taken for a default helper (the deploy replaces it).
        Err(ClusterError::Forbidden { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    let missing = spec.variant.missing_from(&running);
    if missing.is_empty() {
        Ok(Ok(()))
    } else {
        Ok(Err(format!(
            "the helper on node {node} lacks {} for {}",
            missing.join(", "),
            spec.variant.spec().purpose
        )))
    }
}

/// Run `job` into `case`.
pub async fn run(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    job: TransferJob,
    tx: UnboundedSender<Action>,
) {
    let pod = job.pod.clone();
    let result = transfer(cluster.as_ref(), case, &job, &tx).await;
    match result {
        Ok(Some(copy)) => {
            let _ = tx.send(Action::Transferred {
                pod,
                result: Ok(Box::new(copy)),
            });
        }
        Ok(None) => {} // TransferNeedsHelper was sent
        Err(e) => {
            let _ = tx.send(Action::Transferred {
                pod,
                result: Err(e),
            });
        }
    }
}

async fn transfer(
    cluster: &dyn Cluster,
    case: Option<Case>,
    job: &TransferJob,
    tx: &UnboundedSender<Action>,
) -> Result<Option<FetchedCopy>, String> {
    let Some(case) = case else {
        return Err("no case is open: nothing would keep it (restart ktui to open one)".into());
    };
    let spec = spec_of(job);
    match ready_helper(cluster, &spec).await {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            let _ = tx.send(Action::TransferNeedsHelper {
                pod: job.pod.clone(),
                variant: spec.variant,
                why,
            });
            return Ok(None);
        }
        Err(e) => {
            return Err(format!(
                "cannot look for the helper on node {}: {e}",
                crate::sanitize::line(&job.node)
            ));
        }
    }
    let helper_pod = spec.pod_key();
    let ev = Evidence {
        case: &case,
        pod: &job.pod,
        container: &job.container,
        node: &job.node,
        helper_pod: &helper_pod,
        helper_container: CONTAINER,
    };
    let (ptx, pod) = (tx.clone(), job.pod.clone());
    let mut progress = super::throttled(PROGRESS_EVERY, move |done, total| {
        let _ = ptx.send(Action::TransferProgress {
            pod: pod.clone(),
            done,
            total,
        });
    });
    let options = FetchOptions::default();
    let (fetched, kind) = match &job.job {
        HelperJob::Fetch { node_path } => (
            fetch_checkpoint(cluster, &ev, node_path, &options, &mut progress).await,
            EvidenceKind::CheckpointArchive,
        ),
        HelperJob::Snapshot { request } => {
            let name = snapshot_name(&job.pod, &job.container, Timestamp::now());
            (
                fetch_snapshot(cluster, &ev, request.argv(), &name, &options, &mut progress).await,
                EvidenceKind::LiveSnapshot,
            )
        }
    };
    let fetched = fetched.map_err(|e| e.to_string())?;
    for (kind, entry) in [
        (kind, &fetched.entry),
        (EvidenceKind::FetchRecord, &fetched.record),
    ] {
        let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(kind, entry)));
    }
    // Deleting the node's copy is offered only where the helper can (snapshot variant).
    let can_remove = match cluster
        .list_helper_pods(Scope::Namespace(helper_pod.namespace.clone()))
        .await
    {
        Ok(pods) => pods.iter().any(|p| {
            p.summary.key == helper_pod
                && HelperVariant::Snapshot
                    .missing_from(&HelperVariant::running_capabilities(
                        &p.labels,
                        &p.annotations,
                    ))
                    .is_empty()
        }),
        Err(_) => false,
    };
    Ok(Some(FetchedCopy {
        entry: fetched.entry,
        helper_pod,
        can_remove,
    }))
}

/// Remove the node's copy of `copy` (fetched from `node_path`) and say how it went.
pub async fn remove(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    job: TransferJob,
    node_path: String,
    copy: FetchedCopy,
    tx: UnboundedSender<Action>,
) {
    let result = match &case {
        None => Err("no case is open: the removal would not be recorded".to_string()),
        Some(case) => {
            let ev = Evidence {
                case,
                pod: &job.pod,
                container: &job.container,
                node: &job.node,
                helper_pod: &copy.helper_pod,
                helper_container: CONTAINER,
            };
            remove_from_node(cluster.as_ref(), &ev, &node_path, &copy.entry)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let _ = tx.send(Action::NodeCopyRemoved {
        pod: job.pod,
        result: result.map(|said| crate::sanitize::line(&said).into_owned()),
    });
}
