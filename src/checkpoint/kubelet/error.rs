//! Why a checkpoint was not written, one variant per cause, each saying what it means and what to
//! do. Text quoted from a server is sanitised and cut where the variant is built (`parse.rs`),
//! so a message is safe to print; names are sanitised by whoever prints.

use std::time::Duration;

use super::{CHECKPOINT_DIR, KUBELET_RUNTIME_TIMEOUT, Reply};
use crate::cluster::PodKey;

/// The container a message is about (boxed: it is in every variant, which stay small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct At(Box<Where>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Where {
    pub node: String,
    pub pod: PodKey,
    pub container: String,
}

impl std::ops::Deref for At {
    type Target = Where;

    fn deref(&self) -> &Where {
        &self.0
    }
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "container {} of pod {}", self.container, self.pod)
    }
}

impl At {
    pub fn new(node: &str, pod: &PodKey, container: &str) -> Self {
        Self(Box::new(Where {
            node: node.to_string(),
            pod: pod.clone(),
            container: container.to_string(),
        }))
    }

    /// The command that takes a live snapshot of the same container instead.
    pub fn snapshot_command(&self) -> String {
        format!(
            "ktui checkpoint create {} -n {} -c {} --snapshot",
            self.pod.name, self.pod.namespace, self.container
        )
    }
}

/// What a runtime that cannot checkpoint lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeGap {
    /// The CRI `CheckpointContainer` call is not implemented (containerd before 2.0).
    NoRpc,
    /// CRI-O with `enable_criu_support = false`, or without CRIU.
    CrioSupportOff,
    /// No CRIU binary, or one too old, where the runtime looks for it (containerd 2.x).
    CriuMissing,
}

impl std::fmt::Display for RuntimeGap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuntimeGap::NoRpc => {
                "it does not implement the CRI CheckpointContainer call, as containerd before 2.0 does not"
            }
            RuntimeGap::CrioSupportOff => {
                "CRI-O's checkpoint support is off (enable_criu_support = false) or CRIU is not installed"
            }
            RuntimeGap::CriuMissing => "it finds no CRIU binary (or one too old) on the node",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// A name that cannot be part of the proxy path.
    #[error(
        "the {what} name {name:?} cannot be sent to the kubelet (Kubernetes names are letters, digits, '-', '.' and '_')"
    )]
    BadName { what: &'static str, name: String },
    /// The API server's own 403 (a Status): RBAC does not let the user proxy to the node.
    #[error(
        "the API server refused to checkpoint {at} on node {node} (403 from the API server, not the kubelet): {who} may not '{verb}' on '{resource}'; ask a cluster admin for a ClusterRole granting {verb} on {resource} (check with `kubectl auth can-i {verb} {resource}`)",
        who = .user.as_deref().map_or_else(|| "you".to_string(), |u| format!("user {u}")),
        node = .at.node
    )]
    ApiForbidden {
        at: At,
        user: Option<String>,
        verb: String,
        resource: String,
    },
    #[error(
        "the API server rejected your credentials (401 Unauthorized) while checkpointing {at}: log in again (e.g. refresh your cloud CLI or OIDC token), then retry"
    )]
    ApiUnauthorized { at: At },
    #[error(
        "cannot checkpoint {at}: the API server knows no node {node} (the pod moved or the node was removed); refresh the pod list and retry",
        node = .at.node
    )]
    NodeNotFound { at: At },
    /// The API server answered for a kubelet it could not reach.
    #[error(
        "the API server cannot reach the kubelet of node {node} to checkpoint {at}: {cause}; check the node (`kubectl get node {node}`) and retry",
        node = .at.node
    )]
    KubeletUnreachable { at: At, cause: String },
    #[error(
        "the kubelet of node {node} did not accept the API server's client credentials (401 from the kubelet) to checkpoint {at}: the kubelet does not trust the API server's kubelet client certificate; a cluster admin must fix that",
        node = .at.node
    )]
    KubeletUnauthorized { at: At },
    /// The kubelet's own 403: it authorises the API server's kubelet-client identity, not the
    /// user, and newer kubelets check `nodes/checkpoint`, which default roles do not grant.
    #[error(
        "the kubelet of node {node} refused to checkpoint {at} (403 from the kubelet, not the API server): the API server's own kubelet-client identity '{user}' may not '{verb}' on '{resource}/{subresource}'. Your permissions let the request through; only a cluster admin can grant that identity create on nodes/{subresource} (the default role system:kubelet-api-admin does not include nodes/checkpoint). A live snapshot can be taken instead: {cmd}",
        node = .at.node, cmd = .at.snapshot_command()
    )]
    KubeletForbidden {
        at: At,
        user: String,
        verb: String,
        resource: String,
        subresource: String,
    },
    /// `404 page not found`: the kubelet has no `/checkpoint` route.
    #[error(
        "the kubelet of node {node} has no checkpoint API (404 page not found) for {at}: its ContainerCheckpoint feature gate is off (beta and on by default since Kubernetes 1.30, alpha and off in 1.25-1.29) or the kubelet is older than 1.25; an admin can start it with --feature-gates=ContainerCheckpoint=true. A live snapshot can be taken instead: {cmd}",
        node = .at.node, cmd = .at.snapshot_command()
    )]
    FeatureDisabled { at: At },
    #[error(
        "the kubelet of node {node} has no pod {pod} (404 pod does not exist): it was deleted, or replaced by a pod of another name; refresh the pod list and pick the running pod",
        node = .at.node, pod = .at.pod
    )]
    PodNotFound { at: At },
    #[error(
        "pod {pod} has no container {container} on node {node} (404 from the kubelet); name one of the pod's containers (-c)",
        node = .at.node, pod = .at.pod, container = .at.container
    )]
    ContainerNotFound { at: At },
    /// The container is not running: nothing to checkpoint.
    #[error(
        "{at} on node {node} is not running ({state}): a dead process cannot be checkpointed. Read what it left: its logs (`l` in the console; `kubectl logs --previous {pod} -c {container} -n {ns}`), which the console also keeps in the case when it sees the crash; its configuration and image can be examined in a copy of the pod (`kubectl debug {pod} -n {ns} --copy-to={pod}-copy`; it keeps the labels, so Services send it traffic: relabel and isolate it)",
        pod = .at.pod.name, container = .at.container, ns = .at.pod.namespace, node = .at.node
    )]
    NotRunning { at: At, state: String },
    /// The runtime lacks what a checkpoint needs.
    #[error(
        "the container runtime of node {node} cannot checkpoint {at}: {gap} (it said: {said}). CRI-O 1.25 or later with enable_criu_support = true, or containerd 2.0 or later with CRIU installed, can. A live snapshot can be taken instead: {cmd}",
        node = .at.node, cmd = .at.snapshot_command()
    )]
    RuntimeUnsupported {
        at: At,
        gap: RuntimeGap,
        said: String,
    },
    /// CRIU ran and failed: its own error lines.
    #[error(
        "CRIU failed to checkpoint {at} on node {node}: {lines}{log}. A live snapshot can be taken instead: {cmd}",
        node = .at.node,
        lines = criu_lines(.lines),
        log = .log_file.as_deref().map(|l| format!(" (its whole log is {l} on the node)")).unwrap_or_default(),
        cmd = .at.snapshot_command()
    )]
    CriuFailed {
        at: At,
        lines: Vec<String>,
        log_file: Option<String>,
    },
    /// The runtime did not finish within the kubelet's deadline.
    #[error(
        "the container runtime of node {node} did not finish checkpointing {at} within the kubelet's deadline ({said}): a container with much memory takes longer; retry with a longer timeout (`ktui checkpoint create … --timeout 10m`: the kubelet waits the longer of it and its runtime request timeout, {default} s by default)",
        node = .at.node, default = KUBELET_RUNTIME_TIMEOUT.as_secs()
    )]
    RuntimeDeadline { at: At, said: String },
    #[error("the container runtime of node {node} failed to checkpoint {at}: {said}", node = .at.node)]
    RuntimeFailed { at: At, said: String },
    /// No answer in time (ktui's own deadline).
    #[error(
        "no answer to the checkpoint of {at} within {waited} s: the kubelet may still be writing it (it waits at least its runtime request timeout, {default} s by default), so an archive may still appear in {CHECKPOINT_DIR} on node {node}; retry with a longer timeout (`ktui checkpoint create … --timeout 10m`)",
        waited = .waited.as_secs(), node = .at.node, default = KUBELET_RUNTIME_TIMEOUT.as_secs()
    )]
    Timeout { at: At, waited: Duration },
    /// The API server could not be reached, or the connection broke.
    #[error("cannot reach the API server at {server} to checkpoint {at}: {cause}")]
    Unreachable {
        at: At,
        server: String,
        cause: String,
    },
    /// The request could not be sent for another reason (credentials, a response beyond the
    /// bound): the cluster error says which.
    #[error("cannot checkpoint {at} on node {node}: {error}", node = .at.node)]
    Cluster {
        at: At,
        error: Box<crate::cluster::ClusterError>,
    },
    /// 200, but not the kubelet's answer.
    #[error(
        "the kubelet of node {node} answered the checkpoint of {at} with 200 but not with {{\"items\":[\"<path>\"]}} ({why}): is something other than the kubelet answering?",
        node = .at.node
    )]
    BadAnswer { at: At, why: String },
    #[error(
        "the checkpoint of {at} on node {node} was answered {status}: {said}",
        node = .at.node
    )]
    Unexpected { at: At, status: u16, said: String },
    /// The demo cluster's answer (a simulated containerd 1.7 node).
    #[error("DEMO (simulated cluster, its nodes answer as containerd 1.7 does): {0}")]
    Demo(Box<CheckpointError>),
}

fn criu_lines(lines: &[String]) -> String {
    if lines.is_empty() {
        "no error line was quoted".to_string()
    } else {
        lines.join(" | ")
    }
}

impl CheckpointError {
    /// The kubelet route cannot give a checkpoint of this container on this node, and a live
    /// snapshot through the node helper still can preserve it: the message says so.
    pub fn offers_snapshot(&self) -> bool {
        match self {
            CheckpointError::FeatureDisabled { .. }
            | CheckpointError::KubeletForbidden { .. }
            | CheckpointError::RuntimeUnsupported { .. }
            | CheckpointError::CriuFailed { .. } => true,
            CheckpointError::Demo(inner) => inner.offers_snapshot(),
            _ => false,
        }
    }

    /// No API server answered (the CLI's exit code 3).
    pub fn unreachable(&self) -> bool {
        match self {
            CheckpointError::Unreachable { .. } => true,
            CheckpointError::Cluster { error, .. } => {
                matches!(**error, crate::cluster::ClusterError::Unreachable { .. })
            }
            CheckpointError::Demo(inner) => inner.unreachable(),
            _ => false,
        }
    }

    /// A stable name of the cause, for the record (`artifacts/.../*.request.json`).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckpointError::BadName { .. } => "bad_name",
            CheckpointError::ApiForbidden { .. } => "api_server_forbidden",
            CheckpointError::ApiUnauthorized { .. } => "api_server_unauthorized",
            CheckpointError::NodeNotFound { .. } => "node_not_found",
            CheckpointError::KubeletUnreachable { .. } => "kubelet_unreachable",
            CheckpointError::KubeletUnauthorized { .. } => "kubelet_unauthorized",
            CheckpointError::KubeletForbidden { .. } => "kubelet_forbidden",
            CheckpointError::FeatureDisabled { .. } => "feature_disabled",
            CheckpointError::PodNotFound { .. } => "pod_not_found",
            CheckpointError::ContainerNotFound { .. } => "container_not_found",
            CheckpointError::NotRunning { .. } => "not_running",
            CheckpointError::RuntimeUnsupported { .. } => "runtime_unsupported",
            CheckpointError::CriuFailed { .. } => "criu_failed",
            CheckpointError::RuntimeDeadline { .. } => "runtime_deadline",
            CheckpointError::RuntimeFailed { .. } => "runtime_failed",
            CheckpointError::Timeout { .. } => "timeout",
            CheckpointError::Unreachable { .. } => "unreachable",
            CheckpointError::Cluster { .. } => "cluster",
            CheckpointError::BadAnswer { .. } => "bad_answer",
            CheckpointError::Unexpected { .. } => "unexpected",
            CheckpointError::Demo(inner) => inner.kind(),
        }
    }
}

/// A checkpoint that failed: why, and the answer it failed with (none when nothing answered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct CheckpointFailure {
    pub error: Box<CheckpointError>,
    pub reply: Option<Box<Reply>>,
}

impl CheckpointFailure {
    /// A failure nothing answered for (a timeout, an unreachable server, a check before asking).
    pub fn unanswered(error: CheckpointError) -> Self {
        Self {
            error: Box::new(error),
            reply: None,
        }
    }

    /// A failure and the reply it was read from.
    pub fn answered(error: CheckpointError, reply: Reply) -> Self {
        Self {
            error: Box::new(error),
            reply: Some(Box::new(reply)),
        }
    }

    pub fn offers_snapshot(&self) -> bool {
        self.error.offers_snapshot()
    }
}

impl From<CheckpointError> for CheckpointFailure {
    fn from(error: CheckpointError) -> Self {
        Self::unanswered(error)
    }
}
