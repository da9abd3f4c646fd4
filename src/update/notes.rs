//! The notes pane: keys typed into the notes, saved into the case 2 s after the last key at
//! most (on the clock's tick), on Esc and Ctrl-S, and before the console quits.

use crossterm::event::KeyEvent;

use crate::effect::Effect;
use crate::keymap::Notes;
use crate::state::{AppState, Screen, ToastLevel};

pub fn open(state: &mut AppState) -> Vec<Effect> {
    if state.evidence.case.is_none() {
        state.toast(ToastLevel::Error, "no case is open: notes cannot be kept");
        return Vec::new();
    }
    if state.screen != Screen::Notes {
        state.notes_return = state.screen;
    }
    state.screen = Screen::Notes;
    Vec::new()
}

/// A key on the notes pane: the pane's own (back, save), else typed into the notes.
pub fn on_key(state: &mut AppState, key: KeyEvent) -> Vec<Effect> {
    match state.keymaps.notes.lookup(&key) {
        Some(Notes::Back) => {
            state.screen = state.notes_return;
            save(state)
        }
        Some(Notes::Save) => save(state),
        None => {
            if state.notes.area.input(key) {
                state.notes.edited(state.now);
            }
            Vec::new()
        }
    }
}

/// Save now when there is something unsaved and no save is in flight.
pub fn save(state: &mut AppState) -> Vec<Effect> {
    if !state.notes.dirty() || state.notes.saving.is_some() || state.evidence.case.is_none() {
        return Vec::new();
    }
    let generation = state.notes.start_save();
    vec![Effect::SaveNotes {
        generation,
        text: state.notes.text(),
    }]
}

/// On the clock: save when due.
pub fn on_tick(state: &mut AppState) -> Vec<Effect> {
    if state.notes.due(state.now) {
        save(state)
    } else {
        Vec::new()
    }
}

pub fn on_saved(state: &mut AppState, generation: u64, result: Result<String, String>) {
    match result {
        Ok(sha256) => {
            let now = state.now;
            state.notes.saved(generation, sha256, now);
        }
        Err(e) => {
            state.toast(ToastLevel::Error, format!("notes not saved: {e}"));
            state.notes.failed(e);
        }
    }
}
