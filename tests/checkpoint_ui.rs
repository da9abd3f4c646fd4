//! The checkpoint dialog in the console against the fixed demo cluster (whose nodes answer as
//! containerd 1.7 does): what it asks, what the kubelet's refusal looks like with the live
//! snapshot offered, the record in the case; a crashed container refused with its logs offered.
//! Snapshots (insta) at 80×24 and 120×40.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::Scope;
use ktui::cluster::demo::DemoCluster;
use ktui::state::checkpoint::CheckpointPhase;
use ktui::state::{Mode, Screen};

const QUIET: Duration = Duration::from_millis(150);

async fn harness(w: u16, h: u16) -> App {
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    app.dispatch(Action::Resize(w, h));
    common::settle_work(&mut app, QUIET).await;
    app.state.prepare_frame();
    app
}

async fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        app.dispatch(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    app.settle(QUIET).await;
}

#[tokio::test]
async fn the_dialog_says_node_container_and_what_is_written_where() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = harness(w, h).await;
        press(&mut app, "/ledger\nC").await;
        assert!(matches!(app.state.mode, Mode::Checkpoint));
        let text = common::screen(&mut app, w, h);
        for needle in [
            "Checkpoint payments/ledger-worker",
            "demo-node-2",
            "keeps running",
            "memory",
            "/var/lib/kubelet/checkpoints/",
            "request.json",
            "case test",
            "⏎: checkpoint",
        ] {
            assert!(text.contains(needle), "{needle} at {w}x{h}:\n{text}");
        }
        insta::assert_snapshot!(format!("checkpoint_dialog_{w}x{h}"), text);
    }
}

#[tokio::test]
async fn the_demo_refuses_as_containerd_1_7_and_the_dialog_offers_the_live_snapshot() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = harness(w, h).await;
        press(&mut app, "/ledger\nC\n").await;
        common::settle_work(&mut app, QUIET).await;
        let Some(CheckpointPhase::Done(report)) =
            app.state.checkpoint.as_ref().map(|d| d.phase.clone())
        else {
            panic!("no result: {:?}", app.state.checkpoint)
        };
        assert!(!report.ok() && report.offers_snapshot, "{report:?}");
        assert!(report.message.starts_with("DEMO"), "{}", report.message);
        assert!(
            report.message.contains("not implemented"),
            "{}",
            report.message
        );
        assert_eq!(
            report.node_runs.as_deref(),
            Some("node demo-node-2 runs containerd://1.7.24 (kubelet v1.33.0-demo)")
        );
        // The record is in the case, with a custody line saying the checkpoint failed.
        let Some(Ok((path, sha))) = report.recorded.clone() else {
            panic!("{:?}", report.recorded)
        };
        assert!(
            path.starts_with("artifacts/payments/ledger-worker-")
                && path.contains("/checkpoints/worker-"),
            "{path}"
        );
        let (_, dir) = app.state.evidence.case.clone().unwrap();
        let record: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(&path)).unwrap()).unwrap();
        assert_eq!(record["result"], "error");
        assert_eq!(record["error"]["offers_snapshot"], true);
        let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
        let line = custody
            .lines()
            .find(|l| l.contains("\"action\":\"checkpoint\""))
            .unwrap();
        assert!(
            line.contains("\"result\":\"error\"") && line.contains(&sha),
            "{line}"
        );
        assert!(app.state.evidence.items().iter().any(|i| i.path == path));
        // The record's name and hash carry the wall clock: fixed for the snapshot.
        if let Some(CheckpointPhase::Done(r)) = app.state.checkpoint.as_mut().map(|d| &mut d.phase)
        {
            r.recorded = Some(Ok((
                "artifacts/payments/ledger-worker-5d8c7b6f4-tq9wn/checkpoints/worker-20261120T100000Z.request.json".into(),
                "0123456789abcdef".into(),
            )));
        }
        let text = common::screen(&mut app, w, h);
        assert!(text.contains("--snapshot"), "{text}");
        insta::assert_snapshot!(
            format!("checkpoint_refused_{w}x{h}"),
            common::dialog_box(&text, "Checkpoint")
        );
        press(&mut app, "\n").await;
        assert!(app.state.checkpoint.is_none());
    }
}

#[tokio::test]
async fn a_crashed_container_is_refused_and_its_logs_open_with_l() {
    let mut app = harness(80, 24).await;
    press(&mut app, "/checkout\nC").await;
    let text = common::screen(&mut app, 80, 24);
    assert!(text.contains("is not running"), "{text}");
    press(&mut app, "\n").await;
    let text = common::screen(&mut app, 80, 24);
    assert!(text.contains("a dead process cannot be"), "{text}");
    assert!(text.contains("l: its logs"), "{text}");
    insta::assert_snapshot!("checkpoint_not_running_80x24", text);
    press(&mut app, "l").await;
    assert_eq!(app.state.screen, Screen::Logs);
    assert!(app.state.logs.as_ref().unwrap().request.previous);
}

/// The console through `KubeCluster` against the fake API server: a kubelet that writes the
/// archive; the path comes back into the dialog and the record into the case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_through_the_api_server_shows_the_archive_path() {
    use ktui::cluster::PodKey;
    use ktui::intent::Intent;
    use ktui_fake_apiserver::{CheckpointKubelet, KubeletCheckpoint, Store};
    let store = Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1"},
        "spec": {"nodeName": "worker-1", "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "web:1", "imageID": "", "ready": true, "started": true,
            "restartCount": 0, "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}]},
    }));
    store.set_checkpoint_kubelet("worker-1", CheckpointKubelet::new(KubeletCheckpoint::Write));
    let setup = common::Setup::start(store).await;
    let mut app = App::builder(Arc::new(setup.cluster.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::Namespace("shop".into()))
        .build();
    let key = PodKey::new("shop", "web-1");
    common::app_until(&mut app, "the pod list", 20, |a| {
        a.state.pods.pod(&key).is_some()
    })
    .await;
    app.dispatch(Action::Intent(Intent::Checkpoint(key)));
    app.settle(QUIET).await;
    assert!(matches!(app.state.mode, Mode::Checkpoint));
    press(&mut app, "\n").await;
    common::app_until(&mut app, "the checkpoint", 20, |a| {
        matches!(
            a.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::Done(_))
        )
    })
    .await;
    let Some(CheckpointPhase::Done(report)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!()
    };
    let written = setup.store().checkpoints_written();
    assert_eq!(report.node_path.as_deref(), Some(written[0].1.as_str()));
    let text = common::screen(&mut app, 120, 40);
    assert!(
        text.contains("Checkpoint written on node worker-1"),
        "{text}"
    );
    assert!(text.contains(&written[0].1), "{text}");
    let Some(Ok((path, _))) = &report.recorded else {
        panic!("{:?}", report.recorded)
    };
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(path)).unwrap()).unwrap();
    assert_eq!(record["result"], "ok");
    assert_eq!(record["node_path"], written[0].1.as_str());
}
