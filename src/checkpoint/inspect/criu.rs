//! CRIU image files: the magic header and the size-prefixed protobuf records after it
//! (criu/include/magic.h, lib/pycriu/images/images.py), and the few messages ktui shows
//! (images/*.proto), each defined here with only the fields read.

mod files;
mod msgs;

pub use files::*;
pub use msgs::*;

/// Every image but inventory.img starts with this (v1.1 images), then its own magic.
pub const IMG_COMMON_MAGIC: u32 = 0x5456_4319;
/// Service files (stats-dump, irmap-cache) start with this.
pub const IMG_SERVICE_MAGIC: u32 = 0x5510_5940;

/// The image types ktui decodes, by their magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageType {
    Inventory,
    Pstree,
    Core,
    Mm,
    Pagemap,
    Ids,
    Fs,
    Fdinfo,
    Files,
    RegFiles,
    InetSk,
    UnixSk,
    Pipes,
    Stats,
}

impl ImageType {
    pub fn magic(self) -> u32 {
        match self {
            Self::Inventory => 0x5831_3116,
            Self::Pstree => 0x5027_3030,
            Self::Core => 0x5505_3847,
            Self::Mm => 0x5749_2820,
            Self::Pagemap => 0x5608_4025,
            Self::Ids => 0x5443_2030,
            Self::Fs => 0x5140_3912,
            Self::Fdinfo => 0x5621_3732,
            Self::Files => 0x5630_3138,
            Self::RegFiles => 0x5036_3636,
            Self::InetSk => 0x5644_3851,
            Self::UnixSk => 0x5437_3943,
            Self::Pipes => 0x5651_3555,
            Self::Stats => 0x5709_3306,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Inventory => "inventory",
            Self::Pstree => "pstree",
            Self::Core => "core",
            Self::Mm => "mm",
            Self::Pagemap => "pagemap",
            Self::Ids => "ids",
            Self::Fs => "fs",
            Self::Fdinfo => "fdinfo",
            Self::Files => "files",
            Self::RegFiles => "reg-files",
            Self::InetSk => "inetsk",
            Self::UnixSk => "unixsk",
            Self::Pipes => "pipes",
            Self::Stats => "stats",
        }
    }

    /// The header before the records: inventory has only its own magic (CRIU keeps it readable
    /// by older tools), stats the service magic, the others the common one.
    fn leading_magic(self) -> Option<u32> {
        match self {
            Self::Inventory => None,
            Self::Stats => Some(IMG_SERVICE_MAGIC),
            _ => Some(IMG_COMMON_MAGIC),
        }
    }
}

/// Why an image does not decode; offsets are inside the image file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("it is {len} bytes, too short for the magic header")]
    Short { len: usize },
    #[error("its magic is {got:#010x}, not the {expected:#010x} of a CRIU {kind} image")]
    Magic {
        got: u32,
        expected: u32,
        kind: &'static str,
    },
    #[error("the record at byte {at} declares {size} bytes but only {left} remain (truncated)")]
    RecordPastEnd { at: usize, size: u32, left: usize },
    #[error("the record at byte {at} is cut inside its 4-byte size")]
    CutSize { at: usize },
    #[error("the record at byte {at} does not decode: {source}")]
    Record {
        at: usize,
        #[source]
        source: super::proto::ProtoError,
    },
    #[error("the record at byte {at} lacks its required field {field}")]
    Missing { at: usize, field: &'static str },
    #[error("it holds no record")]
    Empty,
}

/// The records of an image of type `ty`: its header checked, each record's bytes.
pub fn records(data: &[u8], ty: ImageType) -> Result<Vec<(usize, &[u8])>, ImageError> {
    let mut at = 0;
    let word = |at: &mut usize| -> Option<u32> {
        let b = data.get(*at..*at + 4)?;
        *at += 4;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let short = ImageError::Short { len: data.len() };
    if let Some(lead) = ty.leading_magic() {
        let got = word(&mut at).ok_or(short.clone())?;
        if got != lead {
            return Err(ImageError::Magic {
                got,
                expected: lead,
                kind: ty.name(),
            });
        }
    }
    let got = word(&mut at).ok_or(short)?;
    if got != ty.magic() {
        return Err(ImageError::Magic {
            got,
            expected: ty.magic(),
            kind: ty.name(),
        });
    }
    let mut out = Vec::new();
    while at < data.len() {
        let start = at;
        let size = word(&mut at).ok_or(ImageError::CutSize { at: start })?;
        let left = data.len() - at;
        let n =
            usize::try_from(size)
                .ok()
                .filter(|&n| n <= left)
                .ok_or(ImageError::RecordPastEnd {
                    at: start,
                    size,
                    left,
                })?;
        out.push((start, &data[at..at + n]));
        at += n;
    }
    Ok(out)
}

/// Decodes every record of an image with `decode`, naming the record that fails.
pub fn decode_all<T>(
    data: &[u8],
    ty: ImageType,
    decode: impl Fn(&[u8]) -> Result<T, MsgError>,
) -> Result<Vec<T>, ImageError> {
    records(data, ty)?
        .into_iter()
        .map(|(at, rec)| decode(rec).map_err(|e| e.at(at)))
        .collect()
}

/// The single record of a one-record image (core, mm, ids, fs, inventory, stats).
pub fn decode_one<T>(
    data: &[u8],
    ty: ImageType,
    decode: impl Fn(&[u8]) -> Result<T, MsgError>,
) -> Result<T, ImageError> {
    decode_all(data, ty, decode)?
        .into_iter()
        .next()
        .ok_or(ImageError::Empty)
}

#[cfg(test)]
mod tests;
