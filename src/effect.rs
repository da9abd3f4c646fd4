//! Every side effect the update function asks for, as data; `runtime` executes them.

use crate::cluster::{LogRequest, PodKey, Scope};
use crate::state::helper::HelperTarget;
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
    /// Keep logs shown in the logs pane in the case, exactly as fetched.
    SaveLogs {
        request: LogRequest,
        bytes: Vec<u8>,
    },
    /// Keep the helper session's record (hello, image, loss counters) in the case.
    KeepHelperSession {
        node: String,
        json: Vec<u8>,
    },
    /// Read an archive for the inspect pane (`request` names the reading), searching its
    /// memory images for `grep` when given.
    InspectArchive {
        request: u64,
        path: std::path::PathBuf,
        grep: Option<String>,
    },
    /// Save the notes (`generation`: the edit they are at) into the case's `notes.md`.
    SaveNotes {
        generation: u64,
        text: String,
    },
    /// Collect a pod's evidence into the case `case_id` and package it into a signed bundle
    /// (in `out`, else the case's bundles/), uploaded to `s3` when given.
    ExportPod {
        pod: PodKey,
        case_id: String,
        out: Option<std::path::PathBuf>,
        s3: Option<String>,
    },
    /// Ask the kubelet of the plan's node for a checkpoint of its container, and record the
    /// request and answer in the case.
    Checkpoint(Box<crate::checkpoint::take::Plan>),
    /// Read what a forensic clone of `pod` takes (`clone::flow::prepare`), or, when `pod` is a
    /// clone itself, what removing it deletes (`Action::ClonePrepared`).
    PrepareClone {
        request: u64,
        pod: PodKey,
        container: Option<String>,
        options: crate::clone::CloneOptions,
    },
    /// Create the clone prepared, in order, removing what was created if a step fails; its
    /// records go into the case (`Action::CloneCreated`, `Action::EvidenceCaptured`).
    CreateClone {
        pod: PodKey,
        prepared: crate::state::clone::PreparedClone,
    },
    /// Delete a clone's pod, NetworkPolicy and log ConfigMap, and its VolumeSnapshots when
    /// `with_snapshots` (`Action::CloneRemoved`).
    RemoveClone {
        clone: PodKey,
        with_snapshots: bool,
    },
    /// Through the helper of the job's node (one that is ready and has what the job's variant
    /// adds, else `Action::TransferNeedsHelper`): fetch the kubelet's archive, or take a live
    /// snapshot, into the case (`Action::TransferProgress`, then `Action::Transferred`).
    HelperTransfer(Box<crate::state::checkpoint::TransferJob>),
    /// Remove the node's copy of a verified archive (`archive`: its index entry in the case).
    RemoveNodeCopy {
        job: Box<crate::state::checkpoint::TransferJob>,
        node_path: String,
        copy: Box<crate::state::checkpoint::FetchedCopy>,
    },
    /// Whether a ready helper with what `variant` adds runs on `node`
    /// (`Action::CaptureHelperChecked`).
    CheckCaptureHelper {
        capture: u64,
        node: String,
        image: String,
        variant: crate::helper::manifest::HelperVariant,
    },
    /// Fetch a capture file into the case through its helper (verified against the SHA-256
    /// announced and the fetch's own), then remove it from the node (`Action::CaptureFile*`).
    FetchCaptureFile(Box<crate::state::packets::PcapFetch>),
    /// Write a capture's record (`artifacts/<ns>/<pod>/pcaps/<name>`) into the case.
    WriteCaptureRecord {
        capture: u64,
        pod: PodKey,
        node: String,
        name: String,
        json: Vec<u8>,
    },
    /// Ask the API server which of these the user may do (SelfSubjectAccessReview).
    CheckAccess(Vec<crate::cluster::AccessCheck>),
    SwitchContext(String),
    /// Read-only checks before asking to deploy on a node (node architecture, Pod Security).
    PreflightHelper {
        node: String,
        image: String,
    },
    /// Create the helper pod on a node (manifest applied through the cluster), wait until ready;
    /// a running helper of a variant that lacks what `variant` adds is replaced.
    DeployHelper {
        node: String,
        image: String,
        variant: crate::helper::manifest::HelperVariant,
    },
    /// Start a helper session (replacing any other) with what stands (`HelperSession::standing`).
    ConnectHelper {
        target: HelperTarget,
        standing: ktui_wire::ConsoleMessage,
    },
    /// Send a message to the helper of the current session (a subscription or unsubscribe
    /// stands in for the previous one and is sent again after every reconnect).
    HelperSend(ktui_wire::ConsoleMessage),
    /// End the helper session.
    DisconnectHelper,
    /// Delete the helper pod of a node.
    RemoveHelper {
        node: String,
    },
    Quit,
}
