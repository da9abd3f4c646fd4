//! `ktui --record` as the in-cluster controller (the downward API's `POD_NAME` and
//! `POD_NAMESPACE` set, as `ktui record manifest` does) against the fake API server: the
//! annotation triggers (annotate → the action → the annotation removed, an Event on the pod, a
//! custody line; an invalid value answered with a Warning), and two replicas with a Lease:
//! exactly one acts at a time, the second takes over when the first ends and clones nothing
//! twice.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn ktui(config: &Path, kubeconfig: &Path, replica: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ktui"));
    cmd.env("XDG_CONFIG_HOME", config)
        .env("XDG_STATE_HOME", config)
        .env("KTUI_CONTROLLER", "1")
        .env("POD_NAME", replica)
        .env("POD_NAMESPACE", "ktui-system")
        .env("KTUI_LEASE_SECONDS", "3")
        .env_remove("KTUI_SIGNING_KEY")
        .env_remove("KUBECONFIG")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdin(Stdio::null());
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn store() -> ktui_fake_apiserver::Store {
    let store = ktui_fake_apiserver::Store::new();
    store.add_namespace("shop");
    store.add_namespace("ktui-system");
    store.add_node("worker-1", "amd64");
    store.apply(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-6d4", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}}}));
    store
}

/// The Events the store holds about `pod`.
fn events_of(store: &ktui_fake_apiserver::Store, pod: &str) -> Vec<Value> {
    let list: Value = serde_json::from_slice(&store.list_json("Event")).unwrap();
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["involvedObject"]["name"] == pod)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annotation_is_acted_on_removed_and_reported() {
    let store = store();
    store.apply(common::crashed_web_pod(
        "web-6d4-a",
        json!({"ktui.dev/clone": "true", "team": "payments"}),
    ));
    store.apply(common::crashed_web_pod(
        "web-6d4-b",
        json!({"ktui.dev/capture": "forever"}),
    ));
    let setup = common::Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("case");
    let out = ktui(tmp.path(), &setup.kubeconfig, "ktui-controller-0")
        .args(["-n", "shop", "--duration", "6s", "--record"])
        .arg(&dir)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let store = setup.store();
    // The clone was made, and its annotation removed (the others left alone).
    let a = store.get("Pod", "shop", "web-6d4-a").unwrap();
    let annotations = &a["metadata"]["annotations"];
    assert!(
        annotations.get("ktui.dev/clone").is_none(),
        "{annotations} {stderr}"
    );
    assert_eq!(annotations["team"], "payments");
    assert_eq!(store.count("NetworkPolicy"), 1, "one clone: {stderr}");
    let events = events_of(&store, "web-6d4-a");
    assert!(
        events
            .iter()
            .any(|e| e["reason"] == "KtuiClone" && e["type"] == "Normal"),
        "{events:?}"
    );
    // The invalid value: a Warning saying what is expected, the annotation removed.
    let b = store.get("Pod", "shop", "web-6d4-b").unwrap();
    assert!(
        b["metadata"]["annotations"]
            .get("ktui.dev/capture")
            .is_none()
    );
    let warnings = events_of(&store, "web-6d4-b");
    let w = warnings
        .iter()
        .find(|e| e["reason"] == "KtuiCapture")
        .expect("a Warning Event");
    assert_eq!(w["type"], "Warning");
    assert!(w["message"].as_str().unwrap().contains("forever"), "{w}");
    // Custody lines for both.
    let custody = lines(&dir.join("custody.jsonl"));
    let triggers: Vec<&Value> = custody
        .iter()
        .filter(|l| l["action"] == "trigger_clone" || l["action"] == "trigger_capture")
        .collect();
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    // The Lease is released at the end: the next replica starts at once.
    let lease = store
        .get("Lease", "ktui-system", "ktui-controller")
        .unwrap();
    assert!(
        lease["spec"]["holderIdentity"]
            .as_str()
            .unwrap_or_default()
            .is_empty(),
        "{lease}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_a_lease_exactly_one_acts_and_the_next_clones_nothing_twice() {
    let store = store();
    store.apply(common::crashed_web_pod("web-6d4-a", json!({})));
    let setup = common::Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let run = |replica: &str| {
        ktui(tmp.path(), &setup.kubeconfig, replica)
            .args(["-n", "shop", "--auto-clone", "--duration", "4s", "--record"])
            .arg(tmp.path().join(replica))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let a = run("replica-a");
    let b = run("replica-b");
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let (ea, eb) = (text(&a.stderr), text(&b.stderr));
    assert_eq!(a.status.code(), Some(0), "{ea}");
    assert_eq!(b.status.code(), Some(0), "{eb}");
    let waited_any: Vec<&str> = [("replica-a", &ea), ("replica-b", &eb)]
        .iter()
        .filter(|(_, e)| e.contains("is held by replica-"))
        .map(|(r, _)| *r)
        .collect();
    assert_eq!(waited_any.len(), 1, "exactly one waited: {ea}\n---\n{eb}");
    let second = waited_any[0];
    let first = if second == "replica-a" {
        "replica-b"
    } else {
        "replica-a"
    };
    let summary = |r: &str| -> Value {
        serde_json::from_slice(&std::fs::read(tmp.path().join(r).join("summary.json")).unwrap())
            .unwrap()
    };
    assert_eq!(summary(first)["clones"]["created"], 1);
    // The second ran after the first released the Lease, saw the same crash, and found its
    // clone in the cluster.
    assert_eq!(summary(second)["clones"]["created"], 0);
    assert_eq!(summary(second)["crashes"]["lines"], 1);
    assert_eq!(setup.store().count("NetworkPolicy"), 1, "one clone in all");
}
