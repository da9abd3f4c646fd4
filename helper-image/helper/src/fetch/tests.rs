use ktui_wire::bulk::{BulkDecoder, BulkEvent, BulkTrailer};
use sha2::{Digest as _, Sha256};

use super::roots::Root;
use super::*;

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn args(path: &str, offset: u64) -> FetchArgs {
    FetchArgs {
        path: path.to_string(),
        offset,
        debug_flip_byte: None,
    }
}

/// (header name, content, trailer) of a whole stream.
fn decode(wire: &[u8]) -> (Option<String>, Vec<u8>, BulkTrailer) {
    let mut d = BulkDecoder::new();
    let mut input = wire;
    let mut name = None;
    let mut content = Vec::new();
    loop {
        match d.next_event(&mut input).unwrap() {
            Some(BulkEvent::Header(h)) => name = Some(h.name),
            Some(BulkEvent::Content(c)) => content.extend_from_slice(c),
            Some(BulkEvent::Trailer(t)) => {
                assert!(input.is_empty());
                return (name, content, t);
            }
            None => panic!("stream ended before its trailer"),
        }
    }
}

struct Dir {
    _tmp: tempfile::TempDir,
    roots: Vec<Root>,
    file: std::path::PathBuf,
    bytes: Vec<u8>,
}

fn staged(len: usize) -> Dir {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    std::fs::create_dir(&dir).unwrap();
    let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
    let file = dir.join("checkpoint-web_shop-app-2026.tar");
    std::fs::write(&file, &bytes).unwrap();
    Dir {
        roots: vec![Root {
            what: "checkpoint",
            dir,
        }],
        _tmp: tmp,
        file,
        bytes,
    }
}

#[test]
fn a_whole_file_and_a_resumed_tail_carry_the_whole_files_hash() {
    let d = staged(3 * READ_SIZE + 17);
    let path = d.file.display().to_string();
    for offset in [
        0,
        1,
        READ_SIZE as u64,
        2 * READ_SIZE as u64 + 5,
        d.bytes.len() as u64,
    ] {
        let mut wire = Vec::new();
        let sent = send(&d.roots, &args(&path, offset), &mut wire).unwrap();
        assert_eq!(
            sent,
            Sent::Done {
                bytes: d.bytes.len() as u64,
                sha256: sha(&d.bytes)
            }
        );
        let (name, content, trailer) = decode(&wire);
        assert_eq!(name.as_deref(), Some("checkpoint-web_shop-app-2026.tar"));
        assert_eq!(content, &d.bytes[offset as usize..], "offset {offset}");
        assert_eq!(
            trailer,
            BulkTrailer::End {
                bytes: d.bytes.len() as u64,
                sha256: sha(&d.bytes)
            }
        );
    }
}

#[test]
fn refusals_and_bad_offsets_are_bulk_errors() {
    let d = staged(100);
    let outside = d._tmp.path().join("outside");
    std::fs::write(&outside, b"secret").unwrap();
    for (path, offset, want) in [
        (outside.display().to_string(), 0, "outside the directories"),
        (d.file.display().to_string(), 101, "beyond the end"),
        ("/nonexistent/x".to_string(), 0, "does not exist"),
    ] {
        let mut wire = Vec::new();
        let sent = send(&d.roots, &args(&path, offset), &mut wire).unwrap();
        assert!(
            matches!(&sent, Sent::Failed(m) if m.contains(want)),
            "{sent:?}"
        );
        let (name, content, trailer) = decode(&wire);
        assert_eq!(name, None);
        assert!(content.is_empty());
        assert!(matches!(trailer, BulkTrailer::Error { message } if message.contains(want)));
    }
}

#[test]
fn the_flip_hook_corrupts_the_wire_not_the_hash() {
    let d = staged(READ_SIZE + 10);
    let mut a = args(&d.file.display().to_string(), 0);
    a.debug_flip_byte = Some(READ_SIZE as u64 + 3);
    let mut wire = Vec::new();
    send(&d.roots, &a, &mut wire).unwrap();
    let (_, content, trailer) = decode(&wire);
    assert_eq!(
        trailer,
        BulkTrailer::End {
            bytes: d.bytes.len() as u64,
            sha256: sha(&d.bytes)
        }
    );
    assert_ne!(sha(&content), sha(&d.bytes));
    let differ: Vec<usize> = (0..content.len())
        .filter(|&i| content[i] != d.bytes[i])
        .collect();
    assert_eq!(differ, vec![READ_SIZE + 3]);
}
