//! Status bar (top) and prompt / key hints (bottom, from the keymaps in effect).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::text::age;
use crate::cluster::{ConnectionState, WATCH_STALL};
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::{AppState, Mode, Screen};

pub fn render_status(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let c = state.pods.counts();
    let mut spans = Vec::new();
    if state.demo {
        spans.push(Span::styled(" DEMO ", theme.demo));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled("ktui ", theme.title));
    spans.push(Span::styled("ctx:", theme.muted));
    spans.push(Span::raw(format!(
        "{} ",
        sanitize::line(&state.info.context)
    )));
    spans.push(Span::styled("ns:", theme.muted));
    spans.push(Span::raw(format!(
        "{} ",
        sanitize::line(state.scope.label())
    )));
    let (conn, style) = match &state.connection {
        ConnectionState::Connecting => ("connecting".to_string(), theme.muted),
        // "live" only over data the watch refreshes: with the age of the last event or
        // bookmark, and "stale" once that is older than a watch may stay silent.
        ConnectionState::Live => match state.heard {
            Some(at) if state.now.duration_since(at).as_secs() > WATCH_STALL.as_secs() as i64 => {
                (format!("stale · {}", age(state.now, Some(at))), theme.error)
            }
            Some(at) => (format!("live · {}", age(state.now, Some(at))), theme.ok),
            None => ("live".to_string(), theme.ok),
        },
        ConnectionState::Reconnecting { .. } => ("reconnecting".to_string(), theme.error),
    };
    spans.push(Span::styled(format!("● {conn} "), style));
    spans.push(Span::styled(
        format!("crashed {} ", c.crashed),
        theme.crashed,
    ));
    spans.push(Span::styled(
        format!("not-started {} ", c.not_started),
        theme.not_started,
    ));
    spans.push(Span::styled(
        format!("evicted {} ", c.evicted),
        theme.evicted,
    ));
    spans.push(Span::styled(
        format!("groups {} pods {} ", c.groups, c.pods),
        theme.muted,
    ));
    let ev = &state.evidence;
    match &ev.case {
        Some((id, _)) => spans.push(Span::styled(
            format!(
                "case {} · {} kept {}",
                sanitize::line(id),
                ev.items().len(),
                crate::case::error::human_bytes(ev.total_bytes())
            ),
            theme.muted,
        )),
        None => spans.push(Span::styled("no case: evidence not kept", theme.error)),
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn render_prompt(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let (prefix, area_text) = match &state.mode {
        Mode::Filter(t) => ("/", Some(t)),
        Mode::Command(t) => (":", Some(t)),
        Mode::LogSearch(t) => ("search /", Some(t)),
        Mode::InspectSearch(t) => ("search memory /", Some(t)),
        Mode::SocketFilter(t) => (
            "filter (port:N proto:tcp state:X type:X, !negates) ",
            Some(t),
        ),
        Mode::PacketFilter(t) => (
            "filter (host:IP port:N proto:udp flags:RST vlan:N dns trunc, !negates) ",
            Some(t),
        ),
        Mode::Normal
        | Mode::Help
        | Mode::Confirm(_)
        | Mode::Menu(_)
        | Mode::Export
        | Mode::Checkpoint
        | Mode::Clone
        | Mode::CaptureForm => ("", None),
    };
    let line = match area_text {
        Some(t) => Line::from(vec![
            Span::styled(prefix, theme.accent),
            Span::raw(sanitize::line(&t.lines().join("")).into_owned()),
            Span::styled("█", theme.accent),
        ]),
        None => {
            // From the keymaps in effect: a remapped key shows as it is bound.
            let k = &state.keymaps;
            let hints = match state.screen {
                Screen::Table => k.footer(&k.table),
                Screen::Detail => k.footer(&k.detail),
                Screen::Logs => k.footer(&k.logs),
                Screen::Sockets => k.footer(&k.sockets),
                Screen::Notes => k.footer(&k.notes),
                Screen::Inspect => k.footer(&k.inspect),
                Screen::Packets => k.footer(&k.packets),
            };
            let mut spans = vec![Span::styled(hints, theme.muted)];
            if let Some(reason) = match &state.connection {
                ConnectionState::Reconnecting { reason } => Some(reason),
                _ => None,
            } {
                spans.push(Span::styled(
                    format!("  reconnecting: {}", sanitize::line(reason)),
                    theme.error,
                ));
            }
            Line::from(spans)
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}
