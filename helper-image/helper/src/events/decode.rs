//! Ring-buffer bytes → records.

use std::mem::size_of;

use super::layout::{DNS_PAYLOAD, KIND_DNS, KtuiDnsEvent, KtuiEvent};

/// One record from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ev: KtuiEvent,
    /// First bytes of a port-53 datagram (dns records only).
    pub payload: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("record of {0} bytes is shorter than struct ktui_event")]
    Short(usize),
    #[error("dns record of {0} bytes is shorter than struct ktui_dns_event")]
    ShortDns(usize),
}

/// Decode one record. Every field is a plain integer, so any bytes are a valid value.
pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
    if bytes.len() < size_of::<KtuiEvent>() {
        return Err(DecodeError::Short(bytes.len()));
    }
    // SAFETY: the length is checked above; KtuiEvent is repr(C) plain integers (any bit
    // pattern valid) and read_unaligned has no alignment requirement.
    let ev: KtuiEvent = unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast()) };
    if ev.kind != KIND_DNS {
        return Ok(Record { ev, payload: None });
    }
    if bytes.len() < size_of::<KtuiDnsEvent>() {
        return Err(DecodeError::ShortDns(bytes.len()));
    }
    let start = size_of::<KtuiEvent>();
    let n = usize::from(ev.payload_len).min(DNS_PAYLOAD);
    Ok(Record {
        ev,
        payload: Some(bytes[start..start + n].to_vec()),
    })
}

/// The bytes the kernel would have written for `record` (recordings, tests, benches).
pub fn encode(record: &Record) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_of::<KtuiDnsEvent>());
    // SAFETY: KtuiEvent is repr(C) plain integers without padding (checked against the BTF).
    let head = unsafe {
        std::slice::from_raw_parts(
            (&record.ev as *const KtuiEvent).cast::<u8>(),
            size_of::<KtuiEvent>(),
        )
    };
    out.extend_from_slice(head);
    if record.ev.kind == KIND_DNS {
        let mut payload = [0u8; DNS_PAYLOAD];
        if let Some(p) = &record.payload {
            let n = p.len().min(DNS_PAYLOAD);
            payload[..n].copy_from_slice(&p[..n]);
        }
        out.extend_from_slice(&payload);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::layout::KIND_CONNECT;

    #[test]
    fn round_trip_and_short_records() {
        let ev = KtuiEvent {
            kind: KIND_CONNECT,
            pid: 42,
            sport: 1234,
            ..Default::default()
        };
        let r = Record { ev, payload: None };
        let bytes = encode(&r);
        assert_eq!(bytes.len(), 184);
        assert_eq!(decode(&bytes).unwrap(), r);
        assert_eq!(decode(&bytes[..100]), Err(DecodeError::Short(100)));

        let dns = Record {
            ev: KtuiEvent {
                kind: KIND_DNS,
                payload_len: 3,
                ..Default::default()
            },
            payload: Some(vec![1, 2, 3]),
        };
        let bytes = encode(&dns);
        assert_eq!(bytes.len(), 184 + 256);
        assert_eq!(decode(&bytes).unwrap(), dns);
        assert!(matches!(
            decode(&bytes[..200]),
            Err(DecodeError::ShortDns(200))
        ));
    }
}
