//! Where a capture's pcaps are: the case directory, then its files (the latest few) — in the
//! case with their SHA-256 and whether the node's copy is gone, on their way, or why not — and
//! the record. A file shows as in the case only once it is committed there.

use ratatui::text::{Line, Span};

use super::s;
use crate::case::error::human_bytes;
use crate::config::theme::Theme;
use crate::state::AppState;
use crate::state::packets::capture::{Capture, FileState, FileStatus, NodeCopy, RecordStatus};
use crate::view::text::{elide_end, elide_middle, width as width_of};

/// Files listed at most (the latest); the rest are counted.
const SHOWN: usize = 3;

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// A file by what tells it from the capture's others: `1-0002.pcap` (after the label).
fn short_name<'a>(c: &Capture, f: &'a FileState) -> &'a str {
    let name = f.name();
    name.strip_prefix(c.label.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(name)
}

fn file_line<'a>(c: &Capture, f: &FileState, width: usize, theme: &Theme) -> Line<'a> {
    let name = s(short_name(c, f));
    let size = if f.bytes > 0 {
        format!(" {} {} pkts", human_bytes(f.bytes), f.packets)
    } else {
        String::new()
    };
    let recovered = if f.recovered {
        " (open at the cut)"
    } else {
        ""
    };
    let (mark, text, style) = match &f.status {
        FileStatus::OnNode => ("·", "on the node, next to fetch".to_string(), theme.muted),
        FileStatus::Fetching { done, total } => {
            let pct = total
                .filter(|t| *t > 0)
                .map(|t| format!(" {}%", done.saturating_mul(100) / t))
                .unwrap_or_default();
            (
                "↓",
                format!("fetching{pct} ({})", human_bytes(*done)),
                theme.accent,
            )
        }
        FileStatus::InCase { sha256, node, .. } => {
            let node = match node {
                NodeCopy::Removing => "removing it from the node".to_string(),
                NodeCopy::Removed => "removed from the node".to_string(),
                NodeCopy::Kept(why) => format!("still on the node: {}", s(why)),
            };
            (
                "✓",
                format!("in case, sha256 {}…, {node}", short(sha256)),
                theme.info,
            )
        }
        FileStatus::Failed(why) => ("✗", format!("not in the case: {}", s(why)), theme.error),
    };
    let head = format!("{mark} {name}{size}{recovered}  ");
    let room = width.saturating_sub(width_of(&head));
    Line::from(vec![
        Span::styled(format!("{mark} "), style),
        Span::raw(format!("{name}{size}{recovered}  ")),
        Span::styled(elide_end(&text, room.max(8)), style),
    ])
}

pub(super) fn lines<'a>(state: &AppState, c: &Capture, width: u16, theme: &Theme) -> Vec<Line<'a>> {
    let width = usize::from(width);
    let case = state.evidence.case.as_ref().map_or_else(
        || "no case".to_string(),
        |(id, _)| format!("case {}", s(id)),
    );
    let head = format!(
        "pcaps: {} of {} in {case}, ",
        c.files_in_case(),
        c.files.len()
    );
    let dir = format!(
        "artifacts/{}/{}/pcaps/{}-*",
        s(&c.pod.namespace),
        s(&c.pod.name),
        s(&c.label)
    );
    let room = width.saturating_sub(width_of(&head)).max(12);
    let mut out = vec![Line::from(vec![
        Span::styled(head, theme.header),
        Span::raw(elide_middle(&dir, room)),
    ])];
    let skipped = c.files.len().saturating_sub(SHOWN);
    if skipped > 0 {
        out.push(Line::from(Span::styled(
            format!("  … {skipped} earlier file(s)"),
            theme.muted,
        )));
    }
    out.extend(
        c.files
            .iter()
            .skip(skipped)
            .map(|f| file_line(c, f, width, theme)),
    );
    match &c.record {
        RecordStatus::NotYet | RecordStatus::Writing if c.active() || c.segments.is_empty() => {}
        RecordStatus::NotYet | RecordStatus::Writing => out.push(Line::from(Span::styled(
            format!("  record {}: on its way", s(&c.record_name())),
            theme.muted,
        ))),
        RecordStatus::Written { path, sha256 } => out.push(Line::from(Span::styled(
            elide_end(
                &format!(
                    "✓ record {} (sha256 {}…)",
                    s(path.rsplit('/').next().unwrap_or(path)),
                    short(sha256)
                ),
                width,
            ),
            theme.info,
        ))),
        RecordStatus::Failed(e) => out.push(Line::from(Span::styled(
            elide_end(&format!("✗ record not in the case: {}", s(e)), width),
            theme.error,
        ))),
    }
    out
}
