//! `ktui-helper capture`: one capture run as `serve` runs `capture_start`, its messages
//! printed as JSON lines on stdout; SIGINT/SIGTERM stop it (files closed and reported).
//! Exit 0 when it ran to an end other than an error, 1 otherwise.

use std::process::ExitCode;
use std::sync::mpsc;

use ktui_wire::{CaptureEnd, CaptureSpec, CaptureTarget, HEADERS_ONLY_SNAPLEN};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::session::{self, Outcome};
use super::{Env, StopFlag};
use crate::cli::PacketCaptureArgs;

/// Lines buffered for stdout.
const CHANNEL_LINES: usize = 16 * 1024;

/// The request the arguments describe.
pub fn spec_of(args: &PacketCaptureArgs) -> CaptureSpec {
    let target = match (&args.netns, &args.pod_uid) {
        (Some(path), _) => CaptureTarget::Netns { path: path.clone() },
        (None, Some(uid)) => CaptureTarget::Pod { uid: uid.clone() },
        (None, None) => CaptureTarget::Netns {
            path: "/proc/self/ns/net".into(),
        },
    };
    let mut spec = CaptureSpec::new(target);
    spec.interface = args.interface.clone();
    spec.snaplen = if args.headers_only {
        HEADERS_ONLY_SNAPLEN
    } else {
        args.snaplen
    };
    spec.filter = args.filter.clone();
    spec.max_packets = args.max_packets;
    spec.max_bytes = args.max_bytes;
    spec.duration_ms = args.duration.map(|d| d.as_millis() as u64);
    spec.rotate_bytes = args.rotate_bytes;
    spec.rotate_files = args.rotate_files;
    spec.summaries = !args.no_summaries;
    spec.summaries_per_sec = args.summaries_per_sec;
    spec.label = args.label.clone();
    spec
}

pub fn run(args: &PacketCaptureArgs) -> ExitCode {
    let mut env = Env::from_env();
    if let Some(dir) = &args.dir {
        env.dir = dir.clone();
    }
    let stop = StopFlag::default();
    let handle = match Signals::new([SIGTERM, SIGINT]) {
        Ok(mut signals) => {
            let handle = signals.handle();
            let flag = stop.clone();
            let _ = std::thread::Builder::new()
                .name("ktui-signals".into())
                .spawn(move || {
                    if signals.forever().next().is_some() {
                        flag.stop();
                    }
                });
            Some(handle)
        }
        Err(e) => {
            eprintln!("ktui-helper capture: cannot install signal handlers: {e}");
            None
        }
    };
    let (tx, rx) = mpsc::sync_channel::<String>(crate::pipeline::channel_batches(CHANNEL_LINES));
    let broken = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = match crate::pipeline::spawn_writer(rx, std::io::stdout(), broken) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ktui-helper capture: cannot start the writer thread: {e}");
            return ExitCode::from(1);
        }
    };
    let outcome = session::run(args.id, &spec_of(args), &env, &tx, &stop);
    drop(tx);
    let _ = writer.join();
    if let Some(h) = handle {
        h.close();
    }
    match outcome {
        Outcome::Done(end) if end != CaptureEnd::Error => ExitCode::SUCCESS,
        Outcome::Done(_) => {
            eprintln!("ktui-helper capture: the capture ended with an error (see capture_done)");
            ExitCode::from(1)
        }
        Outcome::Refused => {
            eprintln!("ktui-helper capture: the capture could not start (see the error line)");
            ExitCode::from(1)
        }
    }
}
