//! The demo cluster's objects as the API would send them: its pods, their owners, nodes,
//! events, ConfigMaps and Secrets, built from the simulated pods (with `managedFields`, as a
//! real server sends, so collection has something to drop).

use base64::Engine as _;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::DemoPod;
use super::data::{ConfigObject, fnv};
use crate::cluster::{ContainerRole, ContainerState, EnvSource, EventRow, OwnerRef};

fn ts(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A stable uid for an object of the demo.
fn uid(kind: &str, namespace: &str, name: &str) -> String {
    let h = fnv(&format!("{kind}/{namespace}/{name}"));
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (h >> 8) & 0xfff,
        fnv(name) & 0xffff_ffff_ffff
    )
}

/// The demo's stable resourceVersion of an object (its summary carries the pod's).
pub(super) fn resource_version(kind: &str, name: &str) -> String {
    (fnv(&format!("{kind}/{name}")) % 9_000_000 + 1_000_000).to_string()
}

/// What a controller-managed object's `managedFields` look like.
fn managed_fields(manager: &str, api_version: &str, at: Timestamp) -> Value {
    json!([{
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": ts(at),
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:metadata": {"f:labels": {}}, "f:spec": {}}
    }])
}

fn api_version_of(kind: &str) -> &'static str {
    match kind {
        "ReplicaSet" | "Deployment" | "StatefulSet" | "DaemonSet" => "apps/v1",
        "Job" | "CronJob" => "batch/v1",
        _ => "v1",
    }
}

fn owner_reference(namespace: &str, owner: &OwnerRef) -> Value {
    json!([{
        "apiVersion": api_version_of(&owner.kind),
        "kind": owner.kind,
        "name": owner.name,
        "uid": uid(&owner.kind, namespace, &owner.name),
        "controller": true,
        "blockOwnerDeletion": true
    }])
}

fn state(s: &ContainerState, container_id: Option<&str>) -> Value {
    match s {
        ContainerState::Unknown => json!({}),
        ContainerState::Waiting { reason, message } => {
            json!({"waiting": {"reason": reason, "message": message}})
        }
        ContainerState::Running { started_at } => {
            json!({"running": {"startedAt": started_at.map(ts)}})
        }
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            message,
            started_at,
            finished_at,
        } => {
            let mut t = json!({
                "exitCode": exit_code,
                "reason": reason,
                "startedAt": started_at.map(ts),
                "finishedAt": finished_at.map(ts),
                "containerID": container_id,
            });
            if let Some(m) = message {
                t["message"] = json!(m);
            }
            if let Some(sig) = signal {
                t["signal"] = json!(sig);
            }
            json!({ "terminated": t })
        }
    }
}

/// `name → /path` mount lines of the simulated detail as volumeMounts.
fn mounts(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|m| m.split_once(" → "))
        .map(|(name, path)| {
            let mut m = json!({"name": name, "mountPath": path});
            if name == "kube-api-access" {
                m["readOnly"] = json!(true);
            }
            m
        })
        .collect()
}

/// A container's `env` and `envFrom`.
fn env(refs: &[crate::cluster::EnvVarRef]) -> (Vec<Value>, Vec<Value>) {
    let mut env = Vec::new();
    let mut env_from = Vec::new();
    for r in refs {
        match &r.source {
            EnvSource::Literal => env.push(json!({"name": r.name, "value": "info"})),
            EnvSource::SecretKey { name, key } => env.push(json!({
                "name": r.name,
                "valueFrom": {"secretKeyRef": {"name": name, "key": key}}
            })),
            EnvSource::ConfigMapKey { name, key } => env.push(json!({
                "name": r.name,
                "valueFrom": {"configMapKeyRef": {"name": name, "key": key}}
            })),
            EnvSource::Field(path) => env.push(json!({
                "name": r.name,
                "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}
            })),
            EnvSource::Resource(res) => env.push(json!({
                "name": r.name,
                "valueFrom": {"resourceFieldRef": {"resource": res}}
            })),
            EnvSource::ConfigMapAll { name } => {
                env_from.push(json!({"configMapRef": {"name": name}}));
            }
            EnvSource::SecretAll { name } => env_from.push(json!({"secretRef": {"name": name}})),
        }
    }
    (env, env_from)
}

/// `configMap X`, `secret X`, `projected`, `emptyDir`, `pvc X` → a volume.
fn volume(name: &str, source: &str) -> Value {
    let (kind, what) = source.split_once(' ').unwrap_or((source, ""));
    match kind {
        "configMap" => json!({"name": name, "configMap": {"name": what, "defaultMode": 420}}),
        "secret" => json!({"name": name, "secret": {"secretName": what, "defaultMode": 420}}),
        "pvc" => json!({"name": name, "persistentVolumeClaim": {"claimName": what}}),
        "projected" => json!({"name": name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
        ]}}),
        _ => json!({"name": name, "emptyDir": {}}),
    }
}

/// The pod as `GET /api/v1/namespaces/NS/pods/NAME` returns it.
pub fn pod(p: &DemoPod) -> Value {
    let d = &p.detail;
    let s = &d.summary;
    let (ns, name) = (&s.key.namespace, &s.key.name);
    let created = s.created.unwrap_or(Timestamp::UNIX_EPOCH);
    let mut containers = Vec::new();
    let mut init = Vec::new();
    let mut init_status = Vec::new();
    let mut main_status = Vec::new();
    for c in &d.containers {
        let (env, env_from) = env(&c.env);
        let mut spec = json!({
            "name": c.name,
            "image": c.image,
            "imagePullPolicy": "IfNotPresent",
            "env": env,
            "volumeMounts": mounts(&c.mounts),
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        });
        if !env_from.is_empty() {
            spec["envFrom"] = json!(env_from);
        }
        if c.role == ContainerRole::Sidecar {
            spec["restartPolicy"] = json!("Always");
        }
        if let Some(st) = s.container(&c.name) {
            let status = json!({
                "name": st.name,
                "image": st.image,
                "imageID": st.image_id,
                "containerID": st.container_id,
                "ready": st.ready,
                "started": st.started,
                "restartCount": st.restarts,
                "state": state(&st.state, st.container_id.as_deref()),
                "lastState": state(&st.last_state, st.container_id.as_deref()),
            });
            if c.role.is_init() {
                init_status.push(status);
            } else {
                main_status.push(status);
            }
        }
        if c.role.is_init() {
            init.push(spec);
        } else {
            containers.push(spec);
        }
    }
    let mut metadata = json!({
        "name": name,
        "namespace": ns,
        "uid": s.uid,
        "resourceVersion": resource_version("Pod", name),
        "creationTimestamp": ts(created),
        "labels": {"app.kubernetes.io/name": s.workload.name},
        "managedFields": managed_fields("kubelet", "v1", created),
    });
    if !s.annotations.is_empty() {
        metadata["annotations"] = s
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect::<serde_json::Map<String, Value>>()
            .into();
    }
    if let Some(owner) = &s.owner {
        metadata["ownerReferences"] = owner_reference(ns, owner);
        if owner.kind == "ReplicaSet" {
            let hash = owner.name.rsplit('-').next().unwrap_or_default();
            metadata["labels"]["pod-template-hash"] = json!(hash);
        }
    }
    let condition = |kind: &str, ok: bool| json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastTransitionTime": ts(created)});
    let mut spec = json!({
        "nodeName": s.node,
        "restartPolicy": s.restart_policy,
        "serviceAccountName": d.service_account,
        "containers": containers,
        "volumes": d.volumes.iter().map(|v| volume(&v.name, &v.source)).collect::<Vec<_>>(),
        "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler",
        "terminationGracePeriodSeconds": 30,
    });
    if !init.is_empty() {
        spec["initContainers"] = json!(init);
    }
    let mut status = json!({
        "phase": s.phase,
        "podIP": d.pod_ip,
        "startTime": ts(created),
        "qosClass": "BestEffort",
        "conditions": [
            condition("PodScheduled", true),
            condition("Initialized", s.conditions.initialized),
            condition("ContainersReady", s.conditions.ready),
            condition("Ready", s.conditions.ready),
        ],
        "containerStatuses": main_status,
    });
    if !init_status.is_empty() {
        status["initContainerStatuses"] = json!(init_status);
    }
    if let Some(r) = &s.reason {
        status["reason"] = json!(r);
    }
    if let Some(m) = &s.message {
        status["message"] = json!(m);
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec, "status": status})
}

/// An owner (ReplicaSet, Deployment, Job, CronJob) of one of `pods`, with its own controller
/// reference; `None` when no pod of `namespace` has it in its chain.
pub fn owner(pods: &[DemoPod], namespace: &str, kind: &str, name: &str) -> Option<Value> {
    let (pod, at) = pods.iter().find_map(|p| {
        (p.detail.summary.key.namespace == namespace)
            .then(|| {
                p.detail
                    .owner_chain
                    .iter()
                    .position(|o| o.kind == kind && o.name == name)
                    .map(|i| (p, i))
            })
            .flatten()
    })?;
    let created = pod.detail.summary.created.unwrap_or(Timestamp::UNIX_EPOCH)
        - jiff::SignedDuration::from_secs(86_400);
    let app = &pod.detail.summary.workload.name;
    let api_version = api_version_of(kind);
    let manager = "kube-controller-manager";
    let mut metadata = json!({
        "name": name,
        "namespace": namespace,
        "uid": uid(kind, namespace, name),
        "resourceVersion": resource_version(kind, name),
        "generation": 3,
        "creationTimestamp": ts(created),
        "labels": {"app.kubernetes.io/name": app},
        "managedFields": managed_fields(manager, api_version, created),
    });
    if let Some(parent) = pod.detail.owner_chain.get(at + 1) {
        metadata["ownerReferences"] = owner_reference(namespace, parent);
    }
    let selector = json!({"matchLabels": {"app.kubernetes.io/name": app}});
    let (spec, status) = match kind {
        "CronJob" => (
            json!({"schedule": "*/15 * * * *", "concurrencyPolicy": "Forbid", "jobTemplate": {"spec": {"backoffLimit": 0}}}),
            json!({"lastScheduleTime": ts(created)}),
        ),
        "Job" => (
            json!({"backoffLimit": 0, "completions": 1, "parallelism": 1}),
            json!({"failed": 1, "startTime": ts(created)}),
        ),
        _ => (
            json!({"replicas": 3, "selector": selector}),
            json!({"replicas": 3, "readyReplicas": 0, "observedGeneration": 3}),
        ),
    };
    Some(json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }))
}

/// A node some demo pod runs on.
pub fn node(name: &str, epoch: Timestamp) -> Value {
    let created = epoch - jiff::SignedDuration::from_secs(30 * 86_400);
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": uid("Node", "", name),
            "resourceVersion": resource_version("Node", name),
            "creationTimestamp": ts(created),
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/os": "linux",
                "kubernetes.io/hostname": name,
                "node.kubernetes.io/instance-type": "demo.large",
            },
            "managedFields": managed_fields("kubelet", "v1", created),
        },
        "spec": {"podCIDR": format!("10.244.{}.0/24", fnv(name) % 200)},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory"},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure"},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "lastHeartbeatTime": ts(epoch)},
            ],
            "addresses": [
                {"type": "InternalIP", "address": format!("192.168.50.{}", fnv(name) % 200 + 10)},
                {"type": "Hostname", "address": name},
            ],
            "capacity": {"cpu": "8", "memory": "32863676Ki", "pods": "110"},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 13 (trixie)",
                "kernelVersion": "6.12.48-demo",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kubeletVersion": "v1.33.0-demo",
            },
        },
    })
}

/// A ConfigMap or Secret of the demo (Secret values base64, as the API sends them).
pub fn config_object(o: &ConfigObject, namespace: &str, epoch: Timestamp) -> Value {
    let created = epoch - jiff::SignedDuration::from_secs(7 * 86_400);
    let b64 = base64::engine::general_purpose::STANDARD;
    let data: serde_json::Map<String, Value> = o
        .data
        .iter()
        .map(|(k, v)| {
            let v = if o.kind == "Secret" {
                b64.encode(v)
            } else {
                (*v).to_string()
            };
            (k.to_string(), Value::String(v))
        })
        .collect();
    let mut obj = json!({
        "apiVersion": "v1",
        "kind": o.kind,
        "metadata": {
            "name": o.name,
            "namespace": namespace,
            "uid": uid(o.kind, namespace, o.name),
            "resourceVersion": resource_version(o.kind, o.name),
            "creationTimestamp": ts(created),
            "managedFields": managed_fields("kubectl-client-side-apply", "v1", created),
        },
        "data": data,
    });
    if o.kind == "Secret" {
        obj["type"] = json!(o.secret_type);
    }
    obj
}

/// The pod's events as core/v1 Event objects.
pub fn events(p: &DemoPod) -> Vec<Value> {
    let s = &p.detail.summary;
    p.events
        .iter()
        .enumerate()
        .map(|(i, e): (usize, &EventRow)| {
            let name = format!("{}.{:016x}", s.key.name, fnv(&format!("{}{i}", e.reason)));
            json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {
                    "name": name,
                    "namespace": s.key.namespace,
                    "uid": uid("Event", &s.key.namespace, &name),
                    "resourceVersion": resource_version("Event", &name),
                    "creationTimestamp": e.first_seen.map(ts),
                },
                "involvedObject": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": s.key.name,
                    "namespace": s.key.namespace,
                    "uid": s.uid,
                    "fieldPath": e.field_path,
                },
                "reason": e.reason,
                "message": e.message,
                "type": e.type_,
                "count": e.count,
                "firstTimestamp": e.first_seen.map(ts),
                "lastTimestamp": e.last_seen.map(ts),
                "source": {"component": e.source},
                "reportingComponent": e.source,
            })
        })
        .collect()
}
