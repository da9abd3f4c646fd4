//! The cluster seam: ktui's own domain types and the `Cluster` trait.
//!
//! Only `cluster/kube*` imports kube or k8s-openapi; everything else (UI, triage, record mode)
//! speaks the types below. `demo::DemoCluster` is the simulated cluster behind `--demo` and the
//! UI tests.

pub mod demo;
pub mod error;
pub mod kube;
pub mod merge_patch;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use jiff::Timestamp;

pub use crate::checkpoint::kubelet::{CheckpointAnswer, CheckpointFailure, CheckpointRequest};
pub use error::{ClusterError, ExecFailure, ExecProblem, Result};

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
    /// `started`: the startup probe passed (a native sidecar that started no longer holds up
    /// initialisation).
    pub started: bool,
    pub restarts: u32,
    pub state: ContainerState,
    pub last_state: ContainerState,
    /// Position of this container's entry in the pod's `initContainerStatuses` (init
    /// containers and sidecars) or `containerStatuses` (main containers); `None` when the pod
    /// reports no status for it. kubectl's STATUS reads the statuses in this order.
    pub status_index: Option<usize>,
}

/// The compact view of a pod kept in memory for every watched pod. Full objects are never kept:
/// details are fetched on demand (`Cluster::pod_detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodSummary {
    pub key: PodKey,
    pub uid: String,
    /// `metadata.resourceVersion` when this summary was read: the version a guarded write
    /// (removing a trigger annotation) applies to. Empty where the source has none.
    pub resource_version: String,
    pub phase: String,
    /// `status.reason` (e.g. `Evicted`).
    pub reason: Option<String>,
    /// `status.message`.
    pub message: Option<String>,
    pub node: Option<String>,
    pub created: Option<Timestamp>,
    /// The newest `status.conditions[].lastTransitionTime` of a Failed pod: when the node
    /// failed it (evictions often leave no container state with a time).
    pub failed_at: Option<Timestamp>,
    pub restart_policy: Option<String>,
    /// The pod's controller reference, if any.
    pub owner: Option<OwnerRef>,
    /// The resolved top-level workload.
    pub workload: Workload,
    /// Init containers (and native sidecars) first, in spec order, then main containers.
    pub containers: Vec<ContainerSummary>,
    /// `metadata.deletionTimestamp`: the pod is being deleted.
    pub deletion_timestamp: Option<Timestamp>,
    pub conditions: PodConditions,
    /// The pod's annotations whose key starts with [`KTUI_ANNOTATION_PREFIX`] (the controller's
    /// triggers), sorted by key; every other annotation is left unread, so 50k pods cost no
    /// more memory for them.
    pub annotations: Vec<(String, String)>,
}

/// The prefix of the annotations a [`PodSummary`] keeps.
pub const KTUI_ANNOTATION_PREFIX: &str = "ktui.dev/";

/// The pod conditions kubectl's STATUS column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PodConditions {
    /// `Initialized` is `True`.
    pub initialized: bool,
    /// `Ready` is `True`.
    pub ready: bool,
    /// `PodScheduled` has the reason `SchedulingGated`.
    pub scheduling_gated: bool,
}

impl PodSummary {
    pub fn container(&self, name: &str) -> Option<&ContainerSummary> {
        self.containers.iter().find(|c| c.name == name)
    }

    /// The value of a kept (`ktui.dev/`) annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
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

/// A pod watch that hears neither an event nor a bookmark for this long is stalled (and
/// relisted). kube-apiserver sends a bookmark about every minute on an idle watch.
pub const WATCH_STALL: std::time::Duration = std::time::Duration::from_secs(90);

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
    /// When the watch last heard from the server (an event or a bookmark): the data is as fresh
    /// as this. Sent at most once a second, and only by watches that can tell.
    Heard(Timestamp),
    Failed(ClusterError),
}

/// Identity of the cluster connection (for the status bar and error messages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContextInfo {
    pub context: String,
    pub server: String,
    pub namespace: String,
    pub server_version: Option<String>,
    /// The Kubernetes user as the kubeconfig names it (the context's user entry); `None`
    /// in-cluster and in the demo. `Cluster::self_user` asks the server, where it can.
    pub kube_user: Option<String>,
}

/// A process's stdout (read) and stdin (write) as one byte stream: a pod exec, a local child.
pub trait ByteStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin> ByteStream for T {}
pub type BoxByteStream = Box<dyn ByteStream>;

/// Selects every ktui helper pod (the `app.kubernetes.io/name` label of the helper manifest).
pub const HELPER_SELECTOR: &str = "app.kubernetes.io/name=ktui-helper";
/// The namespace label holding the Pod Security admission level that is enforced.
pub const POD_SECURITY_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";

/// One API object, by type and name (what `Cluster::apply` applied, what `Cluster::delete`
/// deletes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// `v1`, `apps/v1`, ...
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped objects (Namespace, Node).
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.into(),
        }
    }

    /// A core/v1 Pod.
    pub fn pod(key: &PodKey) -> Self {
        Self::new("v1", "Pod", Some(&key.namespace), key.name.clone())
    }

    /// A Namespace.
    pub fn namespace(name: &str) -> Self {
        Self::new("v1", "Namespace", None, name)
    }

    /// A Node.
    pub fn node(name: &str) -> Self {
        Self::new("v1", "Node", None, name)
    }

    /// The object's REST path (`/api/v1/namespaces/shop/pods/web-1`,
    /// `/apis/apps/v1/namespaces/shop/replicasets/web-6d4`): what an artifact's `source` names.
    /// The plural is the lower-case kind made plural by the English rules kube-apiserver's
    /// built-in kinds follow (`Ingress` → `ingresses`, `NetworkPolicy` → `networkpolicies`).
    pub fn api_path(&self) -> String {
        let kind = self.kind.to_ascii_lowercase();
        let plural = if kind.ends_with('s') || kind.ends_with('x') {
            format!("{kind}es")
        } else if let Some(stem) = kind.strip_suffix('y') {
            format!("{stem}ies")
        } else {
            format!("{kind}s")
        };
        let group = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        match &self.namespace {
            Some(ns) => format!("{group}/namespaces/{ns}/{plural}/{}", self.name),
            None => format!("{group}/{plural}/{}", self.name),
        }
    }

    /// The identity of an object to create: as [`ObjectRef::of`], except that an object naming
    /// only `metadata.generateName` (an Event) is named by that prefix until the server picks
    /// its name.
    pub fn of_new(obj: &serde_json::Value) -> Result<Self> {
        let generate_name = obj
            .pointer("/metadata/generateName")
            .and_then(serde_json::Value::as_str)
            .filter(|g| !g.is_empty());
        match (Self::of(obj), generate_name) {
            (Err(ClusterError::Unidentified { missing }), Some(prefix))
                if missing == "metadata.name" =>
            {
                let mut named = obj.clone();
                named["metadata"]["name"] = prefix.into();
                Self::of(&named)
            }
            (found, _) => found,
        }
    }

    /// The identity of a full object (`apiVersion`, `kind`, `metadata.name`,
    /// `metadata.namespace`).
    pub fn of(obj: &serde_json::Value) -> Result<Self> {
        let text = |v: Option<&serde_json::Value>| {
            v.and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let api_version = text(obj.get("apiVersion"));
        let kind = text(obj.get("kind"));
        let meta = obj.get("metadata");
        let name = text(meta.and_then(|m| m.get("name")));
        match (api_version, kind, name) {
            (Some(api_version), Some(kind), Some(name)) => Ok(Self {
                api_version,
                kind,
                namespace: text(meta.and_then(|m| m.get("namespace"))),
                name,
            }),
            (api_version, kind, name) => {
                let missing: Vec<&str> = [
                    (api_version.is_none(), "apiVersion"),
                    (kind.is_none(), "kind"),
                    (name.is_none(), "metadata.name"),
                ]
                .into_iter()
                .filter_map(|(absent, field)| absent.then_some(field))
                .collect();
                Err(ClusterError::Unidentified {
                    missing: missing.join(", "),
                })
            }
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// What the helper deploy needs to know about a node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeInfo {
    pub name: String,
    /// `kubernetes.io/arch` label, else `status.nodeInfo.architecture` (`amd64`, `arm64`).
    pub architecture: Option<String>,
    pub os: Option<String>,
    pub kernel_version: Option<String>,
    /// The `Ready` condition; `None` when the node reports none.
    pub ready: Option<bool>,
    /// Cordoned (`spec.unschedulable`).
    pub unschedulable: bool,
}

/// Name, labels and annotations of any object (a namespace, or what one holds).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectInfo {
    pub name: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A pod carrying the helper label ([`HELPER_SELECTOR`]), for `ktui helper list|remove`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelperPod {
    pub summary: PodSummary,
    pub labels: std::collections::BTreeMap<String, String>,
    pub annotations: std::collections::BTreeMap<String, String>,
    /// Being deleted (`metadata.deletionTimestamp` set).
    pub deleting: bool,
}

/// One permission to ask the API server about (`kubectl auth can-i VERB RESOURCE[/SUB] -n NS`):
/// what an actions-menu entry needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessCheck {
    pub verb: &'static str,
    /// API group: `""` for core.
    pub group: &'static str,
    pub resource: &'static str,
    pub subresource: Option<&'static str>,
    /// `None`: cluster-wide.
    pub namespace: Option<String>,
}

impl AccessCheck {
    pub fn new(verb: &'static str, resource: &'static str, namespace: Option<&str>) -> Self {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s)),
            None => (resource, None),
        };
        Self {
            verb,
            group: "",
            resource,
            subresource,
            namespace: namespace.map(str::to_string),
        }
    }
}

/// How a user reads it: `create pods/exec in ktui-system`.
impl std::fmt::Display for AccessCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if let Some(sub) = self.subresource {
            write!(f, "/{sub}")?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " in {ns}"),
            None => f.write_str(" (cluster-wide)"),
        }
    }
}

/// Every pod of `scope` once the watch's first full list has arrived; the watch is dropped
/// after it. Err says why there is no list (the watch failed, or it lost the API server and
/// is reconnecting: [`ClusterError::ListInterrupted`]). The one "list until synced" of the CLI
/// and the demo replay.
pub async fn first_list(cluster: &dyn Cluster, scope: Scope) -> Result<Vec<PodSummary>> {
    use futures::StreamExt as _;
    let mut events = cluster.watch_pods(scope);
    let mut pods = Vec::new();
    while let Some(ev) = events.next().await {
        match ev {
            PodEvent::Applied(p) => pods.push(*p),
            PodEvent::ResyncDone => return Ok(pods),
            PodEvent::Failed(e) => return Err(e),
            PodEvent::Connection(ConnectionState::Reconnecting { reason }) => {
                return Err(ClusterError::ListInterrupted { reason });
            }
            _ => {}
        }
    }
    Ok(pods)
}

/// The merge patch that removes annotation `key` from an object at `resource_version`, and
/// touches nothing else: `{"metadata":{"resourceVersion":RV,"annotations":{KEY:null}}}`.
pub fn remove_annotation_patch(key: &str, resource_version: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {
            "resourceVersion": resource_version,
            "annotations": { key: null },
        }
    })
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

    /// Server-side apply (field manager `ktui`, conflicts forced) of each object, in order;
    /// stops at the first failure. Objects are full JSON (`apiVersion`, `kind`, `metadata`).
    fn apply(&self, objects: Vec<serde_json::Value>) -> BoxFuture<'static, Result<Vec<ObjectRef>>>;

    /// Create one object (POST), never changing an existing one: `Ok(false)` when it already
    /// exists (409 AlreadyExists), and nothing was changed. The object is full JSON.
    fn create(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>>;

    /// Delete one object (background propagation). `Ok(false)`: it was already gone.
    fn delete(&self, object: ObjectRef) -> BoxFuture<'static, Result<bool>>;

    /// A JSON merge patch (RFC 7386, `application/merge-patch+json`) of one object. A patch
    /// naming `metadata.resourceVersion` applies only to that version:
    /// [`ClusterError::Conflict`] when the object changed since. ktui patches only to remove
    /// a trigger annotation ([`remove_annotation_patch`]).
    fn patch_merge(
        &self,
        object: ObjectRef,
        patch: serde_json::Value,
    ) -> BoxFuture<'static, Result<()>>;

    /// Replace one object whole (PUT) at the `metadata.resourceVersion` it carries: `Ok(false)`
    /// when someone else wrote it since (409 Conflict), and nothing was changed. Without a
    /// resourceVersion the replace is unconditional (ktui always sends the one it read: the
    /// Lease of `record::lease`).
    fn replace(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>>;

    /// Run `argv` in a container of a running pod (`kubectl exec -i` without a TTY): the
    /// stream reads the process's stdout and writes its stdin; shutting down the write side
    /// closes its stdin. Its stderr goes to the log (target `ktui::exec`). The read side ends
    /// with EOF when the process exits 0; with an error naming the exit code and the last
    /// stderr lines when it fails; with a `ConnectionAborted` error when the connection drops
    /// (exec again to reconnect).
    fn exec(
        &self,
        pod: PodKey,
        container: String,
        argv: Vec<String>,
    ) -> BoxFuture<'static, Result<BoxByteStream>>;

    /// Pods labelled as ktui helpers ([`HELPER_SELECTOR`]) in `scope`, sorted by namespace and
    /// name.
    fn list_helper_pods(&self, scope: Scope) -> BoxFuture<'static, Result<Vec<HelperPod>>>;

    /// One object's name, labels and annotations (a namespace's, a ServiceAccount's);
    /// `ClusterError::NotFound` when it does not exist.
    fn object_info(&self, object: ObjectRef) -> BoxFuture<'static, Result<ObjectInfo>>;

    /// The objects of one kind (`api_version`, `kind`, as in [`ObjectRef`]) in a namespace.
    fn list_objects(
        &self,
        api_version: &str,
        kind: &str,
        namespace: String,
    ) -> BoxFuture<'static, Result<Vec<ObjectInfo>>>;

    /// The Pod Security level the namespace enforces (`privileged`, `baseline`, `restricted`),
    /// `None` when unlabelled (the cluster default applies).
    fn pod_security_level(&self, namespace: String) -> BoxFuture<'static, Result<Option<String>>> {
        let info = self.object_info(ObjectRef::namespace(&namespace));
        Box::pin(async move { Ok(info.await?.labels.remove(POD_SECURITY_ENFORCE_LABEL)) })
    }

    /// One node's architecture, OS, kernel and readiness; `ClusterError::NotFound` when there
    /// is no such node.
    fn node_info(&self, node: String) -> BoxFuture<'static, Result<NodeInfo>>;

    /// Whether the user may do each of `checks` (SelfSubjectAccessReview), in order.
    fn access(&self, checks: Vec<AccessCheck>) -> BoxFuture<'static, Result<Vec<bool>>>;

    // Evidence collection (`ktui export POD`, `crate::collect`): whole objects as the API
    // returns them, the pod's events, and who and when the server says it is.

    /// One object as the API returns it (`GET`, every field, a Secret's `data` too: the
    /// collector HMACs the values and writes them only when told to);
    /// `ClusterError::NotFound` when it does not exist.
    fn get_json(&self, object: ObjectRef) -> BoxFuture<'static, Result<serde_json::Value>>;

    /// Every object of one kind as the API returns it (each with `apiVersion` and `kind`):
    /// in `namespace`, or in every namespace (and for cluster-scoped kinds) with `None`; only
    /// those matching `label_selector` (`a=b,c!=d`) when given. What a clone checks selectors
    /// against, and how existing clones are found.
    fn list_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>>>;

    /// Whether the API server serves `kind` in `api_version` (discovery): whether
    /// `snapshot.storage.k8s.io/v1` `VolumeSnapshot` exists, say, where CRDs may be absent.
    fn serves(&self, api_version: &str, kind: &str) -> BoxFuture<'static, Result<bool>>;

    /// The core/v1 Events about one pod as the API returns them (each with `apiVersion` and
    /// `kind`), oldest first.
    fn pod_events_json(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<serde_json::Value>>>;

    /// The API server's clock: the HTTP `Date` header of its answer to `GET /version`
    /// (`None`: it sent none, or there is no API server).
    fn server_date(&self) -> BoxFuture<'static, Result<Option<Timestamp>>>;

    /// The user the API server authenticates this connection as (SelfSubjectReview,
    /// authentication.k8s.io/v1); `Ok(None)` where the server does not serve it.
    fn self_user(&self) -> BoxFuture<'static, Result<Option<String>>>;

    /// Ask the kubelet of `req.node` to checkpoint a running container (KEP-2008, through the
    /// API server's node proxy: needs `create nodes/proxy`), waiting at most
    /// `req.deadline(grace)`: the archive's path on the node, or precisely why there is none
    /// (`checkpoint::kubelet::CheckpointError`).
    fn checkpoint(
        &self,
        req: CheckpointRequest,
    ) -> BoxFuture<'static, std::result::Result<CheckpointAnswer, CheckpointFailure>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_of_objects() {
        let pod = ObjectRef::pod(&PodKey::new("shop", "web-1"));
        assert_eq!(pod.api_path(), "/api/v1/namespaces/shop/pods/web-1");
        let rs = ObjectRef::new("apps/v1", "ReplicaSet", Some("shop"), "web-6d4");
        assert_eq!(
            rs.api_path(),
            "/apis/apps/v1/namespaces/shop/replicasets/web-6d4"
        );
        assert_eq!(ObjectRef::node("n1").api_path(), "/api/v1/nodes/n1");
        let np = ObjectRef::new("networking.k8s.io/v1", "NetworkPolicy", Some("a"), "x");
        assert_eq!(
            np.api_path(),
            "/apis/networking.k8s.io/v1/namespaces/a/networkpolicies/x"
        );
        let ing = ObjectRef::new("networking.k8s.io/v1", "Ingress", Some("a"), "x");
        assert!(ing.api_path().ends_with("/ingresses/x"));
    }
}
