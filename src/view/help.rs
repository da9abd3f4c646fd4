//! The `?` overlay.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::config::theme::Theme;

/// (keys, what) per section; the README's key table says the same.
pub const HELP: &[(&str, &[(&str, &str)])] = &[
    (
        "Crashed pods",
        &[
            ("j/k ↑/↓ g/G PgUp/PgDn", "move"),
            ("Enter / d", "pod detail"),
            ("l", "logs of the crashed container"),
            ("/", "filter (substring, !negates); Esc clears"),
            ("a", "all pods / crashed only"),
            ("s", "cycle sort: newest, restarts, repeats, name"),
            ("u", "ungroup / group by crash signature"),
        ],
    ),
    (
        "Logs",
        &[
            ("p", "previous / current container logs"),
            ("f", "follow current logs"),
            ("/  n  N", "search, next, previous match"),
            ("w", "wrap lines"),
            ("S", "save raw bytes to a file (prints SHA-256)"),
        ],
    ),
    (
        "Anywhere",
        &[
            (":ns NAME  :ns all", "switch namespace"),
            (":ctx NAME", "switch kubeconfig context"),
            ("Esc", "back"),
            ("q  Ctrl-C", "quit"),
        ],
    ),
];

pub fn render(frame: &mut Frame<'_>, area: Rect, theme: &Theme) {
    let mut lines = Vec::new();
    for (section, keys) in HELP {
        lines.push(Line::from(Span::styled(*section, theme.header)));
        for (k, what) in *keys {
            lines.push(Line::from(vec![
                Span::styled(format!("  {k:<22}"), theme.accent),
                Span::raw(*what),
            ]));
        }
    }
    lines.push(Line::from(Span::styled(
        "any key closes this help",
        theme.muted,
    )));
    let height = (lines.len() as u16 + 2).min(area.height);
    let width = 72.min(area.width);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).style(theme.base).block(
            Block::bordered()
                .title(Span::styled(" Help ", theme.title))
                .border_style(theme.border),
        ),
        rect,
    );
}
