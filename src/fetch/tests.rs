//! The receive path over in-memory streams (the whole path through exec is tests/fetch.rs).

use std::time::Duration;

use ktui_wire::bulk::{BulkHeader, BulkWriter};
use sha2::{Digest as _, Sha256};

use super::*;

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A whole stream of `file` (size unknown), with the byte at `flip` inverted on the wire.
fn wire(file: &[u8], flip: Option<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    let header = BulkHeader {
        name: "snap.tar".into(),
        size: None,
        offset: 0,
    };
    let mut w = BulkWriter::start(&mut out, &header).unwrap();
    let mut sent = file.to_vec();
    if let Some(i) = flip {
        sent[i] = !sent[i];
    }
    w.content_sent_as(file, &sent).unwrap();
    w.finish().unwrap();
    out
}

fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

fn options() -> FetchOptions {
    FetchOptions {
        idle_timeout: Duration::from_secs(5),
        ..FetchOptions::default()
    }
}

#[tokio::test]
async fn a_stream_is_verified_and_renamed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = file(3 << 20);
    let w = wire(&data, None);
    let mut seen = Vec::new();
    let got = receive_stream(&mut &w[..], tmp.path(), "s.tar", &options(), &mut |d, t| {
        seen.push((d, t))
    })
    .await
    .unwrap();
    assert_eq!(got.sha256, sha(&data));
    assert_eq!(got.node_sha256, sha(&data));
    assert_eq!(got.name, "snap.tar");
    assert_eq!(std::fs::read(tmp.path().join("s.tar")).unwrap(), data);
    assert!(!tmp.path().join("s.tar.partial").exists());
    assert_eq!(seen.last(), Some(&(data.len() as u64, None)));
    // Never overwritten.
    let again = receive_stream(&mut &w[..], tmp.path(), "s.tar", &options(), &mut |_, _| {}).await;
    assert!(matches!(again, Err(FetchError::Exists { .. })), "{again:?}");
}

#[tokio::test]
async fn a_flipped_byte_keeps_the_partial_and_names_both_hashes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = file(100_000);
    let w = wire(&data, Some(5000));
    let err = receive_stream(&mut &w[..], tmp.path(), "s.tar", &options(), &mut |_, _| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&sha(&data)), "{msg}");
    let partial = tmp.path().join("s.tar.partial");
    let kept = std::fs::read(&partial).unwrap();
    assert!(msg.contains(&sha(&kept)), "{msg}");
    assert!(msg.contains(&partial.display().to_string()), "{msg}");
    assert!(!tmp.path().join("s.tar").exists());
}

#[tokio::test]
async fn a_cut_stream_is_not_accepted_and_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = file(2 << 20);
    let w = wire(&data, None);
    let cut = &w[..w.len() / 2];
    let err = receive_stream(
        &mut &cut[..],
        tmp.path(),
        "s.tar",
        &options(),
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, FetchError::StreamCut { done, .. } if done > 0),
        "{err:?}"
    );
    assert!(err.to_string().contains("inside its body"), "{err}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn the_limit_stops_a_stream_that_does_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let data = file(3 << 20);
    let w = wire(&data, None);
    let opts = FetchOptions {
        limit: Some(1 << 20),
        ..options()
    };
    let err = receive_stream(&mut &w[..], tmp.path(), "s.tar", &opts, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::NoRoom { room, .. } if room == 1 << 20),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[tokio::test]
async fn not_a_bulk_stream_is_a_protocol_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = receive_stream(
        &mut &b"sh: ktui-helper: not found\n"[..],
        tmp.path(),
        "s.tar",
        &options(),
        &mut |_, _| {},
    )
    .await
    .unwrap_err();
    assert!(matches!(err, FetchError::Protocol { .. }), "{err:?}");
}

#[test]
fn local_names_are_plain_file_names() {
    let tmp = tempfile::tempdir().unwrap();
    for bad in ["", ".", "..", "a/b", "a\0b", "a\u{1b}[2Jb"] {
        assert!(matches!(
            local_paths(tmp.path(), bad),
            Err(FetchError::BadName { .. })
        ));
    }
    let (f, p) = local_paths(&tmp.path().join("new"), "x.tar").unwrap();
    assert_eq!(p, tmp.path().join("new/x.tar.partial"));
    assert_eq!(f, tmp.path().join("new/x.tar"));
    assert_eq!(
        fetch_argv("/var/lib/kubelet/checkpoints/a.tar", 7),
        [
            "/ktui-helper",
            "fetch",
            "/var/lib/kubelet/checkpoints/a.tar",
            "--offset",
            "7"
        ]
    );
}

#[tokio::test]
async fn the_helpers_error_text_is_sanitised() {
    let tmp = tempfile::tempdir().unwrap();
    let mut w = Vec::new();
    ktui_wire::bulk::write_early_error(&mut w, "refused \u{1b}[2J/x\u{7}").unwrap();
    let err = receive_stream(&mut &w[..], tmp.path(), "s.tar", &options(), &mut |_, _| {})
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, FetchError::Helper { .. }), "{msg}");
    assert!(msg.contains("refused"), "{msg}");
    assert!(
        !msg.chars().any(|c| c == '\u{1b}' || c == '\u{7}'),
        "{msg:?}"
    );
}
