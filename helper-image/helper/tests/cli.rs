#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The binary's plain commands: --version, idle, argument errors.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::BIN;

#[test]
fn version() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        s.trim(),
        format!(
            "ktui-helper {} (wire protocol v1)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[test]
fn idle_sleeps_until_sigterm() {
    let mut child = Command::new(BIN).arg("idle").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "idle must keep running"
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "idle ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = Command::new(BIN)
        .args(["trace", "--duration", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5s, 2m"));
    let out = Command::new(BIN)
        .args(["trace", "--ports", "80,x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
