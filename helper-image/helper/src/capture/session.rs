//! One capture from start to end, on the calling thread: set up (target, capture point,
//! filter, ring, first file), `capture_started`, then the loop (blocks from the ring → files
//! and summaries; stats every second; the target re-checked every 2 s; limits), and at the
//! end the last `capture_file` then `capture_done`. A capture that cannot start sends one
//! `error` with its id instead (not_permitted names the missing capability).

use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use ktui_packet::filter::Filter;
use ktui_wire::{
    CaptureEnd, CaptureInterface, CaptureMode, CaptureSpec, CaptureStats, ErrorReply, HelperMessage,
};

use super::error::{CaptureError, Result};
use super::files::{ClosedFile, FileFormat, FileSet, FileSetSpec, sanitize_label};
use super::frames::Framer;
use super::plan::plan;
use super::point::{self, Point};
use super::ring::{BLOCK_COUNT, BLOCK_TIMEOUT_MS, MAX_SNAPLEN, PacketSocket};
use super::rtnl::Link;
use super::summaries::Summaries;
use super::target::Target;
use super::{Env, StopFlag};

const POLL_MS: i32 = 100;
const ALIVE_EVERY: Duration = Duration::from_secs(2);

/// How a capture ended (after its messages were sent).
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It could not start: an `error` was sent.
    Refused,
    Done(CaptureEnd),
}

fn send(out: &SyncSender<String>, msg: &HelperMessage) {
    let _ = out.send(ktui_wire::encode(msg));
}

/// Run capture `id` to its end.
pub fn run(
    id: u64,
    spec: &CaptureSpec,
    env: &Env,
    out: &SyncSender<String>,
    stop: &StopFlag,
) -> Outcome {
    let mut prepared = match prepare(id, spec, env) {
        Ok(p) => p,
        Err(e) => {
            send(
                out,
                &HelperMessage::Error(ErrorReply {
                    code: e.code(),
                    message: format!("capture {id}: {e}"),
                    id: Some(id),
                }),
            );
            return Outcome::Refused;
        }
    };
    send(
        out,
        &HelperMessage::CaptureStarted {
            id,
            mode: prepared.mode,
            interfaces: prepared
                .files
                .interfaces()
                .iter()
                .map(|i| CaptureInterface {
                    name: i.name.clone(),
                    linktype: i.linktype,
                })
                .collect(),
            format: prepared.files.format_name().to_string(),
            dir: env.dir.display().to_string(),
        },
    );
    let (mut end, mut message) = prepared.run_loop(spec, out, stop);
    match prepared.files.close() {
        Ok(Some(f)) => prepared.report(out, &f, true),
        Ok(None) => {}
        Err(e) => {
            end = CaptureEnd::Error;
            message = Some(e.to_string());
        }
    }
    prepared.update_drops();
    let stats = prepared.stats();
    send(
        out,
        &HelperMessage::CaptureDone {
            id,
            end,
            stats,
            message,
        },
    );
    Outcome::Done(end)
}

struct Prepared {
    id: u64,
    mode: CaptureMode,
    target: Target,
    point_rtnl: super::rtnl::Rtnl,
    bound: Option<Link>,
    sock: PacketSocket,
    files: FileSet,
    framer: Framer,
    summaries: Option<Summaries>,
    stats: CaptureStats,
}

fn prepare(id: u64, spec: &CaptureSpec, env: &Env) -> Result<Prepared> {
    if spec.snaplen == 0 {
        return Err(CaptureError::BadRequest(
            "snaplen 0 captures nothing: give at least 1 (128 keeps headers only)".into(),
        ));
    }
    let snaplen = spec.snaplen.min(MAX_SNAPLEN);
    let filter = match spec.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        Some(text) => Some(
            Filter::parse(text)
                .map_err(|e| CaptureError::BadRequest(format!("filter {text:?}: {e}")))?,
        ),
        None => None,
    };
    let target = Target::open(&spec.target, env.roots.clone())?;
    let mut point = point::open(&target, spec.interface.as_deref(), env.caps)?;
    let plan = plan(&mut point, filter.as_ref(), snaplen)?;
    let Point {
        mode,
        socket,
        rtnl,
        link,
    } = point;
    let sock = PacketSocket::setup(socket, &plan.program, snaplen, plan.ifindex)
        .map_err(|e| CaptureError::os("setting up the capture socket", e, "CAP_NET_RAW"))?;
    let single = matches!(plan.format, FileFormat::Pcap { .. });
    let files = FileSet::create(FileSetSpec {
        dir: &env.dir,
        label: &sanitize_label(spec.label.as_deref()),
        id,
        format: plan.format,
        snaplen,
        rotate_bytes: spec.rotate_bytes,
        rotate_files: spec.rotate_files,
        interfaces: plan.interfaces,
    })?;
    Ok(Prepared {
        id,
        mode,
        target,
        point_rtnl: rtnl,
        bound: link,
        sock,
        files,
        framer: Framer::new(snaplen, single, &plan.links),
        summaries: None,
        stats: CaptureStats::default(),
    })
}

impl Prepared {
    fn stats(&self) -> CaptureStats {
        let mut s = self.stats;
        if let Some(sum) = &self.summaries {
            s.summarized = sum.summarized;
            s.sampled_out = sum.sampled_out;
        }
        s.files = self.files.files_closed;
        s.files_lost = self.files.files_lost;
        s
    }

    fn update_drops(&mut self) {
        if let Ok(d) = self.sock.drops() {
            self.stats.kernel_drops += d;
        }
    }

    fn report(&self, out: &SyncSender<String>, f: &ClosedFile, last: bool) {
        send(
            out,
            &HelperMessage::CaptureFile {
                id: self.id,
                seq: f.seq,
                path: f.path.display().to_string(),
                bytes: f.bytes,
                packets: f.packets,
                sha256: f.sha256.clone(),
                first_n: f.first_n,
                last_n: f.last_n,
                last,
            },
        );
    }

    /// The bound interface is gone (not merely down).
    fn bound_gone(&mut self) -> bool {
        match &self.bound {
            Some(l) => matches!(self.point_rtnl.link(l.index), Ok(None)),
            None => false,
        }
    }

    fn run_loop(
        &mut self,
        spec: &CaptureSpec,
        out: &SyncSender<String>,
        stop: &StopFlag,
    ) -> (CaptureEnd, Option<String>) {
        if spec.summaries {
            self.summaries = Some(Summaries::new(self.id, out.clone(), spec.summaries_per_sec));
        }
        let start = Instant::now();
        let deadline = spec.duration_ms.map(|ms| start + Duration::from_millis(ms));
        let mut next_stats = start + Duration::from_secs(1);
        let mut next_alive = start + ALIVE_EVERY;
        loop {
            let now = Instant::now();
            let ending = stop.requested().or_else(|| {
                deadline
                    .is_some_and(|d| now >= d)
                    .then_some(CaptureEnd::Duration)
            });
            if let Some(end) = ending {
                return self.last_blocks(spec, out).unwrap_or((end, None));
            }
            if now >= next_stats {
                next_stats += Duration::from_secs(1);
                self.update_drops();
                let msg = HelperMessage::CaptureStats {
                    id: self.id,
                    stats: self.stats(),
                };
                // Stats are superseded a second later: never wait for room.
                let _ = out.try_send(ktui_wire::encode(&msg));
            }
            if now >= next_alive {
                next_alive += ALIVE_EVERY;
                if !self.target.alive() || self.bound_gone() {
                    return (
                        CaptureEnd::TargetGone,
                        Some(format!("{} is gone", self.target.what)),
                    );
                }
            }
            let wait = deadline
                .map(|d| {
                    d.saturating_duration_since(now)
                        .as_millis()
                        .min(POLL_MS as u128) as i32
                })
                .unwrap_or(POLL_MS);
            match self.sock.wait(wait.max(1)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => {
                    if self.bound_gone() {
                        return (
                            CaptureEnd::TargetGone,
                            Some(format!("the interface captured on is gone ({e})")),
                        );
                    }
                    // Down, not gone: the socket resumes when it comes back up.
                    std::thread::sleep(Duration::from_millis(POLL_MS as u64));
                    continue;
                }
                Err(e) => return (CaptureEnd::Error, Some(format!("capture socket: {e}"))),
            }
            if let Some(end) = self.drain(spec, out) {
                return end;
            }
        }
    }

    /// What arrived before the stop: the kernel hands over the block it is filling within
    /// its timeout; every block ready then is written (a limit may still end it first).
    fn last_blocks(
        &mut self,
        spec: &CaptureSpec,
        out: &SyncSender<String>,
    ) -> Option<(CaptureEnd, Option<String>)> {
        std::thread::sleep(Duration::from_millis(u64::from(BLOCK_TIMEOUT_MS) + 10));
        for _ in 0..BLOCK_COUNT {
            if !matches!(self.sock.wait(0), Ok(true)) {
                break;
            }
            if let Some(end) = self.drain(spec, out) {
                return Some(end);
            }
        }
        None
    }

    /// One block from the ring; Some when the capture has to end.
    fn drain(
        &mut self,
        spec: &CaptureSpec,
        out: &SyncSender<String>,
    ) -> Option<(CaptureEnd, Option<String>)> {
        let mut end: Option<(CaptureEnd, Option<String>)> = None;
        let now = Instant::now();
        let Prepared {
            sock,
            files,
            framer,
            summaries,
            stats,
            point_rtnl,
            ..
        } = self;
        let mut closed: Vec<ClosedFile> = Vec::new();
        sock.drain_block(|frame| {
            if end.is_some() {
                return;
            }
            let Some(pkt) = framer.frame(frame, files, point_rtnl) else {
                return;
            };
            let pkt = match pkt {
                Ok(p) => p,
                Err(e) => {
                    end = Some((CaptureEnd::Error, Some(e.to_string())));
                    return;
                }
            };
            let caplen = pkt.data.len() as u64;
            if spec.max_bytes.is_some_and(|max| stats.bytes + caplen > max) {
                end = Some((CaptureEnd::MaxBytes, None));
                return;
            }
            let n = stats.packets + 1;
            let ts = Duration::new(u64::from(frame.sec), frame.nsec);
            match files.write(n, pkt.interface, ts, pkt.orig_len, pkt.data) {
                Ok(Some(c)) => closed.push(c),
                Ok(None) => {}
                Err(e) => {
                    end = Some((CaptureEnd::Error, Some(e.to_string())));
                    return;
                }
            }
            stats.packets = n;
            stats.bytes += caplen;
            stats.wire_bytes += u64::from(pkt.orig_len);
            if let Some(s) = summaries.as_mut()
                && s.admit(now)
            {
                let summary = ktui_packet::summarize(pkt.link, pkt.data, pkt.orig_len);
                let ts_ns = u64::from(frame.sec) * 1_000_000_000 + u64::from(frame.nsec);
                s.push(&summary, n, ts_ns);
            }
            if spec.max_packets.is_some_and(|max| n >= max) {
                end = Some((CaptureEnd::MaxPackets, None));
            }
        });
        if let Some(s) = self.summaries.as_mut() {
            s.flush();
        }
        for c in &closed {
            self.report(out, c, false);
        }
        end
    }
}
