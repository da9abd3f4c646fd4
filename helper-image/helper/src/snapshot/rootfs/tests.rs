use std::io::Read as _;
use std::time::Duration;

use super::*;

/// (path, kind `f`/`d`/`l`, content or link target)
type Listed = Vec<(String, char, Vec<u8>)>;

/// The nested tar of `write`, read back with the tar crate.
fn read_back(outer: &[u8]) -> Listed {
    let mut ar = tar::Archive::new(outer);
    let mut e = ar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().to_str(), Some("rootfs-diff.tar"));
    let mut nested = Vec::new();
    e.read_to_end(&mut nested).unwrap();
    assert_eq!(nested.len() % 512, 0);
    let mut inner = tar::Archive::new(&nested[..]);
    inner
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let kind = match e.header().entry_type() {
                tar::EntryType::Regular => 'f',
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                other => panic!("{other:?}"),
            };
            let path = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            if kind == 'l' {
                data = e
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .display()
                    .to_string()
                    .into_bytes();
            } else {
                e.read_to_end(&mut data).unwrap();
            }
            (path, kind, data)
        })
        .collect()
}

fn upper(dir: &Path) -> Source {
    Source {
        root: DirFd::open(dir).unwrap(),
        path: dir.display().to_string(),
        since: None,
        note: None,
    }
}

fn run(source: Source, cap: u64) -> (RootfsInfo, Vec<String>, Listed) {
    let mut sink = Vec::new();
    let mut tar = TarOut::new(&mut sink, 0);
    let (info, deleted) = write(Ok(source), cap, &mut tar).unwrap();
    tar.finish().unwrap();
    let entries = read_back(&sink);
    (info, deleted, entries)
}

#[test]
fn an_upper_directory_whole_with_long_names_links_and_whiteouts() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("etc/app")).unwrap();
    std::fs::write(d.join("etc/app/config.yaml"), "key: changed\n").unwrap();
    let long = "n".repeat(120);
    std::fs::create_dir_all(d.join("var").join(&long)).unwrap();
    std::fs::write(d.join("var").join(&long).join("f.bin"), vec![9u8; 1000]).unwrap();
    std::os::unix::fs::symlink("/etc/app/config.yaml", d.join("etc/link")).unwrap();
    let fifo = std::ffi::CString::new(d.join("etc/fifo").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // A whiteout needs CAP_MKNOD: checked only where the test can make one.
    let wh = std::ffi::CString::new(d.join("etc/removed").as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mknod with a NUL-terminated path.
    let whiteout = unsafe { libc::mknod(wh.as_ptr(), libc::S_IFCHR | 0o600, 0) } == 0;

    let (info, deleted, entries) = run(upper(d), 1 << 20);
    assert_eq!(info.source, SOURCE_UPPER);
    let names: Vec<(&str, char)> = entries.iter().map(|(p, k, _)| (p.as_str(), *k)).collect();
    let long_dir = format!("var/{long}");
    let long_file = format!("var/{long}/f.bin");
    assert_eq!(
        names,
        [
            ("etc", 'd'),
            ("etc/app", 'd'),
            ("etc/app/config.yaml", 'f'),
            ("etc/link", 'l'),
            ("var", 'd'),
            (long_dir.as_str(), 'd'),
            (long_file.as_str(), 'f'),
        ]
    );
    assert_eq!(entries[2].2, b"key: changed\n");
    assert_eq!(entries[3].2, b"/etc/app/config.yaml");
    assert_eq!(entries[6].2, vec![9u8; 1000]);
    assert_eq!(info.files, 7);
    assert_eq!(info.bytes, 13 + 1000);
    assert_eq!(info.left_out.len(), 1);
    assert_eq!(info.left_out[0].path, "etc/fifo");
    if whiteout {
        assert_eq!(deleted, ["etc/removed"]);
    }
}

#[test]
fn the_cap_leaves_files_out_and_says_so() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("a-big"), vec![1u8; 5000]).unwrap();
    std::fs::write(t.path().join("b-small"), vec![2u8; 100]).unwrap();
    let (info, _, entries) = run(upper(t.path()), 1000);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "b-small");
    assert_eq!(info.bytes, 100);
    assert_eq!(info.cap_bytes, 1000);
    assert_eq!(info.left_out[0].path, "a-big");
    assert_eq!(info.left_out[0].bytes, 5000);
    assert!(info.left_out[0].why.contains("--max-rootfs-bytes"));
}

#[test]
fn ctime_mode_takes_only_what_changed_after_the_start() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::create_dir_all(d.join("old")).unwrap();
    std::fs::write(d.join("old/before.txt"), "before").unwrap();
    std::fs::create_dir_all(d.join("proc")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let since = SystemTime::now();
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(d.join("old/after.txt"), "after").unwrap();
    std::fs::write(d.join("proc/ignored"), "pseudo").unwrap();
    let source = Source {
        root: DirFd::open(d).unwrap(),
        path: d.display().to_string(),
        since: Some(since),
        note: Some("test".into()),
    };
    let (info, deleted, entries) = run(source, 1 << 20);
    assert_eq!(info.source, SOURCE_CTIME);
    assert!(info.since.is_some());
    let names: Vec<&str> = entries.iter().map(|(p, _, _)| p.as_str()).collect();
    // The directory changed too (a file was added to it).
    assert_eq!(names, ["old", "old/after.txt"]);
    assert!(deleted.is_empty());
}

#[test]
fn an_unopenable_root_gives_an_empty_tar_and_a_reason() {
    let mut sink = Vec::new();
    let mut tar = TarOut::new(&mut sink, 0);
    let err = Err((
        "/proc/1/root".to_string(),
        io::Error::from(io::ErrorKind::PermissionDenied),
    ));
    let (info, _) = write(err, 10, &mut tar).unwrap();
    tar.finish().unwrap();
    assert!(read_back(&sink).is_empty());
    assert_eq!(info.unreadable[0].path, "/proc/1/root");
}

#[test]
fn the_overlay_source_is_chosen_from_mountinfo_when_reachable() {
    let t = tempfile::tempdir().unwrap();
    let up = t.path().join("upper");
    std::fs::create_dir(&up).unwrap();
    let mi = format!(
        "76 48 0:40 / / rw - overlay overlay rw,lowerdir=/l,upperdir={},workdir=/w\n",
        up.display()
    );
    let pid = std::process::id();
    let s = source(Path::new("/proc"), pid, Some(&mi), SystemTime::now()).unwrap();
    assert_eq!(s.since, None);
    assert_eq!(s.path, up.display().to_string());
    let missing = mi.replace(&up.display().to_string(), "/nonexistent/ktui-upper");
    let s = source(Path::new("/proc"), pid, Some(&missing), SystemTime::now()).unwrap();
    assert!(s.since.is_some());
    assert!(s.note.unwrap().contains("not reachable"));
    assert_eq!(s.path, format!("/proc/{pid}/root"));
}

#[test]
fn files_changing_between_listing_and_reading_keep_the_listed_size() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    std::fs::write(d.join("grows"), "1234").unwrap();
    std::fs::write(d.join("shrinks"), "12345678").unwrap();
    std::fs::write(d.join("vanishes"), "abc").unwrap();
    let src = upper(d);
    let plan = plan(&src, 1 << 20);
    let size = nested::size(&plan.entries).unwrap();
    std::fs::write(d.join("grows"), "123456789").unwrap();
    std::fs::write(d.join("shrinks"), "12").unwrap();
    std::fs::remove_file(d.join("vanishes")).unwrap();
    let mut out = Vec::new();
    let notes = nested::write(Some(&src.root), &plan.entries, &mut out).unwrap();
    assert_eq!(out.len() as u64, size, "the announced size holds");
    let mut ar = tar::Archive::new(&out[..]);
    let got: Vec<(String, Vec<u8>)> = ar
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.path().unwrap().display().to_string(), data)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("grows".to_string(), b"1234".to_vec()),
            ("shrinks".to_string(), b"12\0\0\0\0\0\0".to_vec()),
            ("vanishes".to_string(), b"\0\0\0".to_vec()),
        ]
    );
    let why: Vec<(&str, &str)> = notes
        .iter()
        .map(|n| (n.path.as_str(), n.error.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        why,
        [
            ("grows", "grew while read"),
            ("shrinks", "shrank while read"),
            (
                "vanishes",
                "gone between listing and reading (No such file or directory (os error 2))"
            )
        ]
    );
}
