//! The case: everything an investigation collects, on disk as it is captured, so it survives
//! ktui being killed and can be checked later with standard tools.
//!
//! ```text
//! <cases dir>/<case id>/        (0700; every file 0600)
//!   case.json      schema, case_id, created, ktui_version, context, server, demo,
//!                  collector {local_user, host, kube_user}, clock {local, api_server_date, offset_ms}
//!   custody.jsonl  one hash-chained line per action (custody.rs)
//!   notes.md       investigator notes
//!   index.jsonl    one line per artifact (index.rs)
//!   artifacts/<namespace>/<pod>/...   artifacts/nodes/<node>/...
//!   secrets.key    per-case HMAC key (never exported)
//!   bundles/       exports of this case
//!   case.lock      who writes the case now (lock.rs)
//! ```
//! - **One writer**: opening takes `case.lock` (flock); a second opener, in this process or
//!   another, gets [`CaseError::Locked`] naming the holder. Read-only commands
//!   (`ktui case list/show`) read the files without the lock.
//! - **One-shot artifacts** ([`Case::write_artifact`]): `<name>.partial`, hashed while written,
//!   fsynced, renamed, directory fsynced, then the index line and the custody line (fsynced). A
//!   name already taken gets `-2`, `-3`, ... before its extension: evidence is never overwritten.
//! - **Staged artifacts** ([`Case::stage_artifact`], staged.rs): a transfer that resumes and
//!   verifies its own `.partial` (fetch.rs) writes in place under a claimed name, then commits
//!   the verified file with companion files under one custody line.
//! - **Streams** ([`Case::open_stream`], stream.rs): segments, sealed with their hash when rotated
//!   or closed; the open one is indexed `sealed: false` from the start and is sealed at its last
//!   complete line by the next open after a kill.
//! - **Bounded**: bytes are reserved against the cap before they are written; the cap or a full
//!   disk stop the capture with [`CaseError::CapReached`] / [`CaseError::DiskFull`], and the
//!   partial file is removed.
//!
//! All calls block (fsync): from async code, run them in `spawn_blocking`. A `Case` is a cheap
//! handle (`Clone`, `Send + Sync`); the lock is released when the last handle is dropped.

mod artifact;
mod budget;
pub mod cmd;
pub mod custody;
pub mod error;
mod fsx;
pub mod index;
mod journal;
pub mod lock;
pub mod meta;
mod open;
mod secret;
mod staged;
pub mod stream;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use custody::{Action, ArtifactRef, Entry, Target, verify_chain};
pub use error::{CaseError, ChainBreak, ChainError, Result};
pub use index::{ArtifactMeta, ArtifactPath, IndexEntry, Source};
pub use meta::{CaseConfig, CaseMeta, Clock, Collector, DEFAULT_SIZE_CAP, cases_dir};
pub use staged::{Companion, Staged};
pub use stream::{Layout, StreamMeta, StreamWriter};

use budget::Budget;
use journal::Journal;
use lock::CaseLock;
use secret::SecretKey;

pub const NOTES_FILE: &str = "notes.md";
pub const ARTIFACTS_DIR: &str = "artifacts";
pub const BUNDLES_DIR: &str = "bundles";

/// An open case, held for writing (see the module docs).
#[derive(Debug, Clone)]
pub struct Case {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    meta: CaseMeta,
    budget: Budget,
    journal: Mutex<Journal>,
    paths: Mutex<Paths>,
    key: SecretKey,
    _lock: CaseLock,
}

/// Artifact paths in use: indexed, or being written now.
#[derive(Debug, Default)]
struct Paths {
    indexed: HashSet<String>,
    in_flight: HashSet<String>,
}

fn guard<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Case {
    pub fn id(&self) -> &str {
        &self.inner.meta.case_id
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn meta(&self) -> &CaseMeta {
        &self.inner.meta
    }

    /// Bytes the case holds (bundles/ not counted), as the cap counts them.
    pub fn size(&self) -> u64 {
        self.inner.budget.used()
    }

    pub fn size_cap(&self) -> u64 {
        self.inner.budget.cap()
    }

    /// The artifacts, one entry per path (its last index line), in capture order.
    pub fn index(&self) -> Result<Vec<IndexEntry>> {
        let lines = index::read_lines(&self.inner.dir.join(index::INDEX_FILE))?;
        Ok(index::resolve(lines))
    }

    /// Append a custody line for an action that wrote no artifact through the case (deploy,
    /// remove, export, upload, a failed capture).
    pub fn record(&self, entry: &Entry) -> Result<()> {
        self.inner.append(&[], Some(entry))
    }

    /// Save the notes (`notes.md`, atomically) and record a `note` custody line with their hash.
    /// The notes as `notes.md` holds them now (empty when there are none yet).
    pub fn notes(&self) -> String {
        std::fs::read(self.inner.dir.join(NOTES_FILE))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    pub fn save_notes(&self, text: &str) -> Result<ArtifactRef> {
        let inner = &self.inner;
        let path = inner.dir.join(NOTES_FILE);
        let old = std::fs::metadata(&path).map_or(0, |m| m.len());
        inner.budget.reserve(text.len() as u64)?;
        if let Err(e) = fsx::write_atomic(&path, text.as_bytes()) {
            inner.budget.release(text.len() as u64);
            return Err(CaseError::io("write", &inner.dir, path, e));
        }
        inner.budget.release(old);
        let note = ArtifactRef {
            path: NOTES_FILE.to_string(),
            sha256: custody::sha256_hex(text.as_bytes()),
        };
        let entry = Entry::ok(Action::Note, Target::Case, vec![note.clone()]);
        inner.append(&[], Some(&entry))?;
        Ok(note)
    }

    /// HMAC-SHA256 (hex) of a Secret's value keyed with the case's `secrets.key`: recorded
    /// instead of the value.
    pub fn secret_hmac(&self, value: &[u8]) -> String {
        self.inner.key.hmac_hex(value)
    }

    /// The context later custody lines name (after a context switch).
    pub fn set_context(&self, context: &str) {
        guard(&self.inner.journal).actor.context = context.to_string();
    }

    /// The Kubernetes user later custody lines name (once known, e.g. from SelfSubjectReview).
    pub fn set_kube_user(&self, kube_user: Option<String>) {
        guard(&self.inner.journal).actor.kube_user = kube_user;
    }
}

impl Inner {
    /// Append to the journal and count the bytes.
    fn append(&self, entries: &[IndexEntry], action: Option<&Entry>) -> Result<()> {
        let added = guard(&self.journal).append(entries, action)?;
        self.budget.add(added);
        guard(&self.paths)
            .indexed
            .extend(entries.iter().map(|e| e.path.clone()));
        Ok(())
    }

    /// Whether `path` is free (not indexed, not on disk, not being written); if so it is
    /// claimed until [`Inner::unclaim`].
    fn try_claim(&self, path: &ArtifactPath) -> bool {
        let mut paths = guard(&self.paths);
        let p = path.as_str();
        if paths.indexed.contains(p)
            || paths.in_flight.contains(p)
            || self.dir.join(p).symlink_metadata().is_ok()
        {
            return false;
        }
        paths.in_flight.insert(p.to_string());
        true
    }

    fn unclaim(&self, path: &ArtifactPath) {
        guard(&self.paths).in_flight.remove(path.as_str());
    }
}
