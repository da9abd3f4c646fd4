//! The live summary of socket events: connections stuck in SYN_SENT, CLOSE_WAIT accumulation per
//! pod, top talkers, DNS queries without replies, connect latency percentiles and failures by
//! errno, retransmits per peer. Each metric is a small reducer fed one event at a time; every map
//! is bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use jiff::Timestamp;
use ktui_wire::{EventType, SocketEvent};

/// Entries kept per map before the oldest are evicted.
const MAP_CAP: usize = 10_000;
/// Connect latencies kept for percentiles.
const LATENCY_SAMPLES: usize = 4_096;
/// DNS round trips kept per resolver for percentiles.
const RTT_SAMPLES: usize = 1_024;
/// A SYN without an answer for this long is "stuck".
pub const SYN_STUCK_AFTER_MS: i64 = 1_000;
/// A DNS query without a reply for this long is a suspect.
pub const DNS_SUSPECT_AFTER_MS: i64 = 2_000;
/// A connect through a Service VIP that takes this long has stalled.
pub const VIP_STALL_US: u64 = 1_000_000;
/// Backends remembered per Service VIP.
const VIP_BACKENDS: usize = 16;

/// Who owns an event, for grouping: the pod when known, else pid/comm.
pub fn owner_label(e: &SocketEvent) -> String {
    if let Some(k) = &e.k8s
        && let (Some(ns), Some(pod)) = (&k.namespace, &k.pod)
    {
        return format!("{ns}/{pod}");
    }
    match (&e.comm, e.pid) {
        (Some(c), Some(p)) => format!("{c}[{p}]"),
        (Some(c), None) => c.clone(),
        (None, Some(p)) => format!("pid {p}"),
        (None, None) => "?".to_string(),
    }
}

/// A connection's identity (local end, remote end, netns).
pub type Tuple = (String, u16, String, u16, u64);

fn tuple(e: &SocketEvent) -> Option<Tuple> {
    Some((
        e.src.clone()?,
        e.sport?,
        e.dst.clone()?,
        e.dport?,
        e.netns.unwrap_or(0),
    ))
}

fn parse_ts(ts: &str) -> Option<Timestamp> {
    ts.parse().ok()
}

/// Insert with a bound: when full, drop an arbitrary old entry (maps here are caches of
/// in-flight state; losing one only under floods is acceptable and counted).
fn bounded_insert<K: std::hash::Hash + Eq + Clone, V>(
    map: &mut HashMap<K, V>,
    order: &mut VecDeque<K>,
    key: K,
    value: V,
    evicted: &mut u64,
) {
    if !map.contains_key(&key) {
        order.push_back(key.clone());
        while map.len() >= MAP_CAP {
            match order.pop_front() {
                Some(old) => {
                    if map.remove(&old).is_some() {
                        *evicted += 1;
                    }
                }
                None => break,
            }
        }
    }
    map.insert(key, value);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub since: Timestamp,
    pub owner: String,
}

/// An outstanding DNS query: (local addr, local port, server, qname).
pub type DnsQuery = (String, u16, String, String);

#[derive(Debug, Default)]
pub struct Summary {
    /// SYN_SENT connections awaiting an answer.
    syn: HashMap<Tuple, Pending>,
    syn_order: VecDeque<Tuple>,
    /// Connections in CLOSE_WAIT (the application has not closed its end).
    close_wait: HashMap<Tuple, Pending>,
    close_wait_order: VecDeque<Tuple>,
    /// Outstanding DNS queries: (local addr, local port, server, qname) → when.
    dns: HashMap<DnsQuery, Pending>,
    dns_order: VecDeque<DnsQuery>,
    /// DNS replies by rcode.
    pub dns_rcodes: BTreeMap<u8, u64>,
    /// Resolver (`addr:53`) → round trips of its answers (µs), the latest kept.
    dns_rtt: HashMap<String, VecDeque<u64>>,
    dns_rtt_order: VecDeque<String>,
    /// (owner, peer) → (events, bytes).
    talkers: HashMap<(String, String), (u64, u64)>,
    talkers_order: VecDeque<(String, String)>,
    latencies: VecDeque<u64>,
    pub connects_ok: u64,
    /// errno → count.
    pub connect_errors: BTreeMap<i32, u64>,
    /// peer → retransmits.
    retransmits: HashMap<String, u64>,
    retransmits_order: VecDeque<String>,
    /// drop reason → count.
    pub drops: BTreeMap<String, u64>,
    /// Service VIP (`addr:port` a connect went to, translated by the node) → its connects.
    vips: HashMap<String, Vip>,
    vips_order: VecDeque<String>,
    /// Entries evicted from full maps (so the summary never silently under-reports).
    pub evicted: u64,
}

/// Connects through one Service VIP (a destination the node's conntrack translated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vip {
    pub ok: u64,
    /// Connects that succeeded but took longer than [`VIP_STALL_US`].
    pub stalled: u64,
    /// errno → failed connects.
    pub failed: BTreeMap<i32, u64>,
    /// What the connects were translated to (`addr:port`), the first few.
    pub backends: BTreeSet<String>,
}

impl Vip {
    pub fn troubled(&self) -> u64 {
        self.stalled + self.failed.values().sum::<u64>()
    }
}

impl Summary {
    pub fn add(&mut self, e: &SocketEvent) {
        let Some(at) = parse_ts(&e.ts) else {
            return;
        };
        let owner = owner_label(e);
        if e.kind == EventType::Connect {
            self.vip(e);
        }
        match e.kind {
            EventType::TcpState => self.tcp_state(e, at, owner),
            EventType::Connect => match e.errno {
                Some(errno) if errno != 0 => {
                    *self.connect_errors.entry(errno).or_default() += 1;
                }
                _ => {
                    self.connects_ok += 1;
                    if let Some(l) = e.latency_us {
                        if self.latencies.len() == LATENCY_SAMPLES {
                            self.latencies.pop_front();
                        }
                        self.latencies.push_back(l);
                    }
                }
            },
            EventType::TcpRetransmit => {
                if let Some(peer) = peer(e) {
                    let n =
                        self.retransmits.get(&peer).copied().unwrap_or(0) + e.count.unwrap_or(1);
                    bounded_insert(
                        &mut self.retransmits,
                        &mut self.retransmits_order,
                        peer,
                        n,
                        &mut self.evicted,
                    );
                }
            }
            EventType::UdpSend | EventType::UdpRecv => self.talk(e, owner),
            EventType::Dns => self.dns(e, at, owner),
            EventType::Drop => {
                let reason = e
                    .drop_reason
                    .clone()
                    .unwrap_or_else(|| "unknown".to_string());
                *self.drops.entry(reason).or_default() += e.count.unwrap_or(1);
            }
            EventType::TcpReset => {}
        }
    }

    /// A connect the node translated (DNAT, seen from the client): counted for its VIP.
    fn vip(&mut self, e: &SocketEvent) {
        let Some((vip, backend)) = translation(e) else {
            return;
        };
        if !self.vips.contains_key(&vip) {
            bounded_insert(
                &mut self.vips,
                &mut self.vips_order,
                vip.clone(),
                Vip::default(),
                &mut self.evicted,
            );
        }
        let Some(v) = self.vips.get_mut(&vip) else {
            return;
        };
        match e.errno {
            Some(errno) if errno != 0 => *v.failed.entry(errno).or_default() += 1,
            _ if e.latency_us.is_some_and(|l| l >= VIP_STALL_US) => v.stalled += 1,
            _ => v.ok += 1,
        }
        if v.backends.len() < VIP_BACKENDS {
            v.backends.insert(backend);
        }
    }

    /// Service VIPs with failed or stalled connects, most troubled first.
    pub fn troubled_vips(&self) -> Vec<(&String, &Vip)> {
        let mut v: Vec<(&String, &Vip)> =
            self.vips.iter().filter(|(_, v)| v.troubled() > 0).collect();
        v.sort_by(|a, b| {
            b.1.troubled()
                .cmp(&a.1.troubled())
                .then_with(|| a.0.cmp(b.0))
        });
        v
    }

    fn talk(&mut self, e: &SocketEvent, owner: String) {
        let Some(peer) = peer(e) else {
            return;
        };
        let key = (owner, peer);
        let (n, b) = self.talkers.get(&key).copied().unwrap_or((0, 0));
        bounded_insert(
            &mut self.talkers,
            &mut self.talkers_order,
            key,
            (n + e.count.unwrap_or(1), b + e.bytes.unwrap_or(0)),
            &mut self.evicted,
        );
    }

    fn tcp_state(&mut self, e: &SocketEvent, at: Timestamp, owner: String) {
        let Some(t) = tuple(e) else {
            return;
        };
        let new = e.new_state.as_deref().unwrap_or("");
        if new == "SYN_SENT" {
            bounded_insert(
                &mut self.syn,
                &mut self.syn_order,
                t.clone(),
                Pending {
                    since: at,
                    owner: owner.clone(),
                },
                &mut self.evicted,
            );
        } else if e.old_state.as_deref() == Some("SYN_SENT") {
            self.syn.remove(&t);
        }
        if new == "CLOSE_WAIT" {
            bounded_insert(
                &mut self.close_wait,
                &mut self.close_wait_order,
                t,
                Pending { since: at, owner },
                &mut self.evicted,
            );
        } else if e.old_state.as_deref() == Some("CLOSE_WAIT") {
            self.close_wait.remove(&t);
        }
    }

    fn dns(&mut self, e: &SocketEvent, at: Timestamp, owner: String) {
        let Some(info) = &e.dns else {
            return;
        };
        let qname = info.qname.clone().unwrap_or_default();
        let (Some(src), Some(sport), Some(dst)) = (e.src.clone(), e.sport, e.dst.clone()) else {
            return;
        };
        let key = (src, sport, dst, qname);
        match info.rcode {
            None => bounded_insert(
                &mut self.dns,
                &mut self.dns_order,
                key,
                Pending { since: at, owner },
                &mut self.evicted,
            ),
            Some(rcode) => {
                let resolver = resolver_of(&key);
                self.dns.remove(&key);
                *self.dns_rcodes.entry(rcode).or_default() += 1;
                if let Some(rtt) = e.rtt_us {
                    if let Some(samples) = self.dns_rtt.get_mut(&resolver) {
                        if samples.len() == RTT_SAMPLES {
                            samples.pop_front();
                        }
                        samples.push_back(rtt);
                    } else {
                        bounded_insert(
                            &mut self.dns_rtt,
                            &mut self.dns_rtt_order,
                            resolver,
                            VecDeque::from([rtt]),
                            &mut self.evicted,
                        );
                    }
                }
            }
        }
    }

    /// Connections in SYN_SENT for longer than the threshold at `now`, oldest first.
    pub fn syn_stuck(&self, now: Timestamp) -> Vec<(&Tuple, &Pending)> {
        older_than(&self.syn, now, SYN_STUCK_AFTER_MS)
    }

    /// CLOSE_WAIT sockets per owner, most first.
    pub fn close_wait_by_owner(&self) -> Vec<(String, usize)> {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for p in self.close_wait.values() {
            *counts.entry(p.owner.as_str()).or_default() += 1;
        }
        let mut v: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(k, n)| (k.to_string(), n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }

    /// DNS queries without a reply after the threshold: ((src, sport, server, qname), pending).
    pub fn dns_suspects(&self, now: Timestamp) -> Vec<(&DnsQuery, &Pending)> {
        older_than(&self.dns, now, DNS_SUSPECT_AFTER_MS)
    }

    /// Per resolver: answers timed, round-trip p50 and p99 (µs), and queries without a reply
    /// after the suspect threshold at `now`; slowest p99 first, resolvers with unanswered
    /// queries but no timed answers last.
    pub fn resolvers(&self, now: Timestamp) -> Vec<ResolverStats> {
        let mut by: HashMap<String, ResolverStats> = HashMap::new();
        for (resolver, samples) in &self.dns_rtt {
            let mut v: Vec<u64> = samples.iter().copied().collect();
            v.sort_unstable();
            by.insert(
                resolver.clone(),
                ResolverStats {
                    resolver: resolver.clone(),
                    answers: v.len(),
                    p50_us: percentile(&v, 50.0),
                    p99_us: percentile(&v, 99.0),
                    unanswered: 0,
                },
            );
        }
        for (k, _) in self.dns_suspects(now) {
            let r = resolver_of(k);
            by.entry(r.clone())
                .or_insert_with(|| ResolverStats {
                    resolver: r,
                    answers: 0,
                    p50_us: None,
                    p99_us: None,
                    unanswered: 0,
                })
                .unanswered += 1;
        }
        let mut v: Vec<ResolverStats> = by.into_values().collect();
        v.sort_by(|a, b| {
            b.p99_us
                .cmp(&a.p99_us)
                .then(b.unanswered.cmp(&a.unanswered))
                .then_with(|| a.resolver.cmp(&b.resolver))
        });
        v
    }

    /// (owner, peer, events, bytes), by bytes then events, top `n`.
    pub fn top_talkers(&self, n: usize) -> Vec<(String, String, u64, u64)> {
        let mut v: Vec<_> = self
            .talkers
            .iter()
            .map(|((o, p), (c, b))| (o.clone(), p.clone(), *c, *b))
            .collect();
        v.sort_by(|a, b| {
            b.3.cmp(&a.3)
                .then(b.2.cmp(&a.2))
                .then_with(|| a.0.cmp(&b.0))
        });
        v.truncate(n);
        v
    }

    /// How many (owner, peer) pairs have talked.
    pub fn talker_count(&self) -> usize {
        self.talkers.len()
    }

    /// Connect latency percentile in µs (nearest rank), None without samples.
    pub fn latency_percentile(&self, p: f64) -> Option<u64> {
        let mut v: Vec<u64> = self.latencies.iter().copied().collect();
        v.sort_unstable();
        percentile(&v, p)
    }

    /// Retransmits per peer, most first.
    pub fn retransmits_by_peer(&self) -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = self
            .retransmits
            .iter()
            .map(|(k, n)| (k.clone(), *n))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// One resolver's DNS figures (see [`Summary::resolvers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverStats {
    pub resolver: String,
    pub answers: usize,
    pub p50_us: Option<u64>,
    pub p99_us: Option<u64>,
    pub unanswered: usize,
}

/// The symbol of an errno connect() (or a socket) usually fails with.
pub fn errno_symbol(errno: i32) -> Option<&'static str> {
    Some(match errno {
        1 => "EPERM",
        4 => "EINTR",
        11 => "EAGAIN",
        13 => "EACCES",
        22 => "EINVAL",
        24 => "EMFILE",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        115 => "EINPROGRESS",
        _ => return None,
    })
}

/// Nearest-rank percentile of sorted samples, None without any.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

/// The server end of a DNS exchange: the local end when it is the one on port 53 (a server
/// on this node), else the remote one.
fn resolver_of(k: &DnsQuery) -> String {
    endpoint(if k.1 == 53 { &k.0 } else { &k.2 }, Some(53))
}

/// `addr:port`, `[v6]:port`, or the address alone without a port.
pub fn endpoint(addr: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if addr.contains(':') => format!("[{addr}]:{p}"),
        Some(p) => format!("{addr}:{p}"),
        None => addr.to_string(),
    }
}

/// For an event of the client's side of a flow the node destination-translated: (what it was
/// sent to, what answered), as `addr:port`.
pub fn translation(e: &SocketEvent) -> Option<(String, String)> {
    let ct = e.conntrack.as_ref()?;
    if !ct.nat.as_deref()?.contains("dnat") {
        return None;
    }
    let (orig, reply) = (ct.orig.as_ref()?, ct.reply.as_ref()?);
    let client_side = e.dst.as_deref() == Some(orig.dst.as_str()) && e.dport == orig.dport;
    client_side.then(|| {
        (
            endpoint(&orig.dst, orig.dport),
            endpoint(&reply.src, reply.sport),
        )
    })
}

fn peer(e: &SocketEvent) -> Option<String> {
    e.dst.as_deref().map(|d| endpoint(d, e.dport))
}

fn older_than<K>(map: &HashMap<K, Pending>, now: Timestamp, ms: i64) -> Vec<(&K, &Pending)> {
    let mut v: Vec<(&K, &Pending)> = map
        .iter()
        .filter(|(_, p)| now.duration_since(p.since).as_millis() >= i128::from(ms))
        .collect();
    v.sort_by_key(|(_, p)| p.since);
    v
}

#[cfg(test)]
mod tests;
