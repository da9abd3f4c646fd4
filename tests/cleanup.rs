//! `ktui cleanup --case ID`: what the case's custody says ktui created, removed after a
//! confirmation, against the fake API server; what someone else owns now is left alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Output;
use std::time::Duration;

use ktui::case::{Action, Case, CaseConfig, Entry};
use ktui::cluster::ObjectRef;
use ktui::helper::lifecycle;
use ktui::helper::manifest::HelperSpec;
use ktui::runtime::keep::object_target;
use ktui_fake_apiserver::Store;

async fn run(args: &[&str], kubeconfig: &std::path::Path, cases: &std::path::Path) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("KTUI_CASES_DIR", cases)
        .stdin(std::process::Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_removes_what_the_case_created_and_nothing_else() {
    let store = Store::new();
    store.add_namespace("default");
    store.add_node("node-1", "amd64");
    let s = common::Setup::start(store).await;
    let cases = tempfile::tempdir().unwrap();
    let case = Case::open(cases.path(), Some("c1"), &CaseConfig::new("fake", "fake")).unwrap();

    // A helper deployed as the console does, its creations recorded as the runtime records them.
    let spec = HelperSpec::new(Some("node-1"));
    let deployed = lifecycle::deploy(&s.cluster, &spec, Duration::from_secs(10), &mut |_| {})
        .await
        .unwrap();
    let kinds: Vec<&str> = deployed.created.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["Namespace", "Pod"],
        "ktui-system was missing: created"
    );
    for o in &deployed.created {
        let action = if o.kind == "Pod" {
            Action::DeployHelper
        } else {
            Action::CreateObject
        };
        case.record(&Entry::ok(action, object_target(o), vec![]))
            .unwrap();
    }
    // A pod the custody names but someone else's now (no managed-by label): left alone.
    s.store().apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    }));
    let web = ObjectRef::new("v1", "Pod", Some("default"), "web");
    case.record(&Entry::ok(
        Action::CreateObject,
        object_target(&web),
        vec![],
    ))
    .unwrap();
    drop(case);

    let k = s.kubeconfig.as_path();
    // Held by another process: refused.
    let held = Case::open(cases.path(), Some("c1"), &CaseConfig::new("", "")).unwrap();
    let out = run(&["cleanup", "--case", "c1"], k, cases.path()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    drop(held);

    // No terminal, no --yes: listed, nothing deleted.
    let out = run(&["cleanup", "--case", "c1"], k, cases.path()).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    assert!(
        listed.contains("Pod ktui-system/ktui-helper-node-1"),
        "{listed}"
    );
    assert!(listed.contains("Namespace ktui-system"), "{listed}");
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    assert!(
        s.store()
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .is_some()
    );

    let out = run(&["cleanup", "--case", "c1", "--yes"], k, cases.path()).await;
    let said = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}\n{}", text(&out.stderr));
    assert!(
        said.contains("deleted Pod ktui-system/ktui-helper-node-1"),
        "{said}"
    );
    assert!(said.contains("Pod default/web: left alone"), "{said}");
    assert!(
        s.store()
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .is_none()
    );
    assert!(
        s.store().get("Pod", "default", "web").is_some(),
        "not ktui's: kept"
    );
    assert!(
        s.store().get("Namespace", "", "ktui-system").is_none(),
        "{said}"
    );

    // Custody says what was deleted, and the chain holds.
    let custody = std::fs::read(cases.path().join("c1/custody.jsonl")).unwrap();
    let lines = text(&custody);
    assert!(
        lines.lines().any(|l| l.contains("\"delete_object\"")
            && l.contains("object/v1/Pod/ktui-system/ktui-helper-node-1")),
        "{lines}"
    );
    ktui::case::verify_chain(custody.as_slice()).unwrap();

    // Again: the helper and the namespace are gone for good; only web (left alone) remains.
    let out = run(&["cleanup", "--case", "c1", "--yes"], k, cases.path()).await;
    let said = text(&out.stdout);
    assert!(!said.contains("ktui-helper-node-1"), "{said}");
    assert!(said.contains("Pod default/web"), "{said}");
}
