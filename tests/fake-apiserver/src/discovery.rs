//! `/version`, `/api`, `/apis` and group-version discovery documents
//! (legacy and aggregated v2), generated from the resource table.

use serde_json::{Value, json};

use crate::resources::{RESOURCES, ResourceType, Served, group_versions};

const VERBS: [&str; 7] = [
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": "v1.33.0-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

fn in_group_version(
    group: &str,
    version: &str,
    served: Served,
) -> impl Iterator<Item = &'static ResourceType> {
    let (group, version) = (group.to_string(), version.to_string());
    RESOURCES
        .iter()
        .filter(move |r| r.group == group && r.version == version && served.serves(r))
}

/// The kind a subresource answers with.
fn subresource_kind(r: &ResourceType, sub: &str) -> (&'static str, &'static str, &'static str) {
    if sub == "scale" {
        ("autoscaling", "v1", "Scale")
    } else {
        (r.group, r.version, r.kind)
    }
}

/// `GET /api/v1`, `GET /apis/{group}/{version}`; `None` if not served.
pub(crate) fn resource_list(group: &str, version: &str, served: Served) -> Option<Value> {
    let mut resources = Vec::new();
    for r in in_group_version(group, version, served) {
        resources.push(json!({
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
            "shortNames": r.short_names,
        }));
        for sub in r.subresources {
            let (g, v, kind) = subresource_kind(r, sub);
            let mut entry = json!({
                "name": format!("{}/{sub}", r.plural),
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": kind,
                "verbs": ["get"],
            });
            if g != r.group {
                entry["group"] = Value::from(g);
                entry["version"] = Value::from(v);
            }
            resources.push(entry);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }))
}

/// `GET /api` (legacy).
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

/// `GET /apis` (legacy).
pub(crate) fn group_list(served: Served) -> Value {
    let groups: Vec<Value> = group_versions(served)
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn aggregated_group(group: &str, served: Served) -> Value {
    let versions: Vec<Value> = group_versions(served)
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| {
            let resources: Vec<Value> = in_group_version(g, v, served)
                .map(|r| {
                    let subresources: Vec<Value> = r
                        .subresources
                        .iter()
                        .map(|sub| {
                            let (sg, sv, kind) = subresource_kind(r, sub);
                            json!({
                                "subresource": sub,
                                "responseKind": {"group": sg, "version": sv, "kind": kind},
                                "verbs": ["get"],
                            })
                        })
                        .collect();
                    json!({
                        "resource": r.plural,
                        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                        "singularResource": r.singular,
                        "verbs": VERBS,
                        "shortNames": r.short_names,
                        "subresources": subresources,
                    })
                })
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery (`Accept: ...;as=APIGroupDiscoveryList`) for `/api`
/// (`core == true`) or `/apis`.
pub(crate) fn aggregated(core: bool, served: Served) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group("", served)]
    } else {
        let mut groups: Vec<&str> = Vec::new();
        for (g, _) in group_versions(served) {
            if !g.is_empty() && !groups.contains(&g) {
                groups.push(g);
            }
        }
        groups
            .into_iter()
            .map(|g| aggregated_group(g, served))
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// Content type of aggregated discovery responses.
pub(crate) const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
