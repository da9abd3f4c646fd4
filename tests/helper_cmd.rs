//! `ktui helper manifest|list|remove`, the binary end to end (against the fake API server for
//! list and remove): output, messages and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::helper::cmd;
use ktui::helper::manifest::HelperSpec;
use ktui_fake_apiserver::{FakeApiServer, Store};
use serde_json::Value;

fn ktui(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(args);
    c.env("KUBECONFIG", "/nonexistent/ktui-test-kubeconfig");
    c.env("USER", "ci-user");
    c
}

async fn run(args: &[&str], kubeconfig: Option<&Path>) -> Output {
    let mut c = ktui(args);
    if let Some(k) = kubeconfig {
        c.env("KUBECONFIG", k);
    }
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn manifest_prints_parseable_yaml_with_the_flags_applied() {
    let out = ktui(&[
        "helper",
        "manifest",
        "--node",
        "worker-7",
        "--image",
        "registry.example.com/ktui-helper:1.2",
        "-n",
        "debug-tools",
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["metadata"]["name"], "debug-tools");
    assert_eq!(docs[2]["metadata"]["name"], "ktui-helper-worker-7");
    assert_eq!(docs[2]["metadata"]["namespace"], "debug-tools");
    assert_eq!(docs[2]["spec"]["nodeName"], "worker-7");
    assert_eq!(
        docs[2]["spec"]["containers"][0]["image"],
        "registry.example.com/ktui-helper:1.2"
    );
    assert_eq!(
        docs[2]["metadata"]["labels"]["ktui.dev/created-by"],
        "ci-user"
    );
    // Default namespace without -n.
    let out = ktui(&["helper", "manifest", "--node", "n1"])
        .output()
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert_eq!(docs[2]["metadata"]["namespace"], "ktui-system");
}

#[test]
fn manifest_rejects_bad_values_with_usage_exit() {
    for args in [
        &["helper", "manifest", "--node", "Bad Node"][..],
        &["helper", "manifest", "--image", "x y"][..],
        &["helper", "manifest", "-n", "Not_A_Namespace"][..],
        &["helper", "manifest", "-A"][..],
    ] {
        let out = ktui(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
    let out = ktui(&["helper", "manifest", "--node", "Bad Node"])
        .output()
        .unwrap();
    assert!(
        text(&out.stderr).contains("\"Bad Node\""),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn remove_needs_a_target_and_no_cluster_exits_3() {
    let out = ktui(&["helper", "remove"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--node NODE, or --all"));
    let out = ktui(&["helper", "remove", "--node", "a", "--all"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for args in [&["helper", "list"][..], &["helper", "remove", "--all"][..]] {
        let out = ktui(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(text(&out.stderr).contains("--demo"));
    }
    let out = ktui(&["--demo", "helper", "list"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("not available in the demo cluster"));
}

struct Fake {
    server: FakeApiServer,
    kubeconfig: PathBuf,
    cluster: KubeCluster,
    _dir: tempfile::TempDir,
}

async fn fake() -> Fake {
    let store = Store::new();
    store.add_namespace("default");
    store.add_node("node-1", "amd64");
    store.add_node("node-2", "amd64");
    let server = FakeApiServer::start(store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
    let cluster = KubeCluster::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig.clone()),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    Fake {
        server,
        kubeconfig,
        cluster,
        _dir: dir,
    }
}

async fn deploy(f: &Fake, node: &str) {
    let mut spec = HelperSpec::new(Some(node));
    spec.created_by = "alice@example.com".into();
    cmd::deploy(&f.cluster, &spec, Duration::from_secs(10), &mut |_| {})
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_remove_against_the_api_server() {
    let f = fake().await;
    let k = Some(f.kubeconfig.as_path());
    let out = run(&["helper", "list"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no ktui helper pods in any namespace"));

    deploy(&f, "node-1").await;
    deploy(&f, "node-2").await;
    f.server.store().apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
    }));
    let out = run(&["helper", "list"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAMESPACE"), "{table}");
    for col in ["POD", "NODE", "PHASE", "AGE", "CREATED-BY", "IMAGE"] {
        assert!(lines[0].contains(col), "{table}");
    }
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[1].contains("ktui-helper-node-1") && lines[1].contains("node-1"));
    assert!(lines[1].contains("Running") && lines[1].contains("alice@example.com"));
    assert!(lines[1].contains("localhost/ktui-helper:"));

    // Listing across namespaces forbidden: fall back to ktui-system, saying so.
    f.server.store().forbid_at_cluster_scope("list", "pods");
    let out = run(&["helper", "list"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("listing helpers in namespace ktui-system only"));
    assert_eq!(text(&out.stdout).lines().count(), 3);
    f.server.store().clear_forbidden();

    let out = run(&["helper", "remove", "--node", "node-1"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("deleted pod ktui-system/ktui-helper-node-1 (node node-1)"));
    let out = run(&["helper", "remove", "--node", "node-1"], k).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("nothing to remove"));

    // A delete the user may not do: exit 1, the message names verb and resource.
    f.server
        .store()
        .forbid("delete", "pods", Some("ktui-system"));
    let out = run(&["helper", "remove", "--all"], k).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "cannot delete pods in namespace ktui-system: RBAC forbids 'delete' on 'pods'"
        ),
        "{}",
        text(&out.stderr)
    );
    f.server.store().clear_forbidden();

    // --all: pods, the ServiceAccount, and the namespace ktui created (nothing else runs there).
    let out = run(&["helper", "remove", "--all"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("deleted pod ktui-system/ktui-helper-node-2"),
        "{said}"
    );
    assert!(
        said.contains("deleted ServiceAccount ktui-system/ktui-helper"),
        "{said}"
    );
    assert!(
        said.contains("deleted namespace ktui-system (created by ktui)"),
        "{said}"
    );
    let store = f.server.store();
    assert_eq!(store.count("Pod"), 1, "the unrelated pod stays");
    assert!(store.get("Namespace", "", "ktui-system").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_all_keeps_a_namespace_ktui_did_not_create() {
    let f = fake().await;
    f.server.store().add_namespace("ktui-system");
    deploy(&f, "node-1").await;
    let out = run(&["helper", "remove", "--all"], Some(f.kubeconfig.as_path())).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("deleted namespace"));
    assert!(
        f.server
            .store()
            .get("Namespace", "", "ktui-system")
            .is_some()
    );
}
