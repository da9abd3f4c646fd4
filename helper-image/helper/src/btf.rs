//! Just enough BTF to read struct layouts (the object's `.BTF`, for the layout check) and enum
//! values (the kernel's `enum skb_drop_reason`, for drop reason names). Read-only, bounds
//! checked, no unsafe.

use std::collections::HashMap;

const MAGIC: u16 = 0xeb9f;

const KIND_INT: u32 = 1;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_DECL_TAG: u32 = 17;
const KIND_ENUM64: u32 = 19;
const KIND_FUNC: u32 = 12;
const KIND_TYPEDEF: u32 = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("BTF data is truncated at byte {0}")]
    Truncated(usize),
    #[error("not BTF data (bad magic {0:#06x})")]
    BadMagic(u16),
    #[error("unknown BTF type kind {0}")]
    UnknownKind(u32),
}

#[derive(Debug, Clone)]
struct Type {
    kind: u32,
    name_off: u32,
    kind_flag: bool,
    size_or_type: u32,
    /// Struct/union members: (name_off, type, offset word); enum values: (name_off, value).
    members: Vec<(u32, u32, u32)>,
    enum_values: Vec<(u32, i64)>,
}

/// One member of a struct, as the BTF says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Byte offset (bitfields: the byte holding the first bit).
    pub offset: usize,
}

/// A struct's size and members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructLayout {
    pub size: usize,
    pub members: Vec<Member>,
}

/// Parsed BTF.
#[derive(Debug)]
pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    by_name: HashMap<String, Vec<usize>>,
}

fn u16_at(b: &[u8], off: usize, le: bool) -> Result<u16, BtfError> {
    let s = b.get(off..off + 2).ok_or(BtfError::Truncated(off))?;
    let a = [s[0], s[1]];
    Ok(if le {
        u16::from_le_bytes(a)
    } else {
        u16::from_be_bytes(a)
    })
}

fn u32_at(b: &[u8], off: usize, le: bool) -> Result<u32, BtfError> {
    let s = b.get(off..off + 4).ok_or(BtfError::Truncated(off))?;
    let a = [s[0], s[1], s[2], s[3]];
    Ok(if le {
        u32::from_le_bytes(a)
    } else {
        u32::from_be_bytes(a)
    })
}

impl Btf {
    /// Parse raw BTF (the `.BTF` section of an object, or /sys/kernel/btf/vmlinux).
    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let le = match u16_at(data, 0, true)? {
            MAGIC => true,
            m if m.swap_bytes() == MAGIC => false,
            m => return Err(BtfError::BadMagic(m)),
        };
        let hdr_len = u32_at(data, 4, le)? as usize;
        let type_off = u32_at(data, 8, le)? as usize;
        let type_len = u32_at(data, 12, le)? as usize;
        let str_off = u32_at(data, 16, le)? as usize;
        let str_len = u32_at(data, 20, le)? as usize;
        let types_start = hdr_len + type_off;
        let types_end = types_start + type_len;
        let str_start = hdr_len + str_off;
        let strings = data
            .get(str_start..str_start + str_len)
            .ok_or(BtfError::Truncated(str_start + str_len))?
            .to_vec();
        if data.len() < types_end {
            return Err(BtfError::Truncated(types_end));
        }
        // Type id 0 is void.
        let mut types = vec![Type {
            kind: 0,
            name_off: 0,
            kind_flag: false,
            size_or_type: 0,
            members: Vec::new(),
            enum_values: Vec::new(),
        }];
        let mut off = types_start;
        while off < types_end {
            let name_off = u32_at(data, off, le)?;
            let info = u32_at(data, off + 4, le)?;
            let size_or_type = u32_at(data, off + 8, le)?;
            off += 12;
            let vlen = (info & 0xffff) as usize;
            let kind = (info >> 24) & 0x1f;
            let kind_flag = info >> 31 == 1;
            let mut t = Type {
                kind,
                name_off,
                kind_flag,
                size_or_type,
                members: Vec::new(),
                enum_values: Vec::new(),
            };
            match kind {
                KIND_INT | KIND_VAR | KIND_DECL_TAG => off += 4,
                KIND_ARRAY => off += 12,
                KIND_STRUCT | KIND_UNION => {
                    for i in 0..vlen {
                        let m = off + i * 12;
                        t.members.push((
                            u32_at(data, m, le)?,
                            u32_at(data, m + 4, le)?,
                            u32_at(data, m + 8, le)?,
                        ));
                    }
                    off += vlen * 12;
                }
                KIND_ENUM => {
                    for i in 0..vlen {
                        let m = off + i * 8;
                        let value = u32_at(data, m + 4, le)?;
                        // Signedness is in kind_flag; reason numbers are small either way.
                        let value = if kind_flag {
                            i64::from(value as i32)
                        } else {
                            i64::from(value)
                        };
                        t.enum_values.push((u32_at(data, m, le)?, value));
                    }
                    off += vlen * 8;
                }
                KIND_ENUM64 => {
                    for i in 0..vlen {
                        let m = off + i * 12;
                        let lo = u64::from(u32_at(data, m + 4, le)?);
                        let hi = u64::from(u32_at(data, m + 8, le)?);
                        t.enum_values
                            .push((u32_at(data, m, le)?, ((hi << 32) | lo) as i64));
                    }
                    off += vlen * 12;
                }
                KIND_FUNC_PROTO => off += vlen * 8,
                KIND_DATASEC => off += vlen * 12,
                0 | 2 | 7..=12 | 16 | 18 => {}
                other => return Err(BtfError::UnknownKind(other)),
            }
            types.push(t);
        }
        let mut btf = Btf {
            types,
            strings,
            by_name: HashMap::new(),
        };
        for (id, t) in btf.types.iter().enumerate() {
            if t.name_off != 0 {
                let name = btf.string(t.name_off).to_string();
                btf.by_name.entry(name).or_default().push(id);
            }
        }
        Ok(btf)
    }

    fn string(&self, off: u32) -> &str {
        let start = off as usize;
        let Some(rest) = self.strings.get(start..) else {
            return "";
        };
        let end = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    fn named(&self, name: &str, kinds: &[u32]) -> Option<&Type> {
        self.by_name
            .get(name)?
            .iter()
            .filter_map(|id| self.types.get(*id))
            .find(|t| kinds.contains(&t.kind))
    }

    /// Size and member offsets of `struct name`.
    pub fn struct_layout(&self, name: &str) -> Option<StructLayout> {
        let t = self.named(name, &[KIND_STRUCT])?;
        let members = t
            .members
            .iter()
            .map(|(name_off, _, off)| {
                let bits = if t.kind_flag { off & 0x00ff_ffff } else { *off };
                Member {
                    name: self.string(*name_off).to_string(),
                    offset: (bits / 8) as usize,
                }
            })
            .collect();
        Some(StructLayout {
            size: t.size_or_type as usize,
            members,
        })
    }

    /// Enumerators of `enum name` (32- or 64-bit).
    pub fn enum_values(&self, name: &str) -> Option<Vec<(String, i64)>> {
        let t = self.named(name, &[KIND_ENUM, KIND_ENUM64])?;
        Some(
            t.enum_values
                .iter()
                .map(|(n, v)| (self.string(*n).to_string(), *v))
                .collect(),
        )
    }

    /// Whether a function of this name exists (BTF FUNC), e.g. for fentry targets.
    pub fn has_function(&self, name: &str) -> bool {
        self.named(name, &[KIND_FUNC]).is_some()
    }

    /// Whether tracepoint `name` can take a BTF program (`tp_btf/name`): the kernel's BTF
    /// has its `btf_trace_<name>` typedef.
    pub fn has_btf_tracepoint(&self, name: &str) -> bool {
        self.named(&format!("btf_trace_{name}"), &[KIND_TYPEDEF])
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny hand-made BTF: int, struct pair { int a; int b; }, enum e { X = 1, Y = 7 }.
    fn sample() -> Vec<u8> {
        let strings = b"\0int\0pair\0a\0b\0e\0X\0Y\0".to_vec();
        let s = |name: &str| -> u32 {
            let pos = strings
                .windows(name.len() + 2)
                .position(|w| {
                    w[0] == 0 && &w[1..=name.len()] == name.as_bytes() && w[name.len() + 1] == 0
                })
                .unwrap();
            (pos + 1) as u32
        };
        let mut types = Vec::new();
        let mut push = |v: u32| types.extend_from_slice(&v.to_le_bytes());
        // [1] int: name, info(kind 1), size 4, int data
        push(s("int"));
        push(1 << 24);
        push(4);
        push(32);
        // [2] struct pair, 2 members
        push(s("pair"));
        push((4 << 24) | 2);
        push(8);
        push(s("a"));
        push(1);
        push(0);
        push(s("b"));
        push(1);
        push(32);
        // [3] enum e, 2 values
        push(s("e"));
        push((6 << 24) | 2);
        push(4);
        push(s("X"));
        push(1);
        push(s("Y"));
        push(7);
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC.to_le_bytes());
        out.push(1);
        out.push(0);
        out.extend_from_slice(&24u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&types);
        out.extend_from_slice(&strings);
        out
    }

    #[test]
    fn parses_structs_and_enums() {
        let btf = Btf::parse(&sample()).unwrap();
        let pair = btf.struct_layout("pair").unwrap();
        assert_eq!(pair.size, 8);
        assert_eq!(
            pair.members,
            vec![
                Member {
                    name: "a".into(),
                    offset: 0
                },
                Member {
                    name: "b".into(),
                    offset: 4
                }
            ]
        );
        assert_eq!(
            btf.enum_values("e").unwrap(),
            vec![("X".to_string(), 1), ("Y".to_string(), 7)]
        );
        assert!(btf.struct_layout("nope").is_none());
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(matches!(
            Btf::parse(b"hello world, not btf at all"),
            Err(BtfError::BadMagic(_))
        ));
        let mut data = sample();
        data.truncate(40);
        assert!(Btf::parse(&data).is_err());
    }

    #[test]
    fn reads_the_running_kernel_drop_reasons_when_present() {
        let Ok(data) = std::fs::read("/sys/kernel/btf/vmlinux") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "/sys/kernel/btf/vmlinux is not readable (CI=true: no skipping)"
            );
            eprintln!("skipped: /sys/kernel/btf/vmlinux not readable");
            return;
        };
        let btf = Btf::parse(&data).unwrap();
        let reasons = btf.enum_values("skb_drop_reason").unwrap();
        assert!(
            reasons
                .iter()
                .any(|(n, _)| n == "SKB_DROP_REASON_NO_SOCKET")
        );
        assert!(btf.struct_layout("sock").is_some());
    }
}
