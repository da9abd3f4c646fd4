//! Reducer tests: actions in, state and effects out. No IO, no async.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::cluster::demo::DemoCluster;
use crate::cluster::{ClusterError, ConnectionState, ContextInfo};
use crate::state::Mode;

fn loaded() -> AppState {
    let demo = DemoCluster::fixed();
    let mut s = AppState::new(demo_info(), Scope::All, true, demo.epoch());
    update(&mut s, Action::Pods(PodEvent::Resync));
    for p in demo.pods() {
        update(
            &mut s,
            Action::Pods(PodEvent::Applied(Box::new(p.detail.summary.clone()))),
        );
    }
    update(&mut s, Action::Pods(PodEvent::ResyncDone));
    s.prepare_frame();
    s
}

fn demo_info() -> ContextInfo {
    ContextInfo {
        context: "demo".into(),
        ..ContextInfo::default()
    }
}

fn key(s: &mut AppState, c: char) -> Vec<Effect> {
    update(
        s,
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
    )
}

fn select(s: &mut AppState, workload: &str) {
    s.pods.select_first();
    while s
        .pods
        .selected_row()
        .is_some_and(|r| !matches!(r, crate::state::pods::Row::Crash { record, .. } if record.workload.name == workload))
    {
        let before = s.pods.selected;
        s.pods.select_next(1);
        assert_ne!(before, s.pods.selected, "{workload} not found");
    }
}

#[test]
fn first_appearance_of_a_signature_asks_for_evidence() {
    let demo = DemoCluster::fixed();
    let mut s = AppState::new(demo_info(), Scope::All, true, demo.epoch());
    let pod = demo
        .pods()
        .iter()
        .find(|p| p.detail.summary.workload.name == "ledger-worker")
        .map(|p| p.detail.summary.clone())
        .unwrap();
    let effects = update(
        &mut s,
        Action::Pods(PodEvent::Applied(Box::new(pod.clone()))),
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::CaptureEvidence {
            logs: Some(true),
            ..
        }]
    ));
    let again = update(&mut s, Action::Pods(PodEvent::Applied(Box::new(pod))));
    assert!(again.is_empty());
}

#[test]
fn evicted_and_not_started_keep_events_only() {
    let demo = DemoCluster::fixed();
    let mut s = AppState::new(demo_info(), Scope::All, true, demo.epoch());
    for name in ["report-gen", "search"] {
        let pod = demo
            .pods()
            .iter()
            .find(|p| p.detail.summary.workload.name == name)
            .map(|p| p.detail.summary.clone())
            .unwrap();
        let effects = update(&mut s, Action::Pods(PodEvent::Applied(Box::new(pod))));
        assert!(
            matches!(
                effects.as_slice(),
                [Effect::CaptureEvidence { logs: None, .. }]
            ),
            "{name}: {effects:?}"
        );
    }
}

#[test]
fn logs_key_asks_for_previous_logs_of_a_restarted_container() {
    let mut s = loaded();
    select(&mut s, "checkout");
    let effects = key(&mut s, 'l');
    let Some(Effect::LoadLogs(req)) = effects.last() else {
        panic!("{effects:?}")
    };
    assert!(req.previous);
    assert_eq!(req.container, "checkout");
    assert_eq!(s.screen, Screen::Logs);
}

#[test]
fn failed_job_shows_current_logs() {
    let mut s = loaded();
    select(&mut s, "settle");
    let effects = key(&mut s, 'l');
    assert!(matches!(effects.last(), Some(Effect::LoadLogs(r)) if !r.previous));
}

#[test]
fn enter_loads_detail_and_events() {
    let mut s = loaded();
    select(&mut s, "ledger-worker");
    let effects = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(matches!(
        effects.as_slice(),
        [Effect::LoadDetail(_), Effect::LoadEvents(_)]
    ));
    assert_eq!(s.screen, Screen::Detail);
}

#[test]
fn forbidden_watch_is_shown_not_fatal_to_the_loop() {
    let mut s = loaded();
    let e = ClusterError::Forbidden {
        verb: "watch".into(),
        resource: "pods".into(),
        namespace: Some("prod".into()),
    };
    update(&mut s, Action::Pods(PodEvent::Failed(e)));
    assert!(
        s.fatal
            .as_deref()
            .is_some_and(|f| f.contains("RBAC forbids 'watch' on 'pods'"))
    );
    assert!(!s.quit);
    assert_eq!(s.toasts.len(), 1);
}

#[test]
fn reconnecting_state_is_tracked() {
    let mut s = loaded();
    let reason = "connection reset".to_string();
    update(
        &mut s,
        Action::Pods(PodEvent::Connection(ConnectionState::Reconnecting {
            reason,
        })),
    );
    assert!(matches!(s.connection, ConnectionState::Reconnecting { .. }));
    update(
        &mut s,
        Action::Pods(PodEvent::Connection(ConnectionState::Live)),
    );
    assert_eq!(s.connection, ConnectionState::Live);
}

#[test]
fn context_command_in_demo_explains_itself() {
    let mut s = loaded();
    key(&mut s, ':');
    for c in "ctx prod".chars() {
        key(&mut s, c);
    }
    let effects = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(effects.is_empty());
    assert!(s.toasts[0].text.contains("single context"));
    assert!(matches!(s.mode, Mode::Normal));
}

#[test]
fn context_command_switches_outside_demo() {
    let mut s = loaded();
    s.demo = false;
    key(&mut s, ':');
    for c in "ctx staging".chars() {
        key(&mut s, c);
    }
    let effects = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert_eq!(effects, vec![Effect::SwitchContext("staging".into())]);
    let info = ContextInfo {
        context: "staging".into(),
        namespace: "web".into(),
        ..ContextInfo::default()
    };
    let effects = update(&mut s, Action::ContextSwitched(info));
    assert_eq!(
        effects,
        vec![
            Effect::StopFollow,
            Effect::WatchPods(Scope::Namespace("web".into()))
        ]
    );
    assert_eq!(s.pods.counts().pods, 0);
}

#[test]
fn unknown_command_is_named() {
    let mut s = loaded();
    key(&mut s, ':');
    key(&mut s, 'x');
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    assert!(s.toasts[0].text.contains("unknown command ':x'"));
}

#[test]
fn toasts_expire_with_the_clock() {
    let mut s = loaded();
    s.toast(crate::state::ToastLevel::Info, "hello");
    let later = s.now + jiff::SignedDuration::from_secs(crate::state::TOAST_SECS + 1);
    update(&mut s, Action::Tick(later));
    assert!(s.toasts.is_empty());
}

#[test]
fn ctrl_c_quits_from_any_mode() {
    let mut s = loaded();
    key(&mut s, '/');
    let effects = update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
    );
    assert_eq!(effects, vec![Effect::Quit]);
    assert!(s.quit);
}

#[test]
fn follow_replaces_pane_and_streams_current_logs() {
    let mut s = loaded();
    select(&mut s, "checkout");
    key(&mut s, 'l');
    let effects = key(&mut s, 'f');
    assert!(matches!(effects.as_slice(), [Effect::FollowLogs(r)] if !r.previous));
    let req = s.logs.as_ref().unwrap().request.clone();
    update(
        &mut s,
        Action::LogChunk(req.clone(), Ok(b"one\ntw".to_vec())),
    );
    update(&mut s, Action::LogChunk(req, Ok(b"o\n".to_vec())));
    assert_eq!(s.logs.as_ref().unwrap().lines, vec!["one", "two"]);
    assert_eq!(key(&mut s, 'f'), vec![Effect::StopFollow]);
}

#[test]
fn a_repeated_error_is_one_toast_with_a_count() {
    let mut s = loaded();
    let e = ClusterError::Forbidden {
        verb: "list".into(),
        resource: "pods".into(),
        namespace: Some("default".into()),
    };
    for _ in 0..3 {
        update(&mut s, Action::Pods(PodEvent::Failed(e.clone())));
    }
    assert_eq!(s.toasts.len(), 1, "{:?}", s.toasts);
    assert_eq!(s.toasts[0].count, 3);
    // A different message is a toast of its own.
    s.toast(ToastLevel::Error, "something else");
    assert_eq!(s.toasts.len(), 2);
}

mod checkpoint;
mod keys_in_help;
mod packets;
mod transfer;

/// The helper session is evidence: on hello (and again at quit, with the final counters) update
/// asks to keep its record — target, hello with the probes, image ID — in the case; without a
/// case it asks for nothing.
#[test]
fn a_helper_session_is_kept_in_the_case_on_hello() {
    let mut s = loaded();
    s.helper.target = Some(crate::state::helper::HelperTarget::Pod {
        node: "node-7".into(),
    });
    s.helper.image_id = Some("localhost/ktui-helper@sha256:abc".into());
    let hello = crate::helper::client::test_hello();
    let effects = update(&mut s, Action::HelperConnected(Box::new(hello.clone())));
    assert!(effects.is_empty(), "no case, nothing to keep: {effects:?}");
    s.evidence.case = Some(("c".into(), std::path::PathBuf::from("/nonexistent")));
    let effects = update(&mut s, Action::HelperConnected(Box::new(hello)));
    let [Effect::KeepHelperSession { node, json }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(node, "node-7");
    let text = String::from_utf8_lossy(json);
    assert!(
        text.contains("sha256:abc") && text.contains("\"probes\""),
        "{text}"
    );
    // Quitting keeps it again, before the Quit.
    let effects = update(&mut s, Action::Intent(crate::intent::Intent::QuitNow));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::KeepHelperSession { .. }, Effect::Quit]
        ),
        "{effects:?}"
    );
}
