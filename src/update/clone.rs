//! The clone dialog: `c` (or the menu's entry) reads the cluster for a clone of the pod's crash
//! (`Effect::PrepareClone`); the plan comes back as a confirmation (Enter creates) — or, when a
//! clone of the same crash signature exists, that clone is offered (Enter selects it, `f`
//! reads the whole plan again without dedup to confirm another beside it, `x` asks to remove
//! it); on a clone itself, the removal question
//! (`s` adds its VolumeSnapshots, Enter removes). One clone dialog at a time; Esc hides a
//! running create or removal (it goes on) and cancels the rest.

use crossterm::event::{KeyCode, KeyEvent};
use jiff::SignedDuration;

use crate::clone::{CloneOptions, DEFAULT_DEDUP_WINDOW};
use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::intent::{ConfirmPolicy, Question};
use crate::state::clone::{
    CloneDialog, CloneLook, ClonePhase, CloneReady, CloneSummary, CreatedClone, RemovalAsk,
    RemovedClone,
};
use crate::state::menu::{MenuAction, needs};
use crate::state::pods::Row;
use crate::state::{AppState, Mode, Screen, ToastLevel};
use crate::view::text::age;

/// `c` on a pod: the clone of its crash (the selected row's container), or the removal of a
/// clone.
pub fn open(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    if state.evidence.case.is_none() {
        state.toast(
            ToastLevel::Error,
            "no case is open: a clone's logs and records would not be kept (restart ktui to open one)",
        );
        return Vec::new();
    }
    if let Some(d) = state.clone.dialog.as_mut().filter(|d| d.running()) {
        d.shown = true;
        if d.pod != pod {
            let text = format!("the clone dialog of {} is still busy", d.pod);
            state.toast(ToastLevel::Info, text);
        }
        if state.confirm_policy == ConfirmPolicy::Ask {
            state.mode = Mode::Clone;
        }
        return Vec::new();
    }
    if state.pods.pod(&pod).is_none() && !state.clone.known.contains(&pod) {
        state.toast(
            ToastLevel::Error,
            format!("pod {pod} is not in the list any more: nothing to clone"),
        );
        return Vec::new();
    }
    if state.confirm_policy.answer(Question::Intended) == Some(false) {
        state.toast(
            ToastLevel::Info,
            "not cloning: this run answers no to every question",
        );
        return Vec::new();
    }
    // The crashed container of the selected row, when it is this pod's.
    let container = state.pods.selected_row().and_then(|row| match row {
        Row::Crash { record, .. } if record.pod == pod => record.container.clone(),
        _ => None,
    });
    // The dialog says what the user lacks (asked once, cached).
    let needs = needs(MenuAction::Clone, &pod, "", true);
    let checks = needs
        .required
        .into_iter()
        .chain(needs.optional.into_iter().map(|(c, _)| c))
        .collect();
    let ask = state.access.to_ask(checks, state.now);
    let mut effects = if ask.is_empty() {
        Vec::new()
    } else {
        vec![Effect::CheckAccess(ask)]
    };
    effects.extend(look(state, pod, container, false, false));
    effects
}

/// Read the cluster for `pod` (a new reading: an older one's answer is dropped); `anyway`:
/// without dedup (`f`: another clone beside the one that exists), as `--dedup-window 0` does.
fn look(
    state: &mut AppState,
    pod: PodKey,
    container: Option<String>,
    same_node: bool,
    anyway: bool,
) -> Vec<Effect> {
    state.clone.requests += 1;
    let request = state.clone.requests;
    state.clone.dialog = Some(CloneDialog {
        pod: pod.clone(),
        request,
        container: container.clone(),
        same_node,
        anyway,
        phase: ClonePhase::Preparing { since: state.now },
        shown: true,
        scroll: 0,
    });
    if state.confirm_policy == ConfirmPolicy::Ask {
        state.mode = Mode::Clone;
    }
    let options = CloneOptions {
        forensic_namespace: None,
        same_node,
        dedup_window: if anyway {
            SignedDuration::ZERO
        } else {
            state.clone.dedup_window.unwrap_or(DEFAULT_DEDUP_WINDOW)
        },
        snapshot_class: None,
        toolkit_image: state.helper.image.clone(),
    };
    vec![Effect::PrepareClone {
        request,
        pod,
        container,
        options,
    }]
}

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(dialog) = state.clone.dialog.as_mut() else {
        return Vec::new();
    };
    state.mode = Mode::Clone;
    // The clone dedup offers, and whether another can be made beside it (not of the same
    // pod: that name is taken).
    let existing = match &dialog.phase {
        ClonePhase::Confirm(ready) => ready.summary.existing.as_ref().map(|e| {
            (
                PodKey::new(&e.namespace, &e.name),
                e.created_at,
                ready.summary.can_force(),
            )
        }),
        _ => None,
    };
    match (&mut dialog.phase, key.code) {
        (_, KeyCode::Esc) => {
            if matches!(
                dialog.phase,
                ClonePhase::Creating { .. } | ClonePhase::Removing { .. }
            ) {
                dialog.shown = false;
            } else {
                state.clone.dialog = None;
            }
            state.mode = Mode::Normal;
        }
        (_, KeyCode::Down | KeyCode::Char('j')) => dialog.scroll = dialog.scroll.saturating_add(1),
        (_, KeyCode::Up | KeyCode::Char('k')) => dialog.scroll = dialog.scroll.saturating_sub(1),
        (_, KeyCode::PageDown) => dialog.scroll = dialog.scroll.saturating_add(10),
        (_, KeyCode::PageUp) => dialog.scroll = dialog.scroll.saturating_sub(10),
        (_, KeyCode::Home | KeyCode::Char('g')) => dialog.scroll = 0,
        (ClonePhase::Confirm(_), KeyCode::Enter) => match existing {
            None => return create(state),
            Some((key, created_at, _)) => select_existing(state, key, created_at),
        },
        // The whole plan read again without dedup, to confirm like any other.
        (ClonePhase::Confirm(_), KeyCode::Char('f')) => {
            if let Some((_, _, true)) = existing {
                let (pod, container, same_node) = (
                    dialog.pod.clone(),
                    dialog.container.clone(),
                    dialog.same_node,
                );
                return look(state, pod, container, same_node, true);
            }
        }
        (ClonePhase::Confirm(_), KeyCode::Char('x')) => {
            if let Some((key, _, _)) = existing {
                state.clone.known.insert(key.clone());
                return look(state, key, None, false, false);
            }
        }
        (ClonePhase::Confirm(_), KeyCode::Char('n')) => {
            let (pod, container, same_node, anyway) = (
                dialog.pod.clone(),
                dialog.container.clone(),
                !dialog.same_node,
                dialog.anyway,
            );
            return look(state, pod, container, same_node, anyway);
        }
        (ClonePhase::Created(created), KeyCode::Char('x')) => {
            let key = created.key.clone();
            return look(state, key, None, false, false);
        }
        (ClonePhase::RemoveConfirm(ask), KeyCode::Char('s')) if !ask.clone.snapshots.is_empty() => {
            ask.with_snapshots = !ask.with_snapshots;
        }
        (ClonePhase::RemoveConfirm(_), KeyCode::Enter | KeyCode::Char('y')) => {
            return remove(state);
        }
        (ClonePhase::RemoveConfirm(_), KeyCode::Char('n')) => {
            state.clone.dialog = None;
            state.mode = Mode::Normal;
        }
        (
            ClonePhase::Created(_) | ClonePhase::Removed(_) | ClonePhase::Failed { .. },
            KeyCode::Enter,
        ) => {
            state.clone.dialog = None;
            state.mode = Mode::Normal;
        }
        _ => {}
    }
    Vec::new()
}

/// Enter on the question: create what the plan says.
fn create(state: &mut AppState) -> Vec<Effect> {
    let now = state.now;
    let Some(dialog) = state.clone.dialog.as_mut() else {
        return Vec::new();
    };
    let phase = std::mem::replace(&mut dialog.phase, ClonePhase::Preparing { since: now });
    let ClonePhase::Confirm(ready) = phase else {
        dialog.phase = phase;
        return Vec::new();
    };
    let prepared = ready.prepared.clone();
    dialog.phase = ClonePhase::Creating { ready, since: now };
    dialog.scroll = 0;
    vec![Effect::CreateClone {
        pod: dialog.pod.clone(),
        prepared,
    }]
}

/// Enter on the removal question.
fn remove(state: &mut AppState) -> Vec<Effect> {
    let now = state.now;
    let Some(dialog) = state.clone.dialog.as_mut() else {
        return Vec::new();
    };
    let phase = std::mem::replace(&mut dialog.phase, ClonePhase::Preparing { since: now });
    let ClonePhase::RemoveConfirm(ask) = phase else {
        dialog.phase = phase;
        return Vec::new();
    };
    let effect = Effect::RemoveClone {
        clone: ask.clone.key.clone(),
        with_snapshots: ask.with_snapshots,
    };
    dialog.phase = ClonePhase::Removing { ask, since: now };
    dialog.scroll = 0;
    vec![effect]
}

/// The existing clone instead of a new one: its row in the list (all pods, filter cleared),
/// or, when the list does not hold it, where it is and its shell.
fn select_existing(state: &mut AppState, key: PodKey, created_at: jiff::Timestamp) {
    let container = match state.clone.dialog.take().map(|d| d.phase) {
        Some(ClonePhase::Confirm(ready)) => ready.summary.shell_container,
        _ => String::new(),
    };
    state.mode = Mode::Normal;
    let shell = crate::state::clone::exec_line(&key, &container);
    let made = age(state.now, Some(created_at));
    if state.pods.pod(&key).is_none() {
        state.toast(
            ToastLevel::Info,
            format!("clone {key} (created {made} ago) is not in the pod list; its shell: {shell}"),
        );
        return;
    }
    let pods = &mut state.pods;
    pods.show_all = true;
    pods.filter.text.clear();
    pods.mark_dirty();
    pods.refresh();
    if let Some(i) = pods.rows.iter().position(|r| r.pod_key() == &key) {
        pods.selected = i;
    }
    state.screen = Screen::Table;
    state.toast(
        ToastLevel::Info,
        format!("clone {key} (created {made} ago) selected; its shell: {shell}"),
    );
}

/// What the cluster said about the pod: the plan (or the clone of its crash that exists), the
/// removal question for a clone, or why nothing could be read.
pub fn on_prepared(
    state: &mut AppState,
    request: u64,
    result: Result<CloneLook, String>,
) -> Vec<Effect> {
    let policy = state.confirm_policy;
    let Some(dialog) = state
        .clone
        .dialog
        .as_mut()
        .filter(|d| d.request == request && matches!(d.phase, ClonePhase::Preparing { .. }))
    else {
        return Vec::new(); // cancelled, or read again since
    };
    match result {
        Err(message) => {
            dialog.phase = ClonePhase::Failed {
                doing: format!("reading what a clone of {} takes", dialog.pod),
                message,
            };
            Vec::new()
        }
        Ok(CloneLook::Clone(clone)) => {
            state.clone.known.insert(clone.key.clone());
            dialog.phase = ClonePhase::RemoveConfirm(Box::new(RemovalAsk {
                clone: *clone,
                with_snapshots: false,
            }));
            match policy.answer(Question::RemoveClone) {
                Some(true) => return remove(state),
                Some(false) => {
                    let key = state.clone.dialog.take().map(|d| d.pod);
                    if let Some(key) = key {
                        state.toast(
                            ToastLevel::Error,
                            format!(
                                "{key} is a forensic clone itself: not cloned, and left as it is"
                            ),
                        );
                    }
                }
                None => {}
            }
            Vec::new()
        }
        Ok(CloneLook::Source(prepared)) => {
            let summary = CloneSummary::of(&prepared.0);
            let tally = state.pods.signature_tally(&summary.signature);
            let existing = summary.existing.as_ref().map(|e| {
                let key = PodKey::new(&e.namespace, &e.name);
                state.clone.known.insert(key.clone());
                key
            });
            dialog.phase = ClonePhase::Confirm(Box::new(CloneReady {
                prepared,
                summary,
                tally,
            }));
            match (policy.answer(Question::Intended), existing) {
                (Some(true), None) => create(state),
                (Some(true), Some(key)) => {
                    state.clone.dialog = None;
                    state.toast(
                        ToastLevel::Info,
                        format!("a clone of this crash exists, {key}: not creating another"),
                    );
                    Vec::new()
                }
                _ => Vec::new(),
            }
        }
    }
}

/// The create's end: the result in the dialog (or a toast when it was hidden).
pub fn on_created(state: &mut AppState, pod: PodKey, result: Result<Box<CreatedClone>, String>) {
    match &result {
        Ok(created) => {
            state.clone.known.insert(created.key.clone());
            let text = format!(
                "created clone {} (isolated); its shell: {}",
                created.key,
                created.exec_line()
            );
            state.toast(ToastLevel::Info, text);
        }
        Err(e) => state.toast(ToastLevel::Error, format!("clone of {pod}: {e}")),
    }
    let Some(dialog) = state
        .clone
        .dialog
        .as_mut()
        .filter(|d| d.pod == pod && matches!(d.phase, ClonePhase::Creating { .. }))
    else {
        return;
    };
    dialog.phase = match result {
        Ok(created) => ClonePhase::Created(created),
        Err(message) => ClonePhase::Failed {
            doing: format!("creating the clone of {pod}"),
            message,
        },
    };
    if !dialog.shown {
        state.clone.dialog = None;
    }
}

/// The removal's end.
pub fn on_removed(state: &mut AppState, clone: PodKey, result: Result<Box<RemovedClone>, String>) {
    match &result {
        Ok(_) => {
            state.clone.known.remove(&clone);
            state.toast(ToastLevel::Info, format!("removed clone {clone}"));
        }
        Err(e) => state.toast(ToastLevel::Error, format!("removing clone {clone}: {e}")),
    }
    let Some(dialog) =
        state.clone.dialog.as_mut().filter(
            |d| matches!(&d.phase, ClonePhase::Removing { ask, .. } if ask.clone.key == clone),
        )
    else {
        return;
    };
    dialog.phase = match result {
        Ok(removed) => ClonePhase::Removed(removed),
        Err(message) => ClonePhase::Failed {
            doing: format!("removing clone {clone}"),
            message,
        },
    };
    if !dialog.shown {
        state.clone.dialog = None;
    }
}

#[cfg(test)]
mod tests;
