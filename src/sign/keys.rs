//! Ed25519 key pairs in minisign's public and secret key formats, the secret key optionally
//! encrypted as minisign does it (scrypt with libsodium's parameter choice, XOR, BLAKE2b-256
//! checksum).

use std::fmt;

use blake2::Blake2b256;
use blake2::digest::Digest as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use zeroize::Zeroizing;

use super::format::{
    CHK_ALG, KDF_NONE, KDF_SCRYPT, SIG_ALG, comment_and_base64, decode_exact, lines,
};
use super::{KeyError, KeyId, SignError};

/// `"Ed"` ‖ key id ‖ public key.
const PUBLIC_LEN: usize = 2 + 8 + 32;
/// The secret key file's binary form (minisign's `SeckeyStruct`).
const SECRET_LEN: usize = 6 + 32 + 8 + 8 + KEYNUM_SK_LEN;
/// Key id ‖ seed and public key ‖ checksum: the part scrypt's output is XORed with.
const KEYNUM_SK_LEN: usize = 8 + 64 + 32;
const SALT_AT: usize = 6;
const OPSLIMIT_AT: usize = SALT_AT + 32;
const MEMLIMIT_AT: usize = OPSLIMIT_AT + 8;
const KEYNUM_SK_AT: usize = MEMLIMIT_AT + 8;

/// The cost of the scrypt key derivation, in libsodium's terms (stored in the key file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfLimits {
    pub opslimit: u64,
    pub memlimit: u64,
}

impl KdfLimits {
    /// What `minisign -G` uses: libsodium's `*_SENSITIVE` limits (N = 2^20, r = 8, p = 1: 1 GiB,
    /// a few seconds).
    pub const MINISIGN: KdfLimits = KdfLimits {
        opslimit: 33_554_432,
        memlimit: 1_073_741_824,
    };

    /// libsodium's `pickparams`: (log2 N, r, p) for these limits.
    pub fn scrypt_params(self) -> (u8, u32, u32) {
        let opslimit = self.opslimit.max(32_768);
        let r: u32 = 8;
        let log_n_for = |max_n: u64| (1u8..63).find(|&n| (1u64 << n) > max_n / 2).unwrap_or(63);
        if opslimit < self.memlimit / 32 {
            (log_n_for(opslimit / (u64::from(r) * 4)), r, 1)
        } else {
            let log_n = log_n_for(self.memlimit / (u64::from(r) * 128));
            let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
            // max_rp <= 0x3fffffff fits in u32.
            (log_n, r, u32::try_from(max_rp).unwrap_or(u32::MAX) / r)
        }
    }
}

/// A public key: its id and the Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    key_id: KeyId,
    key: VerifyingKey,
}

impl PublicKey {
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub(super) fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The one-line form `minisign -P` takes.
    pub fn to_base64(&self) -> String {
        let text = self.to_file_text();
        lines(&text).nth(1).unwrap_or_default().to_string()
    }

    /// `minisign -P`'s one-line form.
    pub fn from_base64(line: &str) -> Result<Self, KeyError> {
        let bytes: [u8; PUBLIC_LEN] = decode_exact(line).ok_or(KeyError::Malformed(
            "expected the base64 of a 42-byte public key",
        ))?;
        check_alg("signature algorithm", &bytes[..2], SIG_ALG, "Ed")?;
        let key_bytes: [u8; 32] = array(&bytes[10..]);
        let key = VerifyingKey::from_bytes(&key_bytes)
            .map_err(|_| KeyError::Malformed("the public key is not a valid Ed25519 point"))?;
        Ok(PublicKey {
            key_id: KeyId(array(&bytes[2..10])),
            key,
        })
    }

    /// A `.pub` file as minisign writes it: comment, then base64.
    pub fn to_file_text(&self) -> String {
        let mut bytes = Vec::with_capacity(PUBLIC_LEN);
        bytes.extend_from_slice(&SIG_ALG);
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(self.key.as_bytes());
        comment_and_base64(&format!("minisign public key {}", self.key_id), &bytes)
    }

    /// A `.pub` file: minisign reads the second line and ignores the first.
    pub fn from_file_text(text: &str) -> Result<Self, KeyError> {
        let line = lines(text)
            .nth(1)
            .ok_or(KeyError::Malformed("no second line (the base64 key)"))?;
        Self::from_base64(line)
    }
}

/// A decrypted secret key. Its bytes are wiped on drop; `Debug` shows only the id.
pub struct SecretKey {
    key_id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SecretKey {
    /// A new key pair and key id from the operating system's random source.
    pub fn generate() -> Result<Self, SignError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        let mut key_id = [0u8; 8];
        getrandom::fill(seed.as_mut()).map_err(SignError::Random)?;
        getrandom::fill(&mut key_id).map_err(SignError::Random)?;
        Ok(SecretKey {
            key_id: KeyId(key_id),
            key: SigningKey::from_bytes(&seed),
        })
    }

    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    pub(super) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The secret key file: encrypted with `password` (scrypt at `limits`, fresh salt), or, with
    /// no password, unencrypted (KDF bytes 0x00 0x00, as `minisign -G -W`).
    pub fn to_file_text(
        &self,
        password: Option<&str>,
        limits: KdfLimits,
    ) -> Result<String, SignError> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(SECRET_LEN));
        bytes.extend_from_slice(&SIG_ALG);
        bytes.extend_from_slice(if password.is_some() {
            &KDF_SCRYPT
        } else {
            &KDF_NONE
        });
        bytes.extend_from_slice(&CHK_ALG);
        let mut salt = [0u8; 32];
        let limits = match password {
            Some(_) => {
                getrandom::fill(&mut salt).map_err(SignError::Random)?;
                limits
            }
            None => KdfLimits {
                opslimit: 0,
                memlimit: 0,
            },
        };
        bytes.extend_from_slice(&salt);
        bytes.extend_from_slice(&limits.opslimit.to_le_bytes());
        bytes.extend_from_slice(&limits.memlimit.to_le_bytes());
        let keypair = Zeroizing::new(self.key.to_keypair_bytes());
        bytes.extend_from_slice(&self.key_id.0);
        bytes.extend_from_slice(keypair.as_ref());
        bytes.extend_from_slice(&checksum(&self.key_id.0, &keypair));
        let comment = match password {
            Some(password) => {
                let stream = keystream(password, &salt, limits).map_err(SignError::Encrypt)?;
                xor(&mut bytes[KEYNUM_SK_AT..], stream.as_ref());
                format!("ktui secret key {} (encrypted)", self.key_id)
            }
            None => format!("ktui secret key {} (not encrypted)", self.key_id),
        };
        Ok(comment_and_base64(&comment, &bytes))
    }

    /// Whether a secret key file is encrypted (needs a password), without decrypting it.
    pub fn file_is_encrypted(text: &str) -> Result<bool, KeyError> {
        let bytes = decode_secret(text)?;
        Ok(bytes[2..4] == KDF_SCRYPT)
    }

    /// A secret key file as minisign or ktui wrote it; `password` decrypts an encrypted one.
    pub fn from_file_text(text: &str, password: Option<&str>) -> Result<Self, KeyError> {
        let mut bytes = decode_secret(text)?;
        let encrypted = bytes[2..4] == KDF_SCRYPT;
        if encrypted {
            let password = password.ok_or(KeyError::PasswordRequired)?;
            let limits = KdfLimits {
                opslimit: u64::from_le_bytes(array(&bytes[OPSLIMIT_AT..MEMLIMIT_AT])),
                memlimit: u64::from_le_bytes(array(&bytes[MEMLIMIT_AT..KEYNUM_SK_AT])),
            };
            let salt: [u8; 32] = array(&bytes[SALT_AT..OPSLIMIT_AT]);
            let stream = keystream(password, &salt, limits)?;
            xor(&mut bytes[KEYNUM_SK_AT..], stream.as_ref());
        }
        let key_id: [u8; 8] = array(&bytes[KEYNUM_SK_AT..KEYNUM_SK_AT + 8]);
        let keypair: Zeroizing<[u8; 64]> =
            Zeroizing::new(array(&bytes[KEYNUM_SK_AT + 8..KEYNUM_SK_AT + 72]));
        let stored: [u8; 32] = array(&bytes[KEYNUM_SK_AT + 72..]);
        // `minisign -G -W` leaves the checksum zero (it is computed only when encrypting).
        let unchecked = !encrypted && stored == [0u8; 32];
        if !unchecked && stored != checksum(&key_id, &keypair) {
            return Err(if encrypted {
                KeyError::WrongPassword
            } else {
                KeyError::Corrupted
            });
        }
        let key = SigningKey::from_keypair_bytes(&keypair).map_err(|_| KeyError::Corrupted)?;
        Ok(SecretKey {
            key_id: KeyId(key_id),
            key,
        })
    }
}

/// The binary secret key, its algorithms checked.
fn decode_secret(text: &str) -> Result<Zeroizing<[u8; SECRET_LEN]>, KeyError> {
    let line = lines(text)
        .nth(1)
        .ok_or(KeyError::Malformed("no second line (the base64 key)"))?;
    let bytes = Zeroizing::new(decode_exact::<SECRET_LEN>(line).ok_or(KeyError::Malformed(
        "expected the base64 of a 158-byte secret key",
    ))?);
    check_alg("signature algorithm", &bytes[..2], SIG_ALG, "Ed")?;
    if bytes[2..4] != KDF_SCRYPT && bytes[2..4] != KDF_NONE {
        check_alg("key derivation", &bytes[2..4], KDF_SCRYPT, "Sc")?;
    }
    check_alg("checksum algorithm", &bytes[4..6], CHK_ALG, "B2")?;
    Ok(bytes)
}

fn check_alg(
    what: &'static str,
    found: &[u8],
    want: [u8; 2],
    expected: &'static str,
) -> Result<(), KeyError> {
    if found == want {
        return Ok(());
    }
    Err(KeyError::Unsupported {
        what,
        found: String::from_utf8_lossy(found).into_owned(),
        expected,
    })
}

/// BLAKE2b-256 of `"Ed"` ‖ key id ‖ secret key (minisign's `seckey_compute_chk`).
fn checksum(key_id: &[u8; 8], keypair: &[u8; 64]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    h.update(SIG_ALG);
    h.update(key_id);
    h.update(keypair);
    h.finalize().into()
}

/// scrypt(password, salt) as long as the encrypted block, with libsodium's parameters.
fn keystream(
    password: &str,
    salt: &[u8; 32],
    limits: KdfLimits,
) -> Result<Zeroizing<[u8; KEYNUM_SK_LEN]>, KeyError> {
    // Never more than minisign writes (a key file must not make ktui allocate without bound).
    if limits.opslimit > KdfLimits::MINISIGN.opslimit
        || limits.memlimit > KdfLimits::MINISIGN.memlimit
    {
        return Err(KeyError::KdfTooCostly {
            opslimit: limits.opslimit,
            memlimit: limits.memlimit,
        });
    }
    let (log_n, r, p) = limits.scrypt_params();
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|_| KeyError::Malformed("its scrypt parameters are invalid"))?;
    let mut out = Zeroizing::new([0u8; KEYNUM_SK_LEN]);
    scrypt::scrypt(password.as_bytes(), salt, &params, out.as_mut())
        .map_err(|_| KeyError::Malformed("scrypt refused the output length"))?;
    Ok(out)
}

fn xor(data: &mut [u8], stream: &[u8]) {
    for (d, s) in data.iter_mut().zip(stream) {
        *d ^= s;
    }
}

/// A fixed-size copy of a slice whose length the caller's indices guarantee.
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let n = N.min(bytes.len());
    out[..n].copy_from_slice(&bytes[..n]);
    out
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::*;

    const MINISIGN_PUB: &str = include_str!("../../tests/fixtures/sign/minisign.pub");
    const MINISIGN_KEY: &str = include_str!("../../tests/fixtures/sign/minisign.key");

    /// Cheap scrypt (N = 2^10) so the tests stay quick; minisign reads any limits from the file.
    const CHEAP: KdfLimits = KdfLimits {
        opslimit: 32_768,
        memlimit: 16_777_216,
    };

    #[test]
    fn scrypt_parameters_are_libsodiums() {
        // libsodium documents SENSITIVE as N = 2^20 (1 GiB) and INTERACTIVE as N = 2^14 (16 MiB),
        // both with r = 8, p = 1.
        assert_eq!(KdfLimits::MINISIGN.scrypt_params(), (20, 8, 1));
        let interactive = KdfLimits {
            opslimit: 524_288,
            memlimit: 16_777_216,
        };
        assert_eq!(interactive.scrypt_params(), (14, 8, 1));
        assert_eq!(CHEAP.scrypt_params(), (10, 8, 1));
        // The branch where opslimit bounds p: p = opslimit / 4 / N / r.
        let wide = KdfLimits {
            opslimit: 33_554_432,
            memlimit: 16_777_216,
        };
        assert_eq!(wide.scrypt_params(), (14, 8, 64));
    }

    #[test]
    fn an_encrypted_key_opens_with_its_password_only() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_file_text(Some("correct horse"), CHEAP).unwrap();
        assert!(SecretKey::file_is_encrypted(&text).unwrap());
        assert!(text.starts_with("untrusted comment: ktui secret key "));
        let back = SecretKey::from_file_text(&text, Some("correct horse")).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.public_key(), key.public_key());
        assert_eq!(
            SecretKey::from_file_text(&text, Some("correct horsf")).unwrap_err(),
            KeyError::WrongPassword
        );
        assert_eq!(
            SecretKey::from_file_text(&text, None).unwrap_err(),
            KeyError::PasswordRequired
        );
        // The stored bytes are encrypted: no seed in the clear.
        let raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
        assert_eq!(&raw[2..4], b"Sc");
        assert_ne!(
            &raw[KEYNUM_SK_AT + 8..KEYNUM_SK_AT + 40],
            key.key.as_bytes()
        );
        assert_eq!(
            u64::from_le_bytes(array(&raw[OPSLIMIT_AT..])),
            CHEAP.opslimit
        );
        assert_eq!(
            u64::from_le_bytes(array(&raw[MEMLIMIT_AT..])),
            CHEAP.memlimit
        );
    }

    #[test]
    fn an_unencrypted_key_has_kdf_bytes_zero() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_file_text(None, KdfLimits::MINISIGN).unwrap();
        assert!(!SecretKey::file_is_encrypted(&text).unwrap());
        let raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
        assert_eq!(raw.len(), SECRET_LEN);
        assert_eq!(&raw[..6], b"Ed\0\0B2");
        let back = SecretKey::from_file_text(&text, Some("ignored")).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }

    #[test]
    fn a_corrupted_key_is_refused() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_file_text(None, CHEAP).unwrap();
        let mut raw = STANDARD.decode(text.lines().nth(1).unwrap()).unwrap();
        raw[KEYNUM_SK_AT + 20] ^= 1;
        let bad = format!("c\n{}\n", STANDARD.encode(&raw));
        assert_eq!(
            SecretKey::from_file_text(&bad, None).unwrap_err(),
            KeyError::Corrupted
        );
        raw[KEYNUM_SK_AT + 20] ^= 1;
        raw[0] = b'X';
        let bad = format!("c\n{}\n", STANDARD.encode(&raw));
        assert!(matches!(
            SecretKey::from_file_text(&bad, None),
            Err(KeyError::Unsupported {
                what: "signature algorithm",
                ..
            })
        ));
    }

    #[test]
    fn kdf_costs_beyond_minisigns_are_refused() {
        let key = SecretKey::generate().unwrap();
        let costly = KdfLimits {
            opslimit: KdfLimits::MINISIGN.opslimit * 2,
            memlimit: KdfLimits::MINISIGN.memlimit,
        };
        assert!(matches!(
            key.to_file_text(Some("p"), costly),
            Err(SignError::Encrypt(KeyError::KdfTooCostly { .. }))
        ));
    }

    #[test]
    fn reads_minisigns_unencrypted_key_and_public_key() {
        // `minisign -G -W` writes a zero checksum.
        let key = SecretKey::from_file_text(MINISIGN_KEY, None).unwrap();
        let public = PublicKey::from_file_text(MINISIGN_PUB).unwrap();
        assert_eq!(key.public_key(), public);
        assert_eq!(public.key_id().to_string(), "4397450D33E07907");
        // ktui writes the public key file exactly as minisign does.
        assert_eq!(public.to_file_text(), MINISIGN_PUB);
        assert_eq!(public.to_base64(), MINISIGN_PUB.lines().nth(1).unwrap());
        assert_eq!(PublicKey::from_base64(&public.to_base64()).unwrap(), public);
    }

    #[test]
    fn debug_shows_no_secret() {
        let key = SecretKey::from_file_text(MINISIGN_KEY, None).unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("key_id"), "{shown}");
        assert!(!shown.contains("key:"), "{shown}");
    }
}
