//! Keys: through the keymap into intents (`intents.rs` applies them), or into the text being
//! typed (filters, the command line, a search).

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use super::{intents, sockets};
use crate::effect::Effect;
use crate::intent::{Answer, Intent};
use crate::keymap::{Global, Keymaps};
use crate::state::{AppState, Confirm, Mode, Screen};

pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    if state.keymaps.global.lookup(&key) == Some(Global::Quit) {
        // A second Ctrl-C while asked about helpers, or while the quit waits for captures to
        // be in the case, quits at once (leaving helpers, and files on the node).
        if matches!(state.mode, Mode::Confirm(Confirm::QuitWithHelpers { .. }))
            || state.packets.quit_pending
        {
            return intents::apply(state, Intent::QuitNow);
        }
        state.mode = Mode::Normal;
        return intents::apply(state, Intent::Quit);
    }
    match std::mem::take(&mut state.mode) {
        // The notes take every key but their pane's own (`:` and `?` are text there).
        Mode::Normal if state.screen == Screen::Notes => super::notes::on_key(state, key),
        Mode::Normal if state.keymaps.global.lookup(&key) == Some(Global::Command) => {
            state.mode = Mode::Command(TextArea::default());
            Vec::new()
        }
        Mode::Normal => match intent_of(&state.keymaps, state.screen, &key) {
            Some(intent) => intents::apply(state, intent),
            None => Vec::new(),
        },
        Mode::Help => Vec::new(), // any key closes help
        Mode::Menu(menu) => super::menu::on_key(state, menu, key),
        Mode::Export => super::export::on_key(state, key),
        Mode::Checkpoint => super::checkpoint::on_key(state, key),
        Mode::Clone => super::clone::on_key(state, key),
        Mode::CaptureForm => super::packets::on_form_key(state, key),
        Mode::PacketFilter(area) => {
            super::packets::on_filter(state, area, key);
            Vec::new()
        }
        Mode::Filter(area) => on_filter(state, area, key),
        Mode::Command(area) => on_command(state, area, key),
        Mode::LogSearch(area) => on_log_search(state, area, key),
        Mode::InspectSearch(area) => super::inspect::on_search_key(state, area, key),
        Mode::SocketFilter(area) => {
            sockets::on_filter(state, area, key);
            Vec::new()
        }
        Mode::Confirm(confirm) => {
            state.mode = Mode::Confirm(confirm);
            match answer_of(&key) {
                Some(answer) => intents::apply(state, Intent::Answer(answer)),
                None => {
                    // A dialog taller than the screen scrolls (the view clamps); any other
                    // key keeps asking.
                    let by: i32 = match key.code {
                        KeyCode::Char('j') | KeyCode::Down => 1,
                        KeyCode::Char('k') | KeyCode::Up => -1,
                        KeyCode::PageDown | KeyCode::Char(' ') => 10,
                        KeyCode::PageUp => -10,
                        _ => 0,
                    };
                    state.confirm_scroll = state.confirm_scroll.saturating_add_signed(by as i16);
                    Vec::new()
                }
            }
        }
    }
}

/// What a key means on `screen` with nothing else open: the keymaps' global keys, then the
/// screen's.
fn intent_of(keymaps: &Keymaps, screen: Screen, key: &KeyEvent) -> Option<Intent> {
    if keymaps.global.lookup(key) == Some(Global::Help) {
        return Some(Intent::Help);
    }
    match screen {
        Screen::Table => keymaps.table.lookup(key).map(Intent::Table),
        Screen::Detail => keymaps.detail.lookup(key).map(Intent::Detail),
        Screen::Logs => keymaps.logs.lookup(key).map(Intent::Logs),
        Screen::Sockets => keymaps.sockets.lookup(key).map(Intent::Sockets),
        Screen::Notes => None, // typed into the notes (`notes::on_key`)
        Screen::Inspect => keymaps.inspect.lookup(key).map(Intent::Inspect),
        Screen::Packets => keymaps.packets.lookup(key).map(Intent::Packets),
    }
}

/// y / Enter, n, Esc on a question.
fn answer_of(key: &KeyEvent) -> Option<Answer> {
    match key.code {
        KeyCode::Char('y' | 'Y') | KeyCode::Enter => Some(Answer::Yes),
        KeyCode::Char('n' | 'N') => Some(Answer::No),
        KeyCode::Esc => Some(Answer::Cancel),
        _ => None,
    }
}

fn text_of(area: &TextArea<'_>) -> String {
    area.lines().join("")
}

pub(super) fn input_with(text: &str) -> TextArea<'static> {
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
        KeyCode::Enter => intents::apply(state, Intent::Command(text_of(&area))),
        KeyCode::Esc => Vec::new(),
        _ => {
            area.input(key);
            state.mode = Mode::Command(area);
            Vec::new()
        }
    }
}
