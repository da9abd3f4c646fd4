//! The helper session, apart from any pane: where the helper runs, the connection's status,
//! its hello and loss counters, the helper pods this run deployed, and the requests the
//! console has standing with it (keyed by id, sent again on every (re)connect: the covering
//! subscription by the runtime, the capture requests by the reducer under new ids). The
//! sockets pane is a view over its socket stream, the packets pane over its captures.

use std::collections::BTreeMap;

use jiff::Timestamp;
use ktui_wire::{CaptureSpec, ConsoleMessage, Filters, Hello, Stats};

/// Where the helper runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperTarget {
    /// `ktui-helper serve` as a local child process (`--helper local`).
    Local,
    /// A helper pod on a node, reached by exec.
    Pod { node: String },
    /// The bundled recording of real events, replayed (`--demo`).
    DemoReplay,
}

impl HelperTarget {
    pub fn label(&self) -> String {
        match self {
            HelperTarget::Local => "local helper".to_string(),
            HelperTarget::Pod { node } => format!("helper on node {node}"),
            HelperTarget::DemoReplay => "DEMO REPLAY (recorded events)".to_string(),
        }
    }
}

/// Where socket events come from in this run (fixed at start by the flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HelperSource {
    /// Deploy a helper pod on the node of the pod under investigation.
    #[default]
    Cluster,
    /// `--helper local`.
    Local,
    /// `--demo` without `--helper local`: the bundled recording.
    DemoReplay,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperStatus {
    Idle,
    /// Deploying: which step.
    Deploying(String),
    Connecting,
    Connected,
    Reconnecting {
        attempt: u32,
        reason: String,
    },
    Failed(String),
    /// Removing the helper pod of this node.
    Removing(String),
    Removed,
}

/// Who asked for a socket subscription (each consumer has at most one, replaced in place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Consumer {
    /// The sockets pane (its pod or the whole node).
    SocketsPane,
    /// A driver without a pane (record mode, a script driving intents): its own filters.
    Driver,
}

#[derive(Debug)]
pub struct HelperSession {
    pub source: HelperSource,
    /// The image a deployed helper pod runs (`--helper-image`).
    pub image: String,
    pub target: Option<HelperTarget>,
    pub status: HelperStatus,
    pub hello: Option<Hello>,
    /// Latest cumulative counters from the helper.
    pub stats: Stats,
    /// Events per second, from the last two stats messages.
    pub rate: f64,
    last_stats: Option<(Timestamp, u64)>,
    /// The helper pod's image ID (digest), once deployed.
    pub image_id: Option<String>,
    /// The last error the helper reported (or a line that could not be read).
    pub last_error: Option<String>,
    pub bad_lines: u64,
    /// Shown in the deploy confirmation (Pod Security level, node architecture).
    pub deploy_warning: Option<String>,
    /// Nodes where this run deployed a helper pod (asked about on exit).
    pub deployed: Vec<String>,
    /// Why the deploy question is asked (a helper lacking what a feature needs), shown in it.
    pub deploy_reason: Option<String>,
    /// Standing socket subscriptions by consumer: (request id, filters).
    subscriptions: BTreeMap<Consumer, (u64, Filters)>,
    /// Standing capture requests by id: sent again, under new ids, on every new stream (the
    /// helper's captures end with the stream that asked for them).
    captures: BTreeMap<u64, CaptureSpec>,
    next_id: u64,
}

impl HelperSession {
    pub fn new(source: HelperSource) -> Self {
        Self {
            source,
            image: crate::helper::manifest::default_image(),
            target: None,
            status: HelperStatus::Idle,
            hello: None,
            stats: Stats::default(),
            rate: 0.0,
            last_stats: None,
            image_id: None,
            last_error: None,
            bad_lines: 0,
            deploy_warning: None,
            deployed: Vec::new(),
            deploy_reason: None,
            subscriptions: BTreeMap::new(),
            captures: BTreeMap::new(),
            next_id: 1,
        }
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Stand a subscription for `consumer` (replacing its previous one).
    pub fn subscribe(&mut self, consumer: Consumer, filters: Filters) {
        let id = self.next_id();
        self.subscriptions.insert(consumer, (id, filters));
    }

    pub fn unsubscribe(&mut self, consumer: Consumer) {
        self.subscriptions.remove(&consumer);
    }

    pub fn subscription(&self, consumer: Consumer) -> Option<&Filters> {
        self.subscriptions.get(&consumer).map(|(_, f)| f)
    }

    /// Stand a capture request: its id and the message that asks for it.
    pub fn stand_capture(&mut self, spec: CaptureSpec) -> (u64, ConsoleMessage) {
        let id = self.next_id();
        self.captures.insert(id, spec.clone());
        (id, ConsoleMessage::CaptureStart { id, spec })
    }

    /// The capture request `id` no longer stands (stopped, over, refused); whether it stood.
    pub fn end_capture(&mut self, id: u64) -> bool {
        self.captures.remove(&id).is_some()
    }

    pub fn capture_stands(&self, id: u64) -> bool {
        self.captures.contains_key(&id)
    }

    /// A new stream said hello: every standing capture is asked for again under a fresh id
    /// (the old ids ended with the old stream); (old id, new id, the message), in id order.
    pub fn restand_captures(&mut self) -> Vec<(u64, u64, ConsoleMessage)> {
        let old = std::mem::take(&mut self.captures);
        old.into_iter()
            .map(|(was, spec)| {
                let (id, msg) = self.stand_capture(spec);
                (was, id, msg)
            })
            .collect()
    }

    /// What the helper must be told now: the one subscription that covers every standing one
    /// (the helper keeps one at a time; each consumer filters what it shows), or an
    /// unsubscribe when none stands. Sent on every change and after every (re)connect.
    pub fn standing(&self) -> ConsoleMessage {
        let mut all = self.subscriptions.values();
        let Some((first_id, first)) = all.next() else {
            return ConsoleMessage::Unsubscribe { id: 0 };
        };
        let (mut id, mut merged) = (*first_id, first.clone());
        for (other_id, f) in all {
            id = id.max(*other_id);
            merged = covering(&merged, f);
        }
        ConsoleMessage::Subscribe {
            id,
            filters: merged,
        }
    }

    /// Cumulative counters from the helper. Events/s counts what the lines stand for (a
    /// folded storm at its real rate, not its few lines), measured over at least a second:
    /// the helper reports once a second, a replay with every event, and the clock only moves
    /// on ticks.
    pub fn set_stats(&mut self, stats: Stats, now: Timestamp) {
        let seen = stats.events + stats.aggregated;
        match self.last_stats {
            Some((at, events)) => {
                let secs = now.duration_since(at).as_secs_f64();
                if secs >= 1.0 {
                    self.rate = seen.saturating_sub(events) as f64 / secs;
                    self.last_stats = Some((now, seen));
                }
            }
            None => self.last_stats = Some((now, seen)),
        }
        self.stats = stats;
    }

    /// The stream dropped: the rate starts over with the next stats.
    pub fn lost(&mut self) {
        self.last_stats = None;
    }
}

/// Filters that let through everything either of `a` and `b` lets through. A list that is
/// empty means "any", so it stays empty when either is; limits (sampling, rate limit, event
/// and byte caps) are kept only when both ask for the same.
pub fn covering(a: &Filters, b: &Filters) -> Filters {
    fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
        if a.is_empty() || b.is_empty() {
            return Vec::new();
        }
        let mut all: Vec<T> = a.to_vec();
        for x in b {
            if !all.contains(x) {
                all.push(x.clone());
            }
        }
        all
    }
    fn same<T: PartialEq + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
        (a == b).then_some(a).flatten()
    }
    Filters {
        pod_uids: union(&a.pod_uids, &b.pod_uids),
        ports: union(&a.ports, &b.ports),
        netns: union(&a.netns, &b.netns),
        protocols: union(&a.protocols, &b.protocols),
        dns_only: a.dns_only && b.dns_only,
        // 0 and 1 both keep every event.
        sample: if a.sample.max(1) == b.sample.max(1) {
            a.sample
        } else {
            0
        },
        rate_limit: same(a.rate_limit, b.rate_limit),
        max_events: same(a.max_events, b.max_events),
        max_bytes: same(a.max_bytes, b.max_bytes),
        no_sec: a.no_sec && b.no_sec,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str) -> Filters {
        Filters {
            pod_uids: vec![uid.to_string()],
            ..Filters::default()
        }
    }

    #[test]
    fn one_subscription_covers_every_standing_one() {
        let mut s = HelperSession::new(HelperSource::Cluster);
        assert_eq!(s.standing(), ConsoleMessage::Unsubscribe { id: 0 });
        s.subscribe(Consumer::SocketsPane, pod("a"));
        s.subscribe(
            Consumer::Driver,
            Filters {
                dns_only: true,
                ..pod("b")
            },
        );
        let ConsoleMessage::Subscribe { id, filters } = s.standing() else {
            panic!("a subscription stands");
        };
        assert_eq!(id, 2, "the newest request's id");
        assert_eq!(filters.pod_uids, vec!["a".to_string(), "b".to_string()]);
        assert!(!filters.dns_only, "the pane wants more than DNS");
        // The pane's subscription replaced in place: still two standing.
        s.subscribe(Consumer::SocketsPane, Filters::default());
        let ConsoleMessage::Subscribe { filters, .. } = s.standing() else {
            panic!("a subscription stands");
        };
        assert!(filters.pod_uids.is_empty(), "the whole node covers pod b");
        s.unsubscribe(Consumer::SocketsPane);
        s.unsubscribe(Consumer::Driver);
        assert!(matches!(s.standing(), ConsoleMessage::Unsubscribe { .. }));
    }

    #[test]
    fn standing_captures_are_asked_for_again_under_new_ids() {
        let mut s = HelperSession::new(HelperSource::Local);
        s.subscribe(Consumer::SocketsPane, pod("a"));
        let spec = |path: &str| {
            CaptureSpec::new(ktui_wire::CaptureTarget::Netns {
                path: path.to_string(),
            })
        };
        let (a, msg) = s.stand_capture(spec("/run/netns/a"));
        assert!(matches!(msg, ConsoleMessage::CaptureStart { id, .. } if id == a));
        let (b, _) = s.stand_capture(spec("/run/netns/b"));
        assert!(s.end_capture(a) && !s.end_capture(a));
        let again = s.restand_captures();
        assert_eq!(again.len(), 1);
        let (was, now, msg) = &again[0];
        assert_eq!(*was, b);
        assert!(*now > b && s.capture_stands(*now) && !s.capture_stands(b));
        let ConsoleMessage::CaptureStart { id, spec: sent } = msg else {
            panic!("{msg:?}");
        };
        assert_eq!(id, now);
        assert_eq!(sent, &spec("/run/netns/b"));
        // The subscription is not a capture: it stands apart.
        assert!(matches!(s.standing(), ConsoleMessage::Subscribe { .. }));
    }

    #[test]
    fn limits_survive_only_when_every_subscription_asks_for_them() {
        let a = Filters {
            sample: 10,
            ports: vec![53],
            ..Filters::default()
        };
        let b = Filters {
            sample: 10,
            ports: vec![443, 53],
            ..Filters::default()
        };
        let c = covering(&a, &b);
        assert_eq!(c.sample, 10);
        assert_eq!(c.ports, vec![53, 443]);
        let d = covering(
            &c,
            &Filters {
                sample: 0,
                ..b.clone()
            },
        );
        assert_eq!(d.sample, 0);
    }

    #[test]
    fn events_per_second_over_a_second_however_often_stats_come() {
        let mut s = HelperSession::new(HelperSource::Cluster);
        let t0: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let at = |ms: i64| t0 + jiff::SignedDuration::from_millis(ms);
        let stats = |events: u64| Stats {
            events,
            generated: events,
            ..Stats::default()
        };
        // A replay: stats with every event, the clock moving only on ticks (250 ms).
        let mut events = 0;
        for tick in 0..=8 {
            for _ in 0..50 {
                events += 1;
                s.set_stats(stats(events), at(tick * 250));
            }
        }
        assert_eq!(s.stats.events, 450);
        // 50 events per 250 ms tick: 200/s, measured over whole seconds.
        assert!((s.rate - 200.0).abs() < 1.0, "{}", s.rate);
    }

    #[test]
    fn rate_from_stats() {
        let mut s = HelperSession::new(HelperSource::Cluster);
        let t = Timestamp::UNIX_EPOCH;
        s.set_stats(
            Stats {
                events: 100,
                ..Stats::default()
            },
            t,
        );
        s.set_stats(
            Stats {
                events: 600,
                ..Stats::default()
            },
            t + jiff::SignedDuration::from_secs(2),
        );
        assert_eq!(s.rate, 250.0);
    }
}
