//! A running capture: the eBPF session plus the reader thread, shared by `trace` and `serve`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;
use std::time::Duration;

use ktui_wire::Stats;

use crate::conntrack::refresh::{self, Status};
use crate::events::aggregate::{AggSource, FoldedFlows};
use crate::events::convert::Converter;
use crate::guard::{self, UserCounters, UserFilter};
use crate::k8s::{Resolver, Roots};
use crate::pipeline::{self, Emitter, Format, Processor, SharedFilter};
use crate::probes::load::{FOLD_CLOCK_EVERY, FoldClock, KernelFilter, Session};

/// How long in-flight eBPF programs get to finish after the config is disabled.
const SETTLE: Duration = Duration::from_millis(50);

pub struct Engine {
    session: Session,
    pub counters: Arc<UserCounters>,
    filter: Arc<SharedFilter>,
    stop: Arc<AtomicBool>,
    /// A subscription is on (the conntrack table is read only then).
    active: Arc<AtomicBool>,
    conntrack: Status,
    reader: Option<JoinHandle<()>>,
    clock: Option<JoinHandle<()>>,
    refresher: Option<JoinHandle<()>>,
}

impl Engine {
    /// Start reading (the kernel side stays disabled until [`Engine::configure`]); with
    /// `conntrack`, events are annotated with the node's conntrack entries.
    pub fn start(
        mut session: Session,
        tx: SyncSender<String>,
        format: Format,
        stall: Duration,
        conntrack: bool,
    ) -> Result<Engine, String> {
        let ring = session
            .take_ring()
            .ok_or("the ring buffer was already taken")?;
        let counters = Arc::new(UserCounters::default());
        let filter = Arc::new(SharedFilter::new(UserFilter::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let active = Arc::new(AtomicBool::new(false));
        let roots = Roots::from_env();
        let ct = refresh::start(conntrack, &roots.proc, active.clone(), stop.clone());
        let mut converter =
            Converter::new(session.drop_reasons.clone(), Some(Resolver::new(roots)));
        converter.conntrack = ct.lookup;
        let emitter = Emitter::new(tx, format, counters.clone(), filter.clone());
        let mut processor = Processor::new(converter, emitter);
        processor.folded = session
            .take_agg()
            .map(|m| FoldedFlows::new(Box::new(m) as Box<dyn AggSource>));
        let reader = pipeline::spawn_reader(ring, processor, stop.clone(), stall).map_err(|e| {
            stop.store(true, Ordering::Release);
            format!("cannot start the ring buffer reader thread: {e}")
        })?;
        // Without its clock the kernel folds nothing (every event gets a record): a thread
        // that cannot start costs efficiency, not events.
        let clock = session
            .take_fold_clock()
            .and_then(|c| spawn_fold_clock(c, stop.clone()).ok());
        Ok(Engine {
            session,
            counters,
            filter,
            stop,
            active,
            conntrack: ct.status,
            reader: Some(reader),
            clock,
            refresher: ct.refresher,
        })
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// How conntrack entries are read (or why not).
    pub fn conntrack(&self) -> &Status {
        &self.conntrack
    }

    /// Replace the filters (user space first, so nothing unwanted slips through).
    pub fn configure(&mut self, kernel: &KernelFilter, user: UserFilter) -> Result<(), String> {
        self.filter.set(user);
        self.active.store(kernel.enabled, Ordering::Release);
        self.session.configure(kernel)
    }

    pub fn stats(&self) -> Stats {
        guard::stats(self.session.counters(), &self.counters)
    }

    /// Stop the kernel side, drain the ring buffer, stop the reader; the final stats (which
    /// close). Dropping the session afterwards detaches every program.
    pub fn shutdown(mut self) -> Stats {
        let _ = self.session.configure(&KernelFilter::default());
        std::thread::sleep(SETTLE);
        self.stop.store(true, Ordering::Release);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        for thread in [self.clock.take(), self.refresher.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
        self.stats()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// Advance the fold's clock every [`FOLD_CLOCK_EVERY`] until `stop`, then stop it (nothing
/// folds any more).
fn spawn_fold_clock(
    mut clock: FoldClock,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ktui-fold-clock".into())
        .spawn(move || {
            while !stop.load(Ordering::Acquire) {
                clock.tick();
                std::thread::sleep(FOLD_CLOCK_EVERY);
            }
            clock.stop();
        })
}
