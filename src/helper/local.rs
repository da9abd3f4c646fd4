//! `--helper local`: `ktui-helper serve` as a child process on this machine, and its one-shot
//! commands (`fetch`, `rm`) the same way.

use std::future::Future as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt as _, BufReader, Join};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

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
    let (mut child, stdout, stdin) = start(&bin, &["serve"], &bin.display().to_string())?;
    if let Some(stderr) = child.stderr.take() {
        log_stderr(stderr, |_| {});
    }
    tokio::spawn(async move {
        match child.wait().await {
            Ok(status) => tracing::info!("local helper exited: {status}"),
            Err(e) => tracing::warn!("local helper: {e}"),
        }
    });
    Ok(tokio::io::join(stdout, stdin))
}

/// `bin args...` with its stdin, stdout and stderr piped, killed when dropped: the child and
/// its stdout and stdin (`shown` names it in the errors).
fn start<S: AsRef<std::ffi::OsStr>>(
    bin: &Path,
    args: &[S],
    shown: &str,
) -> Result<(Child, ChildStdout, ChildStdin), HelperError> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| HelperError::Spawn {
            bin: shown.to_string(),
            cause: e.to_string(),
        })?;
    let (Some(stdout), Some(stdin)) = (child.stdout.take(), child.stdin.take()) else {
        return Err(HelperError::NoStdio {
            bin: shown.to_string(),
        });
    };
    Ok((child, stdout, stdin))
}

/// The child's stderr to the log, line by line, each also given to `each`.
fn log_stderr(
    stderr: ChildStderr,
    mut each: impl FnMut(String) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::info!(target: "ktui::helper", "{line}");
            each(line);
        }
    })
}

/// Stderr lines of a one-shot command kept for its failure message.
const STDERR_TAIL: usize = 5;

/// A one-shot `ktui-helper VERB ARGS...` on this machine (`fetch`, `rm` with `--helper local`):
/// reads its stdout, writes its stdin. Like a pod exec's stream, reading ends with EOF when the
/// process exits 0, and with an error (`ErrorKind::Other`) naming the exit status and its last
/// stderr lines when it fails.
pub struct LocalCommand {
    stdout: ChildStdout,
    stdin: Option<ChildStdin>,
    exited: tokio::sync::oneshot::Receiver<String>,
    /// The failure, once known (the error is returned once, then EOF).
    failed: Option<Option<String>>,
}

/// Start the helper binary with `args` (the verb and its arguments, without the binary).
pub fn command(args: &[String]) -> Result<LocalCommand, HelperError> {
    let bin = helper_binary();
    let shown = format!(
        "{} {}",
        bin.display(),
        args.first().map_or("", String::as_str)
    );
    let (mut child, stdout, stdin) = start(&bin, args, &shown)?;
    let tail = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
    let reader = child.stderr.take().map(|stderr| {
        let tail = tail.clone();
        log_stderr(stderr, move |line| {
            if let Ok(mut t) = tail.lock() {
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
        })
    });
    let (tx, exited) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let status = child.wait().await;
        if let Some(r) = reader {
            let _ = r.await;
        }
        let said: Vec<String> = tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default();
        let outcome = match status {
            Ok(s) if s.success() => String::new(),
            Ok(s) => format!("{shown} exited with {s}: {}", said.join(" / ")),
            Err(e) => format!("{shown}: {e}"),
        };
        let _ = tx.send(outcome);
    });
    Ok(LocalCommand {
        stdout,
        stdin: Some(stdin),
        exited,
        failed: None,
    })
}

impl tokio::io::AsyncRead for LocalCommand {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        let this = &mut *self;
        if let Some(failed) = &mut this.failed {
            return Poll::Ready(match failed.take() {
                Some(why) => Err(std::io::Error::other(why)),
                None => Ok(()),
            });
        }
        let before = buf.filled().len();
        match std::pin::Pin::new(&mut this.stdout).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() == before => {
                // EOF: how did the process end?
                match std::pin::Pin::new(&mut this.exited).poll(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(outcome) => {
                        let why = outcome.unwrap_or_else(|_| "the helper process vanished".into());
                        // Said once; EOF after that.
                        this.failed = Some(None);
                        Poll::Ready(if why.is_empty() {
                            Ok(())
                        } else {
                            Err(std::io::Error::other(why))
                        })
                    }
                }
            }
            other => other,
        }
    }
}

impl tokio::io::AsyncWrite for LocalCommand {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.stdin.as_mut() {
            Some(stdin) => std::pin::Pin::new(stdin).poll_write(cx, data),
            None => std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
        }
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.stdin.as_mut() {
            Some(stdin) => std::pin::Pin::new(stdin).poll_flush(cx),
            None => std::task::Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        // Closing stdin is the shutdown (EOF for the process).
        self.stdin = None;
        std::task::Poll::Ready(Ok(()))
    }
}
