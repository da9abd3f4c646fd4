//! The crashed-pods table (and the all-pods table with `a`), columns sized from the rows on
//! screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row as TableRow, Table, TableState, Wrap};
use unicode_width::UnicodeWidthStr as _;

use super::columns::fit;
use super::text::{age, elide_end, elide_middle, opt, workload};
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::pods::{RUNTIME_RESTART, Row};
use crate::triage::Category;
use crate::triage::current::current;

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let pods = &state.pods;
    let what = if pods.show_all {
        "Pods"
    } else {
        "Crashed pods"
    };
    let mut title = vec![Span::styled(format!(" {what} "), theme.title)];
    title.push(Span::styled(
        format!("[{}] sort:{} ", pods.rows.len(), pods.sort.label()),
        theme.muted,
    ));
    if !pods.filter.text.is_empty() {
        title.push(Span::styled(
            format!("filter:{} ", sanitize::line(&pods.filter.text)),
            theme.accent,
        ));
    }
    if pods.ungrouped {
        title.push(Span::styled("ungrouped ", theme.muted));
    }
    let block = Block::bordered()
        .title(Line::from(title))
        .border_style(theme.border);

    if let Some(fatal) = &state.fatal {
        let text = vec![
            Line::from(Span::styled("Cannot watch pods", theme.error)),
            Line::from(sanitize::line(fatal).into_owned()),
            Line::from(Span::styled(
                "Fix the permission or credentials, then :ns NAME to retry (or restart ktui).",
                theme.muted,
            )),
        ];
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
            area,
        );
        return;
    }
    if pods.rows.is_empty() {
        let msg = if !pods.listed {
            "Listing pods…"
        } else if pods.show_all {
            "No pods match."
        } else {
            "No crashed, not-started or evicted containers. (a: show all pods)"
        };
        frame.render_widget(
            Paragraph::new(Span::styled(msg, theme.muted)).block(block),
            area,
        );
        return;
    }
    let wide = area.width >= 120;
    let columns = if pods.show_all {
        pod_columns(wide)
    } else {
        crash_columns(wide)
    };
    // Only the rows on screen are built and measured (hundreds are kept, the frame rate is
    // high): the window ratatui shows with the selection in view.
    let body = usize::from(area.height.saturating_sub(3));
    let end = (pods.selected + 1).max(body).min(pods.rows.len());
    let start = end.saturating_sub(body);
    let shown: Vec<(Vec<String>, Style)> = pods.rows[start..end]
        .iter()
        .map(|row| cells(row, state, theme, wide))
        .collect();
    let mut natural: Vec<usize> = columns.iter().map(|c| c.header.width()).collect();
    for (cells, _) in &shown {
        for (n, cell) in natural.iter_mut().zip(cells) {
            *n = (*n).max(cell.width());
        }
    }
    let gaps = columns.len().saturating_sub(1);
    let avail = usize::from(area.width.saturating_sub(2)).saturating_sub(gaps);
    let names: Vec<bool> = columns.iter().map(|c| c.name).collect();
    let widths = fit(&natural, &names, avail);
    let header = cut(
        columns.iter().map(|c| c.header.to_string()),
        &columns,
        &widths,
    );
    let rows: Vec<TableRow<'_>> = shown
        .into_iter()
        .map(|(cells, style)| TableRow::new(cut(cells, &columns, &widths)).style(style))
        .collect();
    let constraints = widths
        .iter()
        .map(|w| Constraint::Length(u16::try_from(*w).unwrap_or(u16::MAX)));
    let table = Table::new(rows, constraints)
        .header(TableRow::new(header).style(theme.header))
        .row_highlight_style(theme.selected)
        .block(block);
    let mut table_state = TableState::default().with_selected(pods.selected.checked_sub(start));
    frame.render_stateful_widget(table, area, &mut table_state);
}

/// Each cell cut to its column's width, with an ellipsis where it was cut.
fn cut(
    cells: impl IntoIterator<Item = String>,
    columns: &[Column],
    widths: &[usize],
) -> Vec<String> {
    cells
        .into_iter()
        .zip(columns.iter().zip(widths))
        .map(|(cell, (column, w))| {
            if cell.width() <= *w {
                cell
            } else if column.middle {
                elide_middle(&cell, *w)
            } else {
                elide_end(&cell, *w)
            }
        })
        .collect()
}

/// A column: its header, whether it holds names (which give way first, see
/// [`super::columns`]), and whether a cut keeps both ends (pod and node names: a generated
/// suffix or a domain tells them apart) rather than the start.
struct Column {
    header: &'static str,
    name: bool,
    middle: bool,
}

const fn name(header: &'static str) -> Column {
    Column {
        header,
        name: true,
        middle: false,
    }
}

/// A name told apart by its end as much as by its start.
const fn id(header: &'static str) -> Column {
    Column {
        header,
        name: true,
        middle: true,
    }
}

const fn word(header: &'static str) -> Column {
    Column {
        header,
        name: false,
        middle: false,
    }
}

fn crash_columns(wide: bool) -> Vec<Column> {
    let mut columns = vec![
        name("NAMESPACE"),
        id("POD"),
        name("CONTAINER"),
        word("REASON"),
        word("STATE"),
        word("EXIT"),
        word("RST"),
        word("LAST"),
    ];
    if wide {
        columns.extend([id("NODE"), name("WORKLOAD")]);
    }
    columns.push(word("REP"));
    columns
}

fn pod_columns(wide: bool) -> Vec<Column> {
    let mut columns = vec![
        name("NAMESPACE"),
        id("POD"),
        word("READY"),
        word("STATUS"),
        word("RESTARTS"),
        word("AGE"),
    ];
    if wide {
        columns.extend([id("NODE"), name("WORKLOAD")]);
    }
    columns
}

/// What this console knows to be a forensic clone is marked `⧉`.
fn pod_name(state: &AppState, key: &crate::cluster::PodKey) -> String {
    let name = sanitize::line(&key.name);
    if state.clone.known.contains(key) {
        format!("⧉ {name}")
    } else {
        name.into_owned()
    }
}

/// The cells of one row (sanitised, not yet cut to width) and its style.
fn cells(row: &Row, state: &AppState, theme: &Theme, wide: bool) -> (Vec<String>, Style) {
    let pods = &state.pods;
    let s = |text: &str| sanitize::line(text).into_owned();
    match row {
        Row::Crash {
            record,
            repeats,
            runtime_restart,
        } => {
            let style = match record.category {
                _ if *runtime_restart => theme.muted,
                Category::Crashed => theme.crashed,
                Category::NotStarted => theme.not_started,
                Category::Evicted => theme.evicted,
            };
            let reason = if *runtime_restart {
                RUNTIME_RESTART.to_string()
            } else {
                s(&record.display_reason())
            };
            let now = pods
                .pod(&record.pod)
                .map_or_else(|| "-".to_string(), |pod| s(&current(record, pod).label()));
            let mut cells = vec![
                s(&record.pod.namespace),
                pod_name(state, &record.pod),
                s(record.container.as_deref().unwrap_or("-")),
                reason,
                now,
                opt(record.exit_code),
                opt(record.restarts),
                age(state.now, record.finished_at),
            ];
            if wide {
                cells.push(s(record.node.as_deref().unwrap_or("-")));
                cells.push(s(&workload(&record.workload)));
            }
            cells.push(repeats.to_string());
            (cells, style)
        }
        Row::Pod { key } => {
            let pod = pods.pod(key);
            let columns = pods.columns(key);
            let troubled = !pods.records_of(key).is_empty();
            let mut cells = vec![
                s(&key.namespace),
                pod_name(state, key),
                columns.map_or_else(|| "-".to_string(), |c| c.ready_label()),
                s(columns.map_or("-", |c| c.status.as_str())),
                opt(columns.map(|c| c.restarts)),
                age(state.now, pod.and_then(|p| p.created)),
            ];
            if wide {
                cells.push(s(pod.and_then(|p| p.node.as_deref()).unwrap_or("-")));
                cells.push(pod.map_or_else(|| "-".to_string(), |p| s(&workload(&p.workload))));
            }
            (cells, if troubled { theme.crashed } else { theme.base })
        }
    }
}
