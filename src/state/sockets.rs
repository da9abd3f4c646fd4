//! The sockets pane: a view over the helper session's socket stream (state/helper.rs), bounded,
//! with a live summary.

pub mod summary;

use super::ring::Ring;

use jiff::Timestamp;
use ktui_wire::SocketEvent;

use crate::cluster::PodKey;
use summary::Summary;

/// Default number of events kept in the pane (`--socket-events N`).
pub const DEFAULT_CAPACITY: usize = 10_000;

/// One row of the pane: an event, or the mark of a gap in the stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Event(Box<SocketEvent>),
    Gap {
        from: Timestamp,
        to: Option<Timestamp>,
        reason: String,
    },
}

#[derive(Debug)]
pub struct SocketsState {
    /// The pane's events and gaps (events that arrive while paused are held, bounded alike).
    pub ring: Ring<Entry>,
    pub summary: Summary,
    /// Only this pod's events (by pod UID); None = the whole node.
    pub pod: Option<(PodKey, String)>,
    pub filter: String,
    /// Rows from the newest shown at the bottom (0 = following the tail).
    pub scroll_back: usize,
    pub show_summary: bool,
    /// The pane was opened this run: its subscription stands with every new session.
    pub opened: bool,
}

impl Default for SocketsState {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl SocketsState {
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: Ring::new(capacity),
            summary: Summary::default(),
            pod: None,
            filter: String::new(),
            scroll_back: 0,
            show_summary: true,
            opened: false,
        }
    }

    /// Take one event from the helper.
    pub fn ingest(&mut self, event: SocketEvent) {
        self.summary.add(&event);
        self.ring.ingest(Entry::Event(Box::new(event)));
    }

    /// The stream dropped: mark the gap (closed when the stream resumes).
    pub fn open_gap(&mut self, from: Timestamp, reason: String) {
        let gap = Entry::Gap {
            from,
            to: None,
            reason,
        };
        self.ring.push(gap);
    }

    pub fn close_gap(&mut self, to: Timestamp) {
        if let Some(Entry::Gap { to: end @ None, .. }) = self
            .ring
            .lines
            .iter_mut()
            .rev()
            .find(|e| matches!(e, Entry::Gap { .. }))
        {
            *end = Some(to);
        }
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.ring.set_paused(paused);
    }

    /// Does an entry pass the pod scope and the text filter?
    pub fn visible(&self, entry: &Entry) -> bool {
        let Entry::Event(e) = entry else {
            return true;
        };
        if let Some((_, uid)) = &self.pod
            && e.k8s.as_ref().and_then(|k| k.pod_uid.as_deref()) != Some(uid.as_str())
        {
            return false;
        }
        filter_matches(&self.filter, e)
    }

    /// Up to `rows` visible entries ending `scroll_back` rows before the newest.
    pub fn window(&self, rows: usize) -> Vec<&Entry> {
        let mut out: Vec<&Entry> = self
            .ring
            .lines
            .iter()
            .rev()
            .filter(|e| self.visible(e))
            .skip(self.scroll_back)
            .take(rows)
            .collect();
        out.reverse();
        out
    }
}

/// Filter tokens: `port:N` (either end), `proto:tcp|udp`, `state:NAME` (old or new),
/// `type:NAME`, `errno:N`; other words match anywhere in the event's text. `!` negates a token.
pub fn filter_matches(filter: &str, e: &SocketEvent) -> bool {
    filter.split_whitespace().all(|token| {
        let (negate, token) = match token.strip_prefix('!') {
            Some(t) => (true, t),
            None => (false, token),
        };
        let hit = match token.split_once(':') {
            Some(("port", p)) => p
                .parse::<u16>()
                .is_ok_and(|p| e.sport == Some(p) || e.dport == Some(p)),
            Some(("proto", p)) => e
                .proto
                .is_some_and(|x| format!("{x:?}").eq_ignore_ascii_case(p)),
            Some(("state", s)) => [&e.old_state, &e.new_state]
                .iter()
                .any(|x| x.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(s))),
            Some(("type", t)) => e.kind.as_str().eq_ignore_ascii_case(t),
            Some(("errno", n)) => n.parse::<i32>().is_ok_and(|n| e.errno == Some(n)),
            _ => text_of(e).to_lowercase().contains(&token.to_lowercase()),
        };
        hit != negate
    })
}

/// The searchable text of an event.
fn text_of(e: &SocketEvent) -> String {
    let mut s = format!(
        "{} {} {} {}:{} {}:{} {} {}",
        e.kind.as_str(),
        e.comm.as_deref().unwrap_or(""),
        e.pid.map(|p| p.to_string()).unwrap_or_default(),
        e.src.as_deref().unwrap_or(""),
        e.sport.map(|p| p.to_string()).unwrap_or_default(),
        e.dst.as_deref().unwrap_or(""),
        e.dport.map(|p| p.to_string()).unwrap_or_default(),
        e.new_state.as_deref().unwrap_or(""),
        e.drop_reason.as_deref().unwrap_or(""),
    );
    if let Some(k) = &e.k8s {
        s.push(' ');
        s.push_str(k.namespace.as_deref().unwrap_or(""));
        s.push('/');
        s.push_str(k.pod.as_deref().unwrap_or(""));
    }
    if let Some(q) = e.dns.as_ref().and_then(|d| d.qname.as_deref()) {
        s.push(' ');
        s.push_str(q);
    }
    s
}

#[cfg(test)]
mod tests {
    use ktui_wire::{EventType, Proto};

    use super::*;

    fn ev(port: u16) -> SocketEvent {
        let mut e = SocketEvent::new("2026-11-22T10:00:00.000000000Z".into(), EventType::TcpState);
        e.proto = Some(Proto::Tcp);
        e.sport = Some(port);
        e.dport = Some(443);
        e.new_state = Some("ESTABLISHED".into());
        e.comm = Some("curl".into());
        e
    }

    #[test]
    fn events_go_through_the_ring_and_the_summary() {
        let mut s = SocketsState::new(3);
        for p in 0..5 {
            s.ingest(ev(p));
        }
        assert_eq!(s.ring.lines.len(), 3);
        assert_eq!((s.ring.evicted, s.ring.received), (2, 5));
        s.set_paused(true);
        s.ingest(ev(9));
        assert_eq!(s.ring.held(), 1);
        s.set_paused(false);
        assert_eq!(s.ring.held(), 0);
    }

    #[test]
    fn filter_tokens() {
        let e = ev(5000);
        assert!(filter_matches("port:443", &e));
        assert!(filter_matches("port:5000 proto:tcp", &e));
        assert!(!filter_matches("proto:udp", &e));
        assert!(filter_matches("state:established curl", &e));
        assert!(filter_matches("!state:close_wait", &e));
        assert!(!filter_matches("type:dns", &e));
    }

    #[test]
    fn gaps_open_and_close() {
        let mut s = SocketsState::new(10);
        let t = Timestamp::UNIX_EPOCH;
        s.open_gap(t, "stream closed".into());
        s.close_gap(t + jiff::SignedDuration::from_secs(3));
        assert!(matches!(s.ring.lines[0], Entry::Gap { to: Some(_), .. }));
    }
}
