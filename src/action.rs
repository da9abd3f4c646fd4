//! Every input the console reacts to: keys (the terminal front), intents (any driver), time,
//! and results of effects (past tense).

use crossterm::event::KeyEvent;
use jiff::Timestamp;

use crate::cluster::{
    ClusterError, ContextInfo, EventRow, LogRequest, PodDetail, PodEvent, PodKey,
};
use crate::evidence::EvidenceItem;
use crate::helper::client::HelperError;
use crate::helper::lifecycle::DeployError;
use crate::intent::Intent;

#[derive(Debug, Clone)]
pub enum Action {
    Key(KeyEvent),
    /// What a driver wants, by name (keys become intents through the keymap).
    Intent(Intent),
    Resize(u16, u16),
    /// Clock tick: ages and toast expiry.
    Tick(Timestamp),
    Pods(PodEvent),
    DetailLoaded(PodKey, Result<Box<PodDetail>, ClusterError>),
    EventsLoaded(PodKey, Result<Vec<EventRow>, ClusterError>),
    LogsLoaded(LogRequest, Result<Vec<u8>, ClusterError>),
    /// A chunk of a followed log (or the error that ended the follow).
    LogChunk(LogRequest, Result<Vec<u8>, ClusterError>),
    EvidenceCaptured(EvidenceItem),
    EvidenceFailed {
        what: String,
        error: crate::evidence::CaptureError,
    },
    /// An archive was read for the inspect pane: its text view and the number of matches of
    /// the search, or why it could not be read.
    Inspected {
        request: u64,
        result: Result<(Vec<String>, Option<usize>), String>,
    },
    /// The notes of `generation` are in the case (their SHA-256), or why not.
    NotesSaved {
        generation: u64,
        result: Result<String, String>,
    },
    /// An export going on: the step, and bytes done of total (0 total: not known yet).
    ExportProgress {
        step: String,
        done: u64,
        total: u64,
    },
    /// The export ended (what it produced, or what failed: what was collected is kept).
    Exported(Result<crate::state::export::ExportSummary, String>),
    /// The kubelet answered a checkpoint of a container of `pod` (or nothing did, in time).
    Checkpointed {
        pod: PodKey,
        report: Box<crate::state::checkpoint::CheckpointReport>,
    },
    /// What the cluster said about the pod a clone was asked of: a plan (or the existing clone
    /// of its crash), that it is a clone itself, or why nothing could be read.
    ClonePrepared {
        request: u64,
        result: Result<crate::state::clone::CloneLook, String>,
    },
    /// The clone of `pod` was created, or what failed (and what was rolled back).
    CloneCreated {
        pod: PodKey,
        result: Result<Box<crate::state::clone::CreatedClone>, String>,
    },
    /// The clone `clone` was removed, or what failed.
    CloneRemoved {
        clone: PodKey,
        result: Result<Box<crate::state::clone::RemovedClone>, String>,
    },
    /// No helper ready on the node of `pod`'s transfer (or one lacking what `variant` adds):
    /// `why`, in words.
    TransferNeedsHelper {
        pod: PodKey,
        variant: crate::helper::manifest::HelperVariant,
        why: String,
    },
    /// Bytes of a transfer through the helper arrived (total None: not known in advance).
    TransferProgress {
        pod: PodKey,
        done: u64,
        total: Option<u64>,
    },
    /// A transfer through the helper ended: the verified copy in the case, or why there is
    /// none (what was kept where, what to do).
    Transferred {
        pod: PodKey,
        result: Result<Box<crate::state::checkpoint::FetchedCopy>, String>,
    },
    /// The node's copy was removed (the helper's words), or why it is still there.
    NodeCopyRemoved {
        pod: PodKey,
        result: Result<String, String>,
    },
    /// Whether a helper able to run capture `capture` is ready on its node: `Ok(Ok)`, or why
    /// not (deploying it is the answer), or why nobody could tell.
    CaptureHelperChecked {
        capture: u64,
        result: Result<Result<(), String>, String>,
    },
    /// Bytes of a capture file arrived from the node.
    CaptureFileProgress {
        capture: u64,
        wire_id: u64,
        seq: u32,
        done: u64,
        total: Option<u64>,
    },
    /// A capture file is in the case (its path there, SHA-256), or why not (what stays where).
    CaptureFileFetched {
        capture: u64,
        wire_id: u64,
        seq: u32,
        result: Result<(String, String), String>,
    },
    /// The node's copy of a fetched capture file was removed, or why it is still there.
    CaptureFileRemoved {
        capture: u64,
        wire_id: u64,
        seq: u32,
        result: Result<(), String>,
    },
    /// A capture's record is in the case (path, SHA-256), or why not.
    CaptureRecorded {
        capture: u64,
        result: Result<(String, String), String>,
    },
    /// What the access checks answered (in the order asked).
    AccessChecked {
        checks: Vec<crate::cluster::AccessCheck>,
        result: Result<Vec<bool>, ClusterError>,
    },
    ContextSwitched(ContextInfo),
    ContextSwitchFailed {
        context: String,
        error: ClusterError,
    },
    /// The helper said hello (a new session, or a reconnect).
    HelperConnected(Box<ktui_wire::Hello>),
    HelperMessages(Vec<ktui_wire::HelperMessage>),
    /// A line from the helper that could not be understood (the session goes on).
    HelperBadLine(String),
    /// The helper stream ended; the runtime retries after `retry_in` (None: it does not).
    HelperStreamLost {
        error: HelperError,
        attempt: u32,
        /// When the next attempt is; None: no more attempts (the session failed).
        retry_in: Option<std::time::Duration>,
    },
    /// What the read-only checks before a deploy found (None: nothing to warn about).
    HelperPreflighted {
        node: String,
        summary: Option<String>,
    },
    /// Deploying the helper pod: a step done (or in progress).
    HelperDeployProgress(String),
    /// The helper pod is running and ready: connect to it.
    HelperDeployed {
        node: String,
        image_id: Option<String>,
    },
    HelperDeployFailed(DeployError),
    HelperRemoved {
        node: String,
    },
    HelperRemoveFailed {
        node: String,
        error: ClusterError,
    },
}
