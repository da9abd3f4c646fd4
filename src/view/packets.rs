//! The packets pane: the pod's latest capture — its state (queued, running on which interfaces
//! how, the gaps), the live summaries or the top flows, and where its pcaps are in the case;
//! the title carries packets/s, bits/s, kernel drops, sampled-out and the pane's own evictions.
//! Everything from the helper (addresses, names, paths) is sanitised before it is drawn.

mod files;
pub(crate) mod form;
mod lines;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::case::error::human_bytes;
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::packets::capture::{Capture, Phase};
use crate::view::text::{elide_middle, width as width_of};
use ktui_wire::CaptureMode;

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn clock(t: jiff::Timestamp) -> String {
    t.strftime("%H:%M:%S").to_string()
}

/// `1.2 Mb/s`, `980 b/s`.
fn bits(bps: f64) -> String {
    match bps {
        b if b >= 1e9 => format!("{:.1} Gb/s", b / 1e9),
        b if b >= 1e6 => format!("{:.1} Mb/s", b / 1e6),
        b if b >= 1e3 => format!("{:.1} kb/s", b / 1e3),
        b => format!("{b:.0} b/s"),
    }
}

/// `1m12s`, `45s`, `2h03m`.
fn span(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// ` Packets <pod> ` and the capture's stats; the pod's name is cut in the middle when the
/// stats would not fit beside it.
fn title<'a>(state: &AppState, c: Option<&Capture>, width: u16, theme: &Theme) -> Line<'a> {
    let pod = state
        .packets
        .pod
        .as_ref()
        .map(|p| s(&p.to_string()))
        .unwrap_or_default();
    let Some(c) = c else {
        return Line::from(Span::styled(format!(" Packets {pod} "), theme.title));
    };
    let st = c.stats();
    let mut stats = vec![(
        format!(
            " {:.0} pps  {}  drops {}  sampled-out {}",
            c.rate.pps,
            bits(c.rate.bps),
            st.kernel_drops,
            st.sampled_out
        ),
        if st.kernel_drops + u64::from(st.files_lost) > 0 {
            theme.error
        } else {
            theme.muted
        },
    )];
    if st.files_lost > 0 {
        stats.push((format!("  files lost {}", st.files_lost), theme.error));
    }
    if c.ring.evicted > 0 {
        stats.push((format!("  pane-evicted {}", c.ring.evicted), theme.muted));
    }
    if c.ring.paused {
        stats.push((format!("  [paused, {} held]", c.ring.held()), theme.accent));
    }
    if !state.packets.filter.is_empty() {
        stats.push((
            format!("  filter:{}", s(&state.packets.filter)),
            theme.accent,
        ));
    }
    let used: usize = stats.iter().map(|(t, _)| width_of(t)).sum::<usize>() + 12;
    let room = usize::from(width).saturating_sub(used).max(12);
    let mut spans = vec![Span::styled(
        format!(" Packets {} ", elide_middle(&pod, room)),
        theme.title,
    )];
    spans.extend(stats.into_iter().map(|(t, style)| Span::styled(t, style)));
    spans.push(Span::raw(" "));
    Line::from(spans)
}

/// Limits in words: `stops after 10m or 1 GiB`.
fn limits(c: &Capture) -> String {
    let mut parts = Vec::new();
    if let Some(ms) = c.spec.duration_ms {
        parts.push(span(i64::try_from(ms / 1000).unwrap_or(i64::MAX)));
    }
    if let Some(b) = c.spec.max_bytes {
        parts.push(human_bytes(b));
    }
    if let Some(p) = c.spec.max_packets {
        parts.push(format!("{p} packets"));
    }
    if parts.is_empty() {
        "no limit: s stops it".to_string()
    } else {
        format!("stops after {}", parts.join(" or "))
    }
}

/// What the capture is doing, and anything to say about it.
fn status_lines<'a>(state: &AppState, c: Option<&Capture>, theme: &Theme) -> Vec<Line<'a>> {
    let now = state.now;
    let Some(c) = c else {
        let open = state
            .keymaps
            .packets
            .keys_of(crate::keymap::Packets::StartStop)
            .first()
            .map_or_else(|| "s".to_string(), |k| k.short_name());
        let text = match state.helper.source {
            crate::state::helper::HelperSource::DemoReplay => {
                "The demo replays recorded socket events: packet capture needs a live helper (--helper local, or a cluster).".to_string()
            }
            _ => format!(
                "No capture of this pod yet: {open} asks for one (what is captured where, and what the helper needs)."
            ),
        };
        return vec![Line::from(Span::styled(text, theme.muted))];
    };
    let where_ = if c.node == "local" {
        "the local helper".to_string()
    } else {
        format!("node {}", s(&c.node))
    };
    let live = c.segments.last().and_then(|seg| seg.started.as_ref());
    let (text, style) = match &c.phase {
        Phase::Helper(step) | Phase::Deploying(step) => {
            (format!("Starting: {}…", s(step)), theme.accent)
        }
        Phase::Connecting => (
            format!("Starting: connecting to the helper on {where_}…"),
            theme.accent,
        ),
        Phase::Requested => (
            format!("Starting: asked the helper on {where_}…"),
            theme.accent,
        ),
        Phase::Queued { position } => (
            format!(
                "Queued on {where_}: number {position} in line (the helper runs a few captures at once; this one starts when a slot frees)"
            ),
            theme.accent,
        ),
        Phase::Running | Phase::Stopping => {
            let since = live.map_or(now, |s| s.at);
            let how = live.map_or_else(String::new, |st| {
                let ifaces: Vec<String> = st.interfaces.iter().map(|i| s(&i.name)).collect();
                let mode = match st.mode {
                    CaptureMode::HostVeth => "host side of the pod's veth",
                    CaptureMode::Netns => "inside the pod's namespace",
                };
                format!(" on {} ({mode}, {})", ifaces.join(", "), s(&st.format))
            });
            let verb = if c.phase == Phase::Stopping {
                "Stopping: the last file is on its way"
            } else {
                "Capturing"
            };
            (
                format!(
                    "{verb}{how} since {} ({}); {}",
                    clock(since),
                    span(now.duration_since(since).as_secs()),
                    limits(c)
                ),
                if c.phase == Phase::Stopping {
                    theme.accent
                } else {
                    theme.info
                },
            )
        }
        Phase::Interrupted(why) => (
            format!(
                "Interrupted: the helper stream was lost ({}); the capture is asked for again after the reconnect",
                s(why)
            ),
            theme.error,
        ),
        Phase::Ended => {
            let st = c.stats();
            let end = c.end.as_ref();
            (
                format!(
                    "Ended ({}){}: {} packets, {} on the wire, kernel drops {}",
                    end.map_or("?", |e| e.reason.as_str()),
                    end.map_or_else(String::new, |e| format!(
                        " after {}",
                        span(e.at.duration_since(c.requested_at).as_secs())
                    )),
                    st.packets,
                    human_bytes(st.wire_bytes),
                    st.kernel_drops
                ),
                theme.muted,
            )
        }
    };
    let mut lines = vec![Line::from(Span::styled(text, style))];
    if let Some(note) = &c.note {
        lines.push(Line::from(Span::styled(s(note), theme.error)));
    }
    if let Some(h) = &state.helper.hello
        && !h.capture
        && c.active()
        && state.helper.target.as_ref() == Some(&c.helper)
    {
        lines.push(Line::from(Span::styled(
            "The helper says packet capture is not possible on its node (see its hello).",
            theme.error,
        )));
    }
    for g in &c.gaps {
        let to = g.to.map_or_else(|| "now".to_string(), clock);
        lines.push(Line::from(Span::styled(
            format!(
                "Gap {}–{to}: not captured ({}){}",
                clock(g.from),
                s(&g.reason),
                g.after
                    .map(|id| format!("; resumed as request {id}"))
                    .unwrap_or_default()
            ),
            theme.error,
        )));
    }
    lines
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let c = state.packets.shown();
    let block = Block::bordered()
        .title(title(state, c, area.width.saturating_sub(2), theme))
        .border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let status = Paragraph::new(status_lines(state, c, theme)).wrap(Wrap { trim: false });
    let status_rows = u16::try_from(status.line_count(inner.width))
        .unwrap_or(u16::MAX)
        .min(inner.height / 3)
        .max(1);
    let files = c
        .map(|c| files::lines(state, c, inner.width, theme))
        .unwrap_or_default();
    let file_rows = u16::try_from(files.len())
        .unwrap_or(u16::MAX)
        .min(inner.height / 3);
    let [status_area, body, files_area] = Layout::vertical([
        Constraint::Length(status_rows),
        Constraint::Min(1),
        Constraint::Length(file_rows),
    ])
    .areas(inner);
    frame.render_widget(status, status_area);
    if let Some(c) = c {
        if state.packets.show_flows {
            lines::render_flows(frame, body, c, theme);
        } else {
            lines::render_lines(frame, body, state, c, theme);
        }
    }
    frame.render_widget(Paragraph::new(files), files_area);
}
