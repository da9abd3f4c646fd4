#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! `ktui-helper snapshot` for real: a process in its own mount and network namespace (a static
//! busybox shell, root on an overlay or a tmpfs) holds a secret in its heap — generated here,
//! sent over a pipe, never on disk — and has written a file. The snapshot is checked with
//! independent tools: GNU tar lists and extracts it, `grep -abo` finds the secret, and the
//! live process's /proc/PID/mem must hold the secret at the address each hit's member name and
//! offset give. Needs root (namespaces, mounts, /dev/kmsg); skipped otherwise, failing under
//! CI=true.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BIN, skip_unless};
use serde_json::Value;

const CID: &str = "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
const POD_UID: &str = "8a3f7c2e-1b4d-4e6f-9a0b-c1d2e3f4a5b6";

fn busybox() -> Option<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not running as root (mount/network namespaces, overlay mounts)".into());
    }
    let Some(bb) = busybox() else {
        return Some("no busybox (apt-get install busybox-static)".into());
    };
    let out = Command::new("file").arg(&bb).output().ok()?;
    if !String::from_utf8_lossy(&out.stdout).contains("statically linked") {
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

/// Scratch space on a tmpfs when there is one (an overlay's upper directory cannot be on an
/// overlay, as /tmp is inside many CI containers).
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    }
}

/// The root the contained shell runs in.
enum Root {
    /// An overlay: lower (busybox, etc/delete-me, etc/keep.txt), upper, work.
    Overlay,
    /// A tmpfs filled before the shell starts (so its files are older than the shell).
    Tmpfs,
}

/// A contained shell holding `secret`, in its own mount and network namespace.
struct Contained {
    child: Child,
    stdin: Option<ChildStdin>,
    /// The shell that holds the secret.
    pid: u32,
    port: u16,
    secret: String,
    written: String,
    _dir: tempfile::TempDir,
}

/// The contained shell's script: writes a file, deletes one, listens on `PORT` (a descendant
/// with a socket), reads the secret from stdin, says `pid N`, then waits for stdin to close.
const INNER: &str = r#"
set -e
bb=/bin/busybox
$bb mkdir -p /dev /data
[ -e /dev/null ] || $bb mknod /dev/null c 1 3
echo "$WRITTEN" > /data/written.txt
[ -e /etc/delete-me ] && $bb rm /etc/delete-me
$bb ip link set lo up
/bin/nc -l -p "$PORT" </dev/null >/dev/null 2>&1 &
read -r secret
echo "pid $$"
read -r wait_for_eof || true
echo "$secret" > /dev/null
"#;

/// Overlay: mounted, pivoted into; the shell itself holds the secret.
const OUTER_OVERLAY: &str = r#"
set -e
$BB mount -t overlay overlay -o "lowerdir=$D/lower,upperdir=$D/upper,workdir=$D/work" "$D/merged"
cd "$D/merged"
$BB mkdir oldroot
$BB pivot_root . oldroot
exec /bin/busybox chroot . /bin/busybox sh -c '/bin/busybox umount -l /oldroot; /bin/busybox rmdir /oldroot; exec /bin/sh -c "$INNER"'
"#;

/// Tmpfs: filled, then two seconds later the shell holding the secret is started (a new
/// process: its start time is after every file made here).
const OUTER_TMPFS: &str = r#"
set -e
$BB mount -t tmpfs tmpfs "$D/root"
$BB mkdir -p "$D/root/bin" "$D/root/etc" "$D/root/oldroot"
$BB cp "$BB" "$D/root/bin/busybox"
$BB ln -s busybox "$D/root/bin/sh"
$BB ln -s busybox "$D/root/bin/nc"
echo old > "$D/root/etc/old.txt"
$BB sleep 2
cd "$D/root"
$BB pivot_root . oldroot
exec /bin/busybox chroot . /bin/busybox sh -c '/bin/busybox umount -l /oldroot; /bin/sh -c "$INNER"; echo done'
"#;

/// The socket rows of `tcp` and `tcp6` in a net directory.
fn tcp_rows(dir: impl AsRef<Path>) -> Vec<String> {
    ["tcp", "tcp6"]
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(dir.as_ref().join(f))
                .unwrap_or_default()
                .lines()
                .skip(1)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A LISTEN row (state 0A) on `port`, IPv4 or IPv6.
fn is_listener(row: &str, port: u16) -> bool {
    let f: Vec<&str> = row.split_whitespace().collect();
    f.len() > 3 && f[1].ends_with(&format!(":{port:04X}")) && f[3] == "0A"
}

fn lines<R: std::io::Read + Send + 'static>(r: R) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Contained {
    fn start(root: Root) -> Contained {
        let bb = busybox().unwrap();
        let dir = scratch();
        let d = dir.path();
        let outer = match root {
            Root::Overlay => {
                for sub in ["lower/bin", "lower/etc", "upper", "work", "merged"] {
                    std::fs::create_dir_all(d.join(sub)).unwrap();
                }
                std::fs::copy(&bb, d.join("lower/bin/busybox")).unwrap();
                // Run as sh and nc (a process's comm is the name it was executed by).
                std::os::unix::fs::symlink("busybox", d.join("lower/bin/sh")).unwrap();
                std::os::unix::fs::symlink("busybox", d.join("lower/bin/nc")).unwrap();
                std::fs::write(d.join("lower/etc/delete-me"), "to be deleted\n").unwrap();
                std::fs::write(d.join("lower/etc/keep.txt"), "unchanged\n").unwrap();
                OUTER_OVERLAY
            }
            Root::Tmpfs => {
                std::fs::create_dir_all(d.join("root")).unwrap();
                OUTER_TMPFS
            }
        };
        let secret = format!("KTUI-SECRET-{}", random_hex(24));
        let written = format!("changed by the test {}", random_hex(8));
        let port = 20_000 + u16::from_str_radix(&random_hex(2), 16).unwrap() % 40_000;
        let mut child = Command::new("unshare")
            .args(["--mount", "--net", "--propagation", "private"])
            .arg(&bb)
            .args(["sh", "-c", outer])
            .env("BB", &bb)
            .env("D", d)
            .env("INNER", INNER)
            .env("WRITTEN", &written)
            .env("PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn unshare");
        let mut stdin = child.stdin.take().unwrap();
        let out = lines(child.stdout.take().unwrap());
        writeln!(stdin, "{secret}").unwrap();
        stdin.flush().unwrap();
        let line = out
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| {
                panic!("the contained shell did not start: {:?}", child.try_wait())
            });
        let pid: u32 = line
            .strip_prefix("pid ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let c = Contained {
            child,
            stdin: Some(stdin),
            pid,
            port,
            secret,
            written,
            _dir: dir,
        };
        c.wait_listening();
        c
    }

    /// Until the listener shows in the namespace's TCP tables (busybox nc listens on [::]).
    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let rows = tcp_rows(format!("/proc/{}/net", self.pid));
            if rows.iter().any(|r| is_listener(r, self.port)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nc never listened on port {}", self.port);
    }

    fn descendants(&self) -> Vec<u32> {
        let mut out = vec![self.pid];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            for e in std::fs::read_dir("/proc").unwrap().flatten() {
                let Some(p) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
                let ppid = stat.rfind(')').and_then(|at| {
                    stat[at + 1..]
                        .split_whitespace()
                        .nth(1)?
                        .parse::<u32>()
                        .ok()
                });
                if ppid == Some(parent) && !out.contains(&p) {
                    out.push(p);
                }
            }
            i += 1;
        }
        out
    }
}

impl Drop for Contained {
    fn drop(&mut self) {
        let pids = self.descendants();
        drop(self.stdin.take());
        for p in pids {
            // SAFETY: kill with a PID this test started (or its descendants).
            unsafe { libc::kill(p as i32, libc::SIGKILL) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A snapshot taken with `args`, extracted by GNU tar: (members in order, directory, json).
struct Taken {
    members: Vec<String>,
    dir: tempfile::TempDir,
    json: Value,
    stderr: String,
}

fn snapshot(args: &[&str], env: &[(&str, &str)]) -> Taken {
    let dir = tempfile::tempdir().unwrap();
    let tar_path = dir.path().join("snapshot.tar");
    let out = Command::new(BIN)
        .arg("snapshot")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&tar_path).unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "snapshot failed: {stderr}");
    let list = Command::new("tar")
        .arg("-tf")
        .arg(&tar_path)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "GNU tar cannot list it: {}",
        String::from_utf8_lossy(&list.stderr)
    );
    let members: Vec<String> = String::from_utf8(list.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(&tar_path)
        .arg("-C")
        .arg(&x)
        .status()
        .unwrap();
    assert!(st.success());
    let json: Value =
        serde_json::from_slice(&std::fs::read(x.join("snapshot.json")).unwrap()).unwrap();
    // The summary line on stderr counts what the archive holds.
    let summary: Value = serde_json::from_str(stderr.lines().last().unwrap()).unwrap();
    assert_eq!(
        summary["bytes"],
        std::fs::metadata(&tar_path).unwrap().len()
    );
    Taken {
        members,
        dir,
        json,
        stderr,
    }
}

impl Taken {
    fn x(&self) -> PathBuf {
        self.dir.path().join("x")
    }
}

/// The order the layout pins: proc/, memory/, rootfs-diff.tar, kmsg.txt, snapshot.json.
fn assert_layout(members: &[String]) {
    let rank = |m: &str| {
        if m.starts_with("proc/") {
            0
        } else if m.starts_with("memory/") {
            1
        } else {
            match m {
                "rootfs-diff.tar" => 2,
                "kmsg.txt" => 3,
                "snapshot.json" => 4,
                other => panic!("unexpected member {other}"),
            }
        }
    };
    let ranks: Vec<i32> = members.iter().map(|m| rank(m)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "out of order: {members:?}"
    );
    for r in 0..=4 {
        assert!(ranks.contains(&r), "rank {r} missing: {members:?}");
    }
    assert_eq!(members.last().map(String::as_str), Some("snapshot.json"));
    assert_eq!(
        members
            .iter()
            .filter(|m| m.as_str() == "rootfs-diff.tar")
            .count(),
        1
    );
}

/// `grep -rabo SECRET memory/`: every hit must be the secret in the live process at
/// member start + offset. Returns the number of hits in the shell's own memory.
fn assert_secret_at_true_addresses(t: &Taken, c: &Contained) -> usize {
    let out = Command::new("grep")
        .args(["-rabo", &c.secret, "memory"])
        .current_dir(t.x())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mem = std::fs::File::open(format!("/proc/{}/mem", c.pid)).unwrap();
    let mut in_shell = 0;
    for line in text.lines() {
        // memory/<pid>/<start>-<end>.bin:<offset>:<match>
        let mut parts = line.splitn(3, ':');
        let member = parts.next().unwrap();
        let offset: u64 = parts.next().unwrap().parse().unwrap();
        let mut path = member.split('/');
        assert_eq!(path.next(), Some("memory"));
        let pid: u32 = path.next().unwrap().parse().unwrap();
        let range = path.next().unwrap().strip_suffix(".bin").unwrap();
        let start = u64::from_str_radix(range.split('-').next().unwrap(), 16).unwrap();
        if pid != c.pid {
            continue;
        }
        let mut live = vec![0u8; c.secret.len()];
        mem.read_exact_at(&mut live, start + offset).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&live),
            c.secret,
            "{member} offset {offset}: the live process has something else at {:#x}",
            start + offset
        );
        in_shell += 1;
    }
    // Every member's size is what snapshot.json says.
    for m in t.json["memory"].as_array().unwrap() {
        if let Some(member) = m["member"].as_str() {
            let len = std::fs::metadata(t.x().join(member)).unwrap().len();
            assert_eq!(Value::from(len), m["bytes"], "{member}");
        }
    }
    in_shell
}

fn processes(json: &Value) -> Vec<(u64, Option<u64>, String)> {
    json["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["ppid"].as_u64(),
                p["comm"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// proc/ files, fds and the namespace's own TCP table.
fn assert_proc_fds_and_net(t: &Taken, c: &Contained) {
    let procs = processes(&t.json);
    let nc = procs
        .iter()
        .find(|(_, ppid, comm)| comm == "nc" && *ppid == Some(u64::from(c.pid)))
        .unwrap_or_else(|| panic!("no nc child in {procs:?}"));
    assert!(
        procs
            .iter()
            .any(|(pid, _, comm)| *pid == u64::from(c.pid) && comm == "sh"),
        "{procs:?}"
    );
    for (pid, _, _) in &procs {
        for f in [
            "cmdline",
            "environ",
            "status",
            "limits",
            "cgroup",
            "mountinfo",
            "maps",
            "fds.json",
            "net/tcp",
            "net/tcp6",
            "net/udp",
            "net/udp6",
            "net/unix",
        ] {
            assert!(
                t.x().join(format!("proc/{pid}/{f}")).is_file(),
                "proc/{pid}/{f} missing"
            );
        }
    }
    let fds: Value = serde_json::from_slice(
        &std::fs::read(t.x().join(format!("proc/{}/fds.json", nc.0))).unwrap(),
    )
    .unwrap();
    let socket = fds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"].as_str().unwrap().starts_with("socket:["))
        .unwrap_or_else(|| panic!("nc has no socket: {fds}"));
    assert!(
        t.json["fds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["pid"] == nc.0
                && f["fd"] == socket["fd"]
                && f["target"] == socket["target"]),
        "snapshot.json fds lack {socket}"
    );
    // The new network namespace has one TCP socket: the listener.
    let rows = tcp_rows(t.x().join(format!("proc/{}/net", c.pid)));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(is_listener(&rows[0], c.port), "{rows:?}");
    // The secret came over a pipe: it is in no /proc file (environ, cmdline).
    let leaked = Command::new("grep")
        .args(["-rl", &c.secret, "proc"])
        .current_dir(t.x())
        .output()
        .unwrap();
    assert!(
        leaked.stdout.is_empty(),
        "secret in {}",
        String::from_utf8_lossy(&leaked.stdout)
    );
}

/// The nested rootfs-diff.tar, extracted by GNU tar.
fn rootfs_dir(t: &Taken) -> PathBuf {
    let r = t.dir.path().join("rootfs");
    std::fs::create_dir(&r).unwrap();
    let st = Command::new("tar")
        .arg("-xf")
        .arg(t.x().join("rootfs-diff.tar"))
        .arg("-C")
        .arg(&r)
        .status()
        .unwrap();
    assert!(st.success());
    r
}

fn write_kmsg(line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .unwrap();
    f.write_all(line.as_bytes()).unwrap();
}

#[test]
fn overlay_container_memory_files_sockets_and_kernel_log() {
    if skip_unless(
        "overlay_container_memory_files_sockets_and_kernel_log",
        unavailable(),
    ) {
        return;
    }
    let c = Contained::start(Root::Overlay);
    let nonce = random_hex(8);
    write_kmsg(&format!(
        "<4>ktui-snapshot-test: sh[{}]: about the container {nonce}\n",
        c.pid
    ));
    write_kmsg(&format!(
        "<4>ktui-snapshot-test: other[1]: not about it {nonce}\n"
    ));
    let pid = c.pid.to_string();
    let t = snapshot(
        &[
            "--pid",
            &pid,
            "--pod",
            "web-0",
            "--namespace",
            "shop",
            "--container",
            "app",
            "--image",
            "registry.example/app:1",
        ],
        &[],
    );
    assert_layout(&t.members);
    let j = &t.json;
    assert_eq!(j["kind"], "ktui-live-snapshot");
    assert_eq!(j["version"], 1);
    assert_eq!(j["atomic"], false);
    let note = j["note"].as_str().unwrap();
    assert!(
        note.contains("not frozen") && note.contains("not a CRIU image"),
        "{note}"
    );
    let started = humantime::parse_rfc3339(j["started_at"].as_str().unwrap()).unwrap();
    let finished = humantime::parse_rfc3339(j["finished_at"].as_str().unwrap()).unwrap();
    assert!(started <= finished);
    assert_eq!(j["container"]["pod"], "web-0");
    assert_eq!(j["container"]["namespace"], "shop");
    assert_eq!(j["container"]["name"], "app");
    assert_eq!(j["container"]["image"], "registry.example/app:1");
    assert!(j["container"]["image_ref"].is_null() && j["container"]["created"].is_null());
    assert_eq!(j["helper"]["version"], env!("CARGO_PKG_VERSION"));

    let hits = assert_secret_at_true_addresses(&t, &c);
    assert!(
        hits >= 1,
        "the secret is not in the shell's memory members\n{}",
        t.stderr
    );
    assert_proc_fds_and_net(&t, &c);

    // Changed files from the overlay's upper directory.
    assert_eq!(j["rootfs"]["source"], "overlay-upper", "{}", j["rootfs"]);
    let r = rootfs_dir(&t);
    assert_eq!(
        std::fs::read_to_string(r.join("data/written.txt"))
            .unwrap()
            .trim_end(),
        c.written
    );
    assert!(
        !r.join("etc/keep.txt").exists(),
        "an unchanged lower file is not a change"
    );
    assert!(!r.join("bin/busybox").exists());
    let deleted: BTreeSet<&str> = j["deleted_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(deleted, BTreeSet::from(["etc/delete-me"]));
    let left_out: Vec<&str> = j["rootfs"]["left_out"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        left_out,
        ["dev/null"],
        "the device node made in the container"
    );
    let root_mount = j["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "/")
        .unwrap();
    assert_eq!(root_mount["type"], "overlay");

    let kmsg = std::fs::read_to_string(t.x().join("kmsg.txt")).unwrap();
    assert!(
        kmsg.contains(&format!("sh[{}]: about the container {nonce}", c.pid)),
        "{kmsg}"
    );
    assert!(!kmsg.contains(&format!("not about it {nonce}")), "{kmsg}");
    assert!(j["kmsg"]["lines"].as_u64().unwrap() >= 1);
    assert!(j["kmsg"]["error"].is_null());
    assert_eq!(j["kmsg"]["source"], "/dev/kmsg");
}

#[test]
fn ctime_fallback_and_proc_mem_reads() {
    if skip_unless("ctime_fallback_and_proc_mem_reads", unavailable()) {
        return;
    }
    let c = Contained::start(Root::Tmpfs);
    let nonce = random_hex(8);
    write_kmsg(&format!(
        "<4>ktui-snapshot-test: sh[{}]: through syslog {nonce}\n",
        c.pid
    ));
    let pid = c.pid.to_string();
    // /dev/kmsg refused (as a runtime's device rules do): the ring is read with syslog(2).
    let t = snapshot(
        &["--pid", &pid, "--debug-proc-mem"],
        &[("KTUI_KMSG", "/nonexistent/kmsg")],
    );
    let k = &t.json["kmsg"];
    assert_eq!(k["source"], "syslog(2)", "{k}");
    assert!(
        k["note"].as_str().unwrap().contains("/nonexistent/kmsg"),
        "{k}"
    );
    let kmsg = std::fs::read_to_string(t.x().join("kmsg.txt")).unwrap();
    assert!(
        kmsg.contains(&format!("sh[{}]: through syslog {nonce}", c.pid)),
        "{kmsg}"
    );
    assert_layout(&t.members);
    let hits = assert_secret_at_true_addresses(&t, &c);
    assert!(
        hits >= 1,
        "the secret is not in the memory read through /proc/PID/mem"
    );
    assert_proc_fds_and_net(&t, &c);
    let rootfs = &t.json["rootfs"];
    assert_eq!(rootfs["source"], "proc-root-ctime", "{rootfs}");
    assert!(
        rootfs["note"].as_str().unwrap().contains("not an overlay"),
        "{rootfs}"
    );
    let since = humantime::parse_rfc3339(rootfs["since"].as_str().unwrap()).unwrap();
    assert!(since <= humantime::parse_rfc3339(t.json["started_at"].as_str().unwrap()).unwrap());
    let r = rootfs_dir(&t);
    assert_eq!(
        std::fs::read_to_string(r.join("data/written.txt"))
            .unwrap()
            .trim_end(),
        c.written
    );
    // Made before the shell started: not a change.
    assert!(!r.join("etc/old.txt").exists());
    assert!(!r.join("bin/busybox").exists());
    assert!(t.json["deleted_files"].as_array().unwrap().is_empty());
}

#[test]
fn found_by_container_id_in_a_kubelet_cgroup_tree() {
    if skip_unless(
        "found_by_container_id_in_a_kubelet_cgroup_tree",
        unavailable(),
    ) {
        return;
    }
    let c = Contained::start(Root::Tmpfs);
    // A systemd-driver kubelet tree (cgroup v2 names) with the shell in the container's scope
    // and this test process in CRI-O's monitor scope for the same id (never the container).
    let cg = tempfile::tempdir().unwrap();
    let pod = cg.path().join(format!(
        "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{}.slice",
        POD_UID.replace('-', "_")
    ));
    std::fs::create_dir_all(pod.join(format!("cri-containerd-{CID}.scope"))).unwrap();
    std::fs::write(
        pod.join(format!("cri-containerd-{CID}.scope/cgroup.procs")),
        format!("{}\n", c.pid),
    )
    .unwrap();
    std::fs::create_dir_all(pod.join(format!("crio-conmon-{CID}.scope"))).unwrap();
    std::fs::write(
        pod.join(format!("crio-conmon-{CID}.scope/cgroup.procs")),
        format!("{}\n", std::process::id()),
    )
    .unwrap();
    let root = cg.path().to_str().unwrap();
    let t = snapshot(
        &[
            "--container-id",
            &CID[..12],
            "--runtime",
            "containerd",
            "--image-ref",
            "registry.example/app@sha256:ab",
            "--created",
            "2020-01-01T00:00:00Z",
        ],
        &[("KTUI_CGROUP_ROOT", root)],
    );
    assert_layout(&t.members);
    let pids: Vec<u64> = processes(&t.json).iter().map(|p| p.0).collect();
    // The cgroup lists the shell only (nc is its child but not in the file).
    assert_eq!(pids, [u64::from(c.pid)]);
    let k = &t.json["container"];
    assert_eq!(k["id"], CID);
    assert_eq!(k["pod_uid"], POD_UID);
    assert_eq!(k["runtime"], "containerd");
    assert_eq!(k["image_ref"], "registry.example/app@sha256:ab");
    assert_eq!(k["created"], "2020-01-01T00:00:00Z");
    assert!(
        k["cgroup"]
            .as_str()
            .unwrap()
            .ends_with(&format!("cri-containerd-{CID}.scope")),
        "{k}"
    );
    assert!(assert_secret_at_true_addresses(&t, &c) >= 1);
    // --created is the ctime threshold: the files made before the shell are after it too.
    assert_eq!(t.json["rootfs"]["since"], "2020-01-01T00:00:00.000Z");
    let r = rootfs_dir(&t);
    assert!(r.join("etc/old.txt").exists() && r.join("data/written.txt").exists());

    // An id no cgroup carries: exit 1 and a message that says what to do.
    let out = Command::new(BIN)
        .args(["snapshot", "--container-id", "0123456789abcdef"])
        .env("KTUI_CGROUP_ROOT", root)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("0123456789abcdef") && err.contains("--pid"),
        "{err}"
    );
}
