//! Collecting one pod's evidence into a case (`ktui export POD`): its manifest, owners, node,
//! events, the current and previous logs of every container, and the ConfigMaps and Secrets it
//! reads (Secrets as HMACs of their values unless values were asked for). Each artifact goes
//! through [`Case::write_artifact`] (indexed, in custody, with its API path as source); what
//! could not be collected (no previous log, RBAC, a missing owner) is listed with why, not an
//! error. Only failing to read the pod itself, or to write into the case, stops it.

pub mod refs;
pub mod secrets;

use serde_json::Value;

use crate::case::{
    Action, ArtifactMeta, ArtifactPath, Case, CaseConfig, CaseError, Collector, Entry, IndexEntry,
    Source, Target,
};
use crate::cluster::{Cluster, ClusterError, LogRequest, ObjectRef, PodKey};
use crate::runtime::keep;

/// How long case creation waits for the server's answer about the user and the clock.
const ASK_SERVER: std::time::Duration = std::time::Duration::from_secs(5);
/// How far up ownerReferences collection follows (Pod → ReplicaSet → Deployment is 2).
const MAX_OWNERS: usize = 8;

/// What a collection is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct CollectOptions {
    /// Write Secret values too (after the user confirmed; see `bundle::export`).
    pub include_secrets: bool,
}

/// Something asked for and not collected, and why (`manifest.json`'s `unavailable`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    pub what: String,
    pub why: String,
}

/// What a collection wrote.
#[derive(Debug, Clone)]
pub struct Collected {
    pub pod: PodKey,
    /// The pod's node (its artifacts go into a pod's bundle).
    pub node: Option<String>,
    pub written: Vec<IndexEntry>,
    pub unavailable: Vec<Unavailable>,
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// Boxed: the largest variant.
    #[error("cannot read pod {pod}: {source}")]
    Pod {
        pod: PodKey,
        source: Box<ClusterError>,
    },
    #[error("{0}")]
    Case(#[from] CaseError),
    #[error("{0}")]
    Capture(#[from] crate::evidence::CaptureError),
    /// The write's thread ended before it did (the process is ending).
    #[error("writing into the case was interrupted: {0}")]
    Interrupted(String),
}

/// The case.json a new case gets from `cluster`: its context and server, who the server says
/// the user is (SelfSubjectReview, else the kubeconfig's user) and its clock (`Date`). Either
/// question failing leaves its field to the kubeconfig or empty: a case opens anyway.
pub async fn case_config(cluster: &dyn Cluster, demo: bool) -> CaseConfig {
    let info = cluster.info();
    let user = match tokio::time::timeout(ASK_SERVER, cluster.self_user()).await {
        Ok(Ok(Some(user))) => Some(user),
        Ok(Ok(None)) => info.kube_user.clone(),
        Ok(Err(e)) => {
            tracing::debug!("SelfSubjectReview failed, the kubeconfig's user is recorded: {e}");
            info.kube_user.clone()
        }
        Err(_) => info.kube_user.clone(),
    };
    let date = match tokio::time::timeout(ASK_SERVER, cluster.server_date()).await {
        Ok(Ok(date)) => date,
        Ok(Err(e)) => {
            tracing::debug!("the API server's Date could not be read: {e}");
            None
        }
        Err(_) => None,
    };
    CaseConfig {
        demo,
        collector: Collector::detect(user),
        api_server_date: date,
        ..CaseConfig::new(&info.context, &info.server)
    }
}

/// Collect `pod` into `case`; `progress` hears a line per step.
pub async fn collect_pod(
    cluster: &dyn Cluster,
    case: &Case,
    pod: &PodKey,
    options: CollectOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Collected, CollectError> {
    let mut c = Collection {
        case,
        pod,
        progress,
        written: Vec::new(),
        unavailable: Vec::new(),
    };
    let pod_ref = ObjectRef::pod(pod);
    let manifest = cluster
        .get_json(pod_ref.clone())
        .await
        .map_err(|source| CollectError::Pod {
            pod: pod.clone(),
            source: Box::new(source),
        })?;
    let manifest = refs::without_managed_fields(manifest);
    c.json(
        c.manifest_meta("pod.json", Source::Api(pod_ref.api_path()))?,
        &manifest,
    )
    .await?;
    c.owners(cluster, &manifest).await?;
    c.events(cluster).await?;
    let node = refs::node(&manifest);
    c.node(cluster, node.as_deref()).await?;
    c.logs(cluster, &refs::containers(&manifest)).await?;
    let references = refs::references(&manifest);
    c.config_maps(cluster, &references).await?;
    c.secrets(cluster, &references, options).await?;
    Ok(Collected {
        pod: pod.clone(),
        node,
        written: c.written,
        unavailable: c.unavailable,
    })
}

struct Collection<'a> {
    case: &'a Case,
    pod: &'a PodKey,
    progress: &'a (dyn Fn(&str) + Sync),
    written: Vec<IndexEntry>,
    unavailable: Vec<Unavailable>,
}

impl Collection<'_> {
    /// Not collected (said once, at the end, with what the bundle leaves out).
    fn skip(&mut self, what: String, why: String) {
        self.unavailable.push(Unavailable { what, why });
    }

    /// A JSON artifact of the pod (`artifacts/<ns>/<pod>/<rest>`), recorded as `capture_manifest`.
    fn manifest_meta(&self, rest: &str, source: Source) -> Result<ArtifactMeta, CollectError> {
        Ok(ArtifactMeta::new(
            ArtifactPath::pod(&self.pod.namespace, &self.pod.name, rest)?,
            "application/json",
            source,
            Action::CaptureManifest,
        )
        .for_pod(&self.pod.namespace, &self.pod.name, None))
    }

    async fn json(&mut self, meta: ArtifactMeta, value: &Value) -> Result<(), CollectError> {
        let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
        bytes.push(b'\n');
        self.write(meta, bytes).await
    }

    /// Write on a blocking thread (every case write fsyncs).
    async fn write(&mut self, meta: ArtifactMeta, bytes: Vec<u8>) -> Result<(), CollectError> {
        let case = self.case.clone();
        let entry = tokio::task::spawn_blocking(move || case.write_artifact(&meta, &bytes))
            .await
            .map_err(|e| CollectError::Interrupted(e.to_string()))??;
        (self.progress)(&format!("collected {} ({} bytes)", entry.path, entry.size));
        self.written.push(entry);
        Ok(())
    }

    /// `owners.json`: the controller chain (ReplicaSet → Deployment, Job → CronJob, ...),
    /// nearest first, as far as it can be read.
    async fn owners(&mut self, cluster: &dyn Cluster, pod: &Value) -> Result<(), CollectError> {
        let mut chain = Vec::new();
        let mut sources = Vec::new();
        let mut next = refs::controller(pod);
        while let Some(owner) = next.take() {
            if chain.len() == MAX_OWNERS {
                self.skip(
                    format!("owners beyond {owner}"),
                    format!("the chain is longer than {MAX_OWNERS} owners"),
                );
                break;
            }
            match cluster.get_json(owner.clone()).await {
                Ok(obj) => {
                    next = refs::controller(&obj);
                    sources.push(owner.api_path());
                    chain.push(refs::without_managed_fields(obj));
                }
                Err(e) => self.skip(format!("owner {owner}"), e.to_string()),
            }
        }
        let source = if sources.is_empty() {
            // No owner (or none readable): the pod's ownerReferences said so.
            ObjectRef::pod(self.pod).api_path()
        } else {
            sources.join(" ")
        };
        let meta = self.manifest_meta("owners.json", Source::Api(source))?;
        self.json(meta, &Value::Array(chain)).await
    }

    async fn events(&mut self, cluster: &dyn Cluster) -> Result<(), CollectError> {
        match cluster.pod_events_json(self.pod.clone()).await {
            Ok(events) => {
                let meta = keep::events(self.pod, None)?;
                self.json(meta, &Value::Array(events)).await
            }
            Err(e) => {
                self.skip("events.json".to_string(), e.to_string());
                Ok(())
            }
        }
    }

    /// `artifacts/nodes/<node>/node.json`.
    async fn node(
        &mut self,
        cluster: &dyn Cluster,
        node: Option<&str>,
    ) -> Result<(), CollectError> {
        let Some(node) = node else {
            self.skip(
                "node.json".to_string(),
                "the pod is not scheduled to a node (spec.nodeName is empty)".to_string(),
            );
            return Ok(());
        };
        let object = ObjectRef::node(node);
        match cluster.get_json(object.clone()).await {
            Ok(obj) => {
                let mut meta = ArtifactMeta::new(
                    ArtifactPath::node(node, "node.json")?,
                    "application/json",
                    Source::Api(object.api_path()),
                    Action::CaptureManifest,
                );
                meta.target = Target::Node(node.to_string());
                self.json(meta, &refs::without_managed_fields(obj)).await
            }
            Err(e) => {
                self.skip(format!("node {node}"), e.to_string());
                Ok(())
            }
        }
    }

    /// Current and previous logs of every container.
    async fn logs(
        &mut self,
        cluster: &dyn Cluster,
        containers: &[String],
    ) -> Result<(), CollectError> {
        for container in containers {
            for previous in [false, true] {
                let req = LogRequest {
                    pod: self.pod.clone(),
                    container: container.clone(),
                    previous,
                    tail_lines: None,
                };
                let meta = keep::logs(self.pod, container, previous, None)?;
                match cluster.logs(req).await {
                    Ok(bytes) => self.write(meta, bytes).await?,
                    Err(e) => {
                        let why = match &e {
                            ClusterError::Api { code: 400, message }
                                if previous
                                    && message.contains("previous terminated container") =>
                            {
                                format!(
                                    "container {container} has no previous terminated instance \
                                     (it has not restarted, or the runtime removed it): {message}"
                                )
                            }
                            other => other.to_string(),
                        };
                        let file = meta.path.as_str().rsplit('/').next().unwrap_or_default();
                        self.skip(format!("logs/{file}"), why);
                    }
                }
            }
        }
        Ok(())
    }

    /// `configmaps/<name>.json`, whole (managedFields dropped).
    async fn config_maps(
        &mut self,
        cluster: &dyn Cluster,
        references: &refs::References,
    ) -> Result<(), CollectError> {
        for (name, reference) in &references.config_maps {
            let object = ObjectRef::new("v1", "ConfigMap", Some(&self.pod.namespace), name);
            match cluster.get_json(object.clone()).await {
                Ok(obj) => {
                    let meta = self.manifest_meta(
                        &format!("configmaps/{name}.json"),
                        Source::Api(object.api_path()),
                    )?;
                    self.json(meta, &refs::without_managed_fields(obj)).await?;
                }
                Err(e) => self.skip(format!("configmap {name}"), absent_why(&e, reference)),
            }
        }
        Ok(())
    }

    /// `secrets/<name>.json`: HMACs of the values the pod reads (values too when asked and
    /// confirmed, which custody records first as `include_secrets`).
    async fn secrets(
        &mut self,
        cluster: &dyn Cluster,
        references: &refs::References,
        options: CollectOptions,
    ) -> Result<(), CollectError> {
        if references.secrets.is_empty() {
            return Ok(());
        }
        if options.include_secrets {
            let case = self.case.clone();
            let entry = Entry::ok(
                Action::from("include_secrets"),
                Target::pod(&self.pod.namespace, &self.pod.name, None),
                Vec::new(),
            );
            tokio::task::spawn_blocking(move || case.record(&entry))
                .await
                .map_err(|e| CollectError::Interrupted(e.to_string()))??;
            (self.progress)("Secret values will be written (--include-secrets, confirmed)");
        }
        for (name, reference) in &references.secrets {
            let object = ObjectRef::new("v1", "Secret", Some(&self.pod.namespace), name);
            let secret = match cluster.get_json(object.clone()).await {
                Ok(s) => s,
                Err(e) => {
                    self.skip(format!("secret {name}"), absent_why(&e, reference));
                    continue;
                }
            };
            let case = self.case.clone();
            let record = secrets::record(&secret, &reference.keys, options.include_secrets, |v| {
                case.secret_hmac(v)
            });
            drop(secret);
            for key in &record.missing {
                self.skip(
                    format!("secret {name} key {key}"),
                    "the Secret has no such key".to_string(),
                );
            }
            let mut meta = self.manifest_meta(
                &format!("secrets/{name}.json"),
                Source::Api(object.api_path()),
            )?;
            meta.action = Action::from("capture_secrets");
            self.json(meta, &record.json).await?;
        }
        Ok(())
    }
}

/// Why a referenced ConfigMap or Secret was not read; an optional one that does not exist is
/// said to be optional.
fn absent_why(e: &ClusterError, reference: &refs::Reference) -> String {
    match e {
        ClusterError::NotFound { .. } if reference.optional => {
            format!("{e} (the pod marks it optional)")
        }
        _ => e.to_string(),
    }
}
