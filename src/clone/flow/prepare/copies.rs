//! `--forensic-namespace`: the ConfigMaps the pod uses, copied into the clone's namespace
//! (Secrets never are: the spec drops their references). A copy is the source's data with a
//! fresh identity: no uid, resourceVersion, owners or managed fields, the clone's namespace,
//! ktui's labels, where it came from and which clone it is for (what removes it).

use serde_json::{Map, Value};

use crate::clone::flow::CloneError;
use crate::clone::{ANN_COPIED_FOR, ANN_COPIED_FROM, ClonePlan, LABEL_FORENSIC};
use crate::cluster::{Cluster, ClusterError, ObjectRef, PodKey};
use crate::helper::manifest::{LABEL_MANAGED_BY, MANAGER};

/// Fetch and copy every ConfigMap the plan lists. One that does not exist is a warning (the
/// source pod may mark it optional); any other failure is an error.
pub(super) async fn config_maps(
    cluster: &dyn Cluster,
    source: &PodKey,
    plan: &ClonePlan,
    warnings: &mut Vec<String>,
) -> Result<Vec<Value>, CloneError> {
    let mut copies = Vec::new();
    for name in &plan.copy_config_maps {
        let r = ObjectRef::new("v1", "ConfigMap", Some(&source.namespace), name.clone());
        match cluster.get_json(r.clone()).await {
            Ok(found) => copies.push(copy(found, plan, &source.namespace)),
            Err(ClusterError::NotFound { .. }) => warnings.push(format!(
                "ConfigMap {} used by the pod does not exist: not copied to namespace {}",
                r, plan.namespace
            )),
            Err(cause) => {
                return Err(CloneError::read(
                    format!("{r} (to copy it to namespace {})", plan.namespace),
                    cause,
                ));
            }
        }
    }
    Ok(copies)
}

/// The copy of `found` (a ConfigMap as the API returned it) for the plan's clone.
fn copy(found: Value, plan: &ClonePlan, from_namespace: &str) -> Value {
    let Value::Object(mut obj) = found else {
        return Value::Null;
    };
    obj.remove("status");
    let mut meta = match obj.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let name = meta.get("name").cloned().unwrap_or(Value::Null);
    for drop in [
        "uid",
        "resourceVersion",
        "ownerReferences",
        "managedFields",
        "creationTimestamp",
        "generation",
        "selfLink",
        "finalizers",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generateName",
    ] {
        meta.remove(drop);
    }
    meta.insert("namespace".into(), plan.namespace.clone().into());
    if let Some(source_name) = name.as_str() {
        meta.insert(
            "name".into(),
            crate::clone::spec::copy_name(&plan.name, source_name).into(),
        );
    }
    let labels = meta
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(l) = labels {
        l.insert(LABEL_FORENSIC.into(), "true".into());
        l.insert(LABEL_MANAGED_BY.into(), MANAGER.into());
    }
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(a) = annotations {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
        a.insert(
            ANN_COPIED_FROM.into(),
            format!("{from_namespace}/{}", name.as_str().unwrap_or_default()).into(),
        );
        a.insert(ANN_COPIED_FOR.into(), plan.name.clone().into());
    }
    obj.insert("metadata".into(), Value::Object(meta));
    obj.insert("apiVersion".into(), "v1".into());
    obj.insert("kind".into(), "ConfigMap".into());
    Value::Object(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_copy_has_a_fresh_identity_and_ktuis_labels() {
        let found = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "app-config", "namespace": "shop", "uid": "u1",
                "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z",
                "ownerReferences": [{"kind": "Deployment", "name": "web"}],
                "managedFields": [{}], "labels": {"app": "web"},
                "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "team": "a"}},
            "data": {"flags": "x=1"}, "binaryData": {"blob": "AAE="}, "immutable": true});
        let plan = ClonePlan {
            name: "web-1-forensic-1a2b3c4d".into(),
            namespace: "forensics".into(),
            network_policy: Value::Null,
            log_config_map: Value::Null,
            copied_config_maps: vec![],
            copy_config_maps: vec!["app-config".into()],
            snapshots: vec![],
            pod: Value::Null,
            notes: vec![],
        };
        let c = copy(found, &plan, "shop");
        assert_eq!(
            c,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "web-1-forensic-1a2b3c4d-app-config", "namespace": "forensics",
                    "labels": {"app": "web", "ktui.dev/forensic": "true",
                        "app.kubernetes.io/managed-by": "ktui"},
                    "annotations": {"team": "a", "ktui.dev/copied-from": "shop/app-config",
                        "ktui.dev/copied-for": "web-1-forensic-1a2b3c4d"}},
                "data": {"flags": "x=1"}, "binaryData": {"blob": "AAE="}, "immutable": true})
        );
    }
}
