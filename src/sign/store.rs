//! Where keys live and which one signs: `--sign-key PATH`, `KTUI_SIGNING_KEY`, or `ktui.key` in
//! the config directory (`$XDG_CONFIG_HOME/ktui/`, else `~/.config/ktui/`), created on first use.

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use super::{KdfLimits, KeyError, KeyId, PublicKey, SecretKey, SignError};

pub const KEY_FILE: &str = "ktui.key";
pub const PUBLIC_KEY_FILE: &str = "ktui.pub";
/// The secret key's password (encrypts new keys, decrypts encrypted ones).
pub const PASSWORD_ENV: &str = "KTUI_KEY_PASSWORD";
/// A secret key file to sign with when `--sign-key` is not given.
pub const SIGNING_KEY_ENV: &str = "KTUI_SIGNING_KEY";

/// Key files are a few hundred bytes; refuse to read more than this from a path given as one.
const KEY_FILE_MAX: u64 = 64 * 1024;

/// The environment the key functions read, gathered in one place (tests build their own).
#[derive(Clone, Default)]
pub struct KeyEnv {
    /// `XDG_CONFIG_HOME` (ignored unless absolute, as the XDG spec says).
    pub config_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
    /// `KTUI_SIGNING_KEY`.
    pub signing_key: Option<PathBuf>,
    /// `KTUI_KEY_PASSWORD`.
    pub password: Option<String>,
}

impl KeyEnv {
    /// From the process environment; empty variables count as unset.
    pub fn from_env() -> Self {
        let path = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        KeyEnv {
            config_home: path("XDG_CONFIG_HOME"),
            home: path("HOME"),
            signing_key: path(SIGNING_KEY_ENV),
            password: std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty()),
        }
    }

    /// `$XDG_CONFIG_HOME/ktui`, else `$HOME/.config/ktui`.
    pub fn key_dir(&self) -> Result<PathBuf, SignError> {
        if let Some(dir) = self.config_home.as_ref().filter(|d| d.is_absolute()) {
            return Ok(dir.join("ktui"));
        }
        match &self.home {
            Some(home) => Ok(home.join(".config").join("ktui")),
            None => Err(SignError::NoConfigDir),
        }
    }
}

/// Where the signing key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrigin {
    /// `--sign-key PATH`.
    Flag,
    /// `KTUI_SIGNING_KEY`.
    Env,
    /// The existing `ktui.key` in the config directory.
    ConfigDir,
    /// Created just now in the config directory (no key existed).
    Created,
}

/// The signing key's file, its public key file (beside it, when there is one) and how it was
/// found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySource {
    pub origin: KeyOrigin,
    pub key_path: PathBuf,
    pub public_key_path: Option<PathBuf>,
    pub encrypted: bool,
}

impl KeySource {
    pub fn created(&self) -> bool {
        self.origin == KeyOrigin::Created
    }

    /// What to tell the user about the key (for stderr or the console): set only when it was
    /// created now, with the unencrypted-key warning when it is not encrypted.
    pub fn notice(&self, key_id: KeyId) -> Option<String> {
        if !self.created() {
            return None;
        }
        let public = self
            .public_key_path
            .as_deref()
            .map_or_else(|| "(none)".into(), |p| p.display().to_string());
        let mut text = format!(
            "created the signing key {} (key id {key_id}); its public key, for whoever verifies \
             the bundles: {public}",
            self.key_path.display()
        );
        if !self.encrypted {
            text.push('\n');
            text.push_str(&unencrypted_key_warning(&self.key_path));
        }
        Some(text)
    }
}

/// The warning for a secret key written without a password.
pub fn unencrypted_key_warning(key_path: &Path) -> String {
    format!(
        "warning: {} is not encrypted ({PASSWORD_ENV} was not set): anyone who can read it can \
         sign as you. Keep it private, or make an encrypted pair with {PASSWORD_ENV} set and \
         `ktui keygen --dir DIR`",
        key_path.display()
    )
}

/// The new pair's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairFiles {
    pub key: PathBuf,
    pub public_key: PathBuf,
    pub key_id: KeyId,
    pub encrypted: bool,
}

/// A new key pair as `dir/ktui.key` (mode 0600, encrypted when `password` is given) and
/// `dir/ktui.pub`; `dir` is created (mode 0700) when missing. Refuses when either file exists.
pub fn create_key_pair(
    dir: &Path,
    password: Option<&str>,
    limits: KdfLimits,
) -> Result<(SecretKey, KeyPairFiles), SignError> {
    let key_path = dir.join(KEY_FILE);
    let public_path = dir.join(PUBLIC_KEY_FILE);
    for path in [&key_path, &public_path] {
        if fs::symlink_metadata(path).is_ok() {
            return Err(SignError::KeyExists { path: path.clone() });
        }
    }
    let key = SecretKey::generate()?;
    let secret_text = zeroize::Zeroizing::new(key.to_file_text(password, limits)?);
    let public_text = key.public_key().to_file_text();
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| io_error("create the directory", dir, source))?;
    write_new(&key_path, secret_text.as_bytes(), 0o600)?;
    if let Err(e) = write_new(&public_path, public_text.as_bytes(), 0o644) {
        // Not half a pair: the key file is ours, made a moment ago.
        let _ = fs::remove_file(&key_path);
        return Err(e);
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    let files = KeyPairFiles {
        key: key_path,
        public_key: public_path,
        key_id: key.key_id(),
        encrypted: password.is_some(),
    };
    Ok((key, files))
}

/// Write a file that must not exist yet; remove it again when writing fails.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), SignError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => SignError::KeyExists { path: path.into() },
            _ => io_error("create", path, source),
        })?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    written.map_err(|source| {
        let _ = fs::remove_file(path);
        io_error("write", path, source)
    })
}

/// The key exports sign with: `explicit` (`--sign-key`), else `KTUI_SIGNING_KEY`, else
/// `ktui.key` in the config directory, created there when none exists (encrypted when
/// `KTUI_KEY_PASSWORD` is set, as `ktui keygen` does; else unencrypted: show
/// [`KeySource::notice`]).
pub fn signing_key(explicit: Option<&Path>) -> Result<(SecretKey, KeySource), SignError> {
    signing_key_with(explicit, &KeyEnv::from_env(), KdfLimits::MINISIGN)
}

/// [`signing_key`] with the environment and the KDF cost of a created key given.
pub fn signing_key_with(
    explicit: Option<&Path>,
    env: &KeyEnv,
    limits: KdfLimits,
) -> Result<(SecretKey, KeySource), SignError> {
    let (path, origin) = match (explicit, &env.signing_key) {
        (Some(p), _) => (p.to_path_buf(), KeyOrigin::Flag),
        (None, Some(p)) => (p.clone(), KeyOrigin::Env),
        (None, None) => (env.key_dir()?.join(KEY_FILE), KeyOrigin::ConfigDir),
    };
    if origin == KeyOrigin::ConfigDir && fs::symlink_metadata(&path).is_err() {
        let dir = path.parent().unwrap_or(Path::new("."));
        match create_key_pair(dir, env.password.as_deref(), limits) {
            Ok((key, files)) => {
                let source = KeySource {
                    origin: KeyOrigin::Created,
                    key_path: files.key,
                    public_key_path: Some(files.public_key),
                    encrypted: files.encrypted,
                };
                return Ok((key, source));
            }
            // Another ktui created it a moment ago: use that one.
            Err(SignError::KeyExists { path: p }) if p == path => {}
            Err(e) => return Err(e),
        }
    }
    let (key, encrypted) = load_secret_key(&path, env.password.as_deref())?;
    let public = path.with_extension("pub");
    let source = KeySource {
        origin,
        public_key_path: public.is_file().then_some(public),
        key_path: path,
        encrypted,
    };
    Ok((key, source))
}

/// A secret key file, decrypted with `password` when it is encrypted; and whether it was.
pub fn load_secret_key(
    path: &Path,
    password: Option<&str>,
) -> Result<(SecretKey, bool), SignError> {
    let text = zeroize::Zeroizing::new(read_key_file(path)?);
    let in_file = |source: KeyError| SignError::Key {
        path: path.into(),
        source,
    };
    let encrypted = SecretKey::file_is_encrypted(&text).map_err(in_file)?;
    let key = SecretKey::from_file_text(&text, password).map_err(in_file)?;
    Ok((key, encrypted))
}

pub fn load_public_key(path: &Path) -> Result<PublicKey, SignError> {
    let text = read_key_file(path)?;
    PublicKey::from_file_text(&text).map_err(|source| SignError::Key {
        path: path.into(),
        source,
    })
}

/// `ktui.pub` in the config directory (whether or not it exists).
pub fn default_public_key_path() -> Result<PathBuf, SignError> {
    Ok(KeyEnv::from_env().key_dir()?.join(PUBLIC_KEY_FILE))
}

/// The public key in the config directory, for `ktui verify` without `--pubkey`.
pub fn default_public_key() -> Result<PublicKey, SignError> {
    let path = default_public_key_path()?;
    if fs::symlink_metadata(&path).is_err() {
        return Err(SignError::NoPublicKey { path });
    }
    load_public_key(&path)
}

fn read_key_file(path: &Path) -> Result<String, SignError> {
    let file = fs::File::open(path).map_err(|source| io_error("read", path, source))?;
    let mut text = String::new();
    file.take(KEY_FILE_MAX)
        .read_to_string(&mut text)
        .map_err(|source| io_error("read", path, source))?;
    Ok(text)
}

fn io_error(action: &'static str, path: &Path, source: io::Error) -> SignError {
    SignError::Io {
        action,
        path: path.into(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    const CHEAP: KdfLimits = KdfLimits {
        opslimit: 32_768,
        memlimit: 16_777_216,
    };

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn env_in(dir: &Path) -> KeyEnv {
        KeyEnv {
            config_home: Some(dir.join("config")),
            home: Some(dir.join("home")),
            ..KeyEnv::default()
        }
    }

    #[test]
    fn the_key_directory_follows_xdg() {
        let env = KeyEnv {
            config_home: Some("/x/config".into()),
            home: Some("/home/u".into()),
            ..KeyEnv::default()
        };
        assert_eq!(env.key_dir().unwrap(), Path::new("/x/config/ktui"));
        // A relative XDG_CONFIG_HOME is invalid (XDG spec) and ignored.
        let env = KeyEnv {
            config_home: Some("rel".into()),
            ..env
        };
        assert_eq!(env.key_dir().unwrap(), Path::new("/home/u/.config/ktui"));
        assert!(matches!(
            KeyEnv::default().key_dir(),
            Err(SignError::NoConfigDir)
        ));
    }

    #[test]
    fn a_key_pair_is_written_private_and_never_overwritten() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("keys");
        let (key, files) = create_key_pair(&dir, None, CHEAP).unwrap();
        assert_eq!(files.key, dir.join("ktui.key"));
        assert_eq!(mode(&files.key), 0o600);
        assert_eq!(mode(&files.public_key), 0o644);
        assert_eq!(mode(&dir), 0o700);
        assert!(!files.encrypted);
        assert_eq!(
            load_public_key(&files.public_key).unwrap(),
            key.public_key()
        );
        let (back, encrypted) = load_secret_key(&files.key, None).unwrap();
        assert_eq!((back.key_id(), encrypted), (key.key_id(), false));

        let before = fs::read(&files.key).unwrap();
        match create_key_pair(&dir, None, CHEAP) {
            Err(SignError::KeyExists { path }) => assert_eq!(path, files.key),
            other => panic!("{other:?}"),
        }
        assert_eq!(fs::read(&files.key).unwrap(), before);
        // Half a pair is refused too, naming the file that is there.
        fs::remove_file(&files.key).unwrap();
        match create_key_pair(&dir, None, CHEAP) {
            Err(e @ SignError::KeyExists { .. }) => {
                assert!(e.to_string().contains("ktui.pub already exists"), "{e}");
                assert!(e.to_string().contains("--dir"), "{e}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_first_signing_key_is_created_then_reused() {
        let tmp = tempfile::tempdir().unwrap();
        let env = env_in(tmp.path());
        let (key, source) = signing_key_with(None, &env, CHEAP).unwrap();
        let dir = tmp.path().join("config/ktui");
        assert_eq!(
            source,
            KeySource {
                origin: KeyOrigin::Created,
                key_path: dir.join("ktui.key"),
                public_key_path: Some(dir.join("ktui.pub")),
                encrypted: false,
            }
        );
        let notice = source.notice(key.key_id()).unwrap();
        assert!(
            notice.contains(&dir.join("ktui.pub").display().to_string()),
            "{notice}"
        );
        assert!(notice.contains(&key.key_id().to_string()), "{notice}");
        assert!(notice.contains("is not encrypted"), "{notice}");

        let (again, source) = signing_key_with(None, &env, CHEAP).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        assert_eq!(source.origin, KeyOrigin::ConfigDir);
        assert_eq!(source.public_key_path, Some(dir.join("ktui.pub")));
        assert_eq!(source.notice(key.key_id()), None);
    }

    #[test]
    fn the_flag_wins_over_the_environment_over_the_config_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let (flag_key, flag) = create_key_pair(&tmp.path().join("flag"), None, CHEAP).unwrap();
        let (env_key, env_files) = create_key_pair(&tmp.path().join("env"), None, CHEAP).unwrap();
        let env = KeyEnv {
            signing_key: Some(env_files.key.clone()),
            ..env_in(tmp.path())
        };
        let (k, s) = signing_key_with(Some(&flag.key), &env, CHEAP).unwrap();
        assert_eq!((k.key_id(), s.origin), (flag_key.key_id(), KeyOrigin::Flag));
        let (k, s) = signing_key_with(None, &env, CHEAP).unwrap();
        assert_eq!((k.key_id(), s.origin), (env_key.key_id(), KeyOrigin::Env));
        assert_eq!(s.public_key_path, Some(env_files.public_key));
        // Neither of those created anything in the config directory.
        assert!(!tmp.path().join("config/ktui").exists());
    }

    #[test]
    fn an_encrypted_signing_key_needs_the_password() {
        let tmp = tempfile::tempdir().unwrap();
        let env = KeyEnv {
            password: Some("s3cret".into()),
            ..env_in(tmp.path())
        };
        let (key, source) = signing_key_with(None, &env, CHEAP).unwrap();
        assert!(source.encrypted);
        let notice = source.notice(key.key_id()).unwrap();
        assert!(!notice.contains("not encrypted"), "{notice}");

        let (k, s) = signing_key_with(None, &env, CHEAP).unwrap();
        assert_eq!((k.key_id(), s.encrypted), (key.key_id(), true));
        let no_password = env_in(tmp.path());
        match signing_key_with(None, &no_password, CHEAP) {
            Err(
                e @ SignError::Key {
                    source: KeyError::PasswordRequired,
                    ..
                },
            ) => assert!(e.to_string().contains("KTUI_KEY_PASSWORD"), "{e}"),
            other => panic!("{other:?}"),
        }
        let wrong = KeyEnv {
            password: Some("s3cre7".into()),
            ..env_in(tmp.path())
        };
        assert!(matches!(
            signing_key_with(None, &wrong, CHEAP),
            Err(SignError::Key {
                source: KeyError::WrongPassword,
                ..
            })
        ));
    }

    #[test]
    fn the_unencrypted_key_warning_names_the_file_and_the_fix() {
        let w = unencrypted_key_warning(Path::new("/k/ktui.key"));
        assert!(
            w.starts_with("warning: /k/ktui.key is not encrypted"),
            "{w}"
        );
        assert!(w.contains("KTUI_KEY_PASSWORD"), "{w}");
    }

    #[test]
    fn a_missing_key_file_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nope.key");
        let err = signing_key_with(Some(&path), &env_in(tmp.path()), CHEAP).unwrap_err();
        assert!(matches!(err, SignError::Io { .. }), "{err:?}");
        assert!(err.to_string().contains("nope.key"), "{err}");
    }
}
