//! The event list: one row per event (or stream gap). The TUPLE column takes the width of the
//! widest tuple shown, so addresses and ports stay whole while the other columns keep a minimum;
//! when even that does not fit, addresses are cut in the middle and ports are never cut.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Row, Table};

use super::{clock, errno_name, rcode_name, s};
use crate::config::theme::Theme;
use crate::state::sockets::{Entry, SocketsState, summary};
use crate::view::text::{elide_end, endpoint, width};
use ktui_wire::SocketEvent;

/// TIME (`10:00:00.123`) and TYPE (`tcp_retransmit`).
const TIME_CELLS: u16 = 12;
const TYPE_CELLS: u16 = 14;
/// From this width POD and PID/COMM are shown.
const WIDE: u16 = 100;
/// From this width columns are two cells apart.
const ROOMY: u16 = 160;
/// What the other flexible columns keep when the tuple takes its width.
const MIN_POD: usize = 8;
const MIN_WHO: usize = 8;
const MIN_DETAIL: usize = 12;
/// An address is never cut shorter than this (then the whole tuple is cut at the end).
const MIN_ADDR: usize = 4;

/// One end of a connection, sanitised.
struct End {
    addr: Option<String>,
    port: Option<u16>,
}

impl End {
    fn new(addr: &Option<String>, port: Option<u16>) -> Self {
        Self {
            addr: addr.as_deref().map(s),
            port,
        }
    }

    fn addr_cells(&self) -> usize {
        self.addr.as_deref().map_or(0, width)
    }

    /// `addr:port`, `[v6]:port`, the address cut in the middle to `cells`.
    fn text(&self, cells: usize) -> String {
        match &self.addr {
            Some(addr) => endpoint(addr, self.port, cells),
            None => "-".to_string(),
        }
    }
}

/// `src → dst` of an event.
struct Tuple {
    src: End,
    dst: End,
}

impl Tuple {
    fn of(e: &SocketEvent) -> Self {
        Self {
            src: End::new(&e.src, e.sport),
            dst: End::new(&e.dst, e.dport),
        }
    }

    fn full(&self) -> String {
        format!(
            "{} → {}",
            self.src.text(usize::MAX),
            self.dst.text(usize::MAX)
        )
    }

    /// The tuple in at most `cells`: whole when it fits, else the addresses share what the
    /// ports, brackets and arrow leave (the shorter keeps its length).
    fn fit(&self, cells: usize) -> String {
        let full = self.full();
        let needed = width(&full);
        if needed <= cells {
            return full;
        }
        let (a, b) = (self.src.addr_cells(), self.dst.addr_cells());
        let budget = cells.saturating_sub(needed - a - b);
        let half = budget / 2;
        let (a_cells, b_cells) = if a <= half {
            (a, budget - a)
        } else if b <= budget - half {
            (budget - b, b)
        } else {
            (half, budget - half)
        };
        if a_cells.min(a) < MIN_ADDR.min(a) || b_cells.min(b) < MIN_ADDR.min(b) {
            return elide_end(&full, cells);
        }
        format!("{} → {}", self.src.text(a_cells), self.dst.text(b_cells))
    }
}

fn time_of(ts: &str) -> String {
    // 2026-11-22T10:00:00.123456789Z → 10:00:00.123
    ts.get(11..23).map_or_else(|| s(ts), str::to_string)
}

fn detail_of(e: &SocketEvent) -> String {
    let mut detail = match (&e.old_state, &e.new_state, &e.dns, &e.drop_reason) {
        (Some(o), Some(n), _, _) => format!("{} → {}", s(o), s(n)),
        (_, _, Some(d), _) => format!(
            "{} {}{}",
            s(d.qname.as_deref().unwrap_or("?")),
            d.qtype.map_or(String::new(), |t| format!("type {t}")),
            d.rcode
                .map_or(" (query)".to_string(), |r| format!(" {}", rcode_name(r)))
        ),
        (_, _, _, Some(r)) => s(r),
        _ => String::new(),
    };
    // A line standing for several events (a storm folded in the kernel, drops per reason).
    if let Some(n) = e.count {
        if !detail.is_empty() {
            detail.push(' ');
        }
        detail.push_str(&format!("×{n}"));
    }
    for extra in [
        nat_note(e),
        e.errno.filter(|n| *n != 0).map(errno_name),
        e.latency_us.map(|l| format!("{:.1}ms", l as f64 / 1000.0)),
        e.rtt_us.map(|r| format!("rtt {:.1}ms", r as f64 / 1000.0)),
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
    detail
}

/// What the node's conntrack did to the flow, from the event's side: the client sees its
/// destination translated (`DNAT ⇒ backend`), the backend sees what the client had addressed
/// (`via VIP`); a masqueraded source shows as what the peer saw (`SNAT as addr:port`).
fn nat_note(e: &SocketEvent) -> Option<String> {
    let ct = e.conntrack.as_ref()?;
    let nat = ct.nat.as_deref()?;
    let (orig, reply) = (ct.orig.as_ref()?, ct.reply.as_ref()?);
    let end = |a: &str, p: Option<u16>| s(&summary::endpoint(a, p));
    let mut note = Vec::new();
    if nat.contains("dnat") {
        match summary::translation(e) {
            Some((_, backend)) => note.push(format!("DNAT ⇒ {}", s(&backend))),
            None => note.push(format!("via {}", end(&orig.dst, orig.dport))),
        }
    }
    if nat.contains("snat") {
        note.push(format!("SNAT as {}", end(&reply.dst, reply.dport)));
    }
    (!note.is_empty()).then(|| note.join(" "))
}

/// TIME, TYPE, POD, PID/COMM, TUPLE, DETAIL of an event.
fn event_cells(e: &SocketEvent, tuple: String) -> [String; 6] {
    let pod = e
        .k8s
        .as_ref()
        .and_then(|k| {
            let pod = format!("{}/{}", k.namespace.as_deref()?, k.pod.as_deref()?);
            // The container tells a sidecar's traffic from the app's.
            Some(match k.container.as_deref() {
                Some(c) => format!("{pod} [{c}]"),
                None => pod,
            })
        })
        .map_or_else(|| "-".to_string(), |p| s(&p));
    let who = format!(
        "{}/{}",
        e.pid.map_or("-".to_string(), |p| p.to_string()),
        s(e.comm.as_deref().unwrap_or("-"))
    );
    [
        time_of(&e.ts),
        e.kind.as_str().to_string(),
        pod,
        who,
        tuple,
        detail_of(e),
    ]
}

fn style_of(e: &SocketEvent, theme: &Theme) -> ratatui::style::Style {
    match (e.errno, e.kind) {
        (Some(n), _) if n != 0 => theme.error,
        (_, ktui_wire::EventType::TcpRetransmit | ktui_wire::EventType::Drop) => theme.not_started,
        (_, ktui_wire::EventType::TcpReset) => theme.crashed,
        _ => theme.base,
    }
}

/// What the TUPLE column says for a gap.
fn gap_text(to: Option<jiff::Timestamp>) -> String {
    format!("stream lost until {}", to.map_or("…".to_string(), clock))
}

pub fn render(frame: &mut Frame<'_>, area: Rect, st: &SocketsState, theme: &Theme) {
    let window = st.window(usize::from(area.height.saturating_sub(1)));
    let wide = area.width >= WIDE;
    let spacing: u16 = if area.width >= ROOMY { 2 } else { 1 };
    let columns: usize = if wide { 6 } else { 4 };
    let fixed = usize::from(TIME_CELLS + TYPE_CELLS) + usize::from(spacing) * (columns - 1);
    let others = if wide {
        MIN_POD + MIN_WHO + MIN_DETAIL
    } else {
        MIN_DETAIL
    };
    let room = usize::from(area.width).saturating_sub(fixed + others);
    let longest = window
        .iter()
        .map(|entry| match entry {
            Entry::Event(e) => width(&Tuple::of(e).full()),
            Entry::Gap { to, .. } => width(&gap_text(*to)),
        })
        .max()
        .unwrap_or(0)
        .max("TUPLE".len());
    let tuple_cells = longest.min(room);
    let keep = |cells: [String; 6]| -> Vec<String> {
        cells
            .into_iter()
            .enumerate()
            .filter(|(i, _)| wide || !matches!(i, 2 | 3))
            .map(|(_, c)| c)
            .collect()
    };
    let rows: Vec<Row<'_>> = window
        .into_iter()
        .map(|entry| match entry {
            Entry::Event(e) => Row::new(keep(event_cells(e, Tuple::of(e).fit(tuple_cells))))
                .style(style_of(e, theme)),
            Entry::Gap { from, to, reason } => Row::new(keep([
                clock(*from),
                "── gap".to_string(),
                String::new(),
                String::new(),
                gap_text(*to),
                s(reason),
            ]))
            .style(theme.error),
        })
        .collect();
    let tuple_width = u16::try_from(tuple_cells).unwrap_or(u16::MAX);
    let widths: Vec<Constraint> = if wide {
        vec![
            Constraint::Length(TIME_CELLS),
            Constraint::Length(TYPE_CELLS),
            Constraint::Fill(2),
            Constraint::Fill(2),
            Constraint::Length(tuple_width),
            Constraint::Fill(3),
        ]
    } else {
        vec![
            Constraint::Length(TIME_CELLS),
            Constraint::Length(TYPE_CELLS),
            Constraint::Length(tuple_width),
            Constraint::Fill(1),
        ]
    };
    let header = Row::new(keep(
        ["TIME", "TYPE", "POD", "PID/COMM", "TUPLE", "DETAIL"].map(String::from),
    ))
    .style(theme.header);
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .column_spacing(spacing),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(src: &str, sport: u16, dst: &str, dport: u16) -> Tuple {
        Tuple {
            src: End::new(&Some(src.to_string()), Some(sport)),
            dst: End::new(&Some(dst.to_string()), Some(dport)),
        }
    }

    #[test]
    fn widest_ipv4_tuple_is_45_cells() {
        let t = tuple("255.255.255.255", 65535, "255.255.255.255", 65535);
        assert_eq!(width(&t.full()), 45);
        assert_eq!(t.fit(45), t.full());
    }

    #[test]
    fn cut_tuples_keep_both_ports() {
        let t = tuple("2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", 41000, "fd00::2", 443);
        let fitted = t.fit(36);
        assert_eq!(width(&fitted), 36, "{fitted}");
        assert!(fitted.ends_with(" → [fd00::2]:443"), "{fitted}");
        assert!(fitted.starts_with("[2001:") && fitted.contains("…") && fitted.contains("]:41000"));
        let v4 = tuple("192.168.100.200", 65535, "172.16.254.254", 65535);
        let fitted = v4.fit(40);
        assert_eq!(width(&fitted), 40, "{fitted}");
        assert!(fitted.contains(":65535 → ") && fitted.ends_with(":65535"));
        // Too narrow for any address: the tuple is cut at its end, never wider than asked.
        assert_eq!(width(&v4.fit(12)), 12);
    }

    #[test]
    fn missing_ends_and_ports() {
        let t = Tuple {
            src: End::new(&Some("10.0.0.1".into()), None),
            dst: End::new(&None, None),
        };
        assert_eq!(t.full(), "10.0.0.1 → -");
    }
}
