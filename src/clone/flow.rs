//! The clone flow the console and `ktui clone` both run: [`prepare`] reads the cluster (the
//! pod, the crashed container's previous log, existing clones for dedup, discovery, the
//! selectors and the CNI) and builds the plan without writing anything to the cluster;
//! [`create`] writes the plan in order (NetworkPolicy first, Pod last), rolling back what it
//! created when a step fails; [`remove`] deletes a clone ktui made. Everything is recorded in
//! the case (`artifacts/<ns>/<pod>/clone/`, custody lines `create_object` / `delete_object`
//! that `ktui cleanup` reads).

mod admitted;
mod create;
mod error;
mod prepare;
mod record;
mod remove;

use jiff::Timestamp;
use serde_json::Value;

pub use error::{CloneError, CreateFailed, Failure, Rollback};
pub use remove::wait_gone;

use super::{ANN_SNAPSHOTS, CloneOptions, ClonePlan, CloneSource, LABEL_FORENSIC, select};
use crate::case::{Case, IndexEntry};
use crate::cluster::{Cluster, ObjectRef, PodKey};

/// The VolumeSnapshot API (the external-snapshotter CRDs).
pub(crate) const SNAPSHOT_API: &str = "snapshot.storage.k8s.io/v1";

/// What to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub pod: PodKey,
    /// The container whose crash the clone is about (default: the newest crash of the pod).
    pub container: Option<String>,
    pub options: CloneOptions,
}

/// What [`create`] would write, and what the user should know first.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub source: CloneSource,
    pub plan: ClonePlan,
    /// A clone of the same crash signature created within the dedup window: offered instead
    /// of a new one ([`create`] refuses while it is set).
    pub existing: Option<Existing>,
    /// Said before creating: selectors that still match, allow policies, the CNI caveat, a
    /// local toolkit image, absent snapshot API or class, what could not be checked.
    pub warnings: Vec<String>,
    /// The CNI seen in kube-system (None: not recognised, or not readable).
    pub cni: Option<select::Cni>,
    /// Whether the VolumeSnapshot API is served (asked only when the pod mounts claims).
    pub snapshot_api: bool,
    /// What was asked (recorded in the case with the clone).
    pub request: Request,
}

/// An existing clone that stands for the same crash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub name: String,
    pub namespace: String,
    pub created_at: Timestamp,
    pub signature: String,
}

/// What [`create`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub name: String,
    pub namespace: String,
    /// In creation order.
    pub created: Vec<ObjectRef>,
    /// The case's records of it (manifests and `<name>.clone.json`); empty without a case.
    pub recorded: Vec<IndexEntry>,
}

/// What [`remove`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub deleted: Vec<ObjectRef>,
    pub already_gone: Vec<ObjectRef>,
    /// VolumeSnapshots named by the clone and not deleted (not asked to).
    pub snapshots_kept: Vec<String>,
}

/// Read the cluster and build the clone's plan (writes nothing to the cluster; with a case,
/// a previous log fetched now is written into it).
pub async fn prepare(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    req: &Request,
) -> Result<Prepared, CloneError> {
    prepare::run(cluster, case, req).await
}

/// Create the plan's objects in order; on a failure, delete what was created (reverse order)
/// and say so. Refuses while `prepared.existing` is set.
pub async fn create(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    prepared: &Prepared,
) -> Result<Created, CloneError> {
    create::run(cluster, case, prepared).await
}

/// Delete the clone `name` in `namespace` (the Pod first, then its ConfigMaps, then its
/// NetworkPolicy; its VolumeSnapshots only `with_snapshots`), refusing a pod that is not a
/// forensic clone.
pub async fn remove(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    namespace: &str,
    name: &str,
    with_snapshots: bool,
) -> Result<Removed, CloneError> {
    remove::run(cluster, case, namespace, name, with_snapshots).await
}

/// Whether an object carries the forensic label (`ktui.dev/forensic: "true"`): ktui's.
pub fn is_forensic(object: &Value) -> bool {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(LABEL_FORENSIC))
        .and_then(Value::as_str)
        == Some("true")
}

/// The VolumeSnapshots a clone names (`ktui.dev/snapshots`), as (namespace, name): an entry
/// `ns/name`, or a bare name in the clone's namespace.
pub fn snapshot_names(pod: &Value) -> Vec<(String, String)> {
    let own = pod
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(ANN_SNAPSHOTS))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.split_once('/') {
            Some((ns, name)) => (ns.to_string(), name.to_string()),
            None => (own.to_string(), s.to_string()),
        })
        .collect()
}

/// The container a shell goes into: the crashed one when the clone runs it as a main
/// container, else the clone's first.
pub fn shell_container(prepared: &Prepared) -> String {
    let names: Vec<&str> = prepared
        .plan
        .pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    if names.contains(&prepared.source.container.as_str()) {
        prepared.source.container.clone()
    } else {
        names
            .first()
            .map_or_else(|| prepared.source.container.clone(), |n| n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forensic_label_and_snapshot_names() {
        let pod = json!({"metadata": {"namespace": "shop",
            "labels": {"ktui.dev/forensic": "true"},
            "annotations": {"ktui.dev/snapshots": "web-data, other/web-logs,"}}});
        assert!(is_forensic(&pod));
        assert!(!is_forensic(
            &json!({"metadata": {"labels": {"ktui.dev/forensic": "yes"}}})
        ));
        assert_eq!(
            snapshot_names(&pod),
            vec![
                ("shop".to_string(), "web-data".to_string()),
                ("other".to_string(), "web-logs".to_string())
            ]
        );
        assert!(snapshot_names(&json!({})).is_empty());
    }
}
