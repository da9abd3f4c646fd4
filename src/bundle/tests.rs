use super::*;

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn read_members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let gz = flate2::read::MultiGzDecoder::new(archive);
    let mut tar = tar::Archive::new(gz);
    tar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let mut bytes = Vec::new();
            e.read_to_end(&mut bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

#[test]
fn members_in_order_then_sums_and_the_observer_sees_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let logs = file(dir.path(), "a.log", b"line one\nline two\n");
    let expect = hex::encode(Sha256::digest(b"line one\nline two\n"));
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let archive = write(
        &mut out,
        "ktui-shop-web-0-20261202T040000Z",
        [
            Entry {
                path: "artifacts/shop/web-0/logs/web.log".into(),
                content: Content::File {
                    file: logs,
                    expect_sha256: Some(expect.clone()),
                },
            },
            Entry {
                path: "manifest.json".into(),
                content: Content::Bytes(b"{}".to_vec()),
            },
        ],
        1_764_648_000,
        &mut |b| seen.extend_from_slice(b),
    )
    .unwrap();
    assert_eq!(seen, out, "the observer saw the archive exactly");
    assert_eq!(archive.sha256, hex::encode(Sha256::digest(&out)));
    assert_eq!(archive.bytes, out.len() as u64);
    let members = read_members(&out);
    let names: Vec<&str> = members.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        names,
        [
            "ktui-shop-web-0-20261202T040000Z/artifacts/shop/web-0/logs/web.log",
            "ktui-shop-web-0-20261202T040000Z/manifest.json",
            "ktui-shop-web-0-20261202T040000Z/SHA256SUMS",
        ]
    );
    let sums = String::from_utf8(members[2].1.clone()).unwrap();
    assert_eq!(
        sums,
        format!(
            "{expect}  artifacts/shop/web-0/logs/web.log\n{}  manifest.json\n",
            hex::encode(Sha256::digest(b"{}"))
        )
    );
}

#[test]
fn an_artifact_that_changed_on_disk_aborts_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let logs = file(dir.path(), "a.log", b"tampered\n");
    let err = write(
        Vec::new(),
        "b",
        [Entry {
            path: "artifacts/shop/web-0/logs/web.log".into(),
            content: Content::File {
                file: logs,
                expect_sha256: Some(hex::encode(Sha256::digest(b"original\n"))),
            },
        }],
        0,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(&err, BundleError::Changed { path, .. } if path == "artifacts/shop/web-0/logs/web.log"),
        "{err}"
    );
}

#[test]
fn member_paths_stay_inside_the_bundle() {
    for bad in ["../escape", "/etc/passwd", "a/../../b", ""] {
        let err = write(
            Vec::new(),
            "b",
            [Entry {
                path: bad.into(),
                content: Content::Bytes(Vec::new()),
            }],
            0,
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(err, BundleError::BadPath(_)), "{bad}: {err}");
    }
}
