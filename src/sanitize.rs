//! Untrusted text (logs, events, names, messages) made safe for the terminal.
//!
//! Control characters, escape sequences and bidi overrides never reach the terminal: each becomes
//! a visible placeholder (C0 controls → Unicode control pictures such as `␛`, C1 controls and
//! invisible format characters → `⟨U+XXXX⟩`). Tabs expand to spaces. Sanitising is for display
//! only: saved files keep the raw bytes. JSON written to stdout escapes the same characters
//! ([`json`]).

pub mod json;

use std::borrow::Cow;

/// Tab stops for expansion.
const TAB: usize = 4;

/// Characters that must never reach a terminal raw: controls (C0, DEL, C1) and invisible format
/// characters.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Bidi overrides/isolates and other invisible format characters that can disguise text.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' // bidi isolates
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
    )
}

fn push_placeholder(out: &mut String, c: char) {
    match c {
        // C0 controls: U+2400 + code; DEL: U+2421.
        '\0'..='\u{1f}' => out.push(char::from_u32(0x2400 + c as u32).unwrap_or('�')),
        '\u{7f}' => out.push('␡'),
        _ => {
            out.push_str(&format!("⟨U+{:04X}⟩", c as u32));
        }
    }
}

/// One line of untrusted text, safe to render. `\n` is escaped too: split lines first.
pub fn line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut col = 0usize;
    for c in text.chars() {
        if c == '\t' {
            let n = TAB - col % TAB;
            out.extend(std::iter::repeat_n(' ', n));
            col += n;
        } else if is_unsafe(c) {
            push_placeholder(&mut out, c);
            col += 1;
        } else {
            out.push(c);
            col += 1;
        }
    }
    Cow::Owned(out)
}

/// The longest start of `text` of at most `max` bytes that ends on a character boundary: what
/// fits a bounded field (an Event message, a value quoted in an error).
pub fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Raw bytes (possibly not UTF-8) → sanitised lines. Invalid UTF-8 becomes U+FFFD.
pub fn lines(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let body = text.strip_suffix('\n').unwrap_or(&text);
    if body.is_empty() {
        return Vec::new();
    }
    body.split('\n')
        .map(|l| line(l.strip_suffix('\r').unwrap_or(l)).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_ends_on_a_character() {
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("héllo", 3), "hé");
        assert_eq!(cut("héllo", 99), "héllo");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn escape_sequences_become_visible() {
        let s = line("\x1b]0;pwned\x07\x1b[2Jhello\rback\x08");
        assert_eq!(s, "␛]0;pwned␇␛[2Jhello␍back␈");
        assert!(!s.chars().any(char::is_control));
    }

    #[test]
    fn bidi_and_c1_are_escaped() {
        let s = line("admin\u{202E}txt.exe\u{9b}");
        assert_eq!(s, "admin⟨U+202E⟩txt.exe⟨U+009B⟩");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(line("plain ünïcode 日本"), Cow::Borrowed(_)));
    }

    #[test]
    fn tabs_expand_and_crlf_is_trimmed() {
        assert_eq!(
            lines(b"a\tb\r\nc\n"),
            vec!["a   b".to_string(), "c".to_string()]
        );
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(lines(b"ok\xff\n"), vec!["ok\u{FFFD}".to_string()]);
    }
}
