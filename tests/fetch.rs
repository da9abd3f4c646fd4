//! Fetching files off the node through the real helper binary over the fake API server's exec
//! (real HTTPS, real WebSocket, real local processes): a verified copy lands in the case with
//! its transfer record and `fetch` custody line; a corrupted chunk is caught and the `.partial`
//! kept; a cut connection resumes from the bytes on disk to the right hash; paths outside the
//! helper's directories are refused; `rm` removes inside them only, and says what to do on a
//! read-only mount.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{Setup, helper_binary};
use ktui::case::custody::CUSTODY_FILE;
use ktui::cluster::PodKey;
use ktui::fetch::evidence::{self, Evidence, EvidenceError};
use ktui::fetch::{FetchError, FetchOptions, RemoveError, Transfer, fetch_file_with};
use ktui::helper::manifest::{BINARY, CONTAINER};
use ktui_fake_apiserver::Store;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

const NODE: &str = "node-1";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The node's directories (in a temp dir) and the helper binary behind a wrapper that points
/// the helper at them, plus `extra` arguments for `fetch` (test hooks) and a `prefix` command
/// (e.g. a read-only mount namespace).
struct Node {
    dir: tempfile::TempDir,
}

impl Node {
    fn new() -> Node {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
        std::fs::create_dir_all(dir.path().join("captures")).unwrap();
        Node { dir }
    }

    fn checkpoints(&self) -> PathBuf {
        self.dir.path().join("checkpoints")
    }

    /// A file of `len` bytes in the checkpoint dir (content varies with the position).
    fn stage(&self, name: &str, len: usize) -> (String, Vec<u8>) {
        let bytes: Vec<u8> = (0..len)
            .map(|i| ((i as u64).wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let path = self.checkpoints().join(name);
        std::fs::write(&path, &bytes).unwrap();
        (path.display().to_string(), bytes)
    }

    /// The wrapper the fake API server runs for `/ktui-helper`.
    fn wrapper(&self, fetch_extra: &str, prefix: &str) -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let script = self.dir.path().join(format!("helper-{n}.sh"));
        let body = format!(
            "#!/bin/sh\nexport KTUI_CHECKPOINT_DIR='{ck}'\nexport KTUI_CAPTURE_DIR='{cap}'\n\
             if [ \"$1\" = fetch ]; then set -- \"$@\" {fetch_extra}; fi\n\
             exec {prefix} '{bin}' \"$@\"\n",
            ck = self.checkpoints().display(),
            cap = self.dir.path().join("captures").display(),
            bin = helper_binary().display(),
        );
        std::fs::write(&script, body).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }
}

fn helper_pod() -> PodKey {
    PodKey::new("ktui-system", "ktui-helper-node-1")
}

fn the_pod() -> PodKey {
    PodKey::new("shop", "web-0")
}

async fn setup(wrapper: &Path) -> Setup {
    let store = Store::new();
    store.add_namespace("ktui-system");
    store.add_namespace("shop");
    store.add_node(NODE, "amd64");
    store.apply(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ktui-helper-node-1", "namespace": "ktui-system", "uid": "h-1"},
        "spec": {"nodeName": NODE, "containers": [{"name": CONTAINER, "image": "ktui-helper:t"}]},
        "status": {"phase": "Running", "containerStatuses": [{
            "name": CONTAINER, "image": "ktui-helper:t", "imageID": "", "ready": true,
            "restartCount": 0, "state": {"running": {}}}]}
    }));
    store.map_exec(BINARY, wrapper);
    Setup::start(store).await
}

fn options() -> FetchOptions {
    FetchOptions {
        backoff: Duration::from_millis(50),
        idle_timeout: Duration::from_secs(30),
        ..FetchOptions::default()
    }
}

fn custody(case: &ktui::case::Case) -> Vec<Value> {
    std::fs::read_to_string(case.dir().join(CUSTODY_FILE))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_lands_in_the_case_verified_with_its_record_and_custody() {
    let node = Node::new();
    let name = "checkpoint-web-0_shop-app-2026-12-02T13:30:00Z.tar";
    let (node_path, bytes) = node.stage(name, 5 * 1024 * 1024 + 321);
    let s = setup(&node.wrapper("", "")).await;
    let case = common::test_case();
    let ev = Evidence {
        case: &case,
        pod: &the_pod(),
        container: "app",
        node: NODE,
        helper_pod: &helper_pod(),
        helper_container: CONTAINER,
    };
    let mut seen: Vec<(u64, Option<u64>)> = Vec::new();
    let got = evidence::fetch_checkpoint(&s.cluster, &ev, &node_path, &options(), &mut |d, t| {
        seen.push((d, t))
    })
    .await
    .unwrap();

    let want = sha(&bytes);
    assert_eq!(got.fetched.sha256, want);
    assert_eq!(got.fetched.node_sha256, want);
    assert_eq!(got.fetched.resumes, 0);
    let rel = format!("artifacts/shop/web-0/checkpoints/{name}");
    assert_eq!(got.entry.path, rel);
    assert_eq!(got.entry.sha256.as_deref(), Some(want.as_str()));
    assert_eq!(got.entry.size, bytes.len() as u64);
    assert_eq!(got.entry.source, format!("helper:{NODE}:{node_path}"));
    assert_eq!(std::fs::read(case.dir().join(&rel)).unwrap(), bytes);
    assert!(!case.dir().join(format!("{rel}.partial")).exists());
    // Progress rose to the total.
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    assert_eq!(
        seen.last(),
        Some(&(bytes.len() as u64, Some(bytes.len() as u64)))
    );

    // The transfer record beside it.
    assert_eq!(got.record.path, format!("{rel}.fetch.json"));
    let record: Value =
        serde_json::from_slice(&std::fs::read(case.dir().join(&got.record.path)).unwrap()).unwrap();
    assert_eq!(record["node"], NODE);
    assert_eq!(record["node_path"], node_path.as_str());
    assert_eq!(record["local_path"], rel.as_str());
    assert_eq!(record["bytes"], bytes.len());
    assert_eq!(record["sha256_node"], want.as_str());
    assert_eq!(record["sha256_local"], want.as_str());
    assert_eq!(record["resumes"], 0);
    assert_eq!(record["helper_pod"], "ktui-system/ktui-helper-node-1");

    // Indexed, and one `fetch` custody line naming both.
    let index = case.index().unwrap();
    assert!(index.iter().any(|e| e.path == rel && e.sealed));
    let lines = custody(&case);
    let fetch = lines.iter().find(|l| l["action"] == "fetch").unwrap();
    assert_eq!(fetch["result"], "ok");
    assert_eq!(fetch["target"], "shop/web-0/app");
    assert_eq!(fetch["artifacts"][0]["path"], rel.as_str());
    assert_eq!(fetch["artifacts"][0]["sha256"], want.as_str());
    assert_eq!(fetch["artifacts"][1]["path"], got.record.path.as_str());
    let chain = std::fs::File::open(case.dir().join(CUSTODY_FILE)).unwrap();
    ktui::case::verify_chain(std::io::BufReader::new(chain)).unwrap();

    // A second fetch of the same file gets a numbered name: evidence is never overwritten.
    let again = evidence::fetch_checkpoint(&s.cluster, &ev, &node_path, &options(), &mut |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        again.entry.path,
        "artifacts/shop/web-0/checkpoints/checkpoint-web-0_shop-app-2026-12-02T13:30:00Z-2.tar"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupted_chunk_is_caught_and_the_partial_kept() {
    let node = Node::new();
    let (node_path, bytes) = node.stage("c.tar", 3 * 1024 * 1024);
    let s = setup(&node.wrapper("--debug-flip-byte 2000000", "")).await;
    let case = common::test_case();
    let ev = Evidence {
        case: &case,
        pod: &the_pod(),
        container: "app",
        node: NODE,
        helper_pod: &helper_pod(),
        helper_container: CONTAINER,
    };
    let err = evidence::fetch_checkpoint(&s.cluster, &ev, &node_path, &options(), &mut |_, _| {})
        .await
        .unwrap_err();
    let EvidenceError::Fetch(FetchError::Mismatch {
        partial,
        expected,
        got,
        bytes: n,
        ..
    }) = &err
    else {
        panic!("not a mismatch: {err}");
    };
    assert_eq!(expected, &sha(&bytes));
    let kept = std::fs::read(partial).unwrap();
    assert_eq!(got, &sha(&kept));
    assert_eq!(*n, bytes.len() as u64);
    let differ: Vec<usize> = (0..kept.len()).filter(|&i| kept[i] != bytes[i]).collect();
    assert_eq!(differ, vec![2_000_000]);
    let msg = err.to_string();
    assert!(
        msg.contains("does not match") && msg.contains("Fetch again"),
        "{msg}"
    );
    // Not accepted: no final name, nothing indexed, the failure in custody.
    assert!(
        !case
            .dir()
            .join("artifacts/shop/web-0/checkpoints/c.tar")
            .exists()
    );
    assert!(case.index().unwrap().is_empty());
    let lines = custody(&case);
    let fetch = lines.iter().find(|l| l["action"] == "fetch").unwrap();
    assert_eq!(fetch["result"], "error");
    assert!(fetch["error"].as_str().unwrap().contains(expected.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_connection_resumes_from_the_bytes_on_disk() {
    let node = Node::new();
    let (node_path, bytes) = node.stage("big.tar", 48 * 1024 * 1024 + 7);
    let s = setup(&node.wrapper("", "")).await;
    let store = s.store();
    let dest = tempfile::tempdir().unwrap();
    let transfer = Transfer {
        helper_pod: helper_pod(),
        container: CONTAINER,
        dest_dir: dest.path(),
        final_name: "big.tar",
    };
    let cut = AtomicBool::new(false);
    let mut cut_at = 0;
    let got = fetch_file_with(
        &s.cluster,
        &transfer,
        &node_path,
        &options(),
        &mut |done, _| {
            if done >= 8 * 1024 * 1024 && !cut.swap(true, Ordering::SeqCst) {
                cut_at = done;
                store.drop_execs();
            }
        },
    )
    .await
    .unwrap();
    assert!(cut.load(Ordering::SeqCst), "the connection was never cut");
    assert_eq!(got.sha256, sha(&bytes));
    assert_eq!(got.node_sha256, sha(&bytes));
    assert!(got.resumes >= 1, "{got:?}");
    assert!(store.execs_started() >= 2);
    // It resumed past what had arrived before the cut, not from the start.
    assert!(got.resumed_at[0] >= cut_at, "{got:?} cut at {cut_at}");
    assert_eq!(std::fs::read(dest.path().join("big.tar")).unwrap(), bytes);
    assert!(!dest.path().join("big.tar.partial").exists());
}

/// A stream of unknown size cannot resume: a cut starts it again from the beginning. The
/// producer here is `ktui-helper fetch` from offset 0 (the live snapshot's producer is another
/// subcommand speaking the same framing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_stream_into_the_case_restarts_whole() {
    let node = Node::new();
    let (node_path, bytes) = node.stage("stream.tar", 24 * 1024 * 1024);
    let s = setup(&node.wrapper("", "")).await;
    let store = s.store();
    let case = common::test_case();
    let ev = Evidence {
        case: &case,
        pod: &the_pod(),
        container: "app",
        node: NODE,
        helper_pod: &helper_pod(),
        helper_container: CONTAINER,
    };
    let name = evidence::snapshot_name(&the_pod(), "app", "2026-12-02T13:30:00Z".parse().unwrap());
    assert_eq!(name, "snapshot-web-0_shop-app-20261202T133000Z.tar");
    let mut cut = false;
    let mut went_back = false;
    let mut last = 0;
    let got = evidence::fetch_snapshot(
        &s.cluster,
        &ev,
        ktui::fetch::fetch_argv(&node_path, 0),
        &name,
        &options(),
        &mut |done, _| {
            went_back |= done < last;
            last = done;
            if done >= 4 * 1024 * 1024 && !cut {
                cut = true;
                store.drop_execs();
            }
        },
    )
    .await
    .unwrap();
    assert!(cut && went_back, "the stream was not cut and restarted");
    assert_eq!(got.fetched.resumes, 1);
    assert_eq!(got.fetched.sha256, sha(&bytes));
    let rel = format!("artifacts/shop/web-0/snapshots/{name}");
    assert_eq!(got.entry.path, rel);
    assert_eq!(std::fs::read(case.dir().join(&rel)).unwrap(), bytes);
    let record: Value =
        serde_json::from_slice(&std::fs::read(case.dir().join(&got.record.path)).unwrap()).unwrap();
    assert_eq!(record["resumes"], 1);
    assert_eq!(record["node_path"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_outside_the_helpers_directories_are_refused() {
    let node = Node::new();
    let secret = node.dir.path().join("secret");
    std::fs::write(&secret, b"node secret").unwrap();
    std::os::unix::fs::symlink(&secret, node.checkpoints().join("escape.tar")).unwrap();
    let s = setup(&node.wrapper("", "")).await;
    let dest = tempfile::tempdir().unwrap();
    let inside_dotdot = format!("{}/../secret", node.checkpoints().display());
    let via_link = node.checkpoints().join("escape.tar").display().to_string();
    for (path, want) in [
        (secret.display().to_string(), "outside the directories"),
        (via_link, "outside the directories"),
        (inside_dotdot, "'..' is not allowed"),
        ("/etc/hostname".to_string(), "outside the directories"),
    ] {
        let transfer = Transfer {
            helper_pod: helper_pod(),
            container: CONTAINER,
            dest_dir: dest.path(),
            final_name: "x.tar",
        };
        let err = fetch_file_with(&s.cluster, &transfer, &path, &options(), &mut |_, _| {})
            .await
            .unwrap_err();
        assert!(
            matches!(&err, FetchError::Helper { message, .. } if message.contains(want)),
            "{path}: {err}"
        );
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0, "{path}");
    }
}

/// A helper that fails before sending anything (here: one from before `fetch` existed) is not
/// a cut: no retries, and its own words in the error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_without_fetch_fails_at_once_with_its_words() {
    let node = Node::new();
    let old = node.dir.path().join("old-helper.sh");
    std::fs::write(
        &old,
        "#!/bin/sh\necho \"error: unrecognized subcommand '$1'\" >&2\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let s = setup(&old).await;
    let dest = tempfile::tempdir().unwrap();
    let transfer = Transfer {
        helper_pod: helper_pod(),
        container: CONTAINER,
        dest_dir: dest.path(),
        final_name: "x.tar",
    };
    let path = node.checkpoints().join("x.tar").display().to_string();
    let err = fetch_file_with(&s.cluster, &transfer, &path, &options(), &mut |_, _| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::HelperFailed { .. }), "{msg}");
    assert!(
        msg.contains("unrecognized subcommand 'fetch'") && msg.contains("exited with code 2"),
        "{msg}"
    );
    assert_eq!(s.store().execs_started(), 1, "{msg}");
    assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
}

/// Why a read-only bind mount cannot be made here (a mount namespace is needed).
fn no_mount_namespace() -> Option<String> {
    let args: &[&str] = if euid() == 0 {
        &["--mount", "true"]
    } else {
        &["--mount", "--map-root-user", "true"]
    };
    match std::process::Command::new("unshare").args(args).status() {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("`unshare {}` failed ({s})", args.join(" "))),
        Err(e) => Some(format!("unshare cannot run: {e}")),
    }
}

/// This process's user id (the owner of /proc/self).
fn euid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").map_or(u32::MAX, |m| m.uid())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rm_removes_inside_the_list_only_and_explains_a_read_only_mount() {
    let node = Node::new();
    let (node_path, _) = node.stage("done.tar", 10);
    let (kept_path, _) = node.stage("kept.tar", 10);
    let outside = node.dir.path().join("outside.tar");
    std::fs::write(&outside, b"x").unwrap();
    let s = setup(&node.wrapper("", "")).await;
    let case = common::test_case();
    let ev = Evidence {
        case: &case,
        pod: &the_pod(),
        container: "app",
        node: NODE,
        helper_pod: &helper_pod(),
        helper_container: CONTAINER,
    };
    let archive = ktui::case::IndexEntry {
        path: "artifacts/shop/web-0/checkpoints/done.tar".into(),
        sha256: Some(sha(b"x")),
        size: 10,
        media_type: "application/x-tar".into(),
        captured_at: jiff::Timestamp::now(),
        source: format!("helper:{NODE}:{node_path}"),
        pod: Some("shop/web-0".into()),
        container: Some("app".into()),
        crash_signature: None,
        sealed: true,
    };

    let err = evidence::remove_from_node(&s.cluster, &ev, &outside.display().to_string(), &archive)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, EvidenceError::Remove(RemoveError::Refused { message }) if message.contains("outside")),
        "{err}"
    );
    assert!(outside.exists());

    let removed = evidence::remove_from_node(&s.cluster, &ev, &node_path, &archive)
        .await
        .unwrap();
    assert!(removed.ends_with("done.tar"), "{removed}");
    assert!(!Path::new(&node_path).exists());
    let lines = custody(&case);
    let rm: Vec<&Value> = lines
        .iter()
        .filter(|l| l["action"] == "remove_node_file")
        .collect();
    assert_eq!(rm.len(), 2);
    assert_eq!(rm[0]["result"], "error");
    assert_eq!(rm[1]["result"], "ok");
    assert_eq!(rm[1]["target"], format!("node/{NODE}"));
    assert_eq!(rm[1]["artifacts"][0]["path"], archive.path.as_str());

    // The default helper mounts the checkpoint directory read-only.
    if common::skip_unless("rm_on_a_read_only_mount", no_mount_namespace()) {
        return;
    }
    let userns = if euid() == 0 { "" } else { "--map-root-user" };
    let prefix = format!(
        "unshare --mount {userns} sh -c 'mount --bind \"$0\" \"$0\" && mount -o remount,bind,ro \"$0\" && exec \"$@\"' '{}'",
        node.checkpoints().display()
    );
    s.store().map_exec(BINARY, node.wrapper("", &prefix));
    let err = ktui::fetch::remove_node_file(&s.cluster, helper_pod(), CONTAINER, &kept_path)
        .await
        .unwrap_err();
    let RemoveError::ReadOnly { message } = &err else {
        panic!("not read-only: {err}");
    };
    assert_eq!(
        message,
        &format!(
            "the helper's checkpoint directory is mounted read-only; deploy the snapshot variant or remove {kept_path} on the node"
        )
    );
    assert!(Path::new(&kept_path).exists());
}
