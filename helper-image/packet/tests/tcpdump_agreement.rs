#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The filter selects the same frames as tcpdump: for every expression of a table and every
//! fixture capture (Ethernet, Linux cooked v1 and v2, raw IP, IPv4, IPv6, and snaplen-cut
//! copies), the frames our program accepts (run through `filter::run`) are exactly those that
//! `tcpdump -r FILE -w - EXPR` keeps.

mod common;

use std::collections::BTreeMap;

use common::*;
use ktui_packet::LinkType;
use ktui_packet::filter::{Filter, check, dump, run};

/// Expressions in tcpdump syntax meaning the same to tcpdump (and/or of equal precedence,
/// grouped from the left, in both).
const EXPRS: &[&str] = &[
    // Protocol words.
    "ip",
    "ip6",
    "arp",
    "rarp",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "icmp6",
    // host, with directions and protocol qualifiers, v4 and v6.
    "host 10.66.0.1",
    "src host 10.66.0.1",
    "dst host 10.66.0.2",
    "src or dst host 10.66.0.2",
    "src and dst host 10.66.0.1",
    "ip host 10.66.0.2",
    "arp host 10.66.0.1",
    "rarp host 10.66.0.1",
    "dst 10.66.0.2",
    "ip src 10.66.0.1",
    "host fd00:66::2",
    "src host fd00:66::1",
    "ip6 dst host ff02::16",
    "dst host 255.255.255.255",
    "src host 0.0.0.0",
    "host 93.184.216.34",
    "host 10.66.0.1 or 10.66.0.2",
    "host fd00:66::1 or host fd00:66::2",
    "src host 10.66.0.1 or src host fd00:66::2 or src host 10.66.0.2",
    // net.
    "net 10.66.0.0/24",
    "src net 10.66.0.0/25",
    "dst net 10.66.0.0/31",
    "net 10.66",
    "net 10.0.0.0/8 or net 10.66.0.0/16 or net 11.0.0.0/8",
    "net fd00::/8 or net fd00:66::/64 or host fd00:66::2",
    "net 192.168",
    "net 0.0.0.0/0",
    "src and dst net 10.66.0.0/16",
    "net fd00:66::/32",
    "net fe80::/10",
    "dst net ff00::/8",
    "ip6 net ::/0",
    "src net fd00:66::/127",
    // port and portrange.
    "port 53",
    "src port 53",
    "dst port 9999",
    "port 53 or 9999",
    "port 53 or 8080 or 81 or portrange 9000-9999",
    "udp port 53",
    "tcp port 8080",
    "tcp src port 8080",
    "sctp port 53",
    "src or dst port 81",
    "src and dst port 123",
    "udp port 67 or 68",
    "portrange 50-60",
    "portrange 50-60 or portrange 9990-10000 or port 8080",
    "udp portrange 9000-10000",
    "tcp dst portrange 8000-8100",
    "tcp portrange 0-100",
    "portrange 1024-65535",
    "port 443",
    // proto.
    "proto 47",
    "ip proto 17",
    "ip proto 132",
    "ip6 proto 58",
    "ip6 proto 44",
    "ip6 proto 0",
    "proto 0x11",
    // Negations, nesting, mixes.
    "not port 53",
    "not (tcp or udp)",
    "! icmp and ! arp",
    "not ip and not ip6",
    "not not udp",
    "udp and port 53 or icmp",
    "icmp or udp and port 53",
    "!tcp && !udp || arp",
    "not (port 53 or arp) and (ip or ip6)",
    "tcp and (port 8080 or port 81) and not host fd00:66::1",
    "dst port 53 and not src host 10.66.0.1",
    "ip6 and udp",
    "ip and not udp",
    "(icmp or icmp6) and (src net 10.66.0.0/24 or src net fd00:66::/64)",
];

/// Expressions beyond what the table can show compactly: the long or-chains.
fn long_chains() -> Vec<String> {
    let hosts: Vec<String> = (1..=100).map(|i| format!("host 10.66.0.{i}")).collect();
    let chain = hosts.join(" or ");
    vec![
        chain.clone(),
        format!("not ({chain})"),
        format!("{chain} or host fd00:66::2"),
    ]
}

#[test]
fn accepts_exactly_what_tcpdump_keeps() {
    let test = "accepts_exactly_what_tcpdump_keeps";
    if skip_unless(test, needs_tool("tcpdump", "--version")) {
        return;
    }
    let (files, missing) = fixture_files();
    // This crate's own captures cover every link type; the shared ones come with the
    // repository's tests/fixtures/pcap.
    if let Some(why) = missing {
        note_skip(&format!("{test} (shared fixtures only): {why}"));
    }
    let mut exprs: Vec<String> = EXPRS.iter().map(|e| e.to_string()).collect();
    exprs.extend(long_chains());
    assert!(exprs.len() >= 30);
    let mut captures = Vec::new();
    for path in &files {
        let frames = read_capture(&std::fs::read(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if frames.is_empty() {
            continue;
        }
        let link = frames[0].link;
        // A pcapng of several link types (tests/fixtures/pcap/own/multi.pcapng): a program is
        // compiled for one link type, so such a file is not one comparison.
        if !frames.iter().all(|f| f.link == link) {
            continue;
        }
        captures.push((path, LinkType::from_linktype(link), frames));
    }
    let links: std::collections::BTreeSet<u32> =
        captures.iter().map(|(_, l, _)| l.linktype()).collect();
    assert!(
        links.is_superset(&[1, 113, 276, 101, 228, 229].into()),
        "fixtures cover every link type: {links:?}"
    );

    // Per expression: how many frames matched and were refused, over every file.
    let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut comparisons = 0;
    for expr in &exprs {
        let filter = Filter::parse(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
        for (path, link, frames) in &captures {
            let prog = filter
                .compile(*link, 262_144)
                .unwrap_or_else(|e| panic!("{expr:?} on {link:?}: {e}"));
            check(&prog).unwrap_or_else(|e| panic!("{expr:?} on {link:?}: {e}"));
            let Some(want) = tcpdump_keeps(path, frames, expr) else {
                continue;
            };
            comparisons += 1;
            let got: Vec<bool> = frames
                .iter()
                .map(|f| run(&prog, &f.data, f.wire_len) != 0)
                .collect();
            let counts = seen.entry(expr.as_str()).or_default();
            counts.0 += got.iter().filter(|&&g| g).count();
            counts.1 += got.iter().filter(|&&g| !g).count();
            let differ: Vec<usize> = (0..frames.len()).filter(|&i| got[i] != want[i]).collect();
            if !differ.is_empty() {
                let frames: Vec<String> = differ
                    .iter()
                    .map(|&i| format!("#{} (tcpdump {}, ours {})", i + 1, want[i], got[i]))
                    .collect();
                failures.push(format!(
                    "{expr:?} on {}: {}\n{}",
                    path.display(),
                    frames.join(", "),
                    if prog.len() < 80 {
                        dump(&prog)
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} expressions × {} captures: {comparisons} comparisons agree with tcpdump",
        exprs.len(),
        captures.len()
    );
    // Every expression both matched and refused something (the table is not vacuous).
    for expr in &exprs {
        let (yes, no) = seen.get(expr.as_str()).copied().unwrap_or_default();
        assert!(
            yes > 0 && no > 0,
            "{expr:?}: {yes} matched, {no} refused over all fixtures"
        );
    }
}

#[test]
fn byte_index_expressions_are_out_of_scope_and_say_so() {
    // tcpdump's `tcp[13] = 2` is not part of the language: a clear error, not a wrong filter.
    let e = Filter::parse("host 10.66.0.2 and (tcp[13] = 2 or not tcp)").unwrap_err();
    assert_eq!(e.at, 23, "{e}");
    assert!(e.message.contains("unexpected character '['"), "{e}");
}
