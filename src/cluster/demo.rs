//! The simulated cluster behind `--demo` and the UI tests. Everything it serves is synthetic and
//! the console labels it DEMO.
//!
//! Deterministic for a given `epoch`: tests pass a fixed time; `--demo` passes now and turns on
//! `live`, which makes the crash-looping pods restart every few seconds and running containers log.

mod data;
mod json;

pub use data::CHECKOUT_DB_URL;

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt as _, StreamExt as _};
use jiff::Timestamp;

use crate::cluster::{
    AccessCheck, BoxByteStream, CheckpointAnswer, CheckpointFailure, CheckpointRequest, Cluster,
    ClusterError, ConnectionState, ContainerState, ContextInfo, EventRow, HelperPod, LogRequest,
    NodeInfo, ObjectInfo, ObjectRef, PodDetail, PodEvent, PodKey, PodSummary, Result, Scope,
};

/// How often a live demo advances its crash loops.
const LIVE_RESTART_EVERY: Duration = Duration::from_secs(7);

/// One simulated pod with everything the panes ask for.
#[derive(Debug, Clone)]
pub struct DemoPod {
    pub detail: PodDetail,
    pub events: Vec<EventRow>,
    /// (container, previous?) → log text.
    pub logs: Vec<(String, bool, Vec<u8>)>,
}

#[derive(Clone)]
pub struct DemoCluster {
    epoch: Timestamp,
    live: bool,
    pods: Arc<Vec<DemoPod>>,
    /// What `ktui clone` created in the demo (kept in memory, gone when ktui exits), and the
    /// controller's Leases and Events.
    created: Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    /// The resourceVersion of the last write to `created`.
    last_rv: Arc<std::sync::atomic::AtomicU64>,
}

/// The kinds a forensic clone creates and the controller writes (its Lease, the Events it
/// reports with), which the demo keeps in memory; every other write is refused (the demo has
/// no API server).
const DEMO_WRITABLE: &[(&str, &str)] = &[
    ("v1", "Pod"),
    ("v1", "ConfigMap"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
    ("v1", "Event"),
    ("coordination.k8s.io/v1", "Lease"),
];

/// The resourceVersion an object carries (`""` when none).
fn resource_version_of(obj: &serde_json::Value) -> &str {
    obj.pointer("/metadata/resourceVersion")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
}

/// The label every forensic clone carries: the only pods the demo lets `create` add.
const FORENSIC_LABEL: &str = "ktui.dev/forensic";

fn demo_writable(object: &ObjectRef, json: &serde_json::Value) -> bool {
    DEMO_WRITABLE
        .iter()
        .any(|(av, k)| *av == object.api_version && *k == object.kind)
        && (object.kind != "Pod"
            || json
                .pointer("/metadata/labels")
                .and_then(|l| l.get(FORENSIC_LABEL))
                .is_some())
}

/// `a=b,c` (equality and existence terms only) against an object's labels.
fn demo_selects(selector: &str, json: &serde_json::Value) -> bool {
    let labels = json.pointer("/metadata/labels");
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (key, want) = match term.split_once('=') {
            Some((k, v)) => (k.trim_end_matches('='), Some(v)),
            None => (term, None),
        };
        let have = labels
            .and_then(|l| l.get(key))
            .and_then(serde_json::Value::as_str);
        match want {
            Some(v) => have == Some(v),
            None => have.is_some(),
        }
    })
}

impl DemoCluster {
    /// `epoch` is "now" for the simulated timeline.
    pub fn new(epoch: Timestamp, live: bool) -> Self {
        Self {
            epoch,
            live,
            pods: Arc::new(data::pods(epoch)),
            created: Arc::default(),
            last_rv: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    /// A fixed, deterministic demo cluster (for tests and snapshots).
    pub fn fixed() -> Self {
        Self::new(Self::fixed_epoch(), false)
    }

    /// The "now" of `fixed()`: 2026-11-20T10:00:00Z.
    pub fn fixed_epoch() -> Timestamp {
        Timestamp::from_second(1_795_168_800).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    pub fn epoch(&self) -> Timestamp {
        self.epoch
    }

    pub fn pods(&self) -> &[DemoPod] {
        &self.pods
    }

    fn find(&self, key: &PodKey) -> Result<&DemoPod> {
        self.pods
            .iter()
            .find(|p| &p.detail.summary.key == key)
            .ok_or_else(|| ClusterError::NotFound {
                what: format!("pod {key}"),
            })
    }
}

/// The next crash of a crash-looping pod: one more restart, a fresh termination time.
fn restarted(pod: &PodSummary, at: Timestamp) -> Option<PodSummary> {
    let mut pod = pod.clone();
    let mut changed = false;
    for c in &mut pod.containers {
        if c.state.waiting_reason() != Some("CrashLoopBackOff") {
            continue;
        }
        if let ContainerState::Terminated {
            started_at,
            finished_at,
            ..
        } = &mut c.last_state
        {
            *started_at = Some(at - jiff::SignedDuration::from_secs(4));
            *finished_at = Some(at);
            c.restarts += 1;
            changed = true;
        }
    }
    changed.then_some(pod)
}

impl Cluster for DemoCluster {
    fn info(&self) -> ContextInfo {
        ContextInfo {
            context: "demo".to_string(),
            server: "embedded demo cluster".to_string(),
            namespace: "default".to_string(),
            server_version: Some("v1.33.0-demo".to_string()),
            kube_user: None,
        }
    }

    fn watch_pods(&self, scope: Scope) -> BoxStream<'static, PodEvent> {
        let in_scope = move |p: &PodSummary| match &scope {
            Scope::All => true,
            Scope::Namespace(ns) => &p.key.namespace == ns,
        };
        let pods: Vec<PodSummary> = self
            .pods
            .iter()
            .map(|p| p.detail.summary.clone())
            .filter(|p| in_scope(p))
            .collect();
        let mut initial = vec![
            PodEvent::Connection(ConnectionState::Connecting),
            PodEvent::Resync,
        ];
        initial.extend(pods.iter().cloned().map(|p| PodEvent::Applied(Box::new(p))));
        initial.push(PodEvent::ResyncDone);
        initial.push(PodEvent::Connection(ConnectionState::Live));
        let initial = futures::stream::iter(initial);
        if !self.live {
            return initial.chain(futures::stream::pending()).boxed();
        }
        let ticks = futures::stream::unfold((pods, 0u32), |(mut pods, n)| async move {
            tokio::time::sleep(LIVE_RESTART_EVERY).await;
            let now = Timestamp::now();
            let mut events = Vec::new();
            for pod in &mut pods {
                if let Some(next) = restarted(pod, now) {
                    *pod = next.clone();
                    events.push(PodEvent::Applied(Box::new(next)));
                }
            }
            Some((futures::stream::iter(events), (pods, n + 1)))
        })
        .flatten();
        initial.chain(ticks).boxed()
    }

    fn pod_detail(&self, key: PodKey) -> BoxFuture<'static, Result<PodDetail>> {
        let found = self.find(&key).map(|p| p.detail.clone());
        async move { found }.boxed()
    }

    fn pod_events(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<EventRow>>> {
        // Oldest first, as the trait promises (and as the kube implementation sorts them).
        let found = self.find(&key).map(|p| {
            let mut events = p.events.clone();
            events.sort_by_key(|e| e.last_seen);
            events
        });
        async move { found }.boxed()
    }

    fn logs(&self, req: LogRequest) -> BoxFuture<'static, Result<Vec<u8>>> {
        let found = self.find(&req.pod).and_then(|p| {
            p.logs
                .iter()
                .find(|(c, prev, _)| c == &req.container && *prev == req.previous)
                .map(|(_, _, text)| tail(text, req.tail_lines))
                .ok_or_else(|| ClusterError::Api {
                    code: 400,
                    message: if req.previous {
                        format!(
                            "previous terminated container \"{}\" in pod \"{}\" not found",
                            req.container, req.pod.name
                        )
                    } else {
                        format!(
                            "container \"{}\" in pod \"{}\" has no logs",
                            req.container, req.pod.name
                        )
                    },
                })
        });
        async move { found }.boxed()
    }

    fn follow_logs(&self, req: LogRequest) -> BoxStream<'static, Result<Vec<u8>>> {
        let live = self.live;
        let first = self.logs(LogRequest {
            previous: false,
            ..req.clone()
        });
        let head = first.into_stream();
        if !live {
            return head.boxed();
        }
        let container = req.container.clone();
        let more = futures::stream::unfold(0u64, move |n| {
            let container = container.clone();
            async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let line = format!(
                    "{} INFO {container}: heartbeat {n} (demo)\n",
                    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
                );
                Some((Ok(line.into_bytes()), n + 1))
            }
        });
        head.chain(more).boxed()
    }

    fn namespaces(&self) -> BoxFuture<'static, Result<Vec<String>>> {
        let mut names: Vec<String> = self
            .pods
            .iter()
            .map(|p| p.detail.summary.key.namespace.clone())
            .collect();
        names.sort();
        names.dedup();
        async move { Ok(names) }.boxed()
    }

    fn apply(
        &self,
        _objects: Vec<serde_json::Value>,
    ) -> BoxFuture<'static, Result<Vec<ObjectRef>>> {
        unavailable("applying objects (deploying the node helper)")
    }

    /// A clone's objects, Leases and Events are kept in memory; any other create is refused.
    /// A `metadata.generateName` gets a suffix, as the API server adds.
    fn create(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        let mut r = match ObjectRef::of_new(&object) {
            Ok(r) => r,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        if !demo_writable(&r, &object) {
            return unavailable(&format!("creating {r}"));
        }
        let mut object = object;
        let named = object
            .pointer("/metadata/name")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !named {
            let rv = self.next_rv();
            let suffix = crate::case::custody::sha256_hex(&rv.to_le_bytes());
            r.name = format!("{}{}", r.name, suffix.get(..5).unwrap_or_default());
            object["metadata"]["name"] = r.name.clone().into();
        }
        let exists = self.object_json(&r).is_some();
        if !exists {
            let rv = self.next_rv();
            if let Some(meta) = object.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                meta.insert("resourceVersion".into(), rv.to_string().into());
                let stamp = self.epoch.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
                meta.entry("creationTimestamp").or_insert(stamp.into());
                meta.entry("uid").or_insert(
                    format!(
                        "demo-{}",
                        crate::case::custody::sha256_hex(r.to_string().as_bytes())
                            .get(..12)
                            .unwrap_or_default()
                    )
                    .into(),
                );
            }
            self.created
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(object);
        }
        async move { Ok(!exists) }.boxed()
    }

    /// Patches what the demo keeps in memory (at the patch's resourceVersion, when it names
    /// one); the simulated pods carry no trigger annotations, and cannot be patched.
    fn patch_merge(
        &self,
        object: ObjectRef,
        patch: serde_json::Value,
    ) -> BoxFuture<'static, Result<()>> {
        let done = self.write_created(&object, |stored| {
            let want = resource_version_of(&patch);
            if !want.is_empty() && want != resource_version_of(stored) {
                return Err(ClusterError::Conflict {
                    what: object.to_string(),
                });
            }
            let mut patch = patch.clone();
            if let Some(meta) = patch.get_mut("metadata").and_then(|m| m.as_object_mut()) {
                for fixed in ["name", "namespace", "uid", "resourceVersion"] {
                    meta.remove(fixed);
                }
            }
            crate::cluster::merge_patch::merge_patch(stored, &patch);
            Ok(())
        });
        async move { done }.boxed()
    }

    /// Replaces what the demo keeps in memory, at the object's resourceVersion.
    fn replace(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        let r = match ObjectRef::of(&object) {
            Ok(r) => r,
            Err(e) => return async move { Err(e) }.boxed(),
        };
        let mut conflict = false;
        let done = self.write_created(&r, |stored| {
            let want = resource_version_of(&object);
            if !want.is_empty() && want != resource_version_of(stored) {
                conflict = true;
                return Ok(());
            }
            let mut next = object.clone();
            for fixed in ["uid", "creationTimestamp"] {
                if let Some(v) = stored.pointer(&format!("/metadata/{fixed}")) {
                    next["metadata"][fixed] = v.clone();
                }
            }
            *stored = next;
            Ok(())
        });
        let done = done.map(|()| !conflict);
        async move { done }.boxed()
    }

    /// Deletes what a clone created in the demo; the simulated pods cannot be deleted.
    fn delete(&self, object: ObjectRef) -> BoxFuture<'static, Result<bool>> {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        let before = created.len();
        created.retain(|o| ObjectRef::of(o).ok().as_ref() != Some(&object));
        let removed = created.len() != before;
        drop(created);
        if !removed && self.object_json(&object).is_some() {
            return unavailable(&format!("deleting {object}"));
        }
        async move { Ok(removed) }.boxed()
    }

    fn exec(
        &self,
        pod: PodKey,
        _container: String,
        _argv: Vec<String>,
    ) -> BoxFuture<'static, Result<BoxByteStream>> {
        unavailable(&format!(
            "exec into pod {pod} (use `--helper local` for a helper on this machine)"
        ))
    }

    fn list_helper_pods(&self, _scope: Scope) -> BoxFuture<'static, Result<Vec<HelperPod>>> {
        unavailable("listing node helper pods")
    }

    fn object_info(&self, object: ObjectRef) -> BoxFuture<'static, Result<ObjectInfo>> {
        unavailable(&format!("reading {object}"))
    }

    fn list_objects(
        &self,
        _api_version: &str,
        kind: &str,
        namespace: String,
    ) -> BoxFuture<'static, Result<Vec<ObjectInfo>>> {
        unavailable(&format!("listing {kind} objects in namespace {namespace}"))
    }

    fn node_info(&self, node: String) -> BoxFuture<'static, Result<NodeInfo>> {
        unavailable(&format!("reading node {node}"))
    }

    /// The demo user may do everything the demo offers (its helper is a replay).
    fn access(&self, checks: Vec<AccessCheck>) -> BoxFuture<'static, Result<Vec<bool>>> {
        let all = vec![true; checks.len()];
        Box::pin(async move { Ok(all) })
    }

    /// The demo's pods, their owners, and what clones created; other kinds are empty.
    fn list_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        let in_ns = |ns: &str| namespace.as_deref().is_none_or(|want| want == ns);
        let mut found: Vec<serde_json::Value> = match (api_version, kind) {
            ("v1", "Pod") => self
                .pods
                .iter()
                .filter(|p| in_ns(&p.detail.summary.key.namespace))
                .map(json::pod)
                .collect(),
            _ => Vec::new(),
        };
        let created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        found.extend(
            created
                .iter()
                .filter(|o| {
                    ObjectRef::of(o).is_ok_and(|r| {
                        r.api_version == api_version
                            && r.kind == kind
                            && r.namespace.as_deref().is_none_or(in_ns)
                    })
                })
                .cloned(),
        );
        drop(created);
        if let Some(sel) = &label_selector {
            found.retain(|o| demo_selects(sel, o));
        }
        async move { Ok(found) }.boxed()
    }

    /// The demo serves the kinds it keeps, VolumeSnapshot included.
    fn serves(&self, api_version: &str, kind: &str) -> BoxFuture<'static, Result<bool>> {
        let served = DEMO_WRITABLE
            .iter()
            .any(|(av, k)| *av == api_version && *k == kind)
            || matches!(
                (api_version, kind),
                ("v1", _) | ("apps/v1", _) | ("batch/v1", _)
            );
        async move { Ok(served) }.boxed()
    }

    fn get_json(&self, object: ObjectRef) -> BoxFuture<'static, Result<serde_json::Value>> {
        let found = self
            .object_json(&object)
            .ok_or_else(|| ClusterError::NotFound {
                what: object.to_string(),
            });
        async move { found }.boxed()
    }

    fn pod_events_json(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        let posted: Vec<serde_json::Value> = self
            .created
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|o| {
                o["kind"] == "Event"
                    && o["involvedObject"]["namespace"] == key.namespace.as_str()
                    && o["involvedObject"]["name"] == key.name.as_str()
            })
            .cloned()
            .collect();
        let found = self.find(&key).map(|p| {
            let mut events = json::events(p);
            events.extend(posted);
            events.sort_by(|a, b| {
                let at = |e: &serde_json::Value| e["lastTimestamp"].as_str().map(str::to_string);
                at(a).cmp(&at(b))
            });
            events
        });
        async move { found }.boxed()
    }

    /// There is no API server to ask.
    fn server_date(&self) -> BoxFuture<'static, Result<Option<Timestamp>>> {
        async { Ok(None) }.boxed()
    }

    fn self_user(&self) -> BoxFuture<'static, Result<Option<String>>> {
        async { Ok(None) }.boxed()
    }

    /// The demo's nodes run containerd 1.7, whose CRI has no checkpoint: their kubelets answer
    /// as such a kubelet does (a missing pod or container first), marked DEMO.
    fn checkpoint(
        &self,
        req: CheckpointRequest,
    ) -> BoxFuture<'static, std::result::Result<CheckpointAnswer, CheckpointFailure>> {
        let answered = req.path().map_err(CheckpointFailure::from).and_then(|_| {
            let pod = self
                .pods
                .iter()
                .find(|p| {
                    p.detail.summary.key == req.pod
                        && p.detail.summary.node.as_deref() == Some(req.node.as_str())
                })
                .map(|p| &p.detail.summary);
            let (status, body) = match pod {
                None => (404, "pod does not exist".to_string()),
                Some(p) if p.container(&req.container).is_none() => {
                    (404, format!("container {} does not exist", req.container))
                }
                Some(_) => (
                    500,
                    format!(
                        "checkpointing of {}/{}/{} failed (rpc error: code = Unimplemented desc = method CheckpointContainer not implemented)",
                        req.pod.namespace, req.pod.name, req.container
                    ),
                ),
            };
            let reply = crate::checkpoint::kubelet::Reply {
                status,
                content_type: Some("text/plain; charset=utf-8".to_string()),
                body,
                truncated: false,
            };
            crate::checkpoint::kubelet::interpret(&req, reply)
        });
        let marked = answered.map_err(|f| CheckpointFailure {
            error: Box::new(crate::checkpoint::kubelet::CheckpointError::Demo(f.error)),
            reply: f.reply,
        });
        async move { marked }.boxed()
    }
}

impl DemoCluster {
    /// A fresh resourceVersion for a write to what the demo keeps.
    fn next_rv(&self) -> u64 {
        self.last_rv
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .saturating_add(1)
    }

    /// Change one object the demo keeps in memory with `write` (the resourceVersion bumped
    /// unless it fails or leaves the object unchanged); a simulated object is not writable,
    /// and any other is not found.
    fn write_created(
        &self,
        object: &ObjectRef,
        write: impl FnOnce(&mut serde_json::Value) -> Result<()>,
    ) -> Result<()> {
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        let Some(stored) = created
            .iter_mut()
            .find(|c| ObjectRef::of(c).ok().as_ref() == Some(object))
        else {
            drop(created);
            return Err(match self.object_json(object) {
                Some(_) => ClusterError::NotInDemo {
                    what: format!("changing {object}"),
                },
                None => ClusterError::NotFound {
                    what: object.to_string(),
                },
            });
        };
        let before = stored.clone();
        write(stored)?;
        if *stored != before {
            let rv = self.next_rv().to_string();
            stored["metadata"]["resourceVersion"] = rv.into();
        }
        Ok(())
    }

    /// A demo object as the API would send it.
    fn object_json(&self, o: &ObjectRef) -> Option<serde_json::Value> {
        let created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = created
            .iter()
            .find(|c| ObjectRef::of(c).ok().as_ref() == Some(o))
        {
            return Some(found.clone());
        }
        drop(created);
        let ns = o.namespace.as_deref().unwrap_or_default();
        let in_ns = |p: &&DemoPod| p.detail.summary.key.namespace == ns;
        match (o.api_version.as_str(), o.kind.as_str()) {
            ("v1", "Pod") => self
                .find(&PodKey::new(ns, o.name.clone()))
                .ok()
                .map(json::pod),
            ("apps/v1" | "batch/v1", kind) => json::owner(&self.pods, ns, kind, &o.name),
            ("v1", "Node") => self
                .pods
                .iter()
                .any(|p| p.detail.summary.node.as_deref() == Some(o.name.as_str()))
                .then(|| json::node(&o.name, self.epoch)),
            ("v1", "ConfigMap") if o.name == data::ROOT_CA.name => self
                .pods
                .iter()
                .any(|p| in_ns(&p))
                .then(|| json::config_object(&data::ROOT_CA, ns, self.epoch)),
            ("v1", kind @ ("ConfigMap" | "Secret")) => data::CONFIG_OBJECTS
                .iter()
                .find(|c| c.kind == kind && c.namespace == ns && c.name == o.name)
                .map(|c| json::config_object(c, ns, self.epoch)),
            _ => None,
        }
    }
}

/// The answer of every write and node-level call: the demo cluster is a simulation.
fn unavailable<T: Send + 'static>(what: &str) -> BoxFuture<'static, Result<T>> {
    let err = ClusterError::NotInDemo {
        what: what.to_string(),
    };
    async move { Err(err) }.boxed()
}

fn tail(text: &[u8], lines: Option<i64>) -> Vec<u8> {
    let Some(n) = lines.and_then(|n| usize::try_from(n).ok()) else {
        return text.to_vec();
    };
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    let starts: Vec<usize> = body
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    let total = starts.len() + 1;
    if n >= total {
        return text.to_vec();
    }
    let from = starts[total - n - 1];
    text[from..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{Category, classify};

    #[test]
    fn demo_has_every_kind_of_failure() {
        let demo = DemoCluster::fixed();
        let records: Vec<_> = demo
            .pods()
            .iter()
            .flat_map(|p| classify(&p.detail.summary))
            .collect();
        let has = |f: &dyn Fn(&crate::triage::CrashRecord) -> bool| records.iter().any(f);
        assert!(has(
            &|r| r.reason.as_deref() == Some("OOMKilled") && r.exit_code == Some(137)
        ));
        assert!(has(&|r| r.category == Category::Evicted));
        assert!(has(&|r| r.category == Category::NotStarted));
        assert!(has(&|r| r.role.is_some_and(|r| r.is_init())));
        let checkout: Vec<_> = records
            .iter()
            .filter(|r| r.workload.name == "checkout")
            .collect();
        assert!(checkout.len() >= 3);
        assert!(
            checkout
                .iter()
                .all(|r| r.signature == checkout[0].signature)
        );
        assert!(
            demo.pods()
                .iter()
                .any(|p| classify(&p.detail.summary).is_empty())
        );
    }

    #[tokio::test]
    async fn helper_calls_say_the_demo_cannot() {
        let demo = DemoCluster::fixed();
        let err = demo.list_helper_pods(Scope::All).await.unwrap_err();
        assert!(
            err.to_string()
                .contains("not available in the demo cluster"),
            "{err}"
        );
        let err = demo
            .exec(PodKey::new("a", "b"), "c".into(), vec!["x".into()])
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not available in the demo cluster"), "{err}");
    }

    #[tokio::test]
    async fn events_come_oldest_first() {
        let demo = DemoCluster::fixed();
        for p in demo.pods() {
            let events = demo.pod_events(p.detail.summary.key.clone()).await.unwrap();
            assert!(
                events.windows(2).all(|w| w[0].last_seen <= w[1].last_seen),
                "{}: {events:#?}",
                p.detail.summary.key
            );
        }
    }

    /// Every demo pod's JSON names objects the demo serves: its owners up the chain, its
    /// node, the ConfigMaps and Secrets it reads (so `ktui export POD --demo` finds them).
    #[tokio::test]
    async fn demo_objects_reference_each_other() {
        let demo = DemoCluster::fixed();
        for p in demo.pods() {
            let key = &p.detail.summary.key;
            let pod = demo.get_json(ObjectRef::pod(key)).await.unwrap();
            assert_eq!(pod["metadata"]["uid"], p.detail.summary.uid.as_str());
            let mut next = crate::collect::refs::controller(&pod);
            let mut chain = Vec::new();
            while let Some(owner) = next.take() {
                let obj = demo.get_json(owner.clone()).await.unwrap();
                chain.push(format!("{}/{}", owner.kind, owner.name));
                next = crate::collect::refs::controller(&obj);
            }
            let want: Vec<String> = p
                .detail
                .owner_chain
                .iter()
                .map(|o| format!("{}/{}", o.kind, o.name))
                .collect();
            assert_eq!(chain, want, "{key}");
            if let Some(node) = crate::collect::refs::node(&pod) {
                demo.get_json(ObjectRef::node(&node)).await.unwrap();
            }
            let refs = crate::collect::refs::references(&pod);
            for (kind, names) in [("ConfigMap", &refs.config_maps), ("Secret", &refs.secrets)] {
                for name in names.keys() {
                    let r = ObjectRef::new("v1", kind, Some(&key.namespace), name.clone());
                    demo.get_json(r).await.unwrap();
                }
            }
        }
        let checkout = PodKey::new("shop", "checkout-6c9f8b7d54-7fb9x");
        let pod = demo.get_json(ObjectRef::pod(&checkout)).await.unwrap();
        let refs = crate::collect::refs::references(&pod);
        assert!(
            refs.secrets.contains_key("checkout-db")
                && refs.secrets.contains_key("checkout-db-tls")
        );
        let missing = demo
            .get_json(ObjectRef::new("v1", "Secret", Some("shop"), "nope"))
            .await
            .unwrap_err();
        assert!(
            matches!(missing, ClusterError::NotFound { .. }),
            "{missing:?}"
        );
    }

    /// The controller's writes in the demo: a posted Event is listed for its pod, a patch or
    /// replace applies at its resourceVersion only, the simulated pods are not writable.
    #[tokio::test]
    async fn controller_writes_are_kept_in_memory() {
        let demo = DemoCluster::fixed();
        let web = demo.pods()[0].detail.summary.key.clone();
        let event = serde_json::json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"generateName": format!("{}.ktui-", web.name), "namespace": web.namespace},
            "involvedObject": {"kind": "Pod", "namespace": web.namespace, "name": web.name},
            "reason": "KtuiClone", "lastTimestamp": "2030-01-01T00:00:00Z",
        });
        assert_eq!(demo.create(event.clone()).await, Ok(true));
        assert_eq!(
            demo.create(event).await,
            Ok(true),
            "a generated name each time"
        );
        let events = demo.pod_events_json(web.clone()).await.unwrap();
        let posted: Vec<_> = events
            .iter()
            .filter(|e| e["reason"] == "KtuiClone")
            .collect();
        assert_eq!(posted.len(), 2);
        assert_ne!(posted[0]["metadata"]["name"], posted[1]["metadata"]["name"]);
        assert!(
            posted[0]["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}.ktui-", web.name))
        );

        let cm = ObjectRef::new("v1", "ConfigMap", Some("shop"), "c");
        let body = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "shop", "annotations": {"a": "1", "b": "2"}}});
        assert_eq!(demo.create(body).await, Ok(true));
        let read = demo.get_json(cm.clone()).await.unwrap();
        let rv = read["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        let patch = crate::cluster::remove_annotation_patch("a", &rv);
        demo.patch_merge(cm.clone(), patch.clone()).await.unwrap();
        let after = demo.get_json(cm.clone()).await.unwrap();
        assert_eq!(
            after["metadata"]["annotations"],
            serde_json::json!({"b": "2"})
        );
        assert_ne!(after["metadata"]["resourceVersion"], rv.as_str());
        assert!(matches!(
            demo.patch_merge(cm.clone(), patch).await,
            Err(ClusterError::Conflict { .. })
        ));
        assert_eq!(demo.replace(read).await, Ok(false), "stale");
        assert_eq!(demo.replace(after).await, Ok(true));
        let simulated = demo
            .patch_merge(ObjectRef::pod(&web), serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(simulated, ClusterError::NotInDemo { .. }),
            "{simulated:?}"
        );
        let missing = ObjectRef::new("v1", "ConfigMap", Some("shop"), "nope");
        assert!(matches!(
            demo.patch_merge(missing, serde_json::json!({})).await,
            Err(ClusterError::NotFound { .. })
        ));
    }

    #[test]
    fn tail_keeps_last_lines() {
        assert_eq!(tail(b"a\nb\nc\n", Some(2)), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", Some(1)), b"c");
        assert_eq!(tail(b"a\n", Some(5)), b"a\n");
    }

    #[test]
    fn restart_advances_the_loop() {
        let demo = DemoCluster::fixed();
        let looping = demo
            .pods()
            .iter()
            .map(|p| &p.detail.summary)
            .find(|p| p.workload.name == "checkout")
            .cloned();
        let Some(looping) = looping else {
            unreachable!("demo has checkout pods")
        };
        let next = restarted(&looping, demo.epoch()).map(|p| p.containers[0].restarts);
        assert_eq!(next, Some(looping.containers[0].restarts + 1));
    }
}
