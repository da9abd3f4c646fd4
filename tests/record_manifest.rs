//! `ktui record manifest`, the binary end to end: every document parses, no wildcard anywhere in
//! the RBAC, `pods/exec` and `nodes/proxy` only with the flags that need them, the Deployment
//! runs `ktui --record` with the flags, `-A` a ClusterRole and `-n` a Role; usage errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::Value;

fn ktui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["record", "manifest"])
        .args(args)
        // No kubeconfig is read: a missing one changes nothing.
        .env("KUBECONFIG", "/nonexistent/ktui-test-kubeconfig")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The documents of a manifest that must be printed.
fn docs(args: &[&str]) -> (String, Vec<Value>) {
    let out = ktui(args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let yaml = text(&out.stdout);
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    for d in &docs {
        assert!(d["apiVersion"].is_string() && d["kind"].is_string(), "{d}");
        assert!(d["metadata"]["name"].is_string(), "{d}");
    }
    (yaml, docs)
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

/// Every rule of every Role and ClusterRole.
fn rules(docs: &[Value]) -> Vec<&Value> {
    docs.iter()
        .filter(|d| d["kind"] == "Role" || d["kind"] == "ClusterRole")
        .flat_map(|d| d["rules"].as_array().unwrap())
        .collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap()).collect())
        .unwrap_or_default()
}

fn grants(docs: &[Value], resource: &str) -> bool {
    rules(docs)
        .iter()
        .any(|r| strings(&r["resources"]).contains(&resource))
}

fn args(docs: &[Value]) -> Vec<String> {
    let d = of_kind(docs, "Deployment")[0];
    strings(&d["spec"]["template"]["spec"]["containers"][0]["args"])
        .into_iter()
        .map(String::from)
        .collect()
}

const FLAG_SETS: &[&[&str]] = &[
    &["-n", "shop"],
    &["-A"],
    &["-n", "shop", "--auto-clone"],
    &["-A", "--sockets"],
    &["-n", "shop", "--packets", "--deploy-helper"],
    &["-A", "--checkpoint"],
    &[
        "-A",
        "--auto-clone",
        "--sockets",
        "--packets",
        "--deploy-helper",
        "--checkpoint",
        "--pvc",
        "10Gi",
        "--s3",
        "s3://evidence/ktui",
        "--s3-endpoint",
        "http://minio:9000",
    ],
    &[
        "-n",
        "shop",
        "--controller-namespace",
        "forensics",
        "--replicas",
        "3",
    ],
];

#[test]
fn no_wildcard_in_any_rule() {
    for flags in FLAG_SETS {
        let (yaml, docs) = docs(flags);
        let rules = rules(&docs);
        assert!(!rules.is_empty(), "{flags:?}");
        for r in rules {
            for key in ["apiGroups", "resources", "verbs", "resourceNames"] {
                for v in strings(&r[key]) {
                    assert!(!v.contains('*'), "{flags:?}: {key} {v:?} in {r}\n{yaml}");
                }
            }
            assert!(!strings(&r["verbs"]).is_empty(), "{r}");
        }
        // Every Role and ClusterRole is bound to the controller's ServiceAccount.
        for (role, binding) in [
            ("Role", "RoleBinding"),
            ("ClusterRole", "ClusterRoleBinding"),
        ] {
            for r in of_kind(&docs, role) {
                let bound = of_kind(&docs, binding).into_iter().any(|b| {
                    b["roleRef"]["name"] == r["metadata"]["name"]
                        && b["metadata"]["namespace"] == r["metadata"]["namespace"]
                        && b["subjects"][0]["name"] == "ktui-controller"
                });
                assert!(bound, "{flags:?}: {role} {} unbound", r["metadata"]);
            }
        }
    }
}

#[test]
fn exec_and_node_proxy_only_with_their_flags() {
    let (yaml, plain) = docs(&["-n", "shop", "--auto-clone"]);
    assert!(
        !grants(&plain, "pods/exec") && !grants(&plain, "nodes/proxy"),
        "{yaml}"
    );
    assert!(
        yaml.contains("It grants neither pods/exec nor nodes/proxy"),
        "{yaml}"
    );
    for flag in ["--sockets", "--packets"] {
        let (yaml, d) = docs(&["-n", "shop", flag]);
        assert!(
            grants(&d, "pods/exec") && !grants(&d, "nodes/proxy"),
            "{flag}"
        );
        // In the helper's namespace only, with the warning above the rule and in the header.
        let exec_roles: Vec<&Value> = of_kind(&d, "Role")
            .into_iter()
            .filter(|r| {
                r["rules"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| strings(&x["resources"]) == ["pods/exec"])
            })
            .collect();
        assert_eq!(exec_roles.len(), 1);
        assert_eq!(exec_roles[0]["metadata"]["namespace"], "ktui-system");
        let lines: Vec<&str> = yaml.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.trim() == "- pods/exec")
            .unwrap();
        let above = lines[..at]
            .iter()
            .rev()
            .find(|l| l.trim_start().starts_with("# "))
            .unwrap();
        assert!(above.contains("close to cluster-admin"), "{above}");
        assert!(
            yaml.lines()
                .take_while(|l| l.starts_with("# "))
                .any(|l| l.contains("pods/exec") && l.contains("close to cluster-admin")),
            "{yaml}"
        );
    }
    let (yaml, d) = docs(&["-n", "shop", "--checkpoint"]);
    assert!(
        grants(&d, "nodes/proxy") && !grants(&d, "pods/exec"),
        "{yaml}"
    );
    let cluster = of_kind(&d, "ClusterRole");
    assert_eq!(cluster.len(), 1, "nodes/proxy is cluster-scoped");
    assert_eq!(
        cluster[0]["rules"],
        serde_json::json!([{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["create"]}])
    );
    assert!(yaml.contains("nodes/proxy reaches every kubelet"), "{yaml}");
}

#[test]
fn all_namespaces_is_a_cluster_role_one_namespace_a_role() {
    let (_, all) = docs(&["-A"]);
    let cluster = of_kind(&all, "ClusterRole");
    assert_eq!(cluster.len(), 1);
    let watch: Vec<&str> = cluster[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| strings(&r["resources"]))
        .collect();
    assert!(
        watch.contains(&"pods") && watch.contains(&"pods/log"),
        "{watch:?}"
    );
    assert_eq!(of_kind(&all, "ClusterRoleBinding").len(), 1);
    // Only the Lease is namespaced.
    let roles = of_kind(&all, "Role");
    assert_eq!(roles.len(), 1);
    assert_eq!(strings(&roles[0]["rules"][0]["resources"]), ["leases"]);
    assert!(args(&all).contains(&"-A".to_string()));

    let (_, one) = docs(&["-n", "shop"]);
    assert!(of_kind(&one, "ClusterRole").is_empty());
    assert!(of_kind(&one, "ClusterRoleBinding").is_empty());
    let shop: Vec<&Value> = of_kind(&one, "Role")
        .into_iter()
        .filter(|r| r["metadata"]["namespace"] == "shop")
        .collect();
    assert_eq!(shop.len(), 1);
    let pods = shop[0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| strings(&r["resources"]) == ["pods"])
        .unwrap();
    assert_eq!(strings(&pods["verbs"]), ["get", "list", "watch", "patch"]);
    let a = args(&one);
    assert_eq!(a[..4], ["--record", "/var/lib/ktui/case", "-n", "shop"]);
}

#[test]
fn the_deployment_runs_record_with_the_flags() {
    let (_, d) = docs(&[
        "-n",
        "shop",
        "--auto-clone",
        "--sockets",
        "--packets",
        "--deploy-helper",
        "--s3",
        "s3://evidence/ktui",
        "--s3-endpoint",
        "http://minio:9000",
        "--metrics-addr",
        ":9100",
        "--image",
        "registry.example.com/ktui-controller:1.0",
        "--replicas",
        "2",
    ]);
    let a = args(&d);
    for flag in [
        "--record",
        "--auto-clone",
        "--sockets",
        "--packets",
        "--deploy-helper",
    ] {
        assert!(a.contains(&flag.to_string()), "{flag}: {a:?}");
    }
    let after = |flag: &str| {
        let i = a.iter().position(|x| x == flag).unwrap();
        a[i + 1].clone()
    };
    assert_eq!(after("--s3"), "s3://evidence/ktui");
    assert_eq!(after("--s3-endpoint"), "http://minio:9000");
    assert_eq!(after("--metrics-addr"), ":9100");
    assert_eq!(after("--case"), "$(POD_NAME)");
    let deploy = of_kind(&d, "Deployment")[0];
    assert_eq!(deploy["spec"]["replicas"], 2);
    let c = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.example.com/ktui-controller:1.0");
    assert_eq!(c["ports"][0]["containerPort"], 9100);
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.contains(&"POD_NAME"), "{env:?}");
    // Not the default image: no architecture pin.
    assert!(
        deploy["spec"]["template"]["spec"]["nodeSelector"]
            .get("kubernetes.io/arch")
            .is_none()
    );
    // With --pvc: the claim, a fixed case id, Recreate.
    let (_, p) = docs(&["-n", "shop", "--pvc", "5Gi"]);
    let claim = of_kind(&p, "PersistentVolumeClaim");
    assert_eq!(claim.len(), 1);
    assert_eq!(claim[0]["spec"]["resources"]["requests"]["storage"], "5Gi");
    assert!(
        args(&p)
            .windows(2)
            .any(|w| w == ["--case", "ktui-controller"])
    );
    assert_eq!(
        of_kind(&p, "Deployment")[0]["spec"]["strategy"]["type"],
        "Recreate"
    );
    let (_, e) = docs(&["-n", "shop"]);
    assert!(of_kind(&e, "PersistentVolumeClaim").is_empty());
}

#[test]
fn usage_errors_exit_2_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "-n NS"),
        (&["-n", "Shop!"], "invalid namespace \"Shop!\""),
        (
            &["-A", "--controller-namespace", "a_b"],
            "--controller-namespace",
        ),
        (&["-A", "--image", "bad image"], "--image"),
        (&["-A", "--s3", "evidence"], "--s3"),
        (
            &["-A", "--metrics-addr", "127.0.0.1:9464"],
            "--metrics-addr",
        ),
        (&["-A", "--pvc", "lots"], "--pvc"),
        (&["-A", "--pvc", "1Gi", "--replicas", "2"], "--replicas 2"),
        (&["-A", "--deploy-helper"], "--deploy-helper"),
        (&["-A", "--replicas", "0"], "--replicas"),
        (&["-A", "--s3-endpoint", "http://x"], "--s3"),
    ];
    for (flags, says) in cases {
        let out = ktui(flags);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flags:?}: {}",
            text(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{flags:?}");
        let err = text(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    }
}
