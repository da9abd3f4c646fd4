//! End-to-end tests over HTTPS with a plain hyper client (no kube).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ktui_fake_apiserver::{FakeApiServer, Store, populate_cluster};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// A minimal HTTPS client: one HTTP/1.1 connection trusting only the fake CA.
struct Client {
    sender: SendRequest<Empty<Bytes>>,
    token: Option<String>,
}

impl Client {
    async fn connect(server: &FakeApiServer) -> Client {
        Self::connect_with(server, Some(server.token().to_string())).await
    }

    async fn connect_with(server: &FakeApiServer, token: Option<String>) -> Client {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(server.ca_pem().as_bytes()).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(server.addr()).await.unwrap();
        let tls = TlsConnector::from(Arc::new(config))
            .connect(
                ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
                tcp,
            )
            .await
            .unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Client { sender, token }
    }

    async fn send(&mut self, path: &str) -> Response<Incoming> {
        let mut req = Request::get(path).header("host", "127.0.0.1");
        if let Some(token) = &self.token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        self.sender.ready().await.unwrap();
        self.sender
            .send_request(req.body(Empty::new()).unwrap())
            .await
            .unwrap()
    }

    async fn get(&mut self, path: &str) -> (StatusCode, Bytes) {
        let resp = self.send(path).await;
        let status = resp.status();
        (status, resp.into_body().collect().await.unwrap().to_bytes())
    }

    async fn get_json(&mut self, path: &str) -> (StatusCode, Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_slice(&body).unwrap())
    }
}

/// Reads newline-delimited JSON (or raw chunks) from a streaming response.
struct Stream {
    body: Incoming,
    buf: Vec<u8>,
}

#[derive(Debug, PartialEq)]
enum End {
    Clean,
    Error,
    Timeout,
}

impl Stream {
    async fn open(server: &FakeApiServer, path: &str) -> Stream {
        let mut client = Client::connect(server).await;
        let resp = client.send(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        Stream {
            body: resp.into_body(),
            buf: Vec::new(),
        }
    }

    /// Waits for more bytes; `Err` says how the stream ended instead.
    async fn fill(&mut self, wait: Duration) -> Result<(), End> {
        match tokio::time::timeout(wait, self.body.frame()).await {
            Err(_) => Err(End::Timeout),
            Ok(None) => Err(End::Clean),
            Ok(Some(Err(_))) => Err(End::Error),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    self.buf.extend_from_slice(&data);
                }
                Ok(())
            }
        }
    }

    async fn event(&mut self, wait: Duration) -> Result<Value, End> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(serde_json::from_slice(&line).unwrap());
            }
            self.fill(deadline.saturating_duration_since(Instant::now()))
                .await?;
        }
    }

    /// Next event that is not a BOOKMARK.
    async fn change(&mut self) -> Value {
        loop {
            let ev = self.event(Duration::from_secs(5)).await.unwrap();
            if ev["type"] != "BOOKMARK" {
                return ev;
            }
        }
    }

    async fn text(&mut self, want: usize) -> String {
        while self.buf.len() < want {
            self.fill(Duration::from_secs(5)).await.unwrap();
        }
        String::from_utf8(self.buf.drain(..).collect()).unwrap()
    }
}

fn pod(ns: &str, name: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox"}, {"name": "side", "image": "busybox"}]},
        "status": {"phase": "Running"},
    })
}

async fn server_with(store: Store) -> FakeApiServer {
    FakeApiServer::start(store).await.unwrap()
}

#[tokio::test]
async fn requires_a_valid_token() {
    let server = server_with(Store::new()).await;
    let unauthorized = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;

    let mut anon = Client::connect_with(&server, None).await;
    let (status, body) = anon.get("/api/v1/pods").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, unauthorized);

    let mut wrong = Client::connect_with(&server, Some("nope".into())).await;
    assert_eq!(wrong.get("/version").await.0, StatusCode::UNAUTHORIZED);

    let mut client = Client::connect(&server).await;
    let (status, version) = client.get_json("/version").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(version["gitVersion"], "v1.33.0-fake");

    server.store().set_unauthorized(true);
    let (status, body) = client.get("/version").await;
    assert_eq!(
        (status, body),
        (StatusCode::UNAUTHORIZED, Bytes::from(unauthorized))
    );
    server.store().set_unauthorized(false);
    assert_eq!(client.get("/version").await.0, StatusCode::OK);

    let recorded = server.requests();
    assert_eq!(recorded[0].path, "/api/v1/pods");
    assert_eq!(recorded.len(), 5);
}

#[tokio::test]
async fn pages_through_1200_pods() {
    let store = Store::new();
    populate_cluster(&store, 1_200, 3, 12);
    let server = server_with(store).await;
    let mut client = Client::connect(&server).await;

    let mut names = std::collections::BTreeSet::new();
    let mut pages = 0;
    let mut list_rv = None;
    let mut path = "/api/v1/pods?limit=500".to_string();
    loop {
        let (status, page) = client.get_json(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["kind"], "PodList");
        assert_eq!(page["apiVersion"], "v1");
        pages += 1;
        let rv = page["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(list_rv.get_or_insert_with(|| rv.clone()), &rv);
        let items = page["items"].as_array().unwrap();
        for item in items {
            // Like kube-apiserver, list items carry no apiVersion/kind.
            assert!(item.get("kind").is_none());
            assert!(names.insert(item["metadata"]["name"].as_str().unwrap().to_string()));
        }
        match page["metadata"]["continue"].as_str() {
            Some(token) => {
                assert_eq!(items.len(), 500);
                let remaining = page["metadata"]["remainingItemCount"].as_u64().unwrap();
                assert_eq!(remaining, 1_200 - 500 * pages);
                path = format!("/api/v1/pods?limit=500&continue={token}");
            }
            None => {
                assert_eq!(items.len(), 200);
                assert!(page["metadata"].get("remainingItemCount").is_none());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 1_200);

    // Namespaced and filtered lists.
    let (_, ns) = client.get_json("/api/v1/namespaces/ns-0001/pods").await;
    assert_eq!(ns["items"].as_array().unwrap().len(), 400);
    let some = names.iter().next().unwrap();
    let (_, one) = client
        .get_json(&format!(
            "/api/v1/pods?fieldSelector=metadata.name%3D{some}"
        ))
        .await;
    assert_eq!(one["items"][0]["metadata"]["name"], some.as_str());
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let (_, node) = client
        .get_json("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-003")
        .await;
    assert_eq!(node["items"].as_array().unwrap().len(), 100);
    let (_, filtered) = client
        .get_json("/api/v1/namespaces/ns-0000/pods?labelSelector=app.kubernetes.io%2Fname%3Dapi-0&limit=2")
        .await;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 2);
    assert!(filtered["metadata"]["continue"].is_string());
    assert!(filtered["metadata"].get("remainingItemCount").is_none());
    let (status, bad) = client
        .get_json("/api/v1/pods?fieldSelector=spec.bogus%3D1")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(bad["message"], "field label not supported: spec.bogus");

    // Single objects, apps/v1 and namespaces.
    let (status, got) = client
        .get_json(&format!("/api/v1/namespaces/ns-0000/pods/{}", "nope"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(got["message"], "pods \"nope\" not found");
    assert_eq!(got["reason"], "NotFound");
    let owner = &filtered["items"][0]["metadata"]["ownerReferences"][0];
    let (status, rs) = client
        .get_json(&format!(
            "/apis/apps/v1/namespaces/ns-0000/replicasets/{}",
            owner["name"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rs["kind"], "ReplicaSet");
    assert_eq!(rs["apiVersion"], "apps/v1");
    let (_, deploys) = client
        .get_json("/apis/apps/v1/namespaces/ns-0000/deployments")
        .await;
    assert_eq!(deploys["kind"], "DeploymentList");
    assert_eq!(deploys["items"].as_array().unwrap().len(), 80);
    let (_, nss) = client.get_json("/api/v1/namespaces").await;
    assert_eq!(nss["items"].as_array().unwrap().len(), 3);
    let (status, ns) = client.get_json("/api/v1/namespaces/ns-0002").await;
    assert_eq!(
        (status, &ns["status"]["phase"]),
        (StatusCode::OK, &json!("Active"))
    );
}

#[tokio::test]
async fn unknown_paths_are_404_status() {
    let server = server_with(Store::new()).await;
    let mut client = Client::connect(&server).await;
    for path in [
        "/nope",
        "/api/v1/widgets",
        "/apis/apps/v1/namespaces/x/replicasets/y/bogus",
        "/api/v2",
    ] {
        let (status, body) = client.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["kind"], "Status");
        assert_eq!(body["reason"], "NotFound");
    }
    let (status, jobs) = client
        .get_json("/apis/batch/v1/namespaces/x/cronjobs")
        .await;
    assert_eq!(
        (status, &jobs["kind"]),
        (StatusCode::OK, &json!("CronJobList"))
    );
    let (_, discovery) = client.get_json("/apis/apps/v1").await;
    assert!(
        discovery["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "deployments")
    );
    let (_, groups) = client.get_json("/apis").await;
    assert_eq!(groups["kind"], "APIGroupList");
}

#[tokio::test]
async fn snapshot_api_is_served_only_when_switched_on() {
    let store = Store::new();
    store.add_namespace("shop");
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;
    let group_names = |groups: &Value| -> Vec<String> {
        groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, groups) = client.get_json("/apis").await;
    assert!(!group_names(&groups).contains(&"snapshot.storage.k8s.io".to_string()));
    assert!(group_names(&groups).contains(&"networking.k8s.io".to_string()));
    for path in [
        "/apis/snapshot.storage.k8s.io/v1",
        "/apis/snapshot.storage.k8s.io/v1/namespaces/shop/volumesnapshots",
        "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
    ] {
        let (status, _) = client.get_json(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    store.serve_snapshots(true);
    store.apply(json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": "csi", "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
        "driver": "csi.example.com", "deletionPolicy": "Delete",
    }));
    let (_, groups) = client.get_json("/apis").await;
    assert!(group_names(&groups).contains(&"snapshot.storage.k8s.io".to_string()));
    let (status, kinds) = client.get_json("/apis/snapshot.storage.k8s.io/v1").await;
    assert_eq!(status, StatusCode::OK);
    let kinds: Vec<&str> = kinds["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"VolumeSnapshot") && kinds.contains(&"VolumeSnapshotClass"));
    let (status, classes) = client
        .get_json("/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(classes["kind"], "VolumeSnapshotClassList");
    assert_eq!(classes["items"][0]["metadata"]["name"], "csi");
}

#[tokio::test]
async fn network_policies_list_by_label() {
    let store = Store::new();
    store.add_namespace("shop");
    for (name, forensic) in [("deny-web", true), ("allow-dns", false)] {
        let mut labels = json!({"team": "shop"});
        if forensic {
            labels["ktui.dev/forensic"] = json!("true");
        }
        store.apply(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }));
    }
    let server = server_with(store).await;
    let mut client = Client::connect(&server).await;
    let (status, list) = client
        .get_json("/apis/networking.k8s.io/v1/namespaces/shop/networkpolicies?labelSelector=ktui.dev%2Fforensic%3Dtrue")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["kind"], "NetworkPolicyList");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, vec!["deny-web"]);
    let (status, _) = client
        .get_json("/apis/policy/v1/namespaces/shop/poddisruptionbudgets")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn watch_sees_added_modified_deleted() {
    let store = Store::new();
    store.apply(pod("default", "existing", "n1"));
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;
    let (_, list) = client
        .get_json("/api/v1/namespaces/default/pods?limit=500")
        .await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();

    let mut watch = Stream::open(
        &server,
        &format!("/api/v1/namespaces/default/pods?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&resourceVersion={rv}"),
    )
    .await;
    store.apply(pod("default", "web-1", "n1"));
    store.apply(pod("other", "elsewhere", "n1"));
    let ev = watch.change().await;
    assert_eq!(ev["type"], "ADDED");
    assert_eq!(ev["object"]["kind"], "Pod");
    assert_eq!(ev["object"]["metadata"]["name"], "web-1");
    let added_rv: u64 = ev["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(added_rv > rv.parse().unwrap());

    store.apply(pod("default", "web-1", "n2"));
    let ev = watch.change().await;
    assert_eq!(ev["type"], "MODIFIED");
    assert_eq!(ev["object"]["spec"]["nodeName"], "n2");

    store.delete("Pod", "default", "web-1");
    let ev = watch.change().await;
    assert_eq!(ev["type"], "DELETED");
    assert_eq!(ev["object"]["metadata"]["name"], "web-1");
    assert_eq!(
        ev["object"]["metadata"]["resourceVersion"],
        store.resource_version().to_string()
    );

    // Resuming from the list version replays everything since.
    let mut replay = Stream::open(
        &server,
        &format!("/api/v1/namespaces/default/pods?watch=1&resourceVersion={rv}"),
    )
    .await;
    let kinds: Vec<String> = [
        replay.change().await,
        replay.change().await,
        replay.change().await,
    ]
    .iter()
    .map(|e| e["type"].as_str().unwrap().to_string())
    .collect();
    assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);

    // A field selector turns a move off the node into a DELETED.
    let mut on_n1 = Stream::open(
        &server,
        &format!(
            "/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dn1&resourceVersion={}",
            store.resource_version()
        ),
    )
    .await;
    store.apply(pod("default", "existing", "n9"));
    let ev = on_n1.change().await;
    assert_eq!(
        (
            ev["type"].as_str(),
            ev["object"]["spec"]["nodeName"].as_str()
        ),
        (Some("DELETED"), Some("n1"))
    );

    // drop_watches cuts the connection mid-stream.
    store.drop_watches();
    let mut end = Ok(());
    for _ in 0..10 {
        end = watch.fill(Duration::from_secs(5)).await;
        if end.is_err() {
            break;
        }
    }
    assert_eq!(end, Err(End::Error));
}

#[tokio::test]
async fn bookmarks_and_timeouts() {
    let store = Store::new();
    store.apply(pod("default", "a", "n1"));
    let server = server_with(store.clone()).await;
    let rv = store.resource_version();
    let mut watch = Stream::open(
        &server,
        &format!(
            "/api/v1/pods?watch=true&allowWatchBookmarks=true&timeoutSeconds=3&resourceVersion={rv}"
        ),
    )
    .await;
    let started = Instant::now();
    let ev = watch.event(Duration::from_secs(3)).await.unwrap();
    assert_eq!(ev["type"], "BOOKMARK");
    assert_eq!(ev["object"]["kind"], "Pod");
    assert_eq!(ev["object"]["apiVersion"], "v1");
    assert_eq!(ev["object"]["metadata"]["resourceVersion"], rv.to_string());
    // timeoutSeconds=3 ends the stream cleanly.
    loop {
        match watch.event(Duration::from_secs(5)).await {
            Ok(ev) => assert_eq!(ev["type"], "BOOKMARK"),
            Err(end) => {
                assert_eq!(end, End::Clean);
                break;
            }
        }
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2_500) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn streaming_list_sends_initial_events_then_bookmark() {
    let store = Store::new();
    for i in 0..3 {
        store.apply(pod("default", &format!("p{i}"), "n1"));
    }
    let server = server_with(store.clone()).await;
    let mut watch = Stream::open(
        &server,
        "/api/v1/pods?&watch=true&timeoutSeconds=290&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0",
    )
    .await;
    for _ in 0..3 {
        assert_eq!(
            watch.event(Duration::from_secs(5)).await.unwrap()["type"],
            "ADDED"
        );
    }
    let bm = watch.event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(bm["type"], "BOOKMARK");
    assert_eq!(
        bm["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert_eq!(bm["object"]["metadata"]["resourceVersion"], "3");
    store.apply(pod("default", "p3", "n1"));
    assert_eq!(watch.change().await["type"], "ADDED");
}

#[tokio::test]
async fn expired_resource_versions_get_410() {
    let store = Store::new();
    store.apply(pod("default", "a", "n1"));
    let server = server_with(store.clone()).await;
    let old = store.resource_version();
    let mut open = Stream::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={old}"),
    )
    .await;

    store.expire_resource_versions();
    let expected = json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
        "message": format!("too old resource version: {old} ({})", old + 1),"reason":"Expired","code":410});
    let ev = open.event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ev["type"], "ERROR");
    assert_eq!(ev["object"], expected);
    assert_eq!(
        open.event(Duration::from_secs(5)).await.unwrap_err(),
        End::Clean
    );

    let mut again = Stream::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={old}"),
    )
    .await;
    let ev = again.event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ev, json!({"type": "ERROR", "object": expected}));
    assert_eq!(
        again.event(Duration::from_secs(5)).await.unwrap_err(),
        End::Clean
    );

    // A relist gives a version that can be watched.
    let mut client = Client::connect(&server).await;
    let (_, list) = client.get_json("/api/v1/pods?limit=500").await;
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap();
    let mut fresh = Stream::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}"),
    )
    .await;
    store.apply(pod("default", "b", "n1"));
    assert_eq!(fresh.change().await["type"], "ADDED");

    // Falling out of the bounded history also means 410.
    store.set_history_limit(2);
    for i in 0..3 {
        store.apply(pod("default", &format!("x{i}"), "n1"));
    }
    let mut stale = Stream::open(
        &server,
        &format!("/api/v1/pods?watch=true&resourceVersion={rv}"),
    )
    .await;
    let ev = stale.event(Duration::from_secs(5)).await.unwrap();
    assert_eq!(ev["object"]["code"], 410);
}

#[tokio::test]
async fn forbid_gives_kube_apiserver_403() {
    let store = Store::new();
    store.apply(pod("prod", "web-1", "n1"));
    store.forbid("list", "pods", Some("prod"));
    store.forbid("get", "pods/log", None);
    store.forbid("watch", "events", None);
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;

    let (status, body) = client.get("/api/v1/namespaces/prod/pods?limit=500").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \"system:serviceaccount:ci:tester\" cannot list resource \"pods\" in API group \"\" in the namespace \"prod\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}"#
    );
    // Other namespaces, and other verbs, are allowed.
    assert_eq!(
        client.get("/api/v1/namespaces/dev/pods").await.0,
        StatusCode::OK
    );
    assert_eq!(
        client.get("/api/v1/namespaces/prod/pods/web-1").await.0,
        StatusCode::OK
    );

    let (status, body) = client
        .get_json("/api/v1/namespaces/prod/pods/web-1/log?container=app")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["message"],
        "pods \"web-1\" is forbidden: User \"system:serviceaccount:ci:tester\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"prod\""
    );
    assert_eq!(body["details"], json!({"name": "web-1", "kind": "pods"}));

    let (status, body) = client.get_json("/api/v1/events?watch=true").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["message"],
        "events is forbidden: User \"system:serviceaccount:ci:tester\" cannot watch resource \"events\" in API group \"\" at the cluster scope"
    );

    store.forbid("list", "deployments", None);
    let (_, body) = client.get_json("/apis/apps/v1/deployments").await;
    assert_eq!(
        body["message"],
        "deployments.apps is forbidden: User \"system:serviceaccount:ci:tester\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"
    );
    assert_eq!(
        body["details"],
        json!({"group": "apps", "kind": "deployments"})
    );

    store.clear_forbidden();
    assert_eq!(
        client.get("/api/v1/namespaces/prod/pods").await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pod_logs() {
    let store = Store::new();
    store.apply(pod("default", "web-1", "n1"));
    store.set_logs("default", "web-1", "app", false, b"one\ntwo\nthree\n");
    store.set_logs("default", "web-1", "app", true, b"crashed\n");
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;
    let base = "/api/v1/namespaces/default/pods/web-1/log";

    assert_eq!(
        client.get(&format!("{base}?container=app")).await,
        (StatusCode::OK, Bytes::from("one\ntwo\nthree\n"))
    );
    assert_eq!(
        client
            .get(&format!("{base}?container=app&previous=true"))
            .await
            .1,
        "crashed\n"
    );
    assert_eq!(
        client
            .get(&format!("{base}?container=app&tailLines=2"))
            .await
            .1,
        "two\nthree\n"
    );
    assert_eq!(
        client
            .get(&format!(
                "{base}?container=app&limitBytes=5&timestamps=true"
            ))
            .await
            .1,
        "one\nt"
    );
    assert_eq!(
        client.get(&format!("{base}?container=side")).await,
        (StatusCode::OK, Bytes::new())
    );

    let (status, body) = client
        .get(&format!("{base}?container=side&previous=true"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"previous terminated container \"side\" in pod \"web-1\" not found","reason":"BadRequest","code":400}"#
    );
    let (status, body) = client.get_json(base).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "a container name must be specified for pod web-1, choose one of: [app side]"
    );
    let (status, body) = client
        .get_json("/api/v1/namespaces/default/pods/nope/log")
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (StatusCode::NOT_FOUND, Some("pods \"nope\" not found"))
    );

    let mut follow = Stream::open(
        &server,
        &format!("{base}?container=app&follow=true&tailLines=1"),
    )
    .await;
    assert_eq!(follow.text(6).await, "three\n");
    store.append_logs("default", "web-1", "app", b"four\n");
    assert_eq!(follow.text(5).await, "four\n");
    store.append_logs("default", "web-1", "app", b"five\n");
    store.append_logs("default", "web-1", "app", b"six\n");
    assert_eq!(follow.text(9).await, "five\nsix\n");
    store.drop_log_streams();
    assert_eq!(follow.fill(Duration::from_secs(5)).await, Err(End::Clean));

    // Deleting the pod ends a follow stream too.
    let mut follow = Stream::open(&server, &format!("{base}?container=app&follow=true")).await;
    assert_eq!(follow.text(28).await, "one\ntwo\nthree\nfour\nfive\nsix\n");
    store.delete("Pod", "default", "web-1");
    let mut end = Ok(());
    for _ in 0..5 {
        end = follow.fill(Duration::from_secs(5)).await;
        if end.is_err() {
            break;
        }
    }
    assert_eq!(end, Err(End::Clean));
}

#[tokio::test]
async fn events_by_involved_object_in_both_apis() {
    let store = Store::new();
    populate_cluster(&store, 40, 2, 4);
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;
    let (_, events) = client.get_json("/api/v1/events").await;
    let items = events["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    let first = &items[0]["involvedObject"];
    let selector = format!(
        "involvedObject.name%3D{},involvedObject.namespace%3D{},involvedObject.uid%3D{}",
        first["name"].as_str().unwrap(),
        first["namespace"].as_str().unwrap(),
        first["uid"].as_str().unwrap()
    );
    let (status, mine) = client
        .get_json(&format!(
            "/api/v1/namespaces/{}/events?fieldSelector={selector}",
            first["namespace"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0]["reason"], "BackOff");

    let (status, v1) = client
        .get_json(&format!(
            "/apis/events.k8s.io/v1/events?fieldSelector=regarding.name%3D{}",
            first["name"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["apiVersion"], "events.k8s.io/v1");
    assert_eq!(v1["items"][0]["regarding"]["uid"], first["uid"]);
    assert!(
        v1["items"][0]["note"]
            .as_str()
            .unwrap()
            .starts_with("Back-off restarting")
    );
}

#[tokio::test]
async fn latency_and_kubeconfig() {
    let store = Store::new();
    let server = server_with(store.clone()).await;
    let mut client = Client::connect(&server).await;
    store.set_latency(Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(client.get("/version").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let yaml = server.kubeconfig_yaml();
    assert!(yaml.contains(&format!("server: {}", server.url())));
    assert!(yaml.contains(&format!("token: {}", server.token())));
    assert!(yaml.contains("current-context: fake"));
    assert!(yaml.contains("namespace: default"));
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let dir = std::env::temp_dir().join(format!("ktui-fake-apiserver-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = server.write_kubeconfig(&dir).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), yaml);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_50k_pods() {
    let store = Store::new();
    let started = Instant::now();
    populate_cluster(&store, 50_000, 200, 2_000);
    println!(
        "populate_cluster(50_000, 200, 2_000) took {:?}",
        started.elapsed()
    );
    let server = server_with(store).await;
    let mut client = Client::connect(&server).await;

    #[derive(serde::Deserialize)]
    struct Meta {
        #[serde(rename = "continue")]
        cont: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        metadata: Meta,
        items: Vec<serde::de::IgnoredAny>,
    }

    let started = Instant::now();
    let (mut items, mut pages, mut bytes) = (0, 0, 0);
    let mut path = "/api/v1/pods?limit=500".to_string();
    loop {
        let (status, body) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        bytes += body.len();
        let page: Page = serde_json::from_slice(&body).unwrap();
        items += page.items.len();
        pages += 1;
        match page.metadata.cont {
            Some(token) => path = format!("/api/v1/pods?limit=500&continue={token}"),
            None => break,
        }
    }
    println!(
        "paged list of {items} pods: {pages} pages, {} MB, took {:?}",
        bytes / 1_000_000,
        started.elapsed()
    );
    assert_eq!(items, 50_000);
    assert_eq!(pages, 100);
}
