//! The helper stream's cuts: a capture running when the stream is lost has its request
//! marked cut and a gap opened; after the reconnect it is asked for again under a new id (the
//! files of the cut request keep their names), the gap closes when the new request starts, and
//! the file the cut request had open is fetched by the name it must have. A stream lost for
//! good ends the captures, their files still fetched.

use super::files;
use super::session::send_start;
use crate::effect::Effect;
use crate::state::AppState;
use crate::state::packets::capture::{Capture, EndReason, FileState, FileStatus, Gap, Phase};

/// A new stream said hello: what stood is asked for again under new ids (the cut requests
/// end as cut, the gap waits for the new request's start); waiting captures are sent.
pub fn on_connected(state: &mut AppState) -> Vec<Effect> {
    let Some(target) = state.helper.target.clone() else {
        return Vec::new();
    };
    let now = state.now;
    let mut effects = Vec::new();
    for (was, id, msg) in state.helper.restand_captures() {
        let Some(c) = state.packets.by_wire(was) else {
            continue;
        };
        if let Some(seg) = c.segment(was)
            && seg.ended.is_none()
        {
            seg.ended = Some((now, "cut: a new helper stream began".to_string()));
        }
        match c.gaps.iter_mut().find(|g| g.before == was) {
            Some(g) => g.after = Some(id),
            None => c.gaps.push(Gap {
                from: now,
                to: None,
                reason: "a new helper stream began".to_string(),
                before: was,
                after: Some(id),
            }),
        }
        c.request(id, now);
        effects.push(Effect::HelperSend(msg));
    }
    let waiting: Vec<(u64, bool)> = state
        .packets
        .captures
        .iter()
        .filter(|c| c.phase == Phase::Connecting)
        .map(|c| (c.id, c.helper == target))
        .collect();
    for (id, ours) in waiting {
        if ours {
            effects.extend(send_start(state, id));
        } else {
            // The session went to another helper before this one said hello.
            let why = format!(
                "not started: the helper session went to the {} first; ask again",
                crate::sanitize::line(&target.label())
            );
            super::session::fail(state, id, EndReason::NotStarted, why);
        }
    }
    // A request that was stopping when its stream went is over (its end never came).
    let stopping: Vec<u64> = state
        .packets
        .captures
        .iter()
        .filter(|c| c.helper == target && c.phase == Phase::Stopping)
        .filter(|c| c.segments.last().is_some_and(|s| s.ended.is_none()))
        .map(|c| c.id)
        .collect();
    for id in stopping {
        end_cut(state, id, EndReason::Stopped, None);
        effects.extend(files::after(state, id));
    }
    effects
}

/// End capture `id`, whose request was cut with the stream: the file it had open is fetched
/// by its expected name.
pub fn end_cut(state: &mut AppState, id: u64, reason: EndReason, message: Option<String>) {
    let now = state.now;
    let Some(c) = state.packets.by_id(id) else {
        return;
    };
    let wires: Vec<u64> = c.segments.iter().map(|s| s.wire_id).collect();
    for w in wires {
        state.helper.end_capture(w);
    }
    let Some(c) = state.packets.by_id(id) else {
        return;
    };
    if let Some(seg) = c.live() {
        seg.ended = Some((now, "cut: the helper stream was lost".to_string()));
    }
    if let Some(i) = c.segments.len().checked_sub(1) {
        recover(c, i);
    }
    for g in c.gaps.iter_mut().filter(|g| g.to.is_none()) {
        g.to = Some(now);
    }
    c.mark_ended(now, reason, message);
}

/// Queue the file request `seg` had open when it was cut, by the name it must have.
pub(super) fn recover(c: &mut Capture, seg: usize) {
    let Some(segment) = c.segments.get(seg).cloned() else {
        return;
    };
    let Some((seq, path)) = c.open_file_of(&segment) else {
        return;
    };
    if c.files.iter().any(|f| f.node_path == path) {
        return;
    }
    if let Some(s) = c.segments.get_mut(seg) {
        s.last_seq = seq;
        s.last_file = true;
    }
    c.files.push(FileState {
        wire_id: segment.wire_id,
        seq,
        node_path: path,
        bytes: 0,
        packets: 0,
        sha256: None,
        first_n: None,
        last_n: None,
        last: false,
        recovered: true,
        status: FileStatus::OnNode,
    });
}

/// The helper stream was lost (`for_good`: no more attempts).
pub fn on_stream_lost(state: &mut AppState, reason: &str, for_good: bool) -> Vec<Effect> {
    let Some(target) = state.helper.target.clone() else {
        return Vec::new();
    };
    let now = state.now;
    let mut ended = Vec::new();
    for c in state
        .packets
        .captures
        .iter_mut()
        .filter(|c| c.helper == target)
    {
        let stopping = c.phase == Phase::Stopping;
        let Some(seg) = c.live() else {
            if for_good && matches!(c.phase, Phase::Interrupted(_) | Phase::Connecting) {
                ended.push(c.id);
            }
            continue;
        };
        let wire = seg.wire_id;
        if stopping {
            ended.push(c.id);
            continue;
        }
        seg.ended = Some((now, format!("cut: {reason}")));
        c.gaps.push(Gap {
            from: now,
            to: None,
            reason: reason.to_string(),
            before: wire,
            after: None,
        });
        c.rate.reset();
        c.phase = Phase::Interrupted(reason.to_string());
        if for_good {
            ended.push(c.id);
        }
    }
    let mut effects = Vec::new();
    for id in ended {
        let stopped = state
            .packets
            .by_id(id)
            .is_some_and(|c| c.phase == Phase::Stopping);
        let (reason_end, message) = if stopped {
            (EndReason::Stopped, None)
        } else {
            (
                EndReason::SessionLost,
                Some(format!("the helper session ended: {reason}")),
            )
        };
        end_cut(state, id, reason_end, message);
        effects.extend(files::after(state, id));
    }
    effects
}
