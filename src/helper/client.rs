//! The console's end of the helper protocol, over any byte stream: pod exec, a local child
//! process (`--helper local`), or an in-memory duplex in tests.

use std::time::Duration;

use ktui_wire::{ConsoleMessage, Hello, HelperMessage, LineBuffer, WireError};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::mpsc;

/// How long the helper gets to say hello.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Most messages delivered to the console in one batch.
const BATCH: usize = 1024;
/// Batches a session hands over before it waits for the console to take them.
pub const SESSION_BATCHES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HelperError {
    #[error("helper stream failed: {0}")]
    Io(String),
    #[error("helper closed the stream{0}")]
    Closed(String),
    #[error("helper did not say hello within {} s (is `ktui-helper serve` the right binary?)", HELLO_TIMEOUT.as_secs())]
    NoHello,
    #[error("helper's first message was not hello: {0}")]
    BadHello(String),
    #[error("{0}")]
    Protocol(WireError),
}

/// What a running session reports.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    Hello(Box<Hello>),
    Messages(Vec<HelperMessage>),
    /// A line the console could not understand (the session goes on).
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
            let first = pending.remove(0);
            let line = first.map_err(HelperError::Protocol)?;
            return match HelperMessage::decode(&line) {
                Ok(HelperMessage::Hello(h)) => Ok(h),
                Ok(other) => Err(HelperError::BadHello(other.type_name().to_string())),
                Err(WireError::VersionMismatch { peer }) => {
                    Err(HelperError::Protocol(WireError::VersionMismatch { peer }))
                }
                Err(e) => Err(HelperError::BadHello(format!(
                    "{e}: {}",
                    String::from_utf8_lossy(&line[..line.len().min(200)])
                ))),
            };
        }
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| HelperError::Io(e.to_string()))?;
        if n == 0 {
            return Err(HelperError::Closed(" before saying hello".to_string()));
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
            .map_err(|e| HelperError::Io(e.to_string()))?;
    }
    writer
        .flush()
        .await
        .map_err(|e| HelperError::Io(e.to_string()))?;
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
                        if events
                            .send(SessionEvent::BadLine(e.to_string()))
                            .await
                            .is_err()
                        {
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
                        .map_err(|e| HelperError::Io(e.to_string()))?;
                    writer.flush().await.map_err(|e| HelperError::Io(e.to_string()))?;
                }
                // The console dropped the session: close our end (EOF stops `serve`).
                None => {
                    let _ = writer.shutdown().await;
                    return Ok(());
                }
            },
            read = reader.read(&mut buf) => {
                let n = read.map_err(|e| HelperError::Io(e.to_string()))?;
                if n == 0 {
                    return Err(HelperError::Closed(String::new()));
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
        assert!(matches!(
            session.await.unwrap(),
            Err(HelperError::Closed(_))
        ));
    }

    #[tokio::test]
    async fn version_skew_is_named() {
        let (console, mut helper) = tokio::io::duplex(1 << 16);
        let (_cmd_tx, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, _ev_rx) = mpsc::channel(SESSION_BATCHES);
        let session =
            tokio::spawn(async move { run_session(console, Vec::new(), &mut cmd_rx, ev_tx).await });
        helper
            .write_all(b"{\"v\":2,\"type\":\"hello\"}\n")
            .await
            .unwrap();
        let err = session.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("peer speaks v2"), "{err}");
    }

    #[tokio::test]
    async fn silent_or_wrong_first_line_fails_clearly() {
        let (console, mut helper) = tokio::io::duplex(1 << 16);
        let (_c, mut cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, _e) = mpsc::channel(SESSION_BATCHES);
        let session =
            tokio::spawn(async move { run_session(console, Vec::new(), &mut cmd_rx, ev_tx).await });
        helper
            .write_all(b"sh: ktui-helper: not found\n")
            .await
            .unwrap();
        let err = session.await.unwrap().unwrap_err();
        assert!(matches!(err, HelperError::BadHello(_)), "{err}");
    }
}
