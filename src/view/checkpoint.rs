//! The checkpoint dialog: node, container (←/→ among the pod's), that the container keeps
//! running, that the archive holds process memory, what is written where; then the request in
//! flight and its result (the archive's path on the node, or the precise reason there is none,
//! with the live snapshot offered where the kubelet cannot checkpoint).

mod transfer;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use crate::checkpoint::kubelet::{CHECKPOINT_DIR, DEFAULT_GRACE, KUBELET_RUNTIME_TIMEOUT};
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::AppState;
use crate::state::checkpoint::{CheckpointDialog, CheckpointPhase, CheckpointReport};
use crate::state::menu::{EntryStatus, MenuAction, needs};

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn question<'a>(d: &CheckpointDialog, state: &AppState, theme: &Theme) -> Vec<Line<'a>> {
    let (ns, pod) = (s(&d.pod.namespace), s(&d.pod.name));
    let node = s(&d.node);
    let mut lines = vec![Line::from(vec![
        Span::styled("Node       ", theme.header),
        Span::raw(format!("{node} (its kubelet has CRIU write the archive)")),
    ])];
    let mut container = vec![Span::styled("Container  ", theme.header)];
    if let Some(c) = d.choice() {
        let arrows = d.containers.len() > 1;
        container.push(Span::styled(if arrows { "◀ " } else { "" }, theme.accent));
        container.push(Span::styled(s(&c.name), theme.selected));
        container.push(Span::raw(format!(" ({})", s(&c.state))));
        if arrows {
            container.push(Span::styled(" ▶", theme.accent));
            container.push(Span::styled(
                format!(
                    "  {} of {}, ←/→ to pick",
                    d.selected + 1,
                    d.containers.len()
                ),
                theme.muted,
            ));
        }
    }
    lines.push(Line::from(container));
    let name = d.choice().map_or_else(String::new, |c| s(&c.name));
    if let Some(c) = d.choice().filter(|c| !c.running) {
        lines.push(Line::from(Span::styled(
            format!(
                "⚠ {name} is not running ({}): a dead process cannot be checkpointed; its logs are what is left",
                s(&c.state)
            ),
            theme.error,
        )));
    }
    lines.push(Line::from(
        "• The container keeps running: the kubelet checkpoints it leaving it running (its \
         processes stop only while CRIU copies them).",
    ));
    lines.push(Line::from(Span::styled(
        "• The archive holds the processes' memory (secrets, tokens, keys) and the files they \
         changed: treat it as a secret.",
        theme.error,
    )));
    lines.push(Line::from("Written:"));
    lines.push(Line::from(format!(
        "  • on node {node}, in {CHECKPOINT_DIR}/:"
    )));
    lines.push(Line::from(Span::styled(
        format!("    checkpoint-{pod}_{ns}-{name}-<time>.tar"),
        theme.accent,
    )));
    lines.push(Line::from(format!(
        "  • in case {}, in artifacts/{ns}/{pod}/checkpoints/:",
        s(&d.case_id)
    )));
    lines.push(Line::from(vec![
        Span::styled(format!("    {name}-<UTC>.request.json"), theme.accent),
        Span::raw(" (request, answer, times; a custody line)"),
    ]));
    let needs = needs(MenuAction::Checkpoint, &d.pod, "", true);
    let access = match state.access.status(&needs) {
        EntryStatus::Denied(missing) => Span::styled(
            format!(
                "⚠ you lack {}: the API server will refuse it",
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            theme.error,
        ),
        _ => Span::styled(
            "Needs create on nodes/proxy; newer kubelets also check the API server's own \
             identity (nodes/checkpoint).",
            theme.muted,
        ),
    };
    lines.push(Line::from(access));
    lines
}

fn result<'a>(r: &CheckpointReport, node: &str, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    match &r.node_path {
        Some(path) => {
            lines.push(Line::from(Span::styled(
                format!("Checkpoint written on node {}:", s(node)),
                theme.info,
            )));
            lines.push(Line::from(format!("  {}", s(path))));
            lines.push(Line::from(s(&r.message)));
            lines.push(Line::from(Span::styled(
                "It holds process memory: keep it as a secret, and remove it from the node once \
                 it is copied.",
                theme.muted,
            )));
        }
        None => {
            lines.push(Line::from(Span::styled(s(&r.message), theme.error)));
            if let Some(runs) = &r.node_runs {
                lines.push(Line::from(Span::styled(s(runs), theme.muted)));
            }
        }
    }
    match &r.recorded {
        Some(Ok((path, sha))) => lines.push(Line::from(Span::styled(
            format!(
                "Recorded: {} (sha256 {})",
                s(path),
                sha.get(..12).unwrap_or(sha)
            ),
            theme.muted,
        ))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(
            format!("Not recorded in the case: {}", s(e)),
            theme.error,
        ))),
        None => {}
    }
    lines
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(d) = state.checkpoint.as_ref().filter(|d| d.shown) else {
        return;
    };
    let (body, keys, gauge) = match transfer::phase(d, theme) {
        Some(shown) => shown,
        None => {
            let (body, keys) = kubelet_phase(d, state, theme);
            (body, keys, None)
        }
    };
    let text = Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .style(theme.base);
    let gauge_rows = u16::from(gauge.is_some());
    let rect = super::dialog_overlay(frame, area, &text, gauge_rows);
    let block = Block::bordered()
        .title(Span::styled(
            format!(" Checkpoint {} ", s(&d.pod.to_string())),
            theme.title,
        ))
        .title_bottom(Span::styled(keys, theme.accent))
        .border_style(theme.error);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [text_area, gauge_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(gauge_rows)]).areas(inner);
    frame.render_widget(text, text_area);
    if let Some((ratio, label)) = gauge {
        frame.render_widget(
            Gauge::default()
                .gauge_style(theme.accent)
                .ratio(ratio)
                .label(label),
            gauge_area,
        );
    }
}

fn kubelet_phase<'a>(
    d: &CheckpointDialog,
    state: &AppState,
    theme: &Theme,
) -> (Vec<Line<'a>>, &'static str) {
    match &d.phase {
        CheckpointPhase::Confirm => (
            question(d, state, theme),
            " ⏎: checkpoint   s: live snapshot instead   ←/→: container   esc: cancel ",
        ),
        CheckpointPhase::Running { container, since } => {
            let secs = state.now.duration_since(*since).as_secs().max(0);
            let waits = KUBELET_RUNTIME_TIMEOUT + DEFAULT_GRACE;
            let text = format!(
                "Asking the kubelet of node {} to checkpoint container {}… {secs} s (ktui waits up to {} s)",
                s(&d.node),
                s(container),
                waits.as_secs()
            );
            (
                vec![Line::from(Span::styled(text, theme.info))],
                " esc: hide (the checkpoint goes on) ",
            )
        }
        CheckpointPhase::Done(r) => (
            result(r, &d.node, theme),
            match (r.ok(), r.offers_snapshot, r.offers_logs) {
                (true, _, _) => " f: fetch into the case   ⏎/esc: close ",
                (_, true, _) => " s: live snapshot instead   ⏎/esc: close ",
                (_, _, true) => " l: its logs   ⏎/esc: close ",
                _ => " ⏎/esc: close ",
            },
        ),
        _ => (Vec::new(), " ⏎/esc: close "),
    }
}
