//! Image framing and messages against hand-encoded images (protobuf written here field by
//! field, as protobuf-c writes CRIU's images).

use super::*;

fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn num(field: u32, v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(field) << 3, &mut out);
    varint(v, &mut out);
    out
}

fn bytes(field: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint((u64::from(field) << 3) | 2, &mut out);
    varint(data.len() as u64, &mut out);
    out.extend_from_slice(data);
    out
}

fn image(ty: ImageType, records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(lead) = ty.leading_magic() {
        out.extend_from_slice(&lead.to_le_bytes());
    }
    out.extend_from_slice(&ty.magic().to_le_bytes());
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

#[test]
fn pstree_with_packed_and_unpacked_threads() {
    let unpacked = [
        num(1, 1),
        num(2, 0),
        num(3, 1),
        num(4, 1),
        num(5, 1),
        num(5, 2),
    ]
    .concat();
    let mut packed_threads = Vec::new();
    varint(6, &mut packed_threads);
    varint(300, &mut packed_threads);
    let packed = [num(1, 6), num(2, 1), bytes(5, &packed_threads)].concat();
    let got = decode_all(
        &image(ImageType::Pstree, &[unpacked, packed]),
        ImageType::Pstree,
        pstree_entry,
    )
    .unwrap();
    assert_eq!(
        got[0],
        PstreeEntry {
            pid: 1,
            ppid: 0,
            pgid: 1,
            sid: 1,
            threads: vec![1, 2]
        }
    );
    assert_eq!(got[1].threads, vec![6, 300]);
}

#[test]
fn core_comm_state_and_arch() {
    let tc = [num(1, 1), num(2, 0), bytes(6, b"ktworker"), num(99, 5)].concat();
    let thread = bytes(13, b"worker-2");
    let core = [num(1, 1), bytes(3, &tc), bytes(5, &thread)].concat();
    let c = decode_one(
        &image(ImageType::Core, &[core]),
        ImageType::Core,
        core_entry,
    )
    .unwrap();
    assert_eq!(c.comm.as_deref(), Some("ktworker"));
    assert_eq!(c.thread_comm.as_deref(), Some("worker-2"));
    assert_eq!(c.task_state, Some(1));
    assert_eq!(oci_arch(c.mtype), Some("amd64"));
    assert_eq!(task_state_name(3), "Zombie");
}

#[test]
fn pagemap_head_then_entries_with_and_without_flags() {
    let head = num(1, 3);
    let present = [num(1, 0x1000), num(2, 2), num(4, 4)].concat();
    let lazy = [num(1, 0x5000), num(2, 1), num(4, 2)].concat();
    let old_style = [num(1, 0x9000), num(2, 1)].concat();
    let parent = [num(1, 0xa000), num(2, 1), num(3, 1)].concat();
    let big = [num(1, 0x10000), num(2, 0), num(4, 4), num(5, 1 << 33)].concat();
    let pm = pagemap(&image(
        ImageType::Pagemap,
        &[head, present, lazy, old_style, parent, big],
    ))
    .unwrap();
    assert_eq!(pm.pages_id, 3);
    let flags: Vec<(u64, bool)> = pm.entries.iter().map(|e| (e.nr_pages, e.present)).collect();
    assert_eq!(
        flags,
        vec![
            (2, true),
            (1, false),
            (1, true),
            (1, false),
            (1 << 33, true)
        ]
    );
}

#[test]
fn files_targets_read_like_proc_fd() {
    let reg = bytes(
        3,
        &[
            num(1, 1),
            num(2, 0),
            num(3, 0),
            bytes(5, &[]),
            bytes(6, b"/dev/null"),
        ]
        .concat(),
    );
    let pipe = bytes(18, &[num(1, 2), num(2, 190357)].concat());
    // 10.85.0.12:8080 -> 10.85.0.1:35182, as CRIU stores IPv4 (network-order bytes in a u32).
    let addr = |a: [u8; 4]| u64::from(u32::from_le_bytes(a));
    let isk = [
        num(1, 3),
        num(2, 191606),
        num(3, 2),
        num(4, 1),
        num(5, 6),
        num(6, 1),
        num(7, 8080),
        num(8, 35182),
        num(11, addr([10, 85, 0, 12])),
        num(12, addr([10, 85, 0, 1])),
    ]
    .concat();
    let records = [
        [num(1, 1), num(2, 1), reg].concat(),
        [num(1, 2), num(2, 2), pipe].concat(),
        [num(1, 4), num(2, 3), bytes(4, &isk)].concat(),
        [num(1, 6), num(2, 4)].concat(),
    ];
    let files = decode_all(
        &image(ImageType::Files, &records),
        ImageType::Files,
        file_entry,
    )
    .unwrap();
    let t = |i: usize| target(Some(&files[i]), files[i].ty, files[i].id);
    assert_eq!(t(0), "/dev/null");
    assert_eq!(t(1), "pipe:[190357]");
    assert_eq!(
        t(2),
        "socket:[191606] tcp 10.85.0.12:8080 -> 10.85.0.1:35182 ESTABLISHED"
    );
    assert_eq!(t(3), "anon_inode:[eventfd]");
    assert_eq!(target(None, fd_type::REG, 9), "unknown path (file 9)");
}

#[test]
fn inventory_has_no_common_magic_and_stats_the_service_one() {
    let inv = image(ImageType::Inventory, &[[num(1, 2), num(2, 1)].concat()]);
    assert_eq!(inv[..4], 0x5831_3116u32.to_le_bytes());
    let i = decode_one(&inv, ImageType::Inventory, inventory_entry).unwrap();
    assert!(i.fdinfo_per_id);
    let dump = [num(1, 714), num(2, 146_960), num(5, 75), num(7, 54)].concat();
    let stats = image(ImageType::Stats, &[bytes(1, &dump)]);
    let s = decode_one(&stats, ImageType::Stats, stats_entry)
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            s.freezing_time,
            s.frozen_time,
            s.pages_scanned,
            s.pages_written
        ),
        (714, 146_960, 75, 54)
    );
}

#[test]
fn garbage_images_give_errors_that_say_where() {
    let good = image(ImageType::Pstree, &[num(1, 1)]);
    // Wrong magic (a core image read as pstree).
    let core = image(ImageType::Core, &[num(1, 1)]);
    assert!(matches!(
        decode_all(&core, ImageType::Pstree, pstree_entry),
        Err(ImageError::Magic { kind: "pstree", .. })
    ));
    assert!(matches!(
        decode_all(&good[..6], ImageType::Pstree, pstree_entry),
        Err(ImageError::Short { .. })
    ));
    // A record whose size runs past the end.
    let mut past = good.clone();
    past[8] = 0xff;
    assert!(matches!(
        decode_all(&past, ImageType::Pstree, pstree_entry),
        Err(ImageError::RecordPastEnd { at: 8, .. })
    ));
    // Cut inside a record's size.
    let mut cut = good.clone();
    cut.extend_from_slice(&[1, 0]);
    assert!(matches!(
        decode_all(&cut, ImageType::Pstree, pstree_entry),
        Err(ImageError::CutSize { .. })
    ));
    // A required field missing; an undecodable record.
    let no_pid = image(ImageType::Pstree, &[num(2, 1)]);
    assert!(matches!(
        decode_all(&no_pid, ImageType::Pstree, pstree_entry),
        Err(ImageError::Missing { field: "pid", .. })
    ));
    let junk = image(ImageType::Pstree, &[vec![0x0f, 0xff]]);
    assert!(matches!(
        decode_all(&junk, ImageType::Pstree, pstree_entry),
        Err(ImageError::Record { .. })
    ));
    // An image with no record where one is needed.
    assert_eq!(
        decode_one(&image(ImageType::Mm, &[]), ImageType::Mm, mm_entry),
        Err(ImageError::Empty)
    );
    // Random bytes: an error, never a panic.
    for seed in 0..200u32 {
        let mut data = good.clone();
        data.extend(
            (0..64).map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) >> 7) as u8),
        );
        let _ = decode_all(&data, ImageType::Pstree, pstree_entry);
        let _ = pagemap(&data);
    }
}
