//! Classification against the fixtures in tests/fixtures/k8s (truth written from kubectl's own output) and
//! against hand-made pods for every rule.

use serde_json::{Value, json};

use super::*;
use crate::cluster::kube::files::Inputs;

fn fixtures() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s")
}

fn read(name: &str) -> String {
    let path = fixtures().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn summaries(files: &[&str]) -> Vec<PodSummary> {
    let mut inputs = Inputs::default();
    for f in files {
        inputs.add_text(f, &read(f)).unwrap();
    }
    inputs.summaries()
}

/// Compare crash records of one pod with a truth entry of the fixtures.
fn check_truth(pod: &PodSummary, truth: &Value) {
    let records = classify(pod);
    let crashed: Vec<&CrashRecord> = records
        .iter()
        .filter(|r| r.category == Category::Crashed)
        .collect();
    let expected = truth["crashed_containers"].as_array().unwrap();
    assert_eq!(crashed.len(), expected.len(), "{}: {records:#?}", pod.key);
    for (got, want) in crashed.iter().zip(expected) {
        assert_eq!(
            got.container.as_deref(),
            want["name"].as_str(),
            "{}",
            pod.key
        );
        assert_eq!(
            got.role.map(ContainerRole::is_init),
            want["init"].as_bool(),
            "{}",
            pod.key
        );
        assert_eq!(
            got.reason.as_deref(),
            want["reason"].as_str(),
            "{}",
            pod.key
        );
        assert_eq!(
            got.exit_code.map(i64::from),
            want["exit_code"].as_i64(),
            "{}",
            pod.key
        );
        assert_eq!(
            got.restarts.map(i64::from),
            want["restart_count"].as_i64(),
            "{}",
            pod.key
        );
    }
    let not_started: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r.category == Category::NotStarted)
        .map(|r| {
            (
                r.container.as_deref().unwrap_or(""),
                r.reason.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let want_not_started: Vec<(&str, &str)> = truth["not_crashed_failing"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| (f["name"].as_str().unwrap(), f["reason"].as_str().unwrap()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(not_started, want_not_started, "{}", pod.key);
    assert_eq!(pod.phase, truth["phase"].as_str().unwrap());
    assert_eq!(pod.reason.as_deref(), truth["pod_reason"].as_str());
    let owner = &truth["owner"];
    assert_eq!(
        pod.owner
            .as_ref()
            .map(|o| (o.kind.as_str(), o.name.as_str())),
        owner["kind"].as_str().zip(owner["name"].as_str())
    );
    if let Some(w) = truth.get("workload") {
        assert_eq!(
            pod.workload.kind,
            w["kind"].as_str().unwrap(),
            "{}",
            pod.key
        );
        assert_eq!(
            pod.workload.name,
            w["name"].as_str().unwrap(),
            "{}",
            pod.key
        );
    }
    // Evicted pods (OutOfcpu, Preempting in the kdash dump) are one evicted record.
    if pod.phase == "Failed" && pod.reason.is_some() {
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].category, Category::Evicted);
        assert_eq!(records[0].reason, pod.reason);
    }
}

#[test]
fn every_fixture_pod_matches_its_truth_file() {
    for name in [
        "pod-crash",
        "pod-oom",
        "pod-pull",
        "pod-done",
        "pod-side",
        "pod-init",
    ] {
        let pods = summaries(&[&format!("{name}.json")]);
        let truth: Value = serde_json::from_str(&read(&format!("{name}.truth.json"))).unwrap();
        assert_eq!(pods.len(), 1);
        check_truth(&pods[0], &truth);
    }
}

#[test]
fn podlist_matches_truth_with_and_without_replicasets() {
    let truth: Value = serde_json::from_str(&read("truth.json")).unwrap();
    for files in [
        vec!["podlist.json"],
        vec!["podlist.json", "replicasets.json"],
    ] {
        let pods = summaries(&files);
        let truth = truth.as_array().unwrap();
        assert_eq!(pods.len(), truth.len());
        for t in truth {
            let pod = pods
                .iter()
                .find(|p| p.key.name == t["pod"].as_str().unwrap())
                .unwrap();
            check_truth(pod, t);
        }
    }
}

#[test]
fn kdash_real_cluster_dump_matches_truth() {
    let truth: Value = serde_json::from_str(&read("external/kdash/truth.json")).unwrap();
    let pods = summaries(&["external/kdash/pods.json"]);
    // The dump lists frontend-5c4745dfdb-6k8wf twice (same UID and resourceVersion, the
    // second copy without status.reason): it is one pod, as read first.
    assert_eq!(pods.len(), truth.as_array().unwrap().len());
    for t in truth.as_array().unwrap() {
        let pod = pods
            .iter()
            .find(|p| p.key.name == t["pod"].as_str().unwrap())
            .unwrap_or_else(|| panic!("{} missing", t["pod"]));
        check_truth(pod, t);
    }
}

#[test]
fn replicasets_in_the_input_make_owners_exact() {
    // replicasets.json links api-6b7c8d9e4f to Deployment api: same answer as the convention,
    // but through the object. A ReplicaSet without owner would stay a ReplicaSet.
    let pods = summaries(&["podlist.json", "replicasets.json"]);
    let api = pods
        .iter()
        .find(|p| p.key.name.starts_with("api-"))
        .unwrap();
    assert_eq!(api.workload.to_string(), "Deployment/api");
}

// ---- hand-made pods for each rule -------------------------------------------------------

fn pod(
    ns: &str,
    name: &str,
    owner: Option<(&str, &str)>,
    phase: &str,
    status: Value,
) -> PodSummary {
    let mut meta = json!({"name": name, "namespace": ns, "uid": format!("uid-{name}")});
    if let Some((kind, oname)) = owner {
        meta["ownerReferences"] =
            json!([{"apiVersion":"v1","kind":kind,"name":oname,"uid":"x","controller":true}]);
    }
    let containers: Vec<Value> = status["containerStatuses"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| json!({"name": c["name"], "image": "img"}))
                .collect()
        })
        .unwrap_or_default();
    let init: Vec<Value> = status["initContainerStatuses"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    let mut spec = json!({"name": c["name"], "image": "img"});
                    if c["name"].as_str().is_some_and(|n| n.starts_with("sidecar")) {
                        spec["restartPolicy"] = json!("Always");
                    }
                    spec
                })
                .collect()
        })
        .unwrap_or_default();
    let mut status = status;
    status["phase"] = json!(phase);
    let obj = json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": meta,
        "spec": {"nodeName": "n1", "containers": containers, "initContainers": init},
        "status": status,
    });
    let mut inputs = Inputs::default();
    inputs.add_text("test", &obj.to_string()).unwrap();
    inputs.summaries().remove(0)
}

fn cs(name: &str, restarts: u32, state: Value, last: Value) -> Value {
    json!({"name": name, "image": "img", "imageID": "", "ready": false,
           "restartCount": restarts, "state": state, "lastState": last})
}

fn term(code: i32, reason: &str) -> Value {
    json!({"terminated": {"exitCode": code, "reason": reason,
           "finishedAt": "2026-11-20T09:00:00Z", "startedAt": "2026-11-20T08:59:00Z"}})
}

fn waiting(reason: &str) -> Value {
    json!({"waiting": {"reason": reason}})
}

#[test]
fn evicted_pod_is_one_record_without_container_facts() {
    let p = pod(
        "ns",
        "evicted-x",
        Some(("ReplicaSet", "web-5d4f")),
        "Failed",
        json!({"reason": "Evicted", "message": "low on memory",
               "containerStatuses": [cs("web", 0, term(137, "ContainerStatusUnknown"), json!({}))]}),
    );
    let r = classify(&p);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].category, Category::Evicted);
    assert_eq!(r[0].reason.as_deref(), Some("Evicted"));
    assert_eq!(
        (r[0].container.as_deref(), r[0].exit_code, r[0].restarts),
        (None, None, None)
    );
    assert_eq!(r[0].signature, signature("ns", &p.workload, None, None));
}

#[test]
fn evicted_pod_without_container_times_takes_its_newest_condition_time() {
    let p = pod(
        "ns",
        "evicted-y",
        None,
        "Failed",
        json!({"reason": "Evicted",
        "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "2026-11-20T10:00:00Z"},
            {"type": "DisruptionTarget", "status": "True", "lastTransitionTime": "2026-11-20T10:05:00Z"}
        ]}),
    );
    let r = classify(&p);
    assert_eq!(
        r[0].finished_at,
        Some("2026-11-20T10:05:00Z".parse().unwrap())
    );
}

#[test]
fn preempted_and_shutdown_pods_are_evicted() {
    for reason in [
        "Preempting",
        "Shutdown",
        "OutOfmemory",
        "NodeLost",
        "DeadlineExceeded",
    ] {
        let p = pod("ns", "p", None, "Failed", json!({"reason": reason}));
        let r = classify(&p);
        assert_eq!(r.len(), 1, "{reason}");
        assert_eq!(r[0].category, Category::Evicted, "{reason}");
    }
}

#[test]
fn exit_zero_in_back_off_is_a_crash() {
    let p = pod(
        "ns",
        "loop",
        Some(("ReplicaSet", "loop-7f8d")),
        "Running",
        json!({"containerStatuses": [cs("main", 7, waiting("CrashLoopBackOff"), term(0, "Completed"))]}),
    );
    let r = classify(&p);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].category, Category::Crashed);
    assert_eq!(r[0].exit_code, Some(0));
    assert_eq!(r[0].reason.as_deref(), Some("Completed"));
}

#[test]
fn completed_container_is_not_a_crash() {
    let p = pod(
        "ns",
        "done",
        Some(("Job", "once")),
        "Succeeded",
        json!({"containerStatuses": [cs("main", 0, term(0, "Completed"), json!({}))]}),
    );
    assert!(classify(&p).is_empty());
}

#[test]
fn container_cannot_run_is_not_started() {
    let p = pod(
        "ns",
        "bad-cmd",
        None,
        "Failed",
        json!({"containerStatuses": [cs("main", 0, term(128, "ContainerCannotRun"), json!({}))]}),
    );
    let r = classify(&p);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].category, Category::NotStarted);
    assert_eq!(r[0].exit_code, Some(128));
    assert_eq!(r[0].signal, None);
}

#[test]
fn waiting_reasons_that_never_ran_are_not_started() {
    for reason in [
        "ImagePullBackOff",
        "ErrImagePull",
        "CreateContainerConfigError",
        "InvalidImageName",
    ] {
        let p = pod(
            "ns",
            "x",
            None,
            "Pending",
            json!({"containerStatuses": [cs("main", 0, waiting(reason), json!({}))]}),
        );
        let r = classify(&p);
        assert_eq!(r.len(), 1, "{reason}");
        assert_eq!(r[0].category, Category::NotStarted, "{reason}");
        assert_eq!(r[0].reason.as_deref(), Some(reason));
        assert_eq!(r[0].exit_code, None);
    }
    let initializing = pod(
        "ns",
        "y",
        None,
        "Pending",
        json!({"containerStatuses": [cs("main", 0, waiting("PodInitializing"), json!({}))]}),
    );
    assert!(classify(&initializing).is_empty());
}

#[test]
fn native_sidecar_crash_is_an_init_crash() {
    let p = pod(
        "ns",
        "with-sidecar",
        Some(("ReplicaSet", "app-6c7d")),
        "Running",
        json!({
            "initContainerStatuses": [cs("sidecar-proxy", 4, json!({"running": {}}), term(1, "Error"))],
            "containerStatuses": [cs("app", 0, json!({"running": {}}), json!({}))],
        }),
    );
    let r = classify(&p);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].role, Some(ContainerRole::Sidecar));
    assert_eq!(r[0].display_reason(), "Init:Error");
}

#[test]
fn failed_job_pod_crashes_and_names_its_cronjob() {
    let p = pod(
        "ns",
        "backup-29005555-abcde",
        Some(("Job", "backup-29005555")),
        "Failed",
        json!({"containerStatuses": [cs("backup", 0, term(3, "Error"), json!({}))]}),
    );
    let r = classify(&p);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].category, Category::Crashed);
    assert_eq!(r[0].exit_code, Some(3));
    assert_eq!(r[0].workload.to_string(), "CronJob/backup");
}

#[test]
fn bare_pod_is_its_own_workload() {
    let p = pod(
        "ns",
        "bare",
        None,
        "Running",
        json!({"containerStatuses": [cs("c", 1, json!({"running": {}}), term(2, "Error"))]}),
    );
    assert_eq!(p.workload.to_string(), "Pod/bare");
}

#[test]
fn signal_from_exit_code_and_current_state_wins() {
    let p = pod(
        "ns",
        "segv",
        None,
        "Running",
        json!({"containerStatuses": [cs("c", 2, term(139, "Error"), term(1, "Error"))]}),
    );
    let r = classify(&p);
    assert_eq!((r[0].exit_code, r[0].signal), (Some(139), Some(11)));
    assert_eq!(signal_of(128), None);
    assert_eq!(signal_of(137), Some(9));
}

#[test]
fn signal_only_for_exit_codes_of_signals_1_to_64() {
    // 128 + n for signals 1..=64 (Linux has 64); 255 is the "Unknown" a runtime restart leaves,
    // and anything else above 192 is a plain exit code, not a signal.
    assert_eq!(signal_of(129), Some(1));
    assert_eq!(signal_of(192), Some(64));
    assert_eq!(signal_of(193), None);
    assert_eq!(signal_of(255), None);
    assert_eq!(signal_of(-1), None);
    let p = pod(
        "ns",
        "restarted",
        None,
        "Running",
        json!({"containerStatuses": [cs("c", 1, json!({"running": {}}), term(255, "Unknown"))]}),
    );
    let r = classify(&p);
    assert_eq!((r[0].exit_code, r[0].signal), (Some(255), None));
}

#[test]
fn signature_is_the_pinned_sha256() {
    // printf 'default\nDeployment/api\napi\n1' | sha256sum
    let w = Workload {
        kind: "Deployment".into(),
        name: "api".into(),
    };
    assert_eq!(
        signature("default", &w, Some("api"), Some(1)),
        "90d12ad285babec05ca237b94f7f83f543b5295d5bce5b586464fd6a9957b809"
    );
    // printf 'ns\nPod/p\n\n' | sha256sum
    let bare = Workload {
        kind: "Pod".into(),
        name: "p".into(),
    };
    assert_eq!(
        signature("ns", &bare, None, None),
        "f5bfe9e14dafd6ca1c6d9036d233b3bde658ff94380aaa2741bdb2e0bbbb6f3b"
    );
}

#[test]
fn sort_is_newest_first_nulls_last() {
    let mut records: Vec<CrashRecord> = summaries(&["podlist.json"])
        .iter()
        .flat_map(classify)
        .collect();
    records.push(CrashRecord {
        finished_at: None,
        ..records[0].clone()
    });
    sort_newest_first(&mut records);
    let times: Vec<_> = records.iter().map(|r| r.finished_at).collect();
    assert!(times.last().unwrap().is_none());
    assert!(times.windows(2).all(|w| w[1].is_none() || w[0] >= w[1]));
}
