//! Detecting what this kernel offers ([`KernelFacts`]) for the probe selection.

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::path::Path;

use super::select::{
    KernelFacts, Probe, btf_tracepoints_of_interest, functions_of_interest, tracepoints_of_interest,
};
use crate::btf::Btf;

/// Look at tracefs, the kprobe PMU and BTF for what `catalog` could use.
pub fn detect(tracefs: Option<&Path>, vmlinux: Option<&Btf>, catalog: &[Probe]) -> KernelFacts {
    let mut facts = KernelFacts::default();
    if let Some(root) = tracefs {
        for (category, name) in tracepoints_of_interest(catalog) {
            if root
                .join("events")
                .join(&category)
                .join(&name)
                .join("id")
                .is_file()
            {
                facts.tracepoints.insert(format!("{category}/{name}"));
            }
        }
    }
    let wanted = functions_of_interest(catalog);
    if let Some(btf) = vmlinux {
        facts.btf_tracepoints = btf_tracepoints_of_interest(catalog)
            .into_iter()
            .filter(|t| btf.has_btf_tracepoint(t))
            .collect();
        facts.lacks_task_pt_regs = !btf
            .enum_values("bpf_func_id")
            .is_some_and(|v| v.iter().any(|(name, _)| name == "BPF_FUNC_task_pt_regs"));
    }

    let pmu = Path::new("/sys/bus/event_source/devices/kprobe/type").is_file();
    let legacy = tracefs.is_some_and(|t| t.join("kprobe_events").is_file());
    if pmu || legacy {
        facts.kprobes = true;
        facts.kprobe_functions = kprobeable(tracefs, &wanted);
    } else {
        facts.kprobe_error = Some(
            "the kernel has no kprobe PMU (/sys/bus/event_source/devices/kprobe) and no \
             tracefs kprobe_events (CONFIG_KPROBE_EVENTS is off)"
                .to_string(),
        );
    }

    match aya::sys::is_program_supported(aya::programs::ProgramType::Tracing) {
        Ok(true) => match vmlinux {
            Some(btf) => {
                facts.fentry = true;
                facts.btf_functions = wanted
                    .iter()
                    .filter(|f| btf.has_function(f))
                    .cloned()
                    .collect();
            }
            None => facts.fentry_error = Some("no kernel BTF (/sys/kernel/btf/vmlinux)".into()),
        },
        Ok(false) => {
            facts.fentry_error =
                Some("the kernel rejects BPF_PROG_TYPE_TRACING (no BPF trampolines)".into())
        }
        Err(e) => {
            facts.fentry_error = Some(format!(
                "loading a BPF_PROG_TYPE_TRACING probe program failed ({e}): no BPF trampolines"
            ))
        }
    }
    facts
}

/// Which of `wanted` are attachable: tracefs available_filter_functions, else kallsyms.
fn kprobeable(tracefs: Option<&Path>, wanted: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    // (file, column of the name): "udp_sendmsg [module]" / "ffffffff81234567 T udp_sendmsg".
    let sources = [
        tracefs.map(|t| (t.join("available_filter_functions"), 0)),
        Some((Path::new("/proc/kallsyms").to_path_buf(), 2)),
    ];
    for (path, column) in sources.into_iter().flatten() {
        let Ok(file) = std::fs::File::open(&path) else {
            continue;
        };
        for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
            let name = line.split_whitespace().nth(column);
            if let Some(name) = name
                && wanted.contains(name)
            {
                found.insert(name.to_string());
            }
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}
