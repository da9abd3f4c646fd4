//! The console's end of the helper protocol, over any byte stream: pod exec, a local child
//! process (`--helper local`), or an in-memory duplex in tests.

use std::time::Duration;

use ktui_wire::{
    ConsoleMessage, ErrorCode, Hello, HelperMessage, LineBuffer, MAX_LINE_BYTES, PROTOCOL_VERSION,
    WireError,
};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;

use crate::cluster::{ClusterError, PodKey};
use crate::sanitize;

/// How long the helper gets to say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Most messages delivered to the console in one batch.
const BATCH: usize = 1024;
/// Batches a session hands over before it waits for the console to take them.
pub const SESSION_BATCHES: usize = 4;

/// Bytes of a bad first line quoted in [`HelperError::BadHello`].
const QUOTED_LINE: usize = 200;

/// Why a helper session could not start or ended: opening the stream, the handshake, or the
/// stream itself. What the helper sends is sanitised before it is put in a variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    /// Exec of `ktui-helper serve` in the helper pod failed (the cluster's error says why;
    /// boxed, as it is the largest).
    #[error("{}", exec_failed(.pod, .cause))]
    Exec {
        pod: PodKey,
        cause: Box<ClusterError>,
    },
    /// `--helper local`: the helper binary could not be started.
    #[error(
        "cannot start {bin} serve: {cause} (build it with `cargo build -p ktui-helper`, or set KTUI_HELPER_BIN)"
    )]
    Spawn { bin: String, cause: String },
    /// `--helper local`: the child started, but not with piped stdin/stdout.
    #[error(
        "{bin} serve started without its stdin/stdout to talk over: retry; if it persists, report a bug"
    )]
    NoStdio { bin: String },
    /// Reading or writing the stream failed (the connection, exec or child broke).
    #[error("the helper stream failed while {doing}: {cause}")]
    Io { doing: Doing, cause: String },
    /// The stream ended (EOF).
    #[error("{}", if *.before_hello {
        "helper closed the stream before saying hello: did `ktui-helper serve` start? see its log (`kubectl logs` of the helper pod, or stderr with --helper local)"
    } else {
        "helper closed the stream (it exited, or its pod or the connection went away)"
    })]
    Closed { before_hello: bool },
    #[error("helper did not say hello within {} s (is `ktui-helper serve` the right binary?)", HELLO_TIMEOUT.as_secs())]
    NoHello,
    /// The first message was a protocol message, but not hello.
    #[error(
        "the helper's first message was '{0}', not hello: is `ktui-helper serve` the right binary?"
    )]
    NotHello(String),
    /// The first line is not a protocol message (a shell's "not found", another program).
    #[error(
        "helper's first message was not hello: {cause}: {line} (is `ktui-helper serve` the binary that answers?)"
    )]
    BadHello { cause: String, line: String },
    /// A line beyond the protocol's bound (the session skips it after hello).
    #[error(
        "the helper sent a line of {len} bytes, beyond the {MAX_LINE_BYTES}-byte limit (a ktui and ktui-helper from different releases?)"
    )]
    LineTooLong { len: usize },
    /// A line after hello that is not a protocol message (the session skips it).
    #[error("a line from the helper is not a protocol message ({cause}): it was skipped")]
    BadLine { cause: String },
    /// The helper speaks another protocol version.
    #[error(
        "protocol version mismatch: the helper speaks v{peer}, this ktui speaks v{PROTOCOL_VERSION}; use a ktui and ktui-helper from the same release"
    )]
    VersionMismatch { peer: u64 },
    /// The helper answered with an error instead of hello (a missing privilege, a refusal).
    #[error("the helper refused the session ({code:?}): {message}")]
    Reported { code: ErrorCode, message: String },
    /// `--demo`: the bundled recording of socket events has none (a broken build).
    #[error("the bundled demo recording is empty: this build of ktui is broken, report it")]
    EmptyRecording,
}

/// Which way the stream failed ([`HelperError::Io`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Reading,
    Writing,
}

impl std::fmt::Display for Doing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Doing::Reading => "reading",
            Doing::Writing => "writing",
        })
    }
}

impl HelperError {
    /// Exec of `ktui-helper serve` in `pod` failed with `cause`.
    pub fn exec(pod: PodKey, cause: ClusterError) -> Self {
        HelperError::Exec {
            pod,
            cause: Box::new(cause),
        }
    }

    fn io(doing: Doing) -> impl FnOnce(std::io::Error) -> Self {
        move |e| HelperError::Io {
            doing,
            cause: sanitize::line(&e.to_string()).into_owned(),
        }
    }

    /// A line that could not be taken: its length, version, or what is wrong with it.
    fn bad_line(e: WireError) -> Self {
        match e {
            WireError::Oversized(len) => HelperError::LineTooLong { len },
            WireError::VersionMismatch { peer } => HelperError::VersionMismatch { peer },
            other => HelperError::BadLine {
                cause: sanitize::line(&other.to_string()).into_owned(),
            },
        }
    }
}

/// An exec failure already names the command and the pod; any other says it was the helper's.
fn exec_failed(pod: &PodKey, cause: &ClusterError) -> String {
    match cause {
        ClusterError::Exec(_) => cause.to_string(),
        _ => format!("cannot exec `ktui-helper serve` in pod {pod}: {cause}"),
    }
}

/// What a running session reports.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    Hello(Box<Hello>),
    Messages(Vec<HelperMessage>),
    /// A line the console could not take (the text of a [`HelperError::LineTooLong`] or
    /// [`HelperError::BadLine`]); the session goes on.
    BadLine(String),
}

/// Read the first line: it must be a `hello` of our protocol version.
async fn read_hello<R: AsyncRead + Unpin>(
    reader: &mut R,
    lines: &mut LineBuffer,
    pending: &mut Vec<Result<Vec<u8>, WireError>>,
) -> Result<Hello, HelperError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !pending.is_empty() {
            let line = pending.remove(0).map_err(HelperError::bad_line)?;
            return match HelperMessage::decode(&line) {
                Ok(HelperMessage::Hello(h)) => Ok(h),
                Ok(HelperMessage::Error(e)) => Err(HelperError::Reported {
                    code: e.code,
                    message: sanitize::line(&e.message).into_owned(),
                }),
                Ok(other) => Err(HelperError::NotHello(other.type_name().to_string())),
                Err(WireError::VersionMismatch { peer }) => {
                    Err(HelperError::VersionMismatch { peer })
                }
                Err(e) => Err(HelperError::BadHello {
                    cause: sanitize::line(&e.to_string()).into_owned(),
                    line: sanitize::line(&String::from_utf8_lossy(
                        &line[..line.len().min(QUOTED_LINE)],
                    ))
                    .into_owned(),
                }),
            };
        }
        let n = reader
            .read(&mut buf)
            .await
            .map_err(HelperError::io(Doing::Reading))?;
        if n == 0 {
            return Err(HelperError::Closed { before_hello: true });
        }
        pending.extend(lines.push(&buf[..n]));
    }
}

/// Run one session until the stream ends: wait for hello, send `initial` (the current
/// subscription, after a reconnect), then commands from `commands`; deliver what the helper
/// sends to `events` in batches. `events` is bounded: while the console is behind, the session
/// stops reading, the stream fills, and the helper drops and counts what it cannot send (its
/// `dropped`), so the console's memory stays flat. Returns Ok when the console ends the session.
pub async fn run_session<S>(
    stream: S,
    initial: Vec<ConsoleMessage>,
    commands: &mut mpsc::UnboundedReceiver<ConsoleMessage>,
    events: mpsc::Sender<SessionEvent>,
) -> Result<(), HelperError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut lines = LineBuffer::new();
    let mut pending = Vec::new();
    let hello = tokio::time::timeout(
        HELLO_TIMEOUT,
        read_hello(&mut reader, &mut lines, &mut pending),
    )
    .await
    .map_err(|_| HelperError::NoHello)??;
    if events
        .send(SessionEvent::Hello(Box::new(hello)))
        .await
        .is_err()
    {
        return Ok(());
    }
    for msg in initial {
        writer
            .write_all(ktui_wire::encode(&msg).as_bytes())
            .await
            .map_err(HelperError::io(Doing::Writing))?;
    }
    writer
        .flush()
        .await
        .map_err(HelperError::io(Doing::Writing))?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        // Lines already read (after hello, or from a big read) go out first.
        if !pending.is_empty() {
            let mut batch = Vec::new();
            for line in pending.drain(..) {
                match line.and_then(|l| HelperMessage::decode(&l)) {
                    Ok(m) => {
                        batch.push(m);
                        if batch.len() >= BATCH {
                            let full = std::mem::take(&mut batch);
                            if events.send(SessionEvent::Messages(full)).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Err(e) => {
                        let why = HelperError::bad_line(e).to_string();
                        if events.send(SessionEvent::BadLine(why)).await.is_err() {
                            return Ok(());
                        }
                    }
                }
            }
            if !batch.is_empty() && events.send(SessionEvent::Messages(batch)).await.is_err() {
                return Ok(());
            }
        }
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(cmd) => {
                    let line = ktui_wire::encode(&cmd);
                    writer
                        .write_all(line.as_bytes())
                        .await
                        .map_err(HelperError::io(Doing::Writing))?;
                    writer.flush().await.map_err(HelperError::io(Doing::Writing))?;
                }
                // The console dropped the session: close our end (EOF stops `serve`).
                None => {
                    let _ = writer.shutdown().await;
                    return Ok(());
                }
            },
            read = reader.read(&mut buf) => {
                let n = read.map_err(HelperError::io(Doing::Reading))?;
                if n == 0 {
                    return Err(HelperError::Closed { before_hello: false });
                }
                pending.extend(lines.push(&buf[..n]));
            }
        }
    }
}

/// A hello of a helper with eBPF and no probes, for tests.
#[cfg(test)]
pub(crate) fn test_hello() -> Hello {
    Hello {
        protocol: ktui_wire::PROTOCOL_VERSION,
        helper_version: "test".into(),
        kernel: "6.18".into(),
        node: None,
        probes: Vec::new(),
        ebpf: true,
        ebpf_error: None,
        missing_capabilities: Vec::new(),
        capture: false,
        checkpoint_dir: false,
        snapshot: false,
    }
}

#[cfg(test)]
mod tests {
    use ktui_wire::{EventType, Filters, SocketEvent, Stats};

    use super::*;

    #[tokio::test]
    async fn hello_then_messages_then_commands() {
        let (console, mut helper) = tokio::io::duplex(1 << 16);
        let (cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, mut ev_rx) = mpsc::channel(SESSION_BATCHES);
        let session =
            tokio::spawn(async move { run_session(console, Vec::new(), &mut cmd_rx, ev_tx).await });
        let mut out = ktui_wire::encode(&HelperMessage::Hello(test_hello()));
        out.push_str(&ktui_wire::encode(&HelperMessage::Stats(Stats::default())));
        out.push_str("garbage\n");
        let ev = SocketEvent::new("2026-11-22T10:00:00.000000000Z".into(), EventType::Connect);
        out.push_str(&ktui_wire::encode(&HelperMessage::Socket {
            event: Box::new(ev),
        }));
        helper.write_all(out.as_bytes()).await.unwrap();
        assert!(matches!(ev_rx.recv().await, Some(SessionEvent::Hello(_))));
        let mut got = Vec::new();
        let mut bad = 0;
        while got.len() < 2 {
            match ev_rx.recv().await.unwrap() {
                SessionEvent::Messages(m) => got.extend(m),
                SessionEvent::BadLine(_) => bad += 1,
                SessionEvent::Hello(_) => unreachable!(),
            }
        }
        assert_eq!(bad, 1);
        cmd_tx
            .send(ConsoleMessage::Subscribe {
                id: 1,
                filters: Filters::default(),
            })
            .unwrap();
        let mut line = vec![0u8; 256];
        let n = helper.read(&mut line).await.unwrap();
        assert!(String::from_utf8_lossy(&line[..n]).starts_with("{\"v\":1,\"type\":\"subscribe\""));
        drop(helper);
        assert_eq!(
            session.await.unwrap(),
            Err(HelperError::Closed {
                before_hello: false
            })
        );
    }

    #[test]
    fn an_exec_failure_names_the_pod_once() {
        let pod = PodKey::new("ktui-system", "ktui-helper-n1");
        let refused = ClusterError::Exec(Box::new(crate::cluster::ExecFailure {
            pod: pod.clone(),
            container: "helper".into(),
            argv: vec!["ktui-helper".into(), "serve".into()],
            problem: crate::cluster::ExecProblem::Refused {
                message: "container not found".into(),
            },
        }));
        let text = HelperError::exec(pod.clone(), refused).to_string();
        assert!(
            text.starts_with("cannot exec `ktui-helper serve` in pod ktui-system/ktui-helper-n1 (container helper): container not found"),
            "{text}"
        );
        assert_eq!(text.matches("ktui-helper-n1").count(), 1, "{text}");
        let missing = ClusterError::NotFound {
            what: "pods \"ktui-helper-n1\"".into(),
        };
        assert_eq!(
            HelperError::exec(pod, missing).to_string(),
            "cannot exec `ktui-helper serve` in pod ktui-system/ktui-helper-n1: pods \"ktui-helper-n1\" not found"
        );
    }

    /// The error of a session whose helper writes `first` and then closes the stream.
    async fn first_line_error(first: &[u8]) -> HelperError {
        let (console, mut helper) = tokio::io::duplex(1 << 16);
        let (_cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, _ev_rx) = mpsc::channel(SESSION_BATCHES);
        let session =
            tokio::spawn(async move { run_session(console, Vec::new(), &mut cmd_rx, ev_tx).await });
        helper.write_all(first).await.unwrap();
        drop(helper);
        session.await.unwrap().unwrap_err()
    }

    #[tokio::test]
    async fn a_first_line_that_is_not_hello_fails_clearly() {
        let err = first_line_error(b"{\"v\":2,\"type\":\"hello\"}\n").await;
        assert_eq!(err, HelperError::VersionMismatch { peer: 2 });
        assert!(err.to_string().contains("the helper speaks v2"), "{err}");

        let err = first_line_error(b"sh: ktui-helper: not found\x1b[2J\n").await;
        let HelperError::BadHello { line, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(line, "sh: ktui-helper: not found␛[2J", "sanitised");

        let stats = ktui_wire::encode(&HelperMessage::Stats(Stats::default()));
        let err = first_line_error(stats.as_bytes()).await;
        assert_eq!(err, HelperError::NotHello("stats".into()));

        let refusal = ktui_wire::encode(&HelperMessage::Error(ktui_wire::ErrorReply {
            code: ErrorCode::NotPermitted,
            message: "CAP_BPF missing".into(),
            id: None,
        }));
        let err = first_line_error(refusal.as_bytes()).await;
        assert_eq!(
            err.to_string(),
            "the helper refused the session (NotPermitted): CAP_BPF missing"
        );

        let mut long = vec![b'x'; MAX_LINE_BYTES + 10];
        long.push(b'\n');
        let err = first_line_error(&long).await;
        assert!(matches!(err, HelperError::LineTooLong { .. }), "{err:?}");

        let err = first_line_error(b"").await;
        assert_eq!(err, HelperError::Closed { before_hello: true });
    }
}
