//! Deploying and reaching the node helper through `KubeCluster` against the fake API server
//! (real HTTPS, real WebSocket exec running real local processes): the manifest is accepted,
//! the helper pod starts, `ktui-helper serve` answers `hello` through pods/exec, a cut stream
//! reconnects, and the helper is removed. Also: exec plumbing with `/bin/cat`, exit codes,
//! 403s naming the verb and resource, Pod Security, node architecture, image pull failures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Setup, app_until, helper_binary, press};

use std::time::{Duration, Instant};

use ktui::cluster::{BoxByteStream, Cluster, ClusterError, ExecProblem, ObjectRef, PodKey, Scope};
use ktui::helper::lifecycle::{
    self, DEFAULT_READY_TIMEOUT, DeployError, DeployedHelper, Problem, StartFailure,
};
use ktui::helper::manifest::{self, HelperSpec};
use ktui_fake_apiserver::{Kubelet, Store};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};

const NODE: &str = "node-1";
const WAIT: Duration = Duration::from_secs(15);

async fn setup() -> Setup {
    let store = Store::new();
    store.add_namespace("default");
    store.add_node(NODE, "amd64");
    store.map_exec(manifest::BINARY, helper_binary());
    Setup::start(store).await
}

/// shop/web-0 on NODE, crash-looping (restarted 4 times, last exit 1).
fn add_crashed_pod(store: &Store, uid: &str) {
    store.add_namespace("shop");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "uid": uid},
        "spec": {"nodeName": NODE, "containers": [{"name": "web", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "web", "image": "web:1", "imageID": "", "ready": false, "restartCount": 4,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                          "finishedAt": "2026-11-30T01:00:00Z"}}}]}
    }));
}

fn spec() -> HelperSpec {
    let mut spec = HelperSpec::new(Some(NODE));
    spec.created_by = "tester".into();
    spec
}

async fn deploy(s: &Setup, spec: &HelperSpec) -> Result<DeployedHelper, DeployError> {
    let mut steps = Vec::new();
    let out = lifecycle::deploy(&s.cluster, spec, Duration::from_secs(10), &mut |p| {
        steps.push(p)
    })
    .await;
    eprintln!("deploy steps: {steps:?}");
    out
}

async fn read_line(stream: &mut BufReader<BoxByteStream>) -> std::io::Result<String> {
    let mut line = String::new();
    match tokio::time::timeout(WAIT, stream.read_line(&mut line)).await {
        Ok(Ok(_)) => Ok(line),
        Ok(Err(e)) => Err(e),
        Err(_) => panic!("no line within {WAIT:?}"),
    }
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn assert_hello(line: &str) {
    let v: Value = serde_json::from_str(line.trim_end())
        .unwrap_or_else(|e| panic!("first line is not JSON ({e}): {line:?}"));
    assert_eq!(v["type"], "hello", "{line}");
    assert_eq!(v["v"], 1, "{line}");
}

/// A running default helper lacks what the snapshot variant adds: it is replaced by one that
/// records its variant; the snapshot helper then serves both (reused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_lacking_the_snapshot_variant_is_replaced_then_reused() {
    let s = setup().await;
    let store = s.store();
    let pod = || {
        store
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .unwrap()
    };
    assert!(!deploy(&s, &spec()).await.unwrap().reused);
    assert!(
        pod()["metadata"]["labels"]
            .get(manifest::LABEL_VARIANT)
            .is_none()
    );

    let snapshot = HelperSpec {
        variant: manifest::HelperVariant::Snapshot,
        ..spec()
    };
    let mut steps = Vec::new();
    let replaced = lifecycle::deploy(&s.cluster, &snapshot, Duration::from_secs(10), &mut |p| {
        steps.push(p)
    })
    .await
    .unwrap();
    assert!(!replaced.reused, "{steps:?}");
    assert!(
        steps
            .iter()
            .any(|p| p.contains("it lacks DAC_READ_SEARCH, SYSLOG for live snapshots")),
        "{steps:?}"
    );
    let p = pod();
    assert_eq!(p["metadata"]["labels"][manifest::LABEL_VARIANT], "snapshot");
    let caps = &p["spec"]["containers"][0]["securityContext"]["capabilities"]["add"];
    assert!(
        caps.as_array().unwrap().iter().any(|c| c == "SYSLOG"),
        "{caps}"
    );
    assert_eq!(
        p["spec"]["containers"][0]["securityContext"]["privileged"],
        false
    );

    assert!(
        deploy(&s, &spec()).await.unwrap().reused,
        "the default's needs are covered"
    );
    assert!(deploy(&s, &snapshot).await.unwrap().reused);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_serve_hello_cut_reconnect_remove() {
    let s = setup().await;
    let started = Instant::now();
    let helper = deploy(&s, &spec()).await.unwrap();
    let deployed_in = started.elapsed();
    assert_eq!(helper.pod, PodKey::new("ktui-system", "ktui-helper-node-1"));
    assert!(helper.image_id.is_some());
    assert!(!helper.reused);

    // What landed in the cluster.
    let store = s.store();
    let ns = store.get("Namespace", "", "ktui-system").unwrap();
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
    let sa = store
        .get("ServiceAccount", "ktui-system", manifest::SERVICE_ACCOUNT)
        .unwrap();
    assert_eq!(sa["automountServiceAccountToken"], false);
    let pod = store
        .get("Pod", "ktui-system", "ktui-helper-node-1")
        .unwrap();
    assert_eq!(pod["spec"]["nodeName"], NODE);
    assert_eq!(pod["metadata"]["labels"]["ktui.dev/created-by"], "tester");
    assert_eq!(pod["status"]["phase"], "Running");

    // Exec `ktui-helper serve`: the first line is hello.
    let t = Instant::now();
    let stream = helper.open(&s.cluster).await.unwrap();
    let mut stream = BufReader::new(stream);
    assert_hello(&read_line(&mut stream).await.unwrap());
    let exec_hello = t.elapsed();
    assert_eq!(store.active_execs(), 1);

    // A network drop: the read side fails (not a silent hang, not a clean EOF).
    store.drop_execs();
    let err = tokio::time::timeout(WAIT, async {
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await
    })
    .await
    .expect("the cut stream must end")
    .expect_err("a cut stream is an error");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionAborted, "{err}");
    assert!(err.to_string().contains("exec again"), "{err}");
    until("the cut helper process to end", || {
        store.active_execs() == 0
    })
    .await;

    // Reconnect: exec again.
    let t = Instant::now();
    let stream = helper.open(&s.cluster).await.unwrap();
    let mut stream = BufReader::new(stream);
    assert_hello(&read_line(&mut stream).await.unwrap());
    let reconnect = t.elapsed();
    drop(stream);
    until("serve to exit after the console left", || {
        store.active_execs() == 0
    })
    .await;

    // Deploying again reuses the running helper.
    let again = deploy(&s, &spec()).await.unwrap();
    assert!(again.reused);

    // Remove.
    let removed = lifecycle::remove_node(&s.cluster, Scope::All, NODE)
        .await
        .unwrap();
    assert_eq!(removed, vec![helper.pod.clone()]);
    assert!(
        store
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .is_none()
    );
    assert!(
        s.cluster
            .list_helper_pods(Scope::All)
            .await
            .unwrap()
            .is_empty()
    );
    eprintln!(
        "figures: deploy {deployed_in:?}, exec+hello {exec_hello:?}, reconnect+hello {reconnect:?}"
    );
}

async fn exec(s: &Setup, argv: &[&str]) -> Result<BoxByteStream, ClusterError> {
    s.cluster
        .exec(
            PodKey::new("ktui-system", "ktui-helper-node-1"),
            manifest::CONTAINER.into(),
            argv.iter().map(|a| a.to_string()).collect(),
        )
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_plumbing_with_cat_exit_codes_and_pod_deletion() {
    let s = setup().await;
    deploy(&s, &spec()).await.unwrap();

    // stdin → stdout, in order and complete, then EOF on exit 0.
    let t = Instant::now();
    let mut cat = exec(&s, &["/bin/cat"]).await.unwrap();
    cat.write_all(b"ping\n").await.unwrap();
    let mut buf = [0u8; 5];
    cat.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping\n");
    eprintln!("figures: exec /bin/cat + first echo {:?}", t.elapsed());
    let big: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let (mut r, mut w) = tokio::io::split(cat);
    let writer = tokio::spawn(async move {
        w.write_all(&big).await.unwrap();
        w.shutdown().await.unwrap();
        big
    });
    let mut echoed = Vec::new();
    tokio::time::timeout(WAIT, r.read_to_end(&mut echoed))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, writer.await.unwrap());

    // A non-zero exit: the error names the code and the last stderr lines.
    let mut failing = exec(
        &s,
        &["/bin/sh", "-c", "echo first >&2; echo oops >&2; exit 3"],
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let err = failing.read_to_end(&mut out).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("exited with code 3"), "{text}");
    assert!(text.contains("oops"), "{text}");

    // A command the container does not have.
    let mut missing = exec(&s, &["/no/such/binary"]).await.unwrap();
    let err = missing.read_to_end(&mut out).await.unwrap_err();
    assert!(err.to_string().contains("/no/such/binary"), "{err}");

    // A container the pod does not have: the API server's refusal, with pod and container.
    let err = s
        .cluster
        .exec(
            PodKey::new("ktui-system", "ktui-helper-node-1"),
            "sidecar".into(),
            vec!["/bin/cat".into()],
        )
        .await
        .err()
        .unwrap();
    let ClusterError::Exec(failure) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(&failure.problem, ExecProblem::Refused { message } if message.contains("container sidecar is not valid")),
        "{failure:?}"
    );
    assert!(
        err.to_string().starts_with(
            "cannot exec `/bin/cat` in pod ktui-system/ktui-helper-node-1 (container sidecar): "
        ),
        "{err}"
    );

    // Deleting the pod kills what runs in it.
    let mut sleeper = exec(&s, &["/bin/cat"]).await.unwrap();
    sleeper.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    sleeper.read_exact(&mut one).await.unwrap();
    assert!(
        s.cluster
            .delete(ObjectRef::pod(&PodKey::new(
                "ktui-system",
                "ktui-helper-node-1"
            )))
            .await
            .unwrap()
    );
    let err = tokio::time::timeout(WAIT, sleeper.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("exited with code 137"), "{err}");
    until("no exec left", || s.store().active_execs() == 0).await;

    // Exec into a pod that is gone.
    let err = exec(&s, &["/bin/cat"]).await.err().unwrap();
    assert!(matches!(err, ClusterError::NotFound { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_exec_and_create_name_verb_and_resource() {
    let s = setup().await;
    deploy(&s, &spec()).await.unwrap();
    s.store().forbid("create", "pods/exec", Some("ktui-system"));
    let err = lifecycle::open(
        &s.cluster,
        &PodKey::new("ktui-system", "ktui-helper-node-1"),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().starts_with(
            "cannot create pods/exec in namespace ktui-system: RBAC forbids 'create' on 'pods/exec'"
        ),
        "{err}"
    );

    // Server-side apply of a new pod needs `create`: that is what the message names.
    let s = setup().await;
    s.store().forbid("create", "pods", Some("ktui-system"));
    let err = deploy(&s, &spec()).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "cannot create pods in namespace ktui-system: RBAC forbids 'create' on 'pods'"
        ),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_manifest_applies_as_is() {
    let s = setup().await;
    let spec = spec();
    let yaml = spec.to_yaml();
    let objects: Vec<Value> = serde_saphyr::from_multiple(&yaml).unwrap();
    // As its comments say: the Namespace created (create-only), the rest server-side applied.
    assert_eq!(objects[0]["kind"], "Namespace");
    assert!(s.cluster.create(objects[0].clone()).await.unwrap());
    let objects = objects[1..].to_vec();
    let applied = s.cluster.apply(objects.clone()).await.unwrap();
    assert_eq!(
        applied.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
        [
            "ServiceAccount ktui-system/ktui-helper",
            "Pod ktui-system/ktui-helper-node-1"
        ]
    );
    let stored = s
        .store()
        .get("Pod", "ktui-system", "ktui-helper-node-1")
        .unwrap();
    assert_eq!(stored["spec"], objects[1]["spec"]);
    // Applying again is a no-op, not a conflict.
    s.cluster.apply(objects).await.unwrap();
    // The fake kubelet started it, so the helper list shows it Running.
    let pods = s.cluster.list_helper_pods(Scope::All).await.unwrap();
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].summary.phase, "Running");
    assert_eq!(pods[0].summary.node.as_deref(), Some(NODE));
    // A pod spec change is refused like kube-apiserver does (pods are immutable).
    let mut changed = spec.pod_object();
    changed["spec"]["hostNetwork"] = Value::Bool(false);
    let err = s.cluster.apply(vec![changed]).await.unwrap_err();
    assert!(
        err.to_string().contains("pod updates may not change"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_security_node_arch_and_missing_node_are_caught_before_creating() {
    let s = setup().await;
    s.store().add_namespace_with_labels(
        "ktui-system",
        &[("pod-security.kubernetes.io/enforce", "baseline")],
    );
    assert_eq!(
        s.cluster
            .pod_security_level("ktui-system".into())
            .await
            .unwrap()
            .as_deref(),
        Some("baseline")
    );
    let pre = lifecycle::preflight(&s.cluster, &spec()).await.unwrap();
    assert!(!pre.create_namespace);
    assert!(
        matches!(&pre.problems[0], Problem::PodSecurity { level, .. } if level == "baseline"),
        "{pre:?}"
    );
    assert!(
        pre.problems[0]
            .to_string()
            .contains("Pod Security \"baseline\""),
        "{pre:?}"
    );
    let err = deploy(&s, &spec()).await.unwrap_err();
    assert!(matches!(err, DeployError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("enforce=privileged"), "{err}");
    assert_eq!(s.store().count("Pod"), 0);
    // Applied anyway, the API server's Pod Security admission refuses it; not called RBAC.
    let spec = spec();
    let err = s
        .cluster
        .apply(vec![spec.service_account_object(), spec.pod_object()])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("violates PodSecurity \"baseline:latest\""),
        "{text}"
    );
    assert!(!text.contains("RBAC"), "{text}");

    let s = setup().await;
    s.store().add_node("arm-1", "arm64");
    let mut arm = HelperSpec::new(Some("arm-1"));
    let err = deploy(&s, &arm).await.unwrap_err();
    assert!(err.to_string().contains("arm64"), "{err}");
    arm.image = "registry.example.com/ktui-helper:multiarch".into();
    let pre = lifecycle::preflight(&s.cluster, &arm).await.unwrap();
    assert!(
        pre.problems.is_empty() && pre.warnings[0].contains("arm64"),
        "{pre:?}"
    );

    let err = deploy(&s, &HelperSpec::new(Some("no-such-node")))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, DeployError::Refused(p) if matches!(&p[..], [Problem::NodeMissing { .. }])),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("node no-such-node does not exist"),
        "{err}"
    );
    let info = s.cluster.node_info(NODE.into()).await.unwrap();
    assert_eq!(info.architecture.as_deref(), Some("amd64"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_pull_failure_fails_fast_and_a_finished_helper_is_replaced() {
    let s = setup().await;
    s.store().set_kubelet(Kubelet::ImagePullFails);
    let t = Instant::now();
    let err = deploy(&s, &spec()).await.unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(&err, DeployError::Failed(StartFailure::Stuck { reason, .. }) if reason == "ErrImagePull"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("ErrImagePull") && text.contains("--image"),
        "{text}"
    );

    // The old pod is stuck; once it is Failed (deadline), deploying replaces it.
    let store = s.store();
    let mut pod = store
        .get("Pod", "ktui-system", "ktui-helper-node-1")
        .unwrap();
    let old_uid = pod["metadata"]["uid"].clone();
    pod["status"] = serde_json::json!({"phase": "Failed", "reason": "DeadlineExceeded",
        "message": "Pod was active on the node longer than the specified deadline"});
    store.apply(pod);
    store.set_kubelet(Kubelet::Run {
        after: Duration::from_millis(300),
    });
    let helper = deploy(&s, &spec()).await.unwrap();
    assert!(!helper.reused);
    let pod = store
        .get("Pod", "ktui-system", "ktui-helper-node-1")
        .unwrap();
    assert_ne!(pod["metadata"]["uid"], old_uid);
    assert_eq!(pod["status"]["phase"], "Running");

    // A pod that never starts times out with its state.
    let s = setup().await;
    s.store().set_kubelet(Kubelet::Off);
    let mut steps = Vec::new();
    let err = lifecycle::deploy(&s.cluster, &spec(), Duration::from_secs(1), &mut |p| {
        steps.push(p)
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            DeployError::NotReady {
                timeout_secs: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("was not ready after 1 s"), "{err}");
    assert!(DEFAULT_READY_TIMEOUT >= Duration::from_secs(60));
}

// ---- the console, end to end ------------------------------------------------------------

/// Connect events to `port` the console has shown so far.
fn connects_to(app: &ktui::app::App, port: u16) -> Vec<ktui_wire::SocketEvent> {
    app.state
        .sockets
        .ring
        .lines
        .iter()
        .filter_map(|e| match e {
            ktui::state::sockets::Entry::Event(ev)
                if ev.kind == ktui_wire::EventType::Connect && ev.dport == Some(port) =>
            {
                Some((**ev).clone())
            }
            _ => None,
        })
        .collect()
}

/// A port on loopback where nothing listens (connects are refused).
fn refused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Connect to a refused port until the console shows the event: errno and the pid (this test).
async fn see_a_connect(app: &mut ktui::app::App) {
    let port = refused_port();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = std::net::TcpStream::connect(("127.0.0.1", port));
        app.dispatch(ktui::action::Action::Tick(jiff::Timestamp::now()));
        app.settle(Duration::from_millis(100)).await;
        if let Some(e) = connects_to(app, port).first() {
            assert_eq!(e.errno, Some(111), "ECONNREFUSED: {e:?}");
            assert_eq!(e.pid, Some(std::process::id()), "{e:?}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no connect event to port {port}; status {:?}",
            app.state.helper.status
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_deploys_streams_reconnects_and_removes() {
    use ktui::state::helper::HelperStatus;
    let live = !common::skip_unless(
        "console_deploys_streams_reconnects_and_removes (live events)",
        common::ebpf_unavailable(),
    );
    let s = setup().await;
    let store = s.store();
    add_crashed_pod(&store, "3f0c6a52-0000-4000-8000-000000000001");
    let cluster: std::sync::Arc<dyn Cluster> = std::sync::Arc::new(s.cluster.clone());
    let case = common::test_case();
    let custody = case.dir().join("custody.jsonl");
    let mut app = ktui::app::App::builder(cluster)
        .case(Some(case))
        .scope(Scope::All)
        .build();
    app_until(&mut app, "the crashed pod in the table", 30, |a| {
        a.state.pods.selected_row().is_some()
    })
    .await;

    // t: the confirmation says what will be created, and the preflight found nothing wrong.
    press(&mut app, "t");
    app_until(&mut app, "the preflight", 30, |a| {
        a.state.helper.deploy_warning.is_none()
    })
    .await;
    assert!(matches!(
        app.state.mode,
        ktui::state::Mode::Confirm(ktui::state::Confirm::DeployHelper { .. })
    ));
    // y: deploy, then exec `ktui-helper serve` and get its hello.
    press(&mut app, "y");
    app_until(&mut app, "the helper's hello over exec", 30, |a| {
        a.state.helper.status == HelperStatus::Connected
    })
    .await;
    assert!(
        store
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .is_some()
    );
    assert!(app.state.helper.image_id.is_some(), "image digest recorded");
    assert_eq!(app.state.helper.deployed, vec![NODE.to_string()]);
    // What the deploy created is in custody (`ktui cleanup` reads it).
    let pod_target = "object/v1/Pod/ktui-system/ktui-helper-node-1";
    let lines = std::fs::read_to_string(&custody).unwrap();
    assert!(
        lines
            .lines()
            .any(|l| l.contains("\"deploy_helper\"") && l.contains(pod_target)),
        "{lines}"
    );
    // The whole node (the fake pod has no cgroup on this machine to filter by).
    press(&mut app, "n");
    assert!(app.state.sockets.pod.is_none());

    if live {
        see_a_connect(&mut app).await;
    }

    // Cut the exec stream: a gap opens, the console execs again by itself and closes it.
    let execs = store.execs_started();
    store.drop_execs();
    app_until(&mut app, "the stream loss", 30, |a| {
        matches!(a.state.helper.status, HelperStatus::Reconnecting { .. })
    })
    .await;
    app_until(&mut app, "the reconnect", 30, |a| {
        a.state.helper.status == HelperStatus::Connected
    })
    .await;
    assert!(store.execs_started() > execs);
    let gaps: Vec<bool> = app
        .state
        .sockets
        .ring
        .lines
        .iter()
        .filter_map(|e| match e {
            ktui::state::sockets::Entry::Gap { to, .. } => Some(to.is_some()),
            _ => None,
        })
        .collect();
    assert_eq!(gaps, vec![true], "one gap, closed by the reconnect");
    if live {
        // The subscription (node-wide) was sent again on the new stream.
        see_a_connect(&mut app).await;
    }

    // X, y: remove the helper; quitting then asks nothing.
    press(&mut app, "Xy");
    app_until(&mut app, "the removal", 30, |a| {
        a.state.helper.deployed.is_empty()
    })
    .await;
    assert!(
        store
            .get("Pod", "ktui-system", "ktui-helper-node-1")
            .is_none()
    );
    let lines = std::fs::read_to_string(&custody).unwrap();
    assert!(
        lines
            .lines()
            .any(|l| l.contains("\"remove_helper\"") && l.contains(pod_target)),
        "{lines}"
    );
    // q leaves the sockets pane, q again quits without asking (nothing left deployed).
    press(&mut app, "qq");
    assert!(app.state.quit);
}

/// A driver without a terminal: intents, never key presses, take the console from a crashed
/// pod to a connected helper — first answering the question itself, then under a policy that
/// answers yes (as `--record --deploy-helper` will), through to quitting, which removes the
/// helper the run created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_deploy_confirm_and_connect_without_keys() {
    use ktui::action::Action;
    use ktui::intent::{Answer, ConfirmPolicy, Intent};
    use ktui::state::helper::HelperStatus;
    use ktui::state::{Confirm, Mode};
    let s = setup().await;
    let store = s.store();
    add_crashed_pod(&store, "3f0c6a52-0000-4000-8000-000000000002");
    let cluster: std::sync::Arc<dyn Cluster> = std::sync::Arc::new(s.cluster.clone());
    let mut app = ktui::app::App::builder(cluster).scope(Scope::All).build();
    let pod = PodKey::new("shop", "web-0");
    app_until(&mut app, "the crashed pod", 30, |a| {
        a.state.pods.pod(&pod).is_some()
    })
    .await;
    let helper_pod = || store.get("Pod", "ktui-system", "ktui-helper-node-1");

    // Asked, answered by the driver.
    app.dispatch(Action::Intent(Intent::OpenSockets(pod.clone())));
    assert!(matches!(
        &app.state.mode,
        Mode::Confirm(Confirm::DeployHelper { node, .. }) if node == NODE
    ));
    assert!(helper_pod().is_none(), "nothing is created before the yes");
    app.dispatch(Action::Intent(Intent::Answer(Answer::Yes)));
    app_until(&mut app, "the helper's hello", 30, |a| {
        a.state.helper.status == HelperStatus::Connected
    })
    .await;
    assert!(helper_pod().is_some());
    app.dispatch(Action::Intent(Intent::RemoveHelper { node: NODE.into() }));
    app.dispatch(Action::Intent(Intent::Answer(Answer::Yes)));
    app_until(&mut app, "the removal", 30, |a| {
        a.state.helper.deployed.is_empty()
    })
    .await;
    assert!(helper_pod().is_none());

    // Under a policy that answers yes: no question is left on screen.
    app.state.confirm_policy = ConfirmPolicy::AssumeYes;
    app.dispatch(Action::Intent(Intent::OpenSockets(pod.clone())));
    assert!(matches!(app.state.mode, Mode::Normal), "nothing asked");
    app_until(&mut app, "the helper's hello (policy)", 30, |a| {
        a.state.helper.status == HelperStatus::Connected
    })
    .await;
    assert!(helper_pod().is_some());
    app.dispatch(Action::Intent(Intent::Quit));
    app_until(&mut app, "the removal before quitting", 30, |a| {
        a.state.quit
    })
    .await;
    assert!(
        helper_pod().is_none(),
        "quitting under the policy removed the helper it created"
    );
}
