//! Key handling per mode and screen.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::sockets;
use super::{open_detail, open_logs, wants_previous};
use crate::cluster::Scope;
use crate::effect::Effect;
use crate::keymap::{self, Detail, Global, Logs, Table};
use crate::state::logs::LogsStatus;
use crate::state::pods::Row;
use crate::state::{AppState, Confirm, Mode, Screen, ToastLevel};

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    // Keys act on what is on screen: bring derived rows up to date first (cheap when clean).
    state.prepare_frame();
    if keymap::GLOBAL.lookup(&key) == Some(Global::Quit) {
        // A second Ctrl-C while asked about helpers quits without removing them.
        if matches!(state.mode, Mode::Confirm(Confirm::QuitWithHelpers { .. })) {
            state.quit = true;
            return vec![Effect::Quit];
        }
        state.mode = Mode::Normal;
        return sockets::quit(state);
    }
    match std::mem::take(&mut state.mode) {
        Mode::Normal => on_normal(state, key),
        Mode::Help => Vec::new(), // any key closes help
        Mode::Filter(area) => on_filter(state, area, key),
        Mode::Command(area) => on_command(state, area, key),
        Mode::LogSearch(area) => on_log_search(state, area, key),
        Mode::SocketFilter(area) => {
            sockets::on_filter(state, area, key);
            Vec::new()
        }
        Mode::Confirm(confirm) => sockets::on_confirm(state, confirm, key),
    }
}

fn text_of(area: &TextArea<'_>) -> String {
    area.lines().join("")
}

fn input_with(text: &str) -> TextArea<'static> {
    let mut area = TextArea::new(vec![text.to_string()]);
    area.move_cursor(ratatui_textarea::CursorMove::End);
    area
}

fn on_filter(state: &mut AppState, mut area: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {}
        KeyCode::Esc => {
            state.pods.filter.text.clear();
            state.pods.mark_dirty();
        }
        _ => {
            area.input(key);
            state.pods.filter.text = text_of(&area);
            state.pods.mark_dirty();
            state.mode = Mode::Filter(area);
        }
    }
    Vec::new()
}

fn on_log_search(state: &mut AppState, mut area: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
    let Some(logs) = state.logs.as_mut() else {
        return Vec::new();
    };
    match key.code {
        KeyCode::Enter => {}
        KeyCode::Esc => logs.set_search(String::new()),
        _ => {
            area.input(key);
            logs.set_search(text_of(&area));
            state.mode = Mode::LogSearch(area);
        }
    }
    Vec::new()
}

fn on_command(state: &mut AppState, mut area: TextArea<'static>, key: KeyEvent) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => run_command(state, text_of(&area).trim()),
        KeyCode::Esc => Vec::new(),
        _ => {
            area.input(key);
            state.mode = Mode::Command(area);
            Vec::new()
        }
    }
}

/// `:ns NAME`, `:ns all`, `:ctx NAME`, `:q`.
fn run_command(state: &mut AppState, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let arg = words.next();
    match (cmd, arg) {
        ("q!", _) => {
            state.quit = true;
            vec![Effect::Quit]
        }
        ("q" | "quit", _) => sockets::quit(state),
        ("ns" | "namespace", Some(ns)) => {
            let scope = if matches!(ns, "all" | "-A" | "*") {
                Scope::All
            } else {
                Scope::Namespace(ns.to_string())
            };
            state.scope = scope.clone();
            state.fatal = None;
            state.pods.clear();
            state.screen = Screen::Table;
            vec![Effect::WatchPods(scope)]
        }
        ("ctx" | "context", Some(ctx)) => {
            if state.demo {
                state.toast(
                    ToastLevel::Error,
                    "the demo cluster has a single context; restart without --demo to use your kubeconfig",
                );
                return Vec::new();
            }
            state.toast(ToastLevel::Info, format!("switching to context {ctx}…"));
            vec![Effect::SwitchContext(ctx.to_string())]
        }
        ("help" | "h", _) => {
            state.mode = Mode::Help;
            Vec::new()
        }
        ("", _) => Vec::new(),
        _ => {
            state.toast(
                ToastLevel::Error,
                format!(
                    "unknown command ':{line}' (try {})",
                    keymap::command_usages().collect::<Vec<_>>().join(", ")
                ),
            );
            Vec::new()
        }
    }
}

fn on_normal(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    match keymap::GLOBAL.lookup(&key) {
        Some(Global::Help) => {
            state.mode = Mode::Help;
            return Vec::new();
        }
        Some(Global::Command) => {
            state.mode = Mode::Command(TextArea::default());
            return Vec::new();
        }
        Some(Global::Quit) | None => {}
    }
    match state.screen {
        Screen::Table => on_table(state, key),
        Screen::Detail => on_detail(state, key),
        Screen::Logs => on_logs(state, key),
        Screen::Sockets => sockets::on_key(state, key),
    }
}

/// The container to show for a row: the crashed one, else the first that restarted, else the first.
fn row_container(state: &AppState, row: &Row) -> Option<String> {
    match row {
        Row::Crash { record, .. } => record.container.clone().or_else(|| {
            state
                .pods
                .pod(&record.pod)
                .and_then(|p| p.containers.first())
                .map(|c| c.name.clone())
        }),
        Row::Pod { key } => state.pods.pod(key).and_then(|p| {
            p.containers
                .iter()
                .find(|c| c.restarts > 0)
                .or_else(|| p.containers.first())
                .map(|c| c.name.clone())
        }),
    }
}

fn on_table(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(cmd) = keymap::TABLE.lookup(&key) else {
        return Vec::new();
    };
    let page = super::logs_page(state.size);
    let pods = &mut state.pods;
    match cmd {
        Table::Quit => return sockets::quit(state),
        Table::OpenSockets => {
            if let Some(row) = pods.selected_row() {
                let key = row.pod_key().clone();
                return sockets::open(state, key);
            }
        }
        Table::Down => pods.select_next(1),
        Table::Up => pods.select_prev(1),
        Table::PageDown => pods.select_next(page),
        Table::PageUp => pods.select_prev(page),
        Table::HalfPageDown => pods.select_next(page / 2),
        Table::HalfPageUp => pods.select_prev(page / 2),
        Table::First => pods.select_first(),
        Table::Last => pods.select_last(),
        Table::EditFilter => {
            state.mode = Mode::Filter(input_with(&pods.filter.text));
        }
        Table::ClearFilter => {
            pods.filter.text.clear();
            pods.mark_dirty();
        }
        Table::ToggleAll => {
            pods.show_all = !pods.show_all;
            pods.mark_dirty();
        }
        Table::CycleSort => {
            pods.sort = pods.sort.next();
            pods.mark_dirty();
        }
        Table::ToggleGroups => {
            pods.ungrouped = !pods.ungrouped;
            pods.mark_dirty();
        }
        Table::OpenDetail => {
            if let Some(row) = pods.selected_row() {
                let key = row.pod_key().clone();
                return open_detail(state, key);
            }
        }
        Table::OpenLogs => {
            let Some(row) = pods.selected_row().cloned() else {
                return Vec::new();
            };
            let Some(container) = row_container(state, &row) else {
                return Vec::new();
            };
            let key = row.pod_key().clone();
            let previous = wants_previous(state, &key, &container);
            return open_logs(state, key, container, previous);
        }
    }
    Vec::new()
}

fn on_detail(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(detail) = state.detail.as_mut() else {
        state.screen = Screen::Table;
        return Vec::new();
    };
    let Some(cmd) = keymap::DETAIL.lookup(&key) else {
        return Vec::new();
    };
    match cmd {
        Detail::Back => state.screen = Screen::Table,
        Detail::Down => detail.scroll += 1,
        Detail::Up => detail.scroll = detail.scroll.saturating_sub(1),
        Detail::PageDown => detail.scroll += 10,
        Detail::PageUp => detail.scroll = detail.scroll.saturating_sub(10),
        Detail::Top => detail.scroll = 0,
        Detail::OpenSockets => {
            let key = detail.key.clone();
            return sockets::open(state, key);
        }
        Detail::OpenLogs => {
            let pod_key = detail.key.clone();
            let selected = state
                .pods
                .selected_row()
                .filter(|r| r.pod_key() == &pod_key)
                .cloned();
            let container = match selected {
                Some(row) => row_container(state, &row),
                None => row_container(
                    state,
                    &Row::Pod {
                        key: pod_key.clone(),
                    },
                ),
            };
            if let Some(container) = container {
                let previous = wants_previous(state, &pod_key, &container);
                return open_logs(state, pod_key, container, previous);
            }
        }
    }
    Vec::new()
}

fn on_logs(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    let Some(logs) = state.logs.as_mut() else {
        state.screen = Screen::Table;
        return Vec::new();
    };
    let Some(cmd) = keymap::LOGS.lookup(&key) else {
        return Vec::new();
    };
    let page = logs.page.max(1) as isize;
    match cmd {
        Logs::Back => {
            state.screen = if state.detail.is_some() {
                Screen::Detail
            } else {
                Screen::Table
            };
            logs.follow = false;
            return vec![Effect::StopFollow];
        }
        Logs::Down => logs.scroll_by(1),
        Logs::Up => logs.scroll_by(-1),
        Logs::PageDown => logs.scroll_by(page),
        Logs::PageUp => logs.scroll_by(-page),
        Logs::Start => logs.scroll_by(isize::MIN / 2),
        Logs::End => logs.scroll_to_end(),
        Logs::ToggleWrap => logs.wrap = !logs.wrap,
        Logs::Search => state.mode = Mode::LogSearch(input_with(&logs.search)),
        Logs::NextMatch => logs.next_match(true),
        Logs::PreviousMatch => logs.next_match(false),
        Logs::ToggleInstance => {
            let req = logs.request.clone();
            return open_logs(state, req.pod, req.container, !req.previous);
        }
        Logs::ToggleFollow => {
            if logs.follow {
                logs.follow = false;
                if logs.status == LogsStatus::Following {
                    logs.status = LogsStatus::Loaded;
                }
                return vec![Effect::StopFollow];
            }
            let mut req = logs.request.clone();
            req.previous = false;
            req.tail_lines = Some(super::LOG_TAIL_LINES);
            let mut fresh = crate::state::logs::LogsState::new(req.clone());
            fresh.page = super::logs_page(state.size);
            fresh.follow = true;
            fresh.wrap = logs.wrap;
            state.logs = Some(fresh);
            return vec![Effect::FollowLogs(req)];
        }
        Logs::Save => {
            let req = &logs.request;
            let stamp = state.now.strftime("%Y%m%dT%H%M%SZ");
            let which = if req.previous { "previous" } else { "current" };
            let name = format!(
                "ktui-{}-{}-{}-{which}-{stamp}.log",
                req.pod.namespace, req.pod.name, req.container
            );
            // Names come from the cluster: keep only file-name-safe characters.
            let safe: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            return vec![Effect::SaveFile {
                path: safe.into(),
                bytes: logs.raw.clone(),
            }];
        }
    }
    Vec::new()
}
