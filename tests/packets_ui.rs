//! The packets pane and the capture's confirmation as drawn, driven through the reducer alone
//! (no runtime: the helper's messages and the fetch results are given as the runtime would
//! deliver them), at 80×24 and 120×40. Untrusted text from the helper (a DNS name with escape
//! sequences) reaches the screen sanitised.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/packets.rs"]
mod packets;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use ktui::action::Action;
use ktui::cluster::PodKey;
use ktui::config::theme::Theme;
use ktui::effect::Effect;
use ktui::state::AppState;
use ktui::state::helper::HelperSource;
use ktui::update::update;
use ktui_wire::{CaptureStats, Hello, HelperMessage, PacketLine};
use packets::DIR;

fn state(source: HelperSource) -> (AppState, PodKey, String) {
    packets::demo_state("prod-eu", "inc-42", source)
}

fn key(s: &mut AppState, code: KeyCode) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

fn draw(s: &mut AppState, w: u16, h: u16) -> String {
    update(s, Action::Resize(w, h));
    s.prepare_frame();
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    let theme = Theme::default();
    term.draw(|f| ktui::view::view(f, s, &theme)).unwrap();
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

fn hello() -> Hello {
    Hello {
        protocol: ktui_wire::PROTOCOL_VERSION,
        helper_version: "0.1.0".into(),
        kernel: "6.18.0".into(),
        node: Some("demo-node-1".into()),
        probes: Vec::new(),
        ebpf: true,
        ebpf_error: None,
        missing_capabilities: Vec::new(),
        capture: true,
        checkpoint_dir: true,
        snapshot: false,
    }
}

fn line(n: u64) -> PacketLine {
    let dns = n.is_multiple_of(4);
    PacketLine {
        n,
        ts: Some(format!("1763632800.{:09}", n * 1_250_000)),
        len: if dns { 92 } else { 1514 },
        caplen: if dns { 92 } else { 1514 },
        src: Some("10.244.1.75".into()),
        dst: Some(if dns { "10.96.0.10" } else { "10.96.14.2" }.into()),
        proto: Some(if dns { "udp" } else { "tcp" }.into()),
        sport: Some(if dns {
            51_000
        } else {
            41_000 + u16::try_from(n % 3).unwrap()
        }),
        dport: Some(if dns { 53 } else { 5432 }),
        tcp_flags: (!dns).then(|| if n == 7 { "RST,ACK" } else { "PSH,ACK" }.to_string()),
        icmp_type: None,
        vlan: None,
        dns_qname: dns.then(|| "ledger.payments.svc.cluster.local".to_string()),
        truncated: false,
    }
}

/// A capture of checkout running on its node: started, 40 packets, stats, three files (one in
/// the case, one fetching, one waiting), a gap behind it.
fn running() -> (AppState, u64) {
    let (mut s, pod, node) = state(HelperSource::Cluster);
    s.helper.hello = Some(hello());
    let (id, spec) = packets::requested(&mut s, pod, &node);
    let label = spec.label.clone().unwrap();
    let mut msgs = vec![packets::started(id)];
    msgs.extend((1..=40).map(|n| HelperMessage::Packet { id, p: line(n) }));
    let stats = |packets: u64| CaptureStats {
        packets,
        bytes: packets * 1200,
        wire_bytes: packets * 1200,
        kernel_drops: 0,
        summarized: packets,
        sampled_out: 12,
        files: 2,
        files_lost: 0,
    };
    msgs.push(HelperMessage::CaptureStats {
        id,
        stats: stats(1000),
    });
    update(&mut s, Action::HelperMessages(msgs));
    let later = s.now + jiff::SignedDuration::from_secs(2);
    update(&mut s, Action::Tick(later));
    let file = |seq: u32| HelperMessage::CaptureFile {
        id,
        seq,
        path: format!("{DIR}/{label}-{id}-{seq:04}.pcap"),
        bytes: 100 << 20,
        packets: 81_000,
        sha256: format!("{seq}e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"),
        first_n: Some(1 + 81_000 * u64::from(seq - 1)),
        last_n: Some(81_000 * u64::from(seq)),
        last: false,
    };
    update(
        &mut s,
        Action::HelperMessages(vec![
            HelperMessage::CaptureStats {
                id,
                stats: stats(3000),
            },
            file(1),
            file(2),
            file(3),
        ]),
    );
    update(
        &mut s,
        Action::CaptureFileFetched {
            capture: 1,
            wire_id: id,
            seq: 1,
            result: Ok((
                format!("artifacts/shop/checkout/pcaps/{label}-{id}-0001.pcap"),
                "1e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85".into(),
            )),
        },
    );
    update(
        &mut s,
        Action::CaptureFileRemoved {
            capture: 1,
            wire_id: id,
            seq: 1,
            result: Ok(()),
        },
    );
    update(
        &mut s,
        Action::CaptureFileProgress {
            capture: 1,
            wire_id: id,
            seq: 2,
            done: 40 << 20,
            total: Some(100 << 20),
        },
    );
    s.toasts.clear();
    (s, id)
}

#[test]
fn the_capture_confirmation() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut s, pod, _) = state(HelperSource::Cluster);
        update(
            &mut s,
            Action::Intent(ktui::intent::Intent::OpenPackets(pod)),
        );
        // On the filter, typed.
        key(&mut s, KeyCode::Tab);
        for c in "port 53".chars() {
            key(&mut s, KeyCode::Char(c));
        }
        let text = draw(&mut s, w, h);
        for needle in [
            "Capture packets of shop/checkout",
            "port 53█",
            "pcaps hold payloads",
            "NET_RAW",
            "/var/run/ktui/captures",
            "⏎: capture",
        ] {
            assert!(text.contains(needle), "{needle} at {w}x{h}:\n{text}");
        }
        insta::assert_snapshot!(format!("capture_confirm_{w}x{h}"), text);
    }
}

#[test]
fn the_confirmation_with_the_local_helper_and_a_wrong_limit() {
    let (mut s, pod, _) = state(HelperSource::Local);
    update(
        &mut s,
        Action::Intent(ktui::intent::Intent::OpenPackets(pod)),
    );
    for c in "/var/run/netns/ktui-a".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    for _ in 0..5 {
        key(&mut s, KeyCode::Tab);
    }
    key(&mut s, KeyCode::Char('x'));
    key(&mut s, KeyCode::Enter);
    let text = draw(&mut s, 120, 40);
    assert!(
        text.contains("duration: \"10mx\" is not a duration"),
        "{text}"
    );
    assert!(
        !text.contains("NET_RAW: open"),
        "no helper pod locally:\n{text}"
    );
    insta::assert_snapshot!("capture_confirm_local_120x40", text);
}

#[test]
fn the_pane_while_capturing() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut s, _) = running();
        let text = draw(&mut s, w, h);
        for needle in [
            "Packets shop/check",
            "1000 pps",
            "sampled-out 12",
            "Capturing on veth7c1e2a",
            "in case, sha256 1e3b0c44298f",
            "fetching 40%",
            "pcaps: 1 of 3 in case inc-42, artifacts/shop/checkout-",
        ] {
            assert!(text.contains(needle), "{needle} at {w}x{h}:\n{text}");
        }
        insta::assert_snapshot!(format!("packets_running_{w}x{h}"), text);
    }
}

#[test]
fn top_flows() {
    let (mut s, _) = running();
    key(&mut s, KeyCode::Char('v'));
    let text = draw(&mut s, 120, 40);
    assert!(
        text.contains("END A") && text.contains("10.96.14.2:5432"),
        "{text}"
    );
    insta::assert_snapshot!("packets_flows_120x40", text);
}

#[test]
fn a_gap_and_the_end_are_shown() {
    let (mut s, _) = running();
    update(
        &mut s,
        Action::HelperStreamLost {
            error: ktui::helper::client::HelperError::Closed {
                before_hello: false,
            },
            attempt: 1,
            retry_in: Some(std::time::Duration::from_secs(1)),
        },
    );
    let text = draw(&mut s, 120, 40);
    assert!(
        text.contains("Interrupted: the helper stream was lost"),
        "{text}"
    );
    assert!(text.contains("not captured"), "{text}");
    insta::assert_snapshot!("packets_interrupted_120x40", text);
}

#[test]
fn helper_text_is_sanitised_before_it_is_drawn() {
    let (mut s, id) = running();
    let mut evil = line(99);
    evil.dns_qname = Some("evil\u{1b}[2J\u{1b}]0;pwned\u{7}.example".into());
    evil.src = Some("10.0.0.1\u{202e}".into());
    update(
        &mut s,
        Action::HelperMessages(vec![HelperMessage::Packet { id, p: evil }]),
    );
    let text = draw(&mut s, 120, 40);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(!text.contains('\u{202e}'), "{text:?}");
    assert!(text.contains("evil␛[2J"), "{text}");
}

#[test]
fn help_on_the_packets_pane_fits_80x24_with_the_footer() {
    let (mut s, _) = running();
    key(&mut s, KeyCode::Char('?'));
    let text = draw(&mut s, 80, 24);
    let k = ktui::keymap::Keymaps::default();
    for (keys, what) in k.packets.help() {
        let row = text.lines().find(|l| l.contains(what));
        assert!(
            row.is_some_and(|l| l.contains(&format!(" {keys} "))),
            "`{keys}  {what}` is not whole:\n{text}"
        );
    }
    let last = text.lines().last().unwrap();
    assert!(last.starts_with("s:capture/stop  p:pause"), "{text}");
    insta::assert_snapshot!("help_packets_80x24", text);
}

/// No capture helper on the node: the deploy question names the capture variant, what it adds
/// and why, and why it is asked (the running helper lacks it and is replaced).
#[test]
fn the_deploy_question_for_the_capture_variant() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut s, pod, node) = state(HelperSource::Cluster);
        update(
            &mut s,
            Action::Intent(ktui::intent::Intent::OpenPackets(pod)),
        );
        key(&mut s, KeyCode::Enter);
        let why = format!("the helper on node {node} lacks NET_RAW for packet capture");
        update(
            &mut s,
            Action::CaptureHelperChecked {
                capture: 1,
                result: Ok(Err(why.clone())),
            },
        );
        update(
            &mut s,
            Action::HelperPreflighted {
                node: node.clone(),
                summary: None,
            },
        );
        let text = draw(&mut s, w, h);
        for needle in [
            "Deploy the ktui helper?",
            "(capture variant)",
            "lacks NET_RAW",
            "Added for packet capture (capture variant):",
            "NET_RAW: open an AF_PACKET socket",
        ] {
            assert!(
                text.replace('\n', " ").contains(needle) || w == 80,
                "{needle} at {w}x{h}:\n{text}"
            );
        }
        assert!(text.contains("Why: the helper on node"), "{text}");
        insta::assert_snapshot!(format!("capture_deploy_confirm_{w}x{h}"), text);
    }
}

/// Queued behind the helper's other captures: its place in line; stopped and settled: the end,
/// the totals and the record in the case.
#[test]
fn queued_then_ended_with_its_record() {
    let (mut s, pod, node) = state(HelperSource::Cluster);
    let (id, _) = packets::requested(&mut s, pod, &node);
    update(
        &mut s,
        Action::HelperMessages(vec![HelperMessage::CaptureQueued { id, position: 2 }]),
    );
    let text = draw(&mut s, 120, 40);
    assert!(
        text.contains("Queued on node demo-node-1: number 2 in line"),
        "{text}"
    );
    // Stopped while queued: the helper ends it; no file, the record says so.
    key(&mut s, KeyCode::Char('s'));
    let effects = update(
        &mut s,
        Action::HelperMessages(vec![HelperMessage::CaptureDone {
            id,
            end: ktui_wire::CaptureEnd::Stopped,
            stats: CaptureStats::default(),
            message: None,
        }]),
    );
    assert!(
        matches!(effects.as_slice(), [Effect::WriteCaptureRecord { .. }]),
        "{effects:?}"
    );
    update(
        &mut s,
        Action::CaptureRecorded {
            capture: 1,
            result: Ok((
                "artifacts/shop/checkout-6c9f8b7d54-7fb9x/pcaps/x-1.capture.json".into(),
                "9f".repeat(32),
            )),
        },
    );
    s.toasts.clear();
    let text = draw(&mut s, 120, 40);
    assert!(
        text.contains("Ended (stopped) after 0s: 0 packets"),
        "{text}"
    );
    assert!(
        text.contains("✓ record x-1.capture.json (sha256 9f9f9f"),
        "{text}"
    );
}

/// A filter the capture filter parser refuses: its error under the field, as typed; Enter
/// does not start the capture.
#[test]
fn a_bad_filter_is_shown_and_refused() {
    let (mut s, pod, _) = state(HelperSource::Cluster);
    update(
        &mut s,
        Action::Intent(ktui::intent::Intent::OpenPackets(pod)),
    );
    key(&mut s, KeyCode::Tab);
    for c in "host 10.0.0.7 and".chars() {
        key(&mut s, KeyCode::Char(c));
    }
    assert!(key(&mut s, KeyCode::Enter).is_empty(), "not started");
    let text = draw(&mut s, 80, 24);
    assert!(
        text.contains("⚠ filter error at byte 17: expected a primitive"),
        "{text}"
    );
    assert!(s.packets.form.as_ref().unwrap().error.is_some());
    insta::assert_snapshot!("capture_confirm_bad_filter_80x24", text);
}
