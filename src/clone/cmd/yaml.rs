//! YAML for `ktui clone --dry-run -o yaml`, safe to print on a terminal: block maps and
//! sequences; a string is plain only when YAML reads it back as the same string (letters,
//! digits and `-._/@+=:` not starting a number, an indicator or a YAML word such as `true`),
//! else double-quoted with JSON's escapes, which YAML's double-quoted scalars share, and every
//! character `sanitize::is_unsafe` flags (ESC, C1, bidi overrides, zero-width) as `\uXXXX`.
//! A log ConfigMap's text thus never reaches the terminal raw.

use serde_json::{Map, Value};

/// The YAML document for `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => map(&mut out, 0, m, false),
        Value::Array(a) if !a.is_empty() => seq(&mut out, 0, a),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

/// JSON text with every unsafe character escaped as `\uXXXX` (raw newlines are structure:
/// serde_json escapes them inside strings).
pub fn escape_unsafe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c != '\n' && crate::sanitize::is_unsafe(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// A non-empty map; `started`: its first key goes on the current line (after `- `).
fn map(out: &mut String, indent: usize, m: &Map<String, Value>, started: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !started {
            pad(out, indent);
        }
        out.push_str(&string(k));
        out.push(':');
        match v {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                map(out, indent + 2, inner, false);
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                seq(out, indent, items);
            }
            other => {
                out.push(' ');
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

/// A non-empty sequence, its dashes at `indent`.
fn seq(out: &mut String, indent: usize, items: &[Value]) {
    for item in items {
        pad(out, indent);
        match item {
            Value::Object(m) if !m.is_empty() => {
                out.push_str("- ");
                map(out, indent + 2, m, true);
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                seq(out, indent + 2, inner);
            }
            other => {
                out.push_str("- ");
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(_) => "[]".to_string(),
        Value::Object(_) => "{}".to_string(),
    }
}

/// Words YAML 1.1 or 1.2 readers take for something other than a string.
const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "y", "n"];

fn plain(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '/')
        && !s.ends_with(':')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@+=:".contains(c))
        && !WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

fn string(s: &str) -> String {
    if plain(s) {
        return s.to_string();
    }
    escape_unsafe(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_back_as_the_same_value_and_holds_nothing_unsafe() {
        let value = json!({
            "apiVersion": "v1", "kind": "List",
            "items": [
                {"metadata": {"name": "web-1-forensic-1a2b3c4d", "labels": {"ktui.dev/forensic": "true"}},
                 "data": {"app.previous.log": "line1\n\u{1b}]0;owned\u{7}\u{1b}[2J x\u{202e}y zw\u{200b} c1\u{9b}\n"},
                 "spec": {"containers": [{"name": "app", "image": "registry.example/shop/web@sha256:00",
                     "command": ["/usr/local/bin/toolkit/sleep", "infinity"]}],
                     "nums": [1, 2.5, -3], "empty": {}, "none": [], "nested": [[1, "a"], []],
                     "words": ["yes", "No", "null", "~", "0123", "1e3", ".inf", "- x", "a: b", "#c", "", " lead", "trail:", "@at", "*star", "&amp", "!bang", "%p", "|", ">"]},
                 "flag": false, "nothing": null}
            ]
        });
        let yaml = to_string(&value);
        assert!(
            !yaml
                .chars()
                .any(|c| c != '\n' && crate::sanitize::is_unsafe(c)),
            "{yaml}"
        );
        let back: Value = serde_saphyr::from_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
        assert_eq!(back, value, "{yaml}");
        assert!(yaml.starts_with("apiVersion: v1\nkind: List\nitems:\n- metadata:\n    name: web-1-forensic-1a2b3c4d\n"), "{yaml}");
    }

    #[test]
    fn json_keeps_its_structure_and_escapes_the_rest() {
        let text = serde_json::to_string_pretty(&json!({"a": "x\u{202e}\u{9b}y"})).unwrap();
        let safe = escape_unsafe(&text);
        assert_eq!(safe, "{\n  \"a\": \"x\\u202e\\u009by\"\n}");
        let back: Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back["a"], "x\u{202e}\u{9b}y");
    }
}
