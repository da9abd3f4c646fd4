//! The captures of one `serve`: each runs on its own thread, at most [`MAX_RUNNING`] at
//! once; more wait in a queue (`capture_queued` with their position, sent again whenever the
//! queue moves) and start in order as slots free. `capture_stop` ends a running capture (its
//! file closed and reported, then `capture_done`) or takes a queued one out of the queue
//! (`capture_done{stopped}`). [`Manager::shutdown`] stops everything and waits.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::thread::JoinHandle;

use ktui_wire::{CaptureEnd, CaptureSpec, CaptureStats, ErrorCode, ErrorReply, HelperMessage};

use super::{Env, StopFlag, session};

pub const MAX_RUNNING: usize = 4;

/// Called (from the capture's thread) when a capture's last message is sent.
pub type OnEnd = Arc<dyn Fn(u64) + Send + Sync>;

struct Running {
    stop: StopFlag,
    thread: JoinHandle<()>,
}

pub struct Manager {
    env: Arc<Env>,
    out: SyncSender<String>,
    on_end: OnEnd,
    running: HashMap<u64, Running>,
    queue: VecDeque<(u64, CaptureSpec)>,
}

impl Manager {
    pub fn new(env: Env, out: SyncSender<String>, on_end: OnEnd) -> Manager {
        Manager {
            env: Arc::new(env),
            out,
            on_end,
            running: HashMap::new(),
            queue: VecDeque::new(),
        }
    }

    fn send(&self, msg: &HelperMessage) {
        let _ = self.out.send(ktui_wire::encode(msg));
    }

    fn error(&self, id: u64, message: String) {
        self.send(&HelperMessage::Error(ErrorReply {
            code: ErrorCode::BadRequest,
            message,
            id: Some(id),
        }));
    }

    pub fn running(&self) -> usize {
        self.running.len()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// `capture_start`.
    pub fn start(&mut self, id: u64, spec: CaptureSpec) {
        if self.running.contains_key(&id) || self.queue.iter().any(|(q, _)| *q == id) {
            self.error(
                id,
                format!("capture {id} is already running or queued: use another id"),
            );
            return;
        }
        if self.running.len() < MAX_RUNNING {
            self.spawn(id, spec);
        } else {
            self.queue.push_back((id, spec));
            self.send(&HelperMessage::CaptureQueued {
                id,
                position: self.queue.len() as u32,
            });
        }
    }

    fn spawn(&mut self, id: u64, spec: CaptureSpec) {
        let stop = StopFlag::default();
        let (env, out, on_end, flag) = (
            self.env.clone(),
            self.out.clone(),
            self.on_end.clone(),
            stop.clone(),
        );
        let spawned = std::thread::Builder::new()
            .name(format!("ktui-capture-{id}"))
            .spawn(move || {
                let _ = session::run(id, &spec, &env, &out, &flag);
                on_end(id);
            });
        match spawned {
            Ok(thread) => {
                self.running.insert(id, Running { stop, thread });
            }
            Err(e) => self.send(&HelperMessage::Error(ErrorReply {
                code: ErrorCode::Internal,
                message: format!("capture {id}: cannot start its thread: {e}"),
                id: Some(id),
            })),
        }
    }

    /// `capture_stop`.
    pub fn stop(&mut self, id: u64) {
        if let Some(r) = self.running.get(&id) {
            r.stop.stop();
            return;
        }
        if let Some(pos) = self.queue.iter().position(|(q, _)| *q == id) {
            self.queue.remove(pos);
            self.done_unstarted(id, CaptureEnd::Stopped);
            self.announce_positions(pos);
            return;
        }
        self.error(id, format!("no capture {id} is running or queued"));
    }

    fn done_unstarted(&self, id: u64, end: CaptureEnd) {
        self.send(&HelperMessage::CaptureDone {
            id,
            end,
            stats: CaptureStats::default(),
            message: None,
        });
    }

    /// Tell every queued capture from index `from` on its new position.
    fn announce_positions(&self, from: usize) {
        for (i, (id, _)) in self.queue.iter().enumerate().skip(from) {
            self.send(&HelperMessage::CaptureQueued {
                id: *id,
                position: i as u32 + 1,
            });
        }
    }

    /// A capture's thread reported its end: join it and start the next queued ones.
    pub fn ended(&mut self, id: u64) {
        if let Some(r) = self.running.remove(&id) {
            let _ = r.thread.join();
        }
        let mut moved = false;
        while self.running.len() < MAX_RUNNING {
            let Some((next, spec)) = self.queue.pop_front() else {
                break;
            };
            self.spawn(next, spec);
            moved = true;
        }
        if moved {
            self.announce_positions(0);
        }
    }

    /// Stop every capture (queued ones end with `shutdown` at once) and wait for the running
    /// ones to close and report their files.
    pub fn shutdown(&mut self) {
        for (id, _) in std::mem::take(&mut self.queue) {
            self.done_unstarted(id, CaptureEnd::Shutdown);
        }
        for r in self.running.values() {
            r.stop.shutdown();
        }
        for (_, r) in self.running.drain() {
            let _ = r.thread.join();
        }
    }
}
