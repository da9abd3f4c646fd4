//! The inspect pane: open an archive (`:inspect FILE`, a path in the case or absolute), read
//! it in the background, scroll it, and search its memory images (`/`: read again with grep).

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent};
use ratatui_textarea::TextArea;

use crate::effect::Effect;
use crate::keymap::Inspect;
use crate::state::inspect::{InspectState, InspectStatus};
use crate::state::{AppState, Mode, Screen, ToastLevel};

/// Lines a page scroll moves (the pane's height less its border and header).
fn page(state: &AppState) -> usize {
    usize::from(state.size.1.saturating_sub(4)).max(1)
}

/// `FILE` as given: absolute, else in the open case (else the working directory).
pub fn resolve(state: &AppState, file: &Path) -> PathBuf {
    if file.is_absolute() {
        return file.to_path_buf();
    }
    match &state.evidence.case {
        Some((_, dir)) if dir.join(file).exists() => dir.join(file),
        _ => file.to_path_buf(),
    }
}

pub fn open(state: &mut AppState, file: PathBuf) -> Vec<Effect> {
    let path = resolve(state, &file);
    let request = state.inspect.as_ref().map_or(1, |s| s.request + 1);
    if state.screen != Screen::Inspect {
        state.inspect_return = state.screen;
    }
    state.inspect = Some(InspectState::new(path.clone(), request));
    state.screen = Screen::Inspect;
    vec![Effect::InspectArchive {
        request,
        path,
        grep: None,
    }]
}

pub fn on_command(state: &mut AppState, cmd: Inspect) -> Vec<Effect> {
    let page = page(state);
    let Some(inspect) = state.inspect.as_mut() else {
        state.screen = state.inspect_return;
        return Vec::new();
    };
    match cmd {
        Inspect::Back => state.screen = state.inspect_return,
        Inspect::Down => inspect.scroll_by(1, page),
        Inspect::Up => inspect.scroll_by(-1, page),
        Inspect::PageDown => inspect.scroll_by(page.cast_signed(), page),
        Inspect::PageUp => inspect.scroll_by(-page.cast_signed(), page),
        Inspect::Start => inspect.scroll = 0,
        Inspect::End => inspect.scroll_by(isize::MAX, page),
        Inspect::Search => {
            let text = inspect.grep.clone().unwrap_or_default();
            state.mode = Mode::InspectSearch(super::keys::input_with(&text));
        }
    }
    Vec::new()
}

/// A key while the search text is typed: Enter searches, Esc drops it.
pub fn on_search_key(
    state: &mut AppState,
    mut area: TextArea<'static>,
    key: KeyEvent,
) -> Vec<Effect> {
    match key.code {
        KeyCode::Enter => {
            let text = area.lines().join("");
            search(state, text)
        }
        KeyCode::Esc => Vec::new(),
        _ => {
            area.input(key);
            state.mode = Mode::InspectSearch(area);
            Vec::new()
        }
    }
}

/// Read the archive again, searching its memory for `text` (empty: the plain view).
fn search(state: &mut AppState, text: String) -> Vec<Effect> {
    let Some(inspect) = state.inspect.as_mut() else {
        return Vec::new();
    };
    inspect.request += 1;
    inspect.status = InspectStatus::Reading;
    inspect.grep = (!text.is_empty()).then_some(text);
    vec![Effect::InspectArchive {
        request: inspect.request,
        path: inspect.archive.clone(),
        grep: inspect.grep.clone(),
    }]
}

pub fn on_inspected(
    state: &mut AppState,
    request: u64,
    result: Result<(Vec<String>, Option<usize>), String>,
) {
    let Some(inspect) = state.inspect.as_mut().filter(|s| s.request == request) else {
        return; // an older reading, or the pane is gone
    };
    match result {
        Ok((lines, matches)) => {
            inspect.lines = lines;
            inspect.matches = matches;
            inspect.status = InspectStatus::Read;
            // A search shows its matches first.
            inspect.scroll = match (&inspect.grep, inspect.matches_line()) {
                (Some(_), Some(line)) => line,
                _ => 0,
            };
        }
        Err(e) => {
            let e = crate::sanitize::line(&e).into_owned();
            inspect.status = InspectStatus::Failed(e.clone());
            let name = inspect.name();
            state.toast(ToastLevel::Error, format!("cannot inspect {name}: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::{ContextInfo, Scope};

    fn state() -> AppState {
        AppState::new(
            ContextInfo::default(),
            Scope::All,
            true,
            jiff::Timestamp::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_search_reads_again_and_older_readings_are_dropped() {
        let mut s = state();
        let fx = open(&mut s, PathBuf::from("/cases/c/a.tar"));
        assert_eq!(
            fx,
            vec![Effect::InspectArchive {
                request: 1,
                path: PathBuf::from("/cases/c/a.tar"),
                grep: None
            }]
        );
        assert_eq!(s.screen, Screen::Inspect);
        let fx = search(&mut s, "hunter2".into());
        assert_eq!(
            fx,
            vec![Effect::InspectArchive {
                request: 2,
                path: PathBuf::from("/cases/c/a.tar"),
                grep: Some("hunter2".into())
            }]
        );
        // The first reading comes late: dropped.
        on_inspected(&mut s, 1, Ok((vec!["old".into()], None)));
        assert!(s.inspect.as_ref().unwrap().lines.is_empty());
        let lines = vec![
            "Container".into(),
            "Matches for \"hunter2\": 2".into(),
            "x".into(),
        ];
        on_inspected(&mut s, 2, Ok((lines, Some(2))));
        let i = s.inspect.as_ref().unwrap();
        assert_eq!(
            (i.scroll, i.matches, &i.status),
            (1, Some(2), &InspectStatus::Read)
        );
        on_command(&mut s, Inspect::Back);
        assert_eq!(s.screen, Screen::Table);
    }

    #[test]
    fn a_failed_reading_says_why() {
        let mut s = state();
        open(&mut s, PathBuf::from("/nowhere.tar"));
        on_inspected(&mut s, 1, Err("truncated tar at byte 512".into()));
        assert_eq!(
            s.inspect.as_ref().unwrap().status,
            InspectStatus::Failed("truncated tar at byte 512".into())
        );
    }
}
