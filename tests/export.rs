//! Round trip of a case through `ktui export` and the independent checkers: artifacts written
//! into a case (as captures do) are packaged; `ktui verify`, Debian's `minisign -Vm`,
//! `sha256sum -c` on the `.sha256` and, after `tar xzf`, on `SHA256SUMS` all accept it; the export
//! is in the case's custody. An artifact changed on disk aborts the export and leaves no bundle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Output};

use ktui::case::{Action, ArtifactMeta, ArtifactPath, Case, CaseConfig, Source};

fn ktui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .env_remove("KTUI_SIGNING_KEY")
        .env_remove("KTUI_CASES_DIR")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn a_case_exported_verifies_with_ktui_minisign_and_sha256sum() {
    if common::skip_unless(
        "a_case_exported_verifies_with_ktui_minisign_and_sha256sum",
        common::missing_tool(&["minisign", "sha256sum", "tar"]),
    ) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let cases = tmp.path().join("cases");
    let id = "incident-42";
    {
        let case = Case::open(&cases, Some(id), &CaseConfig::new("demo", "https://demo")).unwrap();
        let logs = ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-0", "logs/web.previous.log").unwrap(),
            "text/plain",
            Source::Api("/api/v1/namespaces/shop/pods/web-0/log?previous=true".into()),
            Action::CaptureLogs,
        )
        .for_pod("shop", "web-0", Some("web"));
        case.write_artifact(&logs, b"panic: connection refused\n")
            .unwrap();
        let events = ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-0", "events.json").unwrap(),
            "application/json",
            Source::Api("/api/v1/namespaces/shop/events".into()),
            Action::CaptureEvents,
        )
        .for_pod("shop", "web-0", None);
        case.write_artifact(&events, b"[{\"reason\":\"BackOff\"}]\n")
            .unwrap();
    }
    let keys = tmp.path().join("keys");
    let (_, files) =
        ktui::sign::create_key_pair(&keys, None, ktui::sign::KdfLimits::MINISIGN).unwrap();
    let key = files.key.display().to_string();
    let pubkey = files.public_key.display().to_string();
    let cases_arg = cases.display().to_string();
    let out_dir = tmp.path().join("out");
    let out_arg = out_dir.display().to_string();
    let export = || {
        ktui(&[
            "export",
            "--case",
            id,
            "--cases-dir",
            &cases_arg,
            "--out",
            &out_arg,
            "--sign-key",
            &key,
        ])
    };

    let out = export();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let bundle = stdout.lines().next().unwrap().to_string();
    assert!(bundle.ends_with(".tar.gz"), "{stdout}");
    let name = Path::new(&bundle)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let stem = name.trim_end_matches(".tar.gz").to_string();

    let out = ktui(&["verify", &bundle, "--pubkey", &pubkey]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).starts_with("OK "), "{}", text(&out));
    let (ok, said) = common::run_in(&out_dir, "minisign", &["-Vm", &name, "-p", &pubkey]);
    assert!(ok, "minisign: {said}");
    assert!(said.contains(&format!("ktui case={id} sha256=")), "{said}");
    let (ok, said) = common::run_in(&out_dir, "sha256sum", &["-c", &format!("{name}.sha256")]);
    assert!(ok, "sha256sum -c .sha256: {said}");
    let (ok, said) = common::run_in(&out_dir, "tar", &["xzf", &name]);
    assert!(ok, "tar: {said}");
    let (ok, said) = common::run_in(&out_dir.join(&stem), "sha256sum", &["-c", "SHA256SUMS"]);
    assert!(ok, "sha256sum -c SHA256SUMS: {said}");
    for member in [
        "artifacts/shop/web-0/logs/web.previous.log",
        "artifacts/shop/web-0/events.json",
        "case.json",
        "custody.jsonl",
        "index.jsonl",
        "manifest.json",
    ] {
        assert!(said.contains(&format!("{member}: OK")), "{member}: {said}");
    }
    assert!(
        !said.contains("secrets.key"),
        "the HMAC key never leaves the case"
    );
    let custody = std::fs::read_to_string(cases.join(id).join("custody.jsonl")).unwrap();
    assert!(
        custody
            .lines()
            .last()
            .unwrap()
            .contains("\"action\":\"export\""),
        "{custody}"
    );

    // Evidence changed on disk since its capture: the export refuses, naming it, and leaves
    // nothing that could pass for a bundle.
    let log = cases
        .join(id)
        .join("artifacts/shop/web-0/logs/web.previous.log");
    std::fs::write(&log, b"panic: all good\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100)); // a new bundle name
    let before: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    let out = export();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("web.previous.log changed on disk"),
        "{}",
        text(&out)
    );
    let after: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(before, after, "no new file, no .partial left");
}

/// SIGKILL in the middle of an export: whatever is left has a `.partial` name, or fails
/// `ktui verify` — never a bundle that verifies.
#[test]
fn an_export_killed_midway_leaves_nothing_that_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = tmp.path().join("cases");
    let id = "incident-kill";
    {
        let case = Case::open(&cases, Some(id), &CaseConfig::new("demo", "https://demo")).unwrap();
        let meta = ArtifactMeta::new(
            ArtifactPath::pod("shop", "web-0", "checkpoints/pages.img").unwrap(),
            "application/octet-stream",
            Source::Local,
            Action::Other("capture_checkpoint".into()),
        )
        .for_pod("shop", "web-0", None);
        // 96 MiB: long enough to be caught in the middle (a debug build deflates slowly).
        let data = std::io::repeat(0x5a).take(96 << 20);
        case.write_artifact_from(&meta, data).unwrap();
    }
    let keys = tmp.path().join("keys");
    let (_, files) =
        ktui::sign::create_key_pair(&keys, None, ktui::sign::KdfLimits::MINISIGN).unwrap();
    let out_dir = tmp.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["export", "--case", id, "--sign-key"])
        .arg(&files.key)
        .arg("--cases-dir")
        .arg(&cases)
        .arg("--out")
        .arg(&out_dir)
        .env_remove("KTUI_SIGNING_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let partial_seen = loop {
        let partial = std::fs::read_dir(&out_dir).ok().is_some_and(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
        });
        if partial || std::time::Instant::now() > deadline {
            break partial;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    // SIGKILL (Child::kill), as a crash or an OOM kill would.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(partial_seen, "the export was caught while writing");
    for entry in std::fs::read_dir(&out_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tar.gz") {
            let out = ktui(&[
                "verify",
                &entry.path().display().to_string(),
                "--pubkey",
                &files.public_key.display().to_string(),
            ]);
            assert!(!out.status.success(), "{name} verifies after a kill");
        } else {
            assert!(name.ends_with(".partial"), "unexpected {name}");
        }
    }
}
