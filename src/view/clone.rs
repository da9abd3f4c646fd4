//! The clone dialog: the cluster being read; then the existing clone of the crash (offered
//! first, when there is one), the clone's name and namespace, node, images, every warning, what
//! is created in order, what was changed from the source, the log hash stamped and where the
//! records go; then the create in flight, and the shell line or what failed. On a clone, the
//! removal question. Long values wrap under themselves; the text scrolls (j/k) where the
//! screen is too small, with a marker saying so.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::case::error::human_bytes;
use crate::clone::toolkit;
use crate::cluster::{ObjectRef, PodKey};
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::clone::{
    CloneDialog, ClonePhase, CloneReady, CreatedClone, RemovalAsk, RemovedClone, exec_line,
};
use crate::state::menu::{EntryStatus, MenuAction, needs};
use crate::view::text::{age, wrap_items};

/// Where a field's value starts.
const LABEL: usize = 11;

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

/// The dialog's text, `width` columns wide: each entry a prefix and its (sanitised) text
/// wrapped under itself.
struct Body<'t> {
    width: usize,
    theme: &'t Theme,
    lines: Vec<Line<'static>>,
}

impl<'t> Body<'t> {
    fn new(width: usize, theme: &'t Theme) -> Self {
        Self {
            width,
            theme,
            lines: Vec::new(),
        }
    }

    /// `prefix` then `text`, its continuation lines indented as wide as `prefix`.
    fn hang(&mut self, prefix: &str, prefix_style: Style, text: &str, style: Style) {
        let indent = crate::view::text::width(prefix);
        let rows = wrap_items(&[s(text)], self.width.saturating_sub(indent).max(16));
        for (i, row) in rows.into_iter().enumerate() {
            let head = if i == 0 {
                Span::styled(prefix.to_string(), prefix_style)
            } else {
                Span::raw(" ".repeat(indent))
            };
            self.lines
                .push(Line::from(vec![head, Span::styled(row, style)]));
        }
    }

    /// A shell command indented by `indent`: where it does not fit, cut at spaces with `\` at
    /// the ends, so the lines pasted together still run it.
    fn command(&mut self, indent: usize, command: &str) {
        let pad = " ".repeat(indent);
        let rows = wrap_items(&[s(command)], self.width.saturating_sub(indent + 2).max(16));
        let last = rows.len().saturating_sub(1);
        for (i, row) in rows.into_iter().enumerate() {
            let pad = if i == 0 {
                pad.clone()
            } else {
                format!("{pad}  ")
            };
            let end = if i < last { " \\" } else { "" };
            self.lines.push(Line::from(vec![
                Span::raw(pad),
                Span::styled(format!("{row}{end}"), self.theme.accent),
            ]));
        }
    }

    fn field(&mut self, label: &str, value: &str) {
        let label = format!("{label:<LABEL$}");
        self.hang(&label, self.theme.header, value, self.theme.base);
    }

    fn text(&mut self, text: &str, style: Style) {
        self.hang("", style, text, style);
    }

    fn warning(&mut self, text: &str) {
        self.hang("⚠ ", self.theme.error, text, self.theme.error);
    }

    fn bullet(&mut self, text: &str, style: Style) {
        self.hang("  • ", self.theme.base, text, style);
    }
}

fn object(o: &ObjectRef) -> String {
    format!("{} {}", o.kind, o.name)
}

fn case_id(state: &AppState) -> String {
    state
        .evidence
        .case
        .as_ref()
        .map_or_else(|| "-".to_string(), |(id, _)| s(id))
}

/// The question: the existing clone first (it is offered instead), then what is created.
fn question(b: &mut Body<'_>, d: &CloneDialog, r: &CloneReady, state: &AppState) {
    let (c, theme) = (&r.summary, b.theme);
    if let Some(e) = &c.existing {
        b.warning(&format!(
            "a clone of this crash signature exists: {} in {}, created {} ago; it stands for {} \
             crashed container(s), {} restart(s)",
            e.name,
            e.namespace,
            age(state.now, Some(e.created_at)),
            r.tally.records,
            r.tally.restarts
        ));
        let offer = if c.can_force() {
            "⏎ selects it instead of making another; f plans one of this pod beside it (asked again); x removes it"
        } else {
            "it is the clone of this very pod: ⏎ selects it; x removes it (then c makes a new one)"
        };
        b.hang("  ", theme.accent, offer, theme.accent);
        b.text("  its shell:", theme.base);
        b.command(
            4,
            &exec_line(&PodKey::new(&e.namespace, &e.name), &c.shell_container),
        );
        // Nothing is planned past the offer: no log was read, nothing checked.
        b.text(
            &format!(
                "Nothing is created for {}: the clone there stands for its crash.",
                c.source
            ),
            theme.muted,
        );
        return;
    }
    b.field(
        "Clone",
        &format!(
            "{} in namespace {} (from {}, container {})",
            c.name, c.namespace, c.source, c.container
        ),
    );
    let node = match (&c.node, &c.source_node) {
        (Some(n), _) => format!("{n} (the source's; n: any node)"),
        (None, Some(src)) => format!("any node (n: pin it to the source's, {src})"),
        (None, None) => "any node".to_string(),
    };
    b.field("Node", &node);
    for (i, image) in c.images.iter().enumerate() {
        let pinned = if image.pinned {
            "pinned to the digest it ran"
        } else {
            "NOT pinned: the digest it ran is not known"
        };
        b.field(
            if i == 0 { "Image" } else { "" },
            &format!("{}: {} ({pinned})", image.container, image.image),
        );
    }
    if let Some(t) = &c.toolkit_image {
        b.field(
            "Toolkit",
            &format!("{t} (busybox into {}, non-root)", toolkit::DIR),
        );
    }
    for w in &c.warnings {
        b.warning(w);
    }
    b.text("Creates, in order:", theme.base);
    for (i, o) in c.creates.iter().enumerate() {
        let number = format!("  {}. ", i + 1);
        b.hang(
            &number,
            theme.base,
            &format!("{} {}", o.kind, o.name),
            theme.accent,
        );
        if !o.what.is_empty() {
            b.hang(
                &" ".repeat(number.len() + 2),
                theme.base,
                &o.what,
                theme.muted,
            );
        }
    }
    if !c.notes.is_empty() {
        b.text("Changed from the source:", theme.base);
        for n in &c.notes {
            b.bullet(n, theme.base);
        }
    }
    match &c.log {
        Some(l) => {
            let mut what = format!(
                "previous log of {} ({}), its SHA-256 stamped as ktui.dev/log-sha256 on the \
                 clone and the ConfigMap",
                l.container,
                human_bytes(l.size)
            );
            if l.truncated {
                what.push_str("; the ConfigMap keeps its last 1 MiB, the case the whole log");
            }
            b.field("Log", &what);
            b.hang(&" ".repeat(LABEL), theme.base, &l.sha256, theme.accent);
            if let Some(p) = &l.case_path {
                b.field("", &format!("in the case: {p}"));
            }
        }
        None => b.field(
            "Log",
            "no previous log was captured: nothing is stamped (the ConfigMap says why)",
        ),
    }
    b.field(
        "Recorded",
        &format!(
            "in case {}, artifacts/{}/{}/clone/ (each object, the plan, custody lines)",
            case_id(state),
            c.source.namespace,
            c.source.name
        ),
    );
    let needs = needs(MenuAction::Clone, &d.pod, "", true);
    match state.access.status(&needs) {
        EntryStatus::Denied(missing) => b.warning(&format!(
            "you lack {}: the API server will refuse it (ask an admin for a Role granting it)",
            missing
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        EntryStatus::Partial(less) => b.text(
            &format!("With your permissions: {}", less.join("; ")),
            theme.muted,
        ),
        _ => {}
    }
}

fn created(b: &mut Body<'_>, c: &CreatedClone, state: &AppState) {
    let theme = b.theme;
    b.text(
        &format!(
            "Created clone {} in namespace {}:",
            c.key.name, c.key.namespace
        ),
        theme.info,
    );
    for o in &c.created {
        b.bullet(&object(o), theme.base);
    }
    b.text(
        "Its shell (the toolkit's: works in a distroless image too):",
        theme.base,
    );
    b.command(2, &c.exec_line());
    if c.recorded.is_empty() {
        b.warning("nothing was recorded in the case");
        return;
    }
    // Under one directory (`artifacts/<ns>/<pod>/clone/`): said once, then the files.
    let dir = c
        .recorded
        .first()
        .and_then(|p| p.rsplit_once('/'))
        .map(|(d, _)| format!("{d}/"))
        .filter(|d| c.recorded.iter().all(|p| p.starts_with(d.as_str())))
        .unwrap_or_default();
    b.text(
        &format!("Recorded in case {}, {dir}:", case_id(state)),
        theme.base,
    );
    for p in &c.recorded {
        b.hang("  ", theme.muted, &p[dir.len()..], theme.muted);
    }
}

fn removal(b: &mut Body<'_>, a: &RemovalAsk, state: &AppState) {
    let (c, theme) = (&a.clone, b.theme);
    let mut about = format!(
        "{} in namespace {} is a forensic clone",
        c.key.name, c.key.namespace
    );
    match (&c.source_pod, c.created_at) {
        (Some(src), at) => {
            about.push_str(&format!(" of {src}, created {} ago", age(state.now, at)));
        }
        (None, Some(at)) => about.push_str(&format!(", created {} ago", age(state.now, Some(at)))),
        (None, None) => {}
    }
    b.text(&about, theme.base);
    b.text("Deletes, in order:", theme.base);
    for d in c.deletes() {
        b.bullet(&d, theme.base);
    }
    if c.snapshots.is_empty() {
        b.text("It has no VolumeSnapshots.", theme.muted);
    } else if a.with_snapshots {
        b.warning(&format!(
            "and its VolumeSnapshots: {} (s: keep them)",
            c.snapshots.join(", ")
        ));
    } else {
        b.text(
            &format!(
                "Its VolumeSnapshots are kept: {} (s: delete them too)",
                c.snapshots.join(", ")
            ),
            theme.base,
        );
    }
    b.text(
        "Each deletion is a custody line in the case; the clone's records stay there.",
        theme.muted,
    );
}

fn removed(b: &mut Body<'_>, r: &RemovedClone) {
    let theme = b.theme;
    b.text(&format!("Removed clone {}:", r.key), theme.info);
    for o in &r.deleted {
        b.bullet(&format!("deleted {}", object(o)), theme.base);
    }
    for o in &r.already_gone {
        b.bullet(&format!("already gone: {}", object(o)), theme.muted);
    }
    if !r.snapshots_kept.is_empty() {
        b.text(
            &format!("VolumeSnapshots kept: {}", r.snapshots_kept.join(", ")),
            theme.base,
        );
    }
}

fn waiting(b: &mut Body<'_>, text: &str, since: jiff::Timestamp, state: &AppState) {
    let secs = state.now.duration_since(since).as_secs().max(0);
    b.text(&format!("{text}… {secs} s"), b.theme.info);
}

/// The body, title and keys of each phase.
fn phase(b: &mut Body<'_>, d: &CloneDialog, state: &AppState) -> (String, &'static str) {
    let pod = s(&d.pod.to_string());
    let theme = b.theme;
    match &d.phase {
        ClonePhase::Preparing { since } => {
            let text = format!(
                "Reading the cluster for a clone of {pod}: the pod, its previous log, clones of \
                 its crash, the namespace's selectors and policies, the CNI"
            );
            waiting(b, &text, *since, state);
            (format!(" Clone {pod} "), " esc: cancel ")
        }
        ClonePhase::Confirm(r) => {
            question(b, d, r, state);
            let keys = if r.summary.can_force() {
                " ⏎: select it   f: plan another   x: remove it   esc: cancel "
            } else if r.summary.existing.is_some() {
                " ⏎: select it   x: remove it   esc: cancel "
            } else {
                " ⏎: create   n: node   esc: cancel "
            };
            (format!(" Clone {pod} "), keys)
        }
        ClonePhase::Creating { ready, since } => {
            let order: Vec<String> = ready
                .summary
                .creates
                .iter()
                .map(|o| format!("{} {}", o.kind, o.name))
                .collect();
            waiting(
                b,
                &format!("Creating, in order: {}", order.join(", ")),
                *since,
                state,
            );
            b.text(
                "A step that fails removes what was created, in reverse order.",
                theme.muted,
            );
            (format!(" Clone {pod} "), " esc: hide (the create goes on) ")
        }
        ClonePhase::Created(c) => {
            created(b, c, state);
            (format!(" Clone {pod} "), " x: remove it   ⏎/esc: close ")
        }
        ClonePhase::RemoveConfirm(a) => {
            removal(b, a, state);
            let keys = if a.clone.snapshots.is_empty() {
                " ⏎/y: remove   n/esc: keep it "
            } else {
                " ⏎/y: remove   s: snapshots too   n/esc: keep it "
            };
            (format!(" Remove clone {pod}? "), keys)
        }
        ClonePhase::Removing { ask, since } => {
            let text = format!(
                "Removing clone {} (the pod first, waited for until it is gone)",
                ask.clone.key
            );
            waiting(b, &text, *since, state);
            (
                format!(" Remove clone {pod} "),
                " esc: hide (the removal goes on) ",
            )
        }
        ClonePhase::Removed(r) => {
            removed(b, r);
            (format!(" Remove clone {pod} "), " ⏎/esc: close ")
        }
        ClonePhase::Failed { doing, message } => {
            b.text(&format!("Failed {doing}:"), theme.base);
            // The flow joins what failed, the permission, the rollback with `; `: a line each.
            for (i, part) in message.split("; ").enumerate() {
                let style = if i == 0 { theme.error } else { theme.base };
                b.hang(if i == 0 { "" } else { "  " }, style, part, style);
            }
            (format!(" Clone {pod} "), " ⏎/esc: close ")
        }
    }
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(d) = state.clone.dialog.as_ref().filter(|d| d.shown) else {
        return;
    };
    // As wide as `dialog_overlay` makes it, inside the border.
    let mut body = Body::new(usize::from(100.min(area.width).saturating_sub(2)), theme);
    let (title, keys) = phase(&mut body, d, state);
    let text = Paragraph::new(body.lines)
        .wrap(Wrap { trim: false })
        .style(theme.base);
    let rect = super::dialog_overlay(frame, area, &text, 0);
    // Cut to the screen: scrolled (j/k), the rows left said in the bottom border.
    let total = u16::try_from(text.line_count(rect.width.saturating_sub(2))).unwrap_or(u16::MAX);
    let rows = rect.height.saturating_sub(2);
    let scroll = d.scroll.min(total.saturating_sub(rows));
    let below = total.saturating_sub(scroll + rows);
    let mut block = Block::bordered()
        .title(Span::styled(title, theme.title))
        .title_bottom(Span::styled(keys, theme.accent))
        .border_style(theme.error);
    if scroll > 0 || below > 0 {
        let marker = match (scroll, below) {
            (0, n) => format!(" ↓ {n} more: j/k "),
            (_, 0) => " ↑ j/k ".to_string(),
            (_, n) => format!(" ↕ {n} more: j/k "),
        };
        block = block.title_bottom(Line::from(Span::styled(marker, theme.title)).right_aligned());
    }
    frame.render_widget(text.scroll((scroll, 0)).block(block), rect);
}
