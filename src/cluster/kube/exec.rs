//! Pod exec as one byte stream: the process's stdout to read, its stdin to write.
//!
//! kube's `AttachedProcess` pumps the WebSocket in a task and hands out in-memory pipes. Those
//! pipes are not closed when that task dies (a dropped connection), so a plain read would hang:
//! [`ExecStream`] also watches the exit status, which resolves when the task ends either way,
//! and turns the end into EOF (exit 0), an error naming the exit code and the last stderr lines,
//! or `ConnectionAborted` (no status: the connection dropped).

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::Api;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{
    AsyncBufReadExt as _, AsyncRead, AsyncWrite, BufReader, ReadBuf, ReadHalf, SimplexStream,
    WriteHalf,
};
use tokio::task::AbortHandle;

use super::errors::{ApiContext, cut_body, map_write_err};
use crate::cluster::{BoxByteStream, ClusterError, ExecFailure, ExecProblem, PodKey, Result};

/// In-memory pipe sizes between the WebSocket task and the stream.
const STDIN_BUF: usize = 64 * 1024;
const STDOUT_BUF: usize = 256 * 1024;
const STDERR_BUF: usize = 16 * 1024;
/// Stderr lines kept for the error message when the process fails.
const STDERR_TAIL_LINES: usize = 12;
const STDERR_LINE_MAX: usize = 400;
/// How long the end of the session waits for the last stderr lines.
const STDERR_DRAIN: Duration = Duration::from_secs(1);

/// How the exec session ended.
#[derive(Debug, Clone)]
enum End {
    /// Exit status 0.
    Exited,
    /// A failure status (non-zero exit, or the runtime could not start the command).
    Failed(String),
    /// No status: the connection dropped or the API server closed it.
    Lost(String),
}

#[derive(Default)]
struct Shared {
    end: Option<End>,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
    stderr_tail: VecDeque<String>,
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process's stdout (read) and stdin (write).
pub struct ExecStream {
    stdout: ReadHalf<SimplexStream>,
    stdin: WriteHalf<SimplexStream>,
    shared: SharedRef,
    /// Dropping it aborts kube's WebSocket task, which closes the connection: the server then
    /// closes the process's stdin.
    _attached: AttachedProcess,
    tasks: Vec<AbortHandle>,
}

impl Drop for ExecStream {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn end_error(end: &End) -> Option<io::Error> {
    match end {
        End::Exited => None,
        End::Failed(msg) => Some(io::Error::other(msg.clone())),
        End::Lost(msg) => Some(io::Error::new(
            io::ErrorKind::ConnectionAborted,
            msg.clone(),
        )),
    }
}

impl AsyncRead for ExecStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stdout).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if buf.filled().len() > before => Poll::Ready(Ok(())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // EOF: the session ended; report how once the status is known.
            Poll::Ready(Ok(())) => {
                let mut shared = lock(&this.shared);
                match &shared.end {
                    None => {
                        shared.read_waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                    Some(end) => Poll::Ready(end_error(end).map_or(Ok(()), Err)),
                }
            }
            Poll::Pending => {
                let mut shared = lock(&this.shared);
                match &shared.end {
                    // The pipe is never closed when the connection drops.
                    Some(end @ End::Lost(_)) => Poll::Ready(end_error(end).map_or(Ok(()), Err)),
                    _ => {
                        shared.read_waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }
        }
    }
}

fn broken_pipe(end: &End) -> io::Error {
    let why = match end {
        End::Exited => "the process exited".to_string(),
        End::Failed(m) | End::Lost(m) => m.clone(),
    };
    io::Error::new(io::ErrorKind::BrokenPipe, why)
}

impl AsyncWrite for ExecStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(end) = &lock(&this.shared).end {
            return Poll::Ready(Err(broken_pipe(end)));
        }
        match Pin::new(&mut this.stdin).poll_write(cx, data) {
            Poll::Pending => {
                lock(&this.shared).write_waker = Some(cx.waker().clone());
                Poll::Pending
            }
            ready => ready,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if lock(&this.shared).end.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stdin).poll_shutdown(cx)
    }
}

/// `command terminated with non-zero exit code: ..., exit code 2` → 2.
fn exit_code(status: &Status) -> Option<i32> {
    status
        .details
        .as_ref()?
        .causes
        .as_ref()?
        .iter()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))?
        .message
        .as_deref()?
        .parse()
        .ok()
}

fn describe_end(status: Option<Status>, what: &str, stderr: &VecDeque<String>) -> End {
    let tail = if stderr.is_empty() {
        String::new()
    } else {
        format!(
            "; its last stderr lines: {}",
            stderr.iter().cloned().collect::<Vec<_>>().join(" | ")
        )
    };
    match status {
        Some(s) if s.status.as_deref() == Some("Success") => End::Exited,
        Some(s) => {
            let how = match exit_code(&s) {
                Some(code) => format!("exited with code {code}"),
                None => format!(
                    "failed: {}",
                    s.message
                        .as_deref()
                        .filter(|m| !m.is_empty())
                        .unwrap_or("no message")
                ),
            };
            End::Failed(format!("{what} {how}{tail}"))
        }
        None => End::Lost(format!(
            "the exec connection for {what} closed without an exit status (network drop, API \
             server or kubelet restart, or the pod went away); exec again to reconnect{tail}"
        )),
    }
}

/// Start `argv` in `container` of `pod` with stdin, stdout and stderr attached.
pub(super) async fn open(
    api: Api<Pod>,
    ctx: ApiContext,
    pod: PodKey,
    container: String,
    argv: Vec<String>,
) -> Result<BoxByteStream> {
    let what = format!("`{}` in pod {pod} (container {container})", argv.join(" "));
    let failed = |problem| {
        ClusterError::Exec(Box::new(ExecFailure {
            pod: pod.clone(),
            container: container.clone(),
            argv: argv.clone(),
            problem,
        }))
    };
    if argv.is_empty() {
        return Err(failed(ExecProblem::NoCommand));
    }
    let params = AttachParams::default()
        .container(container.clone())
        .stdin(true)
        .stdout(true)
        .stderr(true)
        .tty(false)
        .max_stdin_buf_size(STDIN_BUF)
        .max_stdout_buf_size(STDOUT_BUF)
        .max_stderr_buf_size(STDERR_BUF);
    let mut attached = api
        .exec(&pod.name, argv.clone(), &params)
        .await
        .map_err(|e| exec_error(e, &ctx, failed))?;
    let (stdout, stdin, status) =
        match (attached.stdout(), attached.stdin(), attached.take_status()) {
            (Some(stdout), Some(stdin), Some(status)) => (stdout, stdin, status),
            (None, _, _) => return Err(failed(ExecProblem::NotAttached("stdout"))),
            (_, None, _) => return Err(failed(ExecProblem::NotAttached("stdin"))),
            (_, _, None) => return Err(failed(ExecProblem::NotAttached("status"))),
        };
    let shared: SharedRef = Arc::new(Mutex::new(Shared::default()));
    let mut tasks = Vec::new();

    let stderr_task = attached.stderr().map(|stderr| {
        let shared = shared.clone();
        let pod = pod.to_string();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&line);
                        let text = text.trim_end();
                        tracing::info!(target: "ktui::exec", pod = %pod, "{text}");
                        let kept: String = text.chars().take(STDERR_LINE_MAX).collect();
                        let kept = crate::sanitize::line(&kept).into_owned();
                        let mut s = lock(&shared);
                        if s.stderr_tail.len() == STDERR_TAIL_LINES {
                            s.stderr_tail.pop_front();
                        }
                        s.stderr_tail.push_back(kept);
                    }
                }
            }
        })
    });
    if let Some(t) = &stderr_task {
        tasks.push(t.abort_handle());
    }

    let end_task = {
        let shared = shared.clone();
        let what = what.clone();
        tokio::spawn(async move {
            let status = status.await;
            if let Some(task) = stderr_task {
                let _ = tokio::time::timeout(STDERR_DRAIN, task).await;
            }
            let mut s = lock(&shared);
            let end = describe_end(status, &what, &s.stderr_tail);
            match &end {
                End::Exited => tracing::debug!(target: "ktui::exec", "{what} exited"),
                End::Failed(m) | End::Lost(m) => tracing::info!(target: "ktui::exec", "{m}"),
            }
            s.end = Some(end);
            for w in [s.read_waker.take(), s.write_waker.take()]
                .into_iter()
                .flatten()
            {
                w.wake();
            }
        })
    };
    tasks.push(end_task.abort_handle());

    Ok(Box::new(ExecStream {
        stdout,
        stdin,
        shared,
        _attached: attached,
        tasks,
    }))
}

/// A refusal the pod's state explains (400/500) or a failed WebSocket upgrade, as `failed`
/// with its [`ExecProblem`]; any other error as the API error it is.
fn exec_error(
    e: kube::Error,
    ctx: &ApiContext,
    failed: impl Fn(ExecProblem) -> ClusterError,
) -> ClusterError {
    match e {
        kube::Error::Api(status) if status.code == 400 || status.code == 500 => {
            failed(ExecProblem::Refused {
                message: cut_body(&status.message),
            })
        }
        kube::Error::UpgradeConnection(u) => failed(ExecProblem::NoWebSocket {
            cause: crate::sanitize::line(&u.to_string()).into_owned(),
        }),
        other => map_write_err(other, ctx),
    }
}
