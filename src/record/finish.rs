//! The end of a recorded run: wait for the socket event stream to be sealed, write
//! `summary.json` and `node-<name>.json` into the case, package the whole case as a signed
//! bundle in `DIR/bundles/`, upload it with `--s3`. What fails is said and kept in the summary's
//! `errors`; what was collected stays in the case.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::driver::{Plan, Seen, Stop};
use super::status::StatusLine;
use super::summary::Streams;
use crate::case::{Action, ArtifactMeta, ArtifactPath, Case, Source, Target};
use crate::cluster::{Cluster, ObjectRef, Scope};

/// How long the end waits for the runtime's recorder to seal `events.jsonl`.
const SEAL_WAIT: Duration = Duration::from_secs(10);
/// How long reading a node from the API server may take.
const NODE_READ: Duration = Duration::from_secs(10);

pub struct Run {
    pub started_at: jiff::Timestamp,
    pub elapsed: Duration,
    pub stop: Stop,
}

/// Write the summary and node files, the bundle, the upload; the exit code.
pub async fn finish(
    case: &Case,
    cluster: &dyn Cluster,
    plan: &Plan,
    run: &Run,
    seen: &mut Seen,
    status: &mut StatusLine,
) -> u8 {
    if let Err(e) = await_sealed(case, "events.jsonl").await {
        seen.errors.push(e);
    }
    // A local helper's node is this machine, which the cluster (if any) need not know.
    let local = plan.source == crate::state::helper::HelperSource::Local;
    let nodes = node_files(case, cluster, seen, local).await;
    let end = jiff::Timestamp::now();
    let mut streams = match Streams::read(case.dir(), &seen.offsets) {
        Ok(s) => s,
        Err(e) => {
            seen.errors
                .push(format!("cannot read the record streams back: {e}"));
            Streams::default()
        }
    };
    let mut summary = streams.json(end, &seen.losses, seen.limit.as_ref());
    if let Some(map) = summary.as_object_mut() {
        let f = &plan.flags;
        let run_keys = json!({
            "case_id": case.id(),
            "started_at": run.started_at.to_string(),
            "ended_at": end.to_string(),
            "duration_s": (run.elapsed.as_secs_f64() * 1000.0).round() / 1000.0,
            "stopped_by": run.stop.as_str(),
            "demo": plan.demo,
            "scope": {
                "namespace": match &plan.scope { Scope::All => None, Scope::Namespace(n) => Some(n) },
                "pods": f.pods,
                "selector": f.selector,
            },
            "capture": {
                "sockets": f.sockets,
                "packets": f.packets,
                "dns_only": f.dns_only,
                "ports": f.ports,
                "sample": f.sample,
                "max_events": f.max_events,
                "max_bytes": f.max_bytes,
            },
            "clones": {
                "created": seen.clones_created,
                "deduplicated": seen.clones_deduplicated,
                "errors": seen.clone_errors,
                "dedup_window_s": f.dedup_window.as_secs(),
            },
            "nodes": nodes,
            "files": ["crashes.jsonl", "events.jsonl", "packets.jsonl", "custody.jsonl", "index.jsonl"],
            "errors": seen.errors,
        });
        if let Value::Object(extra) = run_keys {
            map.extend(extra);
        }
    }
    let bytes = serde_json::to_vec_pretty(&summary).unwrap_or_default();
    let mut code = 0;
    match write_local(case, "summary.json", &bytes) {
        Ok(path) => status.say(&format!("summary: {}", case.dir().join(path).display())),
        Err(e) => {
            status.say(&format!("cannot write summary.json: {e}"));
            code = 1;
        }
    }
    let exported = crate::bundle::export::export_case(
        case,
        None,
        plan.flags.sign_key.as_deref(),
        jiff::Timestamp::now(),
        &mut |_, _| {},
    );
    let done = match exported {
        Ok(done) => done,
        Err(e) => {
            status.say(&format!(
                "the bundle could not be written: {e}; the case keeps everything (`ktui export --case {}` retries)",
                case.id()
            ));
            return 1;
        }
    };
    if let Some(notice) = &done.key_notice {
        status.say(notice);
    }
    for (what, why) in &done.unavailable {
        status.say(&format!("left out of the bundle {what}: {why}"));
    }
    println!(
        "{}\n  sha256 {}\n  signed by key {}",
        crate::sanitize::line(&done.bundle.display().to_string()),
        done.sha256,
        done.key_id
    );
    if let Some(uri) = &plan.flags.s3 {
        let req = crate::bundle::upload::S3Request {
            uri: uri.clone(),
            endpoint: plan.flags.s3_endpoint.clone(),
            verify: false,
            object_lock_days: None,
        };
        let of = crate::bundle::s3::KeyOf::Case(case.id());
        match crate::bundle::upload::upload_with_bar(
            Some(case),
            Target::Case,
            &done.bundle,
            &req,
            of,
        )
        .await
        {
            Ok(up) => println!("{}", crate::bundle::upload::describe(&up)),
            Err(msg) => {
                status.say(&msg);
                code = 1;
            }
        }
    }
    if matches!(run.stop, Stop::WatchFailed | Stop::LeaseLost) || seen.evidence_failed {
        code = 1;
    }
    code
}

/// Wait until `path`'s last index line is sealed (the runtime's recorder closes it when the
/// helper session ends); fine when the case has no such file.
async fn await_sealed(case: &Case, path: &str) -> Result<(), String> {
    let until = Instant::now() + SEAL_WAIT;
    loop {
        let index = case.index().map_err(|e| e.to_string())?;
        match index.iter().find(|e| e.path == path) {
            None => return Ok(()),
            Some(e) if e.sealed => return Ok(()),
            Some(_) if Instant::now() >= until => {
                return Err(format!(
                    "{path} was not sealed within {}s; the next open of the case seals it",
                    SEAL_WAIT.as_secs()
                ));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// `node-<name>.json` for each node the run traced or saw a crash on: the API server's node
/// info (kernel, OS, runtime, kubelet) and the helper's hello there (probes, capabilities).
/// Returns the names written.
async fn node_files(
    case: &Case,
    cluster: &dyn Cluster,
    seen: &mut Seen,
    local_helper: bool,
) -> Vec<String> {
    let mut names: Vec<String> = seen.crash_nodes.iter().cloned().collect();
    names.extend(seen.hellos.keys().cloned());
    names.sort();
    names.dedup();
    let mut written = Vec::new();
    for name in names {
        let api = if name == "local" || (local_helper && !seen.crash_nodes.contains(&name)) {
            None
        } else {
            match tokio::time::timeout(NODE_READ, cluster.get_json(ObjectRef::node(&name))).await {
                Ok(Ok(node)) => Some(node),
                Ok(Err(e)) => {
                    seen.errors.push(format!("node {name}: {e}"));
                    None
                }
                Err(_) => {
                    seen.errors.push(format!(
                        "node {name}: no answer within {}s",
                        NODE_READ.as_secs()
                    ));
                    None
                }
            }
        };
        let doc = node_json(&name, api.as_ref(), seen.hellos.get(&name));
        let file = format!("node-{}.json", file_safe(&name));
        match write_local(
            case,
            &file,
            &serde_json::to_vec_pretty(&doc).unwrap_or_default(),
        ) {
            Ok(_) => written.push(name),
            Err(e) => seen.errors.push(format!("cannot write {file}: {e}")),
        }
    }
    written
}

/// One node's facts: from the Node object's `status.nodeInfo` and the helper's hello.
pub fn node_json(name: &str, node: Option<&Value>, hello: Option<&ktui_wire::Hello>) -> Value {
    let info = node.and_then(|n| n.pointer("/status/nodeInfo"));
    let s = |k: &str| info.and_then(|i| i.get(k)).cloned().unwrap_or(Value::Null);
    json!({
        "name": name,
        "kernel": hello.map(|h| Value::from(h.kernel.clone())).unwrap_or_else(|| s("kernelVersion")),
        "os_image": s("osImage"),
        "architecture": s("architecture"),
        "container_runtime": s("containerRuntimeVersion"),
        "kubelet_version": s("kubeletVersion"),
        "labels": node.and_then(|n| n.pointer("/metadata/labels")).cloned().unwrap_or(Value::Null),
        "helper": hello.map(|h| json!({
            "version": h.helper_version,
            "protocol": h.protocol,
            "ebpf": h.ebpf,
            "ebpf_error": h.ebpf_error,
            "probes": h.probes,
            "missing_capabilities": h.missing_capabilities,
            "capture": h.capture,
            "checkpoint_dir": h.checkpoint_dir,
            "snapshot": h.snapshot,
        })),
    })
}

/// A node name as a file name part (node names are DNS names; anything else becomes `_`).
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A file made here, at the top of the case; the path it got (a former run's file keeps its
/// name: this one is numbered, `summary-2.json`).
fn write_local(case: &Case, name: &str, bytes: &[u8]) -> crate::case::Result<String> {
    let meta = ArtifactMeta::new(
        ArtifactPath::new(name)?,
        "application/json",
        Source::Local,
        Action::from("write_summary"),
    );
    case.write_artifact(&meta, bytes).map(|e| e.path)
}
