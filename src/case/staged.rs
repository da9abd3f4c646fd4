//! Artifacts another writer puts in place: a transfer that writes, resumes and verifies its own
//! `.partial` (fetch.rs). The path (or its first free numbered variant) is claimed and its
//! directory made up front; once the file is at its final name, fsynced and verified, it is
//! indexed — with small companion files written beside it (a transfer record) — under one
//! custody line naming them all.

use std::path::PathBuf;

use jiff::Timestamp;

use super::custody::{ArtifactRef, Entry};
use super::error::{CaseError, Result};
use super::index::{ArtifactMeta, ArtifactPath, IndexEntry};
use super::{Case, fsx};

/// A claimed artifact path waiting for its file (see the module docs). Dropping it without
/// [`Staged::commit`] frees the claim.
#[derive(Debug)]
pub struct Staged {
    case: Case,
    meta: ArtifactMeta,
    path: ArtifactPath,
}

/// A small file written with the artifact, at `<artifact path><suffix>`.
#[derive(Debug, Clone)]
pub struct Companion {
    /// e.g. `.fetch.json`.
    pub suffix: &'static str,
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Case {
    /// Claim `meta.path` (or its first free numbered variant) for a file the caller writes
    /// itself, and create its directory.
    pub fn stage_artifact(&self, meta: &ArtifactMeta) -> Result<Staged> {
        let inner = &self.inner;
        let Some(path) = inner.claim_variant(&meta.path) else {
            let e = CaseError::InvalidPath {
                path: meta.path.to_string(),
                reason: "it and all its numbered variants are taken",
            };
            inner.record_failure(meta, &e);
            return Err(e);
        };
        let staged = Staged {
            case: self.clone(),
            meta: meta.clone(),
            path,
        };
        let dir = staged.dir();
        fsx::create_dirs(&dir).map_err(|e| CaseError::io("create", &inner.dir, &dir, e))?;
        Ok(staged)
    }
}

impl Staged {
    /// The claimed path inside the case.
    pub fn path(&self) -> &ArtifactPath {
        &self.path
    }

    /// Its absolute path (the final name).
    pub fn file(&self) -> PathBuf {
        self.case.inner.dir.join(self.path.as_str())
    }

    /// The directory it goes into (made by [`Case::stage_artifact`]).
    pub fn dir(&self) -> PathBuf {
        let file = self.file();
        file.parent().map(PathBuf::from).unwrap_or(file)
    }

    /// Its file name.
    pub fn file_name(&self) -> String {
        self.path
            .as_str()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Bytes the case may still take under its cap.
    pub fn room(&self) -> u64 {
        let b = &self.case.inner.budget;
        b.cap().saturating_sub(b.used())
    }

    /// The file is at [`Staged::file`] (fsynced, renamed, directory fsynced) with `sha256` and
    /// `size`: write the companions, index everything and append one custody line (the
    /// artifact first, then the companions). On failure the file and companions are removed
    /// (not indexed, not evidence) and the failure recorded.
    pub fn commit(
        mut self,
        sha256: &str,
        size: u64,
        companions: &[Companion],
    ) -> Result<Vec<IndexEntry>> {
        let file = self.file();
        // The verified bytes at their final name: evidence, kept even when indexing fails.
        let verified = std::fs::metadata(&file).is_ok_and(|m| m.is_file() && m.len() == size);
        let result = self.commit_inner(sha256, size, companions);
        match result {
            Ok(entries) => Ok(entries),
            Err(e) if verified => {
                // Out of the way of a later capture of the same name, under a name that says
                // what it is (a live snapshot cannot be taken again).
                let short = sha256.get(..12).unwrap_or(sha256);
                let kept = file.with_file_name(format!(
                    "{}.unindexed-{short}",
                    file.file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
                ));
                let where_ = match std::fs::rename(&file, &kept) {
                    Ok(()) => kept,
                    Err(_) => file,
                };
                let e = CaseError::io(
                    "index",
                    &self.case.inner.dir,
                    where_.clone(),
                    std::io::Error::other(format!(
                        "{e}; the verified copy ({size} bytes, sha256 {sha256}) is kept, not indexed, at {}",
                        where_.display()
                    )),
                );
                self.case.inner.record_failure(&self.meta, &e);
                Err(e)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&file);
                self.case.inner.record_failure(&self.meta, &e);
                Err(e)
            }
        }
    }

    fn commit_inner(
        &mut self,
        sha256: &str,
        size: u64,
        companions: &[Companion],
    ) -> Result<Vec<IndexEntry>> {
        let inner = &self.case.inner;
        let file = self.file();
        match std::fs::metadata(&file) {
            Ok(m) if m.is_file() && m.len() == size => {}
            Ok(m) => {
                let e = std::io::Error::other(format!(
                    "it holds {} bytes, not the {size} verified",
                    m.len()
                ));
                return Err(CaseError::io("index", &inner.dir, file, e));
            }
            Err(e) => return Err(CaseError::io("index", &inner.dir, file, e)),
        }
        let now = Timestamp::now();
        let mut entries = vec![IndexEntry {
            sha256: Some(sha256.to_string()),
            size,
            sealed: true,
            ..self.meta.entry(&self.path, now)
        }];
        let mut written = Vec::new();
        let mut claimed = Vec::new();
        let outcome = (|| {
            for c in companions {
                let path = ArtifactPath::new(format!("{}{}", self.path, c.suffix))?;
                if !inner.try_claim(&path) {
                    return Err(CaseError::InvalidPath {
                        path: path.to_string(),
                        reason: "a companion file of that name exists already",
                    });
                }
                claimed.push(path.clone());
                let abs = inner.dir.join(path.as_str());
                fsx::write_atomic(&abs, &c.bytes)
                    .map_err(|e| CaseError::io("write", &inner.dir, &abs, e))?;
                written.push(abs);
                entries.push(IndexEntry {
                    sha256: Some(super::custody::sha256_hex(&c.bytes)),
                    size: c.bytes.len() as u64,
                    media_type: c.media_type.to_string(),
                    sealed: true,
                    ..self.meta.entry(&path, now)
                });
            }
            let custody = Entry::ok(
                self.meta.action.clone(),
                self.meta.target.clone(),
                entries
                    .iter()
                    .map(|e| ArtifactRef {
                        path: e.path.clone(),
                        sha256: e.sha256.clone().unwrap_or_default(),
                    })
                    .collect(),
            );
            inner.budget.add(entries.iter().map(|e| e.size).sum());
            inner.append(&entries, Some(&custody)).inspect_err(|_| {
                inner.budget.release(entries.iter().map(|e| e.size).sum());
            })
        })();
        for p in &claimed {
            inner.unclaim(p);
        }
        if outcome.is_err() {
            for abs in &written {
                let _ = std::fs::remove_file(abs);
            }
        }
        outcome?;
        Ok(entries)
    }

    /// The transfer failed: record `message` in custody (what failed, what is kept where).
    pub fn fail(self, message: &str) {
        let entry = Entry {
            action: self.meta.action.clone(),
            target: self.meta.target.clone(),
            outcome: Err(format!("{}: {message}", self.path)),
            artifacts: Vec::new(),
        };
        if let Err(e) = self.case.inner.append(&[], Some(&entry)) {
            tracing::warn!(error = %e, "cannot record a failed transfer in custody");
        }
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        // Committed: indexed now, so still taken; otherwise free again.
        self.case.inner.unclaim(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::super::custody::{Action, Target};
    use super::super::index::Source;
    use super::super::meta::CaseConfig;
    use super::*;

    fn meta() -> ArtifactMeta {
        ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-1", "checkpoints/a.tar").unwrap(),
            "application/x-tar",
            Source::Helper {
                node: "n".into(),
                path: "/var/lib/kubelet/checkpoints/a.tar".into(),
            },
            Action::from("fetch"),
        )
        .for_pod("shop", "web-1", Some("app"))
    }

    fn custody(case: &Case) -> Vec<serde_json::Value> {
        std::fs::read_to_string(case.dir().join(super::super::custody::CUSTODY_FILE))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn a_committed_file_is_indexed_with_its_companion_under_one_line() {
        let tmp = tempfile::tempdir().unwrap();
        let case = Case::open(tmp.path(), Some("t"), &CaseConfig::new("c", "s")).unwrap();
        let staged = case.stage_artifact(&meta()).unwrap();
        assert!(staged.dir().is_dir());
        // The name is claimed: a second staging gets the numbered variant.
        let second = case.stage_artifact(&meta()).unwrap();
        assert_eq!(second.file_name(), "a-2.tar");
        drop(second);
        std::fs::write(staged.file(), b"archive").unwrap();
        let companion = Companion {
            suffix: ".fetch.json",
            media_type: "application/json",
            bytes: b"{}\n".to_vec(),
        };
        let sha = super::super::custody::sha256_hex(b"archive");
        let entries = staged.commit(&sha, 7, &[companion]).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1].path,
            "artifacts/shop/web-1/checkpoints/a.tar.fetch.json"
        );
        assert_eq!(case.index().unwrap().len(), 2);
        let last = custody(&case).pop().unwrap();
        assert_eq!(last["action"], "fetch");
        assert_eq!(
            last["target"],
            Target::pod("shop", "web-1", Some("app")).to_string()
        );
        assert_eq!(last["artifacts"].as_array().unwrap().len(), 2);
        assert_eq!(last["artifacts"][0]["sha256"], sha.as_str());
        // Indexed now: the name stays taken.
        assert_eq!(case.stage_artifact(&meta()).unwrap().file_name(), "a-2.tar");
    }

    #[test]
    fn a_file_of_the_wrong_size_is_not_indexed() {
        let tmp = tempfile::tempdir().unwrap();
        let case = Case::open(tmp.path(), Some("t"), &CaseConfig::new("c", "s")).unwrap();
        let staged = case.stage_artifact(&meta()).unwrap();
        let file = staged.file();
        std::fs::write(&file, b"short").unwrap();
        let err = staged.commit("00", 7, &[]).unwrap_err();
        assert!(err.to_string().contains("not the 7 verified"), "{err}");
        assert!(!file.exists());
        assert!(case.index().unwrap().is_empty());
        let last = custody(&case).pop().unwrap();
        assert_eq!(last["result"], "error");
        // The claim is gone with it.
        assert_eq!(case.stage_artifact(&meta()).unwrap().file_name(), "a.tar");
    }

    #[test]
    fn a_verified_file_that_cannot_be_indexed_is_kept_and_said_where() {
        let tmp = tempfile::tempdir().unwrap();
        let case = Case::open(tmp.path(), Some("t"), &CaseConfig::new("c", "s")).unwrap();
        let staged = case.stage_artifact(&meta()).unwrap();
        let file = staged.file();
        std::fs::write(&file, b"archive").unwrap();
        // Its companion's name is taken already: the commit fails after the file is verified.
        std::fs::write(file.with_file_name("a.tar.fetch.json"), b"someone's").unwrap();
        let companion = Companion {
            suffix: ".fetch.json",
            media_type: "application/json",
            bytes: b"{}\n".to_vec(),
        };
        let sha = super::super::custody::sha256_hex(b"archive");
        let err = staged.commit(&sha, 7, &[companion]).unwrap_err();
        let kept = file.with_file_name(format!("a.tar.unindexed-{}", &sha[..12]));
        assert_eq!(std::fs::read(&kept).unwrap(), b"archive", "{err}");
        assert!(err.to_string().contains("is kept, not indexed"), "{err}");
        assert!(err.to_string().contains(&sha), "{err}");
        let last = custody(&case).pop().unwrap();
        assert_eq!(last["result"], "error");
        assert!(last.to_string().contains(&sha), "{last}");
    }
}
