//! From the checkpoint dialog, through the node's helper: `f` fetches the archive the kubelet
//! wrote into the case through the real helper binary over the fake API server's exec (real
//! HTTPS, WebSocket, processes), verified, with its path and SHA-256 in the dialog and the
//! question whether to remove the node's copy (`y` removes it, with a custody line); `s` shows
//! what a live snapshot is and is not before anything runs. Insta snapshots of the dialogs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{PodKey, Scope};
use ktui::helper::manifest::HelperVariant;
use ktui::helper::manifest::{self, BINARY};
use ktui::intent::Intent;
use ktui::state::checkpoint::{CheckpointPhase, CheckpointReport, HelperJob, Removal};
use ktui::state::{Confirm, Mode};
use ktui_fake_apiserver::Store;
use sha2::{Digest as _, Sha256};

const QUIET: Duration = Duration::from_millis(150);
const NODE: &str = "worker-1";
const ARCHIVE: &str = "checkpoint-web-1_shop-app-2026-12-02T100000Z.tar";
/// The snapshot variant's label and capabilities annotation on a helper pod.
const SNAPSHOT_VARIANT: (&str, &str) = (
    "snapshot",
    "BPF,PERFMON,SYS_PTRACE,NET_ADMIN,DAC_READ_SEARCH,SYSLOG",
);

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

/// The kubelet's answer, as the dialog shows it after a checkpoint written at `node_path`.
fn written(container: &str, node_path: &str) -> CheckpointPhase {
    CheckpointPhase::Done(Box::new(CheckpointReport {
        container: container.into(),
        node_path: Some(node_path.into()),
        message: format!("checkpointed container {container} in 1.0 s"),
        offers_snapshot: false,
        snapshot_command: String::new(),
        offers_logs: false,
        node_runs: None,
        recorded: None,
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_fetches_the_archive_into_the_case_and_y_removes_it_from_the_node() {
    // The node's checkpoint directory, and the real helper pointed at it.
    let node = tempfile::tempdir().unwrap();
    let checkpoints = node.path().join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    std::fs::create_dir_all(node.path().join("captures")).unwrap();
    let bytes: Vec<u8> = (0..3u64 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let node_path = checkpoints.join(ARCHIVE);
    std::fs::write(&node_path, &bytes).unwrap();
    let node_path = node_path.display().to_string();
    let wrapper = common::helper_wrapper(
        node.path(),
        "",
        &[
            ("KTUI_CHECKPOINT_DIR", &checkpoints),
            ("KTUI_CAPTURE_DIR", &node.path().join("captures")),
        ],
    );

    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace(manifest::DEFAULT_NAMESPACE);
    store.add_node(NODE, "amd64");
    store.apply(common::web_pod(NODE, "uid-web-1"));
    // A ready helper of this console's image runs on the node: no deploy is asked. It is the
    // snapshot variant, whose checkpoint directory is writable: removing is offered.
    store.apply(common::helper_pod(
        NODE,
        &manifest::default_image(),
        Some(SNAPSHOT_VARIANT),
    ));
    store.map_exec(BINARY, &wrapper);
    let setup = common::Setup::start(store).await;
    let mut app = App::builder(Arc::new(setup.cluster.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::Namespace("shop".into()))
        .build();
    app.dispatch(Action::Resize(100, 30));
    let key = PodKey::new("shop", "web-1");
    common::app_until(&mut app, "the pod list", 20, |a| {
        a.state.pods.pod(&key).is_some()
    })
    .await;
    app.dispatch(Action::Intent(Intent::Checkpoint(key)));
    app.settle(QUIET).await;
    assert!(matches!(app.state.mode, Mode::Checkpoint));
    // The kubelet wrote the archive (its answer is the other test file's subject).
    app.state.checkpoint.as_mut().unwrap().phase = written("app", &node_path);
    let text = common::screen(&mut app, 100, 30);
    assert!(text.contains("f: fetch into the case"), "{text}");

    press(&mut app, "f").await;
    common::app_until(&mut app, "the fetch", 30, |a| {
        matches!(
            a.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::Transferred(_))
        )
    })
    .await;
    let Some(CheckpointPhase::Transferred(report)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!()
    };
    let copy = report.result.clone().unwrap_or_else(|e| panic!("{e}"));
    let sha = hex::encode(Sha256::digest(&bytes));
    assert_eq!(copy.entry.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!(
        copy.entry.path,
        format!("artifacts/shop/web-1/checkpoints/{ARCHIVE}")
    );
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    assert_eq!(std::fs::read(dir.join(&copy.entry.path)).unwrap(), bytes);
    assert!(
        dir.join(format!("{}.fetch.json", copy.entry.path))
            .is_file(),
        "the transfer record"
    );
    assert_eq!(report.removal, Removal::Asking);
    let text = common::screen(&mut app, 100, 30);
    for needle in [copy.entry.path.as_str(), sha.as_str(), "y/N"] {
        assert!(text.contains(needle), "{needle}:\n{text}");
    }
    // The node path is a temp dir: shown as the kubelet's for the snapshot, then put back.
    let set_path = |app: &mut App, path: &str| {
        if let Some(CheckpointPhase::Transferred(r)) =
            app.state.checkpoint.as_mut().map(|d| &mut d.phase)
        {
            r.job.job = HelperJob::Fetch {
                node_path: path.to_string(),
            };
        }
    };
    set_path(&mut app, &format!("/var/lib/kubelet/checkpoints/{ARCHIVE}"));
    let text = common::screen(&mut app, 100, 30);
    insta::assert_snapshot!(
        "checkpoint_fetched_100x30",
        common::dialog_box(&text, "Checkpoint")
    );
    set_path(&mut app, &node_path);

    press(&mut app, "y").await;
    common::app_until(&mut app, "the removal", 30, |a| {
        matches!(
            a.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::Transferred(r)) if r.removal != Removal::Removing
        )
    })
    .await;
    let Some(CheckpointPhase::Transferred(report)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!()
    };
    assert_eq!(report.removal, Removal::Removed, "{report:?}");
    assert!(
        !std::path::Path::new(&node_path).exists(),
        "removed on the node"
    );
    let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
    assert!(
        custody
            .lines()
            .any(|l| l.contains("\"action\":\"remove_node_file\"") && l.contains(&sha)),
        "{custody}"
    );
    assert!(
        custody.lines().any(|l| l.contains("\"action\":\"fetch\"")),
        "{custody}"
    );
    press(&mut app, "\n").await;
    assert!(app.state.checkpoint.is_none());
}

#[tokio::test]
async fn s_says_what_a_live_snapshot_is_and_is_not_before_it_runs() {
    for (w, h) in [(80, 30), (120, 40)] {
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
        press(&mut app, "/ledger\nCs").await;
        assert!(matches!(
            app.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::SnapshotConfirm { .. })
        ));
        let text = common::screen(&mut app, w, h);
        for needle in [
            "Not a CRIU image",
            "cannot be restored",
            "memory and environment",
            "not frozen",
            "snapshots/",
            "snapshot-ledger-worker",
        ] {
            assert!(text.contains(needle), "{needle} at {w}x{h}:\n{text}");
        }
        insta::assert_snapshot!(
            format!("checkpoint_snapshot_ask_{w}x{h}"),
            common::dialog_box(&text, "Checkpoint")
        );
        press(&mut app, "\x1b").await;
        assert!(app.state.checkpoint.is_none());
    }
}

const CID: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// `shop/web-1` (container `app`, runtime id [`CID`]) and a ready helper of this console's
/// image on the node, of the snapshot variant or the default one.
fn snapshot_store(snapshot_variant: bool) -> Store {
    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace(manifest::DEFAULT_NAMESPACE);
    store.add_node(NODE, "amd64");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1"},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "web:1",
            "imageID": "web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "containerID": format!("containerd://{CID}"),
            "ready": true, "started": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}]},
    }));
    store.apply(common::helper_pod(
        NODE,
        &manifest::default_image(),
        snapshot_variant.then_some(SNAPSHOT_VARIANT),
    ));
    store
}

async fn console_on(store: Store) -> (common::Setup, App) {
    let setup = common::Setup::start(store).await;
    let mut app = App::builder(Arc::new(setup.cluster.clone()))
        .case(Some(common::test_case()))
        .scope(Scope::Namespace("shop".into()))
        .build();
    app.dispatch(Action::Resize(100, 30));
    let key = PodKey::new("shop", "web-1");
    common::app_until(&mut app, "the pod list", 20, |a| {
        a.state.pods.pod(&key).is_some()
    })
    .await;
    app.dispatch(Action::Intent(Intent::Checkpoint(key)));
    app.settle(QUIET).await;
    assert!(matches!(app.state.mode, Mode::Checkpoint));
    (setup, app)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_default_helper_is_not_enough_for_a_live_snapshot_the_snapshot_variant_is_asked() {
    let (_setup, mut app) = console_on(snapshot_store(false)).await;
    press(&mut app, "s\n").await;
    common::app_until(&mut app, "the deploy question", 20, |a| {
        matches!(a.state.mode, Mode::Confirm(_))
    })
    .await;
    assert!(
        matches!(
            &app.state.mode,
            Mode::Confirm(Confirm::DeployHelper { node, variant: HelperVariant::Snapshot }) if node == NODE
        ),
        "{:?}",
        app.state.mode
    );
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains("DAC_READ_SEARCH"), "what it adds: {text}");
    press(&mut app, "n").await;
    let Some(CheckpointPhase::Transferred(r)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!("{:?}", app.state.checkpoint)
    };
    assert!(
        r.result
            .as_ref()
            .is_err_and(|e| e.contains("was not deployed")),
        "{r:?}"
    );
}

/// A process (static busybox sh) holding `secret` in memory, read from a pipe: never on disk.
struct Holder {
    child: std::process::Child,
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s_takes_a_live_snapshot_of_a_real_process_into_the_case() {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::process::{Command, Stdio};
    let test = "s_takes_a_live_snapshot_of_a_real_process_into_the_case";
    let why = common::needs_root("reading another process's memory")
        .or_else(|| common::missing_tool(&["busybox"]));
    if common::skip_unless(test, why) {
        return;
    }
    let secret = format!("ktui-console-secret-{}", std::process::id());
    let mut child = Command::new("busybox")
        .args(["sh", "-c", "read s; echo ready; while :; do sleep 1; done"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.as_mut().unwrap(), "{secret}").unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");
    let holder = Holder { child };
    // The node: a containerd-on-systemd cgroup for CID holding the process.
    let node = tempfile::tempdir().unwrap();
    let cgroup = node.path().join(format!(
        "cgroup/kubepods.slice/kubepods-pod_uid_web_1.slice/cri-containerd-{CID}.scope"
    ));
    std::fs::create_dir_all(&cgroup).unwrap();
    std::fs::write(
        cgroup.join("cgroup.procs"),
        format!("{}\n", holder.child.id()),
    )
    .unwrap();
    let wrapper = common::helper_wrapper(
        node.path(),
        "",
        &[("KTUI_CGROUP_ROOT", &node.path().join("cgroup"))],
    );
    let store = snapshot_store(true);
    store.map_exec(BINARY, &wrapper);
    let (_setup, mut app) = console_on(store).await;
    press(&mut app, "s\n").await;
    common::app_until(&mut app, "the live snapshot", 60, |a| {
        matches!(
            a.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::Transferred(_))
        )
    })
    .await;
    let Some(CheckpointPhase::Transferred(r)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!()
    };
    let copy = r.result.clone().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        r.removal,
        Removal::NotOffered,
        "nothing was staged on the node"
    );
    assert!(
        copy.entry
            .path
            .starts_with("artifacts/shop/web-1/snapshots/snapshot-web-1_shop-app-"),
        "{}",
        copy.entry.path
    );
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    let tar = std::fs::read(dir.join(&copy.entry.path)).unwrap();
    assert_eq!(
        copy.entry.sha256.as_deref(),
        Some(hex::encode(Sha256::digest(&tar)).as_str())
    );
    let found = tar.windows(secret.len()).any(|w| w == secret.as_bytes());
    assert!(found, "the process's memory holds the secret");
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains(&copy.entry.path), "{text}");
    assert!(text.contains("i: inspect"), "{text}");
    // `i` reads the copy into the inspect pane, and `/` finds the secret in its memory.
    press(&mut app, "i").await;
    common::settle_work(&mut app, QUIET).await;
    assert_eq!(app.state.screen, ktui::state::Screen::Inspect);
    press(&mut app, &format!("/{secret}\n")).await;
    common::app_until(&mut app, "the memory search", 60, |a| {
        a.state
            .inspect
            .as_ref()
            .is_some_and(|i| i.status != ktui::state::inspect::InspectStatus::Reading)
    })
    .await;
    let inspect = app.state.inspect.clone().unwrap();
    assert_eq!(
        inspect.status,
        ktui::state::inspect::InspectStatus::Read,
        "{inspect:?}"
    );
    assert!(inspect.matches.unwrap_or(0) >= 1, "{inspect:?}");
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains("matches of"), "{text}");
    drop(holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_without_a_helper_asks_to_deploy_one_and_fetches_once_it_is_ready() {
    let node = tempfile::tempdir().unwrap();
    let checkpoints = node.path().join("checkpoints");
    std::fs::create_dir_all(&checkpoints).unwrap();
    let bytes: Vec<u8> = (0..512u32 << 10).map(|i| (i % 251) as u8).collect();
    let node_path = checkpoints.join(ARCHIVE);
    std::fs::write(&node_path, &bytes).unwrap();
    let node_path = node_path.display().to_string();
    // The deployed helper's `serve` (the session the console opens after a deploy) is not
    // this test's subject: it exits at once.
    let wrapper = common::helper_wrapper(
        node.path(),
        "[ \"$1\" = serve ] && exit 3\n",
        &[("KTUI_CHECKPOINT_DIR", &checkpoints)],
    );
    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace(manifest::DEFAULT_NAMESPACE);
    store.add_node(NODE, "amd64");
    store.apply(common::web_pod(NODE, "uid-web-1"));
    store.map_exec(BINARY, &wrapper);
    let (setup, mut app) = console_on(store).await;
    app.state.checkpoint.as_mut().unwrap().phase = written("app", &node_path);
    press(&mut app, "f").await;
    common::app_until(&mut app, "the deploy question", 20, |a| {
        matches!(a.state.mode, Mode::Confirm(_))
    })
    .await;
    assert!(
        matches!(&app.state.mode, Mode::Confirm(Confirm::DeployHelper { variant, .. }) if variant.is_default()),
        "reading needs only the default helper: {:?}",
        app.state.mode
    );
    press(&mut app, "y").await;
    common::app_until(&mut app, "the fetch after the deploy", 60, |a| {
        matches!(
            a.state.checkpoint.as_ref().map(|d| &d.phase),
            Some(CheckpointPhase::Transferred(_))
        )
    })
    .await;
    let Some(CheckpointPhase::Transferred(r)) =
        app.state.checkpoint.as_ref().map(|d| d.phase.clone())
    else {
        panic!()
    };
    let copy = r.result.clone().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        copy.entry.sha256.as_deref(),
        Some(hex::encode(Sha256::digest(&bytes)).as_str())
    );
    assert_eq!(copy.helper_pod.name, manifest::pod_name(NODE));
    assert!(
        setup
            .store()
            .get(
                "Pod",
                manifest::DEFAULT_NAMESPACE,
                &manifest::pod_name(NODE)
            )
            .is_some(),
        "the helper was created"
    );
    // The default helper mounts the checkpoint directory read-only: removing is not offered,
    // the dialog says where the copy stays and how to remove it.
    assert_eq!(r.removal, Removal::Manual, "{r:?}");
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains("mounts that directory read-only"), "{text}");
    assert!(!text.contains("y/N"), "{text}");
    press(&mut app, "\n").await;
    assert!(app.state.checkpoint.is_none());
    assert!(std::path::Path::new(&node_path).exists());
}

#[tokio::test]
async fn the_gauge_counts_the_bytes_received() {
    use ktui::state::checkpoint::TransferJob;
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    app.dispatch(Action::Resize(80, 24));
    common::settle_work(&mut app, QUIET).await;
    app.state.prepare_frame();
    press(&mut app, "/ledger\nC").await;
    let d = app.state.checkpoint.as_mut().unwrap();
    let job = TransferJob {
        pod: d.pod.clone(),
        container: "worker".into(),
        node: d.node.clone(),
        image: manifest::default_image(),
        job: HelperJob::Fetch {
            node_path: format!("/var/lib/kubelet/checkpoints/{ARCHIVE}"),
        },
    };
    d.phase = CheckpointPhase::Transfer {
        job: Box::new(job),
        done: 3 << 20,
        total: Some(12 << 20),
    };
    let text = common::screen(&mut app, 80, 24);
    assert!(text.contains("3 MiB / 12 MiB"), "{text}");
    insta::assert_snapshot!(
        "checkpoint_fetching_80x24",
        common::dialog_box(&text, "Checkpoint")
    );
}
