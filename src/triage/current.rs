//! What a crashed container is doing now: the crash table's STATE (a record's REASON is its last
//! termination, which says nothing of a back-off under way), and whether its "crash" was a
//! runtime restart.

use std::borrow::Cow;

use crate::cluster::{ContainerState, PodSummary};
use crate::triage::{Category, CrashRecord};

/// The current state of a record's container (of its pod, for an eviction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Current<'a> {
    /// Waiting in `CrashLoopBackOff`: the kubelet holds off restarting it.
    BackOff,
    /// Waiting for another reason; `None` when it has none or the record's REASON already
    /// says it (ImagePullBackOff, CreateContainerConfigError, ...).
    Waiting(Option<&'a str>),
    Running,
    Terminated,
    /// No state reported (or the container is gone from the pod).
    Unknown,
    /// A pod-level record (an eviction): the pod's phase.
    Pod(&'a str),
}

impl<'a> Current<'a> {
    /// `CrashLoopBackOff`, `Waiting: ContainerCreating`, `Running`, `Terminated`, ...
    pub fn label(self) -> Cow<'a, str> {
        match self {
            Current::BackOff => "CrashLoopBackOff".into(),
            Current::Waiting(None) => "Waiting".into(),
            Current::Waiting(Some(reason)) => format!("Waiting: {reason}").into(),
            Current::Running => "Running".into(),
            Current::Terminated => "Terminated".into(),
            Current::Unknown => "-".into(),
            Current::Pod(phase) => Cow::Borrowed(phase),
        }
    }
}

/// The state now of the container `record` is about (`pod` is the record's pod).
pub fn current<'a>(record: &CrashRecord, pod: &'a PodSummary) -> Current<'a> {
    let Some(name) = record.container.as_deref() else {
        return Current::Pod(&pod.phase);
    };
    let Some(c) = pod.container(name) else {
        return Current::Unknown;
    };
    match &c.state {
        ContainerState::Waiting { reason, .. } => match reason.as_deref() {
            Some("CrashLoopBackOff") => Current::BackOff,
            Some(r) if !r.is_empty() && Some(r) != record.reason.as_deref() => {
                Current::Waiting(Some(r))
            }
            _ => Current::Waiting(None),
        },
        ContainerState::Running { .. } => Current::Running,
        ContainerState::Terminated { .. } => Current::Terminated,
        ContainerState::Unknown => Current::Unknown,
    }
}

/// Was this crash the container runtime's doing rather than the process's?
///
/// After a node reboot or a restart of the container runtime (containerd, CRI-O) the kubelet
/// cannot read the exit status of the instances that were running: it reports each one's last
/// state as terminated with reason `Unknown` and exit code 255, and starts the container again.
/// The pinned classification keeps such a record as crashed (a non-zero exit), so the rule is
/// narrow: a crashed record whose reported termination is reason `Unknown` with exit code 255,
/// of a container that is **Running** now. One that crash-loops or waits after such a
/// termination is not running again and stays a real crash.
/// `now` is [`current`] of the record (callers that also show it compute it once).
pub fn is_runtime_restart(record: &CrashRecord, now: Current) -> bool {
    record.category == Category::Crashed
        && record.reason.as_deref() == Some("Unknown")
        && record.exit_code == Some(255)
        && now == Current::Running
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;
    use crate::triage::classify;

    fn demo_pod(name: &str) -> PodSummary {
        let demo = DemoCluster::fixed();
        let pod = demo
            .pods()
            .iter()
            .map(|p| p.detail.summary.clone())
            .find(|p| p.key.name.starts_with(name));
        let Some(pod) = pod else {
            unreachable!("demo pod {name}")
        };
        pod
    }

    fn labels(name: &str) -> Vec<String> {
        let pod = demo_pod(name);
        classify(&pod)
            .iter()
            .map(|r| current(r, &pod).label().into_owned())
            .collect()
    }

    #[test]
    fn states_of_the_demo_crashes() {
        assert_eq!(labels("checkout-6c9f8b7d54-7fb9x"), ["CrashLoopBackOff"]);
        assert_eq!(labels("api-gateway"), ["CrashLoopBackOff"]);
        assert_eq!(labels("ledger-worker"), ["Running"]);
        assert_eq!(labels("settle"), ["Terminated"]);
        // REASON already says ImagePullBackOff.
        assert_eq!(labels("search"), ["Waiting"]);
        assert_eq!(labels("report-gen"), ["Failed"]);
    }

    #[test]
    fn another_waiting_reason_is_named() {
        let mut pod = demo_pod("checkout-6c9f8b7d54-7fb9x");
        pod.containers[0].state = ContainerState::Waiting {
            reason: Some("ContainerCreating".into()),
            message: None,
        };
        assert_eq!(labels_of(&pod), ["Waiting: ContainerCreating"]);
    }

    fn labels_of(pod: &PodSummary) -> Vec<String> {
        classify(pod)
            .iter()
            .map(|r| current(r, pod).label().into_owned())
            .collect()
    }

    /// The demo's ledger-worker, its last termination replaced by `reason`/`exit`, its state
    /// by `now`.
    fn restarted(reason: &str, exit: i32, now: ContainerState) -> bool {
        let mut pod = demo_pod("ledger-worker");
        let c = &mut pod.containers[0];
        if let ContainerState::Terminated {
            exit_code,
            reason: r,
            ..
        } = &mut c.last_state
        {
            *exit_code = exit;
            *r = Some(reason.into());
        }
        c.state = now;
        let records = classify(&pod);
        assert_eq!(records.len(), 1, "still a crashed record");
        assert_eq!(records[0].category, Category::Crashed);
        is_runtime_restart(&records[0], current(&records[0], &pod))
    }

    #[test]
    fn runtime_restart_is_unknown_255_running_again() {
        let running = ContainerState::Running { started_at: None };
        let back_off = ContainerState::Waiting {
            reason: Some("CrashLoopBackOff".into()),
            message: None,
        };
        assert!(restarted("Unknown", 255, running.clone()));
        assert!(!restarted("Unknown", 255, back_off));
        assert!(!restarted("Error", 255, running.clone()));
        assert!(!restarted("Unknown", 137, running));
    }
}
