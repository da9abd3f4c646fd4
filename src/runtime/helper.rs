//! Helper sessions: connect (local child, pod exec or demo replay), keep the subscription,
//! reconnect with backoff when the stream drops, and turn what arrives into actions.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use ktui_wire::{ConsoleMessage, HelperMessage, Stats};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::action::Action;
use crate::cluster::{BoxByteStream, Cluster, PodSummary, Scope, first_list};
use crate::helper::client::{SESSION_BATCHES, SessionEvent, run_session};
use crate::helper::{local, replay};
use crate::runtime::record::Recorder;
use crate::state::helper::HelperTarget;

/// Reconnect delays: 1 s doubling to 30 s; reset after a session that lasted a minute.
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// Message batches handed to the console and not handled yet: past this, the session waits
/// (and with it the stream and the helper, which then drops and counts what it cannot send).
pub const CONSOLE_BATCHES: usize = 8;

/// How far the console is behind the helper, in batches (see [`CONSOLE_BATCHES`]).
#[derive(Debug, Default)]
pub struct Backlog {
    batches: AtomicUsize,
    handled: tokio::sync::Notify,
}

impl Backlog {
    /// Wait until the console is less than [`CONSOLE_BATCHES`] behind, and count one more.
    async fn admit(&self) {
        loop {
            // Created before the check: a `handled` in between still wakes it.
            let handled = self.handled.notified();
            let n = self.batches.load(Ordering::SeqCst);
            if n < CONSOLE_BATCHES
                && self
                    .batches
                    .compare_exchange(n, n + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                return;
            }
            handled.await;
        }
    }

    /// The console handled a batch.
    pub fn handled(&self) {
        let _ = self
            .batches
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        self.handled.notify_waiters();
    }

    pub fn behind(&self) -> usize {
        self.batches.load(Ordering::SeqCst)
    }
}

/// Opens a fresh byte stream to `ktui-helper serve` (pod exec or local child).
pub type Opener = Arc<
    dyn Fn() -> BoxFuture<'static, Result<BoxByteStream, crate::helper::client::HelperError>>
        + Send
        + Sync,
>;

/// What stands with the helper: the requests a new stream must be given before anything
/// else, so a reconnect resumes them. Today the one subscription that covers every
/// consumer's (`HelperSession::standing`); an unsubscribe leaves nothing standing.
#[derive(Debug, Default)]
struct Standing {
    subscription: Option<ConsoleMessage>,
}

impl Standing {
    fn note(&mut self, msg: &ConsoleMessage) {
        match msg {
            ConsoleMessage::Subscribe { .. } => self.subscription = Some(msg.clone()),
            ConsoleMessage::Unsubscribe { .. } => self.subscription = None,
            // Capture requests are asked for again under new ids by the reducer after every
            // hello (`HelperSession::restand_captures`): a capture's files are named by its id.
            ConsoleMessage::Ping { .. }
            | ConsoleMessage::CaptureStart { .. }
            | ConsoleMessage::CaptureStop { .. } => {}
        }
    }

    fn messages(&self) -> Vec<ConsoleMessage> {
        self.subscription.iter().cloned().collect()
    }
}

/// The running session: commands go to the helper; dropping or aborting ends it.
pub struct SessionHandle {
    commands: mpsc::UnboundedSender<ConsoleMessage>,
    /// Sent again, first, on every new stream.
    standing: Arc<Mutex<Standing>>,
    task: AbortHandle,
}

impl SessionHandle {
    pub fn send(&self, msg: ConsoleMessage) {
        if let Ok(mut s) = self.standing.lock() {
            s.note(&msg);
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

/// Start a session for `target`: its stream from `opener`, or for a demo replay (no opener)
/// the recording cast onto the pods `cluster` lists.
pub fn start(
    target: HelperTarget,
    opener: Option<Opener>,
    first: Option<ConsoleMessage>,
    cluster: Arc<dyn Cluster>,
    tx: mpsc::UnboundedSender<Action>,
    backlog: Arc<Backlog>,
    recorder: Option<Recorder>,
) -> SessionHandle {
    let (commands, rx) = mpsc::unbounded_channel();
    let mut stand = Standing::default();
    if let Some(first) = &first {
        stand.note(first);
    }
    let standing = Arc::new(Mutex::new(stand));
    let task = match (target, opener) {
        (HelperTarget::DemoReplay, _) | (_, None) => {
            tokio::spawn(replay_loop(cluster, first, rx, tx))
        }
        (_, Some(opener)) => tokio::spawn(reconnect_loop(
            opener,
            standing.clone(),
            rx,
            tx,
            backlog,
            recorder,
        )),
    }
    .abort_handle();
    SessionHandle {
        commands,
        standing,
        task,
    }
}

async fn reconnect_loop(
    opener: Opener,
    standing: Arc<Mutex<Standing>>,
    mut commands: mpsc::UnboundedReceiver<ConsoleMessage>,
    tx: mpsc::UnboundedSender<Action>,
    backlog: Arc<Backlog>,
    recorder: Option<Recorder>,
) {
    let mut delay = BACKOFF_START;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let started = Instant::now();
        let result = match opener().await {
            Ok(stream) => {
                // What stands goes first; changes queued while there was no stream are in
                // it already (and a ping sent to no stream has no answer to wait for).
                while commands.try_recv().is_ok() {}
                let initial = standing.lock().map(|s| s.messages()).unwrap_or_default();
                let (ev_tx, mut ev_rx) = mpsc::channel(SESSION_BATCHES);
                let forward_tx = tx.clone();
                let backlog = backlog.clone();
                let recorder = recorder.clone();
                let forward = tokio::spawn(async move {
                    while let Some(ev) = ev_rx.recv().await {
                        let action = match ev {
                            SessionEvent::Hello(h) => Action::HelperConnected(h),
                            SessionEvent::Messages(m) => {
                                if let Some(r) = &recorder {
                                    r.record(&m).await;
                                }
                                backlog.admit().await;
                                Action::HelperMessages(m)
                            }
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
                    Err(e) => e,
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
                error: result,
                attempt,
                retry_in: Some(delay),
            })
            .is_err()
        {
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(BACKOFF_MAX);
    }
}

/// How long a replay waits for the demo cluster's pod list.
const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// The pods `cluster` lists (its first list), none when it cannot list within the timeout.
async fn listed_pods(cluster: &dyn Cluster) -> Vec<PodSummary> {
    tokio::time::timeout(LIST_TIMEOUT, first_list(cluster, Scope::All))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// The pod a subscription is for, if it names one.
fn subscribed_pod(msg: &ConsoleMessage) -> Option<&str> {
    match msg {
        ConsoleMessage::Subscribe { filters, .. } => filters.pod_uids.first().map(String::as_str),
        _ => None,
    }
}

/// A running demo replay: the recording, the demo cluster's pods and the current cast.
struct Replay {
    events: Vec<(Duration, ktui_wire::SocketEvent)>,
    pods: Vec<PodSummary>,
    cast: replay::Cast,
    commands: mpsc::UnboundedReceiver<ConsoleMessage>,
    listening: bool,
    tx: mpsc::UnboundedSender<Action>,
}

impl Replay {
    /// Wait until `due`, taking subscriptions meanwhile; false once the console is gone.
    async fn wait_until(&mut self, due: tokio::time::Instant) -> bool {
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => return true,
                msg = self.commands.recv(), if self.listening => match msg {
                    Some(msg) => {
                        if !self.subscribed(&msg) {
                            return false;
                        }
                    }
                    None => self.listening = false,
                },
            }
        }
    }

    /// A subscription for another pod recasts the replay and says so with a new hello.
    fn subscribed(&mut self, msg: &ConsoleMessage) -> bool {
        let Some(uid) = subscribed_pod(msg) else {
            return true;
        };
        let next = replay::Cast::new(&self.events, &self.pods, Some(uid));
        if next == self.cast {
            return true;
        }
        self.cast = next;
        let hello = HelperMessage::Hello(self.cast.hello());
        self.tx.send(Action::HelperMessages(vec![hello])).is_ok()
    }
}

/// DEMO REPLAY: the bundled recording, in its original rhythm, looping, cast onto the demo
/// cluster's pods. A subscription for another pod recasts it (that pod and its node); a
/// whole-node subscription keeps the cast.
async fn replay_loop(
    cluster: Arc<dyn Cluster>,
    first: Option<ConsoleMessage>,
    commands: mpsc::UnboundedReceiver<ConsoleMessage>,
    tx: mpsc::UnboundedSender<Action>,
) {
    let events = replay::parse(replay::RECORDING);
    let pods = listed_pods(cluster.as_ref()).await;
    let cast = replay::Cast::new(&events, &pods, first.as_ref().and_then(subscribed_pod));
    if tx
        .send(Action::HelperConnected(Box::new(cast.hello())))
        .is_err()
    {
        return;
    }
    let Some(length) = events.last().map(|(offset, _)| *offset) else {
        let _ = tx.send(Action::HelperStreamLost {
            error: crate::helper::client::HelperError::EmptyRecording,
            attempt: 1,
            retry_in: None,
        });
        return;
    };
    let mut r = Replay {
        events,
        pods,
        cast,
        commands,
        listening: true,
        tx,
    };
    let mut stats = Stats::default();
    loop {
        let start = jiff::Timestamp::now();
        let clock = tokio::time::Instant::now();
        for i in 0..r.events.len() {
            let offset = r.events[i].0;
            if !r.wait_until(clock + offset).await {
                return;
            }
            stats.events += 1;
            stats.generated += 1;
            let event = replay::shifted(r.events[i].1.clone(), start, offset);
            let batch = vec![
                HelperMessage::Socket {
                    event: Box::new(r.cast.apply(event)),
                },
                HelperMessage::Stats(stats),
            ];
            if r.tx.send(Action::HelperMessages(batch)).is_err() {
                return;
            }
        }
        if !r.wait_until(clock + length + Duration::from_secs(2)).await {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use ktui_wire::{EventType, SocketEvent};
    use tokio::io::AsyncWriteExt as _;

    use super::*;
    use crate::cluster::demo::DemoCluster;
    use crate::helper::client::test_hello;

    /// A helper that writes socket lines as fast as the stream takes them, counting them.
    fn fast_helper(written: Arc<AtomicU64>) -> Opener {
        Arc::new(move || {
            let written = written.clone();
            Box::pin(async move {
                let (console, mut helper) = tokio::io::duplex(1 << 16);
                tokio::spawn(async move {
                    let hello = ktui_wire::encode(&HelperMessage::Hello(test_hello()));
                    if helper.write_all(hello.as_bytes()).await.is_err() {
                        return;
                    }
                    let ev = SocketEvent::new(
                        "2026-12-02T10:00:00.000000000Z".into(),
                        EventType::UdpSend,
                    );
                    let line = ktui_wire::encode(&HelperMessage::Socket {
                        event: Box::new(ev),
                    });
                    while helper.write_all(line.as_bytes()).await.is_ok() {
                        written.fetch_add(1, Ordering::Relaxed);
                    }
                });
                Ok(Box::new(console) as BoxByteStream)
            })
        })
    }

    /// A helper that says hello and records, per stream, the console messages it reads; the
    /// first stream is cut after its second message.
    fn recording_helper(seen: Arc<Mutex<Vec<Vec<ConsoleMessage>>>>) -> Opener {
        Arc::new(move || {
            let seen = seen.clone();
            Box::pin(async move {
                use tokio::io::AsyncBufReadExt as _;
                let (console, helper) = tokio::io::duplex(1 << 16);
                let stream = {
                    let mut s = seen.lock().unwrap();
                    s.push(Vec::new());
                    s.len() - 1
                };
                tokio::spawn(async move {
                    let (read, mut write) = tokio::io::split(helper);
                    let hello = ktui_wire::encode(&HelperMessage::Hello(test_hello()));
                    if write.write_all(hello.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut lines = tokio::io::BufReader::new(read).lines();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let msg = ConsoleMessage::decode(line.as_bytes()).unwrap();
                        let n = {
                            let mut s = seen.lock().unwrap();
                            s[stream].push(msg);
                            s[stream].len()
                        };
                        if stream == 0 && n == 2 {
                            return; // the cut: both halves dropped
                        }
                    }
                });
                Ok(Box::new(console) as BoxByteStream)
            })
        })
    }

    /// Two consumers stand subscriptions (the pane on pod a, a driver on pod b's DNS); the
    /// stream is cut; the new stream is given, before anything else, one subscription that
    /// covers both — neither is lost across the cut.
    #[tokio::test]
    async fn a_reconnect_resumes_every_standing_subscription() {
        use crate::state::helper::{Consumer, HelperSession, HelperSource};
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut session = HelperSession::new(HelperSource::Local);
        let pod = |uid: &str| ktui_wire::Filters {
            pod_uids: vec![uid.to_string()],
            ..ktui_wire::Filters::default()
        };
        session.subscribe(Consumer::SocketsPane, pod("a"));
        let handle = start(
            HelperTarget::Local,
            Some(recording_helper(seen.clone())),
            Some(session.standing()),
            Arc::new(DemoCluster::new(jiff::Timestamp::now(), false)),
            tx,
            Arc::default(),
            None,
        );
        async fn next(rx: &mut mpsc::UnboundedReceiver<Action>) -> Action {
            tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("the session goes on")
                .expect("the session is running")
        }
        while !matches!(next(&mut rx).await, Action::HelperConnected(_)) {}
        session.subscribe(
            Consumer::Driver,
            ktui_wire::Filters {
                dns_only: true,
                ..pod("b")
            },
        );
        handle.send(session.standing());
        // The cut, then hello again on the new stream (after the 1 s backoff).
        let mut lost = 0;
        loop {
            match next(&mut rx).await {
                Action::HelperConnected(_) => break,
                Action::HelperStreamLost { retry_in, .. } => {
                    assert!(retry_in.is_some());
                    lost += 1;
                }
                _ => {}
            }
        }
        assert_eq!(lost, 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "two streams: {seen:?}");
        let covering = |msg: &ConsoleMessage| match msg {
            ConsoleMessage::Subscribe { filters, .. } => filters.pod_uids.clone(),
            other => panic!("not a subscription: {other:?}"),
        };
        assert_eq!(covering(&seen[0][0]), vec!["a".to_string()]);
        assert_eq!(
            covering(&seen[0][1]),
            vec!["a".to_string(), "b".to_string()]
        );
        assert_eq!(
            seen[1].first().map(covering),
            Some(vec!["a".to_string(), "b".to_string()]),
            "the new stream starts with what stands: {:?}",
            seen[1]
        );
        assert_eq!(seen[1].len(), 1, "and only that: {:?}", seen[1]);
        handle.stop();
    }

    /// A live session's socket events reach the case as they reach the console: one line per
    /// event in `artifacts/nodes/local/sockets-1.jsonl`, sealed with its hash when the session
    /// ends (stats lines are not events and are not kept).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_live_session_s_socket_events_are_kept_in_the_case() {
        let dir = tempfile::tempdir().unwrap();
        let case = crate::case::Case::open(
            dir.path(),
            Some("rec"),
            &crate::case::CaseConfig::new("test", "test"),
        )
        .unwrap();
        const N: usize = 300;
        let opener: Opener = Arc::new(|| {
            Box::pin(async {
                let (console, mut helper) = tokio::io::duplex(1 << 16);
                tokio::spawn(async move {
                    let mut out = ktui_wire::encode(&HelperMessage::Hello(test_hello()));
                    for i in 0..N {
                        let mut ev = SocketEvent::new(
                            "2026-12-02T10:00:00.000000000Z".into(),
                            EventType::UdpSend,
                        );
                        ev.sport = Some(u16::try_from(i).unwrap());
                        out.push_str(&ktui_wire::encode(&HelperMessage::Socket {
                            event: Box::new(ev),
                        }));
                    }
                    out.push_str(&ktui_wire::encode(&HelperMessage::Stats(Stats::default())));
                    let _ = helper.write_all(out.as_bytes()).await;
                    // Stay open until the console ends the session.
                    let mut sink = [0u8; 1024];
                    use tokio::io::AsyncReadExt as _;
                    while helper.read(&mut sink).await.is_ok_and(|n| n > 0) {}
                });
                Ok(Box::new(console) as BoxByteStream)
            })
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let recorder = crate::runtime::record::Recorder::start(
            case.clone(),
            "local".into(),
            crate::runtime::record::EventLog::default(),
            tx.clone(),
        );
        let session = start(
            HelperTarget::Local,
            Some(opener),
            None,
            Arc::new(DemoCluster::new(jiff::Timestamp::now(), false)),
            tx,
            backlog.clone(),
            Some(recorder),
        );
        let mut seen = 0;
        while seen < N {
            let action = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("events arrive")
                .unwrap();
            if let Action::HelperMessages(m) = action {
                backlog.handled();
                seen += m
                    .iter()
                    .filter(|m| matches!(m, HelperMessage::Socket { .. }))
                    .count();
            }
        }
        session.stop();
        drop(session);
        // The writer seals the segment once the session's last sender is gone.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let sealed = loop {
            let sealed = case
                .index()
                .unwrap()
                .into_iter()
                .rev()
                .find(|e| e.path == "artifacts/nodes/local/sockets-1.jsonl" && e.sealed);
            if sealed.is_some() || std::time::Instant::now() > deadline {
                break sealed;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        .expect("the segment is sealed");
        let bytes = std::fs::read(case.dir().join(&sealed.path)).unwrap();
        assert_eq!(
            sealed.sha256.as_deref(),
            Some(crate::evidence::sha256_hex(&bytes).as_str())
        );
        let lines: Vec<&[u8]> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines.len(), N);
        for (i, line) in lines.iter().enumerate() {
            let HelperMessage::Socket { event } = HelperMessage::decode(line).unwrap() else {
                panic!("line {i} is not a socket event");
            };
            assert_eq!(event.sport, Some(u16::try_from(i).unwrap()));
        }
    }

    /// A console that handles nothing: the session stops reading once the bounded hand-over
    /// is full, so what the helper can write stays bounded (it would drop and count the rest);
    /// once the console handles its batches, the stream moves again.
    #[tokio::test]
    async fn a_console_that_falls_behind_holds_a_bounded_backlog() {
        let written = Arc::new(AtomicU64::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let backlog = Arc::new(Backlog::default());
        let session = start(
            HelperTarget::Local,
            Some(fast_helper(written.clone())),
            None,
            Arc::new(DemoCluster::new(jiff::Timestamp::now(), false)),
            tx,
            backlog.clone(),
            None,
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stalled = written.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let still = written.load(Ordering::Relaxed);
        assert_eq!(
            stalled, still,
            "the helper is held back while the console is behind"
        );
        // Batches of up to 1,024 lines: in the console's channel, in the session's hand-over,
        // in the one being built, and what the stream and the read buffer hold.
        let bound = ((CONSOLE_BATCHES + SESSION_BATCHES + 2) * 1024) as u64 + 20_000;
        assert!(still < bound, "{still} lines written (bound {bound})");
        assert_eq!(backlog.behind(), CONSOLE_BATCHES);
        // The console catches up: the stream moves again.
        let mut handled = 0;
        while let Ok(action) = rx.try_recv() {
            if matches!(action, Action::HelperMessages(_)) {
                backlog.handled();
                handled += 1;
            }
        }
        assert_eq!(handled, CONSOLE_BATCHES);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(written.load(Ordering::Relaxed) > still, "moving again");
        session.stop();
    }
}
