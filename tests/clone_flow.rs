//! The forensic clone flow over real HTTPS against the fake API server: the exact writes and
//! their order (NetworkPolicy before ConfigMap before Pod), dedup within and after the window,
//! VolumeSnapshots only when the API is discovered, rollback in reverse order when the Pod is
//! refused (RBAC or admission), a 409 that stops the flow, removal, the case's records and
//! custody lines, and `ktui cleanup` removing what a clone created.
//!
//! What the fake server cannot prove: that a CNI enforces the NetworkPolicy (it stores it,
//! nothing drops packets), real admission chains (only the injected refusals and Pod Security
//! levels), a snapshot controller taking the snapshot (the VolumeSnapshot is stored, never
//! readyToUse), a kubelet running the toolkit init container and `kubectl exec` into the
//! clone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Setup;
use jiff::{SignedDuration, Timestamp};
use ktui::case::{Case, CaseConfig};
use ktui::clone::CloneOptions;
use ktui::clone::flow::{self, CloneError, Prepared, Request};
use ktui::cluster::PodKey;
use ktui_fake_apiserver::{RequestRecord, Store};
use serde_json::{Value, json};

const LOG: &[u8] = b"starting\nconnecting to db\npanic: cannot start without a database\n";

fn crashed_pod(name: &str, claims: &[&str]) -> Value {
    let mut volumes = vec![json!({"name": "config", "configMap": {"name": "web-config"}})];
    for c in claims {
        volumes
            .push(json!({"name": format!("vol-{c}"), "persistentVolumeClaim": {"claimName": c}}));
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
            "labels": {"app": "web", "pod-template-hash": "6d4"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4",
                "uid": "rs-uid", "controller": true}]},
        "spec": {
            "nodeName": "worker-1",
            "containers": [{"name": "app", "image": "registry.example/shop/web:1.4",
                "command": ["/web"], "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}}}],
            "volumes": volumes,
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "app", "image": "registry.example/shop/web:1.4",
                "imageID": "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "containerID": "containerd://2222", "ready": false, "started": false, "restartCount": 7,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-20T09:58:01Z", "finishedAt": "2026-11-20T09:58:10Z"}},
            }],
        },
    })
}

/// `shop`: a Deployment's crashed pod `web-1` (and `web-2` of the same crash), its
/// ReplicaSet, a Service selecting `app=web`, an allow-all NetworkPolicy, the ConfigMap it
/// mounts, previous logs; the user `alice`.
fn store() -> Store {
    let store = Store::new();
    store.add_namespace("shop");
    store.add_node("worker-1", "amd64");
    store.set_self_subject(Some("alice"));
    store.apply(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-6d4", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": "d", "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "web"}}}}));
    store.apply(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}}));
    store.apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "shop"}, "data": {"flags": "a=1"}}));
    for pod in ["web-1", "web-2"] {
        store.apply(crashed_pod(pod, &[]));
        store.set_logs("shop", pod, "app", true, LOG);
    }
    store
}

fn request(pod: &str) -> Request {
    Request {
        pod: PodKey::new("shop", pod),
        container: None,
        options: CloneOptions {
            forensic_namespace: None,
            same_node: false,
            dedup_window: SignedDuration::from_hours(1),
            snapshot_class: None,
            toolkit_image: "registry.example/ktui-helper:0.1.0".into(),
        },
    }
}

/// The writes (POST, DELETE, PATCH) to the API, reviews left out.
fn writes(requests: &[RequestRecord]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method != "GET")
        .filter(|r| !r.path.contains("selfsubject"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

async fn prepared(setup: &Setup, case: Option<&Case>, pod: &str) -> Prepared {
    flow::prepare(&setup.cluster, case, &request(pod))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_the_policy_then_the_log_config_map_then_the_pod() {
    let s = store();
    // An allow-all policy that selects every pod, a deny-only one, and Calico.
    s.apply(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "allow-all", "namespace": "shop"},
        "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}}),
    );
    s.apply(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "deny-web", "namespace": "shop"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
    );
    s.add_namespace("kube-system");
    s.apply(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "calico-node", "namespace": "kube-system"},
        "spec": {"selector": {"matchLabels": {"k8s-app": "calico-node"}}}}));
    // A Service whose selector the clone would still match.
    s.apply(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "forensics-catch-all", "namespace": "shop"},
        "spec": {"selector": {"ktui.dev/forensic": "true"}}}));
    let setup = Setup::start(s).await;
    let p = prepared(&setup, None, "web-1").await;
    assert!(p.existing.is_none());
    assert_eq!(p.source.container, "app");
    let log = p.source.log.as_ref().expect("the previous log was read");
    assert_eq!(log.bytes, LOG);
    let before = setup.server.requests();
    assert!(
        writes(&before).is_empty(),
        "prepare writes nothing: {:?}",
        writes(&before)
    );
    let read = |pred: &dyn Fn(&RequestRecord) -> bool| before.iter().any(pred);
    assert!(read(&|r| r.path
        == "/api/v1/namespaces/shop/pods/web-1/log"
        && r.param("previous").as_deref() == Some("true")
        && r.param("container").as_deref() == Some("app")));
    assert!(read(&|r| r.path == "/api/v1/namespaces/shop/pods"
        && r.param("labelSelector").as_deref()
            == Some("ktui.dev/forensic=true")));
    assert!(read(
        &|r| r.path == "/apis/apps/v1/namespaces/kube-system/daemonsets"
    ));
    let warned = |text: &str| p.warnings.iter().filter(|w| w.contains(text)).count();
    assert_eq!(
        warned("NetworkPolicy allow-all allows traffic"),
        1,
        "{:?}",
        p.warnings
    );
    assert_eq!(
        warned("deny-web"),
        0,
        "a deny-only policy is no warning: {:?}",
        p.warnings
    );
    assert_eq!(
        warned("Service forensics-catch-all still selects the clone"),
        1,
        "{:?}",
        p.warnings
    );
    assert_eq!(warned("Service web"), 0, "{:?}", p.warnings);
    assert_eq!(
        warned("is Calico, which enforces NetworkPolicies"),
        1,
        "{:?}",
        p.warnings
    );
    assert_eq!(
        p.cni,
        Some(ktui::clone::select::Cni {
            name: "Calico".into(),
            enforces: true
        })
    );

    setup.server.clear_requests();
    let created = flow::create(&setup.cluster, None, &p).await.unwrap();
    let name = &p.plan.name;
    assert_eq!(
        writes(&setup.server.requests()),
        vec![
            "POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies".to_string(),
            "POST /api/v1/namespaces/shop/configmaps".to_string(),
            "POST /api/v1/namespaces/shop/pods".to_string(),
        ]
    );
    let kinds: Vec<&str> = created.created.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(kinds, ["NetworkPolicy", "ConfigMap", "Pod"]);
    let store = setup.store();
    let pod = store.get("Pod", "shop", name).unwrap();
    let labels = pod["metadata"]["labels"].as_object().unwrap();
    assert_eq!(labels.len(), 2, "{labels:?}");
    assert_eq!(labels["ktui.dev/forensic"], "true");
    assert_eq!(
        pod["metadata"]["annotations"]["ktui.dev/signature"],
        p.source.signature.as_str()
    );
    assert!(
        store
            .get("NetworkPolicy", "shop", &format!("{name}-isolate"))
            .is_some()
    );
    assert!(
        store
            .get("ConfigMap", "shop", &format!("{name}-logs"))
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clone_of_the_same_crash_within_the_window_is_offered_and_nothing_is_written() {
    let setup = Setup::start(store()).await;
    let first = prepared(&setup, None, "web-1").await;
    flow::create(&setup.cluster, None, &first).await.unwrap();

    // web-2 crashed the same way (same Deployment, container, exit code): the storm's second.
    setup.server.clear_requests();
    let second = prepared(&setup, None, "web-2").await;
    assert_eq!(second.source.signature, first.source.signature);
    let existing = second.existing.clone().expect("the first clone is offered");
    assert_eq!(existing.name, first.plan.name);
    assert_eq!(existing.namespace, "shop");
    assert!(
        !setup
            .server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/log")),
        "no log is fetched for a crash that has its clone"
    );
    let refused = flow::create(&setup.cluster, None, &second)
        .await
        .unwrap_err();
    assert!(matches!(refused, CloneError::Duplicate(_)), "{refused}");
    assert!(writes(&setup.server.requests()).is_empty());
    assert_eq!(setup.store().count("NetworkPolicy"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_window_a_new_clone_is_made() {
    let setup = Setup::start(store()).await;
    let first = prepared(&setup, None, "web-1").await;
    flow::create(&setup.cluster, None, &first).await.unwrap();
    // The first clone was made two hours ago.
    let store = setup.store();
    let age = |name: &str| {
        let mut old = store.get("Pod", "shop", name).unwrap();
        let two_hours_ago = (Timestamp::now() - SignedDuration::from_hours(2))
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        old["metadata"]["annotations"]["ktui.dev/created-at"] = json!(two_hours_ago);
        store.apply(old);
    };
    age(&first.plan.name);

    let second = prepared(&setup, None, "web-2").await;
    assert!(second.existing.is_none(), "{:?}", second.existing);
    setup.server.clear_requests();
    let created = flow::create(&setup.cluster, None, &second).await.unwrap();
    assert_ne!(created.name, first.plan.name);
    assert_eq!(writes(&setup.server.requests()).len(), 3);
    assert_eq!(store.count("NetworkPolicy"), 2);

    // The same pod again, both clones outside the window: its clone's name is taken, said
    // before writing.
    age(&created.name);
    setup.server.clear_requests();
    let again = flow::prepare(&setup.cluster, None, &request("web-1"))
        .await
        .unwrap_err();
    assert!(matches!(again, CloneError::NameTaken { .. }), "{again}");
    assert!(again.to_string().contains("ktui clone --remove"), "{again}");
    assert!(writes(&setup.server.requests()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_snapshots_only_when_the_api_is_discovered() {
    let s = store();
    s.apply(crashed_pod("db-1", &["data-db-1"]));
    s.set_logs("shop", "db-1", "app", true, LOG);
    let setup = Setup::start(s).await;

    // Without the snapshot CRDs: no snapshot, and the user is told.
    let p = prepared(&setup, None, "db-1").await;
    assert!(!p.snapshot_api);
    assert!(p.plan.snapshots.is_empty());
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("does not serve the VolumeSnapshot API") && w.contains("data-db-1")),
        "{:?}",
        p.warnings
    );
    assert!(
        setup
            .server
            .requests()
            .iter()
            .any(|r| r.path == "/apis/snapshot.storage.k8s.io/v1"),
        "discovery was asked"
    );
    setup.server.clear_requests();
    flow::create(&setup.cluster, None, &p).await.unwrap();
    assert!(
        !writes(&setup.server.requests())
            .iter()
            .any(|w| w.contains("volumesnapshots"))
    );
    let removed = flow::remove(&setup.cluster, None, "shop", &p.plan.name, false)
        .await
        .unwrap();
    assert_eq!(removed.deleted.len(), 3);

    // With them and a default class: one snapshot per claim, before the pod.
    let store = setup.store();
    store.serve_snapshots(true);
    store.apply(json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "csi-snap", "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
        "driver": "csi.example.com", "deletionPolicy": "Retain"}));
    let p = prepared(&setup, None, "db-1").await;
    assert!(p.snapshot_api);
    assert_eq!(p.plan.snapshots.len(), 1, "{:?}", p.warnings);
    setup.server.clear_requests();
    let created = flow::create(&setup.cluster, None, &p).await.unwrap();
    let w = writes(&setup.server.requests());
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(
        w[2].starts_with("POST /apis/snapshot.storage.k8s.io/v1/namespaces/shop/volumesnapshots"),
        "{w:?}"
    );
    assert!(w[3].ends_with("/pods"), "{w:?}");
    let snap = &created.created[2];
    let stored = store.get("VolumeSnapshot", "shop", &snap.name).unwrap();
    assert_eq!(
        stored["spec"]["source"]["persistentVolumeClaimName"],
        "data-db-1"
    );
    assert_eq!(stored["spec"]["volumeSnapshotClassName"], "csi-snap");

    // Removal keeps the snapshot unless asked.
    let removed = flow::remove(&setup.cluster, None, "shop", &p.plan.name, false)
        .await
        .unwrap();
    assert_eq!(removed.snapshots_kept, vec![format!("shop/{}", snap.name)]);
    assert!(store.get("VolumeSnapshot", "shop", &snap.name).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forbidden_pod_rolls_back_what_was_created_in_reverse_order() {
    let setup = Setup::start(store()).await;
    let cases = tempfile::tempdir().unwrap();
    let case = Case::open(cases.path(), Some("c1"), &CaseConfig::new("fake", "fake")).unwrap();
    let p = prepared(&setup, Some(&case), "web-1").await;
    setup.store().forbid("create", "pods", Some("shop"));
    setup.server.clear_requests();
    let e = flow::create(&setup.cluster, Some(&case), &p)
        .await
        .unwrap_err();
    let name = &p.plan.name;
    assert_eq!(
        writes(&setup.server.requests()),
        vec![
            "POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies".to_string(),
            "POST /api/v1/namespaces/shop/configmaps".to_string(),
            "POST /api/v1/namespaces/shop/pods".to_string(),
            format!("DELETE /api/v1/namespaces/shop/configmaps/{name}-logs"),
            format!(
                "DELETE /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/{name}-isolate"
            ),
        ]
    );
    let text = e.to_string();
    assert!(
        text.contains("missing permission: create pods in shop"),
        "{text}"
    );
    assert!(text.contains("rolled back: deleted ConfigMap"), "{text}");
    assert!(text.contains("nothing of the clone is left"), "{text}");
    assert_eq!(setup.store().count("NetworkPolicy"), 0);
    assert!(
        setup
            .store()
            .get("ConfigMap", "shop", &format!("{name}-logs"))
            .is_none()
    );
    // Custody: two creates, the refused one, two deletes; cleanup has nothing left to do.
    let custody = custody(&case);
    let lines: Vec<(String, String, String)> = custody
        .iter()
        .filter(|l| l["action"] == "create_object" || l["action"] == "delete_object")
        .map(|l| {
            (
                l["action"].as_str().unwrap().to_string(),
                l["target"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .nth(2)
                    .unwrap()
                    .to_string(),
                l["result"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = |a: &str, k: &str, r: &str| (a.to_string(), k.to_string(), r.to_string());
    assert_eq!(
        lines,
        vec![
            want("create_object", "NetworkPolicy", "ok"),
            want("create_object", "ConfigMap", "ok"),
            want("create_object", "Pod", "error"),
            want("delete_object", "ConfigMap", "ok"),
            want("delete_object", "NetworkPolicy", "ok"),
        ]
    );
    let records: Vec<ktui::case::custody::Record> = custody
        .iter()
        .map(|l| serde_json::from_value(l.clone()).unwrap())
        .collect();
    assert!(ktui::cleanup::outstanding(&records).is_empty());
    // The failed attempt is recorded.
    let record = clone_record(&case, "web-1", name);
    assert_eq!(record["result"], "error");
    assert_eq!(record["rolled_back"].as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admission_denial_is_quoted_and_rolled_back() {
    let setup = Setup::start(store()).await;
    let p = prepared(&setup, None, "web-1").await;
    let why = "admission webhook \"images.policy.example\" denied the request: registry.example is not an allowed registry";
    setup.store().deny_admission("pods", Some("shop"), why);
    let e = flow::create(&setup.cluster, None, &p).await.unwrap_err();
    let text = e.to_string();
    assert!(text.contains(why), "{text}");
    assert!(!text.contains("RBAC"), "{text}");
    assert!(text.contains("nothing of the clone is left"), "{text}");
    assert_eq!(setup.store().count("NetworkPolicy"), 0);
}

/// A mutating webhook that ignores the opt-outs (here: adds a proxy to every pod): the pod as
/// stored is read back, the addition named, and the whole clone rolled back, the pod first
/// (waited for) and its NetworkPolicy last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pod_altered_by_admission_is_rolled_back() {
    let setup = Setup::start(store()).await;
    let p = prepared(&setup, None, "web-1").await;
    setup
        .store()
        .inject_into_pods(json!({"name": "mesh-proxy", "image": "proxy:1"}));
    setup.server.clear_requests();
    let e = flow::create(&setup.cluster, None, &p).await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("admission changed it (container mesh-proxy added)"),
        "{text}"
    );
    assert!(text.contains("nothing of the clone is left"), "{text}");
    let name = &p.plan.name;
    assert_eq!(
        writes(&setup.server.requests()),
        vec![
            "POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies".to_string(),
            "POST /api/v1/namespaces/shop/configmaps".to_string(),
            "POST /api/v1/namespaces/shop/pods".to_string(),
            format!("DELETE /api/v1/namespaces/shop/pods/{name}"),
            format!("DELETE /api/v1/namespaces/shop/configmaps/{name}-logs"),
            format!(
                "DELETE /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/{name}-isolate"
            ),
        ]
    );
    assert_eq!(setup.store().count("NetworkPolicy"), 0);
    assert!(setup.store().get("Pod", "shop", name).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_network_policy_stops_the_clone_and_is_left_alone() {
    let setup = Setup::start(store()).await;
    let p = prepared(&setup, None, "web-1").await;
    let taken = format!("{}-isolate", p.plan.name);
    setup.store().apply(
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": taken, "namespace": "shop", "labels": {"team": "shop"}},
        "spec": {"podSelector": {}, "ingress": [{}]}}),
    );
    setup.server.clear_requests();
    let e = flow::create(&setup.cluster, None, &p).await.unwrap_err();
    assert_eq!(
        writes(&setup.server.requests()),
        vec!["POST /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies".to_string()]
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("NetworkPolicy shop/{taken} already exists")),
        "{text}"
    );
    assert!(text.contains("does not adopt"), "{text}");
    assert!(text.ends_with("nothing had been created"), "{text}");
    let kept = setup.store().get("NetworkPolicy", "shop", &taken).unwrap();
    assert_eq!(kept["metadata"]["labels"]["team"], "shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_deletes_the_pod_first_and_refuses_what_is_not_a_clone() {
    let setup = Setup::start(store()).await;
    let p = prepared(&setup, None, "web-1").await;
    flow::create(&setup.cluster, None, &p).await.unwrap();
    let name = &p.plan.name;

    setup.server.clear_requests();
    let e = flow::remove(&setup.cluster, None, "shop", "web-1", true)
        .await
        .unwrap_err();
    assert!(matches!(e, CloneError::NotAClone { .. }), "{e}");
    assert!(writes(&setup.server.requests()).is_empty());
    assert!(setup.store().get("Pod", "shop", "web-1").is_some());

    let removed = flow::remove(&setup.cluster, None, "shop", name, false)
        .await
        .unwrap();
    assert_eq!(
        writes(&setup.server.requests()),
        vec![
            format!("DELETE /api/v1/namespaces/shop/pods/{name}"),
            format!("DELETE /api/v1/namespaces/shop/configmaps/{name}-logs"),
            format!(
                "DELETE /apis/networking.k8s.io/v1/namespaces/shop/networkpolicies/{name}-isolate"
            ),
        ]
    );
    assert_eq!(removed.deleted.len(), 3);
    assert!(removed.already_gone.is_empty());
    // The source's ConfigMap, which the clone reads too, stays.
    assert!(
        setup
            .store()
            .get("ConfigMap", "shop", "web-config")
            .is_some()
    );
    let again = flow::remove(&setup.cluster, None, "shop", name, false)
        .await
        .unwrap_err();
    assert!(matches!(again, CloneError::NoClone { .. }), "{again}");
}

fn custody(case: &Case) -> Vec<Value> {
    std::fs::read_to_string(case.dir().join("custody.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn clone_record(case: &Case, pod: &str, name: &str) -> Value {
    let path = case
        .dir()
        .join(format!("artifacts/shop/{pod}/clone/{name}.clone.json"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_holds_the_records_and_cleanup_removes_the_clone() {
    let setup = Setup::start(store()).await;
    let cases = tempfile::tempdir().unwrap();
    let case = Case::open(cases.path(), Some("c1"), &CaseConfig::new("fake", "fake")).unwrap();
    let p = prepared(&setup, Some(&case), "web-1").await;
    let log = p.source.log.as_ref().unwrap();
    assert_eq!(
        log.case_path.as_deref(),
        Some("artifacts/shop/web-1/logs/app.previous.log")
    );
    let created = flow::create(&setup.cluster, Some(&case), &p).await.unwrap();
    let name = &created.name;
    let dir = "artifacts/shop/web-1/clone";
    let paths: Vec<&str> = created.recorded.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            format!("{dir}/{name}-isolate.networkpolicy.json"),
            format!("{dir}/{name}-logs.configmap.json"),
            format!("{dir}/{name}.pod.json"),
            format!("{dir}/{name}.clone.json"),
        ]
    );
    for entry in &created.recorded {
        let bytes = std::fs::read(case.dir().join(&entry.path)).unwrap();
        assert_eq!(
            entry.sha256.as_deref(),
            Some(ktui::case::custody::sha256_hex(&bytes).as_str())
        );
        assert_eq!(entry.pod.as_deref(), Some("shop/web-1"));
        assert_eq!(
            entry.crash_signature.as_deref(),
            Some(p.source.signature.as_str())
        );
    }
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(case.dir().join(format!("{dir}/{name}.pod.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest, p.plan.pod);
    let record = clone_record(&case, "web-1", name);
    assert_eq!(record["kind"], "ktui-forensic-clone");
    assert_eq!(record["result"], "ok");
    assert_eq!(record["source"]["uid"], "uid-web-1");
    assert_eq!(record["created_by"], "alice");
    assert_eq!(record["log"]["sha256"], log.sha256.as_str());
    assert_eq!(
        record["log"]["case_path"],
        "artifacts/shop/web-1/logs/app.previous.log"
    );
    assert!(
        record["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["created"] == true)
    );
    // Every record and every cluster object has its custody line.
    let custody = custody(&case);
    for entry in &created.recorded {
        assert!(
            custody.iter().any(|l| l["action"] == "record_clone"
                && l["artifacts"][0]["sha256"] == entry.sha256.as_deref().unwrap()),
            "{}",
            entry.path
        );
    }
    let records: Vec<ktui::case::custody::Record> = custody
        .iter()
        .map(|l| serde_json::from_value(l.clone()).unwrap())
        .collect();
    let outstanding: Vec<String> = ktui::cleanup::outstanding(&records)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        outstanding,
        vec![
            format!("NetworkPolicy shop/{name}-isolate"),
            format!("ConfigMap shop/{name}-logs"),
            format!("Pod shop/{name}"),
        ]
    );
    drop(case);

    // `ktui cleanup` removes them: the clone pod is ktui's by its forensic label alone.
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(["cleanup", "--case", "c1", "--yes"])
        .env("KUBECONFIG", &setup.kubeconfig)
        .env("KTUI_CASES_DIR", cases.path())
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("left alone"), "{stdout}");
    let store = setup.store();
    assert!(store.get("Pod", "shop", name).is_none(), "{stdout}");
    assert!(
        store
            .get("NetworkPolicy", "shop", &format!("{name}-isolate"))
            .is_none()
    );
    assert!(
        store
            .get("ConfigMap", "shop", &format!("{name}-logs"))
            .is_none()
    );
    assert!(store.get("Pod", "shop", "web-1").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_offers_the_existing_clone_and_exits_0() {
    let setup = Setup::start(store()).await;
    let cases = tempfile::tempdir().unwrap();
    let run = |pod: &str| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
        c.args([
            "clone",
            pod,
            "-n",
            "shop",
            "--toolkit-image",
            "registry.example/t:1",
        ])
        .env("KUBECONFIG", &setup.kubeconfig)
        .env("KTUI_CASES_DIR", cases.path())
        .stdin(std::process::Stdio::null());
        async move {
            tokio::task::spawn_blocking(move || c.output().unwrap())
                .await
                .unwrap()
        }
    };
    let first = run("web-1").await;
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_eq!(first.status.code(), Some(0), "{stderr}");
    let name = String::from_utf8_lossy(&first.stdout).trim().to_string();
    assert!(name.starts_with("web-1-forensic-"), "{name}");
    assert!(
        stderr.contains(&format!("created Pod shop/{name}")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "kubectl exec -it -n shop {name} -c app -- /usr/local/bin/toolkit/sh"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("ktui clone --remove {name} -n shop")),
        "{stderr}"
    );
    setup.server.clear_requests();
    let second = run("web-2").await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), name);
    assert!(stderr.contains("already stands for this crash"), "{stderr}");
    assert!(writes(&setup.server.requests()).is_empty());

    // Removal without a terminal and without --yes refuses; with --yes it goes.
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(["clone", "--remove", &name, "-n", "shop"])
        .env("KUBECONFIG", &setup.kubeconfig)
        .env("KTUI_CASES_DIR", cases.path())
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(setup.store().get("Pod", "shop", &name).is_some());
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(["clone", "--remove", &name, "-n", "shop", "--yes"])
        .env("KUBECONFIG", &setup.kubeconfig)
        .env("KTUI_CASES_DIR", cases.path())
        .stdin(std::process::Stdio::null());
    let out = tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(setup.store().get("Pod", "shop", &name).is_none());
    assert_eq!(setup.store().count("NetworkPolicy"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn into_a_forensic_namespace_the_config_maps_are_copied_and_removed_with_the_clone() {
    let s = store();
    s.add_namespace("forensics");
    let setup = Setup::start(s).await;
    let mut req = request("web-1");
    req.options.forensic_namespace = Some("forensics".into());
    let p = flow::prepare(&setup.cluster, None, &req).await.unwrap();
    assert_eq!(p.plan.namespace, "forensics");
    assert_eq!(p.plan.copied_config_maps.len(), 1, "{:?}", p.warnings);
    setup.server.clear_requests();
    flow::create(&setup.cluster, None, &p).await.unwrap();
    assert_eq!(
        writes(&setup.server.requests()),
        vec![
            "POST /apis/networking.k8s.io/v1/namespaces/forensics/networkpolicies".to_string(),
            "POST /api/v1/namespaces/forensics/configmaps".to_string(),
            "POST /api/v1/namespaces/forensics/configmaps".to_string(),
            "POST /api/v1/namespaces/forensics/pods".to_string(),
        ]
    );
    let store = setup.store();
    // The copy has a name of its own (another clone may copy a ConfigMap of the same name),
    // and the clone reads it under that name.
    let copy_name = ktui::clone::spec::copy_name(&p.plan.name, "web-config");
    let copy = store.get("ConfigMap", "forensics", &copy_name).unwrap();
    let pod = store.get("Pod", "forensics", &p.plan.name).unwrap();
    assert!(
        pod["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["configMap"]["name"] == copy_name.as_str()),
        "{pod}"
    );
    assert_eq!(copy["data"]["flags"], "a=1");
    assert_eq!(copy["metadata"]["labels"]["ktui.dev/forensic"], "true");
    assert_eq!(
        copy["metadata"]["annotations"]["ktui.dev/copied-from"],
        "shop/web-config"
    );
    assert_ne!(
        copy["metadata"]["uid"],
        store.get("ConfigMap", "shop", "web-config").unwrap()["metadata"]["uid"]
    );
    assert_eq!(store.count("Secret"), 0, "no Secret is ever copied");

    let removed = flow::remove(&setup.cluster, None, "forensics", &p.plan.name, false)
        .await
        .unwrap();
    let names: Vec<String> = removed.deleted.iter().map(ToString::to_string).collect();
    assert_eq!(
        names,
        vec![
            format!("Pod forensics/{}", p.plan.name),
            format!("ConfigMap forensics/{copy_name}"),
            format!("ConfigMap forensics/{}-logs", p.plan.name),
            format!("NetworkPolicy forensics/{}-isolate", p.plan.name),
        ]
    );
    assert!(
        store.get("ConfigMap", "shop", "web-config").is_some(),
        "the original stays"
    );
}
