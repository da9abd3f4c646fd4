//! The first question's name of a DNS message (query or response).
//!
//! Bounded: at most [`MAX_NAME`] bytes of name (RFC 1035's 255 octets, length bytes included)
//! and [`MAX_POINTERS`] compression pointers, each of which must point before itself, so a
//! hostile message cannot loop. The name counts only when the whole question (name, type,
//! class) was captured, as tshark has it.
//!
//! Text: the presentation format of RFC 1035 §5.1, as `dig` prints names: labels joined by `.`
//! (no trailing dot; the root is `.`), bytes outside printable ASCII (0x21–0x7e) as `\DDD`
//! (three decimal digits), and a `.` or `\` inside a label escaped with `\`. So the name is
//! always printable ASCII — valid UTF-8 and valid JSON whatever the packet held — and the
//! original bytes can be read back from it.

use super::Summary;

/// The longest name accepted, in wire bytes (length octets included).
pub const MAX_NAME: usize = 255;
/// Compression pointers followed in one name.
pub const MAX_POINTERS: usize = 16;

const HEADER: usize = 12;

/// A DNS message carried in UDP.
pub(super) fn from_udp(s: &mut Summary, msg: &[u8]) {
    let mut name = String::new();
    if question_name(msg, &mut name) {
        s.dns_qname = Some(name);
    }
}

/// A TCP segment that starts a DNS message: its 2-byte length, then the message.
pub(super) fn from_tcp(s: &mut Summary, segment: &[u8]) {
    let Some(len) = segment.get(..2) else { return };
    let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
    let msg = &segment[2..];
    let mut name = String::new();
    if question_name(&msg[..len.min(msg.len())], &mut name) {
        s.dns_qname = Some(name);
    }
}

/// Writes the first question's name of `msg` into `out`; false (and `out` unspecified) when
/// the message has no complete first question.
pub fn question_name(msg: &[u8], out: &mut String) -> bool {
    out.clear();
    if msg.len() < HEADER || u16::from_be_bytes([msg[4], msg[5]]) == 0 {
        return false;
    }
    let mut pos = HEADER;
    // Where the question continues after the name (set at the first pointer).
    let mut after_name = None;
    let mut wire_len = 0usize;
    let mut pointers = 0usize;
    loop {
        let Some(&len) = msg.get(pos) else {
            return false;
        };
        match len & 0xc0 {
            0x00 if len == 0 => {
                wire_len += 1;
                if wire_len > MAX_NAME {
                    return false;
                }
                let end = after_name.unwrap_or(pos + 1);
                // QTYPE and QCLASS follow the name.
                if msg.len() < end + 4 {
                    return false;
                }
                if out.is_empty() {
                    out.push('.');
                }
                return true;
            }
            0x00 => {
                let len = usize::from(len);
                wire_len += 1 + len;
                if wire_len > MAX_NAME {
                    return false;
                }
                let Some(label) = msg.get(pos + 1..pos + 1 + len) else {
                    return false;
                };
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(out, label);
                pos += 1 + len;
            }
            0xc0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return false;
                };
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                pointers += 1;
                if pointers > MAX_POINTERS || target >= pos {
                    return false;
                }
                after_name.get_or_insert(pos + 2);
                pos = target;
            }
            // 0x40 / 0x80: extended label types (RFC 6891 reserved): not a name we can read.
            _ => return false,
        }
    }
}

fn push_label(out: &mut String, label: &[u8]) {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x21..=0x7e => out.push(char::from(b)),
            _ => {
                out.push('\\');
                out.push(char::from(b'0' + b / 100));
                out.push(char::from(b'0' + b / 10 % 10));
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testframe::dns_query;
    use super::*;

    fn name(msg: &[u8]) -> Option<String> {
        let mut out = String::new();
        question_name(msg, &mut out).then_some(out)
    }

    #[test]
    fn plain_name() {
        assert_eq!(
            name(&dns_query(1, "api.example.test")).as_deref(),
            Some("api.example.test")
        );
    }

    #[test]
    fn root_is_a_dot() {
        assert_eq!(name(&dns_query(1, "")).as_deref(), Some("."));
    }

    #[test]
    fn needs_the_whole_question() {
        let q = dns_query(1, "a.example");
        assert_eq!(name(&q[..q.len() - 1]), None);
        assert_eq!(name(&q).as_deref(), Some("a.example"));
        // No question at all.
        let mut none = q.clone();
        none[4..6].copy_from_slice(&[0, 0]);
        assert_eq!(name(&none), None);
        assert_eq!(name(&q[..11]), None);
    }

    #[test]
    fn odd_bytes_are_escaped_to_printable_ascii() {
        let mut q = dns_query(1, "");
        // Replace the root name with one label holding a dot, a backslash, a space, an escape,
        // a byte that is not UTF-8 and a UTF-8 "é".
        let label = [b'a', b'.', b'\\', b' ', 0x1b, 0xff, 0xc3, 0xa9];
        let mut wire = vec![label.len() as u8];
        wire.extend_from_slice(&label);
        wire.push(0);
        q.splice(12..13, wire);
        let got = name(&q).unwrap();
        assert_eq!(got, "a\\.\\\\\\032\\027\\255\\195\\169");
        assert!(got.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    }

    fn header() -> Vec<u8> {
        vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    }

    #[test]
    fn a_pointer_loop_stops() {
        // 12: "x", then at 14 a pointer back to 12: x.x.x... until MAX_POINTERS.
        let mut msg = header();
        msg.extend_from_slice(&[1, b'x', 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(name(&msg), None);
    }

    #[test]
    fn a_pointer_to_itself_or_forward_is_refused() {
        let mut own = header();
        own.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(name(&own), None);
        let mut fwd = header();
        fwd.extend_from_slice(&[1, b'a', 0xc0, 18, 0, 1, 0, 1, 1, b'b', 0]);
        assert_eq!(name(&fwd), None);
    }

    #[test]
    fn a_backward_pointer_resolves() {
        // Header bytes 8..11 happen to read as the label "q" and the root; the question name
        // "a" points there.
        let mut msg = header();
        msg[8..12].copy_from_slice(&[1, b'q', 0, 0]);
        msg.extend_from_slice(&[1, b'a', 0xc0, 8, 0, 1, 0, 1]);
        assert_eq!(name(&msg).as_deref(), Some("a.q"));
        // QTYPE/QCLASS are counted after the pointer, not after the name it points to.
        assert_eq!(name(&msg[..msg.len() - 1]), None);
    }

    #[test]
    fn too_long_names_are_refused() {
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(name(&dns_query(1, &long)), None);
        let ok = vec!["a".repeat(63); 3].join(".");
        assert_eq!(name(&dns_query(1, &ok)), Some(ok));
    }
}
