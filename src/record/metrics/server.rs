//! The tiny HTTP/1.1 server behind `--metrics-addr`: `GET /metrics` and `GET /healthz`, one
//! request per connection (`Connection: close`).
//!
//! Hand-written on `tokio::net::TcpListener` (two fixed routes do not need an HTTP stack). The
//! port is reachable by anything in the cluster network, so a client gets little: the request
//! head is read with a size cap ([`HEAD_LIMIT`]) and a deadline ([`HEAD_TIMEOUT`]), at most
//! [`MAX_CONNECTIONS`] are served at once (the next waits in the kernel's backlog), and nothing a
//! client sends is echoed back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use super::Metrics;

/// The most bytes of request head (request line and headers) read; a longer head gets 431.
pub const HEAD_LIMIT: usize = 8 * 1024;
/// How long a client may take to send its request head (and to take the answer).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 64;

const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
const TEXT_TYPE: &str = "text/plain; charset=utf-8";

/// Listen on `addr` (`HOST:PORT`; `:PORT` means every IPv4 address, as in a pod) and serve
/// `metrics` at `/metrics` and `healthy` at `/healthz` (200 `ok` while true, else 503) until the
/// returned task is aborted (which also ends the connections in flight). Returns the bound
/// address (port 0 picks a free one) and the server task.
///
/// `healthy` is for the liveness and readiness probes: set it false when the run cannot go on
/// (its case cannot be written), not while a replica waits for the Lease — a waiting replica is
/// healthy, and a failing liveness probe would restart it.
pub async fn serve(
    addr: &str,
    metrics: Arc<Metrics>,
    healthy: Arc<AtomicBool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let bind = match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    };
    let listener = TcpListener::bind(&bind).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot serve metrics on {addr}: {e} (--metrics-addr takes HOST:PORT or :PORT; \
                 pick a free port, or an address of this machine)"
            ),
        )
    })?;
    let local = listener.local_addr()?;
    let task = tokio::spawn(accept_loop(listener, metrics, healthy));
    Ok((local, task))
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Metrics>, healthy: Arc<AtomicBool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Owned here: aborting the server drops the set, which aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        // Reap the finished ones so the set stays as small as the connections open.
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((stream, _)) => {
                let (metrics, healthy) = (metrics.clone(), healthy.clone());
                connections.spawn(async move {
                    answer(stream, &metrics, &healthy).await;
                    drop(permit);
                });
            }
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was taken: keep
                // serving, without spinning.
                tracing::warn!("metrics endpoint: accept failed: {e}");
                drop(permit);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// What was asked, as far as the answer depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    Get(String),
    /// Any other method, named for the log.
    OtherMethod,
    Malformed,
    TooLarge,
}

async fn answer(mut stream: TcpStream, metrics: &Metrics, healthy: &AtomicBool) {
    let request = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        // A client that sends nothing in time, or goes away: nothing to answer.
        Ok(Err(_)) | Err(_) => return,
    };
    let (status, content_type, body) = route(&request, metrics, healthy);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
        body.len(),
        if matches!(request, Request::OtherMethod) {
            "Allow: GET\r\n"
        } else {
            ""
        }
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await
    };
    // A client that does not take the answer in time is dropped; nothing else waits on it.
    if let Ok(Ok(())) = tokio::time::timeout(HEAD_TIMEOUT, write).await {
        linger(&mut stream).await;
    }
}

/// Take what the client still sends (a body, the rest of an oversized head) for a moment
/// before closing: closing with unread input resets the connection, and the client could lose
/// the answer it was sent.
async fn linger(stream: &mut TcpStream) {
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut left = 64 * 1024usize;
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

fn route(
    request: &Request,
    metrics: &Metrics,
    healthy: &AtomicBool,
) -> (&'static str, &'static str, String) {
    match request {
        Request::Get(path) if path == "/metrics" => ("200 OK", METRICS_TYPE, metrics.render()),
        Request::Get(path) if path == "/healthz" => {
            if healthy.load(Ordering::Relaxed) {
                ("200 OK", TEXT_TYPE, "ok\n".to_string())
            } else {
                (
                    "503 Service Unavailable",
                    TEXT_TYPE,
                    "unhealthy: the record run cannot go on (see the controller's log)\n"
                        .to_string(),
                )
            }
        }
        Request::Get(_) => (
            "404 Not Found",
            TEXT_TYPE,
            "not found: this server has /metrics and /healthz\n".to_string(),
        ),
        Request::OtherMethod => (
            "405 Method Not Allowed",
            TEXT_TYPE,
            "method not allowed: use GET\n".to_string(),
        ),
        Request::Malformed => (
            "400 Bad Request",
            TEXT_TYPE,
            "bad request: expected an HTTP/1.x request line\n".to_string(),
        ),
        Request::TooLarge => (
            "431 Request Header Fields Too Large",
            TEXT_TYPE,
            format!("request head larger than {HEAD_LIMIT} bytes\n"),
        ),
    }
}

/// Read until the blank line ending the head, at most [`HEAD_LIMIT`] bytes; the body (a GET
/// has none) is never read.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Request> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(buf.get(..n).unwrap_or_default());
        if let Some(end) = find_end(&head) {
            return Ok(parse(head.get(..end).unwrap_or_default()));
        }
        if head.len() >= HEAD_LIMIT {
            return Ok(Request::TooLarge);
        }
    }
}

/// Where the head ends (before `\r\n\r\n`, or a bare `\n\n`) if it does within the limit.
fn find_end(head: &[u8]) -> Option<usize> {
    let within = head.get(..head.len().min(HEAD_LIMIT)).unwrap_or_default();
    let crlf = within.windows(4).position(|w| w == b"\r\n\r\n");
    let lf = within.windows(2).position(|w| w == b"\n\n");
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The request line: `METHOD TARGET HTTP/1.x`; the path without its query.
fn parse(head: &[u8]) -> Request {
    let Ok(text) = std::str::from_utf8(head) else {
        return Request::Malformed;
    };
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Request::Malformed;
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return Request::Malformed;
    }
    if method != "GET" {
        return Request::OtherMethod;
    }
    let path = target.split('?').next().unwrap_or(target);
    Request::Get(path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    /// One raw request over a real TCP connection; the whole answer (the server closes).
    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(request).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    }

    fn get(addr: SocketAddr, path: &str) -> String {
        exchange(
            addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n").as_bytes(),
        )
    }

    fn status(answer: &str) -> &str {
        answer.lines().next().unwrap_or_default()
    }

    fn body(answer: &str) -> &str {
        answer
            .split_once("\r\n\r\n")
            .map(|(_, b)| b)
            .unwrap_or_default()
    }

    async fn start() -> (SocketAddr, Arc<Metrics>, Arc<AtomicBool>, JoinHandle<()>) {
        let metrics = Arc::new(Metrics::default());
        let healthy = Arc::new(AtomicBool::new(true));
        let (addr, task) = serve("127.0.0.1:0", metrics.clone(), healthy.clone())
            .await
            .unwrap();
        (addr, metrics, healthy, task)
    }

    async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        tokio::task::spawn_blocking(f).await.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scrapes_see_the_counters_move() {
        let (addr, metrics, _, task) = start().await;
        metrics.crash("shop", "Error");
        let first = blocking(move || get(addr, "/metrics")).await;
        assert_eq!(status(&first), "HTTP/1.1 200 OK", "{first}");
        assert!(
            first.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "{first}"
        );
        assert!(first.contains("\r\nConnection: close\r\n"), "{first}");
        let len: usize = first
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(len, body(&first).len());
        assert!(
            body(&first).contains("ktui_crashes_total{namespace=\"shop\",reason=\"Error\"} 1\n"),
            "{first}"
        );
        metrics.crash("shop", "Error");
        metrics.events("tcp_connect", 5);
        let second = blocking(move || get(addr, "/metrics?x=1")).await;
        assert!(
            body(&second).contains("ktui_crashes_total{namespace=\"shop\",reason=\"Error\"} 2\n"),
            "{second}"
        );
        assert!(body(&second).contains("ktui_events_total{type=\"tcp_connect\"} 5\n"));
        assert_eq!(body(&second), metrics.render());
        task.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn healthz_follows_the_flag() {
        let (addr, _, healthy, task) = start().await;
        let ok = blocking(move || get(addr, "/healthz")).await;
        assert_eq!(status(&ok), "HTTP/1.1 200 OK");
        assert_eq!(body(&ok), "ok\n");
        healthy.store(false, Ordering::Relaxed);
        let down = blocking(move || get(addr, "/healthz")).await;
        assert_eq!(status(&down), "HTTP/1.1 503 Service Unavailable", "{down}");
        task.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn other_paths_methods_and_heads_are_refused() {
        let (addr, _, _, task) = start().await;
        let missing = blocking(move || get(addr, "/metricsx")).await;
        assert_eq!(status(&missing), "HTTP/1.1 404 Not Found");
        let post = blocking(move || {
            exchange(
                addr,
                b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
            )
        })
        .await;
        assert_eq!(status(&post), "HTTP/1.1 405 Method Not Allowed", "{post}");
        assert!(post.contains("\r\nAllow: GET\r\n"), "{post}");
        let junk = blocking(move || exchange(addr, b"hello\r\n\r\n")).await;
        assert_eq!(status(&junk), "HTTP/1.1 400 Bad Request");
        let huge = blocking(move || {
            let mut req = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
            req.extend(std::iter::repeat_n(b'a', HEAD_LIMIT + 10));
            req.extend_from_slice(b"\r\n\r\n");
            exchange(addr, &req)
        })
        .await;
        assert_eq!(
            status(&huge),
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        // The server still answers after all that.
        let again = blocking(move || get(addr, "/healthz")).await;
        assert_eq!(status(&again), "HTTP/1.1 200 OK");
        task.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_taken_port_is_an_error_naming_the_address() {
        let (addr, _, _, task) = start().await;
        let taken = addr.to_string();
        let e = serve(&taken, Arc::default(), Arc::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
        assert!(e.to_string().contains(&taken), "{e}");
        assert!(e.to_string().contains("--metrics-addr"), "{e}");
        task.abort();
    }

    #[test]
    fn request_lines() {
        assert_eq!(
            parse(b"GET /metrics HTTP/1.1"),
            Request::Get("/metrics".into())
        );
        assert_eq!(
            parse(b"GET /healthz?a HTTP/1.0"),
            Request::Get("/healthz".into())
        );
        assert_eq!(parse(b"DELETE /metrics HTTP/1.1"), Request::OtherMethod);
        assert_eq!(parse(b"GET metrics HTTP/1.1"), Request::Malformed);
        assert_eq!(parse(b"GET /metrics SPDY/3"), Request::Malformed);
        assert_eq!(parse(b"GET  /metrics HTTP/1.1"), Request::Malformed);
        assert_eq!(parse(b"\xff"), Request::Malformed);
        assert_eq!(find_end(b"GET / HTTP/1.1\r\nA: b\r\n\r\nrest"), Some(20));
        assert_eq!(find_end(b"GET / HTTP/1.1\n\n"), Some(14));
        assert_eq!(find_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
