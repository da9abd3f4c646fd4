//! Small formatting helpers shared by the panes.

use jiff::Timestamp;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

use crate::cluster::Workload;

/// `42s`, `5m`, `3h`, `2d` since `then`; `-` when unknown. The one age format of the console
/// and the CLI (`ktui helper list`).
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

/// Display width in terminal cells.
pub fn width(s: &str) -> usize {
    s.width()
}

/// The longest prefix of `s` at most `cells` wide.
fn prefix(s: &str, cells: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += c.width().unwrap_or(0);
        if used > cells {
            return &s[..i];
        }
    }
    s
}

/// The longest suffix of `s` at most `cells` wide.
fn suffix(s: &str, cells: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices().rev() {
        used += c.width().unwrap_or(0);
        if used > cells {
            return &s[i + c.len_utf8()..];
        }
    }
    s
}

/// `s` cut to `cells` with `…` at the end (prose: the start says the most).
pub fn elide_end(s: &str, cells: usize) -> String {
    if width(s) <= cells {
        return s.to_string();
    }
    if cells == 0 {
        return String::new();
    }
    format!("{}…", prefix(s, cells - 1))
}

/// `addr:port`, `[v6]:port` (or the address alone) as `state::sockets::summary::endpoint`
/// writes it, the address cut in the middle to `addr_cells` (whether it is IPv6 told before
/// the cut): ports are never cut. `addr` is shown as given (sanitise it first).
pub fn endpoint(addr: &str, port: Option<u16>, addr_cells: usize) -> String {
    let v6 = addr.contains(':');
    let addr = elide_middle(addr, addr_cells);
    match (port, v6) {
        (Some(p), true) => format!("[{addr}]:{p}"),
        (Some(p), false) => format!("{addr}:{p}"),
        (None, _) => addr,
    }
}

/// `s` cut to `cells` with `…` in the middle (names and addresses: both ends tell them apart,
/// e.g. a pod's generated suffix).
pub fn elide_middle(s: &str, cells: usize) -> String {
    if width(s) <= cells {
        return s.to_string();
    }
    if cells < 3 {
        return elide_end(s, cells);
    }
    let tail = suffix(s, (cells - 1) / 2);
    format!("{}…{tail}", prefix(s, cells - 1 - width(tail)))
}

/// Whole `items` packed into lines at most `cells` wide, joined by `sep`; an item wider than a
/// line gets a line of its own, cut at the end. Never splits an item across lines.
pub fn pack(items: &[String], sep: &str, cells: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for item in items {
        if !line.is_empty() && width(&line) + width(sep) + width(item) <= cells {
            line.push_str(sep);
            line.push_str(item);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        line = elide_end(item, cells);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
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
    fn ages() {
        let now = Timestamp::from_second(100_000).unwrap();
        let at = |s: i64| Some(Timestamp::from_second(100_000 - s).unwrap());
        assert_eq!(age(now, at(5)), "5s");
        assert_eq!(age(now, at(300)), "5m");
        assert_eq!(age(now, at(7200)), "2h");
        assert_eq!(age(now, at(90_000)), "1d");
        assert_eq!(age(now, None), "-");
    }

    #[test]
    fn eliding_keeps_the_width_and_the_telling_ends() {
        assert_eq!(elide_end("abcdef", 6), "abcdef");
        assert_eq!(elide_end("abcdef", 4), "abc…");
        assert_eq!(elide_end("abcdef", 0), "");
        assert_eq!(elide_end("wait-for-config", 14), "wait-for-conf…");
        assert_eq!(elide_end("wait-for-config", 1), "…");
        assert_eq!(elide_end("日本語", 4), "日…");
        assert_eq!(
            elide_middle("shop/checkout-6c9f8b7d54-7fb9x", 20),
            "shop/check…d54-7fb9x"
        );
        assert_eq!(elide_middle("abcdef", 2), "a…");
        // Wide characters count as two cells.
        assert_eq!(width(&elide_middle("日本語のポッド名", 7)), 7);
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
    fn packing_never_splits_an_item() {
        let items: Vec<String> = ["ECONNREFUSED 12", "EHOSTUNREACH 1", "ETIMEDOUT 3"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            pack(&items, ", ", 32),
            vec!["ECONNREFUSED 12, EHOSTUNREACH 1", "ETIMEDOUT 3"]
        );
        assert_eq!(pack(&items, ", ", 10)[0], "ECONNREFU…");
        assert!(pack(&[], ", ", 10).is_empty());
    }
}
