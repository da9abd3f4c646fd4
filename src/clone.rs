//! Forensic clones (`ktui clone`, the console's `c`): an isolated, labelled, token-less copy of a
//! crashed pod, its previous logs stamped into a ConfigMap next to it, deduplicated across a
//! crash storm by the signature annotations already in the cluster, its PVCs snapshotted.
//!
//! - [`spec`]: the pure builder — source pod + options → the objects to create ([`ClonePlan`]);
//! - [`select`]: which selectors and allow policies of the namespace would still match the
//!   clone, and which CNI enforces NetworkPolicies (pure);
//! - [`toolkit`]: the init container that puts a static busybox into the clone;
//! - [`flow`]: read the cluster (pod, logs, dedup, discovery), create in order with rollback,
//!   remove, and record it all in the case;
//! - [`cmd`]: `ktui clone POD ...` and `ktui clone --remove NAME`.

pub mod cmd;
pub mod flow;
pub mod select;
pub mod spec;
pub mod toolkit;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

/// Label on every clone (and its NetworkPolicy and log ConfigMap): `"true"`.
pub const LABEL_FORENSIC: &str = "ktui.dev/forensic";
/// Label naming the source pod (a value of at most 63 characters: see [`spec::label_value`]).
pub const LABEL_SOURCE_POD: &str = "ktui.dev/source-pod";
/// Annotation with the source pod's full name.
pub const ANN_SOURCE_POD: &str = "ktui.dev/source-pod";
/// Annotation with the source pod's UID.
pub const ANN_SOURCE_UID: &str = "ktui.dev/source-uid";
/// Annotation with the crash signature (the dedup key).
pub const ANN_SIGNATURE: &str = "ktui.dev/signature";
/// Annotation with the SHA-256 of the whole previous log as captured.
pub const ANN_LOG_SHA256: &str = "ktui.dev/log-sha256";
/// Annotation with the kube user who created the clone.
pub const ANN_CREATED_BY: &str = "ktui.dev/created-by";
/// Annotation with when the clone was created (RFC 3339, UTC: the dedup window's start).
pub const ANN_CREATED_AT: &str = "ktui.dev/created-at";
/// Annotation with the VolumeSnapshots taken of the source's claims (comma list).
pub const ANN_SNAPSHOTS: &str = "ktui.dev/snapshots";

/// Annotation on a ConfigMap copied into a forensic namespace: `<namespace>/<name>` of the
/// original.
pub const ANN_COPIED_FROM: &str = "ktui.dev/copied-from";
/// Annotation on such a copy: the name of the clone it was copied for (what removes it).
pub const ANN_COPIED_FOR: &str = "ktui.dev/copied-for";

/// The default dedup window.
pub const DEFAULT_DEDUP_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// What the user asked for beyond the source pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneOptions {
    /// Create the clone there instead of the source's namespace (ConfigMaps the pod uses are
    /// copied; Secret and PVC references are dropped).
    pub forensic_namespace: Option<String>,
    /// Pin the clone to the source's node.
    pub same_node: bool,
    /// A clone with the same signature created this recently is offered instead of a new one.
    pub dedup_window: SignedDuration,
    /// VolumeSnapshotClass for the claims' snapshots (`None`: the default class).
    pub snapshot_class: Option<String>,
    /// The image the toolkit init container runs (default: the helper image).
    pub toolkit_image: String,
}

/// The crashed container's previous log, as captured (from the case, or fetched now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedLog {
    pub container: String,
    pub bytes: Vec<u8>,
    /// SHA-256 (hex) of `bytes`, the whole log as captured.
    pub sha256: String,
    pub captured_at: Timestamp,
    /// Where the log is in the case (`artifacts/<ns>/<pod>/logs/...`), when it is there.
    pub case_path: Option<String>,
}

/// What a clone is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct CloneSource {
    /// The source pod, whole, as the API returns it.
    pub pod: Value,
    /// The crash signature (`triage::signature`) of the crashed container.
    pub signature: String,
    /// The crashed container (its imageID pins the clone's image).
    pub container: String,
    pub log: Option<CapturedLog>,
}

/// Who creates the clone, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The kube user (SelfSubjectReview), when the server says.
    pub created_by: Option<String>,
    pub created_at: Timestamp,
}

/// Whether (and with which class) the claims are snapshotted: `None` when the
/// `snapshot.storage.k8s.io/v1` API is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotChoice {
    /// `None`: the cluster's default VolumeSnapshotClass.
    pub class: Option<String>,
}

/// Everything a clone creates, built by [`spec::build`] before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub struct ClonePlan {
    /// `<pod>-forensic-<first 8 hex of the signature>`, cut to a valid name.
    pub name: String,
    pub namespace: String,
    /// Deny-all ingress and egress, selecting exactly the clone; created first.
    pub network_policy: Value,
    /// The log ConfigMap (`<name>-logs`).
    pub log_config_map: Value,
    /// ConfigMaps the pod uses, copied into the forensic namespace (full objects).
    pub copied_config_maps: Vec<Value>,
    /// The ConfigMaps to copy into the forensic namespace, by name (FLOW fetches them into
    /// `copied_config_maps`).
    pub copy_config_maps: Vec<String>,
    /// One VolumeSnapshot per claim, when snapshots were chosen.
    pub snapshots: Vec<Value>,
    /// The clone itself; created last.
    pub pod: Value,
    /// What was changed, removed or dropped, and why (said to the user, kept in the case).
    pub notes: Vec<String>,
}

impl ClonePlan {
    /// The objects in creation order: the NetworkPolicy, the ConfigMaps, the VolumeSnapshots,
    /// then the Pod (rollback deletes them in reverse).
    pub fn objects(&self) -> Vec<&Value> {
        let mut out = vec![&self.network_policy];
        out.extend(&self.copied_config_maps);
        out.push(&self.log_config_map);
        out.extend(&self.snapshots);
        out.push(&self.pod);
        out
    }
}
