//! The clone pod's spec, from the source pod's: what is kept, what is removed and why.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::SpecError;
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

/// Pod spec fields copied as they are.
const KEPT_SPEC: &[&str] = &[
    "securityContext",
    "imagePullSecrets",
    "nodeSelector",
    "affinity",
    "tolerations",
    "dnsPolicy",
    "dnsConfig",
    "hostAliases",
    "enableServiceLinks",
    "shareProcessNamespace",
    "terminationGracePeriodSeconds",
    "priorityClassName",
    "runtimeClassName",
    "schedulerName",
    "os",
    "hostUsers",
    "topologySpreadConstraints",
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

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn items<'a>(v: &'a Value, pointer: &str) -> impl Iterator<Item = &'a Value> {
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

/// What each volume becomes in the clone.
enum VolumePlan {
    Keep(Value),
    /// Kept or replaced (a claim by an emptyDir), with a note saying which and why.
    Noted(Value, String),
    /// Dropped with its mounts, with why.
    Drop(String),
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
        // Not scheduled by name onto the source's node (unless asked), and no eviction
        // tolerations: admission adds its own; the source's may keep it on a dead node.
        if options.same_node {
            match spec.get("nodeName").and_then(Value::as_str) {
                Some(node) => {
                    out.insert("nodeName".into(), node.into());
                    notes.push(format!("pinned to the source's node {node} (--same-node)"));
                }
                None => notes.push(
                    "--same-node: the source pod has no node yet, so the clone goes wherever it is scheduled".into(),
                ),
            }
        }
        if let Some(tolerations) = spec.get("tolerations").and_then(Value::as_array) {
            let kept: Vec<Value> = tolerations
                .iter()
                .filter(|t| !is_eviction_toleration(t))
                .cloned()
                .collect();
            if kept.len() != tolerations.len() {
                notes.push(format!(
                    "{} eviction toleration(s) (not-ready / unreachable) removed: the clone \
                     gets the cluster's defaults",
                    tolerations.len() - kept.len()
                ));
            }
            out.insert("tolerations".into(), kept.into());
        }
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

        // Volumes.
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
pub(super) fn rename_config_maps(
    spec: &mut Value,
    renames: &std::collections::BTreeMap<String, String>,
) {
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

/// The tolerations the DefaultTolerationSeconds admission adds (and controllers copy): they
/// keep a pod on a not-ready or unreachable node for a while.
fn is_eviction_toleration(t: &Value) -> bool {
    matches!(
        text(t, "key"),
        Some("node.kubernetes.io/not-ready" | "node.kubernetes.io/unreachable")
    ) && text(t, "effect") == Some("NoExecute")
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
    VolumePlan::Keep(v.clone())
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
