//! The clone pod's spec, from the source pod's: what is kept, what is removed and why.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::{SpecError, placement, volumes};
use crate::clone::{CloneOptions, CloneSource, toolkit};

/// Containers a service mesh injects (never the application): removed from the clone, whose
/// mesh injection is also turned off, so no proxy routes around the NetworkPolicy.
const MESH_CONTAINERS: &[&str] = &[
    "istio-proxy",
    "istio-init",
    "istio-validation",
    "linkerd-proxy",
    "linkerd-init",
    "linkerd-network-validator",
    "kuma-sidecar",
    "kuma-init",
    "consul-dataplane",
    "consul-connect-inject-init",
    "envoy-sidecar",
    "osm-init",
    "cilium-envoy",
];

/// Annotations kept from the source: they change how the runtime confines the containers,
/// which a faithful copy needs (AppArmor profiles, the older seccomp annotations).
const KEPT_ANNOTATION_PREFIXES: &[&str] = &[
    "container.apparmor.security.beta.kubernetes.io/",
    "seccomp.security.alpha.kubernetes.io/",
    "container.seccomp.security.alpha.kubernetes.io/",
];

/// Pod spec fields copied as they are (placement: [`placement`]).
const KEPT_SPEC: &[&str] = &[
    "securityContext",
    "imagePullSecrets",
    "dnsPolicy",
    "dnsConfig",
    "hostAliases",
    "enableServiceLinks",
    "shareProcessNamespace",
    "terminationGracePeriodSeconds",
    "runtimeClassName",
    "os",
    "hostUsers",
];

/// Pod spec fields removed, each with why (said in the notes when the source sets it).
const REMOVED_SPEC: &[(&str, &str)] = &[
    (
        "hostNetwork",
        "a host-network pod is outside every NetworkPolicy: the clone uses its own network namespace",
    ),
    (
        "hostPID",
        "the clone does not share the node's process namespace",
    ),
    (
        "hostIPC",
        "the clone does not share the node's IPC namespace",
    ),
    (
        "hostname",
        "with a subdomain it would answer for the source's name in the headless Service's DNS",
    ),
    (
        "subdomain",
        "it would put the clone into the source's headless Service DNS",
    ),
    ("setHostnameAsFQDN", "it goes with the subdomain"),
    (
        "activeDeadlineSeconds",
        "the clone waits for the responder, not for the source's deadline",
    ),
    (
        "readinessGates",
        "set by controllers of the source (load balancers), meaningless for the clone",
    ),
    (
        "schedulingGates",
        "the source's gates would keep the clone from being scheduled",
    ),
    (
        "resourceClaims",
        "the source's dynamic resource claims (devices) stay with it",
    ),
    (
        "ephemeralContainers",
        "debug containers of the source are not part of its spec",
    ),
];

/// Container fields copied as they are (command, args, probes, lifecycle, restartPolicy and
/// the host ports are what a clone leaves out).
const KEPT_CONTAINER: &[&str] = &[
    "name",
    "env",
    "envFrom",
    "resources",
    "resizePolicy",
    "securityContext",
    "workingDir",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
];

/// The clone pod's spec and what the plan needs to know about it.
pub(super) struct Built {
    pub spec: Value,
    /// PersistentVolumeClaims the source mounts (emptyDir in the clone).
    pub claims: Vec<String>,
    /// ConfigMaps to copy into the forensic namespace.
    pub copy_config_maps: Vec<String>,
    /// The source's confinement annotations.
    pub kept_annotations: Map<String, Value>,
}

pub(super) fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

pub(super) fn items<'a>(v: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// `docker-pullable://repo@sha256:...` / `repo@sha256:...` → `repo@sha256:...`; a bare
/// `sha256:...` (some runtimes report only the image's id) cannot be pulled, so `None`.
pub(super) fn pinned_image(image_id: &str) -> Option<String> {
    let id = image_id
        .split_once("://")
        .map_or(image_id, |(_, rest)| rest);
    let (repo, digest) = id.split_once("@sha256:")?;
    let hex_ok = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    (!repo.is_empty() && hex_ok).then(|| format!("{repo}@sha256:{digest}"))
}

/// The containers the mesh injected: the well-known names, and those the Istio injector
/// lists in `sidecar.istio.io/status`.
fn injected(pod: &Value) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = MESH_CONTAINERS.iter().map(|s| s.to_string()).collect();
    if let Some(status) = pod
        .pointer("/metadata/annotations/sidecar.istio.io~1status")
        .and_then(Value::as_str)
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
    {
        for key in ["containers", "initContainers"] {
            names.extend(
                items(&status, &format!("/{key}"))
                    .filter_map(Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    names
}

impl Built {
    pub(super) fn from(
        pod: &Value,
        source: &CloneSource,
        options: &CloneOptions,
        notes: &mut Vec<String>,
    ) -> Result<Built, SpecError> {
        let spec = pod.get("spec").ok_or(SpecError::Missing("spec"))?;
        let elsewhere = options.forensic_namespace.is_some();
        let statuses: Vec<&Value> = items(pod, "/status/containerStatuses").collect();
        if !items(spec, "/containers").any(|c| text(c, "name") == Some(&source.container))
            && !items(spec, "/initContainers").any(|c| text(c, "name") == Some(&source.container))
        {
            return Err(SpecError::NoSuchContainer(source.container.clone()));
        }

        if spec.pointer("/os/name").and_then(Value::as_str) == Some("windows") {
            return Err(SpecError::Windows("spec.os.name"));
        }
        if spec
            .pointer("/nodeSelector/kubernetes.io~1os")
            .and_then(Value::as_str)
            == Some("windows")
        {
            return Err(SpecError::Windows("nodeSelector kubernetes.io/os"));
        }

        let mut out = Map::new();
        for key in KEPT_SPEC {
            if let Some(v) = spec.get(*key) {
                out.insert((*key).to_string(), v.clone());
            }
        }
        for (key, why) in REMOVED_SPEC {
            let set = match spec.get(*key) {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(Value::Array(a)) => !a.is_empty(),
                Some(_) => true,
            };
            if set {
                notes.push(format!("{key} removed: {why}"));
            }
        }
        placement::place(spec, options, &mut out, notes);
        out.insert("restartPolicy".into(), "Never".into());
        out.insert("automountServiceAccountToken".into(), false.into());
        // The namespace's default account, never the source's: webhooks keyed on an account
        // (cloud workload identity) would inject a projected token into the clone.
        if let Some(sa) = text(spec, "serviceAccountName").or_else(|| text(spec, "serviceAccount"))
            && sa != "default"
        {
            notes.push(format!(
                "serviceAccountName {sa} dropped: the clone runs as the namespace's default \
                 account with no token (an identity webhook keyed on {sa} would inject one)"
            ));
        }
        if elsewhere && out.remove("imagePullSecrets").is_some() {
            notes.push(
                "imagePullSecrets dropped: Secrets are not copied into the forensic namespace \
                 (the node must be able to pull the pinned images)"
                    .into(),
            );
        }

        let volumes::Planned {
            mut volumes,
            claims,
            mut copy_config_maps,
            dropped,
        } = volumes::plan(spec, elsewhere, notes);
        volumes.push(toolkit::volume());
        out.insert("volumes".into(), volumes.into());

        // Containers: the crashed one is never dropped, the mesh's always.
        let mesh = injected(pod);
        let mut containers = Vec::new();
        for c in items(spec, "/containers") {
            let name = text(c, "name").unwrap_or_default();
            if mesh.contains(name) && name != source.container {
                notes.push(format!(
                    "container {name} removed: injected by the service mesh (injection is off)"
                ));
                continue;
            }
            containers.push(container(
                c,
                &statuses,
                elsewhere,
                &dropped,
                &mut copy_config_maps,
                notes,
            ));
        }
        // The crashed container may be an init container: then it runs (sleeping) as a main
        // container of the clone, where a shell can reach it.
        for c in items(spec, "/initContainers") {
            let name = text(c, "name").unwrap_or_default();
            if name == source.container {
                let statuses: Vec<&Value> = items(pod, "/status/initContainerStatuses").collect();
                containers.push(container(
                    c,
                    &statuses,
                    elsewhere,
                    &dropped,
                    &mut copy_config_maps,
                    notes,
                ));
                notes.push(format!(
                    "init container {name} (the crashed one) runs as a main container, sleeping"
                ));
            } else if mesh.contains(name) {
                notes.push(format!(
                    "init container {name} removed: injected by the service mesh (injection is off)"
                ));
            } else {
                notes.push(format!(
                    "init container {name} removed: the clone must not run the source's \
                     start-up steps (migrations, registrations)"
                ));
            }
        }
        out.insert(
            "initContainers".into(),
            json!([toolkit::init_container(&options.toolkit_image)]),
        );
        // A per-container confinement annotation must name a container of the pod: the API
        // server refuses one for a container the clone left out.
        let kept_names: BTreeSet<String> = containers
            .iter()
            .filter_map(|c| text(c, "name").map(str::to_string))
            .collect();
        out.insert("containers".into(), containers.into());

        let kept_annotations = pod
            .pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .map(|a| {
                a.iter()
                    .filter(|(k, _)| {
                        KEPT_ANNOTATION_PREFIXES.iter().any(|p| {
                            k.strip_prefix(p).is_some_and(|c| {
                                c.is_empty() || c == "pod" || kept_names.contains(c)
                            })
                        })
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let owners = items(pod, "/metadata/ownerReferences").count();
        if owners > 0 {
            notes.push(format!(
                "{owners} ownerReference(s) removed: no controller adopts, scales or deletes the clone"
            ));
        }
        notes.push(
            "labels replaced by ktui.dev/forensic and ktui.dev/source-pod: no Service, workload or \
             policy selector of the source matches the clone"
                .into(),
        );
        Ok(Built {
            spec: Value::Object(out),
            claims,
            copy_config_maps: copy_config_maps.into_iter().collect(),
            kept_annotations,
        })
    }
}

fn container(
    c: &Value,
    statuses: &[&Value],
    elsewhere: bool,
    dropped_volumes: &BTreeSet<String>,
    copy: &mut BTreeSet<String>,
    notes: &mut Vec<String>,
) -> Value {
    let name = text(c, "name").unwrap_or_default();
    let mut out = Map::new();
    for key in KEPT_CONTAINER {
        if let Some(v) = c.get(*key) {
            out.insert((*key).to_string(), v.clone());
        }
    }
    // Raw block devices come from claims, which the clone does not mount (an emptyDir cannot
    // be a device); device claims stay with the source (`resourceClaims` is removed).
    if items(c, "/volumeDevices").next().is_some() {
        notes.push(format!(
            "container {name}: volumeDevices removed (their block claims are not mounted)"
        ));
    }
    if let Some(Value::Object(r)) = out.get_mut("resources")
        && r.remove("claims").is_some()
    {
        notes.push(format!("container {name}: resources.claims removed"));
    }
    let image = text(c, "image").unwrap_or_default();
    let image_id = statuses
        .iter()
        .find(|s| text(s, "name") == Some(name))
        .and_then(|s| text(s, "imageID"))
        .unwrap_or_default();
    let pinned = pinned_image(image_id);
    match &pinned {
        Some(p) if p != image => notes.push(format!(
            "container {name}: image {image} pinned to {p}, the digest it ran"
        )),
        Some(_) => {}
        None => notes.push(format!(
            "container {name}: image {image} not pinned (no digest in its status{})",
            if image_id.is_empty() {
                String::new()
            } else {
                format!(": {image_id}")
            }
        )),
    }
    out.insert(
        "image".into(),
        pinned.unwrap_or_else(|| image.to_string()).into(),
    );
    out.insert("command".into(), toolkit::sleep_command());
    if c.get("command").is_some() || c.get("args").is_some() {
        notes.push(format!(
            "container {name}: command and args replaced by the toolkit's sleep"
        ));
    }
    let removed: Vec<&str> = [
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "lifecycle",
    ]
    .into_iter()
    .filter(|k| c.get(*k).is_some())
    .collect();
    if !removed.is_empty() {
        notes.push(format!("container {name}: {} removed", removed.join(", ")));
    }
    // Ports without hostPort: a host port would bind the node's port (next to the source's).
    if let Some(ports) = c.get("ports").and_then(Value::as_array) {
        let mut host = false;
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if let Some(o) = p.as_object_mut() {
                    host |= o.remove("hostPort").is_some() | o.remove("hostIP").is_some();
                }
                p
            })
            .collect();
        if host {
            notes.push(format!("container {name}: hostPort removed"));
        }
        out.insert("ports".into(), ports.into());
    }
    if elsewhere {
        secrets_out_of_env(&mut out, name, copy, notes);
    }
    let mut mounts: Vec<Value> = items(c, "/volumeMounts")
        .filter(|m| !text(m, "name").is_some_and(|n| dropped_volumes.contains(n)))
        .cloned()
        .collect();
    mounts.push(toolkit::mount(true));
    out.insert("volumeMounts".into(), mounts.into());
    Value::Object(out)
}

/// In a forensic namespace: env entries and envFrom sources reading Secrets dropped (named);
/// the ConfigMaps they read listed for copying.
fn secrets_out_of_env(
    out: &mut Map<String, Value>,
    name: &str,
    copy: &mut BTreeSet<String>,
    notes: &mut Vec<String>,
) {
    if let Some(Value::Array(env)) = out.get_mut("env") {
        env.retain(|e| {
            if let Some(secret) = e
                .pointer("/valueFrom/secretKeyRef/name")
                .and_then(Value::as_str)
            {
                let var = text(e, "name").unwrap_or_default();
                notes.push(format!(
                    "container {name}: env {var} dropped (from Secret {secret})"
                ));
                return false;
            }
            if let Some(cm) = e
                .pointer("/valueFrom/configMapKeyRef/name")
                .and_then(Value::as_str)
            {
                copy.insert(cm.to_string());
            }
            true
        });
    }
    if let Some(Value::Array(from)) = out.get_mut("envFrom") {
        from.retain(|e| {
            if let Some(secret) = e.pointer("/secretRef/name").and_then(Value::as_str) {
                notes.push(format!("container {name}: envFrom Secret {secret} dropped"));
                return false;
            }
            if let Some(cm) = e.pointer("/configMapRef/name").and_then(Value::as_str) {
                copy.insert(cm.to_string());
            }
            true
        });
    }
}
