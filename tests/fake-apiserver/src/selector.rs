//! Label and field selectors, as accepted by kube-apiserver list/watch calls.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum LabelReq {
    Exists(String),
    NotExists(String),
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Gt(String, i64),
    Lt(String, i64),
}

/// A parsed `labelSelector` (all requirements must hold). Empty matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct LabelSelector(Vec<LabelReq>);

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

fn parse_set(rest: &str, whole: &str) -> Result<Vec<String>, String> {
    let inner = rest
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| {
            format!("unable to parse requirement: {whole}: expected a parenthesised value set")
        })?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

fn check_key(key: &str, whole: &str) -> Result<String, String> {
    let key = key.trim();
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(format!(
            "unable to parse requirement: {whole}: invalid label key {key:?}"
        ));
    }
    Ok(key.to_string())
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            reqs.push(Self::parse_req(part)?);
        }
        Ok(LabelSelector(reqs))
    }

    fn parse_req(part: &str) -> Result<LabelReq, String> {
        if let Some(key) = part.strip_prefix('!') {
            return Ok(LabelReq::NotExists(check_key(key, part)?));
        }
        let words: Vec<&str> = part.splitn(3, char::is_whitespace).collect();
        if words.len() >= 2 {
            let rest = part[words[0].len()..].trim_start();
            if let Some(set) = rest.strip_prefix("notin") {
                return Ok(LabelReq::NotIn(
                    check_key(words[0], part)?,
                    parse_set(set, part)?,
                ));
            }
            if let Some(set) = rest.strip_prefix("in") {
                return Ok(LabelReq::In(
                    check_key(words[0], part)?,
                    parse_set(set, part)?,
                ));
            }
        }
        if let Some((k, v)) = part.split_once("!=") {
            return Ok(LabelReq::NotEq(check_key(k, part)?, v.trim().to_string()));
        }
        if let Some((k, v)) = part.split_once("==") {
            return Ok(LabelReq::Eq(check_key(k, part)?, v.trim().to_string()));
        }
        if let Some((k, v)) = part.split_once('=') {
            return Ok(LabelReq::Eq(check_key(k, part)?, v.trim().to_string()));
        }
        for (op, gt) in [('>', true), ('<', false)] {
            if let Some((k, v)) = part.split_once(op) {
                let n: i64 = v.trim().parse().map_err(|_| {
                    format!("unable to parse requirement: {part}: value must be an integer")
                })?;
                let key = check_key(k, part)?;
                return Ok(if gt {
                    LabelReq::Gt(key, n)
                } else {
                    LabelReq::Lt(key, n)
                });
            }
        }
        Ok(LabelReq::Exists(check_key(part, part)?))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|req| match req {
            LabelReq::Exists(k) => labels.contains_key(k),
            LabelReq::NotExists(k) => !labels.contains_key(k),
            LabelReq::Eq(k, v) => labels.get(k) == Some(v),
            LabelReq::NotEq(k, v) => labels.get(k) != Some(v),
            LabelReq::In(k, vs) => labels.get(k).is_some_and(|l| vs.contains(l)),
            LabelReq::NotIn(k, vs) => labels.get(k).is_none_or(|l| !vs.contains(l)),
            LabelReq::Gt(k, n) => labels
                .get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l > *n),
            LabelReq::Lt(k, n) => labels
                .get(k)
                .and_then(|l| l.parse::<i64>().ok())
                .is_some_and(|l| l < *n),
        })
    }
}

/// A parsed `fieldSelector`: `key=value`, `key==value`, `key!=value`, comma separated.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldSelector(Vec<(String, String, bool)>);

/// Splits on unescaped `sep`, undoing `\` escapes in the pieces.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                if next != sep {
                    // Keep the escape for the next level of splitting.
                    push_last(&mut parts, '\\');
                }
                push_last(&mut parts, next);
            }
        } else if c == sep {
            parts.push(String::new());
        } else {
            push_last(&mut parts, c);
        }
    }
    parts
}

fn push_last(parts: &mut [String], c: char) {
    if let Some(last) = parts.last_mut() {
        last.push(c);
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

impl FieldSelector {
    /// Parses and checks every key against `supported` (plus `metadata.name`
    /// and `metadata.namespace`, which every type supports).
    pub fn parse(s: &str, supported: &[(&str, &str)]) -> Result<FieldSelector, String> {
        let mut reqs = Vec::new();
        for part in split_unescaped(s, ',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value, equal) = if let Some((k, v)) = part.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, v, true)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, v, true)
            } else {
                return Err(format!(
                    "invalid selector: '{part}'; can't understand '{part}'"
                ));
            };
            let key = key.trim();
            let known = key == "metadata.name"
                || key == "metadata.namespace"
                || supported.iter().any(|(label, _)| *label == key);
            if !known {
                return Err(format!("field label not supported: {key}"));
            }
            reqs.push((key.to_string(), unescape(value.trim()), equal));
        }
        Ok(FieldSelector(reqs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `fields` holds the object's value for every supported label; missing means "".
    pub fn matches(&self, fields: &[(String, String)]) -> bool {
        self.0.iter().all(|(key, want, equal)| {
            let have = fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            (have == want) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn label_selectors() {
        let l = labels(&[("app", "web"), ("tier", "front"), ("n", "5")]);
        let ok = |s: &str| LabelSelector::parse(s).unwrap().matches(&l);
        assert!(ok(""));
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(!ok("app!=web"));
        assert!(ok("missing!=x"));
        assert!(ok("!missing"));
        assert!(!ok("!app"));
        assert!(ok("tier in (back, front)"));
        assert!(!ok("tier notin (back,front)"));
        assert!(ok("missing notin (a)"));
        assert!(ok("app=web,tier in (front),n>4"));
        assert!(!ok("n<5"));
        assert!(LabelSelector::parse("a b").is_err());
    }

    #[test]
    fn field_selectors() {
        let supported = &[("spec.nodeName", "spec.nodeName")];
        let fields = vec![
            ("metadata.name".to_string(), "web-1".to_string()),
            ("spec.nodeName".to_string(), "node-a".to_string()),
        ];
        let ok = |s: &str| FieldSelector::parse(s, supported).unwrap().matches(&fields);
        assert!(ok("metadata.name=web-1"));
        assert!(ok("metadata.name==web-1,spec.nodeName!=node-b"));
        assert!(!ok("spec.nodeName=node-b"));
        assert!(ok("metadata.namespace="));
        assert_eq!(
            FieldSelector::parse("status.bogus=1", supported).unwrap_err(),
            "field label not supported: status.bogus"
        );
        assert!(
            FieldSelector::parse(r"metadata.name=a\,b", supported)
                .unwrap()
                .matches(&[("metadata.name".to_string(), "a,b".to_string())])
        );
    }
}
