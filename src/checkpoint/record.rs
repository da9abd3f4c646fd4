//! A checkpoint request in the case: `artifacts/<ns>/<pod>/checkpoints/<container>-<UTC>.request.json`
//! holds what was asked, what answered (status, content type, body as it came), the archive's
//! path on the node, the times, and what the node runs; its `checkpoint` custody line (time,
//! actor: user and context, target `node/<node>`, the record's path — which names the pod and
//! container — and SHA-256) says whether it worked, and why not. The index entry names the pod
//! and container.
//!
//! One JSON object (pinned keys): `kind` (`ktui-kubelet-checkpoint`), `version` (1), `context`,
//! `server`, `request` {`method`, `path`, `query`, `node`, `namespace`, `pod`, `container`,
//! `timeout_seconds`}, `container` {`id`, `image`, `image_id`, `state`, `pod_uid`}, `node`
//! {`name`, `kubelet_version`, `container_runtime`, `unknown`}, `result` (`ok` / `error`),
//! `node_path`, `answer` {`status`, `content_type`, `body`, `truncated`} or null, `error`
//! {`kind`, `message`, `offers_snapshot`} or null, `timings` {`started_at`, `finished_at`,
//! `elapsed_ms`}.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::take::Outcome;
use crate::case::{Action, ArtifactMeta, ArtifactPath, Case, IndexEntry, Source, Target};
use crate::cluster::ContextInfo;

/// The custody action of a checkpoint.
pub const ACTION: &str = "checkpoint";
pub const KIND: &str = "ktui-kubelet-checkpoint";

/// What the node says it runs (`status.nodeInfo`), or why that is not known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodeRuntime {
    pub kubelet_version: Option<String>,
    /// `containerd://1.7.24`, `cri-o://1.30.2`.
    pub container_runtime: Option<String>,
    /// Why the node could not be read (then both are `None`).
    pub unknown: Option<String>,
}

impl NodeRuntime {
    /// From a Node object as the API returns it.
    pub fn of(node: &Value) -> Self {
        let text = |p: &str| {
            node.pointer(p)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        Self {
            kubelet_version: text("/status/nodeInfo/kubeletVersion"),
            container_runtime: text("/status/nodeInfo/containerRuntimeVersion"),
            unknown: None,
        }
    }

    pub fn unknown(why: String) -> Self {
        Self {
            unknown: Some(why),
            ..Self::default()
        }
    }

    /// `node worker-1 runs containerd://1.7.24 (kubelet v1.33.1)`, when known.
    pub fn describe(&self, node: &str) -> Option<String> {
        let runtime = self.container_runtime.as_deref()?;
        Some(match &self.kubelet_version {
            Some(k) => format!("node {node} runs {runtime} (kubelet {k})"),
            None => format!("node {node} runs {runtime}"),
        })
    }
}

/// `artifacts/<ns>/<pod>/checkpoints/<container>-<yyyymmddThhmmssZ>.request.json`.
pub fn path(outcome: &Outcome) -> crate::case::Result<ArtifactPath> {
    let req = &outcome.request;
    let stamp = outcome.started.strftime("%Y%m%dT%H%M%SZ");
    ArtifactPath::pod(
        &req.pod.namespace,
        &req.pod.name,
        &format!("checkpoints/{}-{stamp}.request.json", req.container),
    )
}

/// The record's bytes (pretty JSON, a final newline).
pub fn json(outcome: &Outcome, info: &ContextInfo) -> Vec<u8> {
    let req = &outcome.request;
    let c = &outcome.container;
    let (node_path, answer, error) = match &outcome.result {
        Ok(a) => (Some(a.node_path.as_str()), Some(&a.reply), None),
        Err(f) => (None, f.reply.as_deref(), Some(&*f.error)),
    };
    let ts = |t: Timestamp| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let value = json!({
        "kind": KIND,
        "version": 1,
        "context": info.context,
        "server": info.server,
        "request": {
            "method": "POST",
            "path": req.path().ok(),
            "query": req.query(),
            "node": req.node,
            "namespace": req.pod.namespace,
            "pod": req.pod.name,
            "container": req.container,
            "timeout_seconds": req.timeout_secs(),
        },
        "container": {
            "id": c.container_id,
            "image": c.image,
            "image_id": c.image_id,
            "state": c.state.label(),
            "pod_uid": outcome.pod_uid,
        },
        "node": {
            "name": req.node,
            "kubelet_version": outcome.node.kubelet_version,
            "container_runtime": outcome.node.container_runtime,
            "unknown": outcome.node.unknown,
        },
        "result": if outcome.result.is_ok() { "ok" } else { "error" },
        "node_path": node_path,
        "answer": answer.map(|r| json!({
            "status": r.status,
            "content_type": r.content_type,
            "body": r.body,
            "truncated": r.truncated,
        })),
        "error": error.map(|e| json!({
            "kind": e.kind(),
            "message": e.to_string(),
            "offers_snapshot": e.offers_snapshot(),
        })),
        "timings": {
            "started_at": ts(outcome.started),
            "finished_at": ts(outcome.finished),
            "elapsed_ms": u64::try_from(outcome.elapsed.as_millis()).unwrap_or(u64::MAX),
        },
    });
    let mut out = serde_json::to_vec_pretty(&value).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Write the record into `case` with its custody line (blocking: fsync).
pub fn write(
    case: &Case,
    outcome: &Outcome,
    info: &ContextInfo,
) -> crate::case::Result<IndexEntry> {
    let req = &outcome.request;
    let source = match (req.path(), req.query()) {
        (Ok(p), Some(q)) => Source::Api(format!("{p}?{q}")),
        (Ok(p), None) => Source::Api(p),
        (Err(_), _) => Source::Local,
    };
    let mut meta = ArtifactMeta::new(
        path(outcome)?,
        "application/json",
        source,
        Action::from(ACTION),
    )
    .for_pod(&req.pod.namespace, &req.pod.name, Some(&req.container));
    // The custody line names where the archive is (the record's path names the container).
    meta.target = Target::Node(req.node.clone());
    meta.captured_at = Some(outcome.started);
    if let Err(f) = &outcome.result {
        meta = meta.failed(format!("on node {}: {}", req.node, f.error));
    }
    case.write_artifact(&meta, &json(outcome, info))
}
