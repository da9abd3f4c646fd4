//! SEAM STUB (clone-ui only, replaced by merging `clone-flow`): the flow's signatures as the
//! plan fixes them, so the console can be written against them.

use jiff::Timestamp;

use super::{CloneOptions, ClonePlan, CloneSource, select};
use crate::case::{Case, IndexEntry};
use crate::cluster::{Cluster, ObjectRef, PodKey};

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub pod: PodKey,
    pub container: Option<String>,
    pub options: CloneOptions,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub source: CloneSource,
    pub plan: ClonePlan,
    pub existing: Option<Existing>,
    pub warnings: Vec<String>,
    pub cni: Option<select::Cni>,
    pub snapshot_api: bool,
    pub request: Request,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub name: String,
    pub namespace: String,
    pub created_at: Timestamp,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub name: String,
    pub namespace: String,
    pub created: Vec<ObjectRef>,
    pub recorded: Vec<IndexEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub deleted: Vec<ObjectRef>,
    pub already_gone: Vec<ObjectRef>,
    pub snapshots_kept: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CloneError {
    #[error("{0}")]
    Stub(String),
}

pub async fn prepare(
    _cluster: &dyn Cluster,
    _case: Option<&Case>,
    _req: &Request,
) -> Result<Prepared, CloneError> {
    Err(CloneError::Stub("seam stub".into()))
}

pub async fn create(
    _cluster: &dyn Cluster,
    _case: Option<&Case>,
    _prepared: &Prepared,
) -> Result<Created, CloneError> {
    Err(CloneError::Stub("seam stub".into()))
}

pub async fn remove(
    _cluster: &dyn Cluster,
    _case: Option<&Case>,
    _namespace: &str,
    _name: &str,
    _with_snapshots: bool,
) -> Result<Removed, CloneError> {
    Err(CloneError::Stub("seam stub".into()))
}

pub fn is_forensic(object: &serde_json::Value) -> bool {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(super::LABEL_FORENSIC))
        .and_then(serde_json::Value::as_str)
        == Some("true")
}

pub fn snapshot_names(pod: &serde_json::Value) -> Vec<(String, String)> {
    let own = pod
        .pointer("/metadata/namespace")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    pod.pointer("/metadata/annotations")
        .and_then(|a| a.get(super::ANN_SNAPSHOTS))
        .and_then(serde_json::Value::as_str)
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

pub fn shell_container(prepared: &Prepared) -> String {
    let names: Vec<&str> = prepared
        .plan
        .pod
        .pointer("/spec/containers")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(serde_json::Value::as_str))
        .collect();
    if names.contains(&prepared.source.container.as_str()) {
        prepared.source.container.clone()
    } else {
        names
            .first()
            .map_or_else(|| prepared.source.container.clone(), |n| n.to_string())
    }
}
