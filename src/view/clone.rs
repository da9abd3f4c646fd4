//! The clone dialog: the cluster being read; then the clone's name and namespace, node, images,
//! the existing clone of the crash (offered first, when there is one), every warning, what is
//! created in order, what was changed from the source, the log hash stamped and where the
//! records go; then the create in flight, and the shell line or what failed. On a clone, the
//! removal question. The text scrolls (j/k) where the screen is too small, with a marker.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::case::error::human_bytes;
use crate::clone::toolkit;
use crate::cluster::ObjectRef;
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::clone::{
    CloneDialog, ClonePhase, CloneReady, CreatedClone, RemovalAsk, RemovedClone,
};
use crate::state::menu::{EntryStatus, MenuAction, needs};
use crate::view::text::age;

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn field<'a>(name: &'static str, value: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!("{name:<11}"), theme.header),
        Span::raw(value),
    ])
}

fn warning<'a>(text: &str, theme: &Theme) -> Line<'a> {
    Line::from(Span::styled(format!("⚠ {}", s(text)), theme.error))
}

fn bullet<'a>(text: String) -> Line<'a> {
    Line::from(format!("  • {text}"))
}

fn object(o: &ObjectRef) -> String {
    s(&format!("{} {}", o.kind, o.name))
}

/// The question: the existing clone first (it is offered instead), then what is created.
fn question<'a>(d: &CloneDialog, r: &CloneReady, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let c = &r.summary;
    let mut lines = Vec::new();
    if let Some(e) = &c.existing {
        lines.push(warning(
            &format!(
                "a clone of this crash signature exists: {} in {}, created {} ago; it stands for \
                 {} crashed container(s), {} restart(s)",
                e.name,
                e.namespace,
                age(state.now, Some(e.created_at)),
                r.tally.records,
                r.tally.restarts
            ),
            theme,
        ));
        lines.push(Line::from(Span::styled(
            if c.can_force() {
                "  ⏎ selects it instead of making another; f creates another anyway; x removes it"
            } else {
                "  it is the clone of this very pod: ⏎ selects it; x removes it (then c makes a new one)"
            },
            theme.accent,
        )));
        lines.push(Line::from(format!(
            "  its shell: {}",
            s(&crate::state::clone::exec_line(
                &crate::cluster::PodKey::new(&e.namespace, &e.name),
                &c.shell_container
            ))
        )));
    }
    lines.push(field(
        "Clone",
        format!(
            "{} in namespace {} (from {}, container {})",
            s(&c.name),
            s(&c.namespace),
            s(&c.source.to_string()),
            s(&c.container)
        ),
        theme,
    ));
    let node = match (&c.node, &c.source_node) {
        (Some(n), _) => format!("{} (the source's; n: any node)", s(n)),
        (None, Some(src)) => format!("any node (n: pin it to the source's, {})", s(src)),
        (None, None) => "any node".to_string(),
    };
    lines.push(field("Node", node, theme));
    let cni = match &c.cni {
        Some(cni) if cni.enforces => format!("{} (enforces NetworkPolicies)", s(&cni.name)),
        Some(cni) => format!("{} (does NOT enforce NetworkPolicies)", s(&cni.name)),
        None => "not recognised in the kube-system DaemonSets".to_string(),
    };
    lines.push(field("CNI", cni, theme));
    for (i, image) in c.images.iter().enumerate() {
        let pinned = if image.pinned {
            "pinned to the digest it ran"
        } else {
            "NOT pinned: the digest it ran is not known"
        };
        lines.push(field(
            if i == 0 { "Image" } else { "" },
            format!("{}: {} ({pinned})", s(&image.container), s(&image.image)),
            theme,
        ));
    }
    if let Some(t) = &c.toolkit_image {
        lines.push(field(
            "Toolkit",
            format!("{} (busybox into {}, non-root)", s(t), toolkit::DIR),
            theme,
        ));
    }
    lines.extend(c.warnings.iter().map(|w| warning(w, theme)));
    lines.push(Line::from("Creates, in order:"));
    lines.extend(c.creates.iter().enumerate().map(|(i, o)| {
        Line::from(vec![
            Span::raw(format!("  {}. ", i + 1)),
            Span::styled(format!("{} {}", s(&o.kind), s(&o.name)), theme.accent),
            Span::raw(if o.what.is_empty() {
                String::new()
            } else {
                format!(": {}", s(&o.what))
            }),
        ])
    }));
    if !c.notes.is_empty() {
        lines.push(Line::from("Changed from the source:"));
        lines.extend(c.notes.iter().map(|n| bullet(s(n))));
    }
    match &c.log {
        Some(l) => {
            let mut what = format!(
                "previous log of {} ({}), stamped as ktui.dev/log-sha256 on the clone and the ConfigMap",
                s(&l.container),
                human_bytes(l.size)
            );
            if l.truncated {
                what.push_str("; the ConfigMap keeps its last 1 MiB, the case the whole log");
            }
            lines.push(field("Log", what, theme));
            lines.push(Line::from(Span::styled(
                format!("  sha256 {}", s(&l.sha256)),
                theme.accent,
            )));
            if let Some(p) = &l.case_path {
                lines.push(Line::from(format!("  in the case: {}", s(p))));
            }
        }
        None => lines.push(field(
            "Log",
            "no previous log was captured: nothing is stamped (the ConfigMap says why)".to_string(),
            theme,
        )),
    }
    let case = state
        .evidence
        .case
        .as_ref()
        .map_or_else(|| "-".to_string(), |(id, _)| s(id));
    lines.push(field(
        "Recorded",
        format!(
            "in case {case}, artifacts/{}/{}/clone/ (each object, the plan, custody lines)",
            s(&c.source.namespace),
            s(&c.source.name)
        ),
        theme,
    ));
    let needs = needs(MenuAction::Clone, &d.pod, "", true);
    match state.access.status(&needs) {
        EntryStatus::Denied(missing) => lines.push(warning(
            &format!(
                "you lack {}: the API server will refuse it (ask an admin for a Role granting it)",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            theme,
        )),
        EntryStatus::Partial(less) => lines.push(Line::from(Span::styled(
            format!("With your permissions: {}", s(&less.join("; "))),
            theme.muted,
        ))),
        _ => {}
    }
    lines
}

fn created<'a>(c: &CreatedClone, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "Created clone {} in namespace {}:",
            s(&c.key.name),
            s(&c.key.namespace)
        ),
        theme.info,
    ))];
    lines.extend(c.created.iter().map(|o| bullet(object(o))));
    lines.push(Line::from(
        "Its shell (the toolkit's: works in a distroless image too):",
    ));
    lines.push(Line::from(Span::styled(
        format!("  {}", s(&c.exec_line())),
        theme.accent,
    )));
    let case = state
        .evidence
        .case
        .as_ref()
        .map_or_else(|| "-".to_string(), |(id, _)| s(id));
    if c.recorded.is_empty() {
        lines.push(warning("nothing was recorded in the case", theme));
    } else {
        lines.push(Line::from(format!("Recorded in case {case}:")));
        lines.extend(c.recorded.iter().map(|p| {
            Line::from(Span::styled(format!("  {}", s(p)), theme.muted))
        }));
    }
    lines
}

fn removal<'a>(a: &RemovalAsk, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let c = &a.clone;
    let mut about = format!(
        "{} in namespace {} is a forensic clone",
        s(&c.key.name),
        s(&c.key.namespace)
    );
    match (&c.source_pod, c.created_at) {
        (Some(src), at) => about.push_str(&format!(
            " of {}, created {} ago",
            s(src),
            age(state.now, at)
        )),
        (None, Some(at)) => about.push_str(&format!(", created {} ago", age(state.now, Some(at)))),
        (None, None) => {}
    }
    let mut lines = vec![Line::from(about), Line::from("Deletes:")];
    lines.extend(c.deletes().into_iter().map(|d| bullet(s(&d))));
    if c.snapshots.is_empty() {
        lines.push(Line::from(Span::styled(
            "It has no VolumeSnapshots.",
            theme.muted,
        )));
    } else {
        let names = s(&c.snapshots.join(", "));
        lines.push(if a.with_snapshots {
            warning(
                &format!("its VolumeSnapshots too: {names} (s: keep them)"),
                theme,
            )
        } else {
            Line::from(format!(
                "Its VolumeSnapshots are kept: {names} (s: delete them too)"
            ))
        });
    }
    lines.push(Line::from(Span::styled(
        "Each deletion is a custody line in the case; the clone's records stay there.",
        theme.muted,
    )));
    lines
}

fn removed<'a>(r: &RemovedClone, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        format!("Removed clone {}:", s(&r.key.to_string())),
        theme.info,
    ))];
    lines.extend(r.deleted.iter().map(|o| bullet(format!("deleted {}", object(o)))));
    lines.extend(
        r.already_gone
            .iter()
            .map(|o| bullet(format!("already gone: {}", object(o)))),
    );
    if !r.snapshots_kept.is_empty() {
        lines.push(Line::from(format!(
            "VolumeSnapshots kept: {}",
            s(&r.snapshots_kept.join(", "))
        )));
    }
    lines
}

fn waiting<'a>(text: String, since: jiff::Timestamp, state: &AppState, theme: &Theme) -> Line<'a> {
    let secs = state.now.duration_since(since).as_secs().max(0);
    Line::from(Span::styled(format!("{text}… {secs} s"), theme.info))
}

/// The body, title and keys of each phase.
fn phase<'a>(
    d: &CloneDialog,
    state: &AppState,
    theme: &Theme,
) -> (Vec<Line<'a>>, String, &'static str) {
    let pod = s(&d.pod.to_string());
    match &d.phase {
        ClonePhase::Preparing { since } => (
            vec![waiting(
                format!(
                    "Reading the cluster for a clone of {pod}: the pod, its previous log, clones \
                     of its crash, the namespace's selectors and policies, the CNI"
                ),
                *since,
                state,
                theme,
            )],
            format!(" Clone {pod} "),
            " esc: cancel ",
        ),
        ClonePhase::Confirm(r) => (
            question(d, r, state, theme),
            format!(" Clone {pod} "),
            if r.summary.can_force() {
                " ⏎: select it   f: create another   x: remove it   esc: cancel "
            } else if r.summary.existing.is_some() {
                " ⏎: select it   x: remove it   esc: cancel "
            } else {
                " ⏎: create   n: node   esc: cancel "
            },
        ),
        ClonePhase::Creating { ready, since } => {
            let order: Vec<String> = ready
                .summary
                .creates
                .iter()
                .map(|o| s(&format!("{} {}", o.kind, o.name)))
                .collect();
            (
                vec![
                    waiting(
                        format!("Creating, in order: {}", order.join(", ")),
                        *since,
                        state,
                        theme,
                    ),
                    Line::from(Span::styled(
                        "A step that fails removes what was created, in reverse order.",
                        theme.muted,
                    )),
                ],
                format!(" Clone {pod} "),
                " esc: hide (the create goes on) ",
            )
        }
        ClonePhase::Created(c) => (
            created(c, state, theme),
            format!(" Clone {pod} "),
            " x: remove it   ⏎/esc: close ",
        ),
        ClonePhase::RemoveConfirm(a) => (
            removal(a, state, theme),
            format!(" Remove clone {pod}? "),
            " ⏎/y: remove   s: snapshots too   n/esc: keep it ",
        ),
        ClonePhase::Removing { ask, since } => (
            vec![waiting(
                format!("Removing clone {}", s(&ask.clone.key.to_string())),
                *since,
                state,
                theme,
            )],
            format!(" Remove clone {pod} "),
            " esc: hide (the removal goes on) ",
        ),
        ClonePhase::Removed(r) => (
            removed(r, theme),
            format!(" Remove clone {pod} "),
            " ⏎/esc: close ",
        ),
        ClonePhase::Failed { doing, message } => (
            vec![
                Line::from(format!("Failed {}:", s(doing))),
                Line::from(Span::styled(s(message), theme.error)),
            ],
            format!(" Clone {pod} "),
            " ⏎/esc: close ",
        ),
    }
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(d) = state.clone.dialog.as_ref().filter(|d| d.shown) else {
        return;
    };
    let (body, title, keys) = phase(d, state, theme);
    let text = Paragraph::new(body)
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
