//! Executes effects as tokio tasks and feeds their results back as actions. The same runtime
//! serves the interactive console and the tests.

mod capture;
mod checkpoint;
mod clone;
mod export;
pub mod helper;
pub mod keep;
pub mod record;
pub mod transfer;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::StreamExt as _;
use futures::future::BoxFuture;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{AbortHandle, JoinHandle};

use crate::action::Action;
use crate::case::Case;
use crate::cluster::{Cluster, ClusterError, EventRow, LogRequest, Scope};
use crate::effect::Effect;
use crate::evidence::EvidenceKind;
use crate::helper::lifecycle::{self, DEFAULT_READY_TIMEOUT};
use crate::helper::manifest::{self, HelperSpec};
use crate::state::helper::HelperTarget;
use crate::triage::CrashRecord;

/// Evidence captures running at once (each is one logs + one events request).
const EVIDENCE_IN_FLIGHT: usize = 4;

/// Builds a cluster for another kubeconfig context (`:ctx NAME`).
pub type Connector = Arc<
    dyn Fn(String) -> BoxFuture<'static, Result<Arc<dyn Cluster>, crate::cluster::ClusterError>>
        + Send
        + Sync,
>;

pub struct Runtime {
    cluster: Arc<RwLock<Arc<dyn Cluster>>>,
    tx: mpsc::UnboundedSender<Action>,
    connector: Option<Connector>,
    watch: Option<AbortHandle>,
    follow: Option<AbortHandle>,
    clock: Option<AbortHandle>,
    evidence_slots: Arc<Semaphore>,
    helper: Option<helper::SessionHandle>,
    /// Work that must finish before the console exits (evidence captures, file saves, helper
    /// removals), each with what it is, for the message that names what is still running.
    work: Vec<(String, JoinHandle<()>)>,
    /// Everything else started for the screen (loads, preflights, deploys, context switches):
    /// stopped when the run ends, so nothing outlives the console.
    loads: Vec<AbortHandle>,
    /// How far the console is behind the helper session (bounds the memory in between).
    backlog: Arc<helper::Backlog>,
    /// Where evidence goes (None: a driver that keeps none; captures are not attempted).
    case: Option<Case>,
    /// The key exports are signed with (None: `KTUI_SIGNING_KEY`, else the config dir's).
    pub sign_key: Option<std::path::PathBuf>,
    /// Where a live session's socket events go in the case.
    pub event_log: record::EventLog,
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
        case: Option<Case>,
    ) -> Self {
        Self {
            cluster: Arc::new(RwLock::new(cluster)),
            tx,
            connector,
            watch: None,
            follow: None,
            clock: None,
            evidence_slots: Arc::new(Semaphore::new(EVIDENCE_IN_FLIGHT)),
            helper: None,
            work: Vec::new(),
            loads: Vec::new(),
            backlog: Arc::default(),
            case,
            sign_key: None,
            event_log: record::EventLog::default(),
        }
    }

    /// The console handled a batch of helper messages.
    pub fn helper_batch_handled(&self) {
        self.backlog.handled();
    }

    /// Keep `task` until it finishes (the list is pruned as work is added).
    fn track(&mut self, what: String, task: JoinHandle<()>) {
        self.work.retain(|(_, t)| !t.is_finished());
        self.work.push((what, task));
    }

    /// What is still running of the work that must finish.
    pub fn unfinished(&self) -> Vec<String> {
        self.work
            .iter()
            .filter(|(_, t)| !t.is_finished())
            .map(|(what, _)| what.clone())
            .collect()
    }

    /// End the run: stop the streams (pod watch, log follow, helper session), then wait up to
    /// `bound` for the evidence captures and file saves in flight; what has not finished by
    /// then is returned (and aborted).
    pub async fn finish(&mut self, bound: Duration) -> Vec<String> {
        self.abort_all();
        if let Some(session) = self.helper.take() {
            session.stop();
        }
        let deadline = tokio::time::Instant::now() + bound;
        for (_, task) in &mut self.work {
            let _ = tokio::time::timeout_at(deadline, task).await;
        }
        let left = self.unfinished();
        for (_, task) in self.work.drain(..) {
            task.abort();
        }
        left
    }

    fn cluster(&self) -> Arc<dyn Cluster> {
        current(&self.cluster)
    }

    /// Move the console's clock every `interval` (`Action::Tick`), the one clock the terminal
    /// and headless fronts share; it stops with the streams.
    pub fn start_clock(&mut self, interval: Duration) {
        if let Some(h) = self.clock.take() {
            h.abort();
        }
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            tick.tick().await; // the first tick is immediate: the clock was just read
            loop {
                tick.tick().await;
                if tx.send(Action::Tick(jiff::Timestamp::now())).is_err() {
                    break;
                }
            }
        });
        self.clock = Some(task.abort_handle());
    }

    /// Stop the streams (pod watch, log follow, clock) and what was started for the screen.
    pub fn abort_all(&mut self) {
        for h in [self.watch.take(), self.follow.take(), self.clock.take()]
            .into_iter()
            .flatten()
            .chain(self.loads.drain(..))
        {
            h.abort();
        }
    }

    /// Start a task for the screen whose result arrives as an action.
    fn spawn<F>(&mut self, fut: F)
    where
        F: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        let tx = self.tx.clone();
        let task = tokio::spawn(async move {
            if let Some(action) = fut.await {
                // The console may have quit; nothing to deliver to then.
                let _ = tx.send(action);
            }
        });
        self.loads.retain(|h| !h.is_finished());
        self.loads.push(task.abort_handle());
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
                if self.case.is_none() {
                    return; // nothing to keep it in (the state says "no case")
                }
                let slots = self.evidence_slots.clone();
                let tx = self.tx.clone();
                let case = self.case.clone();
                let what = format!("capturing the evidence of {}", record.pod);
                let task = tokio::spawn(async move {
                    let Ok(_slot) = slots.acquire_owned().await else {
                        return;
                    };
                    for action in capture(cluster, case, &record, logs).await {
                        let _ = tx.send(action);
                    }
                });
                self.track(what, task);
            }
            Effect::SaveLogs { request, bytes } => {
                let tx = self.tx.clone();
                let case = self.case.clone();
                let what = format!("saving the logs of {}/{}", request.pod, request.container);
                let task = tokio::spawn(async move {
                    let meta = keep::logs(&request.pod, &request.container, request.previous, None);
                    let _ = tx.send(
                        match keep::keep(case, EvidenceKind::SavedLogs, meta, bytes).await {
                            Ok(item) => Action::EvidenceCaptured(item),
                            Err(error) => Action::EvidenceFailed {
                                what: format!("the logs of {}/{}", request.pod, request.container),
                                error,
                            },
                        },
                    );
                });
                self.track(what, task);
            }
            Effect::KeepHelperSession { node, json } => {
                let tx = self.tx.clone();
                let case = self.case.clone();
                let what = format!("keeping the helper session of node {node}");
                let task = tokio::spawn(async move {
                    let meta = keep::helper_session(&node);
                    let _ = tx.send(
                        match keep::keep(case, EvidenceKind::HelperSession, meta, json).await {
                            Ok(item) => Action::EvidenceCaptured(item),
                            Err(error) => Action::EvidenceFailed {
                                what: format!("the helper session of node {node}"),
                                error,
                            },
                        },
                    );
                });
                self.track(what, task);
            }
            Effect::InspectArchive {
                request,
                path,
                grep,
            } => {
                let case_dir = self.case.as_ref().map(|c| c.dir().to_path_buf());
                self.spawn(async move {
                    let read = tokio::task::spawn_blocking(move || {
                        use crate::checkpoint::inspect::{inspect, render_text};
                        inspect(&path, grep.as_deref().map(str::as_bytes)).map(|mut report| {
                            // An archive in the case is named by its path there.
                            if let Some(rel) =
                                case_dir.as_deref().and_then(|d| path.strip_prefix(d).ok())
                            {
                                report.archive = format!("the case's {}", rel.display());
                            }
                            let matches = report.matches.as_ref().map(Vec::len);
                            let text = render_text(&report);
                            (text.lines().map(str::to_string).collect(), matches)
                        })
                    })
                    .await;
                    let result = match read {
                        Ok(Ok(view)) => Ok(view),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(format!("the reading was interrupted: {e}")),
                    };
                    Some(Action::Inspected { request, result })
                });
            }
            Effect::SaveNotes { generation, text } => {
                let tx = self.tx.clone();
                let Some(case) = self.case.clone() else {
                    let _ = tx.send(Action::NotesSaved {
                        generation,
                        result: Err("no case is open".to_string()),
                    });
                    return;
                };
                let task = tokio::spawn(async move {
                    let saved = tokio::task::spawn_blocking(move || case.save_notes(&text)).await;
                    let result = match saved {
                        Ok(Ok(note)) => Ok(note.sha256),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(e) => Err(format!("the save was interrupted: {e}")),
                    };
                    let _ = tx.send(Action::NotesSaved { generation, result });
                });
                self.track("saving the notes".to_string(), task);
            }
            Effect::Checkpoint(plan) => {
                let what = format!(
                    "checkpointing container {} of {}",
                    plan.container.name, plan.pod
                );
                let task = tokio::spawn(checkpoint::run(
                    cluster,
                    self.case.clone(),
                    *plan,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::PrepareClone {
                request,
                pod,
                container,
                options,
            } => {
                let what = format!("reading what a clone of {pod} takes");
                let task = tokio::spawn(clone::prepare(
                    cluster,
                    self.case.clone(),
                    request,
                    pod,
                    container,
                    options,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::CreateClone { pod, prepared } => {
                let what = format!("creating the clone of {pod}");
                let task = tokio::spawn(clone::create(
                    cluster,
                    self.case.clone(),
                    pod,
                    prepared,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::RemoveClone {
                clone,
                with_snapshots,
            } => {
                let what = format!("removing clone {clone}");
                let task = tokio::spawn(clone::remove(
                    cluster,
                    self.case.clone(),
                    clone,
                    with_snapshots,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::HelperTransfer(job) => {
                let what = format!(
                    "taking {} of container {} of {} into the case",
                    job.what(),
                    job.container,
                    job.pod
                );
                let task = tokio::spawn(transfer::run(
                    cluster,
                    self.case.clone(),
                    *job,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::RemoveNodeCopy {
                job,
                node_path,
                copy,
            } => {
                let what = format!("removing {node_path} from node {}", job.node);
                let task = tokio::spawn(transfer::remove(
                    cluster,
                    self.case.clone(),
                    *job,
                    node_path,
                    *copy,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::CheckCaptureHelper {
                capture,
                node,
                image,
                variant,
            } => {
                self.spawn(async move {
                    Some(capture::check_helper(cluster, capture, node, image, variant).await)
                });
            }
            Effect::FetchCaptureFile(job) => {
                let what = format!("fetching {} into the case", job.node_path);
                let task = tokio::spawn(capture::fetch(
                    cluster,
                    self.case.clone(),
                    *job,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::WriteCaptureRecord {
                capture,
                pod,
                node,
                name,
                json,
            } => {
                let what = format!("writing the record of capture {name}");
                let task = tokio::spawn(capture::record(
                    self.case.clone(),
                    capture,
                    pod,
                    node,
                    name,
                    json,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::CheckAccess(checks) => {
                self.spawn(async move {
                    let result = cluster.access(checks.clone()).await;
                    Some(Action::AccessChecked { checks, result })
                });
            }
            Effect::ExportPod {
                pod,
                case_id,
                out,
                s3,
            } => {
                let what = format!("exporting {pod}");
                let job = export::ExportJob {
                    pod,
                    case_id,
                    out,
                    s3,
                    sign_key: self.sign_key.clone(),
                };
                let task = tokio::spawn(export::run(
                    cluster,
                    self.case.clone(),
                    job,
                    self.tx.clone(),
                ));
                self.track(what, task);
            }
            Effect::SwitchContext(name) => {
                let Some(connector) = self.connector.clone() else {
                    let _ = self.tx.send(Action::ContextSwitchFailed {
                        context: name,
                        error: ClusterError::NotInDemo {
                            what: "switching kubeconfig contexts".to_string(),
                        },
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
            Effect::ConnectHelper { target, standing } => {
                let opener = match &target {
                    HelperTarget::Local => Some(helper::local_opener()),
                    HelperTarget::Pod { node } => Some(self.pod_opener(node)),
                    HelperTarget::DemoReplay => None,
                };
                // A live session's socket events go into the case (a replay's are not evidence).
                let node = match &target {
                    HelperTarget::Pod { node } => Some(node.clone()),
                    HelperTarget::Local => Some("local".to_string()),
                    HelperTarget::DemoReplay => None,
                };
                let node = node.filter(|_| self.event_log != record::EventLog::Off);
                let recorder = self.case.clone().zip(node).map(|(case, node)| {
                    record::Recorder::start(case, node, self.event_log, self.tx.clone())
                });
                self.helper = Some(helper::start(
                    target,
                    opener,
                    Some(standing),
                    cluster,
                    self.tx.clone(),
                    self.backlog.clone(),
                    recorder,
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
            Effect::PreflightHelper { node, image } => {
                self.spawn(async move {
                    let spec = HelperSpec {
                        image,
                        ..HelperSpec::new(Some(&node))
                    };
                    let summary = match lifecycle::preflight(cluster.as_ref(), &spec).await {
                        Ok(pre) => pre.summary(),
                        Err(e) => Some(format!("cannot check before deploying: {e}")),
                    };
                    Some(Action::HelperPreflighted { node, summary })
                });
            }
            Effect::DeployHelper {
                node,
                image,
                variant,
            } => {
                let tx = self.tx.clone();
                let case = self.case.clone();
                self.spawn(async move {
                    let spec = HelperSpec {
                        image,
                        variant,
                        ..HelperSpec::new(Some(&node))
                    };
                    let mut progress = |step: String| {
                        let _ = tx.send(Action::HelperDeployProgress(step));
                    };
                    let deployed = lifecycle::deploy(
                        cluster.as_ref(),
                        &spec,
                        DEFAULT_READY_TIMEOUT,
                        &mut progress,
                    )
                    .await;
                    Some(match deployed {
                        Ok(d) => {
                            // What was created goes into custody (`ktui cleanup` reads it).
                            let entries = keep::created_entries(&d.created);
                            if let Err(e) = keep::record(case, entries).await {
                                let _ = tx.send(Action::EvidenceFailed {
                                    what: format!("the custody line of the helper on {node}"),
                                    error: e,
                                });
                            }
                            Action::HelperDeployed {
                                node,
                                image_id: d.image_id,
                            }
                        }
                        Err(e) => Action::HelperDeployFailed(e),
                    })
                });
            }
            Effect::RemoveHelper { node } => {
                // A removal in flight is finished before the run ends: it deletes what this
                // run created.
                let tx = self.tx.clone();
                let what = format!("removing the helper on node {node}");
                let case = self.case.clone();
                let task = tokio::spawn(async move {
                    let scope = Scope::Namespace(manifest::DEFAULT_NAMESPACE.to_string());
                    let _ = tx.send(
                        match lifecycle::remove_node(cluster.as_ref(), scope, &node).await {
                            Ok(removed) => {
                                let entries = removed
                                    .iter()
                                    .map(|pod| {
                                        crate::case::Entry::ok(
                                            crate::case::Action::RemoveHelper,
                                            keep::object_target(&crate::cluster::ObjectRef::pod(
                                                pod,
                                            )),
                                            vec![],
                                        )
                                    })
                                    .collect();
                                let _ = keep::record(case, entries).await;
                                Action::HelperRemoved { node }
                            }
                            Err(e) => Action::HelperRemoveFailed { node, error: e },
                        },
                    );
                });
                self.track(what, task);
            }
            Effect::Quit => self.abort_all(),
        }
    }
}

impl Runtime {
    /// Opens `ktui-helper serve` in the helper pod of `node` by exec (on the cluster of the
    /// moment: a reconnect after `:ctx` goes to the new context's helper).
    fn pod_opener(&self, node: &str) -> helper::Opener {
        let key = HelperSpec::new(Some(node)).pod_key();
        let slot = self.cluster.clone();
        Arc::new(move || {
            let cluster = current(&slot);
            let open = lifecycle::open(cluster.as_ref(), &key);
            let key = key.clone();
            Box::pin(async move {
                open.await
                    .map_err(|e| crate::helper::client::HelperError::exec(key, e))
            })
        })
    }
}

/// The cluster of the moment (`:ctx` swaps it).
/// A transfer's progress callback that calls `report` at most once per `every` (and always
/// once the total is reached): transfers report bytes per chunk, the console needs a few
/// updates a second.
fn throttled(
    every: Duration,
    mut report: impl FnMut(u64, Option<u64>) + Send,
) -> impl FnMut(u64, Option<u64>) + Send {
    let mut last: Option<std::time::Instant> = None;
    move |done, total| {
        let finished = total.is_some_and(|t| done >= t);
        if finished || last.is_none_or(|at| at.elapsed() >= every) {
            last = Some(std::time::Instant::now());
            report(done, total);
        }
    }
}

fn current(slot: &RwLock<Arc<dyn Cluster>>) -> Arc<dyn Cluster> {
    match slot.read() {
        Ok(c) => c.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Fetch what a first-seen crash leaves behind, its logs and its pod's events, into the case.
async fn capture(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    record: &CrashRecord,
    logs: Option<bool>,
) -> Vec<Action> {
    let mut out = Vec::new();
    let signature = Some(record.signature.as_str());
    if let (Some(previous), Some(container)) = (logs, record.container.clone()) {
        let req = LogRequest {
            pod: record.pod.clone(),
            container: container.clone(),
            previous,
            tail_lines: None,
        };
        let kept = match cluster.logs(req).await {
            Ok(bytes) => {
                let meta = keep::logs(&record.pod, &container, previous, signature);
                keep::keep(case.clone(), EvidenceKind::ContainerLogs, meta, bytes).await
            }
            Err(e) => Err(e.into()),
        };
        out.push(match kept {
            Ok(item) => Action::EvidenceCaptured(item),
            Err(error) => Action::EvidenceFailed {
                what: format!("logs of {}/{container}", record.pod),
                error,
            },
        });
    }
    let kept = match cluster.pod_events(record.pod.clone()).await {
        Ok(events) => {
            let meta = keep::events(&record.pod, signature);
            keep::keep(case, EvidenceKind::PodEvents, meta, events_json(&events)).await
        }
        Err(e) => Err(e.into()),
    };
    out.push(match kept {
        Ok(item) => Action::EvidenceCaptured(item),
        Err(error) => Action::EvidenceFailed {
            what: format!("events of {}", record.pod),
            error,
        },
    });
    out
}

/// Events as a JSON array (the evidence form, `events.json`).
pub fn events_json(events: &[EventRow]) -> Vec<u8> {
    let all: Vec<serde_json::Value> = events
        .iter()
        .map(|e| {
            serde_json::json!({
                "type": e.type_,
                "reason": e.reason,
                "message": e.message,
                "count": e.count,
                "first_seen": e.first_seen.map(|t| t.to_string()),
                "last_seen": e.last_seen.map(|t| t.to_string()),
                "field_path": e.field_path,
                "source": e.source,
            })
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&all).unwrap_or_default();
    out.push(b'\n');
    out
}
