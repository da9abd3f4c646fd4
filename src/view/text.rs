//! Small formatting helpers shared by the panes.

use std::borrow::Cow;

use jiff::Timestamp;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use crate::cluster::Workload;

/// `42s`, `5m`, `3h`, `2d` since `then`; `-` when unknown.
pub fn age(now: Timestamp, then: Option<Timestamp>) -> String {
    let Some(then) = then else {
        return "-".to_string();
    };
    let secs = now.duration_since(then).as_secs().max(0);
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `text` cut to `width` columns, its last one an ellipsis when anything was cut.
pub fn ellipsize(text: &str, width: usize) -> Cow<'_, str> {
    if text.width() <= width {
        return Cow::Borrowed(text);
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    Cow::Owned(out)
}

/// `deploy/checkout`: a workload with its kind as kubectl's short name (the kind itself when it
/// has none).
pub fn workload(w: &Workload) -> String {
    let kind = match w.kind.as_str() {
        "Deployment" => "deploy",
        "StatefulSet" => "sts",
        "DaemonSet" => "ds",
        "Job" => "job",
        "CronJob" => "cj",
        "ReplicaSet" => "rs",
        "ReplicationController" => "rc",
        "Pod" => "po",
        other => other,
    };
    format!("{kind}/{}", w.name)
}

/// `-` for None.
pub fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Lay `items` out on lines at most `width` columns wide, `, ` between them. An item goes
/// whole onto the next line when it does not fit on the current one; only an item wider than a
/// whole line is broken (at its last space that fits, else mid-word).
pub fn wrap_items(items: &[String], width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for (i, item) in items.iter().enumerate() {
        let item = if i + 1 < items.len() {
            format!("{item},")
        } else {
            item.clone()
        };
        let gap = usize::from(!line.is_empty());
        if line.width() + gap + item.width() <= width {
            if gap == 1 {
                line.push(' ');
            }
            line.push_str(&item);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = item.as_str();
        while rest.width() > width {
            let (head, tail) = split_at_width(rest, width);
            lines.push(head.trim_end().to_string());
            rest = tail.trim_start();
        }
        line.push_str(rest);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The longest prefix of `text` at most `width` columns wide, ending after a space when there is
/// one; never empty (a character wider than `width` goes alone).
fn split_at_width(text: &str, width: usize) -> (&str, &str) {
    let mut end = 0;
    let mut used = 0;
    let mut last_space = None;
    for (i, c) in text.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width && end > 0 {
            break;
        }
        used += w;
        end = i + c.len_utf8();
        if c == ' ' {
            last_space = Some(end);
        }
    }
    let cut = match last_space {
        Some(at) if end < text.len() => at,
        _ => end,
    };
    text.split_at(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsis_marks_a_cut() {
        assert_eq!(ellipsize("wait-for-config", 15), "wait-for-config");
        assert_eq!(ellipsize("wait-for-config", 14), "wait-for-conf…");
        assert_eq!(ellipsize("wait-for-config", 1), "…");
        assert_eq!(ellipsize("wait-for-config", 0), "");
        assert_eq!(ellipsize("日本語", 4), "日…");
    }

    #[test]
    fn workload_kinds_as_kubectl_short_names() {
        let w = |kind: &str| {
            workload(&Workload {
                kind: kind.into(),
                name: "x".into(),
            })
        };
        assert_eq!(
            [
                "Deployment",
                "StatefulSet",
                "DaemonSet",
                "Job",
                "CronJob",
                "ReplicaSet",
                "Pod"
            ]
            .map(w),
            ["deploy/x", "sts/x", "ds/x", "job/x", "cj/x", "rs/x", "po/x"]
        );
        assert_eq!(w("Rollout"), "Rollout/x");
    }

    #[test]
    fn items_wrap_whole_and_long_ones_break_at_spaces() {
        let items: Vec<String> = ["LOG_LEVEL", "DATABASE_URL ← secret db/url", "POD_IP"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            wrap_items(&items, 30),
            ["LOG_LEVEL,", "DATABASE_URL ← secret db/url,", "POD_IP"]
        );
        assert_eq!(
            wrap_items(&items, 80),
            ["LOG_LEVEL, DATABASE_URL ← secret db/url, POD_IP"]
        );
        assert_eq!(
            wrap_items(&items, 12),
            [
                "LOG_LEVEL,",
                "DATABASE_URL",
                "← secret",
                "db/url,",
                "POD_IP"
            ]
        );
        assert_eq!(
            wrap_items(&["abcdefgh".to_string()], 3),
            ["abc", "def", "gh"]
        );
        assert_eq!(wrap_items(&[], 10), [""]);
        // Wide characters count double; a zero width never loops.
        assert_eq!(wrap_items(&["日本語".to_string()], 4), ["日本", "語"]);
        assert_eq!(wrap_items(&["ab".to_string()], 0), ["a", "b"]);
    }

    #[test]
    fn ages() {
        let now = Timestamp::from_second(100_000).unwrap();
        let at = |s: i64| Some(Timestamp::from_second(100_000 - s).unwrap());
        assert_eq!(age(now, at(5)), "5s");
        assert_eq!(age(now, at(300)), "5m");
        assert_eq!(age(now, at(7200)), "2h");
        assert_eq!(age(now, at(90_000)), "1d");
        assert_eq!(age(now, None), "-");
    }
}
