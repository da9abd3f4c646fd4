//! Help agrees with the code: on every pane, each key that does something there is listed in
//! that pane's `?` overlay. Keys are tried one by one on a fresh state; "does something" is
//! "returns an effect or changes the screen".

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::{loaded, select};
use crate::action::Action;
use crate::cluster::PodEvent;
use crate::config::theme::Theme;
use crate::effect::Effect;
use crate::keymap::Keymaps;
use crate::state::helper::HelperSource;
use crate::state::{AppState, Mode, Screen};
use crate::update::update;
use ktui_wire::{EventType, HelperMessage, K8sRef, SocketEvent};

const W: u16 = 120;
const H: u16 = 40;

#[derive(Debug, Clone, Copy)]
enum Pane {
    Crashed,
    AllPods,
    Detail,
    Logs,
    Sockets,
    Packets,
}

const PANES: [Pane; 6] = [
    Pane::Crashed,
    Pane::AllPods,
    Pane::Detail,
    Pane::Logs,
    Pane::Sockets,
    Pane::Packets,
];

fn press(s: &mut AppState, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    update(s, Action::Key(KeyEvent::new(code, modifiers)))
}

fn char_key(s: &mut AppState, c: char) -> Vec<Effect> {
    press(s, KeyCode::Char(c), KeyModifiers::NONE)
}

/// A state on `pane` where moving, scrolling and toggling all show: a selection in the middle,
/// content longer than the screen, scrolled away from both ends.
fn on(pane: Pane) -> AppState {
    let mut s = loaded();
    update(&mut s, Action::Resize(W, H));
    match pane {
        Pane::Crashed => s.pods.select_next(3),
        Pane::AllPods => {
            char_key(&mut s, 'a');
            s.prepare_frame();
            s.pods.select_next(5);
        }
        Pane::Detail => {
            select(&mut s, "ledger-worker");
            char_key(&mut s, 'd');
            let demo = crate::cluster::demo::DemoCluster::fixed();
            let pod = demo
                .pods()
                .iter()
                .find(|p| p.detail.summary.workload.name == "ledger-worker")
                .cloned()
                .unwrap();
            let key = pod.detail.summary.key.clone();
            update(
                &mut s,
                Action::DetailLoaded(key.clone(), Ok(Box::new(pod.detail))),
            );
            update(&mut s, Action::EventsLoaded(key, Ok(pod.events)));
            if let Some(d) = s.detail.as_mut() {
                d.scroll = 2;
            }
        }
        Pane::Logs => {
            select(&mut s, "checkout");
            let effects = char_key(&mut s, 'l');
            let Some(Effect::LoadLogs(req)) = effects.last().cloned() else {
                panic!("{effects:?}")
            };
            let text: String = (0..300)
                .map(|i| {
                    format!(
                        "line {i} connect to 10.96.14.2:5432 refused {}\n",
                        "x".repeat(150)
                    )
                })
                .collect();
            update(&mut s, Action::LogsLoaded(req, Ok(text.into_bytes())));
            if let Some(l) = s.logs.as_mut() {
                l.set_search("refused".to_string());
                l.scroll_by(-100);
            }
        }
        Pane::Sockets => {
            s.helper.source = HelperSource::Local;
            select(&mut s, "checkout");
            char_key(&mut s, 't');
            update(
                &mut s,
                Action::HelperConnected(Box::new(crate::helper::client::test_hello())),
            );
            let events = (0..200u16)
                .map(|i| {
                    let mut e = SocketEvent::new(
                        format!("2026-11-20T09:59:{:02}.000000000Z", i % 60),
                        EventType::Connect,
                    );
                    e.src = Some("10.244.1.75".into());
                    e.sport = Some(40000 + i);
                    e.dst = Some("10.96.14.2".into());
                    e.dport = Some(5432);
                    e.k8s = Some(K8sRef {
                        namespace: Some("shop".into()),
                        pod: Some("checkout-6c9f8b7d54-7fb9x".into()),
                        container: None,
                        pod_uid: None,
                        container_id: None,
                    });
                    HelperMessage::Socket { event: Box::new(e) }
                })
                .collect();
            update(&mut s, Action::HelperMessages(events));
            s.sockets.scroll_back = 5;
        }
        Pane::Packets => {
            s.helper.source = HelperSource::Local;
            s.evidence.case = Some(("case".into(), std::path::PathBuf::from("/nonexistent")));
            select(&mut s, "checkout");
            char_key(&mut s, 'p');
            press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
            let effects = update(
                &mut s,
                Action::HelperConnected(Box::new(crate::helper::client::test_hello())),
            );
            let Some(Effect::HelperSend(ktui_wire::ConsoleMessage::CaptureStart { id, .. })) =
                effects.first().cloned()
            else {
                panic!("{effects:?}")
            };
            let mut lines = vec![HelperMessage::CaptureStarted {
                id,
                mode: ktui_wire::CaptureMode::Netns,
                interfaces: vec![ktui_wire::CaptureInterface {
                    name: "eth0".into(),
                    linktype: 1,
                }],
                format: "pcap".into(),
                dir: "/tmp/captures".into(),
            }];
            lines.extend((1..=200u64).map(|n| HelperMessage::Packet {
                id,
                p: ktui_wire::PacketLine {
                    n,
                    ts: Some(format!("1763632800.{n:09}")),
                    len: 74,
                    caplen: 74,
                    src: Some("10.244.1.75".into()),
                    dst: Some("10.96.14.2".into()),
                    proto: Some("tcp".into()),
                    sport: Some(40000 + u16::try_from(n).unwrap()),
                    dport: Some(5432),
                    tcp_flags: Some("SYN".into()),
                    icmp_type: None,
                    vlan: None,
                    dns_qname: None,
                    truncated: false,
                },
            }));
            update(&mut s, Action::HelperMessages(lines));
            s.packets.scroll_back = 5;
        }
    }
    update(&mut s, Action::Pods(PodEvent::ResyncDone));
    s.prepare_frame();
    assert_eq!(s.screen, screen_of(pane), "set-up of {pane:?}");
    s
}

fn screen_of(pane: Pane) -> Screen {
    match pane {
        Pane::Crashed | Pane::AllPods => Screen::Table,
        Pane::Detail => Screen::Detail,
        Pane::Logs => Screen::Logs,
        Pane::Sockets => Screen::Sockets,
        Pane::Packets => Screen::Packets,
    }
}

fn draw(s: &mut AppState) -> ratatui::buffer::Buffer {
    s.prepare_frame();
    let mut term = Terminal::new(TestBackend::new(W, H)).unwrap();
    let theme = Theme::default();
    term.draw(|f| crate::view::view(f, s, &theme)).unwrap();
    term.backend().buffer().clone()
}

/// The keys the `?` overlay lists on `pane` under `keymaps`: the text drawn in the accent style inside the
/// box titled Help, split into key names ("j/↓ k/↑" → j, ↓, k, ↑; "/" stays a key).
fn listed(pane: Pane, keymaps: &Keymaps) -> Vec<String> {
    let mut s = on(pane);
    s.keymaps = keymaps.clone();
    s.mode = Mode::Help;
    let buf = draw(&mut s);
    let accent = Theme::default().accent.fg;
    let rows: Vec<String> = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    let (top, left) = rows
        .iter()
        .enumerate()
        .find_map(|(y, r)| r.find("┌ Help").map(|at| (y, r[..at].chars().count())))
        .unwrap_or_else(|| panic!("no help on {pane:?}:\n{}", rows.join("\n")));
    let right = rows[top]
        .chars()
        .enumerate()
        .skip(left + 1)
        .find(|(_, c)| *c == '┐')
        .map(|(x, _)| x)
        .unwrap();
    let mut keys = Vec::new();
    for y in top + 1..usize::from(buf.area.height) {
        if rows[y].chars().nth(left) == Some('└') {
            break;
        }
        let mut run = String::new();
        for x in left + 1..right {
            let cell = &buf[(x as u16, y as u16)];
            if cell.fg == accent.unwrap_or_default() {
                run.push_str(cell.symbol());
            } else {
                run.push(' ');
            }
        }
        for token in run.split_whitespace() {
            if token == "/" {
                keys.push(token.to_string());
            } else {
                keys.extend(token.split('/').filter(|k| !k.is_empty()).map(String::from));
            }
        }
    }
    keys
}

/// Every key worth trying: printable ASCII, Ctrl-letters, the named keys.
fn candidates() -> Vec<(KeyCode, KeyModifiers, String)> {
    let mut keys: Vec<(KeyCode, KeyModifiers, String)> = (' '..='~')
        .map(|c| {
            let name = if c == ' ' {
                "Space".to_string()
            } else {
                c.to_string()
            };
            (KeyCode::Char(c), KeyModifiers::NONE, name)
        })
        .collect();
    keys.extend(
        ('a'..='z').map(|c| (KeyCode::Char(c), KeyModifiers::CONTROL, format!("Ctrl-{c}"))),
    );
    for (code, name) in [
        (KeyCode::Enter, "Enter"),
        (KeyCode::Esc, "Esc"),
        (KeyCode::Backspace, "Backspace"),
        (KeyCode::Tab, "Tab"),
        (KeyCode::BackTab, "BackTab"),
        (KeyCode::Up, "↑"),
        (KeyCode::Down, "↓"),
        (KeyCode::Left, "←"),
        (KeyCode::Right, "→"),
        (KeyCode::PageUp, "PgUp"),
        (KeyCode::PageDown, "PgDn"),
        (KeyCode::Home, "Home"),
        (KeyCode::End, "End"),
        (KeyCode::Delete, "Del"),
        (KeyCode::Insert, "Ins"),
    ] {
        keys.push((code, KeyModifiers::NONE, name.to_string()));
    }
    keys.extend((1..=12).map(|n| (KeyCode::F(n), KeyModifiers::NONE, format!("F{n}"))));
    keys
}

/// The keys that do something on `pane` under `keymaps` (by name, as `candidates` names them).
fn handled(pane: Pane, keymaps: &Keymaps) -> Vec<String> {
    let fresh = || {
        let mut s = on(pane);
        s.keymaps = keymaps.clone();
        s
    };
    let mut s = fresh();
    let before = draw(&mut s);
    let mut names = Vec::new();
    for (code, modifiers, name) in candidates() {
        let effects = press(&mut s, code, modifiers);
        // Styles count: a moved selection changes only the highlight.
        if !effects.is_empty() || draw(&mut s) != before {
            names.push(name);
            s = fresh();
        }
    }
    names
}

/// Handled keys that `?` on their pane does not list.
fn missing_from_help(keymaps: &Keymaps) -> Vec<String> {
    let mut missing = Vec::new();
    for pane in PANES {
        let help = listed(pane, keymaps);
        for name in handled(pane, keymaps) {
            let same = |k: &String| {
                k == &name || (name.starts_with("Ctrl-") && k.eq_ignore_ascii_case(&name))
            };
            if !help.iter().any(same) {
                missing.push(format!("{pane:?}: {name}"));
            }
        }
    }
    missing
}

#[test]
fn every_key_a_pane_handles_is_in_its_help() {
    let missing = missing_from_help(&Keymaps::default());
    assert!(
        missing.is_empty(),
        "keys handled but missing from help:\n{}",
        missing.join("\n")
    );
}

/// A keys file's bindings are what every pane handles, lists in `?` and shows in its footer;
/// the built-in keys of a rebound command do nothing there any more.
#[test]
fn rebound_keys_are_handled_listed_and_hinted_and_the_old_ones_are_not() {
    let keymaps = crate::config::keys::parse(
        "mine.toml",
        "[anywhere]\ncommand = [\";\"]\n\
         [table]\nopen_logs = [\"L\"]\nquit = [\"q\", \"ctrl-q\"]\n\
         [detail]\nback = [\"h\"]\n\
         [logs]\nsave = [\"ctrl-s\"]\n\
         [sockets]\ntoggle_pause = [\"P\"]\n",
    )
    .unwrap();
    let missing = missing_from_help(&keymaps);
    assert!(
        missing.is_empty(),
        "keys handled but missing from help:\n{}",
        missing.join("\n")
    );
    for (pane, new, old, hint) in [
        (Pane::Crashed, "L", "l", "L:logs"),
        (Pane::Crashed, ";", ":", ";:cmd"),
        (Pane::Crashed, "Ctrl-q", "", "q:quit"),
        (Pane::Detail, "h", "Esc", "h:back"),
        (Pane::Logs, "Ctrl-s", "S", "^S:save"),
        (Pane::Sockets, "P", "p", "P:pause"),
        (Pane::Sockets, "P", "Space", "P:pause"),
    ] {
        let handled = handled(pane, &keymaps);
        let listed = listed(pane, &keymaps);
        let shows = |name: &str| {
            listed
                .iter()
                .any(|k| k == name || (name.starts_with("Ctrl-") && k.eq_ignore_ascii_case(name)))
        };
        assert!(
            handled.iter().any(|k| k == new),
            "{pane:?}: {new} not handled"
        );
        assert!(shows(new), "{pane:?}: {new} not in help {listed:?}");
        if !old.is_empty() {
            assert!(
                !handled.iter().any(|k| k == old),
                "{pane:?}: {old} still handled"
            );
            assert!(!shows(old), "{pane:?}: {old} still in help {listed:?}");
        }
        let footer = footer(pane, &keymaps);
        assert!(footer.contains(hint), "{pane:?}: no {hint} in {footer}");
    }
}

/// The bottom line on `pane` under `keymaps`.
fn footer(pane: Pane, keymaps: &Keymaps) -> String {
    let mut s = on(pane);
    s.keymaps = keymaps.clone();
    let buf = draw(&mut s);
    (0..buf.area.width)
        .map(|x| buf[(x, buf.area.height - 1)].symbol())
        .collect()
}

/// Every command help lists is understood (NAME stands for any name).
#[test]
fn every_command_in_help_is_understood() {
    for usage in crate::keymap::command_usages() {
        let mut s = on(Pane::Crashed);
        char_key(&mut s, ':');
        for c in usage
            .trim_start_matches(':')
            .replace("NAME", "other")
            .chars()
        {
            char_key(&mut s, c);
        }
        press(&mut s, KeyCode::Enter, KeyModifiers::NONE);
        assert!(
            !s.toasts.iter().any(|t| t.text.contains("unknown command")),
            "{usage}: {:?}",
            s.toasts
        );
    }
}
