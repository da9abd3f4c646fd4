//! The clone's name and the label value naming its source: always valid Kubernetes names.

use crate::case::custody::sha256_hex;

/// A DNS label (RFC 1123) is at most this long: pod hostnames, label values.
const MAX_LABEL: usize = 63;
/// `-forensic-` + 8 hex.
const SUFFIX_LEN: usize = 10 + 8;

/// `<pod>-forensic-<first 8 hex of the signature>`, a valid DNS label of at most 63
/// characters: the pod part is cut (and a `.` in it, valid in a pod name but not in a
/// hostname, becomes `-`) so that the suffix always fits.
pub fn clone_name(pod: &str, signature: &str) -> String {
    let mut hex: String = signature
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .take(8)
        .collect();
    if hex.len() < 8 {
        // Not a signature as triage makes them: derive the 8 hex from it anyway.
        hex = sha256_hex(signature.as_bytes())[..8].to_string();
    }
    let mut prefix: String = pod
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '-') => c,
            _ => '-',
        })
        .take(MAX_LABEL - SUFFIX_LEN)
        .collect();
    prefix = prefix.trim_matches('-').to_string();
    if prefix.is_empty() {
        prefix = "pod".to_string();
    }
    format!("{prefix}-forensic-{hex}")
}

/// The `ktui.dev/source-pod` label value: the pod's name when it fits in 63 characters, else
/// its first 54 characters, `-`, and 8 hex of its SHA-256 (the full name is the annotation).
pub fn label_value(name: &str) -> String {
    if name.len() <= MAX_LABEL {
        return name.to_string();
    }
    let head: String = name.chars().take(54).collect();
    format!("{head}-{}", &sha256_hex(name.as_bytes())[..8])
}

/// Whether `s` is a DNS label: 1–63 of `[a-z0-9-]`, alphanumeric at both ends.
pub fn is_dns_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_LABEL
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// Whether `s` is a label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends
/// (or empty).
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= MAX_LABEL
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric())
}

/// `base` + `-` + `suffix`, `base` cut so that the whole is at most `max` characters and
/// ends alphanumeric.
pub fn joined(base: &str, suffix: &str, max: usize) -> String {
    let room = max.saturating_sub(suffix.len() + 1);
    let cut: String = base.chars().take(room).collect();
    format!("{}-{suffix}", cut.trim_end_matches(['-', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "0123abcdef9876543210";

    #[test]
    fn short_names_keep_the_pod_name() {
        assert_eq!(
            clone_name("api-6b7c8d9e4f-abcde", SIG),
            "api-6b7c8d9e4f-abcde-forensic-0123abcd"
        );
    }

    #[test]
    fn long_and_odd_names_stay_valid() {
        let long = "a".repeat(40) + "-" + &"b".repeat(200);
        for pod in [
            long.as_str(),
            "x.y.z",
            "-",
            "UPPER.case",
            "a-----------------------------------------------b",
        ] {
            let n = clone_name(pod, SIG);
            assert!(is_dns_label(&n), "{pod:?} → {n:?}");
            assert!(n.ends_with("-forensic-0123abcd"), "{n}");
        }
        assert!(is_dns_label(&clone_name("web", "not hex!")));
    }

    #[test]
    fn label_values_fit() {
        assert_eq!(label_value("web-1"), "web-1");
        let long = "w".repeat(80);
        let v = label_value(&long);
        assert_eq!(v.len(), 63);
        assert!(v.starts_with(&"w".repeat(54)) && is_label_value(&v), "{v}");
        assert_ne!(label_value(&"w".repeat(81)), v, "the hash tells them apart");
        assert_eq!(label_value(&"q".repeat(63)), "q".repeat(63));
    }

    #[test]
    fn joined_names_are_cut_to_fit() {
        assert_eq!(joined("abc", "data", 63), "abc-data");
        let j = joined(&"x".repeat(70), "data", 63);
        assert_eq!(j.len(), 63);
        assert_eq!(joined("ab-", "c", 4), "ab-c");
        assert_eq!(joined("abc-d", "e", 5), "abc-e");
    }
}
