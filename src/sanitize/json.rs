//! JSON text that is safe to print on a terminal.
//!
//! serde_json already escapes C0 controls, `"` and `\`; every other character [`super::is_unsafe`]
//! flags (DEL, C1 controls such as CSI U+009B, bidi overrides and invisible format characters) is
//! written as a `\uXXXX` escape too, so the line reads back to the same value.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

/// serde_json's compact output, with unsafe characters escaped inside strings.
struct Escaping;

impl Formatter for Escaping {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if super::is_unsafe(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// `value` as one line of compact JSON with unsafe characters escaped.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out, Escaping,
    ))?;
    // Only whole UTF-8 fragments and ASCII escapes were written.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_escaped_and_read_back() {
        let text = "a\u{1b}[31m\u{7f}\u{9b}2J\u{202e}b\u{2066}\u{feff} ünïcode 日本 \"q\"";
        let line = to_string(&serde_json::json!({ "k\u{85}": text })).unwrap();
        assert_eq!(
            line,
            "{\"k\\u0085\":\"a\\u001b[31m\\u007f\\u009b2J\\u202eb\\u2066\\ufeff ünïcode 日本 \\\"q\\\"\"}"
        );
        assert!(!line.chars().any(crate::sanitize::is_unsafe));
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["k\u{85}"], text);
    }

    #[test]
    fn clean_values_match_serde_json() {
        let v = serde_json::json!({"a": [1, null, true], "b": "plain ünïcode", "c": 1.5});
        assert_eq!(to_string(&v).unwrap(), serde_json::to_string(&v).unwrap());
    }
}
