//! The checkpoint dialog in the reducer: `C` asks (node, container), Enter runs it as an effect,
//! the kubelet's answer comes back into the dialog and a toast; a container that is not running
//! is refused before anything is asked, with its logs one key away.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{key, loaded, select};
use crate::action::Action;
use crate::cluster::{AccessCheck, ContainerState, PodEvent};
use crate::effect::Effect;
use crate::intent::{ConfirmPolicy, Intent};
use crate::state::checkpoint::{CheckpointPhase, CheckpointReport};
use crate::state::menu::{MenuAction, MenuState, needs};
use crate::state::{AppState, Mode, Screen, ToastLevel};
use crate::update::update;

fn with_case() -> AppState {
    let mut s = loaded();
    s.evidence.case = Some(("case-1".into(), std::path::PathBuf::from("/nonexistent")));
    s
}

fn press(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn report(container: &str, node_path: Option<&str>) -> Box<CheckpointReport> {
    Box::new(CheckpointReport {
        container: container.into(),
        node_path: node_path.map(str::to_string),
        message: match node_path {
            Some(_) => format!("checkpointed container {container} in 1.0 s"),
            None => "the container runtime of node demo-node-2 cannot checkpoint it".into(),
        },
        offers_snapshot: node_path.is_none(),
        snapshot_command: "ktui checkpoint create x -n y -c z --snapshot".into(),
        offers_logs: false,
        node_runs: None,
        recorded: Some(Ok(("artifacts/x.request.json".into(), "ab".repeat(32)))),
    })
}

#[test]
fn c_asks_then_enter_runs_the_checkpoint_and_the_answer_comes_back() {
    let mut s = with_case();
    select(&mut s, "ledger-worker");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    let effects = key(&mut s, 'C');
    assert!(matches!(s.mode, Mode::Checkpoint), "{:?}", s.mode);
    // The permission the dialog warns about is asked for.
    assert_eq!(
        effects,
        vec![Effect::CheckAccess(vec![AccessCheck::new(
            "create",
            "nodes/proxy",
            None
        )])]
    );
    let d = s.checkpoint.as_ref().unwrap();
    assert_eq!(d.node, "demo-node-2");
    assert_eq!(d.choice().unwrap().name, "worker");
    assert_eq!(d.case_id, "case-1");
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::Checkpoint(plan)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(
        (plan.node.as_str(), plan.container.name.as_str()),
        ("demo-node-2", "worker")
    );
    assert_eq!(plan.pod, pod);
    assert!(s.checkpoint.as_ref().unwrap().running());
    // Enter again does not ask twice.
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let path = "/var/lib/kubelet/checkpoints/checkpoint-ledger_payments-worker-2026.tar";
    update(
        &mut s,
        Action::Checkpointed {
            pod,
            report: report("worker", Some(path)),
        },
    );
    let d = s.checkpoint.as_ref().unwrap();
    assert!(matches!(&d.phase, CheckpointPhase::Done(r) if r.ok()));
    assert!(
        s.toasts
            .iter()
            .any(|t| t.level == ToastLevel::Info && t.text.contains(path)),
        "{:?}",
        s.toasts
    );
    press(&mut s, KeyCode::Enter);
    assert!(s.checkpoint.is_none(), "Enter closes a finished dialog");
}

#[test]
fn a_crashed_container_is_refused_before_asking_and_its_logs_are_one_key_away() {
    let mut s = with_case();
    select(&mut s, "checkout");
    key(&mut s, 'C');
    let d = s.checkpoint.as_ref().unwrap();
    assert!(!d.choice().unwrap().running);
    assert!(press(&mut s, KeyCode::Enter).is_empty(), "nothing is asked");
    let Some(CheckpointPhase::Done(r)) = s.checkpoint.as_ref().map(|d| &d.phase) else {
        panic!("{:?}", s.checkpoint)
    };
    assert!(r.offers_logs && !r.offers_snapshot && r.recorded.is_none());
    assert!(
        r.message.contains("a dead process cannot be checkpointed"),
        "{}",
        r.message
    );
    let effects = key(&mut s, 'l');
    assert_eq!(s.screen, Screen::Logs);
    assert!(s.checkpoint.is_none());
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::LoadLogs(r) if r.previous)),
        "the previous instance's logs: {effects:?}"
    );
}

#[test]
fn left_and_right_pick_the_container_and_results_for_another_are_dropped() {
    let mut s = with_case();
    select(&mut s, "ledger-worker");
    let mut pod = s
        .pods
        .pod(s.pods.selected_row().unwrap().pod_key())
        .unwrap()
        .clone();
    let mut side = pod.containers[0].clone();
    side.name = "proxy".into();
    side.state = ContainerState::Running { started_at: None };
    pod.containers.push(side);
    update(
        &mut s,
        Action::Pods(PodEvent::Applied(Box::new(pod.clone()))),
    );
    s.prepare_frame();
    key(&mut s, 'C');
    let name = |s: &AppState| {
        s.checkpoint
            .as_ref()
            .unwrap()
            .choice()
            .unwrap()
            .name
            .clone()
    };
    assert_eq!(name(&s), "worker");
    press(&mut s, KeyCode::Right);
    assert_eq!(name(&s), "proxy");
    press(&mut s, KeyCode::Right);
    assert_eq!(name(&s), "worker", "wraps");
    press(&mut s, KeyCode::Left);
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Checkpoint(p)] if p.container.name == "proxy"));
    // An answer about the other container is not this dialog's.
    update(
        &mut s,
        Action::Checkpointed {
            pod: pod.key.clone(),
            report: report("worker", None),
        },
    );
    assert!(s.checkpoint.as_ref().unwrap().running());
    update(
        &mut s,
        Action::Checkpointed {
            pod: pod.key.clone(),
            report: report("proxy", None),
        },
    );
    let Some(CheckpointPhase::Done(r)) = s.checkpoint.as_ref().map(|d| &d.phase) else {
        panic!()
    };
    assert!(r.offers_snapshot && !r.ok());
}

#[test]
fn esc_hides_a_running_checkpoint_and_its_result_still_toasts() {
    let mut s = with_case();
    select(&mut s, "ledger-worker");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    key(&mut s, 'C');
    press(&mut s, KeyCode::Enter);
    press(&mut s, KeyCode::Esc);
    assert!(matches!(s.mode, Mode::Normal));
    assert!(
        s.checkpoint
            .as_ref()
            .is_some_and(|d| d.running() && !d.shown)
    );
    // C on another pod brings the running one back.
    select(&mut s, "checkout");
    key(&mut s, 'C');
    assert!(matches!(s.mode, Mode::Checkpoint));
    assert_eq!(s.checkpoint.as_ref().unwrap().pod, pod);
    press(&mut s, KeyCode::Esc);
    update(
        &mut s,
        Action::Checkpointed {
            pod,
            report: report("worker", None),
        },
    );
    assert!(
        s.checkpoint.is_none(),
        "a hidden dialog goes with its result"
    );
    assert!(s.toasts.iter().any(|t| t.level == ToastLevel::Error));
}

#[test]
fn without_a_case_nothing_is_asked_and_a_policy_answers_for_a_driver() {
    let mut s = loaded();
    select(&mut s, "ledger-worker");
    assert!(key(&mut s, 'C').is_empty());
    assert!(s.checkpoint.is_none());
    assert!(s.toasts.iter().any(|t| t.text.contains("no case is open")));
    let mut s = with_case();
    s.confirm_policy = ConfirmPolicy::AssumeYes;
    select(&mut s, "ledger-worker");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    let effects = update(&mut s, Action::Intent(Intent::Checkpoint(pod.clone())));
    assert!(
        effects.iter().any(|e| matches!(e, Effect::Checkpoint(_))),
        "{effects:?}"
    );
    let mut s = with_case();
    s.confirm_policy = ConfirmPolicy::AssumeNo;
    let effects = update(&mut s, Action::Intent(Intent::Checkpoint(pod)));
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Checkpoint(_))),
        "{effects:?}"
    );
    assert!(s.checkpoint.is_none());
}

#[test]
fn the_menu_entry_sits_before_notes_and_needs_create_nodes_proxy() {
    let mut s = with_case();
    select(&mut s, "ledger-worker");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    let menu = MenuState::new(pod.clone(), "ktui-system", false);
    let order: Vec<MenuAction> = menu.entries.iter().map(|e| e.action).collect();
    let at = order
        .iter()
        .position(|a| *a == MenuAction::Checkpoint)
        .unwrap();
    assert_eq!(order[at + 1], MenuAction::Notes);
    assert_eq!(
        needs(MenuAction::Checkpoint, &pod, "ktui-system", false).required,
        vec![AccessCheck::new("create", "nodes/proxy", None)]
    );
    // Denied: the menu says so and does not open the dialog.
    key(&mut s, 'm');
    update(
        &mut s,
        Action::AccessChecked {
            checks: menu.checks(),
            result: Ok(menu
                .checks()
                .iter()
                .map(|c| c.resource != "nodes")
                .collect()),
        },
    );
    key(&mut s, 'C');
    assert!(s.checkpoint.is_none());
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text.contains("create nodes/proxy (cluster-wide)")),
        "{:?}",
        s.toasts
    );
    // Allowed: its direct key opens the dialog.
    let mut s = with_case();
    select(&mut s, "ledger-worker");
    key(&mut s, 'm');
    update(
        &mut s,
        Action::AccessChecked {
            checks: menu.checks(),
            result: Ok(vec![true; menu.checks().len()]),
        },
    );
    key(&mut s, 'C');
    assert!(matches!(s.mode, Mode::Checkpoint));
}
