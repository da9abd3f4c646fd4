//! Whole-archive inspection: the live-snapshot layout built here exactly as the issue 8 notes
//! specify it (no producer exists on this branch), the real CRI-O fixture rewritten into hostile
//! variants, and the error each one gives.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::*;

const SECRET: &[u8] = b"KTUI_SECRET_7731";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/checkpoint/checkpoint-ktapp-6d8f9c7b5d-4xk2p_default-ktapp-2026-11-22T12:35:06Z.tar")
}

/// Members in order: (path, data).
type Members = Vec<(String, Vec<u8>)>;

fn tar_bytes(members: &Members) -> Vec<u8> {
    let mut b = ::tar::Builder::new(Vec::new());
    for (path, data) in members {
        let mut h = ::tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_795_000_000);
        h.set_cksum();
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

fn fixture_members() -> Members {
    let mut a = ::tar::Archive::new(std::fs::File::open(fixture()).unwrap());
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.header().entry_type().is_dir() {
            continue;
        }
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        out.push((path, data));
    }
    out
}

struct Written {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn write(bytes: &[u8]) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.tar");
    std::fs::write(&path, bytes).unwrap();
    Written { _dir: dir, path }
}

fn inspect_bytes(bytes: &[u8], grep: Option<&[u8]>) -> Result<Report> {
    let w = write(bytes);
    inspect(&w.path, grep)
}

/// Offsets of every occurrence, by plain search (the independent reference).
fn occurrences(hay: &[u8], needle: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            out.push(i as u64);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// A live snapshot in layout version 1: two processes, one 2.5 MiB region holding the secret
/// across the scanner's 1 MiB chunk boundaries, a changed file, kernel log lines.
fn snapshot_members() -> (Members, Vec<u8>) {
    let mut region = vec![0u8; 2 * 1024 * 1024 + 512 * 1024];
    // Straddling the first window's end, the second window's start, and a later chunk edge.
    let window = CHUNK_EDGE + SECRET.len() - 1;
    for at in [
        10usize,
        CHUNK_EDGE - 5,
        window - 3,
        2 * CHUNK_EDGE - 3,
        region.len() - SECRET.len(),
    ] {
        region[at..at + SECRET.len()].copy_from_slice(SECRET);
    }
    let start = 0x7f12_a000_0000u64;
    let end = start + region.len() as u64;
    let member = format!("memory/42/{start:x}-{end:x}.bin");
    let rootfs = tar_bytes(&vec![
        ("tmp/ktui-note.txt".into(), b"note".to_vec()),
        ("etc/app.conf".into(), b"a=1".to_vec()),
    ]);
    let snapshot = serde_json::json!({
        "kind": "ktui-live-snapshot", "version": 1, "atomic": false,
        "note": "processes were not frozen; the read is not atomic; not a CRIU image, cannot be restored",
        "started_at": "2026-12-02T13:30:00Z", "finished_at": "2026-12-02T13:30:02Z",
        "helper": {"version": "0.1.0", "node": "node-1", "kernel": "6.18.0"},
        "container": {"name": "app", "id": "abc123", "image": "registry.example.test/app:1", "image_ref": null,
                      "runtime": "containerd", "pod": "app-0", "namespace": "shop", "pod_uid": "u-1",
                      "cgroup": "/kubepods/x", "created": "2026-12-02T12:00:00Z"},
        "processes": [{"pid": 42, "ppid": null, "comm": "app", "uid": 1000},
                      {"pid": 43, "ppid": 42, "comm": "worker", "uid": 1000}],
        "memory": [{"pid": 42, "start": format!("{start:x}"), "end": format!("{end:x}"), "prot": "rw-p",
                    "file": "", "member": member, "bytes": region.len(), "error": null},
                   {"pid": 43, "start": "7f0000000000", "end": "7f0000001000", "prot": "rw-p", "file": "",
                    "member": "memory/43/7f0000000000-7f0000001000.bin", "bytes": 0, "error": "EIO"}],
        "fds": [{"pid": 42, "fd": 3, "target": "socket:[1234]"}],
        "rootfs": {"source": "overlay-upper", "files": 2, "bytes": 7, "cap_bytes": 1048576, "left_out": [], "unreadable": []},
        "deleted_files": ["/etc/motd"],
        "mounts": [{"destination": "/data", "source": "/var/lib/kubelet/pods/u-1/volumes/x", "type": "bind"}],
        "unreadable": [{"path": "proc/43/environ", "error": "EACCES"}],
        "kmsg": {"lines": 1, "error": null}
    });
    let mut members: Members = Vec::new();
    for f in [
        "cmdline",
        "environ",
        "status",
        "limits",
        "cgroup",
        "mountinfo",
        "maps",
    ] {
        members.push((format!("proc/42/{f}"), format!("{f} of 42\n").into_bytes()));
    }
    members.push((
        "proc/42/fds.json".into(),
        br#"[{"fd": 3, "target": "socket:[1234]"}]"#.to_vec(),
    ));
    for f in ["tcp6", "udp", "udp6", "unix"] {
        members.push((
            format!("proc/42/net/{f}"),
            b"  sl  local_address\n".to_vec(),
        ));
    }
    let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   \
               0: 0C00550A:1F90 0100550A:896E 01 00000000:00000000 00:00000000 00000000  1000        0 1234 1\n";
    members.push(("proc/42/net/tcp".into(), tcp.as_bytes().to_vec()));
    members.push((member, region.clone()));
    members.push(("memory/43/7f0000000000-7f0000001000.bin".into(), Vec::new()));
    members.push(("rootfs-diff.tar".into(), rootfs));
    members.push((
        "kmsg.txt".into(),
        b"[1.0] app[42]: segfault at 0 ip 0\n".to_vec(),
    ));
    members.push((
        "snapshot.json".into(),
        serde_json::to_vec(&snapshot).unwrap(),
    ));
    (members, region)
}

const CHUNK_EDGE: usize = grep::CHUNK;

#[test]
fn live_snapshot_layout_is_read_and_searched() {
    let (members, region) = snapshot_members();
    let r = inspect_bytes(&tar_bytes(&members), Some(SECRET)).unwrap();
    assert_eq!(r.kind, Kind::Snapshot);
    assert_eq!(r.container.name.as_deref(), Some("app"));
    assert_eq!(r.container.namespace.as_deref(), Some("shop"));
    assert_eq!(
        r.processes
            .iter()
            .map(|p| (p.pid, p.ppid, p.comm.clone().unwrap()))
            .collect::<Vec<_>>(),
        vec![(42, 0, "app".into()), (43, 42, "worker".into())]
    );
    assert_eq!(r.rootfs_diff, ["tmp/ktui-note.txt", "etc/app.conf"]);
    assert_eq!(r.deleted_files, ["/etc/motd"]);
    assert_eq!(r.mounts[0].destination, "/data");
    assert_eq!(r.memory[1].error.as_deref(), Some("EIO"));
    assert_eq!(r.sockets.len(), 1);
    let sock = &r.sockets[0];
    assert_eq!(sock.local, "10.85.0.12:8080");
    assert_eq!(sock.remote.as_deref(), Some("10.85.0.1:35182"));
    assert_eq!(sock.state.as_deref(), Some("ESTABLISHED"));
    let info = r.snapshot.as_ref().unwrap();
    assert!(!info.atomic);
    assert!(info.note.as_deref().unwrap().contains("cannot be restored"));
    assert_eq!(r.kmsg.as_deref().unwrap().len(), 1);
    let want = occurrences(&region, SECRET);
    assert_eq!(want.len(), 5);
    let got: Vec<u64> = r
        .matches
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.offset)
        .collect();
    assert_eq!(got, want);
    for m in r.matches.as_ref().unwrap() {
        assert_eq!(m.pid, Some(42));
        assert_eq!(
            m.address,
            Some(format!("{:x}", 0x7f12_a000_0000u64 + m.offset))
        );
    }
    assert_eq!(r.grep.as_ref().unwrap().total, 5);
    assert_eq!(r.sizes.pages, region.len() as u64);
    // The text view says it is not a CRIU image and cannot be restored.
    let text = render_text(&r);
    assert!(
        text.contains("not a CRIU image: it cannot be restored"),
        "{text}"
    );
    assert!(text.contains("NOT atomic"), "{text}");
    assert!(
        text.contains("socket:[1234] tcp 10.85.0.12:8080 -> 10.85.0.1:35182 ESTABLISHED"),
        "{text}"
    );
}

#[test]
fn a_snapshot_cut_before_snapshot_json_is_incomplete() {
    let (mut members, _) = snapshot_members();
    members.pop();
    let err = inspect_bytes(&tar_bytes(&members), None).unwrap_err();
    assert!(
        matches!(err, InspectError::SnapshotIncomplete { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("snapshot.json"), "{err}");
}

#[test]
fn the_fixture_gzipped_reads_the_same() {
    let plain = inspect(&fixture(), Some(SECRET)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(fixture()).unwrap()).unwrap();
    let r = inspect_bytes(&gz.finish().unwrap(), Some(SECRET)).unwrap();
    assert_eq!(r.processes.len(), plain.processes.len());
    assert_eq!(
        serde_json::to_value(&r.matches).unwrap(),
        serde_json::to_value(&plain.matches).unwrap()
    );
    assert_eq!(r.rootfs_diff, plain.rootfs_diff);
}

#[test]
fn pages_are_attributed_whether_the_pagemap_comes_before_or_after() {
    let mut members = fixture_members();
    // Move every pages image to the end, after all pagemaps (the fixture has them before).
    let (pages, rest): (Members, Members) = members
        .drain(..)
        .partition(|(p, _)| p.starts_with("checkpoint/pages-"));
    let members: Members = rest.into_iter().chain(pages).collect();
    let r = inspect_bytes(&tar_bytes(&members), Some(SECRET)).unwrap();
    let mut got: Vec<(String, u64, Option<u32>)> = r
        .matches
        .unwrap()
        .into_iter()
        .map(|m| (m.file, m.offset, m.pid))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("checkpoint/pages-2.img".into(), 42704, Some(6)),
            ("checkpoint/pages-2.img".into(), 46826, Some(6)),
            ("checkpoint/pages-3.img".into(), 42704, Some(7)),
            ("checkpoint/pages-3.img".into(), 46826, Some(7)),
        ]
    );
}

#[test]
fn a_duplicated_pages_image_is_searched_as_tar_xf_would_leave_it() {
    let mut members = fixture_members();
    members.push(("checkpoint/pages-2.img".into(), vec![0u8; 8192]));
    let r = inspect_bytes(&tar_bytes(&members), Some(SECRET)).unwrap();
    let files: Vec<&str> = r
        .matches
        .as_ref()
        .unwrap()
        .iter()
        .map(|m| m.file.as_str())
        .collect();
    assert_eq!(files, ["checkpoint/pages-3.img", "checkpoint/pages-3.img"]);
    assert!(
        r.warnings.iter().any(|w| w.contains("appears twice")),
        "{:?}",
        r.warnings
    );
}

/// The fixture with one member replaced.
fn with_member(path: &str, data: Vec<u8>) -> Vec<u8> {
    let mut members = fixture_members();
    let slot = members.iter_mut().find(|(p, _)| p == path).unwrap();
    slot.1 = data;
    tar_bytes(&members)
}

#[test]
fn garbage_images_name_the_member() {
    for (member, data) in [
        ("checkpoint/pstree.img", b"not a criu image at all".to_vec()),
        (
            "checkpoint/core-6.img",
            vec![
                0x19, 0x43, 0x56, 0x54, 0x47, 0x38, 0x05, 0x55, 0xff, 0xff, 0, 0,
            ],
        ),
        (
            "checkpoint/pagemap-7.img",
            vec![
                0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56, 2, 0, 0, 0, 0x0f, 0xff,
            ],
        ),
        ("stats-dump", vec![1, 2, 3]),
    ] {
        let err = inspect_bytes(&with_member(member, data), None).unwrap_err();
        assert!(matches!(err, InspectError::Image { .. }), "{member}: {err}");
        assert!(err.to_string().contains(member), "{err}");
    }
    let err = inspect_bytes(&with_member("config.dump", b"{not json".to_vec()), None).unwrap_err();
    assert!(matches!(err, InspectError::Json { .. }), "{err}");
}

#[test]
fn oversized_metadata_is_refused_before_it_is_read() {
    let big = vec![b' '; (MAX_SMALL_JSON + 1) as usize];
    let err = inspect_bytes(&with_member("config.dump", big), None).unwrap_err();
    assert!(matches!(err, InspectError::TooLarge { .. }), "{err}");
}

#[test]
fn unsafe_names_anywhere_are_refused() {
    // A raw header: the tar crate will not write these names itself.
    let mut outer = tar_bytes(&fixture_members());
    let end = outer.len() - 1024;
    let mut evil = ::tar::Header::new_gnu();
    evil.as_old_mut().name[..13].copy_from_slice(b"../etc/passwd");
    evil.set_size(0);
    evil.set_cksum();
    outer.truncate(end);
    outer.extend_from_slice(evil.as_bytes());
    outer.extend_from_slice(&[0; 2048]);
    let err = inspect_bytes(&outer, None).unwrap_err();
    assert!(matches!(err, InspectError::Unsafe { .. }), "{err}");
    assert!(err.to_string().contains("../etc/passwd"), "{err}");

    let mut inner = tar_bytes(&vec![("etc/ok".into(), b"x".to_vec())]);
    let mut h = ::tar::Header::new_gnu();
    h.as_old_mut().name[..9].copy_from_slice(b"/root/.ss");
    h.set_size(0);
    h.set_cksum();
    inner.splice(0..0, h.as_bytes().iter().copied());
    let err = inspect_bytes(&with_member("rootfs-diff.tar", inner), None).unwrap_err();
    assert!(matches!(err, InspectError::Nested { .. }), "{err}");
    assert!(err.to_string().contains("rootfs-diff.tar"), "{err}");
}

#[test]
fn other_archives_and_bad_grep_texts_are_refused() {
    let err =
        inspect_bytes(&tar_bytes(&vec![("README".into(), b"hi".to_vec())]), None).unwrap_err();
    assert!(matches!(err, InspectError::NotACheckpoint { .. }), "{err}");
    let err = inspect_bytes(b"\x28\xb5\x2f\xfd zstd frame", None).unwrap_err();
    assert!(
        matches!(err, InspectError::Compressed { format: "zstd", .. }),
        "{err}"
    );
    let err = inspect_bytes(&[0x42; 2048], None).unwrap_err();
    assert!(matches!(err, InspectError::NotTar { .. }), "{err}");
    assert!(matches!(
        inspect(&fixture(), Some(b"")),
        Err(InspectError::BadGrep(_))
    ));
    let err = inspect(Path::new("/nonexistent/x.tar"), None).unwrap_err();
    assert!(matches!(err, InspectError::Open { .. }), "{err}");
}

#[test]
fn missing_optional_parts_are_reported_absent() {
    let members: Members = fixture_members()
        .into_iter()
        .filter(|(p, _)| {
            !["stats-dump", "dump.log", "rootfs-diff.tar", "deleted.files"].contains(&p.as_str())
        })
        .collect();
    let r = inspect_bytes(&tar_bytes(&members), None).unwrap();
    for part in ["stats-dump", "dump.log", "rootfs-diff.tar", "deleted.files"] {
        assert!(
            r.absent.iter().any(|a| a == part),
            "{part} not in {:?}",
            r.absent
        );
    }
    assert_eq!(r.processes.len(), 3);
    assert!(r.sizes.rootfs_diff.is_none());
}

#[test]
fn text_from_the_archive_is_sanitised() {
    let mut members = fixture_members();
    let config = members
        .iter_mut()
        .find(|(p, _)| p == "config.dump")
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&config.1).unwrap();
    v["rootfsImageName"] = "evil\u{1b}[2J\u{202e}image".into();
    config.1 = serde_json::to_vec(&v).unwrap();
    let r = inspect_bytes(&tar_bytes(&members), None).unwrap();
    let text = render_text(&r);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(text.contains("evil␛[2J"), "{text}");
}

#[test]
fn metadata_describing_too_much_is_refused() {
    // An mm image of 400,001 minimal VMAs (2.4 MB: within the per-image cap).
    let vma = [0x72, 0x04, 0x08, 0x01, 0x10, 0x02];
    let payload: Vec<u8> = vma
        .iter()
        .copied()
        .cycle()
        .take(vma.len() * 400_001)
        .collect();
    let mut image = vec![0x19, 0x43, 0x56, 0x54, 0x20, 0x28, 0x49, 0x57];
    image.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    image.extend_from_slice(&payload);
    let err = inspect_bytes(&with_member("checkpoint/mm-6.img", image), None).unwrap_err();
    assert!(matches!(err, InspectError::TooManyItems { .. }), "{err}");
}
