//! The selection against faked kernels.

use super::*;

/// Every tracepoint the catalog knows about.
fn all_tracepoints() -> BTreeSet<String> {
    tracepoints_of_interest(&catalog())
        .into_iter()
        .map(|(c, n)| format!("{c}/{n}"))
        .collect()
}

fn all_functions() -> BTreeSet<String> {
    functions_of_interest(&catalog())
}

fn all_btf_tracepoints() -> BTreeSet<String> {
    btf_tracepoints_of_interest(&catalog())
}

fn first<'a>(sel: &'a [Selection], name: &str) -> &'a Candidate {
    let s = sel.iter().find(|s| s.name == name).unwrap();
    s.candidates
        .first()
        .unwrap_or_else(|| panic!("{name}: no candidate ({:?})", s.skipped))
}

#[test]
fn tracepoint_only_kernel_like_this_one() {
    let facts = KernelFacts {
        tracepoints: all_tracepoints(),
        btf_tracepoints: all_btf_tracepoints(),
        kprobe_error: Some("no kprobe PMU".into()),
        fentry_error: Some("no trampolines".into()),
        ..Default::default()
    };
    let sel = select(&catalog(), &facts);
    assert_eq!(
        first(&sel, "tcp_state").attach_label(),
        "tracepoint:sock/inet_sock_set_state"
    );
    let udp = first(&sel, "udp_send");
    assert_eq!(udp.rank, 2, "fell back past fentry and kprobe");
    assert_eq!(udp.attach_label(), "tp_btf:sock_send_length");
    // Without BTF for the tracepoint: the classic one.
    let no_btf = KernelFacts {
        btf_tracepoints: BTreeSet::new(),
        ..facts.clone()
    };
    let classic = select(&catalog(), &no_btf);
    assert_eq!(first(&classic, "udp_send").rank, 3);
    assert!(
        first(&classic, "udp_send")
            .attach_label()
            .starts_with("tracepoint:sock/sock_send_length")
    );
    assert_eq!(
        first(&classic, "drop").attach_label(),
        "tracepoint:skb/kfree_skb"
    );
    assert!(udp.limitation.is_some());
    let s = sel.iter().find(|s| s.name == "udp_send").unwrap();
    assert!(
        s.skipped
            .iter()
            .any(|w| w.contains("kprobes unavailable (no kprobe PMU)"))
    );
    assert!(
        s.skipped
            .iter()
            .any(|w| w.contains("fentry/fexit unavailable"))
    );
    assert_eq!(first(&sel, "udp_recv").rank, 2);
    assert_eq!(first(&sel, "connect").rank, 0);
    assert!(first(&sel, "connect").missing_optional.is_empty());
    assert_eq!(first(&sel, "drop").attach_label(), "tp_btf:kfree_skb");
}

#[test]
fn a_kernel_without_task_pt_regs_says_what_is_missing() {
    let facts = KernelFacts {
        tracepoints: all_tracepoints(),
        btf_tracepoints: all_btf_tracepoints(),
        lacks_task_pt_regs: true,
        ..Default::default()
    };
    let sel = select(&catalog(), &facts);
    let dns = first(&sel, "dns").limitation.unwrap_or_default();
    assert!(
        dns.contains("no queries") && dns.contains("bpf_task_pt_regs"),
        "{dns}"
    );
    let send = first(&sel, "udp_send").limitation.unwrap_or_default();
    assert!(send.contains("no peer"), "{send}");
    // With the helper: no DNS limitation.
    let sel = select(
        &catalog(),
        &KernelFacts {
            lacks_task_pt_regs: false,
            ..facts
        },
    );
    assert_eq!(first(&sel, "dns").limitation, None);
}

#[test]
fn kprobe_capable_kernel_prefers_kprobes_for_udp() {
    let facts = KernelFacts {
        tracepoints: all_tracepoints(),
        kprobes: true,
        kprobe_functions: all_functions(),
        ..Default::default()
    };
    let sel = select(&catalog(), &facts);
    let send = first(&sel, "udp_send");
    assert_eq!(send.rank, 1);
    assert_eq!(
        send.attach_label(),
        "kprobe:udp_sendmsg,kprobe:udpv6_sendmsg"
    );
    let recv = first(&sel, "udp_recv");
    assert_eq!(
        recv.attach_label(),
        "kprobe:udp_recvmsg,kretprobe:udp_recvmsg,kprobe:udpv6_recvmsg,kretprobe:udpv6_recvmsg"
    );
    // The tracepoint variant stays as the next fallback (if a kprobe fails to attach).
    let all = &sel
        .iter()
        .find(|s| s.name == "udp_send")
        .unwrap()
        .candidates;
    assert_eq!(all.iter().map(|c| c.rank).collect::<Vec<_>>(), vec![1, 3]);
    // Stable tracepoints stay preferred where they exist.
    assert_eq!(first(&sel, "tcp_state").rank, 0);
}

#[test]
fn fentry_capable_kernel_prefers_trampolines() {
    let facts = KernelFacts {
        tracepoints: all_tracepoints(),
        kprobes: true,
        kprobe_functions: all_functions(),
        fentry: true,
        btf_functions: all_functions(),
        ..Default::default()
    };
    let sel = select(&catalog(), &facts);
    assert_eq!(
        first(&sel, "udp_send").attach_label(),
        "fentry:udp_sendmsg,fentry:udpv6_sendmsg"
    );
    assert_eq!(
        first(&sel, "udp_recv").attach_label(),
        "fexit:udp_recvmsg,fexit:udpv6_recvmsg"
    );
    let candidates = &sel
        .iter()
        .find(|s| s.name == "udp_recv")
        .unwrap()
        .candidates;
    assert_eq!(candidates.len(), 3, "fentry, then kprobe, then tracepoint");
}

#[test]
fn fentry_without_ipv6_function_is_degraded_not_refused() {
    let mut funcs = all_functions();
    funcs.remove("udpv6_sendmsg");
    let facts = KernelFacts {
        tracepoints: all_tracepoints(),
        fentry: true,
        btf_functions: funcs,
        ..Default::default()
    };
    let sel = select(&catalog(), &facts);
    let send = first(&sel, "udp_send");
    assert_eq!(send.attach_label(), "fentry:udp_sendmsg");
    assert_eq!(
        send.missing_optional,
        vec!["function udpv6_sendmsg has no BTF".to_string()]
    );
}

#[test]
fn old_kernel_without_state_tracepoint_uses_kprobe_or_degrades_connect() {
    let mut tps = all_tracepoints();
    tps.remove("sock/inet_sock_set_state");
    tps.remove("sock/inet_sk_error_report");
    tps.remove("sock/sock_send_length");
    tps.remove("sock/sock_recv_length");
    let with_kprobes = KernelFacts {
        tracepoints: tps.clone(),
        kprobes: true,
        kprobe_functions: all_functions(),
        ..Default::default()
    };
    let sel = select(&catalog(), &with_kprobes);
    assert_eq!(
        first(&sel, "tcp_state").attach_label(),
        "kprobe:tcp_set_state"
    );
    let connect = first(&sel, "connect");
    assert_eq!(connect.rank, 1);
    assert_eq!(
        connect.missing_optional.len(),
        1,
        "no inet_sk_error_report: degraded"
    );

    let bare = KernelFacts {
        tracepoints: tps,
        ..Default::default()
    };
    let sel = select(&catalog(), &bare);
    assert!(
        sel.iter()
            .find(|s| s.name == "tcp_state")
            .unwrap()
            .candidates
            .is_empty()
    );
    let connect = first(&sel, "connect");
    assert_eq!(connect.rank, 2);
    assert!(
        connect
            .limitation
            .unwrap()
            .contains("only blocking connects")
    );
    assert!(
        sel.iter()
            .find(|s| s.name == "udp_send")
            .unwrap()
            .candidates
            .is_empty()
    );
}

#[test]
fn nothing_available() {
    let sel = select(&catalog(), &KernelFacts::default());
    assert!(
        sel.iter()
            .all(|s| s.candidates.is_empty() && !s.skipped.is_empty())
    );
    let t = sel.iter().find(|s| s.name == "drop").unwrap();
    assert_eq!(
        t.skipped,
        vec![
            "tp_btf:kfree_skb: no BTF for tracepoint kfree_skb (btf_trace_kfree_skb)".to_string(),
            "tracepoint:skb/kfree_skb: no tracepoint skb/kfree_skb".to_string()
        ]
    );
}

#[test]
fn every_catalog_program_exists_in_the_object() {
    let obj = crate::probes::load::OBJECT;
    let file = object::File::parse(obj).unwrap();
    use object::{Object as _, ObjectSymbol as _};
    let symbols: BTreeSet<String> = file
        .symbols()
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect();
    for p in catalog()
        .iter()
        .flat_map(|p| &p.variants)
        .flat_map(|v| &v.programs)
    {
        assert!(
            symbols.contains(p.program),
            "{} is not in ktui.bpf.o",
            p.program
        );
    }
}
