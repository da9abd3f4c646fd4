//! Transfers into the evidence case: the file lands at its pinned place
//! (`artifacts/<ns>/<pod>/checkpoints/<node file name>`, `.../snapshots/snapshot-...tar`),
//! written `.partial` and renamed only when verified, then indexed with a transfer record beside
//! it (`<file>.fetch.json`: node, node path, helper pod, local path, size, both hashes, resumes)
//! under one `fetch` custody line naming both. A failure is a `fetch` custody line with the
//! error (which says what was kept where). Removing the node's copy afterwards is a
//! `remove_node_file` line, `ok` or with the reason.

use jiff::Timestamp;
use serde::Serialize;

use super::{
    FetchError, FetchOptions, Fetched, Progress, RemoveError, Transfer, fetch_file_with,
    receive_stream, restart_stream,
};
use crate::case::{
    Action, ArtifactMeta, ArtifactPath, ArtifactRef, Case, CaseError, Companion, Entry, IndexEntry,
    Source, Staged, Target,
};
use crate::cluster::{Cluster, PodKey};

/// The custody action of a transfer into the case.
pub const FETCH_ACTION: &str = "fetch";
/// The custody action of removing the node's copy.
pub const REMOVE_ACTION: &str = "remove_node_file";
/// The transfer record's suffix (after the artifact's name).
pub const RECORD_SUFFIX: &str = ".fetch.json";

/// What the evidence is about and where it comes from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub case: &'a Case,
    /// The pod (and container) the archive preserves.
    pub pod: &'a PodKey,
    pub container: &'a str,
    /// The node it is on.
    pub node: &'a str,
    /// The helper pod on that node, and its container ([`crate::helper::manifest::CONTAINER`]).
    pub helper_pod: &'a PodKey,
    pub helper_container: &'a str,
}

/// A verified copy in the case.
#[derive(Debug, Clone)]
pub struct CaseFetched {
    pub fetched: Fetched,
    /// The archive's index entry (its `path` is relative to the case directory).
    pub entry: IndexEntry,
    /// The transfer record's.
    pub record: IndexEntry,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("the copy on the node was not removed: {0}")]
    Remove(RemoveError),
    #[error("the node path {0:?} names no file")]
    NoFileName(String),
    #[error("the case work was interrupted: {0}")]
    Interrupted(String),
}

/// The base name of a node path, when it is a plain file name.
pub(super) fn base_name(node_path: &str) -> Result<&str, EvidenceError> {
    node_path
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && *n != "." && *n != "..")
        .ok_or_else(|| EvidenceError::NoFileName(node_path.to_string()))
}

/// `artifacts/<ns>/<pod>/checkpoints/<base name of node_path>`.
pub fn checkpoint_meta(ev: &Evidence<'_>, node_path: &str) -> Result<ArtifactMeta, EvidenceError> {
    let name = base_name(node_path)?;
    meta(ev, &format!("checkpoints/{name}"), node_path)
}

/// `snapshot-<pod>_<ns>-<container>-<UTC compact>.tar`, e.g.
/// `snapshot-web-1_shop-app-20261202T133000Z.tar`.
pub fn snapshot_name(pod: &PodKey, container: &str, at: Timestamp) -> String {
    format!(
        "snapshot-{}_{}-{container}-{}.tar",
        pod.name,
        pod.namespace,
        at.strftime("%Y%m%dT%H%M%SZ")
    )
}

/// `artifacts/<ns>/<pod>/snapshots/<name>`; `source` says what produced it.
pub fn snapshot_meta(
    ev: &Evidence<'_>,
    name: &str,
    source: &str,
) -> Result<ArtifactMeta, EvidenceError> {
    meta(ev, &format!("snapshots/{name}"), source)
}

fn meta(ev: &Evidence<'_>, rest: &str, source: &str) -> Result<ArtifactMeta, EvidenceError> {
    Ok(ArtifactMeta::new(
        ArtifactPath::pod(&ev.pod.namespace, &ev.pod.name, rest)?,
        "application/x-tar",
        Source::Helper {
            node: ev.node.to_string(),
            path: source.to_string(),
        },
        Action::from(FETCH_ACTION),
    )
    .for_pod(&ev.pod.namespace, &ev.pod.name, Some(ev.container)))
}

/// Fetch the checkpoint archive at `node_path` into the case (resumed after cuts).
pub async fn fetch_checkpoint(
    cluster: &dyn Cluster,
    ev: &Evidence<'_>,
    node_path: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<CaseFetched, EvidenceError> {
    let meta = checkpoint_meta(ev, node_path)?;
    let staged = stage(ev.case, meta).await?;
    let options = room(&staged, options);
    let (dir, name) = (staged.dir(), staged.file_name());
    let transfer = transfer(ev, &dir, &name);
    let result = fetch_file_with(cluster, &transfer, node_path, &options, progress).await;
    commit(ev, staged, Some(node_path), result).await
}

/// Exec `argv` (e.g. `ktui-helper snapshot ...`) and receive its stream into the case as
/// `snapshots/<name>` (restarted whole after a cut, as `options.max_restarts` allows).
pub async fn fetch_snapshot(
    cluster: &dyn Cluster,
    ev: &Evidence<'_>,
    argv: Vec<String>,
    name: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<CaseFetched, EvidenceError> {
    let source = format!("stream:{}", argv.get(1..).unwrap_or_default().join(" "));
    let staged = stage(ev.case, snapshot_meta(ev, name, &source)?).await?;
    let options = room(&staged, options);
    let (dir, file) = (staged.dir(), staged.file_name());
    let transfer = transfer(ev, &dir, &file);
    let result = restart_stream(cluster, &transfer, argv, &options, progress).await;
    commit(ev, staged, None, result).await
}

/// Receive a stream the caller opened into the case as `snapshots/<name>` (no restart).
pub async fn receive_snapshot<S: tokio::io::AsyncRead + Unpin + Send + ?Sized>(
    ev: &Evidence<'_>,
    stream: &mut S,
    name: &str,
    source: &str,
    options: &FetchOptions,
    progress: Progress<'_>,
) -> Result<CaseFetched, EvidenceError> {
    let staged = stage(ev.case, snapshot_meta(ev, name, source)?).await?;
    let options = room(&staged, options);
    let (dir, file) = (staged.dir(), staged.file_name());
    let result = receive_stream(stream, &dir, &file, &options, progress).await;
    commit(ev, staged, None, result).await
}

fn transfer<'a>(ev: &Evidence<'a>, dir: &'a std::path::Path, name: &'a str) -> Transfer<'a> {
    Transfer {
        helper_pod: ev.helper_pod.clone(),
        container: ev.helper_container,
        dest_dir: dir,
        final_name: name,
    }
}

/// The options with the limit lowered to the room left in the case.
pub(super) fn room(staged: &Staged, options: &FetchOptions) -> FetchOptions {
    let room = staged.room();
    FetchOptions {
        limit: Some(options.limit.map_or(room, |l| l.min(room))),
        ..options.clone()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, EvidenceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| EvidenceError::Interrupted(e.to_string()))
}

pub(super) async fn stage(case: &Case, meta: ArtifactMeta) -> Result<Staged, EvidenceError> {
    let case = case.clone();
    Ok(blocking(move || case.stage_artifact(&meta)).await??)
}

/// The transfer record (`<artifact>.fetch.json`).
#[derive(Serialize)]
struct Record<'a> {
    kind: &'static str,
    version: u32,
    node: &'a str,
    node_path: Option<&'a str>,
    node_name: &'a str,
    helper_pod: String,
    local_path: &'a str,
    bytes: u64,
    sha256_node: &'a str,
    sha256_local: &'a str,
    resumes: u32,
    resumed_at: &'a [u64],
    seconds: f64,
    finished_at: String,
}

async fn commit(
    ev: &Evidence<'_>,
    staged: Staged,
    node_path: Option<&str>,
    result: Result<Fetched, FetchError>,
) -> Result<CaseFetched, EvidenceError> {
    let helper = ev.helper_pod.to_string();
    commit_from(ev.node, &helper, staged, node_path, result).await
}

/// Commit a fetched copy from `helper` on `node` (a pod, or `local`): the transfer record
/// beside it, one `fetch` custody line for both; a failure is recorded instead.
pub(super) async fn commit_from(
    node: &str,
    helper: &str,
    staged: Staged,
    node_path: Option<&str>,
    result: Result<Fetched, FetchError>,
) -> Result<CaseFetched, EvidenceError> {
    let fetched = match result {
        Ok(f) => f,
        Err(e) => {
            let message = e.to_string();
            blocking(move || staged.fail(&message)).await?;
            return Err(e.into());
        }
    };
    let local_path = staged.path().to_string();
    let record = Record {
        kind: "ktui-fetch",
        version: 1,
        node,
        node_path,
        node_name: &fetched.name,
        helper_pod: helper.to_string(),
        local_path: &local_path,
        bytes: fetched.bytes,
        sha256_node: &fetched.node_sha256,
        sha256_local: &fetched.sha256,
        resumes: fetched.resumes,
        resumed_at: &fetched.resumed_at,
        seconds: fetched.elapsed.as_secs_f64(),
        finished_at: Timestamp::now().to_string(),
    };
    let mut bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    bytes.push(b'\n');
    let companion = Companion {
        suffix: RECORD_SUFFIX,
        media_type: "application/json",
        bytes,
    };
    let (sha, size) = (fetched.sha256.clone(), fetched.bytes);
    let mut entries = blocking(move || staged.commit(&sha, size, &[companion])).await??;
    let (Some(record), Some(entry)) = (entries.pop(), entries.pop()) else {
        return Err(EvidenceError::Interrupted(
            "the case indexed fewer files than written".to_string(),
        ));
    };
    Ok(CaseFetched {
        fetched,
        entry,
        record,
    })
}

/// Remove the node's copy of a verified archive (`archive`: its index entry) and record it:
/// a `remove_node_file` custody line, target `node/<node>`, naming the local copy; `ok`, or
/// the reason it is still there (which says what to do).
pub async fn remove_from_node(
    cluster: &dyn Cluster,
    ev: &Evidence<'_>,
    node_path: &str,
    archive: &IndexEntry,
) -> Result<String, EvidenceError> {
    let exec = super::PodExec {
        cluster,
        pod: ev.helper_pod.clone(),
        container: ev.helper_container,
    };
    remove_via(&exec, ev.case, ev.node, node_path, archive).await
}

/// [`remove_from_node`] through `exec` (a helper pod, or the local helper) on `node`.
pub async fn remove_via(
    exec: &dyn super::HelperExec,
    case: &Case,
    node: &str,
    node_path: &str,
    archive: &IndexEntry,
) -> Result<String, EvidenceError> {
    let removed = super::remove_node_file_via(exec, node_path).await;
    let entry = Entry {
        action: Action::from(REMOVE_ACTION),
        target: Target::Node(node.to_string()),
        outcome: match &removed {
            Ok(_) => Ok(()),
            Err(e) => Err(format!("{node_path}: {e}")),
        },
        artifacts: vec![ArtifactRef {
            path: archive.path.clone(),
            sha256: archive.sha256.clone().unwrap_or_default(),
        }],
    };
    let case = case.clone();
    blocking(move || case.record(&entry)).await??;
    removed.map_err(EvidenceError::Remove)
}
