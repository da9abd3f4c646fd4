//! The packets pane and the captures it started: for the pod on screen its latest capture
//! (live summaries, stats, top flows, where its pcaps are in the case), the confirmation
//! dialog before a capture, and every capture still running or still bringing files into the
//! case (a few ended ones are kept for the pane; all of them are in the case's records).

pub mod capture;
pub mod flows;
pub mod form;
pub mod record;
pub mod ring;

use crate::cluster::PodKey;
use crate::state::helper::HelperTarget;
use capture::Capture;
use form::CaptureForm;

pub use ring::DEFAULT_LINES;

/// Ended captures kept for the pane (once their record is written).
pub const KEEP_ENDED: usize = 8;

/// A capture file to bring into the case through the helper that wrote it, then remove there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcapFetch {
    pub capture: u64,
    pub wire_id: u64,
    pub seq: u32,
    pub pod: PodKey,
    /// The node it is on (`local`).
    pub node: String,
    pub helper: HelperTarget,
    pub node_path: String,
    /// The SHA-256 the helper announced (None: recovered after a cut).
    pub announced: Option<String>,
}

#[derive(Debug)]
pub struct PacketsState {
    /// The pod the pane is for.
    pub pod: Option<PodKey>,
    /// Oldest first.
    pub captures: Vec<Capture>,
    /// The confirmation dialog before a capture, when open.
    pub form: Option<CaptureForm>,
    /// The pane's display filter (`ring::matches`).
    pub filter: String,
    /// Lines from the newest shown at the bottom (0 = following).
    pub scroll_back: usize,
    /// Top flows instead of the packet lines.
    pub show_flows: bool,
    /// Summaries each capture keeps.
    pub lines: usize,
    next_id: u64,
    /// Quitting once the captures are over and their files in the case.
    pub quit_pending: bool,
}

impl Default for PacketsState {
    fn default() -> Self {
        Self {
            pod: None,
            captures: Vec::new(),
            form: None,
            filter: String::new(),
            scroll_back: 0,
            show_flows: false,
            lines: DEFAULT_LINES,
            next_id: 1,
            quit_pending: false,
        }
    }
}

impl PacketsState {
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The capture the pane shows: the pod's latest.
    pub fn shown(&self) -> Option<&Capture> {
        let pod = self.pod.as_ref()?;
        self.captures.iter().rev().find(|c| &c.pod == pod)
    }

    pub fn shown_mut(&mut self) -> Option<&mut Capture> {
        let pod = self.pod.clone()?;
        self.captures.iter_mut().rev().find(|c| c.pod == pod)
    }

    /// The capture a request id belongs to.
    pub fn by_wire(&mut self, wire_id: u64) -> Option<&mut Capture> {
        self.captures
            .iter_mut()
            .find(|c| c.segments.iter().any(|s| s.wire_id == wire_id))
    }

    pub fn by_id(&mut self, id: u64) -> Option<&mut Capture> {
        self.captures.iter_mut().find(|c| c.id == id)
    }

    /// The pod's capture that is not over, if any.
    pub fn active_of(&self, pod: &PodKey) -> Option<&Capture> {
        self.captures.iter().find(|c| &c.pod == pod && c.active())
    }

    /// Captures asked of the helper at `target` that are not over, or still bringing files
    /// into the case (one waiting for its helper asked nothing of it yet).
    pub fn busy_on(&self, target: &HelperTarget) -> usize {
        self.captures
            .iter()
            .filter(|c| &c.helper == target && !c.segments.is_empty() && !c.finished())
            .count()
    }

    /// Captures not over, or with files or a record still on their way.
    pub fn unfinished(&self) -> usize {
        self.captures
            .iter()
            .filter(|c| {
                !c.finished()
                    || matches!(
                        c.record,
                        capture::RecordStatus::NotYet | capture::RecordStatus::Writing
                    ) && !c.segments.is_empty()
            })
            .count()
    }

    /// Drop the oldest ended captures beyond [`KEEP_ENDED`] whose record is written (or that
    /// never reached a helper), never the one on screen.
    pub fn prune(&mut self) {
        let shown = self.shown().map(|c| c.id);
        let done = |c: &Capture| {
            c.finished()
                && (c.segments.is_empty()
                    || !matches!(
                        c.record,
                        capture::RecordStatus::NotYet | capture::RecordStatus::Writing
                    ))
        };
        let mut ended = self.captures.iter().filter(|c| done(c)).count();
        self.captures.retain(|c| {
            if ended > KEEP_ENDED && done(c) && Some(c.id) != shown {
                ended -= 1;
                false
            } else {
                true
            }
        });
    }
}
