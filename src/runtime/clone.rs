//! The console's forensic clones: `crate::clone::flow`'s prepare, create and remove run for
//! the dialog, their results sent back as actions; the records a create writes into the case
//! are counted as evidence, as every capture is.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::action::Action;
use crate::case::{Case, IndexEntry};
use crate::clone::{CloneOptions, flow};
use crate::cluster::{Cluster, ObjectRef, PodKey};
use crate::evidence::{EvidenceItem, EvidenceKind};
use crate::state::clone::{CloneLook, CreatedClone, ForensicPod, PreparedClone, RemovedClone};

/// Read what a clone of `pod` takes; a pod that is a clone itself is offered for removal.
pub async fn prepare(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    request: u64,
    pod: PodKey,
    container: Option<String>,
    options: CloneOptions,
    tx: UnboundedSender<Action>,
) {
    let started = jiff::Timestamp::now();
    let result = look(cluster.as_ref(), case.as_ref(), pod, container, options).await;
    if let (Ok(CloneLook::Source(p)), Some(case)) = (&result, case) {
        let path = p.0.source.log.as_ref().and_then(|l| l.case_path.clone());
        if let Some(entry) = fetched_log(case, path, started).await {
            let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(
                EvidenceKind::ContainerLogs,
                &entry,
            )));
        }
    }
    let _ = tx.send(Action::ClonePrepared { request, result });
}

/// The previous log the reading wrote into the case (fetched now, not found there): its index
/// entry, to count it as evidence like any capture.
async fn fetched_log(
    case: Case,
    path: Option<String>,
    started: jiff::Timestamp,
) -> Option<IndexEntry> {
    let path = path?;
    let index = tokio::task::spawn_blocking(move || case.index())
        .await
        .ok()?
        .ok()?;
    index
        .into_iter()
        .find(|e| e.path == path && e.captured_at >= started)
}

async fn look(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    pod: PodKey,
    container: Option<String>,
    options: CloneOptions,
) -> Result<CloneLook, String> {
    // The label as the pod carries it now: only a clone ktui made is offered for removal.
    let json = cluster
        .get_json(ObjectRef::pod(&pod))
        .await
        .map_err(|e| format!("reading pod {pod}: {e}"))?;
    if let Some(clone) = ForensicPod::of(&json) {
        return Ok(CloneLook::Clone(Box::new(clone)));
    }
    let request = flow::Request {
        pod,
        container,
        options,
    };
    flow::prepare(cluster, case, &request)
        .await
        .map(|p| CloneLook::Source(PreparedClone(Arc::new(p))))
        .map_err(|e| e.to_string())
}

/// Create the clone `prepared` plans (the flow rolls back what it created when a step fails).
pub async fn create(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    pod: PodKey,
    prepared: PreparedClone,
    tx: UnboundedSender<Action>,
) {
    let result = match flow::create(cluster.as_ref(), case.as_ref(), &prepared.0).await {
        Ok(created) => {
            for entry in &created.recorded {
                let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(
                    EvidenceKind::CloneRecord,
                    entry,
                )));
            }
            Ok(Box::new(CreatedClone {
                key: PodKey::new(&created.namespace, &created.name),
                container: prepared.0.source.container.clone(),
                created: created.created,
                recorded: created.recorded.into_iter().map(|e| e.path).collect(),
            }))
        }
        Err(e) => Err(e.to_string()),
    };
    let _ = tx.send(Action::CloneCreated { pod, result });
}

/// Remove the clone `clone` (the flow refuses a pod that is not one).
pub async fn remove(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    clone: PodKey,
    with_snapshots: bool,
    tx: UnboundedSender<Action>,
) {
    let result = flow::remove(
        cluster.as_ref(),
        case.as_ref(),
        &clone.namespace,
        &clone.name,
        with_snapshots,
    )
    .await
    .map(|r| {
        Box::new(RemovedClone {
            key: clone.clone(),
            deleted: r.deleted,
            already_gone: r.already_gone,
            snapshots_kept: r.snapshots_kept,
        })
    })
    .map_err(|e| e.to_string());
    let _ = tx.send(Action::CloneRemoved { clone, result });
}
