//! The clone spec builder on every pod of the repository's Kubernetes fixtures (generated
//! crash cases, the pod list, and a real cluster's dump from kdash): whatever the source, the
//! clone has exactly the two ktui labels, no owner, probes, hooks or token, sleeps with the
//! toolkit in every container, runs images pinned to the digests they ran, has a valid name,
//! and its NetworkPolicy selects the clone and no fixture pod of the namespace, while no
//! selector made from a source pod's labels (as its Service and ReplicaSet have) selects it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::Path;

use jiff::Timestamp;
use ktui::clone::select::{self, Labels};
use ktui::clone::spec::{self, is_dns_label, is_label_value};
use ktui::clone::{
    CapturedLog, CloneOptions, CloneSource, DEFAULT_DEDUP_WINDOW, LABEL_FORENSIC, LABEL_SOURCE_POD,
    SnapshotChoice, Stamp, toolkit,
};
use serde_json::{Value, json};

fn fixtures() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s");
    let read = |p: &Path| -> Value { serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap() };
    let mut pods = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("pod-") && !name.contains(".truth") && name.ends_with(".json") {
            pods.push((name, read(&path)));
        }
    }
    for list in ["podlist.json", "external/kdash/pods.json"] {
        for (i, item) in read(&dir.join(list))["items"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            let mut item = item.clone();
            item["kind"] = "Pod".into();
            pods.push((format!("{list}[{i}]"), item));
        }
    }
    pods.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(pods.len() >= 25, "{} fixture pods", pods.len());
    pods
}

fn labels_of(v: &Value) -> Labels {
    v.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

fn names(v: &Value, pointer: &str) -> Vec<String> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn options() -> CloneOptions {
    CloneOptions {
        forensic_namespace: None,
        same_node: false,
        dedup_window: DEFAULT_DEDUP_WINDOW,
        snapshot_class: None,
        toolkit_image: "localhost/ktui-helper:0.1.0".into(),
    }
}

#[test]
fn every_fixture_pod_clones_isolated_and_token_less() {
    let pods = fixtures();
    let mut checked = 0;
    for (file, pod) in &pods {
        let ns = pod["metadata"]["namespace"].as_str().unwrap();
        let source_name = pod["metadata"]["name"].as_str().unwrap();
        let source_labels = labels_of(pod);
        for container in names(pod, "/spec/containers") {
            let log = b"panic: boom\n".to_vec();
            let source = CloneSource {
                pod: pod.clone(),
                signature: format!("{:064x}", checked + 1),
                container: container.clone(),
                log: Some(CapturedLog {
                    container: container.clone(),
                    sha256: ktui::case::custody::sha256_hex(&log),
                    bytes: log,
                    captured_at: Timestamp::UNIX_EPOCH,
                    case_path: None,
                }),
            };
            let stamp = Stamp {
                created_by: Some("tester".into()),
                created_at: Timestamp::from_second(1_795_168_800).unwrap(),
            };
            let plan = spec::build(
                &source,
                &options(),
                &stamp,
                Some(&SnapshotChoice { class: None }),
            )
            .unwrap_or_else(|e| panic!("{file} {container}: {e}"));
            let at = format!("{file} ({container})");
            let p = &plan.pod;
            // Name and labels.
            assert!(is_dns_label(&plan.name), "{at}: {}", plan.name);
            let clone_labels = labels_of(p);
            assert_eq!(
                clone_labels.keys().map(String::as_str).collect::<Vec<_>>(),
                [LABEL_FORENSIC, LABEL_SOURCE_POD],
                "{at}"
            );
            assert_eq!(clone_labels[LABEL_FORENSIC], "true");
            assert!(is_label_value(&clone_labels[LABEL_SOURCE_POD]), "{at}");
            for k in source_labels.keys() {
                assert!(
                    !clone_labels.contains_key(k),
                    "{at}: source label {k} leaked"
                );
            }
            assert_eq!(
                p["metadata"]["annotations"]["ktui.dev/source-pod"],
                source_name
            );
            // Owners, node, token.
            for gone in [
                "ownerReferences",
                "uid",
                "resourceVersion",
                "generateName",
                "managedFields",
                "creationTimestamp",
            ] {
                assert!(p["metadata"].get(gone).is_none(), "{at}: metadata.{gone}");
            }
            let spec = &p["spec"];
            assert!(spec.get("nodeName").is_none(), "{at}");
            assert_eq!(spec["restartPolicy"], "Never", "{at}");
            // Placement: no eviction toleration, nothing tying it to the source's node or
            // replicas, no priority to preempt with.
            for t in spec["tolerations"].as_array().into_iter().flatten() {
                let key = t["key"].as_str().unwrap_or_default();
                assert!(
                    !(key.starts_with("node.kubernetes.io/") && t["effect"] == "NoExecute"),
                    "{at}: eviction toleration {t}"
                );
            }
            for gone in ["priorityClassName", "priority", "topologySpreadConstraints"] {
                assert!(spec.get(gone).is_none(), "{at}: {gone}");
            }
            let affinity = spec.get("affinity").cloned().unwrap_or_default();
            assert!(affinity.get("podAntiAffinity").is_none(), "{at}");
            assert!(!affinity.to_string().contains("metadata.name"), "{at}");
            assert_eq!(spec["automountServiceAccountToken"], false, "{at}");
            for v in spec["volumes"].as_array().unwrap() {
                let token = v
                    .pointer("/projected/sources")
                    .and_then(Value::as_array)
                    .is_some_and(|s| s.iter().any(|s| s.get("serviceAccountToken").is_some()));
                assert!(!token, "{at}: token volume {v}");
                assert!(
                    v.get("persistentVolumeClaim").is_none(),
                    "{at}: live claim {v}"
                );
            }
            let volumes = names(spec, "/volumes");
            // Init: the toolkit only. Containers: each sleeping with it, nothing else run.
            assert_eq!(names(spec, "/initContainers"), [toolkit::CONTAINER], "{at}");
            assert!(names(spec, "/containers").contains(&container), "{at}");
            let statuses: BTreeMap<String, String> = pod
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| {
                    Some((
                        s["name"].as_str()?.to_string(),
                        s["imageID"].as_str()?.to_string(),
                    ))
                })
                .collect();
            for c in spec["containers"].as_array().unwrap() {
                let name = c["name"].as_str().unwrap();
                assert_eq!(c["command"], toolkit::sleep_command(), "{at}: {name}");
                for gone in [
                    "args",
                    "livenessProbe",
                    "readinessProbe",
                    "startupProbe",
                    "lifecycle",
                ] {
                    assert!(c.get(gone).is_none(), "{at}: {name}.{gone}");
                }
                assert!(
                    c["volumeMounts"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|m| m["mountPath"] == toolkit::DIR),
                    "{at}: {name} has no toolkit"
                );
                for m in c["volumeMounts"].as_array().unwrap() {
                    assert!(
                        volumes.contains(&m["name"].as_str().unwrap().to_string()),
                        "{at}: mount {m} without volume"
                    );
                    assert!(
                        !m["mountPath"].as_str().unwrap().contains("serviceaccount"),
                        "{at}: {m}"
                    );
                }
                if let Some(id) = statuses.get(name).filter(|id| id.contains("@sha256:")) {
                    let digest = id.rsplit_once("@sha256:").unwrap().1;
                    assert!(
                        c["image"]
                            .as_str()
                            .unwrap()
                            .ends_with(&format!("@sha256:{digest}")),
                        "{at}: {name} not pinned to {id}"
                    );
                }
            }
            // Isolation: the deny-all selects the clone and no fixture pod of the namespace;
            // nothing built from a source's labels selects the clone.
            let np = &plan.network_policy;
            assert!(select::selects(np, &clone_labels), "{at}");
            assert!(np["spec"].get("ingress").is_none() && np["spec"].get("egress").is_none());
            for (other_file, other) in pods
                .iter()
                .filter(|(_, o)| o["metadata"]["namespace"] == ns)
            {
                assert!(
                    !select::selects(np, &labels_of(other)),
                    "{at}: the policy selects {other_file}"
                );
                let own = labels_of(other);
                let as_workloads = [
                    json!({"kind": "Service", "metadata": {"name": "svc"}, "spec": {"selector": own}}),
                    json!({"kind": "ReplicaSet", "metadata": {"name": "rs"}, "spec": {"selector": {"matchLabels": own}}}),
                    json!({"kind": "NetworkPolicy", "metadata": {"name": "np"}, "spec": {"podSelector": {"matchLabels": own}, "ingress": [{}]}}),
                ];
                // An unlabelled pod's matchLabels {} would select everything: no real
                // workload selects with no term, so those are left out.
                if !own.is_empty() {
                    assert_eq!(
                        select::still_selecting(&clone_labels, &as_workloads),
                        Vec::<String>::new(),
                        "{at} vs {other_file}"
                    );
                }
            }
            // The log ConfigMap holds the log and its hash.
            let cm = &plan.log_config_map;
            assert_eq!(
                cm["data"][format!("{container}.previous.log")],
                "panic: boom\n",
                "{at}"
            );
            assert_eq!(
                cm["metadata"]["annotations"]["ktui.dev/log-sha256"],
                p["metadata"]["annotations"]["ktui.dev/log-sha256"]
            );
            // A snapshot per claim.
            let claims: Vec<&str> = pod
                .pointer("/spec/volumes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| {
                    v.pointer("/persistentVolumeClaim/claimName")
                        .and_then(Value::as_str)
                })
                .collect();
            assert_eq!(plan.snapshots.len(), claims.len(), "{at}");
            checked += 1;
        }
    }
    assert!(checked >= 27, "{checked} containers cloned");
}

/// A source label leaking into the clone fails the check above: the check itself is tested.
#[test]
fn a_leaked_label_would_be_caught() {
    let clone = labels_of(&json!({"metadata": {"labels": {LABEL_FORENSIC: "true", "app": "web"}}}));
    let svc = json!({"kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}}});
    assert_eq!(select::still_selecting(&clone, &[svc]).len(), 1);
}
