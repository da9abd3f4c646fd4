//! A deterministic, realistic-looking cluster for benchmarks and tests.

use serde_json::{Value, json};

use crate::store::Store;
use crate::util::{hash64, hex64, name_suffix, rfc3339, uuid_from};

/// Pods per Deployment (the last one in a namespace may have fewer).
pub const PODS_PER_DEPLOYMENT: usize = 5;
/// Pods per node (`node-000`, ...).
const PODS_PER_NODE: usize = 100;
/// Generated timestamps are offsets from 2025-06-01T00:00:00Z.
const BASE_TIME: i64 = 1_748_736_000;

const APPS: &[&str] = &[
    "api",
    "web",
    "worker",
    "cache",
    "auth",
    "billing",
    "search",
    "checkout",
    "payments",
    "notifier",
    "ingest",
    "reporter",
    "gateway",
    "scheduler",
    "ledger",
    "catalog",
];
const TEAMS: &[&str] = &["platform", "storefront", "data", "identity", "finance"];
const TIERS: &[&str] = &["frontend", "backend", "batch"];

fn pick<'a>(list: &[&'a str], i: usize) -> &'a str {
    list[i % list.len()]
}

fn seed(parts: &[&str]) -> u64 {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    hash64(&bytes)
}

fn ts(offset_secs: usize) -> String {
    rfc3339(BASE_TIME + i64::try_from(offset_secs).unwrap_or(0))
}

/// One Deployment's shared facts.
struct Workload {
    namespace: String,
    deployment: String,
    deployment_uid: String,
    replicaset: String,
    replicaset_uid: String,
    hash: String,
    team: &'static str,
    tier: &'static str,
    version: String,
    image: String,
    sidecar: bool,
    created: usize,
}

impl Workload {
    fn new(namespace: &str, index: usize) -> Workload {
        let deployment = format!("{}-{}", pick(APPS, index), index / APPS.len());
        let hash = name_suffix(seed(&[namespace, &deployment, "rs"]), 10);
        let replicaset = format!("{deployment}-{hash}");
        let team = pick(TEAMS, index / 3);
        let version = format!("v1.{}.{}", index % 17, index % 5);
        Workload {
            deployment_uid: uuid_from(seed(&[namespace, &deployment, "deploy"])),
            replicaset_uid: uuid_from(seed(&[namespace, &replicaset])),
            image: format!(
                "registry.example.com/{team}/{}:{version}",
                pick(APPS, index)
            ),
            tier: pick(TIERS, index),
            team,
            version,
            sidecar: index.is_multiple_of(3),
            created: index * 37 % 86_400,
            namespace: namespace.to_string(),
            deployment,
            replicaset,
            hash,
        }
    }

    fn labels(&self, with_hash: bool) -> Value {
        let mut labels = json!({
            "app.kubernetes.io/name": self.deployment,
            "app.kubernetes.io/version": self.version,
            "team": self.team,
            "tier": self.tier,
        });
        if with_hash {
            labels["pod-template-hash"] = Value::from(self.hash.clone());
        }
        labels
    }

    fn env(&self) -> Value {
        json!([
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
        ])
    }

    fn containers(&self, token_volume: Option<&str>) -> Value {
        let probe = json!({
            "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
            "periodSeconds": 10, "timeoutSeconds": 1, "successThreshold": 1, "failureThreshold": 3,
        });
        let mut mounts = vec![json!({"name": "config", "mountPath": "/etc/app"})];
        if let Some(vol) = token_volume {
            mounts.push(json!({"name": vol, "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}));
        }
        let mut containers = vec![json!({
            "name": "app",
            "image": self.image,
            "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": self.env(),
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
            "livenessProbe": probe,
            "volumeMounts": mounts,
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
        })];
        if self.sidecar {
            containers.push(json!({
                "name": "log-shipper",
                "image": "registry.example.com/platform/log-shipper:2.4.1",
                "imagePullPolicy": "IfNotPresent",
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
            }));
        }
        Value::Array(containers)
    }

    fn deployment(&self, replicas: usize) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": self.deployment,
                "namespace": self.namespace,
                "uid": self.deployment_uid,
                "generation": 3,
                "creationTimestamp": ts(self.created),
                "labels": self.labels(false),
                "annotations": {"deployment.kubernetes.io/revision": "3"},
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": self.deployment}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600,
                "template": {
                    "metadata": {"labels": self.labels(false)},
                    "spec": {"containers": self.containers(None), "restartPolicy": "Always"},
                },
            },
            "status": {
                "observedGeneration": 3,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                     "message": "Deployment has minimum availability.",
                     "lastUpdateTime": ts(self.created + 60), "lastTransitionTime": ts(self.created + 60)},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                     "message": format!("ReplicaSet \"{}\" has successfully progressed.", self.replicaset),
                     "lastUpdateTime": ts(self.created + 90), "lastTransitionTime": ts(self.created)},
                ],
            },
        })
    }

    fn replicaset(&self, replicas: usize) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": self.replicaset,
                "namespace": self.namespace,
                "uid": self.replicaset_uid,
                "generation": 1,
                "creationTimestamp": ts(self.created + 30),
                "labels": self.labels(true),
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": replicas.to_string(),
                    "deployment.kubernetes.io/max-replicas": (replicas + replicas.div_ceil(4)).to_string(),
                    "deployment.kubernetes.io/revision": "3",
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": self.deployment,
                                     "uid": self.deployment_uid, "controller": true, "blockOwnerDeletion": true}],
            },
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": self.deployment, "pod-template-hash": self.hash}},
                "template": {
                    "metadata": {"labels": self.labels(true)},
                    "spec": {"containers": self.containers(None), "restartPolicy": "Always"},
                },
            },
            "status": {
                "replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas, "observedGeneration": 1,
            },
        })
    }
}

/// How a generated pod's main container is doing.
#[derive(Clone, Copy)]
enum Health {
    Running,
    Crashed { oom: bool, restarts: usize },
}

struct PodFacts<'a> {
    w: &'a Workload,
    name: String,
    uid: String,
    node: String,
    ip: String,
    host_ip: String,
    started: usize,
    health: Health,
}

impl PodFacts<'_> {
    fn container_status(&self, name: &str, image: &str, main: bool) -> Value {
        let id_seed = seed(&[&self.uid, name]);
        let image_id = format!(
            "{}@sha256:{}",
            image.split(':').next().unwrap_or(image),
            hex64(id_seed)
        );
        let started_at = ts(self.started + 5);
        match self.health {
            Health::Crashed { oom, restarts } if main => {
                let (code, reason) = if oom {
                    (137, "OOMKilled")
                } else {
                    (1, "Error")
                };
                json!({
                    "name": name, "image": image, "imageID": image_id,
                    "containerID": format!("containerd://{}", hex64(id_seed ^ 1)),
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                        "message": format!("back-off 5m0s restarting failed container={name} pod={}_{}({})",
                                           self.name, self.w.namespace, self.uid)}},
                    "lastState": {"terminated": {"exitCode": code, "reason": reason,
                        "startedAt": ts(self.started + 3000), "finishedAt": ts(self.started + 3012),
                        "containerID": format!("containerd://{}", hex64(id_seed ^ 2))}},
                    "ready": false, "started": false, "restartCount": restarts,
                })
            }
            _ => json!({
                "name": name, "image": image, "imageID": image_id,
                "containerID": format!("containerd://{}", hex64(id_seed ^ 1)),
                "state": {"running": {"startedAt": started_at}},
                "lastState": {}, "ready": true, "started": true, "restartCount": 0,
            }),
        }
    }

    fn to_json(&self) -> Value {
        let w = self.w;
        let crashed = matches!(self.health, Health::Crashed { .. });
        let token_volume = format!(
            "kube-api-access-{}",
            name_suffix(seed(&[&self.uid, "vol"]), 5)
        );
        let mut statuses = vec![self.container_status("app", &w.image, true)];
        if w.sidecar {
            statuses.push(self.container_status(
                "log-shipper",
                "registry.example.com/platform/log-shipper:2.4.1",
                false,
            ));
        }
        let ready = if crashed { "False" } else { "True" };
        let cond = |kind: &str, status: &str, offset: usize| {
            let mut c = json!({"type": kind, "status": status, "lastTransitionTime": ts(self.started + offset)});
            if status == "False" {
                c["reason"] = Value::from("ContainersNotReady");
                c["message"] = Value::from("containers with unready status: [app]");
            }
            c
        };
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": self.name,
                "generateName": format!("{}-", w.replicaset),
                "namespace": w.namespace,
                "uid": self.uid,
                "creationTimestamp": ts(self.started),
                "labels": w.labels(true),
                "annotations": {
                    "prometheus.io/scrape": "true",
                    "prometheus.io/port": "9090",
                },
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": w.replicaset,
                                     "uid": w.replicaset_uid, "controller": true, "blockOwnerDeletion": true}],
                "managedFields": [
                    {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                     "time": ts(self.started), "fieldsType": "FieldsV1",
                     "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {}, "f:ownerReferences": {}},
                                  "f:spec": {"f:containers": {}, "f:volumes": {}}}},
                    {"manager": "kubelet", "operation": "Update", "apiVersion": "v1", "time": ts(self.started + 10),
                     "fieldsType": "FieldsV1", "subresource": "status",
                     "fieldsV1": {"f:status": {"f:conditions": {}, "f:containerStatuses": {}, "f:phase": {}}}},
                ],
            },
            "spec": {
                "containers": w.containers(Some(&token_volume)),
                "volumes": [
                    {"name": "config", "configMap": {"name": format!("{}-config", w.deployment), "defaultMode": 420}},
                    {"name": token_volume, "projected": {"defaultMode": 420, "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    ]}},
                ],
                "restartPolicy": "Always",
                "terminationGracePeriodSeconds": 30,
                "dnsPolicy": "ClusterFirst",
                "serviceAccountName": "default",
                "nodeName": self.node,
                "schedulerName": "default-scheduler",
                "tolerations": [
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                ],
                "priority": 0,
            },
            "status": {
                "phase": "Running",
                "conditions": [
                    cond("Initialized", "True", 1),
                    cond("Ready", ready, 6),
                    cond("ContainersReady", ready, 6),
                    cond("PodScheduled", "True", 0),
                ],
                "hostIP": self.host_ip,
                "podIP": self.ip,
                "podIPs": [{"ip": self.ip}],
                "startTime": ts(self.started + 1),
                "containerStatuses": statuses,
                "qosClass": "Burstable",
            },
        })
    }

    fn backoff_event(&self, restarts: usize) -> Value {
        let last = ts(self.started + 3020);
        json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": format!("{}.{:016x}", self.name, seed(&[&self.uid, "backoff"])),
                "namespace": self.w.namespace,
                "creationTimestamp": ts(self.started + 120),
            },
            "involvedObject": {"kind": "Pod", "namespace": self.w.namespace, "name": self.name, "uid": self.uid,
                               "apiVersion": "v1", "fieldPath": "spec.containers{app}"},
            "reason": "BackOff",
            "message": "Back-off restarting failed container app in pod ".to_string()
                + &format!("{}_{}({})", self.name, self.w.namespace, self.uid),
            "source": {"component": "kubelet", "host": self.node},
            "firstTimestamp": ts(self.started + 120),
            "lastTimestamp": last,
            "count": restarts * 4,
            "type": "Warning",
            "eventTime": null,
            "reportingComponent": "kubelet",
            "reportingInstance": self.node,
        })
    }
}

/// Fills `store` with `namespaces` namespaces (`ns-0000`, ...) and `pods`
/// Pods spread round-robin over them, grouped into Deployments of
/// [`PODS_PER_DEPLOYMENT`] pods, each with its ReplicaSet (all inserted, with
/// consistent owner references, labels and UIDs). `crashed` pods, spread
/// evenly, are in CrashLoopBackOff (alternately exit code 1 `Error` and 137
/// `OOMKilled` as `lastState.terminated`, `restartCount` > 0, not ready); they
/// also get a Warning `BackOff` Event and current/previous logs for
/// container `app`. The rest are Running and ready. Every third Deployment has
/// a `log-shipper` sidecar. Output is deterministic for given arguments
/// (except `resourceVersion`s, which depend on what the store held before).
/// Pods are about 3.5 KB of JSON each.
pub fn populate_cluster(store: &Store, pods: usize, namespaces: usize, crashed: usize) {
    let namespaces = namespaces.max(1);
    let crashed = crashed.min(pods);
    let names: Vec<String> = (0..namespaces).map(|i| format!("ns-{i:04}")).collect();
    for ns in &names {
        store.add_namespace(ns);
    }
    for (k, ns) in names.iter().enumerate() {
        // Pods i with i % namespaces == k live here; j is the local index.
        let in_ns = pods / namespaces + usize::from(k < pods % namespaces);
        let mut j = 0;
        while j < in_ns {
            let workload = Workload::new(ns, j / PODS_PER_DEPLOYMENT);
            let replicas = PODS_PER_DEPLOYMENT.min(in_ns - j);
            store.apply(workload.deployment(replicas));
            store.apply(workload.replicaset(replicas));
            for r in 0..replicas {
                let local = j + r;
                let i = local * namespaces + k;
                add_pod(store, &workload, i, r, pods, crashed);
            }
            j += replicas;
        }
    }
}

fn add_pod(store: &Store, w: &Workload, i: usize, replica: usize, pods: usize, crashed: usize) {
    // Exactly `crashed` of the indices 0..pods step this counter.
    let is_crashed = (i + 1) * crashed / pods > i * crashed / pods;
    let health = if is_crashed {
        Health::Crashed {
            oom: (i * crashed / pods) % 2 == 1,
            restarts: 1 + i % 40,
        }
    } else {
        Health::Running
    };
    let name = format!(
        "{}-{}",
        w.replicaset,
        name_suffix(
            seed(&[&w.namespace, &w.replicaset, &replica.to_string()]),
            5
        )
    );
    let facts = PodFacts {
        uid: uuid_from(seed(&[&w.namespace, &name])),
        node: format!("node-{:03}", i / PODS_PER_NODE),
        ip: format!("10.{}.{}.{}", 64 + (i >> 16) % 64, (i >> 8) & 255, i & 255),
        host_ip: format!(
            "192.168.{}.{}",
            (i / PODS_PER_NODE) / 250,
            (i / PODS_PER_NODE) % 250 + 2
        ),
        started: w.created + 300 + replica * 7,
        health,
        name,
        w,
    };
    store.apply(facts.to_json());
    if let Health::Crashed { oom, restarts } = health {
        store.apply(facts.backoff_event(restarts));
        let ns = &w.namespace;
        store.set_logs(
            ns,
            &facts.name,
            "app",
            false,
            b"starting server on :8080\nloading config from /etc/app/config.yaml\n",
        );
        let previous = if oom {
            "starting server on :8080\nloading config from /etc/app/config.yaml\nwarming cache: 1048576 entries\n".to_string()
        } else {
            format!(
                "starting server on :8080\nloading config from /etc/app/config.yaml\nerror: connecting to database: dial tcp 10.0.0.12:5432: connect: connection refused\nexit status 1 ({} restarts)\n",
                restarts
            )
        };
        store.set_logs(ns, &facts.name, "app", true, previous.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_consistent_cluster() {
        let store = Store::new();
        populate_cluster(&store, 103, 4, 10);
        assert_eq!(store.count("Namespace"), 4);
        assert_eq!(store.count("Pod"), 103);
        assert_eq!(store.count("Event"), 10);
        // 26,26,26,25 pods per namespace → 6,6,6,5 deployments.
        assert_eq!(store.count("Deployment"), 23);
        assert_eq!(store.count("ReplicaSet"), 23);

        let inner = store.lock();
        let pods: Vec<_> = inner.objects[crate::resources::POD]
            .values()
            .cloned()
            .collect();
        drop(inner);
        let mut crashed = 0;
        let mut oom = 0;
        for p in &pods {
            let v = p.to_value().unwrap();
            let cs = &v["status"]["containerStatuses"][0];
            if cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" {
                crashed += 1;
                assert!(cs["restartCount"].as_u64().unwrap() > 0);
                let code = cs["lastState"]["terminated"]["exitCode"].as_u64().unwrap();
                assert!(code == 1 || code == 137);
                oom += usize::from(code == 137);
            }
            let owner = &v["metadata"]["ownerReferences"][0];
            let rs = store
                .get("ReplicaSet", &p.namespace, owner["name"].as_str().unwrap())
                .unwrap();
            assert_eq!(rs["metadata"]["uid"], owner["uid"]);
            let deploy = &rs["metadata"]["ownerReferences"][0]["name"];
            assert!(
                store
                    .get("Deployment", &p.namespace, deploy.as_str().unwrap())
                    .is_some()
            );
        }
        assert_eq!(crashed, 10);
        assert_eq!(oom, 5);
        let size = pods.iter().map(|p| p.body.len()).sum::<usize>() / pods.len();
        assert!((3000..4500).contains(&size), "average pod size {size}");
    }

    #[test]
    fn deterministic() {
        let a = Store::new();
        let b = Store::new();
        populate_cluster(&a, 20, 2, 3);
        populate_cluster(&b, 20, 2, 3);
        let names = |s: &Store| {
            let inner = s.lock();
            inner.objects[crate::resources::POD]
                .values()
                .map(|o| (o.name.clone(), o.uid.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
    }
}
