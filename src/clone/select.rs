//! What in the clone's namespace would still reach it (pure): selectors of Services,
//! workloads, PodDisruptionBudgets and NetworkPolicies that match its labels, allow policies
//! that also select it (NetworkPolicies are additive: an allow beside the deny-all opens what
//! it allows), and which CNI — the thing that enforces NetworkPolicies, or does not — the
//! kube-system DaemonSets show.

use std::collections::BTreeMap;

use serde_json::Value;

/// Labels as the API has them.
pub type Labels = BTreeMap<String, String>;

/// The CNI seen in kube-system and whether it enforces NetworkPolicies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cni {
    pub name: String,
    pub enforces: bool,
}

/// A `metav1.LabelSelector` (`matchLabels`, `matchExpressions` with In / NotIn / Exists /
/// DoesNotExist) against `labels`. An empty selector (`{}`) selects everything; a malformed
/// one (an unknown operator, In without values) selects nothing, as the API server would
/// refuse it.
pub fn label_selector_matches(selector: &Value, labels: &Labels) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    let match_labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let expressions = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .all(|e| expression_matches(e, labels));
    match_labels && expressions
}

fn expression_matches(e: &Value, labels: &Labels) -> bool {
    let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
    let values: Vec<&str> = e
        .get("values")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let have = labels.get(key).map(String::as_str);
    match e.get("operator").and_then(Value::as_str) {
        Some("In") => !values.is_empty() && have.is_some_and(|h| values.contains(&h)),
        Some("NotIn") => !values.is_empty() && have.is_none_or(|h| !values.contains(&h)),
        Some("Exists") => have.is_some(),
        Some("DoesNotExist") => have.is_none(),
        _ => false,
    }
}

/// A selector without a single term (`{}`): it selects every pod.
fn is_empty_selector(selector: &Value) -> bool {
    ["matchLabels", "matchExpressions"]
        .iter()
        .all(|k| match selector.get(*k) {
            None | Some(Value::Null) => true,
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            Some(_) => false,
        })
}

/// A Service's `spec.selector` (a plain map): a Service without one selects no pod.
pub fn map_selector_matches(selector: Option<&Value>, labels: &Labels) -> bool {
    match selector.and_then(Value::as_object) {
        Some(map) if !map.is_empty() => map
            .iter()
            .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str()),
        _ => false,
    }
}

/// Whether `object` (a Service, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
/// PodDisruptionBudget or NetworkPolicy, whole) selects pods with `labels`.
pub fn selects(object: &Value, labels: &Labels) -> bool {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "Service" => map_selector_matches(object.pointer("/spec/selector"), labels),
        "NetworkPolicy" => object
            .pointer("/spec/podSelector")
            .is_some_and(|s| label_selector_matches(s, labels)),
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "PodDisruptionBudget" => object
            .pointer("/spec/selector")
            .is_some_and(|s| label_selector_matches(s, labels)),
        // A ReplicationController's selector is a plain map.
        "ReplicationController" => map_selector_matches(object.pointer("/spec/selector"), labels),
        _ => false,
    }
}

fn name_of(object: &Value) -> String {
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or("object");
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    format!("{kind} {name}")
}

/// One warning per object whose selector still matches `labels` (NetworkPolicies: those
/// with rules; the clone's own deny-all has none and is not passed here by the flow).
pub fn still_selecting(labels: &Labels, objects: &[Value]) -> Vec<String> {
    objects
        .iter()
        .filter(|o| selects(o, labels))
        .map(|o| {
            let what = name_of(o);
            match o.get("kind").and_then(Value::as_str) {
                Some("Service") => {
                    format!("{what} still selects the clone: it would send it traffic")
                }
                Some("NetworkPolicy") => format!("{what} also selects the clone"),
                Some("PodDisruptionBudget") => format!("{what} counts the clone"),
                _ => format!("{what} selects the clone: its controller could adopt it"),
            }
        })
        .collect()
}

/// Whether a NetworkPolicy allows something: an ingress or egress rule (an empty rule `{}`
/// allows everything).
fn allows(policy: &Value) -> bool {
    ["ingress", "egress"].iter().any(|k| {
        policy
            .pointer(&format!("/spec/{k}"))
            .and_then(Value::as_array)
            .is_some_and(|rules| !rules.is_empty())
    })
}

/// The NetworkPolicies other than `own` that select the clone and allow traffic: each opens
/// what it allows, despite the clone's deny-all (an empty podSelector selects every pod).
pub fn allow_policies(labels: &Labels, own: &str, policies: &[Value]) -> Vec<String> {
    policies
        .iter()
        .filter(|p| p.pointer("/metadata/name").and_then(Value::as_str) != Some(own))
        .filter(|p| allows(p) && selects(p, labels))
        .map(|p| {
            let everyone = p
                .pointer("/spec/podSelector")
                .is_some_and(is_empty_selector);
            format!(
                "{} allows traffic to or from the clone{} (NetworkPolicies add up: the deny-all \
                 does not override it)",
                name_of(p),
                if everyone {
                    ": its empty podSelector selects every pod"
                } else {
                    ""
                }
            )
        })
        .collect()
}

/// Known CNIs by DaemonSet name fragment, and whether they enforce NetworkPolicies (kindnet
/// and the Amazon VPC CNI: it depends, see [`recognise`]).
const CNIS: &[(&str, &str, bool)] = &[
    ("cilium", "Cilium", true),
    ("anetd", "GKE Dataplane V2", true),
    ("calico-node", "Calico", true),
    ("canal", "Canal (Calico policy)", true),
    ("weave-net", "Weave Net", true),
    ("antrea-agent", "Antrea", true),
    ("kube-router", "kube-router", true),
    ("azure-cns", "Azure CNI", false),
    ("azure-npm", "Azure Network Policy Manager", true),
    ("kube-ovn", "Kube-OVN", true),
    ("ovnkube-node", "OVN-Kubernetes", true),
    ("kube-flannel", "flannel (no NetworkPolicy support)", false),
    ("flannel", "flannel (no NetworkPolicy support)", false),
    (
        "gke-metadata-server",
        "GKE without Dataplane V2 or network policy enforcement",
        false,
    ),
];

/// The kindnetd image tag (`kindest/kindnetd:vYYYYMMDD-...`) from which it enforces
/// NetworkPolicies: kind 0.24's.
const KINDNET_POLICIES_SINCE: u32 = 20240813;

fn containers(ds: &Value) -> impl Iterator<Item = &Value> {
    ds.pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The tag of `image` (`repo:tag@sha256:...` → `tag`).
fn image_tag(image: &str) -> Option<&str> {
    let image = image.split('@').next().unwrap_or(image);
    let (repo, tag) = image.rsplit_once(':')?;
    (!tag.contains('/') && !repo.is_empty()).then_some(tag)
}

/// Whether the kindnetd image enforces NetworkPolicies: kind's builds from
/// [`KINDNET_POLICIES_SINCE`] on (`v20240813-c6f155d6`), the standalone kindnet from v1.3.
fn kindnet_enforces(image: &str) -> bool {
    let Some(tag) = image_tag(image).and_then(|t| t.strip_prefix('v')) else {
        return false;
    };
    let head: String = tag.chars().take_while(char::is_ascii_digit).collect();
    if head.len() == 8 {
        return head
            .parse::<u32>()
            .is_ok_and(|d| d >= KINDNET_POLICIES_SINCE);
    }
    let mut parts = tag.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => (major, minor) >= (1, 3),
        _ => false,
    }
}

/// The CNI one kube-system DaemonSet shows, if any.
fn recognise(ds: &Value) -> Option<Cni> {
    let name = ds.pointer("/metadata/name").and_then(Value::as_str)?;
    let cni = |name: &str, enforces| {
        Some(Cni {
            name: name.to_string(),
            enforces,
        })
    };
    if name.contains("kindnet") {
        let image = containers(ds)
            .filter_map(|c| c.get("image").and_then(Value::as_str))
            .find(|i| i.contains("kindnet"));
        return if image.is_some_and(kindnet_enforces) {
            cni(
                "kindnet (with NetworkPolicy support: kind 0.24 or later)",
                true,
            )
        } else {
            cni("kindnet (no NetworkPolicy support before kind 0.24)", false)
        };
    }
    if name.contains("aws-node") {
        // The network policy agent runs beside the CNI; it enforces only when switched on.
        let agent_on = containers(ds)
            .filter(|c| {
                c.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.contains("nodeagent") || n.contains("network-policy"))
            })
            .flat_map(|c| {
                c.get("args")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
            })
            .any(|a| a.as_str() == Some("--enable-network-policy=true"));
        return if agent_on {
            cni("Amazon VPC CNI with its network policy agent on", true)
        } else {
            cni("Amazon VPC CNI (its network policy agent is off)", false)
        };
    }
    CNIS.iter()
        .find(|(fragment, _, _)| name.contains(fragment))
        .and_then(|(_, name, enforces)| cni(name, *enforces))
}

/// The CNI the kube-system DaemonSets show, the first policy-enforcing one preferred (Canal
/// runs flannel beside Calico; Cilium may chain onto the Amazon VPC CNI); `None` when none is
/// recognised.
pub fn detect_cni(daemonsets: &[Value]) -> Option<Cni> {
    let found: Vec<Cni> = daemonsets.iter().filter_map(recognise).collect();
    found.iter().find(|c| c.enforces).or(found.first()).cloned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let yes = [
            json!({}),
            json!({"matchLabels": {"app": "web"}}),
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}),
            json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["back"]}]}),
            json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
            json!({"matchExpressions": [{"key": "gone", "operator": "DoesNotExist"}]}),
        ];
        for s in &yes {
            assert!(label_selector_matches(s, &l), "{s}");
        }
        let no = [
            json!({"matchLabels": {"app": "api"}}),
            json!({"matchLabels": {"app": "web", "x": "y"}}),
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": []}]}),
            json!({"matchExpressions": [{"key": "tier", "operator": "Bogus"}]}),
            json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}),
            json!(null),
        ];
        for s in &no {
            assert!(!label_selector_matches(s, &l), "{s}");
        }
    }

    #[test]
    fn services_without_selectors_select_nothing() {
        let l = labels(&[("app", "web")]);
        let svc = |sel: Value| json!({"kind": "Service", "metadata": {"name": "s"}, "spec": {"selector": sel}});
        assert!(selects(&svc(json!({"app": "web"})), &l));
        assert!(!selects(&svc(json!({})), &l));
        assert!(!selects(&json!({"kind": "Service", "spec": {}}), &l));
    }

    #[test]
    fn allow_policies_beside_the_deny_all() {
        let clone = labels(&[
            ("ktui.dev/forensic", "true"),
            ("ktui.dev/source-pod", "web-1"),
        ]);
        let policies = [
            json!({"kind": "NetworkPolicy", "metadata": {"name": "web-1-forensic-0123abcd-isolate"},
                   "spec": {"podSelector": {"matchLabels": {"ktui.dev/forensic": "true"}}, "policyTypes": ["Ingress", "Egress"]}}),
            json!({"kind": "NetworkPolicy", "metadata": {"name": "allow-dns"},
                   "spec": {"podSelector": {}, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}}),
            json!({"kind": "NetworkPolicy", "metadata": {"name": "default-deny"},
                   "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            json!({"kind": "NetworkPolicy", "metadata": {"name": "web-only"},
                   "spec": {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}}),
        ];
        let warnings = allow_policies(&clone, "web-1-forensic-0123abcd-isolate", &policies);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("NetworkPolicy allow-dns allows"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("empty podSelector"), "{warnings:?}");
    }

    #[test]
    fn cnis_from_daemonsets() {
        let ds = |n: &str| json!({"kind": "DaemonSet", "metadata": {"name": n, "namespace": "kube-system"}});
        assert_eq!(
            detect_cni(&[ds("kube-proxy"), ds("cilium")]).unwrap().name,
            "Cilium"
        );
        let canal = detect_cni(&[ds("kube-flannel-ds"), ds("canal")]).unwrap();
        assert!(
            canal.enforces && canal.name.starts_with("Canal"),
            "{canal:?}"
        );
        assert!(!detect_cni(&[ds("kube-flannel-ds")]).unwrap().enforces);
        assert_eq!(detect_cni(&[ds("kube-proxy"), ds("coredns")]), None);
        assert!(
            detect_cni(&[ds("anetd")]).unwrap().enforces,
            "GKE Dataplane V2"
        );
    }

    /// kindnet and the Amazon VPC CNI enforce depending on their version and settings, which
    /// the DaemonSet shows.
    #[test]
    fn kindnet_by_its_image_and_aws_by_its_agent() {
        let ds = |name: &str, containers: Value| {
            json!({"kind": "DaemonSet", "metadata": {"name": name, "namespace": "kube-system"},
                   "spec": {"template": {"spec": {"containers": containers}}}})
        };
        let kindnet = |image: &str| {
            detect_cni(&[ds(
                "kindnet",
                json!([{"name": "kindnet-cni", "image": image}]),
            )])
            .unwrap()
        };
        for (image, enforces) in [
            ("docker.io/kindest/kindnetd:v20240513-cd2ac642", false), // kind 0.23
            ("docker.io/kindest/kindnetd:v20240813-c6f155d6", true),  // kind 0.24
            ("docker.io/kindest/kindnetd:v20250512-df8de77b", true),
            ("ghcr.io/aojea/kindnetd:v1.8.5", true),
            ("ghcr.io/aojea/kindnetd:v1.2.0", false),
            ("localhost:5000/kindnetd", false),
            (
                "docker.io/kindest/kindnetd:v20241212-9f82dd49@sha256:0123abcd",
                true,
            ),
        ] {
            assert_eq!(kindnet(image).enforces, enforces, "{image}");
        }
        assert!(!detect_cni(&[ds("kindnet", json!([]))]).unwrap().enforces);

        let aws = |on: &str| {
            detect_cni(&[ds(
                "aws-node",
                json!([{"name": "aws-node", "image": "amazon-k8s-cni:v1.18.0"},
                       {"name": "aws-eks-nodeagent", "args": ["--enable-ipv6=false", format!("--enable-network-policy={on}")]}]),
            )])
            .unwrap()
        };
        assert!(aws("true").enforces);
        assert!(!aws("false").enforces);
        assert!(
            !detect_cni(&[ds("aws-node", json!([{"name": "aws-node"}]))])
                .unwrap()
                .enforces
        );
    }
}
