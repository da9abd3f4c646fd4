//! The builder on hand-made pods: each rule of the clone once. tests/clone_spec.rs runs it on
//! every pod of the repository's fixtures.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::*;
use crate::clone::{CapturedLog, DEFAULT_DEDUP_WINDOW, toolkit};

const SIG: &str = "5e2f9a7c0b1d4e3f8a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f";

fn options() -> CloneOptions {
    CloneOptions {
        forensic_namespace: None,
        same_node: false,
        dedup_window: DEFAULT_DEDUP_WINDOW,
        snapshot_class: None,
        toolkit_image: "registry.example.test/ktui-helper:0.1.0".into(),
    }
}

fn stamp() -> Stamp {
    Stamp {
        created_by: Some("alice@example.test".into()),
        created_at: Timestamp::from_second(1_795_168_800).unwrap(),
    }
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "web-7d8e9f0a1b-klmno", "namespace": "shop", "uid": "uid-1",
            "labels": {"app": "web", "pod-template-hash": "7d8e9f0a1b"},
            "annotations": {
                "prometheus.io/scrape": "true",
                "container.apparmor.security.beta.kubernetes.io/web": "runtime/default",
                "sidecar.istio.io/status": "{\"initContainers\":[\"istio-init\"],\"containers\":[\"istio-proxy\"]}"
            },
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d8e9f0a1b", "uid": "rs", "controller": true}],
            "resourceVersion": "42", "creationTimestamp": "2026-11-20T09:00:00Z",
            "managedFields": [{"manager": "kube-controller-manager"}]
        },
        "spec": {
            "nodeName": "node-1", "serviceAccountName": "web", "priority": 0,
            "hostNetwork": true, "hostname": "web", "subdomain": "web-headless",
            "initContainers": [
                {"name": "istio-init", "image": "istio/proxyv2:1.22"},
                {"name": "migrate", "image": "web:1", "command": ["migrate"]}
            ],
            "containers": [
                {"name": "web", "image": "registry.example.test/web:1.2", "command": ["/web"], "args": ["--port=8080"],
                 "ports": [{"containerPort": 8080, "hostPort": 80}],
                 "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}},
                         {"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": "web-env", "key": "mode"}}}],
                 "envFrom": [{"secretRef": {"name": "web-secrets"}}],
                 "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
                 "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
                 "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
                 "resources": {"limits": {"memory": "256Mi"}},
                 "securityContext": {"runAsNonRoot": true, "runAsUser": 1000},
                 "volumeMounts": [
                     {"name": "data", "mountPath": "/data"},
                     {"name": "config", "mountPath": "/etc/web"},
                     {"name": "tls", "mountPath": "/etc/tls"},
                     {"name": "kube-api-access-abcde", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                 ]},
                {"name": "istio-proxy", "image": "istio/proxyv2:1.22"}
            ],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "web-data"}},
                {"name": "config", "configMap": {"name": "web-config"}},
                {"name": "tls", "secret": {"secretName": "web-tls"}},
                {"name": "kube-api-access-abcde", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
                ]}}
            ],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}
            ]
        },
        "status": {"containerStatuses": [
            {"name": "web", "imageID": "docker-pullable://registry.example.test/web@sha256:7800ce99ef221e86f9bf0a2d3a36e066dbad4bd32b9d1980edd129d0982e1b9a"},
            {"name": "istio-proxy", "imageID": "sha256:0123"}
        ]}
    })
}

fn source(log: Option<&[u8]>) -> CloneSource {
    CloneSource {
        pod: pod(),
        signature: SIG.into(),
        container: "web".into(),
        log: log.map(|b| CapturedLog {
            container: "web".into(),
            bytes: b.to_vec(),
            sha256: crate::case::custody::sha256_hex(b),
            captured_at: stamp().created_at,
            case_path: None,
        }),
    }
}

fn built(log: Option<&[u8]>, options: &CloneOptions, snap: Option<&SnapshotChoice>) -> ClonePlan {
    build(&source(log), options, &stamp(), snap).unwrap()
}

#[test]
fn the_clone_is_isolated_labelled_and_token_less() {
    let plan = built(Some(b"boom\n"), &options(), None);
    let p = &plan.pod;
    assert_eq!(plan.name, "web-7d8e9f0a1b-klmno-forensic-5e2f9a7c");
    assert_eq!(
        p["metadata"]["labels"],
        json!({"ktui.dev/forensic": "true", "ktui.dev/source-pod": "web-7d8e9f0a1b-klmno"})
    );
    let ann = &p["metadata"]["annotations"];
    assert_eq!(ann["ktui.dev/signature"], SIG);
    assert_eq!(ann["ktui.dev/source-uid"], "uid-1");
    assert_eq!(ann["ktui.dev/created-by"], "alice@example.test");
    assert_eq!(ann["ktui.dev/created-at"], "2026-11-20T10:00:00Z");
    assert_eq!(
        ann["ktui.dev/log-sha256"],
        crate::case::custody::sha256_hex(b"boom\n")
    );
    assert_eq!(ann["sidecar.istio.io/inject"], "false");
    assert_eq!(ann["linkerd.io/inject"], "disabled");
    assert_eq!(
        ann["container.apparmor.security.beta.kubernetes.io/web"],
        "runtime/default"
    );
    assert!(ann.get("prometheus.io/scrape").is_none());
    assert!(p["metadata"].get("ownerReferences").is_none());
    let spec = &p["spec"];
    for gone in [
        "nodeName",
        "hostNetwork",
        "hostname",
        "subdomain",
        "priority",
    ] {
        assert!(spec.get(gone).is_none(), "{gone}");
    }
    assert_eq!(spec["restartPolicy"], "Never");
    assert_eq!(spec["automountServiceAccountToken"], false);
    assert!(
        spec.get("serviceAccountName").is_none(),
        "the default account, no webhook token"
    );
    assert_eq!(
        spec["tolerations"],
        json!([{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}])
    );
    // Containers: the mesh's gone, the rest sleeping with the toolkit, images pinned.
    let names: Vec<&str> = spec["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web"]);
    let web = &spec["containers"][0];
    assert_eq!(web["command"], toolkit::sleep_command());
    assert!(web.get("args").is_none());
    for gone in ["livenessProbe", "readinessProbe", "lifecycle"] {
        assert!(web.get(gone).is_none(), "{gone}");
    }
    assert_eq!(
        web["image"],
        "registry.example.test/web@sha256:7800ce99ef221e86f9bf0a2d3a36e066dbad4bd32b9d1980edd129d0982e1b9a"
    );
    assert_eq!(web["ports"], json!([{"containerPort": 8080}]));
    assert_eq!(web["securityContext"]["runAsUser"], 1000);
    assert_eq!(
        web["env"].as_array().unwrap().len(),
        2,
        "same namespace: Secrets kept"
    );
    let mounts: Vec<&str> = web["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(mounts, ["data", "config", "tls", toolkit::VOLUME]);
    let init: Vec<&str> = spec["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(init, [toolkit::CONTAINER]);
    // Volumes: the claim an emptyDir, the token volume gone, the toolkit's added.
    let volumes = spec["volumes"].as_array().unwrap();
    assert_eq!(volumes[0], json!({"name": "data", "emptyDir": {}}));
    assert!(!volumes.iter().any(|v| v["name"] == "kube-api-access-abcde"));
    assert!(volumes.iter().any(|v| v["name"] == toolkit::VOLUME));
    // Every removal is said.
    let notes = plan.notes.join("\n");
    for said in [
        "hostNetwork removed",
        "init container migrate removed",
        "container istio-proxy removed",
        "init container istio-init removed",
        "claim web-data not mounted",
        "2 eviction toleration(s)",
        "hostPort removed",
        "no VolumeSnapshot of web-data",
        "1 ownerReference(s) removed",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
}

#[test]
fn the_network_policy_and_log_config_map() {
    let plan = built(Some(b"line 1\nline 2\n"), &options(), None);
    let np = &plan.network_policy;
    assert_eq!(np["metadata"]["name"], format!("{}-isolate", plan.name));
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"],
        plan.pod["metadata"]["labels"]
    );
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert!(np["spec"].get("ingress").is_none() && np["spec"].get("egress").is_none());
    let cm = &plan.log_config_map;
    assert_eq!(cm["metadata"]["name"], format!("{}-logs", plan.name));
    assert_eq!(cm["data"]["web.previous.log"], "line 1\nline 2\n");
    assert_eq!(
        cm["metadata"]["annotations"]["ktui.dev/log-sha256"],
        plan.pod["metadata"]["annotations"]["ktui.dev/log-sha256"]
    );
    assert_eq!(
        cm["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "ktui"
    );
    assert_eq!(plan.objects().len(), 3);
    assert_eq!(plan.objects()[0], np);
    assert_eq!(plan.objects()[2], &plan.pod);
}

#[test]
fn a_long_or_binary_log_and_no_log() {
    let long: Vec<u8> = (0..200_000)
        .flat_map(|i| format!("line {i}\n").into_bytes())
        .collect();
    let plan = built(Some(&long), &options(), None);
    let cm = &plan.log_config_map;
    let kept = cm["data"]["web.previous.log"].as_str().unwrap();
    assert!(
        kept.len() <= evidence::LOG_ROOM && long.ends_with(kept.as_bytes()),
        "the tail"
    );
    assert!(kept.starts_with("line "), "from a line start");
    assert_eq!(
        cm["metadata"]["annotations"]["ktui.dev/log-truncated"],
        "true"
    );
    assert_eq!(
        cm["metadata"]["annotations"]["ktui.dev/log-size"],
        long.len().to_string()
    );
    assert_eq!(
        plan.pod["metadata"]["annotations"]["ktui.dev/log-sha256"],
        crate::case::custody::sha256_hex(&long),
        "the hash is the whole log's"
    );

    let plan = built(Some(&[0xff, 0xfe, b'\n']), &options(), None);
    assert_eq!(
        plan.log_config_map["binaryData"]["web.previous.log"],
        "//4K"
    );
    assert!(plan.log_config_map.get("data").is_none());

    let plan = built(None, &options(), None);
    assert!(
        plan.log_config_map["data"]["README"]
            .as_str()
            .unwrap()
            .contains("No previous log")
    );
    assert!(
        plan.pod["metadata"]["annotations"]
            .get("ktui.dev/log-sha256")
            .is_none()
    );
}

#[test]
fn snapshots_same_node_and_a_forensic_namespace() {
    let mut o = options();
    o.same_node = true;
    let class = SnapshotChoice {
        class: Some("csi-snap".into()),
    };
    let plan = built(None, &o, Some(&class));
    assert_eq!(plan.pod["spec"]["nodeName"], "node-1");
    assert_eq!(plan.snapshots.len(), 1);
    let s = &plan.snapshots[0];
    assert_eq!(s["metadata"]["namespace"], "shop");
    assert_eq!(
        s["spec"],
        json!({"source": {"persistentVolumeClaimName": "web-data"}, "volumeSnapshotClassName": "csi-snap"})
    );
    assert_eq!(
        plan.pod["metadata"]["annotations"]["ktui.dev/snapshots"],
        format!("shop/{}", s["metadata"]["name"].as_str().unwrap())
    );

    o.same_node = false;
    o.forensic_namespace = Some("forensics".into());
    let plan = built(None, &o, None);
    assert_eq!(plan.namespace, "forensics");
    for obj in plan.objects() {
        assert_eq!(obj["metadata"]["namespace"], "forensics", "{obj}");
    }
    let spec = &plan.pod["spec"];
    assert!(spec.get("serviceAccountName").is_none());
    let web = &spec["containers"][0];
    assert_eq!(
        web["env"],
        json!([{"name": "MODE", "valueFrom": {"configMapKeyRef": {"name": copy_name(&plan.name, "web-env"), "key": "mode"}}}])
    );
    assert!(web["envFrom"].as_array().unwrap().is_empty());
    assert!(
        !spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "tls")
    );
    assert!(
        !web["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "tls")
    );
    assert_eq!(plan.copy_config_maps, ["web-config", "web-env"]);
    // The pod reads the copies under their own names.
    assert_eq!(
        web["env"][0]["valueFrom"]["configMapKeyRef"]["name"],
        copy_name(&plan.name, "web-env")
    );
    let config = spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    assert_eq!(
        config["configMap"]["name"],
        copy_name(&plan.name, "web-config")
    );
    let notes = plan.notes.join("\n");
    for said in [
        "env DB_PASSWORD dropped (from Secret db)",
        "envFrom Secret web-secrets dropped",
        "volume tls dropped: Secret web-tls",
        "serviceAccountName",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
}

#[test]
fn an_init_container_crash_and_bad_input() {
    let mut src = source(None);
    src.container = "migrate".into();
    let plan = build(&src, &options(), &stamp(), None).unwrap();
    let names: Vec<&str> = plan.pod["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web", "migrate"]);

    src.container = "nope".into();
    assert_eq!(
        build(&src, &options(), &stamp(), None),
        Err(SpecError::NoSuchContainer("nope".into()))
    );
    src.container = "web".into();
    src.pod["spec"]["os"] = json!({"name": "windows"});
    let err = build(&src, &options(), &stamp(), None).unwrap_err();
    assert_eq!(err, SpecError::Windows("spec.os.name"));
    assert!(err.to_string().contains("Linux busybox"), "{err}");
    src.pod = pod();
    src.pod["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "windows"});
    assert_eq!(
        build(&src, &options(), &stamp(), None),
        Err(SpecError::Windows("nodeSelector kubernetes.io/os"))
    );
    src.pod = json!({"kind": "Service", "metadata": {"name": "x", "namespace": "y"}});
    assert!(matches!(
        build(&src, &options(), &stamp(), None),
        Err(SpecError::NotAPod(_))
    ));
}

#[test]
fn image_ids_pin_only_to_pullable_digests() {
    let d = "a".repeat(64);
    assert_eq!(
        pod::pinned_image(&format!("docker-pullable://r/x@sha256:{d}")),
        Some(format!("r/x@sha256:{d}"))
    );
    assert_eq!(
        pod::pinned_image(&format!("docker.io/library/nginx@sha256:{d}")),
        Some(format!("docker.io/library/nginx@sha256:{d}"))
    );
    assert_eq!(pod::pinned_image(&format!("sha256:{d}")), None);
    assert_eq!(pod::pinned_image("r/x@sha256:short"), None);
    assert_eq!(pod::pinned_image(""), None);
}

/// What the API server would refuse, or what would reach past the isolation: block devices
/// of claims no longer mounted, confinement annotations of removed containers, device claims,
/// the node's files; and names that must not collide.
#[test]
fn what_the_api_server_would_refuse_is_left_out() {
    let mut p = pod();
    p["metadata"]["annotations"]["container.apparmor.security.beta.kubernetes.io/migrate"] =
        "runtime/default".into();
    p["spec"]["containers"][0]["volumeDevices"] =
        json!([{"name": "data", "devicePath": "/dev/xvda"}]);
    p["spec"]["containers"][0]["resources"]["claims"] = json!([{"name": "gpu"}]);
    p["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "sock", "hostPath": {"path": "/run/containerd/containerd.sock"}}));
    p["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "ca", "configMap": {"name": "kube-root-ca.crt"}}));
    for live in [
        json!({"name": "shared", "nfs": {"server": "10.0.0.5", "path": "/exports/web"}}),
        json!({"name": "vault", "csi": {"driver": "secrets-store.csi.k8s.io", "readOnly": true,
                                         "volumeAttributes": {"secretProviderClass": "web"}}}),
        json!({"name": "disk", "awsElasticBlockStore": {"volumeID": "vol-0123"}}),
        json!({"name": "id", "projected": {"sources": [
            {"podCertificate": {"signerName": "example.test/signer", "keyType": "ED25519", "credentialBundlePath": "c"}},
            {"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}
        ]}}),
        json!({"name": "scratch", "emptyDir": {"medium": "Memory"}}),
        json!({"name": "meta", "downwardAPI": {"items": [{"path": "name", "fieldRef": {"fieldPath": "metadata.name"}}]}}),
    ] {
        p["spec"]["volumes"].as_array_mut().unwrap().push(live);
    }
    let mut src = source(None);
    src.pod = p;
    let mut o = options();
    o.forensic_namespace = Some("forensics".into());
    let plan = build(&src, &o, &stamp(), None).unwrap();
    let ann = &plan.pod["metadata"]["annotations"];
    assert!(
        ann.get("container.apparmor.security.beta.kubernetes.io/migrate")
            .is_none(),
        "migrate is not in the clone"
    );
    assert_eq!(
        ann["container.apparmor.security.beta.kubernetes.io/web"],
        "runtime/default"
    );
    for (k, v) in [
        ("kuma.io/sidecar-injection", "disabled"),
        ("consul.hashicorp.com/connect-inject", "false"),
    ] {
        assert_eq!(ann[k], v);
    }
    let web = &plan.pod["spec"]["containers"][0];
    assert!(web.get("volumeDevices").is_none());
    assert!(web["resources"].get("claims").is_none());
    assert_eq!(web["resources"]["limits"]["memory"], "256Mi");
    let volumes = plan.pod["spec"]["volumes"].as_array().unwrap();
    assert_eq!(
        volumes.iter().find(|v| v["name"] == "sock").unwrap(),
        &json!({"name": "sock", "emptyDir": {}})
    );
    let volume = |n: &str| volumes.iter().find(|v| v["name"] == n).unwrap();
    for live in ["shared", "vault", "disk"] {
        assert_eq!(
            volume(live),
            &json!({"name": live, "emptyDir": {}}),
            "{live}"
        );
    }
    assert_eq!(
        volume("id")["projected"]["sources"],
        json!([{"downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]}}]),
        "no pod certificate"
    );
    assert_eq!(volume("scratch")["emptyDir"]["medium"], "Memory");
    assert!(volume("meta").get("downwardAPI").is_some());
    let notes = plan.notes.join("\n");
    for said in [
        "volume shared: nfs volume not mounted",
        "volume vault: csi (secrets-store.csi.k8s.io) volume not mounted",
        "volume disk: awsElasticBlockStore volume not mounted",
        "volume id: without its pod certificate",
    ] {
        assert!(notes.contains(said), "{said}: {notes}");
    }
    let ca = volume("ca");
    assert_eq!(
        ca["configMap"]["name"], "kube-root-ca.crt",
        "every namespace has its own"
    );
    assert!(
        !plan
            .copy_config_maps
            .contains(&"kube-root-ca.crt".to_string())
    );

    // Two crashes of one pod with a long claim name: distinct, valid snapshot names.
    let long_claim = "c".repeat(250);
    let mut p = pod();
    p["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"] = long_claim.clone().into();
    let snap = SnapshotChoice { class: None };
    let mut a = source(None);
    a.pod = p.clone();
    let mut b = a.clone();
    b.signature = "f".repeat(64);
    let na = build(&a, &options(), &stamp(), Some(&snap))
        .unwrap()
        .snapshots[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let nb = build(&b, &options(), &stamp(), Some(&snap))
        .unwrap()
        .snapshots[0]["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(na, nb);
    assert!(na.len() <= 253 && nb.len() <= 253, "{na}");
}
