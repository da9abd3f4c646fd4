//! What a pod object names (pure, over the JSON the API returns): its containers, its
//! controller, the ConfigMaps and Secrets it reads and which of their keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::cluster::ObjectRef;

/// Which keys of a ConfigMap or Secret a pod reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Every key (a volume without `items`, `envFrom`, an image pull secret).
    All,
    Some(BTreeSet<String>),
}

impl Keys {
    /// Whether `key` is one of them.
    pub fn has(&self, key: &str) -> bool {
        match self {
            Keys::All => true,
            Keys::Some(keys) => keys.contains(key),
        }
    }

    fn add(&mut self, more: Keys) {
        match (self, more) {
            (Keys::All, _) => {}
            (this, Keys::All) => *this = Keys::All,
            (Keys::Some(a), Keys::Some(b)) => a.extend(b),
        }
    }
}

/// One referenced ConfigMap or Secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub keys: Keys,
    /// Every reference to it is `optional: true` (the pod runs without it).
    pub optional: bool,
}

/// The ConfigMaps and Secrets a pod reads, by name (in the pod's namespace).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    pub config_maps: BTreeMap<String, Reference>,
    pub secrets: BTreeMap<String, Reference>,
}

impl References {
    fn add(&mut self, secret: bool, name: Option<&str>, keys: Keys, optional: bool) {
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            return;
        };
        let map = if secret {
            &mut self.secrets
        } else {
            &mut self.config_maps
        };
        match map.get_mut(name) {
            Some(r) => {
                r.keys.add(keys);
                r.optional &= optional;
            }
            None => {
                map.insert(name.to_string(), Reference { keys, optional });
            }
        }
    }
}

const CONTAINER_LISTS: [&str; 3] = ["initContainers", "containers", "ephemeralContainers"];

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn optional(v: &Value) -> bool {
    v.get("optional").and_then(Value::as_bool).unwrap_or(false)
}

/// `items[].key` of a volume source, or every key when it lists none.
fn item_keys(source: &Value) -> Keys {
    let keys: BTreeSet<String> = list(source, "items")
        .filter_map(|i| text(i, "key"))
        .map(str::to_string)
        .collect();
    if keys.is_empty() {
        Keys::All
    } else {
        Keys::Some(keys)
    }
}

fn one(key: Option<&str>) -> Keys {
    Keys::Some(key.map(str::to_string).into_iter().collect())
}

/// Every ConfigMap and Secret the pod reads: volumes (`configMap`, `secret`, `projected`
/// sources), each container's `env[].valueFrom` and `envFrom` (init and ephemeral containers
/// too), and `imagePullSecrets`.
pub fn references(pod: &Value) -> References {
    let mut refs = References::default();
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    for volume in list(spec, "volumes") {
        if let Some(cm) = volume.get("configMap") {
            refs.add(false, text(cm, "name"), item_keys(cm), optional(cm));
        }
        if let Some(s) = volume.get("secret") {
            refs.add(true, text(s, "secretName"), item_keys(s), optional(s));
        }
        if let Some(projected) = volume.get("projected") {
            for source in list(projected, "sources") {
                if let Some(cm) = source.get("configMap") {
                    refs.add(false, text(cm, "name"), item_keys(cm), optional(cm));
                }
                if let Some(s) = source.get("secret") {
                    refs.add(true, text(s, "name"), item_keys(s), optional(s));
                }
            }
        }
    }
    for container in CONTAINER_LISTS.iter().flat_map(|l| list(spec, l)) {
        for var in list(container, "env") {
            let Some(from) = var.get("valueFrom") else {
                continue;
            };
            if let Some(r) = from.get("configMapKeyRef") {
                refs.add(false, text(r, "name"), one(text(r, "key")), optional(r));
            }
            if let Some(r) = from.get("secretKeyRef") {
                refs.add(true, text(r, "name"), one(text(r, "key")), optional(r));
            }
        }
        for from in list(container, "envFrom") {
            if let Some(r) = from.get("configMapRef") {
                refs.add(false, text(r, "name"), Keys::All, optional(r));
            }
            if let Some(r) = from.get("secretRef") {
                refs.add(true, text(r, "name"), Keys::All, optional(r));
            }
        }
    }
    for pull in list(spec, "imagePullSecrets") {
        refs.add(true, text(pull, "name"), Keys::All, false);
    }
    refs
}

/// The pod's container names: init containers (and native sidecars), main, ephemeral, in
/// spec order.
pub fn containers(pod: &Value) -> Vec<String> {
    let spec = pod.get("spec").unwrap_or(&Value::Null);
    CONTAINER_LISTS
        .iter()
        .flat_map(|l| list(spec, l))
        .filter_map(|c| text(c, "name"))
        .map(str::to_string)
        .collect()
}

/// The object's controller (`metadata.ownerReferences[]` with `controller: true`), in the
/// object's namespace.
pub fn controller(obj: &Value) -> Option<ObjectRef> {
    let meta = obj.get("metadata")?;
    let owner = list(meta, "ownerReferences")
        .find(|o| o.get("controller").and_then(Value::as_bool) == Some(true))?;
    Some(ObjectRef::new(
        text(owner, "apiVersion")?,
        text(owner, "kind")?,
        text(meta, "namespace"),
        text(owner, "name")?,
    ))
}

/// `spec.nodeName`.
pub fn node(pod: &Value) -> Option<String> {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
}

/// The object without `metadata.managedFields` (who last wrote which field: noise, and often
/// half the object).
pub fn without_managed_fields(mut obj: Value) -> Value {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Value {
        json!({
            "metadata": {"name": "web-1", "namespace": "shop", "managedFields": [{"manager": "x"}],
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Other", "name": "not-the-controller"},
                    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6d4", "controller": true}
                ]},
            "spec": {
                "nodeName": "n1",
                "imagePullSecrets": [{"name": "regcred"}],
                "volumes": [
                    {"name": "a", "configMap": {"name": "cm-a"}},
                    {"name": "b", "secret": {"secretName": "tls", "items": [{"key": "tls.key", "path": "k"}]}},
                    {"name": "c", "projected": {"sources": [
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"secret": {"name": "tls", "items": [{"key": "tls.crt", "path": "c"}]}},
                        {"serviceAccountToken": {"path": "token"}}
                    ]}},
                    {"name": "d", "emptyDir": {}}
                ],
                "initContainers": [{"name": "init", "env": [
                    {"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password", "optional": true}}}
                ]}],
                "containers": [{"name": "app",
                    "env": [
                        {"name": "L", "value": "1"},
                        {"name": "F", "valueFrom": {"configMapKeyRef": {"name": "cm-b", "key": "flags"}}},
                        {"name": "P", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
                    ],
                    "envFrom": [{"secretRef": {"name": "api-keys", "optional": true}}, {"configMapRef": {"name": "cm-b"}}]
                }],
                "ephemeralContainers": [{"name": "debugger"}]
            }
        })
    }

    fn some(keys: &[&str]) -> Keys {
        Keys::Some(keys.iter().map(|k| k.to_string()).collect())
    }

    #[test]
    fn finds_every_reference_with_its_keys() {
        let refs = references(&pod());
        let cms: Vec<_> = refs.config_maps.keys().cloned().collect();
        assert_eq!(cms, ["cm-a", "cm-b", "kube-root-ca.crt"]);
        assert_eq!(refs.config_maps["cm-a"].keys, Keys::All);
        // envFrom takes every key, whatever a single key reference asked for.
        assert_eq!(refs.config_maps["cm-b"].keys, Keys::All);
        assert_eq!(refs.config_maps["kube-root-ca.crt"].keys, some(&["ca.crt"]));
        let secrets: Vec<_> = refs.secrets.keys().cloned().collect();
        assert_eq!(secrets, ["api-keys", "db", "regcred", "tls"]);
        assert_eq!(refs.secrets["tls"].keys, some(&["tls.crt", "tls.key"]));
        assert_eq!(refs.secrets["db"].keys, some(&["password"]));
        assert!(refs.secrets["db"].optional && refs.secrets["api-keys"].optional);
        assert!(!refs.secrets["tls"].optional);
        assert_eq!(refs.secrets["regcred"].keys, Keys::All);
    }

    #[test]
    fn containers_controller_node_and_managed_fields() {
        let p = pod();
        assert_eq!(containers(&p), ["init", "app", "debugger"]);
        assert_eq!(
            controller(&p),
            Some(ObjectRef::new(
                "apps/v1",
                "ReplicaSet",
                Some("shop"),
                "web-6d4"
            ))
        );
        assert_eq!(node(&p).as_deref(), Some("n1"));
        let stripped = without_managed_fields(p);
        assert!(stripped["metadata"].get("managedFields").is_none());
        assert_eq!(stripped["metadata"]["name"], "web-1");
        assert_eq!(controller(&json!({"metadata": {}})), None);
    }
}
