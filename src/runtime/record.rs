//! A live helper session's socket events into the case, as they arrive:
//! `artifacts/nodes/<node>/sockets-<n>.jsonl` (wire messages; segments rotated and sealed by the
//! case's stream writer), or in record mode `events.jsonl` at the top of the case (one event a
//! line with the `ktui-helper trace` keys; see [`EventLog`]). A thread of its own writes one line per event and flushes at least once a second
//! (the helper's stats arrive every second, so batches do); the session waits while it is behind
//! (a bounded channel), so nothing shown is missing from the case. The segment is sealed when the
//! session ends; one left open by a kill is sealed at the next open of the case.

use ktui_wire::HelperMessage;
use tokio::sync::mpsc;

use crate::action::Action;
use crate::case::{Case, StreamMeta};
use crate::evidence::CaptureError;

/// Batches waiting for the writer.
const QUEUED: usize = 8;

/// Where a live session's socket events go in the case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EventLog {
    /// `artifacts/nodes/<node>/sockets-<n>.jsonl`, the wire messages (the console).
    #[default]
    NodeSegments,
    /// `events.jsonl` at the top of the case, one `SocketEvent` a line (`--record --sockets`).
    TopLevel,
    /// Not written (`--record` without `--sockets`: a capture's session carries none, and the
    /// driver keeps `events.jsonl`, empty, itself).
    Off,
}

impl EventLog {
    fn meta(self, node: &str) -> crate::case::Result<StreamMeta> {
        match self {
            EventLog::NodeSegments => StreamMeta::sockets(node),
            EventLog::TopLevel | EventLog::Off => StreamMeta::top_level("events", "jsonl"),
        }
    }

    fn line(self, message: &HelperMessage) -> Option<String> {
        let HelperMessage::Socket { event } = message else {
            return None;
        };
        match self {
            EventLog::NodeSegments => Some(ktui_wire::encode(message).trim_end().to_string()),
            // Strings escape what must not reach a terminal raw (as `ktui triage --json`).
            EventLog::TopLevel => crate::sanitize::json::to_string(event).ok(),
            EventLog::Off => None,
        }
    }
}

#[derive(Clone)]
pub struct Recorder {
    batches: mpsc::Sender<Vec<String>>,
    log: EventLog,
}

impl Recorder {
    /// Start recording `node`'s socket events into `case`; a failure to open the stream, or to
    /// write, is said once as an action (what was written is kept).
    pub fn start(
        case: Case,
        node: String,
        log: EventLog,
        actions: mpsc::UnboundedSender<Action>,
    ) -> Recorder {
        let (batches, mut rx) = mpsc::channel::<Vec<String>>(QUEUED);
        let spawned = std::thread::Builder::new()
            .name("ktui-record".into())
            .spawn(move || {
                let fail = |error: crate::case::CaseError| {
                    let _ = actions.send(Action::EvidenceFailed {
                        what: format!("the socket events of node {node}"),
                        error: CaptureError::from(error),
                    });
                };
                let mut writer = match log.meta(&node).and_then(|m| case.open_stream(m)) {
                    Ok(w) => w,
                    Err(e) => return fail(e),
                };
                while let Some(lines) = rx.blocking_recv() {
                    let written = writer.write_lines(&lines).and_then(|()| writer.tick());
                    if let Err(e) = written {
                        fail(e);
                        break;
                    }
                }
                if let Err(e) = writer.close() {
                    fail(e);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the socket event recorder: {e}");
        }
        Recorder { batches, log }
    }

    /// Hand the socket events of a batch to the writer (waits while it is behind).
    pub async fn record(&self, messages: &[HelperMessage]) {
        let lines: Vec<String> = messages.iter().filter_map(|m| self.log.line(m)).collect();
        // Empty batches too: they carry the once-a-second flush.
        let _ = self.batches.send(lines).await;
    }
}
