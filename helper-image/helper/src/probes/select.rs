//! Which programs to attach where: a pure function of what the kernel offers
//! ([`KernelFacts`]), so it is tested against faked kernels (kprobe-capable, fentry-capable,
//! tracepoint-only). Each logical probe has variants in order of preference; the loader tries
//! the viable ones in that order and falls back further if one fails to load or attach.

use std::collections::BTreeSet;

/// How a program attaches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attach {
    /// `tracepoint:<category>/<name>`
    Tracepoint { category: String, name: String },
    /// `kprobe:<function>` / `kretprobe:<function>`
    Kprobe { function: String, ret: bool },
    /// `fentry:<function>` / `fexit:<function>`
    Fentry { function: String, exit: bool },
    /// `tp_btf:<name>`: a BTF-typed program on a tracepoint (raw dispatch: no trace record is
    /// built, arguments are typed pointers read directly).
    BtfTracepoint { name: String },
}

impl Attach {
    pub fn label(&self) -> String {
        match self {
            Attach::Tracepoint { category, name } => format!("tracepoint:{category}/{name}"),
            Attach::Kprobe {
                function,
                ret: false,
            } => format!("kprobe:{function}"),
            Attach::Kprobe {
                function,
                ret: true,
            } => format!("kretprobe:{function}"),
            Attach::Fentry {
                function,
                exit: false,
            } => format!("fentry:{function}"),
            Attach::Fentry {
                function,
                exit: true,
            } => format!("fexit:{function}"),
            Attach::BtfTracepoint { name } => format!("tp_btf:{name}"),
        }
    }
}

/// One program of the object and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgramRef {
    /// The C function name (= aya program name).
    pub program: &'static str,
    pub attach: Attach,
    /// Missing optional attach points degrade the variant instead of ruling it out.
    pub optional: bool,
}

/// One way of implementing a logical probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub programs: Vec<ProgramRef>,
    /// What this variant cannot see (said in the probe status when it is used).
    pub limitation: Option<&'static str>,
    /// What it cannot see instead on a kernel without bpf_task_pt_regs (before 5.15), which
    /// reads a send's syscall arguments.
    pub without_regs: Option<&'static str>,
}

/// A logical probe: what it observes and its variants, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `tcp_state`, `connect`, `udp_send`, ...
    pub name: &'static str,
    pub variants: Vec<Variant>,
}

/// What this kernel offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KernelFacts {
    /// `category/name` of every tracepoint present.
    pub tracepoints: BTreeSet<String>,
    /// kprobes can be attached (kprobe PMU or tracefs kprobe_events).
    pub kprobes: bool,
    /// Functions that can be kprobed.
    pub kprobe_functions: BTreeSet<String>,
    /// BPF trampolines (fentry/fexit) are supported.
    pub fentry: bool,
    /// Functions with BTF (fentry targets).
    pub btf_functions: BTreeSet<String>,
    /// Why kprobes are unavailable, when they are.
    pub kprobe_error: Option<String>,
    /// Why fentry is unavailable, when it is.
    pub fentry_error: Option<String>,
    /// Tracepoints that take BTF programs (their `btf_trace_<name>` is in the kernel's BTF).
    pub btf_tracepoints: BTreeSet<String>,
    /// The kernel lacks the bpf_task_pt_regs helper (before 5.15): a send's syscall arguments
    /// (DNS query bytes, destination of an unconnected socket on the tracepoint path) cannot
    /// be read.
    pub lacks_task_pt_regs: bool,
}

/// The choice for one logical probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub name: &'static str,
    /// Viable variants, best first (index into the probe's variants, programs whose optional
    /// attach points are missing removed).
    pub candidates: Vec<Candidate>,
    /// Why better variants were skipped, or why nothing is possible.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Position in the preference list (0 = preferred).
    pub rank: usize,
    pub programs: Vec<ProgramRef>,
    /// Optional attach points that are missing.
    pub missing_optional: Vec<String>,
    pub limitation: Option<&'static str>,
}

impl Candidate {
    /// `attach` text for the hello: the variant's attach points, comma-separated.
    pub fn attach_label(&self) -> String {
        let mut labels: Vec<String> = Vec::new();
        for p in &self.programs {
            let l = p.attach.label();
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        labels.join(",")
    }
}

/// Why `attach` is not possible on this kernel, or None if it is.
fn unavailable(facts: &KernelFacts, attach: &Attach) -> Option<String> {
    match attach {
        Attach::Tracepoint { category, name } => {
            let key = format!("{category}/{name}");
            (!facts.tracepoints.contains(&key)).then(|| format!("no tracepoint {key}"))
        }
        Attach::Kprobe { function, .. } => {
            if !facts.kprobes {
                Some(format!(
                    "kprobes unavailable{}",
                    facts
                        .kprobe_error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ))
            } else if !facts.kprobe_functions.contains(function) {
                Some(format!("function {function} cannot be kprobed"))
            } else {
                None
            }
        }
        Attach::Fentry { function, .. } => {
            if !facts.fentry {
                Some(format!(
                    "fentry/fexit unavailable{}",
                    facts
                        .fentry_error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ))
            } else if !facts.btf_functions.contains(function) {
                Some(format!("function {function} has no BTF"))
            } else {
                None
            }
        }
        Attach::BtfTracepoint { name } => (!facts.btf_tracepoints.contains(name))
            .then(|| format!("no BTF for tracepoint {name} (btf_trace_{name})")),
    }
}

/// Choose, for every probe, the viable variants in order of preference.
pub fn select(catalog: &[Probe], facts: &KernelFacts) -> Vec<Selection> {
    catalog
        .iter()
        .map(|probe| {
            let mut candidates = Vec::new();
            let mut skipped = Vec::new();
            for (rank, variant) in probe.variants.iter().enumerate() {
                let mut programs = Vec::new();
                let mut missing_optional = Vec::new();
                let mut blocked = None;
                for p in &variant.programs {
                    match unavailable(facts, &p.attach) {
                        None => programs.push(p.clone()),
                        Some(why) if p.optional => missing_optional.push(why),
                        Some(why) => {
                            blocked = Some(why);
                            break;
                        }
                    }
                }
                match blocked {
                    Some(why) => {
                        let mut labels: Vec<String> = Vec::new();
                        for p in &variant.programs {
                            let l = p.attach.label();
                            if !labels.contains(&l) {
                                labels.push(l);
                            }
                        }
                        skipped.push(format!("{}: {why}", labels.join(",")));
                    }
                    None => candidates.push(Candidate {
                        rank,
                        programs,
                        missing_optional,
                        limitation: variant
                            .without_regs
                            .filter(|_| facts.lacks_task_pt_regs)
                            .or(variant.limitation),
                    }),
                }
            }
            Selection {
                name: probe.name,
                candidates,
                skipped,
            }
        })
        .collect()
}

fn tp(program: &'static str, category: &str, name: &str) -> ProgramRef {
    ProgramRef {
        program,
        attach: Attach::Tracepoint {
            category: category.to_string(),
            name: name.to_string(),
        },
        optional: false,
    }
}

fn tb(program: &'static str, name: &str) -> ProgramRef {
    ProgramRef {
        program,
        attach: Attach::BtfTracepoint {
            name: name.to_string(),
        },
        optional: false,
    }
}

fn opt(mut p: ProgramRef) -> ProgramRef {
    p.optional = true;
    p
}

fn kp(program: &'static str, function: &str, ret: bool) -> ProgramRef {
    ProgramRef {
        program,
        attach: Attach::Kprobe {
            function: function.to_string(),
            ret,
        },
        optional: false,
    }
}

fn fe(program: &'static str, function: &str, exit: bool) -> ProgramRef {
    ProgramRef {
        program,
        attach: Attach::Fentry {
            function: function.to_string(),
            exit,
        },
        optional: false,
    }
}

fn recv_syscalls() -> Vec<ProgramRef> {
    vec![
        tp("tp_sys_enter_recvfrom", "syscalls", "sys_enter_recvfrom"),
        tp("tp_sys_exit_recvfrom", "syscalls", "sys_exit_recvfrom"),
        tp("tp_sys_enter_recvmsg", "syscalls", "sys_enter_recvmsg"),
        tp("tp_sys_exit_recvmsg", "syscalls", "sys_exit_recvmsg"),
    ]
}

const SEND_TP_LIMITATION: &str = "peers of unconnected sockets come from the \
     sendto/sendmsg/sendmmsg arguments (the task's saved registers); io_uring and in-kernel \
     senders show no peer";
const DNS_NO_REGS_LIMITATION: &str = "answers only, no queries: this kernel lacks the \
     bpf_task_pt_regs helper (before 5.15) that reads a send's arguments";
const SEND_NO_REGS_LIMITATION: &str = "unconnected sockets show no peer: this kernel lacks the \
     bpf_task_pt_regs helper (before 5.15) that reads the sendto/sendmsg arguments";
const RECV_TP_LIMITATION: &str = "sources of unconnected sockets come from recvfrom/recvmsg \
     results; recvmmsg and io_uring receives show no peer";

/// Every logical probe of ktui.bpf.o.
pub fn catalog() -> Vec<Probe> {
    let state_tp = tp("tp_inet_sock_set_state", "sock", "inet_sock_set_state");
    let state_kp = kp("kp_tcp_set_state", "tcp_set_state", false);
    let connect_sys = vec![
        tp("tp_sys_enter_connect", "syscalls", "sys_enter_connect"),
        tp("tp_sys_exit_connect", "syscalls", "sys_exit_connect"),
    ];
    let err_report = opt(tp(
        "tp_inet_sk_error_report",
        "sock",
        "inet_sk_error_report",
    ));
    let send_fe = vec![
        fe("fe_udp_sendmsg", "udp_sendmsg", false),
        opt(fe("fe_udpv6_sendmsg", "udpv6_sendmsg", false)),
    ];
    let send_kp = vec![
        kp("kp_udp_sendmsg", "udp_sendmsg", false),
        opt(kp("kp_udpv6_sendmsg", "udpv6_sendmsg", false)),
    ];
    let send_tb = tb("tb_sock_send_length", "sock_send_length");
    let send_tp = tp("tp_sock_send_length", "sock", "sock_send_length");
    vec![
        Probe {
            name: "tcp_state",
            variants: vec![
                Variant {
                    programs: vec![state_tp.clone()],
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: vec![state_kp.clone()],
                    limitation: None,
                    without_regs: None,
                },
            ],
        },
        Probe {
            name: "tcp_retransmit",
            variants: vec![
                Variant {
                    programs: vec![tp("tp_tcp_retransmit_skb", "tcp", "tcp_retransmit_skb")],
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: vec![kp("kp_tcp_retransmit_skb", "tcp_retransmit_skb", false)],
                    limitation: None,
                    without_regs: None,
                },
            ],
        },
        Probe {
            name: "tcp_reset",
            variants: vec![Variant {
                programs: vec![
                    tp("tp_tcp_send_reset", "tcp", "tcp_send_reset"),
                    tp("tp_tcp_receive_reset", "tcp", "tcp_receive_reset"),
                ],
                limitation: None,
                without_regs: None,
            }],
        },
        Probe {
            name: "connect",
            variants: vec![
                Variant {
                    programs: [connect_sys.clone(), vec![state_tp, err_report.clone()]].concat(),
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: [connect_sys.clone(), vec![state_kp, err_report]].concat(),
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: connect_sys,
                    limitation: Some(
                        "no TCP state probe: only blocking connects are measured; \
                         non-blocking ones (EINPROGRESS) are not reported",
                    ),
                    without_regs: None,
                },
            ],
        },
        Probe {
            name: "attribution",
            variants: vec![Variant {
                programs: vec![
                    tp("tp_sys_exit_accept4", "syscalls", "sys_exit_accept4"),
                    opt(tp("tp_sys_exit_accept", "syscalls", "sys_exit_accept")),
                ],
                limitation: None,
                without_regs: None,
            }],
        },
        Probe {
            name: "udp_send",
            variants: vec![
                Variant {
                    programs: send_fe.clone(),
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: send_kp.clone(),
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: vec![send_tb.clone()],
                    limitation: Some(SEND_TP_LIMITATION),
                    without_regs: Some(SEND_NO_REGS_LIMITATION),
                },
                Variant {
                    programs: vec![send_tp.clone()],
                    limitation: Some(SEND_TP_LIMITATION),
                    without_regs: Some(SEND_NO_REGS_LIMITATION),
                },
            ],
        },
        Probe {
            name: "udp_recv",
            variants: vec![
                Variant {
                    programs: vec![
                        fe("fx_udp_recvmsg", "udp_recvmsg", true),
                        opt(fe("fx_udpv6_recvmsg", "udpv6_recvmsg", true)),
                    ],
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: vec![
                        kp("kp_udp_recvmsg", "udp_recvmsg", false),
                        kp("krp_udp_recvmsg", "udp_recvmsg", true),
                        opt(kp("kp_udpv6_recvmsg", "udpv6_recvmsg", false)),
                        opt(kp("krp_udpv6_recvmsg", "udpv6_recvmsg", true)),
                    ],
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: [
                        vec![tb("tb_sock_recv_length", "sock_recv_length")],
                        recv_syscalls(),
                    ]
                    .concat(),
                    limitation: Some(RECV_TP_LIMITATION),
                    without_regs: None,
                },
                Variant {
                    programs: [
                        vec![tp("tp_sock_recv_length", "sock", "sock_recv_length")],
                        recv_syscalls(),
                    ]
                    .concat(),
                    limitation: Some(RECV_TP_LIMITATION),
                    without_regs: None,
                },
            ],
        },
        // Queries are read where the send is seen (any udp_send variant reads the payload from
        // the send syscall's arguments), answers at the receive syscall's exit.
        Probe {
            name: "dns",
            variants: [send_fe, send_kp, vec![send_tb], vec![send_tp]]
                .into_iter()
                .map(|send| Variant {
                    programs: [send, recv_syscalls()].concat(),
                    limitation: None,
                    without_regs: Some(DNS_NO_REGS_LIMITATION),
                })
                .collect(),
        },
        Probe {
            name: "drop",
            variants: vec![
                Variant {
                    programs: vec![tb("tb_kfree_skb", "kfree_skb")],
                    limitation: None,
                    without_regs: None,
                },
                Variant {
                    programs: vec![tp("tp_kfree_skb", "skb", "kfree_skb")],
                    limitation: None,
                    without_regs: None,
                },
            ],
        },
    ]
}

/// Every attach point of every program of every variant.
fn attaches(catalog: &[Probe]) -> impl Iterator<Item = &Attach> {
    catalog
        .iter()
        .flat_map(|p| &p.variants)
        .flat_map(|v| &v.programs)
        .map(|p| &p.attach)
}

/// Every tracepoint the catalog can use (what detection needs to look for).
pub fn tracepoints_of_interest(catalog: &[Probe]) -> BTreeSet<(String, String)> {
    attaches(catalog)
        .filter_map(|a| match a {
            Attach::Tracepoint { category, name } => Some((category.clone(), name.clone())),
            _ => None,
        })
        .collect()
}

/// Every tracepoint the catalog can attach a BTF program to.
pub fn btf_tracepoints_of_interest(catalog: &[Probe]) -> BTreeSet<String> {
    attaches(catalog)
        .filter_map(|a| match a {
            Attach::BtfTracepoint { name } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// Every kernel function the catalog can kprobe or fentry.
pub fn functions_of_interest(catalog: &[Probe]) -> BTreeSet<String> {
    attaches(catalog)
        .filter_map(|a| match a {
            Attach::Kprobe { function, .. } | Attach::Fentry { function, .. } => {
                Some(function.clone())
            }
            Attach::Tracepoint { .. } | Attach::BtfTracepoint { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
