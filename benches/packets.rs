//! Console ingest of packet summaries: `packet` messages per second taken by the packets pane
//! (ring of the last lines, top-flows table, rate) for a running capture, with the pane drawn
//! at 30 fps on a 200×50 screen, and the frame time meanwhile. Summaries cycle through 65,536
//! conversations (the flow table fills to its bound, the rest counted as untracked).
//! Run: `cargo bench --bench packets`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{ContextInfo, PodEvent, Scope};
use ktui::effect::Effect;
use ktui::state::AppState;
use ktui::state::helper::{HelperSource, HelperStatus, HelperTarget};
use ktui::update::update;
use ktui_wire::{CaptureInterface, CaptureMode, ConsoleMessage, HelperMessage, PacketLine};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SECONDS: f64 = 5.0;
const FRAME: Duration = Duration::from_millis(33);
const BATCH: usize = 1024;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("packets bench: run with `cargo bench --bench packets`");
        return;
    }
    let (mut s, id) = capturing();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let theme = ktui::config::theme::Theme::default();
    let began = Instant::now();
    let mut next_frame = began;
    let mut frames = Vec::new();
    let mut sent = 0u64;
    while began.elapsed().as_secs_f64() < SECONDS {
        let batch: Vec<HelperMessage> = (0..BATCH as u64)
            .map(|i| HelperMessage::Packet {
                id,
                p: line(sent + i + 1),
            })
            .collect();
        sent += BATCH as u64;
        update(&mut s, Action::HelperMessages(batch));
        if Instant::now() >= next_frame {
            let t = Instant::now();
            term.draw(|f| ktui::view::view(f, &s, &theme)).unwrap();
            frames.push(t.elapsed());
            next_frame += FRAME;
        }
    }
    let secs = began.elapsed().as_secs_f64();
    frames.sort();
    let p = |q: f64| frames[((frames.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    let c = s.packets.shown().unwrap();
    println!(
        "packets: {:.0} summaries/s into the pane ({sent} in {secs:.1} s, ring {} kept / {} evicted, {} flows + {} untracked packets); frame p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} frames)",
        sent as f64 / secs,
        c.ring.lines.len(),
        c.ring.evicted,
        c.flows.len(),
        c.flows.untracked_packets,
        p(0.5),
        p(0.99),
        p(1.0),
        frames.len()
    );
}

/// A summary of a TCP segment of one of 65,536 conversations.
fn line(n: u64) -> PacketLine {
    let flow = n % 65_536;
    PacketLine {
        n,
        ts: format!("1763632800.{:09}", n % 1_000_000_000),
        len: 1514,
        caplen: 1514,
        src: Some(format!("10.244.{}.{}", flow / 256, flow % 256)),
        dst: Some("10.96.14.2".into()),
        proto: Some("tcp".into()),
        sport: Some(40_000 + u16::try_from(flow % 20_000).unwrap()),
        dport: Some(5432),
        tcp_flags: Some("PSH,ACK".into()),
        icmp_type: None,
        vlan: None,
        dns_qname: None,
        truncated: false,
    }
}

/// The console with a capture of checkout running through its node's helper.
fn capturing() -> (AppState, u64) {
    let demo = DemoCluster::fixed();
    let mut s = AppState::new(ContextInfo::default(), Scope::All, false, demo.epoch());
    s.helper.source = HelperSource::Cluster;
    s.evidence.case = Some(("bench".into(), std::path::PathBuf::from("/nonexistent")));
    update(&mut s, Action::Pods(PodEvent::Resync));
    for p in demo.pods() {
        update(
            &mut s,
            Action::Pods(PodEvent::Applied(Box::new(p.detail.summary.clone()))),
        );
    }
    update(&mut s, Action::Pods(PodEvent::ResyncDone));
    update(&mut s, Action::Resize(200, 50));
    let pod = demo
        .pods()
        .iter()
        .map(|p| &p.detail.summary)
        .find(|p| p.workload.name == "checkout")
        .unwrap();
    let (key, node) = (pod.key.clone(), pod.node.clone().unwrap());
    update(
        &mut s,
        Action::Intent(ktui::intent::Intent::OpenPackets(key)),
    );
    update(
        &mut s,
        Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
    );
    s.helper.target = Some(HelperTarget::Pod { node });
    s.helper.status = HelperStatus::Connected;
    let effects = update(
        &mut s,
        Action::CaptureHelperChecked {
            capture: 1,
            result: Ok(Ok(())),
        },
    );
    let Some(Effect::HelperSend(ConsoleMessage::CaptureStart { id, .. })) = effects.first() else {
        panic!("{effects:?}")
    };
    let id = *id;
    update(
        &mut s,
        Action::HelperMessages(vec![HelperMessage::CaptureStarted {
            id,
            mode: CaptureMode::HostVeth,
            interfaces: vec![CaptureInterface {
                name: "veth7c1e2a".into(),
                linktype: 1,
            }],
            format: "pcap".into(),
            dir: "/var/run/ktui/captures".into(),
        }]),
    );
    (s, id)
}
