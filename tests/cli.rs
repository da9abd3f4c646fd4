//! The binary end to end: pinned CLI, `ktui triage` on the fixtures (tests/fixtures), the no-cluster exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const KEYS: [&str; 14] = [
    "namespace",
    "pod",
    "container",
    "init",
    "category",
    "reason",
    "exit_code",
    "signal",
    "restarts",
    "finished_at",
    "node",
    "workload_kind",
    "workload_name",
    "signature",
];

fn fixture(p: &str) -> String {
    format!("{}/tests/fixtures/k8s/{p}", env!("CARGO_MANIFEST_DIR"))
}

fn ktui(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(args);
    // Never read the developer's kubeconfig by accident.
    c.env("KUBECONFIG", "/nonexistent/ktui-test-kubeconfig");
    // Nor the developer's keys file, nor their cases.
    c.env_remove("KTUI_KEYS");
    c.env(
        "KTUI_CASES_DIR",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cases"),
    );
    c
}

fn run_stdin(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = ktui(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Map<String, Value>> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap()
                .as_object()
                .unwrap()
                .clone()
        })
        .collect()
}

#[test]
fn version_and_help() {
    let out = ktui(&["--version"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ktui "));
    let out = ktui(&["--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--kubeconfig",
        "--context",
        "--namespace",
        "--all-namespaces",
        "--theme",
        "--keys",
        "--demo",
        "Examples:",
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
    }
    let out = ktui(&["-n", "a", "-A"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "usage errors keep clap's code 2"
    );
}

#[test]
fn triage_json_from_files_has_all_keys_sorted_newest_first() {
    let out = ktui(&["triage", "--from-file", &fixture("podlist.json"), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5);
    for l in &lines {
        let keys: Vec<&str> = l.keys().map(String::as_str).collect();
        // Every key, in the order.
        assert_eq!(keys, KEYS, "{l:?}");
        if let Some(t) = l["finished_at"].as_str() {
            assert!(t.parse::<jiff::Timestamp>().is_ok(), "not RFC 3339: {t}");
        }
    }
    let api = lines
        .iter()
        .find(|l| l["pod"] == "api-6b7c8d9e4f-abcde")
        .unwrap();
    assert_eq!(api["category"], "crashed");
    assert_eq!(api["reason"], "Error");
    assert_eq!(api["exit_code"], 1);
    assert_eq!(api["signal"], Value::Null);
    assert_eq!(api["workload_kind"], "Deployment");
    assert_eq!(api["workload_name"], "api");
    assert_eq!(
        api["signature"],
        "90d12ad285babec05ca237b94f7f83f543b5295d5bce5b586464fd6a9957b809"
    );
    let init = lines
        .iter()
        .find(|l| l["container"] == "migrate-schema")
        .unwrap();
    assert_eq!(init["init"], true);
    assert_eq!(init["reason"], "Error", "no Init: prefix in JSON");
    let oom = lines.iter().find(|l| l["reason"] == "OOMKilled").unwrap();
    assert_eq!(
        (oom["exit_code"].as_i64(), oom["signal"].as_i64()),
        (Some(137), Some(9))
    );
    let pull = lines
        .iter()
        .find(|l| l["category"] == "not_started")
        .unwrap();
    assert_eq!(pull["reason"], "ImagePullBackOff");
    assert_eq!(pull["finished_at"], Value::Null);
    assert_eq!(
        lines.last().unwrap()["finished_at"],
        Value::Null,
        "nulls last"
    );
    let times: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["finished_at"].as_str())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[test]
fn triage_reads_stdin_and_several_files_and_filters_namespace() {
    let text = std::fs::read(fixture("pod-oom.json")).unwrap();
    let out = run_stdin(
        &[
            "triage",
            "--from-file",
            "-",
            "--from-file",
            &fixture("pod-init.json"),
            "--json",
        ],
        &text,
    );
    assert!(out.status.success());
    assert_eq!(json_lines(&out).len(), 2);
    let out = ktui(&[
        "triage",
        "--from-file",
        &fixture("podlist.json"),
        "-n",
        "demo",
        "--json",
    ])
    .output()
    .unwrap();
    let lines = json_lines(&out);
    assert!(!lines.is_empty());
    assert!(lines.iter().all(|l| l["namespace"] == "demo"));
}

#[test]
fn triage_evicted_pods_from_a_real_cluster_dump() {
    let out = ktui(&[
        "triage",
        "--from-file",
        &fixture("external/kdash/pods.json"),
        "--json",
    ])
    .output()
    .unwrap();
    let lines = json_lines(&out);
    let evicted: Vec<_> = lines
        .iter()
        .filter(|l| l["category"] == "evicted")
        .collect();
    assert_eq!(evicted.len(), 2);
    for e in evicted {
        for k in ["container", "init", "exit_code", "signal", "restarts"] {
            assert_eq!(e[k], Value::Null, "{k}");
        }
    }
    let seg = lines.iter().find(|l| l["exit_code"] == 139).unwrap();
    assert_eq!(seg["signal"], 11);
}

#[test]
fn triage_text_table_without_json() {
    let out = ktui(&["triage", "--from-file", &fixture("pod-init.json")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Init:Error"), "{text}");
}

#[test]
fn malformed_input_exits_1_with_position_and_no_stdout() {
    let out = run_stdin(
        &["triage", "--from-file", "-", "--json"],
        b"{\n  \"kind\": \"Pod\",\n  oops\n}",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("-:3:3: "), "{err}");
    // A good file followed by a bad one: still nothing on stdout.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"kind\":\"PodList\",\"items\":[{\"kind\":\"Pod\",\"status\":{\"phase\":5}}]}",
    )
    .unwrap();
    let out = ktui(&[
        "triage",
        "--from-file",
        &fixture("pod-oom.json"),
        "--from-file",
        bad.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with(&format!("{}:1:", bad.display())), "{err}");
    let out = ktui(&["triage", "--from-file", "/nonexistent.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

fn kubeconfig(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: blackhole\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: blackhole\n  context:\n    cluster: c\n    user: u\n    namespace: prod\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    path
}

fn assert_no_cluster(args: &[&str], server: &str) {
    let start = Instant::now();
    let out = ktui(args).output().unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(err.contains("'blackhole'"), "context named: {err}");
    assert!(err.contains(server), "server named: {err}");
    assert!(err.contains("--demo"), "suggests --demo: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_cluster_refused_port_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on: bind then drop.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("https://127.0.0.1:{port}");
    let kc = kubeconfig(dir.path(), &server);
    assert_no_cluster(&["--kubeconfig", kc.to_str().unwrap()], &server);
    assert_no_cluster(
        &["triage", "--kubeconfig", kc.to_str().unwrap(), "--json"],
        &server,
    );
}

#[test]
fn no_cluster_silent_server_exits_3_after_the_version_timeout() {
    let dir = tempfile::tempdir().unwrap();
    // Accepts connections and never answers: the 5 s GET /version deadline must fire.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let end = Instant::now() + Duration::from_secs(12);
        while Instant::now() < end {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let kc = kubeconfig(dir.path(), &server);
    let out_start = Instant::now();
    assert_no_cluster(&["--kubeconfig", kc.to_str().unwrap()], &server);
    assert!(
        out_start.elapsed() >= Duration::from_secs(4),
        "should wait for the deadline"
    );
    drop(held);
}

#[test]
fn missing_kubeconfig_suggests_demo() {
    let out = ktui(&["--kubeconfig", "/nonexistent/kc"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/kc") && err.contains("--demo"),
        "{err}"
    );
}

#[test]
fn bad_theme_is_a_clear_error() {
    let out = ktui(&["--demo", "--theme", "neon"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown theme 'neon'"));
}

/// A keys file with a mistake stops the console before it takes the terminal, like a bad
/// theme: exit 1 and the typed message naming the file, pane, command and what is allowed.
#[test]
fn bad_keys_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[table]\nopen_logs = [\"shift-l\"]\n").unwrap();
    let bad = bad.to_str().unwrap();
    let start = Instant::now();
    let out = ktui(&["--demo", "--keys", bad]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "ktui: keys file {bad}: [table] open_logs: \"shift-l\" is not a key"
        )) && err.contains("ctrl-<letter>"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(10));
    // The same from KTUI_KEYS, and a conflict is named with both commands.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[table]\nopen_logs = [\"d\"]\n",
    )
    .unwrap();
    let out = ktui(&["--demo"]).env("KTUI_KEYS", bad).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("[table] key \"d\" is bound to both open_detail and open_logs"),
        "{err}"
    );
    let out = ktui(&["--demo", "--keys", "/nonexistent/keys.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read keys file /nonexistent/keys.toml")
    );
}

#[test]
fn a_bare_theme_name_that_is_a_file_here_is_read_as_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("neon"), "crashd = \"red\"\n").unwrap();
    let out = ktui(&["--demo", "--theme", "neon"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // The file's own mistake is reported, not "unknown theme".
    assert!(err.contains("'crashd'"), "{err}");
}

#[test]
fn triage_demo_lists_the_demo_cluster_without_a_kubeconfig() {
    let out = ktui(&["triage", "--demo", "--json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert!(
        lines
            .iter()
            .any(|l| l["reason"] == "OOMKilled" && l["exit_code"] == 137 && l["signal"] == 9),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l["category"] == "evicted"));
    // -n narrows to one namespace.
    let out = ktui(&["triage", "--demo", "-n", "payments", "--json"])
        .output()
        .unwrap();
    let lines = json_lines(&out);
    assert!(!lines.is_empty() && lines.iter().all(|l| l["namespace"] == "payments"));
}

/// A hostile dump: C1 controls (CSI U+009B, which some terminals obey like ESC [), DEL and bidi
/// overrides in the fields `--json` prints.
fn hostile_pod() -> Value {
    let mut pod: Value =
        serde_json::from_slice(&std::fs::read(fixture("pod-oom.json")).unwrap()).unwrap();
    pod["metadata"]["namespace"] = Value::from("ns\u{9b}31m");
    pod["spec"]["nodeName"] = Value::from("node\u{202e}1-\u{7f}");
    let status = &mut pod["status"]["containerStatuses"][0];
    let reason = if status["lastState"]["terminated"].is_object() {
        &mut status["lastState"]["terminated"]["reason"]
    } else {
        &mut status["state"]["terminated"]["reason"]
    };
    *reason = Value::from("OOM\u{85}Killed\u{2066}");
    pod
}

#[test]
fn triage_json_escapes_c1_controls_and_bidi_overrides() {
    let pod = hostile_pod();
    let out = run_stdin(
        &["triage", "--from-file", "-", "--json"],
        pod.to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    for raw in ['\u{9b}', '\u{85}', '\u{7f}', '\u{202e}', '\u{2066}'] {
        assert!(!text.contains(raw), "raw U+{:04X} in {text:?}", raw as u32);
    }
    for escaped in ["\\u009b", "\\u0085", "\\u007f", "\\u202e", "\\u2066"] {
        assert!(text.contains(escaped), "{escaped} missing from {text}");
    }
    // Still JSON that reads back to the original text.
    let line = &json_lines(&out)[0];
    assert_eq!(line["namespace"], "ns\u{9b}31m");
    assert_eq!(line["node"], "node\u{202e}1-\u{7f}");
    assert_eq!(line["reason"], "OOM\u{85}Killed\u{2066}");
}

#[test]
fn triage_error_messages_neutralise_escapes_in_file_names() {
    let dir = tempfile::tempdir().unwrap();
    // A parse error: `FILE:LINE:COL: message`.
    let bad = dir.path().join("evil\u{1b}]0;owned\u{7}\u{9b}2J.json");
    std::fs::write(&bad, "{\"kind\": oops}").unwrap();
    // A file that cannot be read.
    let missing = dir.path().join("gone\u{1b}[2J.json");
    for (path, what) in [(&bad, "expected value"), (&missing, "cannot read")] {
        let out = ktui(&["triage", "--from-file", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(what), "{err}");
        assert!(
            !err.contains(['\u{1b}', '\u{7}', '\u{9b}']),
            "raw control characters on stderr: {err:?}"
        );
        assert!(
            err.contains("␛"),
            "the escape is shown as a placeholder: {err}"
        );
    }
}

#[test]
fn triage_says_what_is_wrong_with_json_that_is_not_an_object() {
    let pod = std::fs::read_to_string(fixture("pod-oom.json")).unwrap();
    let cases: [(String, &str); 6] = [
        ("[]".into(), "a JSON array is not a Kubernetes object"),
        (
            format!("[{pod}]"),
            "a JSON array is not a Kubernetes object",
        ),
        (
            "\"pods\"".into(),
            "a JSON string is not a Kubernetes object",
        ),
        ("42".into(), "a JSON number is not a Kubernetes object"),
        ("true".into(), "a JSON boolean is not a Kubernetes object"),
        // Inside a List the item's own position is named.
        (
            "{\"kind\":\"List\",\"items\":[\n  null\n]}".into(),
            "a JSON null is not a Kubernetes object",
        ),
    ];
    for (input, want) in cases {
        let out = run_stdin(&["triage", "--from-file", "-", "--json"], input.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(want), "{input:.40}: {err}");
        assert!(
            err.contains("kubectl get pods -o json"),
            "says what works: {err}"
        );
        for internal in [
            "invalid length",
            "invalid type",
            "struct Header",
            "expected struct",
        ] {
            assert!(!err.contains(internal), "serde internals: {err}");
        }
        let at = if input.starts_with("{\"kind\":\"List\"") {
            "-:2:3: "
        } else {
            "-:1:1: "
        };
        assert!(err.starts_with(at), "{err}");
    }
}
