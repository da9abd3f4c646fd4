//! The console's checkpoint (the dialog's Enter): ask the kubelet, record request and answer in
//! the case, and send the result back as `Action::Checkpointed` (the record as evidence too).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use crate::action::Action;
use crate::case::Case;
use crate::checkpoint::kubelet::CheckpointError;
use crate::checkpoint::take::{Outcome, Plan, record_into, take};
use crate::cluster::Cluster;
use crate::evidence::{EvidenceItem, EvidenceKind};
use crate::state::checkpoint::CheckpointReport;

/// Take the checkpoint `plan` names (the kubelet's own timeout) into `case`.
pub async fn run(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    plan: Plan,
    tx: UnboundedSender<Action>,
) {
    let outcome = take(cluster.as_ref(), &plan, None).await;
    let recorded = match &case {
        Some(case) => record_into(case, &outcome, &cluster.info()).await,
        None => Err("no case is open".to_string()),
    };
    if let Ok(entry) = &recorded {
        let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(
            EvidenceKind::CheckpointRecord,
            entry,
        )));
    }
    let recorded = recorded.map(|e| (e.path, e.sha256.unwrap_or_default()));
    let _ = tx.send(Action::Checkpointed {
        pod: plan.pod.clone(),
        report: Box::new(report(&outcome, recorded)),
    });
}

/// What the dialog and the toast say about `outcome`.
pub fn report(outcome: &Outcome, recorded: Result<(String, String), String>) -> CheckpointReport {
    let at = outcome.request.at();
    let (node_path, message, offers_snapshot, offers_logs) = match &outcome.result {
        Ok(answer) => (
            Some(answer.node_path.clone()),
            outcome.summary(),
            false,
            false,
        ),
        Err(failure) => {
            let not_running = matches!(&*failure.error, CheckpointError::NotRunning { .. })
                || matches!(&*failure.error, CheckpointError::Demo(e) if matches!(**e, CheckpointError::NotRunning { .. }));
            (
                None,
                failure.to_string(),
                failure.offers_snapshot(),
                not_running,
            )
        }
    };
    CheckpointReport {
        container: outcome.request.container.clone(),
        node_path,
        message,
        offers_snapshot,
        snapshot_command: at.snapshot_command(),
        offers_logs,
        node_runs: outcome.node.describe(&outcome.request.node),
        recorded: Some(recorded),
    }
}
