//! Helper sessions: connect (local child, pod exec or demo replay), keep the subscription,
//! reconnect with backoff when the stream drops, and turn what arrives into actions.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use ktui_wire::{ConsoleMessage, HelperMessage, Stats};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::action::Action;
use crate::cluster::BoxByteStream;
use crate::helper::client::{SessionEvent, run_session};
use crate::helper::{local, replay};
use crate::state::sockets::HelperTarget;

/// Reconnect delays: 1 s doubling to 30 s; reset after a session that lasted a minute.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Opens a fresh byte stream to `ktui-helper serve` (pod exec or local child).
pub type Opener = Arc<dyn Fn() -> BoxFuture<'static, Result<BoxByteStream, String>> + Send + Sync>;

/// The running session: commands go to the helper; dropping or aborting ends it.
pub struct SessionHandle {
    commands: mpsc::UnboundedSender<ConsoleMessage>,
    /// The last subscription, re-sent after every reconnect.
    subscription: Arc<Mutex<Option<ConsoleMessage>>>,
    task: AbortHandle,
}

impl SessionHandle {
    pub fn send(&self, msg: ConsoleMessage) {
        if matches!(msg, ConsoleMessage::Subscribe { .. })
            && let Ok(mut s) = self.subscription.lock()
        {
            *s = Some(msg.clone());
        }
        let _ = self.commands.send(msg);
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for SessionHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An opener for a local `ktui-helper serve`.
pub fn local_opener() -> Opener {
    Arc::new(|| Box::pin(async { local::spawn().map(|s| Box::new(s) as BoxByteStream) }))
}

/// Start a session for `target` (its stream from `opener`, unless it is a demo replay).
pub fn start(
    target: HelperTarget,
    opener: Option<Opener>,
    first: Option<ConsoleMessage>,
    tx: mpsc::UnboundedSender<Action>,
) -> SessionHandle {
    let (commands, rx) = mpsc::unbounded_channel();
    let subscription = Arc::new(Mutex::new(first));
    let task = match (target, opener) {
        (HelperTarget::DemoReplay, _) | (_, None) => tokio::spawn(replay_loop(tx)),
        (_, Some(opener)) => tokio::spawn(reconnect_loop(opener, subscription.clone(), rx, tx)),
    }
    .abort_handle();
    SessionHandle {
        commands,
        subscription,
        task,
    }
}

async fn reconnect_loop(
    opener: Opener,
    subscription: Arc<Mutex<Option<ConsoleMessage>>>,
    mut commands: mpsc::UnboundedReceiver<ConsoleMessage>,
    tx: mpsc::UnboundedSender<Action>,
) {
    let mut delay = BACKOFF_START;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let started = Instant::now();
        let result = match opener().await {
            Ok(stream) => {
                let initial: Vec<ConsoleMessage> = subscription
                    .lock()
                    .ok()
                    .and_then(|s| s.clone())
                    .into_iter()
                    .collect();
                let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
                let forward_tx = tx.clone();
                let forward = tokio::spawn(async move {
                    while let Some(ev) = ev_rx.recv().await {
                        let action = match ev {
                            SessionEvent::Hello(h) => Action::HelperConnected(h),
                            SessionEvent::Messages(m) => Action::HelperMessages(m),
                            SessionEvent::BadLine(l) => Action::HelperBadLine(l),
                        };
                        if forward_tx.send(action).is_err() {
                            break;
                        }
                    }
                });
                let r = run_session(stream, initial, &mut commands, ev_tx).await;
                let _ = forward.await;
                match r {
                    Ok(()) => return, // the console ended the session
                    Err(e) => e.to_string(),
                }
            }
            Err(e) => e,
        };
        if started.elapsed() > STABLE_AFTER {
            delay = BACKOFF_START;
            attempt = 1;
        }
        if tx
            .send(Action::HelperStreamLost {
                reason: result,
                attempt,
                retry_in: delay,
            })
            .is_err()
        {
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(BACKOFF_MAX);
    }
}

/// DEMO REPLAY: the bundled recording, in its original rhythm, looping.
async fn replay_loop(tx: mpsc::UnboundedSender<Action>) {
    let events = replay::parse(replay::RECORDING);
    if tx
        .send(Action::HelperConnected(Box::new(replay::hello())))
        .is_err()
    {
        return;
    }
    if events.is_empty() {
        let _ = tx.send(Action::HelperStreamLost {
            reason: "the bundled demo recording is empty".to_string(),
            attempt: 1,
            retry_in: Duration::MAX,
        });
        return;
    }
    let mut stats = Stats::default();
    loop {
        let start = jiff::Timestamp::now();
        let clock = tokio::time::Instant::now();
        for (offset, event) in events.iter().cloned() {
            tokio::time::sleep_until(clock + offset).await;
            stats.events += 1;
            stats.generated += 1;
            let batch = vec![
                HelperMessage::Socket {
                    event: Box::new(replay::shifted(event, start, offset)),
                },
                HelperMessage::Stats(stats),
            ];
            if tx.send(Action::HelperMessages(batch)).is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
