//! One-shot artifacts: written whole under a `.partial` name, hashed while written, fsynced,
//! renamed, the directory fsynced, then indexed and recorded in custody. A failure at any step
//! removes what was written (the partial file, or the renamed file if the journal append
//! failed) and, where the disk allows, records the failure in custody.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::custody::{ArtifactRef, Entry};
use super::error::{CaseError, Result};
use super::index::{ArtifactMeta, ArtifactPath, IndexEntry};
use super::{Case, Inner, fsx};

/// How many numbered variants a taken artifact name tries.
const MAX_VARIANTS: u32 = 10_000;
const CHUNK: usize = 64 * 1024;

impl Case {
    /// Write an artifact from memory (see [`Case::write_artifact_from`]); refuses before
    /// writing anything when the bytes would pass the cap.
    pub fn write_artifact(&self, meta: &ArtifactMeta, bytes: &[u8]) -> Result<IndexEntry> {
        let inner = &self.inner;
        if let Err(e) = inner.budget.reserve(bytes.len() as u64) {
            inner.record_failure(meta, &e);
            return Err(e);
        }
        inner.budget.release(bytes.len() as u64);
        self.write_artifact_from(meta, bytes)
    }

    /// Write an artifact streamed from `content`, at `meta.path` or, when that name is taken,
    /// its first free numbered variant (`app.log` → `app-2.log`); the returned entry says which.
    pub fn write_artifact_from(
        &self,
        meta: &ArtifactMeta,
        content: impl Read,
    ) -> Result<IndexEntry> {
        let inner = &self.inner;
        let result = match inner.claim_variant(&meta.path) {
            Some(path) => {
                let result = inner.write_claimed(meta, &path, content);
                inner.unclaim(&path);
                result
            }
            None => Err(CaseError::InvalidPath {
                path: meta.path.to_string(),
                reason: "it and all its numbered variants are taken",
            }),
        };
        if let Err(e) = &result {
            inner.record_failure(meta, e);
        }
        result
    }
}

impl Inner {
    pub(super) fn claim_variant(&self, wanted: &ArtifactPath) -> Option<ArtifactPath> {
        if self.try_claim(wanted) {
            return Some(wanted.clone());
        }
        (2..=MAX_VARIANTS)
            .map(|n| wanted.numbered(n))
            .find(|p| self.try_claim(p))
    }

    fn write_claimed(
        &self,
        meta: &ArtifactMeta,
        path: &ArtifactPath,
        content: impl Read,
    ) -> Result<IndexEntry> {
        let final_path = self.dir.join(path.as_str());
        let parent = final_path.parent().unwrap_or(&self.dir).to_path_buf();
        let io = |what, p: &Path, e| CaseError::io(what, &self.dir, p, e);
        fsx::create_dirs(&parent).map_err(|e| io("create", &parent, e))?;
        let partial = fsx::partial_name(&final_path);
        let mut reserved = 0u64;
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(fsx::FILE_MODE)
            .open(&partial)
            .map_err(|e| io("create", &partial, e))
            .and_then(|file| self.fill(file, path, &partial, content, &mut reserved))
            .and_then(|sha| {
                fs::rename(&partial, &final_path).map_err(|e| io("rename", &partial, e))?;
                fsx::sync_dir(&parent).map_err(|e| io("sync", &parent, e))?;
                Ok(sha)
            });
        let sha256 = match written {
            Ok(sha) => sha,
            Err(e) => {
                let _ = fs::remove_file(&partial);
                self.budget.release(reserved);
                return Err(e);
            }
        };
        let entry = IndexEntry {
            sha256: Some(sha256.clone()),
            size: reserved,
            sealed: true,
            ..meta.entry(path, Timestamp::now())
        };
        let custody = Entry {
            outcome: meta.outcome.clone(),
            ..Entry::ok(
                meta.action.clone(),
                meta.target.clone(),
                vec![ArtifactRef {
                    path: path.to_string(),
                    sha256,
                }],
            )
        };
        if let Err(e) = self.append(std::slice::from_ref(&entry), Some(&custody)) {
            // Not indexed, so not evidence: take it away rather than leave an orphan.
            let _ = fs::remove_file(&final_path);
            let _ = fsx::sync_dir(&parent);
            self.budget.release(reserved);
            return Err(e);
        }
        Ok(entry)
    }

    /// Copy `content` into `file`, reserving against the cap chunk by chunk; fsync. Returns
    /// the SHA-256 (hex); `reserved` counts the bytes written.
    fn fill(
        &self,
        mut file: File,
        path: &ArtifactPath,
        partial: &Path,
        mut content: impl Read,
        reserved: &mut u64,
    ) -> Result<String> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match content.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(CaseError::Source {
                        path: path.to_string(),
                        source,
                    });
                }
            };
            self.budget.reserve(n as u64)?;
            *reserved += n as u64;
            file.write_all(&buf[..n])
                .map_err(|e| CaseError::io("write", &self.dir, partial, e))?;
            hasher.update(&buf[..n]);
        }
        file.sync_all()
            .map_err(|e| CaseError::io("sync", &self.dir, partial, e))?;
        Ok(hex::encode(hasher.finalize()))
    }

    /// Best effort: a custody line saying the capture failed (a full disk may refuse it too).
    pub(super) fn record_failure(&self, meta: &ArtifactMeta, error: &CaseError) {
        let entry = Entry {
            action: meta.action.clone(),
            target: meta.target.clone(),
            outcome: Err(format!("{}: {error}", meta.path)),
            artifacts: Vec::new(),
        };
        if let Err(e) = self.append(&[], Some(&entry)) {
            tracing::warn!(error = %e, "cannot record a failed capture in custody");
        }
    }
}
