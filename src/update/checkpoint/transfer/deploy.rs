//! A transfer waiting for the node's helper: the deploy confirmation is asked once (the
//! variant the job needs), its answer and the deploy's end decide whether the job goes on.

use super::fail;
use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::helper::manifest::HelperVariant;
use crate::state::checkpoint::{CheckpointPhase, TransferJob};
use crate::state::{AppState, Mode};
use crate::update::sockets::ask_deploy;

/// The dialog's transfer for `pod`, when one is in flight.
fn in_flight<'a>(state: &'a mut AppState, pod: &PodKey) -> Option<&'a mut CheckpointPhase> {
    state
        .checkpoint
        .as_mut()
        .filter(|d| d.transfer_job().is_some_and(|j| j.pod == *pod))
        .map(|d| &mut d.phase)
}

/// No ready helper (or one lacking the variant): ask to deploy it, once.
pub fn on_needs_helper(
    state: &mut AppState,
    pod: PodKey,
    variant: HelperVariant,
    why: String,
) -> Vec<Effect> {
    let Some(CheckpointPhase::Helper { job, step, asked }) = in_flight(state, &pod) else {
        return Vec::new();
    };
    if *asked {
        let why = format!(
            "{why} even after the deploy: remove it (`ktui helper remove --node {}`) and try again",
            crate::sanitize::line(&job.node)
        );
        fail(state, why);
        return Vec::new();
    }
    *asked = true;
    *step = format!("{}: asking to deploy it", crate::sanitize::line(&why));
    let node = job.node.clone();
    ask_deploy(state, node, variant)
}

/// The job waiting for the helper deploy on `node`, if any.
fn waiting<'a>(
    state: &'a mut AppState,
    node: &str,
) -> Option<(&'a mut TransferJob, &'a mut String)> {
    let d = state.checkpoint.as_mut()?;
    match &mut d.phase {
        CheckpointPhase::Helper {
            job,
            step,
            asked: true,
        } if job.node == node => Some((job, step)),
        _ => None,
    }
}

/// The answer to the deploy confirmation (from the dialog or the policy).
pub fn on_deploy_answer(state: &mut AppState, node: &str, yes: bool) {
    let Some((job, step)) = waiting(state, node) else {
        return;
    };
    if yes {
        *step = format!(
            "deploying the helper on node {}",
            crate::sanitize::line(node)
        );
    } else {
        let why = format!(
            "{} was not taken: it needs the helper on node {}, which was not deployed",
            job.what(),
            crate::sanitize::line(node)
        );
        fail(state, why);
    }
    if state.checkpoint.as_ref().is_some_and(|d| d.shown) && matches!(state.mode, Mode::Normal) {
        state.mode = Mode::Checkpoint;
    }
}

/// The helper is ready on `node`: the job waiting for it goes on.
pub fn on_deployed(state: &mut AppState, node: &str) -> Vec<Effect> {
    let Some((job, step)) = waiting(state, node) else {
        return Vec::new();
    };
    *step = format!(
        "the helper on node {} is ready",
        crate::sanitize::line(node)
    );
    vec![Effect::HelperTransfer(Box::new(job.clone()))]
}

/// The deploy failed: so did the job waiting for it.
pub fn on_deploy_failed(state: &mut AppState, error: &str) {
    let Some(node) = state
        .checkpoint
        .as_ref()
        .and_then(|d| d.transfer_job())
        .map(|j| j.node.clone())
    else {
        return;
    };
    if let Some((job, _)) = waiting(state, &node) {
        let why = format!(
            "{} was not taken: cannot deploy the helper: {error}",
            job.what()
        );
        fail(state, why);
    }
}
