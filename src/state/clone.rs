//! The clone dialog (`c` on a pod): the cluster read first (`clone::flow::prepare`), then
//! exactly what will be created, in order, with every warning and note — or the clone of the
//! same crash that already exists, offered instead; then the create in flight and its result
//! (the `kubectl exec` line, the records in the case), or what failed and what was rolled
//! back. On a clone itself (labelled `ktui.dev/forensic`) the same key asks to remove it.

use std::collections::BTreeSet;
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;

use crate::clone::flow::{self, Existing, Prepared};
use crate::clone::toolkit;
use crate::cluster::{ObjectRef, PodKey};
use crate::state::pods::CrashTally;

/// The annotation a log ConfigMap carries when it holds only the log's tail.
const ANN_LOG_TRUNCATED: &str = "ktui.dev/log-truncated";

/// What `flow::prepare` found, shared (never changed) by the dialog and the create it starts.
/// Equal when it is the same reading.
#[derive(Clone)]
pub struct PreparedClone(pub Arc<Prepared>);

impl PartialEq for PreparedClone {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for PreparedClone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PreparedClone({}/{})",
            self.0.plan.namespace, self.0.plan.name
        )
    }
}

/// A pod found labelled `ktui.dev/forensic: "true"`: a clone, which the key offers to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForensicPod {
    pub key: PodKey,
    /// Its `ktui.dev/source-pod` annotation.
    pub source_pod: Option<String>,
    pub created_at: Option<Timestamp>,
    /// `ktui.dev/snapshots`: the VolumeSnapshots taken of the source's claims.
    pub snapshots: Vec<String>,
}

impl ForensicPod {
    /// The pod as the API returns it, when it is a clone.
    pub fn of(pod: &Value) -> Option<Self> {
        if !flow::is_forensic(pod) {
            return None;
        }
        let meta = pod.get("metadata")?;
        let ann = |key: &str| {
            meta.get("annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
        };
        let key = PodKey::new(
            meta.get("namespace")?.as_str()?,
            meta.get("name")?.as_str()?,
        );
        let snapshots = flow::snapshot_names(pod)
            .into_iter()
            .map(|(ns, name)| {
                if ns == key.namespace {
                    name
                } else {
                    format!("{ns}/{name}")
                }
            })
            .collect();
        Some(Self {
            source_pod: ann(crate::clone::ANN_SOURCE_POD).map(str::to_string),
            created_at: ann(crate::clone::ANN_CREATED_AT).and_then(|t| t.parse().ok()),
            snapshots,
            key,
        })
    }

    /// What removing it deletes, in order (the snapshots are asked separately): the objects
    /// the clone was created with, by their fixed names.
    pub fn deletes(&self) -> Vec<String> {
        let name = &self.key.name;
        vec![
            format!(
                "Pod {name} (waited for until it is gone: it stays isolated while it terminates)"
            ),
            format!("ConfigMap {name}-logs, and the ConfigMaps copied for it"),
            format!("NetworkPolicy {name}-isolate"),
        ]
    }
}

/// What the cluster read says about the pod `c` was pressed on.
#[derive(Debug, Clone, PartialEq)]
pub enum CloneLook {
    /// A pod to clone.
    Source(PreparedClone),
    /// A clone: it can be removed.
    Clone(Box<ForensicPod>),
}

/// One object of the plan, in creation order, as the dialog lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedObject {
    pub kind: String,
    pub name: String,
    /// What it is for (`deny all ingress and egress`, `previous log of checkout`).
    pub what: String,
}

/// A container of the clone and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneImage {
    pub container: String,
    pub image: String,
    /// Pinned to a digest (`@sha256:`): the very image the crashed container ran.
    pub pinned: bool,
}

/// The previous log stamped on the clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StampedLog {
    pub container: String,
    pub size: u64,
    pub sha256: String,
    /// Where the whole log is in the case.
    pub case_path: Option<String>,
    /// The ConfigMap holds only its tail (1 MiB at most); the whole log is in the case.
    pub truncated: bool,
}

/// What the confirmation shows, read once from the plan when it arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloneSummary {
    pub name: String,
    pub namespace: String,
    pub source: PodKey,
    /// The crashed container.
    pub container: String,
    /// The container the shell goes into (the crashed one, unless the clone dropped it).
    pub shell_container: String,
    pub signature: String,
    /// `None`: any node.
    pub node: Option<String>,
    /// The source's node (what `n` pins the clone to).
    pub source_node: Option<String>,
    pub images: Vec<CloneImage>,
    pub toolkit_image: Option<String>,
    /// In creation order.
    pub creates: Vec<PlannedObject>,
    pub notes: Vec<String>,
    /// Every warning the flow found: selectors still matching, allow policies, the CNI caveat,
    /// a local toolkit image, no snapshot API or class, what could not be checked.
    pub warnings: Vec<String>,
    pub log: Option<StampedLog>,
    pub existing: Option<Existing>,
}

impl CloneSummary {
    pub fn of(prepared: &Prepared) -> Self {
        let plan = &prepared.plan;
        let spec = plan.pod.get("spec");
        let list = |field: &str| {
            spec.and_then(|s| s.get(field))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        let str_of = |v: &Value, f: &str| v.get(f).and_then(Value::as_str).map(str::to_string);
        let images = list("containers")
            .iter()
            .map(|c| {
                let image = str_of(c, "image").unwrap_or_default();
                CloneImage {
                    container: str_of(c, "name").unwrap_or_default(),
                    pinned: image.contains("@sha256:"),
                    image,
                }
            })
            .collect();
        let toolkit_image = list("initContainers")
            .iter()
            .find(|c| str_of(c, "name").as_deref() == Some(toolkit::CONTAINER))
            .and_then(|c| str_of(c, "image"));
        let log_cm = object_name(&plan.log_config_map);
        let truncated = plan
            .log_config_map
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(ANN_LOG_TRUNCATED))
            .and_then(Value::as_str)
            == Some("true");
        let log = prepared.source.log.as_ref().map(|l| StampedLog {
            container: l.container.clone(),
            size: l.bytes.len() as u64,
            sha256: l.sha256.clone(),
            case_path: l.case_path.clone(),
            truncated,
        });
        let creates = plan
            .objects()
            .into_iter()
            .map(|o| planned(o, &log_cm, &prepared.source.container, log.as_ref()))
            .collect();
        Self {
            name: plan.name.clone(),
            namespace: plan.namespace.clone(),
            source: PodKey::new(
                str_at(&prepared.source.pod, "/metadata/namespace"),
                str_at(&prepared.source.pod, "/metadata/name"),
            ),
            container: prepared.source.container.clone(),
            shell_container: flow::shell_container(prepared),
            signature: prepared.source.signature.clone(),
            node: spec
                .and_then(|s| s.get("nodeName"))
                .and_then(Value::as_str)
                .map(str::to_string),
            source_node: prepared
                .source
                .pod
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .map(str::to_string),
            images,
            toolkit_image,
            creates,
            notes: plan.notes.clone(),
            warnings: prepared.warnings.clone(),
            log,
            existing: prepared.existing.clone(),
        }
    }

    /// Another clone can be made beside the existing one: it is of another pod of the storm
    /// (a clone of the same pod has the same name).
    pub fn can_force(&self) -> bool {
        self.existing
            .as_ref()
            .is_some_and(|e| e.name != self.name || e.namespace != self.namespace)
    }

    /// The shell in the clone: the toolkit's, which works in a distroless image too.
    pub fn exec_line(&self) -> String {
        exec_line(
            &PodKey::new(&self.namespace, &self.name),
            &self.shell_container,
        )
    }
}

/// `kubectl -n NS exec -it NAME -c CONTAINER -- /usr/local/bin/toolkit/sh`.
pub fn exec_line(clone: &PodKey, container: &str) -> String {
    format!(
        "kubectl -n {} exec -it {} -c {container} -- {}/sh",
        clone.namespace,
        clone.name,
        toolkit::DIR
    )
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

fn object_name(v: &Value) -> String {
    str_at(v, "/metadata/name").to_string()
}

fn planned(
    object: &Value,
    log_cm: &str,
    container: &str,
    log: Option<&StampedLog>,
) -> PlannedObject {
    let kind = str_at(object, "/kind").to_string();
    let name = object_name(object);
    let what = match kind.as_str() {
        "NetworkPolicy" => "deny all ingress and egress, selecting only the clone".to_string(),
        "ConfigMap" if name == log_cm => match log {
            Some(l) => format!("the previous log of {}", l.container),
            None => format!("no previous log of {container} was captured: a note says why"),
        },
        "ConfigMap" => "a copy of the ConfigMap the pod uses".to_string(),
        "VolumeSnapshot" => format!(
            "snapshot of claim {}",
            str_at(object, "/spec/source/persistentVolumeClaimName")
        ),
        "Pod" => {
            "the clone: containers asleep, no ServiceAccount token, restartPolicy Never".to_string()
        }
        _ => String::new(),
    };
    PlannedObject { kind, name, what }
}

/// A plan ready to create (or the existing clone it found offered instead).
#[derive(Debug, Clone, PartialEq)]
pub struct CloneReady {
    pub prepared: PreparedClone,
    pub summary: CloneSummary,
    /// What the table knows of the crash signature (the existing clone stands for it).
    pub tally: CrashTally,
}

/// A clone made: what the result says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedClone {
    pub key: PodKey,
    pub container: String,
    /// In creation order.
    pub created: Vec<ObjectRef>,
    /// The records written into the case (paths in the case).
    pub recorded: Vec<String>,
}

impl CreatedClone {
    pub fn exec_line(&self) -> String {
        exec_line(&self.key, &self.container)
    }
}

/// A clone removed: what was deleted, already gone, kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedClone {
    pub key: PodKey,
    pub deleted: Vec<ObjectRef>,
    pub already_gone: Vec<ObjectRef>,
    pub snapshots_kept: Vec<String>,
}

/// The removal question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovalAsk {
    pub clone: ForensicPod,
    /// Delete its VolumeSnapshots too (asked separately: `s`, default no).
    pub with_snapshots: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClonePhase {
    /// Reading the cluster: the pod, its previous log, existing clones, selectors, the CNI.
    Preparing {
        since: Timestamp,
    },
    /// Asking: what is created where, every warning; or the existing clone, offered instead.
    Confirm(Box<CloneReady>),
    Creating {
        ready: Box<CloneReady>,
        since: Timestamp,
    },
    Created(Box<CreatedClone>),
    /// The pod is a clone: remove it?
    RemoveConfirm(Box<RemovalAsk>),
    Removing {
        ask: Box<RemovalAsk>,
        since: Timestamp,
    },
    Removed(Box<RemovedClone>),
    /// What failed (the flow's words: the step, the missing RBAC verb, what was rolled back).
    Failed {
        doing: String,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CloneDialog {
    /// The pod `c` was pressed on.
    pub pod: PodKey,
    /// This dialog's reading of the cluster (an answer to an older one is dropped).
    pub request: u64,
    /// The crashed container to clone (`None`: the flow picks it by the triage rules).
    pub container: Option<String>,
    /// Pin the clone to the source's node (`n` toggles it, reading the plan again).
    pub same_node: bool,
    /// Read without dedup: another clone beside the one that exists was asked for (`f`).
    pub anyway: bool,
    pub phase: ClonePhase,
    /// On screen (Esc hides a running create or removal; it goes on).
    pub shown: bool,
    /// The first body line shown (the text scrolls when the screen is too small).
    pub scroll: u16,
}

impl CloneDialog {
    /// Something is going on: another `c` shows this dialog instead of starting another.
    pub fn running(&self) -> bool {
        matches!(
            self.phase,
            ClonePhase::Preparing { .. }
                | ClonePhase::Creating { .. }
                | ClonePhase::Removing { .. }
        )
    }
}

/// The clone dialog and the clones this console knows of (created, found, offered): their
/// rows carry a marker.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CloneState {
    pub dialog: Option<CloneDialog>,
    pub known: BTreeSet<PodKey>,
    /// Readings asked so far (the last one's number is the dialog's `request`).
    pub requests: u64,
    /// A crash cloned within this window is not cloned again (None: the default hour;
    /// `--dedup-window` in record mode).
    pub dedup_window: Option<jiff::SignedDuration>,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clone::{CapturedLog, ClonePlan, CloneSource};
    use serde_json::json;

    pub(crate) fn prepared() -> Prepared {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "shop", "uid": "u1"},
            "spec": {"containers": [{"name": "app", "image": "web:1"}]},
        });
        let plan = ClonePlan {
            name: "web-1-forensic-0123abcd".into(),
            namespace: "shop".into(),
            network_policy: json!({"kind": "NetworkPolicy", "metadata": {"name": "web-1-forensic-0123abcd-isolate"}}),
            log_config_map: json!({"kind": "ConfigMap", "metadata": {"name": "web-1-forensic-0123abcd-logs",
                "annotations": {"ktui.dev/log-truncated": "true"}}}),
            copied_config_maps: Vec::new(),
            copy_config_maps: Vec::new(),
            snapshots: Vec::new(),
            pod: json!({"kind": "Pod", "metadata": {"name": "web-1-forensic-0123abcd"},
                "spec": {"nodeName": "worker-1",
                    "initContainers": [{"name": "ktui-toolkit", "image": "localhost/ktui-helper:dev"}],
                    "containers": [{"name": "app", "image": "web@sha256:abcd"}, {"name": "side", "image": "side:1"}]}}),
            notes: vec!["probes removed".into()],
        };
        Prepared {
            source: CloneSource {
                pod,
                signature: "0123abcd99".into(),
                container: "app".into(),
                log: Some(CapturedLog {
                    container: "app".into(),
                    bytes: b"boom\n".to_vec(),
                    sha256: "f00d".into(),
                    captured_at: Timestamp::UNIX_EPOCH,
                    case_path: Some("artifacts/shop/web-1/logs/app.previous.log".into()),
                }),
            },
            plan,
            existing: None,
            warnings: vec!["Service shop/web still selects the clone".into()],
            cni: None,
            snapshot_api: false,
            request: flow::Request {
                pod: PodKey::new("shop", "web-1"),
                container: None,
                options: crate::clone::CloneOptions {
                    forensic_namespace: None,
                    same_node: false,
                    dedup_window: crate::clone::DEFAULT_DEDUP_WINDOW,
                    snapshot_class: None,
                    toolkit_image: "localhost/ktui-helper:dev".into(),
                },
            },
        }
    }

    #[test]
    fn the_summary_reads_the_plan_in_creation_order_with_every_warning() {
        let s = CloneSummary::of(&prepared());
        assert_eq!(s.source, PodKey::new("shop", "web-1"));
        assert_eq!(s.node.as_deref(), Some("worker-1"));
        assert_eq!(
            s.creates
                .iter()
                .map(|o| o.kind.as_str())
                .collect::<Vec<_>>(),
            ["NetworkPolicy", "ConfigMap", "Pod"]
        );
        assert_eq!(s.creates[1].what, "the previous log of app");
        assert!(s.images[0].pinned && !s.images[1].pinned);
        let log = s.log.as_ref().unwrap();
        assert!(log.truncated && log.size == 5 && log.sha256 == "f00d");
        assert_eq!(s.warnings, ["Service shop/web still selects the clone"]);
        assert_eq!(
            s.toolkit_image.as_deref(),
            Some("localhost/ktui-helper:dev")
        );
        assert_eq!(s.source_node, None);
        assert_eq!(
            s.exec_line(),
            "kubectl -n shop exec -it web-1-forensic-0123abcd -c app -- /usr/local/bin/toolkit/sh"
        );
    }

    #[test]
    fn a_pod_is_a_clone_only_with_the_forensic_label() {
        let clone = json!({"metadata": {"name": "c", "namespace": "shop",
            "labels": {"ktui.dev/forensic": "true"},
            "annotations": {"ktui.dev/snapshots": "c-data, other/c-logs", "ktui.dev/source-pod": "web-1",
                "ktui.dev/created-at": "2026-11-20T10:00:00Z"}}});
        let f = ForensicPod::of(&clone).unwrap();
        assert_eq!(f.snapshots, ["c-data", "other/c-logs"]);
        assert_eq!(f.source_pod.as_deref(), Some("web-1"));
        assert!(f.created_at.is_some());
        let deletes = f.deletes();
        assert!(deletes[0].starts_with("Pod c "), "{deletes:?}");
        assert!(deletes[1].starts_with("ConfigMap c-logs,"), "{deletes:?}");
        assert_eq!(deletes[2], "NetworkPolicy c-isolate");
        let other = json!({"metadata": {"name": "c", "namespace": "shop",
            "labels": {"ktui.dev/forensic": "false", "app": "web"}}});
        assert_eq!(ForensicPod::of(&other), None);
        assert_eq!(ForensicPod::of(&json!({"metadata": {"name": "x"}})), None);
    }
}
