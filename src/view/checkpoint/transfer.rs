//! The checkpoint dialog's transfer phases: the live snapshot's confirmation (not a CRIU
//! image, holds memory and environment, not frozen, where it goes), the helper being looked
//! for or deployed, the bytes arriving (a gauge), and the copy in the case (path, SHA-256)
//! with the question whether to remove the node's copy.

use ratatui::text::{Line, Span};

use super::s;
use crate::case::error::human_bytes;
use crate::config::theme::Theme;
use crate::state::checkpoint::{
    CheckpointDialog, CheckpointPhase, HelperJob, Removal, TransferReport,
};

/// Body, keys and the gauge (ratio, label) of a transfer phase; None for the others.
pub type Shown<'a> = (Vec<Line<'a>>, &'static str, Option<(f64, String)>);

pub fn phase<'a>(d: &CheckpointDialog, theme: &Theme) -> Option<Shown<'a>> {
    Some(match &d.phase {
        CheckpointPhase::SnapshotConfirm { container } => (
            snapshot_question(d, container, theme),
            " ⏎/y: take the snapshot   esc/n: cancel ",
            None,
        ),
        CheckpointPhase::Helper { job, step, .. } => (
            vec![
                Line::from(Span::styled(
                    format!(
                        "{} of container {}:",
                        capital(job.what()),
                        s(&job.container)
                    ),
                    theme.info,
                )),
                Line::from(s(step)),
            ],
            " esc: hide (it goes on) ",
            None,
        ),
        CheckpointPhase::Transfer { job, done, total } => {
            let (ratio, label) = match total {
                Some(t) if *t > 0 => (
                    (*done as f64 / *t as f64).clamp(0.0, 1.0),
                    format!("{} / {}", human_bytes(*done), human_bytes(*t)),
                ),
                _ => (
                    0.0,
                    format!("{} (size not known in advance)", human_bytes(*done)),
                ),
            };
            let from = match &job.job {
                HelperJob::Fetch { node_path } => {
                    format!("{} on node {}", s(node_path), s(&job.node))
                }
                HelperJob::Snapshot { .. } => format!(
                    "container {} on node {}, read while it runs",
                    s(&job.container),
                    s(&job.node)
                ),
            };
            (
                vec![
                    Line::from(Span::styled(
                        format!("Receiving {} through the helper:", job.what()),
                        theme.info,
                    )),
                    Line::from(format!("  from {from}")),
                    Line::from(Span::styled(
                        "  hashed here while written and checked against the helper's SHA-256",
                        theme.muted,
                    )),
                ],
                " esc: hide (it goes on) ",
                Some((ratio, label)),
            )
        }
        CheckpointPhase::Transferred(r) => (result(r, theme), keys(r), None),
        _ => return None,
    })
}

fn capital(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn snapshot_question<'a>(d: &CheckpointDialog, container: &str, theme: &Theme) -> Vec<Line<'a>> {
    let (ns, pod, node, c) = (
        s(&d.pod.namespace),
        s(&d.pod.name),
        s(&d.node),
        s(container),
    );
    vec![
        Line::from(vec![
            Span::styled("Live snapshot  ", theme.header),
            Span::raw(format!("container {c} on node {node}, through the helper")),
        ]),
        Line::from(Span::styled(
            "• Not a CRIU image: it cannot be restored; it is a record to examine \
             (ktui checkpoint inspect).",
            theme.error,
        )),
        Line::from(Span::styled(
            "• It holds process memory and environment (secrets, tokens, keys): treat it as a \
             secret.",
            theme.error,
        )),
        Line::from(
            "• The processes are not frozen: they keep running while they are read, so the \
             read is not atomic (snapshot.json records its time window).",
        ),
        Line::from(
            "• Read: /proc of each process (cmdline, environ, maps, fds, sockets), its \
             writable memory, the files it changed, kernel log lines about it.",
        ),
        Line::from(
            "• Needs the helper's snapshot variant (DAC_READ_SEARCH, SYSLOG): asked first \
             when the node's helper lacks it.",
        ),
        Line::from("Written:"),
        Line::from(format!(
            "  • nothing on the node (streamed); in case {}, in artifacts/{ns}/{pod}/snapshots/:",
            s(&d.case_id)
        )),
        Line::from(vec![
            Span::styled(
                format!("    snapshot-{pod}_{ns}-{c}-<UTC>.tar"),
                theme.accent,
            ),
            Span::raw(" (+ .fetch.json: sizes, both SHA-256; a custody line)"),
        ]),
    ]
}

fn result<'a>(r: &TransferReport, theme: &Theme) -> Vec<Line<'a>> {
    let copy = match &r.result {
        Ok(copy) => copy,
        Err(e) => return vec![Line::from(Span::styled(s(e), theme.error))],
    };
    let sha = copy.entry.sha256.clone().unwrap_or_default();
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                "{} is in the case, verified ({}):",
                capital(r.job.what()),
                human_bytes(copy.entry.size)
            ),
            theme.info,
        )),
        Line::from(vec![
            Span::styled("  path    ", theme.header),
            Span::raw(s(&copy.entry.path)),
        ]),
        Line::from(vec![
            Span::styled("  sha256  ", theme.header),
            Span::raw(s(&sha)),
        ]),
    ];
    let HelperJob::Fetch { node_path } = &r.job.job else {
        lines.push(Line::from(Span::styled(
            "Not a CRIU image, not restorable; it holds process memory: keep it as a secret.",
            theme.muted,
        )));
        return lines;
    };
    let node = s(&r.job.node);
    lines.push(match &r.removal {
        Removal::Asking => Line::from(Span::styled(
            format!(
                "The archive is still on node {node} at {} and holds process memory. Remove the archive from the node? y/N",
                s(node_path)
            ),
            theme.accent,
        )),
        Removal::Removing => Line::from(format!("Removing {} from node {node}…", s(node_path))),
        Removal::Removed => Line::from(Span::styled(
            format!("Removed {} from node {node}.", s(node_path)),
            theme.info,
        )),
        Removal::Failed(e) => Line::from(Span::styled(
            format!("Still on node {node} at {}: {}", s(node_path), s(e)),
            theme.error,
        )),
        Removal::Manual => Line::from(Span::styled(
            format!(
                "The archive is still on node {node} at {} and holds process memory: this helper mounts that directory read-only, so remove it on the node (or through the snapshot helper) once it is no longer needed.",
                s(node_path)
            ),
            theme.accent,
        )),
        Removal::NotOffered => Line::from(""),
    });
    lines
}

fn keys(r: &TransferReport) -> &'static str {
    match (&r.removal, r.result.is_ok()) {
        (Removal::Asking, _) => " y: remove from the node   n/⏎/esc: keep it there   i: inspect ",
        (Removal::Removing, _) => " esc: hide (it goes on) ",
        (_, true) => " i: inspect   ⏎/esc: close ",
        (_, false) => " ⏎/esc: close ",
    }
}
