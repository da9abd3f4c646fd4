//! Where the clone may be scheduled. It keeps what ties the containers to a kind of node
//! (nodeSelector, node affinity, tolerations: architecture, OS, GPUs, dedicated pools) and
//! leaves out what ties the source to its node, its replicas or its place in the queue:
//! nodeName (unless `--same-node`), a DaemonSet's pin to its node, the eviction tolerations,
//! pod (anti-)affinity and topology spread (they count the replicas by the labels the clone no
//! longer has; a required anti-affinity against them would leave it Pending), the priority
//! class (a clone must never preempt, that is evict, a running pod ktui did not create) and a
//! custom scheduler (a gang or batch scheduler waits for the source's group).

use serde_json::{Map, Value};

use crate::clone::CloneOptions;

/// The scheduler every cluster runs.
const DEFAULT_SCHEDULER: &str = "default-scheduler";
/// The field a DaemonSet's node affinity pins its pods with.
const NODE_NAME_FIELD: &str = "metadata.name";

/// Copy the source `spec`'s placement into the clone's spec `out`, saying what was left out.
pub(super) fn place(
    spec: &Value,
    options: &CloneOptions,
    out: &mut Map<String, Value>,
    notes: &mut Vec<String>,
) {
    if let Some(selector) = spec.get("nodeSelector") {
        out.insert("nodeSelector".into(), selector.clone());
    }
    if options.same_node {
        match spec.get("nodeName").and_then(Value::as_str) {
            Some(node) => {
                out.insert("nodeName".into(), node.into());
                notes.push(format!("pinned to the source's node {node} (--same-node)"));
            }
            None => notes.push(
                "--same-node: the source pod has no node yet, so the clone goes wherever it is \
                 scheduled"
                    .into(),
            ),
        }
    }
    if let Some(affinity) = spec.get("affinity").and_then(Value::as_object) {
        let mut affinity = affinity.clone();
        let pods: Vec<&str> = ["podAffinity", "podAntiAffinity"]
            .into_iter()
            .filter(|k| affinity.remove(*k).is_some())
            .collect();
        if !pods.is_empty() {
            notes.push(format!(
                "{} removed: they place the source among its replicas by labels the clone does \
                 not carry (a required one could leave it unschedulable)",
                pods.join(" and ")
            ));
        }
        if !options.same_node
            && let Some(node_affinity) = affinity.get_mut("nodeAffinity")
            && let Some(nodes) = unpin(node_affinity)
        {
            notes.push(format!(
                "node affinity to {} removed (a DaemonSet's pin to its node; --same-node keeps \
                 the clone there)",
                nodes.join(", ")
            ));
            if node_affinity.as_object().is_some_and(Map::is_empty) {
                affinity.remove("nodeAffinity");
            }
        }
        if !affinity.is_empty() {
            out.insert("affinity".into(), affinity.into());
        }
    }
    if spec
        .get("topologySpreadConstraints")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        notes.push(
            "topologySpreadConstraints removed: they spread the source's replicas, which the \
             clone is not one of"
                .into(),
        );
    }
    if let Some(tolerations) = spec.get("tolerations").and_then(Value::as_array) {
        let kept: Vec<Value> = tolerations
            .iter()
            .filter(|t| !is_eviction_toleration(t))
            .cloned()
            .collect();
        if kept.len() != tolerations.len() {
            notes.push(format!(
                "{} eviction toleration(s) (node.kubernetes.io/..., NoExecute) removed: the clone gets the \
                 cluster's defaults",
                tolerations.len() - kept.len()
            ));
        }
        if !kept.is_empty() {
            out.insert("tolerations".into(), kept.into());
        }
    }
    if let Some(class) = spec.get("priorityClassName").and_then(Value::as_str) {
        notes.push(format!(
            "priorityClassName {class} removed: the clone takes the default priority, so \
             scheduling it never preempts (evicts) a running pod"
        ));
    }
    match spec.get("schedulerName").and_then(Value::as_str) {
        Some(DEFAULT_SCHEDULER) | None => {}
        Some(scheduler) => notes.push(format!(
            "schedulerName {scheduler} removed: the default scheduler places the clone (a gang \
             or batch scheduler would wait for the source's group)"
        )),
    }
}

/// A toleration of a node lifecycle taint that evicts (`node.kubernetes.io/...` with
/// NoExecute): the not-ready and unreachable ones the DefaultTolerationSeconds admission adds
/// (and controllers copy), out-of-service: they keep a pod on a failing node.
fn is_eviction_toleration(t: &Value) -> bool {
    t.get("key")
        .and_then(Value::as_str)
        .is_some_and(|k| k.starts_with("node.kubernetes.io/"))
        && t.get("effect").and_then(Value::as_str) == Some("NoExecute")
}

/// Remove the `metadata.name` fields a DaemonSet controller adds to every required node
/// selector term (the pod's own node), dropping terms and the requirement they leave empty;
/// the nodes it named, when there was such a pin.
fn unpin(node_affinity: &mut Value) -> Option<Vec<String>> {
    const REQUIRED: &str = "requiredDuringSchedulingIgnoredDuringExecution";
    let terms = node_affinity
        .pointer_mut(&format!("/{REQUIRED}/nodeSelectorTerms"))?
        .as_array_mut()?;
    let mut nodes = Vec::new();
    for term in terms.iter_mut() {
        let Some(fields) = term.get_mut("matchFields").and_then(Value::as_array_mut) else {
            continue;
        };
        fields.retain(|f| {
            let pin = f.get("key").and_then(Value::as_str) == Some(NODE_NAME_FIELD);
            if pin {
                nodes.extend(
                    f.get("values")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_string),
                );
            }
            !pin
        });
        if fields.is_empty()
            && let Some(t) = term.as_object_mut()
        {
            t.remove("matchFields");
        }
    }
    if nodes.is_empty() {
        return None;
    }
    // A term with nothing left would match no node: gone, and the requirement with the last.
    terms.retain(|t| {
        ["matchExpressions", "matchFields"].iter().any(|k| {
            t.get(*k)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
    });
    if terms.is_empty()
        && let Some(a) = node_affinity.as_object_mut()
    {
        a.remove(REQUIRED);
    }
    nodes.sort();
    nodes.dedup();
    Some(nodes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clone::DEFAULT_DEDUP_WINDOW;

    fn options(same_node: bool) -> CloneOptions {
        CloneOptions {
            forensic_namespace: None,
            same_node,
            dedup_window: DEFAULT_DEDUP_WINDOW,
            snapshot_class: None,
            toolkit_image: "registry.example.test/ktui-helper:0.1.0".into(),
        }
    }

    fn placed(spec: &Value, same_node: bool) -> (Value, String) {
        let mut out = Map::new();
        let mut notes = Vec::new();
        place(spec, &options(same_node), &mut out, &mut notes);
        (Value::Object(out), notes.join("\n"))
    }

    /// A DaemonSet's pod as its controller makes it: the template's node affinity with the
    /// node's name added to each term.
    fn daemonset_pod() -> Value {
        json!({
            "nodeName": "node-1",
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{
                    "matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}],
                    "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-1"]}]
                }]
            }}},
            "priorityClassName": "system-node-critical",
            "schedulerName": "default-scheduler"
        })
    }

    #[test]
    fn a_daemonset_pod_is_unpinned_unless_asked() {
        let (out, notes) = placed(&daemonset_pod(), false);
        assert_eq!(
            out["affinity"],
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{
                    "matchExpressions": [{"key": "kubernetes.io/arch", "operator": "In", "values": ["amd64"]}]
                }]
            }}}),
            "the arch requirement stays"
        );
        assert_eq!(out["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
        assert!(out.get("nodeName").is_none());
        assert!(out.get("priorityClassName").is_none());
        assert!(notes.contains("node affinity to node-1 removed"), "{notes}");
        assert!(
            notes.contains("priorityClassName system-node-critical removed"),
            "{notes}"
        );

        // Only the pin: nothing of the affinity is left.
        let mut only_pin = daemonset_pod();
        only_pin["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            ["nodeSelectorTerms"][0]
            .as_object_mut()
            .unwrap()
            .remove("matchExpressions");
        let (out, _) = placed(&only_pin, false);
        assert!(out.get("affinity").is_none(), "{out}");

        // --same-node keeps the node, by name and by affinity.
        let (out, notes) = placed(&daemonset_pod(), true);
        assert_eq!(out["nodeName"], "node-1");
        assert_eq!(out["affinity"], daemonset_pod()["affinity"]);
        assert!(!notes.contains("node affinity"), "{notes}");
    }

    #[test]
    fn replicas_placement_priority_and_scheduler_stay_with_the_source() {
        let spec = json!({
            "affinity": {
                "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                    {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}
                ]},
                "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 1, "preference": {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["web"]}]}}
                ]}
            },
            "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                           "labelSelector": {"matchLabels": {"app": "web"}}}],
            "schedulerName": "volcano",
            "tolerations": [
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}
            ]
        });
        let (out, notes) = placed(&spec, false);
        assert_eq!(
            out["affinity"],
            json!({"nodeAffinity": spec["affinity"]["nodeAffinity"]})
        );
        for gone in ["topologySpreadConstraints", "schedulerName"] {
            assert!(out.get(gone).is_none(), "{gone}");
        }
        assert_eq!(
            out["tolerations"],
            json!([{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoSchedule"}]),
            "only the NoExecute (eviction) one goes"
        );
        for said in [
            "podAntiAffinity removed",
            "topologySpreadConstraints removed",
            "schedulerName volcano removed",
            "1 eviction toleration(s)",
        ] {
            assert!(notes.contains(said), "{said}: {notes}");
        }
        let (_, notes) = placed(&json!({"schedulerName": "default-scheduler"}), false);
        assert_eq!(notes, "", "nothing to say");
    }
}
