//! The parts of a tar header: checksum, numbers, names, PAX records, and which names are safe.

use super::{BLOCK, Result, TarError};

pub(super) fn check_header(block: &[u8; BLOCK as usize], offset: u64) -> Result<()> {
    let stored = parse_octal(&block[148..156]).ok_or(TarError::BadHeader {
        offset,
        why: "its checksum field is not a number",
    })?;
    let unsigned: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    // Some old writers summed signed bytes.
    let signed: i64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                i64::from(b as i8)
            }
        })
        .sum();
    if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
        return Err(TarError::BadHeader {
            offset,
            why: "its checksum does not match",
        });
    }
    Ok(())
}

/// A numeric header field: octal text, or GNU base-256 (high bit set).
pub(super) fn parse_number(field: &[u8]) -> Option<u64> {
    match field.first() {
        Some(&b) if b & 0x80 != 0 => {
            if b & 0x40 != 0 {
                return None; // negative
            }
            let mut v: u64 = u64::from(b & 0x3f);
            for &byte in &field[1..] {
                v = v.checked_mul(256)?.checked_add(u64::from(byte))?;
            }
            Some(v)
        }
        _ => parse_octal(field),
    }
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut v: u64 = 0;
    let mut digits = 0;
    for b in text {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some(v)
}

pub(super) fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// The name of a ustar/GNU header: POSIX ustar joins `prefix/name`; GNU keeps other fields there.
pub(super) fn header_name(block: &[u8; BLOCK as usize]) -> Vec<u8> {
    let name = trim_nul(&block[0..100]);
    let posix = &block[257..263] == b"ustar\0";
    let prefix = trim_nul(&block[345..500]);
    if posix && !prefix.is_empty() {
        let mut full = prefix.to_vec();
        full.push(b'/');
        full.extend_from_slice(name);
        full
    } else {
        name.to_vec()
    }
}

/// PAX records `LEN key=value\n`: the `path` and `size` keys.
pub(super) fn parse_pax(data: &[u8]) -> Option<(Option<Vec<u8>>, Option<u64>)> {
    let (mut path, mut size) = (None, None);
    let mut rest = data;
    while !rest.is_empty() {
        if rest.iter().all(|&b| b == 0) {
            break;
        }
        let space = rest.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&rest[..space]).ok()?.parse().ok()?;
        if len <= space + 1 || len > rest.len() {
            return None;
        }
        let record = &rest[space + 1..len];
        let record = record.strip_suffix(b"\n").unwrap_or(record);
        let eq = record.iter().position(|&b| b == b'=')?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        match key {
            b"path" => path = Some(value.to_vec()),
            b"size" => size = Some(std::str::from_utf8(value).ok()?.parse().ok()?),
            _ => {}
        }
        rest = &rest[len..];
    }
    Some((path, size))
}

/// Validates and normalises a member name: relative, no `..`, no NUL; `./` and trailing `/` go.
pub(super) fn normalise(raw: &[u8], offset: u64) -> Result<String> {
    let name = String::from_utf8_lossy(raw).into_owned();
    let unsafe_name = |why| TarError::UnsafeName {
        name: name.clone(),
        offset,
        why,
    };
    if raw.starts_with(b"/") {
        return Err(unsafe_name("an absolute path"));
    }
    if raw.contains(&0) {
        return Err(unsafe_name("a name with a NUL byte"));
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_name("a path with `..`")),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}
