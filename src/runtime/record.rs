//! A live helper session's socket events into the case, as they arrive:
//! `artifacts/nodes/<node>/sockets-<n>.jsonl` (segments rotated and sealed by the case's stream
//! writer). A thread of its own writes one line per event and flushes at least once a second
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

#[derive(Clone)]
pub struct Recorder {
    batches: mpsc::Sender<Vec<String>>,
}

impl Recorder {
    /// Start recording `node`'s socket events into `case`; a failure to open the stream, or to
    /// write, is said once as an action (what was written is kept).
    pub fn start(case: Case, node: String, actions: mpsc::UnboundedSender<Action>) -> Recorder {
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
                let mut writer = match StreamMeta::sockets(&node).and_then(|m| case.open_stream(m))
                {
                    Ok(w) => w,
                    Err(e) => return fail(e),
                };
                while let Some(lines) = rx.blocking_recv() {
                    let written = lines
                        .iter()
                        .try_for_each(|l| writer.write_line(l.as_bytes()))
                        .and_then(|()| writer.tick());
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
        Recorder { batches }
    }

    /// Hand the socket events of a batch to the writer (waits while it is behind).
    pub async fn record(&self, messages: &[HelperMessage]) {
        let lines: Vec<String> = messages
            .iter()
            .filter(|m| matches!(m, HelperMessage::Socket { .. }))
            .map(|m| ktui_wire::encode(m).trim_end().to_string())
            .collect();
        // Empty batches too: they carry the once-a-second flush.
        let _ = self.batches.send(lines).await;
    }
}
