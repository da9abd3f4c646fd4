//! The host's conntrack table (the helper's own network namespace, where kube-proxy's DNAT and
//! SNAT happen) for annotating TCP and UDP events with their entry: state, both directions and
//! whether the flow was translated.
//!
//! A refresher thread ([`refresh`]) dumps the table every 2 s into a bounded [`snapshot`] over
//! ctnetlink ([`netlink`], its encodings in [`message`]) or, when ctnetlink is refused (it
//! needs CAP_NET_ADMIN even for reads), from `/proc/net/nf_conntrack` ([`procfs`]). The reader
//! thread's [`lookup`] matches an event's tuple in it with one hash lookup, and asks the kernel
//! about a flow it has not seen (rate limited) and reads its destroy events, so that a short
//! or refused connection still gets its entry.

pub mod lookup;
pub mod message;
pub mod netlink;
pub mod procfs;
pub mod refresh;
pub mod snapshot;

use std::net::Ipv6Addr;

use crate::netfmt::{self, AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};

/// One direction of a flow. Addresses as IPv6, IPv4 as IPv4-mapped (`::ffff:a.b.c.d`), so an
/// IPv4 flow seen on a dual-stack socket matches its IPv4 entry; ports in host order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tuple {
    pub proto: u8,
    pub src: [u8; 16],
    pub dst: [u8; 16],
    pub sport: u16,
    pub dport: u16,
}

/// An IPv4 address as IPv4-mapped IPv6.
pub fn mapped(v4: [u8; 4]) -> [u8; 16] {
    std::net::Ipv4Addr::from(v4).to_ipv6_mapped().octets()
}

impl Tuple {
    /// An event's tuple (local end → remote end), for TCP and UDP with both ends known.
    pub fn of_event(
        family: u16,
        proto: u16,
        saddr: &[u8; 16],
        sport: u16,
        daddr: &[u8; 16],
        dport: u16,
    ) -> Option<Tuple> {
        if !matches!(proto, IPPROTO_TCP | IPPROTO_UDP) || sport == 0 || dport == 0 {
            return None;
        }
        let (src, dst) = match family {
            AF_INET => (
                mapped([saddr[0], saddr[1], saddr[2], saddr[3]]),
                mapped([daddr[0], daddr[1], daddr[2], daddr[3]]),
            ),
            AF_INET6 => (*saddr, *daddr),
            _ => return None,
        };
        if netfmt::is_unspecified(family, saddr) || netfmt::is_unspecified(family, daddr) {
            return None;
        }
        Some(Tuple {
            proto: proto as u8,
            src,
            dst,
            sport,
            dport,
        })
    }

    /// Either end is a loopback address (127/8, ::1).
    pub fn is_loopback(&self) -> bool {
        [self.src, self.dst].iter().any(|a| {
            let a = Ipv6Addr::from(*a);
            a.is_loopback() || a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        })
    }

    /// Both addresses are IPv4 (the entry lives in the IPv4 table).
    pub fn is_v4(&self) -> bool {
        Ipv6Addr::from(self.src).to_ipv4_mapped().is_some()
            && Ipv6Addr::from(self.dst).to_ipv4_mapped().is_some()
    }

    fn to_wire(self) -> ktui_wire::CtTuple {
        let text = |a: &[u8; 16]| netfmt::format_addr(AF_INET6, a).unwrap_or_default();
        ktui_wire::CtTuple {
            src: text(&self.src),
            sport: Some(self.sport),
            dst: text(&self.dst),
            dport: Some(self.dport),
        }
    }
}

/// One conntrack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// As the first packet went (to the Service VIP, from the pod).
    pub orig: Tuple,
    /// As the answers come back (from the backend, to the node after SNAT).
    pub reply: Tuple,
    /// TCP: the conntrack state name; UDP: `UNREPLIED`, `REPLIED` or `ASSURED`.
    pub state: Option<&'static str>,
}

/// Conntrack's TCP state names (`tcp_conntrack_names`, numbered as ctnetlink sends them).
pub const TCP_STATES: [&str; 10] = [
    "NONE",
    "SYN_SENT",
    "SYN_RECV",
    "ESTABLISHED",
    "FIN_WAIT",
    "CLOSE_WAIT",
    "LAST_ACK",
    "TIME_WAIT",
    "CLOSE",
    "SYN_SENT2",
];

/// A UDP entry that has seen no answer yet.
pub const UNREPLIED: &str = "UNREPLIED";

/// A UDP entry's state from its flags.
pub fn udp_state(replied: bool, assured: bool) -> &'static str {
    match (replied, assured) {
        (_, true) => "ASSURED",
        (true, false) => "REPLIED",
        (false, false) => UNREPLIED,
    }
}

impl Entry {
    /// `dnat` when the answers come from elsewhere than the original destination (a Service
    /// VIP translated to a backend), `snat` when they go elsewhere than the original source
    /// (masquerade), both, or None.
    pub fn nat(&self) -> Option<&'static str> {
        let dnat = self.reply.src != self.orig.dst || self.reply.sport != self.orig.dport;
        let snat = self.reply.dst != self.orig.src || self.reply.dport != self.orig.sport;
        match (dnat, snat) {
            (true, true) => Some("dnat+snat"),
            (true, false) => Some("dnat"),
            (false, true) => Some("snat"),
            (false, false) => None,
        }
    }

    pub fn to_wire(&self) -> ktui_wire::Conntrack {
        ktui_wire::Conntrack {
            state: self.state.map(str::to_string),
            reply: Some(self.reply.to_wire()),
            orig: Some(self.orig.to_wire()),
            nat: self.nat().map(str::to_string),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An IPv4 TCP tuple from text.
    pub fn v4(proto: u8, src: &str, sport: u16, dst: &str, dport: u16) -> Tuple {
        let a = |s: &str| mapped(s.parse::<std::net::Ipv4Addr>().unwrap().octets());
        Tuple {
            proto,
            src: a(src),
            dst: a(dst),
            sport,
            dport,
        }
    }

    #[test]
    fn event_tuples_normalize_ipv4_and_skip_what_cannot_match() {
        let mut s = [0u8; 16];
        let mut d = [0u8; 16];
        s[..4].copy_from_slice(&[10, 0, 0, 1]);
        d[..4].copy_from_slice(&[10, 96, 0, 10]);
        let t = Tuple::of_event(AF_INET, IPPROTO_TCP, &s, 40000, &d, 80).unwrap();
        assert_eq!(t, v4(6, "10.0.0.1", 40000, "10.96.0.10", 80));
        assert!(t.is_v4());
        let ms: [u8; 16] = "::ffff:10.0.0.1".parse::<Ipv6Addr>().unwrap().octets();
        let md: [u8; 16] = "::ffff:10.96.0.10".parse::<Ipv6Addr>().unwrap().octets();
        assert_eq!(
            Tuple::of_event(AF_INET6, IPPROTO_TCP, &ms, 40000, &md, 80),
            Some(t)
        );
        let v6: [u8; 16] = "fd00::1".parse::<Ipv6Addr>().unwrap().octets();
        assert!(
            !Tuple::of_event(AF_INET6, IPPROTO_UDP, &v6, 1, &v6, 2)
                .unwrap()
                .is_v4()
        );
        assert_eq!(Tuple::of_event(AF_INET, 1, &s, 1, &d, 2), None, "ICMP");
        assert_eq!(Tuple::of_event(AF_INET, 6, &s, 0, &d, 80), None, "no port");
        assert_eq!(Tuple::of_event(AF_INET, 6, &[0; 16], 1, &d, 80), None);
    }

    #[test]
    fn nat_marker_and_wire_form() {
        let orig = v4(6, "10.0.0.1", 40000, "10.96.0.10", 80);
        let plain = Entry {
            orig,
            reply: v4(6, "10.96.0.10", 80, "10.0.0.1", 40000),
            state: Some("ESTABLISHED"),
        };
        assert_eq!(plain.nat(), None);
        let dnat = Entry {
            reply: v4(6, "10.244.1.5", 8080, "10.0.0.1", 40000),
            ..plain
        };
        assert_eq!(dnat.nat(), Some("dnat"));
        let snat = Entry {
            reply: v4(6, "10.96.0.10", 80, "192.168.1.2", 40000),
            ..plain
        };
        assert_eq!(snat.nat(), Some("snat"));
        let port_only = Entry {
            reply: v4(6, "10.96.0.10", 80, "10.0.0.1", 61000),
            ..plain
        };
        assert_eq!(port_only.nat(), Some("snat"));
        let both = Entry {
            reply: v4(6, "10.244.1.5", 8080, "192.168.1.2", 40000),
            ..plain
        };
        assert_eq!(both.nat(), Some("dnat+snat"));
        let w = dnat.to_wire();
        assert_eq!(w.state.as_deref(), Some("ESTABLISHED"));
        assert_eq!(w.nat.as_deref(), Some("dnat"));
        let r = w.reply.unwrap();
        assert_eq!(
            (r.src.as_str(), r.sport, r.dst.as_str(), r.dport),
            ("10.244.1.5", Some(8080), "10.0.0.1", Some(40000))
        );
        assert_eq!(w.orig.unwrap().dst, "10.96.0.10");
        assert_eq!(udp_state(false, false), "UNREPLIED");
        assert_eq!(udp_state(true, false), "REPLIED");
        assert_eq!(udp_state(true, true), "ASSURED");
    }
}
