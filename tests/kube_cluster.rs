//! `KubeCluster` over real HTTPS (generated CA, bearer token, rustls on ring) against the fake API
//! server: paged lists, chunked watches with bookmarks, 410 relists, dropped connections, logs,
//! events, owner resolution, 403 and 401.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Setup;
use std::time::Duration;

use futures::StreamExt as _;
use futures::stream::BoxStream;
use ktui::cluster::{
    Cluster, ClusterError, ConnectionState, LogRequest, PodEvent, PodKey, PodSummary, Scope,
};
use ktui_fake_apiserver::Store;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(15);

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/k8s/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The fixtures in tests/fixtures/k8s (pods, their ReplicaSets, events) in a fresh store.
fn fixture_store() -> Store {
    let store = Store::new();
    for ns in ["default", "demo", "prod"] {
        store.add_namespace(ns);
    }
    for file in ["podlist.json", "replicasets.json", "events.json"] {
        let list = fixture(file);
        // Items of a typed list (PodList, ...) may omit kind and apiVersion.
        let kind = list["kind"]
            .as_str()
            .unwrap()
            .trim_end_matches("List")
            .to_string();
        let api_version = list["apiVersion"].clone();
        for mut item in list["items"].as_array().unwrap().clone() {
            if item.get("kind").is_none() {
                item["kind"] = Value::String(kind.clone());
                item["apiVersion"] = api_version.clone();
            }
            store.apply(item);
        }
    }
    store
}

async fn setup(store: Store) -> Setup {
    Setup::start(store).await
}

/// Read events until `pred` matches one (returns it), failing after `WAIT`.
async fn until(
    events: &mut BoxStream<'static, PodEvent>,
    what: &str,
    mut pred: impl FnMut(&PodEvent) -> bool,
) -> PodEvent {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("stream ended waiting for {what}"));
        if pred(&ev) {
            return ev;
        }
    }
}

/// The first full list: every pod applied between Resync and ResyncDone.
async fn initial_list(events: &mut BoxStream<'static, PodEvent>) -> Vec<PodSummary> {
    until(events, "Resync", |e| matches!(e, PodEvent::Resync)).await;
    let mut pods = Vec::new();
    loop {
        match until(events, "list items", |_| true).await {
            PodEvent::Applied(p) => pods.push(*p),
            PodEvent::ResyncDone => return pods,
            PodEvent::Failed(e) => panic!("{e}"),
            _ => {}
        }
    }
}

#[tokio::test]
async fn connects_and_reports_context() {
    let s = setup(fixture_store()).await;
    let info = s.cluster.info();
    assert_eq!(info.context, "fake");
    assert_eq!(info.namespace, "default");
    assert_eq!(info.server.trim_end_matches('/'), s.server.url());
    assert!(info.server_version.is_some());
}

#[tokio::test]
async fn watch_lists_classifies_and_follows_changes() {
    let s = setup(fixture_store()).await;
    let mut events = s.cluster.watch_pods(Scope::All);
    let pods = initial_list(&mut events).await;
    assert_eq!(pods.len(), 6);
    let api = pods
        .iter()
        .find(|p| p.key.name == "api-6b7c8d9e4f-abcde")
        .unwrap();
    assert_eq!(api.workload.to_string(), "Deployment/api");
    let records = ktui::triage::classify(api);
    assert_eq!(records[0].exit_code, Some(1));
    until(&mut events, "live", |e| {
        matches!(e, PodEvent::Connection(ConnectionState::Live))
    })
    .await;

    // A new crash arrives through the watch.
    let mut pod = fixture("pod-oom.json");
    pod["metadata"]["name"] = Value::String("worker-5f6a7b8c9d-zzzzz".into());
    pod["metadata"]["uid"] = Value::String("new-uid".into());
    s.server.store().apply(pod);
    let ev = until(
        &mut events,
        "the new pod",
        |e| matches!(e, PodEvent::Applied(p) if p.key.name == "worker-5f6a7b8c9d-zzzzz"),
    )
    .await;
    let PodEvent::Applied(p) = ev else {
        unreachable!()
    };
    assert_eq!(
        ktui::triage::classify(&p)[0].reason.as_deref(),
        Some("OOMKilled")
    );

    s.server
        .store()
        .delete("Pod", "default", "worker-5f6a7b8c9d-zzzzz");
    until(
        &mut events,
        "the delete",
        |e| matches!(e, PodEvent::Deleted(k) if k.name == "worker-5f6a7b8c9d-zzzzz"),
    )
    .await;
    // Watches asked for bookmarks.
    let watches: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .filter(|r| r.query.contains("watch=true"))
        .collect();
    assert!(!watches.is_empty());
    assert!(
        watches
            .iter()
            .all(|r| r.query.contains("allowWatchBookmarks=true"))
    );
}

#[tokio::test]
async fn large_lists_are_paged() {
    let store = Store::new();
    ktui_fake_apiserver::populate_cluster(&store, 1_200, 4, 30);
    let s = setup(store).await;
    let mut events = s.cluster.watch_pods(Scope::All);
    let pods = initial_list(&mut events).await;
    assert_eq!(pods.len(), 1_200);
    let crashed = pods
        .iter()
        .filter(|p| !ktui::triage::classify(p).is_empty())
        .count();
    assert_eq!(crashed, 30);
    let lists: Vec<_> = s
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch"))
        .collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    assert!(lists.iter().all(|r| r.query.contains("limit=500")));
    assert!(lists[1].query.contains("continue="));
}

#[tokio::test]
async fn gone_410_relists_without_losing_pods() {
    let s = setup(fixture_store()).await;
    let mut events = s.cluster.watch_pods(Scope::All);
    initial_list(&mut events).await;
    // A pod added while the history is compacted away: only a relist can show it.
    let store = s.server.store();
    store.expire_resource_versions();
    let mut pod = fixture("pod-crash.json");
    pod["metadata"]["name"] = Value::String("api-6b7c8d9e4f-after".into());
    pod["metadata"]["uid"] = Value::String("after-uid".into());
    store.apply(pod);
    store.expire_resource_versions();
    let relisted = initial_list(&mut events).await;
    assert_eq!(relisted.len(), 7);
    assert!(
        relisted
            .iter()
            .any(|p| p.key.name == "api-6b7c8d9e4f-after")
    );
}

#[tokio::test]
async fn dropped_connection_reconnects_and_recovers() {
    let s = setup(fixture_store()).await;
    let mut events = s.cluster.watch_pods(Scope::All);
    initial_list(&mut events).await;
    until(&mut events, "live", |e| {
        matches!(e, PodEvent::Connection(ConnectionState::Live))
    })
    .await;
    s.server.store().drop_watches();
    until(&mut events, "reconnecting", |e| {
        matches!(
            e,
            PodEvent::Connection(ConnectionState::Reconnecting { .. })
        )
    })
    .await;
    until(&mut events, "live again", |e| {
        matches!(e, PodEvent::Connection(ConnectionState::Live))
    })
    .await;
    // Changes after the reconnect still arrive.
    let mut pod = fixture("pod-side.json");
    pod["metadata"]["name"] = Value::String("shop-84c9d7e6f5-later".into());
    pod["metadata"]["uid"] = Value::String("later".into());
    s.server.store().apply(pod);
    until(
        &mut events,
        "a pod after reconnect",
        |e| matches!(e, PodEvent::Applied(p) if p.key.name == "shop-84c9d7e6f5-later"),
    )
    .await;
}

#[tokio::test]
async fn forbidden_list_names_verb_resource_and_namespace() {
    let store = fixture_store();
    store.forbid("list", "pods", Some("prod"));
    let s = setup(store).await;
    let mut events = s.cluster.watch_pods(Scope::Namespace("prod".into()));
    let ev = until(&mut events, "the 403", |e| matches!(e, PodEvent::Failed(_))).await;
    let PodEvent::Failed(e) = ev else {
        unreachable!()
    };
    assert_eq!(
        e,
        ClusterError::Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: Some("prod".into()),
        }
    );
    assert!(
        e.to_string()
            .starts_with("cannot list pods in namespace prod: RBAC forbids 'list' on 'pods'")
    );
}

#[tokio::test]
async fn unauthorized_suggests_relogin() {
    let s = setup(fixture_store()).await;
    s.server.store().set_unauthorized(true);
    let mut events = s.cluster.watch_pods(Scope::All);
    let ev = until(&mut events, "the 401", |e| matches!(e, PodEvent::Failed(_))).await;
    let PodEvent::Failed(e) = ev else {
        unreachable!()
    };
    assert!(matches!(e, ClusterError::Unauthorized { .. }), "{e:?}");
    assert!(e.to_string().contains("log in again"));
}

#[tokio::test]
async fn logs_previous_current_and_follow() {
    let store = fixture_store();
    let key = PodKey::new("default", "api-6b7c8d9e4f-abcde");
    store.set_logs(
        &key.namespace,
        &key.name,
        "api",
        true,
        b"boom\x1b[31m\npanic: x\n",
    );
    store.set_logs(&key.namespace, &key.name, "api", false, b"starting\n");
    let s = setup(store).await;
    let req = |previous| LogRequest {
        pod: key.clone(),
        container: "api".into(),
        previous,
        tail_lines: None,
    };
    assert_eq!(
        s.cluster.logs(req(true)).await.unwrap(),
        b"boom\x1b[31m\npanic: x\n"
    );
    assert_eq!(s.cluster.logs(req(false)).await.unwrap(), b"starting\n");
    let previous = s
        .server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/log") && r.query.contains("previous=true"));
    assert!(previous.is_some());

    let mut follow = s.cluster.follow_logs(req(false));
    let first = tokio::time::timeout(WAIT, follow.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, b"starting\n");
    s.server
        .store()
        .append_logs(&key.namespace, &key.name, "api", b"more\n");
    let mut got = Vec::new();
    while !got.ends_with(b"more\n") {
        let chunk = tokio::time::timeout(WAIT, follow.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        got.extend(chunk);
    }
    // No previous instance: the API server's 400 reaches the caller as an error.
    let err = s
        .cluster
        .logs(LogRequest {
            container: "nope".into(),
            ..req(true)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClusterError::Api { code: 400, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn events_and_detail_of_a_pod() {
    let s = setup(fixture_store()).await;
    let key = PodKey::new("default", "api-6b7c8d9e4f-abcde");
    let events = s.cluster.pod_events(key.clone()).await.unwrap();
    assert!(!events.is_empty());
    assert!(events.iter().any(|e| e.reason == "BackOff"));
    assert!(events.windows(2).all(|w| w[0].last_seen <= w[1].last_seen));
    let detail = s.cluster.pod_detail(key).await.unwrap();
    let chain: Vec<String> = detail
        .owner_chain
        .iter()
        .map(|o| format!("{}/{}", o.kind, o.name))
        .collect();
    assert_eq!(chain, vec!["ReplicaSet/api-6b7c8d9e4f", "Deployment/api"]);
    assert_eq!(detail.summary.containers[0].restarts, 12);
    let missing = s.cluster.pod_detail(PodKey::new("default", "nope")).await;
    assert!(matches!(missing, Err(ClusterError::NotFound { .. })));
}

/// Events come oldest first (by last time seen) whatever order the server lists them in.
#[tokio::test]
async fn pod_events_are_oldest_first() {
    let store = fixture_store();
    let template = fixture("events.json")["items"][0].clone();
    // The server lists by name: BackOff (…6e98…), then these three, out of time order.
    for (i, (reason, last)) in [
        ("Late", "2026-11-20T09:30:00Z"),
        ("Early", "2026-11-20T07:00:00Z"),
        ("Middle", "2026-11-20T08:30:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut e = template.clone();
        e["metadata"]["name"] = Value::String(format!("api-6b7c8d9e4f-abcde.extra{i}"));
        e["metadata"]["uid"] = Value::String(format!("extra-{i}"));
        e["reason"] = Value::String(reason.into());
        e["lastTimestamp"] = Value::String(last.into());
        store.apply(e);
    }
    let s = setup(store).await;
    let events = s
        .cluster
        .pod_events(PodKey::new("default", "api-6b7c8d9e4f-abcde"))
        .await
        .unwrap();
    let reasons: Vec<&str> = events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons, ["Early", "Middle", "BackOff", "Late"]);
}

#[tokio::test]
async fn owners_are_fetched_once_per_replicaset() {
    let store = fixture_store();
    // Two more crashed pods of the same ReplicaSet.
    for n in ["b", "c"] {
        let mut pod = fixture("pod-crash.json");
        pod["metadata"]["name"] = Value::String(format!("api-6b7c8d9e4f-{n}"));
        pod["metadata"]["uid"] = Value::String(format!("uid-{n}"));
        store.apply(pod);
    }
    let s = setup(store).await;
    let mut events = s.cluster.watch_pods(Scope::Namespace("default".into()));
    let pods = initial_list(&mut events).await;
    assert!(
        pods.iter()
            .filter(|p| p.key.name.starts_with("api-"))
            .all(|p| p.workload.to_string() == "Deployment/api")
    );
    let gets = s
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/apis/apps/v1/namespaces/default/replicasets/api-6b7c8d9e4f")
        .count();
    assert_eq!(gets, 1);
}

#[tokio::test]
async fn namespaces_are_listed() {
    let s = setup(fixture_store()).await;
    let names = s.cluster.namespaces().await.unwrap();
    assert!(names.contains(&"default".to_string()) && names.contains(&"demo".to_string()));
}

#[tokio::test]
async fn a_silent_watch_is_noticed_and_relisted() {
    let s = setup(fixture_store()).await;
    s.store().set_bookmark_interval(Duration::from_millis(200));
    let cluster = s.cluster.clone().with_watch_stall(Duration::from_secs(2));
    let mut events = cluster.watch_pods(Scope::All);
    let pods = initial_list(&mut events).await;
    assert!(pods.iter().any(|p| p.key.name == "api-6b7c8d9e4f-abcde"));
    // Live, and saying when it last heard from the server.
    until(&mut events, "a heard stamp", |e| {
        matches!(e, PodEvent::Heard(_))
    })
    .await;

    // The server keeps the watch open but sends nothing; meanwhile a pod is force-deleted.
    s.store().freeze_watches(true);
    s.store().delete("Pod", "default", "api-6b7c8d9e4f-abcde");
    let ev = until(&mut events, "the stall", |e| {
        matches!(
            e,
            PodEvent::Connection(ConnectionState::Reconnecting { .. })
        )
    })
    .await;
    let PodEvent::Connection(ConnectionState::Reconnecting { reason }) = ev else {
        unreachable!()
    };
    assert!(reason.contains("no event or bookmark"), "{reason}");
    // The relist does not have the deleted pod.
    let pods = initial_list(&mut events).await;
    assert!(!pods.iter().any(|p| p.key.name == "api-6b7c8d9e4f-abcde"));
}

#[tokio::test]
async fn a_quiet_watch_with_bookmarks_is_not_relisted() {
    let s = setup(fixture_store()).await;
    s.store().set_bookmark_interval(Duration::from_millis(300));
    let cluster = s.cluster.clone().with_watch_stall(Duration::from_secs(2));
    let mut events = cluster.watch_pods(Scope::All);
    initial_list(&mut events).await;
    s.server.clear_requests();
    // Three stall periods with nothing but bookmarks.
    let end = tokio::time::Instant::now() + Duration::from_secs(6);
    let mut heard = 0;
    while let Ok(Some(ev)) = tokio::time::timeout_at(end, events.next()).await {
        assert!(
            !matches!(
                ev,
                PodEvent::Connection(ConnectionState::Reconnecting { .. }) | PodEvent::Resync
            ),
            "relisted a live watch: {ev:?}"
        );
        heard += usize::from(matches!(ev, PodEvent::Heard(_)));
    }
    assert!(heard >= 3, "{heard} heard stamps in 6 s");
    let lists = s
        .server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/pods" && !r.query.contains("watch=true"))
        .count();
    assert_eq!(lists, 0, "{:?}", s.server.requests());
}

#[tokio::test]
async fn access_reviews_answer_per_verb_resource_and_namespace() {
    use ktui::cluster::{AccessCheck, Cluster as _};
    let store = Store::new();
    store.add_namespace("shop");
    store.forbid("create", "pods/exec", Some("ktui-system"));
    store.forbid("get", "secrets", Some("shop"));
    let s = setup(store).await;
    let checks = vec![
        AccessCheck::new("get", "pods", Some("shop")),
        AccessCheck::new("create", "pods/exec", Some("ktui-system")),
        AccessCheck::new("get", "secrets", Some("shop")),
        AccessCheck::new("get", "secrets", Some("other")),
        AccessCheck::new("get", "nodes", None),
    ];
    let allowed = s.cluster.access(checks).await.unwrap();
    assert_eq!(allowed, vec![true, false, false, true, true]);
    let posted = s
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/selfsubjectaccessreviews"))
        .count();
    assert_eq!(posted, 5);
}
