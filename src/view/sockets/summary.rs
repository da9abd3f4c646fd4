//! The live summary beside or below the events: headings and one-line entries. An entry never
//! continues on the next line: names are cut in the middle, notes at the end, lists pack whole
//! items; a list cut short says "+N more", and what does not fit the area says how many lines
//! are left out.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{errno_name, rcode_name, s};
use crate::config::theme::Theme;
use crate::state::AppState;
use crate::view::text::{elide_end, elide_middle, pack, width};

/// Entries shown per list before "+N more".
const LIST: usize = 4;
/// A name is not cut shorter than this to make room for its figures.
const MIN_NAME: usize = 12;
/// Entries are indented under their heading.
const INDENT: &str = "  ";

/// A piece of an entry: a name that may be cut in the middle, or text kept whole.
enum Part<'a> {
    Name(&'a str),
    Keep(&'a str),
}

impl Part<'_> {
    fn text(&self) -> &str {
        match self {
            Part::Name(t) | Part::Keep(t) => t,
        }
    }
}

/// One line of the summary, fitted to its column.
struct SumLine {
    line: Line<'static>,
    heading: bool,
}

/// Builds the summary's lines for columns `cells` wide.
struct Lines<'t> {
    cells: usize,
    theme: &'t Theme,
    out: Vec<SumLine>,
}

impl Lines<'_> {
    fn push(&mut self, text: String, style: Style, heading: bool) {
        self.out.push(SumLine {
            line: Line::styled(text, style),
            heading,
        });
    }

    fn heading(&mut self, text: String) {
        let text = elide_end(&text, self.cells);
        self.push(text, self.theme.header, true);
    }

    /// One line of parts: names are cut in the middle, in order, to no less than MIN_NAME
    /// until the line fits; kept parts (addresses, figures) are never cut unless the line still
    /// does not fit, when it is cut at its end.
    fn entry(&mut self, parts: &[Part<'_>], style: Style) {
        let room = self.cells.saturating_sub(INDENT.len());
        let total: usize = parts.iter().map(|p| width(p.text())).sum();
        let mut over = total.saturating_sub(room);
        let mut text = String::new();
        for part in parts {
            match part {
                Part::Keep(t) => text.push_str(t),
                Part::Name(t) => {
                    let w = width(t);
                    let cut = over.min(w - MIN_NAME.min(w));
                    over -= cut;
                    text.push_str(&elide_middle(t, w - cut));
                }
            }
        }
        self.push(format!("{INDENT}{}", elide_end(&text, room)), style, false);
    }

    fn note(&mut self, text: &str, style: Style) {
        let room = self.cells.saturating_sub(INDENT.len());
        self.push(format!("{INDENT}{}", elide_end(text, room)), style, false);
    }

    /// Whole items packed into as many lines as they need.
    fn list(&mut self, items: &[String], style: Style) {
        let room = self.cells.saturating_sub(INDENT.len());
        for line in pack(items, ", ", room) {
            self.push(format!("{INDENT}{line}"), style, false);
        }
    }

    /// "+N more" under a list that shows `shown` of `total`.
    /// A heading, then up to `LIST` entries "name n", then "+N more".
    fn counts<'a, N: std::fmt::Display + 'a>(
        &mut self,
        heading: String,
        items: impl ExactSizeIterator<Item = (&'a String, N)>,
        style: Style,
    ) {
        self.heading(heading);
        let total = items.len();
        for (name, n) in items.take(LIST) {
            self.entry(&[Part::Name(&s(name)), Part::Keep(&format!(" {n}"))], style);
        }
        self.more(LIST, total);
    }

    /// Items packed into lines, the first one labelled ("failures: ECONNREFUSED 3, ...").
    fn labelled(&mut self, label: &str, items: impl Iterator<Item = String>, style: Style) {
        let items: Vec<String> = items
            .enumerate()
            .map(|(i, item)| {
                if i == 0 {
                    format!("{label}{item}")
                } else {
                    item
                }
            })
            .collect();
        self.list(&items, style);
    }

    fn more(&mut self, shown: usize, total: usize) {
        if total > shown {
            let text = format!("+{} more", total - shown);
            self.note(&text, self.theme.muted);
        }
    }
}

fn ms(us: Option<u64>) -> String {
    us.map_or("-".to_string(), |us| format!("{:.1}ms", us as f64 / 1000.0))
}

/// The summary's lines, in order: connections, then DNS, peers, drops and probes.
fn lines(state: &AppState, theme: &Theme, cells: usize) -> Vec<SumLine> {
    let st = &state.sockets;
    let sum = &st.summary;
    let now = state.now;
    let base = Style::default();
    let mut l = Lines {
        cells,
        theme,
        out: Vec::new(),
    };
    l.heading(format!(
        "Connect p50 {} p99 {} (ok {})",
        ms(sum.latency_percentile(50.0)),
        ms(sum.latency_percentile(99.0)),
        sum.connects_ok
    ));
    l.labelled(
        "failures: ",
        sum.connect_errors
            .iter()
            .map(|(e, n)| format!("{} {n}", errno_name(*e))),
        theme.error,
    );
    // Only when there are any: a cluster without translated failures keeps its lines.
    let vips = sum.troubled_vips();
    if !vips.is_empty() {
        l.heading(format!("Service VIPs failing: {}", vips.len()));
    }
    for (vip, v) in vips.iter().take(LIST) {
        let backends: Vec<&str> = v.backends.iter().map(String::as_str).collect();
        let mut figures = Vec::new();
        if !v.failed.is_empty() {
            let errs: Vec<String> = v
                .failed
                .iter()
                .map(|(e, n)| format!("{} {n}", errno_name(*e)))
                .collect();
            figures.push(errs.join(" "));
        }
        if v.stalled > 0 {
            figures.push(format!("stalled {}", v.stalled));
        }
        figures.push(format!("ok {}", v.ok));
        // The figures before the backends: a long list of backends is what gets cut.
        let figures = format!(" {} → ", figures.join(" "));
        let backends = s(&backends.join(","));
        let parts = [
            Part::Name(&s(vip)),
            Part::Keep(&figures),
            Part::Name(&backends),
        ];
        l.entry(&parts, theme.error);
    }
    l.more(LIST, vips.len());
    let stuck = sum.syn_stuck(now);
    l.heading(format!("SYN_SENT stuck >1s: {}", stuck.len()));
    for (t, pend) in stuck.iter().take(LIST) {
        let tuple = format!(" {}:{} → {}:{}", s(&t.0), t.1, s(&t.2), t.3);
        l.entry(&[Part::Name(&s(&pend.owner)), Part::Keep(&tuple)], base);
    }
    l.more(LIST, stuck.len());
    let cw = sum.close_wait_by_owner();
    let heading = format!("CLOSE_WAIT: {}", cw.iter().map(|(_, n)| n).sum::<usize>());
    l.counts(heading, cw.iter().map(|(owner, n)| (owner, n)), base);
    let dns = sum.dns_suspects(now);
    l.heading(format!("DNS without reply >2s: {}", dns.len()));
    for (k, pend) in dns.iter().take(LIST) {
        let server = format!(" → {}:53 ", s(&k.2));
        let parts = [
            Part::Name(&s(&pend.owner)),
            Part::Keep(&server),
            Part::Name(&s(&k.3)),
        ];
        l.entry(&parts, base);
    }
    l.more(LIST, dns.len());
    l.labelled(
        "answers: ",
        sum.dns_rcodes
            .iter()
            .map(|(c, n)| format!("{} {n}", rcode_name(*c))),
        base,
    );
    let resolvers = sum.resolvers(now);
    for r in resolvers.iter().take(LIST) {
        let mut figures = String::new();
        if r.answers > 0 {
            figures = format!(
                " rtt p50 {} p99 {} ({})",
                ms(r.p50_us),
                ms(r.p99_us),
                r.answers
            );
        }
        if r.unanswered > 0 {
            figures.push_str(&format!(" unanswered {}", r.unanswered));
        }
        let style = if r.unanswered > 0 { theme.error } else { base };
        l.entry(&[Part::Name(&s(&r.resolver)), Part::Keep(&figures)], style);
    }
    l.more(LIST, resolvers.len());
    let rt = sum.retransmits_by_peer();
    let heading = format!("Retransmits: {}", rt.iter().map(|(_, n)| n).sum::<u64>());
    l.counts(heading, rt.iter().map(|(peer, n)| (peer, n)), base);
    let top = sum.top_talkers(LIST);
    if !top.is_empty() {
        l.heading("Top talkers".to_string());
        for (owner, peer, n, bytes) in &top {
            let figures = format!(" → {} {n} ev {bytes} B", s(peer));
            l.entry(&[Part::Name(&s(owner)), Part::Keep(&figures)], base);
        }
        l.more(top.len(), sum.talker_count());
    }
    if !sum.drops.is_empty() {
        l.counts("Drops".to_string(), sum.drops.iter(), base);
    }
    if let Some(h) = &state.helper.hello {
        l.heading(super::probes_label(&state.helper, h));
        for probe in h.probes.iter().filter(|p| p.fallback || p.attach.is_none()) {
            let why = probe
                .error
                .as_deref()
                .or(probe.attach.as_deref())
                .unwrap_or("-");
            l.note(&format!("{}: {}", s(&probe.name), s(why)), theme.muted);
        }
    }
    if sum.evicted > 0 {
        let text = format!("(summary evicted {} entries under load)", sum.evicted);
        l.push(elide_end(&text, cells), theme.muted, true);
    }
    l.out
}

/// Where two columns split at a heading so that both fit and are the most even, if they can.
fn balanced_split(lines: &[SumLine], height: usize) -> Option<usize> {
    let total = lines.len();
    (1..=total)
        .filter(|&i| i == total || lines[i].heading)
        .filter(|&i| i <= height && total - i <= height)
        .min_by_key(|&i| i.max(total - i))
}

/// Lines flowed into `columns` of `height`: in two columns whole sections each side when they
/// fit, else filled in order with no heading left alone at the bottom of a column; the last
/// line says how many lines did not fit.
fn flow(
    lines: Vec<SumLine>,
    columns: usize,
    height: usize,
    theme: &Theme,
) -> Vec<Vec<Line<'static>>> {
    if columns == 2
        && let Some(at) = balanced_split(&lines, height)
    {
        let mut left: Vec<Line<'static>> = lines.into_iter().map(|l| l.line).collect();
        let right = left.split_off(at);
        return vec![left, right];
    }
    let total = lines.len();
    let mut lines = lines.into_iter().peekable();
    let mut out = Vec::new();
    let mut taken = 0;
    for c in 0..columns {
        let last = c + 1 == columns;
        let mut col = Vec::new();
        while col.len() < height {
            let Some(next) = lines.peek() else { break };
            if height - col.len() == 1 && total - taken > 1 {
                if last {
                    col.push(Line::styled(
                        format!("+{} more lines", total - taken),
                        theme.muted,
                    ));
                    break;
                }
                if next.heading {
                    break;
                }
            }
            if let Some(next) = lines.next() {
                col.push(next.line);
                taken += 1;
            }
        }
        out.push(col);
    }
    out
}

/// The summary in `area`: two columns when `below` the events, else one.
pub fn render(frame: &mut Frame<'_>, area: Rect, below: bool, state: &AppState, theme: &Theme) {
    let border = if below { Borders::TOP } else { Borders::LEFT };
    let block = Block::new().borders(border).border_style(theme.border);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let areas: Vec<Rect> = if below {
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .spacing(2)
            .split(inner)
            .to_vec()
    } else {
        vec![inner]
    };
    let cells = areas
        .iter()
        .map(|a| usize::from(a.width))
        .min()
        .unwrap_or(0);
    let columns = flow(
        lines(state, theme, cells),
        areas.len(),
        usize::from(inner.height),
        theme,
    );
    for (column, area) in columns.into_iter().zip(areas) {
        frame.render_widget(Paragraph::new(column), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, heading: bool) -> SumLine {
        SumLine {
            line: Line::raw(text.to_string()),
            heading,
        }
    }

    fn texts(columns: &[Vec<Line<'static>>]) -> Vec<Vec<String>> {
        columns
            .iter()
            .map(|c| c.iter().map(|l| l.to_string()).collect())
            .collect()
    }

    #[test]
    fn two_columns_split_between_sections() {
        let lines = vec![
            line("A", true),
            line("  a1", false),
            line("B", true),
            line("  b1", false),
            line("  b2", false),
        ];
        let cols = texts(&flow(lines, 2, 3, &Theme::default()));
        assert_eq!(cols, vec![vec!["A", "  a1"], vec!["B", "  b1", "  b2"]]);
    }

    #[test]
    fn what_does_not_fit_is_counted_and_headings_are_not_left_alone() {
        let lines = vec![
            line("A", true),
            line("  a1", false),
            line("B", true),
            line("  b1", false),
            line("  b2", false),
            line("  b3", false),
            line("  b4", false),
        ];
        let cols = texts(&flow(lines, 2, 3, &Theme::default()));
        // B would be alone at the bottom of the first column: it starts the second.
        assert_eq!(
            cols,
            vec![vec!["A", "  a1"], vec!["B", "  b1", "+3 more lines"]]
        );
    }

    #[test]
    fn entries_cut_names_before_figures() {
        let theme = Theme::default();
        let mut l = Lines {
            cells: 30,
            theme: &theme,
            out: Vec::new(),
        };
        let figures = " → 10.96.0.10:53 70 ev 3182 B";
        l.entry(
            &[
                Part::Name("shop/checkout-6c9f8b7d54-7fb9x"),
                Part::Keep(figures),
            ],
            Style::default(),
        );
        l.entry(
            &[Part::Name("kube-system/coredns"), Part::Keep(" 3")],
            Style::default(),
        );
        let out: Vec<String> = l.out.iter().map(|s| s.line.to_string()).collect();
        // The name keeps MIN_NAME cells; what still does not fit is cut at the end.
        assert_eq!(out[0], "  shop/c…7fb9x → 10.96.0.10:5…");
        assert_eq!(out[1], "  kube-system/coredns 3");
        assert!(out.iter().all(|t| width(t) <= 30));
    }
}
