//! The sockets pane and the helper life cycle in the console, driven by actions as the runtime
//! would deliver them (the helper itself is exercised end to end in tests/helper_*.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{press, screen};
use std::sync::Arc;
use std::time::Duration;

use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::Scope;
use ktui::cluster::demo::DemoCluster;
use ktui::helper::client::HelperError;
use ktui::helper::manifest::HelperVariant;
use ktui::state::helper::HelperSource;
use ktui::state::helper::{HelperStatus, HelperTarget};
use ktui::state::{Confirm, Mode, Screen};
use ktui_wire::{
    DnsInfo, EventType, Hello, HelperMessage, K8sRef, ProbeStatus, Proto, SocketEvent, Stats,
};

const QUIET: Duration = Duration::from_millis(100);

async fn app(source: HelperSource) -> App {
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    app.state.helper.source = source;
    app.settle(QUIET).await;
    app.state.prepare_frame();
    app
}

fn hello(ebpf: bool) -> Hello {
    Hello {
        protocol: 1,
        helper_version: "0.1.0".into(),
        kernel: "6.18.0".into(),
        node: Some("demo-node-1".into()),
        probes: vec![
            ProbeStatus {
                name: "tcp_state".into(),
                attach: Some("tracepoint:sock/inet_sock_set_state".into()),
                fallback: false,
                error: None,
            },
            ProbeStatus {
                name: "udp_send".into(),
                attach: Some("tracepoint:sock/sock_send_length".into()),
                fallback: true,
                error: Some("kprobe:udp_sendmsg unavailable (no kprobes on this kernel)".into()),
            },
        ],
        ebpf,
        ebpf_error: (!ebpf).then(|| "loading eBPF programs needs CAP_BPF and CAP_PERFMON".into()),
        missing_capabilities: if ebpf {
            vec![]
        } else {
            vec!["CAP_BPF".into(), "CAP_PERFMON".into()]
        },
        capture: false,
        checkpoint_dir: false,
        snapshot: false,
    }
}

fn ts(app: &App, ms: i64) -> String {
    (app.state.now + jiff::SignedDuration::from_millis(ms))
        .strftime("%Y-%m-%dT%H:%M:%S.%9fZ")
        .to_string()
}

/// Events as a helper would send them for the checkout pod.
fn events(app: &App) -> Vec<HelperMessage> {
    let uid = app
        .state
        .pods
        .rows
        .iter()
        .find_map(|r| {
            let p = app.state.pods.pod(r.pod_key())?;
            (p.workload.name == "checkout").then(|| p.uid.clone())
        })
        .unwrap();
    let k8s = Some(K8sRef {
        namespace: Some("shop".into()),
        pod: Some("checkout-6c9f8b7d54-7fb9x".into()),
        container: Some("checkout".into()),
        pod_uid: Some(uid),
        container_id: None,
    });
    let base = |ms, kind| {
        let mut e = SocketEvent::new(ts(app, ms), kind);
        e.proto = Some(Proto::Tcp);
        e.pid = Some(4242);
        e.tid = Some(4242);
        e.comm = Some("checkout".into());
        e.src = Some("10.244.1.75".into());
        e.sport = Some(41000);
        e.dst = Some("10.96.14.2".into());
        e.dport = Some(5432);
        e.netns = Some(4026532100);
        e.k8s = k8s.clone();
        e
    };
    let mut syn = base(-5000, EventType::TcpState);
    syn.old_state = Some("CLOSE".into());
    syn.new_state = Some("SYN_SENT".into());
    let mut refused = base(-4990, EventType::Connect);
    refused.errno = Some(111);
    refused.latency_us = Some(850);
    let mut dns = base(-4000, EventType::Dns);
    dns.proto = Some(Proto::Udp);
    dns.dst = Some("10.96.0.10".into());
    dns.dport = Some(53);
    dns.sport = Some(53001);
    dns.dns = Some(DnsInfo {
        qname: Some("orders-db.shop.svc.cluster.local".into()),
        qtype: Some(1),
        rcode: None,
        id: None,
    });
    let mut retrans = base(-3000, EventType::TcpRetransmit);
    retrans.new_state = Some("SYN_SENT".into());
    vec![
        HelperMessage::Socket {
            event: Box::new(syn),
        },
        HelperMessage::Socket {
            event: Box::new(refused),
        },
        HelperMessage::Socket {
            event: Box::new(dns),
        },
        HelperMessage::Socket {
            event: Box::new(retrans),
        },
        HelperMessage::Stats(Stats {
            events: 4,
            generated: 5,
            lost: 1,
            ..Stats::default()
        }),
    ]
}

fn select_checkout(app: &mut App) {
    press(app, "/checkout\n");
    app.state.prepare_frame();
}

#[tokio::test]
async fn deploy_asks_first_and_says_what_it_creates() {
    let mut app = app(HelperSource::Cluster).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    assert_eq!(app.state.screen, Screen::Sockets);
    assert!(matches!(
        &app.state.mode,
        Mode::Confirm(Confirm::DeployHelper { node, variant }) if node == "demo-node-1" && variant.is_default()
    ));
    let text = screen(&mut app, 120, 40);
    for what in [
        "Namespace ktui-system",
        "ServiceAccount",
        "ktui-helper-demo-node-1",
        "BPF",
        // Said plainly, with what each capability is for.
        "close to root on the node",
        "(through /proc/1/root)",
        "SYS_PTRACE: read other processes'",
        "y: create and connect   n / Esc: cancel",
    ] {
        assert!(text.contains(what), "{what} missing:\n{text}");
    }
    assert!(!text.contains("not privileged"), "{text}");
    insta::assert_snapshot!("deploy_confirm_120x40", text);
    let small = screen(&mut app, 80, 24);
    insta::assert_snapshot!("deploy_confirm_80x24", small);
    // Cut at 80x24: the border says so, and j scrolls to the end (the last capability).
    assert!(small.contains("▼ more: j/k"), "{small}");
    let last = "to show Service VIP";
    assert!(!small.contains(last), "{small}");
    for _ in 0..40 {
        press(&mut app, "j");
    }
    let end = screen(&mut app, 80, 24);
    assert!(end.contains(last) && end.contains("▲ end"), "{end}");
    assert!(
        end.contains("y: create and connect"),
        "the keys stay: {end}"
    );
    for _ in 0..40 {
        press(&mut app, "k");
    }
    assert_eq!(screen(&mut app, 80, 24), small, "k scrolls back to the top");
    // The default helper's dialog names no variant and adds nothing.
    assert!(
        !text.contains("variant") && !text.contains("Added for"),
        "{text}"
    );
    // n cancels: nothing was created.
    press(&mut app, "n");
    assert_eq!(app.state.screen, Screen::Table);
    assert!(app.state.helper.deployed.is_empty());
}

/// The snapshot variant's dialog says what it adds to the default helper, and why.
#[tokio::test]
async fn the_snapshot_variant_dialog_shows_what_it_adds_and_why() {
    let mut app = app(HelperSource::Cluster).await;
    select_checkout(&mut app);
    app.state.mode = Mode::Confirm(Confirm::DeployHelper {
        node: "demo-node-1".into(),
        variant: HelperVariant::Snapshot,
    });
    let text = screen(&mut app, 120, 40);
    for what in [
        "ktui-helper-demo-node-1 (snapshot variant)",
        "SYS_PTRACE: read other processes'",
        "Added for live snapshots (snapshot variant):",
        "DAC_READ_SEARCH: read other users' files",
        "SYSLOG: read /dev/kmsg",
        "/dev/kmsg (read-only):",
        "/var/lib/kubelet/checkpoints: Read-write",
        "reads the memory of any process",
        "y: create and connect   n / Esc: cancel",
    ] {
        assert!(text.contains(what), "{what} missing:\n{text}");
    }
    insta::assert_snapshot!("deploy_confirm_snapshot_120x40", text);
    insta::assert_snapshot!("deploy_confirm_snapshot_80x24", screen(&mut app, 80, 24));
    // Yes deploys that variant.
    let effects = ktui::update::update(
        &mut app.state,
        Action::Intent(ktui::intent::Intent::Answer(ktui::intent::Answer::Yes)),
    );
    assert!(
        effects.iter().any(|e| matches!(
            e,
            ktui::effect::Effect::DeployHelper {
                variant: HelperVariant::Snapshot,
                ..
            }
        )),
        "{effects:?}"
    );
}

#[tokio::test]
async fn live_events_and_summary() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = app(HelperSource::Cluster).await;
        select_checkout(&mut app);
        press(&mut app, "ty");
        assert!(matches!(
            app.state.helper.status,
            HelperStatus::Deploying(_)
        ));
        app.dispatch(Action::HelperDeployed {
            node: "demo-node-1".into(),
            image_id: Some("localhost/ktui-helper@sha256:abc".into()),
        });
        assert_eq!(app.state.helper.status, HelperStatus::Connecting);
        app.dispatch(Action::HelperConnected(Box::new(hello(true))));
        let batch = events(&app);
        app.dispatch(Action::HelperMessages(batch));
        let text = screen(&mut app, w, h);
        // At 80 columns the tuple stays whole and DETAIL gets what is left.
        assert!(
            text.contains("10.244.1.75:41000 → 10.96.14.2:5432"),
            "{text}"
        );
        assert!(text.contains("CLOSE → SYN_S"), "{text}");
        assert!(text.contains("lost 1"), "{text}");
        if w >= 120 {
            assert!(text.contains("CLOSE → SYN_SENT"), "{text}");
            assert!(text.contains("ECONNREFUSED"), "{text}");
            assert!(text.contains("SYN_SENT stuck >1s: 1"), "{text}");
            assert!(text.contains("DNS without reply >2s: 1"), "{text}");
            assert!(text.contains("Retransmits: 1"), "{text}");
        }
        insta::assert_snapshot!(format!("sockets_{w}x{h}"), text);
    }
}

#[tokio::test]
async fn stream_loss_marks_a_gap_and_reconnect_closes_it() {
    let mut app = app(HelperSource::Local).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    assert_eq!(app.state.helper.target, Some(HelperTarget::Local));
    app.dispatch(Action::HelperConnected(Box::new(hello(true))));
    app.dispatch(Action::HelperStreamLost {
        error: HelperError::Closed {
            before_hello: false,
        },
        attempt: 1,
        retry_in: Some(Duration::from_secs(1)),
    });
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("reconnecting, attempt 1"), "{text}");
    assert!(text.contains("stream lost until …"), "{text}");
    app.dispatch(Action::HelperConnected(Box::new(hello(true))));
    let text = screen(&mut app, 120, 40);
    assert!(!text.contains("reconnecting"), "{text}");
    assert!(
        text.contains("stream lost until"),
        "the gap stays visible: {text}"
    );
}

#[tokio::test]
async fn without_privileges_the_pane_names_what_is_missing() {
    let mut app = app(HelperSource::Local).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    app.dispatch(Action::HelperConnected(Box::new(hello(false))));
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("The helper cannot trace"), "{text}");
    assert!(text.contains("Missing: CAP_BPF, CAP_PERFMON"), "{text}");
    assert!(app.state.sockets.ring.lines.is_empty());
}

#[tokio::test]
async fn filter_pause_and_scope() {
    let mut app = connected().await;
    let batch = events(&app);
    app.dispatch(Action::HelperMessages(batch));
    press(&mut app, "/type:dns\n");
    assert_eq!(app.state.sockets.window(100).len(), 1);
    press(&mut app, "/\x1b");
    assert_eq!(app.state.sockets.window(100).len(), 4);
    press(&mut app, "p");
    let batch = events(&app);
    app.dispatch(Action::HelperMessages(batch));
    assert_eq!(app.state.sockets.window(100).len(), 4, "paused");
    press(&mut app, "p");
    assert_eq!(app.state.sockets.window(100).len(), 8);
    // Another pod's events are hidden in pod scope and shown node-wide.
    let mut other = SocketEvent::new(ts(&app, 0), EventType::Connect);
    other.k8s = Some(K8sRef {
        namespace: Some("default".into()),
        pod: Some("web".into()),
        container: None,
        pod_uid: Some("other-uid".into()),
        container_id: None,
    });
    app.dispatch(Action::HelperMessages(vec![HelperMessage::Socket {
        event: Box::new(other),
    }]));
    assert_eq!(app.state.sockets.window(100).len(), 8);
    press(&mut app, "n");
    assert_eq!(app.state.sockets.window(100).len(), 9);
}

#[tokio::test]
async fn quitting_asks_about_deployed_helpers() {
    let mut app = app(HelperSource::Cluster).await;
    select_checkout(&mut app);
    press(&mut app, "ty");
    app.dispatch(Action::HelperDeployed {
        node: "demo-node-1".into(),
        image_id: None,
    });
    press(&mut app, "\x1bq");
    assert!(matches!(
        app.state.mode,
        Mode::Confirm(Confirm::QuitWithHelpers { .. })
    ));
    assert!(!app.state.quit);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("Remove them before quitting?"), "{text}");
    press(&mut app, "y");
    assert!(app.state.quit_after_remove);
    assert_eq!(
        app.state.helper.status,
        HelperStatus::Removing("demo-node-1".into()),
        "removal is its own status, not a deploy step"
    );
    app.dispatch(Action::HelperRemoved {
        node: "demo-node-1".into(),
    });
    assert!(app.state.quit);
}

#[tokio::test]
async fn demo_replays_the_recording_labelled() {
    let mut app = app(HelperSource::DemoReplay).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    assert_eq!(app.state.helper.target, Some(HelperTarget::DemoReplay));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.settle(QUIET).await;
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("DEMO REPLAY"), "{text}");
    let events = app
        .state
        .sockets
        .ring
        .lines
        .iter()
        .filter(|e| matches!(e, ktui::state::sockets::Entry::Event(_)))
        .count();
    assert!(events > 0, "{text}");
}

#[tokio::test]
async fn pod_names_missing_from_the_helper_come_from_the_pod_cache() {
    let mut app = app(HelperSource::Local).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    app.dispatch(Action::HelperConnected(Box::new(hello(true))));
    let key = app.state.pods.selected_row().unwrap().pod_key().clone();
    let uid = app.state.pods.pod(&key).unwrap().uid.clone();
    let mut e = SocketEvent::new(ts(&app, -100), EventType::TcpState);
    e.k8s = Some(K8sRef {
        namespace: None,
        pod: None,
        container: None,
        pod_uid: Some(uid),
        container_id: None,
    });
    let mut unknown = SocketEvent::new(ts(&app, -50), EventType::TcpState);
    unknown.k8s = Some(K8sRef {
        namespace: None,
        pod: None,
        container: None,
        pod_uid: Some("not-a-pod-here".into()),
        container_id: None,
    });
    app.dispatch(Action::HelperMessages(vec![
        HelperMessage::Socket { event: Box::new(e) },
        HelperMessage::Socket {
            event: Box::new(unknown),
        },
    ]));
    let named: Vec<(Option<String>, Option<String>)> = app
        .state
        .sockets
        .ring
        .lines
        .iter()
        .filter_map(|en| match en {
            ktui::state::sockets::Entry::Event(ev) => ev
                .k8s
                .as_ref()
                .map(|k| (k.namespace.clone(), k.pod.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        named,
        vec![
            (Some(key.namespace.clone()), Some(key.name.clone())),
            (None, None),
        ],
        "the known UID is named, the unknown one stays null (never a guess)"
    );
}

/// A connected cluster helper for the checkout pod, nothing received yet: the helper
/// deployed on checkout's node (`t`, `y`) and connected.
async fn connected() -> App {
    let mut app = app(HelperSource::Cluster).await;
    select_checkout(&mut app);
    press(&mut app, "ty");
    app.dispatch(Action::HelperDeployed {
        node: "demo-node-1".into(),
        image_id: None,
    });
    app.dispatch(Action::HelperConnected(Box::new(hello(true))));
    app
}

/// An event of the checkout pod between two endpoints.
fn between(
    app: &App,
    ms: i64,
    kind: EventType,
    src: (&str, u16),
    dst: (&str, u16),
) -> HelperMessage {
    let HelperMessage::Socket { mut event } = events(app).remove(0) else {
        unreachable!("events() starts with a socket event")
    };
    event.ts = ts(app, ms);
    event.kind = kind;
    event.src = Some(src.0.into());
    event.sport = Some(src.1);
    event.dst = Some(dst.0.into());
    event.dport = Some(dst.1);
    HelperMessage::Socket { event }
}

/// The lines of the screen that contain `needle`.
fn lines_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.contains(needle)).collect()
}

#[tokio::test]
async fn tuples_keep_their_ports() {
    let mut app = connected().await;
    let widest_v4 = between(
        &app,
        -3000,
        EventType::TcpState,
        ("192.168.100.200", 65535),
        ("172.16.254.254", 65535),
    );
    let v6 = between(
        &app,
        -2000,
        EventType::Connect,
        ("2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", 41000),
        ("2001:db8:aaaa:bbbb:cccc:dddd:eeee:2", 443),
    );
    let typical = between(
        &app,
        -1000,
        EventType::TcpState,
        ("10.244.1.75", 41000),
        ("10.96.14.2", 5432),
    );
    app.dispatch(Action::HelperMessages(vec![widest_v4, v6, typical]));
    for scope in ["pod", "node"] {
        let text = screen(&mut app, 120, 40);
        assert!(
            text.contains("192.168.100.200:65535 → 172.16.254.254:65535"),
            "{scope} scope, 120 columns: the widest IPv4 tuple is cut:\n{text}"
        );
        let v6_row = lines_with(&text, "connect").join("\n");
        assert!(
            v6_row.contains("]:41000 → [") && v6_row.contains("]:443 "),
            "{scope} scope: an IPv6 tuple may be shortened but keeps both ports:\n{text}"
        );
        let text = screen(&mut app, 80, 24);
        assert!(
            text.contains("10.244.1.75:41000 → 10.96.14.2:5432"),
            "{scope} scope, 80 columns: a pod-network tuple is cut:\n{text}"
        );
        for port in [":65535 ", "]:443 ", "]:41000 "] {
            assert!(
                text.contains(port),
                "80 columns lost the port {port}:\n{text}"
            );
        }
        press(&mut app, "n");
    }
}

/// Headings of the summary; every other summary line is an indented entry.
const HEADINGS: &[&str] = &[
    "Connect p50",
    "SYN_SENT stuck",
    "CLOSE_WAIT",
    "DNS without reply",
    "Retransmits",
    "Top talkers",
    "Drops",
    "Probes",
    "DEMO REPLAY",
    "(summary evicted",
];

/// The summary below the events (the rows after the `│───` rule), as its two columns.
fn summary_columns(text: &str, w: usize) -> Vec<String> {
    let rows: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let rule = rows
        .iter()
        .position(|r| r.len() > 3 && r[0] == '│' && r[1] == '─')
        .expect("a summary below the events");
    let body: Vec<&Vec<char>> = rows[rule + 1..rows.len() - 2].iter().collect();
    // The right column starts where its first heading does.
    let half = body
        .iter()
        .filter_map(|r| {
            let line: String = r.iter().collect();
            HEADINGS
                .iter()
                .filter_map(|h| line.find(h).map(|at| line[..at].chars().count()))
                .filter(|&x| x > 1)
                .min()
        })
        .min()
        .expect("a heading in the right column");
    let mut out = Vec::new();
    for (from, to) in [(1, half), (half, w - 1)] {
        for r in &body {
            out.push(
                r[from..to]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string(),
            );
        }
    }
    out
}

#[tokio::test]
async fn summary_entries_stay_whole() {
    let mut app = connected().await;
    let mut batch = Vec::new();
    // Six connections stuck in SYN_SENT: four are listed, then "+2 more".
    for i in 1..=6u16 {
        let mut m = between(
            &app,
            -5000,
            EventType::TcpState,
            ("10.244.1.75", 41000 + i),
            ("10.96.14.2", 5432),
        );
        if let HelperMessage::Socket { event } = &mut m {
            event.old_state = Some("CLOSE".into());
            event.new_state = Some("SYN_SENT".into());
        }
        batch.push(m);
    }
    // A talker whose line is wider than a summary column.
    for _ in 0..12 {
        let mut m = between(
            &app,
            -4000,
            EventType::UdpSend,
            ("10.244.1.75", 53001),
            ("10.96.200.200", 65535),
        );
        if let HelperMessage::Socket { event } = &mut m {
            event.bytes = Some(123_456);
        }
        batch.push(m);
    }
    app.dispatch(Action::HelperMessages(batch));
    let text = screen(&mut app, 120, 40);
    let lines = summary_columns(&text, 120);
    for line in lines.iter().filter(|l| !l.is_empty()) {
        assert!(
            line.starts_with("  ") || HEADINGS.iter().any(|h| line.starts_with(h)),
            "a summary entry continues on the next line: {line:?}\n{text}"
        );
    }
    assert!(
        lines.iter().any(|l| l.trim() == "+2 more"),
        "the cut SYN_SENT list says how many are left out:\n{text}"
    );
    let talker = lines_with(&text, "10.96.200.200:65535").join("\n");
    assert!(
        talker.contains("12 ev 1481472 B"),
        "the talker's figures are on its line:\n{text}"
    );
    let note = lines.iter().find(|l| l.contains("udp_send:")).unwrap();
    assert!(
        note.ends_with('…') || note.ends_with("kernel)"),
        "{note:?}\n{text}"
    );
}

#[tokio::test]
async fn a_long_status_wraps_instead_of_being_cut() {
    let mut app = connected().await;
    // A long message: the helper pod's exec refused, its cause ending in "last-word".
    app.dispatch(Action::HelperStreamLost {
        error: HelperError::Reported {
            code: ktui_wire::ErrorCode::Unavailable,
            message: "cannot exec `ktui-helper serve` in pod ktui-system/ktui-helper-demo-node-1: \
                      the API server refused the upgrade (check pods/exec) last-word"
                .into(),
        },
        attempt: 9,
        retry_in: None,
    });
    let text = screen(&mut app, 80, 24);
    assert!(text.contains("last-word"), "{text}");
    assert!(
        text.contains("TIME"),
        "the event list is still there: {text}"
    );
}

/// The pods and UIDs the pane's visible events are attributed to.
fn shown_pods(app: &App) -> Vec<(String, String, String)> {
    app.state
        .sockets
        .window(100_000)
        .into_iter()
        .filter_map(|e| match e {
            ktui::state::sockets::Entry::Event(ev) => ev.k8s.as_ref().map(|k| {
                (
                    k.namespace.clone().unwrap_or_default(),
                    k.pod.clone().unwrap_or_default(),
                    k.pod_uid.clone().unwrap_or_default(),
                )
            }),
            _ => None,
        })
        .collect()
}

/// `t` in the demo shows the demo pod's own events (the recording's pods play the demo's pods
/// of the same namespace and workload, on that pod's node), labelled as a replay.
#[tokio::test]
async fn demo_replay_plays_the_demo_cluster_pods() {
    const RECORDED: [&str; 4] = [
        "checkout-5f7c9d8b6-q8wzt",
        "cart-api-7d4b8f6c5-m2j7n",
        "coredns-6d4b8c7f9-x2k4p",
        "report-uploader-28f1c-7xk2d",
    ];
    let mut app = app(HelperSource::DemoReplay).await;
    press(&mut app, "u/checkout-6c9f8b7d54-7fb9x\n");
    app.state.prepare_frame();
    let key = app.state.pods.selected_row().unwrap().pod_key().clone();
    assert_eq!(key.name, "checkout-6c9f8b7d54-7fb9x");
    let uid = app.state.pods.pod(&key).unwrap().uid.clone();
    press(&mut app, "t");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.settle(QUIET).await;
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("Sockets shop/checkout-6c9f8b7d54-7fb9x"),
        "{text}"
    );
    let shown = shown_pods(&app);
    assert!(!shown.is_empty(), "no events of the pod:\n{text}");
    for (ns, pod, pod_uid) in &shown {
        assert_eq!(
            (ns.as_str(), pod.as_str(), pod_uid),
            ("shop", key.name.as_str(), &uid)
        );
    }
    assert!(
        text.contains("DEMO REPLAY: recorded with 10/10 probes"),
        "the probe line says it is a replay and what was recorded:\n{text}"
    );
    assert!(
        !text.contains(" 0/1 "),
        "no probe count of a live helper: {text}"
    );
    assert!(text.contains("demo-node-1"), "{text}");
    // n: the whole node, every event attributed to a pod of the demo cluster.
    press(&mut app, "n");
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains("(whole node)") && text.contains("DEMO REPLAY"),
        "{text}"
    );
    let shown = shown_pods(&app);
    for (ns, pod, pod_uid) in &shown {
        let demo_pod = app.state.pods.pod(&ktui::cluster::PodKey::new(ns, pod));
        assert_eq!(
            demo_pod.map(|p| &p.uid),
            Some(pod_uid),
            "{ns}/{pod} is not a demo pod"
        );
    }
    assert!(
        shown
            .iter()
            .any(|(_, p, _)| p == "coredns-5d78c9869d-l7tq2"),
        "{shown:?}"
    );
    for recorded in RECORDED {
        assert!(!text.contains(recorded), "{recorded} on screen:\n{text}");
        assert!(shown.iter().all(|(_, p, _)| p != recorded), "{recorded}");
    }
    // t on the replica on demo-node-2: the replay plays that node now.
    press(&mut app, "\x1b\x1b/k2mzq\n");
    app.state.prepare_frame();
    let key = app.state.pods.selected_row().unwrap().pod_key().clone();
    assert_eq!(key.name, "checkout-6c9f8b7d54-k2mzq");
    press(&mut app, "t");
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.settle(QUIET).await;
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("demo-node-2"), "{text}");
    let shown = shown_pods(&app);
    assert!(
        !shown.is_empty() && shown.iter().all(|(_, p, _)| p == &key.name),
        "{shown:?}\n{text}"
    );
}

/// A pod the recording has nothing of: the pane says so instead of staying blank.
#[tokio::test]
async fn demo_replay_of_a_pod_without_recorded_events_says_so() {
    let mut app = app(HelperSource::DemoReplay).await;
    press(&mut app, "/ledger\nt");
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.settle(QUIET).await;
    let text = screen(&mut app, 120, 40);
    assert!(
        text.contains(
            "No events of payments/ledger-worker-5d8c7b6f4-tq9wn yet; n shows the whole node."
        ),
        "{text}"
    );
    assert!(text.contains("shown as node demo-node-2"), "{text}");
    press(&mut app, "n");
    assert!(!shown_pods(&app).is_empty());
    assert!(!screen(&mut app, 120, 40).contains("No events of"));
}

#[tokio::test]
async fn every_confirmation_shows_its_keys() {
    let mut app = app(HelperSource::Cluster).await;
    select_checkout(&mut app);
    press(&mut app, "t");
    // The longest deploy dialog: with a preflight warning.
    app.state.helper.deploy_warning = Some(
        "namespace ktui-system enforces Pod Security \"baseline\", which refuses the helper (host \
         namespaces, hostPath volumes, added capabilities): run `kubectl label namespace \
         ktui-system pod-security.kubernetes.io/enforce=privileged --overwrite`"
            .into(),
    );
    let dialogs = [
        (
            Confirm::DeployHelper {
                node: "demo-node-1".into(),
                variant: HelperVariant::default(),
            },
            ["y: create and connect", "n / Esc: cancel"],
        ),
        (
            Confirm::DeployHelper {
                node: "demo-node-1".into(),
                variant: HelperVariant::Snapshot,
            },
            ["y: create and connect", "n / Esc: cancel"],
        ),
        (
            Confirm::RemoveHelper {
                node: "demo-node-1".into(),
            },
            ["y: delete", "n / Esc: keep it"],
        ),
        (
            Confirm::QuitWithHelpers {
                nodes: (1..=12)
                    .map(|i| format!("worker-node-{i}.example.internal"))
                    .collect(),
            },
            ["y: remove and quit", "Esc: stay"],
        ),
    ];
    for (confirm, keys) in dialogs {
        app.state.mode = Mode::Confirm(confirm.clone());
        for (w, h) in [(80, 24), (120, 40)] {
            let text = screen(&mut app, w, h);
            for k in keys {
                assert!(
                    text.contains(k),
                    "{confirm:?} at {w}x{h}: {k:?} missing:\n{text}"
                );
            }
        }
    }
}

/// A storm the helper folded in the kernel shows as one line with its count, and the title
/// says how many events were folded (shown, not lost).
#[tokio::test]
async fn a_folded_storm_is_one_line_with_its_count() {
    let mut app = connected().await;
    let HelperMessage::Socket { event } = between(
        &app,
        -1000,
        EventType::UdpSend,
        ("10.244.1.75", 41000),
        ("10.96.0.10", 9),
    ) else {
        unreachable!()
    };
    let mut folded = *event;
    folded.proto = Some(ktui_wire::Proto::Udp);
    folded.old_state = None;
    folded.new_state = None;
    folded.count = Some(19_996);
    folded.bytes = Some(19_996 * 64);
    folded.first_ts = Some(ts(&app, -1500));
    app.dispatch(Action::HelperMessages(vec![
        HelperMessage::Socket {
            event: Box::new(folded),
        },
        HelperMessage::Stats(Stats {
            events: 2,
            generated: 19_998,
            aggregated: 19_996,
            ..Stats::default()
        }),
    ]));
    let text = screen(&mut app, 120, 40);
    let rows = lines_with(&text, "10.244.1.75:41000");
    assert_eq!(rows.len(), 1, "{text}");
    assert!(
        rows[0].contains("10.96.0.10:9") && rows[0].contains("×19996"),
        "{text}"
    );
    // Top talkers weigh the folded line by its count.
    assert!(text.contains("19996 ev"), "{text}");
    assert!(text.contains("folded 19996"), "{text}");
}

/// A connect the node translated: the line names the backend the VIP went to, and a VIP whose
/// connects fail is listed in the summary with that backend.
#[tokio::test]
async fn a_translated_connect_shows_its_backend_and_a_failing_vip() {
    let mut app = connected().await;
    let tuple = |src: &str, sport, dst: &str, dport| ktui_wire::CtTuple {
        src: src.into(),
        sport: Some(sport),
        dst: dst.into(),
        dport: Some(dport),
    };
    let connect = |ms, vip: &str, backend: &str, bport, errno| {
        let mut e = SocketEvent::new(ts(&app, ms), EventType::Connect);
        e.proto = Some(Proto::Tcp);
        e.pid = Some(4242);
        e.comm = Some("checkout".into());
        e.src = Some("10.244.1.75".into());
        e.sport = Some(41000 + ms as u16);
        e.dst = Some(vip.into());
        e.dport = Some(80);
        e.errno = errno;
        e.latency_us = Some(300);
        e.conntrack = Some(ktui_wire::Conntrack {
            state: Some(
                if errno.is_some() {
                    "CLOSE"
                } else {
                    "ESTABLISHED"
                }
                .into(),
            ),
            orig: Some(tuple("10.244.1.75", 41000 + ms as u16, vip, 80)),
            reply: Some(tuple(backend, bport, "10.244.1.75", 41000 + ms as u16)),
            nat: Some("dnat".into()),
        });
        HelperMessage::Socket { event: Box::new(e) }
    };
    app.dispatch(Action::HelperMessages(vec![
        connect(1, "10.96.0.20", "10.244.2.10", 8080, None),
        connect(2, "10.96.0.21", "10.244.2.9", 8081, Some(111)),
        connect(3, "10.96.0.21", "10.244.2.9", 8081, Some(111)),
    ]));
    press(&mut app, "n"); // the events carry no pod: show the whole node
    let text = screen(&mut app, 200, 40);
    assert!(text.contains("DNAT ⇒ 10.244.2.10:8080"), "{text}");
    assert!(text.contains("DNAT ⇒ 10.244.2.9:8081"), "{text}");
    assert!(text.contains("Service VIPs failing: 1"), "{text}");
    let vip = lines_with(&text, "10.96.0.21:80 ECONNREFUSED 2 ok 0 → 10.244.2.9:8081");
    assert_eq!(vip.len(), 1, "{text}");
    assert!(
        !text.contains("10.96.0.20:80 ok"),
        "a VIP that works is not listed: {text}"
    );
}
