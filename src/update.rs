//! `update(&mut AppState, Action) -> Vec<Effect>`: the console's only writer. No IO here.

mod checkpoint;
mod clone;
mod export;
mod inspect;
mod intents;
mod keys;
mod menu;
mod notes;
pub(crate) mod packets;
pub(crate) mod sockets;

use crate::action::Action;
use crate::cluster::{ContainerState, LogRequest, PodEvent, PodKey, Scope};
use crate::effect::Effect;
use crate::state::logs::{LogsState, LogsStatus};
use crate::state::{AppState, DetailState, Screen, ToastLevel};
use crate::triage::Category;

/// Lines of log tail fetched when opening the logs pane.
pub const LOG_TAIL_LINES: i64 = 5_000;

pub fn update(state: &mut AppState, action: Action) -> Vec<Effect> {
    let was_quitting = state.quit;
    let mut effects = dispatch(state, action);
    if state.quit && !was_quitting {
        // The helper session's final loss counters and unsaved notes go with the evidence
        // (before the Quit).
        let mut last: Vec<Effect> = sockets::record_final(state).into_iter().collect();
        last.extend(notes::save(state));
        effects.splice(0..0, last);
    }
    effects
}

fn dispatch(state: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::Key(key) => keys::on_key(state, key),
        Action::Intent(intent) => intents::apply(state, intent),
        Action::Resize(w, h) => {
            state.size = (w, h);
            if let Some(l) = state.logs.as_mut() {
                l.page = logs_page(state.size);
            }
            Vec::new()
        }
        Action::Tick(now) => {
            state.now = now;
            state.toasts.retain(|t| t.until > now);
            notes::on_tick(state)
        }
        Action::Inspected { request, result } => {
            inspect::on_inspected(state, request, result);
            Vec::new()
        }
        Action::NotesSaved { generation, result } => {
            notes::on_saved(state, generation, result);
            Vec::new()
        }
        Action::ExportProgress { step, done, total } => {
            export::on_progress(state, step, done, total);
            Vec::new()
        }
        Action::Exported(result) => {
            export::on_done(state, result);
            Vec::new()
        }
        Action::Checkpointed { pod, report } => {
            checkpoint::on_done(state, pod, report);
            Vec::new()
        }
        Action::ClonePrepared { request, result } => clone::on_prepared(state, request, result),
        Action::CloneCreated { pod, result } => {
            clone::on_created(state, pod, result);
            Vec::new()
        }
        Action::CloneRemoved { clone, result } => {
            clone::on_removed(state, clone, result);
            Vec::new()
        }
        Action::TransferNeedsHelper { pod, variant, why } => {
            checkpoint::transfer::on_needs_helper(state, pod, variant, why)
        }
        Action::TransferProgress { pod, done, total } => {
            checkpoint::transfer::on_progress(state, pod, done, total);
            Vec::new()
        }
        Action::Transferred { pod, result } => {
            checkpoint::transfer::on_transferred(state, pod, result);
            Vec::new()
        }
        Action::NodeCopyRemoved { pod, result } => {
            checkpoint::transfer::on_removed(state, pod, result);
            Vec::new()
        }
        Action::CaptureHelperChecked { capture, result } => {
            packets::on_helper_checked(state, capture, result)
        }
        Action::CaptureFileProgress {
            capture,
            wire_id,
            seq,
            done,
            total,
        } => {
            packets::on_progress(state, capture, wire_id, seq, done, total);
            Vec::new()
        }
        Action::CaptureFileFetched {
            capture,
            wire_id,
            seq,
            result,
        } => packets::on_fetched(state, capture, wire_id, seq, result),
        Action::CaptureFileRemoved {
            capture,
            wire_id,
            seq,
            result,
        } => packets::on_removed(state, capture, wire_id, seq, result),
        Action::CaptureRecorded { capture, result } => packets::on_recorded(state, capture, result),
        Action::HelperDeployed { node, image_id } => {
            packets::on_deployed(state, &node);
            let mut effects = checkpoint::transfer::on_deployed(state, &node);
            effects.extend(sockets::on_action(
                state,
                Action::HelperDeployed { node, image_id },
            ));
            effects
        }
        Action::HelperDeployFailed(error) => {
            checkpoint::transfer::on_deploy_failed(state, &error.to_string());
            packets::on_deploy_failed(state, &error.to_string());
            sockets::on_action(state, Action::HelperDeployFailed(error))
        }
        checked @ Action::AccessChecked { .. } => menu::on_checked(state, checked),
        Action::Pods(ev) => on_pod_event(state, ev),
        Action::DetailLoaded(key, res) => {
            if let Some(d) = state.detail.as_mut().filter(|d| d.key == key) {
                d.detail = Some(res.map(|d| *d).map_err(|e| e.to_string()));
            }
            Vec::new()
        }
        Action::EventsLoaded(key, res) => {
            if let Some(d) = state.detail.as_mut().filter(|d| d.key == key) {
                d.events = Some(res.map_err(|e| e.to_string()));
            }
            Vec::new()
        }
        Action::LogsLoaded(req, res) => {
            if let Some(l) = state.logs.as_mut().filter(|l| l.request == req) {
                match res {
                    Ok(bytes) => {
                        l.set(bytes);
                        l.scroll_to_end();
                    }
                    Err(e) => l.status = LogsStatus::Failed(e.to_string()),
                }
            }
            Vec::new()
        }
        Action::LogChunk(req, res) => {
            let Some(l) = state.logs.as_mut().filter(|l| l.request == req) else {
                return Vec::new();
            };
            match res {
                Ok(bytes) => {
                    if l.status == LogsStatus::Loading {
                        l.status = LogsStatus::Following;
                    }
                    l.append(&bytes);
                }
                Err(e) => {
                    l.status = LogsStatus::Failed(format!("follow stopped: {e}"));
                    l.follow = false;
                }
            }
            Vec::new()
        }
        Action::EvidenceCaptured(item) => {
            if item.kind == crate::evidence::EvidenceKind::SavedLogs {
                state.toast(
                    ToastLevel::Info,
                    format!(
                        "saved {} bytes, sha256 {}, to the case as {}",
                        item.size, item.sha256, item.path
                    ),
                );
            }
            state.evidence.add(item);
            Vec::new()
        }
        Action::EvidenceFailed { what, error } => {
            let text = format!("could not keep {what}: {error}");
            state.toast(ToastLevel::Error, text.clone());
            state.evidence.record_failure(text);
            Vec::new()
        }
        Action::ContextSwitched(info) => {
            state.scope = Scope::Namespace(info.namespace.clone());
            state.info = info;
            state.fatal = None;
            state.pods.clear();
            state.screen = Screen::Table;
            state.detail = None;
            state.logs = None;
            vec![Effect::StopFollow, Effect::WatchPods(state.scope.clone())]
        }
        Action::ContextSwitchFailed { context, error } => {
            state.toast(
                ToastLevel::Error,
                format!("cannot switch to context {context}: {error}"),
            );
            Vec::new()
        }
        helper @ (Action::HelperConnected(_)
        | Action::HelperMessages(_)
        | Action::HelperBadLine(_)
        | Action::HelperStreamLost { .. }
        | Action::HelperDeployProgress(_)
        | Action::HelperPreflighted { .. }
        | Action::HelperRemoved { .. }
        | Action::HelperRemoveFailed { .. }) => sockets::on_action(state, helper),
    }
}

fn on_pod_event(state: &mut AppState, ev: PodEvent) -> Vec<Effect> {
    match ev {
        PodEvent::Resync => {
            state.pods.begin_resync();
            Vec::new()
        }
        PodEvent::Applied(pod) => {
            let fresh = state.pods.apply(*pod);
            fresh
                .into_iter()
                .map(|record| {
                    let logs = match (&record.container, record.category) {
                        (Some(c), Category::Crashed) => Some(wants_previous(state, &record.pod, c)),
                        _ => None,
                    };
                    Effect::CaptureEvidence {
                        record: Box::new(record),
                        logs,
                    }
                })
                .collect()
        }
        PodEvent::ResyncDone => {
            state.pods.end_resync();
            Vec::new()
        }
        PodEvent::Deleted(key) => {
            state.pods.delete(&key);
            Vec::new()
        }
        PodEvent::Connection(c) => {
            state.connection = c;
            Vec::new()
        }
        PodEvent::Heard(at) => {
            state.heard = Some(at);
            Vec::new()
        }
        PodEvent::Failed(e) => {
            let text = e.to_string();
            state.toast(ToastLevel::Error, text.clone());
            state.fatal = Some(text);
            Vec::new()
        }
    }
}

/// Log lines visible at a terminal size: status bar, prompt and two borders take four rows.
pub(crate) fn logs_page(size: (u16, u16)) -> usize {
    usize::from(size.1.saturating_sub(4)).max(1)
}

/// Open the detail screen for a pod.
pub(crate) fn open_detail(state: &mut AppState, key: PodKey) -> Vec<Effect> {
    state.detail = Some(DetailState {
        key: key.clone(),
        detail: None,
        events: None,
        scroll: 0,
    });
    state.screen = Screen::Detail;
    vec![Effect::LoadDetail(key.clone()), Effect::LoadEvents(key)]
}

/// The logs that explain a crash: the previous instance's when the container restarted, the
/// current ones when it is terminated now (or never restarted).
pub fn wants_previous(state: &AppState, key: &PodKey, container: &str) -> bool {
    state
        .pods
        .pod(key)
        .and_then(|p| p.container(container))
        .is_some_and(|c| {
            !matches!(c.state, ContainerState::Terminated { .. })
                && matches!(c.last_state, ContainerState::Terminated { .. })
        })
}

/// The container to show for a pod: the first that restarted, else the first.
pub(crate) fn row_container_of(state: &AppState, key: &PodKey) -> Option<String> {
    state.pods.pod(key).and_then(|p| {
        p.containers
            .iter()
            .find(|c| c.restarts > 0)
            .or_else(|| p.containers.first())
            .map(|c| c.name.clone())
    })
}

/// Open the logs screen for a container.
pub(crate) fn open_logs(
    state: &mut AppState,
    key: PodKey,
    container: String,
    previous: bool,
) -> Vec<Effect> {
    let request = LogRequest {
        pod: key,
        container,
        previous,
        tail_lines: Some(LOG_TAIL_LINES),
    };
    let mut logs = LogsState::new(request.clone());
    logs.page = logs_page(state.size);
    state.logs = Some(logs);
    state.screen = Screen::Logs;
    vec![Effect::StopFollow, Effect::LoadLogs(request)]
}

#[cfg(test)]
mod tests;
