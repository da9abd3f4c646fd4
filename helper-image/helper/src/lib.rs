//! ktui-helper: the node-side helper of ktui. eBPF socket probes (helper-image/ebpf) loaded
//! with aya, their records turned into `ktui_wire::SocketEvent` lines (`trace`) or wire
//! protocol messages (`serve`).
//!
//! `snapshot` writes a live snapshot of a container as a tar (see [`snapshot`]).
//!
//! Data path: kernel programs (filters, sampling, rate limit, counters, before the ring buffer
//! reserve) → ring buffer → reader thread ([`pipeline`]: decode, fold drops, convert with
//! Kubernetes identity, encode) → bounded channel (full = dropped and counted) → writer thread
//! → stdout.
//!
//! Environment: `KTUI_CGROUP_ROOT` (default /sys/fs/cgroup), `KTUI_POD_LOG_ROOT`
//! (/var/log/pods), `KTUI_CONTAINER_LOG_ROOT` (/var/log/containers), `KTUI_PROC_ROOT` (/proc),
//! `KTUI_CHECKPOINT_DIR` (/var/lib/kubelet/checkpoints), `KTUI_CAPTURE_DIR`
//! (/var/run/ktui/captures; with the checkpoint dir, what `fetch` and `rm` may touch),
//! `KTUI_KMSG` (/dev/kmsg), `NODE_NAME` (hello's node).

pub mod btf;
pub mod caps;
pub mod capture;
pub mod cli;
pub mod conntrack;
pub mod dns;
pub mod dns_rtt;
pub mod engine;
pub mod events;
pub mod fetch;
pub mod guard;
pub mod idle;
pub mod k8s;
pub mod netfmt;
pub mod netlink;
pub mod pipeline;
pub mod probes;
pub mod seed;
pub mod serve;
pub mod snapshot;
pub mod trace;
pub mod tracefs;
