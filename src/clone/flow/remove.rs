//! [`super::remove`]: read every object of the clone first (each must carry the forensic
//! label, else nothing is deleted), then delete the Pod, wait until it is gone (a terminating
//! pod still runs), then its ConfigMaps, its NetworkPolicy and, when asked, its
//! VolumeSnapshots; a custody line each.

use std::time::Duration;

use serde_json::Value;

use super::record;
use super::{CloneError, Removed, SNAPSHOT_API, is_forensic, snapshot_names};
use crate::case::Case;
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

/// The ConfigMaps a pod reads (volumes, projected volumes, envFrom, env).
fn config_maps(pod: &Value) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |v: Option<&Value>| {
        if let Some(n) = v.and_then(Value::as_str)
            && !names.iter().any(|x| x == n)
        {
            names.push(n.to_string());
        }
    };
    let spec = pod.get("spec");
    let each = |key: &str| -> Vec<Value> {
        spec.and_then(|s| s.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    for v in each("volumes") {
        add(v.pointer("/configMap/name"));
        for s in v
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(s.pointer("/configMap/name"));
        }
    }
    for c in each("initContainers")
        .iter()
        .chain(each("containers").iter())
    {
        for f in c
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            add(f.pointer("/configMapRef/name"));
        }
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            add(e.pointer("/valueFrom/configMapKeyRef/name"));
        }
    }
    names
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
    // The clone's own objects must be ktui's; ConfigMaps it merely reads (the source's, in the
    // same namespace) are not the clone's and stay.
    let log_cm = format!("{name}-logs");
    let mut cms = pod.as_ref().map(config_maps).unwrap_or_default();
    if !cms.contains(&log_cm) {
        cms.push(log_cm.clone());
    }
    for cm in cms {
        let r = ObjectRef::new("v1", "ConfigMap", Some(namespace), cm.clone());
        let found = read(cluster, &r).await?;
        if cm == log_cm {
            claim(r, found, &mut targets, &mut already_gone)?;
        } else if found.as_ref().is_some_and(is_forensic) {
            targets.push(r);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_config_maps_a_pod_reads() {
        let pod = json!({"spec": {
            "volumes": [{"name": "a", "configMap": {"name": "cfg"}},
                {"name": "p", "projected": {"sources": [{"configMap": {"name": "proj"}}, {"secret": {"name": "s"}}]}}],
            "initContainers": [{"name": "i", "envFrom": [{"configMapRef": {"name": "init-env"}}]}],
            "containers": [{"name": "c", "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "x"}}}]}]}});
        assert_eq!(config_maps(&pod), vec!["cfg", "proj", "init-env"]);
    }
}
