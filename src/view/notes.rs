//! The notes pane: the case's notes.md in a text area, titled with where they are saved and when.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Block;

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::notes::NotesStatus;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let case = state
        .evidence
        .case
        .as_ref()
        .map_or("-".to_string(), |(id, _)| sanitize::line(id).into_owned());
    let (status, style) = match &state.notes.status {
        NotesStatus::Saved {
            at: Some(at),
            sha256: Some(sha),
        } => (
            format!(
                "saved {} UTC, sha256 {}…",
                at.strftime("%H:%M:%S"),
                sha.get(..12).unwrap_or(sha)
            ),
            theme.muted,
        ),
        NotesStatus::Saved { .. } => ("as on disk".to_string(), theme.muted),
        NotesStatus::Unsaved => ("unsaved (saved within 2 s)".to_string(), theme.accent),
        NotesStatus::Failed(e) => (format!("NOT SAVED: {}", sanitize::line(e)), theme.error),
    };
    let mut area_widget = state.notes.area.clone();
    area_widget.set_block(
        Block::bordered()
            .title(Span::styled(
                format!(" Notes · case {case} · notes.md "),
                theme.title,
            ))
            .title_bottom(Span::styled(format!(" {status} "), style))
            .border_style(theme.accent),
    );
    area_widget.set_style(theme.base);
    frame.render_widget(&area_widget, area);
}
