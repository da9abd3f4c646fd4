//! Every side effect the update function asks for, as data; `runtime` executes them.

use std::path::PathBuf;

use crate::cluster::{LogRequest, PodKey, Scope};
use crate::triage::CrashRecord;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// (Re)start the pod watch for a scope, cancelling the previous one.
    WatchPods(Scope),
    LoadDetail(PodKey),
    LoadEvents(PodKey),
    LoadLogs(LogRequest),
    /// Follow the current log; replaces any previous follow.
    FollowLogs(LogRequest),
    StopFollow,
    /// Keep the logs and events of a crash whose signature just appeared. `logs`: which
    /// instance's logs to keep (`Some(true)` = previous), None when there are none (evicted,
    /// never started).
    CaptureEvidence {
        record: Box<CrashRecord>,
        logs: Option<bool>,
    },
    /// Write bytes to a file exactly as they are (raw logs), reporting the SHA-256.
    SaveFile {
        path: PathBuf,
        bytes: Vec<u8>,
    },
    SwitchContext(String),
    Quit,
}
