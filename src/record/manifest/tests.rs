use serde_json::{Value, json};

use super::*;

fn spec(watch: Scope) -> ControllerSpec {
    ControllerSpec::new(watch)
}

fn shop() -> Scope {
    Scope::Namespace("shop".into())
}

fn parse(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

fn kinds(objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

fn find<'a>(objects: &'a [Value], kind: &str, namespace: Option<&str>) -> Option<&'a Value> {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["namespace"].as_str() == namespace)
}

fn everything() -> ControllerSpec {
    ControllerSpec {
        auto_clone: true,
        sockets: true,
        packets: true,
        deploy_helper: true,
        checkpoint: true,
        s3: Some("s3://evidence/ktui".into()),
        s3_endpoint: Some("http://minio.storage:9000".into()),
        pvc: Some("20Gi".into()),
        ..spec(Scope::All)
    }
}

#[test]
fn yaml_round_trips_to_the_objects() {
    for s in [
        spec(shop()),
        everything(),
        ControllerSpec {
            namespace: "forensics".into(),
            replicas: 3,
            deploy_helper: true,
            sockets: true,
            ..spec(shop())
        },
    ] {
        s.validate().unwrap();
        let yaml = s.to_yaml();
        assert_eq!(parse(&yaml), s.objects(), "{yaml}");
    }
}

#[test]
fn the_default_manifest() {
    let objects = spec(shop()).objects();
    assert_eq!(
        kinds(&objects),
        [
            "Namespace/ktui-system",
            "ServiceAccount/ktui-controller",
            "Role/ktui-controller",
            "RoleBinding/ktui-controller",
            "Role/ktui-controller",
            "RoleBinding/ktui-controller",
            "Deployment/ktui-controller"
        ]
    );
    // The watch namespace's Role, and the Lease's in the controller namespace.
    let watch = find(&objects, "Role", Some("shop")).unwrap();
    let resources: Vec<&str> = watch["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resources"][0].as_str().unwrap())
        .collect();
    assert_eq!(
        resources,
        [
            "pods",
            "pods/log",
            "events",
            "events",
            "replicasets",
            "jobs"
        ]
    );
    let lease = find(&objects, "Role", Some("ktui-system")).unwrap();
    assert_eq!(
        lease["rules"],
        json!([{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get", "create", "update"]}])
    );
    let binding = find(&objects, "RoleBinding", Some("shop")).unwrap();
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "ktui-controller", "namespace": "ktui-system"}])
    );
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert!(find(&objects, "ClusterRole", None).is_none());
    // No PSA label: the controller needs no privileged level.
    assert_eq!(
        objects[0]["metadata"]["labels"],
        json!({"app.kubernetes.io/managed-by": "ktui"})
    );
}

#[test]
fn the_deployment() {
    let objects = spec(shop()).objects();
    let d = find(&objects, "Deployment", Some("ktui-system")).unwrap();
    assert_eq!(d["spec"]["replicas"], 1);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ktui-controller");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["nodeSelector"]["kubernetes.io/arch"], "amd64");
    let c = &pod["containers"][0];
    assert_eq!(c["image"], default_image());
    assert!(default_image().starts_with("localhost/ktui-controller:"));
    assert_eq!(c["command"], json!(["/ktui"]));
    assert_eq!(
        c["args"],
        json!([
            "--record",
            "/var/lib/ktui/case",
            "-n",
            "shop",
            "--case",
            "$(POD_NAME)",
            "--metrics-addr",
            ":9464"
        ])
    );
    assert_eq!(
        c["env"][0],
        json!({"name": "KTUI_CONTROLLER", "value": "1"})
    );
    assert_eq!(
        c["env"][1],
        json!({"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}})
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(c["ports"][0]["containerPort"], 9464);
    for probe in ["livenessProbe", "readinessProbe"] {
        assert_eq!(
            c[probe]["httpGet"],
            json!({"path": "/healthz", "port": "metrics"}),
            "{probe}"
        );
    }
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert_eq!(pod["volumes"][0]["emptyDir"]["sizeLimit"], EMPTY_DIR_LIMIT);
    assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
}

#[test]
fn every_flag_reaches_the_args_and_the_roles() {
    let s = everything();
    s.validate().unwrap();
    let objects = s.objects();
    let d = find(&objects, "Deployment", Some("ktui-system")).unwrap();
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["args"],
        json!([
            "--record",
            "/var/lib/ktui/case",
            "-A",
            "--case",
            "ktui-controller",
            "--sockets",
            "--packets",
            "--deploy-helper",
            "--auto-clone",
            "--s3",
            "s3://evidence/ktui",
            "--s3-endpoint",
            "http://minio.storage:9000",
            "--metrics-addr",
            ":9464"
        ])
    );
    assert_eq!(
        c["envFrom"][0]["secretRef"],
        json!({"name": "ktui-controller-s3", "optional": true})
    );
    assert_eq!(d["spec"]["strategy"]["type"], "Recreate");
    let pvc = find(&objects, "PersistentVolumeClaim", Some("ktui-system")).unwrap();
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(
        d["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        PVC_NAME
    );
    // -A: one ClusterRole holds the watch rules and the cluster-scoped ones; no Role in the
    // watched namespaces, only the Lease's and the helper's (one namespace here).
    let cluster = find(&objects, "ClusterRole", None).unwrap();
    assert_eq!(cluster["metadata"]["name"], "ktui-controller-ktui-system");
    let rules = cluster["rules"].as_array().unwrap();
    let has = |resource: &str| rules.iter().any(|r| r["resources"][0] == resource);
    for r in [
        "pods",
        "nodes/proxy",
        "volumesnapshotclasses",
        "daemonsets",
        "nodes",
        "namespaces",
    ] {
        assert!(has(r), "{r}: {rules:?}");
    }
    let roles: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Role").collect();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0]["metadata"]["namespace"], "ktui-system");
    let binding = find(&objects, "ClusterRoleBinding", None).unwrap();
    assert_eq!(binding["roleRef"]["name"], "ktui-controller-ktui-system");
    // The helper's namespace is created privileged.
    let ns = &objects[0];
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"],
        "privileged"
    );
}

#[test]
fn no_wildcards_and_the_warning_is_plain() {
    for s in [spec(shop()), everything()] {
        for o in s.objects() {
            for rule in o["rules"].as_array().into_iter().flatten() {
                for key in ["apiGroups", "resources", "verbs", "resourceNames"] {
                    for v in rule[key].as_array().into_iter().flatten() {
                        assert!(!v.as_str().unwrap().contains('*'), "{rule}");
                    }
                }
                assert!(!rule["verbs"].as_array().unwrap().is_empty());
            }
        }
    }
    let yaml = everything().to_yaml();
    let header: Vec<&str> = yaml.lines().take_while(|l| l.starts_with("# ")).collect();
    assert!(
        header
            .iter()
            .any(|l| l.contains("pods/exec") && l.contains("close to cluster-admin")),
        "{yaml}"
    );
    assert!(
        header
            .iter()
            .any(|l| l.contains("nodes/proxy") && l.contains("close to cluster-admin")),
        "{yaml}"
    );
    let plain = spec(shop()).to_yaml();
    assert!(
        plain.contains("It grants neither pods/exec nor nodes/proxy"),
        "{plain}"
    );
    // Every rule is explained by the comment above it.
    let lines: Vec<&str> = yaml.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim_start().starts_with("- apiGroups:") {
            assert!(
                lines[i - 1].trim_start().starts_with("# "),
                "rule without why: {l}"
            );
        }
    }
}

#[test]
fn another_controller_namespace_is_not_created() {
    let s = ControllerSpec {
        namespace: "forensics".into(),
        ..spec(Scope::Namespace("forensics".into()))
    };
    let objects = s.objects();
    assert!(find(&objects, "Namespace", None).is_none());
    // Watching its own namespace: one Role with the watch rules and the Lease.
    let roles: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Role").collect();
    assert_eq!(roles.len(), 1);
    assert!(
        roles[0]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["resources"][0] == "leases")
    );
    assert!(s.to_yaml().contains("# Namespace forensics must exist"));
}

#[test]
fn validation_names_the_flag_and_value() {
    let bad = |s: ControllerSpec| s.validate().unwrap_err().0;
    let base = || spec(shop());
    assert!(
        bad(ControllerSpec {
            namespace: "Bad_NS".into(),
            ..base()
        })
        .starts_with("--controller-namespace: invalid namespace \"Bad_NS\"")
    );
    assert!(bad(spec(Scope::Namespace("a.b".into()))).starts_with("-n: "));
    let e = bad(ControllerSpec {
        image: "x y".into(),
        ..base()
    });
    assert!(
        e.contains("--image") && e.contains("\"x y\"") && e.contains("ktui-controller"),
        "{e}"
    );
    assert!(
        bad(ControllerSpec {
            s3: Some("evidence".into()),
            ..base()
        })
        .starts_with("--s3: ")
    );
    assert!(
        bad(ControllerSpec {
            s3_endpoint: Some("minio:9000".into()),
            ..base()
        })
        .contains("--s3-endpoint \"minio:9000\"")
    );
    for addr in ["127.0.0.1:9464", "9464", ":0", ":x", "10.0.0.1:80"] {
        let e = bad(ControllerSpec {
            metrics_addr: addr.into(),
            ..base()
        });
        assert!(e.starts_with(&format!("--metrics-addr {addr:?}")), "{e}");
    }
    for ok in [":9464", "0.0.0.0:8080", "[::]:9100"] {
        ControllerSpec {
            metrics_addr: ok.into(),
            ..base()
        }
        .validate()
        .unwrap();
    }
    for size in ["10", "1.5Gi", "500Mi", "2T"] {
        ControllerSpec {
            pvc: Some(size.into()),
            ..base()
        }
        .validate()
        .unwrap();
    }
    for size in ["", "Gi", "10GB", "0Gi", "1..5Gi", "-1Gi", "10 Gi"] {
        let e = bad(ControllerSpec {
            pvc: Some(size.into()),
            ..base()
        });
        assert!(e.starts_with("--pvc "), "{size}: {e}");
    }
    let e = bad(ControllerSpec {
        pvc: Some("1Gi".into()),
        replicas: 2,
        ..base()
    });
    assert!(e.contains("--replicas 2"), "{e}");
    assert!(
        bad(ControllerSpec {
            replicas: 0,
            ..base()
        })
        .contains("--replicas")
    );
    assert!(
        bad(ControllerSpec {
            deploy_helper: true,
            ..base()
        })
        .contains("--deploy-helper")
    );
}

#[test]
fn hostile_values_are_quoted_and_round_trip() {
    let s = ControllerSpec {
        s3: Some("s3://evidence/a: b # c\n- d".into()),
        ..spec(shop())
    };
    s.validate().unwrap();
    let yaml = s.to_yaml();
    let docs = parse(&yaml);
    assert_eq!(docs, s.objects());
    let d = docs.iter().find(|o| o["kind"] == "Deployment").unwrap();
    let args = d["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .unwrap();
    assert!(
        args.contains(&json!("s3://evidence/a: b # c\n- d")),
        "{yaml}"
    );
}
