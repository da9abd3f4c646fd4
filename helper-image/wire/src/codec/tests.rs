use proptest::prelude::*;

use super::*;
use crate::{
    ConsoleMessage, DnsInfo, EventType, Filters, HelperMessage, K8sRef, Proto, SocketEvent, Stats,
};

fn event() -> SocketEvent {
    let mut e = SocketEvent::new("2026-11-22T13:00:00.123456789Z".into(), EventType::Dns);
    e.proto = Some(Proto::Udp);
    e.dns = Some(DnsInfo {
        qname: Some("example.test".into()),
        qtype: Some(1),
        rcode: None,
        id: None,
    });
    e.k8s = Some(K8sRef {
        namespace: Some("shop".into()),
        pod: Some("web-1".into()),
        container: None,
        pod_uid: Some("u".into()),
        container_id: None,
    });
    e
}

#[test]
fn every_event_key_is_present_even_when_null() {
    let line = serde_json::to_value(SocketEvent::new("t".into(), EventType::Connect)).unwrap();
    let keys: Vec<&str> = line
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "ts",
        "type",
        "proto",
        "pid",
        "tid",
        "comm",
        "src",
        "sport",
        "dst",
        "dport",
        "old_state",
        "new_state",
        "bytes",
        "latency_us",
        "errno",
        "direction",
        "netns",
        "dns",
        "drop_reason",
        "k8s",
        "count",
        "cgroup_id",
        "first_ts",
        "uid",
        "gid",
        "ppid",
        "ns",
        "sec",
        "conntrack",
        "rtt_us",
    ] {
        assert!(keys.contains(&k), "{k}");
    }
    assert_eq!(line["type"], "connect");
    assert_eq!(line["pid"], serde_json::Value::Null);
}

/// Lines from helpers (and recordings) older than the enrichment keys still decode.
#[test]
fn a_line_without_the_enrichment_keys_decodes() {
    let mut v = serde_json::to_value(event()).unwrap();
    let obj = v.as_object_mut().unwrap();
    for k in ["uid", "gid", "ppid", "ns", "sec", "conntrack", "rtt_us"] {
        assert!(obj.remove(k).is_some(), "{k}");
    }
    obj["k8s"].as_object_mut().unwrap().remove("container_id");
    let back: SocketEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back, event());
}

/// A conntrack object as the first enrichment commit defined it (no `orig`, no `nat`) still
/// decodes, and the full one round-trips with every key present.
#[test]
fn conntrack_keys_round_trip_and_the_older_form_decodes() {
    let tuple = |src: &str, sport, dst: &str, dport| crate::CtTuple {
        src: src.into(),
        sport: Some(sport),
        dst: dst.into(),
        dport: Some(dport),
    };
    let mut e = event();
    e.conntrack = Some(crate::Conntrack {
        state: Some("ESTABLISHED".into()),
        reply: Some(tuple("10.244.1.5", 8080, "10.0.0.1", 40000)),
        orig: Some(tuple("10.0.0.1", 40000, "10.96.0.10", 80)),
        nat: Some("dnat".into()),
    });
    let v = serde_json::to_value(&e).unwrap();
    let keys: Vec<&String> = v["conntrack"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["state", "reply", "orig", "nat"]);
    assert_eq!(serde_json::from_value::<SocketEvent>(v.clone()).unwrap(), e);
    let mut older = v;
    let ct = older["conntrack"].as_object_mut().unwrap();
    ct.remove("orig");
    ct.remove("nat");
    let back: SocketEvent = serde_json::from_value(older).unwrap();
    let ct = back.conntrack.unwrap();
    assert_eq!((ct.orig, ct.nat), (None, None));
    assert_eq!(ct.reply.unwrap().src, "10.244.1.5");
}

#[test]
fn encode_puts_v_first_and_encode_socket_matches_it() {
    let msg = HelperMessage::Socket {
        event: Box::new(event()),
    };
    let line = encode(&msg);
    assert!(
        line.starts_with("{\"v\":1,\"type\":\"socket\",\"event\":{"),
        "{line}"
    );
    assert!(line.ends_with("}\n"));
    assert_eq!(encode_socket(&event()), line);
    assert_eq!(
        HelperMessage::decode(line.trim_end().as_bytes()).unwrap(),
        msg
    );
    let ping = encode(&ConsoleMessage::Ping { id: 7 });
    assert_eq!(ping, "{\"v\":1,\"type\":\"ping\",\"id\":7}\n");
}

#[test]
fn round_trip_with_version() {
    let msg = HelperMessage::Socket {
        event: Box::new(event()),
    };
    let line = encode(&msg);
    assert!(line.starts_with("{\"v\":1,\"type\":\"socket\""), "{line}");
    let back = HelperMessage::decode(line.trim_end().as_bytes()).unwrap();
    assert_eq!(back, msg);
}

#[test]
fn malformed_unknown_and_skew_are_distinct_errors() {
    assert!(matches!(
        HelperMessage::decode(b"{not json"),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        HelperMessage::decode(b"[1,2]"),
        Err(WireError::Malformed(_))
    ));
    assert!(matches!(
        HelperMessage::decode(br#"{"type":"stats"}"#),
        Err(WireError::Malformed(_))
    ));
    assert_eq!(
        HelperMessage::decode(br#"{"v":1,"type":"teleport"}"#),
        Err(WireError::UnknownType("teleport".into()))
    );
    let skew = HelperMessage::decode(br#"{"v":2,"type":"hello"}"#).unwrap_err();
    assert_eq!(skew, WireError::VersionMismatch { peer: 2 });
    assert!(skew.to_string().contains("same release"));
    // A console message is not a helper message.
    assert!(matches!(
        HelperMessage::decode(br#"{"v":1,"type":"ping","id":1}"#),
        Err(WireError::UnknownType(_))
    ));
    assert!(matches!(
        ConsoleMessage::decode(br#"{"v":1,"type":"subscribe","id":"x"}"#),
        Err(WireError::Malformed(_))
    ));
}

#[test]
fn line_buffer_splits_and_bounds_lines() {
    let mut lb = LineBuffer::new();
    assert!(lb.push(b"{\"a\":").is_empty());
    let out = lb.push(b"1}\n\n{\"b\":2}\n{\"c\"");
    assert_eq!(
        out,
        vec![Ok(b"{\"a\":1}".to_vec()), Ok(b"{\"b\":2}".to_vec())]
    );
    // An oversized line is reported once and skipped, the next line still arrives.
    let big = vec![b'x'; MAX_LINE_BYTES + 10];
    let mut out = lb.push(&big);
    out.extend(lb.push(b"tail\n{\"d\":4}\n"));
    assert!(matches!(out[0], Err(WireError::Oversized(n)) if n > MAX_LINE_BYTES));
    assert_eq!(out[1], Ok(b"{\"d\":4}".to_vec()));
    assert_eq!(out.len(), 2);
}

#[test]
fn oversized_single_line_is_rejected_by_decode() {
    let big = vec![b' '; MAX_LINE_BYTES + 1];
    assert!(matches!(decode_value(&big), Err(WireError::Oversized(_))));
}

#[test]
fn filters_default_when_fields_missing() {
    let msg =
        ConsoleMessage::decode(br#"{"v":1,"type":"subscribe","id":7,"filters":{"ports":[53]}}"#)
            .unwrap();
    assert_eq!(
        msg,
        ConsoleMessage::Subscribe {
            id: 7,
            filters: Filters {
                ports: vec![53],
                ..Filters::default()
            }
        }
    );
}

#[test]
fn hello_from_an_older_helper_has_no_snapshot_readiness() {
    let old = br#"{"v":1,"type":"hello","protocol":1,"helper_version":"0.1.0","kernel":"6.1","node":null,"probes":[],"ebpf":false,"ebpf_error":null,"missing_capabilities":[],"capture":false,"checkpoint_dir":true}"#;
    let HelperMessage::Hello(h) = HelperMessage::decode(old).unwrap() else {
        panic!("not hello")
    };
    assert!(h.checkpoint_dir && !h.snapshot);
    let ready = crate::Hello {
        snapshot: true,
        ..h
    };
    let line = encode(&HelperMessage::Hello(ready.clone()));
    assert!(line.contains(r#""snapshot":true"#), "{line}");
    assert_eq!(
        HelperMessage::decode(line.as_bytes()).unwrap(),
        HelperMessage::Hello(ready)
    );
}

proptest! {
    #[test]
    fn stats_round_trip(events in any::<u64>(), lost in any::<u64>(), s in any::<u64>()) {
        let msg = HelperMessage::Stats(Stats { events, lost, sampled_out: s, ..Stats::default() });
        let line = encode(&msg);
        prop_assert_eq!(HelperMessage::decode(line.trim_end().as_bytes()).unwrap(), msg);
    }

    #[test]
    fn events_round_trip(comm in "\\PC{0,20}", port in any::<u16>(), pid in any::<u32>(), qname in proptest::option::of("[a-z.]{0,30}")) {
        let mut e = event();
        e.comm = Some(comm);
        e.sport = Some(port);
        e.pid = Some(pid);
        e.dns = Some(DnsInfo { qname, qtype: Some(28), rcode: Some(3), id: Some(9) });
        let msg = HelperMessage::Socket { event: Box::new(e) };
        let line = encode(&msg);
        prop_assert_eq!(HelperMessage::decode(line.trim_end().as_bytes()).unwrap(), msg);
    }

    #[test]
    fn line_buffer_never_loses_lines_whatever_the_chunking(cuts in proptest::collection::vec(1usize..40, 1..20)) {
        let text = b"{\"a\":1}\n{\"b\":22}\n{\"c\":333}\n".repeat(3);
        let mut lb = LineBuffer::new();
        let mut out = Vec::new();
        let mut at = 0;
        for c in cuts {
            let end = (at + c).min(text.len());
            out.extend(lb.push(&text[at..end]));
            at = end;
        }
        out.extend(lb.push(&text[at..]));
        prop_assert_eq!(out.len(), 9);
        prop_assert!(out.iter().all(Result::is_ok));
    }
}
