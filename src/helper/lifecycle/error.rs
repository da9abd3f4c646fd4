//! The life cycle's errors: why the helper was not deployed or did not become Ready, and the
//! reasons [`super::preflight`] finds before anything is created.

use crate::cluster::{ClusterError, PodKey};
use crate::helper::manifest::{self, DEFAULT_IMAGE_ARCH, ManifestError};

/// Why the helper was not deployed, or did not become Ready. Texts the cluster sends (pod and
/// container messages, event messages) are sanitised when the variant is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployError {
    /// An API call failed (RBAC, admission, the network...).
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// The node, namespace or image is not a valid value.
    #[error("{0}")]
    Spec(ManifestError),
    #[error("deploying the helper needs a node name: pass the node the helper is for")]
    NoNode,
    /// [`super::preflight`] found reasons the deploy would fail; nothing was created.
    #[error("{}", join(.0))]
    Refused(Vec<Problem>),
    /// A pod of the helper's name serves another node.
    #[error(
        "pod {pod} already exists for node {} (a name clash): remove it with `kubectl delete pod -n {} {}`",
        .node.as_deref().unwrap_or("-"), .pod.namespace, .pod.name
    )]
    NameClash { pod: PodKey, node: Option<String> },
    /// The finished helper pod being replaced did not go away.
    #[error(
        "the old helper pod {pod} is still terminating after {waited_secs} s: retry later or `kubectl delete pod -n {} {} --force`",
        .pod.namespace, .pod.name
    )]
    StillTerminating { pod: PodKey, waited_secs: u64 },
    #[error("the watch on helper pod {pod} ended before it was ready: deploy again")]
    WatchEnded { pod: PodKey },
    #[error(
        "helper pod {pod} was deleted while starting: deploy again (if it is deleted again, see `kubectl get events -n {}`)",
        .pod.namespace
    )]
    Deleted { pod: PodKey },
    /// The pod failed in a way waiting will not mend (image pull, crash, exit).
    #[error(transparent)]
    Failed(StartFailure),
    /// Not Ready within the timeout: the last state seen and the latest warning events.
    #[error(
        "helper pod {pod} was not ready after {timeout_secs} s (last state: {last}){}; see `kubectl describe pod -n {} {}`",
        recent_events(.events), .pod.namespace, .pod.name
    )]
    NotReady {
        pod: PodKey,
        timeout_secs: u64,
        last: String,
        /// `reason: message` of the latest warning events, newest first.
        events: Vec<String>,
    },
}

/// A reason [`super::preflight`] found for the deploy to fail, before anything is created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("node {node} does not exist (see `kubectl get nodes`)")]
    NodeMissing { node: String },
    /// The default image is built for [`DEFAULT_IMAGE_ARCH`] only.
    #[error(
        "node {node} is {arch} but the default helper image {image} is built for {DEFAULT_IMAGE_ARCH} only: \
         build one for {arch} (helper-image/build-image.sh on an {arch} machine) and pass --image"
    )]
    WrongArch {
        node: String,
        arch: String,
        image: String,
    },
    /// The namespace's Pod Security level refuses the helper pod.
    #[error(
        "namespace {namespace} enforces Pod Security \"{level}\", which refuses the helper (host \
         namespaces, hostPath volumes, added capabilities): run \
         `kubectl label namespace {namespace} pod-security.kubernetes.io/enforce=privileged --overwrite`, \
         or pass -n with a namespace that allows privileged pods"
    )]
    PodSecurity { namespace: String, level: String },
    /// A namespace other than ktui's own is missing (ktui creates only its own).
    #[error(
        "namespace {namespace} does not exist: ktui creates only its own namespace {default}; create \
         {namespace} so that it admits privileged pods, or deploy to {default}",
        default = manifest::DEFAULT_NAMESPACE
    )]
    NamespaceMissing { namespace: String },
}

/// How a starting helper pod failed ([`super::Readiness::Failed`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartFailure {
    /// The pod is Failed or Succeeded: its phase, reason and message, and the container's exit.
    #[error("the helper pod {pod} {}{}", phase_words(.phase, .reason, .message), exit_words(.exit_code, .exit_message))]
    Finished {
        pod: PodKey,
        phase: String,
        reason: Option<String>,
        message: Option<String>,
        exit_code: Option<i32>,
        exit_message: Option<String>,
    },
    /// The container waits for a reason that will not resolve by waiting ([`crate::triage::is_not_started_reason`]):
    /// an image pull names the node and image and how to get the image there.
    #[error("helper pod {pod}: {reason}{}{}", detail(.message), image_hint(.reason, .node, .image))]
    Stuck {
        pod: PodKey,
        node: Option<String>,
        image: String,
        reason: String,
        message: Option<String>,
    },
    #[error(
        "the helper in pod {pod} keeps crashing: see `kubectl logs -n {} {} --previous`",
        .pod.namespace, .pod.name
    )]
    CrashLoop { pod: PodKey },
}

fn join(problems: &[Problem]) -> String {
    let texts: Vec<String> = problems.iter().map(Problem::to_string).collect();
    texts.join("; ")
}

fn recent_events(events: &[String]) -> String {
    if events.is_empty() {
        String::new()
    } else {
        format!("; recent events: {}", events.join(" | "))
    }
}

pub(super) fn phase_words(
    phase: &str,
    reason: &Option<String>,
    message: &Option<String>,
) -> String {
    let mut text = phase.to_string();
    if let Some(r) = reason {
        text.push_str(&format!(" ({r})"));
    }
    if let Some(m) = message {
        text.push_str(&format!(": {m}"));
    }
    text
}

fn exit_words(code: &Option<i32>, message: &Option<String>) -> String {
    let Some(code) = code else {
        return String::new();
    };
    let mut text = format!("; the helper exited with code {code}");
    if let Some(m) = message {
        text.push_str(&format!(": {m}"));
        if m.contains("exec format error") {
            text.push_str(" (the image is built for another CPU architecture)");
        }
    }
    text
}

fn detail(message: &Option<String>) -> String {
    message
        .as_deref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default()
}

fn image_hint(reason: &str, node: &Option<String>, image: &str) -> String {
    if !reason.contains("Image") {
        return String::new();
    }
    format!(
        " — node {} cannot get image {image}: load it into the node's container \
         runtime (helper-image/build-image.sh --save FILE, then e.g. \
         `ctr -n k8s.io images import FILE` on the node or `kind load image-archive FILE`), \
         or push it to a registry the node can reach and pass --image",
        node.as_deref().unwrap_or("?")
    )
}
