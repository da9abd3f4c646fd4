//! Packet capture: a `CaptureSpec` in, wire messages out (`capture_started`, `packet`,
//! `capture_stats` every second, `capture_file` per closed file, `capture_done` last).
//!
//! - [`target`]: the namespace (explicit file, or a pod through its cgroup's process);
//! - [`point`]: where to capture (host veth with NET_RAW, else inside the namespace with
//!   SYS_ADMIN through a setns thread), over [`rtnl`];
//! - [`ring`]: the AF_PACKET TPACKET_V3 socket, [`bpf`] its filter, [`plan`] what is bound
//!   and how the files are laid out;
//! - [`link`] and [`vlan`]: frames as pcap expects them (link types, VLAN tags put back);
//! - [`files`] and [`writer`]: pcap / pcapng files, rotation, SHA-256 as written;
//! - [`summaries`]: rate-capped live summaries; [`session`]: the capture loop;
//! - [`manager`]: bounded concurrency and the queue (serve); [`cli`]: `ktui-helper capture`.

pub mod bpf;
pub mod cli;
pub mod error;
pub mod files;
pub mod frames;
pub mod link;
pub mod manager;
pub mod plan;
pub mod point;
pub mod ring;
pub mod rtnl;
pub mod session;
pub mod summaries;
pub mod target;
pub mod vlan;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use ktui_wire::CaptureEnd;

use crate::caps::Caps;
use crate::k8s::Roots;

pub use error::CaptureError;

/// What every capture of this helper shares.
#[derive(Debug, Clone)]
pub struct Env {
    /// `$KTUI_CAPTURE_DIR`, default /var/run/ktui/captures.
    pub dir: PathBuf,
    pub roots: Roots,
    pub caps: Caps,
}

impl Env {
    pub fn from_env() -> Env {
        Env {
            dir: crate::fetch::roots::capture_dir(),
            roots: Roots::from_env(),
            caps: Caps::current(),
        }
    }
}

/// Whether the helper can capture at all (NET_RAW effective).
pub fn available(caps: Caps) -> bool {
    caps.has(crate::caps::CAP_NET_RAW)
}

/// Asks a running capture to end, and why.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicU8>);

const RUNNING: u8 = 0;
const STOPPED: u8 = 1;
const SHUTDOWN: u8 = 2;

impl StopFlag {
    /// `capture_stop` (or SIGINT for the CLI).
    pub fn stop(&self) {
        let _ = self
            .0
            .compare_exchange(RUNNING, STOPPED, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The helper is shutting down (stdin EOF, SIGTERM).
    pub fn shutdown(&self) {
        let _ = self
            .0
            .compare_exchange(RUNNING, SHUTDOWN, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn requested(&self) -> Option<CaptureEnd> {
        match self.0.load(Ordering::Acquire) {
            STOPPED => Some(CaptureEnd::Stopped),
            SHUTDOWN => Some(CaptureEnd::Shutdown),
            _ => None,
        }
    }
}
