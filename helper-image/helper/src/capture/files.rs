//! The files of one capture: `<label>-<id>-<seq:04>.pcap` (`.pcapng` for several interfaces)
//! under the capture directory, rotated like tcpdump `-C` / `-W`: a file is closed before a
//! packet would take it past `rotate_bytes` (every file holds at least one packet), and when a
//! new file would make more than `rotate_files` of this capture's files exist on the node,
//! the oldest one still there is deleted and counted as lost (the console removes the files
//! it fetched, so normally nothing is).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{CaptureError, Result};
use super::writer::{FileInterface, HashingFile, PacketWriter};

/// Longest label kept (after sanitising).
const LABEL_MAX: usize = 64;

/// The label as it goes into file names: `[A-Za-z0-9._-]` only (others become `_`), at most
/// 64 characters, `capture` when empty or absent; never `.` or `..`.
pub fn sanitize_label(label: Option<&str>) -> String {
    let s: String = label
        .unwrap_or("")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(LABEL_MAX)
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "capture".to_string()
    } else {
        s
    }
}

/// A file closed and complete on the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedFile {
    pub seq: u32,
    pub path: PathBuf,
    pub bytes: u64,
    pub packets: u64,
    pub sha256: String,
    pub first_n: Option<u64>,
    pub last_n: Option<u64>,
}

struct OpenFile {
    seq: u32,
    path: PathBuf,
    writer: PacketWriter,
    packets: u64,
    first_n: Option<u64>,
    last_n: Option<u64>,
}

/// Classic pcap with one link type, or pcapng with interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileFormat {
    Pcap { linktype: u32 },
    PcapNg,
}

pub struct FileSet {
    dir: PathBuf,
    base: String,
    format: FileFormat,
    snaplen: u32,
    rotate_bytes: Option<u64>,
    rotate_files: Option<u32>,
    interfaces: Vec<FileInterface>,
    open: Option<OpenFile>,
    seq: u32,
    /// This capture's files, oldest first, that may still be on the node.
    on_node: VecDeque<PathBuf>,
    pub files_lost: u32,
    pub files_closed: u32,
}

pub struct FileSetSpec<'a> {
    pub dir: &'a Path,
    pub label: &'a str,
    pub id: u64,
    pub format: FileFormat,
    pub snaplen: u32,
    pub rotate_bytes: Option<u64>,
    pub rotate_files: Option<u32>,
    pub interfaces: Vec<FileInterface>,
}

impl FileSet {
    /// Creates the directory (0700: pcaps hold payloads) and the first file.
    pub fn create(spec: FileSetSpec<'_>) -> Result<FileSet> {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(spec.dir)
            .map_err(|e| CaptureError::io(format!("creating {}", spec.dir.display()), e))?;
        let mut set = FileSet {
            dir: spec.dir.to_path_buf(),
            base: format!("{}-{}", spec.label, spec.id),
            format: spec.format,
            snaplen: spec.snaplen,
            rotate_bytes: spec.rotate_bytes,
            rotate_files: spec.rotate_files.filter(|w| *w > 0),
            interfaces: spec.interfaces,
            open: None,
            seq: 0,
            on_node: VecDeque::new(),
            files_lost: 0,
            files_closed: 0,
        };
        set.open_next()?;
        Ok(set)
    }

    pub fn format_name(&self) -> &'static str {
        match self.format {
            FileFormat::Pcap { .. } => "pcap",
            FileFormat::PcapNg => "pcapng",
        }
    }

    pub fn interfaces(&self) -> &[FileInterface] {
        &self.interfaces
    }

    fn path_of(&self, seq: u32) -> PathBuf {
        let ext = self.format_name();
        self.dir.join(format!("{}-{seq:04}.{ext}", self.base))
    }

    fn open_next(&mut self) -> Result<()> {
        self.seq += 1;
        let path = self.path_of(self.seq);
        if let Some(w) = self.rotate_files {
            self.on_node.retain(|p| p.exists());
            while self.on_node.len() >= w as usize {
                let Some(old) = self.on_node.pop_front() else {
                    break;
                };
                if std::fs::remove_file(&old).is_ok() {
                    self.files_lost += 1;
                }
            }
        }
        let file = HashingFile::create(&path).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
                " (left by an earlier capture with this label and id: fetch or remove it with `ktui-helper rm`, or use another label)"
            } else {
                ""
            };
            CaptureError::io(format!("creating {}{hint}", path.display()), e)
        })?;
        let writer = match self.format {
            FileFormat::Pcap { linktype } => PacketWriter::pcap(file, linktype, self.snaplen),
            FileFormat::PcapNg => PacketWriter::pcapng(file, &self.interfaces, self.snaplen),
        }
        .map_err(|e| CaptureError::io(format!("writing {}", path.display()), e))?;
        self.on_node.push_back(path.clone());
        self.open = Some(OpenFile {
            seq: self.seq,
            path,
            writer,
            packets: 0,
            first_n: None,
            last_n: None,
        });
        Ok(())
    }

    /// A new interface (pcapng): written to the open file and to every later one. Its id.
    pub fn add_interface(&mut self, i: FileInterface) -> Result<u32> {
        let id = self.interfaces.len() as u32;
        if let Some(f) = self.open.as_mut() {
            f.writer
                .add_interface(&i, self.snaplen)
                .map_err(|e| CaptureError::io(format!("writing {}", f.path.display()), e))?;
        }
        self.interfaces.push(i);
        Ok(id)
    }

    /// Write packet `n`; when the open file had to be closed first (rotation), it comes back.
    pub fn write(
        &mut self,
        n: u64,
        interface: u32,
        ts: Duration,
        orig_len: u32,
        data: &[u8],
    ) -> Result<Option<ClosedFile>> {
        let mut closed = None;
        if let (Some(limit), Some(f)) = (self.rotate_bytes, self.open.as_ref())
            && f.packets > 0
            && f.writer.bytes() + f.writer.record_size(data.len()) > limit
        {
            closed = self.close()?;
            self.open_next()?;
        }
        let Some(f) = self.open.as_mut() else {
            return Err(CaptureError::Unavailable("no capture file is open".into()));
        };
        f.writer
            .write(interface, ts, orig_len, data)
            .map_err(|e| CaptureError::io(format!("writing {}", f.path.display()), e))?;
        f.packets += 1;
        f.first_n.get_or_insert(n);
        f.last_n = Some(n);
        Ok(closed)
    }

    /// Close the open file (flushed, fsynced, hashed); None when none is open.
    pub fn close(&mut self) -> Result<Option<ClosedFile>> {
        let Some(f) = self.open.take() else {
            return Ok(None);
        };
        let (bytes, sha256) = f
            .writer
            .finish()
            .map_err(|e| CaptureError::io(format!("closing {}", f.path.display()), e))?;
        self.files_closed += 1;
        Ok(Some(ClosedFile {
            seq: f.seq,
            path: f.path,
            bytes,
            packets: f.packets,
            sha256,
            first_n: f.first_n,
            last_n: f.last_n,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sanitised() {
        assert_eq!(sanitize_label(None), "capture");
        assert_eq!(sanitize_label(Some("")), "capture");
        assert_eq!(sanitize_label(Some("..")), "capture");
        assert_eq!(sanitize_label(Some("web-0/../x y")), "web-0_.._x_y");
        assert_eq!(sanitize_label(Some("\u{1b}[31mé")), "__31m_");
        assert_eq!(sanitize_label(Some(&"a".repeat(100))).len(), 64);
    }

    fn spec(dir: &Path, rotate_bytes: Option<u64>, rotate_files: Option<u32>) -> FileSetSpec<'_> {
        FileSetSpec {
            dir,
            label: "t",
            id: 3,
            format: FileFormat::Pcap { linktype: 1 },
            snaplen: 65535,
            rotate_bytes,
            rotate_files,
            interfaces: Vec::new(),
        }
    }

    #[test]
    fn rotation_keeps_each_file_under_the_limit_with_at_least_one_packet() {
        let dir = tempfile::tempdir().unwrap();
        // 24-byte header + 2 records of 16 + 100 = 256: the third packet goes to file 2.
        let mut set = FileSet::create(spec(dir.path(), Some(256), None)).unwrap();
        let data = [0u8; 100];
        let mut closed = Vec::new();
        for n in 1..=5 {
            closed.extend(set.write(n, 0, Duration::from_secs(n), 100, &data).unwrap());
        }
        // A packet bigger than the limit still gets a file of its own.
        closed.extend(
            set.write(6, 0, Duration::from_secs(6), 400, &[1u8; 400])
                .unwrap(),
        );
        closed.extend(set.close().unwrap());
        let summary: Vec<_> = closed
            .iter()
            .map(|c| (c.seq, c.bytes, c.packets, c.first_n, c.last_n))
            .collect();
        assert_eq!(
            summary,
            [
                (1, 256, 2, Some(1), Some(2)),
                (2, 256, 2, Some(3), Some(4)),
                (3, 140, 1, Some(5), Some(5)),
                (4, 440, 1, Some(6), Some(6)),
            ]
        );
        for c in &closed {
            let bytes = std::fs::read(&c.path).unwrap();
            assert_eq!(bytes.len() as u64, c.bytes);
            use sha2::Digest as _;
            assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), c.sha256);
            assert_eq!(&bytes[..4], &0xa1b23c4du32.to_ne_bytes());
        }
        assert!(closed[0].path.ends_with("t-3-0001.pcap"));
        assert!(closed[3].path.ends_with("t-3-0004.pcap"));
        // The same label and id again would overwrite evidence: refused.
        assert!(FileSet::create(spec(dir.path(), None, None)).is_err());
    }

    #[test]
    fn the_file_limit_deletes_the_oldest_still_on_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = FileSet::create(spec(dir.path(), Some(100), Some(2))).unwrap();
        let mut closed = Vec::new();
        for n in 1..=4 {
            closed.extend(set.write(n, 0, Duration::ZERO, 60, &[0u8; 60]).unwrap());
        }
        // Files 1..4, one packet each; at most 2 on the node: 1 and 2 deleted when 3 and 4
        // were opened.
        assert_eq!(set.files_lost, 2);
        // The console fetched and removed file 3: opening file 5 deletes nothing.
        std::fs::remove_file(&closed[2].path).unwrap();
        closed.extend(set.write(5, 0, Duration::ZERO, 60, &[0u8; 60]).unwrap());
        assert_eq!(set.files_lost, 2);
        closed.extend(set.close().unwrap());
        let left: Vec<_> = closed
            .iter()
            .filter(|c| c.path.exists())
            .map(|c| c.seq)
            .collect();
        assert_eq!(left, [4, 5]);
    }
}
