//! `.minisig` files: made from a prehash, checked as `minisign -V` checks them.

use std::io;

use ed25519_dalek::{Signature, Signer as _};

use super::format::{
    SIG_ALG, SIG_ALG_PREHASHED, TRUSTED_MAX, TRUSTED_PREFIX, UNTRUSTED_MAX, UNTRUSTED_PREFIX,
    base64_line, check_comment, comment_and_base64, decode_exact, is_printable, lines,
};
use super::{KeyId, Prehasher, PublicKey, SecretKey, SignError};

/// `"ED"` ‖ key id ‖ signature (minisign's `SigStruct`).
const SIG_STRUCT_LEN: usize = 2 + 8 + 64;

/// What a good signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub trusted_comment: String,
    pub key_id: KeyId,
}

/// The `.minisig` text for data whose BLAKE2b-512 is `prehash` ([`Prehasher`]), in minisign's
/// prehashed (`ED`) format. The comments must be one printable line each (minisign refuses
/// anything else when verifying).
pub fn sign_prehashed(
    key: &SecretKey,
    prehash: [u8; 64],
    trusted_comment: &str,
    untrusted_comment: &str,
) -> Result<String, SignError> {
    check_comment("trusted", trusted_comment, TRUSTED_MAX)?;
    check_comment("untrusted", untrusted_comment, UNTRUSTED_MAX)?;
    let signature = key.signing_key().sign(&prehash).to_bytes();
    let mut sig_struct = Vec::with_capacity(SIG_STRUCT_LEN);
    sig_struct.extend_from_slice(&SIG_ALG_PREHASHED);
    sig_struct.extend_from_slice(&key.key_id().0);
    sig_struct.extend_from_slice(&signature);
    let global = key
        .signing_key()
        .sign(&signed_comment(&signature, trusted_comment))
        .to_bytes();
    Ok(format!(
        "{}{TRUSTED_PREFIX}{trusted_comment}\n{}",
        comment_and_base64(untrusted_comment, &sig_struct),
        base64_line(&global)
    ))
}

/// Check `sig_text` (a `.minisig`) against the prehash of the data, in minisign's order: key id,
/// then the data's signature, then the trusted comment's.
pub fn verify(key: &PublicKey, prehash: [u8; 64], sig_text: &str) -> Result<Verified, SignError> {
    check(key, &Parsed::from_text(sig_text)?, prehash)
}

/// [`verify`], hashing the data from `data` (the signature file is parsed first: a malformed one
/// fails before the data is read).
pub fn verify_reader(
    key: &PublicKey,
    data: impl io::Read,
    sig_text: &str,
) -> Result<Verified, SignError> {
    let parsed = Parsed::from_text(sig_text)?;
    let prehash = Prehasher::of_reader(data).map_err(SignError::ReadData)?;
    check(key, &parsed, prehash)
}

struct Parsed {
    key_id: KeyId,
    signature: [u8; 64],
    trusted_comment: String,
    global: [u8; 64],
}

impl Parsed {
    fn from_text(text: &str) -> Result<Self, SignError> {
        let bad = |line, problem| SignError::MalformedSignature { line, problem };
        let mut lines = lines(text);
        let untrusted = lines.next().unwrap_or_default();
        if !untrusted.starts_with(UNTRUSTED_PREFIX) {
            return Err(bad(1, "it must start with \"untrusted comment: \""));
        }
        let sig_struct: [u8; SIG_STRUCT_LEN] = lines
            .next()
            .and_then(decode_exact)
            .ok_or(bad(2, "expected the base64 of a 74-byte signature"))?;
        let trusted = lines
            .next()
            .and_then(|l| l.strip_prefix(TRUSTED_PREFIX))
            .ok_or(bad(3, "it must start with \"trusted comment: \""))?;
        if !is_printable(trusted) {
            return Err(bad(3, "the trusted comment contains control characters"));
        }
        let global: [u8; 64] = lines
            .next()
            .and_then(decode_exact)
            .ok_or(bad(4, "expected the base64 of a 64-byte signature"))?;
        let alg = [sig_struct[0], sig_struct[1]];
        if alg == SIG_ALG {
            return Err(SignError::LegacySignature);
        }
        if alg != SIG_ALG_PREHASHED {
            return Err(SignError::UnsupportedAlgorithm {
                found: String::from_utf8_lossy(&alg).into_owned(),
            });
        }
        let mut key_id = [0u8; 8];
        key_id.copy_from_slice(&sig_struct[2..10]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig_struct[10..]);
        Ok(Parsed {
            key_id: KeyId(key_id),
            signature,
            trusted_comment: trusted.to_string(),
            global,
        })
    }
}

fn check(key: &PublicKey, sig: &Parsed, prehash: [u8; 64]) -> Result<Verified, SignError> {
    if sig.key_id != key.key_id() {
        return Err(SignError::KeyIdMismatch {
            signature: sig.key_id,
            public_key: key.key_id(),
        });
    }
    let vk = key.verifying_key();
    vk.verify_strict(&prehash, &Signature::from_bytes(&sig.signature))
        .map_err(|_| SignError::DataSignatureMismatch)?;
    let comment = signed_comment(&sig.signature, &sig.trusted_comment);
    vk.verify_strict(&comment, &Signature::from_bytes(&sig.global))
        .map_err(|_| SignError::CommentSignatureMismatch)?;
    Ok(Verified {
        trusted_comment: sig.trusted_comment.clone(),
        key_id: sig.key_id,
    })
}

/// What the global signature covers: the data's signature, then the trusted comment's bytes.
fn signed_comment(signature: &[u8; 64], trusted_comment: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + trusted_comment.len());
    out.extend_from_slice(signature);
    out.extend_from_slice(trusted_comment.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    // Made by Debian's minisign 0.11 (tests/fixtures/sign/README.md).
    const MINISIGN_PUB: &str = include_str!("../../tests/fixtures/sign/minisign.pub");
    const MINISIGN_KEY: &str = include_str!("../../tests/fixtures/sign/minisign.key");
    const MINISIGN_DATA: &[u8] = include_bytes!("../../tests/fixtures/sign/data.txt");
    const MINISIGN_SIG: &str = include_str!("../../tests/fixtures/sign/data.txt.minisig");
    const MINISIGN_LEGACY: &str = include_str!("../../tests/fixtures/sign/data.txt.legacy.minisig");

    const DATA: &[u8] = b"an evidence archive, more or less";
    const COMMENT: &str = "ktui case=c1 sha256=00ff created=2025-06-01T12:00:00Z";

    fn prehash(data: &[u8]) -> [u8; 64] {
        let mut h = Prehasher::new();
        for chunk in data.chunks(7) {
            h.update(chunk);
        }
        h.finalize()
    }

    fn signed() -> (SecretKey, String) {
        let key = SecretKey::generate().unwrap();
        let sig = sign_prehashed(&key, prehash(DATA), COMMENT, "signature from ktui").unwrap();
        (key, sig)
    }

    /// `text` with line `n` (1-based) replaced.
    fn with_line(text: &str, n: usize, line: &str) -> String {
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[n - 1] = line;
        lines.join("\n")
    }

    /// Line `n`'s base64 decoded, byte `at` flipped, encoded again.
    fn flip_decoded(text: &str, n: usize, at: usize) -> String {
        let line = text.split('\n').nth(n - 1).unwrap();
        let mut bytes = STANDARD.decode(line).unwrap();
        bytes[at] ^= 0x01;
        with_line(text, n, &STANDARD.encode(bytes))
    }

    #[test]
    fn round_trip() {
        let (key, sig) = signed();
        let lines: Vec<&str> = sig.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0], "untrusted comment: signature from ktui");
        let sig_struct = STANDARD.decode(lines[1]).unwrap();
        assert_eq!(&sig_struct[..2], b"ED");
        assert_eq!(&sig_struct[2..10], &key.key_id().0);
        assert_eq!(lines[2], format!("trusted comment: {COMMENT}"));
        assert!(sig.ends_with('\n'));
        let want = Verified {
            trusted_comment: COMMENT.into(),
            key_id: key.key_id(),
        };
        assert_eq!(
            verify(&key.public_key(), prehash(DATA), &sig).unwrap(),
            want
        );
        assert_eq!(verify_reader(&key.public_key(), DATA, &sig).unwrap(), want);
        // minisign strips a \r before each newline.
        let crlf = sig.replace('\n', "\r\n");
        assert_eq!(
            verify(&key.public_key(), prehash(DATA), &crlf).unwrap(),
            want
        );
    }

    #[test]
    fn a_flipped_data_byte_is_named() {
        let (key, sig) = signed();
        for at in 0..DATA.len() {
            let mut data = DATA.to_vec();
            data[at] ^= 0x80;
            assert!(matches!(
                verify_reader(&key.public_key(), &data[..], &sig),
                Err(SignError::DataSignatureMismatch)
            ));
        }
    }

    #[test]
    fn a_flipped_signature_byte_is_named() {
        let (key, sig) = signed();
        let pk = key.public_key();
        for at in 10..74 {
            let bad = flip_decoded(&sig, 2, at);
            assert!(matches!(
                verify(&pk, prehash(DATA), &bad),
                Err(SignError::DataSignatureMismatch)
            ));
        }
        for at in 0..64 {
            let bad = flip_decoded(&sig, 4, at);
            assert!(matches!(
                verify(&pk, prehash(DATA), &bad),
                Err(SignError::CommentSignatureMismatch)
            ));
        }
    }

    #[test]
    fn a_flipped_trusted_comment_byte_is_named() {
        let (key, sig) = signed();
        let bad = with_line(
            &sig,
            3,
            &format!("trusted comment: {}", COMMENT.replace("c1", "c2")),
        );
        let err = verify(&key.public_key(), prehash(DATA), &bad).unwrap_err();
        assert!(matches!(err, SignError::CommentSignatureMismatch));
        assert!(err.to_string().contains("trusted comment"), "{err}");
    }

    #[test]
    fn no_flipped_bit_after_the_untrusted_comment_verifies() {
        let (key, sig) = signed();
        let first_newline = sig.find('\n').unwrap();
        for at in first_newline..sig.len() {
            for bit in [0x01, 0x20] {
                let mut bytes = sig.clone().into_bytes();
                bytes[at] ^= bit;
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                assert!(
                    verify(&key.public_key(), prehash(DATA), &text).is_err(),
                    "byte {at} ^ {bit:#x} still verifies:\n{text}"
                );
            }
        }
    }

    #[test]
    fn a_wrong_key_is_named_by_both_ids() {
        let (key, sig) = signed();
        let other = SecretKey::generate().unwrap();
        match verify(&other.public_key(), prehash(DATA), &sig) {
            Err(SignError::KeyIdMismatch {
                signature,
                public_key,
            }) => {
                assert_eq!(signature, key.key_id());
                assert_eq!(public_key, other.key_id());
            }
            other => panic!("{other:?}"),
        }
        // Another key claiming the same key id still fails, on the signature itself.
        let mut bytes = STANDARD.decode(sig.lines().nth(1).unwrap()).unwrap();
        bytes[2..10].copy_from_slice(&other.key_id().0);
        let forged = with_line(&sig, 2, &STANDARD.encode(bytes));
        assert!(matches!(
            verify(&other.public_key(), prehash(DATA), &forged),
            Err(SignError::DataSignatureMismatch)
        ));
    }

    #[test]
    fn verifies_what_minisign_signed() {
        let pk = PublicKey::from_file_text(MINISIGN_PUB).unwrap();
        let got = verify_reader(&pk, MINISIGN_DATA, MINISIGN_SIG).unwrap();
        assert_eq!(
            got.trusted_comment,
            "ktui case=fixture sha256=0 created=2025-01-01T00:00:00Z"
        );
        assert_eq!(got.key_id.to_string(), "4397450D33E07907");
    }

    #[test]
    fn signs_byte_for_byte_as_minisign() {
        // Ed25519 is deterministic: minisign's key, data and comments give minisign's file.
        let key = SecretKey::from_file_text(MINISIGN_KEY, None).unwrap();
        let sig = sign_prehashed(
            &key,
            prehash(MINISIGN_DATA),
            "ktui case=fixture sha256=0 created=2025-01-01T00:00:00Z",
            "fixture signature",
        )
        .unwrap();
        assert_eq!(sig, MINISIGN_SIG);
    }

    #[test]
    fn legacy_signatures_are_refused() {
        let pk = PublicKey::from_file_text(MINISIGN_PUB).unwrap();
        assert!(matches!(
            verify_reader(&pk, MINISIGN_DATA, MINISIGN_LEGACY),
            Err(SignError::LegacySignature)
        ));
    }

    #[test]
    fn malformed_files_name_the_line() {
        let (key, sig) = signed();
        let pk = key.public_key();
        let line_of = |text: &str| match verify(&pk, prehash(DATA), text) {
            Err(SignError::MalformedSignature { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(line_of(""), 1);
        assert_eq!(line_of(&with_line(&sig, 1, "comment: x")), 1);
        assert_eq!(line_of(&with_line(&sig, 2, "not base64!")), 2);
        assert_eq!(line_of(&with_line(&sig, 2, "RUQ=")), 2);
        assert_eq!(line_of(&with_line(&sig, 3, COMMENT)), 3);
        assert_eq!(
            line_of(&with_line(&sig, 3, "trusted comment: a\u{1b}[2J")),
            3
        );
        assert_eq!(
            line_of(&sig.lines().take(3).collect::<Vec<_>>().join("\n")),
            4
        );
        let mut bytes = STANDARD.decode(sig.lines().nth(1).unwrap()).unwrap();
        bytes[..2].copy_from_slice(b"XY");
        let odd = with_line(&sig, 2, &STANDARD.encode(bytes));
        assert!(matches!(
            verify(&pk, prehash(DATA), &odd),
            Err(SignError::UnsupportedAlgorithm { found }) if found == "XY"
        ));
    }

    #[test]
    fn comments_minisign_could_not_read_are_refused() {
        let key = SecretKey::generate().unwrap();
        for (trusted, untrusted) in [("a\nb", "u"), ("t", "a\rb"), ("a\u{7}", "u")] {
            assert!(matches!(
                sign_prehashed(&key, prehash(DATA), trusted, untrusted),
                Err(SignError::InvalidComment { .. })
            ));
        }
    }
}
