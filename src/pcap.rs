//! `ktui pcap summary FILE [--json] [--flows]` (pinned): one line per packet of a pcap or pcapng
//! file — aligned text, or the pinned JSON object — or per-flow totals, read in one streaming
//! pass with bounded memory (the reader's 1 MiB buffer, a 1 MiB output buffer, and with
//! `--flows` at most [`flows::MAX_FLOWS`] flows).
//!
//! A damaged file: every packet before the damage is printed, then the error (byte offset and
//! frame number) on stderr, exit 1. An empty or foreign file: a clear error, exit 1.

pub mod error;
pub mod flows;
pub mod out;
pub mod reader;
pub mod text;

use std::path::PathBuf;

use ktui_packet::summarize;

pub use error::{PcapError, Result};
use out::Out;
pub use reader::{Packet, Reader};

#[derive(Debug, clap::Args)]
pub struct PcapArgs {
    #[command(subcommand)]
    pub command: PcapCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PcapCommand {
    /// One line per packet (time, protocol, addresses and ports, TCP flags, ICMP type, VLAN, DNS
    /// name, lengths) of a pcap or pcapng file, as text or JSON; --flows for per-flow totals.
    Summary(SummaryArgs),
}

#[derive(Debug, clap::Args)]
pub struct SummaryArgs {
    /// The capture: pcap (µs or ns timestamps, either byte order) or pcapng.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// One JSON object per line: n, ts, len, caplen, src, dst, proto, sport, dport, tcp_flags,
    /// icmp_type, vlan, dns_qname, truncated (null when absent).
    #[arg(long)]
    pub json: bool,
    /// Per-flow totals instead of packets: packets and bytes each way, first and last seen,
    /// and for TCP whether the handshake was seen, resets and retransmit-like repeats.
    #[arg(long)]
    pub flows: bool,
}

pub fn run(args: &PcapArgs) -> u8 {
    match &args.command {
        PcapCommand::Summary(a) => summary_cmd(a),
    }
}

/// `ktui pcap summary`: 0 when the whole file was read, 1 when it could not be (after printing
/// what came before the damage); a closed stdout (`| head`) ends it quietly with 0.
pub fn summary_cmd(args: &SummaryArgs) -> u8 {
    let mut out = Out::stdout();
    let result = if args.flows {
        summarize_flows(args, &mut out)
    } else {
        summarize_packets(args, &mut out)
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Ok(()), Ok(())) => 0,
        (_, Err(e)) | (Err(Stop::Write(e)), _) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        (Err(Stop::Read(e)), Ok(())) => {
            eprintln!("ktui: {}", crate::sanitize::line(&e.to_string()));
            1
        }
        (Err(Stop::Write(e)), _) | (_, Err(e)) => {
            eprintln!("ktui: cannot write the summary: {e}");
            1
        }
    }
}

/// Why a summary ended early.
enum Stop {
    Read(PcapError),
    Write(std::io::Error),
}

fn summarize_packets(args: &SummaryArgs, out: &mut Out) -> Result<(), Stop> {
    let mut reader = Reader::open(&args.file).map_err(Stop::Read)?;
    loop {
        let packet = match reader.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => return Ok(()),
            Err(e) => return Err(Stop::Read(e)),
        };
        let s = summarize(packet.link, packet.data, packet.len);
        if args.json {
            s.write_json_line(packet.n, packet.ts_ns, out.buf());
        } else {
            text::write_line(&s, packet.n, packet.ts_ns, out.buf());
        }
        out.maybe_flush().map_err(Stop::Write)?;
    }
}

fn summarize_flows(args: &SummaryArgs, out: &mut Out) -> Result<(), Stop> {
    let mut table = flows::FlowTable::new();
    let read = read_flows(args, &mut table);
    // What was read before any damage is printed, then the error.
    let written = if args.json {
        table.write_json(out)
    } else {
        table.write_text(out)
    };
    written.map_err(Stop::Write)?;
    read.map_err(Stop::Read)
}

fn read_flows(args: &SummaryArgs, table: &mut flows::FlowTable) -> Result<()> {
    let mut reader = Reader::open(&args.file)?;
    while let Some(packet) = reader.next_packet()? {
        let s = summarize(packet.link, packet.data, packet.len);
        table.add(&s, packet.ts_ns);
    }
    Ok(())
}
