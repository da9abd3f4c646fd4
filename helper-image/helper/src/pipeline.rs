//! Ring buffer → decoded records → (drops folded) → `SocketEvent` → encoded line → bounded
//! channel → writer thread → stdout. The reader never blocks on the writer: when the channel
//! is full the record is dropped and counted.

use std::io::Write;
use std::os::fd::AsRawFd as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use aya::maps::{MapData, RingBuf};
use ktui_wire::SocketEvent;

use crate::events::aggregate::{DropAggregator, FoldedFlows};
use crate::events::convert::Converter;
use crate::events::decode::{Record, decode};
use crate::events::layout::KIND_DROP;
use crate::guard::{Limits, UserCounters, UserFilter};

/// How events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `ktui-helper trace`: one SocketEvent object per line.
    TraceLine,
    /// `ktui-helper serve`: `{"v":1,"type":"socket","event":{...}}` per line.
    Wire,
}

/// The user-space filter, replaceable while the reader runs (serve's subscribe).
#[derive(Debug, Default)]
pub struct SharedFilter {
    inner: Mutex<UserFilter>,
    generation: AtomicU64,
}

impl SharedFilter {
    pub fn new(f: UserFilter) -> Self {
        Self {
            inner: Mutex::new(f),
            generation: AtomicU64::new(1),
        }
    }

    pub fn set(&self, f: UserFilter) {
        if let Ok(mut g) = self.inner.lock() {
            *g = f;
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn snapshot(&self) -> (u64, UserFilter) {
        let generation = self.generation.load(Ordering::Acquire);
        let f = self.inner.lock().map(|g| g.clone()).unwrap_or_default();
        (generation, f)
    }
}

/// Lines per message on the writer channel: the writer thread is woken once per batch, not
/// once per line (a futex wake per line cost more than encoding it).
pub const BATCH_LINES: usize = 64;

/// Capacity of the writer channel, in batches, for a bound of about `lines` lines.
pub fn channel_batches(lines: usize) -> usize {
    lines.div_ceil(BATCH_LINES).max(1)
}

/// Encodes events and offers them to the writer channel in batches of lines.
pub struct Emitter {
    pub tx: SyncSender<String>,
    pub format: Format,
    pub counters: Arc<UserCounters>,
    pub filter: Arc<SharedFilter>,
    generation: u64,
    current: UserFilter,
    limits: Limits,
    /// Pending lines (UTF-8: serde_json writes nothing else).
    batch: Vec<u8>,
    batch_lines: usize,
    /// Records the batch stands for (a folded drop line stands for several).
    batch_records: u64,
    /// Kernel-folded events the batch's count lines stand for (accounted `aggregated`).
    batch_folded: u64,
}

impl Emitter {
    pub fn new(
        tx: SyncSender<String>,
        format: Format,
        counters: Arc<UserCounters>,
        filter: Arc<SharedFilter>,
    ) -> Self {
        Self {
            tx,
            format,
            counters,
            filter,
            generation: 0,
            current: UserFilter::default(),
            limits: Limits::default(),
            batch: Vec::new(),
            batch_lines: 0,
            batch_records: 0,
            batch_folded: 0,
        }
    }

    fn refresh(&mut self) {
        let generation = self.filter.generation.load(Ordering::Acquire);
        if generation != self.generation {
            let (g, f) = self.filter.snapshot();
            self.generation = g;
            self.limits = Limits::new(f.max_events, f.max_bytes);
            self.current = f;
        }
    }

    /// One line for `ev`, appended to `out`.
    pub fn encode_into(&self, ev: &SocketEvent, out: &mut Vec<u8>) {
        match self.format {
            Format::TraceLine => {
                let start = out.len();
                if serde_json::to_writer(&mut *out, ev).is_ok() {
                    out.push(b'\n');
                } else {
                    out.truncate(start);
                }
            }
            Format::Wire => ktui_wire::encode_socket_into(ev, out),
        }
    }

    /// Add `ev` (standing for `count` records) to the batch; a full batch is offered to the
    /// writer. Never blocks.
    pub fn emit(&mut self, ev: &SocketEvent, count: u64) {
        self.add(ev, count, 0);
    }

    /// Add a count line for `folded` events the kernel folded (already accounted
    /// `aggregated`: if the line goes nowhere they move to `dropped`).
    pub fn emit_folded(&mut self, ev: &SocketEvent, folded: u64) {
        self.add(ev, 0, folded);
    }

    fn add(&mut self, ev: &SocketEvent, count: u64, folded: u64) {
        self.refresh();
        let pod = ev.k8s.as_ref().and_then(|k| k.pod_uid.as_deref());
        if !self.current.accepts_pod(pod) {
            self.counters.add_filtered(count);
            self.counters.add_folded_filtered(folded);
            return;
        }
        // With --no-sec the kernel reads no security context; owners remembered from
        // before (or seeded from /proc) may still carry one.
        let stripped;
        let ev = if self.current.no_sec && ev.sec.is_some() {
            stripped = SocketEvent {
                sec: None,
                ..ev.clone()
            };
            &stripped
        } else {
            ev
        };
        let start = self.batch.len();
        let mut batch = std::mem::take(&mut self.batch);
        self.encode_into(ev, &mut batch);
        let len = batch.len() - start;
        self.batch = batch;
        if len == 0 {
            self.counters.add_dropped(count);
            self.counters.add_folded_dropped(folded);
            return;
        }
        if !self.limits.admit(count + folded, len as u64) {
            self.batch.truncate(start);
            self.counters.add_dropped(count);
            self.counters.add_folded_dropped(folded);
            self.counters.limit_reached.store(true, Ordering::Release);
            return;
        }
        if self.limits.exhausted() {
            self.counters.limit_reached.store(true, Ordering::Release);
        }
        self.batch_lines += 1;
        self.batch_records += count;
        self.batch_folded += folded;
        if self.batch_lines >= BATCH_LINES {
            self.send_batch();
        }
    }

    /// Offer the pending lines to the writer: delivered, or dropped (and counted) when the
    /// channel is full. Never blocks.
    pub fn send_batch(&mut self) {
        if self.batch_lines == 0 {
            return;
        }
        let records = std::mem::take(&mut self.batch_records);
        let folded = std::mem::take(&mut self.batch_folded);
        self.batch_lines = 0;
        let Ok(chunk) = String::from_utf8(std::mem::take(&mut self.batch)) else {
            self.counters.add_dropped(records);
            self.counters.add_folded_dropped(folded);
            return;
        };
        match self.tx.try_send(chunk) {
            Ok(()) => self.counters.add_delivered(records),
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.add_dropped(records);
                self.counters.add_folded_dropped(folded);
            }
        }
    }
}

/// Turns records into emitted events: drops folded, everything else converted one by one;
/// and, once a second, the kernel's folded flows into count lines.
pub struct Processor {
    pub converter: Converter,
    pub drops: DropAggregator,
    pub emitter: Emitter,
    /// The kernel's folded flows (absent in tests that feed records by hand).
    pub folded: Option<FoldedFlows>,
    last_flush: Instant,
}

/// How often folded drops go out.
pub const DROP_FLUSH: Duration = Duration::from_secs(1);

impl Processor {
    pub fn new(converter: Converter, emitter: Emitter) -> Self {
        Self {
            converter,
            drops: DropAggregator::new(),
            emitter,
            folded: None,
            last_flush: Instant::now(),
        }
    }

    /// One raw ring-buffer record.
    pub fn record(&mut self, bytes: &[u8], now: Instant) {
        match decode(bytes) {
            Ok(r) => self.decoded(&r, now),
            Err(_) => self.emitter.counters.add_dropped(1),
        }
    }

    pub fn decoded(&mut self, r: &Record, now: Instant) {
        if r.ev.kind == KIND_DROP {
            self.drops.add(&r.ev);
            return;
        }
        match self.converter.convert(r, None, now) {
            Some(ev) => self.emitter.emit(&ev, 1),
            None => self.emitter.counters.add_dropped(1),
        }
    }

    /// Read pending conntrack destroy events (at most every few ms), emit folded drops if a
    /// second has passed (or `force`), then hand the pending batch to the writer (called
    /// after every ring-buffer drain, so nothing waits for a full batch).
    pub fn flush(&mut self, now: Instant, force: bool) {
        if let Some(ct) = self.converter.conntrack.as_mut() {
            ct.poll(now);
        }
        if force || now.saturating_duration_since(self.last_flush) >= DROP_FLUSH {
            self.last_flush = now;
            for (r, count) in self.drops.flush() {
                match self.converter.convert(&r, Some(count), now) {
                    Some(ev) => self.emitter.emit(&ev, count),
                    None => self.emitter.counters.add_dropped(count),
                }
            }
            if let Some(folded) = self.folded.as_mut() {
                for f in folded.take_new() {
                    let r = Record {
                        ev: f.template,
                        payload: None,
                    };
                    match self.converter.convert(&r, Some(f.count), now) {
                        Some(mut ev) => {
                            ev.first_ts = Some(self.converter.wall_clock(f.first_ns));
                            self.emitter.emit_folded(&ev, f.count);
                        }
                        None => self.emitter.counters.add_folded_dropped(f.count),
                    }
                }
                let unreported = folded.take_unreported();
                if unreported > 0 {
                    self.emitter.counters.add_folded_dropped(unreported);
                }
            }
        }
        self.emitter.send_batch();
    }
}

/// Wait up to `timeout` for the ring buffer to become readable.
fn wait_readable(ring: &RingBuf<MapData>, timeout: Duration) {
    let mut pfd = libc::pollfd {
        fd: ring.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid pollfd.
    unsafe { libc::poll(&mut pfd, 1, ms) };
}

/// Start the reader thread. It stops after `stop` is set and the ring buffer is drained
/// (flushing folded drops). `stall` delays the first read (tests: a stalled reader).
pub fn spawn_reader(
    mut ring: RingBuf<MapData>,
    mut processor: Processor,
    stop: Arc<AtomicBool>,
    stall: Duration,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ktui-ringbuf".into())
        .spawn(move || {
            let stall_until = Instant::now() + stall;
            while Instant::now() < stall_until && !stop.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(10));
            }
            loop {
                let stopping = stop.load(Ordering::Acquire);
                let mut n = 0usize;
                let now = Instant::now();
                while let Some(item) = ring.next() {
                    processor.record(&item, now);
                    n += 1;
                    if n >= 8192 {
                        break;
                    }
                }
                processor.flush(Instant::now(), false);
                if stopping && n == 0 {
                    processor.flush(Instant::now(), true);
                    break;
                }
                if n == 0 {
                    wait_readable(&ring, Duration::from_millis(100));
                }
            }
        })
}

/// Start the writer thread: lines from `rx` to `out`, flushed whenever the channel is empty.
/// Sets `broken` and stops on a write error (EPIPE: the reader went away).
pub fn spawn_writer<W: Write + Send + 'static>(
    rx: Receiver<String>,
    out: W,
    broken: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("ktui-writer".into())
        .spawn(move || {
            let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
            loop {
                let line = match rx.try_recv() {
                    Ok(l) => l,
                    Err(TryRecvError::Empty) => {
                        if out.flush().is_err() {
                            broken.store(true, Ordering::Release);
                            return;
                        }
                        match rx.recv() {
                            Ok(l) => l,
                            Err(_) => break,
                        }
                    }
                    Err(TryRecvError::Disconnected) => break,
                };
                if out.write_all(line.as_bytes()).is_err() {
                    broken.store(true, Ordering::Release);
                    return;
                }
            }
            if out.flush().is_err() {
                broken.store(true, Ordering::Release);
            }
        })
}
