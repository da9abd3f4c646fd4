//! Capture files built byte by byte for the reader's tests.
#![allow(clippy::unwrap_used)]

use super::Endian;

fn u16b(e: Endian, v: u16) -> [u8; 2] {
    match e {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    }
}

fn u32b(e: Endian, v: u32) -> [u8; 4] {
    match e {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    }
}

pub fn pcap_header(e: Endian, nanos: bool, linktype: u32) -> Vec<u8> {
    let mut f = u32b(e, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }).to_vec();
    f.extend(u16b(e, 2));
    f.extend(u16b(e, 4));
    f.extend([0; 8]);
    f.extend(u32b(e, 262_144));
    f.extend(u32b(e, linktype));
    f
}

pub fn pcap_record(
    e: Endian,
    modified: bool,
    secs: u32,
    frac: u32,
    data: &[u8],
    len: u32,
) -> Vec<u8> {
    let mut r = u32b(e, secs).to_vec();
    r.extend(u32b(e, frac));
    r.extend(u32b(e, data.len() as u32));
    r.extend(u32b(e, len));
    if modified {
        r.extend(u32b(e, 2));
        r.extend(u16b(e, 0x0800));
        r.extend([0, 0]);
    }
    r.extend_from_slice(data);
    r
}

/// A block of `kind` with `body` padded to 4 bytes.
pub fn block(e: Endian, kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().next_multiple_of(4);
    let total = (12 + padded) as u32;
    let mut b = u32b(e, kind).to_vec();
    b.extend(u32b(e, total));
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend(u32b(e, total));
    b
}

pub fn shb(e: Endian) -> Vec<u8> {
    let mut body = u32b(e, 0x1a2b_3c4d).to_vec();
    body.extend(u16b(e, 1));
    body.extend(u16b(e, 0));
    body.extend([0xff; 8]);
    block(e, 0x0a0d_0d0a, &body)
}

pub fn opt(e: Endian, code: u16, value: &[u8]) -> Vec<u8> {
    let mut o = u16b(e, code).to_vec();
    o.extend(u16b(e, value.len() as u16));
    o.extend_from_slice(value);
    o.resize(4 + value.len().next_multiple_of(4), 0);
    o
}

pub fn idb(e: Endian, linktype: u16, snaplen: u32, opts: &[Vec<u8>]) -> Vec<u8> {
    let mut body = u16b(e, linktype).to_vec();
    body.extend([0, 0]);
    body.extend(u32b(e, snaplen));
    for o in opts {
        body.extend_from_slice(o);
    }
    if !opts.is_empty() {
        body.extend([0; 4]);
    }
    block(e, 1, &body)
}

fn ts(e: Endian, ticks: u64) -> Vec<u8> {
    let mut t = u32b(e, (ticks >> 32) as u32).to_vec();
    t.extend(u32b(e, ticks as u32));
    t
}

pub fn epb(e: Endian, iface: u32, ticks: u64, data: &[u8], len: u32) -> Vec<u8> {
    let mut body = u32b(e, iface).to_vec();
    body.extend(ts(e, ticks));
    body.extend(u32b(e, data.len() as u32));
    body.extend(u32b(e, len));
    body.extend_from_slice(data);
    block(e, 6, &body)
}

pub fn opb(e: Endian, iface: u16, ticks: u64, data: &[u8], len: u32) -> Vec<u8> {
    let mut body = u16b(e, iface).to_vec();
    body.extend(u16b(e, 0));
    body.extend(ts(e, ticks));
    body.extend(u32b(e, data.len() as u32));
    body.extend(u32b(e, len));
    body.extend_from_slice(data);
    block(e, 2, &body)
}

pub fn spb(e: Endian, data: &[u8], len: u32) -> Vec<u8> {
    let mut body = u32b(e, len).to_vec();
    body.extend_from_slice(data);
    block(e, 3, &body)
}
