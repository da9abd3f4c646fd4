//! The table filter (`/`): a case-insensitive substring; a leading `!` negates it.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
}

impl Filter {
    /// Does any of the fields match (none, when negated)?
    pub fn matches<'a>(&self, haystack: impl IntoIterator<Item = &'a str>) -> bool {
        let (negate, needle) = match self.text.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, self.text.as_str()),
        };
        if needle.is_empty() {
            return true;
        }
        let hit = haystack
            .into_iter()
            .any(|h| contains_ignoring_case(h, needle));
        hit != negate
    }
}

/// Case-insensitive substring test; without allocating when both sides are ASCII (names,
/// reasons and node names nearly always are).
fn contains_ignoring_case(haystack: &str, needle: &str) -> bool {
    if haystack.is_ascii() && needle.is_ascii() {
        let (h, n) = (haystack.as_bytes(), needle.as_bytes());
        return n.len() <= h.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_ignores_case_ascii_and_not() {
        let f = |t: &str| Filter { text: t.into() };
        assert!(f("OOM").matches(["x", "OOMKilled"]));
        assert!(f("killed").matches(["OOMKilled"]));
        assert!(!f("!killed").matches(["OOMKilled"]));
        assert!(!f("oomkilledx").matches(["OOMKilled"]));
        assert!(f("ÉCHEC").matches(["pod-échec-1"]));
        assert!(f("").matches(std::iter::empty()));
    }
}
