//! A capture's files on their way into the case, one at a time (the last one first when a
//! stop announced it): fetched, verified, committed — shown "in case" only then — and removed
//! from the node; and its record, written once it is over and every file has settled. A quit
//! waiting for captures goes on when the last of them is in the case.

use super::session::s;
use crate::effect::Effect;
use crate::state::packets::PcapFetch;
use crate::state::packets::capture::{FileStatus, NodeCopy, RecordStatus};
use crate::state::packets::record::record;
use crate::state::{AppState, ToastLevel};

/// What capture `id` needs next: its next file's fetch, its record; then the quit that waits.
pub(super) fn after(state: &mut AppState, id: u64) -> Vec<Effect> {
    let mut effects = Vec::new();
    if let Some(c) = state.packets.by_id(id) {
        if let Some(i) = c.next_fetch() {
            let f = &mut c.files[i];
            f.status = FileStatus::Fetching {
                done: 0,
                total: (f.bytes > 0).then_some(f.bytes),
            };
            effects.push(Effect::FetchCaptureFile(Box::new(PcapFetch {
                capture: c.id,
                wire_id: f.wire_id,
                seq: f.seq,
                pod: c.pod.clone(),
                node: c.node.clone(),
                helper: c.helper.clone(),
                node_path: f.node_path.clone(),
                announced: f.sha256.clone(),
            })));
        }
        if c.finished() && c.record == RecordStatus::NotYet && !c.segments.is_empty() {
            c.record = RecordStatus::Writing;
            let mut json = serde_json::to_vec_pretty(&record(c)).unwrap_or_default();
            json.push(b'\n');
            effects.push(Effect::WriteCaptureRecord {
                capture: c.id,
                pod: c.pod.clone(),
                node: c.node.clone(),
                name: c.record_name(),
                json,
            });
        }
    }
    if state.packets.quit_pending && state.packets.unfinished() == 0 {
        effects.extend(crate::update::sockets::quit(state));
    }
    state.packets.prune();
    effects
}

/// [`after`] for every capture.
pub(super) fn after_all(state: &mut AppState) -> Vec<Effect> {
    let ids: Vec<u64> = state.packets.captures.iter().map(|c| c.id).collect();
    ids.into_iter().flat_map(|id| after(state, id)).collect()
}

pub fn on_progress(
    state: &mut AppState,
    capture: u64,
    wire_id: u64,
    seq: u32,
    done: u64,
    total: Option<u64>,
) {
    if let Some(f) = state
        .packets
        .by_id(capture)
        .and_then(|c| c.file(wire_id, seq))
        .filter(|f| matches!(f.status, FileStatus::Fetching { .. }))
    {
        f.status = FileStatus::Fetching { done, total };
    }
}

pub fn on_fetched(
    state: &mut AppState,
    capture: u64,
    wire_id: u64,
    seq: u32,
    result: Result<(String, String), String>,
) -> Vec<Effect> {
    let Some(c) = state.packets.by_id(capture) else {
        return Vec::new();
    };
    let pod = c.pod.clone();
    let Some(f) = c.file(wire_id, seq) else {
        return Vec::new();
    };
    let recovered = f.recovered;
    let (level, text) = match result {
        Ok((path, sha256)) => {
            let text = format!("pcap of {pod} in the case: {} (sha256 {sha256})", s(&path));
            f.status = FileStatus::InCase {
                path,
                sha256,
                node: NodeCopy::Removing,
            };
            (ToastLevel::Info, text)
        }
        Err(why) => {
            let text = if recovered {
                format!(
                    "the file open when the helper stream was cut ({}) was not recovered: {}",
                    s(&f.node_path),
                    s(&why)
                )
            } else {
                format!(
                    "pcap {} of {pod} is not in the case: {}",
                    s(f.name()),
                    s(&why)
                )
            };
            f.status = FileStatus::Failed(why);
            (ToastLevel::Error, text)
        }
    };
    state.toast(level, text);
    after(state, capture)
}

pub fn on_removed(
    state: &mut AppState,
    capture: u64,
    wire_id: u64,
    seq: u32,
    result: Result<(), String>,
) -> Vec<Effect> {
    let Some(f) = state
        .packets
        .by_id(capture)
        .and_then(|c| c.file(wire_id, seq))
    else {
        return Vec::new();
    };
    let FileStatus::InCase { node, .. } = &mut f.status else {
        return Vec::new();
    };
    let text = match result {
        Ok(()) => {
            *node = NodeCopy::Removed;
            None
        }
        Err(why) => {
            let text = format!(
                "{} is still on the node: {} (its copy is in the case)",
                s(&f.node_path),
                s(&why)
            );
            *node = NodeCopy::Kept(why);
            Some(text)
        }
    };
    if let Some(text) = text {
        state.toast(ToastLevel::Error, text);
    }
    after(state, capture)
}

pub fn on_recorded(
    state: &mut AppState,
    capture: u64,
    result: Result<(String, String), String>,
) -> Vec<Effect> {
    let Some(c) = state.packets.by_id(capture) else {
        return Vec::new();
    };
    let (level, text) = match &result {
        Ok((path, _)) => (
            ToastLevel::Info,
            format!(
                "capture #{} of {}: {} pcap(s) and the record {} in the case",
                c.id,
                c.pod,
                c.files_in_case(),
                s(path)
            ),
        ),
        Err(e) => (
            ToastLevel::Error,
            format!(
                "the record of capture #{} of {} is not in the case: {}",
                c.id,
                c.pod,
                s(e)
            ),
        ),
    };
    c.record = match result {
        Ok((path, sha256)) => RecordStatus::Written { path, sha256 },
        Err(e) => RecordStatus::Failed(e),
    };
    state.toast(level, text);
    after(state, capture)
}
