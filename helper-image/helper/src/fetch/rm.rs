//! `ktui-helper rm PATH`: remove a file the console has a verified copy of (a checkpoint
//! archive holds the container's memory). Same allow-list as `fetch`; one
//! `ktui_wire::bulk::RemoveReply` line on stdout; exit 0 when removed, 1 otherwise.

use std::io::Write;
use std::process::ExitCode;

use ktui_wire::bulk::{RemoveErrorKind, RemoveReply};

use super::roots::{self, PathError, Root};

pub fn run(path: &str) -> ExitCode {
    let reply = remove(&roots::allowed_roots(), path);
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(reply.encode().as_bytes());
    let _ = out.flush();
    match reply {
        RemoveReply::Removed { .. } => {
            eprintln!("ktui-helper rm: removed {path}");
            ExitCode::SUCCESS
        }
        RemoveReply::RemoveError { message, .. } => {
            eprintln!("ktui-helper rm: {message}");
            ExitCode::from(1)
        }
    }
}

/// Remove `path` when it resolves to a regular file under one of `roots`.
pub fn remove(roots: &[Root], path: &str) -> RemoveReply {
    let failed = |kind, message: String| RemoveReply::RemoveError { kind, message };
    let resolved = match roots::resolve(path, roots) {
        Ok(r) => r,
        Err(e @ PathError::NotFound { .. }) => {
            return failed(RemoveErrorKind::NotFound, e.to_string());
        }
        Err(e @ PathError::Io { .. }) => return failed(RemoveErrorKind::Failed, e.to_string()),
        Err(e) => return failed(RemoveErrorKind::Refused, e.to_string()),
    };
    match std::fs::remove_file(&resolved.path) {
        Ok(()) => RemoveReply::Removed {
            path: resolved.path.display().to_string(),
        },
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => failed(
            RemoveErrorKind::ReadOnly,
            format!(
                "the helper's {} directory is mounted read-only; deploy the snapshot variant or remove {path} on the node",
                resolved.root.what
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => failed(
            RemoveErrorKind::NotFound,
            format!("{path} does not exist on this node (removed already?)"),
        ),
        Err(e) => failed(
            RemoveErrorKind::Failed,
            format!("cannot remove {path}: {e}; remove it on the node"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_inside_the_roots_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("checkpoints");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("a.tar"), b"a").unwrap();
        std::fs::write(tmp.path().join("keep"), b"k").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("keep"), dir.join("link")).unwrap();
        let roots = vec![Root {
            what: "checkpoint",
            dir: dir.clone(),
        }];
        let p = |n: &str| dir.join(n).display().to_string();

        let r = remove(&roots, &p("a.tar"));
        assert!(matches!(r, RemoveReply::Removed { .. }), "{r:?}");
        assert!(!dir.join("a.tar").exists());
        let again = remove(&roots, &p("a.tar"));
        assert!(
            matches!(
                again,
                RemoveReply::RemoveError {
                    kind: RemoveErrorKind::NotFound,
                    ..
                }
            ),
            "{again:?}"
        );
        for refused in [
            p("link"),
            p("../keep"),
            tmp.path().join("keep").display().to_string(),
        ] {
            let r = remove(&roots, &refused);
            assert!(
                matches!(
                    r,
                    RemoveReply::RemoveError {
                        kind: RemoveErrorKind::Refused,
                        ..
                    }
                ),
                "{refused}: {r:?}"
            );
        }
        assert!(tmp.path().join("keep").exists());
    }
}
