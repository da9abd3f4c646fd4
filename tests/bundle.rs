//! The bundle archive against the standard tools: GNU `tar xzf` extracts it and
//! `sha256sum -c SHA256SUMS` passes inside; `sha256sum` of the archive is the hash ktui
//! reports; Debian's `minisign -Vm` accepts the signature made from the prehash computed while
//! the archive was written (no second read). One flipped byte in an extracted member makes
//! `sha256sum -c` fail, one in the archive makes `minisign` fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ktui::bundle::{Content, Entry, write};

#[test]
fn tar_and_sha256sum_check_what_ktui_wrote() {
    if common::skip_unless(
        "tar_and_sha256sum_check_what_ktui_wrote",
        common::missing_tool(&["tar", "sha256sum", "minisign"]),
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Half random, half zeros, across several gzip members.
    let mut mixed = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..(3 << 19) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        mixed.push(x as u8);
    }
    mixed.extend(std::iter::repeat_n(0u8, 3 << 19));
    let pages = dir.path().join("pages.img");
    std::fs::write(&pages, &mixed).unwrap();
    let logs = dir.path().join("web.log");
    std::fs::write(&logs, "GET /healthz 500\n").unwrap();
    let name = "ktui-shop-web-0-20261202T040000Z";
    let archive_path = dir.path().join(format!("{name}.tar.gz"));
    let file = std::fs::File::create(&archive_path).unwrap();
    let mut prehash = ktui::sign::Prehasher::new();
    let archive = write(
        std::io::BufWriter::new(file),
        name,
        [
            Entry {
                path: "artifacts/shop/web-0/checkpoints/pages.img".into(),
                content: Content::File {
                    file: pages,
                    expect_sha256: None,
                },
            },
            Entry {
                path: "artifacts/shop/web-0/logs/web.log".into(),
                content: Content::File {
                    file: logs,
                    expect_sha256: None,
                },
            },
        ],
        1_764_648_000,
        &mut |b| prehash.update(b),
    )
    .unwrap();
    let keys = dir.path().join("keys");
    let (key, files) =
        ktui::sign::create_key_pair(&keys, None, ktui::sign::KdfLimits::MINISIGN).unwrap();
    let trusted = format!("ktui case=test sha256={}", archive.sha256);
    let sig =
        ktui::sign::sign_prehashed(&key, prehash.finalize(), &trusted, "ktui bundle").unwrap();
    let sig_path = dir.path().join(format!("{name}.tar.gz.minisig"));
    std::fs::write(&sig_path, sig).unwrap();
    let pubkey = files.public_key.display().to_string();
    let (ok, out) = common::run_in(
        dir.path(),
        "minisign",
        &["-Vm", &format!("{name}.tar.gz"), "-p", &pubkey],
    );
    assert!(ok, "minisign -V: {out}");
    assert!(out.contains(&trusted), "{out}");
    let (ok, out) = common::run_in(dir.path(), "sha256sum", &[&format!("{name}.tar.gz")]);
    assert!(ok, "{out}");
    assert_eq!(out.split_whitespace().next(), Some(archive.sha256.as_str()));

    let (ok, out) = common::run_in(dir.path(), "tar", &["xzf", &format!("{name}.tar.gz")]);
    assert!(ok, "tar xzf: {out}");
    let root = dir.path().join(name);
    let (ok, out) = common::run_in(&root, "sha256sum", &["-c", "SHA256SUMS"]);
    assert!(ok, "sha256sum -c: {out}");
    assert_eq!(out.matches(": OK").count(), 2, "{out}");
    let extracted = std::fs::read(root.join("artifacts/shop/web-0/checkpoints/pages.img")).unwrap();
    assert_eq!(extracted, mixed);

    // The checker can fail: one flipped byte in a member.
    let log = root.join("artifacts/shop/web-0/logs/web.log");
    let mut bytes = std::fs::read(&log).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&log, bytes).unwrap();
    let (ok, out) = common::run_in(&root, "sha256sum", &["-c", "SHA256SUMS"]);
    assert!(!ok, "{out}");
    assert!(out.contains("web.log: FAILED"), "{out}");
    // And one flipped byte in the archive: minisign refuses it.
    let mut bytes = std::fs::read(&archive_path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&archive_path, bytes).unwrap();
    let (ok, out) = common::run_in(
        dir.path(),
        "minisign",
        &["-Vm", &format!("{name}.tar.gz"), "-p", &pubkey],
    );
    assert!(!ok, "minisign accepted a changed archive: {out}");
}
