//! `ktui checkpoint create --fetch` and `--snapshot` end to end, through the fake API server:
//! its kubelet writes a real checkpoint archive (the fixture) into a node directory, and its
//! exec runs the real `ktui-helper` (behind a wrapper pointing it at that directory and at a
//! kubelet-style cgroup tree), so the archive and a live snapshot of a real process come into
//! the case with their SHA-256 checked.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{Setup, needs_root, skip_unless};
use ktui::helper::manifest::BINARY;
use ktui_fake_apiserver::{CheckpointKubelet, KubeletCheckpoint, Store};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const NODE: &str = "worker-1";
const CID: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const FIXTURE: &str = "tests/fixtures/checkpoint/checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar";

fn sha_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

/// `shop/web-1` (container `app`, running, runtime id [`CID`]) and a ready helper on
/// worker-1, of the `variant` (None: the default helper).
fn store(variant: Option<&str>) -> Store {
    let store = Store::new();
    store.add_namespace("shop");
    store.add_namespace("ktui-system");
    store.add_node(NODE, "amd64");
    store.apply(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop", "uid": "uid-web-1"},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "registry.example/shop/web:1.4"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": "app", "image": "registry.example/shop/web:1.4",
            "imageID": "registry.example/shop/web@sha256:1111111111111111111111111111111111111111111111111111111111111111",
            "containerID": format!("containerd://{CID}"),
            "ready": true, "started": true, "restartCount": 0,
            "state": {"running": {"startedAt": "2026-11-20T09:00:00Z"}}}]}
    }));
    store.apply(common::helper_pod(
        NODE,
        "ktui-helper:t",
        variant.map(|v| (v, "BPF,PERFMON,SYS_PTRACE,NET_ADMIN,DAC_READ_SEARCH,SYSLOG")),
    ));
    store
}

/// The node: its checkpoint directory and cgroup tree (in a temp dir), and the wrapper the
/// fake API server runs for `/ktui-helper`.
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
        Node { dir }
    }

    fn checkpoints(&self) -> PathBuf {
        self.dir.path().join("checkpoints")
    }

    fn cgroups(&self) -> PathBuf {
        self.dir.path().join("cgroup")
    }

    /// A containerd-on-systemd cgroup for [`CID`] holding `pid`.
    fn container_cgroup(&self, pid: u32) {
        let dir = self.cgroups().join(format!(
            "kubepods.slice/kubepods-pod_uid_web_1.slice/cri-containerd-{CID}.scope"
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cgroup.procs"), format!("{pid}\n")).unwrap();
    }

    fn wrapper(&self) -> PathBuf {
        common::helper_wrapper(
            self.dir.path(),
            "",
            &[
                ("KTUI_CHECKPOINT_DIR", &self.checkpoints()),
                ("KTUI_CGROUP_ROOT", &self.cgroups()),
            ],
        )
    }
}

struct Cli {
    cases: tempfile::TempDir,
}

impl Cli {
    fn new() -> Self {
        Cli {
            cases: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
        c.args(["checkpoint", "create"])
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("KTUI_CASES_DIR", self.cases.path())
            .env("USER", "ci-user")
            .stdin(Stdio::null());
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    fn custody(&self) -> Vec<Value> {
        let dir = std::fs::read_dir(self.cases.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        std::fs::read_to_string(dir.join("custody.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

async fn start(node: &Node, variant: Option<&str>) -> Setup {
    let store = store(variant);
    store.set_checkpoint_kubelet(
        NODE,
        CheckpointKubelet::new(KubeletCheckpoint::WriteInto {
            dir: node.checkpoints(),
            archive: PathBuf::from(FIXTURE),
        }),
    );
    store.map_exec(BINARY, node.wrapper());
    Setup::start(store).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_brings_the_kubelet_archive_into_the_case_verified_and_leaves_the_node_copy() {
    let node = Node::new();
    let setup = start(&node, None).await;
    let cli = Cli::new();
    let out = cli
        .run(&setup.kubeconfig, &["web-1", "-n", "shop", "--fetch"])
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "node path, local path, sha256: {stdout}");
    let node_path = Path::new(lines[0]);
    assert!(node_path.starts_with(node.checkpoints()), "{stdout}");
    let local = Path::new(lines[1]);
    assert!(
        local
            .to_string_lossy()
            .contains("/artifacts/shop/web-1/checkpoints/checkpoint-web-1_shop-app-"),
        "{stdout}"
    );
    // The copy is the fixture, byte for byte, and the printed hash is its hash.
    let want = sha_file(Path::new(FIXTURE));
    assert_eq!(sha_file(local), want);
    assert_eq!(lines[2], format!("sha256 {want}"));
    // No terminal to ask on: the node's copy stays, and ktui says so.
    assert!(node_path.is_file());
    assert!(stderr.contains("is still on node worker-1"), "{stderr}");
    // The fetched copy reads as the checkpoint it is.
    let inspect = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["checkpoint", "inspect", "--json"])
        .arg(local)
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let report: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(report["kind"], "criu");
    assert_eq!(report["container"]["name"], "ktapp");
    let custody = cli.custody();
    let fetch = custody.iter().find(|l| l["action"] == "fetch").unwrap();
    assert_eq!(fetch["result"], "ok", "{fetch}");
    assert!(
        custody.iter().any(|l| l["action"] == "checkpoint"),
        "{custody:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_node_copy_needs_the_snapshot_helper_and_then_deletes_it() {
    let node = Node::new();
    let setup = start(&node, None).await;
    let cli = Cli::new();
    let args = ["web-1", "-n", "shop", "--fetch", "--remove-from-node"];
    let out = cli.run(&setup.kubeconfig, &args).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lacks DAC_READ_SEARCH, SYSLOG") && stderr.contains("--deploy-helper"),
        "{stderr}"
    );

    let node = Node::new();
    let setup = start(&node, Some("snapshot")).await;
    let cli = Cli::new();
    let out = cli.run(&setup.kubeconfig, &args).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let node_path = Path::new(stdout.lines().next().unwrap());
    assert!(!node_path.exists(), "removed from the node: {stderr}");
    assert!(stderr.contains("removed"), "{stderr}");
    let custody = cli.custody();
    let removed = custody
        .iter()
        .find(|l| l["action"] == "remove_node_file")
        .unwrap();
    assert_eq!(removed["result"], "ok", "{removed}");
}

/// A process (static busybox sh) holding `secret` in memory, read from a pipe: never on disk.
struct Holder {
    child: std::process::Child,
}

impl Holder {
    fn start(secret: &str) -> Holder {
        let mut child = Command::new("busybox")
            .args(["sh", "-c", "read s; echo ready; while :; do sleep 1; done"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.as_mut().unwrap(), "{secret}").unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready");
        Holder { child }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_snapshot_of_a_real_process_comes_into_the_case_with_its_secret() {
    let test = "a_live_snapshot_of_a_real_process_comes_into_the_case_with_its_secret";
    let why = needs_root("reading another process's memory")
        .or_else(|| common::missing_tool(&["busybox", "tar", "grep"]));
    if skip_unless(test, why) {
        return;
    }
    let secret = format!("ktui-secret-{}", hex::encode(rand_bytes()));
    let holder = Holder::start(&secret);
    let node = Node::new();
    node.container_cgroup(holder.child.id());
    let setup = start(&node, Some("snapshot")).await;
    let cli = Cli::new();
    let out = cli
        .run(&setup.kubeconfig, &["web-1", "-n", "shop", "--snapshot"])
        .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stderr.contains("not a CRIU image"), "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "local path, sha256: {stdout}");
    let local = Path::new(lines[0]);
    assert!(
        local
            .to_string_lossy()
            .contains("/artifacts/shop/web-1/snapshots/snapshot-web-1_shop-app-"),
        "{stdout}"
    );
    assert_eq!(lines[1], format!("sha256 {}", sha_file(local)));
    // An independent look: GNU tar extracts it, grep finds the secret in the memory dump.
    let x = tempfile::tempdir().unwrap();
    let (ok, msg) = common::run_in(x.path(), "tar", &["-xf", &local.to_string_lossy()]);
    assert!(ok, "{msg}");
    let doc: Value =
        serde_json::from_slice(&std::fs::read(x.path().join("snapshot.json")).unwrap()).unwrap();
    assert_eq!(doc["kind"], "ktui-live-snapshot");
    assert_eq!(doc["container"]["name"], "app");
    assert_eq!(doc["container"]["pod"], "web-1");
    assert_eq!(doc["container"]["id"], CID);
    let pid = holder.child.id();
    assert!(
        doc["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == pid),
        "{doc}"
    );
    let grep = Command::new("grep")
        .args(["-rabo", &secret, "memory"])
        .current_dir(x.path())
        .output()
        .unwrap();
    let hits = text(&grep.stdout);
    assert!(
        hits.lines()
            .any(|l| l.starts_with(&format!("memory/{pid}/"))),
        "the secret is in the process's memory dump: {hits}"
    );
    // `ktui checkpoint inspect --grep` on the case's copy finds exactly those occurrences.
    let mut want: Vec<(String, u64)> = hits
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, ':');
            let file = f.next().unwrap().to_string();
            (file, f.next().unwrap().parse().unwrap())
        })
        .collect();
    want.sort();
    let inspect = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["checkpoint", "inspect", "--json", "--grep", &secret])
        .arg(local)
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", text(&inspect.stderr));
    let report: Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(report["kind"], "snapshot");
    let mut got: Vec<(String, u64)> = report["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert_eq!(m["pid"], pid, "{m}");
            (
                m["file"].as_str().unwrap().to_string(),
                m["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(got, want);
    let custody = cli.custody();
    let fetch = custody.iter().find(|l| l["action"] == "fetch").unwrap();
    assert_eq!(fetch["result"], "ok", "{fetch}");
}

fn rand_bytes() -> [u8; 12] {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).unwrap();
    b
}
