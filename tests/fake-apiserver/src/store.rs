//! The object store: current objects per type, a bounded watch history, pod
//! logs, and the fault-injection switches.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::ops::Bound;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::watch;

use crate::checkpoint::CheckpointKubelet;
use crate::events;
use crate::resources::{self, CORE_EVENT, EVENTS_V1, NAMESPACE, RESOURCES, ResId};
use crate::selector::{FieldSelector, LabelSelector};
use crate::util;

/// `(namespace, name)`; namespace is empty for cluster-scoped objects.
pub(crate) type ObjKey = (String, String);

/// Watch history kept by default (events over all types).
pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;
/// Default interval between BOOKMARK events on watches that allow them.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// An object as stored: its index fields plus its JSON pre-serialized
/// *without* `apiVersion`/`kind` (the list-item form kube-apiserver serves).
#[derive(Debug)]
pub(crate) struct StoredObject {
    pub res: ResId,
    pub rv: u64,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub creation_timestamp: String,
    pub labels: BTreeMap<String, String>,
    /// Value of every field-selector label the type supports.
    pub fields: Vec<(String, String)>,
    /// Pods only: `spec.containers[].name`.
    pub containers: Vec<String>,
    /// Pods only: init and ephemeral container names.
    pub other_containers: Vec<String>,
    pub body: Bytes,
}

impl StoredObject {
    /// Appends the standalone form (`{"apiVersion":..,"kind":..,<body>}`).
    pub fn write_full(&self, buf: &mut Vec<u8>) {
        let prefix = RESOURCES[self.res].type_prefix();
        buf.extend_from_slice(prefix.as_bytes());
        match self.body.get(1..) {
            Some(rest) if rest.len() > 1 => buf.extend_from_slice(rest),
            // An empty object body: drop the prefix's trailing comma.
            _ => {
                buf.pop();
                buf.push(b'}');
            }
        }
    }

    pub fn full_json(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.body.len() + 64);
        self.write_full(&mut buf);
        buf
    }

    pub fn matches(&self, labels: &LabelSelector, fields: &FieldSelector) -> bool {
        labels.matches(&self.labels) && fields.matches(&self.fields)
    }

    /// The object as JSON, with `apiVersion`/`kind`.
    pub fn to_value(&self) -> Option<Value> {
        serde_json::from_slice(&self.full_json()).ok()
    }

    /// A copy whose `metadata.resourceVersion` is `rv` (for DELETED events).
    pub(crate) fn with_resource_version(&self, rv: u64) -> StoredObject {
        let mut map: Map<String, Value> = serde_json::from_slice(&self.body).unwrap_or_default();
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        }
        let body = serde_json::to_vec(&map)
            .map(Bytes::from)
            .unwrap_or_else(|_| self.body.clone());
        StoredObject {
            res: self.res,
            rv,
            namespace: self.namespace.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            creation_timestamp: self.creation_timestamp.clone(),
            labels: self.labels.clone(),
            fields: self.fields.clone(),
            containers: self.containers.clone(),
            other_containers: self.other_containers.clone(),
            body,
        }
    }
}

/// One entry of the watch history.
pub(crate) struct HistoryEvent {
    pub rv: u64,
    pub res: ResId,
    pub kind: EventType,
    /// The object after the change (for DELETED: its last state, at `rv`).
    pub obj: Arc<StoredObject>,
    /// The object before the change, if any.
    pub prev: Option<Arc<StoredObject>>,
}

#[derive(Default)]
pub(crate) struct ContainerLogs {
    pub current: Vec<u8>,
    pub previous: Option<Vec<u8>>,
}

struct ForbidRule {
    verb: String,
    resource: String,
    namespace: Option<String>,
}

/// An admission controller (a policy webhook) refusing creates of one resource.
struct AdmissionDenial {
    resource: String,
    namespace: Option<String>,
    message: String,
}

/// Why [`Store::try_apply`] refused an object.
#[derive(Debug)]
pub enum ApplyError {
    NotAnObject,
    MissingTypeMeta,
    UnknownKind { api_version: String, kind: String },
    MissingName,
    Serialize(serde_json::Error),
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::NotAnObject => f.write_str("object is not a JSON object"),
            ApplyError::MissingTypeMeta => f.write_str("object lacks apiVersion or kind"),
            ApplyError::UnknownKind { api_version, kind } => {
                write!(f, "the fake API server does not serve {api_version} {kind}")
            }
            ApplyError::MissingName => f.write_str("object lacks metadata.name"),
            ApplyError::Serialize(e) => write!(f, "cannot serialize object: {e}"),
        }
    }
}

impl std::error::Error for ApplyError {}

/// One page of a list.
pub(crate) struct ListPage {
    pub items: Vec<Arc<StoredObject>>,
    /// Key of the last item returned, when more items follow.
    pub next: Option<ObjKey>,
    /// How many items follow (only computed for selector-less lists).
    pub remaining: Option<usize>,
}

/// What a list or watch is scoped to.
pub(crate) struct Scope<'a> {
    pub res: ResId,
    pub namespace: Option<&'a str>,
    pub labels: &'a LabelSelector,
    pub fields: &'a FieldSelector,
}

impl Scope<'_> {
    pub fn matches(&self, obj: &StoredObject) -> bool {
        obj.res == self.res
            && self.namespace.is_none_or(|ns| obj.namespace == ns)
            && obj.matches(self.labels, self.fields)
    }
}

pub(crate) struct Inner {
    /// The global resource version: the rv of the last change.
    pub rv: u64,
    pub objects: Vec<BTreeMap<ObjKey, Arc<StoredObject>>>,
    pub history: VecDeque<HistoryEvent>,
    history_limit: usize,
    /// Every event with `rv > history_start` is in `history`.
    pub history_start: u64,
    /// Continue tokens issued before this rv are rejected with 410.
    pub expired_before: u64,
    pub logs: HashMap<(String, String, String), ContainerLogs>,
    forbidden: Vec<ForbidRule>,
    pub latency: Duration,
    pub unauthorized: bool,
    pub bookmark_interval: Duration,
    pub watch_drop_gen: u64,
    pub log_drop_gen: u64,
    pub expire_gen: u64,
    uid_seq: u64,
    /// What happens to pods created through the API.
    pub kubelet: Kubelet,
    /// `argv[0]` of an exec → the local program run instead.
    pub exec_programs: HashMap<String, PathBuf>,
    pub exec_drop_gen: u64,
    /// Exec sessions whose process has not been reaped yet.
    pub exec_active: usize,
    pub execs_started: usize,
    /// Watches stay open but send nothing (no events, no bookmarks).
    pub watches_frozen: bool,
    /// `GET path` → a fixed answer instead of the real one.
    pub canned: HashMap<String, Canned>,
    /// The user a SelfSubjectReview reports; `None`: the API is not served (404), as before
    /// Kubernetes 1.28.
    pub self_subject: Option<String>,
    /// Node → how its kubelet answers checkpoints (unlisted nodes: as containerd 1.7's).
    pub checkpoint_kubelets: HashMap<String, CheckpointKubelet>,
    /// (node, archive path) of every checkpoint the kubelets wrote.
    pub checkpoints_written: Vec<(String, String)>,
    /// Optional APIs served now (VolumeSnapshots).
    pub served: resources::Served,
    admission_denials: Vec<AdmissionDenial>,
    /// A container a careless mutating webhook adds to every pod created through the API.
    pub(crate) pod_injection: Option<Value>,
}

/// A fixed answer to `GET path` (whatever the query), for tests of hostile or broken servers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canned {
    /// This status, content type and body.
    Body {
        status: u16,
        content_type: &'static str,
        body: Bytes,
    },
    /// `200 application/json` whose body starts like a list and never ends: filler is sent
    /// until the client hangs up.
    Endless,
}

/// How the simulated kubelet treats pods created through the API (pods put in the store
/// directly are left as given). Pods whose `spec.nodeName` names no Node stay Pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kubelet {
    /// Running and Ready after this delay (default: immediately).
    Run { after: Duration },
    /// Pending with `ErrImagePull` (the image is not on the node and cannot be pulled).
    ImagePullFails,
    /// Left Pending with no status.
    Off,
}

impl Default for Kubelet {
    fn default() -> Self {
        Kubelet::Run {
            after: Duration::ZERO,
        }
    }
}

fn lookup<'v>(obj: &'v Map<String, Value>, path: &str) -> Option<&'v Value> {
    let mut parts = path.split('.');
    let mut cur = obj.get(parts.next()?)?;
    for part in parts {
        cur = cur.get(part)?;
    }
    Some(cur)
}

fn field_string(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn container_names(obj: &Map<String, Value>, path: &str) -> Vec<String> {
    lookup(obj, path)
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Builds the stored form of a normalized object (metadata complete).
fn build(res: ResId, rv: u64, mut obj: Map<String, Value>) -> Result<StoredObject, ApplyError> {
    let rt = &RESOURCES[res];
    let meta = obj.get("metadata").and_then(Value::as_object);
    let meta_str = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let name = meta_str("name");
    let namespace = meta_str("namespace");
    let uid = meta_str("uid");
    let creation_timestamp = meta_str("creationTimestamp");
    let labels: BTreeMap<String, String> = meta
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| {
            l.iter()
                .map(|(k, v)| (k.clone(), field_string(Some(v))))
                .collect()
        })
        .unwrap_or_default();
    let mut fields = Vec::with_capacity(rt.fields.len() + 2);
    fields.push(("metadata.name".to_string(), name.clone()));
    fields.push(("metadata.namespace".to_string(), namespace.clone()));
    for (label, path) in rt.fields {
        fields.push(((*label).to_string(), field_string(lookup(&obj, path))));
    }
    let (containers, other_containers) = if res == resources::POD {
        let mut other = container_names(&obj, "spec.initContainers");
        other.extend(container_names(&obj, "spec.ephemeralContainers"));
        (container_names(&obj, "spec.containers"), other)
    } else {
        (Vec::new(), Vec::new())
    };
    obj.remove("apiVersion");
    obj.remove("kind");
    let body = serde_json::to_vec(&obj).map_err(ApplyError::Serialize)?;
    Ok(StoredObject {
        res,
        rv,
        namespace,
        name,
        uid,
        creation_timestamp,
        labels,
        fields,
        containers,
        other_containers,
        body: Bytes::from(body),
    })
}

impl Inner {
    fn new() -> Inner {
        Inner {
            rv: 0,
            objects: RESOURCES.iter().map(|_| BTreeMap::new()).collect(),
            history: VecDeque::new(),
            history_limit: DEFAULT_HISTORY_LIMIT,
            history_start: 0,
            expired_before: 0,
            logs: HashMap::new(),
            forbidden: Vec::new(),
            latency: Duration::ZERO,
            unauthorized: false,
            bookmark_interval: DEFAULT_BOOKMARK_INTERVAL,
            watch_drop_gen: 0,
            log_drop_gen: 0,
            expire_gen: 0,
            uid_seq: 0,
            kubelet: Kubelet::default(),
            exec_programs: HashMap::new(),
            exec_drop_gen: 0,
            exec_active: 0,
            execs_started: 0,
            watches_frozen: false,
            canned: HashMap::new(),
            self_subject: None,
            checkpoint_kubelets: HashMap::new(),
            checkpoints_written: Vec::new(),
            served: resources::Served::default(),
            admission_denials: Vec::new(),
            pod_injection: None,
        }
    }

    fn push_history(&mut self, ev: HistoryEvent) {
        self.history.push_back(ev);
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.history_start = old.rv;
            }
        }
    }

    /// History events with `rv > cursor`, oldest first.
    pub fn events_after(&self, cursor: u64) -> impl Iterator<Item = &HistoryEvent> {
        let idx = self.history.partition_point(|e| e.rv <= cursor);
        self.history.range(idx..)
    }

    pub fn get(&self, res: ResId, namespace: &str, name: &str) -> Option<&Arc<StoredObject>> {
        self.objects[res].get(&(namespace.to_string(), name.to_string()))
    }

    /// One page of `scope`, starting after `start_after`; `limit` 0 means all.
    pub fn list(&self, scope: &Scope<'_>, limit: usize, start_after: Option<&ObjKey>) -> ListPage {
        let ns_key;
        let lower = match (start_after, scope.namespace) {
            (Some(key), _) => Bound::Excluded(key),
            (None, Some(ns)) => {
                ns_key = (ns.to_string(), String::new());
                Bound::Included(&ns_key)
            }
            (None, None) => Bound::Unbounded,
        };
        let mut iter = self.objects[scope.res]
            .range::<ObjKey, _>((lower, Bound::Unbounded))
            .take_while(|(key, _)| scope.namespace.is_none_or(|ns| key.0 == ns))
            .map(|(_, obj)| obj)
            .filter(|obj| obj.matches(scope.labels, scope.fields));
        let mut items = Vec::new();
        for obj in iter.by_ref() {
            items.push(Arc::clone(obj));
            if limit != 0 && items.len() >= limit {
                break;
            }
        }
        let full_page = limit != 0 && items.len() >= limit;
        let (next, remaining) = if !full_page {
            (None, None)
        } else if scope.labels.is_empty() && scope.fields.is_empty() {
            let rest = iter.count();
            let next =
                (rest > 0).then(|| items.last().map(|o| (o.namespace.clone(), o.name.clone())));
            (next.flatten(), (rest > 0).then_some(rest))
        } else {
            let more = iter.next().is_some();
            let next = more.then(|| items.last().map(|o| (o.namespace.clone(), o.name.clone())));
            (next.flatten(), None)
        };
        ListPage {
            items,
            next,
            remaining,
        }
    }

    /// True when a `forbid` rule denies the request.
    pub fn is_forbidden(&self, verb: &str, resource: &str, namespace: Option<&str>) -> bool {
        self.forbidden.iter().any(|r| {
            (r.verb == verb || r.verb == "*")
                && (r.resource == resource || r.resource == "*")
                && match r.namespace.as_deref() {
                    None => true,
                    // `forbid_at_cluster_scope`
                    Some("") => namespace.is_none(),
                    Some(ns) => namespace == Some(ns),
                }
        })
    }

    /// The message of an admission denial for creating `resource` (a plural) in `namespace`.
    pub fn admission_denial(&self, resource: &str, namespace: Option<&str>) -> Option<&str> {
        self.admission_denials
            .iter()
            .find(|d| {
                d.resource == resource
                    && d.namespace
                        .as_deref()
                        .is_none_or(|ns| namespace == Some(ns))
            })
            .map(|d| d.message.as_str())
    }

    /// Fills in namespace/uid/creationTimestamp/resourceVersion; returns the key.
    fn normalize(
        &mut self,
        res: ResId,
        obj: &mut Map<String, Value>,
        rv: u64,
    ) -> Result<ObjKey, ApplyError> {
        let rt = &RESOURCES[res];
        let meta = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
            .ok_or(ApplyError::NotAnObject)?;
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or(ApplyError::MissingName)?
            .to_string();
        let namespace = if rt.namespaced {
            let ns = meta
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or("default")
                .to_string();
            meta.insert("namespace".into(), Value::from(ns.clone()));
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        let key = (namespace, name);
        let existing = self.objects[res].get(&key);
        if meta
            .get("uid")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let uid = match existing {
                Some(e) if !e.uid.is_empty() => e.uid.clone(),
                _ => {
                    self.uid_seq += 1;
                    util::uuid_from(util::hash64(&[
                        rt.kind.as_bytes(),
                        key.0.as_bytes(),
                        key.1.as_bytes(),
                        &self.uid_seq.to_le_bytes(),
                    ]))
                }
            };
            meta.insert("uid".into(), Value::from(uid));
        }
        if meta
            .get("creationTimestamp")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let ts = match existing {
                Some(e) if !e.creation_timestamp.is_empty() => e.creation_timestamp.clone(),
                _ => util::now_rfc3339(),
            };
            meta.insert("creationTimestamp".into(), Value::from(ts));
        }
        meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
        Ok(key)
    }

    fn insert(&mut self, stored: StoredObject) {
        let (res, rv) = (stored.res, stored.rv);
        let key = (stored.namespace.clone(), stored.name.clone());
        let obj = Arc::new(stored);
        let prev = self.objects[res].insert(key, Arc::clone(&obj));
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.push_history(HistoryEvent {
            rv,
            res,
            kind,
            obj,
            prev,
        });
    }

    fn apply(&mut self, obj: Value) -> Result<u64, ApplyError> {
        let Value::Object(mut obj) = obj else {
            return Err(ApplyError::NotAnObject);
        };
        let api_version = obj.get("apiVersion").and_then(Value::as_str);
        let kind = obj.get("kind").and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (api_version, kind) else {
            return Err(ApplyError::MissingTypeMeta);
        };
        let res = resources::by_api_version_kind(api_version, kind).ok_or_else(|| {
            ApplyError::UnknownKind {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
            }
        })?;
        let rv = self.rv + 1;
        self.normalize(res, &mut obj, rv)?;
        let mirror = match res {
            CORE_EVENT => Some((EVENTS_V1, events::core_to_v1(&Value::Object(obj.clone())))),
            EVENTS_V1 => Some((CORE_EVENT, events::v1_to_core(&Value::Object(obj.clone())))),
            _ => None,
        };
        let stored = build(res, rv, obj)?;
        let mirror = match mirror {
            Some((mres, Value::Object(mobj))) => Some(build(mres, rv, mobj)?),
            _ => None,
        };
        self.rv = rv;
        self.insert(stored);
        if let Some(m) = mirror {
            self.insert(m);
        }
        Ok(rv)
    }

    fn delete(&mut self, res: ResId, namespace: &str, name: &str) -> bool {
        let ns = if RESOURCES[res].namespaced {
            namespace
        } else {
            ""
        };
        let key = (ns.to_string(), name.to_string());
        let mirror = match res {
            CORE_EVENT => Some(EVENTS_V1),
            EVENTS_V1 => Some(CORE_EVENT),
            _ => None,
        };
        let Some(prev) = self.objects[res].remove(&key) else {
            return false;
        };
        self.rv += 1;
        let rv = self.rv;
        let removed = std::iter::once((res, prev))
            .chain(mirror.and_then(|m| self.objects[m].remove(&key).map(|p| (m, p))));
        let events: Vec<HistoryEvent> = removed
            .map(|(res, prev)| HistoryEvent {
                rv,
                res,
                kind: EventType::Deleted,
                obj: Arc::new(prev.with_resource_version(rv)),
                prev: Some(prev),
            })
            .collect();
        for ev in events {
            self.push_history(ev);
        }
        true
    }
}

/// The cluster state served by a [`crate::FakeApiServer`]. Cheap to clone;
/// all clones share the same state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    /// Bumped after every change; watch and log-follow streams wait on it.
    tick: Arc<watch::Sender<u64>>,
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

impl Store {
    pub fn new() -> Store {
        Store {
            inner: Arc::new(Mutex::new(Inner::new())),
            tick: Arc::new(watch::Sender::new(0)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the data usable for a fake.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.tick.subscribe()
    }

    fn notify(&self) {
        self.tick.send_modify(|t| *t = t.wrapping_add(1));
    }

    fn mutate<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let out = f(&mut self.lock());
        self.notify();
        out
    }

    /// Adds an `Active` namespace (with the `kubernetes.io/metadata.name` label).
    pub fn add_namespace(&self, name: &str) {
        self.apply(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }));
    }

    /// Adds an `Active` namespace with extra labels (e.g. a Pod Security level).
    pub fn add_namespace_with_labels(&self, name: &str, labels: &[(&str, &str)]) {
        let mut map = Map::new();
        map.insert(
            "kubernetes.io/metadata.name".into(),
            Value::from(name.to_string()),
        );
        for (k, v) in labels {
            map.insert((*k).to_string(), Value::from((*v).to_string()));
        }
        self.apply(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": map},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        }));
    }

    /// Adds a Ready Linux node of architecture `arch` (`amd64`, `arm64`): the
    /// `kubernetes.io/arch` label and `status.nodeInfo.architecture`.
    pub fn add_node(&self, name: &str, arch: &str) {
        self.apply(serde_json::json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/arch": arch,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/hostname": name,
                },
            },
            "spec": {},
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                "nodeInfo": {
                    "architecture": arch,
                    "operatingSystem": "linux",
                    "kernelVersion": "6.1.0-fake",
                    "osImage": "Fake Linux",
                    "containerRuntimeVersion": "containerd://1.7.0",
                    "kubeletVersion": "v1.33.0-fake",
                    "kubeProxyVersion": "",
                    "bootID": "", "machineID": "", "systemUUID": "",
                },
            },
        }));
    }

    /// How pods created through the API start (see [`Kubelet`]).
    pub fn set_kubelet(&self, kubelet: Kubelet) {
        self.mutate(|inner| inner.kubelet = kubelet);
    }

    /// How the kubelet of `node` answers checkpoint requests (see [`CheckpointKubelet`]).
    pub fn set_checkpoint_kubelet(&self, node: &str, kubelet: CheckpointKubelet) {
        self.mutate(|inner| {
            inner.checkpoint_kubelets.insert(node.to_string(), kubelet);
        });
    }

    /// (node, archive path) of every checkpoint written so far.
    pub fn checkpoints_written(&self) -> Vec<(String, String)> {
        self.lock().checkpoints_written.clone()
    }

    /// Pod exec of `argv0` (e.g. `/ktui-helper`) runs the local `program` with the remaining
    /// arguments. Unmapped commands run as given (found through `PATH`).
    pub fn map_exec(&self, argv0: &str, program: impl Into<PathBuf>) {
        let program = program.into();
        self.mutate(|inner| {
            inner.exec_programs.insert(argv0.to_string(), program);
        });
    }

    /// Cuts every open exec session as a network drop would: the connection is reset (RST),
    /// the process's stdin closed, and the process killed if it has not exited within 2 s.
    pub fn drop_execs(&self) {
        self.mutate(|inner| inner.exec_drop_gen += 1);
    }

    /// Exec sessions whose process is still running (or not yet reaped).
    pub fn active_execs(&self) -> usize {
        self.lock().exec_active
    }

    /// Exec sessions started so far.
    pub fn execs_started(&self) -> usize {
        self.lock().execs_started
    }

    pub(crate) fn exec_started(&self) {
        self.mutate(|inner| {
            inner.exec_active += 1;
            inner.execs_started += 1;
        });
    }

    pub(crate) fn exec_ended(&self) {
        self.mutate(|inner| inner.exec_active = inner.exec_active.saturating_sub(1));
    }

    /// Deletes a namespace and every namespaced object in it.
    pub(crate) fn delete_namespace(&self, name: &str) -> bool {
        self.mutate(|inner| {
            let doomed: Vec<(ResId, String)> = RESOURCES
                .iter()
                .enumerate()
                .filter(|(_, r)| r.namespaced)
                .flat_map(|(res, _)| {
                    inner.objects[res]
                        .keys()
                        .filter(|(ns, _)| ns == name)
                        .map(move |(_, n)| (res, n.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            for (res, n) in doomed {
                inner.delete(res, name, &n);
            }
            inner.delete(NAMESPACE, "", name)
        })
    }

    pub(crate) fn delete_res(&self, res: ResId, namespace: &str, name: &str) -> bool {
        self.mutate(|inner| inner.delete(res, namespace, name))
    }

    pub(crate) fn get_res(&self, res: ResId, namespace: &str, name: &str) -> Option<Value> {
        let ns = if RESOURCES[res].namespaced {
            namespace
        } else {
            ""
        };
        self.lock().get(res, ns, name).and_then(|o| o.to_value())
    }

    /// Inserts or replaces an object (full JSON with apiVersion/kind/metadata).
    /// Assigns a fresh `metadata.resourceVersion` and emits ADDED or MODIFIED.
    /// Missing `metadata.namespace` (namespaced kinds) defaults to `default`;
    /// missing `uid`/`creationTimestamp` are kept from the replaced object or
    /// generated. A core/v1 Event is also served as events.k8s.io/v1 and vice
    /// versa. Objects that cannot be stored are reported on stderr; use
    /// [`Store::try_apply`] to get the error.
    pub fn apply(&self, obj: Value) {
        if let Err(e) = self.try_apply(obj) {
            eprintln!("ktui-fake-apiserver: Store::apply ignored an object: {e}");
        }
    }

    /// Like [`Store::apply`], returning the assigned resource version.
    pub fn try_apply(&self, obj: Value) -> Result<u64, ApplyError> {
        self.mutate(|inner| inner.apply(obj))
    }

    /// Deletes an object and emits DELETED. `kind` is a kind or plural
    /// (`Pod`, `pods`, `deployments.apps`, `Event.events.k8s.io`); the
    /// namespace is ignored for cluster-scoped kinds. Returns whether the
    /// object existed.
    pub fn delete(&self, kind: &str, namespace: &str, name: &str) -> bool {
        let Some(res) = resources::by_name(kind) else {
            eprintln!("ktui-fake-apiserver: Store::delete: unknown kind {kind:?}");
            return false;
        };
        self.mutate(|inner| inner.delete(res, namespace, name))
    }

    /// The stored object (with apiVersion/kind), if any.
    pub fn get(&self, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let res = resources::by_name(kind)?;
        let ns = if RESOURCES[res].namespaced {
            namespace
        } else {
            ""
        };
        self.lock().get(res, ns, name).and_then(|o| o.to_value())
    }

    /// Every stored object of `kind` in one compact `List`, each with apiVersion/kind (what
    /// `kubectl get KIND -A -o json` returns, unindented): input for file-reading benchmarks.
    pub fn list_json(&self, kind: &str) -> Vec<u8> {
        let mut buf =
            br#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":["#
                .to_vec();
        if let Some(res) = resources::by_name(kind) {
            for (i, obj) in self.lock().objects[res].values().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                obj.write_full(&mut buf);
            }
        }
        buf.extend_from_slice(b"]}");
        buf
    }

    /// How many objects of `kind` are stored.
    pub fn count(&self, kind: &str) -> usize {
        resources::by_name(kind).map_or(0, |res| self.lock().objects[res].len())
    }

    /// The current global resource version.
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Sets a container's current (or, with `previous`, previous) logs.
    pub fn set_logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        text: &[u8],
    ) {
        self.mutate(|inner| {
            let entry = inner
                .logs
                .entry((
                    namespace.to_string(),
                    pod.to_string(),
                    container.to_string(),
                ))
                .or_default();
            if previous {
                entry.previous = Some(text.to_vec());
            } else {
                entry.current = text.to_vec();
            }
        });
    }

    /// Appends to a container's current logs, waking `follow=true` streams.
    pub fn append_logs(&self, namespace: &str, pod: &str, container: &str, text: &[u8]) {
        self.mutate(|inner| {
            inner
                .logs
                .entry((
                    namespace.to_string(),
                    pod.to_string(),
                    container.to_string(),
                ))
                .or_default()
                .current
                .extend_from_slice(text);
        });
    }

    /// Denies `verb` (`list`, `watch`, `get`, or `*`) on `resource` (`pods`,
    /// `pods/log`, `deployments`, ..., or `*`) in `namespace` (`None`: every
    /// namespace and the cluster scope) with kube-apiserver's 403 Status.
    pub fn forbid(&self, verb: &str, resource: &str, namespace: Option<&str>) {
        self.mutate(|inner| {
            inner.forbidden.push(ForbidRule {
                verb: verb.to_string(),
                resource: resource.to_string(),
                namespace: namespace.map(str::to_string),
            });
        });
    }

    /// Denies `verb` on `resource` at the cluster scope only (e.g. listing pods across all
    /// namespaces), still allowing it within each namespace.
    pub fn forbid_at_cluster_scope(&self, verb: &str, resource: &str) {
        self.mutate(|inner| {
            inner.forbidden.push(ForbidRule {
                verb: verb.to_string(),
                resource: resource.to_string(),
                namespace: Some(String::new()),
            });
        });
    }

    /// Refuses every create of `resource` (a plural: `pods`) in `namespace` (`None`: every
    /// namespace) at admission, as a policy webhook does: 403 `pods "x" is forbidden:
    /// <message>`, after RBAC and before anything is stored.
    pub fn deny_admission(&self, resource: &str, namespace: Option<&str>, message: &str) {
        self.mutate(|inner| {
            inner.admission_denials.push(AdmissionDenial {
                resource: resource.to_string(),
                namespace: namespace.map(str::to_string),
                message: message.to_string(),
            });
        });
    }

    /// Act as a mutating webhook that ignores every opt-out: append `container` to each pod
    /// created through the API (after validation, as mutating admission would have run
    /// before it).
    pub fn inject_into_pods(&self, container: Value) {
        self.mutate(|inner| inner.pod_injection = Some(container));
    }

    /// Serve the `snapshot.storage.k8s.io/v1` API (VolumeSnapshot, VolumeSnapshotClass: the
    /// external-snapshotter CRDs) or not: without it (the default) discovery does not list the
    /// group and its paths answer 404, as on a cluster without the CRDs.
    pub fn serve_snapshots(&self, on: bool) {
        self.mutate(|inner| inner.served.snapshots = on);
    }

    /// Removes every `forbid` rule.
    pub fn clear_forbidden(&self) {
        self.mutate(|inner| inner.forbidden.clear());
    }

    /// Compacts the watch history: the global resource version is bumped and
    /// every older version becomes "too old". Open watches receive an ERROR
    /// event with a 410 Expired Status and are closed; new watches from an
    /// older version (and continue tokens issued earlier) get 410 too, so
    /// clients must relist. A relist returns the new version, which can be
    /// watched normally.
    pub fn expire_resource_versions(&self) {
        self.mutate(|inner| {
            inner.rv += 1;
            inner.history.clear();
            inner.history_start = inner.rv;
            inner.expired_before = inner.rv;
            inner.expire_gen += 1;
        });
    }

    /// Cuts every open watch stream now, as a network drop would: the TCP
    /// connection under each is reset (RST). kube's watcher reports a
    /// "watch stream failed" error, then resumes from its last resource
    /// version (no relist).
    pub fn drop_watches(&self) {
        self.mutate(|inner| inner.watch_drop_gen += 1);
    }

    /// Ends every open `follow=true` log stream (cleanly, as when the
    /// container exits).
    pub fn drop_log_streams(&self) {
        self.mutate(|inner| inner.log_drop_gen += 1);
    }

    /// While `on`, open and new watches stay connected but send nothing: no events, no
    /// bookmarks (a watch the server silently stopped feeding). Lists keep working.
    pub fn freeze_watches(&self, on: bool) {
        self.mutate(|inner| inner.watches_frozen = on);
    }

    /// Answer every `GET path` (any query) with `canned` instead of the real response.
    pub fn respond_with(&self, path: &str, canned: Canned) {
        self.mutate(|inner| inner.canned.insert(path.to_string(), canned));
    }

    /// Back to real answers for every path given to [`Store::respond_with`].
    pub fn clear_canned(&self) {
        self.mutate(|inner| inner.canned.clear());
    }

    /// Added latency before every response.
    pub fn set_latency(&self, d: Duration) {
        self.mutate(|inner| inner.latency = d);
    }

    /// Serve SelfSubjectReview (authentication.k8s.io/v1), reporting `user`; `None` stops
    /// serving it (404).
    pub fn set_self_subject(&self, user: Option<&str>) {
        self.mutate(|inner| inner.self_subject = user.map(str::to_string));
    }

    /// Rejects every request with 401 Unauthorized while `on`.
    pub fn set_unauthorized(&self, on: bool) {
        self.mutate(|inner| inner.unauthorized = on);
    }

    /// Interval between BOOKMARK events (default 1 s). Applies to watches
    /// started afterwards.
    pub fn set_bookmark_interval(&self, d: Duration) {
        self.mutate(|inner| inner.bookmark_interval = d.max(Duration::from_millis(1)));
    }

    /// How many watch events are kept for resuming watches (default
    /// [`DEFAULT_HISTORY_LIMIT`]); older resource versions get 410.
    pub fn set_history_limit(&self, limit: usize) {
        self.mutate(|inner| {
            inner.history_limit = limit.max(1);
            while inner.history.len() > inner.history_limit {
                if let Some(old) = inner.history.pop_front() {
                    inner.history_start = old.rv;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "x"}},
               "spec": {"nodeName": "n1", "containers": [{"name": "c"}]}})
    }

    #[test]
    fn apply_assigns_versions_and_defaults() {
        let s = Store::new();
        assert_eq!(s.try_apply(pod("a")).unwrap(), 1);
        assert_eq!(s.try_apply(pod("a")).unwrap(), 2);
        let got = s.get("Pod", "default", "a").unwrap();
        assert_eq!(got["metadata"]["resourceVersion"], "2");
        assert_eq!(got["metadata"]["namespace"], "default");
        assert_eq!(got["kind"], "Pod");
        let inner = s.lock();
        let events: Vec<_> = inner.events_after(0).map(|e| e.kind).collect();
        assert_eq!(events, vec![EventType::Added, EventType::Modified]);
        let obj = inner.get(resources::POD, "default", "a").unwrap();
        assert_eq!(obj.containers, vec!["c".to_string()]);
        assert!(
            obj.fields
                .contains(&("spec.nodeName".to_string(), "n1".to_string()))
        );
        assert!(
            !std::str::from_utf8(&obj.body)
                .unwrap()
                .contains("apiVersion")
        );
    }

    #[test]
    fn delete_emits_deleted_with_new_version() {
        let s = Store::new();
        s.apply(pod("a"));
        assert!(s.delete("pods", "default", "a"));
        assert!(!s.delete("Pod", "default", "a"));
        let inner = s.lock();
        let last = inner.events_after(1).next().unwrap();
        assert_eq!(last.kind, EventType::Deleted);
        assert_eq!(last.rv, 2);
        assert!(
            std::str::from_utf8(&last.obj.body)
                .unwrap()
                .contains("\"resourceVersion\":\"2\"")
        );
    }

    #[test]
    fn events_are_mirrored() {
        let s = Store::new();
        s.apply(
            json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e", "namespace": "n"},
                        "involvedObject": {"name": "p"}, "message": "m"}),
        );
        let v1 = s.get("Event.events.k8s.io", "n", "e").unwrap();
        assert_eq!(v1["note"], "m");
        assert_eq!(v1["metadata"]["resourceVersion"], "1");
        assert!(s.delete("Event", "n", "e"));
        assert_eq!(s.count("Event.events.k8s.io"), 0);
    }

    #[test]
    fn history_is_bounded() {
        let s = Store::new();
        s.set_history_limit(3);
        for i in 0..5 {
            s.apply(pod(&format!("p{i}")));
        }
        let inner = s.lock();
        assert_eq!(inner.history.len(), 3);
        assert_eq!(inner.history_start, 2);
    }

    #[test]
    fn rejects_unknown_kinds() {
        let s = Store::new();
        assert!(matches!(
            s.try_apply(json!({"apiVersion": "v1", "kind": "Bogus", "metadata": {"name": "x"}})),
            Err(ApplyError::UnknownKind { .. })
        ));
        assert!(matches!(
            s.try_apply(json!({"apiVersion": "v1", "kind": "Pod", "metadata": {}})),
            Err(ApplyError::MissingName)
        ));
    }
}
