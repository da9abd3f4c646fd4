//! What a user or a driver wants, by name. The terminal front turns keys into intents through
//! the keymap (`update/keys.rs`); a headless driver (record mode, a script, a test) sends them
//! as they are, never as faked key presses. Intents that change the cluster (deploying or
//! removing a helper pod) go through a question that [`ConfirmPolicy`] answers.

use crate::cluster::PodKey;
use crate::keymap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// A pane's command, as the keymap names it: it acts on what that pane shows (the
    /// selected row, the open logs); ignored when that pane is not the one on screen.
    Table(keymap::Table),
    Inspect(keymap::Inspect),
    Detail(keymap::Detail),
    Logs(keymap::Logs),
    Sockets(keymap::Sockets),
    Packets(keymap::Packets),
    Help,
    /// A command line without its colon: `ns all`, `ctx NAME`, `q`, `q!`.
    Command(String),
    /// Read a checkpoint archive or live snapshot (a path in the case, or absolute) into the
    /// inspect pane.
    OpenInspect(std::path::PathBuf),
    OpenDetail(PodKey),
    /// Socket events of a pod; when no helper runs on its node, asks to deploy one there.
    OpenSockets(PodKey),
    /// The packets pane of a pod; with no capture of it yet, the capture's confirmation.
    OpenPackets(PodKey),
    /// Capture a pod's packets: the confirmation (what, where, limits, the helper's added
    /// capabilities), then the capture (a driver's policy answers with the defaults).
    StartCapture(PodKey),
    /// Stop the pod's capture: its last file comes into the case first.
    StopCapture(PodKey),
    /// A driver's own stream of socket events (record mode): `filters` stand for it beside the
    /// pane's, on the local helper (or the demo's replay), or on the helper of `node` — asked
    /// to be deployed there when none runs (the policy answers).
    Trace {
        node: Option<String>,
        filters: ktui_wire::Filters,
    },
    /// End the driver's stream of socket events (a limit reached, the run ending); the
    /// pane's subscription, if any, stands.
    Untrace,
    /// The actions menu of a pod.
    OpenMenu(PodKey),
    /// Run an entry of the open actions menu on its pod.
    RunMenuEntry(crate::state::menu::MenuAction),
    /// Export a pod: the dialog (what will be collected, where it goes), then collect + sign.
    Export(PodKey),
    /// Checkpoint a container of a pod through its kubelet: the dialog (node, container, what is
    /// written where), then the request (a driver's policy answers the dialog).
    Checkpoint(PodKey),
    /// A forensic clone of a pod's crash: the cluster read, then the confirmation (what is
    /// created in order, every warning; an existing clone of the crash offered instead), then
    /// the create. On a clone itself: the question to remove it.
    Clone(PodKey),
    /// The notes pane.
    OpenNotes,
    /// Save the notes now.
    SaveNotes,
    /// Ask to remove the helper pod of a node.
    RemoveHelper {
        node: String,
    },
    /// Answer the question asked.
    Answer(Answer),
    /// Quit; asks first when this run left helper pods running.
    Quit,
    /// Quit at once, leaving helper pods running (a second Ctrl-C, `:q!`).
    QuitNow,
}

/// An answer to a question ([`crate::state::Confirm`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Do it (`y`, Enter).
    Yes,
    /// Do not (`n`); on the question at exit: quit without removing the helpers.
    No,
    /// Neither: back to where the question was asked (Esc).
    Cancel,
}

/// Who answers the questions asked before the cluster is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfirmPolicy {
    /// The user, in a dialog (the console).
    #[default]
    Ask,
    /// Yes to every question (a driver run with `--yes` or `--deploy-helper`).
    AssumeYes,
    /// No to every question: nothing is created or deleted.
    AssumeNo,
    /// A driver without a user (record mode, the controller): what it asked for itself
    /// (a clone, a capture, a checkpoint) is its yes; deploying a helper pod is
    /// `deploy_helper` (`--deploy-helper`: never silently); removing a clone is no.
    Driver { deploy_helper: bool },
}

/// What a question is about, for a policy that answers without a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Question {
    /// Create a helper pod on a node.
    DeployHelper,
    /// What the intent itself asked for: the clone, capture, checkpoint or removal.
    Intended,
    /// Remove a forensic clone: what a clone intent on a clone itself asks (never a driver's
    /// yes: it asked for a clone, not for one to be deleted).
    RemoveClone,
}

impl ConfirmPolicy {
    /// The answer given without asking (`None`: the user answers in a dialog).
    pub fn answer(self, question: Question) -> Option<bool> {
        match (self, question) {
            (ConfirmPolicy::Ask, _) => None,
            (ConfirmPolicy::AssumeYes, _) => Some(true),
            (ConfirmPolicy::AssumeNo, _) => Some(false),
            (ConfirmPolicy::Driver { deploy_helper }, Question::DeployHelper) => {
                Some(deploy_helper)
            }
            (ConfirmPolicy::Driver { .. }, Question::Intended) => Some(true),
            (ConfirmPolicy::Driver { .. }, Question::RemoveClone) => Some(false),
        }
    }
}
