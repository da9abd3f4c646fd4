//! The clone pod as the API server stored it, against the plan: mutating admission (a mesh's
//! injector that ignores the opt-out annotations, a workload-identity webhook) may add
//! containers, volumes or a token after ktui built the pod. Names are compared, not whole
//! objects: the API server's own defaults (dnsPolicy, terminationMessagePath, tolerations)
//! are expected.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cluster::{Cluster, ObjectRef};

fn names(pod: &Value, pointer: &str) -> BTreeSet<String> {
    pod.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// What admission added to `planned`, read back from the cluster; `Err` names each addition
/// (or says the pod could not be read back, which is treated the same: unverified).
pub(super) async fn check(
    cluster: &dyn Cluster,
    pod: &ObjectRef,
    planned: &Value,
) -> Result<(), Vec<String>> {
    let stored = cluster
        .get_json(pod.clone())
        .await
        .map_err(|e| vec![format!("it could not be read back to check it: {e}")])?;
    let added = additions(planned, &stored);
    if added.is_empty() { Ok(()) } else { Err(added) }
}

/// Containers, init containers and volumes in `stored` that `planned` lacks, a projected
/// service account token, a token mount turned back on.
pub(super) fn additions(planned: &Value, stored: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for (pointer, what) in [
        ("/spec/containers", "container"),
        ("/spec/initContainers", "init container"),
        ("/spec/ephemeralContainers", "ephemeral container"),
        ("/spec/volumes", "volume"),
    ] {
        let want = names(planned, pointer);
        out.extend(
            names(stored, pointer)
                .difference(&want)
                .map(|n| format!("{what} {} added", crate::sanitize::line(n))),
        );
    }
    let token = stored
        .pointer("/spec/volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.pointer("/projected/sources").and_then(Value::as_array))
        .flatten()
        .any(|s| s.get("serviceAccountToken").is_some());
    if token {
        out.push("a service account token volume".to_string());
    }
    if stored.pointer("/spec/automountServiceAccountToken") != Some(&Value::Bool(false)) {
        out.push("automountServiceAccountToken is no longer false".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_pass_and_injections_are_named() {
        let planned = json!({"spec": {"automountServiceAccountToken": false,
            "containers": [{"name": "web"}], "initContainers": [{"name": "ktui-toolkit"}],
            "volumes": [{"name": "ktui-toolkit", "emptyDir": {}}]}});
        let mut stored = planned.clone();
        stored["spec"]["dnsPolicy"] = "ClusterFirst".into();
        stored["spec"]["containers"][0]["terminationMessagePath"] = "/dev/termination-log".into();
        assert_eq!(additions(&planned, &stored), Vec::<String>::new());

        stored["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "istio-proxy"}));
        stored["spec"]["volumes"].as_array_mut().unwrap().push(json!({"name": "aws-iam-token",
            "projected": {"sources": [{"serviceAccountToken": {"audience": "sts.amazonaws.com", "path": "token"}}]}}));
        assert_eq!(
            additions(&planned, &stored),
            [
                "container istio-proxy added",
                "volume aws-iam-token added",
                "a service account token volume"
            ]
        );
    }
}
