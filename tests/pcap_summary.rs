//! `ktui pcap summary` end to end, the real binary against tshark's truth: every capture in
//! tests/fixtures/pcap (copied, external and own/) field by field; every damaged file gives the
//! pinned error (the frames before the damage, the byte offset and frame number, exit 1, no
//! panic); `--flows` against tshark's conversation tables and TCP analysis; text mode; a closed
//! stdout. The truth files are described in tests/fixtures/README.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pcap");

fn ktui(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .env_remove("KTUI_CASES_DIR")
        .output()
        .unwrap()
}

/// Every capture with a FILE.truth.csv, sorted.
fn captures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if let Some(name) = p.to_str().and_then(|s| s.strip_suffix(".truth.csv")) {
                out.push(PathBuf::from(name));
            }
        }
    }
    let mut out = Vec::new();
    walk(Path::new(FIXTURES), &mut out);
    out.sort();
    out
}

/// A tshark `-T fields` CSV (quoted or not); a field's several values are comma-joined.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines().map(split_csv);
        let header = lines.next().unwrap_or_default();
        let rows: Vec<Vec<String>> = lines.collect();
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r.len(), header.len(), "{} row {}", path.display(), i + 1);
        }
        Csv { header, rows }
    }

    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn get<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        &row[self.col(name)]
    }

    /// The row of frame `n`.
    fn frame(&self, n: u64) -> &[String] {
        let c = self.col("frame.number");
        self.rows
            .iter()
            .find(|r| r[c] == n.to_string())
            .unwrap_or_else(|| panic!("no frame {n}"))
    }
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn first(v: &str) -> Option<&str> {
    v.split(',').next().filter(|s| !s.is_empty())
}

/// tshark's `tcp.flags.str` (12 characters, `·` for a flag not set, high bits first) as the
/// pinned comma list.
fn flags_from_tshark(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    assert_eq!(chars.len(), 12, "tcp.flags.str {s:?}");
    // Positions from the right: F S R P A U E C.
    let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if chars[11 - i] != '·' {
            out.push(*name);
        }
    }
    out.join(",")
}

fn proto_from_number(n: &str) -> String {
    match n {
        "6" => "tcp".into(),
        "17" => "udp".into(),
        "1" => "icmp".into(),
        "58" => "icmpv6".into(),
        n => n.into(),
    }
}

/// What `ktui pcap summary --json` must say for one frame, from the truth and extra CSVs.
fn expected(truth: &Csv, t: &[String], extra: &Csv, x: &[String]) -> BTreeMap<&'static str, Value> {
    let stack: Vec<&str> = extra.get(x, "frame.protocols").split(':').collect();
    let net = stack
        .iter()
        .position(|p| matches!(*p, "ip" | "ipv6" | "arp"));
    let str_or_null = |v: Option<&str>| v.map_or(Value::Null, |s| Value::String(s.into()));
    let (src, dst, proto) = match net.map(|i| stack[i]) {
        Some("ip") => (
            first(truth.get(t, "ip.src")),
            first(truth.get(t, "ip.dst")),
            proto_from_number(first(truth.get(t, "ip.proto")).unwrap()),
        ),
        Some("ipv6") => {
            let i = net.unwrap();
            let upper = stack[i + 1..]
                .iter()
                .find(|p| !p.starts_with("ipv6."))
                .copied()
                .unwrap_or("data");
            let proto = match upper {
                "tcp" | "udp" | "icmpv6" => upper.to_string(),
                // A non-first fragment: the fragment header's next header.
                "data" if first(extra.get(x, "ipv6.fraghdr.offset")).is_some_and(|o| o != "0") => {
                    proto_from_number(first(extra.get(x, "ipv6.fraghdr.nxt")).unwrap())
                }
                other => panic!("IPv6 upper layer {other:?} has no expectation here"),
            };
            (
                first(truth.get(t, "ipv6.src")),
                first(truth.get(t, "ipv6.dst")),
                proto,
            )
        }
        Some("arp") => (None, None, "arp".to_string()),
        _ => (None, None, "other".to_string()),
    };
    // Link addresses when the frame has no IP layer.
    let (src, dst) = if net.is_some_and(|i| stack[i] != "arp") {
        (src, dst)
    } else {
        let eth_src = first(extra.get(x, "eth.src")).or(first(extra.get(x, "sll.src.eth")));
        (eth_src, first(extra.get(x, "eth.dst")))
    };
    let ports = |p: &str| {
        let (s, d) = match p {
            "tcp" => ("tcp.srcport", "tcp.dstport"),
            "udp" => ("udp.srcport", "udp.dstport"),
            _ => return (Value::Null, Value::Null),
        };
        let n = |c| {
            first(truth.get(t, c)).map_or(Value::Null, |v| Value::from(v.parse::<u64>().unwrap()))
        };
        (n(s), n(d))
    };
    let (sport, dport) = ports(&proto);
    let tcp_flags = if proto == "tcp" {
        first(truth.get(t, "tcp.flags.str"))
            .map_or(Value::Null, |f| Value::String(flags_from_tshark(f)))
    } else {
        Value::Null
    };
    let icmp_type = match proto.as_str() {
        "icmp" => first(extra.get(x, "icmp.type")),
        "icmpv6" => first(extra.get(x, "icmpv6.type")),
        _ => None,
    }
    .map_or(Value::Null, |v| Value::from(v.parse::<u64>().unwrap()));
    let vlan = first(extra.get(x, "ieee8021ad.id"))
        .or(first(truth.get(t, "vlan.id")))
        .map_or(Value::Null, |v| Value::from(v.parse::<u64>().unwrap()));
    // Names in an ICMP error's quoted packet are not this packet's.
    let dns = if matches!(proto.as_str(), "tcp" | "udp") {
        str_or_null(first(truth.get(t, "dns.qry.name")))
    } else {
        Value::Null
    };
    let len: u64 = truth.get(t, "frame.len").parse().unwrap();
    let caplen: u64 = truth.get(t, "frame.cap_len").parse().unwrap();
    // A pcapng simple packet block has no time: tshark prints none, ktui null.
    let ts = str_or_null(Some(truth.get(t, "frame.time_epoch")).filter(|ts| !ts.is_empty()));
    BTreeMap::from([
        (
            "n",
            Value::from(truth.get(t, "frame.number").parse::<u64>().unwrap()),
        ),
        ("ts", ts),
        ("len", Value::from(len)),
        ("caplen", Value::from(caplen)),
        ("src", str_or_null(src)),
        ("dst", str_or_null(dst)),
        ("proto", Value::String(proto)),
        ("sport", sport),
        ("dport", dport),
        ("tcp_flags", tcp_flags),
        ("icmp_type", icmp_type),
        ("vlan", vlan),
        ("dns_qname", dns),
        ("truncated", Value::Bool(caplen < len)),
    ])
}

fn extra_of(file: &Path) -> Csv {
    Csv::read(&PathBuf::from(format!("{}.extra.csv", file.display())))
}

fn summary_json(file: &Path) -> Vec<Value> {
    let out = ktui(&["pcap", "summary", "--json", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

/// Each line of `--json` output, parsed.
fn json_lines(stdout: &[u8]) -> Vec<Value> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// Frames tshark lists that are pcapng custom blocks, not packets ("PCAPNG" in its summary).
fn pcapng_blocks(file: &Path) -> BTreeSet<u64> {
    std::fs::read_to_string(format!("{}.summary.txt", file.display()))
        .unwrap()
        .lines()
        .filter(|l| l.contains(" PCAPNG "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn json_matches_tshark_on_every_capture_fixture() {
    let files = captures();
    assert!(files.len() >= 25, "only {} captures found", files.len());
    let mut problems = Vec::new();
    let mut compared = 0usize;
    let mut seen = BTreeSet::new();
    for file in &files {
        let truth = Csv::read(&PathBuf::from(format!("{}.truth.csv", file.display())));
        let extra = extra_of(file);
        let blocks = pcapng_blocks(file);
        let lines = summary_json(file);
        let packets: Vec<&Vec<String>> = truth
            .rows
            .iter()
            .filter(|t| !blocks.contains(&t[0].parse().unwrap()))
            .collect();
        if lines.len() != packets.len() {
            problems.push(format!(
                "{}: {} lines, tshark {} packets",
                file.display(),
                lines.len(),
                packets.len()
            ));
            continue;
        }
        for (line, t) in lines.iter().zip(packets) {
            let n: u64 = t[0].parse().unwrap();
            let want = expected(&truth, t, &extra, extra.frame(n));
            let obj = line.as_object().unwrap();
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                [
                    "n",
                    "ts",
                    "len",
                    "caplen",
                    "src",
                    "dst",
                    "proto",
                    "sport",
                    "dport",
                    "tcp_flags",
                    "icmp_type",
                    "vlan",
                    "dns_qname",
                    "truncated"
                ],
                "pinned keys, in order"
            );
            for (k, v) in &want {
                if &obj[*k] != v {
                    problems.push(format!(
                        "{} frame {n}: {k} = {}, tshark says {v}",
                        file.display(),
                        obj[*k]
                    ));
                }
            }
            for k in ["vlan", "dns_qname", "icmp_type", "tcp_flags"] {
                if !obj[k].is_null() {
                    seen.insert(k.to_string());
                }
            }
            if obj["truncated"] == Value::Bool(true) {
                seen.insert("truncated".into());
            }
            seen.insert(format!("proto {}", obj["proto"].as_str().unwrap()));
            compared += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The fixtures exercise what they are for.
    for k in [
        "vlan",
        "dns_qname",
        "icmp_type",
        "tcp_flags",
        "truncated",
        "proto tcp",
        "proto udp",
        "proto icmp",
        "proto icmpv6",
        "proto arp",
        "proto other",
    ] {
        assert!(seen.contains(k), "no fixture frame has {k}: {seen:?}");
    }
    assert!(compared > 900, "{compared} frames compared");
}

#[test]
fn own_fixtures_cover_every_link_type() {
    let own = Path::new(FIXTURES).join("own");
    let encap = |f: &str| {
        std::fs::read_to_string(own.join(format!("{f}.capinfos.txt")))
            .unwrap()
            .lines()
            .find(|l| l.starts_with("File encapsulation:"))
            .unwrap()
            .to_string()
    };
    assert!(encap("sll.pcap").contains("Linux cooked-mode capture v1"));
    assert!(encap("sll2.pcap").contains("Linux cooked-mode capture v2"));
    assert!(encap("rawip.pcap").contains("Raw IP"));
    assert!(encap("ipv4_linktype.pcap").contains("Raw IPv4"));
    assert!(encap("ipv6_linktype.pcap").contains("Raw IPv6"));
    assert!(encap("vlan.pcap").contains("Ethernet"));
    // Several interfaces of different link types in one pcapng.
    let multi = Csv::read(&own.join("multi.pcapng.interfaces.csv"));
    let encaps: BTreeSet<&str> = multi
        .rows
        .iter()
        .map(|r| multi.get(r, "frame.encap_type"))
        .collect();
    assert!(encaps.len() >= 2, "{encaps:?}");
    // Fragments, extension headers and DNS over TCP are in the veth capture.
    let extra = extra_of(&own.join("veth.pcap"));
    let stacks: Vec<&str> = extra
        .rows
        .iter()
        .map(|r| extra.get(r, "frame.protocols"))
        .collect();
    assert!(
        stacks.iter().any(|s| s.contains("ipv6.hopopts")),
        "no hop-by-hop header"
    );
    assert!(
        stacks.iter().any(|s| s.contains("ipv6.fraghdr")),
        "no IPv6 fragment"
    );
    assert!(
        extra
            .rows
            .iter()
            .any(|r| first(extra.get(r, "ip.frag_offset")).is_some_and(|o| o != "0")),
        "no non-first IPv4 fragment"
    );
    assert!(
        stacks.iter().any(|s| s.ends_with("tcp:dns")),
        "no DNS over TCP"
    );
    assert!(
        stacks.iter().any(|s| s.contains("icmp:ip:udp")),
        "no ICMP error"
    );
}

/// The offset of record `n` (1-based) of a little-endian classic pcap, and whether it is whole.
fn classic_record_offset(bytes: &[u8], n: usize) -> u64 {
    let mut at = 24usize;
    for _ in 1..n {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
    }
    at as u64
}

/// The offset of the first pcapng block that does not fit in the file.
fn first_cut_block(bytes: &[u8]) -> u64 {
    let mut at = 0usize;
    loop {
        let total = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if at + total > bytes.len() {
            return at as u64;
        }
        at += total;
    }
}

#[test]
fn damaged_files_print_what_came_before_then_offset_and_frame() {
    let dir = Path::new(FIXTURES).join("corrupt");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(dir.join("corrupt.truth.json")).unwrap()).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    for name in &names {
        let path = dir.join(name);
        let out = ktui(&["pcap", "summary", "--json", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(
            stderr.starts_with("ktui: ") && stderr.ends_with('\n'),
            "{name}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        let printed = out.stdout.iter().filter(|&&b| b == b'\n').count();
        let bytes = std::fs::read(&path).unwrap();
        let damage = match name.as_str() {
            "truncated_mid_packet.pcap"
            | "truncated_mid_record_header.pcap"
            | "huge_caplen.pcap" => {
                let n = truth[name]["tcpdump_packets_printed"].as_u64().unwrap() as usize;
                Some((n, classic_record_offset(&bytes, n + 1)))
            }
            "truncated_block.pcapng" => {
                let n = truth[name]["tcpdump_packets_printed"].as_u64().unwrap() as usize;
                Some((n, first_cut_block(&bytes)))
            }
            "truncated_global_header.pcap" => Some((0, 0)),
            _ => None,
        };
        match damage {
            Some((before, offset)) => {
                assert_eq!(printed, before, "{name}: frames printed before the damage");
                // Every printed line is a whole, valid object.
                for (i, line) in out
                    .stdout
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .enumerate()
                {
                    let v: Value = serde_json::from_slice(line).unwrap();
                    assert_eq!(v["n"], (i + 1) as u64);
                }
                assert!(
                    stderr.contains(&format!("byte offset {offset}, frame {}", before + 1)),
                    "{name}: {stderr}"
                );
            }
            None => {
                assert_eq!(printed, 0, "{name}");
                assert!(
                    stderr.contains("not a pcap or pcapng capture")
                        || stderr.contains("is empty (0 bytes)"),
                    "{name}: {stderr}"
                );
            }
        }
    }
    // The external fragment is not a capture either (tshark guesses CommView).
    let eof = Path::new(FIXTURES).join("external/rusticata-pcap-parser/err-eof.bin");
    let out = ktui(&["pcap", "summary", eof.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a pcap or pcapng capture"));
    assert!(out.stdout.is_empty());
    // A missing file.
    let out = ktui(&["pcap", "summary", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/x.pcap"));
}

/// One row of tshark's `-z conv,tcp` / `conv,udp`: endpoints and frames/bytes each way.
#[derive(Debug)]
struct Conv {
    proto: &'static str,
    a: (String, u64),
    b: (String, u64),
    frames_ab: u64,
    bytes_ab: u64,
    frames_ba: u64,
    bytes_ba: u64,
}

fn endpoint(s: &str) -> (String, u64) {
    let (addr, port) = s.rsplit_once(':').unwrap();
    (addr.to_string(), port.parse().unwrap())
}

fn read_conv(path: &Path) -> Vec<Conv> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut proto = "";
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with("TCP Conversations") {
            proto = "tcp";
        } else if line.starts_with("UDP Conversations") {
            proto = "udp";
        }
        let tok: Vec<&str> = line.split_whitespace().collect();
        if tok.len() < 12 || tok[1] != "<->" {
            continue;
        }
        // A <-> B, frames and bytes B→A ("<-"), A→B ("->"), total.
        for unit in [5, 8, 11] {
            assert_eq!(tok[unit], "bytes", "{}: {line}", path.display());
        }
        out.push(Conv {
            proto,
            a: endpoint(tok[0]),
            b: endpoint(tok[2]),
            frames_ba: tok[3].parse().unwrap(),
            bytes_ba: tok[4].parse().unwrap(),
            frames_ab: tok[6].parse().unwrap(),
            bytes_ab: tok[7].parse().unwrap(),
        });
    }
    out
}

fn flows_json(file: &Path) -> Vec<Value> {
    let out = ktui(&[
        "pcap",
        "summary",
        "--flows",
        "--json",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

#[test]
fn flows_match_tshark_conversations() {
    let mut checked = 0;
    for file in captures() {
        let conv_path = PathBuf::from(format!("{}.conv.txt", file.display()));
        let flows = flows_json(&file);
        // tshark leaves a frame whose TCP or UDP header was cut out of its conversation
        // tables (its dissector stops before the tap); ktui counts it in its flow.
        if summary_json(&file).iter().any(|l| l["truncated"] == true) {
            continue;
        }
        let convs = read_conv(&conv_path);
        let ours: Vec<&Value> = flows
            .iter()
            .filter(|f| {
                matches!(f["proto"].as_str(), Some("tcp" | "udp"))
                    && !f["a_port"].is_null()
                    && !f["b_port"].is_null()
            })
            .collect();
        assert_eq!(
            ours.len(),
            convs.len(),
            "{}: ktui has {} TCP/UDP flows, tshark {} conversations",
            file.display(),
            ours.len(),
            convs.len()
        );
        for c in &convs {
            let ep = |f: &Value, side: &str| {
                (
                    f[side].as_str().unwrap().to_string(),
                    f[format!("{side}_port")].as_u64().unwrap(),
                )
            };
            let f = ours
                .iter()
                .find(|f| {
                    f["proto"] == c.proto
                        && ((ep(f, "a") == c.a && ep(f, "b") == c.b)
                            || (ep(f, "a") == c.b && ep(f, "b") == c.a))
                })
                .unwrap_or_else(|| panic!("{}: no flow for {c:?}", file.display()));
            let same = ep(f, "a") == c.a;
            let (ab, ba) = if same {
                ((c.frames_ab, c.bytes_ab), (c.frames_ba, c.bytes_ba))
            } else {
                ((c.frames_ba, c.bytes_ba), (c.frames_ab, c.bytes_ab))
            };
            let got_ab = (
                f["packets_a_to_b"].as_u64().unwrap(),
                f["bytes_a_to_b"].as_u64().unwrap(),
            );
            let got_ba = (
                f["packets_b_to_a"].as_u64().unwrap(),
                f["bytes_b_to_a"].as_u64().unwrap(),
            );
            assert_eq!((got_ab, got_ba), (ab, ba), "{}: {c:?}", file.display());
            assert_eq!(f["packets"].as_u64().unwrap(), ab.0 + ba.0);
            checked += 1;
        }
    }
    assert!(checked >= 40, "{checked} conversations compared");
}

/// One tshark TCP stream: its endpoints, the OR of its frames' tcp.completeness, RST
/// segments, frames tshark calls (fast, spurious) retransmissions.
#[derive(Default)]
struct Stream {
    endpoints: BTreeSet<(String, u64)>,
    completeness: u64,
    resets: u64,
    retrans: u64,
}

#[test]
fn flows_tcp_analysis_matches_tshark() {
    let mut streams_checked = 0;
    let mut with_repeats = 0;
    let mut with_handshake = 0;
    for file in captures() {
        let truth = Csv::read(&PathBuf::from(format!("{}.truth.csv", file.display())));
        let tcp = Csv::read(&PathBuf::from(format!("{}.tcp.csv", file.display())));
        let lines = summary_json(&file);
        // Per tshark stream: its endpoints, OR of completeness, resets, retransmissions.
        let mut streams: BTreeMap<u64, Stream> = BTreeMap::new();
        for line in &lines {
            if line["proto"] != "tcp" || line["sport"].is_null() {
                continue;
            }
            let n = line["n"].as_u64().unwrap();
            let row = tcp.frame(n);
            let Some(stream) = first(tcp.get(row, "tcp.stream")) else {
                continue;
            };
            let e = streams.entry(stream.parse().unwrap()).or_default();
            e.endpoints.insert((
                line["src"].as_str().unwrap().into(),
                line["sport"].as_u64().unwrap(),
            ));
            e.endpoints.insert((
                line["dst"].as_str().unwrap().into(),
                line["dport"].as_u64().unwrap(),
            ));
            e.completeness |=
                first(tcp.get(row, "tcp.completeness")).map_or(0, |c| c.parse().unwrap());
            let t = truth.frame(n);
            if first(truth.get(t, "tcp.flags.str"))
                .is_some_and(|f| flags_from_tshark(f).contains("RST"))
            {
                e.resets += 1;
            }
            let retrans = [
                "tcp.analysis.retransmission",
                "tcp.analysis.fast_retransmission",
                "tcp.analysis.spurious_retransmission",
            ]
            .iter()
            .any(|c| !tcp.get(row, c).is_empty());
            e.retrans += u64::from(retrans);
        }
        if streams.is_empty() {
            continue;
        }
        let flows = flows_json(&file);
        for (id, st) in &streams {
            let (eps, completeness, resets, retrans) =
                (&st.endpoints, st.completeness, st.resets, st.retrans);
            let f = flows
                .iter()
                .find(|f| {
                    f["proto"] == "tcp" && !f["a_port"].is_null() && {
                        let a = (
                            f["a"].as_str().unwrap().to_string(),
                            f["a_port"].as_u64().unwrap(),
                        );
                        let b = (
                            f["b"].as_str().unwrap().to_string(),
                            f["b_port"].as_u64().unwrap(),
                        );
                        eps.contains(&a) && eps.contains(&b)
                    }
                })
                .unwrap_or_else(|| panic!("{}: no flow for tshark stream {id}", file.display()));
            let t = &f["tcp"];
            let what = format!("{} stream {id}: {f}", file.display());
            // tshark's completeness bits: 1 SYN, 2 SYN-ACK, 4 ACK (of the handshake).
            assert_eq!(t["handshake"], (completeness & 7 == 7), "{what}");
            assert_eq!(t["resets"], resets, "{what}");
            assert_eq!(t["repeats"], retrans, "{what}");
            streams_checked += 1;
            with_repeats += usize::from(retrans > 0);
            with_handshake += usize::from(completeness & 7 == 7);
        }
    }
    assert!(streams_checked >= 15, "{streams_checked}");
    assert!(
        with_repeats >= 2 && with_handshake >= 5,
        "{with_repeats} {with_handshake}"
    );
}

#[test]
fn text_mode_is_one_aligned_safe_line_per_packet() {
    for name in [
        "dns_udp.pcap",
        "own/multi.pcapng",
        "own/qinq.pcap",
        "own/snaplen64.pcap",
    ] {
        let file = Path::new(FIXTURES).join(name);
        let json = summary_json(&file);
        let out = ktui(&["pcap", "summary", file.to_str().unwrap()]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), json.len(), "{name}");
        for (line, j) in lines.iter().zip(&json) {
            assert!(!line.chars().any(|c| c.is_control()), "{line:?}");
            // Frame number right-aligned in 7 columns, then the UTC time.
            assert_eq!(line[..7].trim_start(), j["n"].to_string(), "{line}");
            assert_eq!(&line[7..8], " ");
            assert_eq!(&line[12..13], "-", "{line}");
            assert_eq!(&line[37..38], " ", "{line}");
            let proto = line[38..44].trim_end();
            assert_eq!(proto, j["proto"].as_str().unwrap(), "{line}");
            if let Some(name) = j["dns_qname"].as_str() {
                assert!(line.contains(&format!(" dns {name}")), "{line}");
            }
            if j["truncated"] == true {
                assert!(
                    line.ends_with(&format!("(cut to {})", j["caplen"])),
                    "{line}"
                );
            }
        }
    }
    let flows = ktui(&[
        "pcap",
        "summary",
        "--flows",
        &format!("{FIXTURES}/tcp_handshake_data_fin.pcap"),
    ]);
    let text = String::from_utf8(flows.stdout).unwrap();
    assert!(
        text.lines().next().unwrap().starts_with("proto  A "),
        "{text}"
    );
    assert!(
        text.contains("handshake yes fins 2 resets 0 repeats 0"),
        "{text}"
    );
}

#[test]
fn a_closed_stdout_ends_quietly() {
    // 200,000 frames: far more than one pipe buffer of output.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pcap");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    f.write_all(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]).unwrap();
    f.write_all(&[0; 8]).unwrap();
    f.write_all(&262_144u32.to_le_bytes()).unwrap();
    f.write_all(&1u32.to_le_bytes()).unwrap();
    let frame = std::fs::read(format!("{FIXTURES}/dns_udp.pcap")).unwrap();
    let (incl, data) = (
        u32::from_le_bytes(frame[32..36].try_into().unwrap()),
        &frame[40..],
    );
    for i in 0..200_000u32 {
        f.write_all(&i.to_le_bytes()).unwrap();
        f.write_all(&0u32.to_le_bytes()).unwrap();
        f.write_all(&incl.to_le_bytes()).unwrap();
        f.write_all(&incl.to_le_bytes()).unwrap();
        f.write_all(&data[..incl as usize]).unwrap();
    }
    drop(f);
    for json in [true, false] {
        let mut args = vec!["pcap", "summary", path.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_ktui"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        // The reader is dropped here: the pipe closes with most of the output unread.
        let out = child.wait_with_output().unwrap();
        assert!(first_line.contains("api.example.test"), "{first_line}");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
