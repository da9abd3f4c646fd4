//! A watch that delivers nothing is not necessarily live. kube's watcher hides bookmarks, so the
//! supervisor reads liveness from the HTTP layer ([`Liveness`]: the last complete line — event or
//! bookmark — on the watched path) and:
//!
//! - reports when the watch last heard from the server ([`PodEvent::Heard`], at most once a
//!   second), so the status bar can say "live · 3s" and never "live" over data nobody refreshes;
//! - treats a listed watch that heard nothing for `stall` as stalled: it says so
//!   (`Reconnecting`), drops that watch and starts a new one, which relists.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use futures::stream::BoxStream;

use super::http_guard::Liveness;
use crate::cluster::{ConnectionState, PodEvent};

/// How often liveness is read.
const CHECK_EVERY: Duration = Duration::from_secs(1);

struct Supervisor<F> {
    open: F,
    current: BoxStream<'static, PodEvent>,
    liveness: Liveness,
    path: String,
    stall: Duration,
    /// The current watch has completed its list (only a listed watch can stall).
    listed: bool,
    started: Instant,
    reported: Option<jiff::Timestamp>,
    tick: tokio::time::Interval,
}

/// Run `open()`'s watch under stall supervision (see the module docs).
pub fn supervise<F>(
    open: F,
    liveness: Liveness,
    path: String,
    stall: Duration,
) -> BoxStream<'static, PodEvent>
where
    F: FnMut() -> BoxStream<'static, PodEvent> + Send + 'static,
{
    liveness.watch(&path);
    let mut open = open;
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let sup = Supervisor {
        current: open(),
        open,
        liveness,
        path,
        stall,
        listed: false,
        started: Instant::now(),
        reported: None,
        tick,
    };
    futures::stream::unfold(sup, |mut sup| async move {
        let events = sup.next().await;
        Some((futures::stream::iter(events), sup))
    })
    .flatten()
    .boxed()
}

impl<F> Supervisor<F>
where
    F: FnMut() -> BoxStream<'static, PodEvent> + Send + 'static,
{
    async fn next(&mut self) -> Vec<PodEvent> {
        loop {
            tokio::select! {
                ev = self.current.next() => match ev {
                    Some(ev) => {
                        if ev == PodEvent::ResyncDone {
                            self.listed = true;
                        }
                        return vec![ev];
                    }
                    // kube's watcher never ends; if it did, start over.
                    None => return self.restart("the pod watch ended"),
                },
                _ = self.tick.tick() => {
                    let out = self.check();
                    if !out.is_empty() {
                        return out;
                    }
                }
            }
        }
    }

    fn check(&mut self) -> Vec<PodEvent> {
        let heard = self.liveness.last(&self.path);
        let mut out = Vec::new();
        if let Some(h) = heard
            && self.reported != Some(h.wall)
        {
            self.reported = Some(h.wall);
            out.push(PodEvent::Heard(h.wall));
        }
        let since = heard.map_or(self.started, |h| h.at.max(self.started));
        if self.listed && since.elapsed() > self.stall {
            out.extend(self.restart(&format!(
                "the pod watch delivered no event or bookmark for {} s: relisting",
                self.stall.as_secs()
            )));
        }
        out
    }

    fn restart(&mut self, reason: &str) -> Vec<PodEvent> {
        tracing::warn!(target: "ktui::watch", path = %self.path, "{reason}");
        self.current = (self.open)();
        self.listed = false;
        self.started = Instant::now();
        vec![PodEvent::Connection(ConnectionState::Reconnecting {
            reason: reason.to_string(),
        })]
    }
}
