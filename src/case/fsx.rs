//! File-system steps the case is built from: private modes (directories 0700, files 0600),
//! directory fsync, atomic small files, and finding a file's last complete line.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use jiff::Timestamp;

pub const DIR_MODE: u32 = 0o700;
pub const FILE_MODE: u32 = 0o600;

/// Create `path` and its missing parents, each 0700; every directory created is fsynced into its
/// parent so a crash cannot lose it.
pub fn create_dirs(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        create_dirs(parent)?;
    }
    match fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => {
            // The umask may have narrowed the mode further: 0700 exactly.
            fs::set_permissions(path, fs::Permissions::from_mode(DIR_MODE))?;
            if let Some(parent) = path.parent() {
                sync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Make a directory's entries (creations, renames) durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    File::open(dir)?.sync_all()
}

/// Open for appending, created 0600 if missing.
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .mode(FILE_MODE)
        .open(path)
}

/// A new file, 0600; fails if it exists.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
}

/// A file written whole or not at all: `<name>.partial`, fsync, rename, directory fsync.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let partial = partial_name(path);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(&partial)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&partial, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// `x/name` → `x/name.partial`.
pub fn partial_name(path: &Path) -> std::path::PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

/// The complete lines of a file: where they end and the last of them.
#[derive(Debug, PartialEq, Eq)]
pub struct Tail {
    /// Bytes up to and including the last `\n` (0 when there is none).
    pub complete_len: u64,
    /// The file's length; more than `complete_len` when it ends in an incomplete line.
    pub len: u64,
    /// The last complete line, without its newline.
    pub last_line: Option<Vec<u8>>,
}

/// Scan `file` backwards for its last complete line (reads only the tail).
pub fn tail(file: &mut File) -> io::Result<Tail> {
    let len = file.seek(SeekFrom::End(0))?;
    let complete_len = match last_newline_before(file, len)? {
        Some(pos) => pos + 1,
        None => 0,
    };
    let last_line = if complete_len == 0 {
        None
    } else {
        let start = last_newline_before(file, complete_len - 1)?.map_or(0, |p| p + 1);
        let mut line = vec![0; usize::try_from(complete_len - 1 - start).unwrap_or(0)];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut line)?;
        Some(line)
    };
    Ok(Tail {
        complete_len,
        len,
        last_line,
    })
}

/// Position of the last `\n` in `file[..end]`.
fn last_newline_before(file: &mut File, end: u64) -> io::Result<Option<u64>> {
    const CHUNK: u64 = 8192;
    let mut buf = [0u8; CHUNK as usize];
    let mut hi = end;
    while hi > 0 {
        let lo = hi.saturating_sub(CHUNK);
        let n = (hi - lo) as usize;
        file.seek(SeekFrom::Start(lo))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

/// Total size of the files under `dir`, skipping the top-level entries named in `skip`.
pub fn dir_size(dir: &Path, skip: &[&str]) -> io::Result<u64> {
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if skip.iter().any(|s| entry.file_name() == *s) {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_dir() {
            total += dir_size(&entry.path(), &[])?;
        } else {
            total += meta.len();
        }
    }
    Ok(total)
}

/// UTC RFC 3339 with nanoseconds, always nine digits: `2024-05-01T12:00:00.000000000Z`.
pub fn rfc3339_ns(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string()
}

/// serde for timestamps in case files: written with [`rfc3339_ns`], read as any RFC 3339.
pub mod ts {
    use jiff::Timestamp;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339_ns(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }

    pub mod option {
        use jiff::Timestamp;
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&super::super::rfc3339_ns(*t)),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| s.parse().map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(bytes: &[u8]) -> Tail {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, bytes).unwrap();
        tail(&mut File::open(&path).unwrap()).unwrap()
    }

    #[test]
    fn tail_finds_the_last_complete_line() {
        let t = tail_of(b"one\ntwo\nthr");
        assert_eq!((t.complete_len, t.len), (8, 11));
        assert_eq!(t.last_line.as_deref(), Some(&b"two"[..]));
        let t = tail_of(b"only\n");
        assert_eq!(t.last_line.as_deref(), Some(&b"only"[..]));
        let t = tail_of(b"");
        assert_eq!((t.complete_len, t.last_line), (0, None));
        let t = tail_of(b"torn");
        assert_eq!((t.complete_len, t.len, t.last_line), (0, 4, None));
    }

    #[test]
    fn tail_crosses_chunk_boundaries() {
        let long = vec![b'x'; 20_000];
        let mut bytes = b"a\n".to_vec();
        bytes.extend_from_slice(&long);
        bytes.push(b'\n');
        bytes.extend_from_slice(&long);
        let t = tail_of(&bytes);
        assert_eq!(t.complete_len, 20_003);
        assert_eq!(t.last_line.unwrap(), long);
    }

    #[test]
    fn timestamps_have_nine_digits() {
        let t = Timestamp::new(1_700_000_000, 120_000_000).unwrap();
        assert_eq!(rfc3339_ns(t), "2023-11-14T22:13:20.120000000Z");
        assert_eq!(rfc3339_ns(t).parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn created_directories_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b/c");
        create_dirs(&deep).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            let mode = fs::metadata(dir.path().join(p))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, DIR_MODE, "{p}");
        }
    }
}
