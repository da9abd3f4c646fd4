//! `GET .../pods/{name}/exec` upgraded to a WebSocket, as kube-apiserver and the kubelet serve
//! it: subprotocol `v5.channel.k8s.io` (preferred) or `v4.channel.k8s.io`; binary frames whose
//! first byte is the channel (0 stdin, 1 stdout, 2 stderr, 3 the final `Status`, 255 close a
//! channel, v5 only).
//!
//! The command runs as a real local process (`Store::map_exec` maps `argv[0]` to a program).
//! When its stdout and stderr end, the server sends its exit `Status` and closes. When the
//! client goes away, its stdin is closed and it is killed if still running after 2 s. Deleting
//! the pod kills it (exit 137). `Store::drop_execs` resets the connection (RST) instead.

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt as _, StreamExt as _};
use hyper::body::Incoming;
use hyper::header::{
    CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    UPGRADE,
};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::body::Body;
use crate::resources::{POD, RESOURCES};
use crate::routes::{ServerState, authorize};
use crate::status::Status;
use crate::store::Store;

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const ERROR: u8 = 3;
const CLOSE: u8 = 255;
const V5: &str = "v5.channel.k8s.io";
const V4: &str = "v4.channel.k8s.io";
/// How long a process whose client went away may take to exit after its stdin closed.
const KILL_GRACE: Duration = Duration::from_secs(2);

/// `/api/v1/namespaces/{ns}/pods/{name}/exec` → (namespace, pod).
pub(crate) fn exec_target(path: &str) -> Option<(String, String)> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["api", "v1", "namespaces", ns, "pods", name, "exec"] => {
            Some(((*ns).to_string(), (*name).to_string()))
        }
        _ => None,
    }
}

struct Session {
    store: Store,
    shutdown: watch::Receiver<bool>,
    namespace: String,
    pod: String,
    argv: Vec<String>,
    stdin: bool,
}

/// Checks the request like kube-apiserver and answers `101 Switching Protocols`; the session
/// runs in a task once the connection is upgraded.
pub(crate) fn handle(
    state: &Arc<ServerState>,
    namespace: &str,
    pod: &str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Status> {
    authorize(
        state,
        POD,
        "create",
        Some("exec"),
        Some(namespace),
        Some(pod),
    )?;
    let query: Vec<(String, String)> =
        form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
    let flag = |k: &str| get(k).is_some_and(|v| matches!(v, "1" | "true" | "True" | "TRUE"));
    let argv: Vec<String> = query
        .iter()
        .filter(|(k, _)| k == "command")
        .map(|(_, v)| v.clone())
        .collect();
    if argv.is_empty() {
        return Err(Status::bad_request("you must specify at least 1 command"));
    }
    let obj = state
        .store
        .get_res(POD, namespace, pod)
        .ok_or_else(|| Status::not_found(&RESOURCES[POD], pod))?;
    let containers: Vec<&str> = obj
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect();
    let container = match get("container").filter(|c| !c.is_empty()) {
        Some(c) if containers.contains(&c) => c.to_string(),
        Some(c) => {
            return Err(Status::bad_request(format!(
                "container {c} is not valid for pod {pod}"
            )));
        }
        None => match containers.as_slice() {
            [only] => (*only).to_string(),
            _ => {
                return Err(Status::bad_request(format!(
                    "a container name must be specified for pod {pod}, choose one of: [{}]",
                    containers.join(" ")
                )));
            }
        },
    };
    match obj.pointer("/status/phase").and_then(Value::as_str) {
        Some("Running") => {}
        Some(phase @ ("Succeeded" | "Failed")) => {
            return Err(Status::bad_request(format!(
                "cannot exec into a container in a completed pod; current phase is {phase}"
            )));
        }
        _ => {
            return Err(Status::bad_request(format!(
                "unable to upgrade connection: container not found (\"{container}\")"
            )));
        }
    }
    let headers = req.headers();
    let upgrade = headers
        .get(UPGRADE)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| h.eq_ignore_ascii_case("websocket"));
    let key = headers.get(SEC_WEBSOCKET_KEY).map(HeaderValue::as_bytes);
    let (true, Some(key)) = (upgrade, key) else {
        return Err(Status::bad_request(
            "Upgrade request required: the fake API server serves exec over WebSocket only",
        ));
    };
    let offered: Vec<String> = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(|p| p.trim().to_string())
        .collect();
    let protocol = [V5, V4]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
        .ok_or_else(|| {
            Status::bad_request(format!(
                "none of the offered subprotocols {offered:?} is supported (want {V5} or {V4})"
            ))
        })?;
    let accept = derive_accept_key(key);
    let session = Session {
        store: state.store.clone(),
        shutdown: state.shutdown.clone(),
        namespace: namespace.to_string(),
        pod: pod.to_string(),
        argv,
        stdin: flag("stdin"),
    };
    tokio::spawn(async move {
        let Ok(upgraded) = hyper::upgrade::on(req).await else {
            return;
        };
        match upgraded.downcast::<TokioIo<TlsStream<TcpStream>>>() {
            Ok(parts) => {
                let io = parts.io.into_inner();
                let ws = WebSocketStream::from_partially_read(
                    io,
                    parts.read_buf.to_vec(),
                    Role::Server,
                    None,
                )
                .await;
                run(ws, reset_tls, session).await;
            }
            Err(upgraded) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                run(ws, |_| {}, session).await;
            }
        }
    });
    let mut resp = Response::new(Body::Full(None));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(SEC_WEBSOCKET_ACCEPT, v);
    }
    Ok(resp)
}

/// The close frame kube-apiserver sends when the session ends: 1000 (normal). A close without a
/// status (1005) is an error to kubectl ("next reader: websocket: close 1005 (no status)").
fn normal_close() -> CloseFrame {
    CloseFrame {
        code: CloseCode::Normal,
        reason: "".into(),
    }
}

/// Close with SO_LINGER 0: the client gets a RST, as on a network drop.
fn reset_tls(s: &TlsStream<TcpStream>) {
    let _ = s.get_ref().0.set_zero_linger();
}

fn frame(channel: u8, data: &[u8]) -> Message {
    let mut v = Vec::with_capacity(data.len() + 1);
    v.push(channel);
    v.extend_from_slice(data);
    Message::binary(v)
}

/// The `Status` the kubelet sends on the error channel when the process ends.
fn exit_status(argv: &[String], status: io::Result<std::process::ExitStatus>) -> Value {
    use std::os::unix::process::ExitStatusExt as _;
    let code = match &status {
        Ok(s) => s
            .code()
            .or_else(|| s.signal().map(|sig| 128 + sig))
            .unwrap_or(1),
        Err(_) => 1,
    };
    if code == 0 {
        return json!({"metadata": {}, "status": "Success"});
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
            argv.join(" ")
        ),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": code.to_string()}]},
    })
}

fn start_failure(argv0: &str, e: &io::Error) -> Value {
    let message = format!(
        "OCI runtime exec failed: exec failed: unable to start container process: exec: \"{argv0}\": {e}: unknown"
    );
    json!({
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    })
}

/// Decrements the active-session count when the session (and its process) is done.
struct ActiveGuard(Store);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.exec_ended();
    }
}

enum Ending {
    /// stdout and stderr ended: send the exit status.
    Exited,
    /// The client closed or lost the connection.
    ClientGone,
    /// `drop_execs` or server shutdown: reset the connection.
    Dropped,
}

fn pump<R: AsyncRead + Unpin + Send + 'static>(mut r: R, channel: u8, tx: mpsc::Sender<Message>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if tx.send(frame(channel, &buf[..n])).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
}

async fn run<S>(mut ws: WebSocketStream<S>, reset: impl Fn(&S), mut s: Session)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let argv0 = s.argv[0].clone();
    let program: PathBuf = s
        .store
        .lock()
        .exec_programs
        .get(&argv0)
        .cloned()
        .unwrap_or_else(|| PathBuf::from(&argv0));
    let spawned = Command::new(&program)
        .args(&s.argv[1..])
        .stdin(if s.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let mut child: Child = match spawned {
        Ok(c) => c,
        Err(e) => {
            let status = start_failure(&argv0, &e);
            let _ = ws.send(frame(ERROR, status.to_string().as_bytes())).await;
            let _ = ws.close(Some(normal_close())).await;
            return;
        }
    };
    s.store.exec_started();
    let _guard = ActiveGuard(s.store.clone());

    let (out_tx, mut out_rx) = mpsc::channel::<Message>(16);
    if let Some(o) = child.stdout.take() {
        pump(o, STDOUT, out_tx.clone());
    }
    if let Some(e) = child.stderr.take() {
        pump(e, STDERR, out_tx.clone());
    }
    drop(out_tx);
    let mut stdin_tx = child.stdin.take().map(|mut stdin| {
        let (tx, mut rx) = mpsc::channel::<Bytes>(16);
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if stdin.write_all(&data).await.is_err() || stdin.flush().await.is_err() {
                    return;
                }
            }
            // Channel closed: dropping `stdin` gives the process EOF.
        });
        tx
    });

    let mut tick = s.store.subscribe();
    let drop_gen = s.store.lock().exec_drop_gen;
    let mut killed = false;
    let ending = loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(b))) => match b.first() {
                    Some(&STDIN) => {
                        if let Some(tx) = &stdin_tx {
                            let _ = tx.send(b.slice(1..)).await;
                        }
                    }
                    Some(&CLOSE) if b.get(1) == Some(&STDIN) => stdin_tx = None,
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break Ending::ClientGone,
                Some(Ok(_)) => {}
            },
            out = out_rx.recv() => match out {
                Some(m) => {
                    if ws.send(m).await.is_err() {
                        break Ending::ClientGone;
                    }
                }
                None => break Ending::Exited,
            },
            changed = tick.changed() => {
                if changed.is_err() || s.store.lock().exec_drop_gen != drop_gen {
                    break Ending::Dropped;
                }
                if !killed && s.store.get_res(POD, &s.namespace, &s.pod).is_none() {
                    // The container is gone: its processes die with it.
                    killed = true;
                    let _ = child.start_kill();
                }
            },
            _ = s.shutdown.changed() => break Ending::Dropped,
        }
    };
    match ending {
        Ending::Exited => {
            let status = exit_status(&s.argv, child.wait().await);
            let _ = ws.send(frame(ERROR, status.to_string().as_bytes())).await;
            let _ = ws.close(Some(normal_close())).await;
        }
        Ending::ClientGone | Ending::Dropped => {
            if matches!(ending, Ending::Dropped) {
                reset(ws.get_ref());
            }
            drop(ws);
            drop(stdin_tx);
            if tokio::time::timeout(KILL_GRACE, child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_statuses_look_like_the_kubelets() {
        use std::os::unix::process::ExitStatusExt as _;
        let argv = vec!["sh".to_string(), "-c".to_string()];
        let ok = exit_status(&argv, Ok(std::process::ExitStatus::from_raw(0)));
        assert_eq!(ok["status"], "Success");
        let failed = exit_status(&argv, Ok(std::process::ExitStatus::from_raw(3 << 8)));
        assert_eq!(failed["details"]["causes"][0]["message"], "3");
        assert!(
            failed["message"]
                .as_str()
                .unwrap()
                .ends_with("[sh -c], exit code 3")
        );
        let killed = exit_status(&argv, Ok(std::process::ExitStatus::from_raw(9)));
        assert_eq!(killed["details"]["causes"][0]["message"], "137");
    }

    #[test]
    fn targets() {
        assert_eq!(
            exec_target("/api/v1/namespaces/ns/pods/p/exec"),
            Some(("ns".into(), "p".into()))
        );
        assert_eq!(exec_target("/api/v1/namespaces/ns/pods/p/log"), None);
    }
}
