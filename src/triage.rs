//! Crash classification and signatures: pure functions over `PodSummary`.
//!
//! A container is **crashed** when it waits in CrashLoopBackOff (whatever its last exit code), or
//! its current or last state is terminated with a non-zero exit code. **Not started** covers
//! containers whose process never ran (image pulls, config errors, ContainerCannotRun). An
//! **evicted** pod (phase Failed with a pod-level reason set by the node) is one record; its
//! containers' kill codes are not process crashes.

pub mod current;
pub mod kubectl;
pub mod owners;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::cluster::{
    ContainerRole, ContainerState, ContainerSummary, PodKey, PodSummary, Workload,
};

/// Waiting or termination reasons meaning the process never ran.
const NOT_STARTED_REASONS: &[&str] = &[
    "ImagePullBackOff",
    "ErrImagePull",
    "ErrImageNeverPull",
    "InvalidImageName",
    "RegistryUnavailable",
    "SignatureValidationFailed",
    "CreateContainerConfigError",
    "CreateContainerError",
    "PreCreateHookError",
    "PreStartHookError",
    "RunContainerError",
    "ContainerCannotRun",
    "StartError",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Crashed,
    NotStarted,
    Evicted,
}

impl Category {
    /// The pinned JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Crashed => "crashed",
            Category::NotStarted => "not_started",
            Category::Evicted => "evicted",
        }
    }
}

/// One crashed, not-started or evicted container (or, for evictions, pod).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashRecord {
    pub pod: PodKey,
    pub pod_uid: String,
    /// None for an evicted pod.
    pub container: Option<String>,
    pub role: Option<ContainerRole>,
    pub category: Category,
    /// Termination reason, else waiting reason, else pod reason; never with an `Init:` prefix.
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub restarts: Option<u32>,
    pub finished_at: Option<Timestamp>,
    /// Termination message (or the waiting / pod message when there is none).
    pub message: Option<String>,
    pub node: Option<String>,
    pub workload: Workload,
    pub signature: String,
}

impl CrashRecord {
    /// `Init:Error` for init containers and sidecars, as the UI shows it.
    pub fn display_reason(&self) -> String {
        let reason = self.reason.as_deref().unwrap_or("-");
        match self.role {
            Some(role) if role.is_init() => format!("Init:{reason}"),
            _ => reason.to_string(),
        }
    }
}

/// The pinned crash signature: lowercase hex SHA-256 of
/// `namespace\nkind/name\ncontainer\nexit_code` (empty strings for nulls).
pub fn signature(
    namespace: &str,
    workload: &Workload,
    container: Option<&str>,
    exit_code: Option<i32>,
) -> String {
    let exit = exit_code.map(|c| c.to_string()).unwrap_or_default();
    let text = format!(
        "{namespace}\n{}/{}\n{}\n{exit}",
        workload.kind,
        workload.name,
        container.unwrap_or("")
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Exit codes 129–192 encode the killing signal (128 + n for Linux's signals 1–64); anything
/// else, such as the 255 ("Unknown") a runtime restart leaves, is no signal.
pub fn signal_of(exit_code: i32) -> Option<i32> {
    (129..=192).contains(&exit_code).then(|| exit_code - 128)
}

/// Is this pod failed by the node (evicted, preempted, out of resources, shut down, deadline)?
pub fn is_evicted(pod: &PodSummary) -> bool {
    pod.phase == "Failed" && pod.reason.as_deref().is_some_and(|r| !r.is_empty())
}

/// Classify every container of a pod.
pub fn classify(pod: &PodSummary) -> Vec<CrashRecord> {
    if is_evicted(pod) {
        return vec![evicted_record(pod)];
    }
    pod.containers
        .iter()
        .filter_map(|c| classify_container(pod, c))
        .collect()
}

fn evicted_record(pod: &PodSummary) -> CrashRecord {
    let finished_at = pod
        .containers
        .iter()
        .filter_map(|c| match &c.state {
            ContainerState::Terminated { finished_at, .. } => *finished_at,
            _ => None,
        })
        .max()
        .or(pod.failed_at);
    CrashRecord {
        pod: pod.key.clone(),
        pod_uid: pod.uid.clone(),
        container: None,
        role: None,
        category: Category::Evicted,
        reason: pod.reason.clone(),
        exit_code: None,
        signal: None,
        restarts: None,
        finished_at,
        message: pod.message.clone(),
        node: pod.node.clone(),
        signature: signature(&pod.key.namespace, &pod.workload, None, None),
        workload: pod.workload.clone(),
    }
}

/// A terminated state's fields, borrowed.
#[derive(Clone, Copy)]
struct Termination<'a> {
    exit_code: i32,
    reason: Option<&'a str>,
    message: Option<&'a str>,
    finished_at: Option<Timestamp>,
}

fn termination(state: &ContainerState) -> Option<Termination<'_>> {
    match state {
        ContainerState::Terminated {
            exit_code,
            reason,
            message,
            finished_at,
            ..
        } => Some(Termination {
            exit_code: *exit_code,
            reason: reason.as_deref(),
            message: message.as_deref(),
            finished_at: *finished_at,
        }),
        _ => None,
    }
}

/// Does this waiting or termination reason mean the process never ran (and waiting will not
/// change that)? Triage's "not started" and the helper deploy's "stuck" are the same list.
pub fn is_not_started_reason(reason: Option<&str>) -> bool {
    reason.is_some_and(|r| NOT_STARTED_REASONS.contains(&r))
}

fn classify_container(pod: &PodSummary, c: &ContainerSummary) -> Option<CrashRecord> {
    let current = termination(&c.state);
    let last = termination(&c.last_state);
    let waiting = c.state.waiting_reason();
    // The reported termination: the current one when it failed, else the last one.
    let reported = match current {
        Some(t) if t.exit_code != 0 => Some(t),
        _ => last,
    };
    let back_off = waiting == Some("CrashLoopBackOff");
    let failed_run = |t: &Option<Termination<'_>>| {
        t.as_ref()
            .is_some_and(|t| t.exit_code != 0 && !is_not_started_reason(t.reason))
    };
    let category = if back_off || failed_run(&current) || failed_run(&last) {
        Category::Crashed
    } else if is_not_started_reason(waiting)
        || current
            .as_ref()
            .is_some_and(|t| is_not_started_reason(t.reason))
    {
        Category::NotStarted
    } else {
        return None;
    };
    let exit_code = reported.as_ref().map(|t| t.exit_code);
    let reason = reported
        .as_ref()
        .and_then(|t| t.reason)
        .or(waiting)
        .or(pod.reason.as_deref())
        .map(str::to_string);
    let message = reported
        .as_ref()
        .and_then(|t| t.message)
        .or(match &c.state {
            ContainerState::Waiting { message, .. } => message.as_deref(),
            _ => None,
        })
        .map(str::to_string);
    Some(CrashRecord {
        pod: pod.key.clone(),
        pod_uid: pod.uid.clone(),
        container: Some(c.name.clone()),
        role: Some(c.role),
        category,
        reason,
        exit_code,
        signal: exit_code.and_then(signal_of),
        restarts: Some(c.restarts),
        finished_at: reported.as_ref().and_then(|t| t.finished_at),
        message,
        node: pod.node.clone(),
        signature: signature(&pod.key.namespace, &pod.workload, Some(&c.name), exit_code),
        workload: pod.workload.clone(),
    })
}

/// Newest crash first, nulls last; ties broken by namespace, pod, container for stable output.
pub fn sort_newest_first(records: &mut [CrashRecord]) {
    records.sort_by(newest_first);
}

/// The order of [`sort_newest_first`], for sorting references.
pub fn newest_first(a: &CrashRecord, b: &CrashRecord) -> std::cmp::Ordering {
    b.finished_at
        .is_some()
        .cmp(&a.finished_at.is_some())
        .then_with(|| b.finished_at.cmp(&a.finished_at))
        .then_with(|| a.pod.cmp(&b.pod))
        .then_with(|| a.container.cmp(&b.container))
}

#[cfg(test)]
mod tests;
