//! The packets pane: `p` on a pod opens it (with the capture's confirmation when the pod has
//! no capture yet); `s` asks for a capture or stops the running one; the confirmation's keys;
//! the pane's view keys; quitting waits for captures to bring their last files into the case.
//! What the helper and the runtime answer is in `packets/session.rs` and `packets/files.rs`.

mod answers;
mod files;
mod session;
mod stream;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::intent::Question;
use crate::keymap::Packets;
use crate::state::helper::{HelperSource, HelperTarget};
use crate::state::packets::capture::{Capture, EndReason, Phase, Rate, RecordStatus, label};
use crate::state::packets::flows::Flows;
use crate::state::packets::form::{CaptureForm, Field};
use crate::state::packets::ring::Ring;
use crate::state::{AppState, Mode, Screen, ToastLevel};

pub use answers::{on_error, on_message};
pub use files::{on_fetched, on_progress, on_recorded, on_removed};
pub use session::{on_deploy_answer, on_deploy_failed, on_deployed, on_helper_checked};
pub use stream::{on_connected, on_stream_lost};

/// Why this run cannot capture at all, if it cannot.
fn cannot_capture(state: &AppState) -> Option<&'static str> {
    if state.helper.source == HelperSource::DemoReplay {
        return Some(
            "the demo replays recorded socket events; packet capture needs a live helper: run with --helper local, or against a cluster",
        );
    }
    if state.evidence.case.is_none() {
        return Some(
            "no case is open: the pcaps would have nowhere to go (restart ktui to open one)",
        );
    }
    None
}

/// `p` on a pod: its packets pane; the confirmation when it has no capture yet.
pub fn open(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    if state.pods.pod(&pod).is_none() && !state.packets.captures.iter().any(|c| c.pod == pod) {
        return Vec::new();
    }
    state.packets.pod = Some(pod.clone());
    state.packets.scroll_back = 0;
    state.screen = Screen::Packets;
    if state.packets.shown().is_none() && cannot_capture(state).is_none() {
        return ask(state, pod);
    }
    Vec::new()
}

/// The confirmation for a capture of `pod` (a driver's policy answers it at once).
pub fn ask(state: &mut AppState, pod: PodKey) -> Vec<Effect> {
    if let Some(why) = cannot_capture(state) {
        state.toast(ToastLevel::Error, why);
        return Vec::new();
    }
    if state.packets.active_of(&pod).is_some() {
        state.toast(
            ToastLevel::Info,
            format!("{pod} is being captured already: s in its packets pane stops it"),
        );
        return Vec::new();
    }
    let Some(summary) = state.pods.pod(&pod) else {
        state.toast(
            ToastLevel::Error,
            format!("pod {pod} is not in the list any more: nothing to capture"),
        );
        return Vec::new();
    };
    let local = state.helper.source == HelperSource::Local;
    let node = if local {
        "local".to_string()
    } else {
        match summary.node.clone().filter(|n| !n.is_empty()) {
            Some(n) => n,
            None => {
                state.toast(
                    ToastLevel::Error,
                    format!(
                        "pod {pod} is not scheduled on a node: it has no traffic to capture yet"
                    ),
                );
                return Vec::new();
            }
        }
    };
    let mut form = CaptureForm::new(pod.clone(), summary.uid.clone(), node, local);
    form.check_filter();
    state.packets.form = Some(form);
    state.packets.pod = Some(pod);
    state.screen = Screen::Packets;
    match state.confirm_policy.answer(Question::Intended) {
        None => {
            state.mode = Mode::CaptureForm;
            Vec::new()
        }
        Some(true) => start(state),
        Some(false) => {
            state.packets.form = None;
            state.toast(
                ToastLevel::Info,
                "not capturing: this run answers no to every question",
            );
            Vec::new()
        }
    }
}

/// Keys while the confirmation is on screen.
pub fn on_form_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(form) = state.packets.form.as_mut() else {
        return Vec::new();
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => {
            state.packets.form = None;
            return Vec::new();
        }
        KeyCode::Enter => return start(state),
        KeyCode::Tab | KeyCode::Down => form.move_selection(true),
        KeyCode::BackTab | KeyCode::Up => form.move_selection(false),
        KeyCode::Char(' ') if form.selected.is_toggle() => form.toggle(form.selected),
        KeyCode::Char('u') if ctrl => {
            if let Some(text) = form.text_mut(form.selected) {
                text.clear();
            }
        }
        KeyCode::Char(c) if !ctrl => {
            if let Some(text) = form.text_mut(form.selected)
                && text.chars().count() < 256
            {
                text.push(c);
            }
        }
        KeyCode::Backspace => {
            if let Some(text) = form.text_mut(form.selected) {
                text.pop();
            }
        }
        _ => {}
    }
    if form.selected == Field::Filter {
        form.check_filter();
    }
    form.error = None;
    state.mode = Mode::CaptureForm;
    Vec::new()
}

/// Enter on the confirmation: the request as shown, then the helper.
fn start(state: &mut AppState) -> Vec<Effect> {
    let Some(form) = state.packets.form.as_mut() else {
        return Vec::new();
    };
    let label = label(&form.pod, state.now);
    let spec = match form.spec(&label) {
        Ok(spec) => spec,
        Err(e) => {
            form.error = Some(e);
            state.mode = Mode::CaptureForm;
            return Vec::new();
        }
    };
    let Some(form) = state.packets.form.take() else {
        return Vec::new();
    };
    let (helper, variant) = if form.local {
        (HelperTarget::Local, None)
    } else {
        (
            HelperTarget::Pod {
                node: form.node.clone(),
            },
            Some(form.variant()),
        )
    };
    let id = state.packets.next_id();
    let node = crate::sanitize::line(&form.node).into_owned();
    state.packets.captures.push(Capture {
        id,
        pod: form.pod.clone(),
        pod_uid: form.pod_uid.clone(),
        node: form.node.clone(),
        helper: helper.clone(),
        label,
        spec,
        variant,
        phase: Phase::Helper(format!("looking for a ready capture helper on node {node}")),
        requested_at: state.now,
        segments: Vec::new(),
        gaps: Vec::new(),
        files: Vec::new(),
        ring: Ring::new(state.packets.lines),
        flows: Flows::default(),
        rate: Rate::default(),
        end: None,
        record: RecordStatus::NotYet,
        note: None,
    });
    state.packets.pod = Some(form.pod);
    state.packets.scroll_back = 0;
    state.screen = Screen::Packets;
    state.mode = Mode::Normal;
    match (helper, variant) {
        (HelperTarget::Pod { node }, Some(variant)) => vec![Effect::CheckCaptureHelper {
            capture: id,
            node,
            image: state.helper.image.clone(),
            variant,
        }],
        (target, _) => session::through(state, id, target),
    }
}

/// Stop the pod's capture (its last file comes first), or say why there is none to stop.
pub fn stop(state: &mut AppState, pod: &PodKey) -> Vec<Effect> {
    let Some(c) = state
        .packets
        .captures
        .iter_mut()
        .find(|c| &c.pod == pod && c.active())
    else {
        state.toast(ToastLevel::Info, format!("no capture of {pod} is running"));
        return Vec::new();
    };
    let id = c.id;
    let now = state.now;
    let mut effects = Vec::new();
    match c.phase.clone() {
        Phase::Helper(_) | Phase::Deploying(_) | Phase::Connecting => c.mark_ended(
            now,
            EndReason::NotStarted,
            Some("stopped before it started".to_string()),
        ),
        Phase::Requested | Phase::Queued { .. } | Phase::Running => {
            if let Some(seg) = c.live() {
                let wire = seg.wire_id;
                c.phase = Phase::Stopping;
                state.helper.end_capture(wire);
                effects.push(Effect::HelperSend(ktui_wire::ConsoleMessage::CaptureStop {
                    id: wire,
                }));
            }
        }
        Phase::Interrupted(_) => stream::end_cut(state, id, EndReason::Stopped, None),
        Phase::Stopping => {
            state.toast(
                ToastLevel::Info,
                "stopping already: waiting for the helper's last file",
            );
        }
        Phase::Ended => {}
    }
    effects.extend(files::after(state, id));
    effects
}

/// Whether the helper session must stay with its helper: captures run through it (said in a
/// toast, with what to do before `doing`).
pub fn blocks_session(state: &mut AppState, doing: &str) -> bool {
    let Some(target) = state.helper.target.clone() else {
        return false;
    };
    let n = state.packets.busy_on(&target);
    if n == 0 {
        return false;
    }
    state.toast(
        ToastLevel::Error,
        format!(
            "{n} capture(s) run through the {}: stop them before {doing} (their files are still on its node)",
            crate::sanitize::line(&target.label())
        ),
    );
    true
}

/// The pane's keys.
pub fn on_command(state: &mut AppState, cmd: Packets) -> Vec<Effect> {
    let p = &mut state.packets;
    match cmd {
        Packets::Back => state.screen = Screen::Table,
        Packets::StartStop => {
            let Some(pod) = p.pod.clone() else {
                return Vec::new();
            };
            return if p.active_of(&pod).is_some() {
                stop(state, &pod)
            } else {
                ask(state, pod)
            };
        }
        Packets::TogglePause => {
            if let Some(c) = p.shown_mut() {
                let paused = !c.ring.paused;
                c.ring.set_paused(paused);
            }
        }
        Packets::Older => p.scroll_back += 1,
        Packets::Newer => p.scroll_back = p.scroll_back.saturating_sub(1),
        Packets::PageOlder => p.scroll_back += 20,
        Packets::PageNewer => p.scroll_back = p.scroll_back.saturating_sub(20),
        Packets::Follow => p.scroll_back = 0,
        Packets::ToggleFlows => p.show_flows = !p.show_flows,
        Packets::Clear => {
            if let Some(c) = p.shown_mut() {
                c.ring.clear();
                c.flows.clear();
            }
            p.scroll_back = 0;
        }
        Packets::EditFilter => {
            let mut area = TextArea::new(vec![p.filter.clone()]);
            area.move_cursor(ratatui_textarea::CursorMove::End);
            state.mode = Mode::PacketFilter(area);
        }
    }
    Vec::new()
}

pub fn on_filter(state: &mut AppState, mut area: TextArea<'static>, key: KeyEvent) {
    match key.code {
        KeyCode::Enter => {}
        KeyCode::Esc => state.packets.filter.clear(),
        _ => {
            area.input(key);
            state.packets.filter = area.lines().join("");
            state.packets.scroll_back = 0;
            state.mode = Mode::PacketFilter(area);
        }
    }
}

/// Quitting: captures not over are stopped and their files brought into the case first (the
/// quit goes on once they are; a second Ctrl-C quits at once). The effects to run, and whether
/// the quit waits.
pub fn before_quit(state: &mut AppState) -> (Vec<Effect>, bool) {
    if state.packets.quit_pending {
        let left = state.packets.unfinished();
        if left > 0 {
            state.toast(
                ToastLevel::Info,
                format!("still waiting for {left} capture(s) to be in the case: Ctrl-C quits now"),
            );
            return (Vec::new(), true);
        }
        state.packets.quit_pending = false;
        return (Vec::new(), false);
    }
    let pods: Vec<PodKey> = state
        .packets
        .captures
        .iter()
        .filter(|c| c.active())
        .map(|c| c.pod.clone())
        .collect();
    let mut effects: Vec<Effect> = pods.iter().flat_map(|p| stop(state, p)).collect();
    let left = state.packets.unfinished();
    if left == 0 {
        return (effects, false);
    }
    state.packets.quit_pending = true;
    state.toast(
        ToastLevel::Info,
        format!(
            "quitting once {left} capture(s) have their files and record in the case (Ctrl-C again quits now, leaving what is on the node there)"
        ),
    );
    effects.extend(files::after_all(state));
    (effects, true)
}
