//! The sockets pane: live events (time, type, pod, pid/comm, tuple, state change, bytes, latency,
//! errno) beside the live summary; the title carries events/s and every loss counter.

mod events;
mod summary;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::helper::{HelperSession, HelperStatus, HelperTarget};
use crate::state::sockets::SocketsState;
use crate::view::text::{elide_end, width};
use ktui_wire::Hello;

/// Names for the errnos connect() usually fails with.
pub fn errno_name(errno: i32) -> String {
    crate::state::sockets::summary::errno_symbol(errno)
        .map_or_else(|| format!("errno {errno}"), str::to_string)
}

fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        5 => "REFUSED".into(),
        n => format!("rcode {n}"),
    }
}

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn clock(t: jiff::Timestamp) -> String {
    t.strftime("%H:%M:%S%.3f").to_string()
}

fn title<'a>(st: &SocketsState, hs: &HelperSession, theme: &Theme) -> Line<'a> {
    let scope = match &st.pod {
        Some((key, _)) => format!(" Sockets {} ", s(&key.to_string())),
        None => " Sockets (whole node) ".to_string(),
    };
    let mut spans = vec![Span::styled(scope, theme.title)];
    let x = &hs.stats;
    spans.push(Span::styled(
        format!(
            " {:.0} ev/s  lost {}  sampled-out {}  rate-limited {}  dropped {}",
            hs.rate, x.lost, x.sampled_out, x.rate_limited, x.dropped
        ),
        if x.lost + x.dropped + x.rate_limited > 0 {
            theme.error
        } else {
            theme.muted
        },
    ));
    if x.aggregated > 0 {
        // Repeats of one flow folded into count lines during a storm: shown, not lost.
        spans.push(Span::styled(
            format!("  folded {}", x.aggregated),
            theme.muted,
        ));
    }
    if st.ring.evicted > 0 {
        spans.push(Span::styled(
            format!("  pane-evicted {}", st.ring.evicted),
            theme.muted,
        ));
    }
    if st.ring.paused {
        spans.push(Span::styled(
            format!("  [paused, {} held]", st.ring.held()),
            theme.accent,
        ));
    }
    if !st.filter.is_empty() {
        spans.push(Span::styled(
            format!("  filter:{}", s(&st.filter)),
            theme.accent,
        ));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// The probe line: what a live helper attached, or what a replay was recorded with.
fn probes_label(hs: &HelperSession, h: &Hello) -> String {
    let ok = h.probes.iter().filter(|p| p.attach.is_some()).count();
    if hs.target == Some(HelperTarget::DemoReplay) {
        format!("DEMO REPLAY: recorded with {ok}/{} probes", h.probes.len())
    } else {
        format!("Probes {ok}/{} attached", h.probes.len())
    }
}

/// `open`: the key that opens a pod's sockets, as the keymap in effect binds it.
fn status_lines<'a>(
    st: &SocketsState,
    hs: &HelperSession,
    open: &str,
    theme: &Theme,
) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    match (&hs.target, &hs.hello) {
        (Some(HelperTarget::DemoReplay), Some(h)) => lines.push(Line::from(vec![
            Span::styled(probes_label(hs, h), theme.demo),
            Span::styled(
                format!(
                    " on kernel {}, shown as node {}; nothing is traced live",
                    s(&h.kernel),
                    s(h.node.as_deref().unwrap_or("-"))
                ),
                theme.muted,
            ),
        ])),
        (Some(t), hello) => {
            let style = if *t == HelperTarget::DemoReplay {
                theme.demo
            } else {
                theme.muted
            };
            let mut spans = vec![Span::styled(s(&t.label()), style)];
            if let Some(h) = hello {
                let ok = h.probes.iter().filter(|p| p.attach.is_some()).count();
                spans.push(Span::styled(
                    format!(
                        "  helper {} on kernel {}, {ok}/{} probes",
                        s(&h.helper_version),
                        s(&h.kernel),
                        h.probes.len()
                    ),
                    theme.muted,
                ));
            }
            lines.push(Line::from(spans));
        }
        (None, _) => {}
    }
    let (text, style) = match &hs.status {
        HelperStatus::Idle => (
            format!("No helper yet: press {open} on a pod to trace its sockets."),
            theme.muted,
        ),
        HelperStatus::Deploying(step) => (format!("Deploying: {}…", s(step)), theme.accent),
        HelperStatus::Connecting => ("Connecting to the helper…".to_string(), theme.accent),
        HelperStatus::Removing(node) => {
            (format!("Removing the helper on {}…", s(node)), theme.accent)
        }
        HelperStatus::Reconnecting { attempt, reason } => (
            format!(
                "Stream lost ({}); reconnecting, attempt {attempt}…",
                s(reason)
            ),
            theme.error,
        ),
        HelperStatus::Failed(e) => (format!("Helper unavailable: {}", s(e)), theme.error),
        HelperStatus::Removed => (
            format!("Helper removed. Press {open} on a pod to deploy one again."),
            theme.muted,
        ),
        HelperStatus::Connected => match &st.pod {
            Some((key, _)) if st.window(1).is_empty() => {
                let pod = s(&key.to_string());
                let text = if st.filter.is_empty() {
                    format!("No events of {pod} yet; n shows the whole node.")
                } else {
                    format!("No events of {pod} match the filter; / changes it, n shows the node.")
                };
                (text, theme.muted)
            }
            _ => (String::new(), theme.muted),
        },
    };
    if !text.is_empty() {
        lines.push(Line::from(Span::styled(text, style)));
    }
    if let Some(h) = &hs.hello
        && !h.ebpf
        && hs.target != Some(HelperTarget::DemoReplay)
    {
        lines.push(Line::from(Span::styled(
            format!(
                "The helper cannot trace: {}",
                s(h.ebpf_error.as_deref().unwrap_or("eBPF unavailable"))
            ),
            theme.error,
        )));
        if !h.missing_capabilities.is_empty() {
            lines.push(Line::from(Span::styled(
                format!("Missing: {}", s(&h.missing_capabilities.join(", "))),
                theme.error,
            )));
        }
    }
    lines
}

/// Status lines wrapped at word boundaries to `cells`, so the area can be as tall as they are.
fn wrapped(lines: Vec<Line<'static>>, cells: usize) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for line in lines {
        if line.width() <= cells {
            out.push(line);
            continue;
        }
        // Each span keeps its style; its words are packed onto as many rows as they need.
        let mut row: Vec<Span<'static>> = Vec::new();
        let mut used = 0;
        for span in line.spans {
            let words: Vec<String> = span.content.split(' ').map(str::to_string).collect();
            for word in words.iter().filter(|w| !w.is_empty()) {
                let w = width(word);
                if used > 0 && used + 1 + w > cells {
                    out.push(Line::from(std::mem::take(&mut row)));
                    used = 0;
                }
                let text = if used > 0 {
                    format!(" {word}")
                } else {
                    elide_end(word, cells)
                };
                used += width(&text);
                row.push(Span::styled(text, span.style));
            }
        }
        if !row.is_empty() {
            out.push(Line::from(row));
        }
    }
    out
}

/// The table's key for a pod's socket events (`t` unless rebound).
fn open_key(state: &AppState) -> String {
    state
        .keymaps
        .table
        .keys_of(crate::keymap::Table::OpenSockets)
        .first()
        .map_or_else(|| "t".to_string(), |k| k.short_name())
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let st = &state.sockets;
    let block = Block::bordered()
        .title(title(st, &state.helper, theme))
        .border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let status = wrapped(
        status_lines(st, &state.helper, &open_key(state), theme),
        usize::from(inner.width),
    );
    let [status_area, body] = Layout::vertical([
        Constraint::Length(u16::try_from(status.len()).unwrap_or(u16::MAX)),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(status), status_area);
    // Summary beside the events on wide terminals, below them on tall ones, else hidden (s).
    let (events_area, summary_area) = if st.show_summary && body.width >= 160 {
        let [a, b] = Layout::horizontal([Constraint::Percentage(68), Constraint::Percentage(32)])
            .areas(body);
        (a, Some((b, false)))
    } else if st.show_summary && body.height >= 24 {
        let [a, b] = Layout::vertical([Constraint::Min(8), Constraint::Length(14)]).areas(body);
        (a, Some((b, true)))
    } else {
        (body, None)
    };
    events::render(frame, events_area, st, theme);
    if let Some((area, below)) = summary_area {
        summary::render(frame, area, below, state, theme);
    }
}
