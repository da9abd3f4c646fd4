//! Signing against the real thing: Debian's `minisign` checks what ktui signs, ktui checks what
//! minisign signs, and each opens the other's encrypted keys; plus `ktui keygen` end to end.
//! Tests that need the binary skip (saying why) when it is missing, and fail under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ktui::sign::{self, KeyError, Prehasher, SignError};

const PASSWORD: &str = "correct horse battery";

fn minisign_missing() -> Option<String> {
    match Command::new("minisign").arg("-v").output() {
        Ok(o) if o.status.success() => None,
        _ => Some("no `minisign` binary on PATH (apt-get install minisign)".into()),
    }
}

/// `ktui ARGS` with a private HOME and XDG_CONFIG_HOME under `home`, no key variables.
fn ktui(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(args)
        .env("HOME", home.join("home"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove(sign::PASSWORD_ENV)
        .env_remove(sign::SIGNING_KEY_ENV)
        .env("KUBECONFIG", "/nonexistent/ktui-test-kubeconfig");
    c
}

fn minisign(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new("minisign")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// 1 MiB that is not all one byte, written as the export writes: chunk by chunk through the
/// prehasher. Returns the file and its prehash.
fn data_file(dir: &Path) -> (PathBuf, [u8; 64]) {
    let path = dir.join("bundle.tar.gz");
    let mut file = fs::File::create(&path).unwrap();
    let mut hasher = Prehasher::new();
    let mut state = 0x9e37_79b9_u32;
    for _ in 0..256 {
        let chunk: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        file.write_all(&chunk).unwrap();
        hasher.write_all(&chunk).unwrap();
    }
    (path, hasher.finalize())
}

fn sig_path(data: &Path) -> PathBuf {
    let mut s = data.as_os_str().to_owned();
    s.push(".minisig");
    PathBuf::from(s)
}

fn keygen(tmp: &Path, dir: &Path, password: Option<&str>) -> Output {
    let mut c = ktui(tmp, &["keygen", "--dir", dir.to_str().unwrap()]);
    if let Some(p) = password {
        c.env(sign::PASSWORD_ENV, p);
    }
    c.output().unwrap()
}

#[test]
fn keygen_writes_a_private_pair_and_refuses_to_overwrite_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let out = keygen(tmp.path(), &dir, None);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    let key = dir.join("ktui.key");
    let public = dir.join("ktui.pub");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert!(
        stdout.contains(&format!("public key: {}", public.display())),
        "{stdout}"
    );
    // The key id printed is the one minisign shows in the public key's comment.
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("key id: "))
        .unwrap();
    assert_eq!(id.len(), 16);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase())
    );
    let pub_text = fs::read_to_string(&public).unwrap();
    assert!(
        pub_text.starts_with(&format!("untrusted comment: minisign public key {id}\n")),
        "{pub_text}"
    );
    assert!(
        stderr.contains("is not encrypted") && stderr.contains("KTUI_KEY_PASSWORD"),
        "{stderr}"
    );
    let (loaded, encrypted) = sign::load_secret_key(&key, None).unwrap();
    assert_eq!(
        (loaded.key_id().to_string(), encrypted),
        (id.to_string(), false)
    );

    let before = (fs::read(&key).unwrap(), fs::read(&public).unwrap());
    let again = keygen(tmp.path(), &dir, None);
    let stderr = text(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("--dir"), "{stderr}");
    assert_eq!(
        (fs::read(&key).unwrap(), fs::read(&public).unwrap()),
        before
    );
}

#[test]
fn keygen_defaults_to_the_xdg_config_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ktui(tmp.path(), &["keygen"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let dir = tmp.path().join("config/ktui");
    assert_eq!(mode(&dir.join("ktui.key")), 0o600);
    assert!(dir.join("ktui.pub").is_file());
    assert!(!tmp.path().join("home").exists());
}

#[test]
fn minisign_verifies_what_ktui_signs() {
    if common::skip_unless("minisign_verifies_what_ktui_signs", minisign_missing()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    assert!(keygen(tmp.path(), &dir, None).status.success());
    let (key, _) = sign::load_secret_key(&dir.join("ktui.key"), None).unwrap();
    let (data, prehash) = data_file(tmp.path());
    let sha = "5f".repeat(32);
    let comment =
        format!("ktui case=ktui-demo-20250601T120000Z sha256={sha} created=2025-06-01T12:00:00Z");
    let sig = sign::sign_prehashed(&key, prehash, &comment, "signature from ktui").unwrap();
    fs::write(sig_path(&data), &sig).unwrap();
    let public = dir.join("ktui.pub");
    let args = [
        "-Vm",
        data.to_str().unwrap(),
        "-p",
        public.to_str().unwrap(),
    ];

    let out = minisign(&args, "");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("Trusted comment: {comment}")),
        "{stdout}"
    );
    // -H: minisign insists on a prehashed signature, and this is one.
    let mut strict = args.to_vec();
    strict.insert(0, "-H");
    assert!(minisign(&strict, "").status.success());

    // The checker can fail: a changed byte in the data, then in the trusted comment.
    let mut bytes = fs::read(&data).unwrap();
    bytes[500_000] ^= 1;
    fs::write(&data, &bytes).unwrap();
    let out = minisign(&args, "");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Signature verification failed"));
    bytes[500_000] ^= 1;
    fs::write(&data, &bytes).unwrap();
    fs::write(
        sig_path(&data),
        sig.replace("case=ktui-demo", "case=ktui-dema"),
    )
    .unwrap();
    let out = minisign(&args, "");
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("Comment signature verification failed"));
}

#[test]
fn ktui_verifies_what_minisign_signs_and_signs_identically() {
    if common::skip_unless(
        "ktui_verifies_what_minisign_signs_and_signs_identically",
        minisign_missing(),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pk, sk) = (tmp.path().join("m.pub"), tmp.path().join("m.key"));
    let (pk_s, sk_s) = (pk.to_str().unwrap(), sk.to_str().unwrap());
    let out = minisign(&["-G", "-W", "-p", pk_s, "-s", sk_s], "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (data, prehash) = data_file(tmp.path());
    let comment = "ktui case=c sha256=00 created=2025-06-01T12:00:00Z";
    let out = minisign(
        &[
            "-S",
            "-s",
            sk_s,
            "-m",
            data.to_str().unwrap(),
            "-t",
            comment,
            "-c",
            "from minisign",
        ],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let minisig = fs::read_to_string(sig_path(&data)).unwrap();

    let public = sign::load_public_key(&pk).unwrap();
    let got = sign::verify_reader(&public, fs::File::open(&data).unwrap(), &minisig).unwrap();
    assert_eq!(got.trusted_comment, comment);
    assert_eq!(got.key_id, public.key_id());
    let got = sign::verify(&public, prehash, &minisig).unwrap();
    assert_eq!(got.trusted_comment, comment);

    // The same key, data and comments: ktui writes minisign's file byte for byte.
    let (key, encrypted) = sign::load_secret_key(&sk, None).unwrap();
    assert!(!encrypted);
    let ours = sign::sign_prehashed(&key, prehash, comment, "from minisign").unwrap();
    assert_eq!(ours, minisig);

    let mut bytes = fs::read(&data).unwrap();
    bytes[0] ^= 1;
    assert!(matches!(
        sign::verify_reader(&public, &bytes[..], &minisig),
        Err(SignError::DataSignatureMismatch)
    ));
}

#[test]
fn minisign_signs_with_a_ktui_encrypted_key() {
    if common::skip_unless(
        "minisign_signs_with_a_ktui_encrypted_key",
        minisign_missing(),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("keys");
    let out = keygen(tmp.path(), &dir, Some(PASSWORD));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("not encrypted"), "{stderr}");
    let key = dir.join("ktui.key");
    assert_eq!(mode(&key), 0o600);
    let (data, _) = data_file(tmp.path());
    let sign_args = [
        "-S",
        "-s",
        key.to_str().unwrap(),
        "-m",
        data.to_str().unwrap(),
        "-t",
        "tc",
    ];

    let wrong = minisign(&sign_args, "not the password\n");
    assert!(!wrong.status.success());
    assert!(
        text(&wrong.stderr).contains("Wrong password"),
        "{}",
        text(&wrong.stderr)
    );

    // minisign derives the same scrypt stream, so the checksum matches and it signs.
    let out = minisign(&sign_args, &format!("{PASSWORD}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let minisig = fs::read_to_string(sig_path(&data)).unwrap();
    let public = sign::load_public_key(&dir.join("ktui.pub")).unwrap();
    let got = sign::verify_reader(&public, fs::File::open(&data).unwrap(), &minisig).unwrap();
    assert_eq!(got.trusted_comment, "tc");
}

#[test]
fn ktui_opens_a_minisign_encrypted_key() {
    if common::skip_unless("ktui_opens_a_minisign_encrypted_key", minisign_missing()) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pk, sk) = (tmp.path().join("m.pub"), tmp.path().join("m.key"));
    let out = minisign(
        &["-G", "-p", pk.to_str().unwrap(), "-s", sk.to_str().unwrap()],
        &format!("{PASSWORD}\n{PASSWORD}\n"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let (key, encrypted) = sign::load_secret_key(&sk, Some(PASSWORD)).unwrap();
    assert!(encrypted);
    let public = sign::load_public_key(&pk).unwrap();
    assert_eq!(key.public_key(), public);
    assert!(matches!(
        sign::load_secret_key(&sk, None),
        Err(SignError::Key {
            source: KeyError::PasswordRequired,
            ..
        })
    ));
    assert!(matches!(
        sign::load_secret_key(&sk, Some("not the password")),
        Err(SignError::Key {
            source: KeyError::WrongPassword,
            ..
        })
    ));
    // And what ktui signs with it, minisign verifies.
    let (data, prehash) = data_file(tmp.path());
    let sig = sign::sign_prehashed(&key, prehash, "signed by ktui", "u").unwrap();
    fs::write(sig_path(&data), sig).unwrap();
    let out = minisign(
        &["-Vm", data.to_str().unwrap(), "-p", pk.to_str().unwrap()],
        "",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("Trusted comment: signed by ktui"));
}
