//! Dedup from the cluster: the clones already there (label `ktui.dev/forensic=true`) carry
//! their crash signature and creation time as annotations, so a crash storm gets one clone
//! whatever ktui (or which console) made it, across restarts.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::clone::flow::{CloneError, Existing};
use crate::clone::{ANN_CREATED_AT, ANN_SIGNATURE, LABEL_FORENSIC};
use crate::cluster::Cluster;

/// The newest clone in `namespace` with `signature` created within `window` of `now`; an
/// error when a clone named `name` exists outside it (its name is taken).
pub(super) async fn find(
    cluster: &dyn Cluster,
    namespace: &str,
    name: &str,
    signature: &str,
    now: Timestamp,
    window: SignedDuration,
) -> Result<Option<Existing>, CloneError> {
    let clones = cluster
        .list_json(
            "v1",
            "Pod",
            Some(namespace.to_string()),
            Some(format!("{LABEL_FORENSIC}=true")),
        )
        .await
        .map_err(|cause| {
            CloneError::read(
                format!("the forensic clones in namespace {namespace} (for dedup)"),
                cause,
            )
        })?;
    if let Some(existing) = within(&clones, namespace, signature, now, window) {
        return Ok(Some(existing));
    }
    if let Some(taken) = clones
        .iter()
        .find(|c| text(c, "/metadata/name") == Some(name))
    {
        return Err(CloneError::NameTaken {
            name: name.to_string(),
            namespace: namespace.to_string(),
            created_at: annotation(taken, ANN_CREATED_AT).map(|t| format!("at {t}")),
        });
    }
    Ok(None)
}

/// How far ahead of `now` a clone's `created-at` may be and still count (another machine's
/// clock may run ahead); a stamp further ahead is not trusted, so it cannot hold off new
/// clones for longer than the window.
const CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// The newest clone (not being deleted) of `signature` whose `created-at` is within `window`
/// before `now` (or at most [`CLOCK_SKEW`] after it).
fn within(
    clones: &[Value],
    namespace: &str,
    signature: &str,
    now: Timestamp,
    window: SignedDuration,
) -> Option<Existing> {
    clones
        .iter()
        .filter(|c| c.pointer("/metadata/deletionTimestamp").is_none())
        .filter(|c| annotation(c, ANN_SIGNATURE) == Some(signature))
        .filter_map(|c| {
            let created_at: Timestamp = annotation(c, ANN_CREATED_AT)?.parse().ok()?;
            let name = text(c, "/metadata/name")?;
            let age = now.duration_since(created_at);
            (age >= -CLOCK_SKEW && age <= window).then(|| Existing {
                name: name.to_string(),
                namespace: namespace.to_string(),
                created_at,
                signature: signature.to_string(),
            })
        })
        .max_by_key(|e| e.created_at)
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/annotations")
        .and_then(|a| a.get(key))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clone(name: &str, signature: &str, created_at: &str) -> Value {
        json!({"metadata": {"name": name, "annotations": {
            "ktui.dev/signature": signature, "ktui.dev/created-at": created_at}}})
    }

    #[test]
    fn the_newest_clone_of_the_signature_within_the_window() {
        let now: Timestamp = "2026-11-20T12:00:00Z".parse().unwrap();
        let hour = SignedDuration::from_hours(1);
        let clones = vec![
            clone("a", "sig", "2026-11-20T11:10:00Z"),
            clone("b", "sig", "2026-11-20T11:30:00Z"),
            clone("c", "other", "2026-11-20T11:59:00Z"),
            clone("d", "sig", "2026-11-20T10:00:00Z"),
            clone("e", "sig", "not a time"),
        ];
        let found = within(&clones, "shop", "sig", now, hour).unwrap();
        assert_eq!(found.name, "b");
        assert!(within(&clones, "shop", "sig", now, SignedDuration::from_mins(20)).is_none());
        let mut deleting = clone("f", "sig", "2026-11-20T11:50:00Z");
        deleting["metadata"]["deletionTimestamp"] = json!("2026-11-20T11:55:00Z");
        assert!(within(&[deleting], "shop", "sig", now, hour).is_none());
        let ahead = clone("g", "sig", "2026-11-20T12:01:00Z");
        assert_eq!(
            within(&[ahead], "shop", "sig", now, hour).unwrap().name,
            "g"
        );
    }
}
