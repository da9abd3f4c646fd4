//! The `Cluster` implementation over kube-rs: the only module tree that imports kube and
//! k8s-openapi.

mod access;
mod apply;
mod checkpoint;
pub mod connect;
pub mod convert;
pub mod errors;
pub mod evidence;
mod exec;
pub mod exec_auth;
pub mod files;
pub mod http_guard;
mod inventory;
pub mod kubeconfig;
mod owners;
mod watch_pod;
mod watch_supervisor;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{AsyncRead, AsyncReadExt as _, FutureExt as _, StreamExt as _};
use k8s_openapi::api::core::v1::{Event, Namespace, Node, Pod};
use kube::api::{ListParams, LogParams};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};

use crate::cluster::{
    AccessCheck, BoxByteStream, CheckpointAnswer, CheckpointFailure, CheckpointRequest, Cluster,
    ConnectionState, ContextInfo, EventRow, HelperPod, LogRequest, NodeInfo, ObjectInfo, ObjectRef,
    PodDetail, PodEvent, PodKey, Result, Scope,
};
use crate::triage;
use errors::{ApiContext, map_err};
use owners::OwnerCache;
use watch_pod::WatchPod;

pub use apply::FIELD_MANAGER;
pub use connect::{ConnectError, ConnectOptions};
use http_guard::Liveness;

/// Watch list page size: big pages keep the first list fast on large clusters.
const PAGE_SIZE: u32 = 500;
/// How many owner lookups may run at once while a watch resolves crashed pods' workloads.
const OWNER_LOOKUPS_IN_FLIGHT: usize = 32;
/// How often a degraded watch checks whether the API server answers again.
const RECOVERY_PROBE_EVERY: Duration = Duration::from_secs(2);

/// A live cluster reached through a kubeconfig context.
#[derive(Clone)]
pub struct KubeCluster {
    client: Client,
    info: ContextInfo,
    owners: Arc<OwnerCache>,
    liveness: Liveness,
    watch_stall: Duration,
    /// What a checkpoint waits beyond its timeout (`checkpoint::kubelet::DEFAULT_GRACE`).
    checkpoint_grace: Duration,
}

impl KubeCluster {
    /// Build the client from the kubeconfig and check the API server answers `GET /version`.
    pub async fn connect(opts: &ConnectOptions) -> std::result::Result<Self, ConnectError> {
        let connect::Connected {
            client,
            info,
            liveness,
        } = connect::connect(opts).await?;
        Ok(Self {
            owners: Arc::new(OwnerCache::new(client.clone())),
            client,
            info,
            liveness,
            watch_stall: crate::cluster::WATCH_STALL,
            checkpoint_grace: opts.checkpoint_grace,
        })
    }

    /// Wait `grace` beyond a checkpoint's timeout for its answer (tests of hanging kubelets).
    pub fn with_checkpoint_grace(mut self, grace: Duration) -> Self {
        self.checkpoint_grace = grace;
        self
    }

    /// Treat a pod watch as stalled after `stall` without an event or bookmark (tests).
    pub fn with_watch_stall(mut self, stall: Duration) -> Self {
        self.watch_stall = stall;
        self
    }

    fn ctx(&self, verb: &str, resource: &str, namespace: Option<&str>) -> ApiContext {
        ApiContext {
            verb: verb.to_string(),
            resource: resource.to_string(),
            namespace: namespace.map(str::to_string),
            context: self.info.context.clone(),
            server: self.info.server.clone(),
        }
    }

    fn pods_api(&self, namespace: &str) -> Api<Pod> {
        Api::namespaced(self.client.clone(), namespace)
    }
}

impl Cluster for KubeCluster {
    fn info(&self) -> ContextInfo {
        self.info.clone()
    }

    fn watch_pods(&self, scope: Scope) -> BoxStream<'static, PodEvent> {
        let path = match &scope {
            Scope::All => "/api/v1/pods".to_string(),
            Scope::Namespace(ns) => format!("/api/v1/namespaces/{ns}/pods"),
        };
        let this = self.clone();
        let start = futures::stream::iter([PodEvent::Connection(ConnectionState::Connecting)]);
        let supervised = watch_supervisor::supervise(
            move || this.pod_watch(scope.clone()),
            self.liveness.clone(),
            path,
            self.watch_stall,
        );
        start.chain(supervised).boxed()
    }

    fn pod_detail(&self, key: PodKey) -> BoxFuture<'static, Result<PodDetail>> {
        let this = self.clone();
        async move {
            let ctx = this.ctx("get", "pods", Some(&key.namespace));
            let pod = this
                .pods_api(&key.namespace)
                .get(&key.name)
                .await
                .map_err(|e| map_err(e, &ctx))?;
            let index = this.owners.index_for(&pod).await;
            Ok(convert::pod_detail(&pod, &index))
        }
        .boxed()
    }

    fn pod_events(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<EventRow>>> {
        let this = self.clone();
        async move {
            let ctx = this.ctx("list", "events", Some(&key.namespace));
            let api: Api<Event> = Api::namespaced(this.client.clone(), &key.namespace);
            let lp = ListParams::default().fields(&format!(
                "involvedObject.name={},involvedObject.namespace={}",
                key.name, key.namespace
            ));
            let list = api.list(&lp).await.map_err(|e| map_err(e, &ctx))?;
            let mut rows: Vec<EventRow> = list
                .items
                .iter()
                .filter(|e| e.involved_object.kind.as_deref().is_none_or(|k| k == "Pod"))
                .map(convert::event_row)
                .collect();
            rows.sort_by_key(|r| r.last_seen);
            Ok(rows)
        }
        .boxed()
    }

    fn logs(&self, req: LogRequest) -> BoxFuture<'static, Result<Vec<u8>>> {
        let this = self.clone();
        async move {
            let ctx = this.ctx("get", "pods/log", Some(&req.pod.namespace));
            let lp = log_params(&req, false);
            let reader = this
                .pods_api(&req.pod.namespace)
                .log_stream(&req.pod.name, &lp)
                .await
                .map_err(|e| map_err(e, &ctx))?;
            let mut reader = Box::pin(reader);
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .await
                .map_err(|e| logs_interrupted(&req, &e))?;
            Ok(bytes)
        }
        .boxed()
    }

    fn follow_logs(&self, req: LogRequest) -> BoxStream<'static, Result<Vec<u8>>> {
        let this = self.clone();
        let chunks_req = req.clone();
        let opened = async move {
            let ctx = this.ctx("get", "pods/log", Some(&req.pod.namespace));
            let lp = log_params(&req, true);
            this.pods_api(&req.pod.namespace)
                .log_stream(&req.pod.name, &lp)
                .await
                .map_err(|e| map_err(e, &ctx))
        };
        opened
            .map(|res| match res {
                Ok(reader) => read_chunks(Box::pin(reader), chunks_req),
                Err(e) => futures::stream::iter([Err(e)]).boxed(),
            })
            .flatten_stream()
            .boxed()
    }

    fn namespaces(&self) -> BoxFuture<'static, Result<Vec<String>>> {
        let this = self.clone();
        async move {
            let ctx = this.ctx("list", "namespaces", None);
            let api: Api<Namespace> = Api::all(this.client.clone());
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| map_err(e, &ctx))?;
            let mut names: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|n| n.metadata.name)
                .collect();
            names.sort();
            Ok(names)
        }
        .boxed()
    }

    fn apply(&self, objects: Vec<serde_json::Value>) -> BoxFuture<'static, Result<Vec<ObjectRef>>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::apply_all(this.client.clone(), ctx, objects).await
        }
        .boxed()
    }

    fn create(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::create(this.client.clone(), ctx, object).await
        }
        .boxed()
    }

    fn delete(&self, object: ObjectRef) -> BoxFuture<'static, Result<bool>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::delete(this.client.clone(), ctx, object).await
        }
        .boxed()
    }

    fn patch_merge(
        &self,
        object: ObjectRef,
        patch: serde_json::Value,
    ) -> BoxFuture<'static, Result<()>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::patch_merge(this.client.clone(), ctx, object, patch).await
        }
        .boxed()
    }

    fn replace(&self, object: serde_json::Value) -> BoxFuture<'static, Result<bool>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::replace(this.client.clone(), ctx, object).await
        }
        .boxed()
    }

    fn exec(
        &self,
        pod: PodKey,
        container: String,
        argv: Vec<String>,
    ) -> BoxFuture<'static, Result<BoxByteStream>> {
        let api = self.pods_api(&pod.namespace);
        let ctx = self.ctx("create", "pods/exec", Some(&pod.namespace));
        exec::open(api, ctx, pod, container, argv).boxed()
    }

    fn list_helper_pods(&self, scope: Scope) -> BoxFuture<'static, Result<Vec<HelperPod>>> {
        let this = self.clone();
        async move {
            let (api, ns) = match &scope {
                Scope::All => (Api::all(this.client.clone()), None),
                Scope::Namespace(ns) => (this.pods_api(ns), Some(ns.as_str())),
            };
            let ctx = this.ctx("list", "pods", ns);
            inventory::list_helper_pods(api)
                .await
                .map_err(|e| map_err(e, &ctx))
        }
        .boxed()
    }

    fn object_info(&self, object: ObjectRef) -> BoxFuture<'static, Result<ObjectInfo>> {
        let this = self.clone();
        async move {
            let what = object.to_string();
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::get(this.client.clone(), ctx, object)
                .await
                .map_err(|e| not_found_as(e, || what))
        }
        .boxed()
    }

    fn list_objects(
        &self,
        api_version: &str,
        kind: &str,
        namespace: String,
    ) -> BoxFuture<'static, Result<Vec<ObjectInfo>>> {
        let this = self.clone();
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::list(this.client.clone(), ctx, &api_version, &kind, &namespace).await
        }
        .boxed()
    }

    fn node_info(&self, node: String) -> BoxFuture<'static, Result<NodeInfo>> {
        let this = self.clone();
        async move {
            let ctx = this.ctx("get", "nodes", None);
            let api: Api<Node> = Api::all(this.client.clone());
            api.get(&node)
                .await
                .map(|n| inventory::node_info(&n))
                .map_err(|e| not_found_as(map_err(e, &ctx), || format!("node {node}")))
        }
        .boxed()
    }

    fn access(&self, checks: Vec<AccessCheck>) -> BoxFuture<'static, Result<Vec<bool>>> {
        let this = self.clone();
        async move { access::review(&this, checks).await }.boxed()
    }

    fn list_json(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        let this = self.clone();
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::list_json(
                this.client.clone(),
                ctx,
                &api_version,
                &kind,
                namespace.as_deref(),
                label_selector.as_deref(),
            )
            .await
        }
        .boxed()
    }

    fn serves(&self, api_version: &str, kind: &str) -> BoxFuture<'static, Result<bool>> {
        let this = self.clone();
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::serves(this.client.clone(), ctx, &api_version, &kind).await
        }
        .boxed()
    }

    fn get_json(&self, object: ObjectRef) -> BoxFuture<'static, Result<serde_json::Value>> {
        let this = self.clone();
        async move {
            let ctx = |verb: &str, resource: &str, ns: Option<&str>| this.ctx(verb, resource, ns);
            apply::get_json(this.client.clone(), ctx, object).await
        }
        .boxed()
    }

    fn pod_events_json(&self, key: PodKey) -> BoxFuture<'static, Result<Vec<serde_json::Value>>> {
        let ctx = self.ctx("list", "events", Some(&key.namespace));
        evidence::pod_events_json(self.client.clone(), ctx, key).boxed()
    }

    fn server_date(&self) -> BoxFuture<'static, Result<Option<jiff::Timestamp>>> {
        let ctx = self.ctx("get", "/version", None);
        evidence::server_date(self.client.clone(), ctx).boxed()
    }

    fn self_user(&self) -> BoxFuture<'static, Result<Option<String>>> {
        let ctx = self.ctx("create", "selfsubjectreviews", None);
        evidence::self_user(self.client.clone(), ctx).boxed()
    }

    fn checkpoint(
        &self,
        req: CheckpointRequest,
    ) -> BoxFuture<'static, std::result::Result<CheckpointAnswer, CheckpointFailure>> {
        let ctx = self.ctx("create", "nodes/proxy", None);
        checkpoint::checkpoint(self.client.clone(), ctx, req, self.checkpoint_grace).boxed()
    }
}

/// A 404 names the object asked for (`node worker-3 not found`).
fn not_found_as(
    e: crate::cluster::ClusterError,
    what: impl FnOnce() -> String,
) -> crate::cluster::ClusterError {
    match e {
        crate::cluster::ClusterError::NotFound { .. } => {
            crate::cluster::ClusterError::NotFound { what: what() }
        }
        other => other,
    }
}

impl KubeCluster {
    /// One incarnation of the pod watch: an initial list, then changes (kube's watcher, which
    /// resumes after dropped connections), with a probe that reports "live" again after one.
    fn pod_watch(&self, scope: Scope) -> BoxStream<'static, PodEvent> {
        let (api, ns): (Api<WatchPod>, Option<String>) = match &scope {
            Scope::All => (Api::all(self.client.clone()), None),
            Scope::Namespace(ns) => (Api::namespaced(self.client.clone(), ns), Some(ns.clone())),
        };
        let config = watcher::Config::default().page_size(PAGE_SIZE);
        let this = self.clone();
        let degraded = Arc::new(AtomicBool::new(false));
        let flag = degraded.clone();
        let events = watcher(api, config)
            .default_backoff()
            .map(move |ev| {
                let this = this.clone();
                let ns = ns.clone();
                let flag = flag.clone();
                async move { this.pod_event(ev, ns.as_deref(), &flag).await }
            })
            .buffered(OWNER_LOOKUPS_IN_FLIGHT)
            .flat_map(futures::stream::iter);
        // A watch that resumes after a dropped connection reports nothing until a pod changes:
        // probe the server while degraded so the status bar returns to "live" on its own.
        let client = self.client.clone();
        let probe = futures::stream::unfold((client, degraded), |(client, degraded)| async move {
            loop {
                tokio::time::sleep(RECOVERY_PROBE_EVERY).await;
                if degraded.load(Ordering::Relaxed) && client.apiserver_version().await.is_ok() {
                    degraded.store(false, Ordering::Relaxed);
                    return Some((
                        PodEvent::Connection(ConnectionState::Live),
                        (client, degraded),
                    ));
                }
            }
        });
        futures::stream::select(events, probe).boxed()
    }

    /// One watcher event → domain events. Crashed pods get their owners resolved exactly (with a
    /// cache); healthy ones use naming conventions so a 50k-pod list needs no extra requests.
    async fn pod_event(
        &self,
        ev: std::result::Result<watcher::Event<WatchPod>, watcher::Error>,
        ns: Option<&str>,
        degraded: &AtomicBool,
    ) -> Vec<PodEvent> {
        match ev {
            Ok(watcher::Event::Init) => vec![PodEvent::Resync],
            Ok(watcher::Event::InitApply(pod)) | Ok(watcher::Event::Apply(pod)) => {
                vec![PodEvent::Applied(Box::new(
                    self.summarize(&pod.to_pod()).await,
                ))]
            }
            Ok(watcher::Event::InitDone) => {
                degraded.store(false, Ordering::Relaxed);
                vec![
                    PodEvent::ResyncDone,
                    PodEvent::Connection(ConnectionState::Live),
                ]
            }
            Ok(watcher::Event::Delete(pod)) => vec![PodEvent::Deleted(PodKey::new(
                pod.metadata.namespace.unwrap_or_default(),
                pod.metadata.name.unwrap_or_default(),
            ))],
            Err(e) => {
                let verb = match &e {
                    watcher::Error::InitialListFailed(_) => "list",
                    _ => "watch",
                };
                let ctx = self.ctx(verb, "pods", ns);
                let err = errors::map_watch_err(e, &ctx);
                match err {
                    crate::cluster::ClusterError::Forbidden { .. }
                    | crate::cluster::ClusterError::Unauthorized { .. } => {
                        vec![PodEvent::Failed(err)]
                    }
                    other => {
                        degraded.store(true, Ordering::Relaxed);
                        vec![PodEvent::Connection(ConnectionState::Reconnecting {
                            reason: other.to_string(),
                        })]
                    }
                }
            }
        }
    }

    async fn summarize(&self, pod: &Pod) -> crate::cluster::PodSummary {
        let quick = convert::pod_summary(pod, &Default::default());
        if triage::classify(&quick).is_empty() {
            return quick;
        }
        let index = self.owners.index_for(pod).await;
        convert::pod_summary(pod, &index)
    }
}

fn log_params(req: &LogRequest, follow: bool) -> LogParams {
    LogParams {
        container: Some(req.container.clone()),
        previous: req.previous,
        tail_lines: req.tail_lines,
        follow,
        ..LogParams::default()
    }
}

/// A log stream that broke after it opened: past the response bound, or cut (the cause
/// sanitised: it may quote the server).
fn logs_interrupted(req: &LogRequest, e: &std::io::Error) -> crate::cluster::ClusterError {
    let inner = e
        .get_ref()
        .map(|inner| inner as &(dyn std::error::Error + 'static));
    if let Some(big) = inner.and_then(errors::find_in_chain::<http_guard::ResponseTooLarge>) {
        return crate::cluster::ClusterError::TooLarge(big.clone());
    }
    crate::cluster::ClusterError::LogsInterrupted {
        pod: req.pod.clone(),
        container: req.container.clone(),
        cause: crate::sanitize::line(&e.to_string()).into_owned(),
    }
}

/// Raw byte chunks of a follow stream (logs need not be UTF-8).
fn read_chunks(
    reader: std::pin::Pin<Box<dyn AsyncRead + Send>>,
    req: LogRequest,
) -> BoxStream<'static, Result<Vec<u8>>> {
    futures::stream::unfold(Some((reader, req)), |state| async move {
        let (mut reader, req) = state?;
        let mut buf = vec![0u8; 16 * 1024];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(buf), Some((reader, req))))
            }
            Err(e) => Some((Err(logs_interrupted(&req, &e)), None)),
        }
    })
    .boxed()
}
