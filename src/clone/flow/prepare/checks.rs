//! What the cluster says about the clone before it exists: whether its claims can be
//! snapshotted (and with which class), which selectors of the namespace would still match it,
//! which allow policies select it, and which CNI enforces its NetworkPolicy. What cannot be
//! read is a warning (the check did not happen), except an unreachable API server.

use futures::future::join_all;
use serde_json::Value;

use crate::clone::flow::{CloneError, SNAPSHOT_API};
use crate::clone::{CloneOptions, ClonePlan, SnapshotChoice, select};
use crate::cluster::{Cluster, ClusterError};

/// The annotation marking the default VolumeSnapshotClass.
const DEFAULT_CLASS: &str = "snapshot.storage.kubernetes.io/is-default-class";

/// The kinds whose selectors could still match the clone.
const SELECTING: &[(&str, &str)] = &[
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("policy/v1", "PodDisruptionBudget"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
];

fn fatal(what: String, cause: ClusterError) -> Result<(), CloneError> {
    match cause {
        ClusterError::Unreachable { .. } => Err(CloneError::read(what, cause)),
        _ => Ok(()),
    }
}

/// The claims the pod mounts.
fn claims(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/persistentVolumeClaim/claimName"))
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Whether the snapshot API is served (asked only when the pod has claims) and the class to
/// snapshot with: `--snapshot-class` when it exists, else the default class.
pub(super) async fn snapshots(
    cluster: &dyn Cluster,
    pod: &Value,
    options: &CloneOptions,
    warnings: &mut Vec<String>,
) -> Result<(bool, Option<SnapshotChoice>), CloneError> {
    let claims = claims(pod);
    if claims.is_empty() {
        return Ok((false, None));
    }
    let list = claims.join(", ");
    let served = match cluster.serves(SNAPSHOT_API, "VolumeSnapshot").await {
        Ok(served) => served,
        Err(e) => {
            fatal("API discovery".into(), e.clone())?;
            warnings.push(format!(
                "cannot tell whether the VolumeSnapshot API is served ({e}): no snapshots of \
                 {list} taken"
            ));
            return Ok((false, None));
        }
    };
    if !served {
        warnings.push(format!(
            "the pod mounts PersistentVolumeClaim(s) {list}, but this cluster does not serve the \
             VolumeSnapshot API ({SNAPSHOT_API}, the external-snapshotter CRDs): no snapshots \
             taken; the clone mounts empty directories in their place"
        ));
        return Ok((false, None));
    }
    let classes = cluster
        .list_json(SNAPSHOT_API, "VolumeSnapshotClass", None, None)
        .await;
    let names = |list: &[Value]| -> Vec<String> {
        list.iter()
            .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
            .map(str::to_string)
            .collect()
    };
    let choice = match (&options.snapshot_class, classes) {
        (Some(class), Ok(found)) if !names(&found).contains(class) => {
            warnings.push(format!(
                "VolumeSnapshotClass {class} does not exist (the cluster has {}): no snapshots of \
                 {list} taken",
                or_none(&names(&found))
            ));
            None
        }
        (Some(class), _) => Some(class.clone()),
        (None, Ok(found)) => {
            let default = found.iter().find(|c| {
                c.pointer("/metadata/annotations")
                    .and_then(|a| a.get(DEFAULT_CLASS))
                    .and_then(Value::as_str)
                    == Some("true")
            });
            match default.and_then(|c| c.pointer("/metadata/name").and_then(Value::as_str)) {
                Some(name) => Some(name.to_string()),
                None => {
                    warnings.push(format!(
                        "no default VolumeSnapshotClass (none is annotated {DEFAULT_CLASS}=true; \
                         the cluster has {}): no snapshots of {list} taken; pass \
                         --snapshot-class NAME",
                        or_none(&names(&found))
                    ));
                    None
                }
            }
        }
        (None, Err(e)) => {
            fatal("VolumeSnapshotClasses".into(), e.clone())?;
            warnings.push(format!(
                "cannot list VolumeSnapshotClasses to find the default ({e}): no snapshots of \
                 {list} taken; pass --snapshot-class NAME"
            ));
            None
        }
    };
    Ok((
        true,
        choice.map(|class| SnapshotChoice { class: Some(class) }),
    ))
}

fn or_none(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The clone's labels.
fn labels(plan: &ClonePlan) -> std::collections::BTreeMap<String, String> {
    plan.pod
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

/// Selectors in the clone's namespace that still match it, and allow policies selecting it.
pub(super) async fn selectors(
    cluster: &dyn Cluster,
    plan: &ClonePlan,
) -> Result<Vec<String>, CloneError> {
    let ns = &plan.namespace;
    let lists = join_all(
        SELECTING
            .iter()
            .map(|(av, kind)| cluster.list_json(av, kind, Some(ns.clone()), None)),
    )
    .await;
    let mut warnings = Vec::new();
    let mut objects = Vec::new();
    let mut policies = Vec::new();
    for ((_, kind), listed) in SELECTING.iter().zip(lists) {
        match listed {
            Ok(found) if *kind == "NetworkPolicy" => policies.extend(found),
            Ok(found) => objects.extend(found),
            // An API this cluster does not serve holds no selector.
            Err(ClusterError::UnknownKind { .. }) => {}
            Err(e) => {
                fatal(format!("the {kind}s in namespace {ns}"), e.clone())?;
                warnings.push(format!(
                    "could not check whether {kind}s in namespace {ns} still select the clone \
                     ({e})"
                ));
            }
        }
    }
    let labels = labels(plan);
    let own = plan
        .network_policy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // A policy that selects the clone matters only when it allows something.
    warnings.extend(select::still_selecting(&labels, &objects));
    warnings.extend(select::allow_policies(&labels, own, &policies));
    Ok(warnings)
}

/// The CNI in kube-system, and the caveat the user must read: NetworkPolicies are enforced by
/// the CNI, or not at all.
pub(super) async fn cni(
    cluster: &dyn Cluster,
    plan: &ClonePlan,
    warnings: &mut Vec<String>,
) -> Result<Option<select::Cni>, CloneError> {
    let policy = plan
        .network_policy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let seen = match cluster
        .list_json("apps/v1", "DaemonSet", Some("kube-system".into()), None)
        .await
    {
        Ok(daemonsets) => select::detect_cni(&daemonsets),
        Err(e) => {
            fatal("the DaemonSets in kube-system".into(), e.clone())?;
            warnings.push(format!(
                "isolation depends on the CNI enforcing NetworkPolicy {policy}, and which CNI \
                 runs could not be seen (listing DaemonSets in kube-system: {e}): check that it \
                 enforces NetworkPolicies"
            ));
            return Ok(None);
        }
    };
    warnings.push(caveat(seen.as_ref(), policy));
    Ok(seen)
}

/// What the clone's isolation rests on.
fn caveat(seen: Option<&select::Cni>, policy: &str) -> String {
    match seen {
        Some(cni) if cni.enforces => format!(
            "isolation: NetworkPolicy {policy} denies all ingress and egress; it is enforced by the CNI, and the CNI seen in kube-system is {}, which enforces NetworkPolicies",
            cni.name
        ),
        Some(cni) => format!(
            "NOT ISOLATED: the CNI seen in kube-system is {}, which does not enforce NetworkPolicies: NetworkPolicy {policy} is created but nothing enforces it",
            cni.name
        ),
        None => format!(
            "isolation depends on the CNI enforcing NetworkPolicy {policy}, and no known CNI was seen among the DaemonSets in kube-system: check that yours enforces NetworkPolicies"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claims_of_a_pod() {
        let pod = json!({"spec": {"volumes": [
            {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
            {"name": "cfg", "configMap": {"name": "c"}},
            {"name": "logs", "persistentVolumeClaim": {"claimName": "logs-0", "readOnly": true}}]}});
        assert_eq!(claims(&pod), vec!["data-0", "logs-0"]);
        assert!(claims(&json!({})).is_empty());
    }
}
