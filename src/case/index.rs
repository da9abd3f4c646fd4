//! The artifact index, `index.jsonl`: one line per artifact (pinned keys: path, sha256, size,
//! media_type, captured_at, source, pod, container, crash_signature, sealed).
//!
//! Append-only: a stream segment gets a line with `sealed: false` (and `sha256: null`) when it
//! is opened and a second line for the same path when it is sealed. Readers take the last line
//! of each path ([`resolve`]); [`super::Case::index`] does that.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::custody::{Action, Target};
use super::error::{CaseError, Result};
use super::fsx;

pub const INDEX_FILE: &str = "index.jsonl";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Relative to the case directory, `/`-separated.
    pub path: String,
    /// `None` only while a stream segment is open.
    pub sha256: Option<String>,
    pub size: u64,
    pub media_type: String,
    #[serde(with = "fsx::ts")]
    pub captured_at: Timestamp,
    /// An API path, `helper:<node>:<path>`, or `local`.
    pub source: String,
    /// `namespace/name`.
    pub pod: Option<String>,
    pub container: Option<String>,
    pub crash_signature: Option<String>,
    pub sealed: bool,
}

/// Where an artifact came from (the index's `source`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An API server path, e.g. `/api/v1/namespaces/shop/pods/web-1/log?previous=true`.
    Api(String),
    /// A file or stream from a node's helper.
    Helper { node: String, path: String },
    /// Made on this machine (notes, summaries).
    Local,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Api(path) => f.write_str(path),
            Source::Helper { node, path } => write!(f, "helper:{node}:{path}"),
            Source::Local => f.write_str("local"),
        }
    }
}

/// A validated path inside the case: relative, no `.`/`..`/empty components, no control
/// characters, not one of the case's own files, not a `.partial` name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactPath(String);

/// Top-level names an artifact may not take.
const RESERVED: &[&str] = &[
    "case.json",
    "custody.jsonl",
    "index.jsonl",
    "notes.md",
    "secrets.key",
    "bundles",
    super::lock::LOCK_FILE,
];

impl ArtifactPath {
    pub fn new(path: impl Into<String>) -> Result<Self> {
        let path = path.into();
        let bad = |reason| CaseError::InvalidPath {
            path: path.clone(),
            reason,
        };
        if path
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..")
        {
            return Err(bad("it must be relative, without empty, '.' or '..' parts"));
        }
        if path.chars().any(|c| c.is_control() || c == '\\') {
            return Err(bad("it contains a control character or a backslash"));
        }
        if path.ends_with(".partial") {
            return Err(bad("'.partial' names are for files being written"));
        }
        let top = path.split('/').next().unwrap_or_default();
        if RESERVED.contains(&top) {
            return Err(bad("it is one of the case's own files"));
        }
        Ok(ArtifactPath(path))
    }

    /// `artifacts/<namespace>/<pod>/<rest>`.
    pub fn pod(namespace: &str, pod: &str, rest: &str) -> Result<Self> {
        Self::new(format!("artifacts/{namespace}/{pod}/{rest}"))
    }

    /// `artifacts/nodes/<node>/<rest>`.
    pub fn node(node: &str, rest: &str) -> Result<Self> {
        Self::new(format!("artifacts/nodes/{node}/{rest}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `dir/name.ext` → `dir/name-<n>.ext` (n ≥ 2): where a second capture of the same
    /// artifact goes (evidence is never overwritten).
    pub fn numbered(&self, n: u32) -> ArtifactPath {
        let (dir, name) = match self.0.rsplit_once('/') {
            Some((d, n)) => (Some(d), n),
            None => (None, self.0.as_str()),
        };
        let name = match name.rsplit_once('.') {
            Some((stem, ext)) if !stem.is_empty() => format!("{stem}-{n}.{ext}"),
            _ => format!("{name}-{n}"),
        };
        ArtifactPath(dir.map_or(name.clone(), |d| format!("{d}/{name}")))
    }
}

impl std::fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the caller knows about an artifact it captures.
#[derive(Debug, Clone)]
pub struct ArtifactMeta {
    pub path: ArtifactPath,
    pub media_type: String,
    pub source: Source,
    /// (namespace, name).
    pub pod: Option<(String, String)>,
    pub container: Option<String>,
    pub crash_signature: Option<String>,
    /// `None`: the time of writing.
    pub captured_at: Option<Timestamp>,
    /// The custody line's action and target.
    pub action: Action,
    pub target: Target,
    /// The custody line's result: `Err(why)` for an action that failed and whose record is the
    /// artifact (a refused checkpoint's request and answer).
    pub outcome: Result<(), String>,
}

impl ArtifactMeta {
    pub fn new(path: ArtifactPath, media_type: &str, source: Source, action: Action) -> Self {
        ArtifactMeta {
            path,
            media_type: media_type.to_string(),
            source,
            pod: None,
            container: None,
            crash_signature: None,
            captured_at: None,
            action,
            target: Target::Case,
            outcome: Ok(()),
        }
    }

    /// The action failed (`why` goes into the custody line's `error`); the artifact records it.
    pub fn failed(mut self, why: impl Into<String>) -> Self {
        self.outcome = Err(why.into());
        self
    }

    /// Sets `pod`, `container` and the custody target to that pod (container).
    pub fn for_pod(mut self, namespace: &str, pod: &str, container: Option<&str>) -> Self {
        self.pod = Some((namespace.to_string(), pod.to_string()));
        self.container = container.map(str::to_string);
        self.target = Target::pod(namespace, pod, container);
        self
    }

    pub fn crash_signature(mut self, signature: &str) -> Self {
        self.crash_signature = Some(signature.to_string());
        self
    }

    pub(crate) fn entry(&self, path: &ArtifactPath, now: Timestamp) -> IndexEntry {
        IndexEntry {
            path: path.as_str().to_string(),
            sha256: None,
            size: 0,
            media_type: self.media_type.clone(),
            captured_at: self.captured_at.unwrap_or(now),
            source: self.source.to_string(),
            pod: self.pod.as_ref().map(|(ns, name)| format!("{ns}/{name}")),
            container: self.container.clone(),
            crash_signature: self.crash_signature.clone(),
            sealed: false,
        }
    }
}

/// Every complete line of an index file, in order (a missing file is an empty index; an
/// incomplete last line, a write in progress or cut by a kill, is not read).
pub fn read_lines(path: &Path) -> Result<Vec<IndexEntry>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(CaseError::io("open", path, path, e)),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut out = Vec::new();
    let mut line = Vec::new();
    for line_no in 1.. {
        line.clear();
        reader
            .read_until(b'\n', &mut line)
            .map_err(|e| CaseError::io("read", path, path, e))?;
        let Some(complete) = line.strip_suffix(b"\n") else {
            break;
        };
        if complete.is_empty() {
            continue;
        }
        let entry = serde_json::from_slice(complete).map_err(|e| CaseError::BadFile {
            path: path.to_path_buf(),
            line: line_no,
            message: e.to_string(),
        })?;
        out.push(entry);
    }
    Ok(out)
}

/// One entry per path, the last line written for it, in the order paths first appeared.
pub fn resolve(lines: Vec<IndexEntry>) -> Vec<IndexEntry> {
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<IndexEntry> = Vec::new();
    for entry in lines {
        match at.get(&entry.path) {
            Some(&i) => out[i] = entry,
            None => {
                at.insert(entry.path.clone(), out.len());
                out.push(entry);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_case() {
        for bad in [
            "/etc/passwd",
            "artifacts/../x",
            "a//b",
            "./a",
            "a/",
            "a\u{1b}b",
            "case.json",
            "bundles/x",
            "a/b.partial",
        ] {
            assert!(ArtifactPath::new(bad).is_err(), "{bad}");
        }
        let p = ArtifactPath::pod("shop", "web-1", "logs/app.previous.log").unwrap();
        assert_eq!(p.as_str(), "artifacts/shop/web-1/logs/app.previous.log");
        assert!(ArtifactPath::pod("shop", "..", "pod.json").is_err());
    }

    #[test]
    fn numbered_names_keep_the_extension() {
        let p = ArtifactPath::new("artifacts/a/b/logs/app.previous.log").unwrap();
        assert_eq!(
            p.numbered(2).as_str(),
            "artifacts/a/b/logs/app.previous-2.log"
        );
        let p = ArtifactPath::new("summary").unwrap();
        assert_eq!(p.numbered(3).as_str(), "summary-3");
    }

    #[test]
    fn the_last_line_of_a_path_wins() {
        let meta = ArtifactMeta::new(
            ArtifactPath::new("a/s-1.jsonl").unwrap(),
            "application/x-ndjson",
            Source::Local,
            Action::CaptureStream,
        );
        let open = meta.entry(&meta.path, Timestamp::UNIX_EPOCH);
        let other = meta.entry(&ArtifactPath::new("a/b").unwrap(), Timestamp::UNIX_EPOCH);
        let sealed = IndexEntry {
            sealed: true,
            sha256: Some("ab".into()),
            ..open.clone()
        };
        let got = resolve(vec![open, other.clone(), sealed.clone()]);
        assert_eq!(got, vec![sealed, other]);
    }
}
