//! The helper's life cycle: deploying the helper pod on a node, reaching it and removing it —
//! one module for the console (runtime effects) and the CLI (`ktui helper`), which
//! `tests/helper_deploy.rs` drives against the fake API server.
//!
//! Sequence: [`preflight`] (node exists, its architecture, the namespace's Pod Security level) →
//! reuse a running helper or replace a finished one (or one of another image, or one whose
//! variant lacks capabilities the requested [`manifest::HelperVariant`] adds) → create the Namespace when it is missing
//! (create-only: an existing namespace is never changed) → server-side apply of the
//! ServiceAccount and Pod → wait until the pod is Running and Ready, failing fast on image pull
//! and container errors → [`DeployedHelper::open`] execs `ktui-helper serve`.

use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;

use crate::cluster::{
    BoxByteStream, Cluster, ClusterError, ContainerState, ObjectRef, PodEvent, PodKey, PodSummary,
    Result, Scope,
};
use crate::helper::manifest::{self, CONTAINER, DEFAULT_IMAGE_ARCH, HelperSpec};
use crate::sanitize;

mod error;

use error::phase_words;

pub use error::{DeployError, Problem, StartFailure};

/// How long the pod may take to become Ready (an image pull from a registry included).
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a finished helper pod may take to go away before it is replaced.
const GONE_TIMEOUT: Duration = Duration::from_secs(60);
const GONE_POLL: Duration = Duration::from_millis(300);

/// Pod Security levels that refuse the helper pod.
const REFUSING_LEVELS: [&str; 2] = ["baseline", "restricted"];

/// Cluster text made fit for a message.
fn clean(text: &str) -> String {
    sanitize::line(text).into_owned()
}

/// What [`preflight`] found before anything is created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preflight {
    /// Worth showing in the confirmation; the deploy can go on.
    pub warnings: Vec<String>,
    /// Reasons the deploy would fail; [`deploy`] refuses when any.
    pub problems: Vec<Problem>,
    /// The namespace does not exist (or could not be read): create it (create-only).
    pub create_namespace: bool,
}

impl Preflight {
    /// One line for a confirmation dialog (problems first), or `None` when all is well.
    pub fn summary(&self) -> Option<String> {
        let all: Vec<String> = self
            .problems
            .iter()
            .map(Problem::to_string)
            .chain(self.warnings.iter().cloned())
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

/// A helper pod that is Running and Ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedHelper {
    pub pod: PodKey,
    pub node: String,
    pub image: String,
    /// The image digest the node runs (`containerStatuses[].imageID`).
    pub image_id: Option<String>,
    /// An existing helper pod was reused (nothing was applied).
    pub reused: bool,
    /// Preflight warnings (also sent as progress).
    pub warnings: Vec<String>,
    /// What this deploy created in the cluster (the namespace when it was missing, the pod;
    /// not the shared ServiceAccount), for the case's custody and `ktui cleanup`.
    pub created: Vec<ObjectRef>,
}

impl DeployedHelper {
    /// Exec `ktui-helper serve` in the helper: its stdout/stdin as one stream. Call again to
    /// reconnect after the stream ends with an error.
    pub fn open(&self, cluster: &dyn Cluster) -> BoxFuture<'static, Result<BoxByteStream>> {
        open(cluster, &self.pod)
    }
}

/// Exec `ktui-helper serve` in a helper pod.
pub fn open(cluster: &dyn Cluster, pod: &PodKey) -> BoxFuture<'static, Result<BoxByteStream>> {
    cluster.exec(pod.clone(), CONTAINER.to_string(), HelperSpec::serve_argv())
}

/// Checks that need no write: the node exists and its architecture fits the image; the
/// namespace's Pod Security level admits the helper. Missing read permissions are warnings.
pub async fn preflight(cluster: &dyn Cluster, spec: &HelperSpec) -> Result<Preflight, DeployError> {
    spec.validate().map_err(DeployError::Spec)?;
    let mut out = Preflight::default();
    if let Some(node) = &spec.node {
        match cluster.node_info(node.clone()).await {
            Ok(info) => {
                match info.architecture.as_deref() {
                    Some(arch) if arch != DEFAULT_IMAGE_ARCH && spec.uses_default_image() => {
                        out.problems.push(Problem::WrongArch {
                            node: node.clone(),
                            arch: clean(arch),
                            image: spec.image.clone(),
                        });
                    }
                    Some(arch) if arch != DEFAULT_IMAGE_ARCH => out.warnings.push(format!(
                        "node {node} is {arch}: make sure {} is built for {arch}",
                        spec.image,
                        arch = clean(arch)
                    )),
                    _ => {}
                }
                if info.ready == Some(false) {
                    out.warnings.push(format!(
                        "node {node} is NotReady: the helper may not start there"
                    ));
                }
            }
            Err(ClusterError::NotFound { .. }) => out
                .problems
                .push(Problem::NodeMissing { node: node.clone() }),
            Err(e @ ClusterError::Forbidden { .. }) => out.warnings.push(format!(
                "cannot check node {node} ({e}); deploying without checking its architecture"
            )),
            Err(e) => return Err(e.into()),
        }
    }
    match cluster.pod_security_level(spec.namespace.clone()).await {
        Ok(Some(level)) if REFUSING_LEVELS.contains(&level.as_str()) => {
            out.problems.push(Problem::PodSecurity {
                namespace: spec.namespace.clone(),
                level,
            });
        }
        Ok(_) => {}
        Err(ClusterError::NotFound { .. }) if !spec.creates_namespace() => {
            out.problems.push(Problem::NamespaceMissing {
                namespace: spec.namespace.clone(),
            });
        }
        Err(ClusterError::NotFound { .. }) => out.create_namespace = true,
        Err(e @ ClusterError::Forbidden { .. }) => {
            out.create_namespace = spec.creates_namespace();
            out.warnings.push(format!(
                "cannot read namespace {} ({e}); {}",
                spec.namespace,
                if spec.creates_namespace() {
                    "will create it if it is missing"
                } else {
                    "assuming it exists and admits privileged pods"
                }
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(out)
}

/// Deploy (or reuse) the helper on `spec.node` and wait until it is Ready. `progress` gets one
/// line per step, for the status bar.
pub async fn deploy(
    cluster: &dyn Cluster,
    spec: &HelperSpec,
    ready_timeout: Duration,
    progress: &mut (dyn FnMut(String) + Send),
) -> Result<DeployedHelper, DeployError> {
    let Some(node) = spec.node.clone() else {
        return Err(DeployError::NoNode);
    };
    progress(format!(
        "checking node {node} and namespace {}",
        spec.namespace
    ));
    let pre = preflight(cluster, spec).await?;
    if !pre.problems.is_empty() {
        return Err(DeployError::Refused(pre.problems));
    }
    for w in &pre.warnings {
        progress(format!("warning: {w}"));
    }
    let key = spec.pod_key();
    let mut reused = false;
    let mut created = Vec::new();
    match cluster.pod_detail(key.clone()).await {
        Ok(existing) => {
            let pod = &existing.summary;
            if pod.node.as_deref() != Some(node.as_str()) {
                return Err(DeployError::NameClash {
                    pod: key,
                    node: pod.node.as_deref().map(clean),
                });
            }
            let image = pod.container(CONTAINER).map(|c| c.image.as_str());
            let finished = matches!(pod.phase.as_str(), "Failed" | "Succeeded");
            let lacks = lacking(cluster, spec, &key).await?;
            if finished || image != Some(spec.image.as_str()) || !lacks.is_empty() {
                let why = if lacks.is_empty() || finished {
                    phase_text(pod)
                } else {
                    format!(
                        "it lacks {} for {}",
                        lacks.join(", "),
                        spec.variant.spec().purpose
                    )
                };
                progress(format!("replacing the old helper pod {key} ({why})"));
                cluster.delete(ObjectRef::pod(&key)).await?;
                wait_gone(cluster, &key).await?;
            } else {
                progress(format!("reusing helper pod {key}"));
                reused = true;
            }
        }
        Err(ClusterError::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    if !reused {
        if pre.create_namespace {
            let ns = &spec.namespace;
            if cluster.create(spec.namespace_object()).await? {
                progress(format!("created namespace {ns}"));
                created.push(ObjectRef::namespace(ns));
            } else {
                progress(format!("namespace {ns} is already there: left unchanged"));
            }
        }
        progress(format!("creating helper pod {key} on node {node}"));
        cluster
            .apply(vec![spec.service_account_object(), spec.pod_object()])
            .await?;
        created.push(ObjectRef::pod(&key));
    }
    progress(format!("waiting for helper pod {key} to be ready"));
    let pod = wait_ready(cluster, &key, &spec.image, ready_timeout).await?;
    Ok(DeployedHelper {
        image_id: pod.container(CONTAINER).and_then(|c| c.image_id.clone()),
        pod: key,
        node,
        image: spec.image.clone(),
        reused,
        warnings: pre.warnings,
        created,
    })
}

/// The capabilities `spec.variant` needs that the running helper pod `key` was not created
/// with (its `ktui.dev/capabilities` annotation, or its variant label). The default helper is
/// covered by every variant: nothing is looked up for it. A pod that cannot be listed is
/// taken for a default helper (and replaced, which needs no more permission than deploying).
async fn lacking(
    cluster: &dyn Cluster,
    spec: &HelperSpec,
    key: &PodKey,
) -> Result<Vec<&'static str>, DeployError> {
    if spec.variant.is_default() {
        return Ok(Vec::new());
    }
    let running = match cluster
        .list_helper_pods(Scope::Namespace(spec.namespace.clone()))
        .await
    {
        Ok(pods) => pods
            .into_iter()
            .find(|p| p.summary.key == *key)
            .map(|p| manifest::HelperVariant::running_capabilities(&p.labels, &p.annotations))
            .unwrap_or_default(),
        // Not allowed to look: taken for a default helper.
        Err(ClusterError::Forbidden { .. }) => manifest::HelperVariant::default()
            .capability_names()
            .into_iter()
            .map(String::from)
            .collect(),
        Err(e) => return Err(e.into()),
    };
    Ok(spec.variant.missing_from(&running))
}

async fn wait_gone(cluster: &dyn Cluster, key: &PodKey) -> Result<(), DeployError> {
    let deadline = tokio::time::Instant::now() + GONE_TIMEOUT;
    loop {
        match cluster.pod_detail(key.clone()).await {
            Err(ClusterError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e.into()),
            Ok(_) if tokio::time::Instant::now() >= deadline => {
                return Err(DeployError::StillTerminating {
                    pod: key.clone(),
                    waited_secs: GONE_TIMEOUT.as_secs(),
                });
            }
            Ok(_) => tokio::time::sleep(GONE_POLL).await,
        }
    }
}

/// Where a starting helper pod stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    Starting(String),
    Failed(StartFailure),
}

/// Judge a helper pod summary (pure: unit-tested).
pub fn readiness(pod: &PodSummary, image: &str) -> Readiness {
    let key = &pod.key;
    let container = pod.container(CONTAINER);
    if matches!(pod.phase.as_str(), "Failed" | "Succeeded") {
        let (exit_code, exit_message) = match container.map(|c| &c.state) {
            Some(ContainerState::Terminated {
                exit_code, message, ..
            }) => (Some(*exit_code), message.as_deref().map(clean)),
            _ => (None, None),
        };
        return Readiness::Failed(StartFailure::Finished {
            pod: key.clone(),
            phase: clean(&pod.phase),
            reason: pod.reason.as_deref().map(clean),
            message: pod.message.as_deref().map(clean),
            exit_code,
            exit_message,
        });
    }
    if let Some(c) = container {
        if let ContainerState::Waiting { reason, message } = &c.state {
            let reason = reason.as_deref().unwrap_or("");
            if crate::triage::is_not_started_reason(Some(reason)) {
                return Readiness::Failed(StartFailure::Stuck {
                    pod: key.clone(),
                    node: pod.node.as_deref().map(clean),
                    image: image.to_string(),
                    reason: reason.to_string(),
                    message: message.as_deref().map(clean),
                });
            }
            if reason == "CrashLoopBackOff" {
                return Readiness::Failed(StartFailure::CrashLoop { pod: key.clone() });
            }
        }
        if pod.phase == "Running" && c.ready {
            return Readiness::Ready;
        }
        return Readiness::Starting(format!("{}, container {}", pod.phase, c.state.label()));
    }
    Readiness::Starting(pod.phase.clone())
}

fn phase_text(pod: &PodSummary) -> String {
    clean(&phase_words(&pod.phase, &pod.reason, &pod.message))
}

async fn wait_ready(
    cluster: &dyn Cluster,
    key: &PodKey,
    image: &str,
    timeout: Duration,
) -> Result<PodSummary, DeployError> {
    let mut events = cluster.watch_pods(Scope::Namespace(key.namespace.clone()));
    let mut last = "no status yet".to_string();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let ev = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => return Err(DeployError::WatchEnded { pod: key.clone() }),
            Err(_) => return Err(timed_out(cluster, key, timeout, &last).await),
        };
        match ev {
            PodEvent::Applied(pod) if pod.key == *key => match readiness(&pod, image) {
                Readiness::Ready => return Ok(*pod),
                Readiness::Starting(s) => last = clean(&s),
                Readiness::Failed(e) => return Err(DeployError::Failed(e)),
            },
            PodEvent::Deleted(k) if k == *key => {
                return Err(DeployError::Deleted { pod: key.clone() });
            }
            PodEvent::Failed(e) => return Err(e.into()),
            _ => {}
        }
    }
}

/// The timeout error, with the pod's latest warning events (FailedMount, FailedScheduling...).
async fn timed_out(
    cluster: &dyn Cluster,
    key: &PodKey,
    timeout: Duration,
    last: &str,
) -> DeployError {
    let events = cluster.pod_events(key.clone()).await.unwrap_or_default();
    DeployError::NotReady {
        pod: key.clone(),
        timeout_secs: timeout.as_secs(),
        last: last.to_string(),
        events: events
            .iter()
            .rev()
            .filter(|e| e.type_ == "Warning")
            .take(3)
            .map(|e| clean(&format!("{}: {}", e.reason, e.message)))
            .collect(),
    }
}

/// Delete the helper pods of `node` (every namespace in `scope`); returns the pods deleted.
pub async fn remove_node(cluster: &dyn Cluster, scope: Scope, node: &str) -> Result<Vec<PodKey>> {
    let pods = cluster.list_helper_pods(scope).await?;
    let mut removed = Vec::new();
    for p in pods.iter().filter(|p| on_node(p, node)) {
        if cluster.delete(ObjectRef::pod(&p.summary.key)).await? {
            removed.push(p.summary.key.clone());
        }
    }
    Ok(removed)
}

/// Whether a helper pod serves `node` (by `spec.nodeName`, else its node annotation).
pub fn on_node(pod: &crate::cluster::HelperPod, node: &str) -> bool {
    pod.summary.node.as_deref() == Some(node)
        || pod
            .annotations
            .get(manifest::ANNOTATION_NODE)
            .map(String::as_str)
            == Some(node)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ContainerRole, ContainerSummary, OwnerRef, Workload};

    fn pod(phase: &str, state: ContainerState, ready: bool) -> PodSummary {
        PodSummary {
            key: PodKey::new("ktui-system", "ktui-helper-n1"),
            uid: "u".into(),
            resource_version: "1".into(),
            phase: phase.into(),
            reason: None,
            message: None,
            node: Some("n1".into()),
            created: None,
            failed_at: None,
            restart_policy: Some("Never".into()),
            owner: None::<OwnerRef>,
            workload: Workload {
                kind: "Pod".into(),
                name: "ktui-helper-n1".into(),
            },
            containers: vec![ContainerSummary {
                name: CONTAINER.into(),
                role: ContainerRole::Main,
                image: "img".into(),
                image_id: None,
                container_id: None,
                ready,
                started: ready,
                restarts: 0,
                state,
                last_state: ContainerState::Unknown,
                status_index: Some(0),
            }],
            deletion_timestamp: None,
            conditions: Default::default(),
            annotations: Vec::new(),
        }
    }

    #[test]
    fn judges_readiness() {
        let running = ContainerState::Running { started_at: None };
        assert_eq!(
            readiness(&pod("Running", running.clone(), true), "img"),
            Readiness::Ready
        );
        assert!(matches!(
            readiness(&pod("Running", running, false), "img"),
            Readiness::Starting(_)
        ));
        let pull = ContainerState::Waiting {
            reason: Some("ErrImagePull".into()),
            message: Some("pull access denied".into()),
        };
        let Readiness::Failed(e) = readiness(&pod("Pending", pull, false), "img") else {
            panic!("image pull must fail fast")
        };
        assert!(matches!(&e, StartFailure::Stuck { reason, .. } if reason == "ErrImagePull"));
        let text = e.to_string();
        assert!(
            text.contains("pull access denied") && text.contains("--image"),
            "{text}"
        );
        let exec_format = ContainerState::Terminated {
            exit_code: 1,
            signal: None,
            reason: Some("Error".into()),
            message: Some("exec format error".into()),
            started_at: None,
            finished_at: None,
        };
        let Readiness::Failed(e) = readiness(&pod("Failed", exec_format, false), "img") else {
            panic!("a failed pod fails")
        };
        assert!(
            e.to_string().ends_with(
                "the helper exited with code 1: exec format error (the image is built for another CPU architecture)"
            ),
            "{e}"
        );
    }

    /// The runtime spawns the deploy on tokio: its future must be Send.
    #[allow(dead_code)]
    fn deploy_future_is_send(cluster: std::sync::Arc<dyn Cluster>, spec: HelperSpec) {
        fn send<T: Send>(_: T) {}
        send(async move {
            let mut progress = |_: String| {};
            let _ = deploy(&*cluster, &spec, DEFAULT_READY_TIMEOUT, &mut progress).await;
            let _ = open(&*cluster, &spec.pod_key()).await;
        });
    }

    #[test]
    fn preflight_summary_puts_problems_first() {
        let p = Preflight {
            warnings: vec!["w".into()],
            problems: vec![Problem::NodeMissing { node: "n".into() }],
            create_namespace: false,
        };
        assert_eq!(
            p.summary().as_deref(),
            Some("node n does not exist (see `kubectl get nodes`); w")
        );
        assert_eq!(Preflight::default().summary(), None);
    }
}
