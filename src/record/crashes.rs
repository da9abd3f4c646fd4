//! `crashes.jsonl`: one line per crash seen — each new termination of a container (a pod uid,
//! container, restart count and finish time not written before), not one per signature — with
//! the `ktui triage --json` keys. A later run of the same case reads the lines already there
//! so a restarted recorder (or a new lease holder on the same volume) writes none twice.

use std::collections::HashSet;
use std::path::Path;

use crate::case::{Case, Result, StreamMeta, StreamWriter};
use crate::triage::CrashRecord;
use crate::triage_cmd::JsonRecord;

/// What makes a termination the same one seen again: pod (`namespace/name`: the JSON keys
/// carry no uid), container, finish time. Not the restart count: the kubelet raises it when
/// it restarts the container, and the termination before is reported again with it.
type Seen = (String, Option<String>, Option<String>);

pub struct CrashLog {
    writer: StreamWriter,
    seen: HashSet<Seen>,
    /// Lines written by this run.
    pub written: u64,
}

fn key(r: &CrashRecord) -> Seen {
    (
        format!("{}/{}", r.pod.namespace, r.pod.name),
        r.container.clone(),
        r.finished_at.map(|t| t.to_string()),
    )
}

impl CrashLog {
    /// Open `crashes.jsonl` in `case` (appending to the lines a former run wrote).
    pub fn open(case: &Case) -> Result<CrashLog> {
        let seen = read_seen(&case.dir().join("crashes.jsonl"));
        let writer = case.open_stream(StreamMeta::top_level("crashes", "jsonl")?)?;
        Ok(CrashLog {
            writer,
            seen,
            written: 0,
        })
    }

    /// Write `record` unless that termination was written before; true when it was written.
    pub fn add(&mut self, record: &CrashRecord) -> Result<bool> {
        let key = key(record);
        if self.seen.contains(&key) {
            return Ok(false);
        }
        // Plain strings and numbers: serialising cannot fail.
        let line = crate::sanitize::json::to_string(&JsonRecord::from(record)).unwrap_or_default();
        // Known only once written: a failed write is tried again at the pod's next report.
        self.writer.write_line(line.as_bytes())?;
        self.seen.insert(key);
        self.written += 1;
        Ok(true)
    }

    pub fn tick(&mut self) -> Result<()> {
        self.writer.tick()
    }

    pub fn close(self) -> Result<()> {
        self.writer.close().map(|_| ())
    }
}

/// The terminations a former run wrote (none when the file is new or unreadable).
fn read_seen(path: &Path) -> HashSet<Seen> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
            (
                format!(
                    "{}/{}",
                    s("namespace").unwrap_or_default(),
                    s("pod").unwrap_or_default()
                ),
                s("container"),
                s("finished_at"),
            )
        })
        .collect()
}
