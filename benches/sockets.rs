//! Console ingest: socket events per second taken into the sockets pane (ring + live summary)
//! with the pane open and drawn at 30 fps, and the frame time while ingesting.
//!
//! Events are the bundled recording of real `ktui-helper trace` output, replayed in a loop
//! with fresh timestamps. Run: `cargo bench --bench sockets`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::Scope;
use ktui::cluster::demo::DemoCluster;
use ktui::helper::replay;
use ktui::state::Screen;
use ktui::state::helper::HelperTarget;
use ktui_wire::HelperMessage;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SECONDS: f64 = 5.0;
const FRAME: Duration = Duration::from_millis(33);
const BATCH: usize = 1024;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("sockets bench: run with `cargo bench --bench sockets`");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let recorded = replay::parse(replay::RECORDING);
    assert!(!recorded.is_empty(), "the bundled recording is empty");
    let demo = DemoCluster::fixed();
    let mut app = App::builder(Arc::new(demo))
        .scope(Scope::All)
        .demo(true)
        .build();
    app.settle(Duration::from_millis(100)).await;
    app.state.screen = Screen::Sockets;
    app.state.helper.target = Some(HelperTarget::DemoReplay);
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let start = jiff::Timestamp::now();
    let began = Instant::now();
    let mut next_frame = began;
    let mut frames = Vec::new();
    let mut sent = 0u64;
    let mut i = 0usize;
    while began.elapsed().as_secs_f64() < SECONDS {
        let mut batch = Vec::with_capacity(BATCH);
        for _ in 0..BATCH {
            let (offset, e) = recorded[i % recorded.len()].clone();
            let lap = (i / recorded.len()) as u64;
            let offset = offset + Duration::from_millis(lap * 10_000);
            batch.push(HelperMessage::Socket {
                event: Box::new(replay::shifted(e, start, offset)),
            });
            i += 1;
        }
        sent += BATCH as u64;
        app.dispatch(Action::HelperMessages(batch));
        if Instant::now() >= next_frame {
            let t = Instant::now();
            app.draw(&mut term, &ktui::config::theme::Theme::default())
                .unwrap();
            frames.push(t.elapsed());
            next_frame += FRAME;
        }
    }
    let secs = began.elapsed().as_secs_f64();
    frames.sort();
    let p = |q: f64| frames[((frames.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "ingested {sent} events in {secs:.1} s: {:.0} events/s with the pane drawn {} times ({:.0} fps)",
        sent as f64 / secs,
        frames.len(),
        frames.len() as f64 / secs
    );
    println!(
        "frame while ingesting: p50 {:.2} ms, p99 {:.2} ms",
        p(0.5),
        p(0.99)
    );
    println!(
        "pane holds {} events (capacity {}), evicted {}",
        app.state.sockets.ring.lines.len(),
        app.state.sockets.ring.capacity(),
        app.state.sockets.ring.evicted
    );
}
