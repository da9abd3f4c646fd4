//! Checkpoints through the kubelet, over real HTTPS against the fake API server and its per-node
//! kubelets (`tests/fake-apiserver/src/checkpoint.rs`): success, the API server's 403 and the
//! kubelet's, 404 page not found, 404 pod, 500 not implemented (with the snapshot offer), 500
//! CRIU errors, the kubelet's deadline and ktui's own; then `ktui checkpoint create` end to end:
//! what it prints, the record and custody line in the case, and its exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Setup;
use ktui::checkpoint::kubelet::{CheckpointError, CheckpointRequest, RuntimeGap};
use ktui::cluster::{Cluster, PodKey};
use ktui_fake_apiserver::{CheckpointKubelet, FORBIDDEN_USER, KubeletCheckpoint, Store};
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/k8s/kubelet-checkpoint-api/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// The runtime's error inside a kubelet 500 body (`checkpointing of … failed (<error>)`): the
/// fake kubelet wraps it again with the request's names.
fn runtime_error(name: &str) -> String {
    let body = fixture(name);
    let (_, inner) = body.split_once(" failed (").unwrap();
    inner.trim_end().strip_suffix(')').unwrap().to_string()
}

fn pod(name: &str, node: &str, containers: &[(&str, Value)]) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}")},
        "spec": {
            "nodeName": node,
            "containers": containers.iter().map(|(c, _)| json!({"name": c, "image": "registry.example/shop/web:1.4"})).collect::<Vec<_>>(),
        },
        "status": {
            "phase": "Running",
            "containerStatuses": containers.iter().map(|(c, state)| json!({
                "name": c, "image": "registry.example/shop/web:1.4",
                "imageID": "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "containerID": "containerd://2222222222222222222222222222222222222222222222222222222222222222",
                "ready": true, "started": true, "restartCount": 0, "state": state,
            })).collect::<Vec<_>>(),
        },
    })
}

fn running() -> Value {
    json!({"running": {"startedAt": "2026-11-20T09:00:00Z"}})
}

/// `shop/web-1` (container `app`, running) on worker-1; `shop/pair` (two running containers)
/// and `shop/crashed` (CrashLoopBackOff) on worker-1 too; worker-2 runs nothing.
fn store() -> Store {
    let store = Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.add_node("worker-2", "amd64");
    store.apply(pod("web-1", "worker-1", &[("app", running())]));
    store.apply(pod(
        "pair",
        "worker-1",
        &[("app", running()), ("proxy", running())],
    ));
    store.apply(pod(
        "crashed",
        "worker-1",
        &[(
            "app",
            json!({"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}}),
        )],
    ));
    store
}

fn req(node: &str, pod: &str, container: &str) -> CheckpointRequest {
    CheckpointRequest {
        node: node.into(),
        pod: PodKey::new("shop", pod),
        container: container.into(),
        timeout: None,
    }
}

async fn fails(setup: &Setup, r: CheckpointRequest) -> CheckpointError {
    let failure = setup.cluster.checkpoint(r).await.unwrap_err();
    *failure.error
}

#[tokio::test]
async fn a_written_checkpoint_answers_its_path_on_the_node() {
    let setup = Setup::start(store()).await;
    setup
        .store()
        .set_checkpoint_kubelet("worker-1", CheckpointKubelet::new(KubeletCheckpoint::Write));
    let mut r = req("worker-1", "web-1", "app");
    r.timeout = Some(Duration::from_secs(90));
    let answer = setup.cluster.checkpoint(r).await.unwrap();
    let written = setup.store().checkpoints_written();
    assert_eq!(written.len(), 1);
    assert_eq!(
        written[0],
        ("worker-1".to_string(), answer.node_path.clone())
    );
    assert!(
        answer
            .node_path
            .starts_with("/var/lib/kubelet/checkpoints/checkpoint-web-1_shop-app-"),
        "{}",
        answer.node_path
    );
    assert_eq!(answer.reply.status, 200);
    let asked = setup
        .server
        .requests()
        .into_iter()
        .find(|q| q.path.contains("/proxy/checkpoint/"))
        .unwrap();
    assert_eq!(asked.method, "POST");
    assert_eq!(
        asked.path,
        "/api/v1/nodes/worker-1/proxy/checkpoint/shop/web-1/app"
    );
    assert_eq!(asked.query, "timeout=90");
}

#[tokio::test]
async fn the_api_servers_403_and_the_kubelets_403_are_told_apart() {
    let setup = Setup::start(store()).await;
    setup.store().forbid("create", "nodes/proxy", None);
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    let CheckpointError::ApiForbidden {
        user,
        verb,
        resource,
        ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(user.as_deref(), Some(FORBIDDEN_USER));
    assert_eq!(
        (verb.as_str(), resource.as_str()),
        ("create", "nodes/proxy")
    );
    assert!(e.to_string().contains("403 from the API server"), "{e}");
    setup.store().clear_forbidden();
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::Refuses {
            status: 403,
            body: fixture("error-kubelet-forbidden.txt"),
        }),
    );
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    assert!(
        matches!(&e, CheckpointError::KubeletForbidden { user, subresource, .. }
            if user == "kube-apiserver-kubelet-client" && subresource == "checkpoint"),
        "{e:?}"
    );
    assert!(e.to_string().contains("403 from the kubelet"), "{e}");
    assert!(setup.store().checkpoints_written().is_empty());
}

#[tokio::test]
async fn not_found_answers_name_what_is_missing() {
    let setup = Setup::start(store()).await;
    setup.store().set_checkpoint_kubelet(
        "worker-2",
        CheckpointKubelet::new(KubeletCheckpoint::Refuses {
            status: 404,
            body: fixture("error-feature-disabled.txt"),
        }),
    );
    let e = fails(&setup, req("worker-2", "web-1", "app")).await;
    assert!(
        matches!(e, CheckpointError::FeatureDisabled { .. }),
        "{e:?}"
    );
    assert!(e.offers_snapshot());
    // worker-1's kubelet has the checkpoint API, but no such pod (it runs on worker-1 only)…
    setup
        .store()
        .set_checkpoint_kubelet("worker-2", CheckpointKubelet::new(KubeletCheckpoint::Write));
    let e = fails(&setup, req("worker-2", "web-1", "app")).await;
    assert!(matches!(e, CheckpointError::PodNotFound { .. }), "{e:?}");
    // … or no such container, or no such node.
    let e = fails(&setup, req("worker-1", "web-1", "nope")).await;
    assert!(
        matches!(e, CheckpointError::ContainerNotFound { .. }),
        "{e:?}"
    );
    let e = fails(&setup, req("worker-9", "web-1", "app")).await;
    assert!(matches!(e, CheckpointError::NodeNotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn a_runtime_without_checkpoint_support_offers_the_live_snapshot() {
    let setup = Setup::start(store()).await;
    // Not configured: worker-1 answers as containerd 1.7.
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    assert!(
        matches!(
            e,
            CheckpointError::RuntimeUnsupported {
                gap: RuntimeGap::NoRpc,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.offers_snapshot());
    assert!(
        e.to_string()
            .contains("ktui checkpoint create web-1 -n shop -c app --snapshot"),
        "{e}"
    );
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::RuntimeFails(runtime_error(
            "error-criu-support-not-available.txt",
        ))),
    );
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    assert!(
        matches!(
            e,
            CheckpointError::RuntimeUnsupported {
                gap: RuntimeGap::CrioSupportOff,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn criu_errors_come_back_as_criu_wrote_them() {
    let setup = Setup::start(store()).await;
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::RuntimeFails(runtime_error(
            "error-criu-dump-failed.txt",
        ))),
    );
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    let CheckpointError::CriuFailed {
        lines, log_file, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        lines[0],
        "Error (criu/sk-inet.c:191): inet: Connected TCP socket, consider using --tcp-established option."
    );
    assert!(log_file.as_deref().unwrap().ends_with("/userdata/dump.log"));
}

#[tokio::test]
async fn the_kubelets_deadline_and_ktuis_own_are_both_said() {
    let setup = Setup::start(store()).await;
    // The runtime takes longer than the kubelet waits: DeadlineExceeded, after the kubelet's 1 s.
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::Write)
            .after(Duration::from_secs(30))
            .runtime_timeout(Duration::from_secs(1)),
    );
    let e = fails(&setup, req("worker-1", "web-1", "app")).await;
    assert!(
        matches!(e, CheckpointError::RuntimeDeadline { .. }),
        "{e:?}"
    );
    // The kubelet waits longer than ktui: ktui gives up after the timeout + its grace.
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::Write).after(Duration::from_secs(30)),
    );
    let cluster = setup
        .cluster
        .clone()
        .with_checkpoint_grace(Duration::from_millis(500));
    let mut r = req("worker-1", "web-1", "app");
    r.timeout = Some(Duration::from_secs(1));
    let started = Instant::now();
    let failure = cluster.checkpoint(r).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(20));
    let CheckpointError::Timeout { waited, .. } = &*failure.error else {
        panic!("{failure:?}")
    };
    assert_eq!(*waited, Duration::from_millis(1500));
    assert!(failure.reply.is_none());
    assert!(
        failure
            .to_string()
            .contains("/var/lib/kubelet/checkpoints on node worker-1"),
        "{failure}"
    );
}

// `ktui checkpoint create` end to end.

struct Cli {
    cases: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            cases: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, kubeconfig: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
        c.args(["checkpoint", "create"])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("KTUI_CASES_DIR", self.cases.path())
            .env("USER", "ci-user")
            .env_remove("KTUI_CHECKPOINT_GRACE");
        for (k, v) in env {
            c.env(k, v);
        }
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// The one case's records and custody lines.
    fn case(&self) -> (Vec<Value>, Vec<Value>) {
        let dirs: Vec<_> = std::fs::read_dir(self.cases.path())
            .unwrap()
            .map(|d| d.unwrap().path())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        let dir = &dirs[0];
        let checkpoints = dir.join("artifacts/shop/web-1/checkpoints");
        let records = std::fs::read_dir(&checkpoints)
            .map(|it| {
                it.map(|f| {
                    serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap()
                })
                .collect()
            })
            .unwrap_or_default();
        let custody = std::fs::read_to_string(dir.join("custody.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|l: &Value| l["action"] == "checkpoint")
            .collect();
        (records, custody)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_prints_the_node_path_and_records_request_and_answer() {
    let setup = Setup::start(store()).await;
    setup
        .store()
        .set_checkpoint_kubelet("worker-1", CheckpointKubelet::new(KubeletCheckpoint::Write));
    let cli = Cli::new();
    let out = cli
        .run(
            &setup.kubeconfig,
            &["web-1", "-n", "shop", "--timeout", "90s"],
            &[],
        )
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let path = &setup.store().checkpoints_written()[0].1;
    assert_eq!(stdout, format!("{path}\n"));
    assert!(
        stderr.contains("checkpointed container app of pod shop/web-1 on node worker-1"),
        "{stderr}"
    );
    let (records, custody) = cli.case();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r["kind"], "ktui-kubelet-checkpoint");
    assert_eq!(r["result"], "ok");
    assert_eq!(r["node_path"], path.as_str());
    assert_eq!(r["request"]["query"], "timeout=90");
    assert_eq!(r["request"]["timeout_seconds"], 90);
    assert_eq!(r["answer"]["status"], 200);
    assert_eq!(r["node"]["container_runtime"], "containerd://1.7.0");
    assert_eq!(r["node"]["kubelet_version"], "v1.33.0-fake");
    assert_eq!(r["container"]["image"], "registry.example/shop/web:1.4");
    assert!(r["timings"]["elapsed_ms"].is_u64());
    assert_eq!(custody.len(), 1);
    assert_eq!(custody[0]["result"], "ok");
    assert_eq!(custody[0]["target"], "node/worker-1");
    assert_eq!(custody[0]["actor"]["local_user"], "ci-user");
    assert_eq!(custody[0]["actor"]["context"], "fake");
    let artifact = custody[0]["artifacts"][0]["path"].as_str().unwrap();
    assert!(
        artifact.starts_with("artifacts/shop/web-1/checkpoints/app-")
            && artifact.ends_with(".request.json"),
        "{artifact}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_checkpoint_exits_1_with_the_reason_and_is_recorded_as_failed() {
    let setup = Setup::start(store()).await;
    let cli = Cli::new();
    let out = cli
        .run(
            &setup.kubeconfig,
            &["web-1", "-n", "shop", "-c", "app"],
            &[],
        )
        .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("cannot checkpoint"), "{stderr}");
    assert!(stderr.contains("--snapshot"), "{stderr}");
    assert!(
        stderr.contains("node worker-1 runs containerd://1.7.0"),
        "{stderr}"
    );
    let (records, custody) = cli.case();
    assert_eq!(records[0]["result"], "error");
    assert_eq!(records[0]["error"]["kind"], "runtime_unsupported");
    assert_eq!(records[0]["error"]["offers_snapshot"], true);
    assert!(
        records[0]["answer"]["body"]
            .as_str()
            .unwrap()
            .contains("method CheckpointContainer not implemented")
    );
    assert_eq!(custody[0]["result"], "error");
    let error = custody[0]["error"].as_str().unwrap();
    assert!(error.starts_with("on node worker-1: "), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_refused_before_asking_and_when_nothing_answers() {
    let setup = Setup::start(store()).await;
    let cli = Cli::new();
    // Two containers and no -c: they are listed.
    let out = cli
        .run(&setup.kubeconfig, &["pair", "-n", "shop"], &[])
        .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("app (Running), proxy (Running)"),
        "{stderr}"
    );
    // A crashed container: nothing to checkpoint, its logs are offered.
    let out = cli
        .run(&setup.kubeconfig, &["crashed", "-n", "shop"], &[])
        .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("a dead process cannot be checkpointed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("kubectl logs --previous crashed -c app -n shop"),
        "{stderr}"
    );
    // Neither a live snapshot nor a fetch of a dead process: refused before anything is asked.
    for flag in ["--snapshot", "--fetch"] {
        let out = cli
            .run(&setup.kubeconfig, &["crashed", "-n", "shop", flag], &[])
            .await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("a dead process cannot be checkpointed"),
            "{flag}: {stderr}"
        );
    }
    assert!(
        !setup
            .server
            .requests()
            .iter()
            .any(|q| q.path.contains("/proxy/checkpoint/")),
        "nothing was asked of a kubelet"
    );
    // A kubelet slower than ktui's deadline (1 s + 1 s grace).
    setup.store().set_checkpoint_kubelet(
        "worker-1",
        CheckpointKubelet::new(KubeletCheckpoint::Write).after(Duration::from_secs(60)),
    );
    let out = cli
        .run(
            &setup.kubeconfig,
            &["web-1", "-n", "shop", "--timeout", "1s"],
            &[("KTUI_CHECKPOINT_GRACE", "1s")],
        )
        .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no answer to the checkpoint"), "{stderr}");
    assert!(stderr.contains("within 2 s"), "{stderr}");
    let (records, _) = cli.case();
    assert_eq!(records[0]["error"]["kind"], "timeout");
    assert!(records[0]["answer"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_cluster_reachable_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // A kubeconfig naming a port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let cli = Cli::new();
    let out = cli.run(&kubeconfig, &["web-1", "-n", "shop"], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_answers_as_a_containerd_1_7_node_marked_demo() {
    let cli = Cli::new();
    let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args([
        "checkpoint",
        "create",
        "web-6d4cf56db6-2xk8j",
        "-n",
        "default",
        "--demo",
    ])
    .env("KTUI_CASES_DIR", cli.cases.path());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("DEMO (simulated cluster"), "{stderr}");
    assert!(stderr.contains("--snapshot"), "{stderr}");
}

#[tokio::test]
async fn an_api_server_gone_mid_session_is_unreachable() {
    let Setup {
        server, cluster, ..
    } = Setup::start(store()).await;
    drop(server);
    let failure = cluster
        .checkpoint(req("worker-1", "web-1", "app"))
        .await
        .unwrap_err();
    assert!(failure.error.unreachable(), "{failure:?}");
    assert!(failure.reply.is_none());
    assert!(
        failure
            .to_string()
            .starts_with("cannot reach the API server at"),
        "{failure}"
    );
}
