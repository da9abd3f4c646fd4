//! Taking a kubelet checkpoint, the same for `ktui checkpoint create` and the console: which
//! container (and whether there is a live process to checkpoint at all), then the request, timed,
//! with what the node runs, recorded into the case.

use std::time::{Duration, Instant};

use jiff::Timestamp;

use super::kubelet::{At, CheckpointAnswer, CheckpointError, CheckpointFailure, CheckpointRequest};
use super::record::{self, NodeRuntime};
use crate::case::{Case, IndexEntry};
use crate::cluster::{
    Cluster, ContainerRole, ContainerState, ContainerSummary, ContextInfo, ObjectRef, PodKey,
    PodSummary,
};

/// A checkpoint that can be asked for: a running container of a pod on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub pod: PodKey,
    pub pod_uid: String,
    pub node: String,
    pub container: ContainerSummary,
}

impl Plan {
    pub fn request(&self, timeout: Option<Duration>) -> CheckpointRequest {
        CheckpointRequest {
            node: self.node.clone(),
            pod: self.pod.clone(),
            container: self.container.name.clone(),
            timeout,
        }
    }
}

/// Why no checkpoint can be asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(
        "pod {pod} is not on a node (it is {phase}): no process runs yet, so there is nothing to checkpoint"
    )]
    NotScheduled { pod: PodKey, phase: String },
    #[error("pod {pod} has no containers to checkpoint")]
    NoContainer { pod: PodKey },
    #[error("pod {pod} has {} containers: {}; name the one to checkpoint with -c", .names.len(), .names.join(", "))]
    ChooseContainer { pod: PodKey, names: Vec<String> },
    #[error("pod {pod} has no container {container} (it has {}); name one of them with -c", .names.join(", "))]
    NoSuchContainer {
        pod: PodKey,
        container: String,
        names: Vec<String>,
    },
    /// The container is not running (a crashed one): [`CheckpointError::NotRunning`].
    #[error(transparent)]
    NotRunning(Box<CheckpointError>),
}

/// The containers a checkpoint can be of: main containers, native sidecars and ephemeral
/// containers (plain init containers have finished before the main ones start).
pub fn candidates(pod: &PodSummary) -> impl Iterator<Item = &ContainerSummary> {
    pod.containers
        .iter()
        .filter(|c| c.role != ContainerRole::Init)
}

/// `app (Running)`, as the messages list containers.
fn named(c: &ContainerSummary) -> String {
    format!("{} ({})", c.name, c.state.label())
}

/// Which container of `pod` to checkpoint (`container`, else its only candidate), and whether it
/// runs.
pub fn plan(pod: &PodSummary, container: Option<&str>) -> Result<Plan, PlanError> {
    let Some(node) = pod.node.clone().filter(|n| !n.is_empty()) else {
        return Err(PlanError::NotScheduled {
            pod: pod.key.clone(),
            phase: pod.phase.clone(),
        });
    };
    let names = || candidates(pod).map(named).collect::<Vec<_>>();
    let chosen = match container {
        Some(name) => pod
            .container(name)
            .ok_or_else(|| PlanError::NoSuchContainer {
                pod: pod.key.clone(),
                container: name.to_string(),
                names: names(),
            })?,
        None => {
            let mut all = candidates(pod);
            match (all.next(), all.next()) {
                (None, _) => {
                    return Err(PlanError::NoContainer {
                        pod: pod.key.clone(),
                    });
                }
                (Some(only), None) => only,
                (Some(_), Some(_)) => {
                    return Err(PlanError::ChooseContainer {
                        pod: pod.key.clone(),
                        names: names(),
                    });
                }
            }
        }
    };
    if !matches!(chosen.state, ContainerState::Running { .. }) {
        return Err(PlanError::NotRunning(Box::new(
            CheckpointError::NotRunning {
                at: At::new(&node, &pod.key, &chosen.name),
                state: chosen.state.label(),
            },
        )));
    }
    Ok(Plan {
        pod: pod.key.clone(),
        pod_uid: pod.uid.clone(),
        node,
        container: chosen.clone(),
    })
}

/// One checkpoint asked for: what, when, how long, what the node runs, and what answered.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub request: CheckpointRequest,
    pub pod_uid: String,
    pub container: ContainerSummary,
    pub node: NodeRuntime,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub elapsed: Duration,
    pub result: Result<CheckpointAnswer, CheckpointFailure>,
}

impl Outcome {
    /// What a success says: `checkpointed container app of pod shop/web-1 on node n1 in 3.2 s`.
    pub fn summary(&self) -> String {
        format!(
            "checkpointed {} on node {} in {:.1} s",
            self.request.at(),
            self.request.node,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Ask the kubelet for the checkpoint `plan` names (reading first what the node runs, for the
/// record and the messages).
pub async fn take(cluster: &dyn Cluster, plan: &Plan, timeout: Option<Duration>) -> Outcome {
    let request = plan.request(timeout);
    let node = match cluster.get_json(ObjectRef::node(&plan.node)).await {
        Ok(n) => NodeRuntime::of(&n),
        Err(e) => NodeRuntime::unknown(e.to_string()),
    };
    let started = Timestamp::now();
    let clock = Instant::now();
    let result = cluster.checkpoint(request.clone()).await;
    Outcome {
        request,
        pod_uid: plan.pod_uid.clone(),
        container: plan.container.clone(),
        node,
        started,
        finished: Timestamp::now(),
        elapsed: clock.elapsed(),
        result,
    }
}

/// Record `outcome` into `case` (in a blocking task: the case fsyncs); Err says why not.
pub async fn record_into(
    case: &Case,
    outcome: &Outcome,
    info: &ContextInfo,
) -> Result<IndexEntry, String> {
    let (case, outcome, info) = (case.clone(), outcome.clone(), info.clone());
    tokio::task::spawn_blocking(move || record::write(&case, &outcome, &info))
        .await
        .map_err(|e| format!("recording was interrupted: {e}"))?
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn pod(name: &str) -> PodSummary {
        DemoCluster::fixed()
            .pods()
            .iter()
            .map(|p| p.detail.summary.clone())
            .find(|p| p.key.name.starts_with(name))
            .unwrap()
    }

    #[test]
    fn the_only_running_container_is_chosen() {
        let web = pod("web-");
        let plan = plan(&web, None).unwrap();
        assert_eq!(plan.container.name, web.containers[0].name);
        assert_eq!(Some(plan.node.as_str()), web.node.as_deref());
    }

    #[test]
    fn a_crashed_container_cannot_be_checkpointed_and_logs_are_offered() {
        let checkout = pod("checkout-");
        let err = plan(&checkout, None).unwrap_err();
        let PlanError::NotRunning(e) = &err else {
            panic!("{err:?}")
        };
        let text = e.to_string();
        assert!(text.contains("CrashLoopBackOff"), "{text}");
        assert!(
            text.contains("a dead process cannot be checkpointed"),
            "{text}"
        );
        assert!(text.contains("`l` in the console"), "{text}");
        assert!(!e.offers_snapshot());
    }

    #[test]
    fn several_containers_need_a_name_and_a_wrong_name_lists_them() {
        let mut web = pod("web-");
        let mut side = web.containers[0].clone();
        side.name = "proxy".to_string();
        web.containers.push(side);
        let err = plan(&web, None).unwrap_err();
        assert!(matches!(err, PlanError::ChooseContainer { ref names, .. } if names.len() == 2));
        assert!(err.to_string().contains("proxy (Running)"), "{err}");
        assert_eq!(plan(&web, Some("proxy")).unwrap().container.name, "proxy");
        let err = plan(&web, Some("nope")).unwrap_err();
        assert!(matches!(err, PlanError::NoSuchContainer { .. }), "{err:?}");
        assert!(err.to_string().contains("proxy (Running)"), "{err}");
    }

    #[test]
    fn an_unscheduled_pod_has_nothing_to_checkpoint() {
        let mut web = pod("web-");
        web.node = None;
        web.phase = "Pending".into();
        assert!(matches!(
            plan(&web, None),
            Err(PlanError::NotScheduled { .. })
        ));
    }

    #[tokio::test]
    async fn the_demo_answers_as_containerd_1_7_and_the_record_says_so() {
        let demo = DemoCluster::fixed();
        let web = pod("web-");
        let plan = plan(&web, None).unwrap();
        let outcome = take(&demo, &plan, None).await;
        let failure = outcome.result.as_ref().unwrap_err();
        assert!(failure.offers_snapshot());
        assert!(failure.to_string().starts_with("DEMO"), "{failure}");
        assert_eq!(
            outcome.node.container_runtime.as_deref(),
            Some("containerd://1.7.24")
        );
        let record: serde_json::Value =
            serde_json::from_slice(&record::json(&outcome, &demo.info())).unwrap();
        assert_eq!(record["result"], "error");
        assert_eq!(record["error"]["kind"], "runtime_unsupported");
        assert_eq!(record["answer"]["status"], 500);
        assert_eq!(record["node"]["container_runtime"], "containerd://1.7.24");
        assert_eq!(record["request"]["container"], plan.container.name.as_str());
        assert!(record["node_path"].is_null());
    }
}
