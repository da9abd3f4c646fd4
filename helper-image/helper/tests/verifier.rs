#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Every program in ktui.bpf.o passes this kernel's verifier, including the fallback variants
//! this kernel cannot attach (kprobes: loaded, never attached). fentry/fexit programs need
//! BPF trampolines to load at all; they are checked only where the kernel has them.

mod common;

use aya::programs::{BtfTracePoint, FEntry, FExit, KProbe, Program, TracePoint};
use aya::{Btf, EbpfLoader};
use common::*;
use ktui_helper::probes::load::OBJECT;

#[test]
fn every_program_loads() {
    if skip_without_ebpf("every_program_loads") {
        return;
    }
    let btf = Btf::from_sys_fs().unwrap();
    let fentry =
        aya::sys::is_program_supported(aya::programs::ProgramType::Tracing).unwrap_or(false);
    let mut bpf = EbpfLoader::new().btf(Some(&btf)).load(OBJECT).unwrap();
    let names: Vec<String> = bpf.programs().map(|(n, _)| n.to_string()).collect();
    let mut loaded = Vec::new();
    for name in &names {
        let program = bpf.program_mut(name).unwrap();
        let result = match program {
            Program::TracePoint(p) => TracePoint::load(p),
            Program::KProbe(p) => KProbe::load(p),
            Program::FEntry(p) if fentry => {
                let f = name.trim_start_matches("fe_").to_string();
                FEntry::load(p, &f, &btf)
            }
            Program::FExit(p) if fentry => {
                let f = name.trim_start_matches("fx_").to_string();
                FExit::load(p, &f, &btf)
            }
            Program::FEntry(_) | Program::FExit(_) => continue,
            Program::BtfTracePoint(p) => {
                let tp = name.trim_start_matches("tb_").to_string();
                BtfTracePoint::load(p, &tp, &btf)
            }
            other => panic!(
                "unexpected program type for {name}: {:?}",
                other.prog_type()
            ),
        };
        result.unwrap_or_else(|e| panic!("{name} failed the verifier: {e:?}"));
        loaded.push(name.clone());
    }
    eprintln!("loaded {} programs: {loaded:?}", loaded.len());
    assert!(loaded.iter().any(|n| n == "kp_udp_sendmsg"));
    assert!(loaded.iter().any(|n| n == "krp_udp_recvmsg"));
    assert!(loaded.iter().any(|n| n == "tb_kfree_skb"));
    assert!(loaded.len() >= 27);
}
