//! `GET .../pods/{name}/log`.

use bytes::Bytes;
use tokio::sync::{mpsc, watch};

use crate::body::{Body, Chunk};
use crate::resources::{POD, RESOURCES};
use crate::status::Status;
use crate::store::Store;

pub(crate) struct LogParams {
    pub container: Option<String>,
    pub previous: bool,
    pub follow: bool,
    pub tail_lines: Option<usize>,
    pub limit_bytes: Option<usize>,
}

/// The last `n` lines of `text` (a trailing newline does not start a line).
fn tail(text: &[u8], n: usize) -> &[u8] {
    if n == 0 {
        return &[];
    }
    let end = text.len() - usize::from(text.ends_with(b"\n"));
    let mut seen = 0;
    for (i, b) in text[..end].iter().enumerate().rev() {
        if *b == b'\n' {
            seen += 1;
            if seen == n {
                return &text[i + 1..];
            }
        }
    }
    text
}

fn limit(text: &[u8], limit: Option<usize>) -> &[u8] {
    match limit {
        Some(l) if l < text.len() => &text[..l],
        _ => text,
    }
}

fn choose_container(pod: &str, containers: &[String], init: &[String]) -> Result<String, Status> {
    if let [only] = containers {
        return Ok(only.clone());
    }
    let mut msg = format!(
        "a container name must be specified for pod {pod}, choose one of: [{}]",
        containers.join(" ")
    );
    if !init.is_empty() {
        msg.push_str(&format!(
            " or one of the init containers: [{}]",
            init.join(" ")
        ));
    }
    Err(Status::bad_request(msg))
}

/// Answers a log request: a complete body, or for `follow=true` a stream that
/// sends appended bytes until the pod is deleted, `drop_log_streams`, or
/// shutdown.
pub(crate) fn handle(
    store: &Store,
    shutdown: watch::Receiver<bool>,
    namespace: &str,
    pod: &str,
    p: &LogParams,
) -> Result<Body, Status> {
    let inner = store.lock();
    let Some(obj) = inner.get(POD, namespace, pod) else {
        return Err(Status::not_found(&RESOURCES[POD], pod));
    };
    let container = match &p.container {
        Some(c) => c.clone(),
        None => choose_container(pod, &obj.containers, &obj.other_containers)?,
    };
    let key = (namespace.to_string(), pod.to_string(), container.clone());
    let entry = inner.logs.get(&key);
    let known = obj.containers.contains(&container) || obj.other_containers.contains(&container);
    if !known && entry.is_none() {
        return Err(Status::bad_request(format!(
            "container {container} is not valid for pod {pod}"
        )));
    }
    if p.previous {
        let Some(prev) = entry.and_then(|e| e.previous.as_deref()) else {
            return Err(Status::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{pod}\" not found"
            )));
        };
        let text = limit(
            tail(prev, p.tail_lines.unwrap_or(usize::MAX)),
            p.limit_bytes,
        );
        return Ok(Body::full(Bytes::copy_from_slice(text)));
    }
    let current = entry.map(|e| e.current.as_slice()).unwrap_or_default();
    let text = limit(
        tail(current, p.tail_lines.unwrap_or(usize::MAX)),
        p.limit_bytes,
    );
    if !p.follow {
        return Ok(Body::full(Bytes::copy_from_slice(text)));
    }
    let follow = Follow {
        store: store.clone(),
        key,
        offset: current.len(),
        remaining: p.limit_bytes.map(|l| l.saturating_sub(text.len())),
        drop_gen: inner.log_drop_gen,
        first: Bytes::copy_from_slice(text),
    };
    drop(inner);
    let (tx, body) = Body::channel();
    tokio::spawn(follow.run(shutdown, tx));
    Ok(body)
}

struct Follow {
    store: Store,
    key: (String, String, String),
    /// Bytes of the current log already accounted for.
    offset: usize,
    /// What is left of `limitBytes`.
    remaining: Option<usize>,
    drop_gen: u64,
    first: Bytes,
}

impl Follow {
    async fn run(mut self, mut shutdown: watch::Receiver<bool>, tx: mpsc::Sender<Chunk>) {
        let mut tick = self.store.subscribe();
        if !self.first.is_empty() && tx.send(Ok(std::mem::take(&mut self.first))).await.is_err() {
            return;
        }
        loop {
            if self.remaining == Some(0) {
                return;
            }
            tokio::select! {
                changed = tick.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let Some(chunk) = self.poll() else {
                        return;
                    };
                    if !chunk.is_empty() && tx.send(Ok(chunk)).await.is_err() {
                        return;
                    }
                }
                _ = shutdown.changed() => return,
                () = tx.closed() => return,
            }
        }
    }

    /// New bytes since the last call; `None` when the stream should end.
    fn poll(&mut self) -> Option<Bytes> {
        let inner = self.store.lock();
        if inner.log_drop_gen != self.drop_gen || inner.get(POD, &self.key.0, &self.key.1).is_none()
        {
            return None;
        }
        let current = inner
            .logs
            .get(&self.key)
            .map(|e| e.current.as_slice())
            .unwrap_or_default();
        if current.len() < self.offset {
            // Logs were replaced by something shorter: continue from its end.
            self.offset = current.len();
            return Some(Bytes::new());
        }
        let new = limit(&current[self.offset..], self.remaining);
        self.offset += new.len();
        if let Some(r) = &mut self.remaining {
            *r -= new.len();
        }
        Some(Bytes::copy_from_slice(new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 2), b"b\nc");
        assert_eq!(tail(b"a\nb\nc\n", 5), b"a\nb\nc\n");
        assert_eq!(tail(b"a\nb\nc\n", 0), b"");
        assert_eq!(tail(b"", 3), b"");
        assert_eq!(limit(b"abcdef", Some(3)), b"abc");
    }
}
