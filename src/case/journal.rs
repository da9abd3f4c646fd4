//! The two append-only files, `index.jsonl` and `custody.jsonl`, written together: one call
//! appends an action's index lines and its custody line and fsyncs both; if either write fails
//! both files are cut back to where they were, so no index line is left without its custody
//! line.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::custody::{self, Action, Actor, ChainHead, Entry, Target};
use super::error::{CaseError, Result};
use super::fsx;
use super::index::{self, IndexEntry};

#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    index: File,
    index_len: u64,
    custody: File,
    custody_len: u64,
    head: ChainHead,
    pub actor: Actor,
}

impl Journal {
    /// Open both files (created if missing), drop an incomplete last line left by a cut write,
    /// and continue the custody chain after its last line. Returns custody entries to append
    /// about what was repaired.
    pub fn open(dir: &Path, actor: Actor) -> Result<(Journal, Vec<Entry>)> {
        let mut repairs = Vec::new();
        let (index, index_len, _) = open_file(dir, index::INDEX_FILE)?;
        let (custody, custody_len, custody_tail) = open_file(dir, custody::CUSTODY_FILE)?;
        if let Some((dropped, sha)) = custody_tail.dropped {
            repairs.push(Entry {
                action: Action::RecoverCustody,
                target: Target::Case,
                outcome: Err(format!(
                    "custody.jsonl ended in an incomplete line ({dropped} bytes, sha256 {sha}) \
                     left by a cut write; it was dropped"
                )),
                artifacts: Vec::new(),
            });
        }
        let head = match custody_tail.last_line {
            None => ChainHead::genesis(),
            Some(line) => ChainHead::after(&line).ok_or_else(|| CaseError::BadFile {
                path: dir.join(custody::CUSTODY_FILE),
                line: 0,
                message: "its last line is not a custody line, so the chain cannot be continued \
                          (`ktui case show` says where it breaks); start a new case"
                    .to_string(),
            })?,
        };
        let journal = Journal {
            dir: dir.to_path_buf(),
            index,
            index_len,
            custody,
            custody_len,
            head,
            actor,
        };
        Ok((journal, repairs))
    }

    /// Append `entries` to the index and `action` (if any) to custody, fsynced. Returns the
    /// bytes added.
    pub fn append(&mut self, entries: &[IndexEntry], action: Option<&Entry>) -> Result<u64> {
        let mut index_bytes = Vec::new();
        for e in entries {
            // Strings, numbers and bools: serialising cannot fail.
            index_bytes.extend(serde_json::to_vec(e).unwrap_or_default());
            index_bytes.push(b'\n');
        }
        let line = action.map(|a| self.head.line(Timestamp::now(), &self.actor, a));
        let result = self.write_both(&index_bytes, line.as_ref().map(|(b, _)| b.as_slice()));
        match result {
            Ok(()) => {
                let custody_added = line.as_ref().map_or(0, |(b, _)| b.len() as u64 + 1);
                self.index_len += index_bytes.len() as u64;
                self.custody_len += custody_added;
                if let Some((_, head)) = line {
                    self.head = head;
                }
                Ok(index_bytes.len() as u64 + custody_added)
            }
            Err(e) => {
                // Cut both back; the next append writes at the (restored) end (O_APPEND).
                let _ = self.index.set_len(self.index_len);
                let _ = self.custody.set_len(self.custody_len);
                Err(e)
            }
        }
    }

    fn write_both(&mut self, index_bytes: &[u8], custody_line: Option<&[u8]>) -> Result<()> {
        if !index_bytes.is_empty() {
            let path = self.dir.join(index::INDEX_FILE);
            self.index
                .write_all(index_bytes)
                .and_then(|()| self.index.sync_data())
                .map_err(|e| CaseError::io("append to", &self.dir, path, e))?;
        }
        if let Some(line) = custody_line {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
            let path = self.dir.join(custody::CUSTODY_FILE);
            self.custody
                .write_all(&bytes)
                .and_then(|()| self.custody.sync_data())
                .map_err(|e| CaseError::io("append to", &self.dir, path, e))?;
        }
        Ok(())
    }
}

struct OpenTail {
    last_line: Option<Vec<u8>>,
    /// Bytes of an incomplete last line that were cut off, and their SHA-256.
    dropped: Option<(u64, String)>,
}

fn open_file(dir: &Path, name: &str) -> Result<(File, u64, OpenTail)> {
    let path = dir.join(name);
    let io = |what, e| CaseError::io(what, dir, &path, e);
    let mut file = fsx::open_append(&path).map_err(|e| io("open", e))?;
    let tail = fsx::tail(&mut file).map_err(|e| io("read", e))?;
    let mut dropped = None;
    if tail.len > tail.complete_len {
        let bytes =
            read_range(&mut file, tail.complete_len, tail.len).map_err(|e| io("read", e))?;
        file.set_len(tail.complete_len)
            .and_then(|()| file.sync_data())
            .map_err(|e| io("repair", e))?;
        tracing::warn!(
            file = %path.display(),
            bytes = bytes.len(),
            "dropped an incomplete last line left by a cut write"
        );
        dropped = Some((bytes.len() as u64, custody::sha256_hex(&bytes)));
    }
    let len = tail.complete_len;
    let tail = OpenTail {
        last_line: tail.last_line,
        dropped,
    };
    Ok((file, len, tail))
}

fn read_range(file: &mut File, from: u64, to: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read as _, Seek as _};
    file.seek(std::io::SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.take(to - from).read_to_end(&mut bytes)?;
    Ok(bytes)
}
