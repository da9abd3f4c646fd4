//! The clone in the case, under `artifacts/<ns>/<pod>/clone/` of the source pod:
//! - `<object>.<kind>.json` for every object of the plan (`web-1-forensic-1a2b3c4d.pod.json`,
//!   `...-isolate.networkpolicy.json`, `...-logs.configmap.json`, copied ConfigMaps,
//!   `.volumesnapshot.json`), written before anything is created: exactly what is sent;
//! - `<name>.clone.json` once the create ended (pinned keys: `kind` `ktui-forensic-clone`,
//!   `version` 1, `name`, `namespace`, `source` {`namespace`, `pod`, `uid`, `container`,
//!   `signature`, `node`}, `request` {`container`, `forensic_namespace`, `same_node`,
//!   `dedup_window_seconds`, `snapshot_class`, `toolkit_image`}, `created_by`, `created_at`,
//!   `log` {`container`, `sha256`, `size`, `captured_at`, `case_path`} or null, `snapshot_api`,
//!   `cni` {`name`, `enforces`} or null, `objects` [{`api_version`, `kind`, `namespace`, `name`,
//!   `created`}], `result` (`ok` / `error`), `error`, `rolled_back`, `left_behind`
//!   [{`object`, `error`}], `notes`, `warnings`, `timings` {`started_at`, `finished_at`});
//! - a custody line per cluster object: `create_object` when it was created, `delete_object`
//!   when it was deleted (a rollback, a removal): what `ktui cleanup` reads.
//!
//! Every write fsyncs: they run on a blocking thread.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{CloneError, Prepared, Rollback};
use crate::case::{Action, ArtifactMeta, ArtifactPath, Case, Entry, IndexEntry, Source};
use crate::clone::{ANN_CREATED_AT, ANN_CREATED_BY};
use crate::cluster::ObjectRef;
use crate::runtime::keep::object_target;

/// The custody action of a clone's records.
pub const ACTION: &str = "record_clone";
/// The record's `kind`.
pub const KIND: &str = "ktui-forensic-clone";

/// How a create ended, for `<name>.clone.json`.
pub(super) struct Outcome<'a> {
    pub created: &'a [ObjectRef],
    pub started: Timestamp,
    pub error: Option<&'a CloneError>,
}

fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn pretty(value: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(value).unwrap_or_default();
    out.push(b'\n');
    out
}

fn meta(prepared: &Prepared, file: &str) -> crate::case::Result<ArtifactMeta> {
    let source = &prepared.request.pod;
    Ok(ArtifactMeta::new(
        ArtifactPath::pod(&source.namespace, &source.name, &format!("clone/{file}"))?,
        "application/json",
        Source::Local,
        Action::from(ACTION),
    )
    .for_pod(
        &source.namespace,
        &source.name,
        Some(&prepared.source.container),
    )
    .crash_signature(&prepared.source.signature))
}

/// Write `items` (meta, bytes) into the case, in order.
async fn write_all(
    case: &Case,
    items: Vec<(ArtifactMeta, Vec<u8>)>,
) -> Result<Vec<IndexEntry>, String> {
    let case = case.clone();
    tokio::task::spawn_blocking(move || {
        items
            .iter()
            .map(|(meta, bytes)| case.write_artifact(meta, bytes).map_err(|e| e.to_string()))
            .collect()
    })
    .await
    .map_err(|e| format!("the write was interrupted: {e}"))?
}

/// Every object of the plan, as it is about to be sent.
pub(super) async fn manifests(
    case: Option<&Case>,
    prepared: &Prepared,
) -> Result<Vec<IndexEntry>, CloneError> {
    let Some(case) = case else {
        return Ok(Vec::new());
    };
    let fail = |what: String, cause: String| CloneError::Case {
        case: case.id().to_string(),
        what,
        cause,
    };
    let mut items = Vec::new();
    for object in prepared.plan.objects() {
        let r = ObjectRef::of(object)
            .map_err(|e| fail("a manifest of the clone".into(), e.to_string()))?;
        let file = format!("{}.{}.json", r.name, r.kind.to_ascii_lowercase());
        let mut m = meta(prepared, &file).map_err(|e| fail(file.clone(), e.to_string()))?;
        m.target = object_target(&r);
        items.push((m, pretty(object)));
    }
    write_all(case, items)
        .await
        .map_err(|cause| fail("the clone's manifests".into(), cause))
}

/// Append custody lines (no case: nothing).
pub(super) async fn custody(case: Option<&Case>, entries: Vec<Entry>) -> Result<(), String> {
    let Some(case) = case else {
        return Ok(());
    };
    let case = case.clone();
    tokio::task::spawn_blocking(move || entries.iter().try_for_each(|e| case.record(e)))
        .await
        .map_err(|e| format!("the write was interrupted: {e}"))?
        .map_err(|e| e.to_string())
}

/// `create_object` (ok), or the failed create with its error.
pub(super) fn created(object: &ObjectRef, outcome: Result<(), String>) -> Entry {
    Entry {
        outcome,
        ..Entry::ok(Action::CreateObject, object_target(object), vec![])
    }
}

/// `delete_object` (ok), or the failed delete with its error.
pub(super) fn deleted(object: &ObjectRef, outcome: Result<(), String>) -> Entry {
    Entry {
        outcome,
        ..Entry::ok(Action::DeleteObject, object_target(object), vec![])
    }
}

/// `<name>.clone.json`.
pub(super) async fn clone_record(
    case: Option<&Case>,
    prepared: &Prepared,
    outcome: &Outcome<'_>,
) -> Result<Option<IndexEntry>, String> {
    let Some(case) = case else {
        return Ok(None);
    };
    let file = format!("{}.clone.json", prepared.plan.name);
    let mut m = meta(prepared, &file).map_err(|e| e.to_string())?;
    if let Some(e) = outcome.error {
        m = m.failed(e.to_string());
    }
    let bytes = pretty(&record_json(prepared, outcome, Timestamp::now()));
    Ok(write_all(case, vec![(m, bytes)]).await?.pop())
}

fn record_json(prepared: &Prepared, outcome: &Outcome<'_>, finished: Timestamp) -> Value {
    let plan = &prepared.plan;
    let pod = &prepared.source.pod;
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let annotation = |key: &str| {
        plan.pod
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let options = &prepared.request.options;
    let rollback = match outcome.error {
        Some(CloneError::Create(c)) => c.rollback.clone(),
        _ => Rollback::default(),
    };
    let objects: Vec<Value> = plan
        .objects()
        .into_iter()
        .filter_map(|o| ObjectRef::of(o).ok())
        .map(|r| {
            json!({
                "api_version": r.api_version,
                "kind": r.kind,
                "namespace": r.namespace,
                "name": r.name,
                "created": outcome.created.contains(&r),
            })
        })
        .collect();
    json!({
        "kind": KIND,
        "version": 1,
        "name": plan.name,
        "namespace": plan.namespace,
        "source": {
            "namespace": prepared.request.pod.namespace,
            "pod": prepared.request.pod.name,
            "uid": text(pod, "/metadata/uid"),
            "container": prepared.source.container,
            "signature": prepared.source.signature,
            "node": text(pod, "/spec/nodeName"),
        },
        "request": {
            "container": prepared.request.container,
            "forensic_namespace": options.forensic_namespace,
            "same_node": options.same_node,
            "dedup_window_seconds": options.dedup_window.as_secs(),
            "snapshot_class": options.snapshot_class,
            "toolkit_image": options.toolkit_image,
        },
        "created_by": annotation(ANN_CREATED_BY),
        "created_at": annotation(ANN_CREATED_AT),
        "log": prepared.source.log.as_ref().map(|l| json!({
            "container": l.container,
            "sha256": l.sha256,
            "size": l.bytes.len(),
            "captured_at": ts(l.captured_at),
            "case_path": l.case_path,
        })),
        "snapshot_api": prepared.snapshot_api,
        "cni": prepared.cni.as_ref().map(|c| json!({"name": c.name, "enforces": c.enforces})),
        "objects": objects,
        "result": if outcome.error.is_none() { "ok" } else { "error" },
        "error": outcome.error.map(ToString::to_string),
        "rolled_back": rollback.deleted.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "left_behind": rollback.left.iter().map(|(o, why)| json!({"object": o.to_string(), "error": why})).collect::<Vec<_>>(),
        "notes": plan.notes,
        "warnings": prepared.warnings,
        "timings": {"started_at": ts(outcome.started), "finished_at": ts(finished)},
    })
}
