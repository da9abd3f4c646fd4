//! Print the classic BPF a filter compiles to, like `tcpdump -d`:
//! `cargo run -p ktui-packet --example bpf_dump -- [-y LINKTYPE_NUMBER] 'port 53'`.

use ktui_packet::LinkType;
use ktui_packet::filter::{Filter, dump};

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut link = LinkType::Ethernet;
    if args.first().is_some_and(|a| a == "-y") && args.len() >= 2 {
        let n = args[1].parse().unwrap_or(1);
        link = LinkType::from_linktype(n);
        args.drain(..2);
    }
    let text = args.join(" ");
    match Filter::parse(&text).and_then(|f| f.compile(link, 262_144)) {
        Ok(prog) => {
            print!("{}", dump(&prog));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
