//! A capture's record in the case (`pcaps/<label>-<id>.capture.json`), written when it is
//! over: what was asked (the request as sent), where it ran and how (mode, interfaces), each
//! request to the helper and the gaps between them, every file with its hashes and frame
//! range and where it is now, the counters and why it ended. The runtime adds who recorded it
//! (the case's collector) when it writes it.

use serde_json::{Value, json};

use super::capture::{Capture, FileStatus, NodeCopy};

pub const RECORD_KIND: &str = "ktui-capture";
pub const RECORD_VERSION: u32 = 1;

fn ts(t: jiff::Timestamp) -> String {
    t.to_string()
}

/// The record of `c` (the pane's counters of what it showed included).
pub fn record(c: &Capture) -> Value {
    let segments: Vec<Value> = c
        .segments
        .iter()
        .map(|s| {
            json!({
                "id": s.wire_id,
                "requested_at": ts(s.requested_at),
                "started_at": s.started.as_ref().map(|x| ts(x.at)),
                "mode": s.started.as_ref().map(|x| x.mode),
                "interfaces": s.started.as_ref().map(|x| &x.interfaces),
                "format": s.started.as_ref().map(|x| &x.format),
                "node_dir": s.started.as_ref().map(|x| &x.dir),
                "ended_at": s.ended.as_ref().map(|(at, _)| ts(*at)),
                "ended": s.ended.as_ref().map(|(_, how)| how),
                "stats": s.stats,
            })
        })
        .collect();
    let gaps: Vec<Value> = c
        .gaps
        .iter()
        .map(|g| {
            json!({
                "from": ts(g.from),
                "to": g.to.map(ts),
                "reason": g.reason,
                "cut_request": g.before,
                "resumed_request": g.after,
            })
        })
        .collect();
    let files: Vec<Value> = c
        .files
        .iter()
        .map(|f| {
            let (case_path, sha256, node_copy, error) = match &f.status {
                FileStatus::InCase { path, sha256, node } => {
                    let node_copy = match node {
                        NodeCopy::Removed => "removed".to_string(),
                        NodeCopy::Removing => "removing".to_string(),
                        NodeCopy::Kept(why) => format!("kept: {why}"),
                    };
                    (Some(path.as_str()), Some(sha256.as_str()), node_copy, None)
                }
                FileStatus::Failed(why) => (
                    None,
                    None,
                    "kept: not fetched".to_string(),
                    Some(why.as_str()),
                ),
                FileStatus::OnNode | FileStatus::Fetching { .. } => {
                    (None, None, "kept: not fetched".to_string(), None)
                }
            };
            json!({
                "request": f.wire_id,
                "seq": f.seq,
                "node_path": f.node_path,
                "case_path": case_path,
                "bytes": f.bytes,
                "packets": f.packets,
                "sha256_announced": f.sha256,
                "sha256": sha256,
                "first_n": f.first_n,
                "last_n": f.last_n,
                "last": f.last,
                "recovered_after_cut": f.recovered,
                "node_copy": node_copy,
                "error": error,
            })
        })
        .collect();
    json!({
        "kind": RECORD_KIND,
        "version": RECORD_VERSION,
        "capture": c.record_name().trim_end_matches(".capture.json"),
        "pod": {"namespace": c.pod.namespace, "name": c.pod.name, "uid": c.pod_uid},
        "node": c.node,
        "helper": c.helper.label(),
        "variant": c.variant.map(|v| v.name()),
        "spec": c.spec,
        "requested_at": ts(c.requested_at),
        "ended_at": c.end.as_ref().map(|e| ts(e.at)),
        "end": c.end.as_ref().map(|e| e.reason.as_str()),
        "end_message": c.end.as_ref().and_then(|e| e.message.as_deref()),
        "requests": segments,
        "gaps": gaps,
        "files": files,
        "stats": c.stats(),
        "console": {
            "summaries_received": c.ring.received,
            "summaries_evicted_from_the_pane": c.ring.evicted,
            "flows_untracked_packets": c.flows.untracked_packets,
        },
    })
}
