//! Opening a case: by id (created if new, appended to if it exists), as a new generated id, or
//! a given directory (`--record DIR`). Every open appends an `open_case` custody line naming
//! `case.json` and its hash, then repairs what a killed writer left (a cut journal line, an
//! unsealed stream segment), each repair with its own custody line.

use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use super::custody::{self, Actor};
use super::error::{CaseError, Result};
use super::lock::{self, CaseLock, LockHolder};
use super::meta::{self, CaseConfig, CaseMeta};
use super::{
    ARTIFACTS_DIR, Action, ArtifactRef, BUNDLES_DIR, Budget, Case, Entry, Inner, Journal,
    NOTES_FILE, Paths, SecretKey, Target, fsx, index, secret, stream,
};

/// How many `-2`, `-3`, ... suffixes a generated id tries when its second is taken.
const MAX_SUFFIX: u32 = 1000;

impl Case {
    /// Open case `id` under `cases_dir` (created if new, appended to if it exists), or with
    /// `None` a new case `ktui-<context>-<UTC yyyymmddThhmmssZ>` (`-2`, ... if that is taken).
    pub fn open(cases_dir: &Path, id: Option<&str>, config: &CaseConfig) -> Result<Case> {
        fsx::create_dirs(cases_dir)
            .map_err(|e| CaseError::io("create the cases directory", cases_dir, cases_dir, e))?;
        if let Some(id) = id {
            meta::validate_id(id)?;
            return open_at(cases_dir.join(id), id, config);
        }
        let base = meta::new_id(&config.context, Timestamp::now());
        for n in 1..=MAX_SUFFIX {
            let id = if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            };
            let dir = cases_dir.join(&id);
            match fs::DirBuilder::new().mode(fsx::DIR_MODE).create(&dir) {
                Ok(()) => {
                    fsx::sync_dir(cases_dir)
                        .map_err(|e| CaseError::io("sync", cases_dir, cases_dir, e))?;
                    return open_at(dir, &id, config);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(CaseError::io("create", cases_dir, dir, e)),
            }
        }
        Err(CaseError::InvalidId {
            id: base,
            reason: "it and its numbered variants are all taken",
        })
    }

    /// Open the directory `dir` itself as a case (created if new); its id is the directory's
    /// name when that is a valid id, else one generated from it.
    pub fn open_dir(dir: &Path, config: &CaseConfig) -> Result<Case> {
        Case::open_dir_as(dir, None, config)
    }

    /// [`Case::open_dir`] with the id of a new case given (`ktui --record DIR --case ID`);
    /// an existing case keeps its own.
    pub fn open_dir_as(dir: &Path, id: Option<&str>, config: &CaseConfig) -> Result<Case> {
        if let Some(id) = id {
            meta::validate_id(id)?;
            return open_at(dir.to_path_buf(), id, config);
        }
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let id = match meta::validate_id(name) {
            Ok(()) => name.to_string(),
            Err(_) => meta::new_id(name, Timestamp::now()),
        };
        open_at(dir.to_path_buf(), &id, config)
    }
}

fn open_at(dir: PathBuf, id: &str, config: &CaseConfig) -> Result<Case> {
    let io = |what, path: &Path, e| CaseError::io(what, &dir, path, e);
    fsx::create_dirs(&dir).map_err(|e| io("create", &dir, e))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(fsx::DIR_MODE))
        .map_err(|e| io("set the mode of", &dir, e))?;
    let now = Timestamp::now();
    let me = LockHolder {
        pid: std::process::id(),
        host: config.collector.host.clone(),
        user: config.collector.local_user.clone(),
        since: now,
    };
    let lock = CaseLock::acquire(&dir, id, &me)?;
    let case_json = dir.join(meta::CASE_FILE);
    let (meta, key) = if case_json.exists() {
        (meta::read_meta(&case_json)?, SecretKey::load(&dir)?)
    } else {
        create(&dir, id, config, now)?
    };
    let actor = Actor {
        local_user: config.collector.local_user.clone(),
        host: config.collector.host.clone(),
        kube_user: config.collector.kube_user.clone(),
        context: config.context.clone(),
    };
    let (journal, repairs) = Journal::open(&dir, actor)?;
    let entries = index::resolve(index::read_lines(&dir.join(index::INDEX_FILE))?);
    let used = fsx::dir_size(&dir, &[BUNDLES_DIR]).map_err(|e| io("measure", &dir, e))?;
    let case_json_sha = fs::read(&case_json)
        .map(|b| custody::sha256_hex(&b))
        .map_err(|e| io("read", &case_json, e))?;
    let paths = Paths {
        indexed: entries.iter().map(|e| e.path.clone()).collect(),
        in_flight: Default::default(),
    };
    let case = Case {
        inner: Arc::new(Inner {
            budget: Budget::new(&meta.case_id, config.size_cap, used),
            dir,
            meta,
            journal: Mutex::new(journal),
            paths: Mutex::new(paths),
            key,
            _lock: lock,
        }),
    };
    let opened = ArtifactRef {
        path: meta::CASE_FILE.to_string(),
        sha256: case_json_sha,
    };
    case.record(&Entry::ok(Action::OpenCase, Target::Case, vec![opened]))?;
    for repair in &repairs {
        case.record(repair)?;
    }
    stream::recover(&case, &entries)?;
    recover_custody_gaps(&case)?;
    Ok(case)
}

/// Artifacts indexed whose custody line a kill cut off (the index line is written first): one
/// `recover_artifact` line names them, so every indexed artifact is in the chain (an export
/// of the case verifies).
fn recover_custody_gaps(case: &Case) -> Result<()> {
    let dir = case.dir();
    let custody_path = dir.join(custody::CUSTODY_FILE);
    let text = fs::read(&custody_path).map_err(|e| CaseError::io("read", dir, &custody_path, e))?;
    let mut named = std::collections::HashSet::new();
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        if let Ok(r) = serde_json::from_slice::<custody::Record>(line) {
            named.extend(r.artifacts.into_iter().map(|a| (a.path, a.sha256)));
        }
    }
    let missing: Vec<ArtifactRef> =
        index::resolve(index::read_lines(&dir.join(index::INDEX_FILE))?)
            .into_iter()
            .filter(|e| e.sealed)
            .filter_map(|e| Some((e.path, e.sha256?)))
            .filter(|key| !named.contains(key))
            .map(|(path, sha256)| ArtifactRef { path, sha256 })
            .collect();
    if missing.is_empty() {
        return Ok(());
    }
    case.record(&Entry::ok(Action::RecoverArtifact, Target::Case, missing))?;
    Ok(())
}

/// Files a directory may hold before its case.json exists: what an interrupted creation leaves.
const CREATION_LEFTOVERS: &[&str] = &[
    lock::LOCK_FILE,
    secret::KEY_FILE,
    "secrets.key.partial",
    meta::CASE_FILE,
    "case.json.partial",
    NOTES_FILE,
    "notes.md.partial",
    index::INDEX_FILE,
    custody::CUSTODY_FILE,
    ARTIFACTS_DIR,
    BUNDLES_DIR,
];

/// Lay out a new case; case.json is written last, so its presence marks a complete case.
fn create(
    dir: &Path,
    id: &str,
    config: &CaseConfig,
    now: Timestamp,
) -> Result<(CaseMeta, SecretKey)> {
    check_fresh(dir)?;
    let io = |what, path: &Path, e| CaseError::io(what, dir, path, e);
    let key = SecretKey::create(dir)?;
    for sub in [ARTIFACTS_DIR, BUNDLES_DIR] {
        let path = dir.join(sub);
        fsx::create_dirs(&path).map_err(|e| io("create", &path, e))?;
    }
    let notes = dir.join(NOTES_FILE);
    fsx::write_atomic(&notes, b"").map_err(|e| io("write", &notes, e))?;
    let meta = config.meta(id, now);
    let mut json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    json.push(b'\n');
    let path = dir.join(meta::CASE_FILE);
    fsx::write_atomic(&path, &json).map_err(|e| io("write", &path, e))?;
    Ok((meta, key))
}

/// A directory without case.json may become a case only if it holds nothing but what an
/// interrupted creation leaves (empty journals, an empty artifacts/).
fn check_fresh(dir: &Path) -> Result<()> {
    let not_a_case = || CaseError::NotACase {
        dir: dir.to_path_buf(),
    };
    let entries = fs::read_dir(dir).map_err(|e| CaseError::io("list", dir, dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| CaseError::io("list", dir, dir, e))?;
        let name = entry.file_name();
        let name = name.to_str().unwrap_or_default();
        if !CREATION_LEFTOVERS.contains(&name) {
            return Err(not_a_case());
        }
        let path = entry.path();
        let empty = match name {
            n if n == index::INDEX_FILE || n == custody::CUSTODY_FILE => {
                fs::metadata(&path).is_ok_and(|m| m.len() == 0)
            }
            ARTIFACTS_DIR => fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none()),
            _ => true,
        };
        if !empty {
            return Err(not_a_case());
        }
    }
    Ok(())
}
