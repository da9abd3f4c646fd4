//! k8s-openapi objects → ktui domain types. Compact summaries are made here so the full objects
//! can be dropped right after each watch event.

use k8s_openapi::api::core::v1::{
    ContainerState as K8sState, ContainerStatus, EnvFromSource, EnvVar, Event, Pod, PodCondition,
    Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::cluster::{
    ContainerRole, ContainerSpecDetail, ContainerState, ContainerSummary, EnvSource, EnvVarRef,
    EventRow, KTUI_ANNOTATION_PREFIX, OwnerRef, PodConditions, PodDetail, PodKey, PodSummary,
    VolumeSummary,
};
use crate::triage::owners::{OwnerIndex, owner_chain, resolve_workload};

/// The controller owner reference of an object (the first owner when none is marked controller).
pub fn controller_owner(meta: &ObjectMeta) -> Option<OwnerRef> {
    let refs = meta.owner_references.as_ref()?;
    refs.iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| refs.first())
        .map(|r| OwnerRef {
            kind: r.kind.clone(),
            name: r.name.clone(),
        })
}

fn state(s: Option<&K8sState>) -> ContainerState {
    let Some(s) = s else {
        return ContainerState::Unknown;
    };
    if let Some(t) = &s.terminated {
        return ContainerState::Terminated {
            exit_code: t.exit_code,
            signal: t.signal,
            reason: t.reason.clone(),
            message: t.message.clone(),
            started_at: t.started_at.as_ref().map(|t| t.0),
            finished_at: t.finished_at.as_ref().map(|t| t.0),
        };
    }
    if let Some(w) = &s.waiting {
        return ContainerState::Waiting {
            reason: w.reason.clone(),
            message: w.message.clone(),
        };
    }
    if let Some(r) = &s.running {
        return ContainerState::Running {
            started_at: r.started_at.as_ref().map(|t| t.0),
        };
    }
    ContainerState::Unknown
}

fn container_summary(
    name: &str,
    role: ContainerRole,
    image: &str,
    status: Option<(usize, &ContainerStatus)>,
) -> ContainerSummary {
    let status_index = status.map(|(i, _)| i);
    let status = status.map(|(_, s)| s);
    ContainerSummary {
        name: name.to_string(),
        role,
        image: status
            .map(|s| s.image.clone())
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| image.to_string()),
        image_id: status.map(|s| s.image_id.clone()).filter(|i| !i.is_empty()),
        container_id: status.and_then(|s| s.container_id.clone()),
        ready: status.is_some_and(|s| s.ready),
        started: status.and_then(|s| s.started).unwrap_or(false),
        restarts: status.map_or(0, |s| u32::try_from(s.restart_count).unwrap_or(0)),
        state: state(status.and_then(|s| s.state.as_ref())),
        last_state: state(status.and_then(|s| s.last_state.as_ref())),
        status_index,
    }
}

/// The conditions kubectl's STATUS reads.
fn conditions(list: Option<&Vec<PodCondition>>) -> PodConditions {
    let is = |c: &PodCondition, type_: &str| c.type_ == type_ && c.status == "True";
    let list = list.map_or(&[][..], Vec::as_slice);
    PodConditions {
        initialized: list.iter().any(|c| is(c, "Initialized")),
        ready: list.iter().any(|c| is(c, "Ready")),
        scheduling_gated: list
            .iter()
            .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated")),
    }
}

/// The compact summary of a pod; the workload resolves through `index` (and conventions).
pub fn pod_summary(pod: &Pod, index: &OwnerIndex) -> PodSummary {
    let meta = &pod.metadata;
    let namespace = meta.namespace.clone().unwrap_or_default();
    let name = meta.name.clone().unwrap_or_default();
    let owner = controller_owner(meta);
    let workload = resolve_workload(&namespace, &name, owner.as_ref(), index);
    let status = pod.status.as_ref();
    let find = |list: Option<&'_ Vec<ContainerStatus>>, n: &str| {
        list.and_then(|l| l.iter().enumerate().find(|(_, s)| s.name == n))
            .map(|(i, s)| (i, s.clone()))
    };
    let mut containers = Vec::new();
    if let Some(spec) = &pod.spec {
        for c in spec.init_containers.iter().flatten() {
            let role = if c.restart_policy.as_deref() == Some("Always") {
                ContainerRole::Sidecar
            } else {
                ContainerRole::Init
            };
            let st = find(
                status.and_then(|s| s.init_container_statuses.as_ref()),
                &c.name,
            );
            containers.push(container_summary(
                &c.name,
                role,
                c.image.as_deref().unwrap_or(""),
                st.as_ref().map(|(i, s)| (*i, s)),
            ));
        }
        for c in &spec.containers {
            let st = find(status.and_then(|s| s.container_statuses.as_ref()), &c.name);
            containers.push(container_summary(
                &c.name,
                ContainerRole::Main,
                c.image.as_deref().unwrap_or(""),
                st.as_ref().map(|(i, s)| (*i, s)),
            ));
        }
        for c in spec.ephemeral_containers.iter().flatten() {
            let st = find(
                status.and_then(|s| s.ephemeral_container_statuses.as_ref()),
                &c.name,
            );
            containers.push(container_summary(
                &c.name,
                ContainerRole::Ephemeral,
                c.image.as_deref().unwrap_or(""),
                st.as_ref().map(|(i, s)| (*i, s)),
            ));
        }
    }
    PodSummary {
        key: PodKey::new(namespace, name),
        uid: meta.uid.clone().unwrap_or_default(),
        resource_version: meta.resource_version.clone().unwrap_or_default(),
        phase: status
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Unknown".to_string()),
        reason: status.and_then(|s| s.reason.clone()),
        message: status.and_then(|s| s.message.clone()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        created: meta.creation_timestamp.as_ref().map(|t| t.0),
        failed_at: status
            .filter(|s| s.phase.as_deref() == Some("Failed"))
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| {
                c.iter()
                    .filter_map(|c| c.last_transition_time.as_ref())
                    .max()
            })
            .map(|t| t.0),
        restart_policy: pod.spec.as_ref().and_then(|s| s.restart_policy.clone()),
        owner,
        workload,
        containers,
        deletion_timestamp: meta.deletion_timestamp.as_ref().map(|t| t.0),
        conditions: conditions(status.and_then(|s| s.conditions.as_ref())),
        annotations: ktui_annotations(meta),
    }
}

/// The `ktui.dev/` annotations of an object, sorted by key (the rest are not kept).
fn ktui_annotations(meta: &ObjectMeta) -> Vec<(String, String)> {
    meta.annotations
        .iter()
        .flatten()
        .filter(|(k, _)| k.starts_with(KTUI_ANNOTATION_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn env_ref(e: &EnvVar) -> EnvVarRef {
    let source = match &e.value_from {
        None => EnvSource::Literal,
        Some(from) => {
            if let Some(k) = &from.config_map_key_ref {
                EnvSource::ConfigMapKey {
                    name: k.name.clone(),
                    key: k.key.clone(),
                }
            } else if let Some(k) = &from.secret_key_ref {
                EnvSource::SecretKey {
                    name: k.name.clone(),
                    key: k.key.clone(),
                }
            } else if let Some(f) = &from.field_ref {
                EnvSource::Field(f.field_path.clone())
            } else if let Some(r) = &from.resource_field_ref {
                EnvSource::Resource(r.resource.clone())
            } else {
                EnvSource::Literal
            }
        }
    };
    EnvVarRef {
        name: e.name.clone(),
        source,
    }
}

fn env_from_ref(e: &EnvFromSource) -> Option<EnvVarRef> {
    let prefix = e.prefix.clone().unwrap_or_default();
    if let Some(cm) = &e.config_map_ref {
        return Some(EnvVarRef {
            name: prefix,
            source: EnvSource::ConfigMapAll {
                name: cm.name.clone(),
            },
        });
    }
    e.secret_ref.as_ref().map(|s| EnvVarRef {
        name: prefix,
        source: EnvSource::SecretAll {
            name: s.name.clone(),
        },
    })
}

fn volume_summary(v: &Volume) -> VolumeSummary {
    let source = if let Some(cm) = &v.config_map {
        format!("configMap {}", cm.name)
    } else if let Some(s) = &v.secret {
        format!("secret {}", s.secret_name.as_deref().unwrap_or("?"))
    } else if v.empty_dir.is_some() {
        "emptyDir".to_string()
    } else if let Some(p) = &v.persistent_volume_claim {
        format!("pvc {}", p.claim_name)
    } else if let Some(h) = &v.host_path {
        format!("hostPath {}", h.path)
    } else if v.projected.is_some() {
        "projected".to_string()
    } else if v.downward_api.is_some() {
        "downwardAPI".to_string()
    } else {
        "other".to_string()
    };
    VolumeSummary {
        name: v.name.clone(),
        source,
    }
}

/// The detail pane's view of a pod.
pub fn pod_detail(pod: &Pod, index: &OwnerIndex) -> PodDetail {
    let summary = pod_summary(pod, index);
    let chain = owner_chain(&summary.key.namespace, summary.owner.as_ref(), index);
    let mut containers = Vec::new();
    if let Some(spec) = &pod.spec {
        let init = spec.init_containers.iter().flatten().map(|c| {
            let role = if c.restart_policy.as_deref() == Some("Always") {
                ContainerRole::Sidecar
            } else {
                ContainerRole::Init
            };
            (c, role)
        });
        let main = spec.containers.iter().map(|c| (c, ContainerRole::Main));
        for (c, role) in init.chain(main) {
            let mut env: Vec<EnvVarRef> = c.env.iter().flatten().map(env_ref).collect();
            env.extend(c.env_from.iter().flatten().filter_map(env_from_ref));
            containers.push(ContainerSpecDetail {
                name: c.name.clone(),
                role,
                image: c.image.clone().unwrap_or_default(),
                command: c
                    .command
                    .iter()
                    .flatten()
                    .chain(c.args.iter().flatten())
                    .cloned()
                    .collect(),
                env,
                mounts: c
                    .volume_mounts
                    .iter()
                    .flatten()
                    .map(|m| format!("{} → {}", m.name, m.mount_path))
                    .collect(),
            });
        }
    }
    PodDetail {
        containers,
        volumes: pod
            .spec
            .as_ref()
            .and_then(|s| s.volumes.as_ref())
            .map(|v| v.iter().map(volume_summary).collect())
            .unwrap_or_default(),
        owner_chain: chain,
        service_account: pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone()),
        pod_ip: pod.status.as_ref().and_then(|s| s.pod_ip.clone()),
        summary,
    }
}

/// A core/v1 Event as a row.
pub fn event_row(e: &Event) -> EventRow {
    let last = e
        .last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0));
    EventRow {
        type_: e.type_.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        count: e.count.and_then(|c| u32::try_from(c).ok()).unwrap_or(1),
        first_seen: e.first_timestamp.as_ref().map(|t| t.0).or(last),
        last_seen: last,
        field_path: e.involved_object.field_path.clone(),
        source: e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .or_else(|| e.reporting_component.clone()),
    }
}
