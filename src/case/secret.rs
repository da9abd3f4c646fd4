//! The per-case HMAC key, `secrets.key` (32 random bytes, mode 0600, never exported): a
//! referenced Secret's value is recorded as HMAC-SHA256(key, value), which proves later which
//! value was mounted without letting anyone holding the bundle brute-force a short secret.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::{CaseError, Result};
use super::fsx;

pub const KEY_FILE: &str = "secrets.key";
const KEY_LEN: usize = 32;

pub struct SecretKey([u8; KEY_LEN]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A new random key written to `dir/secrets.key`.
    pub fn create(dir: &Path) -> Result<Self> {
        let path = dir.join(KEY_FILE);
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| CaseError::SecretKey {
            path: path.clone(),
            reason: format!("the system's random source failed: {e}"),
        })?;
        fsx::write_atomic(&path, &key).map_err(|e| CaseError::io("write", dir, &path, e))?;
        Ok(SecretKey(key))
    }

    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join(KEY_FILE);
        let bytes = std::fs::read(&path).map_err(|e| CaseError::SecretKey {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let key =
            <[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| CaseError::SecretKey {
                path: path.clone(),
                reason: format!("{} bytes, expected {KEY_LEN}", bytes.len()),
            })?;
        Ok(SecretKey(key))
    }

    /// HMAC-SHA256 of `value`, hex.
    pub fn hmac_hex(&self, value: &[u8]) -> String {
        hmac_hex(&self.0, value)
    }
}

fn hmac_hex(key: &[u8], value: &[u8]) -> String {
    // HMAC takes a key of any length: new_from_slice cannot fail.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(value);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_test_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn keys_are_random_private_and_reloadable() {
        use std::os::unix::fs::PermissionsExt as _;
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ka = SecretKey::create(a.path()).unwrap();
        let kb = SecretKey::create(b.path()).unwrap();
        assert_ne!(ka.hmac_hex(b"pw"), kb.hmac_hex(b"pw"));
        assert_eq!(
            SecretKey::load(a.path()).unwrap().hmac_hex(b"pw"),
            ka.hmac_hex(b"pw")
        );
        let meta = std::fs::metadata(a.path().join(KEY_FILE)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 32);
        std::fs::write(a.path().join(KEY_FILE), b"short").unwrap();
        assert!(matches!(
            SecretKey::load(a.path()),
            Err(CaseError::SecretKey { .. })
        ));
    }
}
