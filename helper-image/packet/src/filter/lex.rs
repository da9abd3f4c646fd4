//! Tokens of the filter language, each with its byte offset.

use super::FilterError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    /// A keyword, number, address or range: `[A-Za-z0-9.:/_-]+`.
    Word(&'a str),
    LParen,
    RParen,
    /// `!`
    Bang,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Token<'a> {
    pub tok: Tok<'a>,
    pub at: usize,
}

impl Tok<'_> {
    /// How an error message names this token.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("{w:?}"),
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::Bang => "\"!\"".into(),
            Tok::AndAnd => "\"&&\"".into(),
            Tok::OrOr => "\"||\"".into(),
            Tok::End => "the end of the filter".into(),
        }
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-')
}

/// Split `text` into tokens, ending with [`Tok::End`].
pub(super) fn tokens(text: &str) -> Result<Vec<Token<'_>>, FilterError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let at = i;
        let pair = |second: u8| bytes.get(at + 1) == Some(&second);
        let tok = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'!' => Tok::Bang,
            b'&' if pair(b'&') => Tok::AndAnd,
            b'|' if pair(b'|') => Tok::OrOr,
            b'&' | b'|' => {
                let c = char::from(b);
                return Err(FilterError::new(
                    at,
                    format!(
                        "expected \"{c}{c}\", found \"{c}\" alone (write `{c}{c}`, or `and` / `or`)"
                    ),
                ));
            }
            b if word_byte(b) => {
                let end = bytes[at..]
                    .iter()
                    .position(|&b| !word_byte(b))
                    .map_or(bytes.len(), |n| at + n);
                i = end;
                out.push(Token {
                    tok: Tok::Word(&text[at..end]),
                    at,
                });
                continue;
            }
            _ => {
                let c = text[at..].chars().next().unwrap_or('?');
                return Err(FilterError::new(
                    at,
                    format!(
                        "unexpected character {:?}: a filter is made of words, addresses, \
                         numbers, parentheses, `!`, `&&` and `||`",
                        c
                    ),
                ));
            }
        };
        i += if matches!(tok, Tok::AndAnd | Tok::OrOr) {
            2
        } else {
            1
        };
        out.push(Token { tok, at });
    }
    out.push(Token {
        tok: Tok::End,
        at: bytes.len(),
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_words_symbols_and_offsets() {
        let t = tokens("!(host fe80::1)&&port 1-2||x").unwrap();
        let got: Vec<(Tok, usize)> = t.iter().map(|t| (t.tok, t.at)).collect();
        assert_eq!(
            got,
            vec![
                (Tok::Bang, 0),
                (Tok::LParen, 1),
                (Tok::Word("host"), 2),
                (Tok::Word("fe80::1"), 7),
                (Tok::RParen, 14),
                (Tok::AndAnd, 15),
                (Tok::Word("port"), 17),
                (Tok::Word("1-2"), 22),
                (Tok::OrOr, 25),
                (Tok::Word("x"), 27),
                (Tok::End, 28),
            ]
        );
    }

    #[test]
    fn bad_characters_name_their_offset() {
        let e = tokens("port 53 & udp").unwrap_err();
        assert_eq!(e.at, 8);
        assert!(e.message.contains("\"&&\""), "{}", e.message);
        let e = tokens("host é").unwrap_err();
        assert_eq!(e.at, 5);
        assert!(e.message.contains("'é'"), "{}", e.message);
        let e = tokens("host \u{1b}[2J").unwrap_err();
        assert!(e.message.contains("\\u{1b}"), "escaped: {}", e.message);
    }
}
