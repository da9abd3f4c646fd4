#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::summary::testframe::LINKS;

fn canon(text: &str) -> String {
    Filter::parse(text)
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .canonical()
}

fn err(text: &str) -> FilterError {
    match Filter::parse(text) {
        Ok(f) => panic!("{text:?} parsed as {:?}", f.canonical()),
        Err(e) => e,
    }
}

#[test]
fn and_and_or_group_from_the_left_like_tcpdump() {
    assert_eq!(
        canon("port 53 or port 80 and host 10.0.0.1"),
        "(port 53 or port 80) and host 10.0.0.1"
    );
    assert_eq!(
        canon("tcp and port 80 or udp"),
        "(proto 6 and port 80) or proto 17"
    );
    assert_eq!(canon("not tcp and udp"), "not proto 6 and proto 17");
    assert_eq!(canon("not (tcp and udp)"), "not (proto 6 and proto 17)");
    assert_eq!(
        canon(
            "a1 or ! b1"
                .replace("a1", "ip")
                .replace("b1", "ip6")
                .as_str()
        ),
        "ip or not ip6"
    );
    assert_eq!(canon("ip && (arp || rarp)"), "ip and (arp or rarp)");
    assert_eq!(canon("ip or ip6 or arp"), "ip or ip6 or arp");
    assert_eq!(canon(""), "");
    assert_eq!(canon("  \t\n"), "");
}

#[test]
fn qualifiers_and_bare_values() {
    assert_eq!(canon("port 53 or 80"), "port 53 or port 80");
    assert_eq!(
        canon("tcp dst port 443 or 8443"),
        "tcp dst port 443 or tcp dst port 8443"
    );
    assert_eq!(
        canon("host 10.0.0.1 and not 10.0.0.2"),
        "host 10.0.0.1 and not host 10.0.0.2"
    );
    assert_eq!(canon("src or dst host ::1"), "host ::1");
    assert_eq!(canon("dst and src net 10.1"), "src and dst net 10.1.0.0/16");
    assert_eq!(canon("src 10.0.0.1"), "src host 10.0.0.1");
    assert_eq!(canon("ip dst 10.0.0.1"), "ip dst host 10.0.0.1");
    // tcpdump reads `tcp src 22` as a host and refuses it; so do we.
    assert_eq!(err("tcp src 22").at, 8);
    assert_eq!(canon("udp portrange 60-50"), "udp portrange 50-60");
    assert_eq!(canon("portrange 7-7"), "port 7");
    assert_eq!(canon("ip6 proto 0x11"), "ip6 proto 17");
    assert_eq!(canon("icmp or icmp6"), "ip proto 1 or ip6 proto 58");
    assert_eq!(canon("net 10"), "net 10.0.0.0/8");
    assert_eq!(canon("net 192.168.1"), "net 192.168.1.0/24");
    assert_eq!(canon("net 10.0.0.1"), "host 10.0.0.1");
    assert_eq!(canon("net fe80::/10"), "net fe80::/10");
    assert_eq!(canon("arp host 10.0.0.1"), "arp host 10.0.0.1");
    // A bare value after an abbreviation has nothing to repeat.
    assert_eq!(err("tcp or 53").at, 7);
}

#[test]
fn errors_name_the_offset_and_what_was_expected() {
    let cases: &[(&str, usize, &str)] = &[
        ("host", 4, "expected an IPv4 or IPv6 address, found the end"),
        ("host example.com", 5, "host names are not resolved"),
        ("host 10.0.0.0/8", 5, "net 10.0.0.0/8"),
        ("port 70000", 5, "port number 0-65535"),
        ("port http", 5, "service names are not looked up"),
        ("portrange 10", 10, "port range like 8000-8080"),
        ("portrange 1-99999", 10, "port number 0-65535"),
        ("net 10.0.0.1/8", 4, "did you mean 10.0.0.0/8"),
        ("net 10.0.0.0/33", 4, "prefix length 0-32"),
        ("net fe80::1/10", 4, "did you mean fe80::/10"),
        ("net 10.1/16", 4, "network such as"),
        ("proto 256", 6, "protocol number 0-255"),
        ("proto tcp", 6, "protocol number"),
        (
            "tcp host 10.0.0.1",
            0,
            "`tcp`, `udp` and `sctp` qualify port",
        ),
        ("ip port 53", 0, "qualify host, net and proto"),
        ("ip6 host 10.0.0.1", 9, "is an IPv4 address"),
        ("arp host ::1", 9, "is an IPv6 address"),
        ("src proto 6", 0, "do not apply to `proto`"),
        ("(tcp", 4, "expected \")\" to close the \"(\" at byte 0"),
        ("tcp)", 3, "unbalanced \")\""),
        ("tcp udp", 4, "expected `and`, `or` or the end"),
        ("tcp and", 7, "expected a primitive"),
        ("and tcp", 0, "expected a primitive"),
        ("()", 1, "expected a primitive"),
        ("src", 3, "expected host, net, port or portrange"),
        ("src 53", 4, "expected host, net, port or portrange"),
        ("ip src and", 7, "expected host or net"),
        (
            "host not",
            5,
            "expected an IPv4 or IPv6 address, found \"not\"",
        ),
        ("foo", 0, "expected a primitive"),
        ("10.0.0.1", 0, "expected a primitive"),
        ("port 53 | udp", 8, "\"||\""),
        ("host fe80::1%eth0", 12, "unexpected character '%'"),
        ("HOST 10.0.0.1", 0, "expected a primitive"),
        ("vlan and host 10.0.0.1", 0, "VLAN tag already removed"),
        (
            "tcp or ether host 1:2:3:4:5:6",
            7,
            "tcpdump's `ether` is not part",
        ),
        ("greater 100", 0, "tcpdump's `greater` is not part"),
        ("port 53 or vlan", 11, "tcpdump's `vlan` is not part"),
    ];
    for &(text, at, needle) in cases {
        let e = err(text);
        assert_eq!(e.at, at, "{text:?}: {e}");
        assert!(
            e.message.contains(needle),
            "{text:?}: {e} (wanted {needle:?})"
        );
    }
}

#[test]
fn deep_and_long_input_is_refused_not_overflowed() {
    // Run on a small stack: a recursion the limits did not bound would overflow it.
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(|| {
            let e = err(&format!("{}ip{}", "(".repeat(2000), ")".repeat(2000)));
            assert!(e.message.contains("nests more than 64"), "{e}");
            assert_eq!(e.at, 64);
            let e = err(&"not ".repeat(1000));
            assert!(e.message.contains("nests more than 64"), "{e}");
            let e = err(&"! ".repeat(2000));
            assert!(e.message.contains("nests more than 64"), "{e}");
            // Alternating and/or deepens the tree without parentheses.
            let e = err(&"ip or ip and ".repeat(300));
            assert!(e.message.contains("nests more than 64"), "{e}");
            let e = err(&"x".repeat(MAX_LEN + 1));
            assert_eq!(e.at, MAX_LEN);
            assert!(e.message.contains("4097 bytes"), "{e}");
            // 63 levels are fine.
            let ok = format!("{}ip{}", "(".repeat(63), ")".repeat(63));
            Filter::parse(&ok)
                .unwrap()
                .compile(LinkType::Ethernet, 96)
                .unwrap();
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn unsupported_link_types_and_impossible_filters() {
    let f = Filter::parse("tcp").unwrap();
    let e = f.compile(LinkType::Other(147), 100).unwrap_err();
    assert!(e.message.contains("link type 147"), "{e}");
    let arp = Filter::parse("arp or rarp").unwrap();
    for link in [LinkType::Raw, LinkType::Ipv4, LinkType::Ipv6] {
        assert!(!arp.can_match(link), "{link:?}");
        assert_eq!(arp.compile(link, 100).unwrap(), vec![bpf::ret(0)]);
    }
    assert!(arp.can_match(LinkType::Ethernet));
    let v6 = Filter::parse("arp or ip6").unwrap();
    assert!(!v6.can_match(LinkType::Ipv4));
    assert!(v6.can_match(LinkType::Raw));
    assert!(!v6.can_match(LinkType::Other(147)));
    assert_eq!(
        Filter::parse("ip")
            .unwrap()
            .compile(LinkType::Ipv4, 100)
            .unwrap(),
        vec![bpf::ret(100)]
    );
    assert_eq!(
        Filter::parse("")
            .unwrap()
            .compile(LinkType::Ethernet, 0)
            .unwrap(),
        vec![bpf::ret(DEFAULT_SNAPLEN)]
    );
}

/// An Ethernet/IPv4/UDP frame from `src` to `dst`.
fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    f[14] = 0x45;
    f[23] = 17;
    f[26..30].copy_from_slice(&src);
    f[30..34].copy_from_slice(&dst);
    f[34..36].copy_from_slice(&sport.to_be_bytes());
    f[36..38].copy_from_slice(&dport.to_be_bytes());
    f
}

#[test]
fn a_long_or_chain_uses_trampolines_and_stays_correct() {
    let hosts: Vec<String> = (0..100)
        .map(|i| format!("host 10.9.{}.{}", i / 10, i % 10 + 1))
        .collect();
    let f = Filter::parse(&hosts.join(" or ")).unwrap();
    let prog = f.compile(LinkType::Ethernet, 1500).unwrap();
    check(&prog).unwrap();
    assert!(
        prog.len() > 256 * 2,
        "long enough to need far jumps: {}",
        prog.len()
    );
    // Some conditional jump needed a trampoline (a ja or a ret right after it).
    let trampolines = prog
        .windows(2)
        .filter(|w| w[0].code & 0x07 == 0x05 && w[0].code != 0x05 && (w[0].jt == 0 || w[0].jf == 0))
        .filter(|w| w[1].code == 0x05 || w[1].code == 0x06)
        .count();
    assert!(trampolines > 0);
    for i in 0..100u8 {
        let ip = [10, 9, i / 10, i % 10 + 1];
        assert_eq!(
            run(&prog, &udp4(ip, [1, 1, 1, 1], 1, 2), 42),
            1500,
            "{ip:?} as source"
        );
        assert_eq!(
            run(&prog, &udp4([1, 1, 1, 1], ip, 1, 2), 42),
            1500,
            "{ip:?} as destination"
        );
    }
    assert_eq!(
        run(&prog, &udp4([10, 9, 0, 11], [10, 9, 10, 1], 1, 2), 42),
        0
    );
    // Negated, the same chain rejects exactly those.
    let not = Filter::parse(&format!("not ({})", hosts.join(" or "))).unwrap();
    let prog = not.compile(LinkType::Ethernet, 1500).unwrap();
    check(&prog).unwrap();
    assert_eq!(run(&prog, &udp4([10, 9, 9, 10], [1, 1, 1, 1], 1, 2), 42), 0);
    assert_eq!(
        run(&prog, &udp4([10, 9, 9, 11], [1, 1, 1, 1], 1, 2), 42),
        1500
    );
}

#[test]
fn programs_beyond_the_kernel_limit_are_an_error() {
    // `not port N` terms do not share loads: ~16 instructions each.
    let terms: Vec<String> = (1..=250).map(|p| format!("not port {p}")).collect();
    let f = Filter::parse(&terms.join(" or ")).unwrap();
    let e = f.compile(LinkType::Ethernet, 100).unwrap_err();
    assert!(e.message.contains("more than the kernel's 4096"), "{e}");
    // The same ports as one `or` of values share their loads and fit easily.
    let ports: Vec<String> = (1..=280).map(|p| p.to_string()).collect();
    let ok = Filter::parse(&format!("port {}", ports.join(" or "))).unwrap();
    for link in LINKS {
        let prog = ok.compile(link, 100).unwrap();
        assert!(prog.len() < 2500, "{link:?}: {}", prog.len());
        check(&prog).unwrap();
    }
}

#[test]
fn ipv4_ports_skip_options_and_later_fragments() {
    let f = Filter::parse("udp dst port 53").unwrap();
    let prog = f.compile(LinkType::Ethernet, 96).unwrap();
    let plain = udp4([1, 2, 3, 4], [5, 6, 7, 8], 1000, 53);
    assert_eq!(run(&prog, &plain, 42), 96);
    // IHL 6: the ports move 4 bytes on.
    let mut opts = plain[..34].to_vec();
    opts[14] = 0x46;
    opts.extend_from_slice(&[1, 1, 1, 1]);
    opts.extend_from_slice(&plain[34..]);
    assert_eq!(run(&prog, &opts, 46), 96);
    // A non-first fragment has no ports, a first fragment (MF, offset 0) has.
    let mut later = plain.clone();
    later[20..22].copy_from_slice(&[0x00, 0x10]);
    assert_eq!(run(&prog, &later, 42), 0);
    let mut first = plain.clone();
    first[20..22].copy_from_slice(&[0x20, 0x00]);
    assert_eq!(run(&prog, &first, 42), 96);
    // Cut before the port: dropped, like tcpdump on a short capture.
    assert_eq!(run(&prog, &plain[..36], 42), 0);
}

#[test]
fn link_types_place_the_network_header() {
    let eth = udp4([1, 2, 3, 4], [5, 6, 7, 8], 1000, 53);
    let ip = &eth[14..];
    let mut sll = vec![0u8; 16];
    sll[14..16].copy_from_slice(&[0x08, 0x00]);
    sll.extend_from_slice(ip);
    let mut sll2 = vec![0u8; 20];
    sll2[0..2].copy_from_slice(&[0x08, 0x00]);
    sll2.extend_from_slice(ip);
    let f = Filter::parse("src host 1.2.3.4 and udp port 53 and ip").unwrap();
    let no = Filter::parse("ip6 or arp or dst host 1.2.3.4").unwrap();
    for (link, frame) in [
        (LinkType::Ethernet, &eth[..]),
        (LinkType::LinuxSll, &sll[..]),
        (LinkType::LinuxSll2, &sll2[..]),
        (LinkType::Raw, ip),
        (LinkType::Ipv4, ip),
    ] {
        let len = frame.len() as u32;
        assert_eq!(
            run(&f.compile(link, 64).unwrap(), frame, len),
            64,
            "{link:?}"
        );
        assert_eq!(
            run(&no.compile(link, 64).unwrap(), frame, len),
            0,
            "{link:?}"
        );
    }
}

#[test]
fn every_compiled_program_passes_the_kernel_checks() {
    let exprs = [
        "host 10.0.0.1",
        "src net 10.0.0.0/8 and dst net fd00::/8",
        "net ::/0 or net 0.0.0.0/0",
        "not port 53 and not icmp",
        "tcp portrange 0-1023 or udp portrange 1024-65535",
        "arp or rarp or ip6 proto 44",
        "src and dst host fe80::1",
        "sctp or proto 0 or ip proto 255",
    ];
    for e in exprs {
        let f = Filter::parse(e).unwrap();
        for link in LINKS {
            let prog = f.compile(link, 262_144).unwrap();
            check(&prog).unwrap_or_else(|err| panic!("{e:?} on {link:?}: {err}"));
        }
        // The canonical form parses back to the same filter.
        let again = Filter::parse(&f.canonical()).unwrap();
        assert_eq!(again.expr, f.expr, "{e:?} → {:?}", f.canonical());
    }
}

#[test]
fn loads_are_not_repeated_when_the_value_is_known() {
    // `host` on Ethernet: the ARP branch reuses the EtherType already in A (as tcpdump -d).
    let prog = Filter::parse("host 10.0.0.1")
        .unwrap()
        .compile(LinkType::Ethernet, 262_144)
        .unwrap();
    let loads_of_12 = prog.iter().filter(|i| i.code == 0x28 && i.k == 12).count();
    assert_eq!(loads_of_12, 1, "{prog:?}");
    assert_eq!(
        prog.len(),
        14,
        "tcpdump -d prints 14 instructions: {prog:?}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const WORDS: &[&str] = &[
        "host",
        "net",
        "port",
        "portrange",
        "proto",
        "src",
        "dst",
        "and",
        "or",
        "not",
        "tcp",
        "udp",
        "sctp",
        "icmp",
        "icmp6",
        "arp",
        "rarp",
        "ip",
        "ip6",
        "(",
        ")",
        "!",
        "&&",
        "||",
        "10.0.0.1",
        "10.0.0.0/8",
        "10",
        "fe80::/10",
        "::1",
        "53",
        "80",
        "1-1024",
        "0x11",
        "255",
        "65536",
        "1.2.3.4/33",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            if let Ok(f) = Filter::parse(&text) {
                for link in LINKS {
                    let _ = f.compile(link, 100);
                }
            }
        }

        #[test]
        fn token_soup_parses_or_errs_and_compiles_to_valid_programs(
            idx in proptest::collection::vec(0..WORDS.len(), 0..40),
            frame in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let text: Vec<&str> = idx.iter().map(|&i| WORDS[i]).collect();
            let text = text.join(" ");
            match Filter::parse(&text) {
                Err(e) => prop_assert!(e.at <= text.len(), "{text:?}: {e}"),
                Ok(f) => {
                    let again = Filter::parse(&f.canonical());
                    prop_assert_eq!(again.map(|a| a.expr), Ok(f.expr.clone()), "{:?}", text);
                    for link in LINKS {
                        if let Ok(prog) = f.compile(link, 100) {
                            prop_assert_eq!(check(&prog), Ok(()), "{:?} {:?}", text, link);
                            let r = run(&prog, &frame, frame.len() as u32);
                            prop_assert!(r == 0 || r == 100);
                        }
                    }
                }
            }
        }
    }
}
