//! Console at scale: 50,000 pods in 200 namespaces (2,000 crashed) served by the fake API server
//! on loopback, in a separate process so the RSS figure is ktui's own.
//!
//! Reports: time from start (connect) to the first crashed list on screen, update cost
//! (classification + grouping + sort + filter of the whole table after one pod changes),
//! full-frame render time p50/p99, peak RSS, and `--demo` time to first frame.
//!
//! Run: `cargo bench --bench pods` (figures go to benches/README.md by hand).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::kube::{ConnectOptions, KubeCluster};
use ktui::cluster::{Cluster, ContainerState, PodEvent, Scope};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const PODS: usize = 50_000;
const NAMESPACES: usize = 200;
const CRASHED: usize = 2_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        serve();
        return;
    }
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: keep that quick.
    if !args.iter().any(|a| a == "--bench") {
        println!("pods bench: run with `cargo bench --bench pods`");
        return;
    }
    ktui::tls::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let demo_ms = rt.block_on(demo_first_frame());
    rt.block_on(at_scale());
    println!("demo first frame: {demo_ms:.1} ms");
}

/// Child process: serve the generated cluster until stdin closes.
fn serve() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = ktui_fake_apiserver::Store::new();
        ktui_fake_apiserver::populate_cluster(&store, PODS, NAMESPACES, CRASHED);
        let server = ktui_fake_apiserver::FakeApiServer::start(store)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kc = server.write_kubeconfig(dir.path()).unwrap();
        println!("{}", kc.display());
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await
        .unwrap();
        drop(server);
    });
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i].as_secs_f64() * 1000.0
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn demo_first_frame() -> f64 {
    let start = Instant::now();
    let demo = DemoCluster::new(jiff::Timestamp::now(), false);
    let mut app = App::builder(Arc::new(demo))
        .scope(Scope::All)
        .demo(true)
        .build();
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    while !app.state.pods.listed {
        let action = app.next_action().await.unwrap();
        app.dispatch(action);
        app.drain();
    }
    app.draw(&mut term, &ktui::config::theme::Theme::default())
        .unwrap();
    start.elapsed().as_secs_f64() * 1000.0
}

async fn at_scale() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kubeconfig = line.trim().into();
    println!("fake API server ready ({PODS} pods, {NAMESPACES} namespaces, {CRASHED} crashed)");

    let start = Instant::now();
    let cluster = KubeCluster::connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..ConnectOptions::default()
    })
    .await
    .unwrap();
    let cluster: Arc<dyn Cluster> = Arc::new(cluster);
    let mut app = App::builder(cluster).scope(Scope::All).build();
    let mut term = Terminal::new(TestBackend::new(200, 50)).unwrap();
    while !app.state.pods.listed {
        let action = app.next_action().await.unwrap();
        app.dispatch(action);
        app.drain();
    }
    app.draw(&mut term, &ktui::config::theme::Theme::default())
        .unwrap();
    let first_list = start.elapsed();
    let counts = app.state.pods.counts();
    assert_eq!(counts.pods, PODS);
    assert_eq!(counts.crashed, CRASHED);
    // Let evidence capture for 2,000 first-seen signatures run its course before timing updates.
    app.settle(Duration::from_millis(500)).await;

    // One pod changes (a restart), then the whole table is brought up to date.
    let crashed_pod = app
        .state
        .pods
        .rows
        .first()
        .and_then(|r| app.state.pods.pod(r.pod_key()))
        .cloned()
        .unwrap();
    let mut update = Vec::new();
    for (i, filter) in ["", "ns-01", "!oom"].iter().cycle().take(300).enumerate() {
        let mut pod = crashed_pod.clone();
        for c in &mut pod.containers {
            c.restarts += i as u32;
            if let ContainerState::Terminated { finished_at, .. } = &mut c.last_state {
                *finished_at = Some(jiff::Timestamp::now());
            }
        }
        app.state.pods.filter.text = (*filter).to_string();
        let t = Instant::now();
        app.dispatch(Action::Pods(PodEvent::Applied(Box::new(pod))));
        app.state.prepare_frame();
        update.push(t.elapsed());
    }
    app.state.pods.filter.text.clear();
    app.state.pods.mark_dirty();

    let mut frames = Vec::new();
    for _ in 0..300 {
        app.state.pods.mark_dirty();
        let t = Instant::now();
        app.draw(&mut term, &ktui::config::theme::Theme::default())
            .unwrap();
        frames.push(t.elapsed());
    }
    let rss = peak_rss_mb();
    drop(child.stdin.take());
    let _ = child.wait();

    println!(
        "first crashed list on screen: {:.0} ms",
        first_list.as_secs_f64() * 1000.0
    );
    println!(
        "update (classify + group + sort + filter, {} rows): p50 {:.2} ms, p99 {:.2} ms",
        app.state.pods.rows.len(),
        percentile(&mut update, 0.5),
        percentile(&mut update, 0.99)
    );
    println!(
        "full frame 200x50: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&mut frames, 0.5),
        percentile(&mut frames, 0.99)
    );
    println!(
        "peak RSS: {rss:.0} MB; evidence items kept: {}",
        app.state.evidence.items().len()
    );
}
