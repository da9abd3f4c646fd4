//! The actions menu: one line per entry with its direct key; an entry the user lacks a
//! permission for is drawn disabled with the missing verb and resource.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::menu::{EntryStatus, MenuState, direct_keys};

pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    menu: &MenuState,
    state: &AppState,
    theme: &Theme,
) {
    let mut lines = Vec::new();
    for (i, entry) in menu.entries.iter().enumerate() {
        let key = direct_keys(&state.keymaps, entry.action)
            .first()
            .map_or_else(|| " ".to_string(), |k| k.short_name());
        let status = state.access.status(&entry.needs);
        let (style, note) = match &status {
            EntryStatus::Allowed => (theme.base, String::new()),
            EntryStatus::Partial(less) => (theme.base, format!("  ({})", less.join("; "))),
            EntryStatus::Checking => (theme.muted, "  (checking permissions…)".to_string()),
            EntryStatus::Denied(missing) => (
                theme.muted,
                format!(
                    "  disabled: needs {}",
                    missing
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            EntryStatus::Unchecked(why) => (theme.muted, format!("  ({why})")),
        };
        let marker = if i == menu.selected { "▶ " } else { "  " };
        let line_style = if i == menu.selected {
            style.patch(theme.selected)
        } else {
            style
        };
        lines.push(Line::from(vec![
            Span::styled(marker, theme.accent),
            Span::styled(format!("{key:>3}  "), theme.accent),
            Span::styled(entry.action.label(), line_style),
            Span::styled(
                sanitize::line(&note).into_owned(),
                if matches!(status, EntryStatus::Denied(_)) {
                    theme.error
                } else {
                    theme.muted
                },
            ),
        ]));
    }
    let text = Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .style(theme.base);
    let width = 96.min(area.width);
    let height = u16::try_from(text.line_count(width.saturating_sub(2)))
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(area.height);
    let rect = super::overlay(frame, area, width, height);
    let title = format!(" {} ", sanitize::line(&menu.pod.to_string()));
    frame.render_widget(
        text.block(
            Block::bordered()
                .title(Span::styled(title, theme.title))
                .title_bottom(Span::styled(
                    " ⏎ or the key: run   j/k: move   esc: close ",
                    theme.accent,
                ))
                .border_style(theme.accent),
        ),
        rect,
    );
}
