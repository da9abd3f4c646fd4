//! The reader against archives the `tar` crate writes (an independent writer), and against
//! hand-made hostile headers.

use super::header::parse_number;
use super::*;

fn header(path: &[u8], size: u64, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..path.len()].copy_from_slice(path);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

/// A raw archive: each (header, data) padded, then the end marker.
fn raw(members: &[(tar::Header, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (h, data) in members {
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0; 1024]);
    out
}

fn list(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut r = TarReader::new(bytes, Some(bytes.len() as u64));
    let mut out = Vec::new();
    while let Some(m) = r.next_member()? {
        let data = r.read_small()?;
        out.push((m.listed_name(), data));
    }
    Ok(out)
}

#[test]
fn reads_what_the_tar_crate_writes_including_long_names() {
    let long = format!("checkpoint/{}/pages-1.img", "d".repeat(150));
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("config.dump", &b"{}"[..]),
        (long.as_str(), b"pages"),
        ("./x/../y", b""),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        if path.contains("..") {
            continue; // the tar crate refuses these itself; see the hostile tests
        }
        b.append_data(&mut h, path, data).unwrap();
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_size(0);
    b.append_data(&mut h, "checkpoint/", &b""[..]).unwrap();
    let bytes = b.into_inner().unwrap();
    let got = list(&bytes).unwrap();
    assert_eq!(
        got,
        vec![
            ("config.dump".to_string(), b"{}".to_vec()),
            (long, b"pages".to_vec()),
            ("checkpoint/".to_string(), vec![]),
        ]
    );
}

#[test]
fn pax_paths_and_sizes_apply_to_the_next_member() {
    let path = format!("memory/42/{}.bin", "a".repeat(120));
    let record = |k: &str, v: &str| {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while format!("{n}{body}").len() != n {
            n += 1;
        }
        format!("{n}{body}")
    };
    let pax = format!("{}{}", record("path", &path), record("size", "3"));
    let members = [
        (
            header(b"PaxHeaders/x", pax.len() as u64, tar::EntryType::XHeader),
            pax.into_bytes(),
        ),
        (
            header(b"short", 0, tar::EntryType::Regular),
            b"abc".to_vec(),
        ),
    ];
    assert_eq!(list(&raw(&members)).unwrap(), vec![(path, b"abc".to_vec())]);
}

#[test]
fn dot_slash_and_prefix_names_are_normalised() {
    let mut h = tar::Header::new_ustar();
    h.as_ustar_mut().unwrap().prefix[..10].copy_from_slice(b"checkpoint");
    h.as_old_mut().name[..10].copy_from_slice(b"./core.img");
    h.set_size(0);
    h.set_cksum();
    assert_eq!(
        list(&raw(&[(h, vec![])])).unwrap()[0].0,
        "checkpoint/core.img"
    );
}

#[test]
fn dot_dot_and_absolute_names_are_refused() {
    for name in [
        &b"../etc/passwd"[..],
        b"checkpoint/../../x",
        b"/etc/shadow",
        b"a/..",
    ] {
        let bytes = raw(&[(header(name, 1, tar::EntryType::Regular), b"x".to_vec())]);
        let err = list(&bytes).unwrap_err();
        assert!(
            matches!(err, TarError::UnsafeName { .. }),
            "{name:?}: {err}"
        );
        assert!(
            err.to_string()
                .contains(&String::from_utf8_lossy(name).to_string())
        );
    }
}

#[test]
fn a_size_beyond_the_archive_is_refused_before_reading() {
    // 1 TiB declared (GNU base-256 encoding) in a 2 KiB file.
    let bytes = raw(&[(
        header(b"checkpoint/pages-1.img", 1 << 40, tar::EntryType::Regular),
        vec![],
    )]);
    let err = list(&bytes).unwrap_err();
    assert!(
        matches!(err, TarError::SizeBeyondEnd { declared, .. } if declared == 1 << 40),
        "{err}"
    );
}

#[test]
fn huge_extension_headers_are_refused_without_reading_them() {
    for kind in [tar::EntryType::GNULongName, tar::EntryType::XHeader] {
        let bytes = raw(&[(header(b"././@LongLink", 10 << 20, kind), vec![])]);
        let mut r = TarReader::new(&bytes[..], None);
        let err = r.next_member().unwrap_err();
        assert!(matches!(err, TarError::ExtensionTooLarge { .. }), "{err}");
    }
}

#[test]
fn truncation_anywhere_is_an_error_and_never_a_panic() {
    let members = [
        (
            header(b"config.dump", 700, tar::EntryType::Regular),
            vec![b'{'; 700],
        ),
        (
            header(b"checkpoint/pages-1.img", 5000, tar::EntryType::Regular),
            vec![7; 5000],
        ),
    ];
    let full = raw(&members);
    for cut in 1..full.len() - 1024 {
        let part = &full[..cut];
        // Without the length (a stream) the cut shows when data runs out.
        let mut r = TarReader::new(part, None);
        let mut outcome = Ok(());
        loop {
            match r.next_member() {
                Ok(Some(_)) => {
                    if let Err(e) = r.read_small() {
                        outcome = Err(e);
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        let on_boundary = cut == 512 + 1024 || cut == 512 + 1024 + 512 + 5120;
        if !on_boundary {
            assert!(outcome.is_err(), "cut at {cut} went unnoticed");
        }
        let _ = list(part); // with the length: also no panic
    }
}

#[test]
fn bad_checksums_and_garbage_are_not_headers() {
    let mut bytes = raw(&[(header(b"a", 0, tar::EntryType::Regular), vec![])]);
    bytes[0] = b'b';
    assert!(matches!(
        list(&bytes),
        Err(TarError::BadHeader { offset: 0, .. })
    ));
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    assert!(matches!(list(&garbage), Err(TarError::BadHeader { .. })));
}

#[test]
fn a_nested_tar_reads_through_the_outer_member() {
    let inner = raw(&[
        (
            header(b"etc/ktapp.conf", 3, tar::EntryType::Regular),
            b"a=1".to_vec(),
        ),
        (header(b"var/lib/", 0, tar::EntryType::Directory), vec![]),
    ]);
    let outer = raw(&[
        (
            header(
                b"rootfs-diff.tar",
                inner.len() as u64,
                tar::EntryType::Regular,
            ),
            inner.clone(),
        ),
        (
            header(b"deleted.files", 2, tar::EntryType::Regular),
            b"[]".to_vec(),
        ),
    ]);
    let mut r = TarReader::new(&outer[..], Some(outer.len() as u64));
    let m = r.next_member().unwrap().unwrap();
    let mut nested = TarReader::new(r.member_reader(), Some(m.size));
    let mut names = Vec::new();
    while let Some(e) = nested.next_member().unwrap() {
        names.push(e.listed_name());
    }
    assert_eq!(names, ["etc/ktapp.conf", "var/lib/"]);
    assert_eq!(r.next_member().unwrap().unwrap().path, "deleted.files");
}

#[test]
fn numbers_parse_in_octal_and_base_256() {
    assert_eq!(parse_number(b"0000644\0"), Some(0o644));
    assert_eq!(parse_number(b"   17 \0"), Some(0o17));
    assert_eq!(
        parse_number(&[0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
        Some(1 << 32)
    );
    assert_eq!(parse_number(&[0xff; 12]), None, "negative");
    assert_eq!(parse_number(b"12x\0"), None);
    assert_eq!(parse_number(b"\0\0\0"), None);
}
