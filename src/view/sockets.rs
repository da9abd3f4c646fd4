//! The sockets pane: live events (time, type, pod, pid/comm, tuple, state change, bytes, latency,
//! errno) beside the live summary; the title carries events/s and every loss counter.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Row, Table, Wrap};

use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::sockets::{Entry, HelperStatus, HelperTarget, SocketsState};
use ktui_wire::SocketEvent;

/// Names for the errnos connect() usually fails with.
pub fn errno_name(errno: i32) -> String {
    match errno {
        1 => "EPERM".into(),
        13 => "EACCES".into(),
        22 => "EINVAL".into(),
        99 => "EADDRNOTAVAIL".into(),
        101 => "ENETUNREACH".into(),
        103 => "ECONNABORTED".into(),
        104 => "ECONNRESET".into(),
        110 => "ETIMEDOUT".into(),
        111 => "ECONNREFUSED".into(),
        113 => "EHOSTUNREACH".into(),
        115 => "EINPROGRESS".into(),
        n => format!("errno {n}"),
    }
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

fn endpoint(addr: &Option<String>, port: Option<u16>) -> String {
    match (addr, port) {
        (Some(a), Some(p)) if a.contains(':') => format!("[{}]:{p}", s(a)),
        (Some(a), Some(p)) => format!("{}:{p}", s(a)),
        (Some(a), None) => s(a),
        _ => "-".into(),
    }
}

fn clock(t: jiff::Timestamp) -> String {
    t.strftime("%H:%M:%S%.3f").to_string()
}

fn time_of(ts: &str) -> String {
    // 2026-11-22T10:00:00.123456789Z → 10:00:00.123
    ts.get(11..23).map_or_else(|| s(ts), str::to_string)
}

fn event_row<'a>(e: &SocketEvent, theme: &Theme) -> Row<'a> {
    let pod = e
        .k8s
        .as_ref()
        .and_then(|k| Some(format!("{}/{}", k.namespace.as_deref()?, k.pod.as_deref()?)))
        .map_or_else(|| "-".to_string(), |p| s(&p));
    let who = format!(
        "{}/{}",
        e.pid.map_or("-".to_string(), |p| p.to_string()),
        s(e.comm.as_deref().unwrap_or("-"))
    );
    let tuple = format!(
        "{} → {}",
        endpoint(&e.src, e.sport),
        endpoint(&e.dst, e.dport)
    );
    let mut detail = match (&e.old_state, &e.new_state, &e.dns, &e.drop_reason) {
        (Some(o), Some(n), _, _) => format!("{} → {}", s(o), s(n)),
        (_, _, Some(d), _) => format!(
            "{} {}{}",
            s(d.qname.as_deref().unwrap_or("?")),
            d.qtype.map_or(String::new(), |t| format!("type {t}")),
            d.rcode
                .map_or(" (query)".to_string(), |r| format!(" {}", rcode_name(r)))
        ),
        (_, _, _, Some(r)) => format!("{} ×{}", s(r), e.count.unwrap_or(1)),
        _ => String::new(),
    };
    for extra in [
        e.errno.filter(|n| *n != 0).map(errno_name),
        e.latency_us.map(|l| format!("{:.1}ms", l as f64 / 1000.0)),
        e.bytes.map(|b| format!("{b} B")),
    ]
    .into_iter()
    .flatten()
    {
        if !detail.is_empty() {
            detail.push(' ');
        }
        detail.push_str(&extra);
    }
    let style = match (e.errno, e.kind) {
        (Some(n), _) if n != 0 => theme.error,
        (_, ktui_wire::EventType::TcpRetransmit | ktui_wire::EventType::Drop) => theme.not_started,
        (_, ktui_wire::EventType::TcpReset) => theme.crashed,
        _ => theme.base,
    };
    Row::new(vec![
        time_of(&e.ts),
        e.kind.as_str().to_string(),
        pod,
        who,
        tuple,
        detail,
    ])
    .style(style)
}

fn title<'a>(st: &SocketsState, theme: &Theme) -> Line<'a> {
    let scope = match &st.pod {
        Some((key, _)) => format!(" Sockets {} ", s(&key.to_string())),
        None => " Sockets (whole node) ".to_string(),
    };
    let mut spans = vec![Span::styled(scope, theme.title)];
    let x = &st.stats;
    spans.push(Span::styled(
        format!(
            " {:.0} ev/s  lost {}  sampled-out {}  rate-limited {}  dropped {}",
            st.rate, x.lost, x.sampled_out, x.rate_limited, x.dropped
        ),
        if x.lost + x.dropped + x.rate_limited > 0 {
            theme.error
        } else {
            theme.muted
        },
    ));
    if st.evicted > 0 {
        spans.push(Span::styled(
            format!("  pane-evicted {}", st.evicted),
            theme.muted,
        ));
    }
    if st.paused {
        spans.push(Span::styled(
            format!("  [paused, {} held]", st.held()),
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

fn status_lines<'a>(st: &SocketsState, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    if let Some(t) = &st.target {
        let style = if *t == HelperTarget::DemoReplay {
            theme.demo
        } else {
            theme.muted
        };
        let mut spans = vec![Span::styled(s(&t.label()), style)];
        if let Some(h) = &st.hello {
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
    match &st.status {
        HelperStatus::Idle => lines.push(Line::from(Span::styled(
            "No helper yet: press t on a pod to trace its sockets.",
            theme.muted,
        ))),
        HelperStatus::Deploying(step) => lines.push(Line::from(Span::styled(
            format!("Deploying: {}…", s(step)),
            theme.accent,
        ))),
        HelperStatus::Connecting => lines.push(Line::from(Span::styled(
            "Connecting to the helper…",
            theme.accent,
        ))),
        HelperStatus::Reconnecting { attempt, reason } => lines.push(Line::from(Span::styled(
            format!(
                "Stream lost ({}); reconnecting, attempt {attempt}…",
                s(reason)
            ),
            theme.error,
        ))),
        HelperStatus::Failed(e) => lines.push(Line::from(Span::styled(
            format!("Helper unavailable: {}", s(e)),
            theme.error,
        ))),
        HelperStatus::Removed => lines.push(Line::from(Span::styled(
            "Helper removed. Press t on a pod to deploy one again.",
            theme.muted,
        ))),
        HelperStatus::Connected => {}
    }
    if let Some(h) = &st.hello
        && !h.ebpf
        && st.target != Some(HelperTarget::DemoReplay)
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

/// The summary in two groups: connections (left) and DNS, peers, drops, probes (right).
fn summary_lines<'a>(state: &AppState, theme: &Theme) -> (Vec<Line<'a>>, Vec<Line<'a>>) {
    let st = &state.sockets;
    let sum = &st.summary;
    let now = state.now;
    let head = |t: String| Line::from(Span::styled(t, theme.header));
    let item = |t: String| Line::from(format!("  {t}"));
    let mut lines = Vec::new();
    let p = |x: Option<u64>| x.map_or("-".to_string(), |us| format!("{:.1}ms", us as f64 / 1000.0));
    lines.push(head(format!(
        "Connect p50 {} p99 {} (ok {})",
        p(sum.latency_percentile(50.0)),
        p(sum.latency_percentile(99.0)),
        sum.connects_ok
    )));
    if !sum.connect_errors.is_empty() {
        let errs: Vec<String> = sum
            .connect_errors
            .iter()
            .map(|(e, n)| format!("{} {n}", errno_name(*e)))
            .collect();
        lines.push(Line::from(Span::styled(
            format!("  failures: {}", errs.join(", ")),
            theme.error,
        )));
    }
    let stuck = sum.syn_stuck(now);
    lines.push(head(format!("SYN_SENT stuck >1s: {}", stuck.len())));
    for (t, pend) in stuck.iter().take(4) {
        lines.push(item(format!(
            "{} {}:{} → {}:{}",
            s(&pend.owner),
            s(&t.0),
            t.1,
            s(&t.2),
            t.3
        )));
    }
    let cw = sum.close_wait_by_owner();
    lines.push(head(format!(
        "CLOSE_WAIT: {}",
        cw.iter().map(|(_, n)| n).sum::<usize>()
    )));
    for (owner, n) in cw.iter().take(4) {
        lines.push(item(format!("{} {n}", s(owner))));
    }
    let left = std::mem::take(&mut lines);
    let dns = sum.dns_suspects(now);
    lines.push(head(format!("DNS without reply >2s: {}", dns.len())));
    for (k, pend) in dns.iter().take(4) {
        lines.push(item(format!(
            "{} → {}:53 {}",
            s(&pend.owner),
            s(&k.2),
            s(&k.3)
        )));
    }
    if !sum.dns_rcodes.is_empty() {
        let r: Vec<String> = sum
            .dns_rcodes
            .iter()
            .map(|(c, n)| format!("{} {n}", rcode_name(*c)))
            .collect();
        lines.push(item(format!("answers: {}", r.join(", "))));
    }
    let rt = sum.retransmits_by_peer();
    lines.push(head(format!(
        "Retransmits: {}",
        rt.iter().map(|(_, n)| n).sum::<u64>()
    )));
    for (peer, n) in rt.iter().take(3) {
        lines.push(item(format!("{} {n}", s(peer))));
    }
    let top = sum.top_talkers(3);
    if !top.is_empty() {
        lines.push(head("Top talkers".to_string()));
        for (owner, peer, n, bytes) in top {
            lines.push(item(format!(
                "{} → {} {n} ev {bytes} B",
                s(&owner),
                s(&peer)
            )));
        }
    }
    if !sum.drops.is_empty() {
        lines.push(head("Drops".to_string()));
        for (reason, n) in sum.drops.iter().take(4) {
            lines.push(item(format!("{} {n}", s(reason))));
        }
    }
    if let Some(h) = &st.hello {
        let ok = h.probes.iter().filter(|p| p.attach.is_some()).count();
        lines.push(head(format!("Probes {ok}/{} attached", h.probes.len())));
        for probe in h.probes.iter().filter(|p| p.fallback || p.attach.is_none()) {
            lines.push(Line::from(Span::styled(
                format!(
                    "  {}: {}",
                    s(&probe.name),
                    s(probe
                        .error
                        .as_deref()
                        .or(probe.attach.as_deref())
                        .unwrap_or("-"))
                ),
                theme.muted,
            )));
        }
    }
    if sum.evicted > 0 {
        lines.push(Line::from(Span::styled(
            format!("(summary evicted {} entries under load)", sum.evicted),
            theme.muted,
        )));
    }
    (left, lines)
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let st = &state.sockets;
    let block = Block::bordered()
        .title(title(st, theme))
        .border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let status = status_lines(st, theme);
    let [status_area, body] =
        Layout::vertical([Constraint::Length(status.len() as u16), Constraint::Min(1)])
            .areas(inner);
    frame.render_widget(
        Paragraph::new(status).wrap(Wrap { trim: false }),
        status_area,
    );
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
    let rows_visible = usize::from(events_area.height.saturating_sub(1));
    let rows: Vec<Row<'_>> = st
        .window(rows_visible)
        .into_iter()
        .map(|entry| match entry {
            Entry::Event(e) => event_row(e, theme),
            Entry::Gap { from, to, reason } => Row::new(vec![
                clock(*from),
                "── gap".to_string(),
                String::new(),
                String::new(),
                format!(
                    "stream lost until {}: {}",
                    to.map_or("…".to_string(), clock),
                    s(reason)
                ),
            ])
            .style(theme.error),
        })
        .collect();
    let narrow = events_area.width < 100;
    let widths: Vec<Constraint> = if narrow {
        vec![
            Constraint::Length(12),
            Constraint::Length(14),
            Constraint::Length(0),
            Constraint::Length(0),
            Constraint::Fill(3),
            Constraint::Fill(2),
        ]
    } else {
        vec![
            Constraint::Length(12),
            Constraint::Length(14),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Fill(4),
            Constraint::Fill(3),
        ]
    };
    let header =
        Row::new(vec!["TIME", "TYPE", "POD", "PID/COMM", "TUPLE", "DETAIL"]).style(theme.header);
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(if narrow { 1 } else { 2 }),
        events_area,
    );
    if let Some((area, below)) = summary_area {
        let (left, right) = summary_lines(state, theme);
        let border = if below {
            ratatui::widgets::Borders::TOP
        } else {
            ratatui::widgets::Borders::LEFT
        };
        let block = Block::new().borders(border).border_style(theme.border);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        if below {
            let [l, r] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .areas(inner);
            frame.render_widget(Paragraph::new(left).wrap(Wrap { trim: false }), l);
            frame.render_widget(Paragraph::new(right).wrap(Wrap { trim: false }), r);
        } else {
            let mut all = left;
            all.extend(right);
            frame.render_widget(Paragraph::new(all).wrap(Wrap { trim: false }), inner);
        }
    }
}
