//! `/proc/net/nf_conntrack`: the table as text, for when ctnetlink is refused (no
//! CAP_NET_ADMIN). It shows the reading process's network namespace, readable by root:
//!
//! `ipv4 2 tcp 6 117 TIME_WAIT src=A dst=B sport=P dport=Q [UNREPLIED] src=B dst=A sport=Q
//! dport=P [ASSURED] mark=0 zone=0 use=2` (UDP lines have no state word).

use std::net::IpAddr;

use super::{Entry, TCP_STATES, Tuple, mapped, udp_state};
use crate::netfmt::{IPPROTO_TCP, IPPROTO_UDP};

/// Under the proc root (`/proc`; `KTUI_PROC_ROOT`).
pub const UNDER_PROC: &str = "net/nf_conntrack";

fn addr(text: &str) -> Option<[u8; 16]> {
    match text.parse::<IpAddr>().ok()? {
        IpAddr::V4(v4) => Some(mapped(v4.octets())),
        IpAddr::V6(v6) => Some(v6.octets()),
    }
}

/// The `src= dst= sport= dport=` group starting at `words[0]`.
fn tuple(proto: u8, words: &[&str]) -> Option<Tuple> {
    let value = |i: usize, key: &str| words.get(i)?.strip_prefix(key);
    Some(Tuple {
        proto,
        src: addr(value(0, "src=")?)?,
        dst: addr(value(1, "dst=")?)?,
        sport: value(2, "sport=")?.parse().ok()?,
        dport: value(3, "dport=")?.parse().ok()?,
    })
}

/// One line as an entry; None for other protocols and lines it cannot read.
pub fn parse_line(line: &str) -> Option<Entry> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let proto: u16 = words.get(3)?.parse().ok()?;
    if !matches!(proto, IPPROTO_TCP | IPPROTO_UDP) {
        return None;
    }
    let groups: Vec<usize> = (0..words.len())
        .filter(|&i| words[i].starts_with("src="))
        .collect();
    let orig = tuple(proto as u8, &words[*groups.first()?..])?;
    let reply = tuple(proto as u8, &words[*groups.get(1)?..])?;
    let flag = |f: &str| words.contains(&f);
    let state = if proto == IPPROTO_TCP {
        let name = words.get(5)?;
        TCP_STATES.iter().find(|s| *s == name).copied()
    } else {
        Some(udp_state(!flag("[UNREPLIED]"), flag("[ASSURED]")))
    };
    Some(Entry { orig, reply, state })
}

/// Every TCP and UDP entry of `text` (the whole file).
pub fn parse(text: &str) -> impl Iterator<Item = Entry> + '_ {
    text.lines().filter_map(parse_line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::tests::v4;

    #[test]
    fn real_lines_parse() {
        let text = include_str!("../../tests/fixtures/conntrack/nf_conntrack.txt");
        let entries: Vec<Entry> = parse(text).collect();
        assert_eq!(entries.len(), 5);
        let udp = &entries[0];
        assert_eq!(udp.orig, v4(17, "10.79.200.2", 59132, "10.96.200.10", 53));
        assert_eq!(udp.reply, v4(17, "10.79.201.2", 5353, "10.79.200.2", 59132));
        assert_eq!((udp.state, udp.nat()), (Some("REPLIED"), Some("dnat")));
        let syn = &entries[1];
        assert_eq!(syn.state, Some("SYN_SENT"));
        assert_eq!(syn.reply, v4(6, "10.96.200.10", 81, "10.79.200.2", 54412));
        assert_eq!(entries[2].state, Some("ESTABLISHED"));
        assert_eq!(entries[4].state, Some("TIME_WAIT"));
    }

    #[test]
    fn udp_flags_ipv6_and_what_is_skipped() {
        // Constructed in the kernel's format (this VM keeps no IPv6 entries).
        let v6 = "ipv6     10 udp      17 28 src=fd00:0000:0000:0000:0000:0000:0000:0001 \
                  dst=fd00:0000:0000:0000:0000:0000:0000:0053 sport=40000 dport=53 [UNREPLIED] \
                  src=fd00:0000:0000:0000:0000:0000:0000:0053 \
                  dst=fd00:0000:0000:0000:0000:0000:0000:0001 sport=53 dport=40000 mark=0 zone=0 use=2";
        let e = parse_line(v6).unwrap();
        assert_eq!(e.state, Some("UNREPLIED"));
        assert_eq!(
            e.orig.src,
            "fd00::1".parse::<std::net::Ipv6Addr>().unwrap().octets()
        );
        assert!(!e.orig.is_v4());
        let assured = "ipv4 2 udp 17 170 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 \
                       src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] mark=0 use=2";
        assert_eq!(parse_line(assured).unwrap().state, Some("ASSURED"));
        let icmp = "ipv4 2 icmp 1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=7 \
                    src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=7 mark=0 use=2";
        assert_eq!(parse_line(icmp), None);
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("ipv4 2 tcp 6 10 ESTABLISHED src=10.0.0.1"), None);
        assert_eq!(
            parse_line("ipv4 2 tcp 6 10 ESTABLISHED src=x dst=y sport=1 dport=2 src=y dst=x"),
            None
        );
    }
}
