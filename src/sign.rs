//! Minisign-compatible signatures of evidence bundles, made and checked in process (no minisign
//! binary at run time), and the key files `ktui keygen` writes.
//!
//! The formats are minisign's (jedisct1/minisign `src/minisign.h`, `src/minisign.c`), so
//! `minisign -Vm FILE -p ktui.pub` checks what ktui signs and ktui checks what minisign signs:
//! - `.minisig`: `untrusted comment: …`, base64 of `"ED"` ‖ key id (8) ‖ Ed25519 over the
//!   BLAKE2b-512 of the file (64), `trusted comment: …`, base64 of the global signature, Ed25519
//!   over (that signature ‖ the trusted comment's bytes).
//! - public key: `untrusted comment: minisign public key <ID>`, base64 of `"Ed"` ‖ key id ‖ the
//!   Ed25519 public key (32).
//! - secret key: a comment line, base64 of `"Ed"` ‖ KDF (`"Sc"`, or 0x00 0x00 when unencrypted) ‖
//!   `"B2"` ‖ salt (32) ‖ opslimit (u64 LE) ‖ memlimit (u64 LE) ‖ [key id ‖ seed and public key
//!   (64) ‖ BLAKE2b-256 of ("Ed" ‖ key id ‖ seed and public key) (32)], the bracket XORed with
//!   scrypt(password, salt) when encrypted (libsodium's `crypto_pwhash_scryptsalsa208sha256`).
//!
//! The export computes the prehash while it writes the archive ([`Prehasher`]) and signs it
//! with [`sign_prehashed`]; nothing reads the archive twice.

mod format;
mod keygen;
mod keys;
mod signature;
mod store;

use std::fmt;
use std::io;
use std::path::PathBuf;

use blake2::Blake2b512;
use blake2::digest::Digest as _;

pub use keygen::keygen_cmd;
pub use keys::{KdfLimits, PublicKey, SecretKey};
pub use signature::{Verified, sign_prehashed, verify, verify_reader};
pub use store::{
    KEY_FILE, KeyEnv, KeyOrigin, KeyPairFiles, KeySource, PASSWORD_ENV, PUBLIC_KEY_FILE,
    SIGNING_KEY_ENV, create_key_pair, default_public_key, default_public_key_path, load_public_key,
    load_secret_key, signing_key, signing_key_with, unencrypted_key_warning,
};

/// A minisign key id: 8 random bytes chosen at key generation, carried in every signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    /// As minisign prints it: the bytes read as a little-endian u64, 16 upper-case hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

/// Everything signing, verifying and key handling can fail with.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error(
        "signature check failed: the signature does not match the signed data (the file, or the \
         signature line of the .minisig, was changed)"
    )]
    DataSignatureMismatch,
    #[error(
        "signature check failed: the trusted comment does not match its signature (the trusted \
         comment, or the last line of the .minisig, was changed)"
    )]
    CommentSignatureMismatch,
    #[error(
        "the signature was made with key {signature}, but the public key is {public_key}: \
         verify with the public key of the key that signed it"
    )]
    KeyIdMismatch { signature: KeyId, public_key: KeyId },
    #[error(
        "legacy (not prehashed, \"Ed\") minisign signature: ktui accepts only prehashed (\"ED\") \
         signatures, as `minisign -V -H` does; sign again with minisign 0.8 or later"
    )]
    LegacySignature,
    #[error("unsupported signature algorithm {found:?} (minisign writes \"ED\")")]
    UnsupportedAlgorithm { found: String },
    #[error("malformed signature file, line {line}: {problem}")]
    MalformedSignature { line: u8, problem: &'static str },
    #[error("cannot sign with this {which} comment: {problem}")]
    InvalidComment {
        which: &'static str,
        problem: &'static str,
    },
    #[error("{}: {source}", path.display())]
    Key { path: PathBuf, source: KeyError },
    #[error(
        "{} already exists: ktui never overwrites a key; move it away, or choose another \
         directory (ktui keygen --dir DIR)",
        path.display()
    )]
    KeyExists { path: PathBuf },
    #[error(
        "no public key at {}: pass the signer's public key (--pubkey FILE), or create a key pair \
         with `ktui keygen`",
        path.display()
    )]
    NoPublicKey { path: PathBuf },
    #[error(
        "cannot tell where the key directory is: neither XDG_CONFIG_HOME nor HOME is set; \
         name a directory or key file"
    )]
    NoConfigDir,
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("cannot encrypt the new key: {0}")]
    Encrypt(KeyError),
    #[error("cannot read the signed data: {0}")]
    ReadData(io::Error),
    #[error("the system's random number generator failed: {0}")]
    Random(getrandom::Error),
}

/// What is wrong with a key (file), before the path is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a minisign key: {0}")]
    Malformed(&'static str),
    #[error("unsupported {what} {found:?} (expected {expected:?})")]
    Unsupported {
        what: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("the key is encrypted: set {PASSWORD_ENV} to its password")]
    PasswordRequired,
    #[error("wrong password for this key ({PASSWORD_ENV})")]
    WrongPassword,
    #[error("the key is corrupted: its checksum or public half does not match")]
    Corrupted,
    #[error(
        "its key derivation would cost more than minisign ever asks (opslimit {opslimit}, \
         memlimit {memlimit}): refusing"
    )]
    KdfTooCostly { opslimit: u64, memlimit: u64 },
}

/// minisign's prehash (BLAKE2b-512, unkeyed) of the data, fed incrementally: write the archive
/// through it (it is an [`io::Write`]) or call [`Prehasher::update`], then [`Prehasher::finalize`].
#[derive(Clone, Default)]
pub struct Prehasher(Blake2b512);

impl Prehasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finalize(self) -> [u8; 64] {
        self.0.finalize().into()
    }

    /// The prehash of everything `reader` yields.
    pub fn of_reader(mut reader: impl io::Read) -> io::Result<[u8; 64]> {
        let mut hasher = Self::new();
        io::copy(&mut reader, &mut hasher)?;
        Ok(hasher.finalize())
    }
}

impl io::Write for Prehasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    #[test]
    fn key_id_displays_as_minisign_does() {
        // minisign.pub's comment says `4397450D33E07907` for these bytes (tests/fixtures/sign).
        let id = KeyId([0x07, 0x79, 0xe0, 0x33, 0x0d, 0x45, 0x97, 0x43]);
        assert_eq!(id.to_string(), "4397450D33E07907");
    }

    #[test]
    fn prehash_is_blake2b_512_whatever_the_chunking() {
        // BLAKE2b-512("abc"), RFC 7693 appendix A.
        let expected = "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1\
                        7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923";
        let mut h = Prehasher::new();
        h.write_all(b"a").unwrap();
        h.update(b"bc");
        assert_eq!(hex::encode(h.finalize()), expected);
        assert_eq!(
            hex::encode(Prehasher::of_reader(&b"abc"[..]).unwrap()),
            expected
        );
    }
}
