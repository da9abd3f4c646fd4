//! The console driver: state + runtime + the action queue. The interactive loop and the tests
//! drive the same `App`; only the front (terminal or `TestBackend`) differs.

use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::Backend;
use tokio::sync::mpsc;

use crate::action::Action;
use crate::cluster::{Cluster, Scope};
use crate::config::theme::Theme;
use crate::effect::Effect;
use crate::runtime::{Connector, Runtime};
use crate::state::AppState;
use crate::update::update;
use crate::view::view;

/// Most queued actions handled before a frame may be drawn (keeps frames coming during floods).
const MAX_BATCH: usize = 4096;

pub struct App {
    pub state: AppState,
    pub theme: Theme,
    runtime: Runtime,
    rx: mpsc::UnboundedReceiver<Action>,
    /// Something changed since the last frame.
    pub dirty: bool,
}

impl App {
    /// Start watching `scope`; `demo` labels everything DEMO.
    pub fn new(
        cluster: Arc<dyn Cluster>,
        scope: Scope,
        demo: bool,
        theme: Theme,
        connector: Option<Connector>,
        now: jiff::Timestamp,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let state = AppState::new(cluster.info(), scope.clone(), demo, now);
        let mut app = Self {
            state,
            theme,
            runtime: Runtime::new(cluster, tx, connector),
            rx,
            dirty: true,
        };
        app.runtime.run(Effect::WatchPods(scope));
        app
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

    pub fn draw<B: Backend>(&mut self, terminal: &mut Terminal<B>) -> Result<(), B::Error> {
        self.state.prepare_frame();
        let (state, theme) = (&self.state, &self.theme);
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
/// Clock tick for ages and toasts.
pub const TICK: Duration = Duration::from_millis(1000);
