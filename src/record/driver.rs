//! The `--record` loop: the console's [`App`] with no terminal, fed by the same runtime. Before
//! each action is handled the driver notes what it carries for the record streams (socket
//! stats, packet lines, clone results); after it, the crashes the pod list now shows. A tick a
//! second flushes the streams, prints the status line, checks the guardrails and sends the
//! next queued clone. The run ends at `--duration`, on SIGINT/SIGTERM (a second one exits at
//! once: every stream is whole lines up to the last one written), or when the watch fails.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktui_wire::{Filters, HelperMessage, Stats};
use tokio::signal::unix::{SignalKind, signal};

use super::actions::Triggers;
use super::complete::{self, Outcome};
use super::crashes::CrashLog;
use super::finish;
use super::metrics::Metrics;
use super::selector::{self, Selector};
use super::status::{Counts, StatusLine};
use super::summary::Limit;
use super::triggers::{InvalidTrigger, Trigger};
use crate::action::Action;
use crate::app::App;
use crate::case::{Case, StreamMeta, StreamWriter};
use crate::cli::RecordFlags;
use crate::cluster::{Cluster, PodEvent, PodKey, Scope};
use crate::intent::Intent;
use crate::state::helper::HelperSource;

/// Why the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Duration,
    Signal,
    /// The pod watch failed for good (RBAC, the cluster gone).
    WatchFailed,
    /// Another replica holds the Lease now (this one could not renew it in time).
    LeaseLost,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Duration => "duration",
            Stop::Signal => "signal",
            Stop::WatchFailed => "watch_failed",
            Stop::LeaseLost => "lease_lost",
        }
    }
}

/// What the run is, as the driver was asked.
pub struct Plan {
    pub flags: RecordFlags,
    pub scope: Scope,
    pub demo: bool,
    pub source: HelperSource,
}

/// What a run saw, beyond what its streams hold (for the summary and the metrics).
#[derive(Debug, Default)]
pub struct Seen {
    /// Source (node, `local`) → the helper's last cumulative counters.
    pub losses: BTreeMap<String, Stats>,
    /// Node name → the helper's hello there.
    pub hellos: BTreeMap<String, ktui_wire::Hello>,
    /// Nodes the pods that crashed ran on.
    pub crash_nodes: BTreeSet<String>,
    pub events: u64,
    pub clones_created: u64,
    pub clone_errors: Vec<String>,
    /// Crashes whose signature was already cloned (or queued) in the window: counted, not
    /// cloned again.
    pub clones_deduplicated: u64,
    pub limit: Option<Limit>,
    /// Errors said on the way (a stream that could not be written, a failed capture).
    pub errors: Vec<String>,
    /// A record stream could not be written (the disk, the case's size cap): the run exits 1.
    pub evidence_failed: bool,
    /// Sizes of the record streams when the run began.
    pub offsets: super::summary::Offsets,
}

pub struct Driver {
    app: App,
    case: Case,
    plan: Plan,
    crashes: CrashLog,
    packets: StreamWriter,
    /// The empty `events.jsonl` of a run without `--sockets` (with it, the runtime writes it).
    events_placeholder: Option<StreamWriter>,
    seen: Seen,
    status: StatusLine,
    started: Instant,
    /// Pods traced or captured once the first list is in.
    listed: bool,
    traced: bool,
    /// Clone intents waiting for the clone dialog to be free, and the signatures asked for.
    clone_queue: VecDeque<PodKey>,
    /// Signature → when its clone was asked for (again after `--dedup-window`).
    cloned_signatures: HashMap<String, Instant>,
    /// The signature each queued or running auto-clone is for.
    clone_signature: HashMap<PodKey, String>,
    /// Error toasts already said.
    toasts_said: HashSet<String>,
    /// Sizes of the record streams when this run began (a reused DIR): this run's bytes count
    /// from there.
    offsets: super::summary::Offsets,
    capturing: bool,
    /// Captures whose end was said.
    ended_said: HashSet<u64>,
    /// What `--metrics-addr` serves.
    pub metrics: Arc<Metrics>,
    cluster: Arc<dyn Cluster>,
    /// The annotation triggers (controller mode: a Lease is held), and their completions
    /// (annotation removed, Event, custody line) in flight.
    triggers: Option<Triggers>,
    completing: Vec<tokio::task::JoinHandle<()>>,
    /// Set by the Lease's renewer when another replica took over.
    lease_lost: Option<tokio::sync::watch::Receiver<bool>>,
    selector: Option<Selector>,
}

impl Driver {
    pub fn new(
        app: App,
        case: Case,
        plan: Plan,
        cluster: Arc<dyn Cluster>,
        metrics: Arc<Metrics>,
        controller: bool,
    ) -> crate::case::Result<Driver> {
        let selector = plan
            .flags
            .selector
            .clone()
            .map(|s| Selector::start(cluster.clone(), &plan.scope, s));
        let offsets = super::summary::Offsets::at(case.dir());
        let crashes = CrashLog::open(&case)?;
        let packets = case.open_stream(StreamMeta::top_level("packets", "jsonl")?)?;
        let events_placeholder = if plan.flags.sockets && plan.source != HelperSource::DemoReplay {
            None
        } else {
            Some(case.open_stream(StreamMeta::top_level("events", "jsonl")?)?)
        };
        Ok(Driver {
            app,
            case,
            plan,
            crashes,
            packets,
            events_placeholder,
            seen: Seen::default(),
            status: StatusLine::new(),
            started: Instant::now(),
            listed: false,
            traced: false,
            clone_queue: VecDeque::new(),
            cloned_signatures: HashMap::new(),
            clone_signature: HashMap::new(),
            toasts_said: HashSet::new(),
            offsets,
            capturing: false,
            ended_said: HashSet::new(),
            metrics,
            cluster,
            triggers: controller.then(Triggers::default),
            completing: Vec::new(),
            lease_lost: None,
            selector,
        })
    }

    /// Run until the duration, a signal, or a failed watch; then finish (summary, node files,
    /// bundle, upload). Returns the exit code.
    /// Stop when `lost` turns true (the Lease's renewer).
    pub fn lease_lost(&mut self, lost: tokio::sync::watch::Receiver<bool>) {
        self.lease_lost = Some(lost);
    }

    pub async fn run(mut self) -> u8 {
        let (mut sigint, mut sigterm) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => {
                self.status
                    .say(&format!("cannot install the signal handlers: {e}"));
                return 1;
            }
        };
        let deadline = self.plan.flags.duration.map(|d| self.started + d);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let stop = loop {
            let until = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                action = self.app.next_action() => match action {
                    Some(action) => self.handle(action),
                    None => break Stop::WatchFailed,
                },
                _ = tick.tick() => {
                    if let Some(stop) = self.on_tick() {
                        break stop;
                    }
                }
                Some(answer) = selector::next(&mut self.selector) => self.on_selector(answer),
                () = lost(&mut self.lease_lost) => {
                    self.status.say("another replica holds the Lease now: finishing");
                    break Stop::LeaseLost;
                }
                _ = sigint.recv() => break Stop::Signal,
                _ = sigterm.recv() => break Stop::Signal,
                () = until => break Stop::Duration,
            }
        };
        // A second signal ends the process at once: every stream holds whole lines (each is
        // one write), and the next open of the case seals what is open.
        tokio::spawn(async move {
            tokio::select! {
                _ = sigint.recv() => {}
                _ = sigterm.recv() => {}
            }
            eprintln!(
                "\nktui record: second signal: exiting now; the case is sealed at its next open"
            );
            std::process::exit(1);
        });
        self.status.end();
        if stop == Stop::Signal {
            self.status
                .say("stopping: flushing the streams, then the summary and the bundle (a second signal exits at once)");
        }
        self.wind_down().await;
        for task in std::mem::take(&mut self.completing) {
            let _ = task.await;
        }
        self.seen.offsets = self.offsets.clone();
        let Driver {
            app,
            case,
            plan,
            cluster,
            crashes,
            packets,
            events_placeholder,
            mut seen,
            mut status,
            started,
            ..
        } = self;
        drop(app);
        for (what, closed) in [
            ("crashes.jsonl", crashes.close()),
            ("packets.jsonl", packets.close().map(|_| ())),
            (
                "events.jsonl",
                events_placeholder.map_or(Ok(()), |w| w.close().map(|_| ())),
            ),
        ] {
            if let Err(e) = closed {
                seen.errors.push(format!("closing {what}: {e}"));
            }
        }
        let ran = finish::Run {
            started_at: jiff::Timestamp::now()
                - jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default(),
            elapsed: started.elapsed(),
            stop,
        };
        finish::finish(&case, cluster.as_ref(), &plan, &ran, &mut seen, &mut status).await
    }

    /// Note what `action` carries, let the app handle it, then look at the pods it changed.
    fn handle(&mut self, action: Action) {
        let applied = match &action {
            Action::Pods(PodEvent::Applied(pod)) => Some(pod.key.clone()),
            _ => None,
        };
        let resynced = matches!(action, Action::Pods(PodEvent::ResyncDone));
        self.before(&action);
        if let Some((t, o)) = self.triggers.as_mut().and_then(|tr| tr.on_action(&action)) {
            self.complete(t, o);
        }
        self.app.dispatch(action);
        if let Some(key) = applied {
            self.crashes_of(&key);
            self.triggers_of(&key);
        }
        if resynced && !self.listed {
            self.listed = true;
            self.start_streams();
        }
    }

    fn before(&mut self, action: &Action) {
        match action {
            Action::HelperConnected(hello) => {
                let node = hello.node.clone().unwrap_or_else(|| "local".to_string());
                self.seen.hellos.insert(node, (**hello).clone());
            }
            Action::HelperMessages(messages) => self.messages(messages),
            Action::CloneCreated { pod, result } => match result {
                Ok(created) => {
                    self.seen.clones_created += 1;
                    self.metrics.clone_created(&pod.namespace);
                    self.status
                        .say(&format!("created clone {} of {pod}", created.key));
                }
                Err(e) => {
                    self.metrics.clone_error(&pod.namespace, "create");
                    self.seen.clone_errors.push(format!("{pod}: {e}"));
                    // A later crash of that signature may try again.
                    if let Some(sig) = self.clone_signature.remove(pod) {
                        self.cloned_signatures.remove(&sig);
                    }
                    self.status.say(&format!("clone of {pod} failed: {e}"));
                }
            },
            Action::EvidenceFailed { what, error } => {
                let text = format!("could not keep {what}: {error}");
                self.status.say(&text);
                self.seen.errors.push(text);
            }
            Action::HelperDeployFailed(e) => {
                let text = format!("the helper could not be deployed: {e}");
                self.status.say(&text);
                self.seen.errors.push(text);
            }
            Action::HelperStreamLost {
                error,
                retry_in: None,
                ..
            } => {
                let text = format!("the helper session ended: {error}");
                self.status.say(&text);
                self.seen.errors.push(text);
            }
            _ => {}
        }
    }

    fn messages(&mut self, messages: &[HelperMessage]) {
        let source = self.source_name();
        let mut by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
        for m in messages {
            match m {
                HelperMessage::Socket { event } => {
                    self.seen.events += 1;
                    *by_type.entry(event.kind.as_str()).or_default() +=
                        event.count.unwrap_or(1).max(1);
                }
                HelperMessage::Stats(stats) => {
                    self.seen.losses.insert(source.clone(), *stats);
                    self.metrics
                        .set_events_lost(&source, stats.lost + stats.dropped);
                }
                HelperMessage::Packet { id, p } if self.seen.limit.is_none() => {
                    let mut v = serde_json::to_value(p).unwrap_or_default();
                    if let (Some(obj), Some(pod)) = (v.as_object_mut(), self.capture_pod(*id)) {
                        obj.insert("pod".into(), pod.to_string().into());
                    }
                    let line = crate::sanitize::json::to_string(&v).unwrap_or_default();
                    if let Err(e) = self.packets.write_line(line.as_bytes()) {
                        self.stream_failed("packets.jsonl", &e);
                    }
                }
                _ => {}
            }
        }
        for (kind, n) in by_type {
            self.metrics.events(kind, n);
        }
    }

    fn source_name(&self) -> String {
        match &self.app.state.helper.target {
            Some(crate::state::helper::HelperTarget::Pod { node }) => node.clone(),
            Some(crate::state::helper::HelperTarget::DemoReplay) => "demo".to_string(),
            _ => "local".to_string(),
        }
    }

    fn capture_pod(&self, wire_id: u64) -> Option<&PodKey> {
        self.app
            .state
            .packets
            .captures
            .iter()
            .find(|c| c.segments.iter().any(|s| s.wire_id == wire_id))
            .map(|c| &c.pod)
    }

    fn stream_failed(&mut self, what: &str, e: &crate::case::CaseError) {
        self.seen.evidence_failed = true;
        let text = format!("cannot write {what}: {e}");
        if !self.seen.errors.contains(&text) {
            self.status.say(&text);
            self.seen.errors.push(text);
        }
    }

    /// Each termination of `key` not written yet goes into crashes.jsonl; a signature new to
    /// this run is queued for a clone (`--auto-clone`).
    fn crashes_of(&mut self, key: &PodKey) {
        if !self.in_scope(key) {
            return;
        }
        let records: Vec<_> = self.app.state.pods.records_of(key).to_vec();
        for r in records {
            if r.category != crate::triage::Category::Crashed {
                continue;
            }
            match self.crashes.add(&r) {
                Ok(false) => continue,
                Ok(true) => {}
                Err(e) => {
                    self.stream_failed("crashes.jsonl", &e);
                    continue;
                }
            }
            if let Some(node) = &r.node {
                self.seen.crash_nodes.insert(node.clone());
            }
            self.metrics
                .crash(&r.pod.namespace, r.reason.as_deref().unwrap_or("-"));
            if self.plan.flags.auto_clone {
                let window = self.plan.flags.dedup_window;
                let fresh = self
                    .cloned_signatures
                    .get(&r.signature)
                    .is_none_or(|at| at.elapsed() >= window);
                if fresh {
                    self.cloned_signatures
                        .insert(r.signature.clone(), Instant::now());
                    self.clone_signature
                        .insert(r.pod.clone(), r.signature.clone());
                    self.clone_queue.push_back(r.pod.clone());
                } else {
                    self.seen.clones_deduplicated += 1;
                }
            }
        }
    }

    /// Named by --pod (when given) and matching --selector (when given; a pod not known to
    /// match yet is decided at the next answer).
    fn in_scope(&mut self, key: &PodKey) -> bool {
        if !(self.plan.flags.pods.is_empty() || self.plan.flags.pods.contains(&key.name)) {
            return false;
        }
        match &mut self.selector {
            None => true,
            Some(s) if s.matching.contains(key) => true,
            Some(s) => {
                s.pending.insert(key.clone());
                false
            }
        }
    }

    fn on_selector(&mut self, answer: Result<HashSet<PodKey>, String>) {
        let Some(s) = self.selector.as_mut() else {
            return;
        };
        match answer {
            Ok(matching) => {
                s.matching = matching;
                let pending: Vec<PodKey> = s.pending.drain().collect();
                for key in pending {
                    self.crashes_of(&key);
                }
            }
            Err(e) => {
                if !self.seen.errors.contains(&e) {
                    self.status.say(&e);
                    self.seen.errors.push(e);
                }
            }
        }
    }

    /// The trigger annotations of an in-scope pod (controller mode); an invalid one is
    /// answered at once (a Warning Event, the annotation removed).
    fn triggers_of(&mut self, key: &PodKey) {
        if self.triggers.is_none() || !self.in_scope(key) {
            return;
        }
        let Some(pod) = self.app.state.pods.pod(key).cloned() else {
            return;
        };
        let invalid: Vec<InvalidTrigger> = self
            .triggers
            .as_mut()
            .map(|t| t.observe(&pod))
            .unwrap_or_default();
        for e in invalid {
            let t = e.trigger();
            self.complete(
                t,
                Outcome {
                    ok: false,
                    message: e.to_string(),
                },
            );
        }
    }

    /// A trigger's end: the annotation removed, an Event on the pod, a custody line (in a
    /// task: the run waits for it before it ends).
    fn complete(&mut self, t: Trigger, o: Outcome) {
        self.metrics
            .action(t.kind.name(), if o.ok { "ok" } else { "error" });
        self.status.say(&format!(
            "{} on {}: {}{}",
            t.annotation,
            t.pod,
            if o.ok { "" } else { "failed: " },
            o.message
        ));
        let (cluster, case) = (self.cluster.clone(), self.case.clone());
        self.completing.push(tokio::spawn(async move {
            for w in complete::complete(cluster.as_ref(), Some(&case), &t, &o).await {
                eprintln!("ktui record: {}", crate::sanitize::line(&w));
            }
        }));
    }

    /// Once the first list is in: the socket trace and the packet captures asked for.
    fn start_streams(&mut self) {
        if self.plan.flags.sockets && !self.traced {
            self.traced = true;
            let (node, pod_uids) = self.trace_target();
            let f = &self.plan.flags;
            let filters = Filters {
                pod_uids,
                ports: f.ports.clone(),
                dns_only: f.dns_only,
                sample: f.sample.unwrap_or(0),
                max_events: f.max_events,
                ..Filters::default()
            };
            self.app
                .dispatch(Action::Intent(Intent::Trace { node, filters }));
        }
        if self.plan.flags.packets && !self.capturing {
            self.capturing = true;
            for key in self.named_pods() {
                if let Err(why) = super::actions::start_capture(&mut self.app, &key) {
                    let text = format!("the packets of {key} are not captured: {why}");
                    self.status.say(&text);
                    self.seen.errors.push(text);
                }
            }
        }
    }

    /// The --pod pods in the list.
    fn named_pods(&self) -> Vec<PodKey> {
        let ns = match &self.plan.scope {
            Scope::Namespace(ns) => Some(ns.as_str()),
            Scope::All => None,
        };
        self.plan
            .flags
            .pods
            .iter()
            .filter_map(|name| {
                self.app
                    .state
                    .pods
                    .all()
                    .map(|p| &p.key)
                    .find(|k| k.name == *name && ns.is_none_or(|n| k.namespace == n))
                    .cloned()
            })
            .collect()
    }

    /// Where the trace runs and which pods it keeps: the node of the first --pod (a cluster
    /// helper serves one node); on this machine (local helper) every event unless pods named
    /// are in a real cluster.
    fn trace_target(&mut self) -> (Option<String>, Vec<String>) {
        let mut keys = self.named_pods();
        if keys.is_empty()
            && let Some(sel) = &self.selector
        {
            keys = sel.matching.iter().cloned().collect();
        }
        let pods: Vec<_> = keys
            .iter()
            .filter_map(|k| self.app.state.pods.pod(k))
            .map(|p| (p.node.clone(), p.uid.clone()))
            .collect();
        let uids = if self.plan.demo {
            Vec::new() // the demo's pods do not run on this machine
        } else {
            pods.iter().map(|(_, uid)| uid.clone()).collect()
        };
        let node = pods.iter().find_map(|(n, _)| n.clone()).or_else(|| {
            // The node most pods in scope run on.
            let mut count: BTreeMap<&str, usize> = BTreeMap::new();
            for n in self.app.state.pods.all().filter_map(|p| p.node.as_deref()) {
                *count.entry(n).or_default() += 1;
            }
            count
                .into_iter()
                .max_by_key(|(_, n)| *n)
                .map(|(n, _)| n.to_string())
        });
        if self.plan.source == HelperSource::Cluster
            && let Some(n) = &node
        {
            self.status.say(&format!(
                "socket events from the helper on node {n} (one node per run)"
            ));
        }
        (node, uids)
    }

    /// Once a second: flush, guardrails, the next clone, the status line.
    fn on_tick(&mut self) -> Option<Stop> {
        if let Err(e) = self.crashes.tick() {
            self.stream_failed("crashes.jsonl", &e);
        }
        if let Err(e) = self.packets.tick() {
            self.stream_failed("packets.jsonl", &e);
        }
        if let Some(fatal) = self.app.state.fatal.clone() {
            self.status
                .say(&format!("the pod watch failed: {fatal}; finishing"));
            self.seen.errors.push(format!("pod watch: {fatal}"));
            return Some(Stop::WatchFailed);
        }
        self.say_capture_ends();
        let bytes = self.stream_bytes();
        self.guardrails(bytes);
        self.poll_triggers();
        self.say_errors();
        self.next_clone();
        self.run_triggers();
        let drops = self
            .seen
            .losses
            .values()
            .map(|s| s.lost + s.sampled_out + s.rate_limited + s.dropped)
            .sum();
        self.status.show(
            self.started.elapsed(),
            self.plan.flags.duration,
            Counts {
                crashes: self.crashes.written,
                events: self.seen.events,
                drops,
                bytes,
            },
        );
        None
    }

    /// A capture that ended other than by the run's stop is said once (refused, not started,
    /// the helper's error), with the helper's words.
    fn say_capture_ends(&mut self) {
        let ended: Vec<(u64, String)> = self
            .app
            .state
            .packets
            .captures
            .iter()
            .filter(|c| !self.ended_said.contains(&c.id))
            .filter_map(|c| {
                let end = c.end.as_ref()?;
                let why = end.message.clone().or_else(|| c.note.clone());
                Some((
                    c.id,
                    format!(
                        "the capture of {} ended ({}){}",
                        c.pod,
                        end.reason.as_str(),
                        why.map(|w| format!(": {w}")).unwrap_or_default()
                    ),
                ))
            })
            .collect();
        for (id, text) in ended {
            self.ended_said.insert(id);
            if self.capturing {
                self.status.say(&text);
                self.seen.errors.push(text);
            }
        }
    }

    /// Bytes this run wrote to the record streams.
    fn stream_bytes(&self) -> u64 {
        self.offsets.written(self.case.dir())
    }

    /// What the console says as an error (a toast on screen) is said here too, once, and
    /// kept in the summary: a helper not deployed without --deploy-helper, a refused capture.
    fn say_errors(&mut self) {
        let new: Vec<String> = self
            .app
            .state
            .toasts
            .iter()
            .filter(|t| t.level == crate::state::ToastLevel::Error)
            .map(|t| t.text.clone())
            .filter(|t| !self.toasts_said.contains(t))
            .collect();
        for text in new {
            self.toasts_said.insert(text.clone());
            self.status.say(&text);
            self.seen.errors.push(text);
        }
    }

    /// `--max-events` / `--max-bytes`: stop the trace and the captures, once, and say so.
    fn guardrails(&mut self, bytes: u64) {
        if self.seen.limit.is_some() {
            return;
        }
        let f = &self.plan.flags;
        let hit = match (f.max_events, f.max_bytes) {
            (Some(n), _) if self.seen.events >= n => Some(("max_events", n)),
            (_, Some(n)) if bytes >= n => Some(("max_bytes", n)),
            _ => None,
        };
        let Some((kind, value)) = hit else { return };
        self.seen.limit = Some(Limit {
            kind,
            value,
            reached_at: jiff::Timestamp::now().to_string(),
        });
        self.status.say(&format!(
            "--{} {value} reached: socket events and packet capture stopped (crashes are still recorded)",
            kind.replace('_', "-")
        ));
        self.stop_capture();
    }

    fn stop_capture(&mut self) {
        self.app.dispatch(Action::Intent(Intent::Untrace));
        if self.capturing {
            self.capturing = false;
            for key in self.named_pods() {
                self.app.dispatch(Action::Intent(Intent::StopCapture(key)));
            }
        }
    }

    /// Start the triggers the queue lets run, the next clone one when the dialog is free, and
    /// end those whose action is over.
    fn run_triggers(&mut self) {
        let Some(mut triggers) = self.triggers.take() else {
            return;
        };
        let mut ended = triggers.start(&mut self.app);
        ended.extend(triggers.start_clone(&mut self.app));
        self.triggers = Some(triggers);
        for (t, o) in ended {
            self.complete(t, o);
        }
    }

    /// End the triggers whose action is over (before anything else may take the clone
    /// dialog).
    fn poll_triggers(&mut self) {
        let Some(mut triggers) = self.triggers.take() else {
            return;
        };
        let ended = triggers.poll(&mut self.app);
        self.triggers = Some(triggers);
        for (t, o) in ended {
            self.complete(t, o);
        }
    }

    /// One clone at a time: the next queued one when the clone dialog is free.
    fn next_clone(&mut self) {
        let busy = self
            .app
            .state
            .clone
            .dialog
            .as_ref()
            .is_some_and(|d| d.running());
        if busy {
            return;
        }
        if let Some(pod) = self.clone_queue.pop_front() {
            self.status
                .say(&format!("cloning {pod} (a new crash signature)"));
            self.app.dispatch(Action::Intent(Intent::Clone(pod)));
        }
    }

    /// Stop the streams and let the work in flight land: captures' last files, clones,
    /// evidence of the last crashes.
    async fn wind_down(&mut self) {
        self.stop_capture();
        if let Some(t) = self.triggers.as_mut() {
            t.stop_new();
        }
        self.clone_queue.clear();
        // Captures end with their last file fetched into the case; clones finish.
        let until = Instant::now() + FINISH_BOUND;
        while Instant::now() < until {
            let capturing = self
                .app
                .state
                .packets
                .captures
                .iter()
                .any(|c| !c.finished());
            let cloning = self
                .app
                .state
                .clone
                .dialog
                .as_ref()
                .is_some_and(|d| d.running());
            let triggering = self.triggers.as_ref().is_some_and(Triggers::busy);
            if !capturing && !cloning && !triggering {
                break;
            }
            self.poll_triggers();
            match tokio::time::timeout(Duration::from_millis(200), self.app.next_action()).await {
                Ok(Some(action)) => self.handle(action),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        let left = self.app.finish(FINISH_BOUND).await;
        while let Ok(Some(action)) =
            tokio::time::timeout(Duration::from_millis(50), self.app.next_action()).await
        {
            self.handle(action);
        }
        for what in left {
            let text = format!("did not finish in time: {what}");
            self.status.say(&text);
            self.seen.errors.push(text);
        }
    }
}

/// Never, without a Lease; else when its renewer says it was lost.
async fn lost(lease: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match lease {
        Some(rx) => {
            while !*rx.borrow() {
                if rx.changed().await.is_err() {
                    return std::future::pending().await;
                }
            }
        }
        None => std::future::pending().await,
    }
}

/// How long the end waits for captures, clones and evidence in flight.
const FINISH_BOUND: Duration = Duration::from_secs(30);
