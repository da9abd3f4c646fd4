//! One capture file being written with pcap-file: classic pcap with nanosecond timestamps
//! (magic a1b23c4d) and the interface's link type, or pcapng (one interface description
//! block per interface, if_tsresol 9, enhanced packet blocks). Every byte is counted as it
//! is accepted and hashed (SHA-256) on its way to the file, which is fsynced on close.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::{DataLink, Endianness, TsResolution};
use sha2::{Digest as _, Sha256};

const BUF: usize = 256 * 1024;
/// A pcap record header: ts_sec, ts_nsec, incl_len, orig_len.
pub const PCAP_RECORD_OVERHEAD: u64 = 16;
/// An enhanced packet block without options: type, length, interface, timestamp (2),
/// captured and original length, trailing length; data padded to 4.
pub const EPB_OVERHEAD: u64 = 32;
/// The classic pcap file header.
pub const PCAP_HEADER: u64 = 24;

/// The file, hashed and counted as bytes are accepted, buffered before the disk.
pub struct HashingFile {
    file: File,
    hasher: Sha256,
    buf: Vec<u8>,
    written: u64,
}

impl HashingFile {
    pub fn create(path: &Path) -> io::Result<HashingFile> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        Ok(HashingFile {
            file,
            hasher: Sha256::new(),
            buf: Vec::with_capacity(BUF),
            written: 0,
        })
    }

    /// Bytes accepted so far (the file's size once flushed).
    pub fn bytes(&self) -> u64 {
        self.written
    }

    /// Flush, fsync, and the SHA-256 (hex) of everything written.
    pub fn finish(mut self) -> io::Result<(u64, String)> {
        self.flush()?;
        self.file.sync_all()?;
        Ok((self.written, hex::encode(self.hasher.finalize())))
    }
}

impl HashingFile {
    /// The buffered bytes to the hash and the file (one hash update per buffer: the record
    /// writer hands over a few bytes at a time).
    fn spill(&mut self) -> io::Result<()> {
        self.hasher.update(&self.buf);
        self.file.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

impl Write for HashingFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.written += data.len() as u64;
        if self.buf.len() + data.len() > BUF {
            self.spill()?;
        }
        if data.len() >= BUF {
            self.hasher.update(data);
            self.file.write_all(data)?;
        } else {
            self.buf.extend_from_slice(data);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.spill()?;
        self.file.flush()
    }
}

/// An interface as written to the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInterface {
    pub name: String,
    pub linktype: u32,
}

/// The two file formats.
pub enum PacketWriter {
    /// pcap-file's PcapWriter gives its writer back by value only: the bytes written so far
    /// are counted here (the 24-byte header, then each record).
    Pcap(PcapWriter<HashingFile>, u64),
    PcapNg(PcapNgWriter<HashingFile>),
}

fn pcap_err(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

fn idb(i: &FileInterface, snaplen: u32) -> InterfaceDescriptionBlock<'static> {
    InterfaceDescriptionBlock {
        linktype: DataLink::from(i.linktype),
        snaplen,
        options: vec![
            InterfaceDescriptionOption::IfName(Cow::Owned(i.name.clone())),
            InterfaceDescriptionOption::IfTsResol(9),
        ],
    }
}

impl PacketWriter {
    /// A classic pcap file with one link type.
    pub fn pcap(file: HashingFile, linktype: u32, snaplen: u32) -> io::Result<PacketWriter> {
        let header = PcapHeader {
            snaplen,
            datalink: DataLink::from(linktype),
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        PcapWriter::with_header(file, header)
            .map(|w| PacketWriter::Pcap(w, PCAP_HEADER))
            .map_err(pcap_err)
    }

    /// A pcapng file with these interfaces (their ids are their positions).
    pub fn pcapng(
        file: HashingFile,
        interfaces: &[FileInterface],
        snaplen: u32,
    ) -> io::Result<PacketWriter> {
        let mut w = PcapNgWriter::new(file).map_err(pcap_err)?;
        for i in interfaces {
            w.write_pcapng_block(idb(i, snaplen)).map_err(pcap_err)?;
        }
        Ok(PacketWriter::PcapNg(w))
    }

    /// One more interface (pcapng; its id is the next position).
    pub fn add_interface(&mut self, i: &FileInterface, snaplen: u32) -> io::Result<()> {
        match self {
            PacketWriter::Pcap(..) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a classic pcap file has one interface",
            )),
            PacketWriter::PcapNg(w) => w
                .write_pcapng_block(idb(i, snaplen))
                .map(|_| ())
                .map_err(pcap_err),
        }
    }

    /// The bytes a packet of `caplen` adds to the file.
    pub fn record_size(&self, caplen: usize) -> u64 {
        match self {
            PacketWriter::Pcap(..) => PCAP_RECORD_OVERHEAD + caplen as u64,
            PacketWriter::PcapNg(_) => EPB_OVERHEAD + caplen.next_multiple_of(4) as u64,
        }
    }

    pub fn write(
        &mut self,
        interface: u32,
        ts: Duration,
        orig_len: u32,
        data: &[u8],
    ) -> io::Result<()> {
        match self {
            PacketWriter::Pcap(w, bytes) => {
                w.write_packet(&PcapPacket::new(ts, orig_len, data))
                    .map_err(pcap_err)?;
                *bytes += PCAP_RECORD_OVERHEAD + data.len() as u64;
                Ok(())
            }
            PacketWriter::PcapNg(w) => w
                .write_pcapng_block(EnhancedPacketBlock {
                    interface_id: interface,
                    timestamp: ts,
                    original_len: orig_len,
                    data: Cow::Borrowed(data),
                    options: Vec::new(),
                })
                .map(|_| ())
                .map_err(pcap_err),
        }
    }

    /// The file's size so far.
    pub fn bytes(&self) -> u64 {
        match self {
            PacketWriter::Pcap(_, bytes) => *bytes,
            PacketWriter::PcapNg(w) => w.get_ref().bytes(),
        }
    }

    /// Flush, fsync; (bytes, SHA-256 hex).
    pub fn finish(self) -> io::Result<(u64, String)> {
        match self {
            PacketWriter::Pcap(w, _) => w.into_writer().finish(),
            PacketWriter::PcapNg(w) => w.into_inner().finish(),
        }
    }
}
