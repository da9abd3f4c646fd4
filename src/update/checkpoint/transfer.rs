//! After the kubelet's answer, through the node's helper: `f` fetches the archive into the
//! case (then asks whether to remove it from the node, default no); `s` asks before a live
//! snapshot (where the kubelet cannot checkpoint, or instead of it) and takes it. When no
//! ready helper with what the job needs runs on the node, the deploy confirmation is asked
//! (the snapshot variant for a snapshot) and the job goes on once the helper is deployed.

mod deploy;

use crossterm::event::{KeyCode, KeyEvent};

use crate::cluster::{ContainerState, PodKey};
use crate::effect::Effect;
use crate::helper::snapshot::SnapshotRequest;
use crate::state::checkpoint::{
    CheckpointPhase, FetchedCopy, HelperJob, Removal, TransferJob, TransferReport,
};
use crate::state::{AppState, Mode, ToastLevel};

pub use deploy::{on_deploy_answer, on_deploy_failed, on_deployed, on_needs_helper};

/// `f` on a checkpoint written on the node: fetch it.
pub fn fetch(state: &mut AppState) -> Vec<Effect> {
    let Some(d) = state.checkpoint.as_ref() else {
        return Vec::new();
    };
    let CheckpointPhase::Done(report) = &d.phase else {
        return Vec::new();
    };
    let Some(node_path) = report.node_path.clone() else {
        return Vec::new();
    };
    let job = TransferJob {
        pod: d.pod.clone(),
        container: report.container.clone(),
        node: d.node.clone(),
        image: state.helper.image.clone(),
        job: HelperJob::Fetch { node_path },
    };
    start(state, job)
}

/// `s` on the question (the container picked) or on a refusal that offers it: ask first.
pub fn ask_snapshot(state: &mut AppState) -> Vec<Effect> {
    let Some(d) = state.checkpoint.as_mut() else {
        return Vec::new();
    };
    let container = match &d.phase {
        CheckpointPhase::Confirm => d.choice().filter(|c| c.running).map(|c| c.name.clone()),
        CheckpointPhase::Done(r) if r.offers_snapshot => Some(r.container.clone()),
        _ => None,
    };
    let Some(container) = container else {
        if d.phase == CheckpointPhase::Confirm {
            state.toast(
                ToastLevel::Error,
                "the container is not running: it has no processes to snapshot (its logs are what is left)",
            );
        }
        return Vec::new();
    };
    d.phase = CheckpointPhase::SnapshotConfirm { container };
    state.mode = Mode::Checkpoint;
    Vec::new()
}

/// The snapshot asked for: the request from the container's status, then the job.
fn take_snapshot(state: &mut AppState, container: String) -> Vec<Effect> {
    let Some(d) = state.checkpoint.as_ref() else {
        return Vec::new();
    };
    let (pod, node) = (d.pod.clone(), d.node.clone());
    match snapshot_request(state, &pod, &container) {
        Ok(request) => {
            let job = TransferJob {
                pod,
                container,
                node,
                image: state.helper.image.clone(),
                job: HelperJob::Snapshot {
                    request: Box::new(request),
                },
            };
            start(state, job)
        }
        Err(why) => {
            state.toast(ToastLevel::Error, why.clone());
            if let Some(d) = state.checkpoint.as_mut() {
                let job = TransferJob {
                    pod,
                    container,
                    node,
                    image: state.helper.image.clone(),
                    job: HelperJob::Snapshot {
                        request: Box::default(),
                    },
                };
                d.phase = CheckpointPhase::Transferred(Box::new(TransferReport {
                    job,
                    result: Err(why),
                    removal: Removal::NotOffered,
                }));
            }
            Vec::new()
        }
    }
}

/// What `snapshot.json` is told about the container (its status: runtime id, image, image
/// digest, start time; the pod's UID).
pub fn snapshot_request(
    state: &AppState,
    pod: &PodKey,
    container: &str,
) -> Result<SnapshotRequest, String> {
    let summary = state
        .pods
        .pod(pod)
        .ok_or_else(|| format!("pod {pod} is not in the list any more: nothing to snapshot"))?;
    let c = summary.container(container).ok_or_else(|| {
        format!("pod {pod} has no container {container} any more: nothing to snapshot")
    })?;
    let ContainerState::Running { started_at } = &c.state else {
        return Err(format!(
            "container {container} of {pod} is not running ({}): it has no processes to snapshot; its logs are what is left",
            c.state.label()
        ));
    };
    let mut request = c
        .container_id
        .as_deref()
        .and_then(SnapshotRequest::from_status_id)
        .ok_or_else(|| {
            format!(
                "container {container} of {pod} reports no runtime container id: the helper cannot find its processes (wait until its status shows one, then try again)"
            )
        })?;
    request.pod = Some(pod.name.clone());
    request.namespace = Some(pod.namespace.clone());
    request.pod_uid = Some(summary.uid.clone()).filter(|u| !u.is_empty());
    request.container = Some(container.to_string());
    request.image = Some(c.image.clone()).filter(|i| !i.is_empty());
    request.image_ref = c.image_id.clone().filter(|i| !i.is_empty());
    request.created = started_at.map(|t| t.to_string());
    Ok(request)
}

/// Look for the helper and run `job` (the runtime asks back when none is ready).
fn start(state: &mut AppState, job: TransferJob) -> Vec<Effect> {
    let Some(d) = state.checkpoint.as_mut() else {
        return Vec::new();
    };
    let step = format!(
        "looking for a ready helper on node {}",
        crate::sanitize::line(&job.node)
    );
    d.phase = CheckpointPhase::Helper {
        job: Box::new(job.clone()),
        step,
        asked: false,
    };
    state.mode = Mode::Checkpoint;
    vec![Effect::HelperTransfer(Box::new(job))]
}

/// Keys while the dialog is in a transfer phase (None: not one of them). The dialog keeps
/// the keys while it is shown.
pub fn on_key(state: &mut AppState, key: KeyEvent) -> Option<Vec<Effect>> {
    let effects = keys(state, key)?;
    if state.checkpoint.as_ref().is_some_and(|d| d.shown) && matches!(state.mode, Mode::Normal) {
        state.mode = Mode::Checkpoint;
    }
    Some(effects)
}

fn keys(state: &mut AppState, key: KeyEvent) -> Option<Vec<Effect>> {
    let d = state.checkpoint.as_mut()?;
    match &mut d.phase {
        CheckpointPhase::SnapshotConfirm { container } => {
            let container = container.clone();
            Some(match key.code {
                KeyCode::Enter | KeyCode::Char('y') => take_snapshot(state, container),
                KeyCode::Esc | KeyCode::Char('n') => {
                    state.checkpoint = None;
                    Vec::new()
                }
                _ => Vec::new(),
            })
        }
        CheckpointPhase::Helper { .. } | CheckpointPhase::Transfer { .. } => {
            if key.code == KeyCode::Esc {
                d.shown = false;
            }
            Some(Vec::new())
        }
        CheckpointPhase::Transferred(report) => {
            let asking = report.removal == Removal::Asking;
            Some(match key.code {
                KeyCode::Char('y') if asking => {
                    report.removal = Removal::Removing;
                    let (HelperJob::Fetch { node_path }, Ok(copy)) =
                        (&report.job.job, &report.result)
                    else {
                        return Some(Vec::new());
                    };
                    vec![Effect::RemoveNodeCopy {
                        job: Box::new(report.job.clone()),
                        node_path: node_path.clone(),
                        copy: Box::new(copy.clone()),
                    }]
                }
                // No is the default: the archive stays, and the toast says where.
                KeyCode::Char('n') | KeyCode::Enter | KeyCode::Esc if asking => {
                    let text = kept_text(&report.job);
                    state.checkpoint = None;
                    state.toast(ToastLevel::Info, text);
                    Vec::new()
                }
                // Inspect the copy in the case (keeping the node's copy when still asked).
                KeyCode::Char('i') if report.removal != Removal::Removing => {
                    let Ok(copy) = &report.result else {
                        return Some(Vec::new());
                    };
                    let path = std::path::PathBuf::from(&copy.entry.path);
                    let kept = asking.then(|| kept_text(&report.job));
                    state.checkpoint = None;
                    state.mode = Mode::Normal;
                    if let Some(text) = kept {
                        state.toast(ToastLevel::Info, text);
                    }
                    super::super::inspect::open(state, path)
                }
                KeyCode::Esc if report.removal == Removal::Removing => {
                    d.shown = false;
                    Vec::new()
                }
                KeyCode::Enter | KeyCode::Esc if report.removal != Removal::Removing => {
                    state.checkpoint = None;
                    Vec::new()
                }
                _ => Vec::new(),
            })
        }
        _ => None,
    }
}

fn kept_text(job: &TransferJob) -> String {
    let path = match &job.job {
        HelperJob::Fetch { node_path } => node_path.as_str(),
        HelperJob::Snapshot { .. } => "",
    };
    format!(
        "the archive stays on node {} at {}: it holds process memory, remove it once it is no longer needed (the copy is in the case)",
        crate::sanitize::line(&job.node),
        crate::sanitize::line(path)
    )
}

/// The job ends without a copy: why (a toast too).
fn fail(state: &mut AppState, why: String) {
    let Some(job) = state
        .checkpoint
        .as_ref()
        .and_then(|d| d.transfer_job())
        .cloned()
    else {
        return;
    };
    state.toast(ToastLevel::Error, why.clone());
    let Some(d) = state.checkpoint.as_mut() else {
        return;
    };
    d.phase = CheckpointPhase::Transferred(Box::new(TransferReport {
        job,
        result: Err(why),
        removal: Removal::NotOffered,
    }));
    if !d.shown {
        state.checkpoint = None;
    }
}

pub fn on_progress(state: &mut AppState, pod: PodKey, done: u64, total: Option<u64>) {
    let Some(d) = state.checkpoint.as_mut() else {
        return;
    };
    let Some(job) = d.transfer_job().filter(|j| j.pod == pod).cloned() else {
        return;
    };
    d.phase = CheckpointPhase::Transfer {
        job: Box::new(job),
        done,
        total,
    };
}

pub fn on_transferred(state: &mut AppState, pod: PodKey, result: Result<Box<FetchedCopy>, String>) {
    let Some(job) = state
        .checkpoint
        .as_ref()
        .and_then(|d| d.transfer_job())
        .filter(|j| j.pod == pod)
        .cloned()
    else {
        return;
    };
    let result = result.map(|c| *c);
    let removal = match (&job.job, &result) {
        (HelperJob::Fetch { .. }, Ok(c)) if c.can_remove => Removal::Asking,
        (HelperJob::Fetch { .. }, Ok(_)) => Removal::Manual,
        _ => Removal::NotOffered,
    };
    match &result {
        Ok(copy) => {
            let mut text = format!(
                "{} of {}/{} is in the case: {} (sha256 {})",
                job.what(),
                pod,
                crate::sanitize::line(&job.container),
                crate::sanitize::line(&copy.entry.path),
                copy.entry.sha256.as_deref().unwrap_or("?")
            );
            let hidden = state.checkpoint.as_ref().is_some_and(|d| !d.shown);
            if removal == Removal::Asking && hidden {
                text.push_str("; remove it from the node? (C on the pod to answer)");
            }
            state.toast(ToastLevel::Info, text);
        }
        Err(e) => state.toast(ToastLevel::Error, crate::sanitize::line(e).into_owned()),
    }
    let Some(d) = state.checkpoint.as_mut() else {
        return;
    };
    d.phase = CheckpointPhase::Transferred(Box::new(TransferReport {
        job,
        result,
        removal: removal.clone(),
    }));
    if !d.shown && removal != Removal::Asking {
        state.checkpoint = None;
    }
}

pub fn on_removed(state: &mut AppState, pod: PodKey, result: Result<String, String>) {
    let node = match &result {
        Ok(said) => {
            state.toast(ToastLevel::Info, format!("removed from the node: {said}"));
            None
        }
        Err(e) => {
            state.toast(ToastLevel::Error, crate::sanitize::line(e).into_owned());
            Some(e.clone())
        }
    };
    let Some(d) = state.checkpoint.as_mut().filter(|d| d.pod == pod) else {
        return;
    };
    if let CheckpointPhase::Transferred(r) = &mut d.phase
        && r.removal == Removal::Removing
    {
        r.removal = node.map_or(Removal::Removed, Removal::Failed);
    }
    if !d.shown {
        state.checkpoint = None;
    }
}
