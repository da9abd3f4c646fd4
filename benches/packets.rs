//! Console ingest of packet summaries: `packet` messages per second taken by the packets pane
//! (ring of the last lines, top-flows table, rate) for a running capture, with the pane drawn
//! at 30 fps on a 200×50 screen, and the frame time meanwhile. Summaries cycle through 65,536
//! conversations (the flow table fills to its bound, the rest counted as untracked).
//! Run: `cargo bench --bench packets`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/packets.rs"]
mod packets;

use std::time::{Duration, Instant};

use ktui::action::Action;
use ktui::state::AppState;
use ktui::state::helper::HelperSource;
use ktui::update::update;
use ktui_wire::{HelperMessage, PacketLine};
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
        ts: Some(format!("1763632800.{:09}", n % 1_000_000_000)),
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
    let (mut s, key, node) = packets::demo_state("", "bench", HelperSource::Cluster);
    update(&mut s, Action::Resize(200, 50));
    let (id, _) = packets::requested(&mut s, key, &node);
    update(&mut s, Action::HelperMessages(vec![packets::started(id)]));
    (s, id)
}
