//! `ktui-helper rm PATH` over exec: remove a file from the node once its copy is verified.

use ktui_wire::bulk::{RemoveErrorKind, RemoveReply};
use tokio::io::AsyncReadExt as _;

use crate::cluster::{Cluster, PodKey};
use crate::helper::manifest::BINARY;
use crate::sanitize;

/// The longest reply read (one short JSON line).
const MAX_REPLY: usize = 16 * 1024;

/// Why a file was not removed from the node. Messages from the helper are sanitised.
#[derive(Debug, thiserror::Error)]
pub enum RemoveError {
    /// `ktui-helper rm` did not start (in the helper pod, or locally).
    #[error(transparent)]
    Exec(super::ExecError),
    /// The helper refused the path (outside its directories).
    #[error("the helper refused to remove it: {message}")]
    Refused { message: String },
    /// The directory is read-only in this helper (the message says what to do).
    #[error("{message}")]
    ReadOnly { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    Failed { message: String },
    #[error(
        "the helper's answer to `rm {path}` is not readable ({cause}): the file may still be on the node; remove it there"
    )]
    BadReply { path: String, cause: String },
}

/// `[BINARY, "rm", path]`.
pub fn rm_argv(node_path: &str) -> Vec<String> {
    vec![BINARY.to_string(), "rm".to_string(), node_path.to_string()]
}

/// Remove `node_path` through the helper; `Ok` with the path the helper removed.
pub async fn remove_node_file(
    cluster: &dyn Cluster,
    helper_pod: PodKey,
    container: &str,
    node_path: &str,
) -> Result<String, RemoveError> {
    let exec = super::PodExec {
        cluster,
        pod: helper_pod,
        container,
    };
    remove_node_file_via(&exec, node_path).await
}

/// [`remove_node_file`] through `exec` (a helper pod, or the local helper).
pub async fn remove_node_file_via(
    exec: &dyn super::HelperExec,
    node_path: &str,
) -> Result<String, RemoveError> {
    let mut stream = exec
        .start(rm_argv(node_path))
        .await
        .map_err(RemoveError::Exec)?;
    let bad = |cause: String| RemoveError::BadReply {
        path: node_path.to_string(),
        cause: sanitize::line(&cause).into_owned(),
    };
    let mut reply = Vec::new();
    let mut buf = [0u8; 4096];
    // The helper exits 1 after a refusal: the line comes first, then the stream's error.
    while !reply.contains(&b'\n') {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(&buf[..n]),
            Err(e) if reply.is_empty() => return Err(bad(e.to_string())),
            Err(_) => break,
        }
        if reply.len() > MAX_REPLY {
            return Err(bad(format!("more than {MAX_REPLY} bytes")));
        }
    }
    let line = reply.split(|b| *b == b'\n').next().unwrap_or_default();
    let reply = RemoveReply::decode(line).map_err(|e| bad(e.to_string()))?;
    let clean = |m: &str| sanitize::line(m).into_owned();
    match reply {
        RemoveReply::Removed { path } => Ok(clean(&path)),
        RemoveReply::RemoveError { kind, message } => Err(match kind {
            RemoveErrorKind::Refused => RemoveError::Refused {
                message: clean(&message),
            },
            RemoveErrorKind::ReadOnly => RemoveError::ReadOnly {
                message: clean(&message),
            },
            RemoveErrorKind::NotFound => RemoveError::NotFound {
                message: clean(&message),
            },
            RemoveErrorKind::Failed => RemoveError::Failed {
                message: clean(&message),
            },
        }),
    }
}
