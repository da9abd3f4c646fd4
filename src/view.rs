//! `view(&AppState, &Theme)`: draws one frame. Reads state only.

mod checkpoint;
mod clone;
mod columns;
mod confirm;
mod detail;
mod export;
mod help;
mod inspect;
mod logs;
mod menu;
mod notes;
mod packets;
mod sockets;
mod status;
mod table;
pub mod text;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::config::theme::Theme;
use crate::state::{AppState, Mode, Screen, ToastLevel};

pub fn view(frame: &mut Frame<'_>, state: &AppState, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base), area);
    let [top, main, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    status::render_status(frame, top, state, theme);
    match state.screen {
        Screen::Table => table::render(frame, main, state, theme),
        Screen::Detail => detail::render(frame, main, state, theme),
        Screen::Logs => logs::render(frame, main, state, theme),
        Screen::Sockets => sockets::render(frame, main, state, theme),
        Screen::Notes => notes::render(frame, main, state, theme),
        Screen::Inspect => inspect::render(frame, main, state, theme),
        Screen::Packets => packets::render(frame, main, state, theme),
    }
    status::render_prompt(frame, bottom, state, theme);
    render_toasts(frame, main, state, theme);
    match &state.mode {
        Mode::Help => help::render(frame, area, state, theme),
        Mode::Confirm(c) => confirm::render(frame, area, c, state, theme),
        Mode::Menu(m) => menu::render(frame, area, m, state, theme),
        Mode::Export => export::render(frame, area, state, theme),
        Mode::Checkpoint => checkpoint::render(frame, area, state, theme),
        Mode::Clone => clone::render(frame, area, state, theme),
        Mode::CaptureForm => packets::form::render(frame, area, state, theme),
        _ => {}
    }
}

/// A dialog's rectangle: at most 100 columns, as tall as `text` wrapped inside its border plus
/// `extra_rows` (a gauge), cut to `area`, cleared.
pub(crate) fn dialog_overlay(
    frame: &mut Frame<'_>,
    area: Rect,
    text: &ratatui::widgets::Paragraph<'_>,
    extra_rows: u16,
) -> Rect {
    let width = 100.min(area.width);
    let height = u16::try_from(text.line_count(width.saturating_sub(2)))
        .unwrap_or(u16::MAX)
        .saturating_add(2 + extra_rows)
        .min(area.height);
    overlay(frame, area, width, height)
}

/// A `width`×`height` rectangle (cut to `area`) in the middle of `area`, cleared: where a
/// dialog or an overlay is drawn.
pub(crate) fn overlay(frame: &mut Frame<'_>, area: Rect, width: u16, height: u16) -> Rect {
    let (width, height) = (width.min(area.width), height.min(area.height));
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(ratatui::widgets::Clear, rect);
    rect
}

fn render_toasts(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let mut y = area.bottom();
    for toast in state.toasts.iter().rev() {
        let width = area.width.saturating_sub(4).min(100);
        let mut text = crate::sanitize::line(&toast.text).into_owned();
        if toast.count > 1 {
            text.push_str(&format!(" (×{})", toast.count));
        }
        let text = Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .style(theme.base);
        // As many rows as the words wrap to (a long word moves whole to the next row).
        let rows = text.line_count(width.saturating_sub(2).max(1));
        let lines = u16::try_from(rows).unwrap_or(u16::MAX).saturating_add(2);
        if y < area.y + lines {
            break;
        }
        y -= lines;
        let rect = Rect::new(area.right().saturating_sub(width + 1), y, width, lines);
        let style = match toast.level {
            ToastLevel::Info => theme.info,
            ToastLevel::Error => theme.error,
        };
        frame.render_widget(Clear, rect);
        frame.render_widget(text.block(Block::bordered().border_style(style)), rect);
    }
}
