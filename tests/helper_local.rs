//! `--helper local` end to end: the console's runtime spawns the real `ktui-helper serve` on this
//! machine, the kernel's probes see DNS traffic made by this test, and the live summary names
//! the query that got no reply (DNS suspects) and counts the answered one by rcode. Needs root
//! and eBPF: skipped (saying why) outside CI, failing under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{app_until, press, screen};

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::Scope;
use ktui::cluster::demo::DemoCluster;
use ktui::state::helper::HelperSource;
use ktui::state::helper::HelperStatus;

/// A loopback address of its own, so no resolver of the machine answers in our place.
const SERVER: &str = "127.0.0.77";
const SILENT: &str = "suspect.ktui.test";
const ANSWERED: &str = "nx.ktui.test";

fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::new();
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]); // RD; one question
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    q
}

/// A name server that answers NXDOMAIN for `ANSWERED` and never answers anything else.
fn serve_dns(sock: UdpSocket) {
    let mut buf = [0u8; 512];
    while let Ok((n, peer)) = sock.recv_from(&mut buf) {
        let packet = &buf[..n];
        let wanted = query(0, ANSWERED);
        if n == wanted.len() && packet[12..] == wanted[12..] {
            let mut reply = packet.to_vec();
            reply[2] = 0x81; // QR, RD
            reply[3] = 0x83; // RA, rcode 3 (NXDOMAIN)
            let _ = sock.send_to(&reply, peer);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_helper_live_dns_suspects_and_rcodes() {
    if common::skip_unless(
        "local_helper_live_dns_suspects_and_rcodes",
        common::ebpf_unavailable(),
    ) {
        return;
    }
    common::helper_binary();
    let server = UdpSocket::bind((SERVER, 53)).unwrap();
    std::thread::spawn(move || serve_dns(server));

    let demo = DemoCluster::new(jiff::Timestamp::now(), false);
    let mut app = App::builder(Arc::new(demo))
        .scope(Scope::All)
        .demo(true)
        .build();
    app.state.helper.source = HelperSource::Local;
    app_until(&mut app, "the pod table", 10, |a| {
        a.state.pods.selected_row().is_some()
    })
    .await;
    press(&mut app, "t");
    app_until(&mut app, "the local helper's hello", 20, |a| {
        a.state.helper.status == HelperStatus::Connected
    })
    .await;
    let hello = app.state.helper.hello.clone().unwrap();
    assert!(
        hello.ebpf,
        "the helper could not trace: {:?}",
        hello.ebpf_error
    );

    // Query until the probes (attached a moment after hello) have seen both names.
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let client_port = client.local_addr().unwrap().port();
    let mut id = 0x4b00u16;
    let seen = |app: &App, name: &str| {
        app.state.sockets.ring.lines.iter().any(|e| match e {
            ktui::state::sockets::Entry::Event(ev) => {
                ev.sport == Some(client_port)
                    && ev.dns.as_ref().and_then(|d| d.qname.as_deref()) == Some(name)
            }
            _ => false,
        })
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(seen(&app, SILENT) && seen(&app, ANSWERED)) {
        assert!(
            Instant::now() < deadline,
            "no DNS events for port {client_port}"
        );
        for name in [SILENT, ANSWERED] {
            id += 1;
            client.send_to(&query(id, name), (SERVER, 53)).unwrap();
        }
        let mut buf = [0u8; 512];
        let _ = client.recv_from(&mut buf);
        app.dispatch(Action::Tick(jiff::Timestamp::now()));
        app.settle(Duration::from_millis(100)).await;
    }
    // After 2 s without a reply the silent query is a suspect; the answered one is not.
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    app_until(&mut app, "the DNS suspect", 10, |a| {
        a.state
            .sockets
            .summary
            .dns_suspects(a.state.now)
            .iter()
            .any(|(q, _)| q.3 == SILENT && q.1 == client_port)
    })
    .await;
    let suspects = app.state.sockets.summary.dns_suspects(app.state.now);
    assert!(
        suspects.iter().all(|(q, _)| q.3 != ANSWERED),
        "{suspects:?}"
    );
    assert!(
        app.state.sockets.summary.dns_rcodes.get(&3).copied() >= Some(1),
        "NXDOMAIN counted: {:?}",
        app.state.sockets.summary.dns_rcodes
    );
    // And the pane's summary (shown beside the events at this size) says so.
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("DNS without reply"), "{text}");
    assert!(text.contains(SILENT), "{text}");
}
