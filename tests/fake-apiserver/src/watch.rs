//! `?watch=true` streams: newline-delimited JSON watch events.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::body::{Body, Chunk};
use crate::resources::{RESOURCES, ResId};
use crate::routes::ConnHandle;
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::Status;
use crate::store::{EventType, HistoryEvent, Scope, Store, StoredObject};

/// How long `abort` waits for the connection to be reset.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// Initial events are flushed in chunks of about this size.
const CHUNK_BYTES: usize = 64 * 1024;

/// A parsed watch request.
pub(crate) struct WatchParams {
    pub res: ResId,
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    /// `None` when unset or `"0"`.
    pub resource_version: Option<u64>,
    pub send_initial_events: Option<bool>,
    pub bookmarks: bool,
    pub timeout: Option<Duration>,
}

impl WatchParams {
    fn scope(&self) -> Scope<'_> {
        Scope {
            res: self.res,
            namespace: self.namespace.as_deref(),
            labels: &self.labels,
            fields: &self.fields,
        }
    }
}

/// Starts the stream task and returns the response body it feeds.
pub(crate) fn start(
    store: Store,
    shutdown: watch::Receiver<bool>,
    conn: ConnHandle,
    params: WatchParams,
) -> Body {
    let (tx, body) = Body::channel();
    tokio::spawn(run(store, shutdown, conn, params, tx));
    body
}

fn write_event(buf: &mut Vec<u8>, kind: &str, obj: &StoredObject) {
    buf.extend_from_slice(b"{\"type\":\"");
    buf.extend_from_slice(kind.as_bytes());
    buf.extend_from_slice(b"\",\"object\":");
    obj.write_full(buf);
    buf.extend_from_slice(b"}\n");
}

fn write_error(buf: &mut Vec<u8>, status: &Status) {
    buf.extend_from_slice(b"{\"type\":\"ERROR\",\"object\":");
    buf.extend_from_slice(&status.to_json());
    buf.extend_from_slice(b"}\n");
}

fn write_bookmark(buf: &mut Vec<u8>, res: ResId, rv: u64, initial_events_end: bool) {
    let rt = &RESOURCES[res];
    let annotations = if initial_events_end {
        r#","annotations":{"k8s.io/initial-events-end":"true"}"#
    } else {
        ""
    };
    buf.extend_from_slice(
        format!(
            "{{\"type\":\"BOOKMARK\",\"object\":{{\"kind\":\"{}\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"{annotations}}}}}}}\n",
            rt.kind,
            rt.api_version()
        )
        .as_bytes(),
    );
}

/// Writes what a watcher of `scope` sees of `ev`, the way kube-apiserver's
/// watch cache translates it: an object entering the selection is ADDED, one
/// leaving it is DELETED (with its previous state at the event's version).
fn write_history_event(buf: &mut Vec<u8>, scope: &Scope<'_>, ev: &HistoryEvent) {
    if ev.res != scope.res {
        return;
    }
    let now = scope.matches(&ev.obj);
    if ev.kind == EventType::Deleted {
        if now {
            write_event(buf, "DELETED", &ev.obj);
        }
        return;
    }
    let before = ev.prev.as_ref().is_some_and(|p| scope.matches(p));
    match (now, before) {
        (true, true) => write_event(buf, "MODIFIED", &ev.obj),
        (true, false) => write_event(buf, "ADDED", &ev.obj),
        (false, true) => {
            if let Some(prev) = &ev.prev {
                write_event(buf, "DELETED", &prev.with_resource_version(ev.rv));
            }
        }
        (false, false) => {}
    }
}

enum Start {
    Expired(Status),
    Go {
        cursor: u64,
        initial: Vec<Arc<StoredObject>>,
        drop_gen: u64,
        expire_gen: u64,
        bookmark_interval: Duration,
    },
}

/// How a wake-up ended the stream.
enum Stop {
    /// Cut the connection (drop_watches).
    Abort,
    /// Close cleanly after what was written (410).
    End,
}

async fn send(tx: &mpsc::Sender<Chunk>, buf: &mut Vec<u8>) -> bool {
    if buf.is_empty() {
        return true;
    }
    tx.send(Ok(Bytes::from(std::mem::take(buf)))).await.is_ok()
}

async fn run(
    store: Store,
    mut shutdown: watch::Receiver<bool>,
    conn: ConnHandle,
    p: WatchParams,
    tx: mpsc::Sender<Chunk>,
) {
    let mut tick = store.subscribe();
    // Replay the history after the starting version straight away.
    tick.mark_changed();
    let initial_wanted = p
        .send_initial_events
        .unwrap_or(p.resource_version.is_none());
    let start = {
        let inner = store.lock();
        match p.resource_version {
            Some(rv) if !initial_wanted && rv < inner.history_start => {
                Start::Expired(Status::expired(rv, inner.history_start))
            }
            rv => Start::Go {
                cursor: if initial_wanted {
                    inner.rv
                } else {
                    rv.unwrap_or(inner.rv)
                },
                initial: if initial_wanted {
                    inner.list(&p.scope(), 0, None).items
                } else {
                    Vec::new()
                },
                drop_gen: inner.watch_drop_gen,
                expire_gen: inner.expire_gen,
                bookmark_interval: inner.bookmark_interval,
            },
        }
    };
    let mut buf = Vec::new();
    let (mut cursor, drop_gen, expire_gen, interval) = match start {
        Start::Expired(status) => {
            write_error(&mut buf, &status);
            send(&tx, &mut buf).await;
            return;
        }
        Start::Go {
            cursor,
            initial,
            drop_gen,
            expire_gen,
            bookmark_interval,
        } => {
            for obj in &initial {
                write_event(&mut buf, "ADDED", obj);
                if buf.len() >= CHUNK_BYTES && !send(&tx, &mut buf).await {
                    return;
                }
            }
            if p.send_initial_events == Some(true) {
                write_bookmark(&mut buf, p.res, cursor, true);
            }
            if !send(&tx, &mut buf).await {
                return;
            }
            (cursor, drop_gen, expire_gen, bookmark_interval)
        }
    };

    let deadline = p.timeout.map(|t| Instant::now() + t);
    let mut bookmarks = tokio::time::interval_at(Instant::now() + interval, interval);
    bookmarks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let scope = p.scope();
    loop {
        tokio::select! {
            changed = tick.changed() => {
                if changed.is_err() {
                    return;
                }
                let stop = {
                    let inner = store.lock();
                    if inner.watches_frozen && inner.watch_drop_gen == drop_gen {
                        // Silent: nothing is written and the cursor stays, so what happened
                        // while frozen is sent once the watch thaws.
                        None
                    } else if inner.watch_drop_gen != drop_gen {
                        Some(Stop::Abort)
                    } else if inner.expire_gen != expire_gen || cursor < inner.history_start {
                        write_error(&mut buf, &Status::expired(cursor, inner.history_start));
                        Some(Stop::End)
                    } else {
                        for ev in inner.events_after(cursor) {
                            write_history_event(&mut buf, &scope, ev);
                        }
                        cursor = cursor.max(inner.rv);
                        None
                    }
                };
                if !send(&tx, &mut buf).await {
                    return;
                }
                match stop {
                    None => {}
                    Some(Stop::End) => return,
                    Some(Stop::Abort) => {
                        abort(&conn, &tx).await;
                        return;
                    }
                }
            }
            _ = bookmarks.tick(), if p.bookmarks => {
                if store.lock().watches_frozen {
                    continue;
                }
                write_bookmark(&mut buf, p.res, cursor, false);
                if !send(&tx, &mut buf).await {
                    return;
                }
            }
            () = sleep_until(deadline) => return,
            _ = shutdown.changed() => return,
            () = tx.closed() => return,
        }
    }
}

/// Resets the TCP connection under the stream, as a network drop would: the
/// client's read fails with ECONNRESET (kube reports that as a watch error,
/// then resumes from its last resource version). The body is held open until
/// the connection is gone so hyper cannot end it cleanly first.
async fn abort(conn: &ConnHandle, tx: &mpsc::Sender<Chunk>) {
    conn.notify_one();
    if tokio::time::timeout(ABORT_GRACE, tx.closed())
        .await
        .is_err()
    {
        // The connection task did not react: fail the body instead, which
        // makes hyper drop the connection without the final chunk.
        let err = io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "watch dropped by the fake API server",
        );
        // The receiver may be gone by now; either way we are done.
        let _ = tx.send(Err(err)).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
