//! The READY, STATUS and RESTARTS columns of `kubectl get pods`, so the all-pods view reads like
//! kubectl: a port of the kube-apiserver's pod table printer (kubernetes
//! `pkg/printers/internalversion/printers.go`, `printPod`, 1.29+ with native sidecars).
//!
//! STATUS starts from the pod's reason, else its phase; `SchedulingGated` when scheduling gates
//! hold it. Init statuses are read in order: one that exited 0, or a sidecar that started, is
//! passed over; the first other one gives `Init:<reason>` (`Init:Signal:N` / `Init:ExitCode:N`
//! without a reason), `Init:<waiting reason>` (not `PodInitializing`) or `Init:I/N`, and the pod
//! is initialising. Once it is not (or the `Initialized` condition is true), main statuses are
//! read last to first, so the first container's waiting reason (`CrashLoopBackOff`,
//! `ImagePullBackOff`, `ContainerCreating`, ...) or termination reason (`OOMKilled`, `Error`,
//! `Completed`, `Signal:N`, `ExitCode:N`) wins; `Completed` with a container still running
//! reads `Running` when the pod is Ready, else `NotReady`. A pod being deleted reads `Unknown`
//! when its node was lost (`NodeLost`), else `Terminating` unless it already succeeded or
//! failed.

use crate::cluster::{ContainerRole, ContainerState, ContainerSummary, PodSummary};

/// The pod reason the node lifecycle controller sets when the kubelet stops answering.
const NODE_LOST: &str = "NodeLost";

/// One pod's `kubectl get pods` columns.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodColumns {
    /// Ready main containers and started, ready sidecars.
    pub ready: usize,
    /// Main containers and sidecars.
    pub total: usize,
    pub status: String,
    pub restarts: u32,
}

impl PodColumns {
    /// `1/2`.
    pub fn ready_label(&self) -> String {
        format!("{}/{}", self.ready, self.total)
    }
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().filter(|s| !s.is_empty())
}

/// Containers of one status list (`init` or main) in the order the pod reports them.
fn statuses(pod: &PodSummary, init: bool) -> Vec<&ContainerSummary> {
    let mut list: Vec<&ContainerSummary> = pod
        .containers
        .iter()
        .filter(|c| c.role.is_init() == init && c.status_index.is_some())
        .collect();
    list.sort_by_key(|c| c.status_index);
    list
}

/// A terminated container as kubectl names it: its reason, else `Signal:N`, else `ExitCode:N`.
fn terminated(exit_code: i32, signal: Option<i32>, reason: &Option<String>) -> String {
    match (non_empty(reason), signal.filter(|s| *s != 0)) {
        (Some(reason), _) => reason.to_string(),
        (None, Some(signal)) => format!("Signal:{signal}"),
        (None, None) => format!("ExitCode:{exit_code}"),
    }
}

/// The columns `kubectl get pods` shows for `pod`.
pub fn pod_columns(pod: &PodSummary) -> PodColumns {
    let init_count = pod.containers.iter().filter(|c| c.role.is_init()).count();
    let mut columns = PodColumns {
        total: pod
            .containers
            .iter()
            .filter(|c| matches!(c.role, ContainerRole::Main | ContainerRole::Sidecar))
            .count(),
        status: non_empty(&pod.reason).unwrap_or(&pod.phase).to_string(),
        ..PodColumns::default()
    };
    if pod.conditions.scheduling_gated {
        columns.status = "SchedulingGated".to_string();
    }

    let mut sidecar_restarts = 0;
    let mut initializing = false;
    for c in statuses(pod, true) {
        columns.restarts += c.restarts;
        let sidecar = c.role == ContainerRole::Sidecar;
        if sidecar {
            sidecar_restarts += c.restarts;
        }
        columns.status = match &c.state {
            ContainerState::Terminated { exit_code: 0, .. } => continue,
            _ if sidecar && c.started => {
                columns.ready += usize::from(c.ready);
                continue;
            }
            ContainerState::Terminated {
                exit_code,
                signal,
                reason,
                ..
            } => format!("Init:{}", terminated(*exit_code, *signal, reason)),
            ContainerState::Waiting { reason, .. }
                if non_empty(reason).is_some_and(|r| r != "PodInitializing") =>
            {
                format!("Init:{}", non_empty(reason).unwrap_or_default())
            }
            _ => format!("Init:{}/{init_count}", c.status_index.unwrap_or_default()),
        };
        initializing = true;
        break;
    }

    if !initializing || pod.conditions.initialized {
        columns.restarts = sidecar_restarts;
        let mut running = false;
        for c in statuses(pod, false).into_iter().rev() {
            columns.restarts += c.restarts;
            match &c.state {
                ContainerState::Waiting { reason, .. } if non_empty(reason).is_some() => {
                    columns.status = non_empty(reason).unwrap_or_default().to_string();
                }
                ContainerState::Terminated {
                    exit_code,
                    signal,
                    reason,
                    ..
                } => columns.status = terminated(*exit_code, *signal, reason),
                ContainerState::Running { .. } if c.ready => {
                    running = true;
                    columns.ready += 1;
                }
                _ => {}
            }
        }
        if columns.status == "Completed" && running {
            columns.status = if pod.conditions.ready {
                "Running"
            } else {
                "NotReady"
            }
            .to_string();
        }
    }

    if pod.deletion_timestamp.is_some() {
        if pod.reason.as_deref() == Some(NODE_LOST) {
            columns.status = "Unknown".to_string();
        } else if !matches!(pod.phase.as_str(), "Succeeded" | "Failed") {
            columns.status = "Terminating".to_string();
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::cluster::kube::files::Inputs;

    fn fixtures() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/k8s")
    }

    fn read(files: &[&str]) -> Vec<PodSummary> {
        let mut inputs = Inputs::default();
        for f in files {
            let text = std::fs::read_to_string(fixtures().join(f)).unwrap();
            inputs.add_text(f, &text).unwrap();
        }
        inputs.summaries()
    }

    /// The STATUS each fixture's truth file gives (`expected_kubectl_get_status`, worked out
    /// from `printPod` by whoever made the fixtures, not by this port).
    #[test]
    fn fixture_pods_read_as_their_truth_says() {
        let truth: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(fixtures().join("truth.json")).unwrap())
                .unwrap();
        let pods = read(&["podlist.json"]);
        let mut checked = 0;
        for t in &truth {
            let pod = pods
                .iter()
                .find(|p| p.key.name == t["pod"].as_str().unwrap())
                .unwrap();
            let want = t["expected_kubectl_get_status"].as_str().unwrap();
            assert_eq!(pod_columns(pod).status, want, "{}", pod.key);
            checked += 1;
        }
        assert_eq!(checked, 6);
        // Each single-pod file agrees with its own truth file too.
        for name in ["crash", "oom", "pull", "done", "side", "init"] {
            let pod = read(&[&format!("pod-{name}.json")]).remove(0);
            let t: Value = serde_json::from_str(
                &std::fs::read_to_string(fixtures().join(format!("pod-{name}.truth.json")))
                    .unwrap(),
            )
            .unwrap();
            assert_eq!(
                pod_columns(&pod).status,
                t["expected_kubectl_get_status"].as_str().unwrap(),
                "{name}"
            );
        }
    }

    /// The real cluster dump (kdash test data): statuses as printPod gives them for each
    /// pod's phase, reason, conditions and container states (read off pods.json).
    #[test]
    fn kdash_dump_reads_like_kubectl() {
        let got: Vec<(String, String, String)> = read(&["external/kdash/pods.json"])
            .iter()
            .map(|p| {
                let c = pod_columns(p);
                (p.key.name.clone(), c.ready_label(), c.status)
            })
            .collect();
        let want = [
            // PodScheduled False (Unschedulable), no statuses: the phase.
            ("adservice-f787c8dcd-tb6x2", "0/1", "Pending"),
            ("cartservice-67b89ffc69-s5qp8", "0/1", "CrashLoopBackOff"),
            ("currencyservice-68887d98fd-gc9cn", "0/1", "Pending"),
            ("emailservice-5f8fc7dbb4-5lqdb", "1/1", "Running"),
            // Failed with a reason: the reason.
            ("frontend-5c4745dfdb-6k8wf", "0/1", "OutOfcpu"),
            ("frontend-5c4745dfdb-qz7fg", "0/1", "Preempting"),
            ("loadgenerator-86f46dcb88-62vzw", "0/1", "Pending"),
            ("paymentservice-6658569876-d6r72", "1/1", "Running"),
            ("recommendationservice-78965f984b-z9x79", "1/1", "Running"),
            ("shippingservice-6998959488-tvhph", "1/1", "Running"),
            // First init container done, the second running: Init:1/2.
            ("pod-init-container", "0/1", "Init:1/2"),
            ("pod-init-container-2", "0/1", "Completed"),
        ]
        .map(|(n, r, s)| (n.to_string(), r.to_string(), s.to_string()));
        for w in &want {
            assert!(got.contains(w), "{w:?} not in {got:#?}");
        }
    }

    // ---- hand-made pods for each rule --------------------------------------------------

    fn pod(spec: Value, status: Value, meta: Value) -> PodSummary {
        let mut metadata = json!({"name": "p", "namespace": "ns", "uid": "u"});
        if let (Some(m), Some(extra)) = (metadata.as_object_mut(), meta.as_object()) {
            m.extend(extra.clone());
        }
        let obj = json!({"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
                         "spec": spec, "status": status});
        let mut inputs = Inputs::default();
        inputs.add_text("test", &obj.to_string()).unwrap();
        inputs.summaries().remove(0)
    }

    fn spec(init: &[&str], main: &[&str]) -> Value {
        let c = |n: &&str| {
            let mut c = json!({"name": n, "image": "img"});
            if n.starts_with("sidecar") {
                c["restartPolicy"] = json!("Always");
            }
            c
        };
        json!({"initContainers": init.iter().map(c).collect::<Vec<_>>(),
               "containers": main.iter().map(c).collect::<Vec<_>>()})
    }

    fn cs(name: &str, state: Value, ready: bool) -> Value {
        json!({"name": name, "image": "img", "imageID": "", "ready": ready,
               "started": ready, "restartCount": 2, "state": state})
    }

    fn term(code: i32, reason: Option<&str>, signal: Option<i32>) -> Value {
        let mut t = json!({"exitCode": code});
        if let Some(r) = reason {
            t["reason"] = json!(r);
        }
        if let Some(s) = signal {
            t["signal"] = json!(s);
        }
        json!({ "terminated": t })
    }

    fn waiting(reason: &str) -> Value {
        json!({"waiting": {"reason": reason}})
    }

    fn running() -> Value {
        json!({"running": {"startedAt": "2026-11-20T09:00:00Z"}})
    }

    fn status_of(spec: Value, status: Value) -> String {
        pod_columns(&pod(spec, status, json!({}))).status
    }

    #[test]
    fn init_containers_give_init_statuses() {
        let s = spec(&["a", "b"], &["main"]);
        let init = |a: Value, b: Value| {
            json!({"phase": "Pending", "initContainerStatuses": [cs("a", a, false), cs("b", b, false)],
                   "containerStatuses": [cs("main", waiting("PodInitializing"), false)]})
        };
        let done = term(0, Some("Completed"), None);
        assert_eq!(
            status_of(s.clone(), init(done.clone(), running())),
            "Init:1/2"
        );
        assert_eq!(
            status_of(s.clone(), init(done.clone(), waiting("PodInitializing"))),
            "Init:1/2"
        );
        assert_eq!(
            status_of(s.clone(), init(waiting("CrashLoopBackOff"), json!({}))),
            "Init:CrashLoopBackOff"
        );
        assert_eq!(
            status_of(s.clone(), init(term(1, Some("Error"), None), json!({}))),
            "Init:Error"
        );
        assert_eq!(
            status_of(s.clone(), init(term(137, None, Some(9)), json!({}))),
            "Init:Signal:9"
        );
        assert_eq!(
            status_of(s.clone(), init(term(3, None, None), json!({}))),
            "Init:ExitCode:3"
        );
        // Both done: the main container's waiting reason.
        assert_eq!(status_of(s, init(done.clone(), done)), "PodInitializing");
    }

    #[test]
    fn a_started_sidecar_does_not_hold_up_initialisation() {
        let s = spec(&["sidecar-log"], &["main"]);
        let st = |side: Value, ready: bool, main: Value| {
            json!({"phase": "Running",
                   "initContainerStatuses": [cs("sidecar-log", side, ready)],
                   "containerStatuses": [cs("main", main, true)]})
        };
        let c = pod_columns(&pod(s.clone(), st(running(), true, running()), json!({})));
        assert_eq!(
            (c.ready_label(), c.status.as_str()),
            ("2/2".into(), "Running")
        );
        assert_eq!(c.restarts, 4);
        // Not started yet: the pod is initialising.
        let c = pod_columns(&pod(
            s,
            st(running(), false, waiting("PodInitializing")),
            json!({}),
        ));
        assert_eq!(
            (c.ready_label(), c.status.as_str()),
            ("0/2".into(), "Init:0/1")
        );
        assert_eq!(c.restarts, 2);
    }

    #[test]
    fn main_containers_give_the_first_ones_reason() {
        let s = spec(&[], &["a", "b"]);
        let st = |a: Value, b: Value| json!({"phase": "Running", "containerStatuses": [cs("a", a, false), cs("b", b, false)]});
        assert_eq!(
            status_of(
                s.clone(),
                st(waiting("CrashLoopBackOff"), waiting("ImagePullBackOff"))
            ),
            "CrashLoopBackOff"
        );
        assert_eq!(
            status_of(s.clone(), st(running(), waiting("ContainerCreating"))),
            "ContainerCreating"
        );
        assert_eq!(
            status_of(s.clone(), st(term(137, Some("OOMKilled"), None), running())),
            "OOMKilled"
        );
        assert_eq!(
            status_of(s.clone(), st(term(143, None, Some(15)), running())),
            "Signal:15"
        );
        assert_eq!(
            status_of(s.clone(), st(term(2, None, None), running())),
            "ExitCode:2"
        );
        // A container reporting no state leaves the phase.
        assert_eq!(status_of(s, st(json!({}), json!({}))), "Running");
    }

    #[test]
    fn completed_with_a_container_still_running() {
        let s = spec(&[], &["a", "b"]);
        let st = |ready: &str| {
            json!({"phase": "Running",
                   "conditions": [{"type": "Ready", "status": ready}],
                   "containerStatuses": [cs("a", term(0, Some("Completed"), None), false),
                                         cs("b", running(), true)]})
        };
        assert_eq!(status_of(s.clone(), st("True")), "Running");
        assert_eq!(status_of(s, st("False")), "NotReady");
    }

    #[test]
    fn pod_reasons_gates_and_deletion() {
        let s = spec(&[], &["a"]);
        let main = |state: Value| json!([cs("a", state, true)]);
        assert_eq!(
            status_of(s.clone(), json!({"phase": "Failed", "reason": "Evicted"})),
            "Evicted"
        );
        assert_eq!(
            status_of(
                s.clone(),
                json!({"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]})
            ),
            "SchedulingGated"
        );
        let deleting = json!({"deletionTimestamp": "2026-11-20T09:00:00Z"});
        let st = |phase: &str, reason: Option<&str>| {
            let mut st = json!({"phase": phase, "containerStatuses": main(running())});
            if let Some(r) = reason {
                st["reason"] = json!(r);
            }
            pod_columns(&pod(s.clone(), st, deleting.clone())).status
        };
        assert_eq!(st("Running", None), "Terminating");
        assert_eq!(st("Running", Some("NodeLost")), "Unknown");
        // A pod that already finished keeps its status while it is deleted.
        assert_eq!(st("Succeeded", None), "Succeeded");
        assert_eq!(
            status_of(
                s,
                json!({"phase": "Running", "reason": "NodeLost", "containerStatuses": main(running())})
            ),
            "NodeLost"
        );
    }
}
