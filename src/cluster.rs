//! The cluster seam: ktui's own domain types and the `Cluster` trait.
//!
//! Only `cluster/kube*` imports kube or k8s-openapi; everything else (UI, triage, record mode)
//! speaks the types below. `demo::DemoCluster` is the simulated cluster behind `--demo` and the
//! UI tests.

pub mod demo;
pub mod error;
pub mod kube;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use jiff::Timestamp;

pub use error::{ClusterError, Result};

/// Namespace + name of a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PodKey {
    pub namespace: String,
    pub name: String,
}

impl PodKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl std::fmt::Display for PodKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// A controller owner reference (kind/name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OwnerRef {
    pub kind: String,
    pub name: String,
}

/// The top-level workload a pod belongs to (Deployment, StatefulSet, DaemonSet, CronJob, Job,
/// or the Pod itself when it has no owner).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

impl std::fmt::Display for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.name)
    }
}

/// One state of a container (`state` or `lastState`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ContainerState {
    #[default]
    Unknown,
    Waiting {
        reason: Option<String>,
        message: Option<String>,
    },
    Running {
        started_at: Option<Timestamp>,
    },
    Terminated {
        exit_code: i32,
        signal: Option<i32>,
        reason: Option<String>,
        message: Option<String>,
        started_at: Option<Timestamp>,
        finished_at: Option<Timestamp>,
    },
}

impl ContainerState {
    pub fn waiting_reason(&self) -> Option<&str> {
        match self {
            ContainerState::Waiting { reason, .. } => reason.as_deref(),
            _ => None,
        }
    }

    /// Short human label: `Running`, `Waiting: CrashLoopBackOff`, `Terminated: Error (1)`.
    pub fn label(&self) -> String {
        match self {
            ContainerState::Unknown => "-".to_string(),
            ContainerState::Waiting { reason, .. } => {
                format!("Waiting: {}", reason.as_deref().unwrap_or("-"))
            }
            ContainerState::Running { .. } => "Running".to_string(),
            ContainerState::Terminated {
                exit_code, reason, ..
            } => format!(
                "Terminated: {} (exit {exit_code})",
                reason.as_deref().unwrap_or("-")
            ),
        }
    }
}

/// What kind of container slot this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRole {
    Main,
    Init,
    /// A native sidecar: an init container with `restartPolicy: Always`.
    Sidecar,
    Ephemeral,
}

impl ContainerRole {
    pub fn is_init(self) -> bool {
        matches!(self, ContainerRole::Init | ContainerRole::Sidecar)
    }
}

/// The compact view of one container status kept per pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSummary {
    pub name: String,
    pub role: ContainerRole,
    pub image: String,
    pub image_id: Option<String>,
    pub container_id: Option<String>,
    pub ready: bool,
    pub restarts: u32,
    pub state: ContainerState,
    pub last_state: ContainerState,
}

/// The compact view of a pod kept in memory for every watched pod. Full objects are never kept:
/// details are fetched on demand (`Cluster::pod_detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    pub key: PodKey,
    pub uid: String,
    pub phase: String,
    /// `status.reason` (e.g. `Evicted`).
    pub reason: Option<String>,
    /// `status.message`.
    pub message: Option<String>,
    pub node: Option<String>,
    pub created: Option<Timestamp>,
    pub restart_policy: Option<String>,
    /// The pod's controller reference, if any.
    pub owner: Option<OwnerRef>,
    /// The resolved top-level workload.
    pub workload: Workload,
    /// Init containers (and native sidecars) first, in spec order, then main containers.
    pub containers: Vec<ContainerSummary>,
}

impl PodSummary {
    pub fn container(&self, name: &str) -> Option<&ContainerSummary> {
        self.containers.iter().find(|c| c.name == name)
    }
}

/// How an environment variable gets its value (names only: Secret values are never fetched).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvSource {
    Literal,
    ConfigMapKey { name: String, key: String },
    SecretKey { name: String, key: String },
    Field(String),
    Resource(String),
    ConfigMapAll { name: String },
    SecretAll { name: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVarRef {
    /// Variable name, or the prefix for `envFrom`.
    pub name: String,
    pub source: EnvSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpecDetail {
    pub name: String,
    pub role: ContainerRole,
    pub image: String,
    pub command: Vec<String>,
    pub env: Vec<EnvVarRef>,
    pub mounts: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeSummary {
    pub name: String,
    /// e.g. `configMap app-config`, `secret db-creds`, `emptyDir`, `pvc data-0`.
    pub source: String,
}

/// Everything the detail pane shows beyond the summary; fetched on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodDetail {
    pub summary: PodSummary,
    pub containers: Vec<ContainerSpecDetail>,
    pub volumes: Vec<VolumeSummary>,
    /// Pod → ReplicaSet → Deployment, outermost last.
    pub owner_chain: Vec<OwnerRef>,
    pub service_account: Option<String>,
    pub pod_ip: Option<String>,
}

/// One Kubernetes event about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// `spec.containers{api}` and similar.
    pub field_path: Option<String>,
    pub source: Option<String>,
}

/// Which log stream to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRequest {
    pub pod: PodKey,
    pub container: String,
    pub previous: bool,
    pub tail_lines: Option<i64>,
}

/// Which pods to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
}

impl Scope {
    pub fn label(&self) -> &str {
        match self {
            Scope::All => "all",
            Scope::Namespace(ns) => ns,
        }
    }
}

/// Connection state of the pod watch, shown in the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Live,
    Reconnecting { reason: String },
}

/// What the pod watch reports. A relist is `Resync` followed by `Applied`s and `ResyncDone`
/// (pods not re-applied between the two are gone).
#[derive(Debug, Clone, PartialEq)]
pub enum PodEvent {
    Resync,
    Applied(Box<PodSummary>),
    ResyncDone,
    Deleted(PodKey),
    Connection(ConnectionState),
    Failed(ClusterError),
}

/// Identity of the cluster connection (for the status bar and error messages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextInfo {
    pub context: String,
    pub server: String,
    pub namespace: String,
    pub server_version: Option<String>,
}

/// The cluster as ktui sees it. Implemented over kube (`cluster::kube::KubeCluster`) and in memory
/// (`demo::DemoCluster`).
pub trait Cluster: Send + Sync {
    fn info(&self) -> ContextInfo;

    /// Pod summaries, live: an initial list then changes, resuming after disconnects.
    fn watch_pods(&self, scope: Scope) -> BoxStream<'static, PodEvent>;

    fn pod_detail(&self, key: PodKey) -> BoxFuture<'static, Result<PodDetail>>;

    /// Events about one pod, sorted by last time seen (oldest first).
    fn pod_events(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<EventRow>>>;

    /// Raw log bytes (not sanitised).
    fn logs(&self, req: LogRequest) -> BoxFuture<'static, Result<Vec<u8>>>;

    /// Follow the current log of a container: chunks as they arrive.
    fn follow_logs(&self, req: LogRequest) -> BoxStream<'static, Result<Vec<u8>>>;

    fn namespaces(&self) -> BoxFuture<'static, Result<Vec<String>>>;
}
