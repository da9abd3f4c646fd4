//! The annotation triggers, acted on by the record driver: each one becomes the console's own
//! intent (a capture for its seconds, a checkpoint, a clone), and its end — what the runtime
//! reported, or what the console said when it would not start — becomes the [`Outcome`] that
//! [`super::complete`] turns into the annotation's removal, an Event and a custody line.
//! At most [`MAX_CONCURRENT`] run at once ([`TriggerQueue`]); a trigger done is not taken up
//! again while the watch still shows its annotation with the same value (the removal may not
//! have reached the watch yet).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use super::complete::Outcome;
use super::triggers::{InvalidTrigger, Trigger, TriggerKind, TriggerQueue, triggers_of};
use crate::action::Action;
use crate::app::App;
use crate::cluster::{PodKey, PodSummary};
use crate::intent::Intent;
use crate::state::ToastLevel;
use crate::state::clone::ClonePhase;

/// Actions running at once.
pub const MAX_CONCURRENT: usize = 2;
/// A checkpoint or clone that has said nothing for this long is given up (and said so).
const GIVE_UP: Duration = Duration::from_secs(600);

#[derive(Debug)]
enum Phase {
    /// The clone dialog reading `request` is this trigger's.
    Clone {
        request: u64,
    },
    Checkpoint,
    /// Capturing until `until`, then stopped; `id` is the console's capture number.
    Capture {
        id: u64,
        until: Instant,
        stopped: bool,
    },
}

#[derive(Debug)]
struct Running {
    trigger: Trigger,
    phase: Phase,
    since: Instant,
}

#[derive(Debug)]
pub struct Triggers {
    queue: TriggerQueue,
    /// Clones wait here for the clone dialog (one at a time, shared with --auto-clone).
    waiting_clone: Vec<Trigger>,
    running: Vec<Running>,
    /// (pod, annotation, value) done: not acted on again while the watch shows that value.
    done: HashSet<(PodKey, &'static str, String)>,
}

impl Default for Triggers {
    fn default() -> Self {
        Triggers {
            queue: TriggerQueue::new(MAX_CONCURRENT),
            waiting_clone: Vec::new(),
            running: Vec::new(),
            done: HashSet::new(),
        }
    }
}

impl Triggers {
    /// Offer the triggers `pod` carries; the invalid ones come back (to be answered with a
    /// Warning and the annotation's removal).
    pub fn observe(&mut self, pod: &PodSummary) -> Vec<InvalidTrigger> {
        let found = triggers_of(pod);
        // What was done and is no longer annotated (the removal has reached the watch) may be
        // asked for again.
        self.done.retain(|(p, a, v)| {
            p != &pod.key || pod.annotation(a).is_some_and(|now| now == v.as_str())
        });
        let mut invalid = Vec::new();
        for t in found {
            match t {
                Ok(t) => {
                    if !self
                        .done
                        .contains(&(t.pod.clone(), t.annotation, t.value.clone()))
                    {
                        self.queue.offer(t);
                    }
                }
                Err(e) => {
                    let key = (e.pod.clone(), e.annotation, e.value.clone());
                    if self.done.insert(key) {
                        invalid.push(e);
                    }
                }
            }
        }
        invalid
    }

    /// Start what the queue lets run; the triggers that could not start, with why.
    pub fn start(&mut self, app: &mut App) -> Vec<(Trigger, Outcome)> {
        let mut ended = Vec::new();
        while let Some(t) = self.queue.next_ready() {
            match t.kind {
                TriggerKind::Clone => self.waiting_clone.push(t),
                TriggerKind::Checkpoint => {
                    app.dispatch(Action::Intent(Intent::Checkpoint(t.pod.clone())));
                    if app.state.checkpoint.is_none() {
                        ended.push(self.refused(app, t));
                    } else {
                        self.run(t, Phase::Checkpoint);
                    }
                }
                TriggerKind::Capture(_) if let Some(why) = session_elsewhere(app, &t.pod) => {
                    self.finish(&t);
                    ended.push((t, failed(why)));
                }
                TriggerKind::Capture(secs) => match start_capture(app, &t.pod) {
                    Ok(id) => self.run(
                        t,
                        Phase::Capture {
                            id,
                            until: Instant::now() + secs,
                            stopped: false,
                        },
                    ),
                    Err(why) => {
                        self.finish(&t);
                        ended.push((t, failed(format!("packet capture not started: {why}"))));
                    }
                },
            }
        }
        ended
    }

    /// A queued clone, when the clone dialog is free.
    pub fn start_clone(&mut self, app: &mut App) -> Option<(Trigger, Outcome)> {
        if clone_busy(app) || self.waiting_clone.is_empty() {
            return None;
        }
        let t = self.waiting_clone.remove(0);
        let asked = app.state.clone.requests;
        app.dispatch(Action::Intent(Intent::Clone(t.pod.clone())));
        match app.state.clone.dialog.as_ref() {
            Some(d) if d.request > asked && d.pod == t.pod => {
                let request = d.request;
                self.run(t, Phase::Clone { request });
                None
            }
            _ => Some(self.refused(app, t)),
        }
    }

    /// What an action carries for a running trigger: a checkpoint's answer, a clone's result.
    pub fn on_action(&mut self, action: &Action) -> Option<(Trigger, Outcome)> {
        match action {
            Action::Checkpointed { pod, report } => {
                let outcome = Outcome {
                    ok: report.ok(),
                    message: match &report.node_path {
                        Some(path) => format!("{} (archive on the node: {path})", report.message),
                        None if report.offers_snapshot => format!(
                            "{}; a live snapshot can preserve it: {}",
                            report.message, report.snapshot_command
                        ),
                        None => report.message.clone(),
                    },
                };
                self.end(pod, |p| matches!(p, Phase::Checkpoint), outcome)
            }
            Action::CloneCreated { pod, result } => {
                let outcome = match result {
                    Ok(c) => Outcome {
                        ok: true,
                        message: format!(
                            "created the forensic clone {} (isolated); its shell: {}",
                            c.key,
                            c.exec_line()
                        ),
                    },
                    Err(e) => failed(format!("clone failed: {e}")),
                };
                self.end(pod, |p| matches!(p, Phase::Clone { .. }), outcome)
            }
            _ => None,
        }
    }

    /// Once a second: captures whose time is up are stopped, and end once their files are in
    /// the case; a clone dialog that closed without a create (a clone of the crash exists)
    /// ends its trigger; what said nothing for too long is given up.
    pub fn poll(&mut self, app: &mut App) -> Vec<(Trigger, Outcome)> {
        let now = Instant::now();
        let mut ended = Vec::new();
        let mut i = 0;
        while i < self.running.len() {
            let r = &mut self.running[i];
            let outcome = match &mut r.phase {
                Phase::Capture { id, until, stopped } => {
                    if !*stopped && now >= *until {
                        *stopped = true;
                        app.dispatch(Action::Intent(Intent::StopCapture(r.trigger.pod.clone())));
                    }
                    let id = *id;
                    app.state
                        .packets
                        .captures
                        .iter()
                        .find(|c| c.id == id)
                        .filter(|c| c.finished())
                        .map(|c| {
                            let packets: u64 = c.files.iter().map(|f| f.packets).sum();
                            let why = c
                                .end
                                .as_ref()
                                .and_then(|e| e.message.clone())
                                .or_else(|| c.note.clone());
                            if c.files.is_empty() {
                                failed(format!(
                                    "packet capture ended without a file{}",
                                    why.map(|w| format!(": {w}")).unwrap_or_default()
                                ))
                            } else {
                                Outcome {
                                    ok: true,
                                    message: format!(
                                        "captured {packets} packets in {} file(s) into the case",
                                        c.files.len()
                                    ),
                                }
                            }
                        })
                }
                Phase::Clone { request } if !dialog_running(app, *request) => {
                    let phase = app
                        .state
                        .clone
                        .dialog
                        .as_ref()
                        .filter(|d| d.request == *request)
                        .map(|d| &d.phase);
                    Some(match phase {
                        Some(ClonePhase::Failed { doing, message }) => {
                            failed(format!("{doing}: {message}"))
                        }
                        // Closed without a create: a clone of this crash exists (said in a
                        // toast), or it was refused.
                        _ => Outcome {
                            ok: !app
                                .state
                                .toasts
                                .last()
                                .is_some_and(|t| t.level == ToastLevel::Error),
                            message: last_toast(app),
                        },
                    })
                }
                _ if now.duration_since(r.since) > GIVE_UP => Some(failed(format!(
                    "no answer within {} s: given up (see ktui's log)",
                    GIVE_UP.as_secs()
                ))),
                _ => None,
            };
            match outcome {
                Some(o) => {
                    let r = self.running.remove(i);
                    self.finish(&r.trigger);
                    ended.push((r.trigger, o));
                }
                None => i += 1,
            }
        }
        ended
    }

    /// Running (the run waits for these before it ends).
    pub fn busy(&self) -> bool {
        !self.running.is_empty()
    }

    /// The run ends (or the Lease went to another replica): nothing new starts; what waits
    /// keeps its annotation for the next holder.
    pub fn stop_new(&mut self) {
        for t in std::mem::take(&mut self.waiting_clone) {
            self.queue.done(&t.pod, t.annotation);
        }
        while let Some(t) = self.queue.next_ready() {
            self.queue.done(&t.pod, t.annotation);
        }
    }

    fn run(&mut self, trigger: Trigger, phase: Phase) {
        self.running.push(Running {
            trigger,
            phase,
            since: Instant::now(),
        });
    }

    fn refused(&mut self, app: &App, t: Trigger) -> (Trigger, Outcome) {
        self.finish(&t);
        let why = last_toast(app);
        (t, failed(why))
    }

    fn finish(&mut self, t: &Trigger) {
        self.queue.done(&t.pod, t.annotation);
        self.done
            .insert((t.pod.clone(), t.annotation, t.value.clone()));
    }

    fn end(
        &mut self,
        pod: &PodKey,
        phase: impl Fn(&Phase) -> bool,
        outcome: Outcome,
    ) -> Option<(Trigger, Outcome)> {
        let i = self
            .running
            .iter()
            .position(|r| &r.trigger.pod == pod && phase(&r.phase))?;
        let r = self.running.remove(i);
        self.finish(&r.trigger);
        Some((r.trigger, outcome))
    }
}

fn failed(message: String) -> Outcome {
    Outcome { ok: false, message }
}

/// Start a capture of `pod` with the capture form's defaults (the driver's policy answers
/// it): the console's capture number, or why none started (the defaults made no capture — a
/// local helper needs a namespace path — or the console refused it).
pub fn start_capture(app: &mut App, pod: &PodKey) -> Result<u64, String> {
    let before = app.state.packets.captures.len();
    app.dispatch(Action::Intent(Intent::StartCapture(pod.clone())));
    let form_left = app.state.packets.form.take();
    match app.state.packets.captures.get(before) {
        Some(c) if form_left.is_none() => Ok(c.id),
        _ => {
            app.state.mode = crate::state::Mode::Normal;
            Err(form_left
                .and_then(|f| f.error)
                .unwrap_or_else(|| last_toast(app)))
        }
    }
}

/// The clone dialog of `request` is still at work.
fn dialog_running(app: &App, request: u64) -> bool {
    app.state
        .clone
        .dialog
        .as_ref()
        .is_some_and(|d| d.request == request && d.running())
}

/// Why a capture of `pod` cannot run while the helper session serves another node (record
/// mode keeps one session: `--sockets` holds it), if it cannot.
fn session_elsewhere(app: &App, pod: &PodKey) -> Option<String> {
    use crate::state::helper::{Consumer, HelperTarget};
    app.state.helper.subscription(Consumer::Driver)?;
    let Some(HelperTarget::Pod { node }) = &app.state.helper.target else {
        return None;
    };
    let pod_node = app.state.pods.pod(pod).and_then(|p| p.node.clone())?;
    (pod_node != *node).then(|| {
        format!(
            "pod {pod} runs on node {pod_node}, and this run's helper session traces node {node} (--sockets): one node at a time; capture it from a run on that node"
        )
    })
}

fn clone_busy(app: &App) -> bool {
    app.state.clone.dialog.as_ref().is_some_and(|d| d.running())
}

/// What the console said last (why an intent did not start).
fn last_toast(app: &App) -> String {
    app.state.toasts.last().map_or_else(
        || "the console did not start it".to_string(),
        |t| t.text.clone(),
    )
}
