//! Shared by the end-to-end tests that run the real helper.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod netns;
pub mod podman;

use std::path::PathBuf;

/// `target/<profile>/ktui-helper`, built when missing.
pub fn helper_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let bin = dir.join("ktui-helper");
    if !bin.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "-p", "ktui-helper", "--bin", "ktui-helper"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p ktui-helper failed");
    }
    assert!(bin.is_file(), "no helper binary at {}", bin.display());
    bin
}

/// Why eBPF tracing cannot run here, if it cannot.
pub fn ebpf_unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        return Some("needs root (CAP_BPF + CAP_PERFMON)".into());
    }
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return Some("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
    }
    if !std::path::Path::new("/sys/kernel/tracing/events").is_dir()
        && !std::path::Path::new("/sys/kernel/debug/tracing/events").is_dir()
    {
        return Some("tracefs is not mounted".into());
    }
    None
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}

/// Why a test that needs root cannot run here (None: it can).
pub fn needs_root(what: &str) -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    (unsafe { libc_geteuid() } != 0).then(|| format!("needs root ({what})"))
}

/// Skip the test (true) when `why` is Some, saying so; under CI=true, fail instead.
pub fn skip_unless(test: &str, why: Option<String>) -> bool {
    let Some(why) = why else { return false };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    note_skip(&format!("{test}: {why}"));
    true
}

/// Say why a test was skipped: on stderr (shown with --nocapture) and appended to the file
/// `KTUI_SKIP_LOG` names, which scripts/test.sh prints after the run (libtest hides the
/// output of passing tests, and a skipped test passes).
pub fn note_skip(line: &str) {
    eprintln!("SKIPPED {line}");
    if let Some(path) = std::env::var_os("KTUI_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        use std::io::Write as _;
        let _ = writeln!(f, "{line}");
    }
}

/// The app drawn on a `w`×`h` test terminal, as text.
pub fn screen(app: &mut ktui::app::App, w: u16, h: u16) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.dispatch(ktui::action::Action::Resize(w, h));
    app.draw(&mut term, &ktui::config::theme::Theme::default())
        .unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// A fake API server over HTTPS and a `KubeCluster` connected to it through a generated
/// kubeconfig (kept in `_dir`).
pub struct Setup {
    pub server: ktui_fake_apiserver::FakeApiServer,
    pub cluster: ktui::cluster::kube::KubeCluster,
    /// A kubeconfig naming the fake server (for the binary).
    pub kubeconfig: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Setup {
    pub async fn start(store: ktui_fake_apiserver::Store) -> Setup {
        use ktui::cluster::kube::{ConnectOptions, KubeCluster};
        let server = ktui_fake_apiserver::FakeApiServer::start(store)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = server.write_kubeconfig(dir.path()).unwrap();
        let cluster = KubeCluster::connect(&ConnectOptions {
            kubeconfig: Some(kubeconfig.clone()),
            ..ConnectOptions::default()
        })
        .await
        .unwrap();
        Setup {
            server,
            cluster,
            kubeconfig,
            _dir: dir,
        }
    }

    pub fn store(&self) -> ktui_fake_apiserver::Store {
        self.server.store()
    }
}

/// Type `keys` (`\n` = Enter, `\x1b` = Esc).
pub fn press(app: &mut ktui::app::App, keys: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        app.dispatch(ktui::action::Action::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        )));
    }
}

/// Drive the app (ticking its clock) until `cond` holds, or fail after `secs` naming `what`.
pub async fn app_until(
    app: &mut ktui::app::App,
    what: &str,
    secs: u64,
    cond: impl Fn(&ktui::app::App) -> bool,
) {
    use std::time::{Duration, Instant};
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        app.state.prepare_frame();
        if cond(app) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status {:?}, toasts {:?}",
            app.state.helper.status,
            app.state.toasts
        );
        app.dispatch(ktui::action::Action::Tick(jiff::Timestamp::now()));
        app.settle(Duration::from_millis(50)).await;
    }
}

/// A case for a test console, under cargo's tmp dir for tests: a fresh directory each call,
/// the id always `test` (so what the status bar shows does not depend on the order tests run).
pub fn test_case() -> ktui::case::Case {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "cases-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let config = ktui::case::CaseConfig {
        demo: true,
        ..ktui::case::CaseConfig::new("demo", "demo")
    };
    ktui::case::Case::open(&dir, Some("test"), &config).unwrap()
}

/// Let the work in flight (evidence being written into the case) finish, then settle.
pub async fn settle_work(app: &mut ktui::app::App, quiet: std::time::Duration) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        app.settle(quiet).await;
        if app.unfinished().is_empty() || std::time::Instant::now() > deadline {
            app.settle(quiet).await;
            return;
        }
    }
}

/// Why a test that needs these commands cannot run: the first one not on PATH.
pub fn missing_tool(tools: &[&str]) -> Option<String> {
    tools
        .iter()
        .find(|t| {
            !std::process::Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(|t| format!("{t} is not installed"))
}

/// Run `cmd args` in `dir`: whether it succeeded, and its stdout then stderr.
pub fn run_in(dir: &std::path::Path, cmd: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(cmd)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `dir/helper.sh`, executable: runs the real helper binary after the shell lines `first`
/// (`""`, or `[ "$1" = serve ] && exit 3\n`) with `env` exported — what the fake API server
/// runs for the helper's exec (`Store::map_exec`).
pub fn helper_wrapper(
    dir: &std::path::Path,
    first: &str,
    env: &[(&str, &std::path::Path)],
) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.display()))
        .collect();
    let script = dir.join("helper.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{first}{exports}exec '{}' \"$@\"\n",
            helper_binary().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// A running, Ready helper pod of `image` on `node`, where the console looks for it
/// (`ktui-system/ktui-helper-<node>`). `variant`: the variant label and the capabilities
/// annotation it records (None: the default helper).
pub fn helper_pod(node: &str, image: &str, variant: Option<(&str, &str)>) -> serde_json::Value {
    let mut labels = serde_json::json!({
        "app.kubernetes.io/name": "ktui-helper", "app.kubernetes.io/managed-by": "ktui"
    });
    let mut annotations = serde_json::json!({});
    if let Some((name, capabilities)) = variant {
        labels["ktui.dev/variant"] = serde_json::json!(name);
        annotations["ktui.dev/capabilities"] = serde_json::json!(capabilities);
    }
    let container = ktui::helper::manifest::CONTAINER;
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": ktui::helper::manifest::pod_name(node),
                     "namespace": ktui::helper::manifest::DEFAULT_NAMESPACE,
                     "uid": "h-1", "labels": labels, "annotations": annotations},
        "spec": {"nodeName": node, "containers": [{"name": container, "image": image}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": container, "image": image, "imageID": "", "ready": true,
            "restartCount": 0, "state": {"running": {}}}]}
    })
}

/// `shop/web-1` (its container `app` running, Ready) on `node`, with `uid`.
pub fn web_pod(node: &str, uid: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": uid},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "web:1"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "web:1", "imageID": "", "ready": true, "started": true,
            "restartCount": 0, "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}]},
    })
}

/// A key (no modifiers) into the app.
pub fn key(app: &mut ktui::app::App, code: crossterm::event::KeyCode) {
    use crossterm::event::{KeyEvent, KeyModifiers};
    app.dispatch(ktui::action::Action::Key(KeyEvent::new(
        code,
        KeyModifiers::NONE,
    )));
}

/// Run `cmd` with `sh -c`; fail with its output unless it succeeds.
pub fn sh(cmd: &str) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The rows and columns of the box whose title starts with `title`.
pub fn dialog_box(text: &str, title: &str) -> String {
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let title: Vec<char> = format!("┌ {title}").chars().collect();
    let (top, left) = rows
        .iter()
        .enumerate()
        .find_map(|(y, r)| {
            (0..r.len().saturating_sub(title.len()))
                .find(|&x| r[x..x + title.len()] == title[..])
                .map(|x| (y, x))
        })
        .unwrap_or_else(|| panic!("no box {title:?} in:\n{text}"));
    let right = (left + 1..rows[top].len())
        .find(|&x| rows[top][x] == '┐')
        .unwrap();
    let mut out = String::new();
    for r in &rows[top..] {
        out.extend(&r[left..=right]);
        out.push('\n');
        if r[left] == '└' {
            break;
        }
    }
    out
}

/// A `web` Deployment's pod (ReplicaSet `web-6d4`) in CrashLoopBackOff on worker-1, the same
/// crash whatever its name, with `annotations`.
pub fn crashed_web_pod(name: &str, annotations: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"),
            "labels": {"app": "web", "pod-template-hash": "6d4"},
            "annotations": annotations,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4",
                "uid": "rs-uid", "controller": true}]},
        "spec": {"nodeName": "worker-1",
            "containers": [{"name": "app", "image": "registry.example/shop/web:1.4"}]},
        "status": {"phase": "Running",
            "containerStatuses": [{"name": "app", "image": "registry.example/shop/web:1.4",
                "imageID": "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
                "containerID": "containerd://1", "ready": false, "started": false,
                "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                    "startedAt": "2026-11-20T09:58:01Z", "finishedAt": "2026-11-20T09:58:10Z"}}}]},
    })
}
