//! The inspect pane: the text view of a checkpoint archive or live snapshot (already sanitised
//! when it was rendered), scrolled, titled with the archive and the search.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::inspect::InspectStatus;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(inspect) = &state.inspect else {
        return;
    };
    let name = sanitize::line(&inspect.name()).into_owned();
    let (status, style) = match &inspect.status {
        InspectStatus::Reading => ("reading…".to_string(), theme.accent),
        InspectStatus::Read => match (&inspect.grep, inspect.matches) {
            (Some(text), Some(n)) => (
                format!("{n} matches of \"{}\" in memory", sanitize::line(text)),
                theme.muted,
            ),
            _ => (format!("{} lines", inspect.lines.len()), theme.muted),
        },
        InspectStatus::Failed(e) => (format!("FAILED: {e}"), theme.error),
    };
    let height = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line<'_>> = inspect
        .lines
        .iter()
        .skip(inspect.scroll)
        .take(height)
        .map(|l| Line::raw(l.as_str()))
        .collect();
    let block = Block::bordered()
        .title(Span::styled(format!(" Inspect · {name} "), theme.title))
        .title_bottom(Span::styled(format!(" {status} "), style))
        .border_style(theme.accent);
    frame.render_widget(Paragraph::new(lines).style(theme.base).block(block), area);
}
