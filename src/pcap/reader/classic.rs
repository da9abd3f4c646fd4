//! Classic pcap: a 24-byte file header, then records of a 16-byte header (seconds, µs or ns,
//! captured length, original length) and the captured bytes. The "modified" format adds
//! interface index, protocol and packet type (8 bytes) to each record header.

use std::io::Read;

use ktui_packet::LinkType;

use super::input::Input;
use super::{Damage, Endian, Format, MAX_CAPLEN, Part, Raw, truncated};

const FILE_HEADER: usize = 24;

pub struct Classic {
    endian: Endian,
    nanos: bool,
    modified: bool,
    link: LinkType,
}

impl Classic {
    /// The byte order and precision the 4-byte magic says, or None if it is not classic pcap.
    pub fn detect(magic: &[u8]) -> Option<Classic> {
        let m: [u8; 4] = magic.try_into().ok()?;
        let (value, endian) = match u32::from_le_bytes(m) {
            v @ (0xa1b2_c3d4 | 0xa1b2_3c4d | 0xa1b2_cd34) => (v, Endian::Little),
            _ => (u32::from_be_bytes(m), Endian::Big),
        };
        let (nanos, modified) = match value {
            0xa1b2_c3d4 => (false, false),
            0xa1b2_3c4d => (true, false),
            0xa1b2_cd34 => (false, true),
            _ => return None,
        };
        Some(Classic {
            endian,
            nanos,
            modified,
            link: LinkType::Ethernet,
        })
    }

    pub fn format(&self) -> Format {
        Format::Pcap {
            nanos: self.nanos,
            big_endian: self.endian == Endian::Big,
            modified: self.modified,
        }
    }

    fn record_header(&self) -> usize {
        if self.modified { 24 } else { 16 }
    }

    /// Version and link type; `Damage::Corrupt` here means "not a version we read".
    pub fn read_file_header<R: Read>(&mut self, input: &mut Input<R>) -> Result<(), Damage> {
        let have = input.fill(FILE_HEADER)?;
        if have < FILE_HEADER {
            return Err(truncated(Part::FileHeader, FILE_HEADER as u64, have));
        }
        let h = input.peek(FILE_HEADER);
        let (major, minor) = (self.endian.u16(h, 4), self.endian.u16(h, 6));
        if major != 2 {
            return Err(Damage::Corrupt(format!(
                "pcap version {major}.{minor}, only 2.x exists (the file is damaged or not pcap)"
            )));
        }
        // The low 26 bits are the link type (LT_LINKTYPE); the high bits say whether frames
        // carry an FCS, which the summary does not read.
        self.link = LinkType::from_linktype(self.endian.u32(h, 20) & 0x03ff_ffff);
        input.consume(FILE_HEADER);
        Ok(())
    }

    pub fn next<R: Read>(&mut self, input: &mut Input<R>) -> Result<Option<Raw>, Damage> {
        let hlen = self.record_header();
        let have = input.fill(hlen)?;
        if have == 0 {
            return Ok(None);
        }
        if have < hlen {
            return Err(truncated(Part::RecordHeader, hlen as u64, have));
        }
        let h = input.peek(hlen);
        let e = self.endian;
        let (secs, frac) = (e.u32(h, 0), e.u32(h, 4));
        let (caplen, len) = (e.u32(h, 8), e.u32(h, 12));
        if caplen > MAX_CAPLEN {
            return Err(Damage::Corrupt(format!(
                "the record claims {caplen} captured bytes, more than any packet may have \
                 ({MAX_CAPLEN})"
            )));
        }
        let need = hlen + caplen as usize;
        let have = input.fill(need)?;
        if have < need {
            return Err(truncated(Part::PacketData, u64::from(caplen), have - hlen));
        }
        let scale = if self.nanos { 1 } else { 1_000 };
        let raw = Raw {
            link: self.link,
            ts_ns: Some(i128::from(secs) * 1_000_000_000 + i128::from(frac) * scale),
            len,
            start: input.pos() + hlen,
            caplen: caplen as usize,
            interface: 0,
        };
        input.consume(need);
        Ok(Some(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testfile::*;
    use super::super::*;

    /// Frame number, time, original length, captured length, link type.
    type Got = (u64, Option<i128>, u32, usize, LinkType);

    fn frames(bytes: &[u8]) -> Result<Vec<Got>> {
        let mut r = Reader::new(bytes, "c.pcap".into())?;
        let mut out = Vec::new();
        while let Some(p) = r.next_packet()? {
            out.push((p.n, p.ts_ns, p.len, p.data.len(), p.link));
        }
        Ok(out)
    }

    #[test]
    fn both_byte_orders_and_precisions() {
        for endian in [Endian::Little, Endian::Big] {
            for nanos in [false, true] {
                let mut f = pcap_header(endian, nanos, 113);
                f.extend(pcap_record(
                    endian,
                    false,
                    1_700_000_000,
                    123_456,
                    &[1; 60],
                    60,
                ));
                f.extend(pcap_record(
                    endian,
                    false,
                    1_700_000_001,
                    999_999,
                    &[2; 40],
                    1500,
                ));
                let got = frames(&f).unwrap();
                let scale = if nanos { 1 } else { 1000 };
                assert_eq!(
                    got,
                    vec![
                        (
                            1,
                            Some(1_700_000_000_000_000_000 + 123_456 * scale),
                            60,
                            60,
                            LinkType::LinuxSll
                        ),
                        (
                            2,
                            Some(1_700_000_001_000_000_000 + 999_999 * scale),
                            1500,
                            40,
                            LinkType::LinuxSll
                        ),
                    ],
                    "{endian:?} nanos {nanos}"
                );
            }
        }
    }

    #[test]
    fn modified_format_records_are_24_bytes() {
        for endian in [Endian::Little, Endian::Big] {
            let mut f = pcap_header(endian, false, 1);
            f[..4].copy_from_slice(&match endian {
                Endian::Little => 0xa1b2_cd34u32.to_le_bytes(),
                Endian::Big => 0xa1b2_cd34u32.to_be_bytes(),
            });
            for i in 0..3u8 {
                f.extend(pcap_record(endian, true, 10, 5, &[i; 20], 20));
            }
            let got = frames(&f).unwrap();
            assert_eq!(got.len(), 3);
            assert_eq!(
                got[2],
                (3, Some(10_000_005_000), 20, 20, LinkType::Ethernet)
            );
        }
    }

    #[test]
    fn linktype_fcs_bits_are_masked() {
        let mut f = pcap_header(Endian::Little, false, 0x1000_0000 | 101);
        f.extend(pcap_record(Endian::Little, false, 0, 0, &[0x45; 20], 20));
        assert_eq!(frames(&f).unwrap()[0].4, LinkType::Raw);
    }

    #[test]
    fn truncation_names_offset_frame_and_part() {
        let mut f = pcap_header(Endian::Little, false, 1);
        f.extend(pcap_record(Endian::Little, false, 1, 0, &[0; 50], 50));
        let second = f.len();
        f.extend(pcap_record(Endian::Little, false, 2, 0, &[0; 66], 66));
        // Cut 33 bytes into the data of frame 2.
        let cut = &f[..second + 16 + 33];
        let mut r = Reader::new(cut, "c.pcap".into()).unwrap();
        assert_eq!(r.next_packet().unwrap().unwrap().n, 1);
        match r.next_packet() {
            Err(PcapError::Truncated {
                offset,
                frame,
                part,
                need,
                have,
                ..
            }) => {
                assert_eq!((offset, frame), (second as u64, 2));
                assert_eq!((part, need, have), (Part::PacketData, 66, 33));
            }
            other => panic!("{other:?}"),
        }
        assert!(r.next_packet().unwrap().is_none(), "a failed reader ends");
        // Cut inside the record header.
        let e = frames(&f[..second + 7]).unwrap_err();
        assert!(
            matches!(
                e,
                PcapError::Truncated {
                    part: Part::RecordHeader,
                    need: 16,
                    have: 7,
                    frame: 2,
                    ..
                }
            ),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("byte offset {second}")) && msg.contains("frame 2"),
            "{msg}"
        );
        // Cut inside the file header.
        let e = frames(&f[..13]).unwrap_err();
        assert!(
            matches!(
                e,
                PcapError::Truncated {
                    part: Part::FileHeader,
                    need: 24,
                    have: 13,
                    offset: 0,
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn wrong_version_is_refused() {
        let mut f = pcap_header(Endian::Little, false, 1);
        f[4] = 9;
        let e = frames(&f).unwrap_err();
        assert!(e.to_string().contains("pcap version 9.4"), "{e}");
    }

    #[test]
    fn zero_packets() {
        assert_eq!(frames(&pcap_header(Endian::Big, true, 1)).unwrap(), vec![]);
    }

    #[test]
    fn records_spanning_buffer_refills() {
        let mut f = pcap_header(Endian::Little, true, 1);
        let n = 3 * input::BUF_SIZE / 70_000 + 5;
        for i in 0..n {
            f.extend(pcap_record(
                Endian::Little,
                false,
                i as u32,
                0,
                &vec![i as u8; 69_999],
                70_000,
            ));
        }
        let mut r = Reader::new(f.as_slice(), "c.pcap".into()).unwrap();
        let mut count = 0;
        while let Some(p) = r.next_packet().unwrap() {
            assert_eq!(p.data.len(), 69_999);
            assert!(p.data.iter().all(|&b| b == (count as u8)));
            count += 1;
        }
        assert_eq!(count, n);
    }
}
