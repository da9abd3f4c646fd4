//! The pod detail pane: crash facts, container statuses, env references, volumes, owners, events.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::text::{age, opt, wrap_items};
use crate::cluster::{ContainerRole, ContainerState, EnvSource, PodDetail};
use crate::config::theme::Theme;
use crate::sanitize;
use crate::state::{AppState, DetailState};

fn s(text: &str) -> String {
    sanitize::line(text).into_owned()
}

fn kv<'a>(key: &'a str, value: String, theme: &Theme) -> Vec<Span<'a>> {
    vec![
        Span::styled(key, theme.muted),
        Span::raw(value),
        Span::raw("  "),
    ]
}

/// Width of the label column of a container's fields (`    last state `).
const LABEL: usize = 15;

/// One field of a container: `    label      ` then `items`, wrapped to `width` with the
/// continuation lines indented under the first item.
fn field<'a>(
    label: &str,
    items: &[String],
    style: Style,
    width: usize,
    theme: &Theme,
) -> Vec<Line<'a>> {
    wrap_items(items, width.saturating_sub(LABEL))
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let head = if i == 0 {
                format!("    {label:<11}")
            } else {
                " ".repeat(LABEL)
            };
            Line::from(vec![
                Span::styled(head, theme.muted),
                Span::styled(text, style),
            ])
        })
        .collect()
}

fn state_lines<'a>(
    label: &str,
    st: &ContainerState,
    state: &AppState,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'a>> {
    let (text, style): (String, Style) = match st {
        ContainerState::Unknown => ("-".to_string(), theme.muted),
        ContainerState::Running { started_at } => (
            format!("Running (started {} ago)", age(state.now, *started_at)),
            theme.ok,
        ),
        ContainerState::Waiting { reason, message } => (
            format!(
                "Waiting: {}{}",
                s(reason.as_deref().unwrap_or("-")),
                message
                    .as_deref()
                    .filter(|m| !m.is_empty())
                    .map(|m| format!(" — {}", s(m)))
                    .unwrap_or_default()
            ),
            theme.not_started,
        ),
        ContainerState::Terminated {
            exit_code,
            signal,
            reason,
            message,
            finished_at,
            ..
        } => (
            format!(
                "Terminated: {} exit code {exit_code}{}{} ({} ago){}",
                s(reason.as_deref().unwrap_or("-")),
                crate::triage::signal_of(*exit_code)
                    .map(|sig| format!(" (signal {sig})"))
                    .unwrap_or_default(),
                signal
                    .map(|sig| format!(" signal {sig}"))
                    .unwrap_or_default(),
                age(state.now, *finished_at),
                message
                    .as_deref()
                    .map(|m| format!(" message: {}", s(m)))
                    .unwrap_or_default()
            ),
            if *exit_code == 0 {
                theme.ok
            } else {
                theme.crashed
            },
        ),
    };
    field(label, &[text], style, width, theme)
}

fn detail_lines<'a>(
    d: &PodDetail,
    ds: &DetailState,
    state: &AppState,
    theme: &Theme,
    width: usize,
) -> Vec<Line<'a>> {
    let p = &d.summary;
    let mut lines = Vec::new();
    let mut head = kv("Pod ", s(&p.key.to_string()), theme);
    head.extend(kv("Phase ", s(&p.phase), theme));
    if let Some(r) = &p.reason {
        head.extend(kv("Reason ", s(r), theme));
    }
    head.extend(kv("Node ", s(p.node.as_deref().unwrap_or("-")), theme));
    head.extend(kv("IP ", s(d.pod_ip.as_deref().unwrap_or("-")), theme));
    lines.push(Line::from(head));
    if let Some(m) = &p.message {
        lines.push(Line::from(kv("Message ", s(m), theme)));
    }
    let chain: Vec<String> = d
        .owner_chain
        .iter()
        .map(|o| s(&format!("{}/{}", o.kind, o.name)))
        .collect();
    let mut owners = kv(
        "Owners ",
        if chain.is_empty() {
            "none (bare pod)".to_string()
        } else {
            chain.join(" → ")
        },
        theme,
    );
    owners.extend(kv("Workload ", s(&p.workload.to_string()), theme));
    owners.extend(kv(
        "ServiceAccount ",
        s(d.service_account.as_deref().unwrap_or("-")),
        theme,
    ));
    lines.push(Line::from(owners));
    for r in state.pods.records_of(&ds.key) {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", r.category.as_str()), theme.crashed),
            Span::raw(format!(
                "{} {} exit {} signal {} restarts {} signature {}",
                s(r.container.as_deref().unwrap_or("(pod)")),
                s(&r.display_reason()),
                opt(r.exit_code),
                opt(r.signal),
                opt(r.restarts),
                r.signature.get(..16).unwrap_or(&r.signature),
            )),
        ]));
    }
    lines.push(Line::from(Span::styled("Containers", theme.header)));
    for c in &p.containers {
        let role = match c.role {
            ContainerRole::Main => "",
            ContainerRole::Init => " [init]",
            ContainerRole::Sidecar => " [sidecar]",
            ContainerRole::Ephemeral => " [ephemeral]",
        };
        lines.push(Line::from(vec![
            Span::styled(format!("  {}{role}", s(&c.name)), theme.accent),
            Span::styled(
                format!("  restarts {}  ready {}", c.restarts, c.ready),
                theme.muted,
            ),
        ]));
        lines.extend(field("image", &[s(&c.image)], theme.base, width, theme));
        if let Some(id) = &c.image_id {
            lines.extend(field("imageID", &[s(id)], theme.base, width, theme));
        }
        lines.extend(state_lines("state", &c.state, state, theme, width));
        lines.extend(state_lines(
            "last state",
            &c.last_state,
            state,
            theme,
            width,
        ));
        if let Some(spec) = d.containers.iter().find(|x| x.name == c.name) {
            if !spec.env.is_empty() {
                let env: Vec<String> = spec
                    .env
                    .iter()
                    .map(|e| match &e.source {
                        EnvSource::Literal => s(&e.name),
                        EnvSource::ConfigMapKey { name, key } => {
                            format!("{} ← configMap {}/{}", s(&e.name), s(name), s(key))
                        }
                        EnvSource::SecretKey { name, key } => {
                            format!("{} ← secret {}/{}", s(&e.name), s(name), s(key))
                        }
                        EnvSource::Field(f) => format!("{} ← field {}", s(&e.name), s(f)),
                        EnvSource::Resource(r) => format!("{} ← resource {}", s(&e.name), s(r)),
                        EnvSource::ConfigMapAll { name } => {
                            format!("{}* ← all of configMap {}", s(&e.name), s(name))
                        }
                        EnvSource::SecretAll { name } => {
                            format!("{}* ← all of secret {}", s(&e.name), s(name))
                        }
                    })
                    .collect();
                lines.extend(field("env", &env, theme.base, width, theme));
            }
            for m in &spec.mounts {
                lines.extend(field("mount", &[s(m)], theme.base, width, theme));
            }
        }
    }
    if !d.volumes.is_empty() {
        lines.push(Line::from(Span::styled("Volumes", theme.header)));
        for v in &d.volumes {
            lines.push(Line::from(format!("  {}: {}", s(&v.name), s(&v.source))));
        }
    }
    lines
}

pub fn render(frame: &mut Frame<'_>, area: Rect, state: &AppState, theme: &Theme) {
    let Some(ds) = &state.detail else {
        return;
    };
    let mut lines: Vec<Line<'_>> = match &ds.detail {
        None => vec![Line::from(Span::styled("Loading pod…", theme.muted))],
        Some(Err(e)) => vec![Line::from(Span::styled(
            format!("Cannot load pod: {}", s(e)),
            theme.error,
        ))],
        Some(Ok(d)) => detail_lines(
            d,
            ds,
            state,
            theme,
            usize::from(area.width.saturating_sub(2)),
        ),
    };
    lines.push(Line::from(Span::styled(
        "Events (oldest first)",
        theme.header,
    )));
    match &ds.events {
        None => lines.push(Line::from(Span::styled("  loading…", theme.muted))),
        Some(Err(e)) => lines.push(Line::from(Span::styled(format!("  {}", s(e)), theme.error))),
        Some(Ok(events)) if events.is_empty() => {
            lines.push(Line::from(Span::styled("  none", theme.muted)))
        }
        Some(Ok(events)) => {
            for e in events {
                let style = if e.type_ == "Warning" {
                    theme.not_started
                } else {
                    theme.base
                };
                lines.push(Line::from(vec![
                    Span::styled(
                        format!("  {:>4} ", age(state.now, e.last_seen)),
                        theme.muted,
                    ),
                    Span::styled(
                        format!("{} {} ×{} ", s(&e.type_), s(&e.reason), e.count),
                        style,
                    ),
                    Span::raw(s(&e.message)),
                ]));
            }
        }
    }
    let title = Span::styled(format!(" Detail {} ", s(&ds.key.to_string())), theme.title);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(ds.scroll).unwrap_or(u16::MAX), 0))
            .block(Block::bordered().title(title).border_style(theme.border)),
        area,
    );
}
