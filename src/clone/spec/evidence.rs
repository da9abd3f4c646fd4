//! The objects beside the clone: the deny-all NetworkPolicy (created first), the ConfigMap
//! holding the crashed container's previous log with its hash, the claims' VolumeSnapshots.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::clone::{CloneSource, SnapshotChoice};

/// A ConfigMap holds at most 1 MiB of data; the log keeps its tail below this, leaving room
/// for the note key.
pub(super) const LOG_ROOM: usize = 1024 * 1024 - 4096;
/// Annotation on the log ConfigMap when only the log's tail fits.
pub const ANN_LOG_TRUNCATED: &str = "ktui.dev/log-truncated";
/// Annotation with the whole log's size in bytes.
pub const ANN_LOG_SIZE: &str = "ktui.dev/log-size";

fn metadata(
    name: &str,
    namespace: &str,
    labels: &Value,
    annotations: &Map<String, Value>,
) -> Value {
    json!({
        "name": name,
        "namespace": namespace,
        "labels": labels,
        "annotations": annotations,
    })
}

/// `<name>-isolate`: selects exactly the clone's two labels, denies all ingress and egress
/// (both policy types, no rule).
pub(super) fn network_policy(
    name: &str,
    namespace: &str,
    clone_labels: &Value,
    labels: &Value,
    annotations: &Map<String, Value>,
) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(&format!("{name}-isolate"), namespace, labels, annotations),
        "spec": {
            "podSelector": {"matchLabels": clone_labels},
            "policyTypes": ["Ingress", "Egress"],
        },
    })
}

/// `<name>-logs`: the previous log under `<container>.previous.log` (`binaryData` when it is
/// not UTF-8), its tail when the whole does not fit, marked so; without a log, a `README` key
/// saying why.
pub(super) fn log_config_map(
    name: &str,
    namespace: &str,
    source: &CloneSource,
    labels: &Value,
    annotations: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Value {
    let mut annotations = annotations.clone();
    let mut data = Map::new();
    let mut binary = Map::new();
    match &source.log {
        Some(log) => {
            let key = format!("{}.previous.log", log.container);
            annotations.insert(ANN_LOG_SIZE.into(), log.bytes.len().to_string().into());
            let tail = tail(&log.bytes, LOG_ROOM);
            if tail.len() < log.bytes.len() {
                annotations.insert(ANN_LOG_TRUNCATED.into(), "true".into());
                notes.push(format!(
                    "the log ConfigMap holds the last {} of {} bytes of {key} (a ConfigMap holds \
                     at most 1 MiB); the whole log is in the case, its SHA-256 stamped",
                    tail.len(),
                    log.bytes.len()
                ));
            }
            match std::str::from_utf8(tail) {
                Ok(text) => {
                    data.insert(key, text.into());
                }
                Err(_) => {
                    binary.insert(
                        key,
                        base64::engine::general_purpose::STANDARD
                            .encode(tail)
                            .into(),
                    );
                    notes.push("the log is not UTF-8: the ConfigMap keeps it as binaryData".into());
                }
            }
        }
        None => {
            data.insert(
                "README".into(),
                format!(
                    "No previous log of container {} was captured (the container has not \
                     restarted, or its log was gone): nothing to stamp.\n",
                    source.container
                )
                .into(),
            );
            notes.push(format!(
                "no previous log of {} was captured: the ConfigMap says so and no log hash is stamped",
                source.container
            ));
        }
    }
    let mut cm = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(&format!("{name}-logs"), namespace, labels, &annotations),
        "immutable": true,
    });
    if !data.is_empty() {
        cm["data"] = data.into();
    }
    if !binary.is_empty() {
        cm["binaryData"] = binary.into();
    }
    cm
}

/// The last `room` bytes of `log`, from a line start when one is in reach (and never inside
/// a UTF-8 sequence of an otherwise valid text).
fn tail(log: &[u8], room: usize) -> &[u8] {
    if log.len() <= room {
        return log;
    }
    let mut start = log.len() - room;
    if let Some(nl) = log[start..].iter().position(|b| *b == b'\n')
        && nl + 1 < log.len() - start
    {
        start += nl + 1;
    }
    while start < log.len() && (log[start] & 0xc0) == 0x80 {
        start += 1;
    }
    &log[start..]
}

/// `<clone>-<claim>` when it fits in 253 characters (a VolumeSnapshot's name is a DNS
/// subdomain), else `<clone>-<8 hex of the claim's SHA-256>`: the clone's name, which ends in
/// the signature, is never cut, so two clones of one pod never share a snapshot name.
fn snapshot_name(clone: &str, claim: &str) -> String {
    if clone.len() + 1 + claim.len() <= 253 {
        format!("{clone}-{claim}")
    } else {
        format!(
            "{clone}-{}",
            &crate::case::custody::sha256_hex(claim.as_bytes())[..8]
        )
    }
}

/// One VolumeSnapshot per claim, in the claims' namespace (where a VolumeSnapshot must be).
pub(super) fn snapshots(
    name: &str,
    claims_namespace: &str,
    claims: &[String],
    choice: &SnapshotChoice,
    labels: &Value,
    annotations: &Map<String, Value>,
) -> Vec<Value> {
    claims
        .iter()
        .map(|claim| {
            let mut ann = annotations.clone();
            ann.insert("ktui.dev/claim".into(), claim.clone().into());
            let mut spec = json!({"source": {"persistentVolumeClaimName": claim}});
            if let Some(class) = &choice.class {
                spec["volumeSnapshotClassName"] = class.clone().into();
            }
            json!({
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": metadata(&snapshot_name(name, claim), claims_namespace, labels, &ann),
                "spec": spec,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_starts_at_a_line_and_never_inside_a_character() {
        let log = b"first line\nsecond line\nthird\n";
        assert_eq!(tail(log, 100), log);
        assert_eq!(tail(log, 15), b"third\n");
        let utf = "ééééé".as_bytes();
        let t = tail(utf, 5);
        assert!(std::str::from_utf8(t).is_ok(), "{t:?}");
        assert_eq!(t.len(), 4);
    }
}
