//! Small formatting helpers shared by the panes.

use jiff::Timestamp;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

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
        assert_eq!(
            elide_middle("shop/checkout-6c9f8b7d54-7fb9x", 20),
            "shop/check…d54-7fb9x"
        );
        assert_eq!(elide_middle("abcdef", 2), "a…");
        // Wide characters count as two cells.
        assert_eq!(width(&elide_middle("日本語のポッド名", 7)), 7);
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
