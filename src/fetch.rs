//! Bulk transfers off the node: checkpoint archives, live snapshots and pcaps come to
//! this machine through the helper over a dedicated exec stream in the `ktui_wire::bulk`
//! framing, the SHA-256 computed on the node and re-computed here while the content is written.
//!
//! - [`fetch_file`]: a file staged on the node (`ktui-helper fetch PATH --offset N`). Content
//!   goes into `<name>.partial`; after a cut (the stream fails or ends before its trailer) the
//!   helper is exec'd again with `--offset <bytes on disk>`, the prefix on disk hashed first;
//!   the file is fsynced and renamed to its final name only when its hash equals the trailer's.
//!   A mismatch keeps the `.partial` and says so.
//! - [`receive_stream`] / [`restart_stream`]: a stream of unknown size (a live snapshot): no
//!   resume, a cut restarts it whole.
//! - [`remove_node_file`]: `ktui-helper rm PATH` after a verified copy.
//! - [`HelperExec`]: where those commands run — by exec in the helper pod ([`PodExec`]), or
//!   the local helper binary with `--helper local` ([`LocalExec`]); the `_via` forms take one.
//! - [`evidence`]: the same into the case, indexed, with `fetch` custody lines.
//!
//! Each call starts afresh: a `.partial` left by an earlier call is replaced.

pub mod evidence;
mod exec;
mod file;
pub mod pcap;
mod receive;
mod remove;
mod sink;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ktui_wire::bulk::BulkError;

use crate::case::error::human_bytes;
use crate::cluster::PodKey;
use crate::helper::manifest::BINARY;

pub use exec::{ExecError, HelperExec, LocalExec, PodExec};
pub use file::{fetch_file, fetch_file_via, fetch_file_with};
pub use receive::{receive_stream, restart_stream};
pub use remove::{RemoveError, remove_node_file, remove_node_file_via, rm_argv};

/// `(bytes done, total bytes when known)`, called as content arrives.
pub type Progress<'a> = &'a mut (dyn FnMut(u64, Option<u64>) + Send);

/// Where a transfer comes from (a helper pod) and where it goes.
#[derive(Debug, Clone)]
pub struct Transfer<'a> {
    pub helper_pod: PodKey,
    /// The helper's container ([`crate::helper::manifest::CONTAINER`]).
    pub container: &'a str,
    /// Created when missing.
    pub dest_dir: &'a Path,
    /// The local file name; content goes into `<final_name>.partial` first.
    pub final_name: &'a str,
}

/// How hard to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Consecutive cuts that brought no new byte before giving up.
    pub max_stalled: u32,
    /// Execs in all (the first one included) before giving up, progress or not.
    pub max_attempts: u32,
    /// Wait before re-exec after a cut without progress (doubled each time, at most 8 s).
    pub backoff: Duration,
    /// No byte for this long: the stream is taken as cut.
    pub idle_timeout: Duration,
    /// The most bytes the local file may reach (the room left in a case).
    pub limit: Option<u64>,
    /// [`restart_stream`]: restarts after a cut before giving up.
    pub max_restarts: u32,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_stalled: 5,
            max_attempts: 100,
            backoff: Duration::from_millis(500),
            idle_timeout: Duration::from_secs(60),
            limit: None,
            max_restarts: 2,
        }
    }
}

/// A verified copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Where it is now (its final name).
    pub path: PathBuf,
    /// The name the helper gave (the node file's base name).
    pub name: String,
    pub bytes: u64,
    /// SHA-256 (hex) of the local copy.
    pub sha256: String,
    /// SHA-256 the helper computed on the node (equal to `sha256`: that is what verified means).
    pub node_sha256: String,
    /// Re-execs after cuts ([`fetch_file`]: resumed at an offset; [`restart_stream`]: restarted).
    pub resumes: u32,
    /// The offsets each resume started at.
    pub resumed_at: Vec<u64>,
    pub elapsed: Duration,
}

/// Why a transfer failed; every message says what to do. Text from the helper is sanitised.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// `ktui-helper fetch` did not start (in the helper pod, or locally).
    #[error(transparent)]
    Exec(ExecError),
    /// The helper's own `bulk_error` (its message says what is wrong).
    #[error("the helper could not send {what}: {message}")]
    Helper { what: String, message: String },
    /// The helper process failed before it sent anything.
    #[error(
        "the helper failed before sending {what}: {cause} (is it from another ktui release? remove it with `ktui helper remove --node NODE` and let ktui deploy it again)"
    )]
    HelperFailed { what: String, cause: String },
    #[error(
        "the helper's stream of {what} is not readable: {cause} (are ktui and the helper from the same release? redeploy the helper with this ktui)"
    )]
    Protocol { what: String, cause: BulkError },
    #[error(
        "the helper resumed {what} at byte {got}, not at byte {expected} as asked: redeploy the helper with this ktui"
    )]
    WrongOffset {
        what: String,
        expected: u64,
        got: u64,
    },
    #[error(
        "{what} changed on the node during the transfer (its size was {}, now {}): fetch it again",
        size_words(*.was),
        size_words(*.now)
    )]
    Changed {
        what: String,
        was: Option<u64>,
        now: Option<u64>,
    },
    #[error(
        "the transfer of {what} was cut and could not be resumed ({cuts} attempts; the last cut: {cause}); {} of {} had arrived: check the connection to the API server and the helper pod, then fetch again (it starts over)",
        human_bytes(*.done),
        size_words(*.total)
    )]
    Cut {
        what: String,
        cuts: u32,
        cause: String,
        done: u64,
        total: Option<u64>,
    },
    #[error(
        "the stream of {what} was cut after {} ({cause}); a stream of unknown size cannot resume: take it again",
        human_bytes(*.done)
    )]
    StreamCut {
        what: String,
        done: u64,
        cause: String,
    },
    #[error(
        "the copy of {what} does not match the node's: the helper hashed it to SHA-256 {expected}, the {bytes} bytes received here hash to {got}. The bytes were damaged on the way or on this disk; the copy is kept as {} for examination and was not accepted. Fetch again (that replaces it); if it happens again, compare with `sha256sum` of the file on the node",
        partial.display()
    )]
    Mismatch {
        what: String,
        partial: PathBuf,
        expected: String,
        got: String,
        bytes: u64,
    },
    #[error("cannot {doing} {}: {source} (check the free space and permissions there)", path.display())]
    Local {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{what} does not fit in the room left ({}): free space, or continue in a new case",
        human_bytes(*.room)
    )]
    NoRoom { what: String, room: u64 },
    /// The file on the node is not the one the helper announced when it closed it (a pcap's
    /// `capture_file`): it changed after it was closed.
    #[error(
        "{what} on the node is not the file the helper announced: it reported SHA-256 {announced} when it closed it, the node's copy hashes to {node} now. It changed on the node after it was closed; the copy received is kept as {} for examination and was not accepted",
        partial.display()
    )]
    NotAnnounced {
        what: String,
        announced: String,
        node: String,
        partial: PathBuf,
    },
    #[error("{} already exists: evidence is never overwritten; move it away or choose another name", path.display())]
    Exists { path: PathBuf },
    #[error(
        "invalid local file name {name:?}: a plain name is needed (no '/' or control characters, not empty, '.' or '..')"
    )]
    BadName { name: String },
}

fn size_words(n: Option<u64>) -> String {
    n.map_or_else(|| "unknown".to_string(), human_bytes)
}

impl FetchError {
    /// The API server could not be reached (the exec failed for that).
    pub fn unreachable(&self) -> bool {
        matches!(self, FetchError::Exec(e) if e.unreachable())
    }

    fn local(doing: &'static str, path: &Path, source: std::io::Error) -> Self {
        FetchError::Local {
            doing,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `[BINARY, "fetch", path, "--offset", N]`: what runs in the helper container.
pub fn fetch_argv(node_path: &str, offset: u64) -> Vec<String> {
    vec![
        BINARY.to_string(),
        "fetch".to_string(),
        node_path.to_string(),
        "--offset".to_string(),
        offset.to_string(),
    ]
}

/// A node path or name as error messages show it (it came from the cluster: sanitised).
fn shown(what: &str) -> String {
    crate::sanitize::line(what).into_owned()
}

/// `dest_dir/name` and `dest_dir/name.partial`, the name checked to be a plain file name.
fn local_paths(dest_dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), FetchError> {
    if name.is_empty()
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.chars().any(char::is_control)
    {
        return Err(FetchError::BadName {
            name: name.to_string(),
        });
    }
    std::fs::create_dir_all(dest_dir).map_err(|e| FetchError::local("create", dest_dir, e))?;
    let final_path = dest_dir.join(name);
    if final_path.symlink_metadata().is_ok() {
        return Err(FetchError::Exists { path: final_path });
    }
    Ok((final_path.clone(), dest_dir.join(format!("{name}.partial"))))
}

#[cfg(test)]
mod tests;
