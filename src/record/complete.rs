//! Finishing a trigger: the controller removes the annotation that asked for the action — the
//! one change ktui makes to an object it did not create, asked for by whoever set it — and
//! reports the result where the asker looks (an Event on the pod) and in the case (a custody
//! line).
//!
//! The annotation is removed with a merge patch guarded by the resourceVersion just read, and
//! only while it still holds the value that was acted on: someone who set it again meanwhile
//! asked again, and their request stays.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::lease::micro_time;
use super::triggers::{Trigger, TriggerKind};
use crate::case::{Action, Case, Entry, Target};
use crate::cluster::{Cluster, ClusterError, ObjectRef, remove_annotation_patch};
use crate::sanitize::cut;

/// How an action ended. `message` says what was done, or what failed and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ok: bool,
    pub message: String,
}

/// Reads and patches of the pod before giving up on removing the annotation (it keeps
/// changing under ktui).
const PATCH_ATTEMPTS: usize = 4;
/// The longest Event message kube-apiserver accepts on an Event with `eventTime`.
pub const EVENT_MESSAGE_MAX: usize = 1024;
/// The longest `reportingInstance` kube-apiserver accepts.
const REPORTING_INSTANCE_MAX: usize = 128;
/// A generated Event name is this much of the pod's name, `.ktui-`, and 5 characters.
const EVENT_NAME_POD_MAX: usize = 200;
/// `source.component` and `reportingComponent` of ktui's Events.
pub const COMPONENT: &str = "ktui";

/// What became of the trigger annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Removal {
    Removed,
    /// Someone removed it already.
    AlreadyGone,
    /// Its value is no longer the one acted on: a new request, left in place.
    Changed,
    /// The pod is gone (and its annotation with it).
    PodGone,
}

/// The Event reason, the Event action and the custody action of a trigger.
fn names(kind: TriggerKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        TriggerKind::Capture(_) => ("KtuiCapture", "Capture", "trigger_capture"),
        TriggerKind::Checkpoint => ("KtuiCheckpoint", "Checkpoint", "trigger_checkpoint"),
        TriggerKind::Clone => ("KtuiClone", "Clone", "trigger_clone"),
    }
}

/// Finish trigger `t` whose action ended with `outcome`: remove its annotation (unless it
/// changed meanwhile), post an Event on the pod, and write a custody line in `case`. Nothing
/// here fails the caller: what could not be done comes back as warnings (each saying what to
/// do), and the rest is still done.
pub async fn complete(
    cluster: &dyn Cluster,
    case: Option<&Case>,
    t: &Trigger,
    outcome: &Outcome,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let (uid, removal) = remove_trigger(cluster, t).await;
    let mut message = crate::sanitize::line(&outcome.message).into_owned();
    match removal {
        Ok(Removal::Changed) => message.push_str(&format!(
            " (annotation {} left in place: it was set again meanwhile, a new request)",
            t.annotation
        )),
        Ok(_) => {}
        Err(w) => warnings.push(w),
    }
    let (reason, action, custody_action) = names(t.kind);
    let event = event(t, uid.as_deref(), reason, action, outcome.ok, &message);
    match cluster.create(event).await {
        Ok(true) => {}
        Ok(false) => warnings.push(format!(
            "the Event reporting {reason} on pod {} was not posted: one of the same name exists",
            t.pod
        )),
        Err(e) => warnings.push(format!(
            "cannot post the Event reporting {reason} on pod {}: {e} (the result is still in the case's custody log)",
            t.pod
        )),
    }
    if let Some(case) = case {
        let entry = Entry {
            action: Action::from(custody_action),
            target: Target::pod(&t.pod.namespace, &t.pod.name, None),
            outcome: if outcome.ok { Ok(()) } else { Err(message) },
            artifacts: vec![],
        };
        if let Err(e) = case.record(&entry) {
            warnings.push(format!(
                "cannot write the custody line for {custody_action} on pod {}: {e}",
                t.pod
            ));
        }
    }
    warnings
}

/// Remove `t`'s annotation while it holds `t.value`, at the resourceVersion read, re-reading
/// after each conflict. Also the pod's uid, for the Event, when the pod could be read.
async fn remove_trigger(
    cluster: &dyn Cluster,
    t: &Trigger,
) -> (Option<String>, Result<Removal, String>) {
    let object = ObjectRef::pod(&t.pod);
    let by_hand = format!(
        "remove it by hand (`kubectl annotate pod -n {} {} {}-`) or the action runs again",
        t.pod.namespace, t.pod.name, t.annotation
    );
    let mut uid = None;
    for _ in 0..PATCH_ATTEMPTS {
        let pod = match cluster.get_json(object.clone()).await {
            Ok(pod) => pod,
            Err(ClusterError::NotFound { .. }) => return (uid, Ok(Removal::PodGone)),
            Err(e) => {
                return (
                    uid,
                    Err(format!(
                        "cannot read pod {} to remove its annotation {}: {e}; {by_hand}",
                        t.pod, t.annotation
                    )),
                );
            }
        };
        let meta = pod.get("metadata");
        let text = |k: &str| meta.and_then(|m| m.get(k)).and_then(Value::as_str);
        uid = text("uid").map(str::to_string);
        let resource_version = text("resourceVersion").unwrap_or_default().to_string();
        let value = meta
            .and_then(|m| m.get("annotations"))
            .and_then(|a| a.get(t.annotation))
            .and_then(Value::as_str);
        match value {
            None => return (uid, Ok(Removal::AlreadyGone)),
            Some(v) if v != t.value => return (uid, Ok(Removal::Changed)),
            Some(_) => {}
        }
        let patch = remove_annotation_patch(t.annotation, &resource_version);
        match cluster.patch_merge(object.clone(), patch).await {
            Ok(()) => return (uid, Ok(Removal::Removed)),
            Err(ClusterError::Conflict { .. }) => continue,
            Err(ClusterError::NotFound { .. }) => return (uid, Ok(Removal::PodGone)),
            Err(e) => {
                return (
                    uid,
                    Err(format!(
                        "cannot remove annotation {} from pod {}: {e}; {by_hand}",
                        t.annotation, t.pod
                    )),
                );
            }
        }
    }
    (
        uid,
        Err(format!(
            "annotation {} of pod {} was not removed: the pod changed each of the {PATCH_ATTEMPTS} times ktui tried; {by_hand}",
            t.annotation, t.pod
        )),
    )
}

/// Who reports: the host name (in a pod, the pod's name).
fn reporting_instance() -> String {
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| COMPONENT.to_string());
    cut(&host, REPORTING_INSTANCE_MAX).to_string()
}

/// The core/v1 Event reporting a trigger's result on its pod.
fn event(
    t: &Trigger,
    uid: Option<&str>,
    reason: &str,
    action: &str,
    ok: bool,
    message: &str,
) -> Value {
    let now = Timestamp::now();
    let seconds = now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut involved = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "namespace": t.pod.namespace,
        "name": t.pod.name,
    });
    if let Some(uid) = uid {
        involved["uid"] = uid.into();
    }
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": format!("{}.ktui-", cut(&t.pod.name, EVENT_NAME_POD_MAX)),
            "namespace": t.pod.namespace,
        },
        "involvedObject": involved,
        "reason": reason,
        "action": action,
        "type": if ok { "Normal" } else { "Warning" },
        "message": cut(message, EVENT_MESSAGE_MAX),
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": reporting_instance(),
        "firstTimestamp": seconds,
        "lastTimestamp": seconds,
        "eventTime": micro_time(now),
        "count": 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PodKey;

    fn trigger() -> Trigger {
        Trigger {
            pod: PodKey::new("shop", "web-1"),
            kind: TriggerKind::Capture(std::time::Duration::from_secs(30)),
            annotation: super::super::triggers::CAPTURE,
            value: "30".into(),
        }
    }

    #[test]
    fn the_event_is_what_kube_apiserver_validates() {
        let long = "é".repeat(1000);
        let e = event(
            &trigger(),
            Some("u-1"),
            "KtuiCapture",
            "Capture",
            false,
            &long,
        );
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["involvedObject"]["uid"], "u-1");
        assert_eq!(e["involvedObject"]["kind"], "Pod");
        assert_eq!(e["metadata"]["generateName"], "web-1.ktui-");
        let message = e["message"].as_str().unwrap();
        assert!(message.len() <= EVENT_MESSAGE_MAX && message.len() >= EVENT_MESSAGE_MAX - 1);
        for required in [
            "reportingComponent",
            "reportingInstance",
            "action",
            "reason",
        ] {
            assert!(!e[required].as_str().unwrap().is_empty(), "{required}");
        }
        let micro = e["eventTime"].as_str().unwrap();
        assert_eq!(micro.len(), "2024-05-01T12:00:03.123456Z".len(), "{micro}");
        let ok = event(&trigger(), None, "KtuiCapture", "Capture", true, "done");
        assert_eq!(ok["type"], "Normal");
        assert!(ok["involvedObject"].get("uid").is_none());
    }

    #[test]
    fn reasons_and_actions() {
        assert_eq!(names(TriggerKind::Checkpoint).0, "KtuiCheckpoint");
        assert_eq!(names(TriggerKind::Clone).2, "trigger_clone");
        assert_eq!(
            names(trigger().kind),
            ("KtuiCapture", "Capture", "trigger_capture")
        );
    }
}
