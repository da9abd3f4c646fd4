//! The live summaries (one row per packet: time, protocol, both ends, what else the headers
//! say) and the top flows table. Addresses are cut in the middle when the screen is narrow,
//! ports never.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table};

use super::s;
use crate::case::error::human_bytes;
use crate::config::theme::Theme;
use crate::state::AppState;
use crate::state::packets::capture::Capture;
use crate::state::packets::flows::End;
use crate::view::text::{elide_end, endpoint};
use ktui_wire::PacketLine;

/// `10:00:01.123456` (UTC) from the line's epoch seconds.
pub(super) fn packet_time(ts: Option<&str>) -> String {
    let Some(ts) = ts else {
        return "-".to_string();
    };
    let (secs, frac) = ts.split_once('.').unwrap_or((ts, ""));
    let Some(t) = secs
        .parse::<i64>()
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
    else {
        return elide_end(&s(ts), 15);
    };
    let micros: String = frac
        .chars()
        .filter(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    format!("{}.{micros}", t.strftime("%H:%M:%S"))
}

/// `addr:port` (`[v6]:port`), the address cut in the middle to fit `cells` with its port.
fn end(addr: Option<&str>, port: Option<u16>, cells: usize) -> String {
    let Some(addr) = addr.map(s) else {
        return "-".to_string();
    };
    let v6 = addr.contains(':');
    let room =
        cells.saturating_sub(port.map_or(0, |p| p.to_string().len() + 1 + 2 * usize::from(v6)));
    endpoint(&addr, port, room.max(4))
}

/// What else the headers say: flags, ICMP type, VLAN, the DNS name, the length.
fn info(p: &PacketLine) -> String {
    let mut parts = Vec::new();
    if let Some(f) = p.tcp_flags.as_deref() {
        parts.push(if f.is_empty() {
            "[none]".to_string()
        } else {
            format!("[{}]", s(f))
        });
    }
    if let Some(t) = p.icmp_type {
        parts.push(format!("type {t}"));
    }
    if let Some(v) = p.vlan {
        parts.push(format!("vlan {v}"));
    }
    if let Some(q) = p.dns_qname.as_deref() {
        parts.push(format!("dns {}", s(q)));
    }
    parts.push(if p.truncated {
        format!("len {} (cut at {})", p.len, p.caplen)
    } else {
        format!("len {}", p.len)
    });
    parts.join(" ")
}

pub(super) fn render_lines(
    frame: &mut Frame<'_>,
    area: Rect,
    state: &AppState,
    c: &Capture,
    theme: &Theme,
) {
    let rows = usize::from(area.height.saturating_sub(1));
    let shown = c
        .ring
        .window(&state.packets.filter, state.packets.scroll_back, rows);
    if shown.is_empty() {
        let text = if c.ring.lines.is_empty() {
            "No packets yet."
        } else {
            "No packets match the filter: / changes it."
        };
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled(text, theme.muted))),
            area,
        );
        return;
    }
    let w = usize::from(area.width);
    // TIME 15, PROTO 6, spaces; the two ends take the widest shown (at most 2/5 of what is
    // left each), the info column the rest.
    let flexible = w.saturating_sub(15 + 6 + 5);
    let widest = shown
        .iter()
        .flat_map(|p| {
            [
                end(p.src.as_deref(), p.sport, usize::MAX),
                end(p.dst.as_deref(), p.dport, usize::MAX),
            ]
        })
        .map(|e| crate::view::text::width(&e))
        .max()
        .unwrap_or(8);
    let end_cells = widest.min(flexible * 2 / 5).clamp(8, 46);
    let rows: Vec<Row> = shown
        .iter()
        .map(|p| {
            Row::new(vec![
                packet_time(p.ts.as_deref()),
                elide_end(&s(p.proto.as_deref().unwrap_or("-")), 6),
                end(p.src.as_deref(), p.sport, end_cells),
                end(p.dst.as_deref(), p.dport, end_cells),
                info(p),
            ])
            .style(
                if p.tcp_flags.as_deref().is_some_and(|f| f.contains("RST")) {
                    theme.error
                } else {
                    theme.base
                },
            )
        })
        .collect();
    let widths = [
        Constraint::Length(15),
        Constraint::Length(6),
        Constraint::Length(u16::try_from(end_cells).unwrap_or(8)),
        Constraint::Length(u16::try_from(end_cells).unwrap_or(8)),
        Constraint::Min(8),
    ];
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["TIME (UTC)", "PROTO", "FROM", "TO", "INFO"]).style(theme.header));
    frame.render_widget(table, area);
}

fn end_text(e: &End, cells: usize) -> String {
    end(Some(&e.0), (e.1 != 0).then_some(e.1), cells)
}

pub(super) fn render_flows(frame: &mut Frame<'_>, area: Rect, c: &Capture, theme: &Theme) {
    let rows = usize::from(area.height.saturating_sub(2));
    let top = c.flows.top(rows);
    if top.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::from(Span::styled("No flows yet.", theme.muted))),
            area,
        );
        return;
    }
    let w = usize::from(area.width);
    let end_cells = (w.saturating_sub(6 + 8 + 10 + 10 + 8) / 2).clamp(8, 46);
    let mut table_rows: Vec<Row> = top
        .iter()
        .map(|(k, f)| {
            Row::new(vec![
                elide_end(&s(&k.proto), 6),
                end_text(&k.a, end_cells),
                end_text(&k.b, end_cells),
                f.packets.to_string(),
                human_bytes(f.bytes),
                format!("{}/{}", f.syn, f.rst),
                format!("{}–{}", f.first_n, f.last_n),
            ])
            .style(if f.rst > 0 { theme.error } else { theme.base })
        })
        .collect();
    let more = c.flows.len().saturating_sub(top.len());
    if more > 0 || c.flows.untracked_packets > 0 {
        table_rows.push(
            Row::new(vec![
                String::new(),
                format!("+{more} more flows"),
                if c.flows.untracked_packets > 0 {
                    format!("untracked {} pkts", c.flows.untracked_packets)
                } else {
                    String::new()
                },
            ])
            .style(theme.muted),
        );
    }
    let cells = u16::try_from(end_cells).unwrap_or(8);
    let widths = [
        Constraint::Length(6),
        Constraint::Length(cells),
        Constraint::Length(cells),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Min(8),
    ];
    let table = Table::new(table_rows, widths).header(
        Row::new(vec![
            "PROTO", "END A", "END B", "PACKETS", "BYTES", "SYN/RST", "FRAMES",
        ])
        .style(theme.header),
    );
    frame.render_widget(table, area);
}
