//! minisign's constants and its text framing: comment lines and base64 lines.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::SignError;

pub(super) const UNTRUSTED_PREFIX: &str = "untrusted comment: ";
pub(super) const TRUSTED_PREFIX: &str = "trusted comment: ";
/// Key algorithm, and the legacy signature algorithm (Ed25519 over the whole file).
pub(super) const SIG_ALG: [u8; 2] = *b"Ed";
/// The signature algorithm minisign writes since 0.8: Ed25519 over BLAKE2b-512 of the file.
pub(super) const SIG_ALG_PREHASHED: [u8; 2] = *b"ED";
pub(super) const KDF_SCRYPT: [u8; 2] = *b"Sc";
pub(super) const KDF_NONE: [u8; 2] = [0, 0];
pub(super) const CHK_ALG: [u8; 2] = *b"B2";

/// minisign reads comment lines with `fgets` into 1024 bytes (prefix and newline included), and
/// refuses a longer untrusted comment in a signature.
pub(super) const UNTRUSTED_MAX: usize = 1024 - UNTRUSTED_PREFIX.len() - 2;
/// minisign's `TRUSTEDCOMMENTMAXBYTES` (8192) less the prefix, newline and NUL.
pub(super) const TRUSTED_MAX: usize = 8192 - TRUSTED_PREFIX.len() - 2;

/// `untrusted comment: COMMENT` and the base64 of `bytes`, each line ending in `\n`.
pub(super) fn comment_and_base64(comment: &str, bytes: &[u8]) -> String {
    format!("{UNTRUSTED_PREFIX}{comment}\n{}\n", STANDARD.encode(bytes))
}

pub(super) fn base64_line(bytes: &[u8]) -> String {
    format!("{}\n", STANDARD.encode(bytes))
}

/// Exactly `N` bytes of base64, or None.
pub(super) fn decode_exact<const N: usize>(line: &str) -> Option<[u8; N]> {
    let bytes = STANDARD.decode(line).ok()?;
    bytes.try_into().ok()
}

/// The lines of a minisign file, without `\n` or a `\r` before it (minisign's `trim`).
pub(super) fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// A comment minisign would write and read back: one line, no control characters (minisign
/// refuses a trusted comment it does not find printable), short enough for its buffers.
pub(super) fn check_comment(which: &'static str, text: &str, max: usize) -> Result<(), SignError> {
    let problem = if text.len() > max {
        Some("too long for minisign")
    } else if text.contains(['\n', '\r']) {
        Some("it must be a single line")
    } else if !is_printable(text) {
        Some("it contains control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(SignError::InvalidComment { which, problem }),
        None => Ok(()),
    }
}

/// minisign's `is_printable`: tabs and printable characters; no C0/C1 controls or DEL.
pub(super) fn is_printable(text: &str) -> bool {
    text.chars()
        .all(|c| c == '\t' || !(c < ' ' || ('\u{7f}'..='\u{9f}').contains(&c)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_as_minisign_decides() {
        assert!(is_printable("ktui case=a\tsha256=00 created=2025 é ✓"));
        assert!(!is_printable("a\u{1b}[2Jb"));
        assert!(!is_printable("a\u{7f}"));
        assert!(!is_printable("a\u{9b}"));
        assert!(is_printable("a\u{a0}"));
    }

    #[test]
    fn comments_are_checked() {
        assert!(check_comment("trusted", "ok", TRUSTED_MAX).is_ok());
        assert!(check_comment("trusted", &"x".repeat(TRUSTED_MAX), TRUSTED_MAX).is_ok());
        for bad in ["a\nb", "a\rb", "a\u{7}b"] {
            assert!(matches!(
                check_comment("trusted", bad, TRUSTED_MAX),
                Err(SignError::InvalidComment {
                    which: "trusted",
                    ..
                })
            ));
        }
        assert!(check_comment("untrusted", &"x".repeat(UNTRUSTED_MAX + 1), UNTRUSTED_MAX).is_err());
    }
}
