//! One reducer test per metric.

use ktui_wire::{DnsInfo, EventType, K8sRef, Proto, SocketEvent};

use super::*;

const T0: i64 = 1_795_000_000;

fn at(ms: i64) -> String {
    Timestamp::from_millisecond(T0 * 1000 + ms)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        .to_string()
}

fn now(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(T0 * 1000 + ms).unwrap()
}

fn ev(ms: i64, kind: EventType) -> SocketEvent {
    let mut e = SocketEvent::new(at(ms), kind);
    e.proto = Some(Proto::Tcp);
    e.src = Some("10.0.0.1".into());
    e.sport = Some(40000);
    e.dst = Some("10.0.0.2".into());
    e.dport = Some(5432);
    e.netns = Some(4026531840);
    e.pid = Some(42);
    e.comm = Some("app".into());
    e
}

fn state(ms: i64, old: &str, new: &str, sport: u16) -> SocketEvent {
    let mut e = ev(ms, EventType::TcpState);
    e.old_state = Some(old.into());
    e.new_state = Some(new.into());
    e.sport = Some(sport);
    e
}

#[test]
fn syn_stuck_after_a_second_without_answer() {
    let mut s = Summary::default();
    s.add(&state(0, "CLOSE", "SYN_SENT", 1));
    s.add(&state(0, "CLOSE", "SYN_SENT", 2));
    s.add(&state(300, "SYN_SENT", "ESTABLISHED", 2));
    assert!(s.syn_stuck(now(500)).is_empty(), "not yet a second");
    let stuck = s.syn_stuck(now(1500));
    assert_eq!(stuck.len(), 1);
    assert_eq!(stuck[0].0.1, 1);
    assert_eq!(stuck[0].1.owner, "app[42]");
    s.add(&state(1600, "SYN_SENT", "CLOSE", 1));
    assert!(s.syn_stuck(now(2000)).is_empty());
}

#[test]
fn close_wait_accumulates_per_pod() {
    let mut s = Summary::default();
    for port in 1..=3 {
        let mut e = state(0, "ESTABLISHED", "CLOSE_WAIT", port);
        e.k8s = Some(K8sRef {
            namespace: Some("shop".into()),
            pod: Some("cart-1".into()),
            container: None,
            pod_uid: None,
            container_id: None,
        });
        s.add(&e);
    }
    s.add(&state(0, "ESTABLISHED", "CLOSE_WAIT", 9));
    s.add(&state(10, "CLOSE_WAIT", "LAST_ACK", 9));
    assert_eq!(
        s.close_wait_by_owner(),
        vec![("shop/cart-1".to_string(), 3)]
    );
}

#[test]
fn dns_queries_without_reply_are_suspects() {
    let mut s = Summary::default();
    let q = |ms, sport, name: &str, rcode| {
        let mut e = ev(ms, EventType::Dns);
        e.proto = Some(Proto::Udp);
        e.sport = Some(sport);
        e.dport = Some(53);
        e.dns = Some(DnsInfo {
            qname: Some(name.into()),
            qtype: Some(1),
            rcode,
            id: None,
        });
        e
    };
    s.add(&q(0, 5000, "answered.test", None));
    s.add(&q(0, 5001, "lost.test", None));
    s.add(&q(20, 5000, "answered.test", Some(0)));
    s.add(&q(30, 5002, "nx.test", None));
    s.add(&q(40, 5002, "nx.test", Some(3)));
    assert!(s.dns_suspects(now(1000)).is_empty());
    let suspects = s.dns_suspects(now(2500));
    assert_eq!(suspects.len(), 1);
    assert_eq!(suspects[0].0.3, "lost.test");
    assert_eq!(s.dns_rcodes.get(&3), Some(&1));
    assert_eq!(s.dns_rcodes.get(&0), Some(&1));
}

#[test]
fn resolvers_get_round_trip_percentiles_and_unanswered_counts() {
    let mut s = Summary::default();
    let dns = |ms, sport, dst: &str, rcode, rtt| {
        let mut e = ev(ms, EventType::Dns);
        e.proto = Some(Proto::Udp);
        e.sport = Some(sport);
        e.dst = Some(dst.into());
        e.dport = Some(53);
        e.dns = Some(DnsInfo {
            qname: Some("svc.test".into()),
            qtype: Some(1),
            rcode,
            id: Some(sport),
        });
        e.rtt_us = rtt;
        e
    };
    // 10.96.0.10: 100 answers, 1..=100 ms; one query never answered.
    for i in 1..=100u16 {
        s.add(&dns(0, 6000 + i, "10.96.0.10", None, None));
        s.add(&dns(
            5,
            6000 + i,
            "10.96.0.10",
            Some(0),
            Some(u64::from(i) * 1000),
        ));
    }
    s.add(&dns(0, 7000, "10.96.0.10", None, None));
    // 10.0.0.53: never answers.
    s.add(&dns(0, 7001, "10.0.0.53", None, None));
    s.add(&dns(0, 7002, "10.0.0.53", None, None));
    // A server on this node (local port 53) answering a client: its own round trip.
    let mut served = dns(10, 53, "10.0.0.9", Some(0), Some(800));
    served.src = Some("10.0.0.1".into());
    served.dport = Some(41000);
    s.add(&served);
    let r = s.resolvers(now(3000));
    assert_eq!(
        r,
        vec![
            ResolverStats {
                resolver: "10.96.0.10:53".into(),
                answers: 100,
                p50_us: Some(50_000),
                p99_us: Some(99_000),
                unanswered: 1,
            },
            ResolverStats {
                resolver: "10.0.0.1:53".into(),
                answers: 1,
                p50_us: Some(800),
                p99_us: Some(800),
                unanswered: 0,
            },
            ResolverStats {
                resolver: "10.0.0.53:53".into(),
                answers: 0,
                p50_us: None,
                p99_us: None,
                unanswered: 2,
            },
        ]
    );
    assert_eq!(
        s.dns_rtt_order.len(),
        2,
        "one entry per resolver in the eviction order"
    );
    // Before the suspect threshold nothing is unanswered yet.
    assert!(s.resolvers(now(1000)).iter().all(|r| r.unanswered == 0));
}

#[test]
fn latency_percentiles_and_errno_counts() {
    let mut s = Summary::default();
    for l in 1..=100u64 {
        let mut e = ev(0, EventType::Connect);
        e.latency_us = Some(l * 10);
        s.add(&e);
    }
    for errno in [111, 111, 110] {
        let mut e = ev(0, EventType::Connect);
        e.errno = Some(errno);
        s.add(&e);
    }
    assert_eq!(s.latency_percentile(50.0), Some(500));
    assert_eq!(s.latency_percentile(99.0), Some(990));
    assert_eq!(s.connects_ok, 100);
    assert_eq!(s.connect_errors.get(&111), Some(&2));
    assert_eq!(s.connect_errors.get(&110), Some(&1));
    assert_eq!(Summary::default().latency_percentile(50.0), None);
}

#[test]
fn retransmits_per_peer() {
    let mut s = Summary::default();
    for _ in 0..3 {
        s.add(&ev(0, EventType::TcpRetransmit));
    }
    let mut other = ev(0, EventType::TcpRetransmit);
    other.dst = Some("fd00::1".into());
    s.add(&other);
    assert_eq!(
        s.retransmits_by_peer(),
        vec![
            ("10.0.0.2:5432".to_string(), 3),
            ("[fd00::1]:5432".to_string(), 1)
        ]
    );
}

#[test]
fn top_talkers_by_bytes() {
    let mut s = Summary::default();
    for (bytes, dst) in [(100, "10.0.0.9"), (5000, "10.0.0.8"), (200, "10.0.0.9")] {
        let mut e = ev(0, EventType::UdpSend);
        e.bytes = Some(bytes);
        e.dst = Some(dst.into());
        s.add(&e);
    }
    let top = s.top_talkers(5);
    assert_eq!(top[0].1, "10.0.0.8:5432");
    assert_eq!((top[1].2, top[1].3), (2, 300));
}

#[test]
fn drops_aggregate_by_reason() {
    let mut s = Summary::default();
    let mut e = ev(0, EventType::Drop);
    e.drop_reason = Some("NETFILTER_DROP".into());
    e.count = Some(7);
    s.add(&e);
    s.add(&e);
    assert_eq!(s.drops.get("NETFILTER_DROP"), Some(&14));
}

#[test]
fn maps_stay_bounded() {
    let mut s = Summary::default();
    for port in 0..(MAP_CAP as u32 + 100) {
        let mut e = state(0, "CLOSE", "SYN_SENT", (port % 65536) as u16);
        e.dst = Some(format!("10.1.{}.{}", port / 256, port % 256));
        s.add(&e);
    }
    assert!(s.syn.len() <= MAP_CAP);
    assert_eq!(s.evicted, 100);
}

/// A storm folded in the kernel arrives as one line with a count: it weighs as many events.
#[test]
fn folded_lines_count_as_the_events_they_stand_for() {
    let mut s = Summary::default();
    let mut one = ev(0, EventType::UdpSend);
    one.proto = Some(Proto::Udp);
    one.bytes = Some(64);
    s.add(&one);
    let mut folded = one.clone();
    folded.count = Some(9_999);
    folded.bytes = Some(9_999 * 64);
    folded.first_ts = Some(at(1));
    s.add(&folded);
    let top = s.top_talkers(1);
    assert_eq!((top[0].2, top[0].3), (10_000, 640_000));
    let mut rt = ev(5, EventType::TcpRetransmit);
    rt.count = Some(7);
    s.add(&rt);
    s.add(&ev(6, EventType::TcpRetransmit));
    assert_eq!(s.retransmits_by_peer()[0].1, 8);
}

#[test]
fn vips_count_failed_and_stalled_connects_from_the_client_side_only() {
    let mut s = Summary::default();
    let tuple = |src: &str, sport, dst: &str, dport| ktui_wire::CtTuple {
        src: src.into(),
        sport: Some(sport),
        dst: dst.into(),
        dport: Some(dport),
    };
    let connect = |errno, latency_us| {
        let mut e = ev(0, EventType::Connect);
        e.dst = Some("10.96.0.30".into());
        e.dport = Some(443);
        e.errno = errno;
        e.latency_us = Some(latency_us);
        e.conntrack = Some(ktui_wire::Conntrack {
            state: None,
            orig: Some(tuple("10.0.0.1", 40000, "10.96.0.30", 443)),
            reply: Some(tuple("10.0.3.7", 8443, "10.0.0.1", 40000)),
            nat: Some("dnat".into()),
        });
        e
    };
    s.add(&connect(None, 200));
    s.add(&connect(None, 1_500_000));
    s.add(&connect(Some(110), 3_000_000));
    // The backend's side of the same flow (its event matches the reply direction): no VIP.
    let mut backend = connect(None, 100);
    backend.src = Some("10.0.3.7".into());
    backend.sport = Some(8443);
    backend.dst = Some("10.0.0.1".into());
    backend.dport = Some(40000);
    s.add(&backend);
    let vips = s.troubled_vips();
    assert_eq!(vips.len(), 1);
    let (vip, v) = vips[0];
    assert_eq!(vip, "10.96.0.30:443");
    assert_eq!(
        (v.ok, v.stalled, v.failed.get(&110).copied()),
        (1, 1, Some(1))
    );
    assert_eq!(v.backends.iter().collect::<Vec<_>>(), vec!["10.0.3.7:8443"]);
    assert_eq!(
        s.vips_order.len(),
        1,
        "one VIP: one entry in the eviction order"
    );
}
