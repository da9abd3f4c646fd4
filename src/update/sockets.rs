//! The sockets pane and the helper's life cycle: open, deploy (after a yes), connect,
//! reconnect marks, remove, and the question on exit.

use crossterm::event::{KeyCode, KeyEvent};
use ktui_wire::{ConsoleMessage, Filters, Hello, HelperMessage};
use ratatui_textarea::TextArea;

use super::intents;
use crate::action::Action;
use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::helper::manifest::HelperVariant;
use crate::intent::Answer;
use crate::keymap::Sockets;
use crate::state::helper::{Consumer, HelperSource};
use crate::state::helper::{HelperStatus, HelperTarget};
use crate::state::{AppState, Confirm, Mode, Screen, ToastLevel};

/// Shown in the deploy confirmation until the read-only checks answer.
pub const PREFLIGHT_PENDING: &str = "checking the node and the namespace's Pod Security level…";

/// The pane's subscription for its scope (one pod by UID, or the whole node) stands with the
/// session in place of its previous one; returns what the helper must be told now.
fn subscribe_pane(state: &mut AppState) -> ConsoleMessage {
    let pod_uids = state
        .sockets
        .pod
        .as_ref()
        .map(|(_, uid)| vec![uid.clone()])
        .unwrap_or_default();
    state.helper.subscribe(
        Consumer::SocketsPane,
        Filters {
            pod_uids,
            ..Filters::default()
        },
    );
    state.helper.standing()
}

/// Start a session with `target`: the pane's subscription stands only once the sockets pane
/// was opened (the packets pane needs the session, not the node's socket events).
pub(crate) fn connect(state: &mut AppState, target: HelperTarget) -> Vec<Effect> {
    state.helper.target = Some(target.clone());
    state.helper.status = HelperStatus::Connecting;
    let standing = if state.sockets.opened {
        subscribe_pane(state)
    } else {
        state.helper.standing()
    };
    vec![Effect::ConnectHelper { target, standing }]
}

/// `t` on a pod: show its socket events, starting (or asking to deploy) a helper if needed.
pub fn open(state: &mut AppState, key: PodKey) -> Vec<Effect> {
    let Some(pod) = state.pods.pod(&key) else {
        return Vec::new();
    };
    let uid = pod.uid.clone();
    let node = pod.node.clone();
    let leaving = match (&state.helper.source, &node, &state.helper.target) {
        (HelperSource::Cluster, Some(n), Some(HelperTarget::Pod { node: current })) => n != current,
        _ => false,
    };
    if leaving && super::packets::blocks_session(state, "tracing a pod on another node") {
        return Vec::new();
    }
    state.sockets.opened = true;
    state.screen = Screen::Sockets;
    match state.helper.source {
        HelperSource::DemoReplay => {
            // The replay casts the recording onto this pod and its node (runtime/helper.rs).
            state.sockets.pod = Some((key, uid));
            if state.helper.target.is_none() {
                return connect(state, HelperTarget::DemoReplay);
            }
            let sub = subscribe_pane(state);
            vec![Effect::HelperSend(sub)]
        }
        HelperSource::Local => {
            state.sockets.pod = None;
            if state.helper.target.is_none() {
                return connect(state, HelperTarget::Local);
            }
            // The session may have been started for a capture, without the subscription.
            let sub = subscribe_pane(state);
            vec![Effect::HelperSend(sub)]
        }
        HelperSource::Cluster => {
            let Some(node) = node else {
                state.toast(
                    ToastLevel::Error,
                    format!("pod {key} is not scheduled on a node: no helper to reach"),
                );
                state.screen = Screen::Table;
                return Vec::new();
            };
            state.sockets.pod = Some((key, uid));
            let same = state.helper.target == Some(HelperTarget::Pod { node: node.clone() });
            if same && state.helper.status != HelperStatus::Removed {
                let sub = subscribe_pane(state);
                return vec![Effect::HelperSend(sub)];
            }
            ask_deploy(state, node, HelperVariant::default())
        }
    }
}

/// A driver's subscription (`Intent::Trace`): it stands with the session; the session is
/// started (local, replay) or its helper asked for (a node) when there is none yet.
pub fn trace(state: &mut AppState, node: Option<String>, filters: Filters) -> Vec<Effect> {
    state.helper.subscribe(Consumer::Driver, filters);
    let target = match (&state.helper.source, node) {
        (HelperSource::DemoReplay, _) => HelperTarget::DemoReplay,
        (HelperSource::Local, _) => HelperTarget::Local,
        (HelperSource::Cluster, Some(node)) => HelperTarget::Pod { node },
        (HelperSource::Cluster, None) => {
            state.toast(
                ToastLevel::Error,
                "socket events need a node: no pod in scope is scheduled on one",
            );
            return Vec::new();
        }
    };
    let running = state.helper.target.as_ref() == Some(&target)
        && state.helper.status != HelperStatus::Removed;
    match target {
        _ if running => vec![Effect::HelperSend(state.helper.standing())],
        HelperTarget::Pod { node } => ask_deploy(state, node, HelperVariant::default()),
        local => connect(state, local),
    }
}

/// The driver's subscription ends (`Intent::Untrace`): what stands is sent again.
pub fn untrace(state: &mut AppState) -> Vec<Effect> {
    if state.helper.subscription(Consumer::Driver).is_none() {
        return Vec::new();
    }
    state.helper.unsubscribe(Consumer::Driver);
    match state.helper.target {
        Some(_) if state.helper.status != HelperStatus::Removed => {
            vec![Effect::HelperSend(state.helper.standing())]
        }
        _ => Vec::new(),
    }
}

/// Ask to deploy the `variant` helper on `node` (the sockets pane, a transfer, a capture): the
/// confirmation, and while it is on screen the read-only checks whose findings it shows.
pub(crate) fn ask_deploy(
    state: &mut AppState,
    node: String,
    variant: HelperVariant,
) -> Vec<Effect> {
    state.helper.deploy_warning = Some(PREFLIGHT_PENDING.to_string());
    let mut effects = intents::ask(
        state,
        Confirm::DeployHelper {
            node: node.clone(),
            variant,
        },
    );
    if matches!(state.mode, Mode::Confirm(_)) {
        // The dialog shows what the read-only checks find.
        effects.push(Effect::PreflightHelper {
            node,
            image: state.helper.image.clone(),
        });
    }
    effects
}

/// The answer to a question about the cluster (from the dialog or a driver's policy).
pub fn answer(state: &mut AppState, confirm: Confirm, answer: Answer) -> Vec<Effect> {
    match (confirm, answer) {
        (Confirm::DeployHelper { node, .. }, Answer::Yes)
            if super::packets::blocks_session(
                state,
                "deploying a helper (the session would end)",
            ) =>
        {
            deploy_answered(state, &node, false);
            Vec::new()
        }
        (Confirm::DeployHelper { node, variant }, Answer::Yes) => {
            deploy_answered(state, &node, true);
            state.helper.target = Some(HelperTarget::Pod { node: node.clone() });
            state.helper.status = HelperStatus::Deploying("creating the helper pod".to_string());
            if !state.helper.deployed.contains(&node) {
                state.helper.deployed.push(node.clone());
            }
            vec![
                Effect::DisconnectHelper,
                Effect::DeployHelper {
                    node,
                    image: state.helper.image.clone(),
                    variant,
                },
            ]
        }
        (Confirm::DeployHelper { node, .. }, Answer::No | Answer::Cancel) => {
            deploy_answered(state, &node, false);
            if state.helper.target.is_none() {
                state.screen = Screen::Table;
            }
            Vec::new()
        }
        (Confirm::RemoveHelper { node }, Answer::Yes) => remove(state, node),
        (Confirm::RemoveHelper { .. }, Answer::No | Answer::Cancel) => Vec::new(),
        (Confirm::QuitWithHelpers { nodes }, Answer::Yes) => {
            state.quit_after_remove = true;
            nodes.into_iter().flat_map(|n| remove(state, n)).collect()
        }
        (Confirm::QuitWithHelpers { .. }, Answer::No) => {
            state.quit = true;
            vec![Effect::Quit]
        }
        (Confirm::QuitWithHelpers { .. }, Answer::Cancel) => Vec::new(),
    }
}

/// The deploy question about `node` answered (its reason goes with it): the transfer and the
/// captures waiting for that helper go on (`yes`) or end.
fn deploy_answered(state: &mut AppState, node: &str, yes: bool) {
    state.helper.deploy_reason = None;
    super::checkpoint::transfer::on_deploy_answer(state, node, yes);
    super::packets::on_deploy_answer(state, node, yes);
}

fn remove(state: &mut AppState, node: String) -> Vec<Effect> {
    let mut effects = Vec::new();
    let target = HelperTarget::Pod { node: node.clone() };
    let busy = state.packets.busy_on(&target);
    if busy > 0 {
        state.toast(
            ToastLevel::Error,
            format!(
                "{busy} capture(s) run through the helper on node {}: stop them before removing it (its capture directory goes with it)",
                crate::sanitize::line(&node)
            ),
        );
        return effects;
    }
    if state.helper.target == Some(HelperTarget::Pod { node: node.clone() }) {
        state.helper.status = HelperStatus::Removing(node.clone());
        effects.push(Effect::DisconnectHelper);
    }
    effects.push(Effect::RemoveHelper { node });
    effects
}

/// Quitting: captures first bring their files into the case; then ask when this run left
/// helper pods running.
pub fn quit(state: &mut AppState) -> Vec<Effect> {
    let (mut effects, wait) = super::packets::before_quit(state);
    if wait {
        return effects;
    }
    if state.helper.deployed.is_empty() {
        state.quit = true;
        effects.push(Effect::Quit);
        return effects;
    }
    let nodes = state.helper.deployed.clone();
    effects.extend(intents::ask(state, Confirm::QuitWithHelpers { nodes }));
    effects
}

pub fn on_command(state: &mut AppState, cmd: Sockets) -> Vec<Effect> {
    let s = &mut state.sockets;
    match cmd {
        Sockets::Back => state.screen = Screen::Table,
        Sockets::TogglePause => {
            let paused = !s.ring.paused;
            s.set_paused(paused);
        }
        Sockets::Older => s.scroll_back += 1,
        Sockets::Newer => s.scroll_back = s.scroll_back.saturating_sub(1),
        Sockets::PageOlder => s.scroll_back += 20,
        Sockets::PageNewer => s.scroll_back = s.scroll_back.saturating_sub(20),
        Sockets::Follow => s.scroll_back = 0,
        Sockets::ToggleSummary => s.show_summary = !s.show_summary,
        Sockets::Clear => {
            s.ring.lines.clear();
            s.summary = Default::default();
        }
        Sockets::EditFilter => {
            let mut area = TextArea::new(vec![s.filter.clone()]);
            area.move_cursor(ratatui_textarea::CursorMove::End);
            state.mode = Mode::SocketFilter(area);
        }
        Sockets::ToggleScope => {
            // Toggle between the selected pod and the whole node.
            if s.pod.is_some() {
                s.pod = None;
            } else if let Some(row) = state.pods.selected_row() {
                let key = row.pod_key().clone();
                if let Some(p) = state.pods.pod(&key) {
                    state.sockets.pod = Some((key, p.uid.clone()));
                }
            }
            if matches!(state.helper.status, HelperStatus::Connected) {
                let sub = subscribe_pane(state);
                return vec![Effect::HelperSend(sub)];
            }
        }
        Sockets::RemoveHelper => {
            if let Some(HelperTarget::Pod { node }) = &state.helper.target {
                let node = node.clone();
                return intents::ask(state, Confirm::RemoveHelper { node });
            } else {
                state.toast(ToastLevel::Info, "no helper pod to remove in this mode");
            }
        }
    }
    Vec::new()
}

pub fn on_filter(state: &mut AppState, mut area: TextArea<'static>, key: KeyEvent) {
    match key.code {
        KeyCode::Enter => {}
        KeyCode::Esc => state.sockets.filter.clear(),
        _ => {
            area.input(key);
            state.sockets.filter = area.lines().join("");
            state.mode = Mode::SocketFilter(area);
        }
    }
}

/// The session as it ends: hello, image and the final loss counters.
pub fn record_final(state: &AppState) -> Option<Effect> {
    let hello = state.helper.hello.as_ref()?;
    record_session(state, hello)
}

/// The session's record for the case (None when no case is open): the target, hello (the
/// probes attached), image ID and the loss counters so far.
fn record_session(state: &AppState, hello: &Hello) -> Option<Effect> {
    state.evidence.case.as_ref()?;
    let node = match &state.helper.target {
        Some(HelperTarget::Pod { node }) => node.clone(),
        _ => hello.node.clone().unwrap_or_else(|| "local".to_string()),
    };
    let record = serde_json::json!({
        "target": state.helper.target.as_ref().map(HelperTarget::label),
        "hello": hello,
        "stats": state.helper.stats,
        "image_id": state.helper.image_id,
    });
    Some(Effect::KeepHelperSession {
        node: crate::sanitize::line(&node).into_owned(),
        json: serde_json::to_vec_pretty(&record).unwrap_or_default(),
    })
}

/// The helper names pods from the node's `/var/log/pods`; where it knew only the UID (logs
/// rotated away, an unusual runtime layout), the console's pod cache fills the names in.
fn name_from_pod_cache(state: &AppState, event: &mut ktui_wire::SocketEvent) {
    let Some(k8s) = event.k8s.as_mut() else {
        return;
    };
    if k8s.namespace.is_some() && k8s.pod.is_some() {
        return;
    }
    if let Some(key) = k8s
        .pod_uid
        .as_deref()
        .and_then(|uid| state.pods.key_of_uid(uid))
    {
        k8s.namespace = Some(key.namespace.clone());
        k8s.pod = Some(key.name.clone());
    }
}

/// Results of helper effects and what the helper sends.
pub fn on_action(state: &mut AppState, action: Action) -> Vec<Effect> {
    match action {
        Action::HelperConnected(hello) => {
            state.sockets.close_gap(state.now);
            state.helper.status = HelperStatus::Connected;
            let mut effects = super::packets::on_connected(state);
            if !hello.ebpf {
                let why = hello
                    .ebpf_error
                    .clone()
                    .unwrap_or_else(|| "eBPF unavailable".to_string());
                if state.helper.target != Some(HelperTarget::DemoReplay) {
                    state.toast(ToastLevel::Error, format!("helper cannot trace: {why}"));
                }
            }
            effects.extend(record_session(state, &hello));
            state.helper.hello = Some(*hello);
            return effects;
        }
        Action::HelperMessages(messages) => {
            let mut effects = Vec::new();
            for m in messages {
                match m {
                    HelperMessage::Socket { mut event } => {
                        name_from_pod_cache(state, &mut event);
                        state.sockets.ingest(*event);
                    }
                    HelperMessage::Stats(stats) => state.helper.set_stats(stats, state.now),
                    HelperMessage::Error(e) => {
                        // An answer to a capture request ends that capture (it says why).
                        if let Some(more) = super::packets::on_error(state, &e) {
                            effects.extend(more);
                        } else {
                            state.toast(ToastLevel::Error, format!("helper: {}", e.message));
                        }
                        state.helper.last_error = Some(e.message);
                    }
                    HelperMessage::Hello(h) => {
                        state.helper.hello = Some(h);
                    }
                    HelperMessage::Subscribed { .. } | HelperMessage::Pong { .. } => {}
                    capture @ (HelperMessage::CaptureQueued { .. }
                    | HelperMessage::CaptureStarted { .. }
                    | HelperMessage::Packet { .. }
                    | HelperMessage::CaptureStats { .. }
                    | HelperMessage::CaptureFile { .. }
                    | HelperMessage::CaptureDone { .. }) => {
                        effects.extend(super::packets::on_message(state, capture));
                    }
                }
            }
            return effects;
        }
        Action::HelperBadLine(line) => {
            state.helper.bad_lines += 1;
            state.helper.last_error = Some(line);
        }
        Action::HelperStreamLost {
            error,
            attempt,
            retry_in,
        } => {
            let reason = error.to_string();
            let mut effects = Vec::new();
            if state.helper.status == HelperStatus::Connected || retry_in.is_none() {
                effects = super::packets::on_stream_lost(state, &reason, retry_in.is_none());
            }
            if state.helper.status == HelperStatus::Connected {
                state.sockets.open_gap(state.now, reason.clone());
                state.helper.lost();
            }
            if attempt == 1 {
                state.toast(ToastLevel::Error, format!("helper stream lost: {reason}"));
            }
            state.helper.status = match retry_in {
                None => HelperStatus::Failed(reason),
                Some(_) => HelperStatus::Reconnecting { attempt, reason },
            };
            return effects;
        }
        Action::HelperPreflighted { node, summary } => {
            // Only for the confirmation still on screen.
            if matches!(&state.mode, Mode::Confirm(Confirm::DeployHelper { node: n, .. }) if *n == node)
            {
                state.helper.deploy_warning = summary;
            }
        }
        Action::HelperDeployProgress(step) => {
            state.helper.status = HelperStatus::Deploying(step);
        }
        Action::HelperDeployed { node, image_id } => {
            state.helper.image_id = image_id;
            return connect(state, HelperTarget::Pod { node });
        }
        Action::HelperDeployFailed(error) => {
            let error = error.to_string();
            state.toast(
                ToastLevel::Error,
                format!("cannot deploy the helper: {error}"),
            );
            state.helper.status = HelperStatus::Failed(error);
        }
        Action::HelperRemoved { node } => {
            state.helper.deployed.retain(|n| n != &node);
            if state.helper.target == Some(HelperTarget::Pod { node: node.clone() }) {
                state.helper.status = HelperStatus::Removed;
                state.helper.target = None;
            }
            state.toast(ToastLevel::Info, format!("helper on node {node} removed"));
            if state.quit_after_remove && state.helper.deployed.is_empty() {
                state.quit = true;
                return vec![Effect::Quit];
            }
        }
        Action::HelperRemoveFailed { node, error } => {
            state.toast(
                ToastLevel::Error,
                format!(
                    "cannot remove the helper on {node}: {error} (it deletes itself after its deadline; `ktui helper remove --node {node}` retries)"
                ),
            );
            if state.quit_after_remove {
                state.quit = true;
                return vec![Effect::Quit];
            }
        }
        _ => {}
    }
    Vec::new()
}
