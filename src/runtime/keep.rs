//! Evidence into the case: where each kind of artifact goes in the pinned layout, and the write
//! itself on a blocking thread (every case write fsyncs the file, its directory and the logs).

use crate::case::{Action as Custody, ArtifactMeta, ArtifactPath, Case, IndexEntry, Source};
use crate::cluster::PodKey;
use crate::evidence::{CaptureError, EvidenceItem, EvidenceKind};

/// `artifacts/<ns>/<pod>/logs/<container>[.previous].log`, from the pod's log endpoint.
pub fn logs(
    pod: &PodKey,
    container: &str,
    previous: bool,
    signature: Option<&str>,
) -> Result<ArtifactMeta, CaptureError> {
    let name = if previous {
        format!("logs/{container}.previous.log")
    } else {
        format!("logs/{container}.log")
    };
    let source = Source::Api(format!(
        "/api/v1/namespaces/{}/pods/{}/log?container={container}&previous={previous}",
        pod.namespace, pod.name
    ));
    let meta = ArtifactMeta::new(
        ArtifactPath::pod(&pod.namespace, &pod.name, &name)?,
        "text/plain",
        source,
        Custody::CaptureLogs,
    )
    .for_pod(&pod.namespace, &pod.name, Some(container));
    Ok(match signature {
        Some(s) => meta.crash_signature(s),
        None => meta,
    })
}

/// `artifacts/<ns>/<pod>/events.json`.
pub fn events(pod: &PodKey, signature: Option<&str>) -> Result<ArtifactMeta, CaptureError> {
    let source = Source::Api(format!(
        "/api/v1/namespaces/{}/events?fieldSelector=involvedObject.name={}",
        pod.namespace, pod.name
    ));
    let meta = ArtifactMeta::new(
        ArtifactPath::pod(&pod.namespace, &pod.name, "events.json")?,
        "application/json",
        source,
        Custody::CaptureEvents,
    )
    .for_pod(&pod.namespace, &pod.name, None);
    Ok(match signature {
        Some(s) => meta.crash_signature(s),
        None => meta,
    })
}

/// `artifacts/nodes/<node>/helper-session.json`.
pub fn helper_session(node: &str) -> Result<ArtifactMeta, CaptureError> {
    Ok(ArtifactMeta::new(
        ArtifactPath::node(node, "helper-session.json")?,
        "application/json",
        Source::Helper {
            node: node.to_string(),
            path: "session".to_string(),
        },
        Custody::Other("record_helper_session".into()),
    ))
}

/// `artifacts/<ns>/<pod>/pcaps/<name>`: a capture's record (`<label>-<id>.capture.json`),
/// beside its pcaps.
pub fn capture_record(pod: &PodKey, node: &str, name: &str) -> Result<ArtifactMeta, CaptureError> {
    Ok(ArtifactMeta::new(
        ArtifactPath::pod(&pod.namespace, &pod.name, &format!("pcaps/{name}"))?,
        "application/json",
        Source::Helper {
            node: node.to_string(),
            path: "capture".to_string(),
        },
        Custody::from(crate::fetch::pcap::RECORD_ACTION),
    )
    .for_pod(&pod.namespace, &pod.name, None))
}

/// The custody target naming a cluster object.
pub fn object_target(object: &crate::cluster::ObjectRef) -> crate::case::Target {
    crate::case::Target::Object {
        api_version: object.api_version.clone(),
        kind: object.kind.clone(),
        namespace: object.namespace.clone(),
        name: object.name.clone(),
    }
}

/// Append custody lines (what ktui did in the cluster) to `case`, on a blocking thread.
/// A run without a case records nothing.
/// The custody lines of what a helper deploy created (`deploy_helper` for its pod,
/// `create_object` for the rest): what `ktui cleanup` reads.
pub fn created_entries(created: &[crate::cluster::ObjectRef]) -> Vec<crate::case::Entry> {
    created
        .iter()
        .map(|o| {
            let action = if o.kind == "Pod" {
                crate::case::Action::DeployHelper
            } else {
                crate::case::Action::CreateObject
            };
            crate::case::Entry::ok(action, object_target(o), vec![])
        })
        .collect()
}

pub async fn record(
    case: Option<Case>,
    entries: Vec<crate::case::Entry>,
) -> Result<(), CaptureError> {
    let Some(case) = case else {
        return Ok(());
    };
    tokio::task::spawn_blocking(move || {
        entries.iter().try_for_each(|e| case.record(e).map(|_| ()))
    })
    .await
    .map_err(|e| CaptureError::Interrupted(e.to_string()))??;
    Ok(())
}

/// Write `bytes` into `case` (None: the run keeps no case) and say what it holds now.
pub async fn keep(
    case: Option<Case>,
    kind: EvidenceKind,
    meta: Result<ArtifactMeta, CaptureError>,
    bytes: Vec<u8>,
) -> Result<EvidenceItem, CaptureError> {
    let case = case.ok_or(CaptureError::NoCase)?;
    let meta = meta?;
    let entry: IndexEntry = tokio::task::spawn_blocking(move || case.write_artifact(&meta, &bytes))
        .await
        .map_err(|e| CaptureError::Interrupted(e.to_string()))??;
    Ok(EvidenceItem::written(kind, &entry))
}
