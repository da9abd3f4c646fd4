//! Confirmation dialogs: exactly what will change in the cluster, before it does.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::config::theme::Theme;
use crate::helper::manifest;
use crate::sanitize;
use crate::state::{AppState, Confirm};

fn lines_for<'a>(confirm: &Confirm, state: &AppState, theme: &Theme) -> (String, Vec<Line<'a>>) {
    match confirm {
        Confirm::DeployHelper { node } => {
            let mut lines = vec![Line::from(format!(
                "Create in context {}:",
                sanitize::line(&state.info.context)
            ))];
            for l in manifest::describe(node) {
                lines.push(Line::from(format!("  • {}", sanitize::line(&l))));
            }
            lines.push(Line::from(format!(
                "  • image {}",
                sanitize::line(&state.helper_image)
            )));
            if let Some(w) = &state.sockets.deploy_warning {
                lines.push(Line::from(Span::styled(
                    format!("⚠ {}", sanitize::line(w)),
                    theme.error,
                )));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                "y: create and connect   n / Esc: cancel",
                theme.accent,
            )));
            (" Deploy the ktui helper? ".to_string(), lines)
        }
        Confirm::RemoveHelper { node } => (
            " Remove the helper? ".to_string(),
            vec![
                Line::from(format!(
                    "Delete pod {} in namespace {}.",
                    manifest::pod_name(node),
                    manifest::DEFAULT_NAMESPACE
                )),
                Line::from(Span::styled("y: delete   n / Esc: keep it", theme.accent)),
            ],
        ),
        Confirm::QuitWithHelpers { nodes } => (
            " Quit ".to_string(),
            vec![
                Line::from(format!(
                    "This session created helper pods on: {}",
                    sanitize::line(&nodes.join(", "))
                )),
                Line::from(
                    "Remove them before quitting? (They delete themselves after their deadline.)",
                ),
                Line::from(Span::styled(
                    "y: remove and quit   n: quit and keep them   Esc: stay",
                    theme.accent,
                )),
            ],
        ),
    }
}

pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    confirm: &Confirm,
    state: &AppState,
    theme: &Theme,
) {
    let (title, lines) = lines_for(confirm, state, theme);
    let width = 90.min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .style(theme.base)
            .block(
                Block::bordered()
                    .title(Span::styled(title, theme.title))
                    .border_style(theme.error),
            ),
        rect,
    );
}
