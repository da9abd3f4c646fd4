//! [`super::remove`]: read every object of the clone first (each must carry the forensic
//! label, else nothing is deleted), then delete the Pod, wait until it is gone (a terminating
//! pod still runs), then its ConfigMaps (the copies made for it, its log ConfigMap), its
//! NetworkPolicy and, when asked, its VolumeSnapshots; a custody line each. What it finds by
//! name, not by reading the pod: a clone whose pod is gone still has the rest removed.

use std::time::Duration;

use serde_json::Value;

use super::record;
use super::{CloneError, Removed, SNAPSHOT_API, is_forensic, snapshot_names};
use crate::case::Case;
use crate::clone::{ANN_COPIED_FOR, LABEL_FORENSIC};
use crate::cluster::{Cluster, ClusterError, ObjectRef, PodKey};

/// How long a deleted clone pod may take to terminate before its isolation is given up on.
pub(super) const TERMINATION: Duration = Duration::from_secs(90);
const POLL: Duration = Duration::from_millis(500);

/// Wait until `object` is gone (true), for at most `within`; false when it is still there or
/// cannot be read (then it is not known to be gone).
pub async fn wait_gone(cluster: &dyn Cluster, object: &ObjectRef, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match cluster.get_json(object.clone()).await {
            Err(ClusterError::NotFound { .. }) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The object, `None` when it does not exist.
async fn read(cluster: &dyn Cluster, r: &ObjectRef) -> Result<Option<Value>, CloneError> {
    match cluster.get_json(r.clone()).await {
        Ok(v) => Ok(Some(v)),
        Err(ClusterError::NotFound { .. }) => Ok(None),
        Err(cause) => Err(CloneError::read(r.to_string(), cause)),
    }
}

/// The ConfigMaps copied for clone `name` into `namespace` (`ktui.dev/copied-for`).
async fn copies(
    cluster: &dyn Cluster,
    namespace: &str,
    name: &str,
) -> Result<Vec<ObjectRef>, CloneError> {
    let found = cluster
        .list_json(
            "v1",
            "ConfigMap",
            Some(namespace.to_string()),
            Some(format!("{LABEL_FORENSIC}=true")),
        )
        .await
        .map_err(|cause| {
            CloneError::read(format!("the ConfigMaps of namespace {namespace}"), cause)
        })?;
    Ok(found
        .iter()
        .filter(|cm| {
            cm.pointer("/metadata/annotations")
                .and_then(|a| a.get(ANN_COPIED_FOR))
                .and_then(Value::as_str)
                == Some(name)
        })
        .filter_map(|cm| ObjectRef::of(cm).ok())
        .collect())
}

/// One of the clone's own objects: to delete when ktui's, an error when not, gone when absent.
fn claim(
    r: ObjectRef,
    found: Option<Value>,
    targets: &mut Vec<ObjectRef>,
    gone: &mut Vec<ObjectRef>,
) -> Result<(), CloneError> {
    match found {
        Some(v) if is_forensic(&v) => targets.push(r),
        Some(_) => return Err(CloneError::NotAClone { object: r }),
        None => gone.push(r),
    }
    Ok(())
}

pub(super) async fn run(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    namespace: &str,
    name: &str,
    with_snapshots: bool,
) -> Result<Removed, CloneError> {
    let pod_ref = ObjectRef::new("v1", "Pod", Some(namespace), name);
    let pod = read(cluster, &pod_ref).await?;
    if let Some(p) = &pod
        && !is_forensic(p)
    {
        return Err(CloneError::NotAClone { object: pod_ref });
    }
    let mut targets = Vec::new();
    let mut already_gone = Vec::new();
    match &pod {
        Some(_) => targets.push(pod_ref.clone()),
        None => already_gone.push(pod_ref.clone()),
    }
    // Copies made for it (labelled, so ktui's), then its own log ConfigMap, which must be.
    targets.extend(copies(cluster, namespace, name).await?);
    let log_cm = ObjectRef::new("v1", "ConfigMap", Some(namespace), format!("{name}-logs"));
    let found = read(cluster, &log_cm).await?;
    claim(log_cm, found, &mut targets, &mut already_gone)?;
    let np = ObjectRef::new(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        Some(namespace),
        format!("{name}-isolate"),
    );
    let found = read(cluster, &np).await?;
    claim(np, found, &mut targets, &mut already_gone)?;
    let snapshots = pod.as_ref().map(snapshot_names).unwrap_or_default();
    let mut snapshots_kept = Vec::new();
    for (ns, snap) in snapshots {
        if !with_snapshots {
            snapshots_kept.push(format!("{ns}/{snap}"));
            continue;
        }
        let r = ObjectRef::new(SNAPSHOT_API, "VolumeSnapshot", Some(&ns), snap);
        let found = read(cluster, &r).await?;
        claim(r, found, &mut targets, &mut already_gone)?;
    }
    if pod.is_none() && targets.is_empty() {
        return Err(CloneError::NoClone {
            namespace: namespace.to_string(),
            name: name.to_string(),
        });
    }
    let mut deleted = Vec::new();
    let mut failed = Vec::new();
    for r in targets {
        let outcome = cluster.delete(r.clone()).await;
        let line = record::deleted(
            &r,
            outcome.as_ref().map(|_| ()).map_err(ToString::to_string),
        );
        if let Err(e) = record::custody(case, vec![line]).await {
            tracing::warn!(error = %e, object = %r, "a removal's custody line could not be written");
        }
        match outcome {
            Ok(true) => deleted.push(r.clone()),
            Ok(false) => already_gone.push(r.clone()),
            Err(e) => {
                failed.push((r.clone(), e.to_string()));
                // Without the pod gone, its isolation and evidence stay.
                if r.kind == "Pod" {
                    break;
                }
                continue;
            }
        }
        if r.kind == "Pod" && !wait_gone(cluster, &r, TERMINATION).await {
            return Err(CloneError::StillTerminating {
                pod: PodKey::new(namespace, name),
                policy: format!("{name}-isolate"),
                secs: TERMINATION.as_secs(),
            });
        }
    }
    if !failed.is_empty() {
        return Err(CloneError::Remove { failed, deleted });
    }
    Ok(Removed {
        deleted,
        already_gone,
        snapshots_kept,
    })
}
