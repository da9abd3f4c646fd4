//! Guards on every response the API server sends, as a tower layer on the kube client:
//!
//! - **A size bound.** A list page (any response that is not a stream) may be at most
//!   [`DEFAULT_RESPONSE_LIMIT`] bytes, and so may each line of a stream (a watch, a followed log). A server (or a proxy)
//!   that sends an endless body gets an error naming the URL instead of filling memory.
//! - **Watch liveness.** Each complete line of a response (a watch event, a bookmark, a list page)
//!   stamps the time its resource path was last heard from, so the pod watch can tell a live but
//!   silent watch from a stalled one ([`Liveness`]).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Far beyond any real list page (kube-apiserver pages of 500 pods are a few MB).
pub const DEFAULT_RESPONSE_LIMIT: u64 = 256 * 1024 * 1024;

/// A response grew beyond the bound; reading stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer to GET {url} grew beyond {} MiB{}: ktui stopped reading it (a broken proxy or server?)",
    .limit / (1024 * 1024),
    if *.watch { " in one watch event" } else { "" }
)]
pub struct ResponseTooLarge {
    /// Path and query of the request (the query holds selectors, never credentials).
    pub url: String,
    pub limit: u64,
    pub watch: bool,
}

/// When each watched resource path last sent a complete line (event, bookmark, list page).
/// Only paths registered with [`Liveness::watch`] are stamped: other responses (logs, GETs)
/// cost no clock read and no entry.
#[derive(Debug, Clone, Default)]
pub struct Liveness(Arc<Mutex<HashMap<String, Option<Heard>>>>);

/// The last time a path was heard from, on both clocks: `at` for stall checks (monotonic),
/// `wall` for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heard {
    pub at: Instant,
    pub wall: jiff::Timestamp,
}

impl Liveness {
    /// Stamp `path` from now on (the watch supervisor's path).
    pub fn watch(&self, path: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(path.to_string()).or_insert(None);
    }

    fn touch(&self, path: &str) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(h) = map.get_mut(path) {
            *h = Some(Heard {
                at: Instant::now(),
                wall: jiff::Timestamp::now(),
            });
        }
    }

    /// When `path` (e.g. `/api/v1/namespaces/shop/pods`) last sent a complete line.
    pub fn last(&self, path: &str) -> Option<Heard> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .copied()
            .flatten()
    }
}

/// The layer: bound `limit` per page / watch line, liveness recorded in `liveness`.
#[derive(Debug, Clone)]
pub struct GuardLayer {
    pub limit: u64,
    pub liveness: Liveness,
}

impl<S> tower_layer::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            limit: self.limit,
            liveness: self.liveness.clone(),
        }
    }
}

pub struct Guard<S> {
    inner: S,
    limit: u64,
    liveness: Liveness,
}

impl<S, ReqBody, B> tower_service::Service<Request<ReqBody>> for Guard<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<B>>,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Response = Response<GuardedBody<B>>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let uri = req.uri();
        let path = uri.path().to_string();
        let url = match uri.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        // Streams (watches, followed logs) are bounded per line, not in total.
        let watch = uri.query().is_some_and(|q| {
            q.split('&')
                .any(|kv| matches!(kv, "watch=true" | "watch=1" | "follow=true"))
        });
        let limit = self.limit;
        let liveness = self.liveness.clone();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|inner| GuardedBody {
                inner,
                seen: 0,
                limit,
                watch,
                url,
                path,
                liveness,
                failed: false,
            }))
        })
    }
}

/// A response body that fails with [`ResponseTooLarge`] past its bound and stamps liveness.
pub struct GuardedBody<B> {
    inner: B,
    /// Bytes of the whole body (a page) or since the last newline (a watch).
    seen: u64,
    limit: u64,
    watch: bool,
    url: String,
    path: String,
    liveness: Liveness,
    failed: bool,
}

impl<B> Body for GuardedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => frame,
            Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => return Poll::Pending,
        };
        if let Some(data) = frame.data_ref() {
            let len = data.len() as u64;
            let first = data.iter().position(|&b| b == b'\n');
            if first.is_some() {
                this.liveness.touch(&this.path);
            }
            let over = match (this.watch, first) {
                // A watch: the line that ends here, then what follows the last newline.
                (true, Some(first)) => {
                    let ended = this.seen + first as u64;
                    let last = data.iter().rposition(|&b| b == b'\n').unwrap_or(first);
                    this.seen = (data.len() - last - 1) as u64;
                    ended > this.limit || this.seen > this.limit
                }
                _ => {
                    this.seen += len;
                    this.seen > this.limit
                }
            };
            if over {
                this.failed = true;
                return Poll::Ready(Some(Err(Box::new(ResponseTooLarge {
                    url: this.url.clone(),
                    limit: this.limit,
                    watch: this.watch,
                }))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    type Frames = futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, std::io::Error>>>;

    fn body(chunks: &[&'static str]) -> http_body_util::StreamBody<Frames> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c.as_bytes()))))
            .collect();
        http_body_util::StreamBody::new(futures::stream::iter(frames))
    }

    fn guarded<B>(inner: B, limit: u64, watch: bool, liveness: &Liveness) -> GuardedBody<B> {
        GuardedBody {
            inner,
            seen: 0,
            limit,
            watch,
            url: "/api/v1/pods?limit=500".into(),
            path: "/api/v1/pods".into(),
            liveness: liveness.clone(),
            failed: false,
        }
    }

    #[tokio::test]
    async fn a_page_beyond_the_bound_fails_naming_the_url() {
        let live = Liveness::default();
        let err = guarded(
            body(&["{\"items\":[", "0123456789", "0123456789"]),
            25,
            false,
            &live,
        )
        .collect()
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("GET /api/v1/pods?limit=500"), "{err}");
        let ok = guarded(body(&["{\"items\":[]}\n"]), 25, false, &live)
            .collect()
            .await;
        assert!(ok.is_ok());
    }

    #[tokio::test]
    async fn a_watch_is_bounded_per_line_and_stamps_liveness() {
        let live = Liveness::default();
        live.watch("/api/v1/pods");
        assert!(live.last("/api/v1/pods").is_none());
        // 30 bytes in all, but no line longer than 12: fine.
        let lines = ["{\"a\":1}\n{\"b", "\":2}\n", "{\"c\":3}\n", "{\"d\":4}\n"];
        assert!(
            guarded(body(&lines), 12, true, &live)
                .collect()
                .await
                .is_ok()
        );
        assert!(live.last("/api/v1/pods").is_some());
        // One line longer than the bound fails.
        let long = ["{\"a\":\"", "0123456789", "0123456789\"}\n"];
        assert!(
            guarded(body(&long), 12, true, &live)
                .collect()
                .await
                .is_err()
        );
    }
}
