//! `ktui helper manifest|list|remove`, the binary end to end (against the fake API server for
//! list and remove): output, messages and exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::helper::lifecycle;
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

/// `ktui helper manifest ARGS...`, which must succeed: its YAML and the Pod document in it.
fn manifest_pod(args: &[&str]) -> (String, Value) {
    let out = ktui(&[&["helper", "manifest"], args].concat())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    let pod = docs.into_iter().find(|d| d["kind"] == "Pod").unwrap();
    (yaml, pod)
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
    let yaml = text(&out.stdout);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    // Another namespace is never created or relabelled: no Namespace document, and a comment
    // says what it must be.
    assert_eq!(
        docs.iter()
            .map(|d| d["kind"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["ServiceAccount", "Pod"],
        "{yaml}"
    );
    assert!(
        yaml.contains(
            "# Namespace debug-tools must exist and admit privileged pods (Pod Security level \"privileged\"); ktui does not create or change it."
        ),
        "{yaml}"
    );
    assert_eq!(docs[1]["metadata"]["name"], "ktui-helper-worker-7");
    assert_eq!(docs[1]["metadata"]["namespace"], "debug-tools");
    assert_eq!(docs[1]["spec"]["nodeName"], "worker-7");
    assert_eq!(
        docs[1]["spec"]["containers"][0]["image"],
        "registry.example.com/ktui-helper:1.2"
    );
    assert_eq!(
        docs[1]["metadata"]["labels"]["ktui.dev/created-by"],
        "ci-user"
    );
    // `-n default` is the case that used to relabel (then delete) the default namespace.
    let out = ktui(&["helper", "manifest", "-n", "default"])
        .output()
        .unwrap();
    let docs: Vec<Value> = serde_saphyr::from_multiple(&text(&out.stdout)).unwrap();
    assert!(docs.iter().all(|d| d["kind"] != "Namespace"), "{docs:?}");
    // Default namespace without -n: its Namespace document stays, create-only and annotated.
    let out = ktui(&["helper", "manifest", "--node", "n1"])
        .output()
        .unwrap();
    let yaml = text(&out.stdout);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    assert_eq!(docs[0]["kind"], "Namespace");
    assert_eq!(docs[0]["metadata"]["name"], "ktui-system");
    let created_at = docs[0]["metadata"]["annotations"]["ktui.dev/created-at"]
        .as_str()
        .unwrap();
    assert!(
        created_at.ends_with('Z') && created_at.parse::<jiff::Timestamp>().is_ok(),
        "{created_at}"
    );
    assert_eq!(
        docs[0]["metadata"]["annotations"]["ktui.dev/created-by"],
        "ci-user"
    );
    assert!(yaml.contains("`kubectl create`"), "{yaml}");
    assert!(
        yaml.contains("it would change Pod Security for every workload in ktui-system"),
        "{yaml}"
    );
    assert_eq!(docs[2]["metadata"]["namespace"], "ktui-system");
}

#[test]
fn manifest_snapshot_prints_the_snapshot_variant() {
    let (yaml, pod) = manifest_pod(&["--snapshot", "--node", "worker-7"]);
    assert_eq!(pod["metadata"]["labels"]["ktui.dev/variant"], "snapshot");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["privileged"], false);
    assert_eq!(
        c["securityContext"]["capabilities"]["add"],
        serde_json::json!([
            "BPF",
            "PERFMON",
            "SYS_PTRACE",
            "NET_ADMIN",
            "DAC_READ_SEARCH",
            "SYSLOG"
        ])
    );
    assert!(
        yaml.contains("# DAC_READ_SEARCH: read other users' files for the live snapshot"),
        "{yaml}"
    );
    assert!(yaml.contains("# SYSLOG: read /dev/kmsg"), "{yaml}");
    // Without --snapshot: the default helper, unchanged.
    let out = ktui(&["helper", "manifest", "--node", "worker-7"])
        .output()
        .unwrap();
    let plain = text(&out.stdout);
    assert!(
        !plain.contains("ktui.dev/variant") && !plain.contains("SYSLOG"),
        "{plain}"
    );
}

#[test]
fn manifest_capture_prints_the_capture_variants() {
    let (yaml, pod) = manifest_pod(&["--capture", "--node", "worker-7"]);
    assert_eq!(pod["metadata"]["labels"]["ktui.dev/variant"], "capture");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["securityContext"]["privileged"], false);
    assert_eq!(
        c["securityContext"]["capabilities"]["add"],
        serde_json::json!(["BPF", "PERFMON", "SYS_PTRACE", "NET_ADMIN", "NET_RAW"])
    );
    let captures = pod["spec"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "captures")
        .unwrap();
    assert_eq!(captures["emptyDir"]["sizeLimit"], "2Gi");
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "captures")
        .unwrap();
    assert_eq!(mount["mountPath"], "/var/run/ktui/captures");
    assert!(
        yaml.contains("# NET_RAW: open an AF_PACKET socket on the host side of the pod's veth"),
        "{yaml}"
    );
    assert!(!yaml.contains("SYS_ADMIN"), "{yaml}");

    let (yaml, pod) = manifest_pod(&["--capture-netns", "--node", "worker-7"]);
    assert_eq!(
        pod["metadata"]["labels"]["ktui.dev/variant"],
        "capture-netns"
    );
    assert_eq!(
        pod["spec"]["containers"][0]["securityContext"]["capabilities"]["add"],
        serde_json::json!([
            "BPF",
            "PERFMON",
            "SYS_PTRACE",
            "NET_ADMIN",
            "NET_RAW",
            "SYS_ADMIN"
        ])
    );
    assert!(
        yaml.contains("# SYS_ADMIN: setns(2) into a pod's network namespace"),
        "{yaml}"
    );

    // One variant at a time.
    for args in [
        &["helper", "manifest", "--capture", "--snapshot"][..],
        &["helper", "manifest", "--capture", "--capture-netns"][..],
    ] {
        let out = ktui(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
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
    lifecycle::deploy(&f.cluster, &spec, Duration::from_secs(10), &mut |_| {})
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

    // --all without --yes and without a terminal: pods and the ServiceAccount go, the namespace
    // ktui created stays, and the message says how to remove it.
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
        said.contains("keeping namespace ktui-system (created by ktui at ")
            && said.contains("no terminal to confirm on")
            && said.contains("`ktui helper remove --all -n ktui-system --yes`"),
        "{said}"
    );
    let store = f.server.store();
    assert!(store.get("Namespace", "", "ktui-system").is_some());
    // --yes: the namespace ktui created, with only helpers in it, is deleted.
    let out = run(&["helper", "remove", "--all", "--yes"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("deleted namespace ktui-system (created by ktui at "),
        "{said}"
    );
    assert_eq!(store.count("Pod"), 1, "the unrelated pod stays");
    assert!(store.get("Namespace", "", "ktui-system").is_none());
}

/// A namespace labelled exactly as the old manifest labelled it, without ktui's creation
/// annotation (`ktui helper manifest -n NS | kubectl apply` on an existing namespace).
fn relabelled_namespace(store: &Store, name: &str) -> Value {
    store.add_namespace_with_labels(
        name,
        &[
            ("app.kubernetes.io/managed-by", "ktui"),
            ("pod-security.kubernetes.io/enforce", "privileged"),
            ("pod-security.kubernetes.io/audit", "privileged"),
            ("pod-security.kubernetes.io/warn", "privileged"),
        ],
    );
    let mut ns = store.get("Namespace", "", name).unwrap();
    ns["metadata"]["annotations"] = serde_json::json!({"ktui.dev/created-by": "someone"});
    store.apply(ns);
    store.get("Namespace", "", name).unwrap()
}

async fn deploy_in(f: &Fake, node: &str, namespace: &str) {
    let mut spec = HelperSpec::new(Some(node));
    spec.namespace = namespace.into();
    lifecycle::deploy(&f.cluster, &spec, Duration::from_secs(10), &mut |_| {})
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_ktui_did_not_create_is_never_changed_nor_deleted() {
    let f = fake().await;
    let store = f.server.store();
    let k = Some(f.kubeconfig.as_path());
    for ns in ["ktui-system", "team-a"] {
        let before = relabelled_namespace(&store, ns);
        // A pod of the team that owns the namespace, and its data.
        store.apply(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": ns},
        }));
        deploy_in(&f, "node-1", ns).await;
        let after = store.get("Namespace", "", ns).unwrap();
        assert_eq!(
            after["metadata"]["labels"], before["metadata"]["labels"],
            "{ns}"
        );
        assert_eq!(
            after["metadata"]["annotations"], before["metadata"]["annotations"],
            "{ns}"
        );
        // Nothing but the helper pod runs there, and --yes is given: still kept.
        let out = run(&["helper", "remove", "--all", "-n", ns, "--yes"], k).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(
            said.contains(&format!("deleted pod {ns}/ktui-helper-node-1")),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "keeping namespace {ns}: ktui did not create it (no ktui.dev/created-at annotation)"
            )),
            "{said}"
        );
        assert!(!said.contains("deleted namespace"), "{said}");
        assert!(store.get("Namespace", "", ns).is_some());
        assert!(store.get("ConfigMap", ns, "app-config").is_some());
    }
    // A ServiceAccount named like ktui's but not labelled by ktui is not deleted either.
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": "ktui-helper", "namespace": "default"},
    }));
    let out = run(&["helper", "remove", "--all", "-n", "default", "--yes"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(
            "keeping ServiceAccount default/ktui-helper: it does not carry ktui's labels"
        ),
        "{}",
        text(&out.stdout)
    );
    assert!(
        store
            .get("ServiceAccount", "default", "ktui-helper")
            .is_some()
    );
    assert!(store.get("Namespace", "", "default").is_some());

    // Reading the namespace forbidden: the deploy creates it create-only, which leaves the
    // existing one as it is (a server-side apply used to relabel it).
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "ktui-system", "labels": {"team": "sre"}},
    }));
    let before = store.get("Namespace", "", "ktui-system").unwrap();
    store.forbid("get", "namespaces", None);
    let mut steps = Vec::new();
    lifecycle::deploy(
        &f.cluster,
        &HelperSpec::new(Some("node-2")),
        Duration::from_secs(10),
        &mut |p| steps.push(p),
    )
    .await
    .unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s == "namespace ktui-system is already there: left unchanged"),
        "{steps:?}"
    );
    let after = store.get("Namespace", "", "ktui-system").unwrap();
    assert_eq!(after["metadata"], before["metadata"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_ktui_created_is_deleted_only_when_only_helpers_are_in_it() {
    let f = fake().await;
    let store = f.server.store();
    let k = Some(f.kubeconfig.as_path());
    deploy(&f, "node-1").await;
    let ns = store.get("Namespace", "", "ktui-system").unwrap();
    let created_at = ns["metadata"]["annotations"]["ktui.dev/created-at"]
        .as_str()
        .unwrap();
    assert!(
        created_at.parse::<jiff::Timestamp>().is_ok(),
        "{created_at}"
    );
    assert_eq!(
        ns["metadata"]["annotations"]["ktui.dev/created-by"],
        "alice@example.com"
    );
    // Deploying again never touches the namespace: already there, left as it is.
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "ktui-system", "labels": {"team": "sre"},
                     "annotations": ns["metadata"]["annotations"].clone()},
    }));
    let mut spec = HelperSpec::new(Some("node-2"));
    spec.created_by = "bob".into();
    let pre = lifecycle::preflight(&f.cluster, &spec).await.unwrap();
    assert!(!pre.create_namespace);
    lifecycle::deploy(&f.cluster, &spec, Duration::from_secs(10), &mut |_| {})
        .await
        .unwrap();
    let again = store.get("Namespace", "", "ktui-system").unwrap();
    assert_eq!(again["metadata"]["labels"]["team"], "sre");
    assert!(
        again["metadata"]["labels"]
            .get("pod-security.kubernetes.io/enforce")
            .is_none()
    );
    assert_eq!(
        again["metadata"]["annotations"]["ktui.dev/created-at"],
        created_at
    );

    // Another pod runs there (and a Secret holds its data): kept, saying what is in it.
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "tcpdump", "namespace": "ktui-system"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }));
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "ktui-system"},
    }));
    let out = run(&["helper", "remove", "--all", "--yes"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("deleted pod ktui-system/ktui-helper-node-1")
            && said.contains("deleted pod ktui-system/ktui-helper-node-2"),
        "{said}"
    );
    assert!(
        said.contains("keeping namespace ktui-system (created by ktui at ")
            && said.contains("it holds more than ktui's helpers: Pod/tcpdump, Secret/creds"),
        "{said}"
    );
    assert!(store.get("Namespace", "", "ktui-system").is_some());
    // Once they are gone, --yes deletes it (Kubernetes' own objects do not count).
    store.delete("Pod", "ktui-system", "tcpdump");
    store.delete("Secret", "ktui-system", "creds");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": "ktui-system"},
    }));
    let out = run(&["helper", "remove", "--all", "--yes"], k).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("deleted namespace ktui-system (created by ktui at "),
        "{}",
        text(&out.stdout)
    );
    assert!(store.get("Namespace", "", "ktui-system").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_is_create_only_like_kube_apiserver() {
    use ktui::cluster::Cluster as _;
    let f = fake().await;
    let store = f.server.store();
    let before = relabelled_namespace(&store, "shared");
    let mut ns = HelperSpec::new(None).namespace_object();
    ns["metadata"]["name"] = "shared".into();
    // The fake answers 409 AlreadyExists like kube-apiserver: "already there", nothing changed.
    assert!(!f.cluster.create(ns.clone()).await.unwrap());
    assert_eq!(
        store.get("Namespace", "", "shared").unwrap()["metadata"],
        before["metadata"]
    );
    ns["metadata"]["name"] = "fresh".into();
    assert!(f.cluster.create(ns).await.unwrap());
    let fresh = store.get("Namespace", "", "fresh").unwrap();
    assert!(fresh["metadata"]["annotations"]["ktui.dev/created-at"].is_string());
}

/// `ktui ARGS` in a pseudo-terminal: waits for `prompt`, types `answer`, returns all output.
fn in_terminal(args: &[&str], kubeconfig: &Path, prompt: &str, answer: &str) -> String {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};
    use std::io::{Read as _, Write as _};
    use std::sync::{Arc, Mutex};
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 200,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ktui"));
    cmd.args(args);
    cmd.env("KUBECONFIG", kubeconfig);
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().unwrap();
    let mut writer = pty.master.take_writer().unwrap();
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let _master = pty.master;
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !out.lock().unwrap().contains(prompt) {
        assert!(
            std::time::Instant::now() < deadline,
            "no {prompt:?} in {:?}",
            out.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    writer.write_all(answer.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "{}", out.lock().unwrap());
    // Let the reader drain what was written before the exit.
    std::thread::sleep(Duration::from_millis(200));
    out.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_remove_all_asks_before_deleting_the_namespace() {
    let f = fake().await;
    deploy(&f, "node-1").await;
    let store = f.server.store();
    let kc = f.kubeconfig.clone();
    let question = "Delete namespace ktui-system (created by ktui at ";
    let said = tokio::task::spawn_blocking(move || {
        in_terminal(&["helper", "remove", "--all"], &kc, "[y/N] ", "\r")
    })
    .await
    .unwrap();
    assert!(said.contains(question), "{said}");
    assert!(said.contains("keeping namespace ktui-system"), "{said}");
    assert!(store.get("Namespace", "", "ktui-system").is_some());
    let kc = f.kubeconfig.clone();
    let said = tokio::task::spawn_blocking(move || {
        in_terminal(&["helper", "remove", "--all"], &kc, "[y/N] ", "y\r")
    })
    .await
    .unwrap();
    assert!(said.contains("deleted namespace ktui-system"), "{said}");
    assert!(store.get("Namespace", "", "ktui-system").is_none());
}
