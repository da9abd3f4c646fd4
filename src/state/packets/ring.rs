//! The live summaries of one capture: the last N packet lines in a [`crate::state::ring::Ring`]
//! (older ones counted as evicted, held aside while the pane is paused), and the pane's
//! display filter.

use ktui_wire::PacketLine;

/// Packet summaries a capture keeps for the pane (`--packet-lines N` is not a flag: the pcap
/// has every packet; the pane shows the recent ones).
pub const DEFAULT_LINES: usize = 5_000;

/// A capture's summaries.
pub type Ring = crate::state::ring::Ring<PacketLine>;

impl Default for Ring {
    fn default() -> Self {
        Self::new(DEFAULT_LINES)
    }
}

impl Ring {
    /// Up to `rows` lines passing `filter`, ending `scroll_back` matching lines before the
    /// newest, oldest first.
    pub fn window(&self, filter: &str, scroll_back: usize, rows: usize) -> Vec<&PacketLine> {
        let mut out: Vec<&PacketLine> = self
            .lines
            .iter()
            .rev()
            .filter(|l| matches(filter, l))
            .skip(scroll_back)
            .take(rows)
            .collect();
        out.reverse();
        out
    }
}

/// Display filter tokens: `host:ADDR` (either end), `port:N` (either end), `proto:NAME`,
/// `flags:SYN` (one of the TCP flags set), `vlan:N`, `dns` (a DNS query name), `trunc` (cut by
/// the snaplen); other words match anywhere in the line's text. `!` negates a token.
pub fn matches(filter: &str, p: &PacketLine) -> bool {
    filter.split_whitespace().all(|token| {
        let (negate, token) = match token.strip_prefix('!') {
            Some(t) => (true, t),
            None => (false, token),
        };
        let hit = match token.split_once(':') {
            Some(("host", h)) => [&p.src, &p.dst]
                .iter()
                .any(|a| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(h))),
            Some(("port", n)) => n
                .parse::<u16>()
                .is_ok_and(|n| p.sport == Some(n) || p.dport == Some(n)),
            Some(("proto", x)) => p
                .proto
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case(x)),
            Some(("flags", f)) => p
                .tcp_flags
                .as_deref()
                .is_some_and(|v| v.split(',').any(|g| g.eq_ignore_ascii_case(f))),
            Some(("vlan", n)) => n.parse::<u16>().is_ok_and(|n| p.vlan == Some(n)),
            None if token.eq_ignore_ascii_case("dns") => p.dns_qname.is_some(),
            None if token.eq_ignore_ascii_case("trunc") => p.truncated,
            _ => text_of(p).to_lowercase().contains(&token.to_lowercase()),
        };
        hit != negate
    })
}

/// The searchable text of a line.
pub fn text_of(p: &PacketLine) -> String {
    let port = |x: Option<u16>| x.map(|p| format!(":{p}")).unwrap_or_default();
    format!(
        "{} {}{} {}{} {} {} {}",
        p.proto.as_deref().unwrap_or(""),
        p.src.as_deref().unwrap_or(""),
        port(p.sport),
        p.dst.as_deref().unwrap_or(""),
        port(p.dport),
        p.tcp_flags.as_deref().unwrap_or(""),
        p.dns_qname.as_deref().unwrap_or(""),
        p.len
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn line(n: u64, proto: &str, sport: u16, dport: u16) -> PacketLine {
        PacketLine {
            n,
            ts: Some(format!("1700000000.{n:09}")),
            len: 74,
            caplen: 74,
            src: Some("10.0.0.1".into()),
            dst: Some("10.0.0.2".into()),
            proto: Some(proto.into()),
            sport: Some(sport),
            dport: Some(dport),
            tcp_flags: (proto == "tcp").then(|| "SYN,ACK".to_string()),
            icmp_type: None,
            vlan: None,
            dns_qname: (dport == 53).then(|| "api.example.com".to_string()),
            truncated: false,
        }
    }

    #[test]
    fn filter_tokens() {
        let tcp = line(1, "tcp", 40000, 443);
        let dns = line(2, "udp", 40001, 53);
        assert!(matches("port:443", &tcp) && !matches("port:443", &dns));
        assert!(matches("proto:UDP dns", &dns) && !matches("dns", &tcp));
        assert!(matches("flags:syn", &tcp) && !matches("flags:rst", &tcp));
        assert!(matches("host:10.0.0.2 !port:53", &tcp));
        assert!(matches("api.example", &dns));
        assert!(!matches("!api.example", &dns));
        assert!(!matches("trunc", &tcp));
        let mut r = Ring::new(10);
        for n in 1..=6 {
            r.ingest(if n % 2 == 0 {
                line(n, "udp", 40001, 53)
            } else {
                line(n, "tcp", 40000, 443)
            });
        }
        let w: Vec<u64> = r.window("dns", 1, 2).iter().map(|l| l.n).collect();
        assert_eq!(w, [2, 4], "two DNS lines, one back from the newest");
    }
}
