//! pcapng: blocks of type (4), total length (4), body, total length again. A section header
//! block (SHB) sets the byte order (its byte-order magic) and resets the interfaces; interface
//! description blocks (IDB) give each interface its link type and timestamp resolution; packets
//! come in enhanced (EPB), simple (SPB) and obsolete (OPB) packet blocks. Every other block
//! (name resolution, statistics, secrets, custom, ...) is skipped without being held, whatever
//! its size.

use std::io::Read;

use ktui_packet::LinkType;

use super::input::Input;
use super::{Damage, Endian, MAX_BLOCK, MAX_CAPLEN, MAX_INTERFACES, Part, Raw, truncated};

pub const SHB_MAGIC: &[u8] = &[0x0a, 0x0d, 0x0d, 0x0a];
const SHB: u32 = 0x0a0d_0d0a;
const IDB: u32 = 1;
const OPB: u32 = 2;
const SPB: u32 = 3;
const EPB: u32 = 6;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;

const OPT_END: u16 = 0;
const IF_TSRESOL: u16 = 9;
const IF_TSOFFSET: u16 = 14;

#[derive(Debug, Clone, Copy)]
struct Interface {
    link: LinkType,
    snaplen: u32,
    /// Timestamp units per second (10^6 when the IDB says nothing).
    units: u128,
    /// if_tsoffset, seconds.
    offset_s: i64,
}

impl Interface {
    fn ts_ns(&self, ticks: u64) -> i128 {
        let ticks = u128::from(ticks);
        // Whole seconds and the remainder apart, so no product overflows; the fraction is
        // truncated to the nanosecond (as Wireshark does).
        let secs = ticks / self.units;
        let frac = (ticks % self.units) * 1_000_000_000 / self.units;
        let ns = i128::try_from(secs)
            .unwrap_or(i128::MAX / 2)
            .saturating_mul(1_000_000_000)
            .saturating_add(i128::try_from(frac).unwrap_or(0));
        ns.saturating_add(i128::from(self.offset_s) * 1_000_000_000)
    }
}

pub struct Ng {
    /// None before the first SHB is read.
    endian: Option<Endian>,
    interfaces: Vec<Interface>,
}

impl Ng {
    pub fn new() -> Ng {
        Ng {
            endian: None,
            interfaces: Vec::new(),
        }
    }

    /// The next packet block's packet; `start` is set to each block's offset as it is read, so
    /// an error names the block it is about.
    pub fn next<R: Read>(
        &mut self,
        input: &mut Input<R>,
        start: &mut u64,
    ) -> Result<Option<Raw>, Damage> {
        loop {
            *start = input.offset();
            let have = input.fill(12)?;
            if have == 0 {
                return Ok(None);
            }
            if have < 8 {
                return Err(truncated(Part::BlockHeader, 8, have));
            }
            let head = input.peek(have.min(12));
            let block_type = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
            let endian = if block_type == SHB {
                // The byte-order magic follows the length: read it before the length.
                if have < 12 {
                    return Err(truncated(Part::BlockHeader, 12, have));
                }
                match (Endian::Little.u32(head, 8), Endian::Big.u32(head, 8)) {
                    (BYTE_ORDER_MAGIC, _) => Endian::Little,
                    (_, BYTE_ORDER_MAGIC) => Endian::Big,
                    (m, _) => {
                        return Err(Damage::Corrupt(format!(
                            "section header block with byte-order magic {m:08x} (expected \
                             1a2b3c4d in either byte order)"
                        )));
                    }
                }
            } else {
                match self.endian {
                    Some(e) => e,
                    None => {
                        return Err(Damage::Corrupt(
                            "the file does not start with a section header block".into(),
                        ));
                    }
                }
            };
            let block_type = endian.u32(head, 0);
            let total = endian.u32(head, 4);
            if total < 12 || total % 4 != 0 {
                return Err(Damage::Corrupt(format!(
                    "block of type {block_type:#x} with total length {total} (at least 12 and a \
                     multiple of 4 is required)"
                )));
            }
            let held = matches!(block_type, SHB | IDB | EPB | SPB | OPB);
            if !held {
                // Skip the body without holding it, then check the trailing length.
                let body = u64::from(total) - 4;
                let skipped = input.skip(body)?;
                if skipped < body {
                    return Err(truncated(Part::Block, u64::from(total), skipped as usize));
                }
                let have = input.fill(4)?;
                if have < 4 {
                    return Err(truncated(
                        Part::Block,
                        u64::from(total),
                        body as usize + have,
                    ));
                }
                check_trailer(endian, input.peek(4), block_type, total)?;
                input.consume(4);
                continue;
            }
            if total > MAX_BLOCK {
                return Err(Damage::Corrupt(format!(
                    "block of type {block_type:#x} claims {total} bytes, more than a packet or \
                     header block may have ({MAX_BLOCK})"
                )));
            }
            let need = total as usize;
            let have = input.fill(need)?;
            if have < need {
                return Err(truncated(Part::Block, u64::from(total), have));
            }
            let block = input.peek(need);
            check_trailer(endian, &block[need - 4..], block_type, total)?;
            let body = &block[8..need - 4];
            let body_at = input.pos() + 8;
            let packet = match block_type {
                SHB => {
                    self.section(endian, body)?;
                    None
                }
                IDB => {
                    self.interface(endian, body)?;
                    None
                }
                SPB => Some(self.simple(endian, body, body_at)?),
                _ => Some(self.timed(block_type, endian, body, body_at)?),
            };
            input.consume(need);
            if let Some(raw) = packet {
                return Ok(Some(raw));
            }
        }
    }

    fn section(&mut self, endian: Endian, body: &[u8]) -> Result<(), Damage> {
        if body.len() < 16 {
            return Err(Damage::Corrupt(format!(
                "section header block body of {} bytes (at least 16)",
                body.len()
            )));
        }
        let major = endian.u16(body, 4);
        if major != 1 {
            return Err(Damage::Corrupt(format!(
                "pcapng section version {major}.{}, only 1.x exists",
                endian.u16(body, 6)
            )));
        }
        self.endian = Some(endian);
        self.interfaces.clear();
        Ok(())
    }

    fn interface(&mut self, endian: Endian, body: &[u8]) -> Result<(), Damage> {
        if body.len() < 8 {
            return Err(Damage::Corrupt(format!(
                "interface description block body of {} bytes (at least 8)",
                body.len()
            )));
        }
        if self.interfaces.len() >= MAX_INTERFACES {
            return Err(Damage::Corrupt(format!(
                "more than {MAX_INTERFACES} interfaces in one section"
            )));
        }
        let mut iface = Interface {
            link: LinkType::from_linktype(u32::from(endian.u16(body, 0))),
            snaplen: endian.u32(body, 4),
            units: 1_000_000,
            offset_s: 0,
        };
        for (code, value) in Options::new(endian, &body[8..]) {
            match code {
                IF_TSRESOL if !value.is_empty() => {
                    let r = value[0];
                    let exp = u32::from(r & 0x7f);
                    let base: u128 = if r & 0x80 == 0 { 10 } else { 2 };
                    iface.units = base.checked_pow(exp).filter(|&u| u > 0).ok_or_else(|| {
                        Damage::Corrupt(format!(
                            "interface {} has if_tsresol {r:#04x}, a resolution finer than can \
                             be counted",
                            self.interfaces.len()
                        ))
                    })?;
                }
                IF_TSOFFSET if value.len() >= 8 => {
                    iface.offset_s = endian.u64(value, 0) as i64;
                }
                _ => {}
            }
        }
        self.interfaces.push(iface);
        Ok(())
    }

    fn lookup(&self, id: u32) -> Result<Interface, Damage> {
        self.interfaces.get(id as usize).copied().ok_or_else(|| {
            Damage::Corrupt(format!(
                "packet of interface {id}, but the section declares {} interface(s)",
                self.interfaces.len()
            ))
        })
    }

    /// An enhanced (EPB) or obsolete (OPB) packet block: interface id (4 bytes, or in an OPB 2
    /// and a drop count), 64-bit timestamp, captured and original length, the data.
    fn timed(
        &self,
        block_type: u32,
        endian: Endian,
        body: &[u8],
        body_at: usize,
    ) -> Result<Raw, Damage> {
        let enhanced = block_type == EPB;
        if body.len() < 20 {
            let kind = if enhanced {
                "enhanced packet"
            } else {
                "obsolete packet"
            };
            return Err(short_body(kind, body.len(), 20));
        }
        let id = if enhanced {
            endian.u32(body, 0)
        } else {
            u32::from(endian.u16(body, 0))
        };
        let iface = self.lookup(id)?;
        let ticks = u64::from(endian.u32(body, 4)) << 32 | u64::from(endian.u32(body, 8));
        let caplen = endian.u32(body, 12);
        let len = endian.u32(body, 16);
        packet(
            iface,
            caplen,
            len,
            body.len() - 20,
            body_at + 20,
            Some(iface.ts_ns(ticks)),
            id,
        )
    }

    /// A simple packet block: interface 0, no timestamp (`None`; libpcap reports 0), the
    /// captured length implied by the block and the interface's snaplen.
    fn simple(&self, endian: Endian, body: &[u8], body_at: usize) -> Result<Raw, Damage> {
        if body.len() < 4 {
            return Err(short_body("simple packet", body.len(), 4));
        }
        let iface = self.lookup(0)?;
        let len = endian.u32(body, 0);
        let mut caplen = len.min(u32::try_from(body.len() - 4).unwrap_or(u32::MAX));
        if iface.snaplen != 0 {
            caplen = caplen.min(iface.snaplen);
        }
        packet(iface, caplen, len, body.len() - 4, body_at + 4, None, 0)
    }
}

fn packet(
    iface: Interface,
    caplen: u32,
    len: u32,
    room: usize,
    start: usize,
    ts_ns: Option<i128>,
    interface: u32,
) -> Result<Raw, Damage> {
    if caplen > MAX_CAPLEN {
        return Err(Damage::Corrupt(format!(
            "the packet block claims {caplen} captured bytes, more than any packet may have \
             ({MAX_CAPLEN})"
        )));
    }
    if caplen as usize > room {
        return Err(Damage::Corrupt(format!(
            "the packet block claims {caplen} captured bytes but holds {room}"
        )));
    }
    Ok(Raw {
        link: iface.link,
        ts_ns,
        len,
        start,
        caplen: caplen as usize,
        interface,
    })
}

fn short_body(kind: &str, len: usize, min: usize) -> Damage {
    Damage::Corrupt(format!("{kind} block body of {len} bytes (at least {min})"))
}

fn check_trailer(
    endian: Endian,
    trailer: &[u8],
    block_type: u32,
    total: u32,
) -> Result<(), Damage> {
    let again = endian.u32(trailer, 0);
    if again != total {
        return Err(Damage::Corrupt(format!(
            "block of type {block_type:#x}: trailing length {again} differs from the leading \
             length {total}"
        )));
    }
    Ok(())
}

/// pcapng options: code (2), length (2), value padded to 4 bytes, until opt_endofopt or the end.
/// An option running past the block ends the list (what came before it counts).
struct Options<'a> {
    endian: Endian,
    rest: &'a [u8],
}

impl<'a> Options<'a> {
    fn new(endian: Endian, rest: &'a [u8]) -> Options<'a> {
        Options { endian, rest }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.rest.len() < 4 {
            return None;
        }
        let code = self.endian.u16(self.rest, 0);
        let len = usize::from(self.endian.u16(self.rest, 2));
        if code == OPT_END {
            return None;
        }
        let value = self.rest.get(4..4 + len)?;
        let padded = (4 + len).next_multiple_of(4);
        self.rest = self.rest.get(padded..).unwrap_or_default();
        Some((code, value))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testfile::*;
    use super::super::*;
    use super::*;

    /// Frame number, link type, time, original length, data, interface.
    type Got = (u64, LinkType, Option<i128>, u32, Vec<u8>, u32);

    fn frames(bytes: &[u8]) -> Result<Vec<Got>> {
        let mut r = Reader::new(bytes, "n.pcapng".into())?;
        assert_eq!(r.format(), Format::Pcapng);
        let mut out = Vec::new();
        while let Some(p) = r.next_packet()? {
            out.push((p.n, p.link, p.ts_ns, p.len, p.data.to_vec(), p.interface));
        }
        Ok(out)
    }

    #[test]
    fn sections_of_both_byte_orders_with_several_interfaces() {
        let mut f = Vec::new();
        for e in [Endian::Little, Endian::Big] {
            f.extend(shb(e));
            f.extend(idb(e, 1, 0, &[]));
            f.extend(idb(e, 276, 65535, &[opt(e, IF_TSRESOL, &[9])]));
            f.extend(epb(e, 1, 1_700_000_000_123_456_789, &[0xaa; 30], 40));
            f.extend(epb(e, 0, 1_700_000_000_000_001, &[0xbb; 14], 14));
            f.extend(block(e, 4, &[0; 16])); // NRB: skipped
        }
        let got = frames(&f).unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].0, 1);
        assert_eq!(
            (got[0].1, got[0].2, got[0].3, got[0].5),
            (LinkType::LinuxSll2, Some(1_700_000_000_123_456_789), 40, 1)
        );
        // Default resolution is microseconds.
        assert_eq!(
            (got[1].1, got[1].2),
            (LinkType::Ethernet, Some(1_700_000_000_000_001_000))
        );
        assert_eq!(got[3].0, 4);
        assert_eq!(got[3].4, vec![0xbb; 14]);
    }

    #[test]
    fn timestamp_resolutions_and_offset() {
        let e = Endian::Little;
        let mut f = shb(e);
        f.extend(idb(e, 1, 0, &[opt(e, IF_TSRESOL, &[3])])); // ms
        f.extend(idb(e, 1, 0, &[opt(e, IF_TSRESOL, &[0x80 | 20])])); // 2^-20 s
        f.extend(idb(
            e,
            1,
            0,
            &[
                opt(e, IF_TSRESOL, &[12]),
                opt(e, IF_TSOFFSET, &100i64.to_le_bytes()),
            ],
        ));
        f.extend(epb(e, 0, 1_500, &[0; 14], 14));
        f.extend(epb(e, 1, 3 << 19, &[0; 14], 14)); // 1.5 s
        f.extend(epb(e, 1, 1, &[0; 14], 14)); // 1/2^20 s = 953.674... ns
        f.extend(epb(e, 2, 2_000_000_000_007, &[0; 14], 14)); // 2 s + 7 ps, +100 s
        let ts: Vec<Option<i128>> = frames(&f).unwrap().iter().map(|p| p.2).collect();
        let want = [1_500_000_000, 1_500_000_000, 953, 102_000_000_000];
        assert_eq!(ts, want.map(Some));
    }

    #[test]
    fn simple_and_obsolete_packet_blocks() {
        let e = Endian::Big;
        let mut f = shb(e);
        f.extend(idb(e, 101, 20, &[]));
        f.extend(spb(e, &[0x45; 20], 1500));
        f.extend(opb(e, 0, 77_000_000, &[0x45; 10], 10));
        let got = frames(&f).unwrap();
        assert_eq!(
            (got[0].1, got[0].2, got[0].3, got[0].4.len()),
            (LinkType::Raw, None, 1500, 20),
            "a simple packet block has no time"
        );
        assert_eq!(
            (got[1].2, got[1].3, got[1].4.len()),
            (Some(77_000_000_000), 10, 10)
        );
    }

    #[test]
    fn big_skipped_blocks_are_not_held() {
        let e = Endian::Little;
        let mut f = shb(e);
        f.extend(idb(e, 1, 0, &[]));
        f.extend(block(e, 0x0000_0bad, &vec![7; 3 * input::BUF_SIZE]));
        f.extend(epb(e, 0, 0, &[1; 14], 14));
        assert_eq!(frames(&f).unwrap().len(), 1);
    }

    #[test]
    fn damage_names_the_block() {
        let e = Endian::Little;
        let mut f = shb(e);
        f.extend(idb(e, 1, 0, &[]));
        f.extend(epb(e, 0, 0, &[1; 14], 14));
        let second = f.len() as u64;
        let good = f.clone();

        // A packet of an undeclared interface.
        let mut bad = good.clone();
        bad.extend(epb(e, 3, 0, &[1; 14], 14));
        let err = frames(&bad).unwrap_err();
        assert!(
            matches!(&err, PcapError::Corrupt { offset, frame: 2, what, .. } if *offset == second && what.contains("interface 3")),
            "{err:?}"
        );

        // Trailing length differs.
        let mut bad = good.clone();
        let mut b = epb(e, 0, 0, &[1; 14], 14);
        let n = b.len();
        b[n - 4] ^= 0x40;
        bad.extend(b);
        assert!(
            frames(&bad)
                .unwrap_err()
                .to_string()
                .contains("trailing length")
        );

        // Length not a multiple of 4, or below 12.
        for total in [13u32, 8] {
            let mut bad = good.clone();
            let mut b = epb(e, 0, 0, &[1; 14], 14);
            b[4..8].copy_from_slice(&total.to_le_bytes());
            bad.extend(b);
            let err = frames(&bad).unwrap_err();
            assert!(
                err.to_string().contains(&format!("total length {total}")),
                "{err}"
            );
        }

        // Huge block length: an error, not an allocation.
        let mut bad = good.clone();
        let mut b = epb(e, 0, 0, &[1; 14], 14);
        b[4..8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        bad.extend(b);
        let err = frames(&bad).unwrap_err();
        assert!(
            matches!(err, PcapError::Corrupt { frame: 2, .. }),
            "{err:?}"
        );

        // Captured length beyond the block.
        let mut bad = good.clone();
        let mut b = epb(e, 0, 0, &[1; 14], 14);
        b[20..24].copy_from_slice(&17u32.to_le_bytes());
        bad.extend(b);
        let err = frames(&bad).unwrap_err().to_string();
        assert!(
            err.contains("claims 17 captured bytes but holds 16"),
            "{err}"
        );

        // Cut inside a block: truncated, with the block's offset.
        let mut bad = good.clone();
        let b = epb(e, 0, 0, &[1; 14], 14);
        bad.extend(&b[..b.len() - 5]);
        let err = frames(&bad).unwrap_err();
        assert!(
            matches!(err, PcapError::Truncated { offset, frame: 2, part: Part::Block, .. } if offset == second),
            "{err:?}"
        );
        // Cut inside a skipped block.
        let mut bad = good.clone();
        let b = block(e, 5, &[0; 64]);
        bad.extend(&b[..40]);
        let err = frames(&bad).unwrap_err();
        assert!(
            matches!(err, PcapError::Truncated { offset, .. } if offset == second),
            "{err:?}"
        );
        // Cut inside a block header.
        let mut bad = good.clone();
        bad.extend(&[6, 0, 0]);
        assert!(matches!(
            frames(&bad).unwrap_err(),
            PcapError::Truncated {
                part: Part::BlockHeader,
                ..
            }
        ));
    }

    #[test]
    fn bad_section_headers() {
        let mut f = shb(Endian::Little);
        f[8..12].copy_from_slice(&[1, 2, 3, 4]);
        assert!(
            frames(&f)
                .unwrap_err()
                .to_string()
                .contains("byte-order magic")
        );
        let mut f = shb(Endian::Little);
        f[12] = 2;
        assert!(
            frames(&f)
                .unwrap_err()
                .to_string()
                .contains("section version 2.0")
        );
    }

    #[test]
    fn options_stop_at_the_end_marker_or_an_overrun() {
        let e = Endian::Little;
        let mut raw = opt(e, 9, &[6]);
        raw.extend(opt(e, 2, b"eth0"));
        raw.extend([0, 0, 0, 0]);
        raw.extend(opt(e, 9, &[9]));
        let got: Vec<_> = Options::new(e, &raw).collect();
        assert_eq!(got, vec![(9, &[6u8][..]), (2, &b"eth0"[..])]);
        let overrun = [9u8, 0, 200, 0, 1, 2];
        assert_eq!(Options::new(e, &overrun).count(), 0);
    }
}
