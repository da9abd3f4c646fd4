//! The console's one state tree. Views only read it; `update` is the only writer.

pub mod checkpoint;
pub mod clone;
pub mod export;
pub mod helper;
pub mod inspect;
pub mod logs;
pub mod menu;
pub mod notes;
pub mod packets;
pub mod pods;
pub mod ring;
pub mod sockets;

use jiff::Timestamp;
use ratatui_textarea::TextArea;

use crate::cluster::{ConnectionState, ContextInfo, EventRow, PodDetail, PodKey, Scope};
use crate::evidence::EvidenceSet;
use helper::{HelperSession, HelperSource};
use logs::LogsState;
use menu::{AccessCache, MenuState};
use notes::NotesState;
use packets::PacketsState;
use pods::PodsState;
use sockets::SocketsState;

/// How long a toast stays up.
pub const TOAST_SECS: i64 = 6;

/// Which screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Screen {
    #[default]
    Table,
    Detail,
    Logs,
    Sockets,
    /// The case's notes (every key but the pane's own is typed into them).
    Notes,
    /// A checkpoint archive or live snapshot read (`state.inspect`).
    Inspect,
    /// Packet captures of a pod (`state.packets`).
    Packets,
}

/// A question that needs a yes before anything changes in the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirm {
    DeployHelper {
        node: String,
        /// What the helper pod adds to the default one (shown with its reasons).
        variant: crate::helper::manifest::HelperVariant,
    },
    RemoveHelper {
        node: String,
    },
    /// Quitting while helper pods this session created are still running.
    QuitWithHelpers {
        nodes: Vec<String>,
    },
}

/// What keys go to.
#[derive(Debug, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// `/` on the table.
    Filter(TextArea<'static>),
    /// `:` command line.
    Command(TextArea<'static>),
    /// `/` in the logs pane.
    LogSearch(TextArea<'static>),
    /// `/` in the sockets pane.
    SocketFilter(TextArea<'static>),
    Confirm(Confirm),
    Help,
    /// The actions menu of a pod (`m`).
    Menu(MenuState),
    /// The export dialog (`state.export`) is on screen and takes the keys.
    Export,
    /// The checkpoint dialog (`state.checkpoint`) is on screen and takes the keys.
    Checkpoint,
    /// The clone dialog (`state.clone.dialog`) is on screen and takes the keys.
    Clone,
    /// `/` in the inspect pane: the text to search the memory images for.
    InspectSearch(TextArea<'static>),
    /// The capture's confirmation (`state.packets.form`) is on screen and takes the keys.
    CaptureForm,
    /// `/` in the packets pane.
    PacketFilter(TextArea<'static>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub level: ToastLevel,
    pub text: String,
    pub until: Timestamp,
    /// How many times the same message was raised while it was up (shown as `×N`).
    pub count: u32,
}

/// The detail pane's data for one pod, loaded on demand.
#[derive(Debug, Clone)]
pub struct DetailState {
    pub key: PodKey,
    pub detail: Option<Result<PodDetail, String>>,
    pub events: Option<Result<Vec<EventRow>, String>>,
    pub scroll: usize,
}

#[derive(Debug)]
pub struct AppState {
    pub info: ContextInfo,
    /// Connected to the embedded simulated cluster: everything is labelled DEMO.
    pub demo: bool,
    pub scope: Scope,
    pub connection: ConnectionState,
    /// When the pod watch last heard from the server (event or bookmark), if it can tell.
    pub heard: Option<Timestamp>,
    /// Set when the watch failed for good (RBAC, credentials): shown instead of the table.
    pub fatal: Option<String>,
    pub now: Timestamp,
    pub pods: PodsState,
    pub screen: Screen,
    pub mode: Mode,
    /// Lines a confirmation dialog taller than the screen is scrolled by (reset when one opens).
    pub confirm_scroll: u16,
    pub detail: Option<DetailState>,
    pub logs: Option<LogsState>,
    /// The helper session (connection, hello, counters, standing requests).
    pub helper: HelperSession,
    /// The sockets pane: a view over the session's socket stream.
    pub sockets: SocketsState,
    /// The packets pane and its captures.
    pub packets: PacketsState,
    /// The keys in effect (built-in, or rebound by a keys file): lookup, `?` help and the footer.
    pub keymaps: crate::keymap::Keymaps,
    /// Who answers the questions before the cluster is changed (the user, or a policy).
    pub confirm_policy: crate::intent::ConfirmPolicy,
    /// Quit once the pending helper removals are done.
    pub quit_after_remove: bool,
    pub evidence: EvidenceSet,
    /// The export dialog and the export it started (one at a time).
    pub export: Option<export::ExportDialog>,
    /// The checkpoint dialog and the checkpoint it started (one at a time).
    pub checkpoint: Option<checkpoint::CheckpointDialog>,
    /// The forensic clone dialog (one at a time) and the clones this console knows of.
    pub clone: clone::CloneState,
    /// The case's notes (the notes pane).
    pub notes: NotesState,
    /// Where Esc in the notes pane goes back to.
    pub notes_return: Screen,
    /// The inspect pane's archive and reading.
    pub inspect: Option<inspect::InspectState>,
    /// Where Esc in the inspect pane goes back to.
    pub inspect_return: Screen,
    /// What the API server said the user may do (the actions menu), briefly cached.
    pub access: AccessCache,
    pub toasts: Vec<Toast>,
    pub size: (u16, u16),
    pub quit: bool,
}

impl AppState {
    pub fn new(info: ContextInfo, scope: Scope, demo: bool, now: Timestamp) -> Self {
        Self {
            info,
            demo,
            scope,
            connection: ConnectionState::Connecting,
            heard: None,
            fatal: None,
            now,
            pods: PodsState::default(),
            screen: Screen::Table,
            mode: Mode::Normal,
            confirm_scroll: 0,
            detail: None,
            logs: None,
            helper: HelperSession::new(if demo {
                HelperSource::DemoReplay
            } else {
                HelperSource::Cluster
            }),
            sockets: SocketsState::default(),
            packets: PacketsState::default(),
            keymaps: crate::keymap::Keymaps::default(),
            confirm_policy: crate::intent::ConfirmPolicy::Ask,
            quit_after_remove: false,
            evidence: EvidenceSet::default(),
            export: None,
            checkpoint: None,
            clone: clone::CloneState::default(),
            notes: NotesState::default(),
            notes_return: Screen::Table,
            inspect: None,
            inspect_return: Screen::Table,
            access: AccessCache::default(),
            toasts: Vec::new(),
            size: (80, 24),
            quit: false,
        }
    }

    /// Show a message for a few seconds. The same message raised again while it is up (a
    /// watch failing the same way on every retry) is one toast with a count, kept up longer.
    pub fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        let text = text.into();
        let until = self.now + jiff::SignedDuration::from_secs(TOAST_SECS);
        if let Some(t) = self
            .toasts
            .iter_mut()
            .find(|t| t.level == level && t.text == text)
        {
            t.count += 1;
            t.until = until;
            return;
        }
        self.toasts.push(Toast {
            level,
            text,
            until,
            count: 1,
        });
        if self.toasts.len() > 4 {
            self.toasts.remove(0);
        }
    }

    /// Derived data brought up to date before drawing (at most once per frame).
    pub fn prepare_frame(&mut self) {
        self.pods.refresh();
    }
}
