//! The `?` overlay: the keys of the pane on screen, then those of every pane and the commands.
//! All of it comes from the keymaps in effect (`state.keymaps`), which the key handlers
//! dispatch through.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::theme::Theme;
use crate::keymap;
use crate::state::{AppState, Screen};
use crate::view::text::width;

/// Commands are indented under the `:` key that opens the command line.
const COMMAND_INDENT: &str = "  ";

/// (heading, [(keys, what)]) for the pane on screen, then for every pane.
fn sections(state: &AppState) -> Vec<(&'static str, Vec<(String, &'static str)>)> {
    let k = &state.keymaps;
    let pane = match state.screen {
        Screen::Table if state.pods.show_all => ("All pods", k.table.help()),
        Screen::Table => ("Crashed pods", k.table.help()),
        Screen::Detail => (k.detail.map.title, k.detail.help()),
        Screen::Logs => (k.logs.map.title, k.logs.help()),
        Screen::Sockets => (k.sockets.map.title, k.sockets.help()),
        Screen::Notes => (k.notes.map.title, k.notes.help()),
        Screen::Inspect => (k.inspect.map.title, k.inspect.help()),
        Screen::Packets => (k.packets.map.title, k.packets.help()),
    };
    let mut anywhere = k.global.help();
    anywhere.extend(
        keymap::COMMANDS
            .iter()
            .map(|(usage, what)| (format!("{COMMAND_INDENT}{usage}"), *what)),
    );
    vec![pane, (k.global.map.title, anywhere)]
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let sections = sections(state);
    let rows = || sections.iter().flat_map(|(_, rows)| rows);
    let keys = rows().map(|(k, _)| width(k)).max().unwrap_or(0);
    let what = rows().map(|(_, w)| width(w)).max().unwrap_or(0);
    let mut lines = Vec::new();
    for (heading, rows) in &sections {
        lines.push(Line::from(Span::styled(*heading, theme.header)));
        for (k, w) in rows {
            let pad = keys - width(k);
            lines.push(Line::from(vec![
                Span::raw("  "),
                Span::styled(k.clone(), theme.accent),
                Span::raw(" ".repeat(pad + 2)),
                Span::raw(*w),
            ]));
        }
    }
    let room = usize::from(area.height.saturating_sub(2));
    if lines.len() > room && room > 0 {
        let hidden = lines.len() - room + 1;
        lines.truncate(room - 1);
        lines.push(Line::from(Span::styled(
            format!("+{hidden} more lines: a taller terminal shows them"),
            theme.muted,
        )));
    }
    let full_width = u16::try_from(keys + what + 8).unwrap_or(u16::MAX);
    let width = full_width.min(area.width);
    let height = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = super::overlay(frame, area, width, height);
    frame.render_widget(
        Paragraph::new(lines).style(theme.base).block(
            Block::bordered()
                .title(Span::styled(" Help ", theme.title))
                .border_style(theme.border),
        ),
        rect,
    );
}
