//! A live snapshot's `proc/<pid>/net/{tcp,tcp6,udp,udp6,unix}` copies, parsed so that a
//! descriptor `socket:[INODE]` reads as its endpoints. Addresses are printed by the kernel as
//! host-order words (`%08X`); the nodes ktui runs on are little-endian.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One socket from the tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSocket {
    pub proto: String,
    pub local: String,
    pub remote: Option<String>,
    pub state: Option<String>,
}

/// Adds the sockets of one table (`table` is tcp, tcp6, udp, udp6 or unix) to `out`, keyed by
/// inode; stops adding at `cap` entries. Malformed lines are skipped.
pub fn parse_table(table: &str, text: &str, out: &mut HashMap<u64, NetSocket>, cap: usize) {
    for line in text.lines().skip(1) {
        if out.len() >= cap {
            return;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let parsed = if table == "unix" {
            unix(&cols)
        } else {
            inet(table, &cols)
        };
        if let Some((inode, sock)) = parsed
            && inode != 0
        {
            out.entry(inode).or_insert(sock);
        }
    }
}

fn inet(table: &str, cols: &[&str]) -> Option<(u64, NetSocket)> {
    let local = endpoint(cols.get(1)?)?;
    let remote = endpoint(cols.get(2)?)?;
    let st = u8::from_str_radix(cols.get(3)?, 16).ok()?;
    let inode = cols.get(9)?.parse().ok()?;
    let tcp = table.starts_with("tcp");
    let listening = tcp && st == 10;
    let unconnected = !tcp && remote.ends_with(":0");
    Some((
        inode,
        NetSocket {
            proto: table.to_string(),
            local,
            remote: (!listening && !unconnected).then_some(remote),
            state: tcp.then(|| tcp_state(st)),
        },
    ))
}

fn unix(cols: &[&str]) -> Option<(u64, NetSocket)> {
    let ty = match *cols.get(4)? {
        "0001" => "stream",
        "0002" => "dgram",
        "0005" => "seqpacket",
        _ => "unix",
    };
    let inode = cols.get(6)?.parse().ok()?;
    let path = cols.get(7).map_or(String::new(), |p| (*p).to_string());
    Some((
        inode,
        NetSocket {
            proto: format!("unix-{ty}"),
            local: path,
            remote: None,
            state: None,
        },
    ))
}

/// `0100007F:1F90` → `127.0.0.1:8080`; 32 hex digits for IPv6.
fn endpoint(text: &str) -> Option<String> {
    let (addr, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    match bytes.len() {
        4 => Some(format!(
            "{}:{port}",
            Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
        )),
        16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(&bytes);
            Some(format!("[{}]:{port}", Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

fn tcp_state(st: u8) -> String {
    let name = match st {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        other => return format!("state {other}"),
    };
    name.to_string()
}

/// The inode of a `socket:[N]` descriptor target.
pub fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_tables_parse_into_endpoints() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 190438 1 0000000000000000 100 0 0 10 0\n\
   1: 0C00550A:1F90 0100550A:896E 01 00000000:00000000 00:00000000 00000000     0        0 191606 1 0000000000000000 20 4 30 10 -1\n\
   2: garbage\n";
        let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 555 1\n";
        let udp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
   5: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 777 2 0 0\n";
        let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n\
0000000000000000: 00000002 00000000 00010000 0001 01 888 /run/app.sock\n\
0000000000000000: 00000003 00000000 00000000 0001 03 889\n";
        let mut m = HashMap::new();
        parse_table("tcp", tcp, &mut m, 100);
        parse_table("tcp6", tcp6, &mut m, 100);
        parse_table("udp", udp, &mut m, 100);
        parse_table("unix", unix, &mut m, 100);
        assert_eq!(m[&190438].local, "0.0.0.0:8080");
        assert_eq!(m[&190438].remote, None);
        assert_eq!(m[&190438].state.as_deref(), Some("LISTEN"));
        assert_eq!(m[&191606].local, "10.85.0.12:8080");
        assert_eq!(m[&191606].remote.as_deref(), Some("10.85.0.1:35182"));
        assert_eq!(m[&555].local, "[::1]:80");
        assert_eq!(m[&777].local, "127.0.0.1:53");
        assert_eq!(m[&777].state, None);
        assert_eq!(m[&888].local, "/run/app.sock");
        assert_eq!(m[&889].proto, "unix-stream");
        assert_eq!(m.len(), 6);
        let mut capped = HashMap::new();
        parse_table("tcp", tcp, &mut capped, 1);
        assert_eq!(capped.len(), 1);
        assert_eq!(socket_inode("socket:[1234]"), Some(1234));
        assert_eq!(socket_inode("pipe:[1]"), None);
    }
}
