//! The protobuf wire format, read-only and just enough for CRIU's images: a message is a
//! sequence of (field number, value) pairs; the messages themselves are defined in [`super::criu`]
//! with only the fields ktui shows.

/// Why a message cannot be decoded; `at` is the byte offset inside the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("a varint runs past the end of the message (byte {at})")]
    VarintEnd { at: usize },
    #[error("a varint longer than 10 bytes (byte {at})")]
    VarintLong { at: usize },
    #[error("field {field} declares {len} bytes at byte {at}, past the end of the message")]
    LengthPastEnd { field: u32, len: u64, at: usize },
    #[error("wire type {wire} at byte {at} is not one protobuf defines for a field")]
    WireType { wire: u8, at: usize },
    #[error("field number 0 at byte {at}")]
    FieldZero { at: usize },
    #[error("field {field} has wire type {got}, {expected} expected")]
    WrongType {
        field: u32,
        got: &'static str,
        expected: &'static str,
    },
    #[error("field {field} is not valid UTF-8 text")]
    NotText { field: u32 },
    #[error("field {field} holds {value}, out of range")]
    Range { field: u32, value: u64 },
}

pub type Result<T, E = ProtoError> = std::result::Result<T, E>;

/// One field's value as it is on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// A decoded field.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    pub number: u32,
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    fn kind(&self) -> &'static str {
        match self.value {
            Value::Varint(_) => "varint",
            Value::Fixed64(_) => "64-bit",
            Value::Bytes(_) => "length-delimited",
            Value::Fixed32(_) => "32-bit",
        }
    }

    fn wrong(&self, expected: &'static str) -> ProtoError {
        ProtoError::WrongType {
            field: self.number,
            got: self.kind(),
            expected,
        }
    }

    pub fn u64(&self) -> Result<u64> {
        match self.value {
            Value::Varint(v) | Value::Fixed64(v) => Ok(v),
            Value::Fixed32(v) => Ok(u64::from(v)),
            Value::Bytes(_) => Err(self.wrong("varint")),
        }
    }

    /// A `uint32`/`int32`/enum field; negative int32 values (10-byte varints) keep their low bits.
    pub fn u32(&self) -> Result<u32> {
        let v = self.u64()?;
        if v >> 32 == 0 || v >> 32 == 0xffff_ffff {
            Ok(v as u32)
        } else {
            Err(ProtoError::Range {
                field: self.number,
                value: v,
            })
        }
    }

    pub fn bool(&self) -> Result<bool> {
        Ok(self.u64()? != 0)
    }

    pub fn bytes(&self) -> Result<&'a [u8]> {
        match self.value {
            Value::Bytes(b) => Ok(b),
            _ => Err(self.wrong("length-delimited")),
        }
    }

    pub fn string(&self) -> Result<String> {
        std::str::from_utf8(self.bytes()?)
            .map(str::to_owned)
            .map_err(|_| ProtoError::NotText { field: self.number })
    }

    /// A repeated scalar field's values: one (unpacked) or several (packed).
    pub fn packed_u32s(&self, out: &mut Vec<u32>) -> Result<()> {
        match self.value {
            Value::Bytes(mut b) => {
                let mut at = 0;
                while !b.is_empty() {
                    let (v, used) = varint(b, at)?;
                    let v = u32::try_from(v).map_err(|_| ProtoError::Range {
                        field: self.number,
                        value: v,
                    })?;
                    out.push(v);
                    b = &b[used..];
                    at += used;
                }
                Ok(())
            }
            _ => {
                out.push(self.u32()?);
                Ok(())
            }
        }
    }
}

/// Iterates over the fields of one message.
pub struct Fields<'a> {
    buf: &'a [u8],
    at: usize,
}

pub fn fields(buf: &[u8]) -> Fields<'_> {
    Fields { buf, at: 0 }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.buf.len() {
            return None;
        }
        let item = self.read_field();
        if item.is_err() {
            self.at = self.buf.len();
        }
        Some(item)
    }
}

impl<'a> Fields<'a> {
    fn read_field(&mut self) -> Result<Field<'a>> {
        let start = self.at;
        let (key, used) = varint(&self.buf[self.at..], self.at)?;
        self.at += used;
        let number = u32::try_from(key >> 3).map_err(|_| ProtoError::FieldZero { at: start })?;
        if number == 0 {
            return Err(ProtoError::FieldZero { at: start });
        }
        let rest = &self.buf[self.at..];
        let value = match key & 7 {
            0 => {
                let (v, used) = varint(rest, self.at)?;
                self.at += used;
                Value::Varint(v)
            }
            1 => {
                let b: [u8; 8] = fixed(rest, number, self.at)?;
                self.at += 8;
                Value::Fixed64(u64::from_le_bytes(b))
            }
            2 => {
                let (len, used) = varint(rest, self.at)?;
                let body = &rest[used..];
                let n = usize::try_from(len)
                    .ok()
                    .filter(|&n| n <= body.len())
                    .ok_or(ProtoError::LengthPastEnd {
                        field: number,
                        len,
                        at: self.at,
                    })?;
                self.at += used + n;
                Value::Bytes(&body[..n])
            }
            5 => {
                let b: [u8; 4] = fixed(rest, number, self.at)?;
                self.at += 4;
                Value::Fixed32(u32::from_le_bytes(b))
            }
            wire => {
                return Err(ProtoError::WireType {
                    wire: wire as u8,
                    at: start,
                });
            }
        };
        Ok(Field { number, value })
    }
}

fn fixed<const N: usize>(rest: &[u8], field: u32, at: usize) -> Result<[u8; N]> {
    rest.get(..N)
        .and_then(|b| <[u8; N]>::try_from(b).ok())
        .ok_or(ProtoError::LengthPastEnd {
            field,
            len: N as u64,
            at,
        })
}

/// A base-128 varint at the start of `buf`: (value, bytes used). `at` is for errors.
pub fn varint(buf: &[u8], at: usize) -> Result<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, &b) in buf.iter().enumerate() {
        if i == 10 {
            return Err(ProtoError::VarintLong { at });
        }
        v |= u64::from(b & 0x7f) << (7 * i as u32);
        if b & 0x80 == 0 {
            return Ok((v, i + 1));
        }
    }
    if buf.len() >= 10 {
        return Err(ProtoError::VarintLong { at });
    }
    Err(ProtoError::VarintEnd { at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_and_overlong_ones_are_refused() {
        assert_eq!(varint(&[0x01], 0), Ok((1, 1)));
        assert_eq!(varint(&[0xac, 0x02], 0), Ok((300, 2)));
        assert_eq!(
            varint(
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
                0
            ),
            Ok((u64::MAX, 10))
        );
        assert_eq!(
            varint(&[0x80, 0x80], 7),
            Err(ProtoError::VarintEnd { at: 7 })
        );
        assert_eq!(
            varint(&[0x80; 11], 0),
            Err(ProtoError::VarintLong { at: 0 })
        );
    }

    #[test]
    fn fields_of_every_wire_type() {
        // 1: varint 150, 2: "hi", 3: fixed32 7, 4: fixed64 9, 5: packed [1, 300]
        let msg = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x1d, 7, 0, 0, 0, 0x21, 9, 0, 0, 0, 0, 0, 0,
            0, 0x2a, 0x03, 0x01, 0xac, 0x02,
        ];
        let got: Vec<Field<'_>> = fields(&msg).collect::<Result<_>>().unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].u32(), Ok(150));
        assert_eq!(got[1].string().unwrap(), "hi");
        assert_eq!(got[2].u64(), Ok(7));
        assert_eq!(got[3].u64(), Ok(9));
        let mut packed = Vec::new();
        got[4].packed_u32s(&mut packed).unwrap();
        assert_eq!(packed, vec![1, 300]);
        assert!(got[1].u64().is_err(), "a string is not a number");
    }

    #[test]
    fn negative_int32_keeps_its_bits() {
        let f = |v| Field {
            number: 1,
            value: Value::Varint(v),
        };
        assert_eq!(
            f(u64::MAX).u32(),
            Ok(u32::MAX),
            "int32 -1 as a 10-byte varint"
        );
        assert!(f(1 << 40).u32().is_err());
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        // Length past the end, group wire types, field 0, truncated fixed.
        for bad in [
            &[0x12, 0x05, b'a'][..],
            &[0x0b],
            &[0x00, 0x01],
            &[0x1d, 1, 2],
            &[
                0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ] {
            let r: Result<Vec<_>> = fields(bad).collect();
            assert!(r.is_err(), "{bad:?} decoded");
        }
        // Every prefix of a valid message either decodes or errors.
        let msg = [0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i'];
        for n in 0..msg.len() {
            let _ = fields(&msg[..n]).collect::<Result<Vec<_>>>();
        }
    }
}
