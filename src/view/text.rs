//! Small formatting helpers shared by the panes.

use jiff::Timestamp;

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
}
