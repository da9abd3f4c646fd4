//! `#[repr(C)]` mirrors of the records in helper-image/ebpf/events.h, and the mechanical check
//! that they match: sizes and member offsets compared with the object's own BTF.

use std::mem::{offset_of, size_of};

use object::{Object as _, ObjectSection as _};

use crate::btf::Btf;

pub const KIND_TCP_STATE: u16 = 1;
pub const KIND_TCP_RETRANSMIT: u16 = 2;
pub const KIND_TCP_RESET: u16 = 3;
pub const KIND_CONNECT: u16 = 4;
pub const KIND_UDP_SEND: u16 = 5;
pub const KIND_UDP_RECV: u16 = 6;
pub const KIND_DNS: u16 = 7;
pub const KIND_DROP: u16 = 8;

pub const DIR_SEND: u8 = 1;
pub const DIR_RECV: u8 = 2;

pub const F_TRUNCATED: u8 = 0x08;

pub const CTR_GENERATED: u32 = 0;
pub const CTR_SAMPLED_OUT: u32 = 1;
pub const CTR_RATE_LIMITED: u32 = 2;
pub const CTR_LOST: u32 = 3;
pub const CTR_AGGREGATED: u32 = 4;

pub const CFG_ENABLED: u32 = 0x01;
pub const CFG_DNS_ONLY: u32 = 0x02;
pub const CFG_FILTER_PORTS: u32 = 0x04;
pub const CFG_FILTER_NETNS: u32 = 0x08;
pub const CFG_PROTO_TCP: u32 = 0x10;
pub const CFG_PROTO_UDP: u32 = 0x20;
pub const CFG_DROP_UNSPECIFIED: u32 = 0x40;
pub const CFG_NO_SEC: u32 = 0x80;

pub const DNS_PAYLOAD: usize = 256;

/// struct ktui_event
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiEvent {
    pub ts_ns: u64,
    pub sk: u64,
    pub cgroup_id: u64,
    pub bytes: u64,
    pub latency_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub netns: u32,
    pub err: i32,
    pub drop_reason: u32,
    pub kind: u16,
    pub family: u16,
    pub proto: u16,
    pub sport: u16,
    pub dport: u16,
    pub old_state: u8,
    pub new_state: u8,
    pub direction: u8,
    pub flags: u8,
    pub payload_len: u16,
    pub saddr: [u8; 16],
    pub daddr: [u8; 16],
    pub comm: [u8; 16],
    pub proc: KtuiProc,
}

/// struct ktui_proc: the owner's process context.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiProc {
    pub caps_eff: u64,
    pub gid: u32,
    pub ppid: u32,
    pub ns_net: u32,
    pub ns_mnt: u32,
    pub ns_pid: u32,
    pub ns_user: u32,
    pub seccomp_mode: u8,
    pub known: u8,
    pub sec_known: u8,
    pub _pad: [u8; 5],
    /// Kernel addresses the context was read from (compared in the kernel, never shown).
    pub cred: u64,
    pub nsproxy: u64,
}

/// struct ktui_dns_event
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KtuiDnsEvent {
    pub ev: KtuiEvent,
    pub payload: [u8; DNS_PAYLOAD],
}

/// struct ktui_config (map `ktui_cfg`)
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiConfig {
    pub flags: u32,
    pub sample_n: u32,
    pub rate_per_sec: u64,
    pub burst: u64,
    pub agg_window_ns: u64,
    pub wake_bytes: u32,
    pub _pad: u32,
}

// SAFETY: plain integers, no padding (checked against the BTF by `check`).
unsafe impl aya::Pod for KtuiConfig {}

/// struct ktui_owner (map `sock_owner`)
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiOwner {
    pub cgroup_id: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub _pad: u32,
    pub comm: [u8; 16],
    pub proc: KtuiProc,
}

/// struct listen_key (key of map `listen_owner`)
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ListenKey {
    pub netns: u32,
    pub port: u16,
    pub _pad: u16,
}

// SAFETY: plain integers, no padding (checked against the BTF by `check`).
unsafe impl aya::Pod for ListenKey {}
// SAFETY: as above.
unsafe impl aya::Pod for KtuiOwner {}

/// struct ktui_guard (map `guard_state`)
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiGuard {
    pub seq: u64,
    pub tokens: u64,
    pub last_ns: u64,
}

/// Slots of the per-CPU fold table (`KTUI_AGG_SLOTS`).
pub const AGG_SLOTS: u32 = 1024;

/// struct ktui_agg (a slot of map `agg`): the flow it holds, its window and its folded
/// repeats.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KtuiAgg {
    pub first: KtuiEvent,
    pub key: u64,
    pub generation: u64,
    pub window_ns: u64,
    /// Repeats folded in this slot, every flow it held (cumulative).
    pub count: u64,
    pub bytes: u64,
    /// `count`/`bytes` when the current flow took the slot over.
    pub taken_count: u64,
    pub taken_bytes: u64,
    pub first_ns: u64,
    pub last_ns: u64,
}

// SAFETY: plain integers, no padding (checked against the BTF by `check`).
unsafe impl aya::Pod for KtuiAgg {}

/// struct ktui_port_set (the one value of map `filter_ports`): one bit per port.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KtuiPortSet {
    pub bits: [u64; 1024],
}

impl KtuiPortSet {
    pub fn of(ports: impl IntoIterator<Item = u16>) -> Self {
        let mut set = Self { bits: [0; 1024] };
        for p in ports {
            set.bits[usize::from(p >> 6)] |= 1 << (p & 63);
        }
        set
    }

    pub fn contains(&self, port: u16) -> bool {
        self.bits[usize::from(port >> 6)] & (1 << (port & 63)) != 0
    }
}

// SAFETY: plain integers, no padding (checked against the BTF by `check`).
unsafe impl aya::Pod for KtuiPortSet {}

/// What the Rust side believes about one C struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub c_name: &'static str,
    pub size: usize,
    pub members: Vec<(&'static str, usize)>,
}

macro_rules! expected {
    ($c:literal, $t:ty, [$($f:ident),* $(,)?]) => {
        Expected {
            c_name: $c,
            size: size_of::<$t>(),
            members: vec![$((stringify!($f), offset_of!($t, $f))),*],
        }
    };
}

/// Every mirrored struct with its Rust size and member offsets.
pub fn expected() -> Vec<Expected> {
    vec![
        expected!(
            "ktui_event",
            KtuiEvent,
            [
                ts_ns,
                sk,
                cgroup_id,
                bytes,
                latency_ns,
                pid,
                tid,
                uid,
                netns,
                err,
                drop_reason,
                kind,
                family,
                proto,
                sport,
                dport,
                old_state,
                new_state,
                direction,
                flags,
                payload_len,
                saddr,
                daddr,
                comm,
                proc,
            ]
        ),
        expected!("ktui_dns_event", KtuiDnsEvent, [ev, payload]),
        expected!(
            "ktui_config",
            KtuiConfig,
            [
                flags,
                sample_n,
                rate_per_sec,
                burst,
                agg_window_ns,
                wake_bytes,
                _pad
            ]
        ),
        expected!(
            "ktui_agg",
            KtuiAgg,
            [
                first,
                key,
                generation,
                window_ns,
                count,
                bytes,
                taken_count,
                taken_bytes,
                first_ns,
                last_ns
            ]
        ),
        expected!(
            "ktui_owner",
            KtuiOwner,
            [cgroup_id, pid, tid, uid, _pad, comm, proc]
        ),
        expected!(
            "ktui_proc",
            KtuiProc,
            [
                caps_eff,
                gid,
                ppid,
                ns_net,
                ns_mnt,
                ns_pid,
                ns_user,
                seccomp_mode,
                known,
                sec_known,
                _pad,
                cred,
                nsproxy
            ]
        ),
        expected!("ktui_guard", KtuiGuard, [seq, tokens, last_ns]),
        expected!("ktui_port_set", KtuiPortSet, [bits]),
        expected!("listen_key", ListenKey, [netns, port, _pad]),
    ]
}

/// The `.BTF` section of an eBPF object file.
pub fn object_btf(object: &[u8]) -> Result<Btf, String> {
    let file = object::File::parse(object).map_err(|e| format!("not an ELF object: {e}"))?;
    let section = file
        .section_by_name(".BTF")
        .ok_or("the eBPF object has no .BTF section (build it with clang -g)")?;
    let data = section
        .data()
        .map_err(|e| format!("cannot read .BTF: {e}"))?;
    Btf::parse(data).map_err(|e| format!("cannot parse .BTF: {e}"))
}

/// Compare every mirror with the object's BTF: same size, same member names in the same
/// order at the same offsets. Lists every difference.
pub fn check(btf: &Btf) -> Result<(), String> {
    let mut problems = Vec::new();
    for exp in expected() {
        let Some(actual) = btf.struct_layout(exp.c_name) else {
            problems.push(format!(
                "struct {} is missing from the object's BTF",
                exp.c_name
            ));
            continue;
        };
        if actual.size != exp.size {
            problems.push(format!(
                "struct {}: C size {} != Rust size {}",
                exp.c_name, actual.size, exp.size
            ));
        }
        let c: Vec<(&str, usize)> = actual
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.offset))
            .collect();
        if c != exp.members {
            problems.push(format!(
                "struct {}: C members {c:?} != Rust members {:?}",
                exp.c_name, exp.members
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "eBPF record layout mismatch between helper-image/ebpf/events.h and \
             events/layout.rs: {}",
            problems.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_object_btf() {
        let btf = object_btf(crate::probes::load::OBJECT).unwrap();
        check(&btf).unwrap();
    }

    #[test]
    fn layout_matches_committed_object_btf() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/ktui.bpf.o");
        let data = std::fs::read(path).unwrap();
        check(&object_btf(&data).unwrap()).unwrap();
    }

    #[test]
    fn check_reports_a_moved_member() {
        let btf = object_btf(crate::probes::load::OBJECT).unwrap();
        let mut exp = expected();
        exp[0].members.swap(0, 1);
        // Re-run the comparison by hand with the tampered expectation.
        let actual = btf.struct_layout("ktui_event").unwrap();
        let c: Vec<(&str, usize)> = actual
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.offset))
            .collect();
        assert_ne!(c, exp[0].members);
    }

    #[test]
    fn a_port_set_holds_exactly_its_ports() {
        let set = KtuiPortSet::of([0, 53, 63, 64, 443, 65535]);
        for p in [0, 53, 63, 64, 443, 65535] {
            assert!(set.contains(p), "{p}");
        }
        for p in [1, 52, 54, 62, 65, 444, 65534] {
            assert!(!set.contains(p), "{p}");
        }
        assert_eq!(set.bits.iter().map(|w| w.count_ones()).sum::<u32>(), 6);
    }
}
