//! `--helper local`: `ktui-helper serve` as a child process on this machine.

use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader, Join};
use tokio::process::{ChildStdin, ChildStdout, Command};

use crate::helper::client::HelperError;

/// The helper binary: `$KTUI_HELPER_BIN`, else `ktui-helper` next to this executable, else
/// `ktui-helper` on `PATH`.
pub fn helper_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("KTUI_HELPER_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(exe) = std::env::current_exe() {
        // Tests run from target/<profile>/deps: look one level up too.
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join("ktui-helper");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    PathBuf::from("ktui-helper")
}

/// Start `ktui-helper serve`; its stdout+stdin as one stream. The child is reaped in the
/// background; closing the stream (EOF on its stdin) stops it. Its stderr goes to the log.
pub fn spawn() -> Result<Join<ChildStdout, ChildStdin>, HelperError> {
    let bin = helper_binary();
    let mut child = Command::new(&bin)
        .arg("serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| HelperError::Spawn {
            bin: bin.display().to_string(),
            cause: e.to_string(),
        })?;
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(HelperError::NoStdio {
            bin: bin.display().to_string(),
        });
    };
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tracing::info!(target: "ktui::helper", "{line}");
            }
        });
    }
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) => tracing::info!("local helper exited: {status}"),
            Err(e) => tracing::warn!("local helper: {e}"),
        }
    });
    Ok(tokio::io::join(stdout, stdin))
}
