//! Intents (src/intent.rs) applied to the state: what each pane's commands do, the command
//! line, and the questions before the cluster is changed. Keys reach here through the keymap
//! (`keys.rs`); headless drivers send intents directly.

use super::sockets;
use super::{open_detail, open_logs, wants_previous};
use crate::cluster::Scope;
use crate::effect::Effect;
use crate::intent::{Answer, Intent, Question};
use crate::keymap::{self, Detail, Logs, Table};
use crate::state::logs::LogsStatus;
use crate::state::pods::Row;
use crate::state::{AppState, Confirm, Mode, Screen, ToastLevel};

pub fn apply(state: &mut AppState, intent: Intent) -> Vec<Effect> {
    // Intents act on what is on screen: bring derived rows up to date first (cheap when clean).
    state.prepare_frame();
    match intent {
        Intent::Table(cmd) if state.screen == Screen::Table => on_table(state, cmd),
        Intent::Detail(cmd) if state.screen == Screen::Detail => on_detail(state, cmd),
        Intent::Logs(cmd) if state.screen == Screen::Logs => on_logs(state, cmd),
        Intent::Sockets(cmd) if state.screen == Screen::Sockets => sockets::on_command(state, cmd),
        Intent::Packets(cmd) if state.screen == Screen::Packets => {
            super::packets::on_command(state, cmd)
        }
        Intent::Inspect(cmd) if state.screen == Screen::Inspect => {
            super::inspect::on_command(state, cmd)
        }
        Intent::Table(_)
        | Intent::Detail(_)
        | Intent::Logs(_)
        | Intent::Sockets(_)
        | Intent::Packets(_)
        | Intent::Inspect(_) => Vec::new(),
        Intent::OpenInspect(file) => super::inspect::open(state, file),
        Intent::Help => {
            state.mode = Mode::Help;
            Vec::new()
        }
        Intent::Command(line) => run_command(state, line.trim()),
        Intent::OpenDetail(key) => open_detail(state, key),
        Intent::OpenSockets(key) => sockets::open(state, key),
        Intent::OpenPackets(key) => super::packets::open(state, key),
        Intent::StartCapture(key) => super::packets::ask(state, key),
        Intent::StopCapture(key) => super::packets::stop(state, &key),
        Intent::Trace { node, filters } => sockets::trace(state, node, filters),
        Intent::Untrace => sockets::untrace(state),
        Intent::OpenMenu(key) => super::menu::open(state, key),
        Intent::RunMenuEntry(action) => super::menu::run(state, action),
        Intent::OpenNotes => super::notes::open(state),
        Intent::SaveNotes => super::notes::save(state),
        Intent::Export(key) => super::export::open(state, key),
        Intent::Checkpoint(key) => super::checkpoint::open(state, key),
        Intent::Clone(key) => super::clone::open(state, key),
        Intent::RemoveHelper { node } => ask(state, Confirm::RemoveHelper { node }),
        Intent::Answer(answer) => match std::mem::take(&mut state.mode) {
            Mode::Confirm(confirm) => sockets::answer(state, confirm, answer),
            other => {
                state.mode = other;
                Vec::new()
            }
        },
        Intent::Quit => sockets::quit(state),
        Intent::QuitNow => {
            state.quit = true;
            vec![Effect::Quit]
        }
    }
}

/// Put a question before a change to the cluster: on screen, or answered at once by the
/// policy of a driver without a user.
pub(crate) fn ask(state: &mut AppState, confirm: Confirm) -> Vec<Effect> {
    let question = match confirm {
        Confirm::DeployHelper { .. } => Question::DeployHelper,
        Confirm::RemoveHelper { .. } | Confirm::QuitWithHelpers { .. } => Question::Intended,
    };
    match state.confirm_policy.answer(question) {
        None => {
            state.mode = Mode::Confirm(confirm);
            state.confirm_scroll = 0;
            Vec::new()
        }
        Some(true) => sockets::answer(state, confirm, Answer::Yes),
        Some(false) => sockets::answer(state, confirm, Answer::No),
    }
}

/// `:ns NAME`, `:ns all`, `:ctx NAME`, `:q`.
fn run_command(state: &mut AppState, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let cmd = words.next().unwrap_or("");
    let arg = words.next();
    match (cmd, arg) {
        ("q!", _) => apply(state, Intent::QuitNow),
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
        ("inspect", Some(_)) => {
            // The rest of the line is the file (a path may hold spaces).
            let file = line.trim_start_matches("inspect").trim();
            apply(state, Intent::OpenInspect(std::path::PathBuf::from(file)))
        }
        ("inspect", None) => {
            state.toast(
                ToastLevel::Error,
                "say which archive: :inspect FILE (a path in the case, e.g. artifacts/NS/POD/snapshots/…tar, or absolute)",
            );
            Vec::new()
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
        Row::Pod { key } => super::row_container_of(state, key),
    }
}

fn on_table(state: &mut AppState, cmd: Table) -> Vec<Effect> {
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
        Table::OpenMenu | Table::Export | Table::Checkpoint | Table::Clone => {
            if let Some(row) = pods.selected_row() {
                let key = row.pod_key().clone();
                return apply(
                    state,
                    match cmd {
                        Table::OpenMenu => Intent::OpenMenu(key),
                        Table::Export => Intent::Export(key),
                        Table::Clone => Intent::Clone(key),
                        _ => Intent::Checkpoint(key),
                    },
                );
            }
        }
        Table::OpenPackets => {
            if let Some(row) = pods.selected_row() {
                let key = row.pod_key().clone();
                return super::packets::open(state, key);
            }
        }
        Table::OpenNotes => return super::notes::open(state),
        Table::Down => pods.select_next(1),
        Table::Up => pods.select_prev(1),
        Table::PageDown => pods.select_next(page),
        Table::PageUp => pods.select_prev(page),
        Table::HalfPageDown => pods.select_next(page / 2),
        Table::HalfPageUp => pods.select_prev(page / 2),
        Table::First => pods.select_first(),
        Table::Last => pods.select_last(),
        Table::EditFilter => {
            state.mode = Mode::Filter(super::keys::input_with(&pods.filter.text));
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

fn on_detail(state: &mut AppState, cmd: Detail) -> Vec<Effect> {
    let Some(detail) = state.detail.as_mut() else {
        state.screen = Screen::Table;
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
        Detail::OpenPackets => {
            let key = detail.key.clone();
            return super::packets::open(state, key);
        }
        Detail::OpenMenu => {
            let key = detail.key.clone();
            return apply(state, Intent::OpenMenu(key));
        }
        Detail::Export => {
            let key = detail.key.clone();
            return apply(state, Intent::Export(key));
        }
        Detail::Checkpoint => {
            let key = detail.key.clone();
            return apply(state, Intent::Checkpoint(key));
        }
        Detail::Clone => {
            let key = detail.key.clone();
            return apply(state, Intent::Clone(key));
        }
        Detail::OpenNotes => return super::notes::open(state),
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

fn on_logs(state: &mut AppState, cmd: Logs) -> Vec<Effect> {
    let Some(logs) = state.logs.as_mut() else {
        state.screen = Screen::Table;
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
        Logs::Search => state.mode = Mode::LogSearch(super::keys::input_with(&logs.search)),
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
            if state.evidence.case.is_none() {
                state.toast(ToastLevel::Error, "no case is open to save the logs into");
                return Vec::new();
            }
            return vec![Effect::SaveLogs {
                request: logs.request.clone(),
                bytes: logs.raw.clone(),
            }];
        }
    }
    Vec::new()
}
