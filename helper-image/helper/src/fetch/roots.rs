//! The directories `fetch` and `rm` may touch, and resolving a requested path inside them:
//! absolute, no `..`, symlinks resolved (canonicalised) and the result still under a root.

use std::path::{Component, Path, PathBuf};

/// Container checkpoints the kubelet writes (a read-only hostPath in the default helper).
pub const DEFAULT_CHECKPOINT_DIR: &str = "/var/lib/kubelet/checkpoints";
/// Where the helper stages its own captures (pcaps) before they are fetched.
pub const DEFAULT_CAPTURE_DIR: &str = "/var/run/ktui/captures";

/// One allowed directory and what to call it in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// `checkpoint`, `capture`.
    pub what: &'static str,
    pub dir: PathBuf,
}

fn dir(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// `$KTUI_CAPTURE_DIR`, default [`DEFAULT_CAPTURE_DIR`]: where captures write their files.
pub fn capture_dir() -> PathBuf {
    dir("KTUI_CAPTURE_DIR", DEFAULT_CAPTURE_DIR)
}

/// The allowed roots: `$KTUI_CHECKPOINT_DIR` (default [`DEFAULT_CHECKPOINT_DIR`]) and
/// [`capture_dir`]; tests point them elsewhere.
pub fn allowed_roots() -> Vec<Root> {
    vec![
        Root {
            what: "checkpoint",
            dir: dir("KTUI_CHECKPOINT_DIR", DEFAULT_CHECKPOINT_DIR),
        },
        Root {
            what: "capture",
            dir: capture_dir(),
        },
    ]
}

/// Why a path is not served.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    #[error("refused {path:?}: not an absolute path")]
    NotAbsolute { path: String },
    #[error("refused {path:?}: '..' is not allowed in the path")]
    DotDot { path: String },
    #[error("{path:?} does not exist on this node")]
    NotFound { path: String },
    #[error("cannot resolve {path:?}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "refused {path:?}: it resolves to {resolved:?}, outside the directories the helper serves ({roots})"
    )]
    Outside {
        path: String,
        resolved: PathBuf,
        roots: String,
    },
    #[error("refused {path:?}: not a regular file")]
    NotFile { path: String },
}

/// A path resolved inside a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical path (symlinks resolved).
    pub path: PathBuf,
    pub root: Root,
}

/// `path` canonicalised and checked to lie strictly inside one of `roots` (each root is
/// canonicalised too, so a root reached through a symlink such as /var/run → /run works).
/// Only regular files are served.
pub fn resolve(path: &str, roots: &[Root]) -> Result<Resolved, PathError> {
    let owned = || path.to_string();
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(PathError::NotAbsolute { path: owned() });
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(PathError::DotDot { path: owned() });
    }
    let resolved = match std::fs::canonicalize(p) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(PathError::NotFound { path: owned() });
        }
        Err(source) => {
            return Err(PathError::Io {
                path: owned(),
                source,
            });
        }
    };
    let root = roots.iter().find(|r| {
        std::fs::canonicalize(&r.dir).is_ok_and(|dir| resolved.starts_with(&dir) && resolved != dir)
    });
    let Some(root) = root else {
        return Err(PathError::Outside {
            path: owned(),
            resolved,
            roots: roots
                .iter()
                .map(|r| r.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_file() => Ok(Resolved {
            path: resolved,
            root: root.clone(),
        }),
        Ok(_) => Err(PathError::NotFile { path: owned() }),
        Err(source) => Err(PathError::Io {
            path: owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roots(dir: &Path) -> Vec<Root> {
        vec![
            Root {
                what: "checkpoint",
                dir: dir.join("checkpoints"),
            },
            Root {
                what: "capture",
                dir: dir.join("run-link/captures"),
            },
        ]
    }

    #[test]
    fn only_regular_files_inside_a_root_resolve() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path();
        std::fs::create_dir_all(base.join("checkpoints/sub")).unwrap();
        std::fs::create_dir_all(base.join("run/captures")).unwrap();
        std::os::unix::fs::symlink(base.join("run"), base.join("run-link")).unwrap();
        std::fs::write(base.join("checkpoints/a.tar"), b"a").unwrap();
        std::fs::write(base.join("checkpoints/sub/b.tar"), b"b").unwrap();
        std::fs::write(base.join("run/captures/c.pcap"), b"c").unwrap();
        std::fs::write(base.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), base.join("checkpoints/escape")).unwrap();
        std::os::unix::fs::symlink(base.join("checkpoints/a.tar"), base.join("checkpoints/ok"))
            .unwrap();
        let roots = roots(base);
        let s = |p: &str| base.join(p).display().to_string();

        let a = resolve(&s("checkpoints/a.tar"), &roots).unwrap();
        assert_eq!(a.root.what, "checkpoint");
        assert!(resolve(&s("checkpoints/sub/b.tar"), &roots).is_ok());
        // A root reached through a symlinked parent (/var/run → /run).
        let c = resolve(&s("run-link/captures/c.pcap"), &roots).unwrap();
        assert_eq!(c.root.what, "capture");
        // A symlink that stays inside is followed.
        assert_eq!(resolve(&s("checkpoints/ok"), &roots).unwrap().path, a.path);

        for (path, want) in [
            (s("checkpoints/escape"), "outside"),
            (s("checkpoints/../secret"), "'..'"),
            (s("secret"), "outside"),
            (s("checkpoints/sub"), "not a regular file"),
            (s("checkpoints"), "outside"),
            (s("checkpoints/missing.tar"), "does not exist"),
            ("checkpoints/a.tar".to_string(), "not an absolute path"),
        ] {
            let err = resolve(&path, &roots).unwrap_err().to_string();
            assert!(err.contains(want), "{path}: {err}");
        }
    }
}
