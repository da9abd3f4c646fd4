//! A capture and its helper: finding (or deploying) a helper that can capture, and sending the
//! request once the session is up (one session at a time: never taken from under running
//! captures). The stream's cuts are in `stream.rs`, the helper's answers in `answers.rs`.

use super::files;
use crate::effect::Effect;
use crate::state::helper::{HelperStatus, HelperTarget};
use crate::state::packets::capture::{EndReason, Phase};
use crate::state::{AppState, ToastLevel};
use crate::update::sockets;

pub(super) fn s(text: &str) -> String {
    crate::sanitize::line(text).into_owned()
}

/// End capture `id` without a file: why (a toast too).
pub(super) fn fail(state: &mut AppState, id: u64, reason: EndReason, message: String) {
    let now = state.now;
    let Some(c) = state.packets.by_id(id) else {
        return;
    };
    let text = format!("capture #{} of {}: {}", c.id, c.pod, s(&message));
    c.mark_ended(now, reason, Some(message.clone()));
    c.note = Some(message);
    state.toast(ToastLevel::Error, text);
}

/// Whether the session can be given to another helper: none of its captures would be cut.
fn blocked_by_session(state: &AppState, target: &HelperTarget) -> Option<String> {
    let current = state.helper.target.as_ref()?;
    if current == target
        || matches!(
            state.helper.status,
            HelperStatus::Removed | HelperStatus::Failed(_)
        )
    {
        return None;
    }
    let n = state.packets.busy_on(current);
    (n > 0).then(|| {
        format!(
            "{n} capture(s) run through the {}: the console has one helper session at a time, stop them first",
            s(&current.label())
        )
    })
}

/// Send capture `id` through the session with `target`: now when it is connected, after its
/// hello otherwise (connecting it first when needed).
pub(super) fn through(state: &mut AppState, id: u64, target: HelperTarget) -> Vec<Effect> {
    if let Some(why) = blocked_by_session(state, &target) {
        fail(state, id, EndReason::NotStarted, why);
        return files::after(state, id);
    }
    let same = state.helper.target.as_ref() == Some(&target);
    match state.helper.status {
        HelperStatus::Connected if same => send_start(state, id),
        HelperStatus::Connecting
        | HelperStatus::Reconnecting { .. }
        | HelperStatus::Deploying(_)
            if same =>
        {
            if let Some(c) = state.packets.by_id(id) {
                c.phase = Phase::Connecting;
            }
            Vec::new()
        }
        _ => {
            if let Some(c) = state.packets.by_id(id) {
                c.phase = Phase::Connecting;
            }
            sockets::connect(state, target)
        }
    }
}

/// The request stands with the session and goes to the helper.
pub(super) fn send_start(state: &mut AppState, id: u64) -> Vec<Effect> {
    let now = state.now;
    let Some(spec) = state.packets.by_id(id).map(|c| c.spec.clone()) else {
        return Vec::new();
    };
    let (wire_id, msg) = state.helper.stand_capture(spec);
    let Some(c) = state.packets.by_id(id) else {
        return Vec::new();
    };
    c.request(wire_id, now);
    vec![Effect::HelperSend(msg)]
}

/// What the look for a ready capture helper found.
pub fn on_helper_checked(
    state: &mut AppState,
    id: u64,
    result: Result<Result<(), String>, String>,
) -> Vec<Effect> {
    let Some(c) = state
        .packets
        .by_id(id)
        .filter(|c| matches!(c.phase, Phase::Helper(_)))
    else {
        return Vec::new();
    };
    let (node, variant) = (c.node.clone(), c.variant.unwrap_or_default());
    let target = c.helper.clone();
    match result {
        Ok(Ok(())) => through(state, id, target),
        Ok(Err(why)) => {
            let busy = state.packets.busy_on(&target);
            if busy > 0 {
                let why = format!(
                    "{why}: replacing it would delete its capture directory with the files of {busy} running capture(s); stop them first"
                );
                fail(state, id, EndReason::NotStarted, why);
                return files::after(state, id);
            }
            if let Some(c) = state.packets.by_id(id) {
                c.phase = Phase::Deploying(format!("{}: asking to deploy it", s(&why)));
            }
            // The deploy replaces a helper that runs another image or lacks the capabilities.
            let replaced = why.contains(" lacks ") || why.contains("another image");
            state.helper.deploy_reason = Some(if replaced {
                format!("{why}: the running helper pod is replaced (its session ends)")
            } else {
                why
            });
            sockets::ask_deploy(state, node, variant)
        }
        Err(e) => {
            let why = format!("cannot look for the helper on node {}: {e}", s(&node));
            fail(state, id, EndReason::NotStarted, why);
            files::after(state, id)
        }
    }
}

fn deploying_on(state: &AppState, node: &str) -> Vec<u64> {
    let target = HelperTarget::Pod {
        node: node.to_string(),
    };
    state
        .packets
        .captures
        .iter()
        .filter(|c| c.helper == target && matches!(c.phase, Phase::Deploying(_)))
        .map(|c| c.id)
        .collect()
}

/// The answer to the deploy question about `node`.
pub fn on_deploy_answer(state: &mut AppState, node: &str, yes: bool) {
    for id in deploying_on(state, node) {
        if yes {
            if let Some(c) = state.packets.by_id(id) {
                c.phase = Phase::Deploying(format!(
                    "deploying the {} helper on node {}",
                    c.variant.unwrap_or_default().name(),
                    s(node)
                ));
            }
        } else {
            let why = format!(
                "not started: it needs the capture helper on node {}, which was not deployed",
                s(node)
            );
            fail(state, id, EndReason::NotStarted, why);
        }
    }
}

/// The helper on `node` is ready: the session connects, then the requests go.
pub fn on_deployed(state: &mut AppState, node: &str) {
    for id in deploying_on(state, node) {
        if let Some(c) = state.packets.by_id(id) {
            c.phase = Phase::Connecting;
        }
    }
}

pub fn on_deploy_failed(state: &mut AppState, error: &str) {
    let nodes: Vec<String> = state
        .packets
        .captures
        .iter()
        .filter(|c| matches!(c.phase, Phase::Deploying(_)))
        .map(|c| c.node.clone())
        .collect();
    for node in nodes {
        for id in deploying_on(state, &node) {
            fail(
                state,
                id,
                EndReason::NotStarted,
                format!("cannot deploy the helper: {error}"),
            );
        }
    }
}
