//! Captures from the console: is a helper able to capture ready on the node (the transfer's
//! check, with the capture variant); each file the helper closes is fetched into the case
//! through that helper (its pod by exec, or the local helper binary), verified, committed and
//! then removed from the node; the capture's record is written once it is over.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::action::Action;
use crate::case::Case;
use crate::cluster::{Cluster, PodKey};
use crate::evidence::{EvidenceItem, EvidenceKind};
use crate::fetch::pcap::{PcapSource, fetch_pcap, remove_pcap};
use crate::fetch::{FetchOptions, HelperExec, LocalExec, PodExec};
use crate::helper::manifest::{CONTAINER, HelperSpec, HelperVariant};
use crate::state::helper::HelperTarget;
use crate::state::packets::PcapFetch;

/// Progress is reported at most this often (and once at the end).
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Whether a helper with what `variant` adds is ready on `node`.
pub async fn check_helper(
    cluster: Arc<dyn Cluster>,
    capture: u64,
    node: String,
    image: String,
    variant: HelperVariant,
) -> Action {
    let spec = HelperSpec {
        image,
        variant,
        ..HelperSpec::new(Some(&node))
    };
    let result = super::transfer::ready_helper(cluster.as_ref(), &spec)
        .await
        .map_err(|e| e.to_string());
    Action::CaptureHelperChecked { capture, result }
}

/// Fetch `job`'s file into `case`, then remove it from the node (only once it is in the case).
pub async fn fetch(
    cluster: Arc<dyn Cluster>,
    case: Option<Case>,
    job: PcapFetch,
    tx: UnboundedSender<Action>,
) {
    let (capture, wire_id, seq) = (job.capture, job.wire_id, job.seq);
    let Some(case) = case else {
        let _ = tx.send(Action::CaptureFileFetched {
            capture,
            wire_id,
            seq,
            result: Err("no case is open: nothing would keep it".to_string()),
        });
        return;
    };
    let pod_exec;
    let exec: &dyn HelperExec = match &job.helper {
        HelperTarget::Pod { node } => {
            pod_exec = PodExec {
                cluster: cluster.as_ref(),
                pod: HelperSpec::new(Some(node)).pod_key(),
                container: CONTAINER,
            };
            &pod_exec
        }
        HelperTarget::Local | HelperTarget::DemoReplay => &LocalExec,
    };
    let src = PcapSource {
        case: &case,
        pod: &job.pod,
        node: &job.node,
        exec,
    };
    let ptx = tx.clone();
    let mut progress = super::throttled(PROGRESS_EVERY, move |done, total| {
        let _ = ptx.send(Action::CaptureFileProgress {
            capture,
            wire_id,
            seq,
            done,
            total,
        });
    });
    let fetched = fetch_pcap(
        &src,
        &job.node_path,
        job.announced.as_deref(),
        &FetchOptions::default(),
        &mut progress,
    )
    .await;
    let copy = match fetched {
        Ok(copy) => copy,
        Err(e) => {
            let _ = tx.send(Action::CaptureFileFetched {
                capture,
                wire_id,
                seq,
                result: Err(e.to_string()),
            });
            return;
        }
    };
    for (kind, entry) in [
        (EvidenceKind::Pcap, &copy.entry),
        (EvidenceKind::FetchRecord, &copy.record),
    ] {
        let _ = tx.send(Action::EvidenceCaptured(EvidenceItem::written(kind, entry)));
    }
    let _ = tx.send(Action::CaptureFileFetched {
        capture,
        wire_id,
        seq,
        result: Ok((
            copy.entry.path.clone(),
            copy.entry.sha256.clone().unwrap_or_default(),
        )),
    });
    let removed = remove_pcap(&src, &job.node_path, &copy.entry).await;
    let _ = tx.send(Action::CaptureFileRemoved {
        capture,
        wire_id,
        seq,
        result: removed.map(|_| ()).map_err(|e| e.to_string()),
    });
}

/// Write a capture's record, with who recorded it (the case's collector and context).
pub async fn record(
    case: Option<Case>,
    capture: u64,
    pod: PodKey,
    node: String,
    name: String,
    json: Vec<u8>,
    tx: UnboundedSender<Action>,
) {
    let result = match case {
        None => Err("no case is open".to_string()),
        Some(case) => {
            let bytes = with_recorder(&case, json);
            let meta = super::keep::capture_record(&pod, &node, &name);
            match super::keep::keep(Some(case), EvidenceKind::CaptureRecord, meta, bytes).await {
                Ok(item) => {
                    let kept = (item.path.clone(), item.sha256.clone());
                    let _ = tx.send(Action::EvidenceCaptured(item));
                    Ok(kept)
                }
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let _ = tx.send(Action::CaptureRecorded { capture, result });
}

/// The record with `recorded_by` (the case's collector, its context) and `recorded_at`.
fn with_recorder(case: &Case, json: Vec<u8>) -> Vec<u8> {
    let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&json) else {
        return json;
    };
    let meta = case.meta();
    map.insert(
        "recorded_by".to_string(),
        serde_json::json!({"collector": meta.collector, "context": meta.context}),
    );
    map.insert(
        "recorded_at".to_string(),
        serde_json::Value::String(jiff::Timestamp::now().to_string()),
    );
    let mut out = serde_json::to_vec_pretty(&serde_json::Value::Object(map)).unwrap_or(json);
    out.push(b'\n');
    out
}
