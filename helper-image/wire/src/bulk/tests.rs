use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

use super::*;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Encode `file[offset..]` with `header`, handing the writer pieces of `write_sizes` lengths.
fn encode(file: &[u8], header: &BulkHeader, write_sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = BulkWriter::start(&mut out, header).unwrap();
    let off = header.offset as usize;
    for piece in pieces(&file[..off], write_sizes) {
        w.hash_prefix(piece).unwrap();
    }
    for piece in pieces(&file[off..], write_sizes) {
        w.content(piece).unwrap();
    }
    let (bytes, digest) = w.finish().unwrap();
    assert_eq!(bytes, file.len() as u64);
    assert_eq!(digest, sha(file));
    out
}

fn pieces<'a>(mut bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut i = 0;
    while !bytes.is_empty() {
        let n = sizes
            .get(i % sizes.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let (a, b) = bytes.split_at(n.min(bytes.len()));
        out.push(a);
        bytes = b;
        i += 1;
    }
    out
}

/// Everything decoded from `wire` fed in pieces: header, content, trailer, and the error
/// that stopped it (if any).
#[derive(Debug, Default)]
struct Decoded {
    header: Option<BulkHeader>,
    content: Vec<u8>,
    trailer: Option<BulkTrailer>,
    error: Option<BulkError>,
    finished: bool,
}

fn decode(wire: &[u8], read_sizes: &[usize]) -> Decoded {
    let mut d = BulkDecoder::new();
    let mut got = Decoded::default();
    'outer: for piece in pieces(wire, read_sizes) {
        let mut input = piece;
        loop {
            match d.next_event(&mut input) {
                Ok(None) => break,
                Ok(Some(BulkEvent::Header(h))) => got.header = Some(h),
                Ok(Some(BulkEvent::Content(c))) => {
                    assert!(!c.is_empty());
                    got.content.extend_from_slice(c);
                }
                Ok(Some(BulkEvent::Trailer(t))) => got.trailer = Some(t),
                Err(e) => {
                    got.error = Some(e);
                    break 'outer;
                }
            }
        }
    }
    got.finished = d.finish().is_ok();
    got
}

proptest! {
    #[test]
    fn files_round_trip_from_any_offset_in_any_pieces(
        file in proptest::collection::vec(any::<u8>(), 0..20_000),
        offset_frac in 0.0f64..=1.0,
        known_size in any::<bool>(),
        write_sizes in proptest::collection::vec(1usize..5000, 1..8),
        read_sizes in proptest::collection::vec(1usize..5000, 1..8),
        name in "[a-zA-Z0-9._ -]{1,40}",
    ) {
        let offset = (file.len() as f64 * offset_frac) as u64;
        let header = BulkHeader {
            name,
            size: known_size.then_some(file.len() as u64),
            offset,
        };
        let wire = encode(&file, &header, &write_sizes);
        let got = decode(&wire, &read_sizes);
        prop_assert_eq!(got.error, None);
        prop_assert_eq!(got.header, Some(header));
        prop_assert_eq!(&got.content[..], &file[offset as usize..]);
        prop_assert_eq!(got.trailer, Some(BulkTrailer::End {
            bytes: file.len() as u64,
            sha256: sha(&file),
        }));
        prop_assert!(got.finished);
    }

    #[test]
    fn every_cut_short_of_the_end_is_truncated(
        file in proptest::collection::vec(any::<u8>(), 0..3000),
        cut_frac in 0.0f64..1.0,
    ) {
        let header = BulkHeader { name: "f".into(), size: Some(file.len() as u64), offset: 0 };
        let wire = encode(&file, &header, &[700]);
        let cut = (wire.len() as f64 * cut_frac) as usize;
        let got = decode(&wire[..cut], &[97]);
        prop_assert_eq!(got.error, None);
        prop_assert!(!got.finished);
        prop_assert!(got.trailer.is_none());
        // What was decoded is a true prefix of the content.
        prop_assert!(file.starts_with(&got.content));
    }

    #[test]
    fn error_trailers_round_trip(message in "\\PC{0,200}", sent in 0usize..3000) {
        let file = vec![7u8; sent];
        let header = BulkHeader { name: "snap.tar".into(), size: None, offset: 0 };
        let mut wire = Vec::new();
        let mut w = BulkWriter::start(&mut wire, &header).unwrap();
        w.content(&file).unwrap();
        w.fail(&message).unwrap();
        let got = decode(&wire, &[333]);
        prop_assert_eq!(got.error, None);
        prop_assert_eq!(got.content, file);
        prop_assert_eq!(got.trailer, Some(BulkTrailer::Error { message }));
        prop_assert!(got.finished);
    }
}

#[test]
fn content_is_split_into_chunks_of_at_most_one_mebibyte() {
    let file: Vec<u8> = (0..(2 * MAX_CHUNK + 12_345))
        .map(|i| (i % 251) as u8)
        .collect();
    let header = BulkHeader {
        name: "big".into(),
        size: Some(file.len() as u64),
        offset: 0,
    };
    let wire = encode(&file, &header, &[file.len()]);
    let header_len = encode_header(&header).len();
    let len_at = |at: usize| u32::from_be_bytes(wire[at..at + 4].try_into().unwrap()) as usize;
    let mut at = header_len;
    let mut lens = Vec::new();
    loop {
        let n = len_at(at);
        lens.push(n);
        at += 4 + n;
        if n == 0 {
            break;
        }
    }
    assert_eq!(lens, vec![MAX_CHUNK, MAX_CHUNK, 12_345, 0]);
    let trailer: serde_json::Value = serde_json::from_slice(&wire[at..]).unwrap();
    assert_eq!(trailer["type"], "bulk_end");
    assert_eq!(trailer["v"], 1);
    assert_eq!(trailer["bytes"], file.len());
    let got = decode(&wire, &[65_536]);
    assert_eq!(got.content, file);
}

#[test]
fn the_header_line_is_as_documented() {
    let line = encode_header(&BulkHeader {
        name: "checkpoint-web_shop-app-2026.tar".into(),
        size: None,
        offset: 5,
    });
    assert_eq!(
        String::from_utf8(line).unwrap(),
        "{\"v\":1,\"type\":\"bulk\",\"name\":\"checkpoint-web_shop-app-2026.tar\",\"size\":null,\"offset\":5}\n"
    );
    let end = encode_trailer(&BulkTrailer::End {
        bytes: 3,
        sha256: "ab".repeat(32),
    });
    assert_eq!(
        String::from_utf8(end).unwrap(),
        format!(
            "{{\"v\":1,\"type\":\"bulk_end\",\"bytes\":3,\"sha256\":\"{}\"}}\n",
            "ab".repeat(32)
        )
    );
}

fn header_bytes(size: Option<u64>, offset: u64) -> Vec<u8> {
    encode_header(&BulkHeader {
        name: "x".into(),
        size,
        offset,
    })
}

#[test]
fn oversized_chunks_and_lines_are_refused_not_buffered() {
    let mut wire = header_bytes(None, 0);
    wire.extend_from_slice(&(MAX_CHUNK as u32 + 1).to_be_bytes());
    assert_eq!(
        decode(&wire, &[3]).error,
        Some(BulkError::ChunkTooLarge(MAX_CHUNK as u32 + 1))
    );

    // A header that never ends: refused once past the bound, fed in small pieces.
    let endless = vec![b'{'; MAX_BULK_LINE + 1];
    assert_eq!(
        decode(&endless, &[100]).error,
        Some(BulkError::LineTooLong { what: "header" })
    );
    let mut wire = header_bytes(None, 0);
    wire.extend_from_slice(&0u32.to_be_bytes());
    wire.extend(std::iter::repeat_n(b' ', MAX_BULK_LINE + 1));
    assert_eq!(
        decode(&wire, &[4096]).error,
        Some(BulkError::LineTooLong { what: "trailer" })
    );
}

#[test]
fn content_beyond_the_declared_size_is_an_overrun() {
    let mut wire = header_bytes(Some(10), 4);
    wire.extend_from_slice(&7u32.to_be_bytes());
    wire.extend_from_slice(&[0; 7]);
    assert_eq!(
        decode(&wire, &[1000]).error,
        Some(BulkError::Overrun {
            size: 10,
            offset: 4
        })
    );
}

fn with_trailer(header: Vec<u8>, content: &[u8], trailer: &str) -> Vec<u8> {
    let mut wire = header;
    if !content.is_empty() {
        wire.extend_from_slice(&(content.len() as u32).to_be_bytes());
        wire.extend_from_slice(content);
    }
    wire.extend_from_slice(&0u32.to_be_bytes());
    wire.extend_from_slice(trailer.as_bytes());
    wire
}

#[test]
fn trailers_that_disagree_with_the_stream_are_errors() {
    let good = sha(b"abc");
    let t = |bytes: u64| {
        format!("{{\"v\":1,\"type\":\"bulk_end\",\"bytes\":{bytes},\"sha256\":\"{good}\"}}\n")
    };
    // Offset 1 + 2 content bytes = 3.
    assert_eq!(
        decode(&with_trailer(header_bytes(Some(3), 1), b"bc", &t(3)), &[5]).error,
        None
    );
    assert_eq!(
        decode(&with_trailer(header_bytes(Some(3), 1), b"bc", &t(4)), &[5]).error,
        Some(BulkError::LengthMismatch {
            trailer: 4,
            carried: 3,
            offset: 1
        })
    );
    // The header promised 5 bytes; the stream stopped at 3.
    assert_eq!(
        decode(&with_trailer(header_bytes(Some(5), 1), b"bc", &t(3)), &[5]).error,
        Some(BulkError::SizeMismatch { size: 5, bytes: 3 })
    );
    let bad_hash = "{\"v\":1,\"type\":\"bulk_end\",\"bytes\":3,\"sha256\":\"XYZ\"}\n";
    assert!(matches!(
        decode(&with_trailer(header_bytes(None, 0), b"abc", bad_hash), &[5]).error,
        Some(BulkError::BadTrailer(_))
    ));
    let mut trailing = with_trailer(header_bytes(None, 0), b"abc", &t(3));
    trailing.extend_from_slice(b"more");
    assert_eq!(
        decode(&trailing, &[1000]).error,
        Some(BulkError::TrailingData(4))
    );
}

#[test]
fn bad_headers_are_named() {
    let v2 = b"{\"v\":2,\"type\":\"bulk\",\"name\":\"x\",\"size\":null,\"offset\":0}\n";
    assert_eq!(
        decode(v2, &[100]).error,
        Some(BulkError::VersionMismatch { peer: 2 })
    );
    let hello = b"{\"v\":1,\"type\":\"hello\"}\n";
    assert!(
        matches!(decode(hello, &[100]).error, Some(BulkError::BadHeader(m)) if m.contains("hello"))
    );
    assert!(matches!(
        decode(&header_bytes(Some(3), 4), &[100]).error,
        Some(BulkError::BadHeader(m)) if m.contains("offset 4 beyond")
    ));
    assert!(matches!(
        decode(b"sh: not found\n", &[100]).error,
        Some(BulkError::BadHeader(_))
    ));
}

#[test]
fn an_early_error_is_a_trailer_alone() {
    let mut wire = Vec::new();
    write_early_error(
        &mut wire,
        "refused: /etc/shadow is outside /var/lib/kubelet/checkpoints",
    )
    .unwrap();
    let got = decode(&wire, &[10]);
    assert_eq!(got.header, None);
    assert!(got.finished);
    assert!(
        matches!(got.trailer, Some(BulkTrailer::Error { message }) if message.starts_with("refused"))
    );
}

#[test]
fn long_error_messages_are_cut_on_a_char_boundary() {
    let line = encode_trailer(&BulkTrailer::Error {
        message: "é".repeat(MAX_ERROR_MESSAGE),
    });
    assert!(line.len() < MAX_BULK_LINE);
    let got = decode(&line, &[1000]);
    assert!(got.finished);
}

#[test]
fn the_writer_refuses_misuse() {
    let header = BulkHeader {
        name: "x".into(),
        size: Some(4),
        offset: 2,
    };
    let mut out = Vec::new();
    let mut w = BulkWriter::start(&mut out, &header).unwrap();
    assert!(w.content(b"cd").is_err(), "content before the prefix");
    assert!(w.hash_prefix(b"abc").is_err(), "prefix beyond the offset");
    w.hash_prefix(b"ab").unwrap();
    assert!(w.content_sent_as(b"cd", b"c").is_err());
    w.content_sent_as(b"cd", b"cX").unwrap();
    assert_eq!(w.sent(), 2);
    let (bytes, digest) = w.finish().unwrap();
    assert_eq!((bytes, digest), (4, sha(b"abcd")));
    let got = decode(&out, &[3]);
    assert_eq!(got.content, b"cX");
}

#[test]
fn remove_replies_round_trip() {
    for reply in [
        RemoveReply::Removed {
            path: "/var/lib/kubelet/checkpoints/a.tar".into(),
        },
        RemoveReply::RemoveError {
            kind: RemoveErrorKind::ReadOnly,
            message: "read-only".into(),
        },
    ] {
        let line = reply.encode();
        assert!(line.starts_with("{\"v\":1,\"type\":\"re"), "{line}");
        let back = RemoveReply::decode(line.trim_end().as_bytes()).unwrap();
        assert_eq!(back, reply);
    }
    assert!(RemoveReply::decode(b"{\"v\":1,\"type\":\"hello\"}").is_err());
}

#[test]
fn a_buffered_io_writer_sends_whole_chunks() {
    use std::io::Write as _;
    let file: Vec<u8> = (0..(MAX_CHUNK * 2 + 1000))
        .map(|i| (i % 13) as u8)
        .collect();
    let header = BulkHeader {
        name: "snapshot.tar".into(),
        size: None,
        offset: 0,
    };
    let mut wire = Vec::new();
    let mut w = BulkWriter::start(&mut wire, &header).unwrap();
    {
        let mut buffered = std::io::BufWriter::with_capacity(MAX_CHUNK, &mut w);
        for piece in file.chunks(512) {
            buffered.write_all(piece).unwrap();
        }
        buffered.flush().unwrap();
    }
    let (bytes, digest) = w.finish().unwrap();
    assert_eq!((bytes, digest), (file.len() as u64, sha(&file)));
    let got = decode(&wire, &[100_000]);
    assert_eq!(got.content, file);
    // Three chunks (two full), not one per 512-byte write.
    let chunks = wire.len() - encode_header(&header).len() - file.len();
    let trailer_len = encode_trailer(&BulkTrailer::End {
        bytes,
        sha256: sha(&file),
    })
    .len();
    assert_eq!(chunks - trailer_len, 4 * 4);
}
