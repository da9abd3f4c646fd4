//! The pure clone spec builder: the source pod (as the API returns it), the crash signature,
//! the captured log and the options → every object the clone creates ([`ClonePlan`]), and
//! why each change was made (`ClonePlan::notes`). Nothing here reads the cluster.
//!
//! - [`names`]: the clone's name and label values (valid Kubernetes names, always);
//! - [`pod`]: the clone pod — the source's containers, images pinned to the digests they ran,
//!   env, volumes, securityContext and resources, each command replaced by the toolkit's
//!   sleep; probes, hooks, owners, tokens, mesh sidecars and host namespaces removed;
//! - [`placement`]: where it may be scheduled — the node kinds the containers need, not the
//!   source's node, replicas, priority or scheduler;
//! - [`volumes`]: Secrets and ConfigMaps kept (or copied), claims and host paths emptyDirs,
//!   tokens dropped;
//! - [`evidence`]: the log ConfigMap, the deny-all NetworkPolicy, the VolumeSnapshots.

mod evidence;
mod names;
mod placement;
mod pod;
mod volumes;

pub use names::{clone_name, is_dns_label, is_label_value, label_value};

use serde_json::{Map, Value, json};

use super::{
    ANN_CREATED_AT, ANN_CREATED_BY, ANN_LOG_SHA256, ANN_SIGNATURE, ANN_SNAPSHOTS, ANN_SOURCE_POD,
    ANN_SOURCE_UID, CloneOptions, ClonePlan, CloneSource, LABEL_FORENSIC, LABEL_SOURCE_POD,
    SnapshotChoice, Stamp,
};

/// The label every object ktui creates carries (`app.kubernetes.io/managed-by: ktui`); the
/// clone pod itself carries only its two `ktui.dev/` labels.
const MANAGED_BY: (&str, &str) = (
    crate::helper::manifest::LABEL_MANAGED_BY,
    crate::helper::manifest::MANAGER,
);

/// The CA bundle every namespace holds: read where the clone runs, never copied.
const ROOT_CA: &str = "kube-root-ca.crt";

/// The name of the copy of ConfigMap `cm` made for clone `clone` in a forensic namespace.
pub fn copy_name(clone: &str, cm: &str) -> String {
    names::joined(clone, cm, 253)
}

/// The annotations that keep each service mesh's webhook from injecting its proxy (and the
/// proxy's token) into the clone.
const MESH_OFF: &[(&str, &str)] = &[
    ("sidecar.istio.io/inject", "false"),
    ("linkerd.io/inject", "disabled"),
    ("kuma.io/sidecar-injection", "disabled"),
    ("consul.hashicorp.com/connect-inject", "false"),
    ("openservicemesh.io/sidecar-injection", "disabled"),
];

/// Why no plan could be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("the source object is not a pod: {0}")]
    NotAPod(String),
    #[error("the source pod has no {0}")]
    Missing(&'static str),
    #[error("the source pod has no container named {0:?}")]
    NoSuchContainer(String),
    #[error(
        "it runs on Windows ({0}), and the toolkit that keeps a clone asleep and gives it a shell \
         is a Linux busybox: copy this pod by hand"
    )]
    Windows(&'static str),
}

/// What the builder reads off the source pod's metadata.
struct Source<'a> {
    name: &'a str,
    namespace: &'a str,
    uid: Option<&'a str>,
}

fn source_meta(pod: &Value) -> Result<Source<'_>, SpecError> {
    let kind = pod.get("kind").and_then(Value::as_str).unwrap_or_default();
    if !kind.is_empty() && kind != "Pod" {
        return Err(SpecError::NotAPod(kind.to_string()));
    }
    let text = |p: &str| {
        pod.pointer(p)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    Ok(Source {
        name: text("/metadata/name").ok_or(SpecError::Missing("metadata.name"))?,
        namespace: text("/metadata/namespace").ok_or(SpecError::Missing("metadata.namespace"))?,
        uid: text("/metadata/uid"),
    })
}

/// Build every object the clone creates.
pub fn build(
    source: &CloneSource,
    options: &CloneOptions,
    stamp: &Stamp,
    snapshots: Option<&SnapshotChoice>,
) -> Result<ClonePlan, SpecError> {
    let src = source_meta(&source.pod)?;
    let name = clone_name(src.name, &source.signature);
    let namespace = options
        .forensic_namespace
        .clone()
        .unwrap_or_else(|| src.namespace.to_string());
    let mut notes = Vec::new();

    // The stamp: on the clone, its NetworkPolicy and its log ConfigMap.
    let mut stamp_ann = Map::new();
    stamp_ann.insert(ANN_SOURCE_POD.into(), src.name.into());
    if let Some(uid) = src.uid {
        stamp_ann.insert(ANN_SOURCE_UID.into(), uid.into());
    }
    stamp_ann.insert(ANN_SIGNATURE.into(), source.signature.clone().into());
    if let Some(by) = &stamp.created_by {
        stamp_ann.insert(ANN_CREATED_BY.into(), by.clone().into());
    }
    stamp_ann.insert(
        ANN_CREATED_AT.into(),
        stamp
            .created_at
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
            .into(),
    );
    if let Some(log) = &source.log {
        stamp_ann.insert(ANN_LOG_SHA256.into(), log.sha256.clone().into());
    }
    let clone_labels = json!({
        LABEL_FORENSIC: "true",
        LABEL_SOURCE_POD: label_value(src.name),
    });
    let mut owned_labels = clone_labels.clone();
    owned_labels[MANAGED_BY.0] = MANAGED_BY.1.into();

    let mut pod = pod::Built::from(&source.pod, source, options, &mut notes)?;
    // Copies get names of their own in the forensic namespace (another clone may copy a
    // ConfigMap of the same name), and the pod reads them under those names.
    pod.copy_config_maps.retain(|cm| cm != ROOT_CA);
    let renames: std::collections::BTreeMap<String, String> = pod
        .copy_config_maps
        .iter()
        .map(|cm| (cm.clone(), copy_name(&name, cm)))
        .collect();
    volumes::rename_config_maps(&mut pod.spec, &renames);
    let snapshot_objects = match snapshots {
        Some(choice) => evidence::snapshots(
            &name,
            src.namespace,
            &pod.claims,
            choice,
            &owned_labels,
            &stamp_ann,
        ),
        None => {
            if !pod.claims.is_empty() {
                notes.push(format!(
                    "no VolumeSnapshot of {} (the snapshot.storage.k8s.io/v1 API is not \
                     served): their data is not preserved",
                    pod.claims.join(", ")
                ));
            }
            Vec::new()
        }
    };
    let mut pod_ann = stamp_ann.clone();
    if !snapshot_objects.is_empty() {
        let list: Vec<String> = snapshot_objects
            .iter()
            .filter_map(|s| s.pointer("/metadata/name").and_then(Value::as_str))
            .map(|n| format!("{}/{n}", src.namespace))
            .collect();
        pod_ann.insert(ANN_SNAPSHOTS.into(), list.join(",").into());
    }
    pod_ann.extend(pod.kept_annotations.clone());
    // Mesh injection off: a webhook must not add a proxy that would route around the policy.
    for (key, off) in MESH_OFF {
        pod_ann.insert((*key).into(), (*off).into());
    }

    let network_policy =
        evidence::network_policy(&name, &namespace, &clone_labels, &owned_labels, &stamp_ann);
    let log_config_map = evidence::log_config_map(
        &name,
        &namespace,
        source,
        &owned_labels,
        &stamp_ann,
        &mut notes,
    );
    let pod_object = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": clone_labels,
            "annotations": pod_ann,
        },
        "spec": pod.spec,
    });
    Ok(ClonePlan {
        name,
        namespace,
        network_policy,
        log_config_map,
        copied_config_maps: Vec::new(),
        copy_config_maps: pod.copy_config_maps,
        snapshots: snapshot_objects,
        pod: pod_object,
        notes,
    })
}

#[cfg(test)]
mod tests;
