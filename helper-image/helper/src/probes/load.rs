//! Loading ktui.bpf.o, attaching the selected programs (falling back to the next viable
//! variant when one fails), and the handles user space needs: config and filter maps,
//! counters, and the ring buffer. Dropping the [`Session`] detaches everything; nothing is
//! ever pinned.

use std::collections::{BTreeSet, HashMap as StdHashMap};
use std::time::{Duration, Instant};

use aya::maps::{Array, HashMap, MapData, PerCpuArray, RingBuf};
use aya::programs::{BtfTracePoint, FEntry, FExit, KProbe, TracePoint};
use aya::{Ebpf, EbpfLoader};
use ktui_wire::ProbeStatus;

use super::facts;
use super::select::{self, Attach, Candidate, ProgramRef, Selection};
use crate::btf::Btf;
use crate::events::layout::{
    self, CTR_AGGREGATED, CTR_GENERATED, CTR_LOST, CTR_RATE_LIMITED, CTR_SAMPLED_OUT, KtuiAgg,
    KtuiConfig, KtuiOwner, KtuiPortSet, ListenKey,
};
use crate::tracefs;

/// The compiled object (built or copied into OUT_DIR by build.rs).
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ktui.bpf.o"));

/// Smallest ring buffer the kernel accepts (one page).
pub const MIN_RINGBUF_BYTES: u32 = 4096;
pub const DEFAULT_RINGBUF_BYTES: u32 = 4 << 20;

/// Ring buffer size: a power of two, at least one page.
pub fn ringbuf_size(requested: u32) -> u32 {
    requested
        .max(MIN_RINGBUF_BYTES)
        .checked_next_power_of_two()
        .unwrap_or(1 << 30)
}

/// Kernel-side counters, summed over CPUs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelCounters {
    /// Events past the filters with a record of their own (sampled out, rate limited and
    /// lost ones included); folded repeats are `aggregated` instead.
    pub generated: u64,
    pub sampled_out: u64,
    pub rate_limited: u64,
    pub lost: u64,
    pub aggregated: u64,
}

/// A flow's repeats within this window fold into its first event's count (storms).
pub const AGG_WINDOW: Duration = Duration::from_secs(1);

/// The per-CPU table of folded flows (read and reported by the reader thread).
pub type AggMap = PerCpuArray<MapData, KtuiAgg>;

/// How often the fold's clock is advanced: the resolution of a folded line's first and last
/// time (records keep the kernel's own nanosecond time).
pub const FOLD_CLOCK_EVERY: Duration = Duration::from_millis(5);

/// The fold's clock (map `agg_clock`): user space writes CLOCK_MONOTONIC into it every
/// [`FOLD_CLOCK_EVERY`], so a folded repeat costs the kernel no clock read. While it reads 0
/// (not started, or stopped) nothing folds.
pub struct FoldClock(Array<MapData, u64>);

impl FoldClock {
    pub fn tick(&mut self) {
        let now = crate::netfmt::clock_ns(libc::CLOCK_MONOTONIC);
        let _ = self.0.set(0, u64::try_from(now).unwrap_or(0), 0);
    }

    pub fn stop(&mut self) {
        let _ = self.0.set(0, 0, 0);
    }
}

/// Filters in the form the eBPF side applies them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFilter {
    pub enabled: bool,
    pub ports: BTreeSet<u16>,
    /// None = all namespaces. Some(empty) = none (a pod filter that resolved to nothing).
    pub netns: Option<BTreeSet<u32>>,
    pub tcp: bool,
    pub udp: bool,
    pub dns_only: bool,
    pub sample: u32,
    /// Events per second over all CPUs; None = unlimited.
    pub rate_limit: Option<u32>,
    pub drop_unspecified: bool,
    /// Report every event on its own, even in a storm (no folding in the kernel).
    pub no_aggregate: bool,
    /// Do not read the owner's security context (seccomp mode, capabilities).
    pub no_sec: bool,
}

/// What loading reports, whether or not it worked.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub probes: Vec<ProbeStatus>,
    /// Program load + attach wall time.
    pub load_time: Duration,
}

pub struct Session {
    /// Owns the programs and their links (dropping it detaches them).
    _bpf: Ebpf,
    config: Array<MapData, KtuiConfig>,
    filter_ports: Array<MapData, KtuiPortSet>,
    filter_netns: HashMap<MapData, u32, u8>,
    counters: PerCpuArray<MapData, u64>,
    ring: Option<RingBuf<MapData>>,
    agg: Option<AggMap>,
    fold_clock: Option<FoldClock>,
    ring_bytes: u32,
    nr_cpus: u32,
    pub report: LoadReport,
    /// `enum skb_drop_reason` value → name without the SKB_DROP_REASON_ prefix.
    pub drop_reasons: StdHashMap<u32, String>,
}

/// Drop reason names from the kernel's BTF.
pub fn drop_reason_names(vmlinux: Option<&Btf>) -> StdHashMap<u32, String> {
    vmlinux
        .and_then(|btf| btf.enum_values("skb_drop_reason"))
        .map(|values| {
            values
                .into_iter()
                .filter_map(|(name, value)| {
                    let short = name
                        .strip_prefix("SKB_DROP_REASON_")
                        .or_else(|| name.strip_prefix("SKB_"))
                        .unwrap_or(&name)
                        .to_string();
                    u32::try_from(value).ok().map(|v| (v, short))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn take<T>(bpf: &mut Ebpf, name: &str) -> Result<T, String>
where
    T: TryFrom<aya::maps::Map>,
    <T as TryFrom<aya::maps::Map>>::Error: std::fmt::Display,
{
    let map = bpf
        .take_map(name)
        .ok_or_else(|| format!("map {name} is missing from the eBPF object"))?;
    T::try_from(map).map_err(|e| format!("map {name}: {e}"))
}

impl Session {
    /// Check the object, pick and attach probes, and open the maps. The config starts
    /// disabled: nothing is emitted until [`Session::configure`] enables it.
    pub fn open(ringbuf_bytes: u32) -> Result<Session, String> {
        let started = Instant::now();
        layout::check(&layout::object_btf(OBJECT)?)?;
        let tracefs_root = tracefs::find_or_mount();
        let vmlinux_raw = std::fs::read("/sys/kernel/btf/vmlinux").ok();
        let vmlinux = vmlinux_raw.as_deref().and_then(|d| Btf::parse(d).ok());
        let aya_btf = aya::Btf::from_sys_fs().ok();
        if aya_btf.is_none() {
            return Err(
                "the kernel has no BTF (/sys/kernel/btf/vmlinux): ktui-helper's CO-RE \
                        programs need CONFIG_DEBUG_INFO_BTF=y"
                    .to_string(),
            );
        }
        let catalog = select::catalog();
        let facts = facts::detect(tracefs_root.as_deref().ok(), vmlinux.as_ref(), &catalog);
        let selections = select::select(&catalog, &facts);

        let size = ringbuf_size(ringbuf_bytes);
        let mut bpf = EbpfLoader::new()
            .btf(aya_btf.as_ref())
            .map_max_entries("events", size)
            .load(OBJECT)
            .map_err(|e| format!("loading the eBPF object failed: {}", error_chain(&e)))?;

        let mut attached: BTreeSet<&'static str> = BTreeSet::new();
        let mut probes = Vec::new();
        for sel in &selections {
            probes.push(attach_selection(
                &mut bpf,
                sel,
                aya_btf.as_ref(),
                &mut attached,
                tracefs_root.as_ref().err(),
            ));
        }
        if attached.is_empty() {
            let why: Vec<String> = probes
                .iter()
                .filter_map(|p| p.error.as_ref().map(|e| format!("{}: {e}", p.name)))
                .collect();
            return Err(format!(
                "no eBPF probe could be attached ({})",
                why.join("; ")
            ));
        }

        // Listeners older than this session: their owners, from /proc.
        if let Ok(mut listen_owner) =
            take::<HashMap<MapData, ListenKey, KtuiOwner>>(&mut bpf, "listen_owner")
        {
            for (key, owner) in crate::seed::listeners(&crate::k8s::Roots::from_env().proc) {
                let _ = listen_owner.insert(key, owner, 0);
            }
        }
        let config = take(&mut bpf, "ktui_cfg")?;
        let filter_ports = take(&mut bpf, "filter_ports")?;
        let filter_netns = take(&mut bpf, "filter_netns")?;
        let counters = take(&mut bpf, "counters")?;
        let ring = take(&mut bpf, "events")?;
        let agg = take(&mut bpf, "agg")?;
        let fold_clock = FoldClock(take(&mut bpf, "agg_clock")?);
        let nr_cpus = aya::util::nr_cpus().map(|n| n as u32).unwrap_or(1).max(1);
        Ok(Session {
            _bpf: bpf,
            config,
            filter_ports,
            filter_netns,
            counters,
            ring: Some(ring),
            agg: Some(agg),
            fold_clock: Some(fold_clock),
            ring_bytes: size,
            nr_cpus,
            report: LoadReport {
                probes,
                load_time: started.elapsed(),
            },
            drop_reasons: drop_reason_names(vmlinux.as_ref()),
        })
    }

    /// The ring buffer, for the reader thread (once).
    pub fn take_ring(&mut self) -> Option<RingBuf<MapData>> {
        self.ring.take()
    }

    /// The folded flows, for the reader thread (once).
    pub fn take_agg(&mut self) -> Option<AggMap> {
        self.agg.take()
    }

    /// The fold's clock, for the thread that advances it (once).
    pub fn take_fold_clock(&mut self) -> Option<FoldClock> {
        self.fold_clock.take()
    }

    /// Apply filters: maps first, then the config word (so a narrower filter never leaks).
    pub fn configure(&mut self, f: &KernelFilter) -> Result<(), String> {
        // Disable while the filter maps change.
        self.config
            .set(0, KtuiConfig::default(), 0)
            .map_err(|e| format!("writing the eBPF config failed: {e}"))?;
        if !f.enabled {
            return Ok(());
        }
        self.filter_ports
            .set(0, KtuiPortSet::of(f.ports.iter().copied()), 0)
            .map_err(|e| format!("writing the port filter failed: {e}"))?;
        let old_ns: Vec<u32> = self.filter_netns.keys().filter_map(Result::ok).collect();
        for n in old_ns {
            let _ = self.filter_netns.remove(&n);
        }
        if let Some(netns) = &f.netns {
            for n in netns {
                self.filter_netns
                    .insert(n, 1, 0)
                    .map_err(|e| format!("netns filter {n}: {e} (at most 256 namespaces)"))?;
            }
        }
        let mut flags = layout::CFG_ENABLED;
        if !f.ports.is_empty() {
            flags |= layout::CFG_FILTER_PORTS;
        }
        if f.netns.is_some() {
            flags |= layout::CFG_FILTER_NETNS;
        }
        if f.dns_only {
            flags |= layout::CFG_DNS_ONLY;
        }
        if f.tcp != f.udp {
            flags |= if f.tcp {
                layout::CFG_PROTO_TCP
            } else {
                layout::CFG_PROTO_UDP
            };
        }
        if f.drop_unspecified {
            flags |= layout::CFG_DROP_UNSPECIFIED;
        }
        if f.no_sec {
            flags |= layout::CFG_NO_SEC;
        }
        let (rate, burst) = match f.rate_limit {
            Some(total) => {
                // Per-CPU buckets: each CPU gets its share (rounded up) of the global rate.
                let per_cpu = u64::from(total).div_ceil(u64::from(self.nr_cpus)).max(1);
                (per_cpu, per_cpu)
            }
            None => (0, 0),
        };
        let cfg = KtuiConfig {
            flags,
            sample_n: f.sample,
            rate_per_sec: rate,
            burst,
            agg_window_ns: if f.no_aggregate {
                0
            } else {
                AGG_WINDOW.as_nanos() as u64
            },
            // Woken each time the unread data crosses a multiple of 1/16 of the ring (the
            // reader also polls every 100 ms): a storm costs a wake-up per batch, not per
            // record.
            wake_bytes: self.ring_bytes / 16,
            _pad: 0,
        };
        self.config
            .set(0, cfg, 0)
            .map_err(|e| format!("writing the eBPF config failed: {e}"))
    }

    pub fn counters(&self) -> KernelCounters {
        let sum = |idx: u32| -> u64 {
            self.counters
                .get(&idx, 0)
                .map(|values| values.iter().copied().fold(0u64, u64::wrapping_add))
                .unwrap_or(0)
        };
        KernelCounters {
            generated: sum(CTR_GENERATED),
            sampled_out: sum(CTR_SAMPLED_OUT),
            rate_limited: sum(CTR_RATE_LIMITED),
            lost: sum(CTR_LOST),
            aggregated: sum(CTR_AGGREGATED),
        }
    }
}

/// Attach one program; Ok if it is (or already was) attached.
fn attach_program(
    bpf: &mut Ebpf,
    p: &ProgramRef,
    btf: Option<&aya::Btf>,
    attached: &mut BTreeSet<&'static str>,
) -> Result<bool, String> {
    if attached.contains(p.program) {
        return Ok(false);
    }
    let label = p.attach.label();
    let program = bpf
        .program_mut(p.program)
        .ok_or_else(|| format!("program {} is missing from the eBPF object", p.program))?;
    let fail = |what: &str, e: &dyn std::fmt::Display| format!("{label}: {what} failed: {e}");
    match &p.attach {
        Attach::Tracepoint { category, name } => {
            let prog: &mut TracePoint = program.try_into().map_err(|e| fail("program type", &e))?;
            prog.load().map_err(|e| fail("load", &e))?;
            prog.attach(category, name)
                .map_err(|e| fail("attach", &e))?;
        }
        Attach::Kprobe { function, .. } => {
            let prog: &mut KProbe = program.try_into().map_err(|e| fail("program type", &e))?;
            prog.load().map_err(|e| fail("load", &e))?;
            prog.attach(function, 0).map_err(|e| fail("attach", &e))?;
        }
        Attach::BtfTracepoint { name } => {
            let btf = btf.ok_or_else(|| format!("{label}: no kernel BTF"))?;
            let prog: &mut BtfTracePoint =
                program.try_into().map_err(|e| fail("program type", &e))?;
            prog.load(name, btf).map_err(|e| fail("load", &e))?;
            prog.attach().map_err(|e| fail("attach", &e))?;
        }
        Attach::Fentry { function, exit } => {
            let btf = btf.ok_or_else(|| format!("{label}: no kernel BTF"))?;
            if *exit {
                let prog: &mut FExit = program.try_into().map_err(|e| fail("program type", &e))?;
                prog.load(function, btf).map_err(|e| fail("load", &e))?;
                prog.attach().map_err(|e| fail("attach", &e))?;
            } else {
                let prog: &mut FEntry = program.try_into().map_err(|e| fail("program type", &e))?;
                prog.load(function, btf).map_err(|e| fail("load", &e))?;
                prog.attach().map_err(|e| fail("attach", &e))?;
            }
        }
    }
    attached.insert(p.program);
    Ok(true)
}

/// Detach and unload programs attached for a candidate that then failed.
fn unload(bpf: &mut Ebpf, names: &[&'static str], attached: &mut BTreeSet<&'static str>) {
    for name in names {
        attached.remove(name);
        let Some(program) = bpf.program_mut(name) else {
            continue;
        };
        let _ = match program {
            aya::programs::Program::TracePoint(p) => p.unload(),
            aya::programs::Program::KProbe(p) => p.unload(),
            aya::programs::Program::FEntry(p) => p.unload(),
            aya::programs::Program::FExit(p) => p.unload(),
            aya::programs::Program::BtfTracePoint(p) => p.unload(),
            _ => Ok(()),
        };
    }
}

fn try_candidate(
    bpf: &mut Ebpf,
    c: &Candidate,
    btf: Option<&aya::Btf>,
    attached: &mut BTreeSet<&'static str>,
) -> Result<Vec<String>, String> {
    let mut new = Vec::new();
    let mut degraded = Vec::new();
    for p in &c.programs {
        match attach_program(bpf, p, btf, attached) {
            Ok(true) => new.push(p.program),
            Ok(false) => {}
            Err(e) if p.optional => degraded.push(e),
            Err(e) => {
                unload(bpf, &new, attached);
                return Err(e);
            }
        }
    }
    Ok(degraded)
}

fn attach_selection(
    bpf: &mut Ebpf,
    sel: &Selection,
    btf: Option<&aya::Btf>,
    attached: &mut BTreeSet<&'static str>,
    tracefs_error: Option<&String>,
) -> ProbeStatus {
    let mut notes: Vec<String> = sel.skipped.clone();
    for c in &sel.candidates {
        match try_candidate(bpf, c, btf, attached) {
            Ok(degraded) => {
                let mut error: Vec<String> = Vec::new();
                if c.rank > 0 {
                    error.push(format!("fallback: {}", notes.join("; ")));
                }
                error.extend(c.missing_optional.iter().map(|m| format!("degraded: {m}")));
                error.extend(degraded.into_iter().map(|m| format!("degraded: {m}")));
                if let Some(l) = c.limitation {
                    error.push(format!("limitation: {l}"));
                }
                return ProbeStatus {
                    name: sel.name.to_string(),
                    attach: Some(c.attach_label()),
                    fallback: c.rank > 0,
                    error: (!error.is_empty()).then(|| error.join("; ")),
                };
            }
            Err(e) => notes.push(e),
        }
    }
    if let Some(t) = tracefs_error {
        notes.push(t.clone());
    }
    ProbeStatus {
        name: sel.name.to_string(),
        attach: None,
        fallback: false,
        error: Some(if notes.is_empty() {
            "no way to attach this probe on this kernel".to_string()
        } else {
            notes.join("; ")
        }),
    }
}

/// An error with its sources (aya's top-level messages, such as "error relocating function",
/// name neither the function nor the relocation).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
