//! `ktui clone` as a user runs it: against the demo cluster (dry run as a `v1 List` in JSON
//! and YAML, a real create that prints the name), every pinned flag, terminal-safe output of a
//! log holding escape sequences, and exit 3 when no cluster is reachable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use serde_json::Value;

const POD: &str = "checkout-6c9f8b7d54-7fb9x";

fn ktui(args: &[&str], cases: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .env("KTUI_CASES_DIR", cases)
        .env_remove("KTUI_HELPER_IMAGE")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn kinds(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_json_is_a_list_of_the_objects_in_creation_order_and_writes_nothing() {
    let cases = tempfile::tempdir().unwrap();
    let out = ktui(
        &[
            "clone",
            "--demo",
            POD,
            "-n",
            "shop",
            "--dry-run",
            "-o",
            "json",
        ],
        cases.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    assert_eq!(kinds(&list), ["NetworkPolicy", "ConfigMap", "Pod"]);
    let pod = &list["items"][2];
    let name = pod["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with(&format!("{POD}-forensic-")), "{name}");
    assert_eq!(
        list["items"][0]["metadata"]["name"],
        format!("{name}-isolate")
    );
    assert_eq!(list["items"][1]["metadata"]["name"], format!("{name}-logs"));
    // The log ConfigMap holds the log it read.
    let data = list["items"][1]["data"].as_object().unwrap();
    assert!(
        data.values().any(|v| v
            .as_str()
            .unwrap_or_default()
            .contains("cannot start without a database")),
        "{data:?}"
    );
    assert!(
        text(&out.stderr).contains("dry run"),
        "{}",
        text(&out.stderr)
    );
    // No case was opened.
    assert_eq!(std::fs::read_dir(cases.path()).map_or(0, |d| d.count()), 0);
}

#[test]
fn dry_run_yaml_reads_back_as_the_same_list() {
    let cases = tempfile::tempdir().unwrap();
    let json = ktui(
        &[
            "clone",
            "--demo",
            POD,
            "-n",
            "shop",
            "--dry-run",
            "-o",
            "json",
        ],
        cases.path(),
    );
    let yaml = ktui(
        &["clone", "--demo", POD, "-n", "shop", "--dry-run"],
        cases.path(),
    );
    assert_eq!(yaml.status.code(), Some(0), "{}", text(&yaml.stderr));
    let yaml_text = text(&yaml.stdout);
    assert!(
        yaml_text.starts_with("apiVersion: v1\nkind: List\nitems:\n- apiVersion: networking.k8s.io/v1\n  kind: NetworkPolicy\n"),
        "{yaml_text}"
    );
    let from_yaml: Value = serde_saphyr::from_str(&yaml_text).unwrap();
    let from_json: Value = serde_json::from_slice(&json.stdout).unwrap();
    // Two runs, two created-at stamps: compare everything else.
    let strip = |mut v: Value| {
        for item in v["items"].as_array_mut().unwrap() {
            if let Some(m) = item
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
            {
                m.remove("ktui.dev/created-at");
            }
        }
        v
    };
    assert_eq!(strip(from_yaml), strip(from_json));
}

#[test]
fn escape_sequences_in_a_log_never_reach_the_terminal_raw() {
    let cases = tempfile::tempdir().unwrap();
    for format in ["json", "yaml"] {
        let out = ktui(
            &[
                "clone",
                "--demo",
                "frontend-84c9d7e6f5-uvwxy",
                "-n",
                "shop",
                "--dry-run",
                "-o",
                format,
            ],
            cases.path(),
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            !stdout.contains('\u{1b}') && !stdout.contains('\u{7}'),
            "{format}: {stdout}"
        );
        assert!(!text(&out.stderr).contains('\u{1b}'));
        let list: Value = if format == "json" {
            serde_json::from_str(&stdout).unwrap()
        } else {
            serde_saphyr::from_str(&stdout).unwrap()
        };
        let logs = list["items"][1]["data"].to_string();
        assert!(logs.contains("\\u001b]0;owned-title"), "{format}: {logs}");
    }
}

#[test]
fn a_demo_clone_prints_its_name_and_what_it_created() {
    let cases = tempfile::tempdir().unwrap();
    let out = ktui(&["clone", "--demo", POD, "-n", "shop"], cases.path());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let name = stdout.trim();
    assert!(name.starts_with(&format!("{POD}-forensic-")), "{stdout}");
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    for kind in ["NetworkPolicy", "ConfigMap", "Pod"] {
        assert!(
            stderr.contains(&format!("created {kind} shop/")),
            "{stderr}"
        );
    }
    assert!(stderr.contains("CNI"), "{stderr}");
    assert!(
        stderr.contains("localhost/"),
        "the local toolkit image is warned about: {stderr}"
    );
    assert!(stderr.contains("-- /usr/local/bin/toolkit/sh"), "{stderr}");
    assert!(
        stderr.contains(&format!("ktui clone --remove {name} -n shop")),
        "{stderr}"
    );
    assert!(stderr.contains("in memory"), "{stderr}");
    // The case holds the clone's record.
    let case = std::fs::read_dir(cases.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let record = case.join(format!("artifacts/shop/{POD}/clone/{name}.clone.json"));
    let record: Value = serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    assert_eq!(record["result"], "ok");
}

#[test]
fn every_pinned_flag_is_accepted() {
    let cases = tempfile::tempdir().unwrap();
    let out = ktui(
        &[
            "clone",
            POD,
            "--demo",
            "-n",
            "shop",
            "-c",
            "checkout",
            "--same-node",
            "--forensic-namespace",
            "forensics",
            "--dedup-window",
            "30m",
            "--snapshot-class",
            "csi-snap",
            "--toolkit-image",
            "registry.example/ktui-helper:0.1.0",
            "--dry-run",
            "-o",
            "json",
        ],
        cases.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pod = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "Pod")
        .unwrap();
    assert_eq!(pod["metadata"]["namespace"], "forensics");
    assert_eq!(pod["spec"]["nodeName"], "demo-node-1");
    // A removal needs a terminal or --yes; a pod that is not a clone is refused first.
    let out = ktui(
        &["clone", "--demo", "--remove", POD, "-n", "shop", "--yes"],
        cases.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a forensic clone"),
        "{}",
        text(&out.stderr)
    );
    let out = ktui(
        &["clone", "--demo", "--remove", "gone", "-n", "shop"],
        cases.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--yes"), "{}", text(&out.stderr));
    // A pod that does not exist is said, and opens no case.
    let empty = tempfile::tempdir().unwrap();
    let out = ktui(&["clone", "--demo", "nope", "-n", "shop"], empty.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read pod shop/nope"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
    // Usage errors are clap's.
    let out = ktui(&["clone", "--demo", POD, "-o", "json"], cases.path());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_cluster_reachable_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    for args in [
        &["clone", "web-1", "-n", "shop"][..],
        &["clone", "web-1", "-n", "shop", "--dry-run"][..],
        &[
            "clone",
            "--remove",
            "web-1-forensic-1a2b3c4d",
            "-n",
            "shop",
            "--yes",
        ][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .env("KTUI_CASES_DIR", dir.path().join("cases"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
