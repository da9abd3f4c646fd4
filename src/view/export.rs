//! The export dialog: what the bundle will hold (what the case has of the pod, what will be
//! collected, what the user's permissions leave out), the destination fields, then a progress
//! gauge and the result.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use crate::case::error::human_bytes;
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::export::{ExportDialog, ExportPhase, Field};
use crate::state::menu::{EntryStatus, MenuAction, needs};

/// The lines saying what the bundle will hold.
fn contents<'a>(dialog: &ExportDialog, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let pod = &dialog.pod;
    let node = state.pods.pod(pod).and_then(|p| p.node.clone());
    let kept: Vec<_> = state
        .evidence
        .items()
        .iter()
        .filter(|i| {
            i.pod.as_ref() == Some(pod)
                || node
                    .as_ref()
                    .is_some_and(|n| i.path.starts_with(&format!("artifacts/nodes/{n}/")))
        })
        .collect();
    let size: u64 = kept.iter().map(|i| i.size).sum();
    let containers = state.pods.pod(pod).map_or(0, |p| p.containers.len());
    let mut lines = vec![Line::from(format!(
        "Already in the case: {} artifacts, {}",
        kept.len(),
        human_bytes(size)
    ))];
    for item in kept.iter().take(6) {
        lines.push(Line::from(Span::styled(
            format!(
                "  • {} ({})",
                sanitize::line(&item.path),
                human_bytes(item.size)
            ),
            theme.muted,
        )));
    }
    if kept.len() > 6 {
        lines.push(Line::from(Span::styled(
            format!("  … and {} more", kept.len() - 6),
            theme.muted,
        )));
    }
    lines.push(Line::from(format!(
        "Collected now: pod.json and owners.json (managedFields dropped), events.json, node.json, \
         current and previous logs of {containers} container(s), referenced ConfigMaps, \
         referenced Secrets as HMAC-SHA256 (never their values)"
    )));
    let needs = needs(MenuAction::Export, pod, "", true);
    match state.access.status(&needs) {
        EntryStatus::Partial(less) => lines.push(Line::from(Span::styled(
            format!("Unavailable: {}", sanitize::line(&less.join("; "))),
            theme.error,
        ))),
        EntryStatus::Denied(missing) => lines.push(Line::from(Span::styled(
            format!(
                "Cannot collect: needs {}",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            theme.error,
        ))),
        _ => {}
    }
    lines.push(Line::from(
        "Then: NAME.tar.gz + .sha256 + .minisig (signed), recorded in custody.",
    ));
    lines
}

fn fields<'a>(dialog: &ExportDialog, theme: &Theme) -> Vec<Line<'a>> {
    Field::ALL
        .iter()
        .map(|&f| {
            let focused = dialog.focus == f && dialog.phase == ExportPhase::Editing;
            let mut spans = vec![
                Span::styled(if focused { "▶ " } else { "  " }, theme.accent),
                Span::styled(format!("{:<18}", f.label()), theme.header),
                Span::raw(sanitize::line(&dialog.value(f)).into_owned()),
            ];
            if focused {
                spans.push(Span::styled("█", theme.accent));
            }
            Line::from(spans)
        })
        .collect()
}

fn result<'a>(dialog: &ExportDialog, theme: &Theme) -> Vec<Line<'a>> {
    match &dialog.phase {
        ExportPhase::Done(s) => {
            let mut lines = vec![
                Line::from(Span::styled("Exported and signed:", theme.info)),
                Line::from(format!(
                    "  {}",
                    sanitize::line(&s.bundle.display().to_string())
                )),
                Line::from(format!("  sha256 {}", s.sha256)),
                Line::from(format!("  signed by key {}", s.key_id)),
            ];
            if let Some(uri) = &s.uploaded {
                lines.push(Line::from(format!("  uploaded to {}", sanitize::line(uri))));
            }
            if let Some(n) = &s.key_notice {
                lines.push(Line::from(Span::styled(
                    sanitize::line(n).into_owned(),
                    theme.error,
                )));
            }
            for (what, why) in &s.unavailable {
                lines.push(Line::from(Span::styled(
                    format!(
                        "  unavailable: {} ({})",
                        sanitize::line(what),
                        sanitize::line(why)
                    ),
                    theme.muted,
                )));
            }
            lines
        }
        ExportPhase::Failed(e) => vec![
            Line::from(Span::styled(
                format!("Export failed: {}", sanitize::line(e)),
                theme.error,
            )),
            Line::from("What was collected before the failure stays in the case."),
        ],
        _ => Vec::new(),
    }
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(dialog) = state.export.as_ref().filter(|d| d.shown) else {
        return;
    };
    let mut body = contents(dialog, state, theme);
    body.push(Line::from(""));
    body.extend(fields(dialog, theme));
    body.extend(result(dialog, theme));
    let text = Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .style(theme.base);
    let gauge_rows = u16::from(dialog.running());
    let rect = super::dialog_overlay(frame, area, &text, gauge_rows);
    let keys = match dialog.phase {
        ExportPhase::Editing => " ⏎: export   tab: next field   esc: cancel ",
        ExportPhase::Running { .. } => " esc: hide (the export goes on) ",
        _ => " ⏎/esc: close ",
    };
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Export {} ", sanitize::line(&dialog.pod.to_string())),
            theme.title,
        ))
        .title_bottom(Span::styled(keys, theme.accent))
        .border_style(theme.accent);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [text_area, gauge_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(gauge_rows)]).areas(inner);
    frame.render_widget(text, text_area);
    if let ExportPhase::Running { step, done, total } = &dialog.phase {
        let ratio = if *total > 0 {
            (*done as f64 / *total as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let label = if *total > 0 {
            format!(
                "{} {} / {}",
                sanitize::line(step),
                human_bytes(*done),
                human_bytes(*total)
            )
        } else {
            sanitize::line(step).into_owned()
        };
        frame.render_widget(
            Gauge::default()
                .gauge_style(theme.accent)
                .ratio(ratio)
                .label(label),
            gauge_area,
        );
    }
}
