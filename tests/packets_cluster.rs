//! TEMPORARY (issue 9): a capture from the console against a cluster — the fake API server (real
//! HTTPS, WebSocket exec, processes) — whose node runs a default helper: the capture's
//! confirmation, then the deploy question for the capture variant (why: the helper lacks
//! NET_RAW), the helper replaced by the capture variant (its pod records NET_RAW and carries the
//! capture emptyDir), `ktui-helper serve` exec'd in it — a scripted stand-in while the real
//! helper's capture is built (tests/fixtures/standin_capture_helper.py; its `fetch` and `rm` are
//! the real helper) — and the files fetched into the case by exec, verified and removed from the
//! node. To be replaced by the real helper's end-to-end test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::{PodKey, Scope};
use ktui::helper::manifest::{self, BINARY, CONTAINER, HelperVariant};
use ktui::intent::Intent;
use ktui::state::packets::capture::{FileStatus, NodeCopy, RecordStatus};
use ktui::state::{Confirm, Mode};
use ktui_fake_apiserver::Store;

const NODE: &str = "worker-1";

fn key(app: &mut App, code: KeyCode) {
    app.dispatch(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_replaces_a_default_helper_by_the_capture_variant_and_fetches_by_exec() {
    let node = tempfile::tempdir().unwrap();
    let captures = node.path().join("captures");
    std::fs::create_dir_all(&captures).unwrap();
    let wrapper = node.path().join("helper.sh");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexport KTUI_CAPTURE_DIR='{}'\nexport KTUI_CHECKPOINT_DIR='{}'\nexport REAL_HELPER='{}'\nexport STANDIN_PROTOCOL={}\nexec python3 '{}' \"$@\"\n",
            captures.display(),
            node.path().join("checkpoints").display(),
            common::helper_binary().display(),
            ktui_wire::PROTOCOL_VERSION,
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/standin_capture_helper.py"),
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace(manifest::DEFAULT_NAMESPACE);
    store.add_node(NODE, "amd64");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1"},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "web:1", "imageID": "", "ready": true, "started": true,
            "restartCount": 0, "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}]},
    }));
    // The default helper runs there: it lacks NET_RAW.
    let image = manifest::default_image();
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": manifest::pod_name(NODE), "namespace": manifest::DEFAULT_NAMESPACE, "uid": "h-1",
                     "labels": {"app.kubernetes.io/name": "ktui-helper", "app.kubernetes.io/managed-by": "ktui"}},
        "spec": {"nodeName": NODE, "containers": [{"name": CONTAINER, "image": image}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": CONTAINER, "image": image, "imageID": "", "ready": true,
            "restartCount": 0, "state": {"running": {}}}]}
    }));
    store.map_exec(BINARY, &wrapper);
    let setup = common::Setup::start(store).await;
    let mut app = App::builder(Arc::new(setup.cluster.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::Namespace("shop".into()))
        .build();
    let pod = PodKey::new("shop", "web-1");
    common::app_until(&mut app, "the pod list", 20, |a| {
        a.state.pods.pod(&pod).is_some()
    })
    .await;
    app.dispatch(Action::Intent(Intent::OpenPackets(pod.clone())));
    assert!(matches!(app.state.mode, Mode::CaptureForm));
    key(&mut app, KeyCode::Enter);
    common::app_until(&mut app, "the deploy question", 20, |a| {
        matches!(a.state.mode, Mode::Confirm(_))
    })
    .await;
    assert!(
        matches!(
            &app.state.mode,
            Mode::Confirm(Confirm::DeployHelper { node, variant: HelperVariant::Capture }) if node == NODE
        ),
        "{:?}",
        app.state.mode
    );
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains("lacks NET_RAW"), "why it is asked:\n{text}");
    key(&mut app, KeyCode::Char('y'));
    common::app_until(&mut app, "the first file in the case", 60, |a| {
        a.state
            .packets
            .shown()
            .is_some_and(|c| c.files_in_case() >= 1)
    })
    .await;
    // The helper pod now is the capture variant.
    let helper = setup
        .store()
        .get(
            "Pod",
            manifest::DEFAULT_NAMESPACE,
            &manifest::pod_name(NODE),
        )
        .unwrap();
    assert_eq!(helper["metadata"]["labels"]["ktui.dev/variant"], "capture");
    assert!(
        helper["metadata"]["annotations"]["ktui.dev/capabilities"]
            .as_str()
            .unwrap()
            .contains("NET_RAW"),
        "{helper}"
    );
    assert!(
        helper["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "captures" && v["emptyDir"]["sizeLimit"] == "2Gi"),
        "{helper}"
    );

    key(&mut app, KeyCode::Char('s'));
    common::app_until(&mut app, "the capture's record", 60, |a| {
        a.state.packets.shown().is_some_and(|c| {
            matches!(
                c.record,
                RecordStatus::Written { .. } | RecordStatus::Failed(_)
            )
        })
    })
    .await;
    let c = app.state.packets.shown().unwrap().clone();
    assert!(
        matches!(c.record, RecordStatus::Written { .. }),
        "{:?}",
        c.record
    );
    let (_, case_dir) = app.state.evidence.case.clone().unwrap();
    for f in &c.files {
        let FileStatus::InCase { path, node, .. } = &f.status else {
            panic!("{f:?}")
        };
        assert_eq!(node, &NodeCopy::Removed);
        let record: serde_json::Value = serde_json::from_slice(
            &std::fs::read(case_dir.join(format!("{path}.fetch.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            record["helper_pod"],
            format!("ktui-system/{}", manifest::pod_name(NODE))
        );
        assert_eq!(record["node"], NODE);
    }
    assert_eq!(c.files.len(), 2);
    assert_eq!(std::fs::read_dir(&captures).unwrap().count(), 0);
    let custody = std::fs::read_to_string(case_dir.join("custody.jsonl")).unwrap();
    assert!(custody.contains("\"deploy_helper\""), "{custody}");
    common::settle_work(&mut app, Duration::from_millis(100)).await;
}
