//! What can go wrong with a case on disk, each cause with what to do about it.

use std::io;
use std::path::PathBuf;

use super::lock::LockHolder;

pub type Result<T, E = CaseError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    /// A file-system call on the case failed (other than a full disk).
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// The disk holding the case is full (ENOSPC): nothing incomplete was left under a final name.
    #[error(
        "the disk holding {} is full (writing {}): capture stopped; free space there, or open a \
         new case on another disk with --cases-dir DIR (or KTUI_CASES_DIR)",
        dir.display(),
        path.display()
    )]
    DiskFull { dir: PathBuf, path: PathBuf },

    /// The case reached its size cap.
    #[error(
        "case {case_id} reached its size cap ({} of {} used, {} more needed): capture stopped; \
         export it and continue in a new case (--case NEW-ID), or open it with a larger cap",
        human_bytes(*used),
        human_bytes(*cap),
        human_bytes(*needed)
    )]
    CapReached {
        case_id: String,
        used: u64,
        cap: u64,
        needed: u64,
    },

    /// Another process holds the case's lock.
    #[error(
        "case {case_id} is in use by {}: close that ktui, or use another case (--case ID)",
        holder.as_ref().map_or_else(
            || "another process (it has not written its details yet)".to_string(),
            |h| h.to_string()
        )
    )]
    Locked {
        case_id: String,
        holder: Option<LockHolder>,
    },

    /// A case id that is not a safe directory name.
    #[error(
        "invalid case id {id:?}: {reason}; use letters, digits, '.', '_' and '-' (at most 128, \
         not starting with '.' or '-')"
    )]
    InvalidId { id: String, reason: &'static str },

    /// No case of that id in the cases directory (read-only commands do not create one).
    #[error("no case {id:?} in {} (`ktui case list` shows the cases there)", dir.display())]
    NoSuchCase { id: String, dir: PathBuf },

    /// A directory that holds other files and no case.json.
    #[error(
        "{} is not a ktui case (it holds files but no case.json): choose an empty or new directory",
        dir.display()
    )]
    NotACase { dir: PathBuf },

    /// A case file that does not parse (edited, or written by another program).
    #[error("{} line {line} is not valid: {message} (was the case edited by hand?)", path.display())]
    BadFile {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// case.json written by a newer ktui.
    #[error(
        "{} has schema {found}, this ktui reads up to {supported}: use a newer ktui",
        path.display()
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// The per-case HMAC key is missing or malformed.
    #[error(
        "the case's HMAC key {} is unusable ({reason}): restore it from a backup of the case, or \
         start a new case (recorded Secret HMACs cannot be checked without it)",
        path.display()
    )]
    SecretKey { path: PathBuf, reason: String },

    /// An artifact path that would leave the case or clash with its own files.
    #[error("invalid artifact path {path:?}: {reason}")]
    InvalidPath { path: String, reason: &'static str },

    /// Reading the caller's content failed; the partial file was removed.
    #[error("reading the content for {path} failed: {source} (nothing was recorded)")]
    Source {
        path: String,
        #[source]
        source: io::Error,
    },

    /// A stream line containing a newline (lines are the unit a kill may cut).
    #[error("a line for stream {path} contains a newline: write one record per line")]
    LineHasNewline { path: String },
}

impl CaseError {
    /// Map an IO error: ENOSPC becomes [`CaseError::DiskFull`], the rest [`CaseError::Io`].
    pub(crate) fn io(
        what: &'static str,
        case_dir: &std::path::Path,
        path: impl Into<PathBuf>,
        source: io::Error,
    ) -> Self {
        let path = path.into();
        if source.kind() == io::ErrorKind::StorageFull {
            CaseError::DiskFull {
                dir: case_dir.to_path_buf(),
                path,
            }
        } else {
            CaseError::Io { what, path, source }
        }
    }

    /// True when capture stopped for lack of room (the cap or the disk).
    pub fn is_out_of_space(&self) -> bool {
        matches!(
            self,
            CaseError::DiskFull { .. } | CaseError::CapReached { .. }
        )
    }
}

/// Where and why the custody chain breaks.
#[derive(Debug, thiserror::Error)]
#[error("custody line {line}: {kind}")]
pub struct ChainError {
    /// 1-based line number of the first line that does not verify.
    pub line: usize,
    pub kind: ChainBreak,
}

#[derive(Debug, thiserror::Error)]
pub enum ChainBreak {
    #[error("cannot read: {0}")]
    Io(#[source] io::Error),
    #[error("not a JSON object: {0}")]
    NotJson(String),
    #[error("keys are {found:?}, expected {expected:?} in that order")]
    Keys {
        found: Vec<String>,
        expected: &'static [&'static str],
    },
    #[error("seq is {found}, expected {expected} (a line was inserted, deleted or moved)")]
    Seq { expected: u64, found: String },
    #[error(
        "prev is {found}, but the previous line hashes to {expected} (this line or the one before \
         was rewritten, inserted, deleted or moved)"
    )]
    Prev { expected: String, found: String },
    #[error("the last line has no newline (a write was cut, or the file was edited)")]
    Incomplete,
}

/// `1.5 GiB`, `20 GiB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else if value.fract() < 0.05 || value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(20 << 30), "20 GiB");
    }

    #[test]
    fn enospc_is_disk_full() {
        let e = CaseError::io(
            "write",
            std::path::Path::new("/c"),
            "/c/x",
            io::Error::from(io::ErrorKind::StorageFull),
        );
        assert!(matches!(e, CaseError::DiskFull { .. }), "{e:?}");
        assert!(e.to_string().contains("--cases-dir"), "{e}");
    }
}
