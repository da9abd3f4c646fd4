//! `--selector LABELS`: which watched pods a run records. The API server answers the selector
//! (a list with `labelSelector`, every few seconds: labels change, pods come); a crash of a pod
//! not known yet waits for the next answer instead of being guessed at.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cluster::{Cluster, PodKey, Scope};

/// How often the matching pods are listed again.
pub const REFRESH: Duration = Duration::from_secs(5);

pub struct Selector {
    pub matching: HashSet<PodKey>,
    /// Pods seen crashing before an answer named them.
    pub pending: HashSet<PodKey>,
    answers: mpsc::UnboundedReceiver<Result<HashSet<PodKey>, String>>,
    task: tokio::task::AbortHandle,
}

impl Drop for Selector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Selector {
    /// List the pods of `scope` matching `selector` now and every [`REFRESH`].
    pub fn start(cluster: Arc<dyn Cluster>, scope: &Scope, selector: String) -> Selector {
        let namespace = match scope {
            Scope::All => None,
            Scope::Namespace(ns) => Some(ns.clone()),
        };
        let (tx, answers) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let listed = cluster
                    .list_json("v1", "Pod", namespace.clone(), Some(selector.clone()))
                    .await
                    .map(|pods| pods.iter().filter_map(key_of).collect())
                    .map_err(|e| format!("listing the pods matching --selector {selector}: {e}"));
                if tx.send(listed).is_err() {
                    return;
                }
                tokio::time::sleep(REFRESH).await;
            }
        })
        .abort_handle();
        Selector {
            matching: HashSet::new(),
            pending: HashSet::new(),
            answers,
            task,
        }
    }

    /// The next answer of the API server.
    pub async fn next(&mut self) -> Option<Result<HashSet<PodKey>, String>> {
        self.answers.recv().await
    }
}

fn key_of(pod: &serde_json::Value) -> Option<PodKey> {
    let meta = pod.get("metadata")?;
    Some(PodKey::new(
        meta.get("namespace")?.as_str()?,
        meta.get("name")?.as_str()?,
    ))
}

/// Wait for the next answer of an optional selector (never, without one).
pub async fn next(selector: &mut Option<Selector>) -> Option<Result<HashSet<PodKey>, String>> {
    match selector {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}
