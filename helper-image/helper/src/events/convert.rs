//! Records → `ktui_wire::SocketEvent`: wall-clock time, addresses, state names, DNS fields,
//! drop reason names, Kubernetes identity, the node's conntrack entry.

use std::collections::HashMap;
use std::time::Instant;

use ktui_wire::{Direction, EventType, ProcNs, Proto, SecContext, SocketEvent};

use super::decode::Record;
use super::layout::*;
use crate::conntrack::Tuple;
use crate::conntrack::lookup::{Ask, Lookup};
use crate::dns;
use crate::dns_rtt::RoundTrips;
use crate::k8s::Resolver;
use crate::netfmt::{self, IPPROTO_TCP, IPPROTO_UDP};

/// Everything conversion needs besides the record.
pub struct Converter {
    /// CLOCK_MONOTONIC → Unix nanoseconds.
    pub clock_offset: i128,
    pub drop_reasons: HashMap<u32, String>,
    pub resolver: Option<Resolver>,
    /// DNS queries waiting for their answers.
    round_trips: RoundTrips,
    /// The node's conntrack entries (None: not annotated).
    pub conntrack: Option<Lookup>,
    /// The helper's own network namespace (whose conntrack table it reads), 0 if unknown.
    pub own_netns: u32,
}

fn kind(k: u16) -> Option<EventType> {
    Some(match k {
        KIND_TCP_STATE => EventType::TcpState,
        KIND_TCP_RETRANSMIT => EventType::TcpRetransmit,
        KIND_TCP_RESET => EventType::TcpReset,
        KIND_CONNECT => EventType::Connect,
        KIND_UDP_SEND => EventType::UdpSend,
        KIND_UDP_RECV => EventType::UdpRecv,
        KIND_DNS => EventType::Dns,
        KIND_DROP => EventType::Drop,
        _ => return None,
    })
}

impl Converter {
    pub fn new(drop_reasons: HashMap<u32, String>, resolver: Option<Resolver>) -> Self {
        Self {
            clock_offset: netfmt::monotonic_to_unix_offset(),
            drop_reasons,
            resolver,
            round_trips: RoundTrips::default(),
            conntrack: None,
            own_netns: std::fs::metadata("/proc/self/ns/net")
                .map(|m| std::os::unix::fs::MetadataExt::ino(&m) as u32)
                .unwrap_or(0),
        }
    }

    /// A kernel timestamp (CLOCK_MONOTONIC ns) as UTC RFC 3339.
    pub fn wall_clock(&self, ts_ns: u64) -> String {
        netfmt::rfc3339_nanos(i128::from(ts_ns) + self.clock_offset)
    }

    pub fn drop_reason_name(&self, reason: u32) -> String {
        self.drop_reasons
            .get(&reason)
            .cloned()
            .unwrap_or_else(|| format!("UNKNOWN_{reason}"))
    }

    /// gid, ppid, namespaces and security context of the owner (`--no-sec` strips the latter
    /// in the emitter).
    fn process_context(p: &KtuiProc, out: &mut SocketEvent) {
        if p.known == 0 {
            return;
        }
        let nz = |v: u32| (v != 0).then_some(u64::from(v));
        out.gid = Some(p.gid);
        out.ppid = (p.ppid != 0).then_some(p.ppid);
        out.ns = Some(ProcNs {
            net: nz(p.ns_net),
            mnt: nz(p.ns_mnt),
            pid: nz(p.ns_pid),
            user: nz(p.ns_user),
        });
        if p.sec_known != 0 {
            out.sec = Some(SecContext {
                seccomp_mode: Some(p.seccomp_mode),
                caps_eff: Some(format!("{:016x}", p.caps_eff)),
            });
        }
    }

    /// The event line for one record (`count` for folded events). None for an unknown
    /// record kind (a newer object than this binary: skipped, never invented).
    pub fn convert(&mut self, r: &Record, count: Option<u64>, now: Instant) -> Option<SocketEvent> {
        let e = &r.ev;
        let kind = kind(e.kind)?;
        let mut out = SocketEvent::new(self.wall_clock(e.ts_ns), kind);
        out.count = count;
        out.proto = match e.proto {
            IPPROTO_TCP => Some(Proto::Tcp),
            IPPROTO_UDP => Some(Proto::Udp),
            _ => None,
        };
        if e.pid != 0 {
            out.pid = Some(e.pid);
            out.tid = (e.tid != 0).then_some(e.tid);
            out.comm = netfmt::comm(&e.comm);
            out.uid = Some(e.uid);
            Self::process_context(&e.proc, &mut out);
        }
        (out.src, out.sport) = netfmt::endpoint(e.family, &e.saddr, e.sport);
        (out.dst, out.dport) = netfmt::endpoint(e.family, &e.daddr, e.dport);
        match kind {
            EventType::TcpState => {
                out.old_state = netfmt::tcp_state_name(e.old_state).map(str::to_string);
                out.new_state = netfmt::tcp_state_name(e.new_state).map(str::to_string);
            }
            EventType::TcpRetransmit | EventType::TcpReset => {
                out.new_state = netfmt::tcp_state_name(e.new_state).map(str::to_string);
            }
            EventType::Connect => {
                out.latency_us = Some(e.latency_ns / 1000);
            }
            EventType::UdpSend | EventType::UdpRecv | EventType::Dns => {
                if e.err == 0 {
                    out.bytes = Some(e.bytes);
                }
            }
            EventType::Drop => {
                out.drop_reason = Some(self.drop_reason_name(e.drop_reason));
            }
        }
        if matches!(kind, EventType::TcpReset | EventType::Drop | EventType::Dns) {
            out.direction = match e.direction {
                DIR_SEND => Some(Direction::Send),
                DIR_RECV => Some(Direction::Recv),
                _ => None,
            };
        }
        if e.err > 0 {
            out.errno = Some(e.err);
        }
        out.netns = (e.netns != 0).then_some(u64::from(e.netns));
        out.cgroup_id = (e.cgroup_id != 0).then_some(e.cgroup_id);
        if kind == EventType::Dns {
            let info = dns::parse(r.payload.as_deref().unwrap_or_default());
            out.rtt_us = self.round_trips.observe(e, &info);
            out.dns = Some(info);
        }
        // Loopback flows of another namespace (a pod's sidecar traffic) are in that
        // namespace's table, never in the node's: not looked up.
        if let Some(ct) = self.conntrack.as_mut()
            && let Some(t) =
                Tuple::of_event(e.family, e.proto, &e.saddr, e.sport, &e.daddr, e.dport)
            && !(t.is_loopback() && e.netns != self.own_netns)
        {
            let ask = match kind {
                EventType::TcpState | EventType::Connect | EventType::TcpReset => Ask::Always,
                EventType::UdpRecv => Ask::IfUnreplied,
                EventType::Dns if e.direction == DIR_RECV => Ask::IfUnreplied,
                _ => Ask::IfUnknown,
            };
            out.conntrack = ct.find(&t, ask, now).map(|entry| entry.to_wire());
        }
        if let Some(resolver) = self.resolver.as_mut() {
            out.k8s = resolver
                .resolve(out.cgroup_id, out.pid, out.netns, now)
                .map(|id| id.to_wire());
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv() -> Converter {
        let mut c = Converter::new(HashMap::from([(2, "NO_SOCKET".to_string())]), None);
        c.clock_offset = 1_795_000_000_000_000_000;
        c
    }

    #[test]
    fn tcp_state_line_has_every_key() {
        let mut ev = KtuiEvent {
            ts_ns: 5,
            kind: KIND_TCP_STATE,
            family: netfmt::AF_INET,
            proto: IPPROTO_TCP,
            sport: 40000,
            dport: 80,
            old_state: 2,
            new_state: 1,
            pid: 10,
            tid: 11,
            netns: 4026531840,
            ..Default::default()
        };
        ev.saddr[..4].copy_from_slice(&[127, 0, 0, 1]);
        ev.daddr[..4].copy_from_slice(&[127, 0, 0, 2]);
        ev.comm[..4].copy_from_slice(b"curl");
        let out = conv()
            .convert(&Record { ev, payload: None }, None, Instant::now())
            .unwrap();
        let line = serde_json::to_string(&out).unwrap();
        assert_eq!(
            line,
            "{\"ts\":\"2026-11-18T11:06:40.000000005Z\",\"type\":\"tcp_state\",\"proto\":\"tcp\",\
             \"pid\":10,\"tid\":11,\"comm\":\"curl\",\"src\":\"127.0.0.1\",\"sport\":40000,\
             \"dst\":\"127.0.0.2\",\"dport\":80,\"old_state\":\"SYN_SENT\",\
             \"new_state\":\"ESTABLISHED\",\"bytes\":null,\"latency_us\":null,\"errno\":null,\
             \"direction\":null,\"netns\":4026531840,\"dns\":null,\"drop_reason\":null,\
             \"k8s\":null,\"count\":null,\"cgroup_id\":null,\"first_ts\":null,\
             \"uid\":0,\"gid\":null,\"ppid\":null,\"ns\":null,\"sec\":null,\
             \"conntrack\":null,\"rtt_us\":null}"
        );
    }

    #[test]
    fn drops_dns_and_connect_errors() {
        let mut c = conv();
        let drop = KtuiEvent {
            kind: KIND_DROP,
            drop_reason: 2,
            direction: DIR_RECV,
            ..Default::default()
        };
        let out = c
            .convert(
                &Record {
                    ev: drop,
                    payload: None,
                },
                Some(7),
                Instant::now(),
            )
            .unwrap();
        assert_eq!(out.drop_reason.as_deref(), Some("NO_SOCKET"));
        assert_eq!(out.count, Some(7));
        assert_eq!(out.direction, Some(Direction::Recv));
        assert_eq!(out.pid, None);
        let unknown = KtuiEvent {
            kind: KIND_DROP,
            drop_reason: 999,
            ..Default::default()
        };
        let out = c
            .convert(
                &Record {
                    ev: unknown,
                    payload: None,
                },
                Some(1),
                Instant::now(),
            )
            .unwrap();
        assert_eq!(out.drop_reason.as_deref(), Some("UNKNOWN_999"));

        let q = dns::build_query(7, "kubernetes.default.svc", 1);
        let ev = KtuiEvent {
            kind: KIND_DNS,
            proto: IPPROTO_UDP,
            direction: DIR_SEND,
            bytes: q.len() as u64,
            ..Default::default()
        };
        let out = c
            .convert(
                &Record {
                    ev,
                    payload: Some(q),
                },
                None,
                Instant::now(),
            )
            .unwrap();
        let d = out.dns.unwrap();
        assert_eq!(d.qname.as_deref(), Some("kubernetes.default.svc"));
        assert_eq!(d.qtype, Some(1));

        let ev = KtuiEvent {
            kind: KIND_CONNECT,
            err: 111,
            latency_ns: 2500,
            ..Default::default()
        };
        let out = c
            .convert(&Record { ev, payload: None }, None, Instant::now())
            .unwrap();
        assert_eq!(out.errno, Some(111));
        assert_eq!(out.latency_us, Some(2));
        assert!(
            c.convert(
                &Record {
                    ev: KtuiEvent {
                        kind: 99,
                        ..Default::default()
                    },
                    payload: None
                },
                None,
                Instant::now()
            )
            .is_none()
        );
    }
}
