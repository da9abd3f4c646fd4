//! The pod as the watch reads it. At 50k pods the first list is 192 MB of JSON, and building
//! full `k8s_openapi::Pod` values (managedFields trees, env, volumes, probes, resources) was most
//! of the client's time. This type reads only what the crash table needs and lets serde skip
//! the rest; the detail pane still GETs the whole pod.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, EphemeralContainer, Pod, PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference, Time};
use serde::{Deserialize, Deserializer};

use crate::cluster::KTUI_ANNOTATION_PREFIX;

/// A Pod with the fields the summary uses (`pods` list/watch, `v1`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WatchPod {
    #[serde(default, deserialize_with = "slim_meta")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    spec: Option<SlimSpec>,
    #[serde(default)]
    status: Option<SlimStatus>,
}

/// The metadata fields kept (managedFields are skipped unparsed; of the annotations only the
/// `ktui.dev/` ones are kept: the controller's triggers).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    creation_timestamp: Option<Time>,
    deletion_timestamp: Option<Time>,
    owner_references: Option<Vec<OwnerReference>>,
    labels: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "ktui_annotations")]
    annotations: Option<BTreeMap<String, String>>,
}

/// The annotations whose key starts with [`KTUI_ANNOTATION_PREFIX`]; the others' values are
/// skipped unread (a pod's `kubectl.kubernetes.io/last-applied-configuration` can be larger
/// than everything else the summary reads).
fn ktui_annotations<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Keep;
    impl<'de> serde::de::Visitor<'de> for Keep {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of annotations")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(Keep)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut kept = BTreeMap::new();
            while let Some(key) = map.next_key::<String>()? {
                if key.starts_with(KTUI_ANNOTATION_PREFIX) {
                    kept.insert(key, map.next_value::<String>()?);
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok((!kept.is_empty()).then_some(kept))
        }
    }
    d.deserialize_option(Keep)
}

fn slim_meta<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let m = SlimMeta::deserialize(d)?;
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        creation_timestamp: m.creation_timestamp,
        deletion_timestamp: m.deletion_timestamp,
        owner_references: m.owner_references,
        labels: m.labels,
        annotations: m.annotations,
        ..ObjectMeta::default()
    })
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimSpec {
    node_name: Option<String>,
    restart_policy: Option<String>,
    #[serde(default)]
    containers: Vec<SlimContainer>,
    init_containers: Option<Vec<SlimContainer>>,
    ephemeral_containers: Option<Vec<SlimContainer>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimContainer {
    name: String,
    image: Option<String>,
    restart_policy: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimStatus {
    phase: Option<String>,
    reason: Option<String>,
    message: Option<String>,
    conditions: Option<Vec<SlimCondition>>,
    container_statuses: Option<Vec<ContainerStatus>>,
    init_container_statuses: Option<Vec<ContainerStatus>>,
    ephemeral_container_statuses: Option<Vec<ContainerStatus>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SlimCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    reason: Option<String>,
    last_transition_time: Option<Time>,
}

impl WatchPod {
    /// A `Pod` holding what was read (everything else default), for the one summary function.
    pub fn to_pod(&self) -> Pod {
        let container = |c: &SlimContainer| Container {
            name: c.name.clone(),
            image: c.image.clone(),
            restart_policy: c.restart_policy.clone(),
            ..Container::default()
        };
        let spec = self.spec.as_ref().map(|s| PodSpec {
            node_name: s.node_name.clone(),
            restart_policy: s.restart_policy.clone(),
            containers: s.containers.iter().map(container).collect(),
            init_containers: s
                .init_containers
                .as_ref()
                .map(|v| v.iter().map(container).collect()),
            ephemeral_containers: s.ephemeral_containers.as_ref().map(|v| {
                v.iter()
                    .map(|c| EphemeralContainer {
                        name: c.name.clone(),
                        image: c.image.clone(),
                        ..EphemeralContainer::default()
                    })
                    .collect()
            }),
            ..PodSpec::default()
        });
        let status = self.status.as_ref().map(|s| PodStatus {
            phase: s.phase.clone(),
            reason: s.reason.clone(),
            message: s.message.clone(),
            conditions: s.conditions.as_ref().map(|v| {
                v.iter()
                    .map(|c| PodCondition {
                        type_: c.type_.clone(),
                        status: c.status.clone(),
                        reason: c.reason.clone(),
                        last_transition_time: c.last_transition_time.clone(),
                        ..PodCondition::default()
                    })
                    .collect()
            }),
            container_statuses: s.container_statuses.clone(),
            init_container_statuses: s.init_container_statuses.clone(),
            ephemeral_container_statuses: s.ephemeral_container_statuses.clone(),
            ..PodStatus::default()
        });
        Pod {
            metadata: self.metadata.clone(),
            spec,
            status,
        }
    }
}

impl k8s_openapi::Resource for WatchPod {
    const API_VERSION: &'static str = <Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for WatchPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::kube::convert::pod_summary;

    /// Every fixture Pod summarises the same read slim as read whole.
    #[test]
    fn slim_and_full_reads_summarise_alike() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/k8s");
        let mut seen = 0;
        for name in [
            "pod-crash.json",
            "pod-oom.json",
            "pod-pull.json",
            "pod-done.json",
            "pod-side.json",
            "pod-init.json",
            "podlist.json",
            "external/kdash/pods.json",
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let items = match v.get("items") {
                Some(items) => items.as_array().unwrap().clone(),
                None => vec![v],
            };
            for mut item in items {
                let obj = item.as_object_mut().unwrap();
                obj.insert("apiVersion".into(), "v1".into());
                obj.insert("kind".into(), "Pod".into());
                let full: Pod = serde_json::from_value(item.clone()).unwrap();
                let slim: WatchPod = serde_json::from_value(item).unwrap();
                let index = Default::default();
                assert_eq!(
                    pod_summary(&slim.to_pod(), &index),
                    pod_summary(&full, &index),
                    "{name}: {:?}",
                    full.metadata.name
                );
                assert_eq!(
                    slim.metadata.resource_version,
                    full.metadata.resource_version
                );
                seen += 1;
            }
        }
        assert!(seen >= 20, "{seen} pods compared");
    }

    /// Only the `ktui.dev/` annotations are read, slim as whole, with the resourceVersion.
    #[test]
    fn keeps_only_ktui_annotations() {
        let pod = serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns", "uid": "u", "resourceVersion": "42",
                "annotations": {
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"big\": true}",
                    "ktui.dev/capture": "30s",
                    "ktui.dev/clone": "true",
                    "ktui.devx/other": "no",
                }},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        });
        let full: Pod = serde_json::from_value(pod.clone()).unwrap();
        let slim: WatchPod = serde_json::from_value(pod).unwrap();
        let index = Default::default();
        let summary = pod_summary(&slim.to_pod(), &index);
        assert_eq!(summary, pod_summary(&full, &index));
        assert_eq!(
            summary.annotations,
            vec![
                ("ktui.dev/capture".to_string(), "30s".to_string()),
                ("ktui.dev/clone".to_string(), "true".to_string()),
            ]
        );
        assert_eq!(summary.annotation("ktui.dev/capture"), Some("30s"));
        assert_eq!(summary.resource_version, "42");
        let none: WatchPod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "annotations": null}
        }))
        .unwrap();
        assert!(pod_summary(&none.to_pod(), &index).annotations.is_empty());
    }
}
