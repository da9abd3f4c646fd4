//! A real live snapshot, inspected: a busybox shell in its own mount and network namespace (root
//! on a tmpfs) holds a secret in its heap — generated here and sent over a pipe, never in its
//! argv or on disk — and has written a file; `ktui-helper snapshot --pid` takes it, and
//! `ktui checkpoint inspect --grep` must find the secret at exactly the offsets an independent
//! scan of the extracted memory members finds, in the right process, at addresses where the
//! live process's /proc/PID/mem holds it. Needs root; skipped otherwise, failing under CI=true.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn unavailable() -> Option<String> {
    match Command::new("id").arg("-u").output() {
        Ok(o) if String::from_utf8_lossy(&o.stdout).trim() == "0" => {}
        _ => {
            return Some(
                "not running as root (namespaces, mounts, reading another process's memory)".into(),
            );
        }
    }
    let Some(bb) = busybox() else {
        return Some("no busybox (apt-get install busybox-static)".into());
    };
    let file = Command::new("file").arg(&bb).output().ok()?;
    if !String::from_utf8_lossy(&file.stdout).contains("statically linked") {
        return Some(format!(
            "{} is not static (apt-get install busybox-static)",
            bb.display()
        ));
    }
    if Command::new("unshare").arg("--version").output().is_err() {
        return Some("no unshare (util-linux)".into());
    }
    None
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut b)
        .unwrap();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Inside the new root: write a file, read the secret from stdin, say `pid N`, wait for EOF.
const INNER: &str = r#"
set -e
/bin/busybox mkdir -p /data
echo "$WRITTEN" > /data/written.txt
read -r secret
echo "pid $$"
read -r wait_for_eof || true
echo "$secret" > /dev/null
"#;

/// A tmpfs root with busybox, pivoted into (files made before the shell starts are older).
const OUTER: &str = r#"
set -e
$BB mount -t tmpfs tmpfs "$D/root"
$BB mkdir -p "$D/root/bin" "$D/root/oldroot"
$BB cp "$BB" "$D/root/bin/busybox"
$BB ln -s busybox "$D/root/bin/sh"
$BB sleep 2
cd "$D/root"
$BB pivot_root . oldroot
exec /bin/busybox chroot . /bin/busybox sh -c '/bin/busybox umount -l /oldroot; /bin/sh -c "$INNER"; echo done'
"#;

struct Contained {
    child: Child,
    stdin: Option<ChildStdin>,
    pid: u32,
    secret: String,
    _dir: tempfile::TempDir,
}

impl Contained {
    fn start() -> Contained {
        let bb = busybox().unwrap();
        let dir = tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap());
        std::fs::create_dir_all(dir.path().join("root")).unwrap();
        let secret = format!("KTUI-SECRET-{}", random_hex(24));
        let mut child = Command::new("unshare")
            .args(["--mount", "--net", "--propagation", "private"])
            .arg(&bb)
            .args(["sh", "-c", OUTER])
            .env("BB", &bb)
            .env("D", dir.path())
            .env("INNER", INNER)
            .env("WRITTEN", format!("written by the test {}", random_hex(8)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{secret}").unwrap();
        stdin.flush().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the contained shell did not start");
        let pid = line
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .expect("a pid line");
        Contained {
            child,
            stdin: Some(stdin),
            pid,
            secret,
            _dir: dir,
        }
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = Command::new("kill")
            .arg("-9")
            .arg(self.pid.to_string())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out)
        } else {
            out.push(p)
        }
    }
}

#[test]
fn inspect_finds_the_secret_of_a_real_snapshot_where_an_independent_scan_does() {
    if common::skip_unless(
        "inspect_finds_the_secret_of_a_real_snapshot_where_an_independent_scan_does",
        unavailable(),
    ) {
        return;
    }
    let c = Contained::start();
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("snapshot.tar");
    let snap = Command::new(common::helper_binary())
        .args([
            "snapshot",
            "--pid",
            &c.pid.to_string(),
            "--pod",
            "app-0",
            "--namespace",
            "shop",
            "--container",
            "app",
        ])
        .stdout(std::fs::File::create(&archive).unwrap())
        .output()
        .unwrap();
    assert!(
        snap.status.success(),
        "ktui-helper snapshot: {}",
        String::from_utf8_lossy(&snap.stderr)
    );

    let out = Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(["checkpoint", "inspect"])
        .arg(&archive)
        .args(["--json", "--grep", &c.secret])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inspect: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["kind"], "snapshot");
    assert_eq!(r["container"]["name"], "app");
    assert_eq!(r["container"]["namespace"], "shop");
    assert_eq!(r["snapshot"]["atomic"], false);
    let shell = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == c.pid)
        .expect("the shell");
    assert_eq!(shell["comm"], "sh");
    assert!(
        r["rootfs_diff"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "data/written.txt"),
        "{}",
        r["rootfs_diff"]
    );

    // The independent scan: GNU tar extracts, a byte search over every memory member.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    assert!(
        Command::new("tar")
            .arg("-xf")
            .arg(&archive)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap()
            .success()
    );
    let mut members = Vec::new();
    files_under(&x.join("memory"), &mut members);
    let mut want = BTreeSet::new();
    for m in &members {
        let data = std::fs::read(m).unwrap();
        let name = m.strip_prefix(&x).unwrap().to_string_lossy().into_owned();
        for o in occurrences(&data, c.secret.as_bytes()) {
            want.insert((name.clone(), o));
        }
    }
    assert!(
        !want.is_empty(),
        "the secret is in no memory member: the snapshot missed the heap"
    );
    let matches = r["matches"].as_array().unwrap();
    let got: BTreeSet<(String, u64)> = matches
        .iter()
        .map(|m| {
            (
                m["file"].as_str().unwrap().to_string(),
                m["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(r["grep"]["total"].as_u64().unwrap(), want.len() as u64);

    // Each match: the member's pid, and the live process holds the secret at that address.
    let mem = std::fs::File::open(format!("/proc/{}/mem", c.pid)).unwrap();
    for m in matches {
        let file = m["file"].as_str().unwrap();
        let pid: u64 = file.split('/').nth(1).unwrap().parse().unwrap();
        assert_eq!(m["pid"].as_u64(), Some(pid));
        if pid != u64::from(c.pid) {
            continue;
        }
        let addr = u64::from_str_radix(m["address"].as_str().unwrap(), 16).unwrap();
        let mut buf = vec![0u8; c.secret.len()];
        mem.read_exact_at(&mut buf, addr).unwrap();
        assert_eq!(
            buf,
            c.secret.as_bytes(),
            "not at {addr:x} in the live process"
        );
    }
}
