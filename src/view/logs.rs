//! The logs pane: sanitised lines, search highlight, follow and wrap.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::logs::LogsStatus;

/// Split a line into spans, highlighting case-insensitive matches of `needle`.
fn highlight<'a>(line: &'a str, needle: &str, theme: &Theme) -> Line<'a> {
    if needle.is_empty() {
        return Line::from(line);
    }
    let lower = line.to_lowercase();
    let needle = needle.to_lowercase();
    // Lowercasing can change byte lengths for some scripts; only highlight when it does not.
    if lower.len() != line.len() {
        return Line::from(line);
    }
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(i) = lower[at..].find(&needle) {
        let start = at + i;
        let end = start + needle.len();
        if !line.is_char_boundary(start) || !line.is_char_boundary(end) {
            break;
        }
        spans.push(Span::raw(&line[at..start]));
        spans.push(Span::styled(&line[start..end], theme.search_match));
        at = end;
    }
    spans.push(Span::raw(&line[at..]));
    Line::from(spans)
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(logs) = &state.logs else {
        return;
    };
    let req = &logs.request;
    let mut title = vec![
        Span::styled(
            format!(
                " Logs {}/{} ",
                sanitize::line(&req.pod.to_string()),
                sanitize::line(&req.container)
            ),
            theme.title,
        ),
        Span::styled(
            if req.previous {
                "(previous instance) "
            } else {
                "(current) "
            },
            theme.accent,
        ),
        Span::styled(format!("{} lines ", logs.line_count()), theme.muted),
    ];
    if logs.follow {
        title.push(Span::styled("[follow] ", theme.ok));
    }
    if logs.wrap {
        title.push(Span::styled("[wrap] ", theme.muted));
    }
    if !logs.search.is_empty() {
        title.push(Span::styled(
            format!(
                "/{} {}/{} ",
                sanitize::line(&logs.search),
                if logs.matches.is_empty() {
                    0
                } else {
                    logs.current_match + 1
                },
                logs.matches.len()
            ),
            theme.accent,
        ));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.border);
    let inner_height = usize::from(area.height.saturating_sub(2));
    let body: Vec<Line<'_>> = match &logs.status {
        LogsStatus::Loading => vec![Line::from(Span::styled("Loading logs…", theme.muted))],
        LogsStatus::Failed(e) if logs.lines.is_empty() => vec![
            Line::from(Span::styled(
                format!("Cannot read logs: {}", sanitize::line(e)),
                theme.error,
            )),
            Line::from(Span::styled(
                if req.previous {
                    "p shows the current instance's logs instead."
                } else {
                    "p shows the previous instance's logs instead."
                },
                theme.muted,
            )),
        ],
        _ if logs.lines.is_empty() => vec![Line::from(Span::styled("(no log lines)", theme.muted))],
        _ => logs
            .lines
            .iter()
            .skip(logs.scroll)
            .take(inner_height.max(1))
            .map(|l| highlight(l, &logs.search, theme))
            .collect(),
    };
    let mut p = Paragraph::new(body).block(block);
    if logs.wrap {
        p = p.wrap(Wrap { trim: false });
    }
    frame.render_widget(p, area);
}
