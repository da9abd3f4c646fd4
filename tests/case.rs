//! The on-disk case end to end: layout and modes, reopening, the custody chain against
//! tampering, the lock against a second process, a SIGKILLed stream writer, atomic artifacts,
//! the size cap and a full disk, and `ktui case list/show` on the built binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead as _, BufReader, Read, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ktui::case::{
    Action, ArtifactMeta, ArtifactPath, Case, CaseConfig, CaseError, Collector, DEFAULT_SIZE_CAP,
    Entry, IndexEntry, Source, StreamMeta, Target, verify_chain,
};
use serde_json::Value;

fn config() -> CaseConfig {
    CaseConfig {
        context: "kind-test".into(),
        server: "https://127.0.0.1:6443".into(),
        demo: false,
        collector: Collector {
            local_user: "alice".into(),
            host: "ws1".into(),
            kube_user: Some("alice@corp".into()),
        },
        api_server_date: Some("2024-05-01T12:00:03Z".parse().unwrap()),
        size_cap: DEFAULT_SIZE_CAP,
    }
}

fn logs(ns: &str, pod: &str, container: &str) -> ArtifactMeta {
    let path = ArtifactPath::pod(ns, pod, &format!("logs/{container}.previous.log")).unwrap();
    let source = Source::Api(format!(
        "/api/v1/namespaces/{ns}/pods/{pod}/log?container={container}&previous=true"
    ));
    ArtifactMeta::new(path, "text/plain", source, Action::CaptureLogs)
        .for_pod(ns, pod, Some(container))
        .crash_signature("sig")
}

fn custody_lines(case_dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(case_dir.join("custody.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn verify_file(path: &Path) -> Result<usize, ktui::case::ChainError> {
    verify_chain(BufReader::new(std::fs::File::open(path).unwrap()))
}

/// `sha256sum FILE`, the standard tool's view.
fn sha256sum(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[test]
fn a_new_case_has_the_pinned_layout_and_private_modes() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), None, &config()).unwrap();
    let id = case.id().to_string();
    let id_re = id.strip_prefix("ktui-kind-test-").expect(&id);
    assert_eq!(id_re.len(), "20240501T120000Z".len(), "{id}");
    assert_eq!(case.dir(), root.path().join(&id));
    case.write_artifact(&logs("shop", "web-1", "app"), b"boom\n")
        .unwrap();
    let mut stream = case
        .open_stream(StreamMeta::sockets("node-1").unwrap())
        .unwrap();
    stream.write_line(br#"{"event":"connect"}"#).unwrap();
    stream.close().unwrap();

    let meta: Value =
        serde_json::from_slice(&std::fs::read(case.dir().join("case.json")).unwrap()).unwrap();
    let keys: Vec<_> = meta.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "schema",
            "case_id",
            "created",
            "ktui_version",
            "context",
            "server",
            "demo",
            "collector",
            "clock"
        ]
    );
    assert_eq!(meta["case_id"], id.as_str());
    assert_eq!(meta["collector"]["kube_user"], "alice@corp");
    assert_eq!(
        meta["clock"]["api_server_date"],
        "2024-05-01T12:00:03.000000000Z"
    );
    assert!(meta["clock"]["offset_ms"].is_i64());
    for name in [
        "custody.jsonl",
        "index.jsonl",
        "notes.md",
        "secrets.key",
        "case.lock",
    ] {
        assert!(case.dir().join(name).is_file(), "{name}");
    }
    assert!(case.dir().join("bundles").is_dir());
    assert!(
        case.dir()
            .join("artifacts/shop/web-1/logs/app.previous.log")
            .is_file()
    );
    assert!(
        case.dir()
            .join("artifacts/nodes/node-1/sockets-1.jsonl")
            .is_file()
    );

    // Every directory 0700, every file 0600, the case itself included.
    fn walk(dir: &Path, seen: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::metadata(&path).unwrap();
            let mode = meta.permissions().mode() & 0o777;
            *seen += 1;
            if meta.is_dir() {
                assert_eq!(mode, 0o700, "{}", path.display());
                walk(&path, seen);
            } else {
                assert_eq!(mode, 0o600, "{}", path.display());
            }
        }
    }
    let mode = std::fs::metadata(case.dir()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    let mut seen = 0;
    walk(case.dir(), &mut seen);
    assert!(seen >= 14, "{seen}");
}

#[test]
fn reopening_appends_to_the_same_case_and_continues_the_chain() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("INC-42"), &config()).unwrap();
    let created = case.meta().created;
    let first = case
        .write_artifact(&logs("shop", "web-1", "app"), b"one\n")
        .unwrap();
    let hmac = case.secret_hmac(b"hunter2");
    drop(case);

    let mut other = config();
    other.context = "prod".into();
    let case = Case::open(root.path(), Some("INC-42"), &other).unwrap();
    assert_eq!(case.meta().created, created, "case.json is kept");
    assert_eq!(case.meta().context, "kind-test");
    assert_eq!(
        case.secret_hmac(b"hunter2"),
        hmac,
        "same key after reopening"
    );
    assert_ne!(hmac, hex_sha256(b"hunter2"), "keyed, not a plain hash");
    // Same artifact again: a numbered name, the first one untouched.
    let second = case
        .write_artifact(&logs("shop", "web-1", "app"), b"two\n")
        .unwrap();
    assert_eq!(second.path, "artifacts/shop/web-1/logs/app.previous-2.log");
    let index = case.index().unwrap();
    assert_eq!(index, vec![first.clone(), second.clone()]);
    assert_eq!(first.sha256.as_deref(), Some(hex_sha256(b"one\n").as_str()));
    assert_eq!(first.pod.as_deref(), Some("shop/web-1"));
    assert_eq!(
        first.source,
        "/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true"
    );

    case.record(&Entry {
        action: Action::DeployHelper,
        target: Target::Node("node-1".into()),
        outcome: Err("forbidden: pods/exec".into()),
        artifacts: vec![],
    })
    .unwrap();
    let note = case.save_notes("suspect the DB\n").unwrap();
    assert_eq!(note.sha256, hex_sha256(b"suspect the DB\n"));
    drop(case);

    let dir = root.path().join("INC-42");
    let lines = custody_lines(&dir);
    let actions: Vec<_> = lines
        .iter()
        .map(|l| l["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "open_case",
            "capture_logs",
            "open_case",
            "capture_logs",
            "deploy_helper",
            "note"
        ]
    );
    assert_eq!(lines[2]["actor"]["context"], "prod");
    assert_eq!(lines[3]["target"], "shop/web-1/app");
    assert_eq!(lines[3]["artifacts"][0]["path"], second.path.as_str());
    assert_eq!(lines[4]["result"], "error");
    assert_eq!(lines[4]["error"], "forbidden: pods/exec");
    assert_eq!(lines[4]["target"], "node/node-1");
    let ts = lines[0]["ts"].as_str().unwrap();
    assert_eq!(ts.len(), "2024-05-01T12:00:00.123456789Z".len(), "{ts}");
    assert_eq!(verify_file(&dir.join("custody.jsonl")).unwrap(), 6);
}

fn hex_sha256(b: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(b))
}

#[test]
fn new_ids_in_the_same_second_do_not_collide() {
    let root = tempfile::tempdir().unwrap();
    let a = Case::open(root.path(), None, &config()).unwrap();
    let b = Case::open(root.path(), None, &config()).unwrap();
    assert_ne!(a.id(), b.id());
    assert!(matches!(
        Case::open(root.path(), Some("../escape"), &config()),
        Err(CaseError::InvalidId { .. })
    ));
}

#[test]
fn a_directory_of_other_files_is_not_taken_for_a_case() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("thesis.tex"), b"x").unwrap();
    let err = Case::open_dir(root.path(), &config()).unwrap_err();
    assert!(matches!(err, CaseError::NotACase { .. }), "{err}");
    let fresh = root.path().join("record-out");
    let case = Case::open_dir(&fresh, &config()).unwrap();
    assert_eq!(case.id(), "record-out");
}

/// Tamper with a case's custody file and check both `verify_chain` and `ktui case show`.
#[test]
fn tampered_custody_lines_are_named() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("c1"), &config()).unwrap();
    for c in ["a", "b", "c", "d"] {
        case.write_artifact(&logs("ns", "p", c), c.as_bytes())
            .unwrap();
    }
    drop(case);
    let path = root.path().join("c1/custody.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    assert_eq!(verify_file(&path).unwrap(), 5);
    let lines: Vec<&str> = good.lines().collect();
    let write = |lines: &[String]| {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).unwrap();
    };
    let owned = || lines.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let mut rewritten = owned();
    rewritten[2] = rewritten[2].replace("\"result\":\"ok\"", "\"result\":\"error\"");
    write(&rewritten);
    assert_eq!(verify_file(&path).unwrap_err().line, 4);
    let out = ktui_cmd(root.path(), &["case", "show", "c1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("custody chain: BROKEN: custody line 4"),
        "{stdout}"
    );

    let mut inserted = owned();
    inserted.insert(3, lines[1].to_string());
    write(&inserted);
    assert_eq!(verify_file(&path).unwrap_err().line, 4);

    let mut deleted = owned();
    deleted.remove(1);
    write(&deleted);
    assert_eq!(verify_file(&path).unwrap_err().line, 2);

    let mut reordered = owned();
    reordered.swap(2, 3);
    write(&reordered);
    assert_eq!(verify_file(&path).unwrap_err().line, 3);

    write(&owned());
    let out = ktui_cmd(root.path(), &["case", "show", "c1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn writes_are_atomic_and_a_failed_source_leaves_nothing() {
    /// Yields `chunks` chunks of 64 KiB, checking the final name is absent before each.
    struct Watch {
        final_path: PathBuf,
        chunks: usize,
        fail: bool,
    }
    impl Read for Watch {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            assert!(
                !self.final_path.exists(),
                "final name visible while writing"
            );
            if self.chunks == 0 {
                return if self.fail {
                    Err(std::io::Error::other("the API stream broke"))
                } else {
                    Ok(0)
                };
            }
            let partial = PathBuf::from(format!("{}.partial", self.final_path.display()));
            assert!(
                partial.exists() || self.chunks == 4,
                "no .partial while writing"
            );
            self.chunks -= 1;
            let n = buf.len().min(65536);
            buf[..n].fill(b'x');
            Ok(n)
        }
    }
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("c1"), &config()).unwrap();
    let meta = logs("ns", "p", "big");
    let final_path = case.dir().join(meta.path.as_str());
    let watch = |fail| Watch {
        final_path: final_path.clone(),
        chunks: 4,
        fail,
    };

    let err = case.write_artifact_from(&meta, watch(true)).unwrap_err();
    assert!(matches!(err, CaseError::Source { .. }), "{err}");
    assert!(!final_path.exists());
    let leftovers: Vec<_> = std::fs::read_dir(final_path.parent().unwrap())
        .unwrap()
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(case.index().unwrap().is_empty());
    let last = custody_lines(case.dir()).pop().unwrap();
    assert_eq!(
        (last["action"].as_str(), last["result"].as_str()),
        (Some("capture_logs"), Some("error"))
    );

    let entry = case.write_artifact_from(&meta, watch(false)).unwrap();
    assert_eq!(entry.size, 4 * 65536);
    assert!(entry.sealed);
    assert_eq!(
        entry.sha256.as_deref(),
        Some(sha256sum(&final_path).as_str())
    );
    assert!(!PathBuf::from(format!("{}.partial", final_path.display())).exists());
}

#[test]
fn the_size_cap_stops_captures_with_a_typed_error() {
    let root = tempfile::tempdir().unwrap();
    let mut cfg = config();
    cfg.size_cap = 64 * 1024;
    let case = Case::open(root.path(), Some("c1"), &cfg).unwrap();
    case.write_artifact(&logs("ns", "p", "small"), &[b'a'; 10_000])
        .unwrap();

    let big = logs("ns", "p", "big");
    let err = case.write_artifact(&big, &vec![b'b'; 60_000]).unwrap_err();
    assert!(matches!(err, CaseError::CapReached { .. }), "{err}");
    assert!(err.is_out_of_space());
    assert!(err.to_string().contains("size cap"), "{err}");
    // Streamed: refused part-way, the partial removed.
    let err = case
        .write_artifact_from(&big, &vec![b'b'; 200_000][..])
        .unwrap_err();
    assert!(matches!(err, CaseError::CapReached { .. }), "{err}");
    let logs_dir = case.dir().join("artifacts/ns/p/logs");
    let names: Vec<_> = std::fs::read_dir(&logs_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["small.previous.log"]);
    assert_eq!(case.index().unwrap().len(), 1);

    // A stream stops at the cap with whole lines only.
    let mut stream = case
        .open_stream(StreamMeta::sockets("n1").unwrap())
        .unwrap();
    let line = vec![b'z'; 999];
    let err = loop {
        if let Err(e) = stream.write_line(&line) {
            break e;
        }
    };
    assert!(matches!(err, CaseError::CapReached { .. }), "{err}");
    let sealed = stream.close().unwrap().unwrap();
    assert_eq!(sealed.size % 1000, 0);
    assert!(
        case.size() <= case.size_cap() + 4096,
        "journal lines only past the cap"
    );
}

#[test]
fn streams_rotate_by_size_and_age_and_seal_with_their_hash() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("c1"), &config()).unwrap();
    let mut meta = StreamMeta::sockets("node-1").unwrap();
    meta.max_segment_bytes = 100;
    let mut stream = case.open_stream(meta).unwrap();
    assert!(matches!(
        stream.write_line(b"two\nlines"),
        Err(CaseError::LineHasNewline { .. })
    ));
    let index = case.index().unwrap();
    assert_eq!(index.len(), 1);
    assert!(
        !index[0].sealed,
        "the open segment is indexed from the start"
    );
    for i in 0..5 {
        stream
            .write_line(format!("{{\"i\":{i},\"pad\":\"{}\"}}", "x".repeat(20)).as_bytes())
            .unwrap();
    }
    // Age: a tick past 60 s rotates a non-empty segment.
    stream
        .tick_at(Instant::now() + Duration::from_secs(61))
        .unwrap();
    stream.write_line(b"{}").unwrap();
    let last = stream.close().unwrap().unwrap();
    let index = case.index().unwrap();
    let paths: Vec<_> = index
        .iter()
        .map(|e| e.path.rsplit('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "sockets-1.jsonl",
            "sockets-2.jsonl",
            "sockets-3.jsonl",
            "sockets-4.jsonl"
        ]
    );
    assert_eq!(index.last(), Some(&last));
    for e in &index {
        assert!(e.sealed, "{e:?}");
        let file = case.dir().join(&e.path);
        assert_eq!(
            e.sha256.as_deref(),
            Some(sha256sum(&file).as_str()),
            "{}",
            e.path
        );
        assert_eq!(e.size, std::fs::metadata(&file).unwrap().len());
    }
    let stream_lines = custody_lines(case.dir())
        .into_iter()
        .filter(|l| l["action"] == "capture_stream")
        .count();
    assert_eq!(stream_lines, 4);
    // A new stream on the same node continues the numbering.
    let next = case
        .open_stream(StreamMeta::sockets("node-1").unwrap())
        .unwrap();
    assert_eq!(
        next.current_path(),
        Some("artifacts/nodes/node-1/sockets-5.jsonl")
    );
}

// ---- second processes: this test binary re-run as a child ------------------------------------

const CHILD: &str = "KTUI_CASE_TEST_CHILD";
const READY: &str = "ktui-case-child-ready";
/// The incomplete line the "torn" child leaves at the end of its segment.
const TORN: &[u8] = b"{\"i\":3,\"cut-he";

/// Not a test by itself: the body of the child processes the tests below spawn.
#[test]
fn child_process() {
    let Ok(mode) = std::env::var(CHILD) else {
        return;
    };
    let dir = PathBuf::from(std::env::var("KTUI_CASE_TEST_DIR").unwrap());
    let mut cfg = config();
    cfg.size_cap = 64 << 20;
    let case = Case::open(&dir, Some("c1"), &cfg).unwrap();
    let ready = || {
        // libtest prints "test child_process ... " on the same line first.
        println!("{READY}");
        std::io::stdout().flush().unwrap();
    };
    // Whatever happens to the parent, its end of stdin closes: then end.
    let until_stdin_closes = || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0)
    };
    match mode.as_str() {
        "hold" => {
            ready();
            until_stdin_closes();
        }
        "torn" => {
            let mut stream = case
                .open_stream(StreamMeta::sockets("n1").unwrap())
                .unwrap();
            for i in 0..3 {
                stream
                    .write_line(format!("{{\"i\":{i}}}").as_bytes())
                    .unwrap();
            }
            let path = case.dir().join(stream.current_path().unwrap());
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(TORN).unwrap();
            ready();
            until_stdin_closes();
        }
        "stream" => {
            let mut meta = StreamMeta::sockets("n1").unwrap();
            meta.max_segment_bytes = 1 << 20;
            let mut stream = case.open_stream(meta).unwrap();
            std::thread::spawn(until_stdin_closes);
            let pad = "p".repeat(150_000);
            for i in 0u64.. {
                let line = format!(
                    "{{\"i\":{i},\"pad\":\"{}\"}}",
                    &pad[..(i as usize * 7919) % 150_000]
                );
                if stream.write_line(line.as_bytes()).is_err() {
                    std::thread::sleep(Duration::from_millis(10));
                }
                stream.tick().unwrap();
                if i == 20 {
                    ready();
                }
            }
        }
        other => panic!("unknown child mode {other}"),
    }
}

fn spawn_child(mode: &str, dir: &Path) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, mode)
        .env("KTUI_CASE_TEST_DIR", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    // Keep draining so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in out.lines() {
            let Ok(line) = line else { break };
            if line.trim_end().ends_with(READY) {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        let _ = child.kill();
        panic!("the {mode} child did not get ready (see its output above)");
    }
    child
}

#[test]
fn a_second_process_is_refused_with_who_holds_the_case() {
    let root = tempfile::tempdir().unwrap();
    let mut child = spawn_child("hold", root.path());
    let err = Case::open(root.path(), Some("c1"), &config()).unwrap_err();
    match &err {
        CaseError::Locked {
            holder: Some(h), ..
        } => {
            assert_eq!(h.pid, child.id());
            assert_eq!((h.host.as_str(), h.user.as_str()), ("ws1", "alice"));
        }
        other => panic!("{other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "in use by pid {} on ws1 (user alice) since",
            child.id()
        )),
        "{msg}"
    );
    // SIGKILL: the kernel releases the lock; the stale lock file is taken over.
    child.kill().unwrap();
    child.wait().unwrap();
    Case::open(root.path(), Some("c1"), &config()).unwrap();
}

/// The unsealed segment of a killed writer: sealed at its last complete line by the next open.
fn assert_recovered(root: &Path) -> (Vec<IndexEntry>, usize) {
    let before = ktui::case::index::resolve(
        ktui::case::index::read_lines(&root.join("c1/index.jsonl")).unwrap(),
    );
    let open: Vec<String> = before
        .iter()
        .filter(|e| !e.sealed)
        .map(|e| e.path.clone())
        .collect();
    // One, unless the kill fell between sealing a segment and indexing the next.
    assert!(open.len() <= 1, "{before:?}");
    let case = Case::open(root, Some("c1"), &config()).unwrap();
    let index = case.index().unwrap();
    for e in &index {
        assert!(e.sealed, "{e:?}");
        let file = case.dir().join(&e.path);
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(
            e.sha256.as_deref(),
            Some(sha256sum(&file).as_str()),
            "{}",
            e.path
        );
        assert_eq!(e.size, bytes.len() as u64);
        assert!(bytes.is_empty() || bytes.ends_with(b"\n"), "{}", e.path);
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            serde_json::from_slice::<Value>(line).unwrap();
        }
    }
    let lines = custody_lines(case.dir());
    let recovered: Vec<_> = lines
        .iter()
        .filter(|l| l["action"] == "recover_segment")
        .collect();
    assert_eq!(recovered.len(), open.len());
    for (note, path) in recovered.iter().zip(&open) {
        assert_eq!(note["artifacts"][0]["path"], path.as_str());
        assert!(note["error"].as_str().unwrap().contains("unclean end"));
        assert_eq!(note["target"], "node/n1");
    }
    assert_eq!(
        verify_file(&case.dir().join("custody.jsonl")).unwrap(),
        lines.len()
    );
    (index, open.len())
}

#[test]
fn a_sigkilled_stream_writer_leaves_whole_lines_sealed_at_next_open() {
    let root = tempfile::tempdir().unwrap();
    let mut child = spawn_child("stream", root.path());
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let (index, _) = assert_recovered(root.path());
    assert!(index.len() >= 2, "rotated by size at least once: {index:?}");
}

#[test]
fn a_cut_line_is_dropped_when_the_segment_is_sealed() {
    let root = tempfile::tempdir().unwrap();
    let mut child = spawn_child("torn", root.path());
    child.kill().unwrap();
    child.wait().unwrap();
    let (index, unsealed) = assert_recovered(root.path());
    assert_eq!(unsealed, 1, "the open segment was indexed before the kill");
    let text = std::fs::read_to_string(root.path().join("c1").join(&index[0].path)).unwrap();
    assert_eq!(text, "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n");
    let lines = custody_lines(&root.path().join("c1"));
    let note = lines
        .iter()
        .find(|l| l["action"] == "recover_segment")
        .unwrap();
    let dropped = format!("{} bytes of an incomplete line", TORN.len());
    assert!(note["error"].as_str().unwrap().contains(&dropped), "{note}");
}

#[test]
fn a_full_disk_stops_captures_and_leaves_no_complete_looking_file() {
    let why = (!is_root()).then(|| "needs root to mount a small tmpfs".to_string());
    if common::skip_unless("a_full_disk_stops_captures", why) {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let mnt = root.path().join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs"])
        .arg(&mnt)
        .status()
        .is_ok_and(|s| s.success());
    let why = (!mounted).then(|| "mount -t tmpfs failed (no CAP_SYS_ADMIN?)".to_string());
    if common::skip_unless("a_full_disk_stops_captures", why) {
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let case = Case::open(&mnt, Some("c1"), &config()).unwrap();
    let meta = logs("ns", "p", "huge");
    let err = case
        .write_artifact(&meta, &vec![b'h'; 1 << 20])
        .unwrap_err();
    assert!(matches!(err, CaseError::DiskFull { .. }), "{err}");
    assert!(err.to_string().contains("--cases-dir"), "{err}");
    let dir = case.dir().join("artifacts/ns/p/logs");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "partial removed"
    );
    assert!(case.index().unwrap().is_empty());
    // The room is back: a small capture works, the chain is intact.
    case.write_artifact(&logs("ns", "p", "app"), b"ok\n")
        .unwrap();
    let n = verify_file(&case.dir().join("custody.jsonl")).unwrap();
    assert!(n >= 2);
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

// ---- the CLI -------------------------------------------------------------------------------

fn ktui_cmd(cases_dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
    c.args(args);
    c.env("KUBECONFIG", "/nonexistent/ktui-test-kubeconfig");
    c.env("KTUI_CASES_DIR", cases_dir);
    c
}

#[test]
fn case_list_and_show_print_tables_with_untrusted_text_neutralised() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("INC-1"), &config()).unwrap();
    case.write_artifact(&logs("shop", "web-1", "app"), b"boom\n")
        .unwrap();
    drop(case);
    let _other = Case::open(root.path(), Some("INC-2"), &config()).unwrap();
    // A pod name with an escape sequence, as a hand-edited or hostile index would carry.
    let index = root.path().join("INC-1/index.jsonl");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replace("/log?", "/log\\u001b[2J?")).unwrap();

    let out = ktui_cmd(root.path(), &["case", "list"]).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<_> = stdout.lines().collect();
    assert!(lines[0].starts_with("ID"), "{stdout}");
    for col in ["CREATED", "CONTEXT", "SIZE", "ARTIFACTS", "LAST ACTION"] {
        assert!(lines[0].contains(col), "{stdout}");
    }
    assert!(
        lines[1].starts_with("INC-1 ") && lines[1].contains("kind-test"),
        "{stdout}"
    );
    assert!(lines[1].contains("capture_logs"), "{stdout}");
    assert!(
        lines[2].starts_with("INC-2 ") && lines[2].contains("open_case"),
        "{stdout}"
    );

    let out = ktui_cmd(root.path(), &["case", "list", "--json"])
        .output()
        .unwrap();
    let rows: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], "INC-1");
    assert_eq!(rows[0]["artifacts"], 1);
    assert_eq!(rows[0]["last_action"], "capture_logs");

    // --case names the case for show; --cases-dir beats the environment.
    let out = ktui_cmd(
        Path::new("/nonexistent"),
        &["--case", "INC-1", "case", "show"],
    )
    .arg("--cases-dir")
    .arg(root.path())
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.contains('\u{1b}'), "raw escape printed: {stdout:?}");
    assert!(stdout.contains("␛[2J"), "{stdout}");
    for want in [
        "case      INC-1",
        "INDEX (1 artifacts)",
        "artifacts/shop/web-1/logs/app.previous.log",
        &hex_sha256(b"boom\n"),
        "CUSTODY (2 lines)",
        "open_case",
        "shop/web-1/app",
        "custody chain: OK (2 lines)",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }

    let out = ktui_cmd(root.path(), &["case", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no case \"nope\""),
        "{out:?}"
    );
    let out = ktui_cmd(root.path(), &["case", "show"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = ktui_cmd(root.path().join("empty").as_path(), &["case", "list"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(no cases in"),
        "{out:?}"
    );
}

#[test]
fn cases_live_under_xdg_state_home_else_home() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    let home = root.path().join("home");
    Case::open(&state.join("ktui/cases"), Some("via-xdg"), &config()).unwrap();
    Case::open(
        &home.join(".local/state/ktui/cases"),
        Some("via-home"),
        &config(),
    )
    .unwrap();
    let list = |xdg: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ktui"));
        c.args(["case", "list"])
            .env_remove("KTUI_CASES_DIR")
            .env("HOME", &home);
        match xdg {
            Some(x) => c.env("XDG_STATE_HOME", x),
            None => c.env_remove("XDG_STATE_HOME"),
        };
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    let out = list(Some(&state));
    assert!(
        out.contains("via-xdg") && !out.contains("via-home"),
        "{out}"
    );
    let out = list(None);
    assert!(
        out.contains("via-home") && !out.contains("via-xdg"),
        "{out}"
    );
    assert_eq!(
        ktui::case::cases_dir(Some(Path::new("/x/cases"))),
        PathBuf::from("/x/cases")
    );
}

/// A kill between the index line and the custody line leaves an artifact no custody line names;
/// the next open names it (`recover_artifact`), so the chain covers every indexed artifact.
#[test]
fn an_artifact_indexed_without_its_custody_line_is_named_at_the_next_open() {
    let root = tempfile::tempdir().unwrap();
    let case = Case::open(root.path(), Some("INC-7"), &config()).unwrap();
    let kept = case
        .write_artifact(&logs("shop", "web-1", "app"), b"lost line\n")
        .unwrap();
    drop(case);
    let dir = root.path().join("INC-7");
    let custody = dir.join("custody.jsonl");
    // Cut the last line (the capture's), as a kill right after the index write would.
    let text = std::fs::read_to_string(&custody).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    assert!(lines.pop().unwrap().contains("capture_logs"));
    std::fs::write(&custody, format!("{}\n", lines.join("\n"))).unwrap();

    let case = Case::open(root.path(), Some("INC-7"), &config()).unwrap();
    drop(case);
    let lines = custody_lines(&dir);
    let last = lines.last().unwrap();
    assert_eq!(last["action"], "recover_artifact");
    assert_eq!(last["artifacts"][0]["path"], kept.path.as_str());
    assert_eq!(
        last["artifacts"][0]["sha256"],
        kept.sha256.as_deref().unwrap()
    );
    verify_file(&custody).unwrap();
    // Named once: opening again adds no second recovery.
    drop(Case::open(root.path(), Some("INC-7"), &config()).unwrap());
    let again = custody_lines(&dir);
    assert_eq!(
        again
            .iter()
            .filter(|l| l["action"] == "recover_artifact")
            .count(),
        1
    );
}
