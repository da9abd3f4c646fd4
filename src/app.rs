//! The console driver: state + runtime + the action queue. The interactive loop, the tests and
//! headless drivers run the same `App`, built by one [`AppBuilder`]; only the front differs
//! (a terminal, a `TestBackend`, or none: drawing is the only thing that needs a theme).

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use crate::action::Action;
use crate::cluster::{Cluster, Scope};
use crate::config::theme::Theme;
use crate::effect::Effect;
use crate::intent::ConfirmPolicy;
use crate::keymap::Keymaps;
use crate::runtime::{Connector, Runtime};
use crate::state::AppState;
use crate::state::helper::HelperSource;
use crate::state::sockets::SocketsState;
use crate::update::update;
use crate::view::view;

/// Most queued actions handled before a frame may be drawn (keeps frames coming during floods).
const MAX_BATCH: usize = 4096;

pub struct App {
    pub state: AppState,
    runtime: Runtime,
    rx: mpsc::UnboundedReceiver<Action>,
    /// Something changed since the last frame.
    pub dirty: bool,
}

/// How an [`App`] starts: what it watches and where its helper, clock and answers come from.
pub struct AppBuilder {
    cluster: Arc<dyn Cluster>,
    scope: Scope,
    demo: bool,
    connector: Option<Connector>,
    now: Option<jiff::Timestamp>,
    clock: Option<Duration>,
    helper_source: Option<HelperSource>,
    helper_image: Option<String>,
    socket_events: Option<usize>,
    confirm_policy: ConfirmPolicy,
    case: Option<crate::case::Case>,
    sign_key: Option<std::path::PathBuf>,
    event_log: crate::runtime::record::EventLog,
    dedup_window: Option<jiff::SignedDuration>,
    keymaps: Keymaps,
}

impl AppBuilder {
    /// The namespace or all namespaces (default: all).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Connected to the simulated cluster: everything is labelled DEMO and socket events are
    /// the bundled recording (unless [`Self::helper_source`] says otherwise).
    pub fn demo(mut self, demo: bool) -> Self {
        self.demo = demo;
        self
    }

    /// Builds the cluster of another kubeconfig context (`:ctx NAME`).
    pub fn connector(mut self, connector: Option<Connector>) -> Self {
        self.connector = connector;
        self
    }

    /// The clock's first reading (default: now).
    pub fn now(mut self, now: jiff::Timestamp) -> Self {
        self.now = Some(now);
        self
    }

    /// Let the runtime move the clock every `interval` (the terminal and headless fronts);
    /// without it the clock moves only on `Action::Tick` (tests that need a fixed time).
    pub fn clock(mut self, interval: Duration) -> Self {
        self.clock = Some(interval);
        self
    }

    pub fn helper_source(mut self, source: HelperSource) -> Self {
        self.helper_source = Some(source);
        self
    }

    /// The image a deployed helper pod runs (validated by the caller).
    pub fn helper_image(mut self, image: Option<String>) -> Self {
        self.helper_image = image;
        self
    }

    /// Socket events the pane keeps (`--socket-events`).
    pub fn socket_events(mut self, n: usize) -> Self {
        self.socket_events = Some(n);
        self
    }

    /// Who answers the questions before the cluster is changed (default: the user).
    pub fn confirm_policy(mut self, policy: ConfirmPolicy) -> Self {
        self.confirm_policy = policy;
        self
    }

    /// The keys in effect (default: the built-in keymaps; `--keys` loads others).
    pub fn keys(mut self, keymaps: Keymaps) -> Self {
        self.keymaps = keymaps;
        self
    }

    /// The case evidence is written into (the console always has one; without, nothing is
    /// captured and the status bar says so).
    pub fn case(mut self, case: Option<crate::case::Case>) -> Self {
        self.case = case;
        self
    }

    /// The key exports are signed with (default: `KTUI_SIGNING_KEY`, else the config dir's).
    pub fn sign_key(mut self, key: Option<std::path::PathBuf>) -> Self {
        self.sign_key = key;
        self
    }

    /// Where live socket events go in the case (default: per-node segments; record mode: the
    /// top-level `events.jsonl`).
    pub fn event_log(mut self, log: crate::runtime::record::EventLog) -> Self {
        self.event_log = log;
        self
    }

    /// A crash cloned within this window is not cloned again (default: an hour).
    pub fn dedup_window(mut self, window: jiff::SignedDuration) -> Self {
        self.dedup_window = Some(window);
        self
    }

    /// Start: the pod watch (and the clock, when asked for) begin at once.
    pub fn build(self) -> App {
        let (tx, rx) = mpsc::unbounded_channel();
        let now = self.now.unwrap_or_else(jiff::Timestamp::now);
        let mut state = AppState::new(self.cluster.info(), self.scope.clone(), self.demo, now);
        if let Some(source) = self.helper_source {
            state.helper.source = source;
        }
        if let Some(image) = self.helper_image {
            state.helper.image = image;
        }
        if let Some(n) = self.socket_events {
            state.sockets = SocketsState::new(n);
        }
        state.confirm_policy = self.confirm_policy;
        state.clone.dedup_window = self.dedup_window;
        state.keymaps = self.keymaps;
        state.evidence.case = self
            .case
            .as_ref()
            .map(|c| (c.id().to_string(), c.dir().to_path_buf()));
        if let Some(case) = &self.case {
            state.notes = crate::state::notes::NotesState::new(&case.notes());
        }
        let mut runtime = Runtime::new(self.cluster, tx, self.connector, self.case);
        runtime.sign_key = self.sign_key;
        runtime.event_log = self.event_log;
        if let Some(interval) = self.clock {
            runtime.start_clock(interval);
        }
        let mut app = App {
            state,
            runtime,
            rx,
            dirty: true,
        };
        app.runtime.run(Effect::WatchPods(self.scope));
        app
    }
}

impl App {
    pub fn builder(cluster: Arc<dyn Cluster>) -> AppBuilder {
        AppBuilder {
            cluster,
            scope: Scope::All,
            demo: false,
            connector: None,
            now: None,
            clock: None,
            helper_source: None,
            helper_image: None,
            socket_events: None,
            confirm_policy: ConfirmPolicy::Ask,
            keymaps: Keymaps::default(),
            case: None,
            sign_key: None,
            event_log: Default::default(),
            dedup_window: None,
        }
    }

    pub fn dispatch(&mut self, action: Action) {
        if matches!(action, Action::HelperMessages(_)) {
            self.runtime.helper_batch_handled();
        }
        for effect in update(&mut self.state, action) {
            self.runtime.run(effect);
        }
        self.dirty = true;
    }

    /// Handle queued actions without waiting; returns how many.
    pub fn drain(&mut self) -> usize {
        let mut n = 0;
        while n < MAX_BATCH {
            match self.rx.try_recv() {
                Ok(action) => {
                    self.dispatch(action);
                    n += 1;
                }
                Err(_) => break,
            }
        }
        n
    }

    /// Wait for the next action (None when every sender is gone).
    pub async fn next_action(&mut self) -> Option<Action> {
        self.rx.recv().await
    }

    /// Handle actions until none arrives for `quiet` (tests and headless use).
    pub async fn settle(&mut self, quiet: Duration) {
        loop {
            self.drain();
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Ok(Some(action)) => self.dispatch(action),
                _ => break,
            }
        }
    }

    pub fn draw<B: Backend>(
        &mut self,
        terminal: &mut Terminal<B>,
        theme: &Theme,
    ) -> Result<(), B::Error> {
        self.state.prepare_frame();
        let state = &self.state;
        terminal.draw(|f| view(f, state, theme))?;
        self.dirty = false;
        Ok(())
    }

    /// Stop the streams and abort everything else (tests that end a session at once).
    pub fn shutdown(&mut self) {
        self.runtime.abort_all();
    }

    /// What must still finish before the run ends (evidence captures, file saves).
    pub fn unfinished(&self) -> Vec<String> {
        self.runtime.unfinished()
    }

    /// End the run without losing work in flight: stop the streams, wait up to `bound` for
    /// captures and saves, and apply what they delivered. Returns what did not finish.
    pub async fn finish(&mut self, bound: Duration) -> Vec<String> {
        let left = self.runtime.finish(bound).await;
        self.drain();
        left
    }
}

/// Frame interval: at most ~60 frames a second, only when something changed.
pub const FRAME: Duration = Duration::from_millis(16);
/// Clock tick for ages and toasts (the runtime's clock in the terminal and headless fronts).
pub const TICK: Duration = Duration::from_millis(1000);
