//! The checkpoint dialog (`C` on a pod): which container, on which node, what the checkpoint
//! does and where it is written; then the request in flight and its result — the archive's
//! path on the node, or the precise reason there is none (with the live snapshot offered where
//! the kubelet cannot checkpoint).

use jiff::Timestamp;

use crate::cluster::PodKey;

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

    pub fn running(&self) -> bool {
        matches!(self.phase, CheckpointPhase::Running { .. })
    }
}
