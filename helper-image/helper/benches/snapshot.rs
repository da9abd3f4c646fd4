//! Live snapshot figures (prints them; no harness):
//!
//!   sudo cargo bench -p ktui-helper --bench snapshot -- --mib 1024
//!
//! A holder process (this binary again) touches MIB MiB of heap, then (as root) moves into its
//! own mount namespace with an empty tmpfs as its root, so the changed-files walk is nothing
//! and the figure is the memory path. `ktui-helper snapshot --pid HOLDER` (release) writes to
//! a pipe this process drains, as the console would. Printed: tar bytes, wall time, MB/s, and
//! the helper's peak RSS (the bound: it must not grow with MIB).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::time::Instant;

const HOLD: &str = "KTUI_BENCH_SNAPSHOT_HOLD";
const ROOT: &str = "KTUI_BENCH_SNAPSHOT_ROOT";

fn hold(mib: usize) -> ! {
    let mut heap = vec![0u8; mib << 20];
    for (i, page) in heap.chunks_mut(4096).enumerate() {
        page[0] = (i % 251) as u8 + 1;
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        // An empty directory the bench made (and removes).
        let dir = std::env::var(ROOT).unwrap();
        let c = std::ffi::CString::new(dir).unwrap();
        let tmpfs = std::ffi::CString::new("tmpfs").unwrap();
        // SAFETY: unshare, mount and chroot with NUL-terminated strings we own; this process
        // only sleeps afterwards.
        unsafe {
            assert_eq!(libc::unshare(libc::CLONE_NEWNS), 0);
            libc::mount(
                std::ptr::null(),
                c"/".as_ptr(),
                std::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                std::ptr::null(),
            );
            assert_eq!(
                libc::mount(
                    tmpfs.as_ptr(),
                    c.as_ptr(),
                    tmpfs.as_ptr(),
                    0,
                    std::ptr::null()
                ),
                0
            );
            assert_eq!(libc::chroot(c.as_ptr()), 0);
        }
    }
    println!("ready");
    std::hint::black_box(&heap);
    std::thread::sleep(std::time::Duration::from_secs(600));
    std::process::exit(0)
}

fn main() {
    if let Ok(mib) = std::env::var(HOLD) {
        hold(mib.parse().unwrap());
    }
    let args: Vec<String> = std::env::args().collect();
    let mib: usize = args
        .iter()
        .position(|a| a == "--mib")
        .and_then(|i| args.get(i + 1))
        .map_or(512, |v| v.parse().unwrap());

    let root = tempfile::tempdir().unwrap();
    let mut holder = Command::new(std::env::current_exe().unwrap())
        .env(HOLD, mib.to_string())
        .env(ROOT, root.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready");

    let start = Instant::now();
    let mut snap = Command::new(env!("CARGO_BIN_EXE_ktui-helper"))
        .args(["snapshot", "--pid", &holder.id().to_string()])
        .args(["--max-memory-bytes", &(u64::MAX / 2).to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = snap.stdout.take().unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        bytes += n as u64;
    }
    let status = snap.wait().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let mut err = String::new();
    snap.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    // The only child waited for so far: the helper.
    // SAFETY: getrusage into a struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    holder.kill().unwrap();
    holder.wait().unwrap();
    println!(
        "live snapshot of a {mib} MiB heap: {bytes} tar bytes in {secs:.2} s = {:.0} MB/s; \
         helper peak RSS {} MiB",
        bytes as f64 / secs / 1e6,
        ru.ru_maxrss / 1024
    );
    println!("summary: {}", err.trim());
}
