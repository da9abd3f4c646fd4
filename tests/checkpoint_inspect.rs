//! `ktui checkpoint inspect` end to end: the real CRI-O checkpoint fixture against its truth
//! (made by crit and GNU tar), grep offsets against an independent scan of the extracted pages
//! images, the broken fixtures and hostile archives made here, each an exit 1 with its reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/ckpt_gen.rs"]
mod ckpt_gen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ckpt_gen::{SECRET, fixture};
use serde_json::Value;

fn ktui(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ktui"))
        .args(args)
        .current_dir(cwd)
        .env_remove("KTUI_CASES_DIR")
        .output()
        .unwrap()
}

fn truth() -> Value {
    let path = PathBuf::from(format!("{}.truth/truth.json", fixture().display()));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn inspect_json(archive: &Path, grep: Option<&str>) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["checkpoint", "inspect", archive.to_str().unwrap(), "--json"];
    if let Some(g) = grep {
        args.extend(["--grep", g]);
    }
    let out = ktui(&args, dir.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "inspect wrote a file"
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every occurrence, left to right, non-overlapping (what `grep -abo` prints).
fn occurrences(hay: &[u8], needle: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + needle.len() <= hay.len() {
        if &hay[i..i + needle.len()] == needle {
            out.push(i as u64);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    out
}

/// The archive extracted by GNU tar into a temporary directory.
fn extract(archive: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("tar")
        .args(["--force-local", "-xf"])
        .arg(archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "tar xf failed");
    dir
}

/// `grep -abo TEXT FILE` offsets, when grep is there.
fn grep_abo(file: &Path, text: &[u8]) -> Option<Vec<u64>> {
    let out = Command::new("grep")
        .arg("-abo")
        .arg(std::str::from_utf8(text).unwrap())
        .arg(file)
        .output()
        .ok()?;
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.split(':').next().unwrap().parse().unwrap())
            .collect(),
    )
}

/// Matches as {member: [(offset, pid)]}.
fn matches_by_file(report: &Value) -> BTreeMap<String, Vec<(u64, Option<u64>)>> {
    let mut out: BTreeMap<String, Vec<(u64, Option<u64>)>> = BTreeMap::new();
    for m in report["matches"].as_array().unwrap() {
        out.entry(m["file"].as_str().unwrap().to_string())
            .or_default()
            .push((m["offset"].as_u64().unwrap(), m["pid"].as_u64()));
    }
    out
}

#[test]
fn the_fixture_matches_its_truth() {
    let t = truth();
    let r = inspect_json(&fixture(), Some("KTUI_SECRET_7731"));
    assert_eq!(r["kind"], "criu");
    // Processes: pid, ppid, comm (crit: pstree.img + core-*.img).
    let got: Vec<(u64, u64, String)> = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["ppid"].as_u64().unwrap(),
                p["comm"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(u64, u64, String)> = t["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["ppid"].as_u64().unwrap(),
                p["comm"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Container, as config.dump and the CRI-O annotations say.
    let c = &r["container"];
    let cd = &t["config_dump"];
    let k = &t["kubernetes"];
    assert_eq!(c["name"], k["container"]);
    assert_eq!(c["pod"], k["pod"]);
    assert_eq!(c["namespace"], k["namespace"]);
    assert_eq!(c["ip"], k["pod_ip"]);
    assert_eq!(c["image"], cd["rootfsImageName"]);
    assert_eq!(c["image_ref"], cd["rootfsImageRef"]);
    assert_eq!(c["id"], cd["id"]);
    assert_eq!(c["runtime"], cd["runtime"]);
    assert_eq!(c["checkpointed"], cd["checkpointedTime"]);
    assert_eq!(c["engine"], "CRI-O");
    // Rootfs changes and deletions.
    assert_eq!(r["rootfs_diff"], t["rootfs_diff_tar_tf"]);
    assert_eq!(r["deleted_files"], t["deleted_files"]);
    // Sizes from tar's own listing.
    let sizes = t["file_sizes"].as_object().unwrap();
    let sum = |prefix: &str| -> u64 {
        sizes
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v.as_u64().unwrap())
            .sum()
    };
    assert_eq!(r["sizes"]["archive"], t["size_bytes"]);
    assert_eq!(r["sizes"]["rootfs_diff"], sizes["rootfs-diff.tar"]);
    assert_eq!(
        r["sizes"]["pages"].as_u64().unwrap(),
        sum("checkpoint/pages-")
    );
    assert_eq!(
        r["sizes"]["checkpoint"].as_u64().unwrap(),
        sum("checkpoint/")
    );
    // Mounts from spec.dump.
    assert!(
        r["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["destination"] == "/etc/resolv.conf" && m["type"] == "bind")
    );
    // The secret: count per pages image, owner pid, and offsets by an independent scan.
    let by_file = matches_by_file(&r);
    let extracted = extract(&fixture());
    let owners = t["pages_image_owner_pid"].as_object().unwrap();
    for (image, count) in t["secret"]["grep_ao_match_count_per_pages_image"]
        .as_object()
        .unwrap()
    {
        let member = format!("checkpoint/{image}");
        let found = by_file.get(&member).cloned().unwrap_or_default();
        assert_eq!(found.len() as u64, count.as_u64().unwrap(), "{image}");
        let data = std::fs::read(extracted.path().join(&member)).unwrap();
        let offsets: Vec<u64> = found.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, occurrences(&data, SECRET), "{image}");
        if let Some(g) = grep_abo(&extracted.path().join(&member), SECRET) {
            assert_eq!(offsets, g, "{image}: grep -abo");
        }
        for (_, pid) in &found {
            assert_eq!(*pid, owners[image].as_u64(), "{image}");
        }
    }
    assert_eq!(r["grep"]["total"], 4);
}

#[test]
fn memory_and_files_read_as_crit_shows_them() {
    let r = inspect_json(&fixture(), None);
    assert!(r.get("matches").is_none(), "no matches key without --grep");
    let truth_dir = PathBuf::from(format!("{}.truth", fixture().display()));
    // crit x mems: per pid, "start-end prot file".
    let mems = std::fs::read_to_string(truth_dir.join("crit_x_mems.txt")).unwrap();
    let mut want = Vec::new();
    let mut pid = 0;
    for line in mems.lines() {
        if !line.starts_with('\t') {
            pid = line.trim().parse().unwrap();
            continue;
        }
        let mut parts = line.split_whitespace();
        let range = parts.next().unwrap();
        if range == "exe" {
            continue;
        }
        let prot = parts.next().unwrap().to_string();
        let file = match parts.next() {
            Some("[stack?]") => "[stack]".to_string(),
            Some(f) => f.to_string(),
            None => String::new(),
        };
        want.push((pid, range.to_string(), prot, file));
    }
    let got: Vec<(u64, String, String, String)> = r["memory"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let file = m["file"].as_str().unwrap();
            // crit names only files, vdso, vsyscall and growsdown stacks.
            let file = if ["[heap]", "[vvar]"].contains(&file) {
                ""
            } else {
                file
            };
            (
                m["pid"].as_u64().unwrap(),
                format!(
                    "{}-{}",
                    m["start"].as_str().unwrap(),
                    m["end"].as_str().unwrap()
                ),
                m["prot"].as_str().unwrap()[..3].to_string(),
                file.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // crit x fds: fd numbers per pid, regular file paths, pipe ids.
    let fds = std::fs::read_to_string(truth_dir.join("crit_x_fds.txt")).unwrap();
    let mut want = Vec::new();
    for line in fds.lines() {
        if !line.starts_with('\t') {
            pid = line.trim().parse().unwrap();
            continue;
        }
        let (fd, target) = line.trim().split_once(": ").unwrap();
        let Ok(fd) = fd.parse::<u64>() else { continue }; // cwd, root
        let target = if let Some(id) = target.strip_prefix("pipe[") {
            format!("pipe:[{id}")
        } else if target.starts_with("INETSK") {
            "socket".to_string()
        } else {
            target.to_string()
        };
        want.push((pid, fd, target));
    }
    let got: Vec<(u64, u64, String)> = r["fds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let target = f["target"].as_str().unwrap();
            let target = if target.starts_with("socket:[") {
                "socket"
            } else {
                target
            };
            (
                f["pid"].as_u64().unwrap(),
                f["fd"].as_u64().unwrap(),
                target.to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Sockets against the truth's inet sockets (files.img).
    let t = truth();
    for want in t["inet_sockets"].as_array().unwrap() {
        let local = format!(
            "{}:{}",
            want["src_addr"][0].as_str().unwrap(),
            want["src_port"]
        );
        assert!(
            r["sockets"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["local"] == local.as_str() && s["state"] == want["state"]),
            "{local} {}",
            want["state"]
        );
    }
}

#[test]
fn the_text_view_shows_the_table_and_sections() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let out = ktui(
        &[
            "checkpoint",
            "inspect",
            f.to_str().unwrap(),
            "--grep",
            "KTUI_SECRET_7731",
        ],
        dir.path(),
    );
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for want in [
        "CONTAINER  IMAGE",
        "ktapp      registry.example.test/ktui/ktapp:1.4.2  3efb5978e498  runc",
        "CRI-O   10.85.0.12",
        "Process tree",
        "  └─ 6 ktapp",
        "     └─ 7 ktworker",
        "Memory map",
        "Open files and sockets",
        "socket:[191606] tcp 10.85.0.12:8080 -> 10.85.0.1:35182 ESTABLISHED",
        "Rootfs changes (rootfs-diff.tar, 20.0 KiB, 8 entries)",
        "deleted: /etc/motd",
        "Mounts",
        "Matches for \"KTUI_SECRET_7731\": 4 in 3 memory images",
        "checkpoint/pages-2.img  42704   6",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn grep_finds_occurrences_across_chunk_boundaries_in_a_large_pages_image() {
    let dir = tempfile::tempdir().unwrap();
    const MIB: u64 = 1 << 20;
    let pages = 6 * MIB / ckpt_gen::PAGE;
    // Member offsets straddling the scanner's 1 MiB windows (base is where the new pages start).
    let base = ckpt_gen::PAGES_3_BYTES;
    let planted: Vec<u64> = [MIB - 5, 2 * MIB + 10, 3 * MIB - 1, 5 * MIB - 15]
        .iter()
        .map(|o| o - base)
        .collect();
    let g = ckpt_gen::enlarge(&dir.path().join("big.tar"), pages, &planted);
    assert_eq!(g.base, base);
    let r = inspect_json(&g.path, Some("KTUI_SECRET_7731"));
    let extracted = extract(&g.path);
    let data = std::fs::read(extracted.path().join("checkpoint/pages-3.img")).unwrap();
    let independent = occurrences(&data, SECRET);
    let by_file = matches_by_file(&r);
    let got: Vec<u64> = by_file["checkpoint/pages-3.img"]
        .iter()
        .map(|(o, _)| *o)
        .collect();
    assert_eq!(got, independent);
    let mut expected = vec![42_704, 46_826];
    expected.extend(&g.planted);
    assert_eq!(got, expected);
    // The new pages belong to pid 7, at VADDR + (offset - base).
    for m in r["matches"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["file"] == "checkpoint/pages-3.img")
    {
        assert_eq!(m["pid"], 7);
        let offset = m["offset"].as_u64().unwrap();
        if offset >= base {
            assert_eq!(
                m["address"].as_str().unwrap(),
                format!("{:x}", ckpt_gen::VADDR + offset - base)
            );
        }
    }
    // The mapping shows in the memory map with all its pages dumped.
    let vma = r["memory"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["start"] == format!("{:08x}", ckpt_gen::VADDR).as_str())
        .expect("the new mapping");
    assert_eq!(vma["pid"], 7);
    assert_eq!(vma["prot"], "rw-p");
    assert_eq!(vma["dumped"].as_u64().unwrap(), pages * ckpt_gen::PAGE);
}

/// The exit code and stderr of inspecting `archive`; asserts nothing was printed on stdout.
fn fails(archive: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = ktui(
        &["checkpoint", "inspect", archive.to_str().unwrap(), "--json"],
        dir.path(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}: {stderr}",
        archive.display()
    );
    assert!(out.stdout.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a failed inspect wrote a file"
    );
    stderr
}

#[test]
fn each_broken_fixture_fails_with_its_reason() {
    let broken = fixture().parent().unwrap().join("broken");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(broken.join("broken.truth.json")).unwrap()).unwrap();
    let expect = |name: &str| -> &str {
        if name.starts_with("truncated") {
            "is truncated or corrupt"
        } else {
            "has no config.dump"
        }
    };
    let names: Vec<&String> = truth.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 2);
    for name in names {
        let stderr = fails(&broken.join(name));
        assert!(stderr.contains(expect(name)), "{name}: {stderr}");
    }
}

/// The fixture's members rewritten by `edit` (return None to drop one), as a raw tar.
fn rewrite(out: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut archive = tar::Archive::new(std::fs::File::open(fixture()).unwrap());
    let mut b = tar::Builder::new(std::fs::File::create(out).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if let Some(data) = edit(&path, data) {
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, &data[..]).unwrap();
        }
    }
    b.into_inner().unwrap();
}

#[test]
fn hostile_archives_fail_with_a_clear_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = |n: &str| dir.path().join(n);
    // A `..` member (written by hand: tar writers refuse it), and an absolute one.
    for (name, evil) in [
        ("dotdot.tar", &b"checkpoint/../../etc/cron.d/x"[..]),
        ("abs.tar", b"/etc/passwd"),
    ] {
        let mut bytes = std::fs::read(fixture()).unwrap();
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..evil.len()].copy_from_slice(evil);
        h.set_size(0);
        h.set_cksum();
        bytes.splice(0..0, h.as_bytes().iter().copied());
        std::fs::write(path(name), bytes).unwrap();
        let stderr = fails(&path(name));
        assert!(
            stderr.contains("cannot be read safely")
                && stderr.contains(std::str::from_utf8(evil).unwrap()),
            "{stderr}"
        );
    }
    // A header declaring 64 GiB in a 450 KiB archive.
    let mut bytes = std::fs::read(fixture()).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_path("checkpoint/pages-9.img").unwrap();
    h.set_size(64 << 30);
    h.set_cksum();
    bytes.splice(0..0, h.as_bytes().iter().copied());
    std::fs::write(path("huge.tar"), bytes).unwrap();
    let stderr = fails(&path("huge.tar"));
    assert!(stderr.contains("declares 68719476736 bytes"), "{stderr}");
    // A metadata member larger than its cap (a real 2 MiB config.dump).
    rewrite(&path("bigconfig.tar"), |p, d| {
        Some(if p == "config.dump" {
            vec![b' '; 2 << 20]
        } else {
            d
        })
    });
    assert!(fails(&path("bigconfig.tar")).contains("config.dump"));
    // Garbage CRIU images.
    for (member, garbage) in [
        ("checkpoint/pstree.img", b"GARBAGE GARBAGE GARBAGE".to_vec()),
        ("checkpoint/mm-6.img", vec![0xff; 64]),
        (
            "checkpoint/files.img",
            b"\x19\x43\x56\x54\x38\x31\x30\x56\xff\xff\xff\x7f".to_vec(),
        ),
    ] {
        let name = format!("garbage-{}.tar", member.replace('/', "_"));
        rewrite(&path(&name), |p, d| {
            Some(if p == member { garbage.clone() } else { d })
        });
        let stderr = fails(&path(&name));
        assert!(
            stderr.contains(member) && stderr.contains("not a valid CRIU image"),
            "{stderr}"
        );
    }
    // Not a tar at all; an empty file; a directory.
    std::fs::write(
        path("random.tar"),
        (0..10_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    assert!(fails(&path("random.tar")).contains("not a tar archive"));
    std::fs::write(path("empty.tar"), b"").unwrap();
    assert!(fails(&path("empty.tar")).contains("is not a checkpoint"));
    assert!(fails(dir.path()).contains("cannot"));
}

#[test]
fn a_live_snapshot_is_inspected_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut region = vec![0u8; 300_000];
    region[123_456..123_456 + SECRET.len()].copy_from_slice(SECRET);
    let path = dir.path().join("snapshot.tar");
    ckpt_gen::write_snapshot(&path, &region);
    let r = inspect_json(&path, Some("KTUI_SECRET_7731"));
    assert_eq!(r["kind"], "snapshot");
    assert_eq!(r["container"]["name"], "app");
    assert_eq!(r["processes"][0]["comm"], "app");
    assert_eq!(r["matches"][0]["offset"], 123_456);
    assert_eq!(r["matches"][0]["pid"], 42);
    assert_eq!(
        r["matches"][0]["address"],
        format!("{:x}", 0x7f12_a000_0000u64 + 123_456)
    );
    assert_eq!(r["snapshot"]["atomic"], false);
}
