//! podman for the tests that build and run the helper image (helper_image, clone_toolkit).

use std::process::{Command, Output};
use std::time::Instant;

/// `podman run` here needs bounded ulimits (the defaults exceed the container's limits).
pub const ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `podman`, with runc as the OCI runtime when it is installed: Debian bookworm's crun refuses
/// hosts with cgroup v1 controllers next to a cgroup v2 hierarchy ("cgroups in hybrid mode not
/// supported"), which runc handles (scripts/test.sh installs runc).
pub fn podman_cmd() -> Command {
    let mut c = Command::new("podman");
    let runc = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("runc").is_file()));
    if runc {
        c.args(["--runtime", "runc"]);
    }
    c
}

pub fn podman(args: &[&str]) -> Output {
    let out = podman_cmd().args(args).output().unwrap();
    let err = text(&out.stderr);
    if err.contains("cgroups in hybrid mode not supported") {
        panic!(
            "podman cannot run containers on this machine: {err}\nhint: install runc \
             (apt-get install runc), which these tests then use instead of crun"
        );
    }
    out
}

/// Build the helper image from this checkout with `helper-image/build-image.sh`; its tag.
pub fn build_helper_image() -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/helper-image/build-image.sh");
    let t = Instant::now();
    let out = Command::new("bash").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "build-image.sh failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    eprintln!("build-image.sh in {:?}:\n{stdout}", t.elapsed());
    let tag = stdout
        .lines()
        .find_map(|l| l.strip_prefix("image "))
        .unwrap()
        .to_string();
    assert!(stdout.lines().any(|l| l.starts_with("id ")), "{stdout}");
    tag
}
