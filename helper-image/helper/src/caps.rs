//! Capabilities the helper needs (eBPF, snapshots, packet capture), read from
//! /proc/self/status.

pub const CAP_DAC_READ_SEARCH: u32 = 2;
/// AF_PACKET sockets (packet capture).
pub const CAP_NET_RAW: u32 = 13;
pub const CAP_SYS_PTRACE: u32 = 19;
pub const CAP_SYS_ADMIN: u32 = 21;
pub const CAP_SYSLOG: u32 = 34;
pub const CAP_PERFMON: u32 = 38;
pub const CAP_BPF: u32 = 39;

/// What to tell the user when capabilities are missing.
pub const REQUIRED: &str = "CAP_BPF and CAP_PERFMON are required (or root)";

/// Effective capabilities of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub effective: u64,
}

impl Caps {
    pub fn current() -> Caps {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        Caps::from_status(&status)
    }

    pub fn from_status(status: &str) -> Caps {
        let effective = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .unwrap_or(0);
        Caps { effective }
    }

    pub fn has(&self, cap: u32) -> bool {
        self.effective & (1u64 << cap) != 0
    }

    /// Capabilities missing for loading and attaching the programs. CAP_SYS_ADMIN covers
    /// both (and is what kernels before 5.8 require).
    pub fn missing_for_ebpf(&self) -> Vec<String> {
        if self.has(CAP_SYS_ADMIN) {
            return Vec::new();
        }
        let mut missing = Vec::new();
        if !self.has(CAP_BPF) {
            missing.push("CAP_BPF".to_string());
        }
        if !self.has(CAP_PERFMON) {
            missing.push("CAP_PERFMON".to_string());
        }
        missing
    }

    /// Capabilities a live snapshot needs and this process lacks: SYS_PTRACE (other
    /// processes' memory and /proc files), DAC_READ_SEARCH (files of other users),
    /// SYSLOG (/dev/kmsg).
    pub fn missing_for_snapshot(&self) -> Vec<String> {
        [
            (CAP_SYS_PTRACE, "CAP_SYS_PTRACE"),
            (CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH"),
            (CAP_SYSLOG, "CAP_SYSLOG"),
        ]
        .iter()
        .filter(|(cap, _)| !self.has(*cap))
        .map(|(_, name)| name.to_string())
        .collect()
    }

    /// The error for missing capabilities, naming them; None when nothing is missing.
    pub fn ebpf_error(&self) -> Option<String> {
        let missing = self.missing_for_ebpf();
        (!missing.is_empty()).then(|| format!("{REQUIRED}; missing: {}", missing.join(", ")))
    }
}

/// Lift RLIMIT_MEMLOCK for kernels that still charge BPF memory to it (< 5.11). Best effort.
pub fn raise_memlock() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit with a valid struct.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_unprivileged() {
        let root = Caps::from_status("Name:\tx\nCapEff:\t000001ffffffffff\n");
        assert!(root.missing_for_ebpf().is_empty());
        let none = Caps::from_status("CapEff:\t0000000000000000\n");
        assert_eq!(none.missing_for_ebpf(), vec!["CAP_BPF", "CAP_PERFMON"]);
        assert!(
            none.ebpf_error()
                .unwrap()
                .contains("CAP_BPF and CAP_PERFMON are required")
        );
        let bpf_only = Caps {
            effective: 1 << CAP_BPF,
        };
        assert_eq!(bpf_only.missing_for_ebpf(), vec!["CAP_PERFMON"]);
        let sysadmin = Caps {
            effective: 1 << CAP_SYS_ADMIN,
        };
        assert!(sysadmin.missing_for_ebpf().is_empty());
        assert!(root.missing_for_snapshot().is_empty());
        assert_eq!(
            none.missing_for_snapshot(),
            ["CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYSLOG"]
        );
        let sockets = Caps {
            effective: 1 << CAP_BPF | 1 << CAP_SYS_PTRACE,
        };
        assert_eq!(
            sockets.missing_for_snapshot(),
            ["CAP_DAC_READ_SEARCH", "CAP_SYSLOG"]
        );
    }
}
