//! Filter speed: compiling, and `filter::run` per frame (the user-space check the helper falls
//! back to when the kernel refuses a program). `cargo bench -p ktui-packet --bench filter`.

use std::hint::black_box;
use std::time::Instant;

use ktui_packet::LinkType;
use ktui_packet::filter::{Filter, run};

/// Ethernet frames: IPv4 UDP to 53, IPv4 TCP 8080, IPv6 UDP to 9999, ARP.
fn frames() -> Vec<Vec<u8>> {
    let mut udp4 = vec![0u8; 14 + 20 + 8 + 40];
    udp4[12..14].copy_from_slice(&[0x08, 0x00]);
    udp4[14] = 0x45;
    udp4[23] = 17;
    udp4[26..30].copy_from_slice(&[10, 66, 0, 1]);
    udp4[30..34].copy_from_slice(&[10, 66, 0, 2]);
    udp4[34..38].copy_from_slice(&[0x9c, 0x40, 0x00, 0x35]);
    let mut tcp4 = udp4.clone();
    tcp4[23] = 6;
    tcp4[36..38].copy_from_slice(&8080u16.to_be_bytes());
    let mut udp6 = vec![0u8; 14 + 40 + 8 + 40];
    udp6[12..14].copy_from_slice(&[0x86, 0xdd]);
    udp6[14] = 0x60;
    udp6[20] = 17;
    udp6[56..58].copy_from_slice(&9999u16.to_be_bytes());
    let mut arp = vec![0u8; 42];
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    vec![udp4, tcp4, udp6, arp]
}

fn main() {
    let hosts: Vec<String> = (1..=100).map(|i| format!("host 192.0.2.{i}")).collect();
    let cases = [
        "udp port 53".to_string(),
        "not (port 53 or arp) and (ip or ip6)".to_string(),
        "tcp and (port 8080 or port 81) and not host fd00:66::1".to_string(),
        hosts.join(" or "),
    ];
    let frames = frames();
    let compile = |text: &str| {
        Filter::parse(text)
            .and_then(|f| f.compile(LinkType::Ethernet, 262_144))
            .unwrap_or_default()
    };
    for text in &cases {
        let n = 2_000u32;
        let t = Instant::now();
        for _ in 0..n {
            black_box(compile(black_box(text)));
        }
        let compile_us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let prog = compile(text);
        let rounds = 500_000u32;
        let t = Instant::now();
        let mut kept = 0u64;
        for _ in 0..rounds {
            for f in &frames {
                kept += u64::from(run(black_box(&prog), black_box(f), 100) > 0);
            }
        }
        let per_frame_ns =
            t.elapsed().as_secs_f64() * 1e9 / f64::from(rounds) / frames.len() as f64;
        let name: String = text.chars().take(50).collect();
        println!(
            "{name:<52} {:>4} insns  compile {compile_us:>7.1} µs  run {per_frame_ns:>6.1} ns/frame  (kept {kept})",
            prog.len()
        );
    }
}
