//! The controller's cluster side over real HTTPS against the fake API server: leader election
//! over a Lease (one winner, expiry and takeover, release), guarded writes (merge patch and
//! replace at a resourceVersion, 409), Events posted with `generateName`, and a finished
//! trigger (annotation removed and seen by the watch, Event on the pod, custody line).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Setup;
use futures::StreamExt as _;
use jiff::{SignedDuration, Timestamp};
use ktui::case::{Case, CaseConfig, Collector, DEFAULT_SIZE_CAP};
use ktui::cluster::{
    Cluster, ClusterError, ObjectRef, PodEvent, PodKey, PodSummary, Scope, remove_annotation_patch,
};
use ktui::record::complete::{Outcome, complete};
use ktui::record::lease::{Held, LeaseConfig, release, try_acquire_or_renew};
use ktui::record::triggers::{self, TriggerKind, triggers_of};
use ktui_fake_apiserver::Store;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);

fn store() -> Store {
    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace("ktui-system");
    store
}

fn annotated_pod(name: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "annotations": annotations},
        "spec": {"nodeName": "n1", "containers": [{"name": "app", "image": "shop/web:1"}]},
        "status": {"phase": "Running"},
    })
}

fn lease(identity: &str) -> LeaseConfig {
    LeaseConfig {
        namespace: "ktui-system".into(),
        name: "ktui-controller".into(),
        identity: identity.into(),
        duration: Duration::from_secs(15),
    }
}

fn case_config() -> CaseConfig {
    CaseConfig {
        context: "fake".into(),
        server: "https://127.0.0.1".into(),
        demo: false,
        collector: Collector {
            local_user: "ctrl".into(),
            host: "ktui-controller-0".into(),
            kube_user: None,
        },
        api_server_date: None,
        size_cap: DEFAULT_SIZE_CAP,
    }
}

fn custody(case: &Case) -> Vec<Value> {
    std::fs::read_to_string(case.dir().join("custody.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The pod as the watch reports it next, once `pred` holds.
async fn watched(
    events: &mut futures::stream::BoxStream<'static, PodEvent>,
    what: &str,
    pred: impl Fn(&PodSummary) -> bool,
) -> PodSummary {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let ev = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("the watch ended waiting for {what}"));
        if let PodEvent::Applied(p) = ev
            && pred(&p)
        {
            return *p;
        }
    }
}

#[tokio::test]
async fn two_controllers_racing_for_the_lease_one_wins() {
    let s = Setup::start(store()).await;
    let now = Timestamp::now();
    let (a, b) = (lease("ctrl-a"), lease("ctrl-b"));
    let (ra, rb) = tokio::join!(
        try_acquire_or_renew(&s.cluster, &a, now),
        try_acquire_or_renew(&s.cluster, &b, now)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        [&ra, &rb].iter().filter(|h| h.is_leader()).count(),
        1,
        "{ra:?} {rb:?}"
    );
    let (winner, loser, loser_id) = if ra.is_leader() {
        (&a, &b, "ctrl-b")
    } else {
        (&b, &a, "ctrl-a")
    };
    let winner_id = winner.identity.clone();
    let held = try_acquire_or_renew(&s.cluster, loser, now).await.unwrap();
    assert!(
        matches!(&held, Held::HeldBy { holder, until } if *holder == winner_id && *until > now),
        "{loser_id}: {held:?}"
    );
    assert_eq!(
        try_acquire_or_renew(&s.cluster, winner, now + SignedDuration::from_secs(5)).await,
        Ok(Held::Renewed)
    );
    let stored = s
        .store()
        .get("Lease", "ktui-system", "ktui-controller")
        .unwrap();
    let spec = &stored["spec"];
    assert_eq!(spec["holderIdentity"], winner_id.as_str());
    assert_eq!(spec["leaseDurationSeconds"], 15);
    assert_eq!(spec["leaseTransitions"], 0);
    let renew = spec["renewTime"].as_str().unwrap();
    assert_eq!(renew.len(), "2024-05-01T12:00:03.123456Z".len(), "{renew}");
    assert!(
        renew.ends_with('Z') && renew.as_bytes()[19] == b'.',
        "{renew}"
    );
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_a_released_one_at_once() {
    let s = Setup::start(store()).await;
    let now = Timestamp::now();
    let (a, b) = (lease("ctrl-a"), lease("ctrl-b"));
    assert_eq!(
        try_acquire_or_renew(&s.cluster, &a, now).await,
        Ok(Held::Acquired)
    );
    // Within a's 15 s b waits; past them (a stopped renewing) b takes over.
    let soon = now + SignedDuration::from_secs(14);
    assert!(
        !try_acquire_or_renew(&s.cluster, &b, soon)
            .await
            .unwrap()
            .is_leader()
    );
    let later = now + SignedDuration::from_secs(16);
    assert_eq!(
        try_acquire_or_renew(&s.cluster, &b, later).await,
        Ok(Held::Acquired)
    );
    let spec = s
        .store()
        .get("Lease", "ktui-system", "ktui-controller")
        .unwrap()["spec"]
        .clone();
    assert_eq!(spec["holderIdentity"], "ctrl-b");
    assert_eq!(spec["leaseTransitions"], 1);
    // a comes back: b holds it now.
    assert!(matches!(
        try_acquire_or_renew(&s.cluster, &a, later).await.unwrap(),
        Held::HeldBy { holder, .. } if holder == "ctrl-b"
    ));
    // a's release does not touch b's Lease; b's hands it over, and a acquires at once.
    release(&s.cluster, &a).await.unwrap();
    assert_eq!(
        s.store()
            .get("Lease", "ktui-system", "ktui-controller")
            .unwrap()["spec"]["holderIdentity"],
        "ctrl-b"
    );
    release(&s.cluster, &b).await.unwrap();
    assert_eq!(
        try_acquire_or_renew(&s.cluster, &a, later).await,
        Ok(Held::Acquired)
    );
    let spec = s
        .store()
        .get("Lease", "ktui-system", "ktui-controller")
        .unwrap()["spec"]
        .clone();
    assert_eq!(spec["holderIdentity"], "ctrl-a");
    assert_eq!(spec["leaseTransitions"], 2);
}

#[tokio::test]
async fn guarded_writes_get_409_at_a_stale_resource_version() {
    let s = Setup::start(store()).await;
    s.store().apply(annotated_pod(
        "web-1",
        json!({"ktui.dev/clone": "true", "team": "shop"}),
    ));
    let pod = ObjectRef::pod(&PodKey::new("shop", "web-1"));
    let read = s.cluster.get_json(pod.clone()).await.unwrap();
    let rv = read["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    // Someone writes the pod meanwhile.
    s.store().apply(annotated_pod(
        "web-1",
        json!({"ktui.dev/clone": "true", "team": "shop", "x": "1"}),
    ));
    let stale = s
        .cluster
        .patch_merge(pod.clone(), remove_annotation_patch("ktui.dev/clone", &rv))
        .await;
    assert!(
        matches!(&stale, Err(ClusterError::Conflict { what }) if what == "Pod shop/web-1"),
        "{stale:?}"
    );
    let err = stale.unwrap_err().to_string();
    assert!(
        err.contains("409 Conflict") && err.contains("retry"),
        "{err}"
    );
    let fresh = s.cluster.get_json(pod.clone()).await.unwrap();
    let rv = fresh["metadata"]["resourceVersion"].as_str().unwrap();
    s.cluster
        .patch_merge(pod.clone(), remove_annotation_patch("ktui.dev/clone", rv))
        .await
        .unwrap();
    let after = s.cluster.get_json(pod.clone()).await.unwrap();
    assert_eq!(
        after["metadata"]["annotations"],
        json!({"team": "shop", "x": "1"})
    );
    assert_eq!(
        after["status"]["phase"], "Running",
        "a patch keeps the status"
    );
    let missing = s
        .cluster
        .patch_merge(
            ObjectRef::pod(&PodKey::new("shop", "gone")),
            json!({"metadata": {"annotations": {"a": null}}}),
        )
        .await;
    assert!(
        matches!(missing, Err(ClusterError::NotFound { .. })),
        "{missing:?}"
    );

    // Replace: at the version read, once; the second write at that version loses.
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "shop"}, "data": {"k": "1"}});
    assert!(s.cluster.create(cm.clone()).await.unwrap());
    let read = s
        .cluster
        .get_json(ObjectRef::new("v1", "ConfigMap", Some("shop"), "c"))
        .await
        .unwrap();
    cm["metadata"]["resourceVersion"] = read["metadata"]["resourceVersion"].clone();
    cm["data"]["k"] = "2".into();
    assert_eq!(s.cluster.replace(cm.clone()).await, Ok(true));
    cm["data"]["k"] = "3".into();
    assert_eq!(s.cluster.replace(cm).await, Ok(false));
    assert_eq!(
        s.store().get("ConfigMap", "shop", "c").unwrap()["data"]["k"],
        "2"
    );
}

#[tokio::test]
async fn a_finished_trigger_is_removed_reported_and_recorded() {
    let s = Setup::start(store()).await;
    s.store().apply(annotated_pod(
        "web-1",
        json!({"ktui.dev/capture": "30s", "ktui.dev/clone": "true", "team": "shop"}),
    ));
    let mut events = s.cluster.watch_pods(Scope::Namespace("shop".into()));
    let pod = watched(&mut events, "web-1 listed", |p| p.key.name == "web-1").await;
    assert_eq!(
        pod.annotations,
        vec![
            ("ktui.dev/capture".to_string(), "30s".to_string()),
            ("ktui.dev/clone".to_string(), "true".to_string()),
        ],
        "only ktui.dev/ annotations are kept"
    );
    assert!(!pod.resource_version.is_empty());
    let found: Vec<_> = triggers_of(&pod).into_iter().map(Result::unwrap).collect();
    assert_eq!(found[0].kind, TriggerKind::Capture(Duration::from_secs(30)));
    let capture = found[0].clone();

    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), None, &case_config()).unwrap();
    let outcome = Outcome {
        ok: true,
        message: "captured 30 s of packets: packets/web-1.pcap (412 packets)".into(),
    };
    let warnings = complete(&s.cluster, Some(&case), &capture, &outcome).await;
    assert!(warnings.is_empty(), "{warnings:?}");

    // The watch sees the annotation go; the other annotations stay.
    let after = watched(&mut events, "capture annotation removed", |p| {
        p.key.name == "web-1" && p.annotation(triggers::CAPTURE).is_none()
    })
    .await;
    assert_eq!(after.annotation(triggers::CLONE), Some("true"));
    let stored = s.store().get("Pod", "shop", "web-1").unwrap();
    assert_eq!(
        stored["metadata"]["annotations"],
        json!({"ktui.dev/clone": "true", "team": "shop"})
    );

    let posted = s
        .cluster
        .pod_events_json(PodKey::new("shop", "web-1"))
        .await
        .unwrap();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let e = &posted[0];
    assert_eq!(e["reason"], "KtuiCapture");
    assert_eq!(e["type"], "Normal");
    assert_eq!(e["message"], outcome.message.as_str());
    assert_eq!(e["involvedObject"]["uid"], stored["metadata"]["uid"]);
    assert_eq!(e["source"]["component"], "ktui");
    assert_eq!(e["reportingComponent"], "ktui");
    assert_eq!(e["count"], 1);
    assert!(
        e["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("web-1.ktui-")
    );

    let lines = custody(&case);
    let last = lines.last().unwrap();
    assert_eq!(last["action"], "trigger_capture");
    assert_eq!(last["target"], "shop/web-1");
    assert_eq!(last["result"], "ok");

    // A failed clone: a Warning Event, an error custody line, and the annotation still goes.
    let clone = found[1].clone();
    let failed = Outcome {
        ok: false,
        message: "clone failed: cannot create pods in namespace shop\x1b[2J; ask for create pods"
            .into(),
    };
    let warnings = complete(&s.cluster, Some(&case), &clone, &failed).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    let stored = s.store().get("Pod", "shop", "web-1").unwrap();
    assert_eq!(stored["metadata"]["annotations"], json!({"team": "shop"}));
    let posted = s
        .cluster
        .pod_events_json(PodKey::new("shop", "web-1"))
        .await
        .unwrap();
    let e = posted.iter().find(|e| e["reason"] == "KtuiClone").unwrap();
    assert_eq!(e["type"], "Warning");
    assert!(!e["message"].as_str().unwrap().contains('\x1b'));
    let last = custody(&case).pop().unwrap();
    assert_eq!(last["action"], "trigger_clone");
    assert_eq!(last["result"], "error");
    assert!(last["error"].as_str().unwrap().starts_with("clone failed"));
}

#[tokio::test]
async fn a_trigger_set_again_meanwhile_is_left_for_the_new_request() {
    let s = Setup::start(store()).await;
    s.store()
        .apply(annotated_pod("web-1", json!({"ktui.dev/capture": "30"})));
    let pod = ktui::cluster::first_list(&s.cluster, Scope::Namespace("shop".into()))
        .await
        .unwrap()
        .remove(0);
    let t = triggers_of(&pod).remove(0).unwrap();
    // Someone asks again, for longer, while the first capture runs.
    s.store()
        .apply(annotated_pod("web-1", json!({"ktui.dev/capture": "120"})));
    let outcome = Outcome {
        ok: true,
        message: "captured 30 s".into(),
    };
    let warnings = complete(&s.cluster, None, &t, &outcome).await;
    assert!(warnings.is_empty(), "{warnings:?}");
    let stored = s.store().get("Pod", "shop", "web-1").unwrap();
    assert_eq!(stored["metadata"]["annotations"]["ktui.dev/capture"], "120");
    let posted = s
        .cluster
        .pod_events_json(PodKey::new("shop", "web-1"))
        .await
        .unwrap();
    assert!(
        posted[0]["message"]
            .as_str()
            .unwrap()
            .contains("left in place"),
        "{posted:#?}"
    );

    // Without the right to patch pods the result is still reported, with a warning.
    s.store().forbid("patch", "pods", None);
    s.store()
        .apply(annotated_pod("web-1", json!({"ktui.dev/capture": "30"})));
    let warnings = complete(&s.cluster, None, &t, &outcome).await;
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("cannot remove annotation ktui.dev/capture from pod shop/web-1")
            && warnings[0].contains("kubectl annotate pod -n shop web-1 ktui.dev/capture-"),
        "{}",
        warnings[0]
    );
    assert_eq!(
        s.store().get("Pod", "shop", "web-1").unwrap()["metadata"]["annotations"]["ktui.dev/capture"],
        "30"
    );
    assert_eq!(
        s.cluster
            .pod_events_json(PodKey::new("shop", "web-1"))
            .await
            .unwrap()
            .len(),
        2
    );
}
