//! Shared by the filter's integration tests: skip (locally) or fail (CI=true) when the machine
//! lacks what a test needs, a tiny capture reader (test-only: pcap in every byte order and
//! resolution, the "modified" variant, pcapng EPB/SPB/OPB), and tcpdump as the reference.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Skip the test (return true) when `why` is Some; under CI=true, fail instead.
pub fn skip_unless(test: &str, why: Option<String>) -> bool {
    let Some(why) = why else { return false };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: cannot run under CI=true: {why}");
    }
    note_skip(&format!("{test}: {why}"));
    true
}

/// Say why a test was skipped: on stderr and appended to the file `KTUI_SKIP_LOG` names
/// (scripts/test.sh prints it after the run).
pub fn note_skip(line: &str) {
    eprintln!("SKIPPED {line}");
    if let Some(path) = std::env::var_os("KTUI_SKIP_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        use std::io::Write as _;
        let _ = writeln!(f, "{line}");
    }
}

pub fn needs_root() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    (unsafe { libc::geteuid() } != 0).then(|| "not running as root".to_string())
}

pub fn needs_tool(tool: &str, arg: &str) -> Option<String> {
    Command::new(tool)
        .arg(arg)
        .output()
        .is_err()
        .then(|| format!("{tool} is not installed"))
}

/// One captured frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The pcap LINKTYPE_* of its interface.
    pub link: u32,
    pub data: Vec<u8>,
    pub wire_len: u32,
}

fn u16_at(b: &[u8], at: usize, be: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

fn u32_at(b: &[u8], at: usize, be: bool) -> u32 {
    let v = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

/// Every frame of a pcap or pcapng file (the test fixtures are well formed: a damaged one is
/// an error).
pub fn read_capture(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    if bytes.len() < 24 {
        return Err(format!("{} bytes: too short for a capture", bytes.len()));
    }
    let magic = u32_at(bytes, 0, false);
    if magic == 0x0a0d_0d0a {
        return read_pcapng(bytes);
    }
    let (be, modified) = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => (false, false),
        0xd4c3_b2a1 | 0x4d3c_b2a1 => (true, false),
        0xa1b2_cd34 => (false, true),
        0x34cd_b2a1 => (true, true),
        m => return Err(format!("not a capture (magic {m:#010x})")),
    };
    let link = u32_at(bytes, 20, be) & 0xffff;
    let rec_len = if modified { 24 } else { 16 };
    let mut at = 24;
    let mut out = Vec::new();
    while at < bytes.len() {
        if at + rec_len > bytes.len() {
            return Err(format!("record header cut at byte {at}"));
        }
        let incl = u32_at(bytes, at + 8, be) as usize;
        let orig = u32_at(bytes, at + 12, be);
        let start = at + rec_len;
        let data = bytes
            .get(start..start + incl)
            .ok_or_else(|| format!("record data cut at byte {start}"))?;
        out.push(Frame {
            link,
            data: data.to_vec(),
            wire_len: orig,
        });
        at = start + incl;
    }
    Ok(out)
}

fn read_pcapng(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let mut at = 0;
    let mut be = false;
    let mut ifaces: Vec<(u32, u32)> = Vec::new(); // (linktype, snaplen)
    let mut out = Vec::new();
    while at + 12 <= bytes.len() {
        let kind = u32_at(bytes, at, be);
        if kind == 0x0a0d_0d0a {
            be = match bytes.get(at + 8..at + 12) {
                Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
                Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
                _ => return Err(format!("bad byte-order magic at byte {at}")),
            };
            ifaces.clear();
        }
        let len = u32_at(bytes, at + 4, be) as usize;
        if len < 12 || at + len > bytes.len() {
            return Err(format!("block at byte {at} has length {len}"));
        }
        let body = &bytes[at + 8..at + len - 4];
        let frame = |iface: usize, caplen: usize, orig: u32, data_at: usize| {
            let (link, _) = *ifaces
                .get(iface)
                .ok_or_else(|| format!("block at byte {at}: no interface {iface}"))?;
            let data = body
                .get(data_at..data_at + caplen)
                .ok_or_else(|| format!("block at byte {at}: data cut"))?;
            Ok::<Frame, String>(Frame {
                link,
                data: data.to_vec(),
                wire_len: orig,
            })
        };
        match kind {
            1 => ifaces.push((u32::from(u16_at(body, 0, be)), u32_at(body, 4, be))),
            6 => {
                let iface = u32_at(body, 0, be) as usize;
                let caplen = u32_at(body, 12, be) as usize;
                out.push(frame(iface, caplen, u32_at(body, 16, be), 20)?);
            }
            2 => {
                let iface = usize::from(u16_at(body, 0, be));
                let caplen = u32_at(body, 12, be) as usize;
                out.push(frame(iface, caplen, u32_at(body, 16, be), 20)?);
            }
            3 => {
                let orig = u32_at(body, 0, be);
                // A snaplen of 0 means none.
                let snap = ifaces.first().map_or(0, |i| i.1);
                let snap = if snap == 0 { u32::MAX } else { snap };
                let caplen = orig.min(snap).min((body.len() - 4) as u32) as usize;
                out.push(frame(0, caplen, orig, 4)?);
            }
            _ => {}
        }
        at += len;
    }
    Ok(out)
}

/// The fixture captures: this crate's own (made by tests/fixtures/filter/make.py) and the
/// repository's copy of the shared pcap fixtures (`KTUI_PCAP_FIXTURES` overrides where that
/// is), without the corrupt ones.
pub fn fixture_files() -> (Vec<PathBuf>, Option<String>) {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&here.join("tests/fixtures/filter"), &mut files);
    let shared = std::env::var_os("KTUI_PCAP_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| here.join("../../tests/fixtures/pcap"));
    let missing = if shared.is_dir() {
        walk(&shared, &mut files);
        None
    } else {
        Some(format!(
            "the shared pcap fixtures are not at {} (set KTUI_PCAP_FIXTURES)",
            shared.display()
        ))
    };
    files.sort();
    (files, missing)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "corrupt") {
                walk(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            out.push(p);
        }
    }
}

/// Which of `frames` (read from `path`) tcpdump keeps for `expr`: its `-w -` output mapped
/// back onto the file's frames in order (equal frames are interchangeable, as a filter sees
/// only bytes and length). None when tcpdump refuses the expression for this link type.
pub fn tcpdump_keeps(path: &Path, frames: &[Frame], expr: &str) -> Option<Vec<bool>> {
    let out = Command::new("tcpdump")
        .arg("-r")
        .arg(path)
        .args(["-w", "-", "--", expr])
        .output()
        .expect("run tcpdump");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("expression rejects all packets") {
            return Some(vec![false; frames.len()]);
        }
        if stderr.contains("not supported on") || stderr.contains("no VLAN support") {
            return None;
        }
        panic!("tcpdump -r {} {expr:?}: {stderr}", path.display());
    }
    let kept = read_capture(&out.stdout).unwrap_or_else(|e| panic!("tcpdump output: {e}"));
    let mut keep = vec![false; frames.len()];
    let mut i = 0;
    for k in &kept {
        while i < frames.len() && (frames[i].data != k.data || frames[i].wire_len != k.wire_len) {
            i += 1;
        }
        assert!(
            i < frames.len(),
            "tcpdump kept a frame not in {} (in order)",
            path.display()
        );
        keep[i] = true;
        i += 1;
    }
    Some(keep)
}
