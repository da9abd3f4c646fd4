//! The controller's counters, as Prometheus text (exposition format 0.0.4) at `/metrics`.
//!
//! Six pinned families (issue 11), each a counter keyed by its labels. One [`Metrics`] is shared
//! (`Arc`) by whatever counts — the record driver, the clone flow, the helper session — and by
//! the HTTP server ([`serve`]) that renders it on each scrape. Every family is rendered with its
//! `# HELP` and `# TYPE` lines even before it has a series, so a dashboard or alert can tell
//! "none yet" from "not exported".

mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, MutexGuard};

pub use server::{HEAD_LIMIT, HEAD_TIMEOUT, serve};

/// Series a family keeps at most; label sets past it are counted under [`OVERFLOW`] in every
/// label, so a flood of new values (a namespace per crash, a reason nobody expected) cannot
/// grow the controller's memory or the scrape without bound, and is still counted.
pub const MAX_SERIES: usize = 1000;
/// The label value standing for every label set past [`MAX_SERIES`].
pub const OVERFLOW: &str = "_overflow";

/// One pinned family: its name, help text and label names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Family {
    // In name order: the render walks them in this order, so the output is sorted.
    Actions,
    CloneErrors,
    ClonesCreated,
    Crashes,
    EventsLost,
    Events,
}

impl Family {
    const ALL: [Family; 6] = [
        Family::Actions,
        Family::CloneErrors,
        Family::ClonesCreated,
        Family::Crashes,
        Family::EventsLost,
        Family::Events,
    ];

    fn name(self) -> &'static str {
        match self {
            Family::Actions => "ktui_actions_total",
            Family::CloneErrors => "ktui_clone_errors_total",
            Family::ClonesCreated => "ktui_clones_created_total",
            Family::Crashes => "ktui_crashes_total",
            Family::EventsLost => "ktui_events_lost_total",
            Family::Events => "ktui_events_total",
        }
    }

    fn help(self) -> &'static str {
        match self {
            Family::Actions => "Annotation-triggered actions finished, by action and result.",
            Family::CloneErrors => "Forensic clones that failed, by the step that failed.",
            Family::ClonesCreated => "Forensic clones created.",
            Family::Crashes => "Container crashes seen (each new termination), by reason.",
            Family::EventsLost => {
                "Helper events lost before they were recorded (the helper's own cumulative count), by source."
            }
            Family::Events => "Helper events recorded, by event type.",
        }
    }

    fn labels(self) -> &'static [&'static str] {
        match self {
            Family::Actions => &["action", "result"],
            Family::CloneErrors => &["namespace", "step"],
            Family::ClonesCreated => &["namespace"],
            Family::Crashes => &["namespace", "reason"],
            Family::EventsLost => &["source"],
            Family::Events => &["type"],
        }
    }
}

type Series = BTreeMap<Vec<String>, u64>;

/// The counters. Cheap to update from any task (one short lock); `Send + Sync`, shared as `Arc`.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<Family, Series>>,
}

impl Metrics {
    /// A crash seen in `namespace` (`ktui_crashes_total{namespace,reason}`).
    pub fn crash(&self, namespace: &str, reason: &str) {
        self.add(Family::Crashes, &[namespace, reason], 1);
    }

    /// A forensic clone created in `namespace` (`ktui_clones_created_total{namespace}`).
    pub fn clone_created(&self, namespace: &str) {
        self.add(Family::ClonesCreated, &[namespace], 1);
    }

    /// A clone in `namespace` that failed at `step` (`ktui_clone_errors_total{namespace,step}`).
    pub fn clone_error(&self, namespace: &str, step: &str) {
        self.add(Family::CloneErrors, &[namespace, step], 1);
    }

    /// `n` helper events of type `kind` recorded (`ktui_events_total{type}`).
    pub fn events(&self, kind: &str, n: u64) {
        self.add(Family::Events, &[kind], n);
    }

    /// The helper's cumulative lost-event count for `source` (`ktui_events_lost_total{source}`).
    /// The helper reports totals, not increments: the counter takes the largest total seen, so a
    /// stale or repeated report never makes it go back (a counter only grows).
    pub fn set_events_lost(&self, source: &str, total: u64) {
        let mut all = self.lock();
        let slot = slot(all.entry(Family::EventsLost).or_default(), &[source]);
        *slot = (*slot).max(total);
    }

    /// An annotation action finished (`ktui_actions_total{action,result}`).
    pub fn action(&self, action: &str, result: &str) {
        self.add(Family::Actions, &[action, result], 1);
    }

    fn add(&self, family: Family, labels: &[&str], n: u64) {
        let mut all = self.lock();
        let slot = slot(all.entry(family).or_default(), labels);
        *slot = slot.saturating_add(n);
    }

    /// A poisoned lock only means a panic elsewhere mid-update of a counter: the map is whole.
    fn lock(&self) -> MutexGuard<'_, BTreeMap<Family, Series>> {
        self.series.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exposition text: every family's `# HELP` and `# TYPE ... counter` lines, then its
    /// series sorted by label values, families in name order; label values escaped (`\\`,
    /// `\"`, `\n`).
    pub fn render(&self) -> String {
        let all = self.lock();
        let mut out = String::new();
        for family in Family::ALL {
            let name = family.name();
            let _ = writeln!(out, "# HELP {name} {}", family.help());
            let _ = writeln!(out, "# TYPE {name} counter");
            let Some(series) = all.get(&family) else {
                continue;
            };
            for (values, count) in series {
                let labels: Vec<String> = family
                    .labels()
                    .iter()
                    .zip(values)
                    .map(|(label, value)| format!("{label}=\"{}\"", escape(value)))
                    .collect();
                let _ = writeln!(out, "{name}{{{}}} {count}", labels.join(","));
            }
        }
        out
    }
}

/// The counter for `labels`, created at 0; past [`MAX_SERIES`] the overflow series.
fn slot<'a>(series: &'a mut Series, labels: &[&str]) -> &'a mut u64 {
    let key: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    let key = if series.contains_key(&key) || series.len() < MAX_SERIES {
        key
    } else {
        vec![OVERFLOW.to_string(); labels.len()]
    };
    series.entry(key).or_insert(0)
}

/// A label value as the exposition format writes it inside double quotes.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A parsed sample: name, (label, value) pairs, count.
    type Sample = (String, Vec<(String, String)>, u64);

    /// One sample line: `name{label="value",...} count`, escapes undone; `None` if it is not one.
    fn parse_sample(line: &str) -> Option<Sample> {
        let (name, rest) = line.split_once('{')?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        {
            return None;
        }
        let mut labels = Vec::new();
        let mut chars = rest.chars();
        loop {
            let label: String = chars.by_ref().take_while(|&c| c != '=').collect();
            if chars.next()? != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        'n' => value.push('\n'),
                        _ => return None,
                    },
                    '\n' => return None,
                    c => value.push(c),
                }
            }
            labels.push((label, value));
            match chars.next()? {
                ',' => continue,
                '}' => break,
                _ => return None,
            }
        }
        let count = chars.as_str().strip_prefix(' ')?.parse().ok()?;
        Some((name.to_string(), labels, count))
    }

    fn samples(text: &str) -> Vec<Sample> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| parse_sample(l).unwrap_or_else(|| panic!("not a sample: {l:?}\n{text}")))
            .collect()
    }

    #[test]
    fn every_family_has_help_and_type_even_when_empty() {
        let text = Metrics::default().render();
        let names = [
            "ktui_actions_total",
            "ktui_clone_errors_total",
            "ktui_clones_created_total",
            "ktui_crashes_total",
            "ktui_events_lost_total",
            "ktui_events_total",
        ];
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(
            types,
            names.map(|n| format!("{n} counter")),
            "families in name order:\n{text}"
        );
        for n in names {
            assert!(text.contains(&format!("# HELP {n} ")), "{n}:\n{text}");
        }
        assert!(samples(&text).is_empty());
    }

    #[test]
    fn labels_are_escaped_and_every_line_parses() {
        let m = Metrics::default();
        let hostile = "a\\b\"c\nd}e,f=g";
        m.crash("shop", hostile);
        m.crash("shop", "OOMKilled");
        m.crash("shop", "OOMKilled");
        m.clone_created("shop");
        m.clone_error("pay", "create pod");
        m.events("tcp_connect", 40);
        m.events("tcp_connect", 2);
        m.set_events_lost("ringbuf", 7);
        m.action("capture", "ok");
        let text = m.render();
        assert!(
            text.contains(r#"ktui_crashes_total{namespace="shop",reason="a\\b\"c\nd}e,f=g"} 1"#),
            "{text}"
        );
        let parsed = samples(&text);
        let find = |name: &str, labels: &[(&str, &str)]| {
            parsed
                .iter()
                .find(|(n, l, _)| {
                    n == name
                        && l.iter()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .eq(labels.iter().copied())
                })
                .map(|(.., c)| *c)
        };
        let crash = |reason| {
            find(
                "ktui_crashes_total",
                &[("namespace", "shop"), ("reason", reason)],
            )
        };
        assert_eq!(crash(hostile), Some(1), "the escapes read back:\n{text}");
        assert_eq!(crash("OOMKilled"), Some(2));
        assert_eq!(
            find("ktui_clones_created_total", &[("namespace", "shop")]),
            Some(1)
        );
        assert_eq!(
            find(
                "ktui_clone_errors_total",
                &[("namespace", "pay"), ("step", "create pod")]
            ),
            Some(1)
        );
        assert_eq!(
            find("ktui_events_total", &[("type", "tcp_connect")]),
            Some(42)
        );
        assert_eq!(
            find("ktui_events_lost_total", &[("source", "ringbuf")]),
            Some(7)
        );
        assert_eq!(
            find(
                "ktui_actions_total",
                &[("action", "capture"), ("result", "ok")]
            ),
            Some(1)
        );
        // Sorted: families in name order, series by label values within a family.
        let order: Vec<&String> = parsed.iter().map(|(n, ..)| n).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        let reasons: Vec<&str> = parsed
            .iter()
            .filter(|(n, ..)| n == "ktui_crashes_total")
            .map(|(_, l, _)| l[1].1.as_str())
            .collect();
        assert_eq!(reasons, ["OOMKilled", hostile]);
    }

    #[test]
    fn events_lost_keeps_the_largest_total() {
        let m = Metrics::default();
        m.set_events_lost("ringbuf", 10);
        m.set_events_lost("ringbuf", 4);
        m.set_events_lost("sampled", 3);
        let text = m.render();
        assert!(
            text.contains("ktui_events_lost_total{source=\"ringbuf\"} 10\n"),
            "{text}"
        );
        m.set_events_lost("ringbuf", 12);
        assert!(
            m.render()
                .contains("ktui_events_lost_total{source=\"ringbuf\"} 12\n")
        );
    }

    #[test]
    fn series_past_the_cap_are_counted_as_overflow() {
        let m = Metrics::default();
        for i in 0..MAX_SERIES + 5 {
            m.crash(&format!("ns-{i}"), "Error");
        }
        m.crash("ns-0", "Error");
        let text = m.render();
        let crashes: Vec<_> = samples(&text)
            .into_iter()
            .filter(|(n, ..)| n == "ktui_crashes_total")
            .collect();
        assert_eq!(crashes.len(), MAX_SERIES + 1);
        assert!(
            text.contains("ktui_crashes_total{namespace=\"_overflow\",reason=\"_overflow\"} 5\n")
        );
        assert!(text.contains("ktui_crashes_total{namespace=\"ns-0\",reason=\"Error\"} 2\n"));
    }

    #[test]
    fn metrics_are_send_and_sync() {
        fn shared<T: Send + Sync>() {}
        shared::<Metrics>();
    }
}
