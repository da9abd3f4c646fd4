//! Puts the eBPF object in OUT_DIR (and nowhere else): built from helper-image/ebpf with
//! clang-14 when it is installed (same script and flags as the committed object), otherwise
//! the committed `helper-image/ebpf/ktui.bpf.o` is copied, so `cargo build` works without
//! clang. A fresh build that differs from the committed object is reported as a warning
//! (CI runs helper-image/ebpf/check-object.sh to fail on it).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn main() {
    let Some(manifest) = env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from) else {
        println!("cargo:warning=CARGO_MANIFEST_DIR is not set");
        std::process::exit(1);
    };
    let Some(out_dir) = env::var_os("OUT_DIR").map(PathBuf::from) else {
        println!("cargo:warning=OUT_DIR is not set");
        std::process::exit(1);
    };
    let ebpf = manifest.join("..").join("ebpf");
    let committed = ebpf.join("ktui.bpf.o");
    let out = out_dir.join("ktui.bpf.o");
    for f in [
        "ktui.bpf.o",
        "build.sh",
        "events.h",
        "common.h",
        "connect.h",
        "msgcall.h",
        "ktui.bpf.c",
        "tcp_state.bpf.c",
        "tcp_retransmit.bpf.c",
        "tcp_reset.bpf.c",
        "connect.bpf.c",
        "udp.bpf.c",
        "dns.bpf.c",
        "drop.bpf.c",
        "vmlinux.h",
    ] {
        println!("cargo:rerun-if-changed={}", ebpf.join(f).display());
    }
    println!("cargo:rerun-if-env-changed=KTUI_EBPF_USE_COMMITTED");

    let want_clang = env::var_os("KTUI_EBPF_USE_COMMITTED").is_none();
    if want_clang && have("clang-14") && have("llvm-strip-14") && build(&ebpf, &out, &out_dir) {
        if std::fs::read(&out).ok() != std::fs::read(&committed).ok() {
            println!(
                "cargo:warning=helper-image/ebpf/ktui.bpf.o is stale (a fresh clang-14 build \
                 differs); using the fresh build. Run helper-image/ebpf/build.sh and commit it."
            );
        }
        return;
    }
    if let Err(e) = std::fs::copy(&committed, &out) {
        println!(
            "cargo:warning=cannot copy {} to {}: {e}",
            committed.display(),
            out.display()
        );
        std::process::exit(1);
    }
}

/// Run build.sh with its temporary files under OUT_DIR.
fn build(ebpf: &Path, out: &Path, out_dir: &Path) -> bool {
    let status = Command::new("sh")
        .arg(ebpf.join("build.sh"))
        .arg(out)
        .env("TMPDIR", out_dir)
        .status();
    match status {
        Ok(s) if s.success() => true,
        Ok(s) => {
            println!(
                "cargo:warning=clang-14 build of the eBPF object failed ({s}); using the committed object"
            );
            false
        }
        Err(e) => {
            println!("cargo:warning=cannot run build.sh ({e}); using the committed object");
            false
        }
    }
}
