//! The annotation triggers: `ktui.dev/capture: "30s"` captures packets of the pod for that
//! long, `ktui.dev/checkpoint: "true"` checkpoints it, `ktui.dev/clone: "true"` clones it. Read
//! from the pod summaries the watch keeps ([`PodSummary::annotations`]), and run through a
//! bounded queue so a burst of annotated pods never starts more than a few actions at once.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use crate::cluster::{PodKey, PodSummary};

/// `ktui.dev/capture`: seconds to capture packets for (1..=3600), `"30"` or `"30s"`.
pub const CAPTURE: &str = "ktui.dev/capture";
/// `ktui.dev/checkpoint: "true"`: checkpoint (or live-snapshot) the pod.
pub const CHECKPOINT: &str = "ktui.dev/checkpoint";
/// `ktui.dev/clone: "true"`: make a forensic clone of the pod.
pub const CLONE: &str = "ktui.dev/clone";

/// The longest capture an annotation may ask for.
pub const MAX_CAPTURE: Duration = Duration::from_secs(3600);

/// The trigger annotations, in the order a pod's are reported.
const TRIGGERS: [&str; 3] = [CAPTURE, CHECKPOINT, CLONE];

/// Bytes of an invalid value quoted back in a message (the rest is cut).
const VALUE_SHOWN: usize = 64;

/// What a trigger asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerKind {
    Capture(Duration),
    Checkpoint,
    Clone,
}

impl TriggerKind {
    /// The action's name (`ktui_actions_total{action}`).
    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Capture(_) => "capture",
            TriggerKind::Checkpoint => "checkpoint",
            TriggerKind::Clone => "clone",
        }
    }
}

/// One action a pod's annotation asks for; `value` is the annotation's value as read, which
/// [`super::complete`] compares before removing it (a new value is a new request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub pod: PodKey,
    pub kind: TriggerKind,
    pub annotation: &'static str,
    pub value: String,
}

/// A trigger annotation whose value asks for nothing ktui can do: reported, never acted on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "pod {pod}: annotation {annotation}=\"{value}\" is not valid: {expected}; set a valid value, or remove the annotation"
)]
pub struct InvalidTrigger {
    pub pod: PodKey,
    pub annotation: &'static str,
    /// The value, sanitised and cut (it is anyone's text).
    pub value: String,
    /// What the annotation takes.
    pub expected: &'static str,
}

impl InvalidTrigger {
    /// The trigger its annotation stands for (to be answered, and removed, as failed).
    pub fn trigger(&self) -> Trigger {
        Trigger {
            pod: self.pod.clone(),
            kind: match self.annotation {
                CAPTURE => TriggerKind::Capture(Duration::ZERO),
                CHECKPOINT => TriggerKind::Checkpoint,
                _ => TriggerKind::Clone,
            },
            annotation: self.annotation,
            value: self.value.clone(),
        }
    }
}

/// The triggers a pod's annotations ask for, in the order capture, checkpoint, clone: one
/// result per trigger annotation present. `"false"` on checkpoint and clone asks for nothing
/// (no entry); any other value than `"true"` is invalid.
pub fn triggers_of(pod: &PodSummary) -> Vec<Result<Trigger, InvalidTrigger>> {
    TRIGGERS
        .iter()
        .filter_map(|&annotation| {
            let value = pod.annotation(annotation)?;
            let kind = match annotation {
                CAPTURE => capture_duration(value)
                    .map(TriggerKind::Capture)
                    .ok_or("a capture length in seconds from 1 to 3600, as \"30\" or \"30s\""),
                _ if value == "false" => return None,
                CHECKPOINT if value == "true" => Ok(TriggerKind::Checkpoint),
                CLONE if value == "true" => Ok(TriggerKind::Clone),
                _ => Err("\"true\""),
            };
            Some(
                kind.map(|kind| Trigger {
                    pod: pod.key.clone(),
                    kind,
                    annotation,
                    value: value.to_string(),
                })
                .map_err(|expected| InvalidTrigger {
                    pod: pod.key.clone(),
                    annotation,
                    value: shown(value),
                    expected,
                }),
            )
        })
        .collect()
}

/// `"30"` or `"30s"` → 30 s, within 1..=3600.
fn capture_duration(value: &str) -> Option<Duration> {
    let digits = value.strip_suffix('s').unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = digits.parse().ok()?;
    let d = Duration::from_secs(secs);
    (secs >= 1 && d <= MAX_CAPTURE).then_some(d)
}

/// An annotation value fit to quote in a message: sanitised, at most [`VALUE_SHOWN`] bytes.
fn shown(value: &str) -> String {
    let kept = crate::sanitize::cut(value, VALUE_SHOWN);
    let more = if kept.len() < value.len() { "…" } else { "" };
    format!("{}{more}", crate::sanitize::line(kept))
}

/// The triggers waiting and running: at most `max_concurrent` run at once, and each
/// (pod, annotation) is queued or running only once, however often the watch reports the
/// pod while its action runs.
#[derive(Debug)]
pub struct TriggerQueue {
    max_concurrent: usize,
    waiting: VecDeque<Trigger>,
    /// (pod, annotation) of every trigger waiting or running.
    known: HashSet<(PodKey, &'static str)>,
    running: usize,
}

impl TriggerQueue {
    /// A queue running at most `max_concurrent` actions at once (at least 1: a queue that can
    /// run nothing would hold every trigger forever).
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            max_concurrent: max_concurrent.max(1),
            waiting: VecDeque::new(),
            known: HashSet::new(),
            running: 0,
        }
    }

    /// Queue `t`; false when that (pod, annotation) is already queued or running.
    pub fn offer(&mut self, t: Trigger) -> bool {
        if !self.known.insert((t.pod.clone(), t.annotation)) {
            return false;
        }
        self.waiting.push_back(t);
        true
    }

    /// The oldest waiting trigger, now counted as running, when a slot is free.
    pub fn next_ready(&mut self) -> Option<Trigger> {
        if self.running >= self.max_concurrent {
            return None;
        }
        let t = self.waiting.pop_front()?;
        self.running += 1;
        Some(t)
    }

    /// The action of (pod, annotation) finished (or, still waiting, is no longer wanted: the
    /// pod is gone): its slot is free, and the same trigger may be offered again.
    pub fn done(&mut self, pod: &PodKey, annotation: &str) {
        let Some(key) = self
            .known
            .iter()
            .find(|(p, a)| p == pod && *a == annotation)
            .cloned()
        else {
            return;
        };
        self.known.remove(&key);
        if let Some(i) = self
            .waiting
            .iter()
            .position(|t| &t.pod == pod && t.annotation == annotation)
        {
            self.waiting.remove(i);
        } else {
            self.running = self.running.saturating_sub(1);
        }
    }

    /// How many actions run now.
    pub fn running(&self) -> usize {
        self.running
    }

    /// How many triggers wait for a slot.
    pub fn queued(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::demo::DemoCluster;

    fn pod(name: &str, annotations: &[(&str, &str)]) -> PodSummary {
        let mut p = DemoCluster::fixed().pods()[0].detail.summary.clone();
        p.key = PodKey::new("shop", name);
        p.annotations = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        p.annotations.sort();
        p
    }

    fn trigger(name: &str, annotation: &'static str) -> Trigger {
        Trigger {
            pod: PodKey::new("shop", name),
            kind: TriggerKind::Checkpoint,
            annotation,
            value: "true".into(),
        }
    }

    #[test]
    fn capture_lengths() {
        for (value, secs) in [("30", 30), ("30s", 30), ("1", 1), ("3600s", 3600)] {
            assert_eq!(
                capture_duration(value),
                Some(Duration::from_secs(secs)),
                "{value}"
            );
        }
        for value in [
            "0",
            "3601",
            "",
            "s",
            "30m",
            "-5",
            "+5",
            " 30",
            "1e3",
            "30ss",
            "99999999999999999999",
        ] {
            assert_eq!(capture_duration(value), None, "{value:?}");
        }
    }

    #[test]
    fn a_pod_asks_for_each_annotation_it_carries() {
        let p = pod(
            "web-1",
            &[
                (CLONE, "true"),
                (CAPTURE, "45s"),
                (CHECKPOINT, "true"),
                ("ktui.dev/forensic", "true"),
            ],
        );
        let kinds: Vec<TriggerKind> = triggers_of(&p)
            .into_iter()
            .map(|t| t.unwrap().kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                TriggerKind::Capture(Duration::from_secs(45)),
                TriggerKind::Checkpoint,
                TriggerKind::Clone
            ]
        );
        let t = triggers_of(&p).remove(0).unwrap();
        assert_eq!((t.annotation, t.value.as_str()), (CAPTURE, "45s"));
        assert_eq!(t.pod, PodKey::new("shop", "web-1"));
        assert!(triggers_of(&pod("quiet", &[])).is_empty());
        assert!(triggers_of(&pod("no", &[(CLONE, "false"), (CHECKPOINT, "false")])).is_empty());
    }

    #[test]
    fn invalid_values_are_reported_sanitised_not_acted_on() {
        let p = pod("web-1", &[(CAPTURE, "forever"), (CLONE, "yes\x1b[31m")]);
        let found = triggers_of(&p);
        assert_eq!(found.len(), 2);
        let capture = found[0].clone().unwrap_err();
        assert_eq!(
            capture.to_string(),
            "pod shop/web-1: annotation ktui.dev/capture=\"forever\" is not valid: a capture \
             length in seconds from 1 to 3600, as \"30\" or \"30s\"; set a valid value, or \
             remove the annotation"
        );
        let clone = found[1].clone().unwrap_err();
        assert!(!clone.value.contains('\x1b'), "{clone}");
        assert!(
            clone.to_string().contains("is not valid: \"true\""),
            "{clone}"
        );
        let long = pod("web-2", &[(CHECKPOINT, &"x".repeat(500))]);
        let err = triggers_of(&long).remove(0).unwrap_err();
        assert!(err.value.len() <= VALUE_SHOWN + 3, "{}", err.value.len());
    }

    #[test]
    fn the_queue_runs_a_bounded_number_once_each() {
        let mut q = TriggerQueue::new(2);
        assert!(q.offer(trigger("a", CLONE)));
        assert!(!q.offer(trigger("a", CLONE)), "queued twice");
        assert!(q.offer(trigger("a", CHECKPOINT)));
        assert!(q.offer(trigger("b", CLONE)));
        assert_eq!((q.running(), q.queued()), (0, 3));
        let first = q.next_ready().unwrap();
        assert_eq!((first.pod.name.as_str(), first.annotation), ("a", CLONE));
        assert!(q.next_ready().is_some());
        assert!(q.next_ready().is_none(), "only 2 at once");
        assert_eq!((q.running(), q.queued()), (2, 1));
        assert!(!q.offer(trigger("a", CLONE)), "offered while running");
        q.done(&PodKey::new("shop", "a"), CLONE);
        assert_eq!(q.running(), 1);
        assert!(q.offer(trigger("a", CLONE)), "again once done");
        let next = q.next_ready().unwrap();
        assert_eq!(next.pod.name, "b");
        assert!(q.next_ready().is_none());
        // Done for a waiting trigger (its pod went away) drops it without freeing a slot.
        q.done(&PodKey::new("shop", "a"), CLONE);
        assert_eq!((q.running(), q.queued()), (2, 0));
        q.done(&PodKey::new("shop", "nobody"), CLONE);
        assert_eq!(q.running(), 2);
    }

    #[test]
    fn a_queue_of_zero_still_runs_one() {
        let mut q = TriggerQueue::new(0);
        q.offer(trigger("a", CLONE));
        q.offer(trigger("b", CLONE));
        assert!(q.next_ready().is_some());
        assert!(q.next_ready().is_none());
    }
}
