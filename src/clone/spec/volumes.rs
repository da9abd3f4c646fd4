//! The clone's volumes, from the source's: Secrets and ConfigMaps kept (in a forensic
//! namespace: Secrets dropped, ConfigMaps listed for copying), emptyDir, downwardAPI and image
//! volumes kept; claims, generic ephemeral volumes, hostPaths and every other storage (NFS,
//! iSCSI, cloud disks, CSI) replaced by emptyDirs (a claim's data is snapshotted, never
//! mounted); every service account token (and pod certificate) dropped with its mounts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::pod::{items, text};

/// The volumes planned, and what the rest of the plan needs to know of them.
pub(super) struct Planned {
    pub volumes: Vec<Value>,
    /// PersistentVolumeClaims the source mounts (emptyDir in the clone).
    pub claims: Vec<String>,
    /// ConfigMaps to copy into the forensic namespace.
    pub copy_config_maps: BTreeSet<String>,
    /// Volumes left out: their mounts go too.
    pub dropped: BTreeSet<String>,
}

/// Each volume of the source `spec`, kept, replaced or dropped (with a note for each change);
/// `elsewhere`: the clone goes into a forensic namespace.
pub(super) fn plan(spec: &Value, elsewhere: bool, notes: &mut Vec<String>) -> Planned {
    let mut claims = Vec::new();
    let mut copy_config_maps = BTreeSet::new();
    let mut dropped = BTreeSet::new();
    let mut volumes = Vec::new();
    let tokens = token_volumes(spec);
    for v in items(spec, "/volumes") {
        let name = text(v, "name").unwrap_or_default().to_string();
        if tokens.contains(&name) {
            notes.push(format!(
                "volume {name} dropped: it holds a service account token (mounted at {SA_DIR})"
            ));
            dropped.insert(name);
            continue;
        }
        match plan_volume(v, elsewhere, &mut claims, &mut copy_config_maps) {
            VolumePlan::Keep(v) => volumes.push(v),
            VolumePlan::Noted(v, why) => {
                notes.push(format!("volume {name}: {why}"));
                volumes.push(v);
            }
            VolumePlan::Drop(why) => {
                notes.push(format!("volume {name} dropped: {why}"));
                dropped.insert(name);
            }
        }
    }
    Planned {
        volumes,
        claims,
        copy_config_maps,
        dropped,
    }
}

/// What each volume becomes in the clone.
enum VolumePlan {
    Keep(Value),
    /// Kept or replaced (a claim by an emptyDir), with a note saying which and why.
    Noted(Value, String),
    /// Dropped with its mounts, with why.
    Drop(String),
}

/// Where Kubernetes mounts a pod's service account token.
const SA_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// Volumes holding a service account token, whatever their kind: mounted at (or under) the
/// token directory in any container, or a Secret named `<serviceAccountName>-token-...`
/// (the token Secrets of clusters before 1.24).
fn token_volumes(spec: &Value) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = ["/containers", "/initContainers"]
        .iter()
        .flat_map(|p| items(spec, p))
        .flat_map(|c| items(c, "/volumeMounts"))
        .filter(|m| text(m, "mountPath").is_some_and(|p| p.starts_with(SA_DIR)))
        .filter_map(|m| text(m, "name").map(str::to_string))
        .collect();
    let sa = text(spec, "serviceAccountName")
        .or_else(|| text(spec, "serviceAccount"))
        .unwrap_or("default");
    out.extend(
        items(spec, "/volumes")
            .filter(|v| {
                v.pointer("/secret/secretName")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with(&format!("{sa}-token-")))
            })
            .filter_map(|v| text(v, "name").map(str::to_string)),
    );
    out
}

/// Point every reference to a ConfigMap in `renames` (volumes, projected sources, env, envFrom)
/// at its new name.
pub(super) fn rename_config_maps(spec: &mut Value, renames: &BTreeMap<String, String>) {
    if renames.is_empty() {
        return;
    }
    let rename = |v: Option<&mut Value>| {
        if let Some(v) = v
            && let Some(new) = v.as_str().and_then(|n| renames.get(n))
        {
            *v = new.clone().into();
        }
    };
    if let Some(Value::Array(volumes)) = spec.get_mut("volumes") {
        for v in volumes {
            rename(v.pointer_mut("/configMap/name"));
            if let Some(Value::Array(sources)) = v.pointer_mut("/projected/sources") {
                for s in sources {
                    rename(s.pointer_mut("/configMap/name"));
                }
            }
        }
    }
    for key in ["containers", "initContainers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(key) {
            for c in containers {
                if let Some(Value::Array(env)) = c.get_mut("env") {
                    for e in env {
                        rename(e.pointer_mut("/valueFrom/configMapKeyRef/name"));
                    }
                }
                if let Some(Value::Array(from)) = c.get_mut("envFrom") {
                    for e in from {
                        rename(e.pointer_mut("/configMapRef/name"));
                    }
                }
            }
        }
    }
}

fn plan_volume(
    v: &Value,
    elsewhere: bool,
    claims: &mut Vec<String>,
    copy: &mut BTreeSet<String>,
) -> VolumePlan {
    let name = text(v, "name").unwrap_or_default();
    let empty = || json!({"name": name, "emptyDir": {}});
    if let Some(claim) = v
        .pointer("/persistentVolumeClaim/claimName")
        .and_then(Value::as_str)
    {
        if !claims.iter().any(|c| c == claim) {
            claims.push(claim.to_string());
        }
        return VolumePlan::Noted(
            empty(),
            format!(
                "claim {claim} not mounted (an emptyDir in its place): the live data stays untouched"
            ),
        );
    }
    if v.get("ephemeral").is_some() {
        return VolumePlan::Noted(
            empty(),
            "generic ephemeral volume replaced by an emptyDir".into(),
        );
    }
    if let Some(secret) = v.pointer("/secret/secretName").and_then(Value::as_str) {
        if elsewhere {
            return VolumePlan::Drop(format!(
                "Secret {secret} is not copied into the forensic namespace"
            ));
        }
        return VolumePlan::Keep(v.clone());
    }
    if let Some(cm) = v.pointer("/configMap/name").and_then(Value::as_str) {
        if elsewhere {
            copy.insert(cm.to_string());
        }
        return VolumePlan::Keep(v.clone());
    }
    if let Some(sources) = v.pointer("/projected/sources").and_then(Value::as_array) {
        let mut kept = Vec::new();
        let mut why = Vec::new();
        for s in sources {
            if s.get("serviceAccountToken").is_some() {
                why.push("its service account token".to_string());
            } else if s.get("podCertificate").is_some() {
                // Issued to the pod's service account: a credential like the token.
                why.push("its pod certificate".to_string());
            } else if let Some(secret) = s
                .pointer("/secret/name")
                .and_then(Value::as_str)
                .filter(|_| elsewhere)
            {
                why.push(format!("Secret {secret}"));
            } else {
                kept.push(s.clone());
            }
        }
        // The kube-api-access-* volume holds a token, the root CA and the namespace: without
        // the token nothing in it is of use to a clone that has no API access.
        let only_api_access = name.starts_with("kube-api-access-");
        if kept.is_empty() || only_api_access {
            return VolumePlan::Drop(format!("projected volume with {}", why.join(", ")));
        }
        if elsewhere {
            copy.extend(
                kept.iter()
                    .filter_map(|s| s.pointer("/configMap/name").and_then(Value::as_str))
                    .map(str::to_string),
            );
        }
        let mut v = v.clone();
        v["projected"]["sources"] = kept.into();
        if why.is_empty() {
            return VolumePlan::Keep(v);
        }
        return VolumePlan::Noted(v, format!("without {}", why.join(", ")));
    }
    if let Some(path) = v.pointer("/hostPath/path").and_then(Value::as_str) {
        // The node's live files (runtime sockets, logs, data) are not the clone's to touch.
        return VolumePlan::Noted(
            empty(),
            format!(
                "hostPath {path} not mounted (an emptyDir in its place): the node's files stay untouched"
            ),
        );
    }
    if LOCAL_KINDS.iter().any(|k| v.get(*k).is_some()) {
        return VolumePlan::Keep(v.clone());
    }
    // Everything else is storage of the source's (NFS, iSCSI, cloud disks, CSI drivers, ...):
    // mounting it would give the clone the live data, or the source's attachment (a disk
    // attached elsewhere keeps the clone from starting; a secrets-store CSI volume fetches with
    // an identity the clone does not have).
    let kind = v
        .as_object()
        .and_then(|o| o.keys().find(|k| *k != "name"))
        .map_or("unknown", String::as_str);
    let driver = v
        .pointer("/csi/driver")
        .and_then(Value::as_str)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    VolumePlan::Noted(
        empty(),
        format!(
            "{kind}{driver} volume not mounted (an emptyDir in its place): the clone mounts no \
             storage of the source's, whose data stays untouched"
        ),
    )
}

/// Volume kinds that hold nothing beyond the pod (its own scratch space, its metadata, a
/// read-only image): kept as they are.
const LOCAL_KINDS: &[&str] = &["emptyDir", "downwardAPI", "image"];
