//! Why a capture file cannot be read (further). Every cause names the file; damage inside it
//! names the byte offset where the damaged record starts and the frame number being read, so
//! `ktui pcap summary` can print every frame before it and then say where it stopped. File
//! names come from the user or a case: the command sanitises the message before printing.

use std::io;

pub type Result<T, E = PcapError> = std::result::Result<T, E>;

/// What a truncated file ran out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    FileHeader,
    RecordHeader,
    PacketData,
    BlockHeader,
    Block,
}

impl Part {
    fn describe(self) -> &'static str {
        match self {
            Part::FileHeader => "the pcap file header",
            Part::RecordHeader => "the packet record header",
            Part::PacketData => "the packet data",
            Part::BlockHeader => "the pcapng block header",
            Part::Block => "the pcapng block",
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PcapError {
    #[error("cannot open {path}: {source} (check the path and that you may read it)")]
    Open {
        path: String,
        #[source]
        source: io::Error,
    },

    #[error("{path}: read error at byte offset {offset} (frame {frame}): {source}")]
    Read {
        path: String,
        offset: u64,
        frame: u64,
        #[source]
        source: io::Error,
    },

    #[error("{path} is empty (0 bytes): not a pcap or pcapng capture")]
    Empty { path: String },

    #[error(
        "{path} is not a pcap or pcapng capture: it starts with {start} (a pcap file starts with \
         a1b2c3d4 or a1b23c4d in either byte order, a pcapng file with 0a0d0d0a)"
    )]
    NotCapture { path: String, start: String },

    #[error(
        "{path}: truncated at byte offset {offset}, frame {frame}: {part} needs {need} bytes, the \
         file ends after {have} (the frames before it were read; the file was probably cut while \
         being written or copied)"
    )]
    Truncated {
        path: String,
        offset: u64,
        frame: u64,
        part: Part,
        need: u64,
        have: u64,
    },

    #[error(
        "{path}: corrupt at byte offset {offset}, frame {frame}: {what} (the frames before it \
         were read; nothing after it can be trusted)"
    )]
    Corrupt {
        path: String,
        offset: u64,
        frame: u64,
        what: String,
    },

    #[error("{path}: {what}")]
    Unsupported { path: String, what: String },
}
