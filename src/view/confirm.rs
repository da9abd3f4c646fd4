//! Confirmation dialogs: exactly what will change in the cluster, before it does. The keys are
//! drawn in the dialog's bottom border, so they show however long the text is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::config::theme::Theme;
use crate::helper::manifest;
use crate::sanitize;
use crate::state::{AppState, Confirm};

/// A dialog's title, text and key line.
struct Dialog<'a> {
    title: &'static str,
    body: Vec<Line<'a>>,
    keys: &'static str,
}

fn dialog<'a>(confirm: &Confirm, state: &AppState, theme: &Theme) -> Dialog<'a> {
    match confirm {
        Confirm::DeployHelper { node, variant } => {
            let bullet = |text: &str| Line::from(format!("  • {}", sanitize::line(text)));
            let mut body = vec![Line::from(format!(
                "Create in context {}:",
                sanitize::line(&state.info.context)
            ))];
            body.extend(
                manifest::describe(node, &state.helper.image, *variant)
                    .iter()
                    .map(|l| bullet(l)),
            );
            // Why it is asked (none there, or one lacking what a feature needs: replaced).
            if let Some(why) = &state.helper.deploy_reason {
                body.push(Line::from(Span::styled(
                    format!("Why: {}", sanitize::line(why)),
                    theme.accent,
                )));
            }
            // Before the long part: a small screen cuts the dialog's end, never the warning.
            if let Some(w) = &state.helper.deploy_warning {
                body.push(Line::from(Span::styled(
                    format!("⚠ {}", sanitize::line(w)),
                    theme.error,
                )));
            }
            let more = variant.spec().power;
            body.push(Line::from(Span::styled(
                format!("What it can do: {}", manifest::POWER)
                    + if more.is_empty() { "" } else { " " }
                    + more,
                theme.error,
            )));
            // What a variant adds comes first: it is what differs from the usual helper.
            let added = variant.confirmation_lines();
            if !added.is_empty() {
                body.push(Line::from(format!(
                    "Added for {} ({} variant):",
                    variant.spec().purpose,
                    variant.name()
                )));
                body.extend(added.iter().map(|why| bullet(why)));
            }
            body.push(Line::from("Capabilities, each for:"));
            body.extend(manifest::CAPABILITIES.iter().map(|(_, why)| bullet(why)));
            Dialog {
                title: " Deploy the ktui helper? ",
                body,
                keys: " y: create and connect   n / Esc: cancel ",
            }
        }
        Confirm::RemoveHelper { node } => Dialog {
            title: " Remove the helper? ",
            body: vec![Line::from(format!(
                "Delete pod {} in namespace {}.",
                manifest::pod_name(node),
                manifest::DEFAULT_NAMESPACE
            ))],
            keys: " y: delete   n / Esc: keep it ",
        },
        Confirm::QuitWithHelpers { nodes } => Dialog {
            title: " Quit ",
            body: vec![
                Line::from(format!(
                    "This session created helper pods on: {}",
                    sanitize::line(&nodes.join(", "))
                )),
                Line::from(
                    "Remove them before quitting? (They delete themselves after their deadline.)",
                ),
            ],
            keys: " y: remove and quit   n: quit and keep them   Esc: stay ",
        },
    }
}

pub fn render(
    frame: &mut Frame<'_>,
    area: Rect,
    confirm: &Confirm,
    state: &AppState,
    theme: &Theme,
) {
    let Dialog { title, body, keys } = dialog(confirm, state, theme);
    let width = 90.min(area.width);
    let text = Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .style(theme.base);
    // Wrapped lines, plus the two borders; a screen too small scrolls the text (never the
    // keys), and the border says there is more and how to see it.
    let lines = u16::try_from(text.line_count(width.saturating_sub(2))).unwrap_or(u16::MAX);
    let height = lines.saturating_add(2).min(area.height);
    let shown = height.saturating_sub(2);
    let scroll = state.confirm_scroll.min(lines.saturating_sub(shown));
    let mut block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .title_bottom(Span::styled(keys, theme.accent))
        .border_style(theme.error);
    if lines > shown {
        let more = match (scroll > 0, scroll + shown < lines) {
            (false, _) => " ▼ more: j/k ",
            (true, true) => " ▲▼ j/k ",
            (true, false) => " ▲ end ",
        };
        block = block.title_bottom(Line::from(Span::styled(more, theme.accent)).right_aligned());
    }
    let rect = super::overlay(frame, area, width, height);
    frame.render_widget(text.scroll((scroll, 0)).block(block), rect);
}
