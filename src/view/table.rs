//! The crashed-pods table (and the all-pods table with `a`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row as TableRow, Table, TableState, Wrap};

use super::text::{age, opt};
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
    let (header, widths) = if pods.show_all {
        pod_header(wide)
    } else {
        crash_header(wide)
    };
    let rows: Vec<TableRow<'_>> = pods
        .rows
        .iter()
        .map(|row| match row {
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
                    sanitize::line(&record.display_reason()).into_owned()
                };
                let now = pods
                    .pod(&record.pod)
                    .map(|pod| sanitize::line(&current(record, pod).label()).into_owned());
                let mut cells = vec![
                    sanitize::line(&record.pod.namespace).into_owned(),
                    sanitize::line(&record.pod.name).into_owned(),
                    sanitize::line(record.container.as_deref().unwrap_or("-")).into_owned(),
                    reason,
                    now.unwrap_or_else(|| "-".to_string()),
                    opt(record.exit_code),
                    opt(record.restarts),
                    age(state.now, record.finished_at),
                ];
                if wide {
                    cells.push(sanitize::line(record.node.as_deref().unwrap_or("-")).into_owned());
                    cells.push(sanitize::line(&record.workload.to_string()).into_owned());
                }
                cells.push(repeats.to_string());
                TableRow::new(cells).style(style)
            }
            Row::Pod { key } => {
                let pod = pods.pod(key);
                let columns = pods.columns(key);
                let troubled = !pods.records_of(key).is_empty();
                let mut cells = vec![
                    sanitize::line(&key.namespace).into_owned(),
                    sanitize::line(&key.name).into_owned(),
                    columns.map_or_else(|| "-".to_string(), |c| c.ready_label()),
                    sanitize::line(columns.map_or("-", |c| c.status.as_str())).into_owned(),
                    opt(columns.map(|c| c.restarts)),
                    age(state.now, pod.and_then(|p| p.created)),
                ];
                if wide {
                    cells.push(
                        sanitize::line(pod.and_then(|p| p.node.as_deref()).unwrap_or("-"))
                            .into_owned(),
                    );
                    cells.push(pod.map_or("-".to_string(), |p| {
                        sanitize::line(&p.workload.to_string()).into_owned()
                    }));
                }
                TableRow::new(cells).style(if troubled { theme.crashed } else { theme.base })
            }
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(TableRow::new(header).style(theme.header))
        .row_highlight_style(theme.selected)
        .block(block);
    let mut table_state = TableState::default().with_selected(Some(pods.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn crash_header(wide: bool) -> (Vec<&'static str>, Vec<Constraint>) {
    if wide {
        (
            vec![
                "NAMESPACE",
                "POD",
                "CONTAINER",
                "REASON",
                "STATE",
                "EXIT",
                "RST",
                "LAST",
                "NODE",
                "WORKLOAD",
                "REP",
            ],
            vec![
                Constraint::Length(10),
                Constraint::Fill(6),
                Constraint::Fill(3),
                Constraint::Length(16),
                Constraint::Length(16),
                Constraint::Length(4),
                Constraint::Length(3),
                Constraint::Length(4),
                Constraint::Fill(2),
                Constraint::Fill(3),
                Constraint::Length(3),
            ],
        )
    } else {
        (
            vec![
                "NAMESPACE",
                "POD",
                "CONTAINER",
                "REASON",
                "STATE",
                "EXIT",
                "RST",
                "LAST",
                "REP",
            ],
            vec![
                Constraint::Length(9),
                Constraint::Fill(3),
                Constraint::Fill(2),
                Constraint::Length(16),
                Constraint::Length(16),
                Constraint::Length(4),
                Constraint::Length(3),
                Constraint::Length(4),
                Constraint::Length(3),
            ],
        )
    }
}

fn pod_header(wide: bool) -> (Vec<&'static str>, Vec<Constraint>) {
    let mut header = vec!["NAMESPACE", "POD", "READY", "STATUS", "RESTARTS", "AGE"];
    let mut widths = vec![
        Constraint::Length(12),
        Constraint::Fill(3),
        Constraint::Length(5),
        Constraint::Length(21),
        Constraint::Length(8),
        Constraint::Length(5),
    ];
    if wide {
        header.extend(["NODE", "WORKLOAD"]);
        widths.extend([Constraint::Length(12), Constraint::Fill(2)]);
    }
    (header, widths)
}
