//! The checkpoint dialog (`C` on a pod): which container, on which node, what the checkpoint
//! does and where it is written; then the request in flight and its result — the archive's
//! path on the node, or the precise reason there is none (with the live snapshot offered where
//! the kubelet cannot checkpoint).

use jiff::Timestamp;

use crate::case::IndexEntry;
use crate::cluster::PodKey;
use crate::helper::manifest::HelperVariant;
use crate::helper::snapshot::SnapshotRequest;

/// A container the dialog offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerChoice {
    pub name: String,
    /// `Running`, `Waiting: CrashLoopBackOff`.
    pub state: String,
    pub running: bool,
}

/// What a finished (or refused) checkpoint says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointReport {
    pub container: String,
    /// Done: the archive on the node.
    pub node_path: Option<String>,
    /// `checkpointed container … in 1.2 s`, or the precise reason there is no checkpoint.
    pub message: String,
    /// The kubelet cannot checkpoint here, a live snapshot can preserve the container.
    pub offers_snapshot: bool,
    /// The command that takes the live snapshot instead.
    pub snapshot_command: String,
    /// The container is not running: its logs are what is left (`l` opens them).
    pub offers_logs: bool,
    /// `node worker-1 runs containerd://1.7.24 (kubelet v1.33.1)`, when known.
    pub node_runs: Option<String>,
    /// The record in the case: (path, SHA-256), or why it could not be written. None: nothing
    /// was asked of the kubelet, so nothing was recorded.
    pub recorded: Option<Result<(String, String), String>>,
}

impl CheckpointReport {
    pub fn ok(&self) -> bool {
        self.node_path.is_some()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointPhase {
    /// Asking: node, container, what will be written where.
    Confirm,
    /// Asked the kubelet for `container` at `since`.
    Running {
        container: String,
        since: Timestamp,
    },
    Done(Box<CheckpointReport>),
    /// Asking before a live snapshot of `container` (what it is not, what it holds, where
    /// it goes).
    SnapshotConfirm {
        container: String,
    },
    /// Looking for a ready helper on the node for `job`, or waiting for its deploy.
    Helper {
        job: Box<TransferJob>,
        /// What is happening (`looking for the helper…`, `deploying…`).
        step: String,
        /// The deploy confirmation was asked for this job (a second "needs a helper" after a
        /// deploy is a failure, not another question).
        asked: bool,
    },
    /// Bytes arriving (total None: a live snapshot's size is not known in advance).
    Transfer {
        job: Box<TransferJob>,
        done: u64,
        total: Option<u64>,
    },
    Transferred(Box<TransferReport>),
}

/// What goes through the node's helper: the kubelet's archive, or a live snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperJob {
    /// Fetch the archive the kubelet wrote at `node_path` into the case.
    Fetch { node_path: String },
    /// Take a live snapshot (`ktui-helper snapshot`) streamed into the case.
    Snapshot { request: Box<SnapshotRequest> },
}

/// One transfer through the helper of `node` into the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferJob {
    pub pod: PodKey,
    pub container: String,
    pub node: String,
    /// The helper image this console deploys (a helper of another image is not reused).
    pub image: String,
    pub job: HelperJob,
}

impl TransferJob {
    /// What the helper must be able to do: reading the checkpoint directory needs only the
    /// default helper; a live snapshot needs the snapshot variant.
    pub fn variant(&self) -> HelperVariant {
        match self.job {
            HelperJob::Fetch { .. } => HelperVariant::default(),
            HelperJob::Snapshot { .. } => HelperVariant::Snapshot,
        }
    }

    pub fn is_snapshot(&self) -> bool {
        matches!(self.job, HelperJob::Snapshot { .. })
    }

    /// `the checkpoint archive` / `the live snapshot`.
    pub fn what(&self) -> &'static str {
        if self.is_snapshot() {
            "the live snapshot"
        } else {
            "the checkpoint archive"
        }
    }
}

/// A verified copy in the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedCopy {
    /// Its index entry (`path` relative to the case directory, `sha256`, `size`).
    pub entry: IndexEntry,
    /// The helper pod it came through.
    pub helper_pod: PodKey,
    /// That helper has the snapshot variant's writable checkpoint directory: it can delete the
    /// node's copy (the default helper mounts it read-only).
    pub can_remove: bool,
}

/// Removing the node's copy of a fetched archive (asked, default no).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// Nothing to remove (a live snapshot is not staged on the node; a failed fetch).
    NotOffered,
    /// "remove the archive from the node? y/N"
    Asking,
    /// The helper cannot delete it (read-only mount): said where it is, to remove by hand.
    Manual,
    Removing,
    Removed,
    /// Still on the node: why (says what to do).
    Failed(String),
}

/// How a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferReport {
    pub job: TransferJob,
    pub result: Result<FetchedCopy, String>,
    pub removal: Removal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointDialog {
    pub pod: PodKey,
    pub node: String,
    pub containers: Vec<ContainerChoice>,
    pub selected: usize,
    pub phase: CheckpointPhase,
    /// The case the record goes into (its id).
    pub case_id: String,
    /// On screen (Esc hides a running checkpoint's dialog; the checkpoint goes on).
    pub shown: bool,
}

impl CheckpointDialog {
    pub fn choice(&self) -> Option<&ContainerChoice> {
        self.containers.get(self.selected)
    }

    /// ←/→ (wrapping), while asking.
    pub fn pick(&mut self, forward: bool) {
        let n = self.containers.len();
        if n == 0 || self.phase != CheckpointPhase::Confirm {
            return;
        }
        self.selected = if forward {
            (self.selected + 1) % n
        } else {
            (self.selected + n - 1) % n
        };
    }

    /// Something is going on (or waits for an answer) that Esc only hides.
    pub fn running(&self) -> bool {
        match &self.phase {
            CheckpointPhase::Running { .. }
            | CheckpointPhase::Helper { .. }
            | CheckpointPhase::Transfer { .. } => true,
            CheckpointPhase::Transferred(r) => {
                matches!(r.removal, Removal::Asking | Removal::Removing)
            }
            _ => false,
        }
    }

    /// The transfer in flight (looking for the helper, or receiving bytes).
    pub fn transfer_job(&self) -> Option<&TransferJob> {
        match &self.phase {
            CheckpointPhase::Helper { job, .. } | CheckpointPhase::Transfer { job, .. } => {
                Some(job)
            }
            _ => None,
        }
    }
}
