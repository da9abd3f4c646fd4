//! After the kubelet's answer, through the node's helper, in the reducer: `f` fetches the
//! archive (asking to deploy a helper when none is ready, going on once it is), the bytes
//! come into a gauge, the copy's path and SHA-256 into the dialog, then "remove from the
//! node? y/N"; `s` asks before a live snapshot (the snapshot variant deployed first) built
//! from the container's status.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{key, loaded, select};
use crate::action::Action;
use crate::case::IndexEntry;
use crate::cluster::{ContainerState, PodKey};
use crate::effect::Effect;
use crate::helper::manifest::HelperVariant;
use crate::intent::{Answer, Intent};
use crate::state::checkpoint::{
    CheckpointPhase, CheckpointReport, FetchedCopy, HelperJob, Removal, TransferJob,
};
use crate::state::{AppState, Confirm, Mode, ToastLevel};
use crate::update::update;

const NODE_PATH: &str = "/var/lib/kubelet/checkpoints/checkpoint-ledger_payments-worker-2026.tar";
const SHA: &str = "5f2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b";

fn press(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

/// The checkpoint dialog of ledger-worker's `worker`, with the kubelet's answer in.
fn answered(node_path: Option<&str>) -> (AppState, PodKey) {
    let mut s = loaded();
    s.evidence.case = Some(("case-1".into(), std::path::PathBuf::from("/nonexistent")));
    select(&mut s, "ledger-worker");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    key(&mut s, 'C');
    press(&mut s, KeyCode::Enter);
    let report = CheckpointReport {
        container: "worker".into(),
        node_path: node_path.map(str::to_string),
        message: match node_path {
            Some(_) => "checkpointed container worker in 1.0 s".into(),
            None => "the container runtime of node demo-node-2 cannot checkpoint it".into(),
        },
        offers_snapshot: node_path.is_none(),
        snapshot_command: String::new(),
        offers_logs: false,
        node_runs: None,
        recorded: Some(Ok(("artifacts/x.request.json".into(), "ab".repeat(32)))),
    };
    update(
        &mut s,
        Action::Checkpointed {
            pod: pod.clone(),
            report: Box::new(report),
        },
    );
    (s, pod)
}

fn phase(s: &AppState) -> &CheckpointPhase {
    &s.checkpoint.as_ref().expect("the dialog").phase
}

fn one_transfer(effects: &[Effect]) -> TransferJob {
    let jobs: Vec<&TransferJob> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::HelperTransfer(j) => Some(&**j),
            _ => None,
        })
        .collect();
    assert_eq!(jobs.len(), 1, "{effects:?}");
    jobs[0].clone()
}

fn copy(path: &str) -> Box<FetchedCopy> {
    Box::new(FetchedCopy {
        can_remove: true,
        entry: IndexEntry {
            path: path.into(),
            sha256: Some(SHA.into()),
            size: 3 << 20,
            media_type: "application/x-tar".into(),
            captured_at: jiff::Timestamp::UNIX_EPOCH,
            source: "helper:demo-node-2:x".into(),
            pod: Some("payments/ledger".into()),
            container: Some("worker".into()),
            crash_signature: None,
            sealed: false,
        },
        helper_pod: PodKey::new("ktui-system", "ktui-helper-demo-node-2"),
    })
}

#[test]
fn f_fetches_through_a_deployed_helper_then_asks_before_removing_the_node_copy() {
    let (mut s, pod) = answered(Some(NODE_PATH));
    let job = one_transfer(&key(&mut s, 'f'));
    assert_eq!(
        job.job,
        HelperJob::Fetch {
            node_path: NODE_PATH.into()
        }
    );
    assert_eq!(
        (job.node.as_str(), job.container.as_str()),
        ("demo-node-2", "worker")
    );
    assert_eq!(
        job.variant(),
        HelperVariant::default(),
        "reading needs no more"
    );
    assert!(matches!(
        phase(&s),
        CheckpointPhase::Helper { asked: false, .. }
    ));
    // No helper is ready: the deploy confirmation of the default helper.
    let effects = update(
        &mut s,
        Action::TransferNeedsHelper {
            pod: pod.clone(),
            variant: HelperVariant::default(),
            why: "no helper runs on node demo-node-2".into(),
        },
    );
    assert!(
        matches!(&s.mode, Mode::Confirm(Confirm::DeployHelper { node, variant }) if node == "demo-node-2" && variant.is_default()),
        "{:?}",
        s.mode
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::PreflightHelper { .. }))
    );
    let effects = update(&mut s, Action::Intent(Intent::Answer(Answer::Yes)));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::DeployHelper { variant, .. } if variant.is_default())),
        "{effects:?}"
    );
    assert!(
        matches!(s.mode, Mode::Checkpoint),
        "back to the dialog: {:?}",
        s.mode
    );
    // Deployed: the fetch goes on (and the session connects, as for the sockets pane).
    let effects = update(
        &mut s,
        Action::HelperDeployed {
            node: "demo-node-2".into(),
            image_id: None,
        },
    );
    assert_eq!(one_transfer(&effects), job);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::ConnectHelper { .. }))
    );
    // The gauge.
    update(
        &mut s,
        Action::TransferProgress {
            pod: pod.clone(),
            done: 1 << 20,
            total: Some(3 << 20),
        },
    );
    assert!(matches!(
        phase(&s),
        CheckpointPhase::Transfer { done, total: Some(t), .. } if *done == 1 << 20 && *t == 3 << 20
    ));
    // Esc hides it; it goes on, and C brings it back.
    press(&mut s, KeyCode::Esc);
    assert!(s.checkpoint.as_ref().is_some_and(|d| !d.shown));
    key(&mut s, 'C');
    assert!(matches!(s.mode, Mode::Checkpoint));
    let path = "artifacts/payments/ledger/checkpoints/checkpoint-ledger_payments-worker-2026.tar";
    update(
        &mut s,
        Action::Transferred {
            pod: pod.clone(),
            result: Ok(copy(path)),
        },
    );
    let CheckpointPhase::Transferred(r) = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert_eq!(r.removal, Removal::Asking);
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text.contains(path) && t.text.contains(SHA)),
        "{:?}",
        s.toasts
    );
    // y removes it.
    let effects = key(&mut s, 'y');
    let [
        Effect::RemoveNodeCopy {
            node_path, copy: c, ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (node_path.as_str(), c.entry.path.as_str()),
        (NODE_PATH, path)
    );
    // A read-only mount: its message (what to do) is shown.
    let said = format!(
        "{NODE_PATH} is on a read-only mount in this helper: deploy the snapshot variant, or remove it on the node"
    );
    update(
        &mut s,
        Action::NodeCopyRemoved {
            pod,
            result: Err(said.clone()),
        },
    );
    assert!(
        matches!(phase(&s), CheckpointPhase::Transferred(r) if r.removal == Removal::Failed(said.clone()))
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.checkpoint.is_none());
}

#[test]
fn no_is_the_default_for_removing_and_a_refused_deploy_ends_the_fetch() {
    let (mut s, pod) = answered(Some(NODE_PATH));
    key(&mut s, 'f');
    update(
        &mut s,
        Action::Transferred {
            pod: pod.clone(),
            result: Ok(copy("artifacts/a.tar")),
        },
    );
    assert!(press(&mut s, KeyCode::Enter).is_empty(), "Enter keeps it");
    assert!(s.checkpoint.is_none());
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text.contains("stays on node demo-node-2") && t.text.contains(NODE_PATH)),
        "{:?}",
        s.toasts
    );
    // A deploy answered no: nothing is taken, and the dialog says why.
    let (mut s, pod) = answered(Some(NODE_PATH));
    key(&mut s, 'f');
    update(
        &mut s,
        Action::TransferNeedsHelper {
            pod: pod.clone(),
            variant: HelperVariant::default(),
            why: "no helper runs on node demo-node-2".into(),
        },
    );
    let effects = update(&mut s, Action::Intent(Intent::Answer(Answer::No)));
    assert!(
        !effects
            .iter()
            .any(|e| matches!(e, Effect::DeployHelper { .. }))
    );
    let CheckpointPhase::Transferred(r) = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert!(
        r.result
            .as_ref()
            .is_err_and(|e| e.contains("was not deployed")),
        "{r:?}"
    );
    assert_eq!(r.removal, Removal::NotOffered);
    // A helper that still lacks what is needed after its deploy is a failure, not a loop.
    let (mut s, pod) = answered(Some(NODE_PATH));
    key(&mut s, 'f');
    let needs = |s: &mut AppState| {
        update(
            s,
            Action::TransferNeedsHelper {
                pod: pod.clone(),
                variant: HelperVariant::default(),
                why: "the helper pod is not ready".into(),
            },
        )
    };
    needs(&mut s);
    update(&mut s, Action::Intent(Intent::Answer(Answer::Yes)));
    update(
        &mut s,
        Action::HelperDeployed {
            node: "demo-node-2".into(),
            image_id: None,
        },
    );
    let effects = needs(&mut s);
    assert!(!matches!(s.mode, Mode::Confirm(_)), "asked once");
    assert!(effects.is_empty());
    assert!(matches!(phase(&s), CheckpointPhase::Transferred(r) if r.result.is_err()));
}

#[test]
fn s_asks_before_a_live_snapshot_built_from_the_container_status() {
    let (mut s, pod) = answered(None);
    let summary = s.pods.pod(&pod).unwrap().clone();
    let c = summary.container("worker").unwrap().clone();
    assert!(
        matches!(c.state, ContainerState::Running { .. }),
        "{:?}",
        c.state
    );
    assert!(key(&mut s, 's').is_empty(), "asks first");
    assert!(
        matches!(phase(&s), CheckpointPhase::SnapshotConfirm { container } if container == "worker")
    );
    let job = one_transfer(&press(&mut s, KeyCode::Enter));
    assert_eq!(job.variant(), HelperVariant::Snapshot);
    let HelperJob::Snapshot { request } = &job.job else {
        panic!("{job:?}")
    };
    let id = c.container_id.as_deref().unwrap();
    assert_eq!(Some(request.container_id.as_str()), id.split("://").nth(1));
    assert_eq!(request.runtime.as_deref(), Some("containerd"));
    assert_eq!(request.pod_uid.as_deref(), Some(summary.uid.as_str()));
    assert_eq!(request.image.as_deref(), Some(c.image.as_str()));
    assert_eq!(request.image_ref, c.image_id);
    assert_eq!(
        (
            request.pod.as_deref(),
            request.namespace.as_deref(),
            request.container.as_deref()
        ),
        (
            Some(pod.name.as_str()),
            Some(pod.namespace.as_str()),
            Some("worker")
        )
    );
    if let ContainerState::Running { started_at } = c.state {
        assert_eq!(request.created, started_at.map(|t| t.to_string()));
    }
    // The node's helper lacks the variant: its deploy confirmation (which names what it adds).
    update(
        &mut s,
        Action::TransferNeedsHelper {
            pod: pod.clone(),
            variant: HelperVariant::Snapshot,
            why: "the helper on node demo-node-2 lacks DAC_READ_SEARCH, SYSLOG".into(),
        },
    );
    assert!(matches!(
        &s.mode,
        Mode::Confirm(Confirm::DeployHelper {
            variant: HelperVariant::Snapshot,
            ..
        })
    ));
    let effects = update(&mut s, Action::Intent(Intent::Answer(Answer::Yes)));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::DeployHelper {
            variant: HelperVariant::Snapshot,
            ..
        }
    )));
    // The deploy fails: the snapshot with it, saying why.
    update(
        &mut s,
        Action::HelperDeployFailed(crate::helper::lifecycle::DeployError::NoNode),
    );
    let CheckpointPhase::Transferred(r) = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert!(
        r.result
            .as_ref()
            .is_err_and(|e| e.contains("cannot deploy the helper"))
    );
    assert!(s.toasts.iter().any(|t| t.level == ToastLevel::Error));
    // Straight from the question, instead of the kubelet; the result shows path and hash,
    // and nothing is offered for removal (nothing was staged on the node).
    let (mut s, pod) = answered(None);
    s.checkpoint.as_mut().unwrap().phase = CheckpointPhase::Confirm;
    key(&mut s, 's');
    press(&mut s, KeyCode::Char('y'));
    let path =
        "artifacts/payments/ledger/snapshots/snapshot-ledger_payments-worker-20261202T133000Z.tar";
    update(
        &mut s,
        Action::TransferProgress {
            pod: pod.clone(),
            done: 42,
            total: None,
        },
    );
    assert!(matches!(
        phase(&s),
        CheckpointPhase::Transfer {
            total: None,
            done: 42,
            ..
        }
    ));
    update(
        &mut s,
        Action::Transferred {
            pod,
            result: Ok(copy(path)),
        },
    );
    assert!(
        matches!(phase(&s), CheckpointPhase::Transferred(r) if r.removal == Removal::NotOffered && r.result.is_ok())
    );
    assert!(key(&mut s, 'y').is_empty(), "no removal to confirm");
}

#[test]
fn a_container_without_a_runtime_id_is_refused_with_what_to_do() {
    let (mut s, pod) = answered(None);
    let mut summary = s.pods.pod(&pod).unwrap().clone();
    for c in &mut summary.containers {
        c.container_id = None;
    }
    update(
        &mut s,
        Action::Pods(crate::cluster::PodEvent::Applied(Box::new(summary))),
    );
    key(&mut s, 's');
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let CheckpointPhase::Transferred(r) = phase(&s) else {
        panic!("{:?}", phase(&s))
    };
    assert!(
        r.result
            .as_ref()
            .is_err_and(|e| e.contains("no runtime container id")),
        "{r:?}"
    );
}
