//! What a user meets when the cluster side misbehaves: a kubeconfig that does not parse, a
//! credential plugin that hangs or fails, an endless or hostile response body, a proxy's page
//! where the API should answer. The binary runs against the fake API server; each cause must get
//! its own message, never a secret, never raw control characters, never unbounded memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt as _;
use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::cluster::{Cluster, ConnectionState, PodEvent, Scope};
use ktui_fake_apiserver::{Canned, FakeApiServer, Store};

const SECRET_ENV: &str = "ktui-test-env-secret-5f2d";

fn pod(ns: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": format!("uid-{name}")},
        "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        "status": {"phase": "Running"}
    })
}

fn store() -> Store {
    let store = Store::new();
    store.add_namespace("default");
    store.apply(pod("default", "web-1"));
    store
}

/// `ktui ARGS` with `KUBECONFIG` set, output collected (run off the test's runtime).
async fn ktui(kubeconfig: &Path, args: &[&str]) -> (i32, String, String, Duration) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_ktui"));
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("ktui did not exit within 120 s")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// The fake server's kubeconfig with its token user replaced by an exec plugin running `script`.
fn exec_kubeconfig(server: &FakeApiServer, dir: &Path, script: &str) -> PathBuf {
    let plugin = dir.join("credential-plugin");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = server.kubeconfig_yaml().replace(
        &format!("    token: {}\n", server.token()),
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: Never\n      env:\n      - name: KTUI_TEST_SECRET\n        value: {SECRET_ENV}\n",
            plugin.display()
        ),
    );
    assert!(yaml.contains("exec:"), "{yaml}");
    let path = dir.join("kubeconfig");
    std::fs::write(&path, yaml).unwrap();
    path
}

fn credential(token: &str, extra: &str) -> String {
    format!(
        "printf '%s' '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"{extra}}}}}'"
    )
}

fn assert_clean(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters reached the terminal: {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubeconfig_parse_errors_name_file_line_and_key_but_never_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: SECRETTOKEN-77aa\n      bad: [\n",
    )
    .unwrap();
    let (code, _, err, _) = ktui(&path, &["triage"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(!err.contains("SECRETTOKEN"), "{err}");
    assert!(err.contains(&format!("{}:7:", path.display())), "{err}");
    assert!(err.contains("users[].user.token"), "{err}");
    // Not a network problem.
    assert!(!err.contains("VPN"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exec_plugin_provides_and_refreshes_the_token() {
    let server = FakeApiServer::start(store()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // Expires at once: every request needs a fresh run (a refresh), never the terminal.
    let script = format!(
        "echo run >> {}\n{}",
        runs.display(),
        credential(
            server.token(),
            ",\"expirationTimestamp\":\"2000-01-01T00:00:00Z\""
        )
    );
    let kubeconfig = exec_kubeconfig(&server, dir.path(), &script);
    let (code, out, err, _) = ktui(&kubeconfig, &["triage", "-A", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "", "no crash in the store");
    let n = std::fs::read_to_string(&runs).unwrap().lines().count();
    assert!(
        n >= 2,
        "the plugin ran {n} times: expired tokens must be refreshed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_exec_plugin_is_stopped_at_its_deadline_and_named() {
    let server = FakeApiServer::start(store()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("echo $$ > {}\nexec sleep 100", pidfile.display());
    let kubeconfig = exec_kubeconfig(&server, dir.path(), &script);
    let (code, _, err, took) = ktui(&kubeconfig, &["--exec-timeout", "1s", "triage"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(err.contains("`credential-plugin`"), "{err}");
    assert!(err.contains("within 1 s"), "{err}");
    assert!(err.contains("--exec-timeout"), "{err}");
    assert!(!err.contains(SECRET_ENV), "{err}");
    assert!(!err.contains("VPN"), "{err}");
    // Killed, not left behind.
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let proc = PathBuf::from(format!("/proc/{}", pid.trim()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while proc.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let zombie = std::fs::read_to_string(proc.join("stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true);
    assert!(zombie, "the plugin (pid {}) still runs", pid.trim());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_exec_plugin_never_prints_its_output_or_environment() {
    let server = FakeApiServer::start(store()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{}\necho 'error: the SSO session expired eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJrdHVpIn0.c2lnbmF0dXJl' >&2\nenv >&2\nexit 4",
        credential("leaked-token-value", "")
    );
    let kubeconfig = exec_kubeconfig(&server, dir.path(), &script);
    let (code, _, err, _) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("exit code 4"), "{err}");
    assert!(err.contains("SSO session expired"), "{err}");
    for secret in ["leaked-token-value", "eyJhbGci", SECRET_ENV] {
        assert!(!err.contains(secret), "{secret} in {err}");
    }
    // Garbage instead of a credential: said so, not quoted.
    let kubeconfig = exec_kubeconfig(&server, dir.path(), "echo 'token=abc-secret-garbage'");
    let (code, _, err, _) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no usable credential"), "{err}");
    assert!(!err.contains("abc-secret-garbage"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_list_body_stops_at_the_bound_naming_the_url() {
    let store = store();
    store.respond_with("/api/v1/namespaces/default/pods", Canned::Endless);
    let server = FakeApiServer::start(store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cluster = KubeCluster::connect(&ConnectOptions {
        kubeconfig: Some(server.write_kubeconfig(dir.path()).unwrap()),
        response_limit: 4 * 1024 * 1024,
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let mut events = cluster.watch_pods(Scope::Namespace("default".into()));
    let reason = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(ev) = events.next().await {
            if let PodEvent::Connection(ConnectionState::Reconnecting { reason }) = ev {
                return reason;
            }
        }
        panic!("the watch ended")
    })
    .await
    .expect("no error within 30 s: the endless body is being held");
    assert!(
        reason.contains("GET /api/v1/namespaces/default/pods") && reason.contains("4 MiB"),
        "{reason}"
    );
    assert!(!reason.contains("cannot reach"), "{reason}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_bound_ends_an_endless_body_through_the_binary() {
    let store = store();
    store.respond_with("/api/v1/namespaces/default/pods", Canned::Endless);
    let server = FakeApiServer::start(store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
    let (code, _, err, took) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("grew beyond 256 MiB"), "{err}");
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn error_bodies_are_sanitised_and_cut() {
    let store = store();
    let mut html = b"<html>\x1b]0;pwned\x07\x1b[2J<body>502 Bad Gateway \xc2\x9b31m".to_vec();
    html.extend(std::iter::repeat_n(b'x', 20 * 1024 * 1024));
    store.respond_with(
        "/api/v1/namespaces/default/pods",
        Canned::Body {
            status: 500,
            content_type: "text/html",
            body: Bytes::from(html),
        },
    );
    let server = FakeApiServer::start(store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
    let (code, _, err, _) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 1, "{err}");
    assert_clean(&err);
    assert!(err.contains("502 Bad Gateway"), "{err}");
    assert!(err.len() < 4096, "{} bytes on stderr", err.len());
    assert!(err.contains("more bytes not shown"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_that_is_not_the_api_is_not_called_unreachable() {
    // A login page answering for the API server at /version.
    let store = store();
    store.respond_with(
        "/version",
        Canned::Body {
            status: 200,
            content_type: "text/html",
            body: Bytes::from_static(b"<html><body>Sign in to continue</body></html>"),
        },
    );
    let server = FakeApiServer::start(store).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
    let (code, _, err, _) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("did not answer GET /version like a Kubernetes API server"),
        "{err}"
    );
    assert!(!err.contains("cannot connect"), "{err}");
    assert!(!err.contains("VPN"), "{err}");

    // Garbage for a list, once connected.
    let store = self::store();
    store.respond_with(
        "/api/v1/namespaces/default/pods",
        Canned::Body {
            status: 200,
            content_type: "application/json",
            body: Bytes::from_static(b"{\"kind\": \"PodList\", \"items\": 42}"),
        },
    );
    let server = FakeApiServer::start(store).await.unwrap();
    let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
    let (code, _, err, _) = ktui(&kubeconfig, &["triage"]).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sent an answer ktui cannot read"), "{err}");
    assert!(!err.contains("cannot reach"), "{err}");
}
