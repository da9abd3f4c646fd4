//! One writer per case: an exclusive `flock` on `case.lock` (released by the kernel when its
//! holder exits, even by SIGKILL), with the holder's pid, host, user and start time written into
//! the file so the refused second process can say who holds it.
//!
//! The file is never deleted (deleting would let two processes lock two different inodes): a
//! lock file left behind whose lock is free is simply taken over.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::{CaseError, Result};
use super::fsx;

pub const LOCK_FILE: &str = "case.lock";

/// Who holds a case (what its lock file says).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub pid: u32,
    pub host: String,
    pub user: String,
    #[serde(with = "fsx::ts")]
    pub since: Timestamp,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} (user {}) since {}",
            self.pid,
            crate::sanitize::line(&self.host),
            crate::sanitize::line(&self.user),
            self.since.strftime("%Y-%m-%d %H:%M:%SZ")
        )
    }
}

/// The held lock; dropping it releases the case.
#[derive(Debug)]
pub struct CaseLock {
    file: File,
}

impl CaseLock {
    /// Take the lock of the case in `dir`, or say who holds it.
    pub fn acquire(dir: &Path, case_id: &str, me: &LockHolder) -> Result<CaseLock> {
        let path = dir.join(LOCK_FILE);
        let io = |what, e| CaseError::io(what, dir, &path, e);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(fsx::FILE_MODE)
            .open(&path)
            .map_err(|e| io("open the lock file", e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let holder = file
                    .read_to_string(&mut text)
                    .ok()
                    .and_then(|_| serde_json::from_str(text.trim()).ok());
                return Err(CaseError::Locked {
                    case_id: case_id.to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io("lock", e)),
        }
        // Ours now (a stale file whose lock was free is taken over): say who we are.
        let json = serde_json::to_vec(me).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .and_then(|()| file.write_all(&json))
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_data())
            .map_err(|e| io("write the lock file", e))?;
        Ok(CaseLock { file })
    }
}

impl Drop for CaseLock {
    fn drop(&mut self) {
        // Still holding the lock: clear the holder so a reader sees no stale details. The lock
        // itself goes when the file is closed.
        let _ = self.file.set_len(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(pid: u32) -> LockHolder {
        LockHolder {
            pid,
            host: "h".into(),
            user: "u".into(),
            since: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn second_lock_in_the_same_process_is_refused_and_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = CaseLock::acquire(dir.path(), "c1", &me(41)).unwrap();
        let err = CaseLock::acquire(dir.path(), "c1", &me(42)).unwrap_err();
        match &err {
            CaseError::Locked { holder, .. } => assert_eq!(holder.as_ref(), Some(&me(41))),
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("pid 41 on h (user u)"), "{err}");
        drop(held);
        CaseLock::acquire(dir.path(), "c1", &me(42)).unwrap();
    }

    #[test]
    fn a_stale_lock_file_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOCK_FILE), b"{\"pid\":1}\n").unwrap();
        let _held = CaseLock::acquire(dir.path(), "c1", &me(7)).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        let holder: LockHolder = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(holder, me(7));
    }
}
