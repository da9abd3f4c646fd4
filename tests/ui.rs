//! The console against the fixed demo cluster, driven by key events, drawn on a `TestBackend`.
//! Snapshots (insta) at 80×24 and 120×40 for each pane.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ktui::action::Action;
use ktui::app::App;
use ktui::cluster::demo::DemoCluster;
use ktui::cluster::{ContainerState, PodEvent, Scope};
use ktui::config::theme::Theme;
use ktui::state::Screen;
use ktui::state::pods::Row;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const QUIET: Duration = Duration::from_millis(150);

async fn harness(w: u16, h: u16) -> (App, Terminal<TestBackend>) {
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    app.dispatch(Action::Resize(w, h));
    common::settle_work(&mut app, QUIET).await;
    app.state.prepare_frame();
    let terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    (app, terminal)
}

fn key(c: char) -> Action {
    Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(k: KeyCode) -> Action {
    Action::Key(KeyEvent::new(k, KeyModifiers::NONE))
}

async fn press(app: &mut App, keys: &str) {
    for c in keys.chars() {
        app.dispatch(match c {
            '\n' => code(KeyCode::Enter),
            '\x1b' => code(KeyCode::Esc),
            c => key(c),
        });
    }
    app.settle(QUIET).await;
}

fn screen(app: &mut App, terminal: &mut Terminal<TestBackend>) -> String {
    app.draw(terminal, &Theme::default()).unwrap();
    let buf = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn crashed_table_snapshots() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut term) = harness(w, h).await;
        let text = screen(&mut app, &mut term);
        assert!(text.contains("DEMO"), "{text}");
        assert!(text.contains("checkout"), "{text}");
        insta::assert_snapshot!(format!("table_{w}x{h}"), text);
    }
}

/// The screen line of the table row whose pod name starts with `pod`.
fn table_line(app: &App, text: &str, pod: &str) -> String {
    let i = app
        .state
        .pods
        .rows
        .iter()
        .position(|r| r.pod_key().name.starts_with(pod))
        .unwrap_or_else(|| panic!("no row for {pod}: {text}"));
    // Status bar, the border with the title, the header, then the rows.
    text.lines().nth(3 + i).unwrap().to_string()
}

/// STATE says what the container does now, beside REASON (its last termination): checkout
/// exited with Error and is in CrashLoopBackOff now.
#[tokio::test]
async fn crash_table_shows_the_current_state_beside_the_reason() {
    let (mut app, mut term) = harness(120, 40).await;
    let text = screen(&mut app, &mut term);
    let header = text.lines().nth(2).unwrap();
    let (reason, state) = (header.find("REASON"), header.find("STATE"));
    assert!(reason.is_some() && reason < state, "{text}");
    for (pod, reason, state) in [
        ("checkout-", "Error", "CrashLoopBackOff"),
        ("api-gateway-", "Init:Error", "CrashLoopBackOff"),
        ("ledger-worker-", "OOMKilled", "Running"),
        ("settle-", "Error", "Terminated"),
        ("search-", "ImagePullBackOff", "Waiting"),
        ("report-gen-", "Evicted", "Failed"),
    ] {
        let line = table_line(&app, &text, pod);
        assert!(line.contains(&format!(" {reason} ")), "{pod}: {line}");
        assert!(line.contains(&format!(" {state} ")), "{pod}: {line}");
    }
}

/// A container back after a runtime restart ("Unknown", exit 255, Running again) is marked
/// and sorted below the real crashes, though it is the newest.
#[tokio::test]
async fn runtime_restart_rows_are_marked_and_last() {
    let (mut app, mut term) = harness(120, 40).await;
    let demo = DemoCluster::fixed();
    let mut web = demo
        .pods()
        .iter()
        .map(|p| p.detail.summary.clone())
        .find(|p| p.key.name == "web-6d4cf56db6-2xk8j")
        .unwrap();
    web.containers[0].restarts = 1;
    web.containers[0].last_state = ContainerState::Terminated {
        exit_code: 255,
        signal: None,
        reason: Some("Unknown".into()),
        message: None,
        started_at: None,
        finished_at: Some(demo.epoch() - jiff::SignedDuration::from_secs(5)),
    };
    app.dispatch(Action::Pods(PodEvent::Applied(Box::new(web))));
    app.settle(QUIET).await;
    let text = screen(&mut app, &mut term);
    let rows = &app.state.pods.rows;
    assert_eq!(rows.len(), 9, "{text}");
    assert_eq!(rows[8].pod_key().name, "web-6d4cf56db6-2xk8j", "{text}");
    let line = table_line(&app, &text, "web-6d4cf56db6-2xk8j");
    assert!(line.contains(" runtime restart "), "{line}");
    assert!(line.contains(" Running "), "{line}");
    assert!(!line.contains("Unknown"), "{line}");
    // Drawn muted, not in the crash colour.
    let theme = Theme::default();
    let buf = term.backend().buffer();
    let cell = &buf[(2, 3 + 8)];
    assert_eq!(cell.fg, theme.muted.fg.unwrap(), "{text}");
    assert_ne!(buf[(2, 3)].fg, theme.muted.fg.unwrap());
}

/// The cells of screen line `y` of the table, split where the header's words start.
fn cells_at(text: &str, y: usize) -> Vec<String> {
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let header = &lines[2];
    let starts: Vec<usize> = (1..header.len() - 1)
        .filter(|&x| header[x] != ' ' && header[x - 1] == ' ' || x == 1)
        .collect();
    let line = &lines[y];
    (0..starts.len())
        .map(|i| {
            let end = starts.get(i + 1).copied().unwrap_or(line.len() - 1);
            line[starts[i]..end]
                .iter()
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect()
}

/// `shown` is `whole`, or a start of it ending in an ellipsis.
/// `shown` is `whole`, or `whole` cut with one ellipsis (at the end, or in the middle keeping
/// both ends).
fn whole_or_marked(shown: &str, whole: &str) -> bool {
    shown == whole
        || shown.split_once('…').is_some_and(|(head, tail)| {
            whole.starts_with(head)
                && whole.ends_with(tail)
                && head.len() + tail.len() < whole.len()
        })
}

/// At 120 columns the row is too wide: the longest names are cut, each with an ellipsis,
/// while REASON, STATE and NODE stay whole and workloads read as kubectl short names.
#[tokio::test]
async fn narrow_table_cuts_the_longest_names_with_an_ellipsis() {
    let (mut app, mut term) = harness(120, 40).await;
    let text = screen(&mut app, &mut term);
    assert_eq!(
        cells_at(&text, 2),
        [
            "NAMESPACE",
            "POD",
            "CONTAINER",
            "REASON",
            "STATE",
            "EXIT",
            "RST",
            "LAST",
            "NODE",
            "WORKLOAD",
            "REP"
        ]
    );
    let mut cut = 0;
    for (i, row) in app.state.pods.rows.iter().enumerate() {
        let cells = cells_at(&text, 3 + i);
        let Row::Crash { record, .. } = row else {
            unreachable!()
        };
        let pod = &record.pod.name;
        assert!(whole_or_marked(&cells[1], pod), "{cells:?}\n{text}");
        cut += usize::from(&cells[1] != pod);
        let container = record.container.as_deref().unwrap_or("-");
        assert!(whole_or_marked(&cells[2], container), "{cells:?}");
        assert_eq!(cells[3], record.display_reason(), "{cells:?}");
        assert!(!cells[4].ends_with('…'), "{cells:?}");
        assert_eq!(Some(cells[8].as_str()), record.node.as_deref(), "{cells:?}");
        let kind = match record.workload.kind.as_str() {
            "Deployment" => "deploy",
            "CronJob" => "cj",
            "Pod" => "po",
            other => unreachable!("{other}"),
        };
        let workload = format!("{kind}/{}", record.workload.name);
        assert!(whole_or_marked(&cells[9], &workload), "{cells:?}");
    }
    assert!(cut > 0, "the longest column is cut first: {text}");
}

/// At 200 columns every column is as wide as its widest cell, header included: nothing is
/// cut and POD is no wider than the longest pod name. Same for the all-pods view.
#[tokio::test]
async fn wide_table_sizes_columns_from_their_content() {
    for (all, next) in [(false, "CONTAINER"), (true, "READY")] {
        let (mut app, mut term) = harness(200, 50).await;
        if all {
            press(&mut app, "a").await;
        }
        let text = screen(&mut app, &mut term);
        assert!(!text.contains('…'), "{text}");
        let header = text.lines().nth(2).unwrap();
        let gap = header.find(next).unwrap() - header.find("POD").unwrap();
        let longest = app
            .state
            .pods
            .rows
            .iter()
            .map(|r| r.pod_key().name.len())
            .max()
            .unwrap();
        assert_eq!(gap, longest + 1, "{header}");
        for (i, row) in app.state.pods.rows.iter().enumerate() {
            let cells = cells_at(&text, 3 + i);
            assert_eq!(cells[1], row.pod_key().name, "{text}");
        }
        if !all {
            insta::assert_snapshot!("table_200x50", text);
        }
    }
}

/// Only the rows on screen are built: moving past the bottom scrolls so the selection stays
/// drawn and highlighted, as ratatui's own scrolling did.
#[tokio::test]
async fn selection_scrolls_into_view() {
    let (mut app, mut term) = harness(100, 8).await;
    for (keys, first, selected) in [("G", 5, 7), ("k", 4, 6), ("kkk", 1, 3), ("g", 0, 0)] {
        press(&mut app, keys).await;
        let text = screen(&mut app, &mut term);
        let rows = &app.state.pods.rows;
        assert_eq!(app.state.pods.selected, selected);
        // Three rows fit (8 lines: status bar, borders, header, prompt).
        for (y, row) in rows.iter().enumerate().skip(first).take(3) {
            let line = text.lines().nth(3 + y - first).unwrap();
            assert!(line.contains(&row.pod_key().namespace), "{keys}: {text}");
        }
        let theme = Theme::default();
        let y = u16::try_from(3 + selected - first).unwrap();
        assert_eq!(
            term.backend().buffer()[(2, y)].bg,
            theme.selected.bg.unwrap(),
            "{keys}: {text}"
        );
    }
}

#[tokio::test]
async fn filter_narrows_rows() {
    let (mut app, mut term) = harness(80, 24).await;
    let before = app.state.pods.rows.len();
    press(&mut app, "/oom\n").await;
    let text = screen(&mut app, &mut term);
    assert_eq!(app.state.pods.rows.len(), 1, "{text}");
    assert!(before > 1);
    assert!(text.contains("tq9wn"), "ledger-worker's pod: {text}");
    assert!(!text.contains("7fb9x"), "{text}");
    insta::assert_snapshot!("filter_oom_80x24", text);
    press(&mut app, "\x1b/!oom\n").await;
    screen(&mut app, &mut term);
    assert_eq!(app.state.pods.rows.len(), before - 1);
}

#[tokio::test]
async fn detail_shows_oomkilled_exit_137() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut term) = harness(w, h).await;
        press(&mut app, "/ledger\n\n").await;
        assert_eq!(app.state.screen, Screen::Detail);
        let text = screen(&mut app, &mut term);
        assert!(text.contains("OOMKilled exit code 137"), "{text}");
        assert!(text.contains("signal 9"), "{text}");
        insta::assert_snapshot!(format!("detail_oom_{w}x{h}"), text);
    }
}

#[tokio::test]
async fn logs_show_previous_instance() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut term) = harness(w, h).await;
        press(&mut app, "/checkout\nl").await;
        assert_eq!(app.state.screen, Screen::Logs);
        let text = screen(&mut app, &mut term);
        assert!(text.contains("previous instance"), "{text}");
        assert!(
            text.contains("panic: cannot start without a database"),
            "{text}"
        );
        insta::assert_snapshot!(format!("logs_previous_{w}x{h}"), text);
        // p switches to the current instance.
        press(&mut app, "p").await;
        let text = screen(&mut app, &mut term);
        assert!(text.contains("(current)"), "{text}");
        assert!(!text.contains("panic:"), "{text}");
    }
}

#[tokio::test]
async fn log_search_highlights_matches() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/checkout\nl/refused\n").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("/refused 1/3"), "{text}");
    let theme = Theme::default();
    let buf = term.backend().buffer();
    let highlighted = buf
        .content()
        .iter()
        .filter(|c| c.bg == theme.search_match.bg.unwrap())
        .count();
    assert_eq!(highlighted, "refused".len() * 3);
}

#[tokio::test]
async fn help_overlay_opens_and_closes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let (mut app, mut term) = harness(w, h).await;
        press(&mut app, "?").await;
        let text = screen(&mut app, &mut term);
        assert!(text.contains("Help"), "{text}");
        insta::assert_snapshot!(format!("help_{w}x{h}"), text);
        press(&mut app, "x").await;
        assert!(!screen(&mut app, &mut term).contains("any key closes"));
    }
}

/// `?` on each pane lists that pane's keys, then every pane's and the commands, each line
/// whole at 80×24.
#[tokio::test]
async fn help_is_per_pane_and_fits_80x24() {
    use ktui::keymap::{COMMANDS, Keymaps};
    let k = Keymaps::default();
    let panes = [
        ("", "Crashed pods", k.table.help()),
        ("a", "All pods", k.table.help()),
        ("/ledger\n\n", "Pod detail", k.detail.help()),
        ("/checkout\nl", "Logs", k.logs.help()),
        ("/checkout\nt", "Sockets", k.sockets.help()),
        ("/checkout\np", "Packets", k.packets.help()),
    ];
    for (keys, heading, rows) in panes {
        let (mut app, mut term) = harness(80, 24).await;
        press(&mut app, keys).await;
        press(&mut app, "?").await;
        let text = screen(&mut app, &mut term);
        assert!(text.contains(&format!("│{heading} ")), "{heading}:\n{text}");
        let mut all = rows;
        all.extend(k.global.help());
        all.extend(COMMANDS.iter().map(|(k, w)| (k.to_string(), *w)));
        for (k, what) in all {
            let line = text.lines().find(|l| l.contains(what));
            assert!(
                line.is_some_and(|l| l.contains(&format!(" {k} "))),
                "{heading}: `{k}  {what}` is not whole on screen:\n{text}"
            );
        }
        if heading == "Sockets" {
            // The box alone: behind it the demo replay runs on the wall clock.
            insta::assert_snapshot!("help_sockets_80x24", common::dialog_box(&text, "Help"));
        }
    }
}

/// A keys file's bindings are what the console runs, what `?` lists and what the footer shows;
/// the built-in key of a rebound command does nothing any more.
#[tokio::test]
async fn rebound_keys_show_in_help_and_footer() {
    let keymaps = ktui::config::keys::parse(
        "mine.toml",
        "[table]\nopen_logs = [\"L\"]\nquit = [\"q\", \"ctrl-q\"]\n[sockets]\ntoggle_pause = [\"P\"]\n",
    )
    .unwrap();
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .keys(keymaps)
        .build();
    app.dispatch(Action::Resize(120, 40));
    app.settle(QUIET).await;
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let text = screen(&mut app, &mut term);
    let footer = text.lines().last().unwrap();
    assert!(
        footer.starts_with("?:help  /:filter  m:menu  ⏎:detail  L:logs  t:sockets"),
        "{footer}"
    );
    press(&mut app, "?").await;
    let help = common::dialog_box(&screen(&mut app, &mut term), "Help");
    let logs_line = help.lines().find(|l| l.contains("logs (previous")).unwrap();
    assert!(logs_line.contains(" L "), "{help}");
    assert!(help.lines().any(|l| l.contains(" q/Ctrl-Q ")), "{help}");
    press(&mut app, "x").await;
    press(&mut app, "/checkout\nl").await;
    assert_eq!(app.state.screen, Screen::Table, "l no longer opens logs");
    press(&mut app, "L").await;
    assert_eq!(app.state.screen, Screen::Logs);
}

#[tokio::test]
async fn all_pods_view() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "a").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("coredns"), "{text}");
    insta::assert_snapshot!("all_pods_120x40", text);
}

/// `a` shows kubectl's STATUS (not the phase) and `/` matches it.
#[tokio::test]
async fn all_pods_show_kubectl_status_and_filter_on_it() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "a").await;
    let text = screen(&mut app, &mut term);
    let row = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name}: {text}"))
            .to_string()
    };
    assert!(row("NAMESPACE").contains("STATUS"), "{text}");
    assert!(
        row("checkout-6c9f8b7d54-7fb9x").contains(" CrashLoopBackOff "),
        "{text}"
    );
    assert!(
        row("search-5b6c7d8e9f-abcde").contains(" ImagePullBackOff "),
        "{text}"
    );
    assert!(
        row("api-gateway-7d9f6c5b8-xh2lp").contains(" Init:CrashLoopBackOff "),
        "{text}"
    );
    // One init container and one main container: kubectl counts the main one only.
    assert!(
        row("api-gateway-7d9f6c5b8-xh2lp").contains(" 0/1 "),
        "{text}"
    );
    press(&mut app, "/crashloop\n").await;
    screen(&mut app, &mut term);
    assert_eq!(app.state.pods.rows.len(), 4);
    press(&mut app, "\x1b/oom\n").await;
    let text = screen(&mut app, &mut term);
    assert_eq!(app.state.pods.rows.len(), 1, "{text}");
    assert!(text.contains("ledger-worker"), "{text}");
}

#[tokio::test]
async fn namespace_command_rewatches() {
    let (mut app, mut term) = harness(80, 24).await;
    press(&mut app, ":ns payments\n").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("ns:payments"), "{text}");
    assert!(
        app.state
            .pods
            .rows
            .iter()
            .all(|r| r.pod_key().namespace == "payments")
    );
    assert!(!app.state.pods.rows.is_empty());
}

#[tokio::test]
async fn resize_to_tiny_sizes_does_not_panic() {
    let (mut app, _) = harness(80, 24).await;
    for (w, h) in [(1, 1), (10, 3), (20, 5), (0, 0), (300, 100)] {
        app.dispatch(Action::Resize(w, h));
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        for keys in ["", "\n", "l", "?"] {
            press(&mut app, keys).await;
            app.draw(&mut term, &Theme::default()).unwrap();
        }
        press(&mut app, "\x1b\x1b\x1b").await;
    }
}

/// A log with `ESC ] 0 ; … BEL`, `ESC [ 2 J`, CR: none of it reaches the buffer raw.
#[tokio::test]
async fn escape_sequences_in_logs_are_sanitised() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/metrics-agent\nl").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("␛]0;owned-title␇␛[2Jinjected"), "{text}");
    assert!(text.contains("progress 10%␍progress 99%"), "{text}");
    for cell in term.backend().buffer().content() {
        for ch in cell.symbol().chars() {
            assert!(
                !ch.is_control(),
                "control character {ch:?} reached the buffer"
            );
            assert!(!('\u{202a}'..='\u{202e}').contains(&ch));
        }
    }
    // The raw bytes are kept for saving.
    let raw = &app.state.logs.as_ref().unwrap().raw;
    assert!(raw.windows(2).any(|w| w == b"\x1b]"));
}

#[tokio::test]
async fn first_crash_of_each_signature_is_kept_as_evidence() {
    let (app, _) = harness(80, 24).await;
    let items = app.state.evidence.items();
    let logs: Vec<_> = items
        .iter()
        .filter(|i| i.kind == ktui::evidence::EvidenceKind::ContainerLogs)
        .collect();
    // checkout's three pods share one signature: its logs are kept once.
    assert_eq!(
        logs.iter()
            .filter(|i| i.pod.as_ref().unwrap().name.starts_with("checkout-"))
            .count(),
        1
    );
    let checkout = logs
        .iter()
        .find(|i| i.pod.as_ref().unwrap().name.starts_with("checkout-"))
        .unwrap();
    assert!(checkout.previous);
    // On disk in the case, with the hash it was indexed with.
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    let bytes = std::fs::read(dir.join(&checkout.path)).unwrap();
    assert_eq!(checkout.sha256, ktui::evidence::sha256_hex(&bytes));
    assert!(String::from_utf8_lossy(&bytes).contains("panic:"));
}

#[tokio::test]
async fn save_keeps_the_raw_bytes_in_the_case_and_reports_sha256() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/metrics-agent\nl").await;
    let before = app.state.evidence.items().len();
    press(&mut app, "S").await;
    common::settle_work(&mut app, QUIET).await;
    let text = screen(&mut app, &mut term);
    let items = app.state.evidence.items();
    assert_eq!(items.len(), before + 1, "{text}");
    let saved = items.last().unwrap();
    assert_eq!(saved.kind, ktui::evidence::EvidenceKind::SavedLogs);
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    let bytes = std::fs::read(dir.join(&saved.path)).unwrap();
    assert_eq!(&bytes, &app.state.logs.as_ref().unwrap().raw);
    let sha = ktui::evidence::sha256_hex(&bytes);
    assert_eq!(saved.sha256, sha);
    assert!(text.contains(&sha[..20]), "{text}");
    // The index and the custody log name it.
    let index = std::fs::read_to_string(dir.join("index.jsonl")).unwrap();
    assert!(index.contains(&saved.path), "{index}");
    let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
    assert!(custody.contains(&sha), "{custody}");
}

#[tokio::test]
async fn status_bar_says_how_fresh_live_data_is() {
    use ktui::cluster::{ConnectionState, PodEvent};
    let (mut app, mut term) = harness(120, 40).await;
    let now = app.state.now;
    app.dispatch(Action::Pods(PodEvent::Connection(ConnectionState::Live)));
    app.dispatch(Action::Pods(PodEvent::Heard(
        now - jiff::SignedDuration::from_secs(5),
    )));
    let text = screen(&mut app, &mut term);
    assert!(text.contains("● live · 5s"), "{text}");
    // Nothing heard for longer than a watch may stay silent: not "live".
    app.dispatch(Action::Tick(now + jiff::SignedDuration::from_secs(120)));
    let text = screen(&mut app, &mut term);
    assert!(text.contains("● stale · 2m"), "{text}");
    assert!(!text.contains("● live"), "{text}");
}

#[tokio::test]
async fn a_repeated_toast_shows_its_count() {
    let (mut app, mut term) = harness(120, 40).await;
    for _ in 0..3 {
        app.state.toast(
            ktui::state::ToastLevel::Error,
            "cannot list pods in namespace default",
        );
    }
    let text = screen(&mut app, &mut term);
    assert_eq!(text.matches("cannot list pods").count(), 1, "{text}");
    assert!(text.contains("(×3)"), "{text}");
}

/// The detail pane lists events oldest first, as its heading says (and `kubectl describe`
/// does): checkout's `Pulled` (last seen 6m ago) before its `BackOff` (50s ago).
#[tokio::test]
async fn detail_events_are_oldest_first() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/checkout\n\n").await;
    let text = screen(&mut app, &mut term);
    let heading = text.find("Events (oldest first)").expect(&text);
    let pulled = text.find("Normal Pulled").expect(&text);
    let backoff = text.find("Warning BackOff").expect(&text);
    assert!(heading < pulled && pulled < backoff, "{text}");
}

/// A list too long for one line (checkout's env at 80 columns) continues under its first
/// entry, never at column 0, and no entry is split across lines.
#[tokio::test]
async fn detail_env_list_wraps_with_its_indentation() {
    let (mut app, mut term) = harness(80, 40).await;
    press(&mut app, "/checkout\n\n").await;
    let text = screen(&mut app, &mut term);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("│    env        "))
        .expect(&text);
    let rest: Vec<&str> = lines[start + 1..]
        .iter()
        .take_while(|l| !l.starts_with("│    mount"))
        .copied()
        .collect();
    assert!(!rest.is_empty(), "the env list fits one line: {text}");
    for l in &rest {
        assert!(
            l.starts_with(&format!("│{}", " ".repeat(15))),
            "{l:?}\n{text}"
        );
    }
    let entries = [
        "LOG_LEVEL",
        "DATABASE_URL ← secret checkout-db/url",
        "FEATURE_FLAGS ← configMap checkout-config/flags",
        "POD_IP ← field status.podIP",
    ];
    let first = lines[start].trim_start_matches("│    env");
    let shown: Vec<&str> = std::iter::once(first)
        .chain(rest.iter().copied())
        .flat_map(|l| l.trim_matches('│').trim().split(", "))
        .map(|e| e.trim_end_matches(','))
        .collect();
    assert_eq!(shown, entries, "{text}");
}

#[tokio::test]
async fn actions_menu_lists_each_entry_with_its_key_and_runs_them() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/ledger\nm").await;
    let text = screen(&mut app, &mut term);
    for (k, what) in [
        ("d", "detail"),
        ("l", "logs"),
        ("t", "socket events"),
        ("e", "export"),
        ("C", "checkpoint"),
        ("n", "notes"),
    ] {
        assert!(
            text.lines().any(|l| l.contains(&format!("{k}  {what}"))),
            "{k} {what}\n{text}"
        );
    }
    insta::assert_snapshot!("menu_120x40", text);
    // The demo answered every access check: nothing disabled. Its direct key runs an entry.
    assert!(!text.contains("disabled"), "{text}");
    press(&mut app, "l").await;
    assert_eq!(app.state.screen, Screen::Logs);
    assert!(matches!(app.state.mode, ktui::state::Mode::Normal));
    // j + Enter runs the entry selected (here: notes, the last; k wraps round to it).
    press(&mut app, "\x1bmk\n").await;
    assert!(matches!(app.state.mode, ktui::state::Mode::Normal));
    assert_eq!(app.state.screen, Screen::Notes);
}

#[tokio::test]
async fn a_denied_menu_entry_says_which_permission_is_missing() {
    use ktui::cluster::AccessCheck;
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "/ledger\nm").await;
    let exec = AccessCheck::new("create", "pods/exec", Some("ktui-system"));
    app.dispatch(Action::AccessChecked {
        checks: vec![exec],
        result: Ok(vec![false]),
    });
    let text = screen(&mut app, &mut term);
    assert!(
        text.contains("disabled: needs create pods/exec in ktui-system"),
        "{text}"
    );
    press(&mut app, "t").await;
    assert_eq!(
        app.state.screen,
        Screen::Table,
        "a denied entry does not run"
    );
    let text = screen(&mut app, &mut term);
    assert!(text.contains("you lack create pods/exec"), "{text}");
}

#[tokio::test]
async fn notes_are_saved_into_the_case_with_a_custody_line() {
    let (mut app, mut term) = harness(120, 40).await;
    press(&mut app, "n").await;
    assert_eq!(app.state.screen, Screen::Notes);
    // `:`, `?` and `q` are text here.
    press(&mut app, "checkout: q? 5xx since 09:12").await;
    app.dispatch(code(KeyCode::Enter));
    press(&mut app, "rollback at 09:40").await;
    let (_, dir) = app.state.evidence.case.clone().unwrap();
    let on_disk = || std::fs::read_to_string(dir.join("notes.md")).unwrap_or_default();
    assert_eq!(on_disk(), "", "saved only after a pause");
    // Two seconds later the clock saves them.
    let later = app.state.now + jiff::SignedDuration::from_secs(2);
    app.dispatch(Action::Tick(later));
    common::settle_work(&mut app, QUIET).await;
    let notes = std::fs::read_to_string(dir.join("notes.md")).unwrap();
    assert_eq!(notes, "checkout: q? 5xx since 09:12\nrollback at 09:40\n");
    let sha = ktui::evidence::sha256_hex(notes.as_bytes());
    let custody = std::fs::read_to_string(dir.join("custody.jsonl")).unwrap();
    let line = custody.lines().last().unwrap();
    assert!(line.contains("\"note\"") && line.contains(&sha), "{line}");
    let text = screen(&mut app, &mut term);
    assert!(text.contains(&format!("sha256 {}", &sha[..12])), "{text}");
    insta::assert_snapshot!("notes_120x40", text);
    // Esc goes back; what was typed after the last save is saved on the way.
    press(&mut app, "!").await;
    press(&mut app, "\x1b").await;
    common::settle_work(&mut app, QUIET).await;
    assert_eq!(app.state.screen, Screen::Table);
    let notes = std::fs::read_to_string(dir.join("notes.md")).unwrap();
    assert!(notes.ends_with("09:40!\n"), "{notes}");
}

#[tokio::test]
async fn export_from_the_dialog_collects_signs_and_says_where_the_bundle_is() {
    let keys = tempfile::tempdir().unwrap();
    let (_, pair) =
        ktui::sign::create_key_pair(keys.path(), None, ktui::sign::KdfLimits::MINISIGN).unwrap();
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .case(Some(common::test_case()))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .sign_key(Some(pair.key.clone()))
        .build();
    app.dispatch(Action::Resize(120, 40));
    common::settle_work(&mut app, QUIET).await;
    let mut term = Terminal::new(TestBackend::new(120, 40)).unwrap();
    press(&mut app, "/checkout\ne").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("Already in the case:"), "{text}");
    assert!(text.contains("Collected now: pod.json"), "{text}");
    assert!(text.contains("case id"), "{text}");
    // A bad S3 URI is refused before anything runs.
    app.dispatch(code(KeyCode::Tab));
    app.dispatch(code(KeyCode::Tab));
    press(&mut app, "bucket/x\n").await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("must look like s3://bucket/prefix"), "{text}");
    for _ in 0.."bucket/x".len() {
        app.dispatch(code(KeyCode::Backspace));
    }
    press(&mut app, "\n").await;
    common::settle_work(&mut app, QUIET).await;
    let text = screen(&mut app, &mut term);
    assert!(text.contains("Exported and signed:"), "{text}");
    let Some(ktui::state::export::ExportDialog {
        phase: ktui::state::export::ExportPhase::Done(done),
        ..
    }) = app.state.export.as_ref()
    else {
        panic!("not done:\n{text}")
    };
    assert!(text.contains(&done.sha256), "{text}");
    assert!(text.contains(&pair.key_id.to_string()), "{text}");
    let name = done
        .bundle
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.starts_with("ktui-shop-checkout-"), "{name}");
    let public = ktui::sign::load_public_key(&pair.public_key).unwrap();
    let report = ktui::bundle::verify::verify(&done.bundle, &public).unwrap();
    let _ = report;
    // What was collected counts in the status bar's evidence.
    assert!(
        app.state
            .evidence
            .items()
            .iter()
            .any(|i| i.path.ends_with("/pod.json")),
        "the collected manifest is in the evidence set"
    );
    press(&mut app, "\n").await;
    assert!(app.state.export.is_none(), "Enter closes a finished export");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_reads_an_archive_in_the_case_and_searches_its_memory() {
    let case = common::test_case();
    let rel = "artifacts/default/ktapp-6d8f9c7b5d-4xk2p/checkpoints/checkpoint-ktapp.tar";
    let copy = case.dir().join(rel);
    std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
    std::fs::copy(
        "tests/fixtures/checkpoint/checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar",
        &copy,
    )
    .unwrap();
    let demo = DemoCluster::fixed();
    let now = demo.epoch();
    let mut app = App::builder(Arc::new(demo))
        .case(Some(case))
        .scope(Scope::All)
        .demo(true)
        .now(now)
        .build();
    for (w, h) in [(80u16, 24u16), (120, 40)] {
        app.dispatch(Action::Resize(w, h));
        common::settle_work(&mut app, QUIET).await;
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        press(&mut app, &format!(":inspect {rel}\n")).await;
        common::settle_work(&mut app, QUIET).await;
        let text = screen(&mut app, &mut term);
        assert_eq!(app.state.screen, Screen::Inspect, "{text}");
        assert!(text.contains("Inspect · checkpoint-ktapp.tar"), "{text}");
        assert!(text.contains("ktapp"), "{text}");
        assert!(text.contains("the case's artifacts/default/"), "{text}");
        // The memory search: the fixture's secret is twice in each of two pages images.
        press(&mut app, "/KTUI_SECRET_7731\n").await;
        common::settle_work(&mut app, QUIET).await;
        let text = screen(&mut app, &mut term);
        assert!(
            text.contains("4 matches of \"KTUI_SECRET_7731\" in memory"),
            "{text}"
        );
        assert!(text.contains("pages-2.img"), "{text}");
        insta::assert_snapshot!(format!("inspect_search_{w}x{h}"), text);
        press(&mut app, "\x1b").await;
        assert_eq!(app.state.screen, Screen::Table);
    }
    // A file that is not an archive: the pane says why, nothing else breaks.
    press(&mut app, ":inspect notes.md\n").await;
    common::settle_work(&mut app, QUIET).await;
    let failed = matches!(
        app.state.inspect.as_ref().map(|i| &i.status),
        Some(ktui::state::inspect::InspectStatus::Failed(_))
    );
    assert!(failed, "{:?}", app.state.inspect);
}
