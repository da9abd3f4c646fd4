//! Collecting a pod's evidence (`ktui export POD`) through `KubeCluster` over real HTTPS against
//! the fake API server: the pod and its owner chain whole but without managedFields, its node,
//! events, logs, referenced ConfigMaps, Secrets as HMACs; what cannot be read (no previous log,
//! RBAC on Secrets, a missing owner) listed as unavailable; the server's Date and raw objects
//! through the new `Cluster` calls.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Setup;
use ktui::case::{Case, CaseConfig};
use ktui::cluster::{Cluster, ClusterError, ObjectRef, PodKey};
use ktui::collect::{CollectOptions, collect_pod};
use ktui_fake_apiserver::Store;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn managed() -> Value {
    json!([{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "apps/v1",
        "time": "2026-11-20T09:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}])
}

/// `default/api-6b7c8d9e4f-abcde` (a crash-looping pod of the fixtures) → ReplicaSet →
/// Deployment, each with managedFields; the pod reads ConfigMap `api-config` and Secret
/// `api-db` (key `password`), and an optional ConfigMap that does not exist. Its node exists;
/// its current log does, its previous one does not.
fn store() -> Store {
    let store = Store::new();
    store.add_namespace("default");
    store.add_node("worker-2", "amd64");
    let list = fixture("podlist.json");
    let mut pod = list["items"][0].clone();
    pod["apiVersion"] = json!("v1");
    pod["kind"] = json!("Pod");
    assert_eq!(pod["metadata"]["name"], "api-6b7c8d9e4f-abcde");
    pod["metadata"]["managedFields"] = managed();
    pod["spec"]["volumes"] = json!([
        {"name": "config", "configMap": {"name": "api-config"}},
        {"name": "extra", "configMap": {"name": "api-extra", "optional": true}}
    ]);
    pod["spec"]["containers"][0]["env"] = json!([
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "api-db", "key": "password"}}}
    ]);
    store.apply(pod);
    let rs_list = fixture("replicasets.json");
    let mut rs = rs_list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["metadata"]["name"] == "api-6b7c8d9e4f")
        .unwrap()
        .clone();
    rs["apiVersion"] = json!("apps/v1");
    rs["kind"] = json!("ReplicaSet");
    rs["metadata"]["managedFields"] = managed();
    store.apply(rs);
    store.apply(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "default", "managedFields": managed()},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "api"}}}
    }));
    store.apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "api-config", "namespace": "default", "managedFields": managed()},
        "data": {"LOG_LEVEL": "debug"}
    }));
    store.apply(json!({
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": "api-db", "namespace": "default"},
        // "s3cr3t-kube-value", base64.
        "data": {"password": "czNjcjN0LWt1YmUtdmFsdWU=", "unread": "b3RoZXI="}
    }));
    store.set_logs(
        "default",
        "api-6b7c8d9e4f-abcde",
        "api",
        false,
        b"listening on :8080\n",
    );
    store
}

fn read(case: &Case, path: &str) -> Value {
    serde_json::from_slice(&std::fs::read(case.dir().join(path)).unwrap()).unwrap()
}

#[tokio::test]
async fn a_pod_is_collected_whole_without_managed_fields() {
    let s = Setup::start(store()).await;
    let tmp = tempfile::tempdir().unwrap();
    let case = Case::open(tmp.path(), Some("kube"), &CaseConfig::new("fake", "fake")).unwrap();
    let pod = PodKey::new("default", "api-6b7c8d9e4f-abcde");
    let got = collect_pod(
        &s.cluster,
        &case,
        &pod,
        CollectOptions::default(),
        &|_: &str| {},
    )
    .await
    .unwrap();
    let dir = "artifacts/default/api-6b7c8d9e4f-abcde";

    let manifest = read(&case, &format!("{dir}/pod.json"));
    assert_eq!(manifest["metadata"]["name"], "api-6b7c8d9e4f-abcde");
    assert_eq!(manifest["spec"]["nodeName"], "worker-2");
    assert!(manifest["metadata"].get("managedFields").is_none());
    assert!(manifest["metadata"]["resourceVersion"].is_string());

    let owners = read(&case, &format!("{dir}/owners.json"));
    let chain: Vec<_> = owners
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(chain, ["ReplicaSet/api-6b7c8d9e4f", "Deployment/api"]);
    assert!(
        owners
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["metadata"].get("managedFields").is_none()),
        "{owners}"
    );

    let node = read(&case, "artifacts/nodes/worker-2/node.json");
    assert_eq!(node["kind"], "Node");
    assert_eq!(got.node.as_deref(), Some("worker-2"));
    let cm = read(&case, &format!("{dir}/configmaps/api-config.json"));
    assert_eq!(cm["data"]["LOG_LEVEL"], "debug");
    assert!(cm["metadata"].get("managedFields").is_none());
    assert_eq!(
        std::fs::read(case.dir().join(format!("{dir}/logs/api.log"))).unwrap(),
        b"listening on :8080\n"
    );
    let secret =
        std::fs::read_to_string(case.dir().join(format!("{dir}/secrets/api-db.json"))).unwrap();
    assert!(
        !secret.contains("s3cr3t-kube-value") && !secret.contains("czNjcjN0"),
        "{secret}"
    );
    let record: Value = serde_json::from_str(&secret).unwrap();
    assert_eq!(
        record["keys"].as_array().unwrap().len(),
        1,
        "only the key read"
    );
    assert_eq!(
        record["keys"][0]["hmac_sha256"],
        case.secret_hmac(b"s3cr3t-kube-value")
    );

    // Indexed with the API path each came from.
    let index = case.index().unwrap();
    let source = |p: &str| {
        index
            .iter()
            .find(|e| e.path == format!("{dir}/{p}"))
            .map(|e| e.source.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        source("pod.json"),
        "/api/v1/namespaces/default/pods/api-6b7c8d9e4f-abcde"
    );
    assert!(
        source("owners.json")
            .contains("/apis/apps/v1/namespaces/default/replicasets/api-6b7c8d9e4f"),
        "{}",
        source("owners.json")
    );

    let unavailable: Vec<_> = got.unavailable.iter().map(|u| u.what.as_str()).collect();
    assert_eq!(
        unavailable,
        ["logs/api.previous.log", "configmap api-extra"],
        "{:?}",
        got.unavailable
    );
    assert!(
        got.unavailable[0]
            .why
            .contains("no previous terminated instance"),
        "{:?}",
        got.unavailable[0]
    );
    assert!(
        got.unavailable[1].why.contains("optional"),
        "{:?}",
        got.unavailable[1]
    );
}

#[tokio::test]
async fn rbac_on_secrets_and_a_missing_owner_are_listed_not_fatal() {
    let store = store();
    store.forbid("get", "secrets", Some("default"));
    store.delete("deployments.apps", "default", "api");
    let s = Setup::start(store).await;
    let tmp = tempfile::tempdir().unwrap();
    let case = Case::open(tmp.path(), Some("kube"), &CaseConfig::new("fake", "fake")).unwrap();
    let pod = PodKey::new("default", "api-6b7c8d9e4f-abcde");
    let got = collect_pod(
        &s.cluster,
        &case,
        &pod,
        CollectOptions::default(),
        &|_: &str| {},
    )
    .await
    .unwrap();
    let why = |what: &str| {
        got.unavailable
            .iter()
            .find(|u| u.what == what)
            .map(|u| u.why.clone())
            .unwrap_or_else(|| panic!("{what} not listed: {:?}", got.unavailable))
    };
    assert!(
        why("secret api-db").contains("RBAC forbids 'get' on 'secrets'"),
        "{}",
        why("secret api-db")
    );
    assert!(
        why("owner Deployment default/api").contains("not found"),
        "{}",
        why("owner Deployment default/api")
    );
    let owners = read(&case, "artifacts/default/api-6b7c8d9e4f-abcde/owners.json");
    assert_eq!(owners.as_array().unwrap().len(), 1, "the ReplicaSet still");
    assert!(
        !case
            .dir()
            .join("artifacts/default/api-6b7c8d9e4f-abcde/secrets")
            .exists()
    );
}

#[tokio::test]
async fn raw_objects_events_and_the_server_clock() {
    let store = store();
    let mut event = fixture("events.json")["items"][0].clone();
    event["apiVersion"] = json!("v1");
    event["kind"] = json!("Event");
    event["metadata"]["namespace"] = json!("default");
    event["involvedObject"]["name"] = json!("api-6b7c8d9e4f-abcde");
    event["involvedObject"]["namespace"] = json!("default");
    event["involvedObject"]["kind"] = json!("Pod");
    store.apply(event);
    let s = Setup::start(store).await;
    let pod = PodKey::new("default", "api-6b7c8d9e4f-abcde");

    let obj = s.cluster.get_json(ObjectRef::pod(&pod)).await.unwrap();
    assert_eq!(obj["kind"], "Pod");
    assert!(
        obj["metadata"]["managedFields"].is_array(),
        "get_json returns the object as sent"
    );
    let missing = s
        .cluster
        .get_json(ObjectRef::new("v1", "Secret", Some("default"), "nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ClusterError::NotFound { what } if what == "Secret default/nope"),
        "{missing:?}"
    );

    let events = s.cluster.pod_events_json(pod).await.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["kind"], "Event");
    assert_eq!(events[0]["apiVersion"], "v1");

    let before = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(2);
    let date = s
        .cluster
        .server_date()
        .await
        .unwrap()
        .expect("a Date header");
    let after = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(2);
    assert!(before <= date && date <= after, "{date}");
    // The fake server serves no SelfSubjectReview: quietly none; the kubeconfig's user stays.
    assert_eq!(s.cluster.self_user().await.unwrap(), None);
    assert_eq!(s.cluster.info().kube_user.as_deref(), Some("fake"));
    let config = ktui::collect::case_config(&s.cluster, false).await;
    assert_eq!(config.collector.kube_user.as_deref(), Some("fake"));
    // Where it is served, the server's word wins.
    s.store().set_self_subject(Some("alice@example.test"));
    assert_eq!(
        s.cluster.self_user().await.unwrap().as_deref(),
        Some("alice@example.test")
    );
    let served = ktui::collect::case_config(&s.cluster, false).await;
    assert_eq!(
        served.collector.kube_user.as_deref(),
        Some("alice@example.test")
    );
    let again = config.api_server_date.expect("the Date at case creation");
    assert!(
        (again.as_second() - date.as_second()).abs() <= 5,
        "{again} vs {date}"
    );
}
