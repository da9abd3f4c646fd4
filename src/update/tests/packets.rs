//! Captures in the reducer, without IO: `p` on a pod opens the confirmation; Enter looks for
//! a capture helper (asking to deploy one, the capture variant), the request goes once the
//! session says hello; the helper's answers (queued, started, packets, stats, files, done)
//! drive the pane; each file is fetched into the case one at a time (the last one first once
//! a stop announced it) and shown "in case" only once committed; the record is written when
//! everything has settled. A reconnect asks again under a new id and records the gap.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui_wire::{
    CaptureEnd, CaptureInterface, CaptureMode, CaptureStats, CaptureTarget, ConsoleMessage,
    ErrorCode, ErrorReply, HelperMessage, PacketLine,
};

use super::{loaded, select};
use crate::action::Action;
use crate::cluster::PodKey;
use crate::effect::Effect;
use crate::helper::client::HelperError;
use crate::helper::manifest::HelperVariant;
use crate::intent::Intent;
use crate::state::helper::{HelperSource, HelperStatus, HelperTarget};
use crate::state::packets::PcapFetch;
use crate::state::packets::capture::{EndReason, FileStatus, NodeCopy, Phase, RecordStatus};
use crate::state::{AppState, Confirm, Mode, Screen};
use crate::update::update;

const DIR: &str = "/var/run/ktui/captures";

fn press(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn typed(s: &mut AppState, text: &str) {
    for c in text.chars() {
        press(s, KeyCode::Char(c));
    }
}

fn messages(s: &mut AppState, m: Vec<HelperMessage>) -> Vec<Effect> {
    update(s, Action::HelperMessages(m))
}

fn hello() -> Action {
    Action::HelperConnected(Box::new(crate::helper::client::test_hello()))
}

/// A state with a case, the helper deployed from the cluster, checkout selected.
fn cluster_state() -> (AppState, PodKey, String) {
    let mut s = loaded();
    s.helper.source = HelperSource::Cluster;
    s.evidence.case = Some(("case-1".into(), std::path::PathBuf::from("/nonexistent")));
    select(&mut s, "checkout");
    let pod = s.pods.selected_row().unwrap().pod_key().clone();
    let node = s.pods.pod(&pod).unwrap().node.clone().unwrap();
    (s, pod, node)
}

fn line(n: u64, dport: u16) -> PacketLine {
    PacketLine {
        n,
        ts: Some(format!("1763632800.{:09}", n * 1000)),
        len: 90,
        caplen: 90,
        src: Some("10.244.1.75".into()),
        dst: Some("10.96.0.10".into()),
        proto: Some("udp".into()),
        sport: Some(40_000),
        dport: Some(dport),
        tcp_flags: None,
        icmp_type: None,
        vlan: None,
        dns_qname: Some("ledger.payments.svc.cluster.local".into()),
        truncated: false,
    }
}

fn file(id: u64, seq: u32, last: bool, range: (u64, u64)) -> HelperMessage {
    HelperMessage::CaptureFile {
        id,
        seq,
        path: format!("{DIR}/cap-{id}-{seq:04}.pcap"),
        bytes: 1000 * u64::from(seq),
        packets: range.1 - range.0 + 1,
        sha256: format!("{seq:064}"),
        first_n: Some(range.0),
        last_n: Some(range.1),
        last,
    }
}

fn started(id: u64) -> HelperMessage {
    HelperMessage::CaptureStarted {
        id,
        mode: CaptureMode::HostVeth,
        interfaces: vec![CaptureInterface {
            name: "veth1a2b3c".into(),
            linktype: 1,
        }],
        format: "pcap".into(),
        dir: DIR.into(),
    }
}

fn fetches(effects: &[Effect]) -> Vec<PcapFetch> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::FetchCaptureFile(j) => Some((**j).clone()),
            _ => None,
        })
        .collect()
}

fn start_sent(effects: &[Effect]) -> (u64, ktui_wire::CaptureSpec) {
    let starts: Vec<(u64, ktui_wire::CaptureSpec)> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::HelperSend(ConsoleMessage::CaptureStart { id, spec }) => {
                Some((*id, spec.clone()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 1, "{effects:?}");
    starts[0].clone()
}

/// `p` and Enter on the selected pod, already connected to its node's helper: the request
/// goes at once (its id).
fn requested(s: &mut AppState, node: &str) -> u64 {
    super::key(s, 'p');
    press(s, KeyCode::Enter);
    s.helper.target = Some(HelperTarget::Pod {
        node: node.to_string(),
    });
    s.helper.status = HelperStatus::Connected;
    let (w1, _) = start_sent(&update(
        s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Ok(())),
        },
    ));
    w1
}

fn fetched(s: &mut AppState, job: &PcapFetch) -> Vec<Effect> {
    update(
        s,
        Action::CaptureFileFetched {
            capture: job.capture,
            wire_id: job.wire_id,
            seq: job.seq,
            result: Ok((
                format!(
                    "artifacts/shop/checkout/pcaps/cap-{}-{:04}.pcap",
                    job.wire_id, job.seq
                ),
                format!("{:064}", job.seq),
            )),
        },
    )
}

fn removed(s: &mut AppState, job: &PcapFetch) -> Vec<Effect> {
    update(
        s,
        Action::CaptureFileRemoved {
            capture: job.capture,
            wire_id: job.wire_id,
            seq: job.seq,
            result: Ok(()),
        },
    )
}

#[test]
fn a_capture_from_the_confirmation_to_its_record() {
    let (mut s, pod, node) = cluster_state();
    s.packets.lines = 50;
    let effects = super::key(&mut s, 'p');
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(s.screen, Screen::Packets);
    assert!(matches!(s.mode, Mode::CaptureForm));
    let form = s.packets.form.as_ref().unwrap();
    assert_eq!(
        (form.pod.clone(), form.node.clone()),
        (pod.clone(), node.clone())
    );
    // Interface, then the filter; a bad size is refused on Enter, naming the field.
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "port 53");
    press(&mut s, KeyCode::Tab);
    press(&mut s, KeyCode::Tab);
    typed(&mut s, "x");
    assert!(press(&mut s, KeyCode::Enter).is_empty());
    let error = s.packets.form.as_ref().unwrap().error.clone().unwrap();
    assert!(error.starts_with("max bytes: \"1GiBx\""), "{error}");
    press(&mut s, KeyCode::Backspace);
    // Headers only: Space on its field.
    for _ in 0..3 {
        press(&mut s, KeyCode::Tab);
    }
    press(&mut s, KeyCode::Char(' '));
    assert!(s.packets.form.as_ref().unwrap().headers_only);

    let effects = press(&mut s, KeyCode::Enter);
    assert_eq!(
        effects,
        vec![Effect::CheckCaptureHelper {
            capture: 1,
            node: node.clone(),
            image: s.helper.image.clone(),
            variant: HelperVariant::Capture,
        }]
    );
    assert!(matches!(s.mode, Mode::Normal));
    assert!(matches!(s.packets.shown().unwrap().phase, Phase::Helper(_)));

    // No capture helper there: the deploy question, with the capture variant and why.
    let why = format!("no helper runs on node {node}");
    let effects = update(
        &mut s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Err(why.clone())),
        },
    );
    assert!(
        matches!(&s.mode, Mode::Confirm(Confirm::DeployHelper { variant: HelperVariant::Capture, node: n }) if *n == node)
    );
    assert_eq!(s.helper.deploy_reason.as_deref(), Some(why.as_str()));
    assert!(matches!(
        effects.as_slice(),
        [Effect::PreflightHelper { .. }]
    ));
    let effects = super::key(&mut s, 'y');
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::DeployHelper {
            variant: HelperVariant::Capture,
            ..
        }
    )));
    assert!(matches!(
        s.packets.shown().unwrap().phase,
        Phase::Deploying(_)
    ));
    let effects = update(
        &mut s,
        Action::HelperDeployed {
            node: node.clone(),
            image_id: None,
        },
    );
    // The session, without a socket subscription (the sockets pane was not opened).
    assert!(matches!(
        effects.as_slice(),
        [Effect::ConnectHelper {
            standing: ConsoleMessage::Unsubscribe { .. },
            ..
        }]
    ));
    assert_eq!(s.packets.shown().unwrap().phase, Phase::Connecting);
    let (w1, spec) = start_sent(&update(&mut s, hello()));
    assert_eq!(
        spec.target,
        CaptureTarget::Pod {
            uid: s.pods.pod(&pod).unwrap().uid.clone()
        }
    );
    assert_eq!(spec.filter.as_deref(), Some("port 53"));
    assert_eq!(spec.snaplen, ktui_wire::HEADERS_ONLY_SNAPLEN);
    assert_eq!(spec.max_bytes, Some(1 << 30));
    let label = spec.label.clone().unwrap();
    assert!(label.starts_with(&format!("{}-", pod.name)), "{label}");
    assert!(s.helper.capture_stands(w1));

    messages(
        &mut s,
        vec![HelperMessage::CaptureQueued {
            id: w1,
            position: 2,
        }],
    );
    assert_eq!(
        s.packets.shown().unwrap().phase,
        Phase::Queued { position: 2 }
    );
    messages(&mut s, vec![started(w1)]);
    assert_eq!(s.packets.shown().unwrap().phase, Phase::Running);

    // 120 summaries into a ring of 50; stats a second apart make the rate.
    let lines: Vec<HelperMessage> = (1..=120)
        .map(|n| HelperMessage::Packet {
            id: w1,
            p: line(n, 53),
        })
        .collect();
    messages(&mut s, lines);
    let stats = |packets: u64| CaptureStats {
        packets,
        bytes: packets * 90,
        wire_bytes: packets * 100,
        kernel_drops: 3,
        summarized: packets,
        sampled_out: 7,
        ..CaptureStats::default()
    };
    messages(
        &mut s,
        vec![HelperMessage::CaptureStats {
            id: w1,
            stats: stats(20),
        }],
    );
    let later = s.now + jiff::SignedDuration::from_secs(2);
    update(&mut s, Action::Tick(later));
    messages(
        &mut s,
        vec![HelperMessage::CaptureStats {
            id: w1,
            stats: stats(220),
        }],
    );
    let c = s.packets.shown().unwrap();
    assert_eq!(
        (c.ring.lines.len(), c.ring.evicted, c.ring.received),
        (50, 70, 120)
    );
    assert_eq!(c.ring.lines.front().unwrap().n, 71);
    assert!((c.rate.pps - 100.0).abs() < 0.01, "{}", c.rate.pps);
    assert!((c.rate.bps - 80_000.0).abs() < 0.01, "{}", c.rate.bps);
    assert_eq!(c.flows.len(), 1);
    assert_eq!(c.stats().kernel_drops, 3);

    // A rotated file: fetched with the announced hash; a second waits its turn.
    let effects = messages(&mut s, vec![file(w1, 1, false, (1, 60))]);
    let jobs = fetches(&effects);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].node_path, format!("{DIR}/cap-{w1}-0001.pcap"));
    assert_eq!(
        jobs[0].announced.as_deref(),
        Some(format!("{:064}", 1).as_str())
    );
    assert_eq!(jobs[0].helper, HelperTarget::Pod { node: node.clone() });
    assert!(fetches(&messages(&mut s, vec![file(w1, 2, false, (61, 120))])).is_empty());
    update(
        &mut s,
        Action::CaptureFileProgress {
            capture: 1,
            wire_id: w1,
            seq: 1,
            done: 500,
            total: Some(1000),
        },
    );
    assert_eq!(
        s.packets.shown().unwrap().files[0].status,
        FileStatus::Fetching {
            done: 500,
            total: Some(1000)
        }
    );
    // Stop: the helper is told; the request no longer stands.
    let effects = super::key(&mut s, 's');
    assert_eq!(
        effects,
        vec![Effect::HelperSend(ConsoleMessage::CaptureStop { id: w1 })]
    );
    assert_eq!(s.packets.shown().unwrap().phase, Phase::Stopping);
    assert!(!s.helper.capture_stands(w1));
    messages(&mut s, vec![file(w1, 3, true, (121, 220))]);
    let effects = messages(
        &mut s,
        vec![HelperMessage::CaptureDone {
            id: w1,
            end: CaptureEnd::Stopped,
            stats: stats(220),
            message: None,
        }],
    );
    assert!(
        effects.is_empty(),
        "files still on their way: no record yet {effects:?}"
    );
    assert_eq!(s.packets.shown().unwrap().phase, Phase::Ended);

    // File 1 in the case: the last file (3) is next, before 2.
    let first = jobs[0].clone();
    let effects = fetched(&mut s, &first);
    let next = fetches(&effects);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].seq, 3, "the stop's last file first");
    let c = s.packets.shown().unwrap();
    assert!(matches!(
        &c.files[0].status,
        FileStatus::InCase {
            node: NodeCopy::Removing,
            ..
        }
    ));
    assert!(removed(&mut s, &first).is_empty());
    let effects = fetched(&mut s, &next[0]);
    let two = fetches(&effects);
    assert_eq!(two.iter().map(|j| j.seq).collect::<Vec<_>>(), [2]);
    removed(&mut s, &next[0]);
    fetched(&mut s, &two[0]);
    // The record waits for the last removal, then says everything.
    let effects = removed(&mut s, &two[0]);
    let [
        Effect::WriteCaptureRecord {
            capture: 1,
            pod: p,
            name,
            json,
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(p, &pod);
    assert_eq!(name, &format!("{label}-{w1}.capture.json"));
    let record: serde_json::Value = serde_json::from_slice(json).unwrap();
    assert_eq!(record["kind"], "ktui-capture");
    assert_eq!(record["end"], "stopped");
    assert_eq!(record["node"], node.as_str());
    assert_eq!(record["variant"], "capture");
    assert_eq!(record["spec"]["filter"], "port 53");
    assert_eq!(record["requests"][0]["mode"], "host_veth");
    assert_eq!(record["requests"][0]["interfaces"][0]["name"], "veth1a2b3c");
    assert_eq!(record["stats"]["packets"], 220);
    let files = record["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[2]["seq"], 3);
    assert_eq!(files[2]["first_n"], 121);
    assert_eq!(files[2]["last_n"], 220);
    assert_eq!(files[2]["sha256"], format!("{:064}", 3));
    assert_eq!(files[2]["sha256_announced"], format!("{:064}", 3));
    assert_eq!(files[2]["node_copy"], "removed");
    assert_eq!(
        files[0]["case_path"],
        format!("artifacts/shop/checkout/pcaps/cap-{w1}-0001.pcap")
    );
    assert_eq!(record["console"]["summaries_evicted_from_the_pane"], 70);
    assert_eq!(s.packets.shown().unwrap().record, RecordStatus::Writing);
    update(
        &mut s,
        Action::CaptureRecorded {
            capture: 1,
            result: Ok((
                "artifacts/shop/checkout/pcaps/x.capture.json".into(),
                "ab".repeat(32),
            )),
        },
    );
    assert!(matches!(
        s.packets.shown().unwrap().record,
        RecordStatus::Written { .. }
    ));
    assert_eq!(s.packets.unfinished(), 0);
}

/// `--helper local`, a netns path as the target: the session starts for the capture; the
/// stream is cut while it runs; after the reconnect it is asked for again under a new id,
/// the gap is recorded, and the file that was open at the cut is fetched by its name.
#[test]
fn a_reconnect_asks_again_under_a_new_id_and_records_the_gap() {
    let (mut s, _pod, _) = cluster_state();
    s.helper.source = HelperSource::Local;
    super::key(&mut s, 'p');
    assert_eq!(s.packets.form.as_ref().unwrap().node, "local");
    typed(&mut s, "/var/run/netns/ktui-a");
    let effects = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::ConnectHelper {
                target: HelperTarget::Local,
                ..
            }]
        ),
        "{effects:?}"
    );
    let (w1, spec) = start_sent(&update(&mut s, hello()));
    assert_eq!(
        spec.target,
        CaptureTarget::Netns {
            path: "/var/run/netns/ktui-a".into()
        }
    );
    let label = spec.label.clone().unwrap();
    messages(&mut s, vec![started(w1)]);
    let jobs = fetches(&messages(&mut s, vec![file(w1, 1, false, (1, 10))]));
    assert_eq!(jobs[0].helper, HelperTarget::Local);
    fetched(&mut s, &jobs[0]);
    removed(&mut s, &jobs[0]);

    let lost_at = s.now;
    update(
        &mut s,
        Action::HelperStreamLost {
            error: HelperError::Closed {
                before_hello: false,
            },
            attempt: 1,
            retry_in: Some(std::time::Duration::from_secs(1)),
        },
    );
    let c = s.packets.shown().unwrap();
    assert!(matches!(c.phase, Phase::Interrupted(_)));
    assert_eq!(c.gaps.len(), 1);
    assert_eq!(
        (c.gaps[0].from, c.gaps[0].before, c.gaps[0].to),
        (lost_at, w1, None)
    );
    update(
        &mut s,
        Action::Tick(lost_at + jiff::SignedDuration::from_secs(3)),
    );
    let (w2, again) = start_sent(&update(&mut s, hello()));
    assert_ne!(
        w2, w1,
        "a new id: the files of the cut request keep their names"
    );
    assert_eq!(again, spec, "the same request");
    assert!(s.helper.capture_stands(w2) && !s.helper.capture_stands(w1));
    let effects = messages(&mut s, vec![started(w2)]);
    let c = s.packets.shown().unwrap();
    assert_eq!(c.phase, Phase::Running);
    assert_eq!(c.gaps[0].after, Some(w2));
    assert_eq!(c.gaps[0].to, Some(s.now));
    // The cut request's open file, by the pinned name, verified by the fetch alone.
    let recovered = fetches(&effects);
    assert_eq!(recovered.len(), 1, "{effects:?}");
    assert_eq!(
        recovered[0].node_path,
        format!("{DIR}/{label}-{w1}-0002.pcap")
    );
    assert_eq!(recovered[0].announced, None);
    assert!(c.files[1].recovered);
    // It was not there: recorded, not fatal.
    update(
        &mut s,
        Action::CaptureFileFetched {
            capture: 1,
            wire_id: w1,
            seq: 2,
            result: Err("the helper could not send it: no such file".into()),
        },
    );
    super::key(&mut s, 's');
    let effects = messages(
        &mut s,
        vec![
            file(w2, 1, true, (1, 5)),
            HelperMessage::CaptureDone {
                id: w2,
                end: CaptureEnd::Stopped,
                stats: CaptureStats::default(),
                message: None,
            },
        ],
    );
    let last = fetches(&effects);
    fetched(&mut s, &last[0]);
    let effects = removed(&mut s, &last[0]);
    let Some(Effect::WriteCaptureRecord { json, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    let record: serde_json::Value = serde_json::from_slice(json).unwrap();
    let requests = record["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0]["id"], w1);
    assert!(requests[0]["ended"].as_str().unwrap().starts_with("cut: "));
    assert_eq!(requests[1]["id"], w2);
    assert_eq!(record["gaps"][0]["cut_request"], w1);
    assert_eq!(record["gaps"][0]["resumed_request"], w2);
    assert_eq!(record["files"][1]["recovered_after_cut"], true);
    assert!(
        record["files"][1]["error"]
            .as_str()
            .unwrap()
            .contains("no such file")
    );
    assert_eq!(record["helper"], "local helper");
    assert_eq!(record["variant"], serde_json::Value::Null);
}

/// The helper refuses a pod without a host veth for lack of SYS_ADMIN: the capture ends,
/// saying to turn on the netns fallback (the capture-netns variant).
#[test]
fn a_refusal_for_the_setns_fallback_points_at_the_netns_variant() {
    let (mut s, _, node) = cluster_state();
    let w1 = requested(&mut s, &node);
    messages(
        &mut s,
        vec![HelperMessage::Error(ErrorReply {
            code: ErrorCode::NotPermitted,
            message: "pod uid-checkout has no host-side veth; entering its network namespace needs CAP_SYS_ADMIN".into(),
            id: Some(w1),
        })],
    );
    let c = s.packets.shown().unwrap();
    assert_eq!(c.phase, Phase::Ended);
    assert_eq!(c.end.as_ref().unwrap().reason, EndReason::Refused);
    let note = c.note.clone().unwrap();
    assert!(note.contains("turn on the netns fallback"), "{note}");
    assert!(
        !s.toasts.iter().any(|t| t.text.starts_with("helper: ")),
        "said once, as the capture's"
    );
    // s again: the confirmation, where the fallback asks for the capture-netns helper.
    super::key(&mut s, 's');
    let form = s.packets.form.as_mut().unwrap();
    form.selected = crate::state::packets::form::Field::NetnsFallback;
    press(&mut s, KeyCode::Char(' '));
    let effects = press(&mut s, KeyCode::Enter);
    assert!(matches!(
        effects.as_slice(),
        [Effect::CheckCaptureHelper {
            capture: 2,
            variant: HelperVariant::CaptureNetns,
            ..
        }]
    ));
}

/// Quitting with a capture running stops it and waits until its last file and record are in
/// the case; then the quit goes on. Nothing else leaves the session meanwhile.
#[test]
fn quitting_waits_for_the_captures_files() {
    let (mut s, _, node) = cluster_state();
    let w1 = requested(&mut s, &node);
    messages(&mut s, vec![started(w1)]);
    // Another node's sockets would end this session: refused while the capture runs.
    let other = crate::cluster::demo::DemoCluster::fixed()
        .pods()
        .iter()
        .map(|p| p.detail.summary.clone())
        .find(|p| p.node.as_ref().is_some_and(|n| *n != node))
        .map(|p| p.key)
        .unwrap();
    assert!(update(&mut s, Action::Intent(Intent::OpenSockets(other))).is_empty());
    assert!(s.toasts.iter().any(|t| {
        t.text
            .contains("stop them before tracing a pod on another node")
    }));

    let effects = update(&mut s, Action::Intent(Intent::Quit));
    assert_eq!(
        effects,
        vec![Effect::HelperSend(ConsoleMessage::CaptureStop { id: w1 })]
    );
    assert!(!s.quit && s.packets.quit_pending);
    let effects = messages(
        &mut s,
        vec![
            file(w1, 1, true, (1, 3)),
            HelperMessage::CaptureDone {
                id: w1,
                end: CaptureEnd::Stopped,
                stats: CaptureStats::default(),
                message: None,
            },
        ],
    );
    let job = fetches(&effects).remove(0);
    fetched(&mut s, &job);
    let effects = removed(&mut s, &job);
    assert!(matches!(
        effects.as_slice(),
        [Effect::WriteCaptureRecord { .. }]
    ));
    assert!(!s.quit);
    let effects = update(
        &mut s,
        Action::CaptureRecorded {
            capture: 1,
            result: Ok(("p".into(), "s".into())),
        },
    );
    assert!(effects.contains(&Effect::Quit), "{effects:?}");
    assert!(s.quit);
}

/// A second Ctrl-C while the quit waits quits at once.
#[test]
fn a_second_ctrl_c_does_not_wait() {
    let (mut s, _, node) = cluster_state();
    let w1 = requested(&mut s, &node);
    messages(&mut s, vec![started(w1)]);
    let ctrl_c = || Action::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    update(&mut s, ctrl_c());
    assert!(!s.quit && s.packets.quit_pending);
    let effects = update(&mut s, ctrl_c());
    assert!(s.quit && effects.contains(&Effect::Quit));
}

/// The demo replays recorded socket events: no capture is offered.
#[test]
fn the_demo_replay_cannot_capture() {
    let mut s = loaded();
    s.evidence.case = Some(("case-1".into(), std::path::PathBuf::from("/nonexistent")));
    select(&mut s, "checkout");
    assert!(super::key(&mut s, 'p').is_empty());
    assert_eq!(s.screen, Screen::Packets);
    assert!(s.packets.form.is_none() && matches!(s.mode, Mode::Normal));
    super::key(&mut s, 's');
    assert!(
        s.toasts
            .iter()
            .any(|t| t.text.contains("needs a live helper"))
    );
}

/// The session a capture started carries no socket subscription; opening the sockets pane
/// later adds it to the same session (no second session).
#[test]
fn sockets_opened_after_a_capture_subscribe_on_the_same_session() {
    let (mut s, pod, _) = cluster_state();
    s.helper.source = HelperSource::Local;
    super::key(&mut s, 'p');
    let effects = press(&mut s, KeyCode::Enter);
    let [Effect::ConnectHelper { standing, .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(matches!(standing, ConsoleMessage::Unsubscribe { .. }));
    update(&mut s, hello());
    press(&mut s, KeyCode::Esc);
    let effects = update(&mut s, Action::Intent(Intent::OpenSockets(pod)));
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::HelperSend(ConsoleMessage::Subscribe { .. })]
        ),
        "{effects:?}"
    );
}

/// The sockets pane's session runs on the node with the default helper: a capture there asks
/// to replace it by the capture variant, and the yes goes through (the capture waiting for it
/// has asked nothing of the running helper).
#[test]
fn a_capture_replaces_the_sockets_helper_of_its_node_after_a_yes() {
    let (mut s, _, node) = cluster_state();
    s.helper.target = Some(HelperTarget::Pod { node: node.clone() });
    s.helper.status = HelperStatus::Connected;
    s.sockets.opened = true;
    super::key(&mut s, 'p');
    press(&mut s, KeyCode::Enter);
    update(
        &mut s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Err(format!(
                "the helper on node {node} lacks NET_RAW for packet capture"
            ))),
        },
    );
    assert!(
        s.helper
            .deploy_reason
            .as_deref()
            .unwrap()
            .contains("is replaced")
    );
    let effects = super::key(&mut s, 'y');
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::DeployHelper {
                variant: HelperVariant::Capture,
                ..
            }
        )),
        "{effects:?} {:?}",
        s.toasts
    );
    let effects = update(
        &mut s,
        Action::HelperDeployed {
            node,
            image_id: None,
        },
    );
    // The new session keeps the sockets pane's subscription.
    assert!(matches!(
        effects.as_slice(),
        [Effect::ConnectHelper {
            standing: ConsoleMessage::Subscribe { .. },
            ..
        }]
    ));
    start_sent(&update(&mut s, hello()));
}

/// What a driver without keys (record mode, a test) sends: `StartCapture` opens the same
/// confirmation as `p` for the pod it names (not the selected one), `StopCapture` stops that
/// pod's capture (its last file first), and says so when there is none.
#[test]
fn start_and_stop_capture_intents_name_their_pod() {
    let (mut s, pod, node) = cluster_state();
    select(&mut s, "frontend");
    let effects = update(&mut s, Action::Intent(Intent::StartCapture(pod.clone())));
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(s.mode, Mode::CaptureForm));
    assert_eq!(s.packets.form.as_ref().unwrap().pod, pod);
    let effects = press(&mut s, KeyCode::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::CheckCaptureHelper { node: n, .. }] if *n == node),
        "{effects:?}"
    );
    s.helper.target = Some(HelperTarget::Pod { node: node.clone() });
    s.helper.status = HelperStatus::Connected;
    let (wire, _) = start_sent(&update(
        &mut s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Ok(())),
        },
    ));
    messages(&mut s, vec![started(wire)]);
    assert_eq!(
        s.packets.active_of(&pod).map(|c| c.phase.clone()),
        Some(Phase::Running)
    );

    let effects = update(&mut s, Action::Intent(Intent::StopCapture(pod.clone())));
    assert!(
        effects.iter().any(
            |e| matches!(e, Effect::HelperSend(ConsoleMessage::CaptureStop { id }) if *id == wire)
        ),
        "{effects:?}"
    );
    assert_eq!(s.packets.by_id(1).unwrap().phase, Phase::Stopping);

    let other = PodKey::new("shop", "no-such-pod");
    assert!(update(&mut s, Action::Intent(Intent::StopCapture(other))).is_empty());
    let toast = s.toasts.last().map(|t| t.text.clone()).unwrap_or_default();
    assert!(
        toast.contains("no capture of shop/no-such-pod is running"),
        "{toast}"
    );
}
