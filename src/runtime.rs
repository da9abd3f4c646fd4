//! Executes effects as tokio tasks and feeds their results back as actions. The same runtime
//! serves the interactive console and the tests.

pub mod helper;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use futures::StreamExt as _;
use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::AbortHandle;

use crate::action::Action;
use crate::cluster::{Cluster, EventRow, LogRequest};
use crate::effect::Effect;
use crate::evidence::{EvidenceItem, EvidenceKind, sha256_hex};
use crate::state::sockets::HelperTarget;
use crate::triage::CrashRecord;

/// Evidence captures running at once (each is one logs + one events request).
const EVIDENCE_IN_FLIGHT: usize = 4;

/// Builds a cluster for another kubeconfig context (`:ctx NAME`).
pub type Connector =
    Arc<dyn Fn(String) -> BoxFuture<'static, Result<Arc<dyn Cluster>, String>> + Send + Sync>;

pub struct Runtime {
    cluster: Arc<RwLock<Arc<dyn Cluster>>>,
    tx: mpsc::UnboundedSender<Action>,
    connector: Option<Connector>,
    watch: Option<AbortHandle>,
    follow: Option<AbortHandle>,
    evidence_slots: Arc<Semaphore>,
    helper: Option<helper::SessionHandle>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.abort_all();
    }
}

impl Runtime {
    pub fn new(
        cluster: Arc<dyn Cluster>,
        tx: mpsc::UnboundedSender<Action>,
        connector: Option<Connector>,
    ) -> Self {
        Self {
            cluster: Arc::new(RwLock::new(cluster)),
            tx,
            connector,
            watch: None,
            follow: None,
            evidence_slots: Arc::new(Semaphore::new(EVIDENCE_IN_FLIGHT)),
            helper: None,
        }
    }

    fn cluster(&self) -> Arc<dyn Cluster> {
        match self.cluster.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn abort_all(&mut self) {
        for h in [self.watch.take(), self.follow.take()]
            .into_iter()
            .flatten()
        {
            h.abort();
        }
    }

    fn spawn<F>(&self, fut: F) -> AbortHandle
    where
        F: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(action) = fut.await {
                // The console may have quit; nothing to deliver to then.
                let _ = tx.send(action);
            }
        })
        .abort_handle()
    }

    pub fn run(&mut self, effect: Effect) {
        let cluster = self.cluster();
        match effect {
            Effect::WatchPods(scope) => {
                if let Some(h) = self.watch.take() {
                    h.abort();
                }
                let tx = self.tx.clone();
                let task = tokio::spawn(async move {
                    let mut events = cluster.watch_pods(scope);
                    while let Some(ev) = events.next().await {
                        if tx.send(Action::Pods(ev)).is_err() {
                            break;
                        }
                    }
                });
                self.watch = Some(task.abort_handle());
            }
            Effect::LoadDetail(key) => {
                self.spawn(async move {
                    let res = cluster.pod_detail(key.clone()).await.map(Box::new);
                    Some(Action::DetailLoaded(key, res))
                });
            }
            Effect::LoadEvents(key) => {
                self.spawn(async move {
                    let res = cluster.pod_events(key.clone()).await;
                    Some(Action::EventsLoaded(key, res))
                });
            }
            Effect::LoadLogs(req) => {
                self.spawn(async move {
                    let res = cluster.logs(req.clone()).await;
                    Some(Action::LogsLoaded(req, res))
                });
            }
            Effect::FollowLogs(req) => {
                if let Some(h) = self.follow.take() {
                    h.abort();
                }
                let tx = self.tx.clone();
                let task = tokio::spawn(async move {
                    let mut chunks = cluster.follow_logs(req.clone());
                    while let Some(chunk) = chunks.next().await {
                        if tx.send(Action::LogChunk(req.clone(), chunk)).is_err() {
                            break;
                        }
                    }
                });
                self.follow = Some(task.abort_handle());
            }
            Effect::StopFollow => {
                if let Some(h) = self.follow.take() {
                    h.abort();
                }
            }
            Effect::CaptureEvidence { record, logs } => {
                let slots = self.evidence_slots.clone();
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let Ok(_slot) = slots.acquire_owned().await else {
                        return;
                    };
                    for action in capture(cluster, &record, logs).await {
                        let _ = tx.send(action);
                    }
                });
            }
            Effect::SaveFile { path, bytes } => {
                self.spawn(async move { Some(save(path, bytes).await) });
            }
            Effect::SwitchContext(name) => {
                let Some(connector) = self.connector.clone() else {
                    let _ = self.tx.send(Action::ContextSwitchFailed {
                        context: name,
                        error: "context switching is not available here".to_string(),
                    });
                    return;
                };
                let slot = self.cluster.clone();
                self.spawn(async move {
                    match connector(name.clone()).await {
                        Ok(next) => {
                            let info = next.info();
                            match slot.write() {
                                Ok(mut c) => *c = next,
                                Err(poisoned) => *poisoned.into_inner() = next,
                            }
                            Some(Action::ContextSwitched(info))
                        }
                        Err(error) => Some(Action::ContextSwitchFailed {
                            context: name,
                            error,
                        }),
                    }
                });
            }
            Effect::ConnectHelper { target, subscribe } => {
                let opener = match &target {
                    HelperTarget::Local => Some(helper::local_opener()),
                    HelperTarget::Pod { node } => Some(self.pod_opener(node)),
                    HelperTarget::DemoReplay => None,
                };
                self.helper = Some(helper::start(
                    target,
                    opener,
                    Some(subscribe),
                    self.tx.clone(),
                ));
            }
            Effect::HelperSend(msg) => {
                if let Some(session) = &self.helper {
                    session.send(msg);
                }
            }
            Effect::DisconnectHelper => {
                if let Some(session) = self.helper.take() {
                    session.stop();
                }
            }
            Effect::DeployHelper { node } => {
                let _ = self.tx.send(Action::HelperDeployFailed(format!(
                    "deploying a helper on node {node} is not wired into this build yet"
                )));
            }
            Effect::RemoveHelper { node } => {
                let _ = self.tx.send(Action::HelperRemoveFailed {
                    node,
                    error: "not wired into this build yet".to_string(),
                });
            }
            Effect::Quit => self.abort_all(),
        }
    }
}

impl Runtime {
    /// Opens `ktui-helper serve` in the helper pod of `node` by exec.
    fn pod_opener(&self, node: &str) -> helper::Opener {
        let node = node.to_string();
        Arc::new(move || {
            let node = node.clone();
            Box::pin(async move {
                Err(format!(
                    "exec into the helper on node {node} is not wired into this build yet"
                ))
            })
        })
    }
}

/// Fetch and hash what a first-seen crash leaves behind: its logs and its pod's events.
async fn capture(
    cluster: Arc<dyn Cluster>,
    record: &CrashRecord,
    logs: Option<bool>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let now = jiff::Timestamp::now();
    if let (Some(previous), Some(container)) = (logs, record.container.clone()) {
        let req = LogRequest {
            pod: record.pod.clone(),
            container: container.clone(),
            previous,
            tail_lines: None,
        };
        out.push(match cluster.logs(req).await {
            Ok(bytes) => Action::EvidenceCaptured(EvidenceItem::new(
                EvidenceKind::ContainerLogs,
                record.pod.clone(),
                Some(container),
                previous,
                record.signature.clone(),
                now,
                bytes,
            )),
            Err(e) => Action::EvidenceFailed {
                what: format!("logs of {}/{container}", record.pod),
                error: e.to_string(),
            },
        });
    }
    out.push(match cluster.pod_events(record.pod.clone()).await {
        Ok(events) => Action::EvidenceCaptured(EvidenceItem::new(
            EvidenceKind::PodEvents,
            record.pod.clone(),
            None,
            false,
            record.signature.clone(),
            now,
            events_jsonl(&events),
        )),
        Err(e) => Action::EvidenceFailed {
            what: format!("events of {}", record.pod),
            error: e.to_string(),
        },
    });
    out
}

/// Events as JSON lines (the evidence form).
pub fn events_jsonl(events: &[EventRow]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        let line = serde_json::json!({
            "type": e.type_,
            "reason": e.reason,
            "message": e.message,
            "count": e.count,
            "first_seen": e.first_seen.map(|t| t.to_string()),
            "last_seen": e.last_seen.map(|t| t.to_string()),
            "field_path": e.field_path,
            "source": e.source,
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

async fn save(path: PathBuf, bytes: Vec<u8>) -> Action {
    let shown = path.display().to_string();
    let sha256 = sha256_hex(&bytes);
    let len = bytes.len();
    match tokio::fs::write(&path, &bytes).await {
        Ok(()) => Action::FileSaved {
            path: shown,
            sha256,
            bytes: len,
        },
        Err(e) => Action::SaveFailed {
            path: shown,
            error: e.to_string(),
        },
    }
}
