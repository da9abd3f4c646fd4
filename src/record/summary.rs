//! `summary.json`: what a recorded run saw, for a machine — read back from the record streams
//! the run wrote (`events.jsonl`, `crashes.jsonl`, `packets.jsonl`), so its counts agree with
//! the files line for line. The socket analyses are the sockets pane's reducers
//! ([`crate::state::sockets::summary::Summary`]) fed every event; what only a whole run has (the
//! TCP state histogram, exact latency percentiles, per-pod DNS replies) is counted here.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead as _;
use std::path::Path;

use jiff::Timestamp;
use ktui_wire::{EventType, SocketEvent, Stats};
use serde::Serialize;
use serde_json::{Value, json};

use crate::state::sockets::summary::{self as live, owner_label};

/// Entries listed in each top-N table.
const TOP: usize = 20;

/// Why capture stopped before the run ended, when a guardrail did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limit {
    /// `max_events` or `max_bytes`.
    pub kind: &'static str,
    pub value: u64,
    /// When it was reached (RFC 3339).
    pub reached_at: String,
}

/// The record streams, by file name.
pub const STREAMS: [&str; 3] = ["events.jsonl", "crashes.jsonl", "packets.jsonl"];

/// How long each record stream was when a run began: a run into an existing case counts
/// (and limits) only what it wrote itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Offsets(BTreeMap<&'static str, u64>);

impl Offsets {
    pub fn at(dir: &Path) -> Offsets {
        Offsets(STREAMS.iter().map(|f| (*f, size(&dir.join(f)))).collect())
    }

    pub fn of(&self, file: &str) -> u64 {
        self.0.get(file).copied().unwrap_or(0)
    }

    /// Bytes written to the streams since.
    pub fn written(&self, dir: &Path) -> u64 {
        STREAMS
            .iter()
            .map(|f| size(&dir.join(f)).saturating_sub(self.of(f)))
            .sum()
    }
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The counts of one record stream file, read back.
#[derive(Debug, Default)]
pub struct Streams {
    pub events: EventCounts,
    pub crashes: CrashCounts,
    pub packets: PacketCounts,
    /// Lines that did not parse (a file cut by a kill has none: it is sealed at its last
    /// complete line).
    pub unreadable: u64,
}

#[derive(Debug, Default)]
pub struct EventCounts {
    pub lines: u64,
    /// Events the lines stand for (an aggregated line counts `count`).
    pub represented: u64,
    pub by_type: BTreeMap<&'static str, u64>,
    /// `OLD->NEW` → transitions.
    pub tcp_states: BTreeMap<String, u64>,
    latencies: Vec<u64>,
    /// owner → (UDP :53 sends, UDP :53 receives).
    dns_by_owner: HashMap<String, (u64, u64)>,
    pub live: live::Summary,
    last_ts: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct CrashCounts {
    pub lines: u64,
    pub by_reason: BTreeMap<String, u64>,
    pub by_namespace: BTreeMap<String, u64>,
    pub signatures: std::collections::BTreeSet<String>,
}

#[derive(Debug, Default)]
pub struct PacketCounts {
    pub lines: u64,
    pub bytes: u64,
    pub by_proto: BTreeMap<String, u64>,
}

impl EventCounts {
    pub fn add(&mut self, e: &SocketEvent) {
        let n = e.count.unwrap_or(1).max(1);
        self.lines += 1;
        self.represented += n;
        *self.by_type.entry(e.kind.as_str()).or_default() += n;
        match e.kind {
            EventType::TcpState => {
                let key = format!(
                    "{}->{}",
                    e.old_state.as_deref().unwrap_or("?"),
                    e.new_state.as_deref().unwrap_or("?")
                );
                *self.tcp_states.entry(key).or_default() += n;
            }
            EventType::Connect if e.errno.unwrap_or(0) == 0 => {
                self.latencies.extend(e.latency_us);
            }
            EventType::UdpSend if e.dport == Some(53) => {
                self.dns_by_owner.entry(owner_label(e)).or_default().0 += n;
            }
            EventType::UdpRecv if e.sport == Some(53) || e.dport == Some(53) => {
                self.dns_by_owner.entry(owner_label(e)).or_default().1 += n;
            }
            _ => {}
        }
        if let Ok(ts) = e.ts.parse::<Timestamp>() {
            self.last_ts = Some(self.last_ts.map_or(ts, |t| t.max(ts)));
        }
        self.live.add(e);
    }

    fn json(&mut self, end: Timestamp) -> Value {
        self.latencies.sort_unstable();
        let pct = |p| live::percentile(&self.latencies, p);
        // "Stuck" and "unanswered" are judged at the run's end (or its last event, if later).
        let now = self.last_ts.map_or(end, |t| t.max(end));
        let stuck = self.live.syn_stuck(now);
        let stuck_list: Vec<Value> = stuck
            .iter()
            .take(TOP)
            .map(|((src, sport, dst, dport, netns), p)| {
                json!({"src": src, "sport": sport, "dst": dst, "dport": dport, "netns": netns,
                       "owner": p.owner, "since": p.since.to_string()})
            })
            .collect();
        let close_wait: Vec<Value> = self
            .live
            .close_wait_by_owner()
            .into_iter()
            .take(TOP)
            .map(|(owner, open)| json!({"owner": owner, "open": open}))
            .collect();
        let talkers = self.live.top_talkers(usize::MAX);
        let mut by_owner: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (owner, _, events, bytes) in &talkers {
            let t = by_owner.entry(owner).or_default();
            t.0 += events;
            t.1 += bytes;
        }
        let mut by_pod: Vec<(&str, (u64, u64))> = by_owner.into_iter().collect();
        by_pod.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(b.1.0.cmp(&a.1.0)));
        let mut suspects: Vec<(&String, &(u64, u64))> = self
            .dns_by_owner
            .iter()
            .filter(|(_, (sends, replies))| *sends > 0 && *replies == 0)
            .collect();
        suspects.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
        let unanswered: Vec<Value> = self
            .live
            .dns_suspects(now)
            .iter()
            .take(TOP)
            .map(|((src, sport, server, qname), p)| {
                json!({"src": src, "sport": sport, "server": server, "qname": qname,
                       "owner": p.owner, "since": p.since.to_string()})
            })
            .collect();
        json!({
            "events": {
                "lines": self.lines,
                "represented": self.represented,
                "by_type": self.by_type,
            },
            "tcp_state_transitions": self.tcp_states,
            "syn_sent_stuck": stuck_list,
            "syn_sent_stuck_total": stuck.len(),
            "close_wait": close_wait,
            "top_talkers": {
                "by_bytes": talkers.iter().take(TOP).map(|(owner, peer, events, bytes)| {
                    json!({"owner": owner, "peer": peer, "events": events, "bytes": bytes})
                }).collect::<Vec<_>>(),
                "by_pod": by_pod.iter().take(TOP).map(|(owner, (events, bytes))| {
                    json!({"owner": owner, "events": events, "bytes": bytes})
                }).collect::<Vec<_>>(),
            },
            "dns_suspects": suspects.iter().take(TOP).map(|(owner, (sends, _))| {
                json!({"owner": owner, "udp53_sends": sends, "replies": 0})
            }).collect::<Vec<_>>(),
            "dns_unanswered": unanswered,
            "connect_latency_us": {
                "samples": self.latencies.len(),
                "p50": pct(50.0),
                "p90": pct(90.0),
                "p99": pct(99.0),
            },
            "connect_failures": self.live.connect_errors.iter()
                .map(|(errno, n)| (errno_name(*errno), *n))
                .collect::<BTreeMap<String, u64>>(),
            "evicted": self.live.evicted,
        })
    }
}

impl CrashCounts {
    fn add(&mut self, line: &Value) {
        self.lines += 1;
        let s = |k: &str| {
            line.get(k)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_string()
        };
        *self.by_reason.entry(s("reason")).or_default() += 1;
        *self.by_namespace.entry(s("namespace")).or_default() += 1;
        self.signatures.insert(s("signature"));
    }
}

impl PacketCounts {
    fn add(&mut self, line: &Value) {
        self.lines += 1;
        self.bytes += line.get("len").and_then(Value::as_u64).unwrap_or(0);
        let proto = line.get("proto").and_then(Value::as_str).unwrap_or("other");
        *self.by_proto.entry(proto.to_string()).or_default() += 1;
    }
}

impl Streams {
    /// Read the record streams in `dir` from `from` on (a missing file counts nothing).
    pub fn read(dir: &Path, from: &Offsets) -> std::io::Result<Streams> {
        let mut s = Streams::default();
        each_line(&dir.join("events.jsonl"), from.of("events.jsonl"), |l| {
            match serde_json::from_slice::<SocketEvent>(l) {
                Ok(e) => s.events.add(&e),
                Err(_) => s.unreadable += 1,
            }
        })?;
        each_line(&dir.join("crashes.jsonl"), from.of("crashes.jsonl"), |l| {
            match serde_json::from_slice::<Value>(l) {
                Ok(v) => s.crashes.add(&v),
                Err(_) => s.unreadable += 1,
            }
        })?;
        each_line(&dir.join("packets.jsonl"), from.of("packets.jsonl"), |l| {
            match serde_json::from_slice::<Value>(l) {
                Ok(v) => s.packets.add(&v),
                Err(_) => s.unreadable += 1,
            }
        })?;
        Ok(s)
    }

    /// The stream keys of `summary.json` (the run's own keys are added by the driver).
    /// `losses`: the helper's last cumulative counters per source (a node, `local`).
    pub fn json(
        &mut self,
        end: Timestamp,
        losses: &BTreeMap<String, Stats>,
        limit: Option<&Limit>,
    ) -> Value {
        let Value::Object(mut map) = self.events.json(end) else {
            return Value::Null; // `json!({..})` is an object
        };
        map.insert(
            "crashes".into(),
            json!({
                "lines": self.crashes.lines,
                "signatures": self.crashes.signatures.len(),
                "by_reason": self.crashes.by_reason,
                "by_namespace": self.crashes.by_namespace,
            }),
        );
        map.insert(
            "packets".into(),
            json!({
                "lines": self.packets.lines,
                "bytes": self.packets.bytes,
                "by_proto": self.packets.by_proto,
            }),
        );
        map.insert(
            "losses".into(),
            losses
                .iter()
                .map(|(source, s)| {
                    (
                        source.clone(),
                        json!({"generated": s.generated, "delivered": s.events, "lost": s.lost,
                               "sampled_out": s.sampled_out, "rate_limited": s.rate_limited,
                               "dropped": s.dropped, "aggregated": s.aggregated}),
                    )
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
        );
        map.insert("unreadable_lines".into(), self.unreadable.into());
        map.insert("limit".into(), json!(limit));
        Value::Object(map)
    }
}

/// Call `f` with each complete line of `path` after byte `from` (none when it does not exist).
fn each_line(path: &Path, from: u64, mut f: impl FnMut(&[u8])) -> std::io::Result<()> {
    use std::io::Seek as _;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    file.seek(std::io::SeekFrom::Start(from))?;
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if !line.is_empty() {
                f(&line);
            }
        }
    }
}

/// `ECONNREFUSED (111)`; the number alone when it has no name.
pub fn errno_name(errno: i32) -> String {
    live::errno_symbol(errno).map_or_else(|| errno.to_string(), |n| format!("{n} ({errno})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventType) -> SocketEvent {
        SocketEvent::new("2026-12-01T10:00:00.000000000Z".into(), kind)
    }

    #[test]
    fn counts_agree_with_the_lines_and_aggregates() {
        let dir = tempfile::tempdir().unwrap();
        let mut lines = String::new();
        let mut push = |e: &SocketEvent| {
            lines.push_str(&serde_json::to_string(e).unwrap());
            lines.push('\n');
        };
        let mut st = ev(EventType::TcpState);
        st.old_state = Some("SYN_SENT".into());
        st.new_state = Some("ESTABLISHED".into());
        push(&st);
        let mut send = ev(EventType::UdpSend);
        send.dport = Some(53);
        send.count = Some(5);
        send.comm = Some("app".into());
        send.pid = Some(7);
        push(&send);
        for (errno, lat) in [(0, 100), (0, 300), (111, 0)] {
            let mut c = ev(EventType::Connect);
            c.errno = Some(errno);
            c.latency_us = Some(lat);
            push(&c);
        }
        std::fs::write(dir.path().join("events.jsonl"), lines + "{not json\n").unwrap();
        std::fs::write(
            dir.path().join("crashes.jsonl"),
            "{\"namespace\":\"a\",\"reason\":\"OOMKilled\",\"signature\":\"s1\"}\n\
             {\"namespace\":\"a\",\"reason\":\"OOMKilled\",\"signature\":\"s1\"}\n",
        )
        .unwrap();
        let from = Offsets::at(dir.path());
        let mut later = Streams::read(dir.path(), &from).unwrap();
        let none = later.json(Timestamp::UNIX_EPOCH, &BTreeMap::new(), None);
        assert_eq!(
            none["events"]["lines"], 0,
            "a later run counts from where it began"
        );
        assert_eq!(none["crashes"]["lines"], 0);
        assert_eq!(from.written(dir.path()), 0);
        let mut s = Streams::read(dir.path(), &Offsets::default()).unwrap();
        let v = s.json(Timestamp::UNIX_EPOCH, &BTreeMap::new(), None);
        assert_eq!(v["events"]["lines"], 5);
        assert_eq!(v["events"]["represented"], 9);
        assert_eq!(v["events"]["by_type"]["udp_send"], 5);
        assert_eq!(v["tcp_state_transitions"]["SYN_SENT->ESTABLISHED"], 1);
        assert_eq!(v["connect_latency_us"]["p50"], 100);
        assert_eq!(v["connect_latency_us"]["p99"], 300);
        assert_eq!(v["connect_failures"]["ECONNREFUSED (111)"], 1);
        assert_eq!(v["dns_suspects"][0]["owner"], "app[7]");
        assert_eq!(v["dns_suspects"][0]["udp53_sends"], 5);
        assert_eq!(v["crashes"]["lines"], 2);
        assert_eq!(v["crashes"]["signatures"], 1);
        assert_eq!(v["crashes"]["by_reason"]["OOMKilled"], 2);
        assert_eq!(v["unreadable_lines"], 1);
        assert!(v["limit"].is_null());
    }
}
