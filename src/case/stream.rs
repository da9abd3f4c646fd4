//! Streams (socket events, packets, crashes): JSON lines written into segments
//! `<dir>/<stem>-<n>.<ext>`, or ([`Layout::TopLevel`], the record streams of `--record`) into
//! one file `<stem>.<ext>` at the top of the case, never rotated, appended to by a later run.
//!
//! - A segment is indexed with `sealed: false` as soon as it is created, so a kill leaves it
//!   findable; each line is handed to the kernel with one `write` as it arrives (a SIGKILL loses
//!   nothing already written), and fsynced by [`StreamWriter::tick`].
//! - **The caller drives time**: call [`StreamWriter::tick`] at least once a second (the
//!   console's tick does). It fsyncs data written since the last sync (so at most ~1 s is lost to
//!   a power cut) and rotates a segment older than `max_segment_age` (60 s). Writing also
//!   rotates when a line would pass `max_segment_bytes`. There is no timer thread.
//! - Rotating or [`StreamWriter::close`] seals the segment: fsync, a second index line with its
//!   SHA-256 (computed while writing, never re-read) and `sealed: true`, and a custody line.
//!   Dropping an unclosed writer seals it too, best effort.
//! - The next open of a case seals any segment left unsealed ([`recover`]): cut to its last
//!   complete line, hashed, a `recover_segment` custody line saying so.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use super::custody::{Action, ArtifactRef, Entry, Target};
use super::error::{CaseError, Result};
use super::index::{ArtifactMeta, ArtifactPath, IndexEntry, Source};
use super::{Case, fsx};

pub const DEFAULT_SEGMENT_BYTES: u64 = 64 << 20;
pub const DEFAULT_SEGMENT_AGE: Duration = Duration::from_secs(60);
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Where a stream's lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Rotated segments `<dir>/<stem>-<n>.<ext>`, n from 1, continuing after existing ones.
    Segments,
    /// One file `<stem>.<ext>` at the top of the case (`dir` unused), never rotated; a later
    /// run of the same case appends to it (its hash then covers the whole file).
    TopLevel,
}

/// What a stream writes and how its segments rotate.
#[derive(Debug, Clone)]
pub struct StreamMeta {
    pub layout: Layout,
    /// The directory of the segments, e.g. `artifacts/nodes/<node>`.
    pub dir: ArtifactPath,
    /// Segments are `<stem>-<n>.<extension>`, n from 1, continuing after existing ones.
    pub stem: String,
    pub extension: String,
    pub media_type: String,
    pub source: Source,
    pub pod: Option<(String, String)>,
    pub container: Option<String>,
    /// Custody action and target of each sealed segment.
    pub action: Action,
    pub target: Target,
    pub max_segment_bytes: u64,
    pub max_segment_age: Duration,
}

impl StreamMeta {
    /// A node's socket events: `artifacts/nodes/<node>/sockets-<n>.jsonl`.
    pub fn sockets(node: &str) -> Result<Self> {
        Ok(StreamMeta {
            layout: Layout::Segments,
            dir: ArtifactPath::new(format!("artifacts/nodes/{node}"))?,
            stem: "sockets".to_string(),
            extension: "jsonl".to_string(),
            media_type: "application/x-ndjson".to_string(),
            source: Source::Helper {
                node: node.to_string(),
                path: "sockets".to_string(),
            },
            pod: None,
            container: None,
            action: Action::CaptureStream,
            target: Target::Node(node.to_string()),
            max_segment_bytes: DEFAULT_SEGMENT_BYTES,
            max_segment_age: DEFAULT_SEGMENT_AGE,
        })
    }

    /// A record stream of `--record`: `<stem>.<extension>` at the top of the case, made on
    /// this machine (`crashes.jsonl`, `events.jsonl`, `packets.jsonl`).
    pub fn top_level(stem: &str, extension: &str) -> Result<Self> {
        Ok(StreamMeta {
            layout: Layout::TopLevel,
            dir: ArtifactPath::new(format!("{stem}.{extension}"))?,
            stem: stem.to_string(),
            extension: extension.to_string(),
            media_type: "application/x-ndjson".to_string(),
            source: Source::Local,
            pod: None,
            container: None,
            action: Action::CaptureStream,
            target: Target::Case,
            max_segment_bytes: u64::MAX,
            max_segment_age: Duration::MAX,
        })
    }

    fn segment_path(&self, n: u32) -> Result<ArtifactPath> {
        match self.layout {
            Layout::Segments => {
                ArtifactPath::new(format!("{}/{}-{n}.{}", self.dir, self.stem, self.extension))
            }
            Layout::TopLevel => ArtifactPath::new(format!("{}.{}", self.stem, self.extension)),
        }
    }

    fn artifact(&self, path: ArtifactPath) -> ArtifactMeta {
        ArtifactMeta {
            path,
            media_type: self.media_type.clone(),
            source: self.source.clone(),
            pod: self.pod.clone(),
            container: self.container.clone(),
            crash_signature: None,
            captured_at: None,
            action: self.action.clone(),
            target: self.target.clone(),
            outcome: Ok(()),
        }
    }
}

/// Writes a stream into rotating segments of a case (see the module docs).
#[derive(Debug)]
pub struct StreamWriter {
    case: Case,
    meta: StreamMeta,
    next_n: u32,
    segment: Option<Segment>,
    buf: Vec<u8>,
}

#[derive(Debug)]
struct Segment {
    path: ArtifactPath,
    file: File,
    entry: IndexEntry,
    size: u64,
    hasher: Sha256,
    opened: Instant,
    last_sync: Instant,
    dirty: bool,
}

impl Case {
    /// Start a stream; its first segment is created and indexed (unsealed) now.
    pub fn open_stream(&self, meta: StreamMeta) -> Result<StreamWriter> {
        let mut writer = StreamWriter {
            case: self.clone(),
            meta,
            next_n: 1,
            segment: None,
            buf: Vec::new(),
        };
        writer.start_segment(Instant::now())?;
        Ok(writer)
    }
}

impl StreamWriter {
    /// Append one record (`line` without its newline).
    pub fn write_line(&mut self, line: &[u8]) -> Result<()> {
        if line.contains(&b'\n') {
            return Err(CaseError::LineHasNewline {
                path: self.current_path().unwrap_or_default().to_string(),
            });
        }
        let n = line.len() as u64 + 1;
        if let Some(seg) = &self.segment
            && seg.size > 0
            && seg.size + n > self.meta.max_segment_bytes
        {
            self.rotate(Instant::now())?;
        }
        if self.segment.is_none() {
            self.start_segment(Instant::now())?;
        }
        self.buf.clear();
        self.buf.extend_from_slice(line);
        self.buf.push(b'\n');
        self.append_buf()
    }

    /// Append several records with as few writes as the segment allows (a batch that fits goes
    /// in one `write`; a kill in its middle leaves whole lines before the cut, and the next
    /// open seals the segment at its last complete line). A top-level stream never rotates, so
    /// its batch is always one write.
    pub fn write_lines<L: AsRef<[u8]>>(&mut self, lines: &[L]) -> Result<()> {
        if self.meta.layout != Layout::TopLevel {
            return lines.iter().try_for_each(|l| self.write_line(l.as_ref()));
        }
        if lines.is_empty() {
            return Ok(());
        }
        if lines.iter().any(|l| l.as_ref().contains(&b'\n')) {
            return Err(CaseError::LineHasNewline {
                path: self.current_path().unwrap_or_default().to_string(),
            });
        }
        if self.segment.is_none() {
            self.start_segment(Instant::now())?;
        }
        self.buf.clear();
        for l in lines {
            self.buf.extend_from_slice(l.as_ref());
            self.buf.push(b'\n');
        }
        self.append_buf()
    }

    /// Append the whole lines in `buf` to the open segment with one write, within the case's
    /// budget, hashing them as written.
    fn append_buf(&mut self) -> Result<()> {
        let n = self.buf.len() as u64;
        let inner = &self.case.inner;
        inner.budget.reserve(n)?;
        let Some(seg) = self.segment.as_mut() else {
            inner.budget.release(n);
            return Ok(());
        };
        if let Err(e) = seg.file.write_all(&self.buf) {
            // Cut a partly written line back off: the segment stays whole lines.
            let _ = seg.file.set_len(seg.size);
            inner.budget.release(n);
            let path = inner.dir.join(seg.path.as_str());
            return Err(CaseError::io("write", &inner.dir, path, e));
        }
        seg.hasher.update(&self.buf);
        seg.size += n;
        seg.dirty = true;
        Ok(())
    }

    /// Call at least once a second: fsync what was written, rotate an old segment.
    pub fn tick(&mut self) -> Result<()> {
        self.tick_at(Instant::now())
    }

    /// [`StreamWriter::tick`] at a given instant (tests).
    pub fn tick_at(&mut self, now: Instant) -> Result<()> {
        let age = self.meta.max_segment_age;
        let Some(seg) = self.segment.as_mut() else {
            return Ok(());
        };
        if seg.size > 0 && now.saturating_duration_since(seg.opened) >= age {
            return self.rotate(now);
        }
        if seg.dirty && now.saturating_duration_since(seg.last_sync) >= SYNC_INTERVAL {
            seg.sync(&self.case, now)?;
        }
        Ok(())
    }

    /// The open segment's path.
    pub fn current_path(&self) -> Option<&str> {
        self.segment.as_ref().map(|s| s.path.as_str())
    }

    /// Seal the open segment and end the stream; returns the sealed segment's entry.
    pub fn close(mut self) -> Result<Option<IndexEntry>> {
        self.seal()
    }

    fn rotate(&mut self, now: Instant) -> Result<()> {
        self.seal()?;
        self.start_segment(now)
    }

    fn start_segment(&mut self, now: Instant) -> Result<()> {
        if self.meta.layout == Layout::TopLevel {
            return self.reopen_top_level(now);
        }
        let inner = &self.case.inner;
        let dir = inner.dir.join(self.meta.dir.as_str());
        let io = |what, p: &std::path::Path, e| CaseError::io(what, &inner.dir, p, e);
        fsx::create_dirs(&dir).map_err(|e| io("create", &dir, e))?;
        let path = loop {
            let path = self.meta.segment_path(self.next_n)?;
            self.next_n += 1;
            if inner.try_claim(&path) {
                break path;
            }
        };
        let full = inner.dir.join(path.as_str());
        let created = fsx::create_new(&full)
            .map_err(|e| io("create", &full, e))
            .and_then(|f| {
                fsx::sync_dir(&dir).map_err(|e| io("sync", &dir, e))?;
                let entry = self
                    .meta
                    .artifact(path.clone())
                    .entry(&path, Timestamp::now());
                inner.append(std::slice::from_ref(&entry), None)?;
                Ok((f, entry))
            });
        inner.unclaim(&path);
        let (file, entry) = created?;
        self.segment = Some(Segment {
            path,
            file,
            entry,
            size: 0,
            hasher: Sha256::new(),
            opened: now,
            last_sync: now,
            dirty: false,
        });
        Ok(())
    }

    /// The top-level file: created, or (a later run of the case) opened for appending with
    /// what it holds hashed first, and indexed unsealed either way.
    fn reopen_top_level(&mut self, now: Instant) -> Result<()> {
        let inner = &self.case.inner;
        let path = self.meta.segment_path(1)?;
        let full = inner.dir.join(path.as_str());
        let io = |what, e| CaseError::io(what, &inner.dir, &full, e);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(fsx::FILE_MODE)
            .open(&full)
            .map_err(|e| io("open", e))?;
        fsx::sync_dir(&inner.dir).map_err(|e| io("sync", e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(|e| io("read", e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let entry = IndexEntry {
            size,
            ..self
                .meta
                .artifact(path.clone())
                .entry(&path, Timestamp::now())
        };
        inner.append(std::slice::from_ref(&entry), None)?;
        self.segment = Some(Segment {
            path,
            file,
            entry,
            size,
            hasher,
            opened: now,
            last_sync: now,
            dirty: false,
        });
        Ok(())
    }

    fn seal(&mut self) -> Result<Option<IndexEntry>> {
        let Some(mut seg) = self.segment.take() else {
            return Ok(None);
        };
        seg.sync(&self.case, Instant::now())?;
        let sha256 = hex::encode(std::mem::take(&mut seg.hasher).finalize());
        let entry = IndexEntry {
            sha256: Some(sha256.clone()),
            size: seg.size,
            sealed: true,
            ..seg.entry
        };
        let custody = Entry::ok(
            self.meta.action.clone(),
            self.meta.target.clone(),
            vec![ArtifactRef {
                path: entry.path.clone(),
                sha256,
            }],
        );
        self.case
            .inner
            .append(std::slice::from_ref(&entry), Some(&custody))?;
        Ok(Some(entry))
    }
}

impl Segment {
    fn sync(&mut self, case: &Case, now: Instant) -> Result<()> {
        let dir = &case.inner.dir;
        self.file
            .sync_data()
            .map_err(|e| CaseError::io("sync", dir, dir.join(self.path.as_str()), e))?;
        self.last_sync = now;
        self.dirty = false;
        Ok(())
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if let Err(e) = self.seal() {
            tracing::warn!(error = %e, "cannot seal a stream segment; the next open will");
        }
    }
}

/// Seal every segment `entries` (the resolved index) shows unsealed: cut it to its last
/// complete line, hash it, index it sealed, and record a `recover_segment` custody line.
pub(super) fn recover(case: &Case, entries: &[IndexEntry]) -> Result<()> {
    let inner = &case.inner;
    for entry in entries.iter().filter(|e| !e.sealed) {
        let full = inner.dir.join(&entry.path);
        let io = |what, e| CaseError::io(what, &inner.dir, &full, e);
        let target = target_of(entry);
        let mut file = match OpenOptions::new().read(true).write(true).open(&full) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let gone = IndexEntry {
                    sealed: true,
                    ..entry.clone()
                };
                let note = Entry {
                    action: Action::RecoverSegment,
                    target,
                    outcome: Err(format!(
                        "{}: unsealed segment missing from disk",
                        entry.path
                    )),
                    artifacts: Vec::new(),
                };
                inner.append(&[gone], Some(&note))?;
                continue;
            }
            Err(e) => return Err(io("open", e)),
        };
        let tail = fsx::tail(&mut file).map_err(|e| io("read", e))?;
        let dropped = tail.len - tail.complete_len;
        file.set_len(tail.complete_len)
            .and_then(|()| file.sync_all())
            .map_err(|e| io("truncate", e))?;
        let sha256 = hash_file(file).map_err(|e| io("read", e))?;
        let sealed = IndexEntry {
            sha256: Some(sha256.clone()),
            size: tail.complete_len,
            sealed: true,
            ..entry.clone()
        };
        let note = Entry {
            action: Action::RecoverSegment,
            target,
            outcome: Err(format!(
                "{}: its writer ended uncleanly (ktui killed or crashed); sealed after an \
                 unclean end at its last complete line ({} bytes kept, {dropped} bytes of an \
                 incomplete line dropped)",
                entry.path, tail.complete_len
            )),
            artifacts: vec![ArtifactRef {
                path: entry.path.clone(),
                sha256,
            }],
        };
        inner.append(&[sealed], Some(&note))?;
    }
    Ok(())
}

fn hash_file(mut file: File) -> std::io::Result<String> {
    use std::io::Seek as _;
    file.seek(std::io::SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// The custody target of an index entry: its pod, else the node of `artifacts/nodes/<node>/`.
fn target_of(entry: &IndexEntry) -> Target {
    if let Some((ns, pod)) = entry.pod.as_deref().and_then(|p| p.split_once('/')) {
        return Target::pod(ns, pod, entry.container.as_deref());
    }
    match entry.path.strip_prefix("artifacts/nodes/") {
        Some(rest) => Target::Node(rest.split('/').next().unwrap_or_default().to_string()),
        None => Target::Case,
    }
}
