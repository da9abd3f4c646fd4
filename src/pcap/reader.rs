//! A streaming reader of classic pcap and pcapng files: one packet at a time, parsed in place
//! in a fixed 1 MiB buffer ([`input`]), so memory does not grow with the file and every error
//! names the byte offset of the record it is about.
//!
//! Own code rather than pcap-file 2.x: pcap-file's readers hand out errors without the byte
//! offset of the damaged record, treat any record length as something to allocate, and copy
//! each packet through its own buffer; over one big buffered read a packet costs a few bounds
//! checks here. Formats: classic pcap with µs (a1b2c3d4) or ns (a1b23c4d) magic in either byte
//! order and the "modified" pcap of old Linux patches (a1b2cd34, 24-byte records); pcapng with
//! sections of either byte order, interface blocks (link type, if_tsresol in powers of 10 or 2,
//! if_tsoffset) and enhanced, simple and obsolete packet blocks; other blocks are skipped.

mod classic;
pub mod input;
mod ng;

use std::fs::File;
use std::io::Read;
use std::path::Path;

use ktui_packet::LinkType;

pub use super::error::{Part, PcapError, Result};
use input::Input;

/// The most bytes one packet may have captured: the largest snaplen libpcap, tcpdump and
/// Wireshark accept and the helper writes (262144, whole GSO/TSO super-frames), plus 64 KiB for
/// what a writer may add after applying it (cooked headers, re-inserted VLAN tags). A record
/// claiming more is corrupt: it is reported, never allocated.
pub const MAX_CAPLEN: u32 = 262_144 + 65_536;

/// The largest pcapng block read whole (a packet block with [`MAX_CAPLEN`] bytes and generous
/// options, or a header or interface block); larger blocks of other types are skipped
/// without being held.
pub const MAX_BLOCK: u32 = 512 * 1024;

/// Interfaces one pcapng section may declare (each costs a few bytes of state).
pub const MAX_INTERFACES: usize = 65_536;

/// The file format, as its magic number says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pcap {
        nanos: bool,
        big_endian: bool,
        /// The "modified" pcap format (Alexey Kuznetsov's patches): 24-byte record headers.
        modified: bool,
    },
    Pcapng,
}

/// One packet, borrowed from the reader's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// 1-based frame number.
    pub n: u64,
    pub link: LinkType,
    /// Nanoseconds since the epoch (`None` for a pcapng simple packet block, which has no
    /// time).
    pub ts_ns: Option<i128>,
    /// Original length on the wire.
    pub len: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// pcapng interface id (0 for classic pcap).
    pub interface: u32,
}

/// A packet record located in the buffer, before it is borrowed as a [`Packet`].
struct Raw {
    link: LinkType,
    ts_ns: Option<i128>,
    len: u32,
    start: usize,
    caplen: usize,
    interface: u32,
}

/// Where a damage was found, for the error.
struct At {
    offset: u64,
    frame: u64,
}

/// Damage inside the file, before the file's name and the frame number are attached.
enum Damage {
    Io(std::io::Error),
    Truncated { part: Part, need: u64, have: u64 },
    Corrupt(String),
}

/// `part` needed `need` bytes; the file ended after `have`.
fn truncated(part: Part, need: u64, have: usize) -> Damage {
    Damage::Truncated {
        part,
        need,
        have: have as u64,
    }
}

impl From<std::io::Error> for Damage {
    fn from(e: std::io::Error) -> Damage {
        Damage::Io(e)
    }
}

enum State {
    Classic(classic::Classic),
    Ng(ng::Ng),
}

pub struct Reader<R> {
    input: Input<R>,
    path: String,
    state: State,
    format: Format,
    frames: u64,
    /// Set after an error: the reader then ends.
    failed: bool,
}

impl Reader<File> {
    pub fn open(path: &Path) -> Result<Reader<File>> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| PcapError::Open {
            path: name.clone(),
            source,
        })?;
        Reader::new(file, name)
    }
}

impl<R: Read> Reader<R> {
    /// Reads the file header; `path` names the file in errors.
    pub fn new(src: R, path: String) -> Result<Reader<R>> {
        let mut input = Input::new(src);
        let at = |input: &Input<R>| At {
            offset: input.offset(),
            frame: 1,
        };
        let have = input
            .fill(4)
            .map_err(|e| error(&path, at(&input), Damage::Io(e)))?;
        if have == 0 {
            return Err(PcapError::Empty { path });
        }
        let magic = input.peek(have.min(4));
        let (state, format) = if magic == ng::SHB_MAGIC {
            let ng = ng::Ng::new();
            (State::Ng(ng), Format::Pcapng)
        } else {
            match classic::Classic::detect(magic) {
                Some(c) => {
                    let format = c.format();
                    (State::Classic(c), format)
                }
                None => {
                    let shown = input.fill(8).unwrap_or(have).min(8);
                    return Err(PcapError::NotCapture {
                        start: describe_start(input.peek(shown)),
                        path,
                    });
                }
            }
        };
        let mut reader = Reader {
            input,
            path,
            state,
            format,
            frames: 0,
            failed: false,
        };
        if let State::Classic(c) = &mut reader.state {
            let start = at(&reader.input);
            c.read_file_header(&mut reader.input).map_err(|d| match d {
                Damage::Corrupt(what) => PcapError::Unsupported {
                    path: reader.path.clone(),
                    what,
                },
                d => error(&reader.path, start, d),
            })?;
        }
        Ok(reader)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// The next packet; None at the end of the file. After an error, always None.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>> {
        if self.failed {
            return Ok(None);
        }
        let frame = self.frames + 1;
        let mut start = self.input.offset();
        let raw = match &mut self.state {
            State::Classic(c) => c.next(&mut self.input),
            State::Ng(ng) => ng.next(&mut self.input, &mut start),
        };
        match raw {
            Ok(Some(raw)) => {
                self.frames = frame;
                Ok(Some(Packet {
                    n: frame,
                    link: raw.link,
                    ts_ns: raw.ts_ns,
                    len: raw.len,
                    data: &self.input.buf()[raw.start..raw.start + raw.caplen],
                    interface: raw.interface,
                }))
            }
            Ok(None) => Ok(None),
            Err(d) => {
                self.failed = true;
                Err(error(
                    &self.path,
                    At {
                        offset: start,
                        frame,
                    },
                    d,
                ))
            }
        }
    }
}

fn error(path: &str, at: At, damage: Damage) -> PcapError {
    let path = path.to_string();
    let At { offset, frame } = at;
    match damage {
        Damage::Io(source) => PcapError::Read {
            path,
            offset,
            frame,
            source,
        },
        Damage::Truncated { part, need, have } => PcapError::Truncated {
            path,
            offset,
            frame,
            part,
            need,
            have,
        },
        Damage::Corrupt(what) => PcapError::Corrupt {
            path,
            offset,
            frame,
            what,
        },
    }
}

/// The first bytes of a file that is not a capture: hex, and the text when it is printable.
fn describe_start(b: &[u8]) -> String {
    let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    let text: String = b
        .iter()
        .map(|&x| {
            if (0x20..0x7f).contains(&x) {
                char::from(x)
            } else {
                '.'
            }
        })
        .collect();
    format!("{} (\"{text}\")", hex.join(" "))
}

/// Byte order of a file or pcapng section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, b: &[u8], at: usize) -> u16 {
        let v = [b[at], b[at + 1]];
        match self {
            Endian::Little => u16::from_le_bytes(v),
            Endian::Big => u16::from_be_bytes(v),
        }
    }

    fn u32(self, b: &[u8], at: usize) -> u32 {
        let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        match self {
            Endian::Little => u32::from_le_bytes(v),
            Endian::Big => u32::from_be_bytes(v),
        }
    }

    fn u64(self, b: &[u8], at: usize) -> u64 {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[at..at + 8]);
        match self {
            Endian::Little => u64::from_le_bytes(v),
            Endian::Big => u64::from_be_bytes(v),
        }
    }
}

#[cfg(test)]
pub(crate) mod testfile;

#[cfg(test)]
mod tests {
    use super::testfile::*;
    use super::*;

    type Got = (u64, LinkType, Option<i128>, u32, Vec<u8>);

    fn read_all(bytes: &[u8]) -> (Vec<Got>, Option<PcapError>) {
        let mut r = match Reader::new(bytes, "t.pcap".into()) {
            Ok(r) => r,
            Err(e) => return (Vec::new(), Some(e)),
        };
        let mut out = Vec::new();
        loop {
            match r.next_packet() {
                Ok(Some(p)) => out.push((p.n, p.link, p.ts_ns, p.len, p.data.to_vec())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn empty_and_foreign_files_are_refused_clearly() {
        let (_, e) = read_all(b"");
        assert!(matches!(e, Some(PcapError::Empty { .. })), "{e:?}");
        let (_, e) = read_all(b"{\"not\": \"a capture\"}\n");
        let msg = e.unwrap().to_string();
        assert!(msg.contains("not a pcap or pcapng capture"), "{msg}");
        assert!(
            msg.contains("7b 22 6e 6f 74 22 3a 20 (\"{\"not\": \")"),
            "{msg}"
        );
        let (_, e) = read_all(b"\xa1\xb2");
        assert!(matches!(e, Some(PcapError::NotCapture { .. })), "{e:?}");
    }

    /// Every byte of real captures replaced by three values in turn: the reader ends (a
    /// packet count or an error) without panicking, and never reports more frames than bytes.
    #[test]
    fn damaged_real_files_never_panic() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pcap");
        for name in [
            "dns_tcp.pcapng",
            "tcp_handshake_data_fin.pcap",
            "external/rusticata-pcap-parser/test001-be.pcapng",
        ] {
            let original = std::fs::read(format!("{dir}/{name}")).unwrap();
            for at in 0..original.len() {
                for value in [0x00, 0xff, original[at] ^ 0x80] {
                    let mut bytes = original.clone();
                    bytes[at] = value;
                    let (frames, _) = read_all(&bytes);
                    assert!(frames.len() <= bytes.len(), "{name} byte {at}");
                    for f in &frames {
                        let _ = ktui_packet::summarize(f.1, &f.4, f.3);
                    }
                }
            }
        }
    }

    #[test]
    fn describe_start_shows_hex_and_text() {
        assert_eq!(
            describe_start(b"KTUI\x00\x01"),
            "4b 54 55 49 00 01 (\"KTUI..\")"
        );
    }

    #[test]
    fn packets_larger_than_the_buffer_never_fit_and_huge_lengths_are_errors() {
        let big = vec![0u8; 100];
        let mut file = pcap_header(Endian::Little, false, 1);
        file.extend(pcap_record(Endian::Little, false, 1, 2, &big, 100));
        let mut huge = pcap_record(Endian::Little, false, 1, 2, &big, 100);
        huge[8..12].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        let at = file.len();
        file.extend(huge);
        let (pkts, e) = read_all(&file);
        assert_eq!(pkts.len(), 1);
        match e {
            Some(PcapError::Corrupt {
                offset,
                frame,
                what,
                ..
            }) => {
                assert_eq!((offset, frame), (at as u64, 2));
                assert!(what.contains("4294967280"), "{what}");
            }
            e => panic!("{e:?}"),
        }
    }
}
