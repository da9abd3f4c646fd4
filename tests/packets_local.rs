//! TEMPORARY (issue 9): the packets pane end to end with `--helper local`, against a scripted
//! stand-in for `ktui-helper serve` (tests/fixtures/standin_capture_helper.py) while the real
//! helper's capture is being built; its `fetch` and `rm` are the real helper binary. The
//! console's runtime spawns it, the capture's files come into the case through the local
//! fetch path (verified against the announced SHA-256 and the fetch's own), are removed from
//! the "node" directory, and the record is written; tshark reads the pcaps. To be replaced by
//! the end-to-end test with the real helper capturing in a real network namespace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::Scope;
use ktui::cluster::demo::DemoCluster;
use ktui::state::helper::HelperSource;
use ktui::state::packets::capture::{FileStatus, NodeCopy, Phase, RecordStatus};
use sha2::{Digest as _, Sha256};

fn key(app: &mut App, code: KeyCode) {
    app.dispatch(Action::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_capture_lands_its_pcaps_and_record_in_the_case() {
    let real = common::helper_binary();
    let node = tempfile::tempdir().unwrap();
    let captures = node.path().join("captures");
    std::fs::create_dir_all(&captures).unwrap();
    let script = node.path().join("standin-helper");
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/standin_capture_helper.py"
        ),
        &script,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    // SAFETY: this test binary holds this one test, and nothing it started reads the
    // environment yet; the helper processes spawned later inherit it.
    unsafe {
        std::env::set_var("KTUI_HELPER_BIN", &script);
        std::env::set_var("REAL_HELPER", &real);
        std::env::set_var("KTUI_CAPTURE_DIR", &captures);
        std::env::set_var("KTUI_CHECKPOINT_DIR", node.path().join("checkpoints"));
        std::env::set_var("STANDIN_PROTOCOL", ktui_wire::PROTOCOL_VERSION.to_string());
    }

    let demo = DemoCluster::new(jiff::Timestamp::now(), false);
    let mut app = App::builder(Arc::new(demo))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .helper_source(HelperSource::Local)
        .build();
    common::app_until(&mut app, "the pod table", 10, |a| {
        a.state.pods.selected_row().is_some()
    })
    .await;
    let pod = app.state.pods.selected_row().unwrap().pod_key().clone();
    app.dispatch(Action::Intent(ktui::intent::Intent::OpenPackets(
        pod.clone(),
    )));
    for c in "/var/run/netns/standin".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    common::app_until(&mut app, "the capture's first file in the case", 30, |a| {
        a.state
            .packets
            .shown()
            .is_some_and(|c| c.phase == Phase::Running && c.files_in_case() == 1)
    })
    .await;
    let c = app.state.packets.shown().unwrap();
    assert_eq!(c.ring.received, 30);
    let text = common::screen(&mut app, 120, 40);
    assert!(text.contains("Capturing on eth0"), "{text}");
    assert!(
        text.contains("1-0001.pcap") || text.contains("-0001.pcap"),
        "{text}"
    );

    key(&mut app, KeyCode::Char('s'));
    common::app_until(&mut app, "the capture's record", 30, |a| {
        a.state.packets.shown().is_some_and(|c| {
            matches!(
                c.record,
                RecordStatus::Written { .. } | RecordStatus::Failed(_)
            )
        })
    })
    .await;
    common::settle_work(&mut app, Duration::from_millis(100)).await;
    let c = app.state.packets.shown().unwrap().clone();
    let RecordStatus::Written {
        path: record_path, ..
    } = &c.record
    else {
        panic!("{:?}", c.record)
    };
    let (_, case_dir) = app.state.evidence.case.clone().unwrap();
    assert_eq!(c.files.len(), 2);
    for f in &c.files {
        let FileStatus::InCase { path, sha256, node } = &f.status else {
            panic!("{f:?}")
        };
        assert_eq!(node, &NodeCopy::Removed, "{f:?}");
        let bytes = std::fs::read(case_dir.join(path)).unwrap();
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), sha256);
        assert_eq!(Some(sha256), f.sha256.as_ref(), "the announced hash");
        assert!(
            path.starts_with(&format!("artifacts/{}/{}/pcaps/", pod.namespace, pod.name)),
            "{path}"
        );
        assert!(case_dir.join(format!("{path}.fetch.json")).is_file());
        // tshark reads it, every frame.
        let out = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(case_dir.join(path))
            .output();
        if let Ok(out) = out {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let frames = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
            assert_eq!(frames, f.packets, "{path}");
        } else if common::skip_unless(
            "a_local_capture_lands_its_pcaps_and_record_in_the_case (reading the pcaps back)",
            Some("tshark is not installed".to_string()),
        ) {
            continue;
        }
    }
    assert_eq!(
        std::fs::read_dir(&captures).unwrap().count(),
        0,
        "removed from the node once in the case"
    );
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case_dir.join(record_path)).unwrap()).unwrap();
    assert_eq!(record["end"], "stopped");
    assert_eq!(record["helper"], "local helper");
    assert_eq!(record["stats"]["packets"], 40);
    assert_eq!(record["files"][1]["last"], true);
    assert_eq!(record["files"][1]["first_n"], 31);
    assert!(record["recorded_by"]["collector"]["local_user"].is_string());
    let custody = std::fs::read_to_string(case_dir.join("custody.jsonl")).unwrap();
    for action in ["\"fetch\"", "\"remove_node_file\"", "\"capture_record\""] {
        assert!(custody.contains(action), "{action}:\n{custody}");
    }
    let chain = ktui::case::verify_chain(std::io::BufReader::new(
        std::fs::File::open(case_dir.join("custody.jsonl")).unwrap(),
    ));
    assert!(chain.is_ok(), "{chain:?}");
}
