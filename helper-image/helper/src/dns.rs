//! DNS metadata from the first bytes of a port-53 datagram (at most 256, copied in eBPF):
//! query name, type, and the response code of responses. Never anything else.

use ktui_wire::DnsInfo;

/// Longest name we build (RFC 1035 limit).
const MAX_NAME: usize = 255;

/// Parse the header and first question. Whatever cannot be read is null.
pub fn parse(payload: &[u8]) -> DnsInfo {
    let mut info = DnsInfo {
        qname: None,
        qtype: None,
        rcode: None,
        id: None,
    };
    if payload.len() < 12 {
        return info;
    }
    info.id = Some(u16::from_be_bytes([payload[0], payload[1]]));
    let flags = u16::from_be_bytes([payload[2], payload[3]]);
    let is_response = flags & 0x8000 != 0;
    if is_response {
        info.rcode = Some((flags & 0x000f) as u8);
    }
    let qdcount = u16::from_be_bytes([payload[4], payload[5]]);
    if qdcount == 0 {
        return info;
    }
    let Some((name, end)) = read_name(payload, 12) else {
        return info;
    };
    info.qname = Some(name);
    if let Some(t) = payload.get(end..end + 2) {
        info.qtype = Some(u16::from_be_bytes([t[0], t[1]]));
    }
    info
}

/// Uncompressed labels from `start` (questions are never compressed in practice; a pointer
/// ends the name as unreadable). Non-printable bytes are escaped as `\DDD`.
fn read_name(p: &[u8], start: usize) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut pos = start;
    loop {
        let len = *p.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        let label = p.get(pos..pos + len)?;
        pos += len;
        if !name.is_empty() {
            name.push('.');
        }
        for &b in label {
            if b.is_ascii_graphic() && b != b'.' && b != b'\\' {
                name.push(b as char);
            } else {
                name.push_str(&format!("\\{b:03}"));
            }
        }
        if name.len() > MAX_NAME * 4 {
            return None;
        }
    }
    if name.is_empty() {
        name.push('.');
    }
    Some((name, pos))
}

/// A query for tests and the demo responder: id, name, type (RD set).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(32 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        q.push(label.len().min(63) as u8);
        q.extend_from_slice(&label.as_bytes()[..label.len().min(63)]);
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes());
    q
}

/// The response to `query` with `rcode` and no answers (QR set).
pub fn build_response(query: &[u8], rcode: u8) -> Vec<u8> {
    let mut r = query.to_vec();
    if r.len() >= 4 {
        r[2] |= 0x80;
        r[3] = (r[3] & 0xf0) | (rcode & 0x0f);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_response() {
        let q = build_query(0x1234, "example.com", 28);
        let info = parse(&q);
        assert_eq!(info.qname.as_deref(), Some("example.com"));
        assert_eq!(info.qtype, Some(28));
        assert_eq!(info.rcode, None);
        let r = parse(&build_response(&q, 3));
        assert_eq!(r.qname.as_deref(), Some("example.com"));
        assert_eq!(r.rcode, Some(3));
    }

    #[test]
    fn garbage_and_truncation_are_null_not_guesses() {
        assert_eq!(parse(b"short").qname, None);
        let q = build_query(1, "a-rather-long-name.svc.cluster.local", 1);
        let cut = parse(&q[..20]);
        assert_eq!(cut.qname, None);
        assert_eq!(cut.qtype, None);
        let mut bad = q.clone();
        bad[12] = 0xc0; // compression pointer in the question
        assert_eq!(parse(&bad).qname, None);
        let mut odd = build_query(1, "x", 1);
        odd[13] = 0x07;
        assert_eq!(parse(&odd).qname.as_deref(), Some("\\007"));
    }
}
