//! The clone's toolkit for real, in podman: the init container `toolkit::init_container`
//! describes runs exactly its command, from the real helper image (`build-image.sh`), with
//! its securityContext as podman flags (uid 65532, every capability dropped, no privilege
//! escalation, read-only root) into a directory made like an emptyDir; then a `FROM scratch`
//! image with no shell (a distroless stand-in) runs the clone's `sleep` from that directory,
//! read-only, as a non-root user, and `exec ... /usr/local/bin/toolkit/sh` works in it, as
//! `kubectl exec` would. An init container that cannot write its directory fails.
//!
//! Needs root and podman. Elsewhere the test prints why it skips; with `CI=true` it fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::podman::{ULIMITS, podman, text};

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

use ktui::clone::toolkit;
use serde_json::Value;

const DISTROLESS: &str = "localhost/ktui-test-distroless:1";

fn missing_requirement() -> Option<String> {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|o| text(&o.stdout));
    if uid.as_deref().map(str::trim) != Some("0") {
        return Some("not root (rootful podman builds and runs the images)".into());
    }
    if Command::new("podman").arg("--version").output().is_err() {
        return Some("podman is not installed (apt-get install podman)".into());
    }
    None
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// A `FROM scratch` image holding one file and nothing to run: no shell, no libc.
fn distroless() {
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("hello"), "distroless stand-in\n").unwrap();
    std::fs::write(
        ctx.path().join("Containerfile"),
        "FROM scratch\nCOPY hello /hello\n",
    )
    .unwrap();
    ok(
        &podman(&[
            "build",
            "-q",
            "-t",
            DISTROLESS,
            ctx.path().to_str().unwrap(),
        ]),
        "podman build (distroless stand-in)",
    );
}

/// `podman run` arguments for the init container: its securityContext as flags (each one
/// checked to be what the manifest says, so the mapping cannot drift), its command.
fn init_args(init: &Value, image: &str, dir: &Path) -> Vec<String> {
    let sc = &init["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        sc["seccompProfile"]["type"], "RuntimeDefault",
        "podman's default profile"
    );
    let user = format!("{}:{}", sc["runAsUser"], sc["runAsGroup"]);
    assert_ne!(user, "0:0");
    let mount = &init["volumeMounts"][0];
    assert_eq!(mount["mountPath"], toolkit::DIR);
    let command: Vec<String> = init["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let mut args: Vec<String> = ["run", "--rm"].map(String::from).to_vec();
    args.extend(ULIMITS.map(String::from));
    args.extend(
        [
            "--user",
            &user,
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "--network",
            "none",
            "-v",
            &format!("{}:{}", dir.display(), toolkit::DIR),
            "--entrypoint",
            &command[0],
            image,
        ]
        .map(String::from),
    );
    args.extend(command[1..].iter().cloned());
    args
}

/// Removes what the test made in podman (the clone container, the stand-in image), also
/// when an assertion fails half-way.
struct Cleanup {
    container: Option<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(name) = &self.container {
            podman(&["rm", "-f", "-t", "0", name]);
        }
        podman(&["rmi", "-f", DISTROLESS]);
    }
}

#[test]
fn the_toolkit_gives_a_distroless_clone_a_shell() {
    let test = "the_toolkit_gives_a_distroless_clone_a_shell";
    if common::skip_unless(test, missing_requirement()) {
        return;
    }
    let image = common::podman::build_helper_image();
    let mut cleanup = Cleanup { container: None };
    distroless();
    let init = toolkit::init_container(&image);

    // A directory as the kubelet makes an emptyDir: owned by root, mode 0777.
    let empty_dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(empty_dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let args = init_args(&init, &image, empty_dir.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&podman(&args), "the toolkit init container");
    let busybox = empty_dir.path().join("busybox");
    let inode = std::fs::metadata(&busybox).unwrap().ino();
    for applet in [
        "sh", "ls", "cat", "ps", "sleep", "wget", "nc", "netstat", "vi",
    ] {
        let m = std::fs::metadata(empty_dir.path().join(applet))
            .unwrap_or_else(|e| panic!("no {applet} in the toolkit: {e}"));
        assert_eq!(
            m.ino(),
            inode,
            "{applet} is a hard link to the copied busybox"
        );
    }
    assert_eq!(
        std::fs::metadata(&busybox).unwrap().uid(),
        toolkit::UID as u32
    );

    // The clone's main container: no shell of its own, the toolkit read-only, non-root.
    let name = format!("ktui-test-toolkit-{}", std::process::id());
    let sleep: Vec<String> = toolkit::sleep_command()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    let mount = format!("{}:{}:ro", empty_dir.path().display(), toolkit::DIR);
    let mut run = vec!["run", "-d", "--name", &name];
    run.extend(ULIMITS);
    run.extend([
        "--user",
        "1000:1000",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--read-only",
        "--network",
        "none",
        "-v",
        &mount,
        "--entrypoint",
        &sleep[0],
        DISTROLESS,
    ]);
    run.extend(sleep[1..].iter().map(String::as_str));
    cleanup.container = Some(name.clone());
    let started = podman(&run);
    ok(&started, "the distroless clone container");
    let shell = format!("{}/sh", toolkit::DIR);
    let out = podman(&[
        "exec",
        &name,
        &shell,
        "-c",
        "echo shell-ok; cat /hello; id -u; ps -o pid,args; ls /usr/local/bin/toolkit | wc -l; touch /usr/local/bin/toolkit/x 2>&1 || echo read-only; for a in wget nc; do /usr/local/bin/toolkit/$a --help >/dev/null 2>&1 && echo $a-ok; done",
    ]);
    let said = ok(&out, "exec the toolkit's shell");
    for want in [
        "shell-ok",
        "distroless stand-in",
        "1000",
        "sleep infinity",
        "read-only",
        "wget-ok",
        "nc-ok",
    ] {
        assert!(said.contains(want), "{want:?} not in:\n{said}");
    }
    let applets: usize = said
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .find(|n| *n > 100)
        .unwrap_or_else(|| panic!("no applet count in:\n{said}"));
    assert!(applets > 200, "{applets} applets");
    // The image itself has no shell: without the toolkit there is none.
    let out = podman(&["exec", &name, "/bin/sh", "-c", "true"]);
    assert!(
        !out.status.success(),
        "the stand-in has a shell: {}",
        text(&out.stdout)
    );
    podman(&["rm", "-f", "-t", "0", &name]);
    cleanup.container = None;

    // An init container that cannot write its directory fails, loudly.
    let locked = tempfile::tempdir().unwrap();
    std::fs::set_permissions(locked.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let args = init_args(&init, &image, locked.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = podman(&args);
    assert!(
        !out.status.success(),
        "the init container wrote into a root-only directory"
    );
    assert!(
        text(&out.stderr).contains("Permission denied"),
        "{}",
        text(&out.stderr)
    );
    drop(cleanup);
}
