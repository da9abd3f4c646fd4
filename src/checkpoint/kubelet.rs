//! The kubelet's checkpoint API (KEP-2008, "forensic container checkpointing"), reached through
//! the API server's node proxy: `POST /api/v1/nodes/{node}/proxy/checkpoint/{ns}/{pod}/{container}`
//! (optional `?timeout=SECONDS`), answered `{"items":["<archive path on the node>"]}`.
//!
//! The request and its answer are plain data here; `cluster/kube/checkpoint.rs` sends it and
//! hands the reply to [`interpret`], which tells every known failure apart ([`CheckpointError`]):
//! the API server's own answers are `metav1.Status` JSON, the kubelet's are plain text
//! (`pkg/kubelet/server/server.go`, `func (s *Server) checkpoint`, and its auth filter).
//!
//! Timeouts: the kubelet waits for the runtime the longer of `?timeout=` and its runtime request
//! timeout (`--runtime-request-timeout`, 2 min by default); ktui waits the timeout asked for
//! (default: those 2 min) plus a grace ([`DEFAULT_GRACE`]) for the archive to be written and the
//! answer to come back.

mod error;
mod parse;
#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::cluster::PodKey;

pub use error::{At, CheckpointError, CheckpointFailure, RuntimeGap, Where};
pub use parse::interpret;

/// Where the kubelet writes checkpoint archives (below its `--root-dir`, by default).
pub const CHECKPOINT_DIR: &str = "/var/lib/kubelet/checkpoints";

/// The kubelet's default runtime request timeout: without `?timeout=` (or with a shorter one) it
/// waits this long for the runtime.
pub const KUBELET_RUNTIME_TIMEOUT: Duration = Duration::from_secs(120);

/// What ktui waits beyond the timeout asked for: the kubelet packs the archive after CRIU is
/// done, then the answer crosses the API server.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The grace, for tests that make a kubelet hang: `KTUI_CHECKPOINT_GRACE=2s`.
pub const GRACE_ENV: &str = "KTUI_CHECKPOINT_GRACE";

/// Bytes of an answer kept (the rest is not read): a CRIU failure quotes its log, which is long.
pub const MAX_REPLY: usize = 64 * 1024;

/// One checkpoint to ask a kubelet for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRequest {
    pub node: String,
    pub pod: PodKey,
    pub container: String,
    /// Sent as `?timeout=SECONDS` (rounded up); `None`: the kubelet's default.
    pub timeout: Option<Duration>,
}

impl CheckpointRequest {
    /// The proxy path, or why a name cannot be part of one (Kubernetes names are DNS labels and
    /// subdomains: anything else would change the path).
    pub fn path(&self) -> Result<String, CheckpointError> {
        let names = [
            ("node", self.node.as_str()),
            ("namespace", self.pod.namespace.as_str()),
            ("pod", self.pod.name.as_str()),
            ("container", self.container.as_str()),
        ];
        for (what, name) in names {
            if !is_name(name) {
                return Err(CheckpointError::BadName {
                    what,
                    name: crate::sanitize::line(name).into_owned(),
                });
            }
        }
        Ok(format!(
            "/api/v1/nodes/{}/proxy/checkpoint/{}/{}/{}",
            self.node, self.pod.namespace, self.pod.name, self.container
        ))
    }

    /// `timeout=SECONDS`, when a timeout is asked for.
    pub fn query(&self) -> Option<String> {
        self.timeout_secs().map(|s| format!("timeout={s}"))
    }

    /// The timeout in whole seconds, rounded up, at least 1.
    pub fn timeout_secs(&self) -> Option<u64> {
        self.timeout.map(|t| {
            let secs = t.as_secs() + u64::from(t.subsec_nanos() > 0);
            secs.max(1)
        })
    }

    /// How long ktui waits for the answer: the timeout (default: the kubelet's) plus `grace`.
    pub fn deadline(&self, grace: Duration) -> Duration {
        self.timeout_secs()
            .map_or(KUBELET_RUNTIME_TIMEOUT, Duration::from_secs)
            .saturating_add(grace)
    }

    /// What the messages about this request name.
    pub fn at(&self) -> At {
        At::new(&self.node, &self.pod, &self.container)
    }
}

/// A DNS label or subdomain, as node, namespace, pod and container names are.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
        && !s.starts_with('.')
}

/// An HTTP answer as it came (the body cut at [`MAX_REPLY`], lossy UTF-8, not sanitised: it goes
/// into the record as it is and through `sanitize` before any terminal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    /// More bytes came than [`MAX_REPLY`].
    pub truncated: bool,
}

/// A checkpoint written: where, on the node, and the answer that said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointAnswer {
    /// The archive, e.g. `/var/lib/kubelet/checkpoints/checkpoint-web-1_shop-app-2026-…Z.tar`.
    pub node_path: String,
    pub reply: Reply,
}

/// The grace from [`GRACE_ENV`] (a duration like `2s`), else [`DEFAULT_GRACE`].
pub fn grace_from_env() -> Duration {
    std::env::var(GRACE_ENV)
        .ok()
        .and_then(|v| humantime::parse_duration(v.trim()).ok())
        .unwrap_or(DEFAULT_GRACE)
}
