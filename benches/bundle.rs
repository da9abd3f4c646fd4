//! Export throughput: ktui's one-pass bundle writer (archive, hashes, minisign prehash and
//! signature) against the two-step pipeline a responder would run (`tar czf` then `sha256sum`,
//! unsigned), on the same artifact, in one run; and SHA-256
//! throughput against `openssl dgst -sha256`. The artifact is half random, half zeros (like
//! checkpoint memory pages), written to a temp dir on disk first.
//!
//! `cargo bench --bench bundle -- [--mib N]` (default 1024).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read as _, Write as _};
use std::process::Command;
use std::time::Instant;

use sha2::{Digest, Sha256};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set of this process so far, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let mib = arg("--mib", 1024);
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| ".".into()))
        .expect("temp dir");
    let data = dir.path().join("pages.img");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&data).expect("create"));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut chunk = vec![0u8; 1 << 20];
        for i in 0..mib {
            if i < mib / 2 {
                for b in chunk.iter_mut() {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    *b = x as u8;
                }
            } else {
                chunk.fill(0);
            }
            f.write_all(&chunk).expect("write");
        }
        f.flush().expect("flush");
    }
    let size = mib << 20;
    let _ = Command::new("sync").status();
    let rss_before = peak_rss_mib();

    // ktui: one pass, artifact hash checked, archive hashed (SHA-256) and prehashed for the
    // signature (BLAKE2b-512) while written, then signed.
    let out = dir.path().join("ktui.tar.gz");
    let key = ktui::sign::SecretKey::generate().expect("key");
    let mut prehash = ktui::sign::Prehasher::new();
    let t = Instant::now();
    let archive = ktui::bundle::write(
        std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&out).expect("out")),
        "bench",
        [ktui::bundle::Entry {
            path: "artifacts/ns/pod/checkpoints/pages.img".into(),
            content: ktui::bundle::Content::File {
                file: data.clone(),
                expect_sha256: None,
            },
        }],
        0,
        &mut |b| prehash.update(b),
    )
    .expect("bundle");
    let _sig =
        ktui::sign::sign_prehashed(&key, prehash.finalize(), "bench", "bench").expect("sign");
    let ktui_s = t.elapsed().as_secs_f64();
    let rss_ktui = peak_rss_mib();

    // The two-step pipeline on the same file.
    let t = Instant::now();
    let ok = Command::new("tar")
        .args(["czf", "pipeline.tar.gz", "pages.img"])
        .current_dir(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    let tar_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ok = ok
        && Command::new("sha256sum")
            .arg("pipeline.tar.gz")
            .current_dir(dir.path())
            .output()
            .is_ok_and(|o| o.status.success());
    let sum_s = t.elapsed().as_secs_f64();
    assert!(ok, "tar czf / sha256sum failed");
    let pipeline_size = std::fs::metadata(dir.path().join("pipeline.tar.gz"))
        .map(|m| m.len())
        .unwrap_or(0);

    // SHA-256 alone: sha2 (ktui) vs openssl, on the artifact.
    let t = Instant::now();
    let mut f = std::fs::File::open(&data).expect("open");
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let _ = h.finalize();
    let sha_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let ok = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(&data)
        .output()
        .is_ok_and(|o| o.status.success());
    let openssl_s = t.elapsed().as_secs_f64();
    assert!(ok, "openssl dgst failed");

    let gib = size as f64 / f64::from(1u32 << 30);
    println!(
        "artifact: {mib} MiB (half random, half zeros), on disk in {}",
        dir.path().display()
    );
    println!(
        "  ktui bundle::write + sign {ktui_s:6.2} s  -> {:.0} MiB (ratio {:.3}), gzip level {} / random chunks stored",
        archive.bytes as f64 / 1048576.0,
        archive.bytes as f64 / size as f64,
        ktui::bundle::gz::LEVEL
    );
    println!(
        "  tar czf + sha256sum       {:6.2} s  ({tar_s:.2} + {sum_s:.2}) -> {:.0} MiB (ratio {:.3})",
        tar_s + sum_s,
        pipeline_size as f64 / 1048576.0,
        pipeline_size as f64 / size as f64
    );
    println!(
        "  speed-up                  {:6.2}x",
        (tar_s + sum_s) / ktui_s
    );
    println!(
        "  SHA-256: sha2 {:.2} GiB/s, openssl {:.2} GiB/s ({:.0} %)",
        gib / sha_s,
        gib / openssl_s,
        100.0 * openssl_s / sha_s
    );
    println!("  peak RSS: {rss_before:.0} MiB before the export, {rss_ktui:.0} MiB after");
}
