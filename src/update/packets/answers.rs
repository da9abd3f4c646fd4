//! What the helper answers about a capture: queued, started (closing a gap), the summaries
//! and stats, each file it closed (fetched in turn), the end; and an error about a capture
//! request, which ends that capture saying what to do about it.

use ktui_wire::{ErrorCode, ErrorReply, HelperMessage};

use super::files;
use super::session::{fail, s};
use super::stream::recover;
use crate::effect::Effect;
use crate::state::helper::HelperTarget;
use crate::state::packets::capture::{EndReason, FileState, FileStatus, Phase, Started};
use crate::state::{AppState, ToastLevel};

/// A capture message from the helper (or an error about a capture request).
pub fn on_message(state: &mut AppState, msg: HelperMessage) -> Vec<Effect> {
    let now = state.now;
    match msg {
        HelperMessage::CaptureQueued { id, position } => {
            if let Some(c) = state.packets.by_wire(id)
                && matches!(c.phase, Phase::Requested | Phase::Queued { .. })
            {
                c.phase = Phase::Queued { position };
            }
            Vec::new()
        }
        HelperMessage::CaptureStarted {
            id,
            mode,
            interfaces,
            format,
            dir,
        } => {
            let Some(c) = state.packets.by_wire(id) else {
                return Vec::new();
            };
            let cid = c.id;
            if let Some(seg) = c.segment(id) {
                seg.started = Some(Started {
                    at: now,
                    mode,
                    interfaces,
                    format,
                    dir,
                });
            }
            if matches!(c.phase, Phase::Requested | Phase::Queued { .. }) {
                c.phase = Phase::Running;
            }
            // Capture resumed after a cut: the gap closes and the cut request's open file is
            // fetched now (its helper is gone).
            let cut: Vec<u64> = c
                .gaps
                .iter_mut()
                .filter(|g| g.after == Some(id) && g.to.is_none())
                .map(|g| {
                    g.to = Some(now);
                    g.before
                })
                .collect();
            for before in cut {
                if let Some(i) = c.segments.iter().position(|s| s.wire_id == before) {
                    recover(c, i);
                }
            }
            files::after(state, cid)
        }
        HelperMessage::Packet { id, p } => {
            if let Some(c) = state.packets.by_wire(id) {
                c.flows.add(&p);
                c.ring.ingest(p);
            }
            Vec::new()
        }
        HelperMessage::CaptureStats { id, stats } => {
            if let Some(c) = state.packets.by_wire(id) {
                if let Some(seg) = c.segment(id) {
                    seg.stats = stats;
                }
                let total = c.stats();
                c.rate.update(now, total.packets, total.wire_bytes);
            }
            Vec::new()
        }
        HelperMessage::CaptureFile {
            id,
            seq,
            path,
            bytes,
            packets,
            sha256,
            first_n,
            last_n,
            last,
        } => {
            let Some(c) = state.packets.by_wire(id) else {
                return Vec::new();
            };
            let cid = c.id;
            if let Some(seg) = c.segment(id) {
                seg.last_seq = seg.last_seq.max(seq);
                seg.last_file |= last;
            }
            if c.file(id, seq).is_none() {
                c.files.push(FileState {
                    wire_id: id,
                    seq,
                    node_path: path,
                    bytes,
                    packets,
                    sha256: Some(sha256),
                    first_n,
                    last_n,
                    last,
                    recovered: false,
                    status: FileStatus::OnNode,
                });
            }
            files::after(state, cid)
        }
        HelperMessage::CaptureDone {
            id,
            end,
            stats,
            message,
        } => {
            state.helper.end_capture(id);
            let Some(c) = state.packets.by_wire(id) else {
                return Vec::new();
            };
            let cid = c.id;
            let live = c.live().map(|s| s.wire_id) == Some(id);
            if let Some(seg) = c.segment(id) {
                seg.stats = stats;
                seg.ended = Some((now, EndReason::Helper(end).as_str().to_string()));
            }
            if live {
                c.mark_ended(now, EndReason::Helper(end), message.clone());
                let text = format!(
                    "capture #{} of {} ended ({}){}",
                    c.id,
                    c.pod,
                    EndReason::Helper(end).as_str(),
                    message
                        .as_deref()
                        .map(|m| format!(": {}", s(m)))
                        .unwrap_or_default()
                );
                let level = if matches!(end, ktui_wire::CaptureEnd::Error) {
                    ToastLevel::Error
                } else {
                    ToastLevel::Info
                };
                state.toast(level, text);
            }
            files::after(state, cid)
        }
        _ => Vec::new(),
    }
}

/// An error the helper sent: when it answers a capture request, it ends that capture (with
/// what to do about it) and Some effects; None when it is about something else.
pub fn on_error(state: &mut AppState, e: &ErrorReply) -> Option<Vec<Effect>> {
    let wire = e.id?;
    let now = state.now;
    let c = state.packets.by_wire(wire)?;
    let id = c.id;
    let local = c.helper == HelperTarget::Local;
    let netns = c.variant == Some(crate::helper::manifest::HelperVariant::CaptureNetns);
    if let Some(seg) = c.segment(wire) {
        seg.ended = Some((now, format!("refused: {}", s(&e.message))));
    }
    state.helper.end_capture(wire);
    let hint = match e.code {
        ErrorCode::NotPermitted if e.message.contains("SYS_ADMIN") && !local && !netns => {
            " — the pod seems to have no host-side veth (an ipvlan, macvlan or eBPF datapath): press s and turn on the netns fallback (it asks for the capture-netns helper, which adds SYS_ADMIN)"
        }
        ErrorCode::NotPermitted if local => {
            " — the local helper lacks the privileges: run ktui as root (or give the helper binary CAP_NET_RAW, and CAP_SYS_ADMIN to enter a namespace)"
        }
        ErrorCode::NotPermitted => {
            " — the helper pod lacks it: remove it (`ktui helper remove --node NODE`) and capture again to deploy the capture variant"
        }
        ErrorCode::BadRequest => " — check the interface and the filter in the confirmation",
        _ => "",
    };
    let message = format!("the helper refused the capture: {}{hint}", s(&e.message));
    fail(state, id, EndReason::Refused, message);
    Some(files::after(state, id))
}
