//! The capture's confirmation: node, target, interface, filter (with the parser's error), the
//! limits and rotation, the snaplen with the warning that pcaps hold payloads, what the helper
//! adds and why, and what is written where. The field being edited is highlighted with a
//! cursor; the keys are in the bottom border, so they show however the text wraps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::s;
use crate::config::theme::Theme;
use crate::helper::manifest::CAPTURE_DIR;
use crate::state::AppState;
use crate::state::packets::form::{CaptureForm, Field, files_on_node, parse_size};
use ktui_wire::{DEFAULT_SNAPLEN, HEADERS_ONLY_SNAPLEN};

const KEYS: &str = " Tab/↑↓: field  type: edit  Space: toggle  ⏎: capture  Esc: cancel ";

fn label(field: Field) -> &'static str {
    match field {
        Field::Target => "Target",
        Field::Interface => "Interface",
        Field::Filter => "Filter",
        Field::MaxPackets => "Max packets",
        Field::MaxBytes => "Max bytes",
        Field::Duration => "Duration",
        Field::Rotate => "New file at",
        Field::HeadersOnly => "Headers only",
        Field::NetnsFallback => "Netns fallback",
    }
}

/// The value shown when the field is empty.
fn empty(form: &CaptureForm, field: Field) -> String {
    match field {
        Field::Target => format!(
            "pod {} (by UID {}); or a netns file, e.g. /var/run/netns/NAME",
            s(&form.pod.to_string()),
            s(&form.pod_uid)
        ),
        Field::Interface => "every interface in the pod's network namespace".to_string(),
        Field::Filter => "everything (e.g. port 53, host 10.0.0.7 and tcp)".to_string(),
        Field::MaxPackets | Field::MaxBytes | Field::Duration => "no limit".to_string(),
        Field::Rotate => "one file, never rotated".to_string(),
        Field::HeadersOnly | Field::NetnsFallback => String::new(),
    }
}

fn field_line<'a>(form: &CaptureForm, field: Field, theme: &Theme) -> Line<'a> {
    let selected = form.selected == field;
    let mut spans = vec![Span::styled(
        format!("{}{:<14} ", if selected { "▸" } else { " " }, label(field)),
        if selected { theme.accent } else { theme.header },
    )];
    let on = |b: bool| if b { "[x] yes" } else { "[ ] no" };
    match field {
        Field::HeadersOnly => {
            spans.push(Span::styled(on(form.headers_only), theme.selected));
            spans.push(Span::styled(
                if form.headers_only {
                    format!("  snaplen {HEADERS_ONLY_SNAPLEN} B: headers kept, payload cut")
                } else {
                    format!("  whole frames (snaplen {DEFAULT_SNAPLEN} B)")
                },
                theme.muted,
            ));
        }
        Field::NetnsFallback => {
            spans.push(Span::styled(on(form.netns_fallback), theme.selected));
            spans.push(Span::styled(
                "  adds SYS_ADMIN, for pods without a host veth (ipvlan…)",
                theme.muted,
            ));
        }
        _ => {
            let text = form.text(field).map(s).unwrap_or_default();
            if text.is_empty() && !selected {
                spans.push(Span::styled(empty(form, field), theme.muted));
            } else {
                spans.push(Span::styled(
                    text,
                    if selected { theme.selected } else { theme.base },
                ));
                if selected {
                    spans.push(Span::styled("█", theme.accent));
                }
            }
            if field == Field::Rotate
                && let Ok(Some(r)) = parse_size(&form.rotate)
            {
                spans.push(Span::styled(
                    format!("  (at most {} files on the node at once)", files_on_node(r)),
                    theme.muted,
                ));
            }
        }
    }
    Line::from(spans)
}

fn body<'a>(state: &AppState, form: &CaptureForm, theme: &Theme) -> Vec<Line<'a>> {
    let node = s(&form.node);
    let mut lines = vec![Line::from(vec![
        Span::styled(" Node           ", theme.header),
        Span::raw(if form.local {
            "this machine: the local helper (ktui-helper) captures".to_string()
        } else {
            format!("{node}: captured on the host side of the pod's veth")
        }),
    ])];
    for field in form.fields() {
        lines.push(field_line(form, field, theme));
        if field == Field::Filter
            && let Some(e) = &form.filter_error
        {
            lines.push(Line::from(Span::styled(
                format!("                ⚠ {}", s(e)),
                theme.error,
            )));
        }
    }
    // Why Enter did not start, next to the fields (a small screen cuts the end, not this);
    // a filter that does not parse says so under it already.
    if let Some(e) = form.error.as_ref().filter(|_| form.filter_error.is_none()) {
        lines.push(Line::from(Span::styled(format!("⚠ {}", s(e)), theme.error)));
    }
    lines.push(Line::from(Span::styled(
        if form.headers_only {
            "Headers only: each frame is cut after 128 bytes (Ethernet, VLAN, IP and TCP/UDP headers); payloads are not kept."
        } else {
            "⚠ pcaps hold payloads: passwords, tokens and personal data of clear-text protocols, as sent. Headers only keeps 128 bytes of each frame."
        },
        if form.headers_only { theme.muted } else { theme.error },
    )));
    if form.local {
        lines.push(Line::from(
            "Helper: the local helper needs NET_RAW (and SYS_ADMIN to enter a namespace): run ktui as root.",
        ));
    } else {
        let v = form.variant();
        lines.push(Line::from(format!(
            "Helper: the {} variant; one on {node} lacking it is replaced (asked first):",
            v.name(),
        )));
        lines.extend(
            v.brief_lines()
                .into_iter()
                .map(|why| Line::from(format!("  • {why}"))),
        );
    }
    let case = state
        .evidence
        .case
        .as_ref()
        .map_or_else(|| "(no case)".to_string(), |(id, _)| s(id));
    let dir = if form.local {
        "$KTUI_CAPTURE_DIR"
    } else {
        CAPTURE_DIR
    };
    lines.push(Line::from(format!(
        "Written: {dir}/ on the node, each file then into case {case}, artifacts/{}/{}/pcaps/ (SHA-256 checked) and removed from the node; a .capture.json record beside.",
        s(&form.pod.namespace),
        s(&form.pod.name)
    )));
    lines
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(form) = state.packets.form.as_ref() else {
        return;
    };
    let text = Paragraph::new(body(state, form, theme))
        .wrap(Wrap { trim: false })
        .style(theme.base);
    let rect = crate::view::dialog_overlay(frame, area, &text, 0);
    let title = format!(" Capture packets of {}? ", s(&form.pod.to_string()));
    frame.render_widget(
        text.block(
            Block::bordered()
                .title(Span::styled(title, theme.title))
                .title_bottom(Span::styled(KEYS, theme.accent))
                .border_style(theme.error),
        ),
        rect,
    );
}
