//! `ktui::bundle::verify` on bundles made good and then broken one way each: every break is
//! found and named (the archive, the signature, a member changed, dropped or added, a custody
//! line rewritten, an artifact no custody line names).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ktui::bundle::verify::{VerifyError, verify};
use ktui::sign::{KdfLimits, Prehasher, PublicKey, SecretKey};
use sha2::{Digest, Sha256};

const NAME: &str = "ktui-shop-web-0-20261202T040000Z";

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Custody lines chained as ktui writes them, naming `artifacts`.
fn custody(artifacts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut prev = "0".repeat(64);
    let mut out = Vec::new();
    for (i, (path, bytes)) in artifacts.iter().enumerate() {
        let line = serde_json::json!({
            "seq": i + 1, "ts": "2026-12-02T04:00:00.000000000Z",
            "actor": {"local_user": "tester", "host": "h", "kube_user": null, "context": "demo"},
            "action": "capture_logs", "target": "shop/web-0", "result": "ok", "error": null,
            "artifacts": [{"path": path, "sha256": sha(bytes)}], "prev": prev,
        })
        .to_string();
        prev = sha(line.as_bytes());
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

/// The members of a good bundle with two artifacts, SHA256SUMS last.
fn good() -> Vec<(String, Vec<u8>)> {
    let a: &[u8] = b"GET /healthz 500\n";
    let b: &[u8] = b"[{\"reason\":\"BackOff\"}]\n";
    let manifest = serde_json::json!({"schema": 1, "artifacts": [
        {"path": "artifacts/shop/web-0/logs/web.log", "size": a.len(), "sha256": sha(a)},
        {"path": "artifacts/shop/web-0/events.json", "size": b.len(), "sha256": sha(b)},
    ]})
    .to_string()
    .into_bytes();
    let mut members = vec![
        ("artifacts/shop/web-0/logs/web.log".to_string(), a.to_vec()),
        ("artifacts/shop/web-0/events.json".to_string(), b.to_vec()),
        ("manifest.json".to_string(), manifest),
        (
            "custody.jsonl".to_string(),
            custody(&[
                ("artifacts/shop/web-0/logs/web.log", a),
                ("artifacts/shop/web-0/events.json", b),
            ]),
        ),
    ];
    members.push(("SHA256SUMS".to_string(), sums(&members)));
    members
}

fn sums(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    members
        .iter()
        .filter(|(p, _)| p != "SHA256SUMS")
        .map(|(p, b)| format!("{}  {p}\n", sha(b)))
        .collect::<String>()
        .into_bytes()
}

/// Pack `members` as NAME.tar.gz with its .sha256 and a .minisig by `key`.
fn pack(dir: &Path, key: &SecretKey, members: &[(String, Vec<u8>)]) -> PathBuf {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    {
        let mut tar = tar::Builder::new(&mut gz);
        for (path, bytes) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            let full = format!("{NAME}/{path}");
            if full.contains("..") {
                // What a hostile archive holds (the tar crate refuses to write it): the name
                // bytes set directly.
                let name = &mut h.as_gnu_mut().unwrap().name;
                name[..full.len()].copy_from_slice(full.as_bytes());
                h.set_cksum();
                tar.append(&h, bytes.as_slice()).unwrap();
            } else {
                tar.append_data(&mut h, full, bytes.as_slice()).unwrap();
            }
        }
        tar.finish().unwrap();
    }
    let archive = gz.finish().unwrap();
    let path = dir.join(format!("{NAME}.tar.gz"));
    std::fs::write(&path, &archive).unwrap();
    let hex = sha(&archive);
    std::fs::write(
        dir.join(format!("{NAME}.tar.gz.sha256")),
        format!("{hex}  {NAME}.tar.gz\n"),
    )
    .unwrap();
    let mut pre = Prehasher::new();
    pre.update(&archive);
    let sig = ktui::sign::sign_prehashed(
        key,
        pre.finalize(),
        &format!("ktui case=test sha256={hex} created=2026-12-02T04:00:00Z"),
        "ktui bundle",
    )
    .unwrap();
    let mut f = std::fs::File::create(dir.join(format!("{NAME}.tar.gz.minisig"))).unwrap();
    f.write_all(sig.as_bytes()).unwrap();
    path
}

fn keys() -> (tempfile::TempDir, SecretKey, PublicKey) {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) =
        ktui::sign::create_key_pair(&dir.path().join("k"), None, KdfLimits::MINISIGN).unwrap();
    let public = key.public_key();
    (dir, key, public)
}

#[test]
fn a_good_bundle_verifies() {
    let (dir, key, public) = keys();
    let bundle = pack(dir.path(), &key, &good());
    let report = verify(&bundle, &public).unwrap();
    assert_eq!(report.members, 4);
    assert_eq!(report.custody_lines, 2);
    assert!(report.trusted_comment.starts_with("ktui case=test sha256="));
}

#[test]
fn a_flipped_byte_in_the_archive_or_the_signature_is_found() {
    let (dir, key, public) = keys();
    let bundle = pack(dir.path(), &key, &good());
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(&bundle, &bytes).unwrap();
    let err = verify(&bundle, &public).unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Sha256Mismatch { .. } | VerifyError::Archive(_)
        ),
        "{err}"
    );

    let bundle = pack(dir.path(), &key, &good());
    let sig_path = dir.path().join(format!("{NAME}.tar.gz.minisig"));
    let mut sig = std::fs::read_to_string(&sig_path).unwrap();
    // The second line is the signature's base64: change one character of it.
    let at = sig.find('\n').unwrap() + 20;
    let c = if &sig[at..=at] == "A" { "B" } else { "A" };
    sig.replace_range(at..=at, c);
    std::fs::write(&sig_path, sig).unwrap();
    let err = verify(&bundle, &public).unwrap_err();
    assert!(matches!(err, VerifyError::Signature(_)), "{err}");

    // Another key's public half.
    let bundle = pack(dir.path(), &key, &good());
    let (_other_dir, _other, other_public) = keys();
    let err = verify(&bundle, &other_public).unwrap_err();
    assert!(matches!(err, VerifyError::Signature(_)), "{err}");
}

#[test]
fn a_member_changed_dropped_or_added_is_named() {
    let (dir, key, public) = keys();
    let mut changed = good();
    changed[0].1 = b"GET /healthz 200\n".to_vec();
    let err = verify(&pack(dir.path(), &key, &changed), &public).unwrap_err();
    assert!(
        matches!(&err, VerifyError::MemberChanged { path, .. } if path == "artifacts/shop/web-0/logs/web.log"),
        "{err}"
    );

    let mut dropped = good();
    dropped.remove(1);
    let err = verify(&pack(dir.path(), &key, &dropped), &public).unwrap_err();
    assert!(
        matches!(&err, VerifyError::MemberMissing(p) if p == "artifacts/shop/web-0/events.json"),
        "{err}"
    );

    let mut added = good();
    added.insert(2, ("artifacts/shop/web-0/extra.txt".into(), b"x".to_vec()));
    let err = verify(&pack(dir.path(), &key, &added), &public).unwrap_err();
    assert!(
        matches!(&err, VerifyError::MemberExtra(p) if p == "artifacts/shop/web-0/extra.txt"),
        "{err}"
    );
}

#[test]
fn a_rewritten_custody_line_or_an_unrecorded_artifact_is_named() {
    let (dir, key, public) = keys();
    let mut members = good();
    let custody = String::from_utf8(members[3].1.clone()).unwrap();
    let rewritten = custody.replacen("\"tester\"", "\"mallory\"", 1);
    members[3].1 = rewritten.into_bytes();
    let n = members.len();
    members[n - 1].1 = sums(&members[..n - 1]);
    let err = verify(&pack(dir.path(), &key, &members), &public).unwrap_err();
    assert!(
        matches!(err, VerifyError::Custody { line: 2, .. }),
        "the line after the rewritten one breaks the chain: {err}"
    );

    let mut members = good();
    members[3].1 = self::custody(&[("artifacts/shop/web-0/logs/web.log", b"GET /healthz 500\n")]);
    let n = members.len();
    members[n - 1].1 = sums(&members[..n - 1]);
    let err = verify(&pack(dir.path(), &key, &members), &public).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Custody { why, .. } if why.contains("events.json")),
        "{err}"
    );
}

#[test]
fn members_outside_the_bundle_directory_are_refused() {
    let (dir, key, public) = keys();
    let mut members = good();
    members.insert(0, ("../../etc/cron.d/x".into(), b"boom".to_vec()));
    let bundle = pack(dir.path(), &key, &members);
    let err = verify(&bundle, &public).unwrap_err();
    assert!(
        matches!(err, VerifyError::StrayMember(_) | VerifyError::Archive(_)),
        "{err}"
    );
}

/// `ktui verify` as a third party runs it: exit 0 and OK, then exit 1 naming the change.
#[test]
fn the_verify_command_says_ok_or_names_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let (key, files) =
        ktui::sign::create_key_pair(&dir.path().join("k"), None, KdfLimits::MINISIGN).unwrap();
    let bundle = pack(dir.path(), &key, &good());
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_ktui"))
            .arg("verify")
            .arg(&bundle)
            .arg("--pubkey")
            .arg(&files.public_key)
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("OK "), "{stdout}");
    let mut changed = good();
    changed[1].1 = b"[]\n".to_vec();
    pack(dir.path(), &key, &changed);
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("FAILED") && stderr.contains("events.json"),
        "{stderr}"
    );
}
