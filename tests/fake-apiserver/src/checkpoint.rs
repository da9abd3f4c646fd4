//! The kubelet checkpoint API behind the node proxy:
//! `POST /api/v1/nodes/{node}/proxy/checkpoint/{namespace}/{pod}/{container}[?timeout=SECONDS]`.
//!
//! The API server's part is answered as kube-apiserver does (a `metav1.Status`): RBAC `create`
//! on `nodes/proxy` (a [`crate::Store::forbid`] rule refuses it), then the Node must exist. The
//! kubelet's part, as `pkg/kubelet/server/server.go` does it, in plain text: a refusal configured
//! for the node (its auth filter, a missing feature gate), then the pod must be bound to the node
//! and have the container (`404 pod does not exist`, `404 container X does not exist`), then the
//! runtime answers after its delay — within the kubelet's deadline, the longer of `?timeout=` and
//! its runtime request timeout, else `DeadlineExceeded`. Nodes not configured answer as a
//! containerd 1.7 node does (its CRI has no checkpoint).

use std::path::PathBuf;
use std::time::Duration;

use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::body::Body;
use crate::resources::{NODE, POD, RESOURCES};
use crate::routes::{ServerState, authorize, status_response};
use crate::status::Status;
use crate::util;

/// What the runtime of a node does with a checkpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeletCheckpoint {
    /// Writes the archive: `200 {"items":["/var/lib/kubelet/checkpoints/checkpoint-<pod>_<ns>-<container>-<RFC 3339>.tar"]}`.
    Write,
    /// Writes for real: copies `archive` (a real checkpoint, e.g. the fixture) into `dir` under
    /// the kubelet's name and answers that path (for fetching it through a local helper).
    WriteInto { dir: PathBuf, archive: PathBuf },
    /// Fails with this error (e.g. `rpc error: code = Unimplemented desc = method
    /// CheckpointContainer not implemented`): `500 checkpointing of NS/POD/CONTAINER failed (<error>)`.
    RuntimeFails(String),
    /// The kubelet answers this status and plain-text body before it looks at the pod (its auth
    /// filter's `Forbidden (user=…)`, `404 page not found` without the feature gate).
    Refuses { status: u16, body: String },
}

/// A node's kubelet, for checkpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointKubelet {
    pub answer: KubeletCheckpoint,
    /// How long the runtime takes.
    pub delay: Duration,
    /// The kubelet's `--runtime-request-timeout` (default 2 min).
    pub runtime_timeout: Duration,
}

impl CheckpointKubelet {
    /// Answers `answer` at once.
    pub fn new(answer: KubeletCheckpoint) -> Self {
        Self {
            answer,
            delay: Duration::ZERO,
            runtime_timeout: Duration::from_secs(120),
        }
    }

    /// The runtime takes `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn runtime_timeout(mut self, timeout: Duration) -> Self {
        self.runtime_timeout = timeout;
        self
    }
}

impl Default for CheckpointKubelet {
    /// A containerd 1.7 node: `pkg/cri/server/container_checkpoint.go`'s answer.
    fn default() -> Self {
        Self::new(KubeletCheckpoint::RuntimeFails(
            "rpc error: code = Unimplemented desc = method CheckpointContainer not implemented"
                .to_string(),
        ))
    }
}

/// (node, namespace, pod, container) of a checkpoint path.
pub(crate) fn target(path: &str) -> Option<(String, String, String, String)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [
            "api",
            "v1",
            "nodes",
            node,
            "proxy",
            "checkpoint",
            ns,
            pod,
            container,
        ] => Some((
            (*node).to_string(),
            (*ns).to_string(),
            (*pod).to_string(),
            (*container).to_string(),
        )),
        _ => None,
    }
}

fn text(status: u16, body: String) -> Response<Body> {
    let mut resp = Response::new(Body::full(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// The answer to one checkpoint request (`query`: the raw query string).
pub(crate) async fn handle(
    state: &ServerState,
    (node, ns, pod, container): (String, String, String, String),
    query: &str,
) -> Response<Body> {
    // The API server: RBAC on the proxy subresource, then the node.
    if let Err(s) = authorize(state, NODE, "create", Some("proxy"), None, Some(&node)) {
        return status_response(&s);
    }
    if state.store.get_res(NODE, "", &node).is_none() {
        return status_response(&Status::not_found(&RESOURCES[NODE], &node));
    }
    // The kubelet.
    let kubelet = state
        .store
        .lock()
        .checkpoint_kubelets
        .get(&node)
        .cloned()
        .unwrap_or_default();
    if let KubeletCheckpoint::Refuses { status, body } = kubelet.answer {
        return text(status, body);
    }
    let bound = state
        .store
        .get_res(POD, &ns, &pod)
        .filter(|p| p.pointer("/spec/nodeName").and_then(Value::as_str) == Some(node.as_str()));
    let Some(bound) = bound else {
        return text(404, "pod does not exist".to_string());
    };
    let has = |list: &str| {
        bound
            .pointer(&format!("/spec/{list}"))
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.get("name").and_then(Value::as_str) == Some(container.as_str()))
            })
    };
    if !["containers", "initContainers", "ephemeralContainers"]
        .iter()
        .any(|l| has(l))
    {
        return text(404, format!("container {container} does not exist"));
    }
    // The last `timeout` wins, as in the kubelet.
    let timeout = form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "timeout")
        .last()
        .map(|(_, v)| v.parse::<u64>());
    let asked = match timeout {
        None => Duration::ZERO,
        Some(Ok(secs)) => Duration::from_secs(secs),
        Some(Err(_)) => return text(404, "cannot parse value of timeout parameter".to_string()),
    };
    let deadline = asked.max(kubelet.runtime_timeout);
    let failed = |error: &str| {
        text(
            500,
            format!("checkpointing of {ns}/{pod}/{container} failed ({error})"),
        )
    };
    if kubelet.delay >= deadline {
        tokio::time::sleep(deadline).await;
        return failed("rpc error: code = DeadlineExceeded desc = context deadline exceeded");
    }
    tokio::time::sleep(kubelet.delay).await;
    match kubelet.answer {
        KubeletCheckpoint::Write => {
            let path = format!(
                "/var/lib/kubelet/checkpoints/checkpoint-{pod}_{ns}-{container}-{}.tar",
                util::now_rfc3339()
            );
            state
                .store
                .lock()
                .checkpoints_written
                .push((node.clone(), path.clone()));
            let mut resp = text(200, format!("{{\"items\":[\"{path}\"]}}"));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        KubeletCheckpoint::WriteInto { dir, archive } => {
            let path = dir.join(format!(
                "checkpoint-{pod}_{ns}-{container}-{}.tar",
                util::now_rfc3339()
            ));
            if let Err(e) = std::fs::copy(&archive, &path) {
                return failed(&format!("writing {}: {e}", path.display()));
            }
            let path = path.display().to_string();
            state
                .store
                .lock()
                .checkpoints_written
                .push((node.clone(), path.clone()));
            let body = serde_json::json!({ "items": [path] }).to_string();
            let mut resp = text(200, body);
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        KubeletCheckpoint::RuntimeFails(error) => failed(&error),
        KubeletCheckpoint::Refuses { status, body } => text(status, body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_paths() {
        assert_eq!(
            target("/api/v1/nodes/n1/proxy/checkpoint/shop/web-1/app"),
            Some(("n1".into(), "shop".into(), "web-1".into(), "app".into()))
        );
        assert_eq!(target("/api/v1/nodes/n1/proxy/healthz"), None);
        assert_eq!(target("/api/v1/nodes/n1/proxy/checkpoint/shop/web-1"), None);
    }
}
