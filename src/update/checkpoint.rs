//! The checkpoint dialog: `C` (or the menu's entry) opens it on a pod; ←/→ picks the container;
//! Enter asks the kubelet (a container that is not running is refused here, its logs offered);
//! the result comes back as `Action::Checkpointed` into the dialog and a toast. One checkpoint
//! at a time; Esc hides a running one's dialog (it goes on).

pub(super) mod transfer;

use crossterm::event::{KeyCode, KeyEvent};

use super::{open_logs, wants_previous};
use crate::checkpoint::take::{self, PlanError};
use crate::cluster::{ContainerState, PodKey};
use crate::effect::Effect;
use crate::intent::Question;
use crate::state::checkpoint::{
    CheckpointDialog, CheckpointPhase, CheckpointReport, ContainerChoice,
};
use crate::state::menu::{MenuAction, needs};
use crate::state::{AppState, Mode, ToastLevel};

pub fn open(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    let Some((case_id, _)) = state.evidence.case.clone() else {
        state.toast(
            ToastLevel::Error,
            "no case is open: a checkpoint would not be recorded (restart ktui to open one)",
        );
        return Vec::new();
    };
    if let Some(d) = state.checkpoint.as_mut().filter(|d| d.running()) {
        d.shown = true;
        if d.pod != pod {
            let text = format!("the checkpoint of {} is still running", d.pod);
            state.toast(ToastLevel::Info, text);
        }
        state.mode = Mode::Checkpoint;
        return Vec::new();
    }
    let Some(summary) = state.pods.pod(&pod) else {
        state.toast(
            ToastLevel::Error,
            format!("pod {pod} is not in the list any more: nothing to checkpoint"),
        );
        return Vec::new();
    };
    let Some(node) = summary.node.clone().filter(|n| !n.is_empty()) else {
        let why = PlanError::NotScheduled {
            pod: pod.clone(),
            phase: summary.phase.clone(),
        };
        state.toast(ToastLevel::Error, why.to_string());
        return Vec::new();
    };
    let containers: Vec<ContainerChoice> = take::candidates(summary)
        .map(|c| ContainerChoice {
            name: c.name.clone(),
            state: c.state.label(),
            running: matches!(c.state, ContainerState::Running { .. }),
        })
        .collect();
    if containers.is_empty() {
        let why = PlanError::NoContainer { pod: pod.clone() };
        state.toast(ToastLevel::Error, why.to_string());
        return Vec::new();
    }
    // The row's container (the crashed one) when it can be chosen, else the first running.
    let row = super::row_container_of(state, &pod);
    let selected = containers
        .iter()
        .position(|c| row.as_deref() == Some(c.name.as_str()) && c.running)
        .or_else(|| containers.iter().position(|c| c.running))
        .unwrap_or(0);
    // The dialog says when the user lacks the proxy permission (asked once, cached).
    let needs = needs(MenuAction::Checkpoint, &pod, "", true);
    let ask = state.access.to_ask(needs.required, state.now);
    let mut effects = if ask.is_empty() {
        Vec::new()
    } else {
        vec![Effect::CheckAccess(ask)]
    };
    state.checkpoint = Some(CheckpointDialog {
        pod,
        node,
        containers,
        selected,
        phase: CheckpointPhase::Confirm,
        case_id,
        shown: true,
    });
    match state.confirm_policy.answer(Question::Intended) {
        None => state.mode = Mode::Checkpoint,
        Some(true) => effects.extend(start(state)),
        Some(false) => {
            state.checkpoint = None;
            state.toast(
                ToastLevel::Info,
                "not checkpointing: this run answers no to every question",
            );
        }
    }
    effects
}

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    if let Some(effects) = transfer::on_key(state, key) {
        return effects;
    }
    let Some(dialog) = state.checkpoint.as_mut() else {
        return Vec::new();
    };
    let confirm = dialog.phase == CheckpointPhase::Confirm;
    match key.code {
        KeyCode::Esc => {
            dialog.shown = false;
            if !dialog.running() {
                state.checkpoint = None;
            }
            return Vec::new();
        }
        KeyCode::Enter if confirm => return start(state),
        KeyCode::Enter if !dialog.running() => {
            state.checkpoint = None;
            return Vec::new();
        }
        KeyCode::Left if confirm => dialog.pick(false),
        KeyCode::Right if confirm => dialog.pick(true),
        KeyCode::Char('f') if !dialog.running() => return transfer::fetch(state),
        KeyCode::Char('s') if !dialog.running() => return transfer::ask_snapshot(state),
        KeyCode::Char('l') => {
            if let CheckpointPhase::Done(report) = &dialog.phase
                && report.offers_logs
            {
                let (pod, container) = (dialog.pod.clone(), report.container.clone());
                state.checkpoint = None;
                let previous = wants_previous(state, &pod, &container);
                return open_logs(state, pod, container, previous);
            }
        }
        _ => {}
    }
    state.mode = Mode::Checkpoint;
    Vec::new()
}

/// Enter on the question: the plan for the container picked (refused here when it does not
/// run), then the request.
fn start(state: &mut AppState) -> Vec<Effect> {
    let Some(dialog) = state.checkpoint.as_ref() else {
        return Vec::new();
    };
    let Some(container) = dialog.choice().map(|c| c.name.clone()) else {
        return Vec::new();
    };
    let pod = dialog.pod.clone();
    state.mode = Mode::Checkpoint;
    let planned = match state.pods.pod(&pod) {
        Some(summary) => take::plan(summary, Some(&container)),
        None => Err(PlanError::NoSuchContainer {
            pod: pod.clone(),
            container: container.clone(),
            names: Vec::new(),
        }),
    };
    let now = state.now;
    let Some(dialog) = state.checkpoint.as_mut() else {
        return Vec::new();
    };
    match planned {
        Ok(plan) => {
            dialog.phase = CheckpointPhase::Running {
                container,
                since: now,
            };
            vec![Effect::Checkpoint(Box::new(plan))]
        }
        Err(why) => {
            let offers_logs = matches!(why, PlanError::NotRunning(_));
            dialog.phase = CheckpointPhase::Done(Box::new(CheckpointReport {
                container,
                node_path: None,
                message: why.to_string(),
                offers_snapshot: false,
                snapshot_command: String::new(),
                offers_logs,
                node_runs: None,
                recorded: None,
            }));
            Vec::new()
        }
    }
}

/// The kubelet's answer (or why there is none), into the dialog and a toast.
pub fn on_done(state: &mut AppState, pod: PodKey, report: Box<CheckpointReport>) {
    let (level, mut text) = match &report.node_path {
        Some(path) => (
            ToastLevel::Info,
            format!("{}: {path} on the node", report.message),
        ),
        None => (ToastLevel::Error, report.message.clone()),
    };
    if let Some(Err(e)) = &report.recorded {
        text.push_str(&format!(" (not recorded in the case: {e})"));
    }
    state.toast(level, text);
    let Some(dialog) = state.checkpoint.as_mut().filter(|d| {
        d.pod == pod
            && matches!(&d.phase, CheckpointPhase::Running { container, .. } if *container == report.container)
    }) else {
        return;
    };
    dialog.phase = CheckpointPhase::Done(report);
    if !dialog.shown {
        state.checkpoint = None;
    }
}
